/*
 * memory_op: HYPERVISOR_memory_op for an HVM dom0 (Xen 4.17 common/memory.c,
 * arch/x86/mm.c arch_memory_op).
 *  - XENMEM_memory_map returns the domain's e820: sane, equal to the
 *    hvm_start_info map, with RAM under the image; truncated to the caller's
 *    buffer; reservations and the maximum GPFN agree with it.
 *  - XENMEM_add_to_physmap: shared_info into a free GFN (readable, writable,
 *    the hypervisor's page), then moved onto a page of our RAM as Linux does
 *    (the same page follows, the old GFN empties); grant table frame 0.
 *  - Hostile: bad space -EINVAL, foreign space -ENOSYS, bad idx -EINVAL, a GFN
 *    beyond the guest's physical address width fails, unknown domain
 *    -ESRCH, bad pointers -EFAULT, unknown sub-op -ENOSYS.
 */
#include "common.h"

TEST_GUEST("memory_op", NEEDS_XEN, "HYPERVISOR_memory_op: memory map, add_to_physmap, bad arguments");

/* Xen's e820 entries are packed 20-byte records (asm/e820.h). */
struct e820entry {
    uint64_t addr, size;
    uint32_t type;
} __attribute__((packed));

static struct e820entry map[64];
static union { struct shared_info s; uint8_t raw[4096]; } shinfo_ram __aligned(4096);

static long memory_map(struct e820entry *buf, unsigned int nr, unsigned int *out)
{
    struct xen_memory_map m = { .nr_entries = nr };
    set_xen_guest_handle(m.buffer, buf);
    long rc = HYPERVISOR_memory_op(XENMEM_memory_map, &m);
    *out = m.nr_entries;
    return rc;
}

static void test_memory_map(void)
{
    unsigned int nr;
    long rc = memory_map(map, ARRAY_SIZE(map), &nr);
    if (!check_rc("XENMEM_memory_map", rc, 0))
        return;
    check(nr >= 1 && nr <= ARRAY_SIZE(map), "memory map has %u entries", nr);

    bool sorted = true, types_ok = true;
    uint64_t ram = 0;
    for (unsigned int i = 0; i < nr; i++) {
        printk("  e820[%u]: %#014lx-%#014lx type %u\n", i, map[i].addr,
               map[i].addr + map[i].size - 1, map[i].type);
        if (i && map[i].addr < map[i - 1].addr + map[i - 1].size)
            sorted = false;
        if (map[i].type < 1 || map[i].type > 7 || !map[i].size)
            types_ok = false;
        if (map[i].type == 1)
            ram += map[i].size;
    }
    check(sorted, "entries sorted and not overlapping");
    check(types_ok, "entries have a size and a known type (1-7)");

    bool covers = false, same = nr == guest_memmap_nr;
    for (unsigned int i = 0; i < nr; i++) {
        if (map[i].type == 1 && map[i].addr <= (uintptr_t)_start_image &&
            map[i].addr + map[i].size >= (uintptr_t)_end)
            covers = true;
        if (i < guest_memmap_nr && (map[i].addr != guest_memmap[i].addr ||
            map[i].size != guest_memmap[i].size || map[i].type != guest_memmap[i].type))
            same = false;
    }
    check(covers, "a RAM entry covers the image %p-%p", _start_image, _end);
    check(same, "XENMEM_memory_map equals the hvm_start_info memory map (%u vs %u entries)",
          nr, guest_memmap_nr);

    struct e820entry one[2];
    memset(one, 0xee, sizeof(one));
    rc = memory_map(one, 1, &nr);
    check(rc == 0 && nr == 1 && one[1].type == 0xeeeeeeee && one[0].addr == map[0].addr,
          "XENMEM_memory_map with room for 1 entry -> %ld, %u entry, nothing written past it", rc, nr);
    rc = memory_map(BAD_PTR_UNMAPPED, 8, &nr);
    check_rc("XENMEM_memory_map into an unmapped buffer", rc, -XEN_EFAULT);
    check_rc("XENMEM_memory_map with an unmapped argument",
             HYPERVISOR_memory_op(XENMEM_memory_map, BAD_PTR_UNMAPPED), -XEN_EFAULT);

    domid_t self = DOMID_SELF;
    long cur = HYPERVISOR_memory_op(XENMEM_current_reservation, &self);
    long max = HYPERVISOR_memory_op(XENMEM_maximum_reservation, &self);
    check(cur > 0 && (uint64_t)cur * 4096 <= ram + (16ULL << 20),
          "XENMEM_current_reservation -> %ld pages, %lu MiB of e820 RAM", cur, ram >> 20);
    check(max >= cur, "XENMEM_maximum_reservation -> %ld >= current", max);
    long maxpfn = HYPERVISOR_memory_op(XENMEM_maximum_gpfn, &self);
    uint64_t end = ram_region_end((uintptr_t)_start_image);
    check(maxpfn > 0 && (uint64_t)maxpfn >= (end >> 12) - 1,
          "XENMEM_maximum_gpfn -> %#lx covers the RAM up to %#lx", maxpfn, end);
}

/* Is the frame at gfn behaving like memory? Writes a word in the last
 * event-channel mask word (ports 4032-4095, which nobody uses) and reads it back. */
static bool frame_is_writable(volatile struct shared_info *si)
{
    uint64_t old = si->evtchn_mask[63];
    si->evtchn_mask[63] = 0x5a5a0000a5a5ULL;
    bool ok = si->evtchn_mask[63] == 0x5a5a0000a5a5ULL;
    si->evtchn_mask[63] = old;
    return ok;
}

