/*
 * The CPUID a guest sees (hvm.h hvm_cpuid): the host's leaves passed
 * through a whitelist of what Proxenos can offer, a synthesised topology,
 * and Xen's leaves at 0x40000000, where a guest discovers Xen (Xen 4.17's
 * xen/arch/x86/cpuid.c guest_cpuid, xen/arch/x86/traps.c
 * cpuid_hypervisor_leaves; leaf layouts in public/arch-x86/cpuid.h).
 *
 * hvm_cpuid_policy() is pure: the host's CPUID and the vCPU's state come
 * in through struct hvm_cpuid_input, so tests run it against recorded
 * hosts. Feature bits are named after Xen's public featureset
 * (cpufeatureset.h). A feature is offered only if the host has it AND
 * the hypervisor can virtualise it; docs/SUPPORT.md lists the choices:
 *   - hidden: VMX, SVM (no nested virtualisation), MONITOR/MWAIT (MWAIT
 *     exits are #UD), the PMU (leaf 0xA zero, PDCM), MCE/MCA (no virtual
 *     machine-check banks), TSX, the speculation-control MSR interfaces
 *     (SPEC_CTRL, PRED_CMD, ARCH_CAPABILITIES, ...: not context-switched),
 *     RDTSCP/RDPID (TSC_AUX is not switched), TSC_ADJUST, MPX, SGX, PT,
 *     PKU (PKRU is not switched), CET, AMX, XSAVES (IA32_XSS not emulated),
 *     LA57, WAITPKG, the thermal/power leaves, AMD TOPOEXT/CMP_LEGACY/SEV;
 *   - forced: the hypervisor bit (leaf 1 ECX 31), x2APIC, HTT, ARAT, and
 *     TSC-deadline, which the vLAPIC emulates whatever the host has (Xen
 *     passes the host's bit; offering it spares a guest that drives the
 *     APIC timer Linux's 100 ms calibration of it);
 *   - dynamic: OSXSAVE follows the guest's CR4, APIC its IA32_APIC_BASE.
 * Topology: vCPU i has APIC ID 2i (Xen's convention, also the vLAPIC's):
 * one package, one core per vCPU, each core with room for two threads.
 */
#include <proxenos/xen_abi.h>
#include <xen/arch-x86/cpufeatureset.h>
#include <proxenos/hypercall.h>
#include <proxenos/lib.h>

#define F(name)     (1u << (XEN_X86_FEATURE_##name & 31))
#define W(name)     (XEN_X86_FEATURE_##name / 32)

/* Highest leaves offered (and understood by this policy). */
#define BASIC_MAX    0x1fu
#define EXTD_MAX     0x80000021u

/* XCR0 components (SDM vol. 1, 13.1). */
#define XSTATE_X87       (1ull << 0)
#define XSTATE_SSE       (1ull << 1)
#define XSTATE_YMM       (1ull << 2)
#define XSTATE_OPMASK    (1ull << 5)
#define XSTATE_ZMM_HI256 (1ull << 6)
#define XSTATE_HI16_ZMM  (1ull << 7)
#define XSTATE_AVX512    (XSTATE_OPMASK | XSTATE_ZMM_HI256 | XSTATE_HI16_ZMM)
#define XSTATE_OFFERED   (XSTATE_X87 | XSTATE_SSE | XSTATE_YMM | XSTATE_AVX512)
#define XSAVE_LEGACY_HDR 576            /* legacy area + XSAVE header */

#define LEAF6_ARAT (1u << 2)

/* ---- whitelists, one per feature word (Xen's featureset numbering) ------- */

static const uint32_t leaf1_edx = F(FPU) | F(VME) | F(DE) | F(PSE) | F(TSC) | F(MSR) |
    F(PAE) | F(CX8) | F(APIC) | F(SEP) | F(MTRR) | F(PGE) | F(CMOV) | F(PAT) | F(PSE36) |
    F(CLFLUSH) | F(MMX) | F(FXSR) | F(SSE) | F(SSE2) | F(SS);
