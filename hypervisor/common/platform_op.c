/*
 * The control hypercalls a dom0 kernel and its tools make: platform_op
 * (xen/include/public/platform.h, Xen 4.17's
 * xen/arch/x86/platform_hypercall.c), and the toolstack's sysctl and
 * domctl.
 *
 * platform_op: -EFAULT for an unreadable op, -EACCES for another
 * interface_version than XENPF_INTERFACE_VERSION, -EPERM for any domain
 * but the initial one (Xen's XSM_PRIV), then by cmd:
 *  settime32, settime64   0 (settime64: mbz must be 0, else -EINVAL).
 *                         **Differs:** Xen moves every domain's wallclock;
 *                         here it stays the RTC's (vtime.c has no setter),
 *                         so dom0's clock updates are accepted and dropped.
 *  get_cpuinfo            apic_id, acpi_id (the MADT's UID, ~0 without
 *                         ACPI), ONLINE for the hypervisor's CPU number, or
 *                         INVALID beyond the CPUs brought up; max_present.
 *  get_cpu_version        vendor, family, model, stepping as Xen's
 *                         cpuinfo_x86 (the CPUs are taken to be alike), or
 *                         zeros for a CPU that is not online.
 *  firmware_info          disk info, MBR signatures, VBE EDID: -ESRCH (no
 *                         BIOS data was collected at boot); EFI: -ENOSYS (not
 *                         booted by EFI); keyboard shift flags: index 0 -> 0,
 *                         others -ESRCH; unknown types -EINVAL.
 *  everything else        -ENOSYS (memtypes, microcode, ACPI sleep, P/C
 *                         states, CPU/memory hotplug, resource_op, ...).
 *
 * sysctl / domctl: -EFAULT, -EACCES for another interface version
 * (XEN_SYSCTL/DOMCTL_INTERFACE_VERSION 0x15 of Xen 4.17), -EPERM unless
 * the initial domain. sysctl physinfo is answered; every other sysctl and
 * every domctl is -ENOSYS (there is no toolstack domain management).
 */
#include <proxenos/xen_abi.h>
#include <xen/platform.h>
#include <proxenos/acpi.h>
#include <proxenos/cpu.h>
#include <proxenos/domain.h>
#include <proxenos/guest_access.h>
#include <proxenos/hvm.h>
#include <proxenos/hypercall.h>
#include <proxenos/io.h>
#include <proxenos/lib.h>
#include <proxenos/mm.h>
#include <proxenos/smp.h>

BUILD_BUG_ON(sizeof(struct xen_platform_op) != 136);
BUILD_BUG_ON(offsetof(struct xen_platform_op, u) != 8);

extern uint64_t tsc_khz;                    /* platform/time.c */

/* ---- platform_op -------------------------------------------------------------------------- */

/* The highest CPU number the hypervisor brought up or tried to. */
static uint32_t max_present(void)
{
    uint32_t max = 0;

    for (uint32_t i = 0; i < MAX_CPUS; i++)
        if (percpu_table[i])
            max = i;
    return max;
}

/* Xen's acpi_get_processor_id: the MADT entry's UID for the CPU's APIC ID. */
static uint32_t acpi_uid(uint32_t apic_id)
{
    for (unsigned int i = 0; acpi_present && i < acpi_info.nr_cpus && i < ACPI_MAX_CPUS; i++)
        if (acpi_info.cpus[i].apic_id == apic_id)
            return acpi_info.cpus[i].uid;
    return ~0u;
}

static void cpuinfo(struct xenpf_pcpuinfo *p)
{
    uint32_t cpu = p->xen_cpuid;

    if (cpu >= MAX_CPUS || !percpu_table[cpu]) {
        p->flags = XEN_PCPU_FLAGS_INVALID;
    } else {
        p->apic_id = percpu_table[cpu]->apic_id;
        p->acpi_id = acpi_uid(p->apic_id);
        p->flags = cpu_online(cpu) ? XEN_PCPU_FLAGS_ONLINE : 0;
    }
    p->max_present = max_present();
}

/* Family and model the way Xen's cpuinfo_x86 holds them (x86 and
   x86_model: extended fields folded in for family 6 and 0xf onwards). */
static void cpu_version(struct xenpf_pcpu_version *p)
{
    uint32_t a, b, c, d;

    p->max_present = max_present();
    if (p->xen_cpuid >= MAX_CPUS || !cpu_online(p->xen_cpuid)) {
        memset(p->vendor_id, 0, sizeof(p->vendor_id));
        p->family = p->model = p->stepping = 0;
        return;
    }
    cpuid(0, &a, &b, &c, &d);
    memcpy(p->vendor_id, &b, 4);
    memcpy(p->vendor_id + 4, &d, 4);
    memcpy(p->vendor_id + 8, &c, 4);
    cpuid(1, &a, &b, &c, &d);
    p->family = (a >> 8) & 0xf;
    p->model = (a >> 4) & 0xf;
    p->stepping = a & 0xf;
    if (p->family == 0xf)
        p->family += (a >> 20) & 0xff;
    if (p->family >= 6)
        p->model |= ((a >> 16) & 0xf) << 4;
}

