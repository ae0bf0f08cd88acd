/*
 * gnttab: grant tables version 1 as Xen 4.17 gives them to an HVM/PVH
 * domain (xen/common/grant_table.c behind hvm_grant_table_op), used by the
 * domain on itself, and the reservation calls a balloon driver makes:
 *  - query_size, get/set_version (1; 2 refused with -ENOSYS), setup_table
 *    reporting where the guest mapped its frames, growing the table through
 *    XENMAPSPACE_grant_table;
 *  - one of our pages granted to ourselves, mapped read-write and read-only
 *    at free GFNs: writes through one show through the others, the RO
 *    mapping drops writes, GTF_reading/GTF_writing follow the pins, unmap
 *    empties the GFN and frees the handle;
 *  - GNTTABOP_copy between a grant and our own frames, with Xen's status
 *    codes for bad offsets, domains and references; swap_grant_ref;
 *  - hostile: refs past the table, entries that do not grant us access or
 *    writing, bad flags, domains, handles, addresses; negative and large
 *    counts (continued), bad pointers, sub-ops an HVM guest may not use;
 *  - XENMEM_decrease_reservation / populate_physmap on one of our pages:
 *    the page leaves and returns (zeroed), the reservation follows it, and
 *    a granted page given back stays readable through its grant mapping.
 */
#include "common.h"

TEST_GUEST("gnttab", NEEDS_XEN, "grant tables v1 on ourselves: map, unmap, copy, hostile ops, ballooning");

static uint8_t page_a[4096] __aligned(4096);     /* the granted page */
static uint8_t page_b[4096] __aligned(4096);     /* a copy target */
static uint8_t page_c[4096] __aligned(4096);     /* given back and repopulated */
static struct gnttab_map_grant_ref maps[100];

static domid_t self_id;
static volatile grant_entry_v1_t *gt;            /* frame 0 of our table */
static uint64_t gt_gfn;

static long gnttab(unsigned int cmd, void *arg, unsigned int count)
{
    return HYPERVISOR_grant_table_op(cmd, arg, count);
}

static uint64_t gfn_of(const void *p) { return (uintptr_t)p >> 12; }

static const char *const gnttab_status_names[] = GNTTABOP_error_msgs;

static const char *status_name(int16_t st)
{
    return st <= 0 && -st < (int)ARRAY_SIZE(gnttab_status_names) ? gnttab_status_names[-st]
                                                                 : "(not a GNTST)";
}

/* A GNTST_* status: names both values. */
static bool check_st(const char *what, int16_t got, int16_t want)
{
    return check(got == want, "%s -> %d (%s), want %d (%s)", what, got, status_name(got), want,
                 status_name(want));
}

static void grant(uint32_t ref, const void *page, domid_t to, uint16_t flags)
{
    gt[ref].flags = 0;
    barrier();
    gt[ref].domid = to;
    gt[ref].frame = (uint32_t)gfn_of(page);
    barrier();
    gt[ref].flags = flags;
}

static int16_t map_one(uint32_t ref, domid_t dom, uint64_t gfn, uint32_t flags, uint32_t *handle)
{
    struct gnttab_map_grant_ref op = {
        .host_addr = gfn << 12, .flags = flags, .ref = ref, .dom = dom, .status = 0x55,
    };
    long rc = gnttab(GNTTABOP_map_grant_ref, &op, 1);
    if (rc)
        return (int16_t)(0x1000 + rc);           /* shows up in a failed check */
    if (handle)
        *handle = op.handle;
    return op.status;
}

static int16_t unmap_one(uint64_t gfn, uint32_t handle)
{
    struct gnttab_unmap_grant_ref op = { .host_addr = gfn << 12, .handle = handle, .status = 0x55 };
    long rc = gnttab(GNTTABOP_unmap_grant_ref, &op, 1);
    return rc ? (int16_t)(0x1000 + rc) : op.status;
}