static const uint32_t leaf1_ecx = F(SSE3) | F(PCLMULQDQ) | F(SSSE3) | F(FMA) | F(CX16) |
    F(PCID) | F(SSE4_1) | F(SSE4_2) | F(MOVBE) | F(POPCNT) | F(AESNI) | F(XSAVE) |
    F(AVX) | F(F16C) | F(RDRAND);
/* AMD repeats leaf 1 EDX bits 0-9, 12-17, 23, 24 in 0x80000001 EDX. */
static const uint32_t e1_edx_mirror = 0x0183f3ffu;
static const uint32_t e1_edx = F(SYSCALL) | F(NX) | F(MMXEXT) | F(FFXSR) | F(PAGE1GB) |
    F(LM) | F(3DNOWEXT) | F(3DNOW);
static const uint32_t e1_ecx = F(LAHF_LM) | F(ABM) | F(SSE4A) | F(MISALIGNSSE) |
    F(3DNOWPREFETCH) | F(XOP) | F(FMA4) | F(TBM);
static const uint32_t xsave1_eax = F(XSAVEOPT) | F(XSAVEC) | F(XGETBV1);
static const uint32_t leaf7_ebx = F(FSGSBASE) | F(BMI1) | F(AVX2) | F(FDP_EXCP_ONLY) |
    F(SMEP) | F(BMI2) | F(ERMS) | F(INVPCID) | F(NO_FPU_SEL) | F(AVX512F) | F(AVX512DQ) |
    F(RDSEED) | F(ADX) | F(SMAP) | F(AVX512_IFMA) | F(CLFLUSHOPT) | F(CLWB) | F(AVX512PF) |
    F(AVX512ER) | F(AVX512CD) | F(SHA) | F(AVX512BW) | F(AVX512VL);
static const uint32_t leaf7_ecx = F(PREFETCHWT1) | F(AVX512_VBMI) | F(UMIP) |
    F(AVX512_VBMI2) | F(GFNI) | F(VAES) | F(VPCLMULQDQ) | F(AVX512_VNNI) |
    F(AVX512_BITALG) | F(AVX512_VPOPCNTDQ) | F(CLDEMOTE) | F(MOVDIRI) | F(MOVDIR64B);
static const uint32_t leaf7_edx = F(AVX512_4VNNIW) | F(AVX512_4FMAPS) | F(FSRM) |
    F(AVX512_VP2INTERSECT) | F(MD_CLEAR) | F(SERIALIZE);
static const uint32_t leaf7s1_eax = F(AVX_VNNI) | F(AVX512_BF16) | F(FZRM) | F(FSRS) | F(FSRCS);
static const uint32_t e7_edx = F(ITSC);
static const uint32_t e8_ebx = F(CLZERO) | F(RSTR_FP_ERR_PTRS) | F(SSB_NO) | F(BTC_NO);
static const uint32_t e21_eax = F(LFENCE_DISPATCH) | F(VERW_CLEAR) | F(NSCB) | F(SRSO_NO) |
    F(SRSO_US_NO);
static const uint32_t e21_ecx = F(TSA_SQ_NO) | F(TSA_L1_NO);

/* Features that need the YMM state, and those that need all of AVX-512's. */
static const uint32_t ymm_leaf1_ecx = F(FMA) | F(AVX) | F(F16C);
static const uint32_t ymm_e1_ecx = F(XOP) | F(FMA4);
static const uint32_t ymm_leaf7_ebx = F(AVX2);
static const uint32_t ymm_leaf7_ecx = F(VAES) | F(VPCLMULQDQ);
static const uint32_t ymm_leaf7s1_eax = F(AVX_VNNI);
static const uint32_t zmm_leaf7_ebx = F(AVX512F) | F(AVX512DQ) | F(AVX512_IFMA) |
    F(AVX512PF) | F(AVX512ER) | F(AVX512CD) | F(AVX512BW) | F(AVX512VL);
static const uint32_t zmm_leaf7_ecx = F(AVX512_VBMI) | F(AVX512_VBMI2) | F(AVX512_VNNI) |
    F(AVX512_BITALG) | F(AVX512_VPOPCNTDQ);
static const uint32_t zmm_leaf7_edx = F(AVX512_4VNNIW) | F(AVX512_4FMAPS) |
    F(AVX512_VP2INTERSECT);
