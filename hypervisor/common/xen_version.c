/*
 * __HYPERVISOR_xen_version (xen/include/public/version.h), with the answers
 * Xen 4.17 gives an HVM/PVH guest (xen/common/kernel.c do_xen_version and
 * the dummy XSM policy): version, extraversion, compile_info,
 * capabilities, changeset, pagesize, guest_handle and get_features for
 * every domain; commandline and build_id only for the initial domain, the
 * others get "<denied>" and -EPERM as under Xen's XSM_PRIV.
 */
#include <proxenos/xen_abi.h>
#include <proxenos/bootinfo.h>
#include <proxenos/domain.h>
#include <proxenos/guest_access.h>
#include <proxenos/hypercall.h>
#include <proxenos/lib.h>
#include <proxenos/version.h>

#define XEN_DENIED "<denied>"

/*
 * XENVER_get_features submap 0 for an HVM/PVH domain, bit by bit as Xen
 * 4.17 computes it (kernel.c):
 *  - memory_op_vnode_supported: set for every domain (XENMEMF_vnode is
 *    accepted; we accept no populate ops yet, so it costs nothing);
 *  - writable_page_tables, auto_translated_physmap: the domain is
 *    paging_mode_translate (it has a p2m): it writes its own page tables;
 *  - dom0: the hardware domain, here the initial domain;
 *  - hvm_callback_vector: HVM_PARAM_CALLBACK_IRQ accepts the vector type;
 *  - hvm_safe_pvclock: Xen sets it for all HVM guests, but Linux then takes
 *    the Xen PV clock and BUG()s if VCPUOP_register_runstate_memory_area
 *    fails; withheld until the PV time interface exists (HVM_HAVE_PV_TIME);
 *  - hvm_pirqs: only with has_pirq(d), never for PVH;
 *  - not_direct_mapped: translated and gfn != mfn (direct_mapped is for
 *    PV and ARM's 1:1 dom0);
 *  - not set: pae_pgdir_above_4gb (PV VM_ASSIST), the PV-only
 *    mmu_pt_update_preserve_ad/highmem_assist/gnttab_map_avail_bits, ARM's
 *    ARM_SMCCC_supported; linux_rsdp_unrestricted is a guest->builder
 *    flag (ELF note), never reported by Xen; 4.18's runstate/vcpu_time
 *    phys areas and dm_msix_all_writes are after 4.17.
 */
uint32_t xenver_features(const struct domain *d)
{
    uint32_t f = 1u << XENFEAT_memory_op_vnode_supported;

    /* A classic PV guest is not translated: it owns its page tables
       (mmu_update) and sees machine frames; Xen gives it the PV-only bits
       instead of the HVM ones. */
    if (d->type == DOMTYPE_PV) {
        f |= 1u << XENFEAT_mmu_pt_update_preserve_ad | 1u << XENFEAT_highmem_assist |
             1u << XENFEAT_gnttab_map_avail_bits | 1u << XENFEAT_not_direct_mapped;
        return d->is_initial ? f | 1u << XENFEAT_dom0 : f;
    }
    f |= 1u << XENFEAT_writable_page_tables | 1u << XENFEAT_auto_translated_physmap;
    if (d->is_initial)
        f |= 1u << XENFEAT_dom0;
    f |= 1u << XENFEAT_hvm_callback_vector;
    if (HVM_HAVE_PV_TIME)
        f |= 1u << XENFEAT_hvm_safe_pvclock;
    f |= 1u << XENFEAT_not_direct_mapped;
    return f;
}

/* Copies a fixed-size string array (zero-padded) to the guest. */
static long put_string(struct vcpu *v, uint64_t gla, const char *s, size_t size)
{
    char buf[1024];

    if (size > sizeof(buf))
        return -EINVAL;
    memset(buf, 0, size);
    strlcpy(buf, s, size);
    return copy_to_guest(v, gla, buf, size) ? -EFAULT : 0;
}