static void test_sizes_and_versions(void)
{
    struct gnttab_query_size qs = { .dom = DOMID_SELF, .status = 0x55 };
    check_rc("query_size", gnttab(GNTTABOP_query_size, &qs, 1), 0);
    check(qs.status == GNTST_okay && qs.nr_frames >= 1 && qs.max_nr_frames >= qs.nr_frames,
          "query_size: status %d, %u of %u frames", qs.status, qs.nr_frames, qs.max_nr_frames);
    check_rc("query_size with count 2", gnttab(GNTTABOP_query_size, &qs, 2), -XEN_EINVAL);
    qs.dom = 77;
    check_rc("query_size of domain 77", gnttab(GNTTABOP_query_size, &qs, 1), 0);
    check_eq("query_size of domain 77: status bad_domain", (uint16_t)qs.status,
             (uint16_t)GNTST_bad_domain);

    gnttab_get_version_t gv = { .dom = DOMID_SELF };
    check_rc("get_version", gnttab(GNTTABOP_get_version, &gv, 1), 0);
    check_eq("get_version: version", gv.version, 1);
    gv.dom = 77;
    check_rc("get_version of domain 77", gnttab(GNTTABOP_get_version, &gv, 1), -XEN_ESRCH);
    gnttab_set_version_t sv = { .version = 1 };
    check_rc("set_version 1", gnttab(GNTTABOP_set_version, &sv, 1), 0);
    sv.version = 2;
    long rc = gnttab(GNTTABOP_set_version, &sv, 1);
    check(rc == -XEN_ENOSYS && sv.version == 1,
          "set_version 2 -> %ld (%s), version %u (want ENOSYS, 1: v2 not offered)", rc,
          errno_name(rc), sv.version);
    sv.version = 3;
    check_rc("set_version 3", gnttab(GNTTABOP_set_version, &sv, 1), -XEN_EINVAL);
    check_rc("set_version from an unmapped buffer", gnttab(GNTTABOP_set_version, BAD_PTR_UNMAPPED, 1),
             -XEN_EFAULT);
}

static bool setup_table_frame0(void)
{
    gt_gfn = free_gfn(0);
    if (!gt_gfn) {
        test_skip("no free GFN for the grant table");
        return false;
    }
    if (!check_rc("add_to_physmap(grant_table, 0)",
                  add_to_physmap(XENMAPSPACE_grant_table, 0, gt_gfn), 0))
        return false;
    gt = (void *)(uintptr_t)(gt_gfn << 12);

    xen_pfn_t frames[2] = { 0x55, 0x55 };
    struct gnttab_setup_table st = { .dom = DOMID_SELF, .nr_frames = 1, .status = 0x55 };
    set_xen_guest_handle(st.frame_list, frames);
    check_rc("setup_table(1 frame)", gnttab(GNTTABOP_setup_table, &st, 1), 0);
    check(st.status == GNTST_okay && frames[0] == gt_gfn,
          "setup_table: status %d, frame 0 at %#lx (mapped at %#lx)", st.status, frames[0], gt_gfn);
    st.nr_frames = 1000;
    check_rc("setup_table(1000 frames)", gnttab(GNTTABOP_setup_table, &st, 1), 0);
    check_eq("setup_table(1000 frames): status general_error", (uint16_t)st.status,
             (uint16_t)GNTST_general_error);
    st.nr_frames = 2;
    set_xen_guest_handle(st.frame_list, BAD_PTR_UNMAPPED);
    check_rc("setup_table into an unmapped list", gnttab(GNTTABOP_setup_table, &st, 1), 0);
    check_eq("setup_table into an unmapped list: status bad_virt_addr", (uint16_t)st.status,
             (uint16_t)GNTST_bad_virt_addr);

    /* Mapping frame 3 grows the table to 4 frames; 64 is beyond Xen's default. */
    check_rc("add_to_physmap(grant_table, 3)",
             add_to_physmap(XENMAPSPACE_grant_table, 3, free_gfn(8)), 0);
    struct gnttab_query_size qs = { .dom = DOMID_SELF };
    gnttab(GNTTABOP_query_size, &qs, 1);
    check(qs.nr_frames >= 4, "the table grew to %u frames (>= 4)", qs.nr_frames);
    check_rc("add_to_physmap(grant_table, 64)",
             add_to_physmap(XENMAPSPACE_grant_table, 64, free_gfn(9)), -XEN_EINVAL);
    return true;
}