static const uint32_t zmm_leaf7s1_eax = F(AVX512_BF16);

BUILD_BUG_ON(W(HYPERVISOR) != 1 || W(SYSCALL) != 2 || W(LAHF_LM) != 3 || W(XSAVEOPT) != 4);
BUILD_BUG_ON(W(FSGSBASE) != 5 || W(UMIP) != 6 || W(ITSC) != 7 || W(CLZERO) != 8);
BUILD_BUG_ON(W(FSRM) != 9 || W(AVX_VNNI) != 10 || W(NSCB) != 11 || W(TSA_SQ_NO) != 18);

/* ---- helpers ----------------------------------------------------------------- */

static struct cpuid_regs host(const struct hvm_cpuid_input *in, uint32_t leaf, uint32_t sub)
{
    struct cpuid_regs r = { 0, 0, 0, 0 };

    in->host(leaf, sub, &r);
    return r;
}

static unsigned int ceil_log2(uint32_t n)
{
    unsigned int b = 0;

    while ((1u << b) < n && b < 31)
        b++;
    return b;
}

/* APIC ID bits: 1 for the (empty) second thread of a core, then cores. */
static unsigned int core_bits(const struct hvm_cpuid_input *in)
{
    return ceil_log2(in->nr_vcpus ? in->nr_vcpus : 1);
}

static unsigned int pkg_shift(const struct hvm_cpuid_input *in)
{
    return 1 + core_bits(in);
}

static uint32_t apic_id(const struct hvm_cpuid_input *in)
{
    return in->vcpu_id * 2;
}

uint64_t hvm_cpuid_xcr0_allowed(const struct hvm_cpuid_input *in)
{
    struct cpuid_regs l0 = host(in, 0, 0), l1, d0;
    uint64_t xcr0;

    if (l0.a < 0xd)
        return 0;
    l1 = host(in, 1, 0);
    if (!(l1.c & F(XSAVE)))
        return 0;
    d0 = host(in, 0xd, 0);
    xcr0 = (((uint64_t)d0.d << 32) | d0.a) & XSTATE_OFFERED;
    if ((xcr0 & (XSTATE_X87 | XSTATE_SSE)) != (XSTATE_X87 | XSTATE_SSE))
        return 0;
    if (!(xcr0 & XSTATE_YMM) || (xcr0 & XSTATE_AVX512) != XSTATE_AVX512)
        xcr0 &= ~XSTATE_AVX512;           /* AVX-512 needs all three, and YMM */
    return xcr0;
}

/* Size of the standard-format XSAVE area for the components in xcr0. */
static uint32_t xsave_size(const struct hvm_cpuid_input *in, uint64_t xcr0)
{
    uint32_t size = XSAVE_LEGACY_HDR;

    for (unsigned int i = 2; i < 63; i++) {
        if (!(xcr0 & (1ull << i)))
            continue;
        struct cpuid_regs c = host(in, 0xd, i);
        if (c.a + c.b > size)
            size = c.a + c.b;             /* EAX: size, EBX: offset */
    }
    return size;
}

/* ---- basic leaves ------------------------------------------------------------ */

static void leaf1(const struct hvm_cpuid_input *in, uint64_t xcr0, struct cpuid_regs *r)
{
    struct cpuid_regs h = host(in, 1, 0);
    uint32_t lppp = 1u << pkg_shift(in);

    r->a = h.a;
    r->b = (h.b & 0xffff) | MIN(lppp, 0xffu) << 16 | apic_id(in) << 24;
    r->c = (h.c & leaf1_ecx) | F(HYPERVISOR) | F(X2APIC) | F(TSC_DEADLINE);
    if (!xcr0)
        r->c &= ~(F(XSAVE) | ymm_leaf1_ecx);
    else if (!(xcr0 & XSTATE_YMM))
        r->c &= ~ymm_leaf1_ecx;
    if ((r->c & F(XSAVE)) && in->guest_osxsave)
        r->c |= F(OSXSAVE);
    r->d = (h.d & leaf1_edx) | F(HTT);
    if (!in->apic_enabled)
        r->d &= ~F(APIC);
}

/* Deterministic cache parameters (Intel): geometry from the host, sharing
   fields from our topology. */
