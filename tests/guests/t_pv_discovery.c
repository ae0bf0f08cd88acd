/*
 * pv_discovery: what a 64-bit PV guest finds at boot and how it reaches the
 * hypervisor (the PV counterpart of discovery and xen_version):
 *  - start_info as xen.h documents it ("xen-3.0-x86_64", nr_pages, dom0
 *    flags, shared_info, pt_base, nr_pt_frames, mfn_list, no store or
 *    console ring for dom0);
 *  - shared info mapped with update_va_mapping and readable;
 *  - xen_version: 4.17, extraversion, capabilities, get_features submap 0
 *    as Xen 4.17's do_xen_version gives a PV dom0 (kernel.c), platform
 *    parameters (virt_start = HYPERVISOR_VIRT_START), bad buffers;
 *  - the read-only M2P at its ABI address, the inverse of the P2M list;
 *  - the hypercall page: Xen's 64-bit stubs (pv_ring3_init_hypercall_page),
 *    calls through it and by direct SYSCALL agree, bad numbers -ENOSYS.
 * Boot: dom0=pv with build/guests/pv_discovery.elf.
 */
#include "pv_guest.h"
#include <xen/version.h>
#include <xen/features.h>

#define XEN_417 0x40011L
#define PV_UNMAPPED 0x0000100000000000UL       /* L4 slot 32: nothing there */

static bool magic_ok(const char *m)
{
    static const char want[] = "xen-3.0-x86_64";

    return pv_memeq(m, want, sizeof(want));
}

static void check_start_info(void)
{
    start_info_t *si = pv_si;

    pv_check(magic_ok(si->magic), "start_info magic is xen-3.0-x86_64", 0, 0);
    pv_check(si->nr_pages >= 1024, "nr_pages covers at least 4 MiB", (long)si->nr_pages, 1024);
    pv_check((si->flags & (SIF_INITDOMAIN | SIF_PRIVILEGED)) == (SIF_INITDOMAIN | SIF_PRIVILEGED),
             "dom0 flags SIF_INITDOMAIN|SIF_PRIVILEGED", si->flags, SIF_INITDOMAIN | SIF_PRIVILEGED);
    pv_check(!(si->shared_info & (PV_PAGE_SIZE - 1)) && si->shared_info,
             "shared_info is a page-aligned machine address", (long)si->shared_info, 0);
    pv_check(!(si->pt_base & (PV_PAGE_SIZE - 1)) && si->pt_base > (uint64_t)si,
             "pt_base is a page after start_info", (long)si->pt_base, 0);
    pv_check(si->nr_pt_frames >= 4, "at least 4 bootstrap page-table frames",
             (long)si->nr_pt_frames, 4);
    pv_check(si->mfn_list && si->mfn_list < (uint64_t)si, "the P2M list precedes start_info",
             (long)si->mfn_list, 0);
    pv_check(si->store_mfn == 0 && si->console.domU.mfn == 0, "dom0: no store/console rings",
             (long)si->store_mfn, 0);
    pv_check(si->mod_start == 0 && si->mod_len == 0, "no boot module: mod_start and mod_len 0",
             (long)si->mod_len, 0);
    pv_check(pv_strlen((const char *)si->cmd_line) < sizeof(si->cmd_line),
             "cmd_line NUL-terminated within MAX_GUEST_CMDLINE", 0, 0);
    {
        unsigned int writable = 0;

        for (unsigned long i = 0; i < si->nr_pt_frames; i++)
            writable += !!(pv_read_pte(pv_l1e_maddr(si->pt_base + i * PV_PAGE_SIZE)) & PV_PTE_RW);
        pv_check_eq("the bootstrap page tables are mapped read-only (writable ones)", writable, 0);
    }
    /* The P2M and the read-only M2P agree on start_info's own page. */
    pv_check(pv_mfn_to_va(pv_va_to_mfn((uint64_t)si)) == (uint64_t)si,
             "M2P[P2M[start_info]] is start_info", 0, 0);
}

