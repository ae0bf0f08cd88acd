/*
 * PV emulation, the pure part (pv_emulate.h): the decoder for the few
 * instructions a 64-bit PV kernel faults on in ring 3, the port policy and
 * the PV CPUID policy. Behaviour follows Xen 4.17: xen/arch/x86/pv/
 * emul-priv-op.c (which instructions, iopl_ok, admin_io_okay),
 * emul-inv-op.c (the forced-emulation prefix), xen/arch/x86/cpuid.c
 * guest_cpuid and the PV column of public/arch-x86/cpufeatureset.h.
 */
#include "pv_emulate.h"
#include <xen/arch-x86/cpufeatureset.h>
#include <proxenos/lib.h>

#define F(name)  (1u << (XEN_X86_FEATURE_##name & 31))

/* ---- the decoder ------------------------------------------------------------ */

#define REX_B 0x1
#define REX_R 0x4

/* Legacy prefixes (SDM vol. 2, 2.1.1) and REX (2.2.1): a legacy prefix
   after a REX byte makes the REX byte meaningless. Returns the opcode's
   offset, or -1 (lock prefix, too long, cut short). */
static int prefixes(const uint8_t *b, size_t n, struct pv_insn *o, bool *opsz16, uint8_t *rex)
{
    size_t i;

    for (i = 0; i < n && i < PV_INSN_MAX; i++) {
        uint8_t c = b[i];

        if ((c & 0xf0) == 0x40) {
            *rex = c;
            continue;
        }
        switch (c) {
        case 0x66: *opsz16 = true; break;
        case 0x67: o->addr32 = true; break;
        case 0xf2:
        case 0xf3: o->rep = true; break;
        case 0x26: case 0x2e: case 0x36: case 0x3e:  /* base 0 in 64-bit mode */
            o->seg = 0;
            break;
        case 0x64: case 0x65:                        /* FS, GS: their bases apply */
            o->seg = c;
            break;
        case 0xf0:                                   /* LOCK: #UD on all of these */
            return -1;
        default:
            return (int)i;
        }
        *rex = 0;
    }
    return -1;
}

static void port_io(struct pv_insn *o, enum pv_insn_kind kind, uint8_t op, bool opsz16)
{
    o->kind = kind;
    o->bytes = !(op & 1) ? 1 : opsz16 ? 2 : 4;
}

/* One-byte opcodes: returns the bytes after the opcode (0 or the imm8), or -1. */
static int one_byte(const uint8_t *b, size_t left, struct pv_insn *o, bool opsz16)
{
    uint8_t op = b[0];

    switch (op) {
    case 0xe4: case 0xe5:                       /* IN AL/eAX, imm8 */
    case 0xe6: case 0xe7:                       /* OUT imm8, AL/eAX */
        if (left < 2)
            return -1;
        port_io(o, op & 2 ? PV_INSN_OUT : PV_INSN_IN, op, opsz16);
        o->port = b[1];
        return 1;
    case 0xec: case 0xed:                       /* IN AL/eAX, DX */
    case 0xee: case 0xef:                       /* OUT DX, AL/eAX */
        port_io(o, op & 2 ? PV_INSN_OUT : PV_INSN_IN, op, opsz16);
        o->port_in_dx = true;
        return 0;
    case 0x6c: case 0x6d:                       /* INS */
    case 0x6e: case 0x6f:                       /* OUTS */
        port_io(o, op & 2 ? PV_INSN_OUTS : PV_INSN_INS, op, opsz16);
        o->port_in_dx = true;
        return 0;
    case 0xfa: o->kind = PV_INSN_CLI; return 0;
    case 0xfb: o->kind = PV_INSN_STI; return 0;
    case 0xf4: o->kind = PV_INSN_HLT; return 0;
    default:   return -1;
    }
}

/* 0F opcodes (b[0] is the byte after 0F): returns the bytes after it, or -1. */
static int two_byte(const uint8_t *b, size_t left, struct pv_insn *o, uint8_t rex)
{
    switch (b[0]) {
    case 0x06: o->kind = PV_INSN_CLTS; return 0;
    case 0x09: o->kind = PV_INSN_WBINVD; return 0;      /* F3: WBNOINVD */
    case 0x30: o->kind = PV_INSN_WRMSR; return 0;
    case 0x31: o->kind = PV_INSN_RDTSC; return 0;
    case 0x32: o->kind = PV_INSN_RDMSR; return 0;
    case 0xa2: o->kind = PV_INSN_CPUID; return 0;
    case 0x20: case 0x22:
        /* MOV CR: the ModRM mod field is ignored, always registers
           (SDM vol. 2B, MOV--Move to/from Control Registers). */
        if (left < 2)
            return -1;
        o->kind = b[0] == 0x20 ? PV_INSN_MOV_FROM_CR : PV_INSN_MOV_TO_CR;
        o->cr = ((b[1] >> 3) & 7) | (rex & REX_R ? 8 : 0);
        o->gpr = (b[1] & 7) | (rex & REX_B ? 8 : 0);
        return 1;
    case 0x01:
        if (left < 2 || b[1] != 0xd1)           /* XSETBV only */
            return -1;
        o->kind = PV_INSN_XSETBV;
        return 1;
    default:
        return -1;
    }
}