static void leaf4(const struct hvm_cpuid_input *in, uint32_t sub, struct cpuid_regs *r)
{
    struct cpuid_regs h = host(in, 4, sub);
    unsigned int level = (h.a >> 5) & 7;
    uint32_t sharing = level >= 3 ? (1u << pkg_shift(in)) - 1 : 1;

    if (!(h.a & 0x1f))
        return;                           /* no cache: the list ends */
    *r = h;
    r->a = (h.a & 0x3fff) | sharing << 14 | ((1u << core_bits(in)) - 1) << 26;
}

static void leaf7(const struct hvm_cpuid_input *in, uint32_t sub, uint64_t xcr0,
                  struct cpuid_regs *r)
{
    struct cpuid_regs h = host(in, 7, sub);

    if (sub == 0) {
        r->a = MIN(h.a, 1u);
        r->b = h.b & leaf7_ebx;
        r->c = h.c & leaf7_ecx;
        r->d = h.d & leaf7_edx;
        if (!(xcr0 & XSTATE_YMM)) {
            r->b &= ~ymm_leaf7_ebx;
            r->c &= ~ymm_leaf7_ecx;
        }
        if ((xcr0 & XSTATE_AVX512) != XSTATE_AVX512) {
            r->b &= ~zmm_leaf7_ebx;
            r->c &= ~zmm_leaf7_ecx;
            r->d &= ~zmm_leaf7_edx;
        }
    } else if (sub == 1 && host(in, 7, 0).a >= 1) {
        r->a = h.a & leaf7s1_eax;
        if (!(xcr0 & XSTATE_YMM))
            r->a &= ~ymm_leaf7s1_eax;
        if ((xcr0 & XSTATE_AVX512) != XSTATE_AVX512)
            r->a &= ~zmm_leaf7s1_eax;
    }
}

/* Extended topology (0xB, and 0x1F in the same form): SMT level, core level. */
static void leaf_topology(const struct hvm_cpuid_input *in, uint32_t sub, struct cpuid_regs *r)
{
    r->c = sub & 0xff;
    r->d = apic_id(in);
    if (sub == 0) {
        r->a = 1;                         /* shift to the core ID */
        r->b = 1;                         /* one thread per core */
        r->c |= 1u << 8;                  /* level type: SMT */
    } else if (sub == 1) {
        r->a = pkg_shift(in);
        r->b = in->nr_vcpus;
        r->c |= 2u << 8;                  /* level type: core */
    }
}

static void leaf_xsave(const struct hvm_cpuid_input *in, uint32_t sub, uint64_t xcr0,
                       struct cpuid_regs *r)
{
    struct cpuid_regs h;

    if (!xcr0)
        return;
    h = host(in, 0xd, sub);
    if (sub == 0) {
        r->a = (uint32_t)xcr0;
        r->d = (uint32_t)(xcr0 >> 32);
        r->b = xsave_size(in, in->guest_xcr0 & xcr0);
        r->c = xsave_size(in, xcr0);
    } else if (sub == 1) {
        r->a = h.a & xsave1_eax;          /* no XSAVES: IA32_XSS is not emulated */
    } else if (sub < 63 && (xcr0 & (1ull << sub))) {
        *r = h;
    }
}

static void basic_leaf(const struct hvm_cpuid_input *in, uint32_t leaf, uint32_t sub,
                       struct cpuid_regs *r)
{
    struct cpuid_regs l0 = host(in, 0, 0);
    uint64_t xcr0;

    if (leaf > MIN(l0.a, BASIC_MAX))
        return;
    xcr0 = hvm_cpuid_xcr0_allowed(in);
    switch (leaf) {
    case 0:
        *r = l0;
        r->a = MIN(l0.a, BASIC_MAX);
        break;
    case 1:    leaf1(in, xcr0, r); break;
    case 2:    *r = host(in, 2, 0); break;          /* cache descriptors */
    case 4:    leaf4(in, sub, r); break;
    case 6:    r->a = LEAF6_ARAT; break;            /* the vLAPIC timer never stops */
    case 7:    leaf7(in, sub, xcr0, r); break;
    case 0xb:
    case 0x1f: leaf_topology(in, sub, r); break;
    case 0xd:  leaf_xsave(in, sub, xcr0, r); break;
    case 0x15:                                      /* TSC / crystal ratio */
    case 0x16: *r = host(in, leaf, 0); break;       /* nominal frequencies */
    default:   break;                               /* 3, 5, 8-0xa, 0xc, ...: zero */
    }
}

