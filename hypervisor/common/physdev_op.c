/*
 * __HYPERVISOR_physdev_op (xen/include/public/physdev.h) for HVM/PVH
 * domains. Xen 4.17 lets them reach do_physdev_op only through its HVM
 * filter (hvm_physdev_op, xen/arch/x86/hvm/hypercall.c), which is what a
 * PVH dom0 sees:
 *
 *  map_pirq, unmap_pirq, eoi, irq_status_query, get_free_pirq
 *      -ENOSYS: a PVH domain has no pirqs (has_pirq() is false; Proxenos
 *      never offers XENFEAT_hvm_pirqs), its interrupts are the emulated
 *      local APIC's and event channels.
 *  pci_mmcfg_reserved
 *      the hardware domain only (others -ENOSYS, as the filter answers):
 *      -EFAULT for an unreadable argument, -EINVAL for unknown flags, then
 *      -ENODEV, Xen's answer for a region absent from its own MCFG list
 *      (pci_mmcfg_reserved): Proxenos does not use MMCONFIG and gives dom0
 *      no PCI configuration space to register it for. Linux reports the
 *      failure per region ("Failed to report MMCONFIG reservation state")
 *      and carries on.
 *  everything else (pci_device_add/remove, manage_pci_*, setup_gsi,
 *  apic_read/write, alloc/free_irq_vector, set_iopl, set_iobitmap,
 *  restore_msi, prepare_msix, dbgp_op, ...): -ENOSYS, as the filter.
 *
 * The legacy physdev_op_compat (19) is not an HVM hypercall: -ENOSYS from
 * the dispatcher.
 */
#include <proxenos/xen_abi.h>
#include <xen/physdev.h>
#include <proxenos/domain.h>
#include <proxenos/guest_access.h>
#include <proxenos/hypercall.h>

BUILD_BUG_ON(sizeof(struct physdev_pci_mmcfg_reserved) != 16);

static long mmcfg_reserved(struct vcpu *v, uint64_t arg)
{
    struct physdev_pci_mmcfg_reserved info;

    if (copy_from_guest(v, &info, arg, sizeof(info)))
        return -EFAULT;
    if (info.flags & ~XEN_PCI_MMCFG_RESERVED)
        return -EINVAL;
    return -ENODEV;                        /* not a region Proxenos knows */
}

long do_physdev_op(struct vcpu *v, struct hcall *h)
{
    switch ((int)h->arg[0]) {
    case PHYSDEVOP_pci_mmcfg_reserved:
        return v->domain->is_initial ? mmcfg_reserved(v, h->arg[1]) : -ENOSYS;
    default:
        return -ENOSYS;
    }
}