int pv_insn_decode(const uint8_t *b, size_t n, struct pv_insn *out)
{
    struct pv_insn o = { .kind = PV_INSN_NONE };
    bool opsz16 = false;
    uint8_t rex = 0;
    int at, more;

    *out = o;
    at = prefixes(b, MIN(n, (size_t)PV_INSN_MAX), &o, &opsz16, &rex);
    if (at < 0 || (size_t)at >= n)
        return -1;
    if (b[at] == 0x0f) {
        if ((size_t)at + 1 >= n)
            return -1;
        more = two_byte(b + at + 1, n - at - 1, &o, rex);
        if (more >= 0)
            more++;                             /* the 0F byte */
    } else {
        more = one_byte(b + at, n - at, &o, opsz16);
    }
    if (more < 0 || at + 1 + more > PV_INSN_MAX) {
        out->kind = PV_INSN_NONE;
        return -1;
    }
    o.len = (unsigned int)(at + 1 + more);
    if (o.kind != PV_INSN_INS && o.kind != PV_INSN_OUTS) {
        o.rep = false;
        o.addr32 = false;
        o.seg = 0;
    }
    *out = o;
    return 0;
}

const char *pv_insn_name(enum pv_insn_kind kind)
{
    static const char *const names[PV_INSN_KINDS] = {
        [PV_INSN_NONE] = "none", [PV_INSN_IN] = "in", [PV_INSN_OUT] = "out",
        [PV_INSN_INS] = "ins", [PV_INSN_OUTS] = "outs", [PV_INSN_CLI] = "cli",
        [PV_INSN_STI] = "sti", [PV_INSN_RDMSR] = "rdmsr", [PV_INSN_WRMSR] = "wrmsr",
        [PV_INSN_MOV_FROM_CR] = "mov_from_cr", [PV_INSN_MOV_TO_CR] = "mov_to_cr",
        [PV_INSN_CLTS] = "clts", [PV_INSN_WBINVD] = "wbinvd", [PV_INSN_RDTSC] = "rdtsc",
        [PV_INSN_CPUID] = "cpuid", [PV_INSN_XSETBV] = "xsetbv", [PV_INSN_HLT] = "hlt",
        [PV_INSN_FORCED_CPUID] = "forced_cpuid",
    };

    return (unsigned int)kind < PV_INSN_KINDS && names[kind] ? names[kind] : "?";
}

bool pv_insn_forced_cpuid(const uint8_t *b, size_t n)
{
    static const uint8_t sig[] = { 0x0f, 0x0b, 'x', 'e', 'n', 0x0f, 0xa2 };

    return n >= sizeof(sig) && !memcmp(b, sig, sizeof(sig));
}

/* ---- ports --------------------------------------------------------------------- */

bool pv_iopl_ok(unsigned int iopl, bool kernel_mode, bool architectural_iopl)
{
    unsigned int cpl = !kernel_mode ? 3 : architectural_iopl ? 0 : 1;

    return iopl >= cpl;
}

/*
 * Ports the hardware domain may not touch directly. Xen's
 * dom0_setup_permissions denies the PICs, the PIT, port 0x61, 0x92 and
 * 0xf0 (and the PM timer and UART it drives itself); Proxenos adds what it
 * drives: the emulators' exit ports and both candidate console UARTs
 * (console= chooses one; the choice is not exported to pv/ yet).
 */