/* ---- extended leaves ---------------------------------------------------------- */

static void extd_leaf(const struct hvm_cpuid_input *in, uint32_t leaf, struct cpuid_regs *r)
{
    struct cpuid_regs e0 = host(in, 0x80000000, 0), h;
    uint32_t max = e0.a >= 0x80000000 && e0.a <= 0x8fffffff ? MIN(e0.a, EXTD_MAX) : 0x80000000;
    uint64_t xcr0;

    if (leaf > max)
        return;
    h = host(in, leaf, 0);
    switch (leaf) {
    case 0x80000000:
        *r = h;
        r->a = max;
        break;
    case 0x80000001: {
        struct cpuid_regs l1;
        xcr0 = hvm_cpuid_xcr0_allowed(in);
        leaf1(in, xcr0, &l1);             /* the mirrored bits follow leaf 1 */
        r->a = h.a;
        r->b = h.b;
        r->c = h.c & e1_ecx;
        if (!(xcr0 & XSTATE_YMM))
            r->c &= ~ymm_e1_ecx;
        r->d = (h.d & e1_edx) | (h.d & e1_edx_mirror & l1.d);
        break;
    }
    case 0x80000002: case 0x80000003: case 0x80000004:  /* brand string */
    case 0x80000005: case 0x80000006:                   /* caches and TLBs */
    case 0x80000019:                                    /* 1 GiB TLBs */
        *r = h;
        break;
    case 0x80000007:
        r->d = h.d & e7_edx;
        break;
    case 0x80000008:
        r->a = h.a;                                     /* address sizes */
        r->b = h.b & e8_ebx;
        /* AMD: cores in the package - 1 (NC), and the APIC ID bits that
           number them (ApicIdSize), so core i has APIC ID 2i in package 0. */
        r->c = ((in->nr_vcpus ? in->nr_vcpus : 1) - 1) | pkg_shift(in) << 12;
        break;
    case 0x80000021:
        r->a = h.a & e21_eax;
        r->c = h.c & e21_ecx;
        break;
    default:                                            /* 0x8000000a (SVM), ...: zero */
        break;
    }
}

/* ---- Xen's leaves ----------------------------------------------------------------- */

static void xen_leaf(const struct hvm_cpuid_input *in, uint32_t leaf, uint32_t sub,
                     struct cpuid_regs *r)
{
    switch (leaf - XEN_LEAF_BASE) {
    case 0:
        r->a = XEN_LEAF_MAX;
        r->b = XEN_CPUID_SIGNATURE_EBX;
        r->c = XEN_CPUID_SIGNATURE_ECX;
        r->d = XEN_CPUID_SIGNATURE_EDX;
        break;
    case 1:
        r->a = PROXENOS_XEN_MAJOR << 16 | PROXENOS_XEN_MINOR;
        break;
    case 2:
        r->a = 1;                                       /* hypercall pages */
        r->b = XEN_MSR_HYPERCALL_PAGE;
        break;                                          /* no PV features */
    case 3:                                             /* time */
        if (sub == 0) {
            /* Not emulated; reliable if invariant; RDTSCP is not offered;
               tsc_mode 0 (default); no migrations (incarnation 0). */
            r->a = in->tsc_reliable ? 1u << 1 : 0;
            r->c = in->tsc_khz;
        } else if (sub == 1) {
            /* The pvclock's own factor (common/vtime.c): offset 0, the
               guest TSC is the host's, unscaled. */
            r->c = in->tsc_mul_frac;
            r->d = (uint32_t)(int32_t)in->tsc_shift;
        } else if (sub == 2) {
            r->a = in->tsc_khz;
        }
        break;
    case 4:                                             /* HVM */
        if (sub != 0)
            break;
        r->a = XEN_HVM_CPUID_VCPU_ID_PRESENT | XEN_HVM_CPUID_DOMID_PRESENT;
        if (HVM_HAVE_UPCALL_VECTOR)
            r->a |= XEN_HVM_CPUID_UPCALL_VECTOR;
        r->b = in->vcpu_id;
        r->c = in->domid;
        break;
    default:                                            /* 5: PV only */
        break;
    }
}