static void test_map_unmap(void)
{
    uint64_t rw = free_gfn(1), ro = free_gfn(2);
    volatile uint32_t *va_rw = (void *)(uintptr_t)(rw << 12), *va_ro = (void *)(uintptr_t)(ro << 12);
    volatile uint32_t *a = (volatile uint32_t *)page_a;
    uint32_t h_rw = ~0u, h_ro = ~0u;

    grant(10, page_a, self_id, GTF_permit_access);
    a[0] = 0x11111111;
    if (!check_st("map ref 10 read-write", map_one(10, self_id, rw, GNTMAP_host_map, &h_rw), 0))
        return;
    check(gt[10].flags == (GTF_permit_access | GTF_reading | GTF_writing),
          "mapped rw: entry flags %#x have reading and writing", gt[10].flags);
    check(va_rw[0] == 0x11111111, "the mapping shows our page (%#x)", va_rw[0]);
    va_rw[1] = 0x22222222;
    check(a[1] == 0x22222222, "a write through the mapping reaches our page (%#x)", a[1]);

    if (check_st("map ref 10 read-only", map_one(10, self_id, ro, GNTMAP_host_map | GNTMAP_readonly,
                                                 &h_ro), 0)) {
        check(va_ro[1] == 0x22222222, "the read-only mapping shows our page (%#x)", va_ro[1]);
        va_ro[2] = 0x33333333;
        check(a[2] != 0x33333333, "a write through the read-only mapping is dropped (%#x)", a[2]);
        check(h_ro != h_rw, "two mappings, two handles (%u, %u)", h_rw, h_ro);
        check_st("map over the read-only mapping", map_one(10, self_id, ro, GNTMAP_host_map, NULL),
                 GNTST_general_error);
        check_st("unmap the read-only mapping", unmap_one(ro, h_ro), 0);
    }
    check_st("unmap with the wrong address", unmap_one(ro, h_rw), GNTST_general_error);
    check_st("unmap the read-write mapping", unmap_one(rw, h_rw), 0);
    check((gt[10].flags & (GTF_reading | GTF_writing)) == 0,
          "unmapped: reading/writing cleared (flags %#x)", gt[10].flags);
    check(va_rw[0] == 0xffffffff, "the GFN is empty again (reads %#x)", va_rw[0]);
    check_st("unmap the same handle again", unmap_one(rw, h_rw), GNTST_bad_handle);
    check_st("unmap handle 0xffffffff", unmap_one(rw, 0xffffffff), GNTST_bad_handle);
}

static void test_map_hostile(void)
{
    uint64_t g = free_gfn(3);
    struct gnttab_query_size qs = { .dom = DOMID_SELF };
    gnttab(GNTTABOP_query_size, &qs, 1);

    grant(11, page_a, self_id, GTF_permit_access | GTF_readonly);
    grant(12, page_a, 5, GTF_permit_access);
    grant(13, page_a, self_id, 0);
    grant(14, (void *)0xfffff000, self_id, GTF_permit_access);   /* not RAM */
    check_st("map ref 0xffffffff", map_one(0xffffffff, self_id, g, GNTMAP_host_map, NULL),
             GNTST_bad_gntref);
    check_st("map the first ref past the table", map_one(qs.nr_frames * 512, self_id, g, GNTMAP_host_map, NULL), GNTST_bad_gntref);
    check_st("map with flags 0", map_one(10, self_id, g, 0, NULL), GNTST_bad_gntref);
    check_st("map with GNTMAP_device_map", map_one(10, self_id, g,
             GNTMAP_host_map | GNTMAP_device_map, NULL), GNTST_general_error);
    check_st("map with GNTMAP_contains_pte", map_one(10, self_id, g,
             GNTMAP_host_map | GNTMAP_contains_pte, NULL), GNTST_general_error);
    check_st("map with an unknown flag", map_one(10, self_id, g, GNTMAP_host_map | (1u << 20),
             NULL), GNTST_general_error);
    check_st("map from DOMID_SELF (not a domain id here)", map_one(10, DOMID_SELF, g, GNTMAP_host_map, NULL), GNTST_bad_domain);
    check_st("map from domain 77", map_one(10, 77, g, GNTMAP_host_map, NULL), GNTST_bad_domain);
    check_st("map a read-only grant writable", map_one(11, self_id, g, GNTMAP_host_map, NULL),
             GNTST_general_error);
    check_st("map a grant to domain 5", map_one(12, self_id, g, GNTMAP_host_map, NULL),
             GNTST_general_error);
    check_st("map an entry without GTF_permit_access", map_one(13, self_id, g, GNTMAP_host_map,
             NULL), GNTST_general_error);
    check_st("map a grant of a non-RAM frame", map_one(14, self_id, g, GNTMAP_host_map, NULL),
             GNTST_bad_page);
    uint8_t maxphys = (uint8_t)cpuid(0x80000008).a;
    check_st("map at a GFN beyond the physical address width", map_one(10, self_id, 1ULL << (maxphys - 12), GNTMAP_host_map, NULL),
             GNTST_general_error);
    check((gt[10].flags & (GTF_reading | GTF_writing)) == 0 &&
          (gt[11].flags & (GTF_reading | GTF_writing)) == 0,
          "failed maps leave no busy flags (%#x, %#x)", gt[10].flags, gt[11].flags);

    uint32_t h;
    if (check_st("map a read-only grant read-only", map_one(11, self_id, g, GNTMAP_host_map | GNTMAP_readonly, &h), 0)) {
        check(gt[11].flags == (GTF_permit_access | GTF_readonly | GTF_reading),
              "read-only pin: flags %#x", gt[11].flags);
        check_st("unmap it", unmap_one(g, h), 0);
    }
}