static const struct { uint16_t first, last; } denied[] = {
    { 0x0020, 0x0021 },     /* master 8259 PIC */
    { 0x0040, 0x0043 },     /* 8254 PIT */
    { 0x0061, 0x0061 },     /* PIT channel 2 gate / speaker */
    { 0x0070, 0x0071 },     /* RTC/CMOS: emulated, never direct (Xen) */
    { 0x0092, 0x0092 },     /* INIT# and A20M# */
    { 0x00a0, 0x00a1 },     /* slave 8259 PIC */
    { 0x00f0, 0x00f0 },     /* IGNNE# */
    { 0x00f4, 0x00f7 },     /* QEMU isa-debug-exit (shutdown.c) */
    { 0x02f8, 0x02ff },     /* COM2 (console=com2) */
    { 0x03f8, 0x03ff },     /* COM1 (console=com1) */
    { 0x8900, 0x8900 },     /* Bochs shutdown port (shutdown.c) */
};

bool pv_io_direct_ok(uint16_t port, unsigned int bytes, bool hwdom)
{
    uint32_t last = (uint32_t)port + bytes - 1;

    if (!hwdom || bytes == 0 || bytes > 4 || last > 0xffff)
        return false;
    for (size_t i = 0; i < ARRAY_SIZE(denied); i++)
        if (port <= denied[i].last && last >= denied[i].first)
            return false;
    /* PCI configuration (0xcf8-0xcff): Xen latches CONFIG_ADDRESS per
       domain and filters the data port; here the hardware domain reaches
       them directly (one vCPU, and the hypervisor touches 0xcf8 only to
       reset the machine). */
    return true;
}

enum pv_port_emul pv_port_emulated(uint16_t port, bool hwdom)
{
    switch (port) {
    case 0x42:
    case 0x43:        return PV_PORT_PIT;     /* channel 0 and 1 data: not even emulated */
    case 0x61:        return PV_PORT_NMI_SC;
    case PV_RTC_INDEX: return hwdom ? PV_PORT_RTC_INDEX : PV_PORT_NONE;
    case PV_RTC_DATA:  return hwdom ? PV_PORT_RTC_DATA : PV_PORT_NONE;
    default:          return PV_PORT_NONE;
    }
}

/* ---- control registers --------------------------------------------------------- */

#define CR4_TSD        (1u << 2)
#define CR4_DE         (1u << 3)
#define CR4_PAE        (1u << 5)
#define CR4_MCE        (1u << 6)
#define CR4_OSFXSR     (1u << 9)
#define CR4_OSXMMEXCPT (1u << 10)

uint64_t pv_guest_cr4(uint64_t wanted, uint64_t host_cr4, bool has_tsc, bool has_de)
{
    uint64_t guest = (has_tsc ? CR4_TSD : 0) | (has_de ? CR4_DE : 0);
    uint64_t visible = CR4_PAE | CR4_MCE | CR4_OSFXSR | CR4_OSXMMEXCPT;

    return (wanted & guest) | (host_cr4 & visible);
}

/* ---- CPUID ------------------------------------------------------------------------ */

/*
 * What the HVM policy offers that a PV guest does not get: the features
 * Xen marks S (shadow HVM and up) or H (HAP only) in cpufeatureset.h, as
 * a PV guest has no virtual paging modes, no LAPIC of its own and runs
 * its kernel in ring 3: VME, PSE, PGE, PSE36, MTRR, PCID, x2APIC,
 * TSC-deadline, 1 GiB pages, SMEP, SMAP, INVPCID, UMIP. FSGSBASE too,
 * though Xen offers it: Proxenos does not yet give a PV vCPU the host's
 * CR4.FSGSBASE, so WRGSBASE would #UD.
 */
static const uint32_t pv_hide_1c = F(PCID) | F(X2APIC) | F(TSC_DEADLINE);
static const uint32_t pv_hide_1d = F(VME) | F(PSE) | F(PGE) | F(PSE36) | F(MTRR);
static const uint32_t pv_hide_7b = F(FSGSBASE) | F(SMEP) | F(SMAP) | F(INVPCID);
static const uint32_t pv_hide_7c = F(UMIP);
static const uint32_t pv_hide_e1d = F(PAGE1GB);
/* AMD repeats leaf 1 EDX bits 0-9, 12-17, 23, 24 in 0x80000001 EDX. */
static const uint32_t e1d_mirror = 0x0183f3ffu;

/*
 * XSAVE and what depends on it: hidden unless XCR0 is kept for PV vCPUs
 * (it is not: XSETBV is not emulated and XCR0 is whatever the CPU has
 * loaded), so PV kernels save the FPU with FXSAVE.
 */
static const uint32_t xs_1c = F(XSAVE) | F(OSXSAVE) | F(AVX) | F(FMA) | F(F16C);
static const uint32_t xs_7b = F(AVX2) | F(AVX512F) | F(AVX512DQ) | F(AVX512_IFMA) |
    F(AVX512PF) | F(AVX512ER) | F(AVX512CD) | F(AVX512BW) | F(AVX512VL);