static void check_shared_info(void)
{
    struct shared_info *sh;
    long rc = pv_map_shared_info(&sh);
    unsigned int pending = 0;

    pv_check_eq("shared info mapped with update_va_mapping", rc, 0);
    if (rc)
        return;
    pv_check_eq("vcpu_info[0]: events masked at boot", sh->vcpu_info[0].evtchn_upcall_mask, 1);
    for (unsigned int i = 0; i < sizeof(sh->evtchn_pending) / sizeof(sh->evtchn_pending[0]); i++)
        pending += sh->evtchn_pending[i] != 0;
    pv_check_eq("no event channel pending at boot", pending, 0);
    /* Its machine frame is the one start_info names (the L1 entry). */
    pv_check_eq("the mapping names start_info's shared_info frame",
                (long)PV_PTE_MFN(pv_read_pte(pv_l1e_maddr((uint64_t)sh))),
                (long)(pv_si->shared_info >> 12));
}

static void check_xen_version(void)
{
    static xen_extraversion_t extra;
    static xen_capabilities_info_t caps;
    static xen_platform_parameters_t pp;
    static xen_feature_info_t fi;
    unsigned long want_f = 1UL << XENFEAT_memory_op_vnode_supported |
                           1UL << XENFEAT_mmu_pt_update_preserve_ad | 1UL << XENFEAT_highmem_assist |
                           1UL << XENFEAT_gnttab_map_avail_bits | 1UL << XENFEAT_dom0;
    unsigned long direct = 1UL << XENFEAT_direct_mapped | 1UL << XENFEAT_not_direct_mapped;
    long rc;

    pv_check_eq("xen_version(XENVER_version) is 4.17",
                pv_hcall(__HYPERVISOR_xen_version, XENVER_version, 0, 0, 0, 0), XEN_417);
    rc = pv_hcall(__HYPERVISOR_xen_version, XENVER_extraversion, (uint64_t)extra, 0, 0, 0);
    pv_check(rc == 0 && extra[0] == '.' && pv_strlen(extra) < sizeof(extra),
             "XENVER_extraversion: a NUL-terminated '.N'", rc, 0);
    rc = pv_hcall(__HYPERVISOR_xen_version, XENVER_capabilities, (uint64_t)caps, 0, 0, 0);
    pv_check_eq("XENVER_capabilities", rc, 0);
    /* Xen's arch_get_xen_caps() lists the PV ABI it runs. */
    pv_check(pv_contains(caps, "xen-3.0-x86_64"), "XENVER_capabilities lists xen-3.0-x86_64", 0, 1);
    fi.submap_idx = 0;
    rc = pv_hcall(__HYPERVISOR_xen_version, XENVER_get_features, (uint64_t)&fi, 0, 0, 0);
    pv_check_eq("XENVER_get_features submap 0", rc, 0);
    pv_check_eq("submap 0: vnode, preserve_ad, highmem_assist, gnttab_map_avail_bits, dom0",
                (long)(fi.submap & ~direct), (long)want_f);
    /* Xen 4.17: is_domain_direct_mapped() is CDF_directmap, which x86
       never sets: every x86 domain gets not_direct_mapped. */
    pv_check((fi.submap & direct) == 1UL << XENFEAT_not_direct_mapped,
             "submap 0: not_direct_mapped (x86 has no CDF_directmap domains)",
             (long)(fi.submap & direct), (long)(1UL << XENFEAT_not_direct_mapped));
    fi.submap_idx = 1;
    pv_check_eq("XENVER_get_features submap 1 -EINVAL",
                pv_hcall(__HYPERVISOR_xen_version, XENVER_get_features, (uint64_t)&fi, 0, 0, 0),
                -XEN_EINVAL);
    rc = pv_hcall(__HYPERVISOR_xen_version, XENVER_platform_parameters, (uint64_t)&pp, 0, 0, 0);
    pv_check(rc == 0 && pp.virt_start == HYPERVISOR_VIRT_START,
             "XENVER_platform_parameters: virt_start is HYPERVISOR_VIRT_START", (long)pp.virt_start,
             (long)HYPERVISOR_VIRT_START);
    pv_check_eq("XENVER_pagesize", pv_hcall(__HYPERVISOR_xen_version, XENVER_pagesize, 0, 0, 0, 0),
                4096);
    pv_check_eq("XENVER_extraversion into an unmapped buffer -EFAULT",
                pv_hcall(__HYPERVISOR_xen_version, XENVER_extraversion, PV_UNMAPPED, 0, 0, 0),
                -XEN_EFAULT);
    pv_check_eq("XENVER_extraversion into the read-only M2P -EFAULT",
                pv_hcall(__HYPERVISOR_xen_version, XENVER_extraversion, PV_RO_MPT, 0, 0, 0),
                -XEN_EFAULT);
    pv_check_eq("XENVER_extraversion into the hypervisor's area -EFAULT",
                pv_hcall(__HYPERVISOR_xen_version, XENVER_extraversion, 0xffff830000000000UL, 0,
                         0, 0), -XEN_EFAULT);
}