static long compile_info(struct vcpu *v, uint64_t gla)
{
    xen_compile_info_t info;

    memset(&info, 0, sizeof(info));
    strlcpy(info.compiler, "gcc " __VERSION__, sizeof(info.compiler));
    strlcpy(info.compile_by, "proxenos", sizeof(info.compile_by));
    strlcpy(info.compile_domain, "", sizeof(info.compile_domain));
    strlcpy(info.compile_date, "Proxenos " PROXENOS_VERSION, sizeof(info.compile_date));
    return copy_to_guest(v, gla, &info, sizeof(info)) ? -EFAULT : 0;
}

/* Xen 4.17 reports the hypervisor's address-space split, which means
   nothing to a translated guest: HYPERVISOR_VIRT_START for 64-bit callers
   and, for 32-bit HVM ones, the unset compat start (0). */
static long platform_parameters(struct vcpu *v, struct hcall *h, uint64_t gla)
{
    if (h->compat) {
        struct compat_platform_parameters p = { .virt_start = 0 };
        return copy_to_guest(v, gla, &p, sizeof(p)) ? -EFAULT : 0;
    }
    xen_platform_parameters_t p = { .virt_start = HYPERVISOR_VIRT_START };
    return copy_to_guest(v, gla, &p, sizeof(p)) ? -EFAULT : 0;
}

static long get_features(struct vcpu *v, uint64_t gla)
{
    xen_feature_info_t fi;

    if (copy_from_guest(v, &fi, gla, sizeof(fi)))
        return -EFAULT;
    if (fi.submap_idx != 0)
        return -EINVAL;
    fi.submap = xenver_features(v->domain);
    return copy_to_guest(v, gla, &fi, sizeof(fi)) ? -EFAULT : 0;
}

static long commandline(struct vcpu *v, uint64_t gla)
{
    if (!v->domain->is_initial)
        return copy_to_guest(v, gla, XEN_DENIED, sizeof(XEN_DENIED)) ? -EFAULT : 0;
    BUILD_BUG_ON(sizeof(boot_info.cmdline) > sizeof(xen_commandline_t));
    return put_string(v, gla, boot_info.cmdline, sizeof(xen_commandline_t));
}

/* We embed no build id: Xen then answers -ENODATA, after its checks. */
static long build_id(struct vcpu *v, uint64_t gla)
{
    uint32_t len;

    if (!v->domain->is_initial)
        return -EPERM;
    if (gla) {
        if (copy_from_guest(v, &len, gla, sizeof(len)))
            return -EFAULT;
        if (len == 0)
            return -EINVAL;
    }
    return -ENODATA;
}

long do_xen_version(struct vcpu *v, struct hcall *h)
{
    uint64_t arg = h->arg[1];
    xen_domain_handle_t handle = { 0 };   /* we have no domain UUIDs */

    switch ((int)h->arg[0]) {
    case XENVER_version:
        return (PROXENOS_XEN_MAJOR << 16) | PROXENOS_XEN_MINOR;
    case XENVER_extraversion:
        return put_string(v, arg, PROXENOS_XEN_EXTRAVERSION, sizeof(xen_extraversion_t));
    case XENVER_compile_info:
        return compile_info(v, arg);
    case XENVER_capabilities:
        /* arch_get_xen_caps() with HVM and without PV, trailing space and all. */
        return put_string(v, arg, "xen-3.0-x86_64 hvm-3.0-x86_32 hvm-3.0-x86_32p hvm-3.0-x86_64 ",
                          sizeof(xen_capabilities_info_t));
    case XENVER_changeset:
        return put_string(v, arg, "unavailable", sizeof(xen_changeset_info_t));
    case XENVER_platform_parameters:
        return platform_parameters(v, h, arg);
    case XENVER_get_features:
        return get_features(v, arg);
    case XENVER_pagesize:
        return arg ? -EINVAL : (long)PAGE_SIZE;
    case XENVER_guest_handle:
        return copy_to_guest(v, arg, handle, sizeof(handle)) ? -EFAULT : 0;
    case XENVER_commandline:
        return commandline(v, arg);
    case XENVER_build_id:
        return build_id(v, arg);
    default:
        return -ENOSYS;
    }
}