void hvm_cpuid_policy(const struct hvm_cpuid_input *in, uint32_t leaf, uint32_t subleaf,
                      struct cpuid_regs *out)
{
    *out = (struct cpuid_regs){ 0, 0, 0, 0 };
    if (leaf < 0x40000000)
        basic_leaf(in, leaf, subleaf, out);
    else if (leaf <= XEN_LEAF_MAX)
        xen_leaf(in, leaf, subleaf, out);
    else if (leaf >= 0x80000000 && leaf <= 0x8fffffff)
        extd_leaf(in, leaf, out);
    /* 0x40000006-0x7fffffff (0x40000100+ included: no Viridian), and
       0x90000000 and up (Centaur, ...): zero, as Xen answers. */
}

/* ---- the exit handler ----------------------------------------------------------------- */
#ifndef HOST_TEST
#include <proxenos/domain.h>
#include <proxenos/io.h>
#include <proxenos/spinlock.h>
#include <proxenos/time.h>
#include <proxenos/vlapic.h>

/* The host's CPUID does not change, and under a nested hypervisor every
   CPUID is an exit: answers are cached (direct-mapped, by leaf:subleaf).
   The per-CPU fields (APIC IDs, OSXSAVE) are never taken from the host. */
#define HOST_CACHE 128
static struct {
    uint32_t leaf, sub;
    bool valid;
    struct cpuid_regs r;
} host_cache[HOST_CACHE];
static spinlock_t host_cache_lock = SPINLOCK_INIT;

static void host_cpuid(uint32_t leaf, uint32_t sub, struct cpuid_regs *r)
{
    unsigned int i = (leaf * 31 + sub + (leaf >> 24)) % HOST_CACHE;

    spin_lock(&host_cache_lock);
    if (!host_cache[i].valid || host_cache[i].leaf != leaf || host_cache[i].sub != sub) {
        cpuid_count(leaf, sub, &host_cache[i].r.a, &host_cache[i].r.b, &host_cache[i].r.c,
                    &host_cache[i].r.d);
        host_cache[i].leaf = leaf;
        host_cache[i].sub = sub;
        host_cache[i].valid = true;
    }
    *r = host_cache[i].r;
    spin_unlock(&host_cache_lock);
}

enum hvm_result hvm_cpuid(struct vcpu *v)
{
    uint64_t *gpr = v->hvm.regs.gpr;
    struct domain *d = v->domain;
    struct hvm_cpuid_input in = {
        .host = host_cpuid,
        .vcpu_id = v->vcpu_id,
        .nr_vcpus = d->max_vcpus,
        .domid = d->domain_id,
        .guest_osxsave = hvm_ops->get_cr(v, 4) & X86_CR4_OSXSAVE,
        .apic_enabled = !v->hvm.vlapic || (vlapic_get_base(v) & APIC_BASE_ENABLE),
        .tsc_khz = (uint32_t)tsc_khz,
        .tsc_reliable = tsc_invariant,
        .tsc_mul_frac = tsc_to_ns.mul_frac,
        .tsc_shift = (int8_t)tsc_to_ns.shift,
    };
    struct cpuid_regs r;

    /* XSETBV is not intercepted and the host cannot read XCR0 (its
       CR4.OSXSAVE is clear): leaf 0xD EBX assumes the guest enabled every
       offered component, which is what Linux does. */
    in.guest_xcr0 = hvm_cpuid_xcr0_allowed(&in);
    hvm_cpuid_policy(&in, (uint32_t)gpr[X86_REG_RAX], (uint32_t)gpr[X86_REG_RCX], &r);
    gpr[X86_REG_RAX] = r.a;
    gpr[X86_REG_RBX] = r.b;
    gpr[X86_REG_RCX] = r.c;
    gpr[X86_REG_RDX] = r.d;
    return HVM_DONE;
}
#endif
