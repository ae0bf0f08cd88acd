/*
 * The Xen 4.17 guest ABI as Proxenos speaks it: one place that selects the
 * interface version of Debian's public headers (/usr/include/xen, reached
 * as <xen/...>), includes the ones the hypercall layer needs, and adds what
 * those headers leave to the hypervisor: the 32-bit ("compat") layouts of
 * structures that contain pointers or longs, the e820 entry format, the
 * memory_op command encoding and the version we claim to be.
 *
 * Include this header before any other that pulls in <xen/...>:
 * xen-compat.h fixes the interface version at its first inclusion, and
 * without __XEN_INTERFACE_VERSION__ it picks the legacy interface 0, in
 * which e.g. __HYPERVISOR_sched_op is the old sched_op_compat (6).
 */
#ifndef PROXENOS_XEN_ABI_H
#define PROXENOS_XEN_ABI_H

/* Xen 4.17's __XEN_LATEST_INTERFACE_VERSION__ (xen-compat.h). */
#define PROXENOS_XEN_INTERFACE 0x00040e00
#ifndef __XEN_INTERFACE_VERSION__
#define __XEN_INTERFACE_VERSION__ PROXENOS_XEN_INTERFACE
#elif __XEN_INTERFACE_VERSION__ != PROXENOS_XEN_INTERFACE
#error "a <xen/...> header was included before <proxenos/xen_abi.h>"
#endif

#include <proxenos/types.h>
#include <xen/xen.h>
#include <xen/errno.h>
#include <xen/features.h>
#include <xen/memory.h>
#include <xen/sched.h>
#include <xen/vcpu.h>
#include <xen/version.h>
#include <xen/arch-x86/cpuid.h>
#include <xen/hvm/hvm_op.h>
#include <xen/hvm/params.h>

/* The release we present ourselves as: CPUID 0x40000001 and XENVER_*. */
#define PROXENOS_XEN_MAJOR        4
#define PROXENOS_XEN_MINOR        17
#define PROXENOS_XEN_EXTRAVERSION ".0"

/* Xen's MSR that takes the hypercall page address (CPUID 0x40000002 EBX),
   at 0x40000000 because we offer no Viridian leaves below Xen's. */
#define XEN_MSR_HYPERCALL_PAGE 0x40000000u

/* memory_op's cmd: bits 0-5 the sub-op, the rest a continuation's start
   extent (Xen's xen/include/xen/hypercall.h, not public). */
#define MEMOP_EXTENT_SHIFT 6
#define MEMOP_CMD_MASK     ((1u << MEMOP_EXTENT_SHIFT) - 1)

/* Guest-visible e820 entry of XENMEM_memory_map: the packed 20-byte BIOS
   INT 15h E820 record (memory.h, struct xen_memory_map). */
struct xen_abi_e820_entry {
    uint64_t addr;
    uint64_t size;
    uint32_t type;
} __packed;

/*
 * The i386 layouts that 32-bit guests pass (Xen's compat_* structures,
 * generated from the same public headers with xen_ulong_t, xen_pfn_t and
 * guest handles 4 bytes wide and uint64_t 4-byte aligned). Only structures
 * whose layout differs are listed; the others are shared.
 */
struct compat_memory_map {
    uint32_t nr_entries;
    uint32_t buffer;                     /* XEN_GUEST_HANDLE(void) */
};
struct compat_add_to_physmap {
    uint16_t domid;
    uint16_t size;
    uint32_t space;
    uint32_t idx;                        /* xen_ulong_t */
    uint32_t gpfn;                       /* xen_pfn_t */
};
struct compat_platform_parameters {
    uint32_t virt_start;                 /* xen_ulong_t */
};

/* Layouts the hypercall code depends on (x86-64 and i386 sizes). */
BUILD_BUG_ON(sizeof(struct xen_memory_map) != 16);
BUILD_BUG_ON(sizeof(struct compat_memory_map) != 8);
BUILD_BUG_ON(sizeof(struct xen_add_to_physmap) != 24);
BUILD_BUG_ON(sizeof(struct compat_add_to_physmap) != 16);
BUILD_BUG_ON(sizeof(struct xen_abi_e820_entry) != 20);
BUILD_BUG_ON(sizeof(struct xen_hvm_param) != 16);
BUILD_BUG_ON(sizeof(struct vcpu_register_vcpu_info) != 16);
BUILD_BUG_ON(sizeof(struct vcpu_info) != 64);
BUILD_BUG_ON(sizeof(struct sched_shutdown) != 4);
BUILD_BUG_ON(sizeof(struct sched_watchdog) != 8);
BUILD_BUG_ON(sizeof(struct sched_remote_shutdown) != 8);
BUILD_BUG_ON(sizeof(struct xen_feature_info) != 8);
BUILD_BUG_ON(sizeof(xen_domain_handle_t) != 16);
BUILD_BUG_ON(sizeof(xen_commandline_t) != 1024);

/* Guests see errno values from types.h: they must be Xen's (errno.h). */
BUILD_BUG_ON(EPERM != XEN_EPERM || ENOENT != XEN_ENOENT || ESRCH != XEN_ESRCH);
BUILD_BUG_ON(EFAULT != XEN_EFAULT || EINVAL != XEN_EINVAL || ENOSYS != XEN_ENOSYS);
BUILD_BUG_ON(E2BIG != XEN_E2BIG || ENOMEM != XEN_ENOMEM || EBUSY != XEN_EBUSY);
BUILD_BUG_ON(ENOSPC != XEN_ENOSPC || EEXIST != XEN_EEXIST || EOPNOTSUPP != XEN_EOPNOTSUPP);
BUILD_BUG_ON(EACCES != XEN_EACCES);
/* Not in types.h: used only by the hypercall layer. */
#define ENODATA XEN_ENODATA
#define EDOM    XEN_EDOM

#endif
