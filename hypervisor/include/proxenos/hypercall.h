/*
 * The Xen guest interface of HVM/PVH domains: discovery (CPUID leaves
 * 0x40000000+, hvm/cpuid.c), the MSRs (hvm/msr.c) and the hypercalls
 * (common/hypercall.c dispatching to common/{xen_version,console_io,
 * sched_op,memory_op,hvm_op,vcpu_op}.c). What is implemented, and how
 * completely, is listed in docs/SUPPORT.md.
 *
 * This header does not include <xen/...> (see xen_abi.h for why the order
 * matters); the .c files include <proxenos/xen_abi.h> first.
 *
 * Every hypercall argument comes from the guest and is validated before
 * use: a bad one is answered with a negative Xen errno, never trusted.
 */
#ifndef PROXENOS_HYPERCALL_H
#define PROXENOS_HYPERCALL_H
#include <proxenos/types.h>

struct vcpu;
struct domain;

/* ---- hypercall dispatch (common/hypercall.c) ------------------------------ */

/*
 * One call's arguments, in Xen's HVM register order: RDI, RSI, RDX, R10, R8
 * for a 64-bit guest; EBX, ECX, EDX, ESI, EDI (zero-extended) for a 32-bit
 * one, which also passes the i386 "compat" layouts of structures.
 */
struct hcall {
    uint64_t arg[5];
    bool compat;
    /* Set by a handler that did a bounded part of the work and updated
       arg[] to describe the rest: the guest re-executes the call (RIP is
       not advanced), so pending interrupts are taken in between. This is
       what Xen's hypercall continuations do for HVM guests. */
    bool preempted;
};
typedef long (*hcall_fn)(struct vcpu *v, struct hcall *h);

static inline void hcall_continue(struct hcall *h) { h->preempted = true; }

/* After the bounds check of a guest-chosen index, so that a mispredicted
   check cannot read out of bounds speculatively (Xen's block_speculation;
   LFENCE serialises dispatch on Intel, and on AMD once DE_CFG bit 1 is set
   or LFENCE_DISPATCH is reported). */
static inline void block_speculation(void) { __asm__ volatile("lfence" ::: "memory"); }

/* Xen's names (xen.h __HYPERVISOR_*), "?" for unassigned numbers. */
const char *hypercall_name(unsigned int nr);

long do_xen_version(struct vcpu *v, struct hcall *h);
long do_console_io(struct vcpu *v, struct hcall *h);
long do_sched_op(struct vcpu *v, struct hcall *h);
long do_memory_op(struct vcpu *v, struct hcall *h);
long do_hvm_op(struct vcpu *v, struct hcall *h);
long do_vcpu_op(struct vcpu *v, struct hcall *h);

/* Features advertised only once provided (docs/SUPPORT.md): the event
   channel upcall vector (HVMOP_set_evtchn_upcall_vector, CPUID 0x40000004
   XEN_HVM_CPUID_UPCALL_VECTOR), and the PV clock and timers
   (XENFEAT_hvm_safe_pvclock: Linux then takes the Xen clocksource and
   clockevent, and BUG()s if VCPUOP_register_runstate_memory_area or the
   singleshot timer fail; common/{vtime,runstate,vcpu_timer}.c). */
#define HVM_HAVE_UPCALL_VECTOR 1
#define HVM_HAVE_PV_TIME       1

/* Releases what the hypercalls gave a domain (watchdog timers, grant
   tables: gnttab.h). domain_destroy() calls it before freeing the domain. */
void domain_xen_teardown(struct domain *d);
void sched_watchdog_release(struct domain *d);       /* sched_op.c */

/* The physmap (memory_op.c), for other code that changes a domain's p2m
   with d->lock held: physmap_release_gfn() empties gfn for `mfn` (RAM there
   is unmapped but stays the domain's, a special page is unhooked; 0 if
   nothing or mfn is there; -EBUSY for MMIO and grant mappings; -EINVAL
   beyond the guest's physical address width), and
   physmap_changed() makes every vCPU translate afresh before its next entry. */
int physmap_release_gfn(struct domain *d, uint64_t gfn, mfn_t mfn);
void physmap_changed(struct domain *d);
long do_physdev_op(struct vcpu *v, struct hcall *h);        /* physdev_op.c */
long do_platform_op(struct vcpu *v, struct hcall *h);       /* platform_op.c */
long do_sysctl(struct vcpu *v, struct hcall *h);
long do_domctl(struct vcpu *v, struct hcall *h);

/* XENVER_get_features submap 0 for a domain (xen_version.c). */
uint32_t xenver_features(const struct domain *d);

/* Console output accepted per CONSOLEIO_write call before it continues. */
#define CONSOLEIO_CHUNK      128
#define CONSOLEIO_PER_CALL   4096

/* ---- pure helpers, unit-tested on the host ---------------------------------- */