static long firmware_info(struct xenpf_firmware_info *fw)
{
    switch (fw->type) {
    case XEN_FW_DISK_INFO:
    case XEN_FW_DISK_MBR_SIGNATURE:
    case XEN_FW_VBEDDC_INFO:
        return -ESRCH;                       /* Xen: index beyond what it found */
    case XEN_FW_EFI_INFO:
        return -ENOSYS;                      /* efi_get_info() without EFI */
    case XEN_FW_KBD_SHIFT_FLAGS:
        if (fw->index != 0)
            return -ESRCH;
        fw->u.kbd_shift_flags = 0;
        return 0;
    default:
        return -EINVAL;
    }
}

/* Writes back the part of the union a cmd returned. */
static long put_union(struct vcpu *v, uint64_t arg, const struct xen_platform_op *op, size_t len)
{
    return copy_to_guest(v, arg + offsetof(struct xen_platform_op, u), &op->u, len) ? -EFAULT : 0;
}

long do_platform_op(struct vcpu *v, struct hcall *h)
{
    struct xen_platform_op op;
    uint64_t arg = h->arg[0];
    long rc;

    if (copy_from_guest(v, &op, arg, sizeof(op)))
        return -EFAULT;
    if (op.interface_version != XENPF_INTERFACE_VERSION)
        return -EACCES;
    if (!v->domain->is_initial)
        return -EPERM;
    switch (op.cmd) {
    case XENPF_settime32:
        return 0;
    case XENPF_settime64:
        return op.u.settime64.mbz ? -EINVAL : 0;
    case XENPF_get_cpuinfo:
        cpuinfo(&op.u.pcpu_info);
        return put_union(v, arg, &op, sizeof(op.u.pcpu_info));
    case XENPF_get_cpu_version:
        cpu_version(&op.u.pcpu_version);
        return put_union(v, arg, &op, sizeof(op.u.pcpu_version));
    case XENPF_firmware_info:
        if ((rc = firmware_info(&op.u.firmware_info)))
            return rc;
        return put_union(v, arg, &op, sizeof(op.u.firmware_info));
    default:
        return -ENOSYS;
    }
}

/* ---- sysctl and domctl ----------------------------------------------------------------------- */

/* xen/include/public/{sysctl,domctl}.h of Xen 4.17; those headers are for
   the toolstack only (they #error without __XEN_TOOLS__), so the few
   fields used are spelt out here. */
#define SYSCTL_INTERFACE_VERSION 0x00000015
#define DOMCTL_INTERFACE_VERSION 0x00000015
#define SYSCTL_physinfo          3
#define PHYSCAP_hvm              (1u << 0)
#define PHYSCAP_hap              (1u << 3)

struct ctl_head {                           /* both start with these */
    uint32_t cmd;
    uint32_t interface_version;
};

struct sysctl_physinfo {                    /* at offset 8, both widths */
    uint32_t threads_per_core, cores_per_socket, nr_cpus, max_cpu_id;
    uint32_t nr_nodes, max_node_id, cpu_khz, capabilities, arch_capabilities, pad;
    uint64_t total_pages, free_pages, scrub_pages, outstanding_pages, max_mfn;
    uint32_t hw_cap[8];
};
BUILD_BUG_ON(sizeof(struct sysctl_physinfo) != 112);

static long ctl_check(struct vcpu *v, uint64_t arg, uint32_t version, struct ctl_head *hd)
{
    if (copy_from_guest(v, hd, arg, sizeof(*hd)))
        return -EFAULT;
    if (hd->interface_version != version)
        return -EACCES;
    return v->domain->is_initial ? 0 : -EPERM;
}

/* XEN_SYSCTL_physinfo: one node, one thread per core (the topology is not
   read), hw_cap[0..3] the CPUID words Xen puts first (1.EDX, 1.ECX,
   0x80000001.EDX, 0x80000001.ECX). */
static void physinfo(struct sysctl_physinfo *p)
{
    uint32_t a, b;

    memset(p, 0, sizeof(*p));
    p->threads_per_core = 1;
    p->nr_cpus = p->cores_per_socket = nr_cpus_online;
    p->max_cpu_id = max_present();
    p->nr_nodes = 1;
    p->cpu_khz = (uint32_t)tsc_khz;
    p->capabilities = PHYSCAP_hvm | (hvm_enabled() ? PHYSCAP_hap : 0);
    p->total_pages = total_ram_pages;
    p->free_pages = mm_free_pages();
    p->max_mfn = max_mfn - 1;
    cpuid(1, &a, &b, &p->hw_cap[1], &p->hw_cap[0]);
    cpuid(0x80000000, &a, &b, &b, &b);
    if (a >= 0x80000001)
        cpuid(0x80000001, &a, &b, &p->hw_cap[3], &p->hw_cap[2]);
}

long do_sysctl(struct vcpu *v, struct hcall *h)
{
    struct ctl_head hd;
    struct sysctl_physinfo pi;
    long rc = ctl_check(v, h->arg[0], SYSCTL_INTERFACE_VERSION, &hd);

    if (rc)
        return rc;
    if (hd.cmd != SYSCTL_physinfo)
        return -ENOSYS;
    physinfo(&pi);
    return copy_to_guest(v, h->arg[0] + sizeof(hd), &pi, sizeof(pi)) ? -EFAULT : 0;
}

long do_domctl(struct vcpu *v, struct hcall *h)
{
    struct ctl_head hd;
    long rc = ctl_check(v, h->arg[0], DOMCTL_INTERFACE_VERSION, &hd);

    return rc ? rc : -ENOSYS;
}