static void test_batches(void)
{
    uint64_t g = free_gfn(4);
    for (unsigned int i = 0; i < ARRAY_SIZE(maps); i++)
        maps[i] = (struct gnttab_map_grant_ref){
            .host_addr = g << 12, .flags = GNTMAP_host_map, .ref = 0x7fffffff, .dom = self_id,
            .status = 0x55,
        };
    check_rc("map batch of 100 bad refs (continued past 64)",
             gnttab(GNTTABOP_map_grant_ref, maps, ARRAY_SIZE(maps)), 0);
    unsigned int bad = 0;
    for (unsigned int i = 0; i < ARRAY_SIZE(maps); i++)
        bad += maps[i].status == GNTST_bad_gntref;
    check(bad == ARRAY_SIZE(maps), "all 100 entries got bad_gntref (%u)", bad);

    check_rc("map with count 0x80000000", gnttab(GNTTABOP_map_grant_ref, maps, 0x80000000u),
             -XEN_EINVAL);
    check_rc("map with count 0", gnttab(GNTTABOP_map_grant_ref, BAD_PTR_UNMAPPED, 0), 0);
    check_rc("map from an unmapped array", gnttab(GNTTABOP_map_grant_ref, BAD_PTR_UNMAPPED, 1),
             -XEN_EFAULT);
    check_rc("unmap from a non-RAM array", gnttab(GNTTABOP_unmap_grant_ref, BAD_PTR_NOT_RAM, 1),
             -XEN_EFAULT);
    /* A huge count over an array that ends: the entries before the end are done. */
    uint64_t end = ram_end_below_4g();
    if (end && !(start_info.memmap_paddr >= end - 4096 && start_info.memmap_paddr < end)) {
        struct gnttab_map_grant_ref *tail = (void *)(uintptr_t)(end - sizeof(*tail));
        *tail = maps[0];
        tail->status = 0x55;
        check_rc("map 0x7fffffff entries from the last one in RAM",
                 gnttab(GNTTABOP_map_grant_ref, tail, 0x7fffffff), -XEN_EFAULT);
        check_eq("  the one in RAM was done: status bad_gntref", (uint16_t)tail->status,
                 (uint16_t)GNTST_bad_gntref);
    }
    static const unsigned int refused[] = { GNTTABOP_dump_table, GNTTABOP_transfer,
        GNTTABOP_unmap_and_replace, GNTTABOP_get_status_frames, GNTTABOP_cache_flush, 13,
        (1u << 12) | GNTTABOP_map_grant_ref, 0xffffffff };
    for (unsigned int i = 0; i < ARRAY_SIZE(refused); i++) {
        char what[64];
        snprintf(what, sizeof(what), "grant_table_op cmd %#x (not for HVM guests)", refused[i]);
        check_rc(what, gnttab(refused[i], maps, 1), -XEN_ENOSYS);
    }
}