static void test_shared_info(void)
{
    uint64_t gfn = free_gfn(0);
    if (!gfn) {
        test_skip("no free GFN below 4 GiB for add_to_physmap");
        return;
    }
    volatile struct shared_info *si = (void *)(uintptr_t)(gfn << 12);
    if (!check_rc("add_to_physmap(shared_info, 0) at a free GFN",
                  add_to_physmap(XENMAPSPACE_shared_info, 0, gfn), 0))
        return;
    uint32_t wc = si->wc_version, tv = si->vcpu_info[0].time.version;
    check(!(wc & 1) && !(tv & 1), "shared_info at %#lx: wc_version %u and vcpu_info[0] "
          "time version %u are even (no update in progress)", gfn << 12, wc, tv);
    check(si->evtchn_pending[0] != ~0UL, "shared_info reads as memory, not as unbacked MMIO");
    check(frame_is_writable(si), "shared_info is writable by the guest");
    printk("shared_info: wc %u.%09u (version %u), vcpu0 system_time %lu, mask %u\n",
           si->wc_sec, si->wc_nsec, wc, si->vcpu_info[0].time.system_time,
           si->vcpu_info[0].evtchn_upcall_mask);

    /* Move it onto a page of our own RAM (what Linux does): it is the same
     * page, so a mark made at the old place shows at the new one. */
    si->evtchn_mask[62] = 0xfeedfacecafe0000ULL;
    memset(shinfo_ram.raw, 0xa5, sizeof(shinfo_ram.raw));
    uint64_t ram_gfn = (uintptr_t)&shinfo_ram >> 12;
    if (check_rc("add_to_physmap(shared_info, 0) onto a RAM page (moves it)",
                 add_to_physmap(XENMAPSPACE_shared_info, 0, ram_gfn), 0)) {
        volatile struct shared_info *moved = &shinfo_ram.s;
        check(moved->evtchn_mask[62] == 0xfeedfacecafe0000ULL,
              "the moved shared_info is the same page (mark %#lx)", moved->evtchn_mask[62]);
        moved->evtchn_mask[62] = 0;
        check(si->evtchn_mask[62] == ~0UL,
              "the old GFN is empty again (reads %#lx, unbacked reads all-ones)",
              si->evtchn_mask[62]);
    }

    check_rc("add_to_physmap(shared_info, idx 1)", add_to_physmap(XENMAPSPACE_shared_info, 1, gfn),
             -XEN_EINVAL);
    uint8_t maxphys = (uint8_t)cpuid(0x80000008).a;
    uint64_t far_gfn = 1ULL << (maxphys - 12);
    long rc = add_to_physmap(XENMAPSPACE_shared_info, 0, far_gfn);
    check(rc < 0, "add_to_physmap at GFN %#lx (beyond the %u-bit physical address space) -> %ld (%s)",
          far_gfn, maxphys, rc, errno_name(rc));
    volatile struct shared_info *now = &shinfo_ram.s;
    check(now->wc_version != 0xa5a5a5a5, "shared_info still mapped on our RAM page");
}

static void test_grant_table(void)
{
    uint64_t gfn = free_gfn(1);
    if (!gfn)
        return;
    long rc = add_to_physmap(XENMAPSPACE_grant_table, 0, gfn);
    if (check_rc("add_to_physmap(grant_table, 0) at a free GFN", rc, 0)) {
        volatile uint64_t *gt = (void *)(uintptr_t)(gfn << 12);
        check(gt[0] != ~0UL, "grant table frame 0 reads as memory (entry 0: %#lx)", gt[0]);
        uint64_t old = gt[511];
        gt[511] = 0x1122334455667788ULL;
        check(gt[511] == 0x1122334455667788ULL, "grant table frame 0 is writable");
        gt[511] = old;
    }
    check_rc("add_to_physmap(grant_table, idx 0x7fffffff)",
             add_to_physmap(XENMAPSPACE_grant_table, 0x7fffffff, free_gfn(2)), -XEN_EINVAL);
}

static void test_hostile(void)
{
    uint64_t gfn = free_gfn(3);
    check_rc("add_to_physmap with space 99", add_to_physmap(99, 0, gfn), -XEN_EINVAL);
    check_rc("add_to_physmap with XENMAPSPACE_gmfn_foreign (batch only)",
             add_to_physmap(XENMAPSPACE_gmfn_foreign, 0, gfn), -XEN_ENOSYS);

    struct xen_add_to_physmap xatp = {
        .domid = 123, .space = XENMAPSPACE_shared_info, .idx = 0, .gpfn = gfn,
    };
    check_rc("add_to_physmap for domain 123 (none)",
             HYPERVISOR_memory_op(XENMEM_add_to_physmap, &xatp), -XEN_ESRCH);
    check_rc("add_to_physmap with an unmapped argument",
             HYPERVISOR_memory_op(XENMEM_add_to_physmap, BAD_PTR_UNMAPPED), -XEN_EFAULT);
    check_rc("add_to_physmap with a non-RAM argument",
             HYPERVISOR_memory_op(XENMEM_add_to_physmap, BAD_PTR_NOT_RAM), -XEN_EFAULT);
    check_rc("memory_op sub-op 63 (unknown)", HYPERVISOR_memory_op(63, NULL), -XEN_ENOSYS);
    check_rc("XENMEM_machphys_mapping (PV only)",
             HYPERVISOR_memory_op(XENMEM_machphys_mapping, map), -XEN_ENOSYS);
}

void test_main(void)
{
    test_memory_map();
    test_shared_info();
    test_grant_table();
    test_hostile();
}