static const uint32_t xs_7c = F(VAES) | F(VPCLMULQDQ) | F(AVX512_VBMI) | F(AVX512_VBMI2) |
    F(AVX512_VNNI) | F(AVX512_BITALG) | F(AVX512_VPOPCNTDQ);
static const uint32_t xs_7d = F(AVX512_4VNNIW) | F(AVX512_4FMAPS) | F(AVX512_VP2INTERSECT);
static const uint32_t xs_7s1a = F(AVX_VNNI) | F(AVX512_BF16);
static const uint32_t xs_e1c = F(XOP) | F(FMA4);

static struct cpuid_regs host_leaf(const struct pv_cpuid_input *in, uint32_t leaf)
{
    struct cpuid_regs r = { 0, 0, 0, 0 };

    in->hvm.host(leaf, 0, &r);
    return r;
}

static void pv_leaf1(const struct pv_cpuid_input *in, struct cpuid_regs *r)
{
    struct cpuid_regs h = host_leaf(in, 1);

    r->c &= ~pv_hide_1c;
    r->d &= ~pv_hide_1d;
    if (!in->pv_xsave)
        r->c &= ~xs_1c;
    /*
     * Xen's leaks to the hardware domain's kernel, kept for its ACPI and
     * cpufreq code: EIST (Linux then hands P-states to Xen), MTRR
     * (XENPF_*_memtype), and MONITOR only for a CPUID that faulted, so
     * native CPUID in Linux's xen_check_mwait sees it but the forced
     * one does not.
     */
    if (in->hwdom_kernel) {
        r->c |= h.c & F(EIST);
        r->d |= h.d & F(MTRR);
        if (in->from_gp)
            r->c |= h.c & F(MONITOR);
    }
}

static void pv_leaf7(const struct pv_cpuid_input *in, uint32_t sub, struct cpuid_regs *r)
{
    if (sub == 0) {
        r->b &= ~pv_hide_7b;
        r->c &= ~pv_hide_7c;
        if (!in->pv_xsave) {
            r->b &= ~xs_7b;
            r->c &= ~xs_7c;
            r->d &= ~xs_7d;
        }
    } else if (sub == 1 && !in->pv_xsave) {
        r->a &= ~xs_7s1a;
    }
}

static void pv_xen_leaf(const struct pv_cpuid_input *in, uint32_t leaf, uint32_t sub,
                        struct cpuid_regs *r)
{
    switch (leaf - XEN_LEAF_BASE) {
    case 2:
        /* mmu_update's MMU_PT_UPDATE_PRESERVE_AD (pv/mmu_update.c). */
        r->c |= XEN_CPUID_FEAT1_MMU_PT_UPDATE_PRESERVE_AD;
        break;
    case 4:                                     /* HVM only */
        *r = (struct cpuid_regs){ 0, 0, 0, 0 };
        break;
    case 5:                                     /* PV: the machine address width */
        *r = (struct cpuid_regs){ 0, 0, 0, 0 };
        if (sub == 0)
            r->b = in->maddr_bits;
        break;
    default:
        break;
    }
}

void pv_cpuid_policy(const struct pv_cpuid_input *in, uint32_t leaf, uint32_t subleaf,
                     struct cpuid_regs *out)
{
    hvm_cpuid_policy(&in->hvm, leaf, subleaf, out);
    if (!out->a && !out->b && !out->c && !out->d && leaf != XEN_LEAF_BASE + 5)
        return;                                 /* beyond the policy's leaves */
    switch (leaf) {
    case 1:
        pv_leaf1(in, out);
        break;
    case 7:
        pv_leaf7(in, subleaf, out);
        break;
    case 0xd:
        if (!in->pv_xsave)
            *out = (struct cpuid_regs){ 0, 0, 0, 0 };
        break;
    case 0x80000001: {
        struct cpuid_regs l1;

        hvm_cpuid_policy(&in->hvm, 1, 0, &l1);
        pv_leaf1(in, &l1);                      /* the mirrored bits follow leaf 1 */
        out->d = (out->d & ~e1d_mirror & ~pv_hide_e1d) | (out->d & e1d_mirror & l1.d);
        if (!in->pv_xsave)
            out->c &= ~xs_e1c;
        break;
    }
    default:
        if (leaf >= XEN_LEAF_BASE && leaf <= XEN_LEAF_MAX)
            pv_xen_leaf(in, leaf, subleaf, out);
        break;
    }
}