static int16_t copy1(struct gnttab_copy *op)
{
    op->status = 0x55;
    long rc = gnttab(GNTTABOP_copy, op, 1);
    return rc ? (int16_t)(0x1000 + rc) : op->status;
}

static void test_copy(void)
{
    for (unsigned int i = 0; i < 4096; i++) {
        page_a[i] = (uint8_t)(i * 7);
        page_b[i] = 0;
    }
    grant(15, page_a, self_id, GTF_permit_access);
    struct gnttab_copy op = {
        .source = { .u.ref = 15, .domid = self_id, .offset = 100 },
        .dest = { .u.gmfn = gfn_of(page_b), .domid = DOMID_SELF, .offset = 300 },
        .len = 200, .flags = GNTCOPY_source_gref,
    };
    if (check_st("copy 200 bytes from grant 15 to our page", copy1(&op), 0))
        check(!memcmp(page_b + 300, page_a + 100, 200) && page_b[299] == 0 && page_b[500] == 0,
              "copied bytes arrived, nothing around them");
    check(!(gt[15].flags & (GTF_reading | GTF_writing)), "no busy flags after the copy (%#x)",
          gt[15].flags);

    struct gnttab_copy back = {
        .source = { .u.gmfn = gfn_of(page_b), .domid = DOMID_SELF, .offset = 0 },
        .dest = { .u.ref = 15, .domid = self_id, .offset = 4000 },
        .len = 96, .flags = GNTCOPY_dest_gref,
    };
    check_st("copy 96 bytes from our page to the end of grant 15", copy1(&back), 0);
    check(!memcmp(page_a + 4000, page_b, 96), "copied into the granted page");

    struct gnttab_copy bad = op;
    bad.source.offset = 4000;
    check_st("copy crossing the source page's end", copy1(&bad), GNTST_bad_copy_arg);
    bad = op;
    bad.dest.offset = 3900;
    check_st("copy crossing the destination page's end", copy1(&bad), GNTST_bad_copy_arg);
    bad = op;
    bad.source.u.ref = 0x7fffffff;
    check_st("copy from ref 0x7fffffff", copy1(&bad), GNTST_bad_gntref);
    bad = op;
    bad.dest.domid = self_id;                  /* a frame named by a domain id */
    check_st("copy to a frame of 'domain self_id' (only DOMID_SELF may name frames)", copy1(&bad), GNTST_permission_denied);
    bad = op;
    bad.source.domid = 77;
    check_st("copy from a grant of domain 77", copy1(&bad), GNTST_bad_domain);
    bad = op;
    bad.dest.u.gmfn = 0xfffff;                 /* not RAM */
    check_st("copy to a non-RAM frame", copy1(&bad), GNTST_bad_page);
    grant(16, page_a, self_id, GTF_permit_access | GTF_readonly);
    bad = back;
    bad.dest.u.ref = 16;
    check_st("copy into a read-only grant", copy1(&bad), GNTST_general_error);
    check_rc("copy from an unmapped op", gnttab(GNTTABOP_copy, BAD_PTR_UNMAPPED, 1), -XEN_EFAULT);
}

static void test_swap(void)
{
    grant(20, page_a, self_id, GTF_permit_access);
    grant(21, page_b, self_id, GTF_permit_access | GTF_readonly);
    gnttab_swap_grant_ref_t sw = { .ref_a = 20, .ref_b = 21, .status = 0x55 };
    check_rc("swap_grant_ref 20, 21", gnttab(GNTTABOP_swap_grant_ref, &sw, 1), 0);
    check(sw.status == GNTST_okay && gt[20].frame == gfn_of(page_b) && gt[21].frame == gfn_of(page_a),
          "swapped: status %d, frames %#x %#x", sw.status, gt[20].frame, gt[21].frame);
    sw.ref_b = 0x7fffffff;
    gnttab(GNTTABOP_swap_grant_ref, &sw, 1);
    check_eq("swap with ref 0x7fffffff: bad_gntref", (uint16_t)sw.status, (uint16_t)GNTST_bad_gntref);
    uint64_t g = free_gfn(5);
    uint32_t h;
    if (map_one(21, self_id, g, GNTMAP_host_map, &h) == GNTST_okay) {
        sw.ref_b = 21;
        gnttab(GNTTABOP_swap_grant_ref, &sw, 1);
        check_eq("swap with a mapped ref: eagain", (uint16_t)sw.status, (uint16_t)GNTST_eagain);
        unmap_one(g, h);
    } else {
        test_fail("could not map ref 21 for the swap check");
    }
}