/* Every frame of ours: the read-only M2P at RO_MPT_VIRT_START maps it
   back to its index in the P2M list. */
static void check_m2p(void)
{
    const unsigned long *p2m = (const unsigned long *)pv_si->mfn_list;
    const volatile unsigned long *m2p = (const volatile unsigned long *)PV_RO_MPT;
    unsigned long bad = 0, first_bad = 0;

    for (unsigned long i = 0; i < pv_si->nr_pages; i++)
        if (m2p[p2m[i]] != i && !bad++)
            first_bad = i;
    pv_check(bad == 0, "M2P[P2M[i]] == i for every page (first mismatch as got)", (long)first_bad, 0);
}

/* push %rcx; push %r11; mov $nr,%eax; syscall; pop %r11; pop %rcx; ret,
   and for iret: push %rcx; push %r11; push %rax; mov $23,%eax; syscall. */
static void check_hypercall_page(void)
{
    static const uint8_t stub[] = { 0x51, 0x41, 0x53, 0xb8, 0, 0, 0, 0,
                                    0x0f, 0x05, 0x41, 0x5b, 0x59, 0xc3 };
    static const uint8_t iret[] = { 0x51, 0x41, 0x53, 0x50, 0xb8, 23, 0, 0, 0, 0x0f, 0x05 };
    unsigned int bad = 0;

    for (uint32_t nr = 0; nr < 128; nr++) {
        const uint8_t *s = hypercall_page + nr * 32;

        if (nr == __HYPERVISOR_iret) {
            bad += !pv_memeq(s, iret, sizeof(iret));
            continue;
        }
        bad += !pv_memeq(s, stub, 4) || !pv_memeq(s + 4, &nr, 4) || !pv_memeq(s + 8, stub + 8, 6);
    }
    pv_check_eq("all 128 hypercall page stubs are Xen's 64-bit PV stubs (wrong ones)", bad, 0);
    pv_check_eq("xen_version by direct SYSCALL (no stub)",
                pv_hcall_raw(__HYPERVISOR_xen_version, XENVER_version, 0), XEN_417);
    pv_check_eq("hypercall 64 (beyond the table) -ENOSYS", pv_hcall_raw(64, 0, 0), -XEN_ENOSYS);
    pv_check_eq("hypercall 0xffffffff -ENOSYS", pv_hcall_raw(0xffffffffUL, 0, 0), -XEN_ENOSYS);
    pv_check_eq("hypercall (1 << 32) | xen_version -ENOSYS (all of RAX counts)",
                pv_hcall_raw((1UL << 32) | __HYPERVISOR_xen_version, XENVER_version, 0),
                -XEN_ENOSYS);
    pv_check_eq("an unimplemented hypercall answers -ENOSYS",
                pv_hcall(__HYPERVISOR_kexec_op, 0, 0, 0, 0, 0), -XEN_ENOSYS);
}

PV_TEST_MAIN(discovery)
{
    check_start_info();
    check_shared_info();
    check_xen_version();
    check_m2p();
    check_hypercall_page();
}