/* XENMEM_memory_map: how many entries to copy for a guest buffer of
   `guest_nr` entries when the domain has `have` (Xen: the minimum). */
static inline unsigned int memory_map_count(uint32_t guest_nr, unsigned int have)
{
    return guest_nr < have ? guest_nr : have;
}

/* VCPUOP_register_vcpu_info: 0 if a vcpu_info of `size` bytes at `offset`
   fits in one page and is `align`-aligned, else -ENXIO (Xen 4.17). */
int vcpu_info_offset_check(uint64_t offset, size_t size, size_t align);
/* VCPUOP_register_vcpu_info's move, once the caller has checked the page
   and holds d->lock: v's vcpu_info goes to `vi` (a hypervisor pointer into
   the guest's page at machine address maddr) with its contents, and every
   event is marked pending (i386 layout of the selector if compat). The
   caller then rewrites the pvclock (vtime_update_vcpu_time). Used by the
   HVM path here and the PV one (pv/pv_vcpu.c). */
void vcpu_info_move(struct vcpu *v, uint8_t *vi, paddr_t maddr, bool compat);

/* ---- CPUID (hvm/cpuid.c) ------------------------------------------------------ */

struct cpuid_regs {
    uint32_t a, b, c, d;
};

/*
 * What the policy needs to answer a guest's CPUID. `host` executes CPUID
 * on the machine (a table in the unit tests); everything that depends on
 * the vCPU is passed in, so the policy itself is a pure function.
 */
struct hvm_cpuid_input {
    void (*host)(uint32_t leaf, uint32_t subleaf, struct cpuid_regs *r);
    uint32_t vcpu_id;
    uint32_t nr_vcpus;          /* the domain's vCPUs: sizes the topology */
    uint16_t domid;
    bool guest_osxsave;         /* guest CR4.OSXSAVE */
    bool apic_enabled;          /* guest IA32_APIC_BASE.EN */
    uint64_t guest_xcr0;        /* sizes leaf 0xD EBX */
    uint32_t tsc_khz;           /* the guest's (= host's) TSC rate */
    bool tsc_reliable;          /* invariant TSC */
    uint32_t tsc_mul_frac;      /* TSC to ns, Xen's scale (leaf 0x40000003.1) */
    int8_t tsc_shift;
};

/* Xen's leaves: 0x40000000 (max leaf and "XenVMMXenVMM") up to 0x40000005. */
#define XEN_LEAF_BASE 0x40000000u
#define XEN_LEAF_MAX  (XEN_LEAF_BASE + 5)

/* The guest's view of CPUID leaf:subleaf (docs/SUPPORT.md, "CPUID"). */
void hvm_cpuid_policy(const struct hvm_cpuid_input *in, uint32_t leaf, uint32_t subleaf,
                      struct cpuid_regs *out);
/* The XCR0 bits guests may enable: the host's, of x87/SSE/AVX/AVX-512. */
uint64_t hvm_cpuid_xcr0_allowed(const struct hvm_cpuid_input *in);

/* ---- MSRs (hvm/msr.c) ----------------------------------------------------------- */

/* Fills a 4 KiB hypercall page: 32-byte stubs "mov $nr, %eax; <insn>; ret"
   padded with int3, __HYPERVISOR_iret's stub a ud2 (HVM has no iret). */
void hvm_hypercall_page_fill(uint8_t *page, const uint8_t insn[3]);

/* Architectural validity checks (SDM vol. 3A, 11.11 and 11.12.2). */
bool msr_pat_valid(uint64_t pat);
bool mtrr_type_valid(unsigned int type);
bool mtrr_fixed_valid(uint64_t val);
bool mtrr_def_type_valid(uint64_t val);
/* PHYSBASEn (mask = false) or PHYSMASKn with `maxphyaddr` address bits. */
bool mtrr_var_valid(uint64_t val, bool mask, unsigned int maxphyaddr);

/* EFER features the guest's CPUID offers (hvm_efer_check). */
struct efer_features {
    bool syscall, lm, nx, ffxsr;
};
/* What the MSR emulation needs to know about the machine (msr.c reads it
   from the host once; unit tests set msr_test_platform). */
struct msr_platform {
    bool intel;                 /* GenuineIntel (the guest sees the host's vendor) */
    bool amd;                   /* AuthenticAMD or HygonGenuine */
    uint8_t family;             /* CPUID display family */
    uint8_t maxphyaddr;         /* CPUID 0x80000008 EAX[7:0] */
    struct efer_features efer;
};

const struct msr_platform *msr_platform_get(void);

/* NULL if a WRMSR of `val` to EFER is valid (Xen's hvm_efer_valid, with
   LMA ignored as hvm_set_efer does), else the reason for the #GP. */
const char *hvm_efer_check(uint64_t old, uint64_t val, bool cr0_pg,
                           const struct efer_features *f);

#endif