static long reservation(unsigned int op, xen_pfn_t *list, unsigned int nr, unsigned int order)
{
    struct xen_memory_reservation r = { .nr_extents = nr, .extent_order = order, .domid = DOMID_SELF };
    set_xen_guest_handle(r.extent_start, list);
    return HYPERVISOR_memory_op(op, &r);
}

static void test_balloon(void)
{
    domid_t self = DOMID_SELF;
    long before = HYPERVISOR_memory_op(XENMEM_current_reservation, &self);
    volatile uint32_t *c = (volatile uint32_t *)page_c;
    xen_pfn_t pfn = gfn_of(page_c);

    c[0] = 0xc0ffee;
    check_rc("decrease_reservation of one of our pages",
             reservation(XENMEM_decrease_reservation, &pfn, 1, 0), 1);
    check(c[0] == 0xffffffff, "the page is gone (reads %#x)", c[0]);
    check_eq("current_reservation one page lower",
             (uint64_t)HYPERVISOR_memory_op(XENMEM_current_reservation, &self), (uint64_t)before - 1);
    check_rc("decrease_reservation of it again (nothing there)",
             reservation(XENMEM_decrease_reservation, &pfn, 1, 0), 0);
    check_rc("populate_physmap at its GFN", reservation(XENMEM_populate_physmap, &pfn, 1, 0), 1);
    check(c[0] == 0, "a fresh zeroed page is back (reads %#x)", c[0]);
    check_eq("current_reservation back", (uint64_t)HYPERVISOR_memory_op(XENMEM_current_reservation,
             &self), (uint64_t)before);
    xen_pfn_t far = 1ULL << 40;
    check_rc("populate_physmap far beyond the address width",
             reservation(XENMEM_populate_physmap, &far, 1, 0), 0);
    check_rc("decrease_reservation with order 20", reservation(XENMEM_decrease_reservation, &pfn, 1,
             20), 0);
    check_rc("decrease_reservation with an unmapped list",
             reservation(XENMEM_decrease_reservation, BAD_PTR_UNMAPPED, 1, 0), 0);
    check_rc("populate_physmap with an unmapped argument",
             HYPERVISOR_memory_op(XENMEM_populate_physmap, BAD_PTR_UNMAPPED), 0);

    /* A granted page given back lives on while mapped. */
    uint64_t g = free_gfn(6);
    volatile uint32_t *m = (void *)(uintptr_t)(g << 12);
    uint32_t h;
    c[0] = 0xfeed;
    grant(22, page_c, self_id, GTF_permit_access);
    if (check_st("map a grant of the page", map_one(22, self_id, g, GNTMAP_host_map, &h), 0)) {
        check_rc("decrease_reservation of the mapped page",
                 reservation(XENMEM_decrease_reservation, &pfn, 1, 0), 1);
        check(m[0] == 0xfeed, "the mapping still shows the page (%#x)", m[0]);
        check_st("unmap it (the frame is freed now)", unmap_one(g, h), 0);
        check_rc("populate_physmap at its GFN again",
                 reservation(XENMEM_populate_physmap, &pfn, 1, 0), 1);
    }
}

void test_main(void)
{
    struct cpuid_res leaf4 = cpuid(xen_cpuid_base + 4);
    self_id = (leaf4.a & XEN_HVM_CPUID_DOMID_PRESENT) ? (domid_t)leaf4.c : 0;
    printk("grant tables of domain %u\n", self_id);

    test_sizes_and_versions();
    if (!setup_table_frame0())
        return;
    test_map_unmap();
    test_map_hostile();
    test_batches();
    test_copy();
    test_swap();
    test_balloon();
}
