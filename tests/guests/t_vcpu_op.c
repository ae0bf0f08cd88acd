/*
 * vcpu_op: HYPERVISOR_vcpu_op for an HVM guest (Xen 4.17 common/domain.c
 * do_vcpu_op, arch_do_vcpu_op).
 *  - VCPUOP_is_up: 1 for vCPU 0, 0 or -ENOENT for vCPU 1 (down, or absent),
 *    -ENOENT for a vCPU id no domain has.
 *  - VCPUOP_register_vcpu_info: placements that cross a page or are
 *    misaligned give -ENXIO (Xen 4.15 and later; -EINVAL before), a GFN that
 *    is not RAM -EINVAL; a good one copies vcpu_info there and marks every
 *    event pending (evtchn_upcall_pending = 1, evtchn_pending_sel = ~0, as
 *    map_vcpu_info() does) without touching the rest of the page; a second
 *    registration -EINVAL. The time fields are checked softly: they are only
 *    filled once the hypervisor keeps time for the guest.
 *  - VCPUOP_get_runstate_info says vCPU 0 is running; the timer stop ops
 *    succeed; unknown ops -ENOSYS; unreadable arguments -EFAULT.
 */
#include "common.h"

TEST_GUEST("vcpu_op", NEEDS_XEN, "HYPERVISOR_vcpu_op: is_up, register_vcpu_info, runstate, bad arguments");

#define VI_OFFSET 64
static uint8_t vi_page[4096] __aligned(4096);

static long register_vcpu_info(uint64_t gfn, uint32_t offset)
{
    struct vcpu_register_vcpu_info r = { .mfn = gfn, .offset = offset, .rsvd = 0 };
    return HYPERVISOR_vcpu_op(VCPUOP_register_vcpu_info, 0, &r);
}

static void test_is_up(void)
{
    check_rc("VCPUOP_is_up vCPU 0", HYPERVISOR_vcpu_op(VCPUOP_is_up, 0, NULL), 1);
    long rc = HYPERVISOR_vcpu_op(VCPUOP_is_up, 1, NULL);
    check(rc == 0 || rc == -XEN_ENOENT,
          "VCPUOP_is_up vCPU 1 -> %ld (%s): down, or no such vCPU", rc, errno_name(rc));
    check_rc("VCPUOP_is_up vCPU 4095", HYPERVISOR_vcpu_op(VCPUOP_is_up, 4095, NULL), -XEN_ENOENT);
    check_rc("VCPUOP_is_up vCPU 0xffffffff",
             HYPERVISOR_vcpu_op(VCPUOP_is_up, 0xffffffffU, NULL), -XEN_ENOENT);
}

static void test_register_bad(void)
{
    uint64_t gfn = (uintptr_t)vi_page >> 12;
    check_rc("register_vcpu_info crossing the page (offset 4064)",
             register_vcpu_info(gfn, 4096 - 32), -XEN_ENXIO);
    check_rc("register_vcpu_info at offset 4096", register_vcpu_info(gfn, 4096), -XEN_ENXIO);
    check_rc("register_vcpu_info misaligned (offset 3)", register_vcpu_info(gfn, 3), -XEN_ENXIO);
    check_rc("register_vcpu_info on a non-RAM GFN 0xfffff", register_vcpu_info(0xfffff, 0),
             -XEN_EINVAL);
    check_rc("register_vcpu_info with an unmapped argument",
             HYPERVISOR_vcpu_op(VCPUOP_register_vcpu_info, 0, BAD_PTR_UNMAPPED), -XEN_EFAULT);
}

static bool untouched(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0x5a)
            return false;
    return true;
}

static void test_register(void)
{
    memset(vi_page, 0x5a, sizeof(vi_page));
    uint64_t gfn = (uintptr_t)vi_page >> 12;
    if (!check_rc("register_vcpu_info at our page + 64", register_vcpu_info(gfn, VI_OFFSET), 0))
        return;

    volatile struct vcpu_info *vi = (void *)(vi_page + VI_OFFSET);
    check(vi->evtchn_upcall_pending == 1 && vi->evtchn_pending_sel == ~0UL,
          "new vcpu_info has every event marked pending (pending %u, sel %#lx)",
          vi->evtchn_upcall_pending, vi->evtchn_pending_sel);
    const volatile uint8_t *page = vi_page;
    check(untouched((const uint8_t *)page, VI_OFFSET) &&
          untouched((const uint8_t *)page + VI_OFFSET + sizeof(struct vcpu_info),
                    sizeof(vi_page) - VI_OFFSET - sizeof(struct vcpu_info)),
          "the rest of the page is untouched (%zu bytes of vcpu_info written)",
          sizeof(struct vcpu_info));

    uint32_t v1 = vi->time.version;
    check(!(v1 & 1), "time version %u is even (no update in progress)", v1);
    if (v1 == 0 || vi->time.tsc_to_system_mul == 0)
        test_warn("vcpu_info time not written (version %u, mul %u): time not implemented yet?",
                  v1, vi->time.tsc_to_system_mul);
    else
        test_pass("vcpu_info time written: version %u, system_time %lu ns, mul %u shift %d",
                  v1, vi->time.system_time, vi->time.tsc_to_system_mul, vi->time.tsc_shift);

    check_rc("register_vcpu_info a second time", register_vcpu_info(gfn, VI_OFFSET + 64),
             -XEN_EINVAL);
    /* Leave nothing pending behind us. */
    vi->evtchn_upcall_pending = 0;
    vi->evtchn_pending_sel = 0;
}

static void test_other_ops(void)
{
    struct vcpu_runstate_info rs;
    memset(&rs, 0xff, sizeof(rs));
    long rc = HYPERVISOR_vcpu_op(VCPUOP_get_runstate_info, 0, &rs);
    check(rc == 0 && rs.state == RUNSTATE_running,
          "VCPUOP_get_runstate_info vCPU 0 -> %ld, state %d (running is 0)", rc, rs.state);
    check_rc("VCPUOP_get_runstate_info into an unmapped buffer",
             HYPERVISOR_vcpu_op(VCPUOP_get_runstate_info, 0, BAD_PTR_UNMAPPED), -XEN_EFAULT);
    check_rc("VCPUOP_get_runstate_info vCPU 4095",
             HYPERVISOR_vcpu_op(VCPUOP_get_runstate_info, 4095, &rs), -XEN_ENOENT);
    check_rc("VCPUOP_stop_periodic_timer",
             HYPERVISOR_vcpu_op(VCPUOP_stop_periodic_timer, 0, NULL), 0);
    check_rc("VCPUOP_stop_singleshot_timer",
             HYPERVISOR_vcpu_op(VCPUOP_stop_singleshot_timer, 0, NULL), 0);
    check_rc("vcpu_op 0x100 (unknown)", HYPERVISOR_vcpu_op(0x100, 0, NULL), -XEN_ENOSYS);
}

void test_main(void)
{
    test_is_up();
    test_register_bad();
    test_register();
    test_other_ops();
}
