/*
 * xen_version: every XENVER_* sub-op Xen 4.17 offers an HVM dom0
 * (xen/common/kernel.c do_xen_version), and the hostile cases: unknown
 * sub-ops give -ENOSYS, out-of-range feature submaps -EINVAL, and buffers
 * the hypervisor cannot write (unmapped, non-canonical, not RAM, straddling
 * the end of RAM) -EFAULT.
 */
#include "common.h"

TEST_GUEST("xen_version", NEEDS_XEN, "HYPERVISOR_xen_version sub-ops and bad arguments");

static bool nul_terminated(const char *s, size_t size)
{
    return strnlen(s, size) < size;
}

static void test_strings(void)
{
    static union {
        xen_extraversion_t extra;
        xen_compile_info_t compile;
        xen_capabilities_info_t caps;
        xen_changeset_info_t changeset;
        xen_commandline_t cmdline;
    } u;
    long rc;

    memset(&u, 0xaa, sizeof(u));
    rc = HYPERVISOR_xen_version(XENVER_extraversion, &u.extra);
    check(rc == 0 && nul_terminated(u.extra, sizeof(u.extra)),
          "XENVER_extraversion -> %ld, '%.16s'", rc, u.extra);

    memset(&u, 0xaa, sizeof(u));
    rc = HYPERVISOR_xen_version(XENVER_compile_info, &u.compile);
    check(rc == 0 && nul_terminated(u.compile.compiler, sizeof(u.compile.compiler)) &&
          nul_terminated(u.compile.compile_by, sizeof(u.compile.compile_by)) &&
          nul_terminated(u.compile.compile_domain, sizeof(u.compile.compile_domain)) &&
          nul_terminated(u.compile.compile_date, sizeof(u.compile.compile_date)),
          "XENVER_compile_info -> %ld, strings terminated (compiler '%.64s')", rc,
          u.compile.compiler);

    memset(&u, 0xaa, sizeof(u));
    rc = HYPERVISOR_xen_version(XENVER_capabilities, &u.caps);
    check(rc == 0 && nul_terminated(u.caps, sizeof(u.caps)) && strstr(u.caps, "hvm-3.0-x86_64"),
          "XENVER_capabilities -> %ld, '%.200s' lists hvm-3.0-x86_64", rc, u.caps);

    memset(&u, 0xaa, sizeof(u));
    rc = HYPERVISOR_xen_version(XENVER_changeset, &u.changeset);
    check(rc == 0 && nul_terminated(u.changeset, sizeof(u.changeset)),
          "XENVER_changeset -> %ld, '%.64s'", rc, u.changeset);

    /* dom0 is privileged: it may read the hypervisor's command line. */
    memset(&u, 0xaa, sizeof(u));
    rc = HYPERVISOR_xen_version(XENVER_commandline, &u.cmdline);
    check(rc == 0 && nul_terminated(u.cmdline, sizeof(u.cmdline)),
          "XENVER_commandline -> %ld, '%.200s'", rc, u.cmdline);
    char want[64];
    if (rc == 0 && cmdline_get("hv-cmdline-has", want, sizeof(want)))
        check(strstr(u.cmdline, want) != NULL, "hypervisor command line contains '%s'", want);
}

static uint64_t pp_dummy;

static void test_values(void)
{
    uint32_t cpuid_version = cpuid(xen_cpuid_base + 1).a;
    long rc = HYPERVISOR_xen_version(XENVER_version, NULL);
    check(rc == (long)cpuid_version && rc == ((4 << 16) | 17),
          "XENVER_version -> %#lx (%ld.%ld), CPUID says %#x", rc, rc >> 16, rc & 0xffff,
          cpuid_version);
    /* XENVER_version takes no argument: garbage there must not matter. */
    rc = HYPERVISOR_xen_version(XENVER_version, BAD_PTR_UNMAPPED);
    check_eq("XENVER_version with a garbage argument", rc, cpuid_version);
    check_eq("XENVER_pagesize", HYPERVISOR_xen_version(XENVER_pagesize, NULL), 4096);
    /* Xen wants a NULL handle there (kernel.c): anything else is -EINVAL. */
    check_rc("XENVER_pagesize with a non-NULL argument",
             HYPERVISOR_xen_version(XENVER_pagesize, &pp_dummy), -XEN_EINVAL);

    xen_platform_parameters_t pp = { .virt_start = 0x1234 };
    rc = HYPERVISOR_xen_version(XENVER_platform_parameters, &pp);
    /* Xen reports HYPERVISOR_VIRT_START, or 0 to HVM guests in newer trees. */
    check(rc == 0 && (pp.virt_start == 0 || pp.virt_start == 0xffff800000000000ULL),
          "XENVER_platform_parameters -> %ld, virt_start %#lx", rc, (unsigned long)pp.virt_start);

    xen_domain_handle_t handle;
    memset(handle, 0xaa, sizeof(handle));
    check_rc("XENVER_guest_handle", HYPERVISOR_xen_version(XENVER_guest_handle, handle), 0);
}

static void test_features(void)
{
    xen_feature_info_t fi = { .submap_idx = 0, .submap = 0xdeadbeef };
    long rc = HYPERVISOR_xen_version(XENVER_get_features, &fi);
    if (!check_rc("XENVER_get_features submap 0", rc, 0))
        return;
    printk("features submap 0: %#x\n", fi.submap);

    /* What Xen 4.17 reports to an HVM/PVH domain (kernel.c): translated
     * paging, the callback vector and a safe pvclock; XENFEAT_dom0 for the
     * hardware domain; none of the PV-only bits. */
    static const struct { unsigned int bit; const char *name; bool want; } feats[] = {
        { XENFEAT_writable_page_tables, "writable_page_tables", true },
        { XENFEAT_auto_translated_physmap, "auto_translated_physmap", true },
        { XENFEAT_hvm_callback_vector, "hvm_callback_vector", true },
        { XENFEAT_hvm_safe_pvclock, "hvm_safe_pvclock", true },
        { XENFEAT_memory_op_vnode_supported, "memory_op_vnode_supported", true },
        { XENFEAT_mmu_pt_update_preserve_ad, "mmu_pt_update_preserve_ad (PV)", false },
        { XENFEAT_highmem_assist, "highmem_assist (PV)", false },
        { XENFEAT_gnttab_map_avail_bits, "gnttab_map_avail_bits (PV)", false },
        { 12, "grant_map_identity (deprecated, untranslated only)", false },
        { XENFEAT_ARM_SMCCC_supported, "ARM_SMCCC_supported (Arm)", false },
    };
    for (unsigned int i = 0; i < ARRAY_SIZE(feats); i++) {
        bool has = fi.submap & (1U << feats[i].bit);
        check(has == feats[i].want, "XENFEAT_%s %s", feats[i].name,
              feats[i].want ? "set" : "clear");
    }
    struct cpuid_res leaf4 = cpuid_count(xen_cpuid_base + 4, 0);
    if ((leaf4.a & XEN_HVM_CPUID_DOMID_PRESENT) && leaf4.c == 0)
        check(fi.submap & (1U << XENFEAT_dom0), "XENFEAT_dom0 set for domain 0");

    fi.submap_idx = XENFEAT_NR_SUBMAPS;
    check_rc("XENVER_get_features submap 1", HYPERVISOR_xen_version(XENVER_get_features, &fi),
             -XEN_EINVAL);
}

static void test_hostile(void)
{
    check_rc("xen_version sub-op 11 (unknown)", HYPERVISOR_xen_version(11, NULL), -XEN_ENOSYS);
    check_rc("xen_version sub-op 0x7fff", HYPERVISOR_xen_version(0x7fff, NULL), -XEN_ENOSYS);
    check_rc("xen_version sub-op -1", HYPERVISOR_xen_version(-1, NULL), -XEN_ENOSYS);

    static const struct { void *p; const char *what; } bad[] = {
        { BAD_PTR_UNMAPPED, "an unmapped linear address" },
        { BAD_PTR_NONCANON, "a non-canonical address" },
        { BAD_PTR_NOT_RAM, "GPA 0xfffff000 (not RAM)" },
    };
    for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++) {
        char what[96];
        snprintf(what, sizeof(what), "XENVER_extraversion into %s", bad[i].what);
        check_rc(what, HYPERVISOR_xen_version(XENVER_extraversion, bad[i].p), -XEN_EFAULT);
        snprintf(what, sizeof(what), "XENVER_get_features from %s", bad[i].what);
        check_rc(what, HYPERVISOR_xen_version(XENVER_get_features, bad[i].p), -XEN_EFAULT);
    }

    uint64_t end = ram_end_below_4g();
    if (!end) {
        test_skip("no RAM end below 4 GiB followed by non-RAM: straddling checks");
        return;
    }
    /* 1024 bytes of capabilities, starting 8 bytes before the end of RAM. */
    check_rc("XENVER_capabilities into a buffer straddling the end of RAM",
             HYPERVISOR_xen_version(XENVER_capabilities, (void *)(uintptr_t)(end - 8)),
             -XEN_EFAULT);
    xen_feature_info_t *fi = (void *)(uintptr_t)(end - 4);
    check_rc("XENVER_get_features with the argument straddling the end of RAM",
             HYPERVISOR_xen_version(XENVER_get_features, fi), -XEN_EFAULT);
}

void test_main(void)
{
    test_values();
    test_strings();
    test_features();
    test_hostile();
}
