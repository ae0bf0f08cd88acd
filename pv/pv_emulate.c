/*
 * The guest kernel's faulting instructions the hypervisor completes for it
 * (pv_internal.h), as Xen 4.17 does for a 64-bit PV guest
 * (xen/arch/x86/pv/emul-priv-op.c, emul-inv-op.c, msr.c):
 *
 *   #UD  ud2a "xen" cpuid (XEN_EMULATE_PREFIX): the PV CPUID policy
 *        (pv_emulate_decode.c), from kernel and user mode alike (no CPUID
 *        faulting is offered, so Xen's user-mode #GP never applies).
 *   #GP  with error code 0, from ring 3:
 *        - IN/OUT/INS/OUTS, CLI/STI: virtual IOPL >= the virtual CPL
 *          (kernel 1, or 0 with VMASST_TYPE_architectural_iopl; user 3),
 *          else the #GP goes to the guest. Ports the
 *          domain does not own read as all-ones and drop writes; the RTC
 *          index/data pair is emulated (Xen's cmos_idx), PIT channel 2
 *          and port 0x61 are the domain's emulated PIT (hvm/vpit.c). CLI/STI do
 *          nothing, as in Xen (the event mask is the guest's business).
 *        - kernel mode only: RDMSR/WRMSR (the tables below), MOV from
 *          CR0/CR2/CR3/CR4, MOV to CR0 (TS only)/CR2/CR4, CLTS, WBINVD.
 *        - RDTSC and CPUID (they only fault with CR4.TSD or CPUID
 *          faulting, which Proxenos does not set).
 *   Everything else (HLT, MOV DR, MOV to CR3, XSETBV, RDPMC, ...) goes
 *   back to the guest as the exception it raised.
 *
 * After an emulated instruction with EFLAGS.TF the guest gets its #DB
 * (DR6.BS), and INS/OUTS on guest memory that is not there a #PF, as
 * from Xen. Not done: the #PF Xen injects when the instruction fetch
 * itself faults (the original exception is bounced instead), I/O
 * breakpoints, the I/O bitmap of PHYSDEVOP_set_iobitmap, the vPMU.
 */
#include "pv_internal.h"
#include "pv_emulate.h"
#include <proxenos/hvm.h>
#include <proxenos/io.h>
#include <proxenos/lib.h>
#include <proxenos/mm.h>
#include <proxenos/platform.h>
#include <proxenos/printk.h>
#include <proxenos/time.h>
#include <proxenos/vtime.h>
#include <xen/physdev.h>

BUILD_BUG_ON(PV_INSN_KINDS > ARRAY_SIZE(((struct pv_vcpu *)0)->emul_count));

#define RFLAGS_TF       (1ULL << 8)
#define RFLAGS_DF       (1ULL << 10)
#define DR6_BS          (1ULL << 14)   /* single step (SDM vol. 3B, 18.2.3) */
#define PFEC_WRITE      (1ULL << 1)
#define PFEC_USER       (1ULL << 2)

/* What an emulation came to. */
enum emul_rc {
    EMUL_REFUSED = -1,          /* the guest gets the exception it raised */
    EMUL_AGAIN = 0,             /* done in part: RIP stays, the guest re-executes */
    EMUL_DONE = 1,              /* RIP moves past the instruction */
    EMUL_FAULTED = 2,           /* a #PF was delivered instead (RIP stays) */
};
#define STRING_IO_BATCH 1024        /* REP INS/OUTS iterations per exception */
#define WARN_CAP        64          /* refusals reported per vCPU */

/* ---- registers --------------------------------------------------------------- */

/* SDM register numbering (ModRM, REX) to struct cpu_regs. */
static uint64_t *gpr(struct cpu_regs *r, unsigned int n)
{
    uint64_t *regs[16] = {
        &r->rax, &r->rcx, &r->rdx, &r->rbx, &r->rsp, &r->rbp, &r->rsi, &r->rdi,
        &r->r8, &r->r9, &r->r10, &r->r11, &r->r12, &r->r13, &r->r14, &r->r15,
    };

    return regs[n & 15];
}

/* A result in EDX:EAX (RDMSR, RDTSC): 32-bit writes zero the upper halves. */
static void set_edx_eax(struct cpu_regs *r, uint64_t v)
{
    r->rax = (uint32_t)v;
    r->rdx = v >> 32;
}

static void warn(struct vcpu *v, const char *what, uint64_t a, uint64_t b)
{
    struct pv_vcpu *p = pvv(v);

    if (p->emul_warned >= WARN_CAP)
        return;
    if (++p->emul_warned == WARN_CAP)
        printk(LOG_INFO "d%u v%u: further refused emulations not reported\n",
               v->domain->domain_id, v->vcpu_id);
    printk(LOG_INFO "d%u v%u: %s %#lx (%#lx): not emulated, the guest gets the fault\n",
           v->domain->domain_id, v->vcpu_id, what, a, b);
}

static bool is_hwdom(const struct vcpu *v)
{
    return v->domain->domain_id == 0;
}

static bool iopl_ok(struct vcpu *v)
{
    return pv_iopl_ok(pvv(v)->iopl, !pvv(v)->user_mode,
                      vm_assist_enabled(v->domain, VMASST_TYPE_architectural_iopl));
}

/* ---- the host --------------------------------------------------------------- */

enum vendor { VENDOR_OTHER, VENDOR_INTEL, VENDOR_AMD };

static enum vendor host_vendor(void)
{
    static int cached = -1;                     /* every CPU is the same vendor */
    uint32_t a, b, c, d;

    if (cached >= 0)
        return (enum vendor)cached;
    cpuid(0, &a, &b, &c, &d);
    if (b == 0x756e6547)                        /* "Genu"ineIntel */
        cached = VENDOR_INTEL;
    else if (b == 0x68747541 || b == 0x6f677948) /* "Auth"enticAMD, "Hygo"nGenuine */
        cached = VENDOR_AMD;
    else
        cached = VENDOR_OTHER;
    return (enum vendor)cached;
}

static unsigned int host_family(void)
{
    uint32_t a, b, c, d, fam;

    cpuid(1, &a, &b, &c, &d);
    fam = (a >> 8) & 0xf;
    return fam == 0xf ? fam + ((a >> 20) & 0xff) : fam;
}

static void host_cpuid(uint32_t leaf, uint32_t sub, struct cpuid_regs *r)
{
    cpuid_count(leaf, sub, &r->a, &r->b, &r->c, &r->d);
}

/* ---- CPUID ------------------------------------------------------------------ */

static unsigned int fls64(uint64_t x)
{
    return x ? 64 - (unsigned int)__builtin_clzll(x) : 0;
}

static void emulate_cpuid(struct vcpu *v, struct cpu_regs *r, bool from_gp)
{
    struct domain *d = v->domain;
    struct pv_cpuid_input in = {
        .hvm = {
            .host = host_cpuid,
            .vcpu_id = v->vcpu_id,
            .nr_vcpus = d->max_vcpus,
            .domid = d->domain_id,
            .apic_enabled = true,
            .tsc_khz = (uint32_t)tsc_khz,
            .tsc_reliable = tsc_invariant,
            .tsc_mul_frac = tsc_to_ns.mul_frac,
            .tsc_shift = (int8_t)tsc_to_ns.shift,
        },
        .hwdom_kernel = is_hwdom(v) && !pvv(v)->user_mode,
        .from_gp = from_gp,
        /* XSAVE not offered: XCR0 is not switched for PV vCPUs (the VMX
           backend runs with CR4.OSXSAVE and leaves HVM guests' XCR0 loaded). */
        .pv_xsave = false,
        /* Xen: flsl(get_upper_mfn_bound()) + PAGE_SHIFT */
        .maddr_bits = fls64(max_mfn ? max_mfn - 1 : 0) + PAGE_SHIFT,
    };
    struct cpuid_regs out;

    in.hvm.guest_xcr0 = hvm_cpuid_xcr0_allowed(&in.hvm);
    pv_cpuid_policy(&in, (uint32_t)r->rax, (uint32_t)r->rcx, &out);
    r->rax = out.a;
    r->rbx = out.b;
    r->rcx = out.c;
    r->rdx = out.d;
}

/* ---- ports ------------------------------------------------------------------- */

static uint32_t port_in(uint16_t port, unsigned int bytes)
{
    return bytes == 4 ? inl(port) : bytes == 2 ? inw(port) : inb(port);
}

static void port_out(uint16_t port, unsigned int bytes, uint32_t val)
{
    if (bytes == 4)
        outl(port, val);
    else if (bytes == 2)
        outw(port, (uint16_t)val);
    else
        outb(port, (uint8_t)val);
}

/* One byte of a port the domain does not own (pv_port_emulated). The PIT
   is the domain's own emulated one (hvm/vpit.c), as Xen's pv_pit_handler
   falls back to when it does not hand dom0 the real channel 2. */
static uint8_t emulated_read(struct vcpu *v, uint16_t port)
{
    struct pv_vcpu *p = pvv(v);

    switch (pv_port_emulated(port, is_hwdom(v))) {
    case PV_PORT_PIT:       return (uint8_t)vpit_portio.read(v, port, 1);
    case PV_PORT_NMI_SC:    return (uint8_t)vpit_nmi_sc_portio.read(v, port, 1);
    case PV_PORT_RTC_INDEX: return p->cmos_idx;
    case PV_PORT_RTC_DATA:
        outb(PV_RTC_INDEX, p->cmos_idx & 0x7f);
        return inb(PV_RTC_DATA);
    default:                return 0xff;
    }
}

static void emulated_write(struct vcpu *v, uint16_t port, uint8_t val)
{
    struct pv_vcpu *p = pvv(v);

    switch (pv_port_emulated(port, is_hwdom(v))) {
    case PV_PORT_PIT:       vpit_portio.write(v, port, 1, val); break;
    case PV_PORT_NMI_SC:    vpit_nmi_sc_portio.write(v, port, 1, val); break;
    case PV_PORT_RTC_INDEX: p->cmos_idx = val; break;
    case PV_PORT_RTC_DATA:
        outb(PV_RTC_INDEX, p->cmos_idx & 0x7f);
        outb(PV_RTC_DATA, val);
        break;
    default:                break;
    }
}

/* Xen's guest_io_read: a port the domain owns, else byte by byte. */
static uint32_t io_read(struct vcpu *v, uint16_t port, unsigned int bytes)
{
    uint32_t data = 0;

    if (pv_io_direct_ok(port, bytes, is_hwdom(v)))
        return port_in(port, bytes);
    for (unsigned int i = 0; i < bytes; i++)
        data |= (uint32_t)emulated_read(v, (uint16_t)(port + i)) << (8 * i);
    return data;
}

/* Xen's guest_io_write. */
static void io_write(struct vcpu *v, uint16_t port, unsigned int bytes, uint32_t data)
{
    if (pv_io_direct_ok(port, bytes, is_hwdom(v))) {
        port_out(port, bytes, data);
        return;
    }
    for (unsigned int i = 0; i < bytes; i++, data >>= 8)
        emulated_write(v, (uint16_t)(port + i), (uint8_t)data);
}

static bool emulate_in_out(struct vcpu *v, struct cpu_regs *r, const struct pv_insn *i)
{
    uint16_t port = i->port_in_dx ? (uint16_t)r->rdx : i->port;
    uint32_t val;

    if (i->kind == PV_INSN_OUT) {
        io_write(v, port, i->bytes, (uint32_t)r->rax);
        return true;
    }
    val = io_read(v, port, i->bytes);
    if (i->bytes == 4)
        r->rax = val;                           /* a 32-bit write zero-extends */
    else if (i->bytes == 2)
        r->rax = (r->rax & ~0xffffULL) | (val & 0xffff);
    else
        r->rax = (r->rax & ~0xffULL) | (val & 0xff);
    return true;
}

static uint64_t seg_base(uint8_t seg)
{
    if (seg == 0x64)
        return rdmsr(MSR_FS_BASE);
    if (seg == 0x65)
        return rdmsr(MSR_KGS);                  /* the guest's, swapped out by the entry */
    return 0;
}

/* Xen's pv_inject_page_fault: a #PF at `va` to the guest's handler, with
   the write bit and the guest's mode in the error code. The faulting
   instruction is not moved past. */
static void inject_page_fault(struct vcpu *v, struct cpu_regs *r, uint64_t va, bool write)
{
    struct pv_vcpu *p = pvv(v);
    const struct trap_info *t = &p->traps[14];
    uint64_t ec = (write ? PFEC_WRITE : 0) | (p->user_mode ? PFEC_USER : 0);

    v->vcpu_info->arch.cr2 = va;
    pv_bounce(v, r, &ec, t->address, TI_GET_IF(t));    /* no handler: crashed */
}

/* Where an element of `bytes` at `va` stops being accessible: va, or the
   next page if only the part there is missing (a write that a read-only
   first page refuses is reported at va too: close enough for the guest's
   handler, which looks the address up). */
static uint64_t fault_address(struct vcpu *v, uint64_t va, unsigned int bytes)
{
    uint64_t next = (va | (PAGE_SIZE - 1)) + 1;
    uint8_t b;

    if (next - va >= bytes || pv_copy_linear(v, &b, va, 1, false))
        return va;
    return next;
}

/* One INS or OUTS element. False (with *fault set) if the guest memory was
   not there. */
static bool string_io_one(struct vcpu *v, struct cpu_regs *r, const struct pv_insn *i,
                          uint16_t port, uint64_t *fault)
{
    uint64_t mask = i->addr32 ? 0xffffffffULL : ~0ULL;
    uint64_t step = (r->rflags & RFLAGS_DF) ? -(uint64_t)i->bytes : i->bytes;
    uint64_t va;
    uint32_t val = 0;

    if (i->kind == PV_INSN_INS) {
        va = r->rdi & mask;                     /* ES: base 0 */
        val = io_read(v, port, i->bytes);
        if (pv_copy_linear(v, &val, va, i->bytes, true))
            goto fault;
        r->rdi = (r->rdi + step) & mask;
    } else {
        va = seg_base(i->seg) + (r->rsi & mask);
        if (pv_copy_linear(v, &val, va, i->bytes, false))
            goto fault;
        io_write(v, port, i->bytes, val);
        r->rsi = (r->rsi + step) & mask;
    }
    return true;
fault:
    *fault = fault_address(v, va, i->bytes);
    return false;
}

/* INS/OUTS, REP or not. A long REP stops after a batch without moving RIP,
   so the guest re-executes it with the registers so far (as an interrupted
   REP would). Guest memory that is not there: the elements done so far
   stay done and the guest gets a #PF, as from x86_emulate. */
static enum emul_rc emulate_string_io(struct vcpu *v, struct cpu_regs *r,
                                      const struct pv_insn *i)
{
    uint64_t mask = i->addr32 ? 0xffffffffULL : ~0ULL;
    uint16_t port = (uint16_t)r->rdx;
    unsigned int done = 0;
    uint64_t fault;

    while (!i->rep || (r->rcx & mask)) {
        if (done == STRING_IO_BATCH)
            return EMUL_AGAIN;
        if (!string_io_one(v, r, i, port, &fault)) {
            inject_page_fault(v, r, fault, i->kind == PV_INSN_INS);
            return EMUL_FAULTED;
        }
        if (!i->rep)
            break;
        r->rcx = i->addr32 ? (uint32_t)(r->rcx - 1) : r->rcx - 1;
        done++;
    }
    return EMUL_DONE;
}

/* ---- MSRs --------------------------------------------------------------------- */

#define MSR_TSC                 0x00000010
#define MSR_PLATFORM_ID         0x00000017
#define MSR_UCODE_REV           0x0000008b      /* AMD: PATCHLEVEL */
#define MSR_PLATFORM_INFO       0x000000ce
#define MSR_MPERF               0x000000e7
#define MSR_APERF               0x000000e8
#define MSR_MISC_FEATURES       0x00000140      /* Intel MISC_FEATURES_ENABLES */
#define MSR_THERM_CONTROL       0x0000019a
#define MSR_MISC_ENABLE         0x000001a0
#define MSR_ENERGY_PERF_BIAS    0x000001b0
#define MSR_PERF_CAPABILITIES   0x00000345
#define MSR_K8_HWCR             0xc0010015
#define MSR_AMD64_NB_CFG        0xc001001f
#define MSR_FAM10H_MMIO_CONF    0xc0010058
#define MSR_AMD64_DE_CFG        0xc0011029

#define APIC_BASE_BSP           (1ULL << 8)
#define APIC_BASE_ENABLE        (1ULL << 11)
#define APIC_DEFAULT_BASE       0xfee00000ULL
#define EFER_FFXSE              (1ULL << 14)
#define EFER_GUEST_KNOWN        (EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE | EFER_FFXSE)
#define MISC_ENABLE_PERF_AVAIL  (1ULL << 7)
#define MISC_ENABLE_BTS_UNAVAIL (1ULL << 11)
#define MISC_ENABLE_PEBS_UNAVAIL (1ULL << 12)
#define MISC_ENABLE_MONITOR     (1ULL << 18)
#define MISC_ENABLE_XTPR_DISABLE (1ULL << 23)
#define HWCR_TSC_FREQ_SEL       (1ULL << 24)
#define DE_CFG_LFENCE_SERIALISE (1ULL << 1)

#define MISC_ENABLE_FAST_STRING (1ULL << 0)

/* Xen's guest_misc_enable (no PMU, BTS, PEBS, MONITOR or xTPR) of a host
   value with fast strings on: the host's own is not read, as emulated
   CPUs may not have the MSR and the hypervisor has no fault fixups (the
   same value as hvm/msr.c's). */
static uint64_t guest_misc_enable(void)
{
    uint64_t val = MISC_ENABLE_FAST_STRING;

    val &= ~(MISC_ENABLE_PERF_AVAIL | MISC_ENABLE_MONITOR);
    return val | MISC_ENABLE_BTS_UNAVAIL | MISC_ENABLE_PEBS_UNAVAIL | MISC_ENABLE_XTPR_DISABLE;
}

/* Xen's guest_efer: SVME (and unknown bits) hidden. */
static uint64_t guest_efer(void)
{
    return rdmsr(MSR_EFER) & EFER_GUEST_KNOWN;
}

/* The performance counters, which read as zero and ignore writes while
   there is no vPMU (Xen's vpmu_do_msr with vpmu=off). */
static bool pmu_msr(uint32_t msr, enum vendor ven)
{
    if (ven == VENDOR_INTEL)
        return (msr >= 0xc1 && msr <= 0xc8) ||          /* P6 PERFCTR0-7 */
               (msr >= 0x186 && msr <= 0x189) ||        /* P6 EVNTSEL0-3 */
               (msr >= 0x309 && msr <= 0x30b) ||        /* FIXED_CTR0-2 */
               (msr >= 0x38d && msr <= 0x390);          /* FIXED_CTR_CTRL..GLOBAL_OVF_CTRL */
    if (ven == VENDOR_AMD)
        return (msr >= 0xc0010000 && msr <= 0xc0010007) ||  /* K7 EVNTSEL/PERFCTR0-3 */
               (msr >= 0xc0010200 && msr <= 0xc001020b);    /* Fam15h EVNTSEL/PERFCTR0-5 */
    return false;
}

/* AMD's P-state and FID/VID MSRs: zero for a domain that is not the
   cpufreq controller (Xen's default), writes ignored. */
static bool amd_pstate_msr(uint32_t msr)
{
    return msr == 0xc0010041 || msr == 0xc0010042 ||    /* K7 FID_VID_CTL/STATUS */
           (msr >= 0xc0010061 && msr <= 0xc0010063) ||  /* K8 PSTATE_LIMIT/CTRL/STATUS */
           (msr >= 0xc0010064 && msr <= 0xc001006b);    /* K8 PSTATE0-7 */
}

/*
 * RDMSR (Xen's read_msr and guest_rdmsr for a PV vCPU). Unknown MSRs
 * #GP: the kernel's rdmsr_safe fixups expect that (Xen 4.17 without
 * msr_relaxed).
 */
static bool msr_read(struct vcpu *v, uint32_t msr, uint64_t *val)
{
    struct pv_vcpu *p = pvv(v);
    enum vendor ven = host_vendor();

    if (pmu_msr(msr, ven) || (ven == VENDOR_AMD && amd_pstate_msr(msr))) {
        *val = 0;
        return true;
    }
    switch (msr) {
    case MSR_APIC_BASE:         /* "Linux PV guests will attempt to read APIC_BASE" */
        *val = APIC_DEFAULT_BASE | APIC_BASE_ENABLE | (v->vcpu_id ? 0 : APIC_BASE_BSP);
        return true;
    case MSR_FS_BASE:  *val = rdmsr(MSR_FS_BASE); return true;
    case MSR_GS_BASE:  *val = rdmsr(MSR_KGS); return true;     /* swapped out by the entry */
    case MSR_KERNEL_GS_BASE: *val = p->gs_base_user; return true;
    case MSR_TSC:      *val = rdtsc(); return true;
    case MSR_EFER:     *val = guest_efer(); return true;
    case MSR_PAT:      *val = rdmsr(MSR_PAT); return true;     /* what the PTE bits mean */
    case MSR_PERF_CAPABILITIES:
    case MSR_PLATFORM_INFO:                     /* no CPUID faulting offered */
    case MSR_MISC_FEATURES:
        *val = 0;
        return true;
    case MSR_UCODE_REV:         /* 0, not the host's: as hvm/msr.c (Xen: the host's) */
        if (ven == VENDOR_OTHER)
            return false;
        *val = 0;
        return true;
    case MSR_PLATFORM_ID:       /* 0, not the host's (Xen: the host's) */
        if (ven != VENDOR_INTEL)
            return false;
        *val = 0;
        return true;
    case MSR_MISC_ENABLE:
        if (ven != VENDOR_INTEL)
            return false;
        *val = guest_misc_enable();
        return true;
    case MSR_K8_HWCR:
        if (ven != VENDOR_AMD)
            return false;
        *val = host_family() >= 0x10 ? HWCR_TSC_FREQ_SEL : 0;
        return true;
    case MSR_AMD64_DE_CFG:
        if (ven != VENDOR_AMD)
            return false;
        *val = DE_CFG_LFENCE_SERIALISE;
        return true;
    case MSR_AMD64_NB_CFG:                      /* dom0's vCPUs are not pinned: 0 */
    case MSR_FAM10H_MMIO_CONF:
        if (ven != VENDOR_AMD)
            return false;
        *val = 0;
        return true;
    default:
        return false;
    }
}

static bool canonical(uint64_t va)
{
    return (uint64_t)((int64_t)(va << 16) >> 16) == va;
}

/* The MSRs whose writes Xen drops for a domain that is not the cpufreq
   controller (or whose vCPUs are not pinned). */
static bool msr_write_ignored(uint32_t msr, enum vendor ven)
{
    if (pmu_msr(msr, ven))
        return true;
    if (ven == VENDOR_AMD)
        return amd_pstate_msr(msr) || msr == MSR_K8_HWCR || msr == MSR_AMD64_NB_CFG ||
               msr == MSR_FAM10H_MMIO_CONF || msr == MSR_AMD64_DE_CFG ||
               msr == MSR_MPERF || msr == MSR_APERF;
    if (ven == VENDOR_INTEL)
        return msr == MSR_MPERF || msr == MSR_APERF || msr == MSR_THERM_CONTROL ||
               msr == MSR_ENERGY_PERF_BIAS;
    return false;
}

/* WRMSR (Xen's write_msr and guest_wrmsr). False: #GP. */
static bool msr_write(struct vcpu *v, uint32_t msr, uint64_t val)
{
    struct pv_vcpu *p = pvv(v);
    enum vendor ven = host_vendor();

    if (msr_write_ignored(msr, ven))
        return true;
    switch (msr) {
    case MSR_FS_BASE:
    case MSR_GS_BASE:
    case MSR_KERNEL_GS_BASE:
        if (!canonical(val))
            return false;
        if (msr == MSR_FS_BASE) {
            wrmsr(MSR_FS_BASE, val);
            p->fs_base = val;
        } else if (msr == MSR_GS_BASE) {
            wrmsr(MSR_KGS, val);                /* swapped back in on the way out */
        } else {
            p->gs_base_user = val;
        }
        return true;
    case MSR_EFER:              /* Linux writes back what it read */
        return val == guest_efer();
    case MSR_PAT:               /* the same: PAT belongs to the hypervisor */
        return val == rdmsr(MSR_PAT);
    case MSR_MISC_ENABLE:
        if (ven != VENDOR_INTEL)
            return false;
        if (val != guest_misc_enable())
            warn(v, "WRMSR MISC_ENABLE (dropped)", msr, val);
        return true;            /* Xen: "Domain attempted WRMSR", ignored */
    case MSR_UCODE_REV:         /* Intel: writing 0 before reading it */
        return ven == VENDOR_INTEL && val == 0;
    case MSR_MISC_FEATURES:     /* CPUID faulting is not offered */
        return val == 0;
    default:
        return false;
    }
}

static bool emulate_msr(struct vcpu *v, struct cpu_regs *r, bool write)
{
    uint32_t msr = (uint32_t)r->rcx;
    uint64_t val = ((uint64_t)(uint32_t)r->rdx << 32) | (uint32_t)r->rax;

    if (write) {
        if (msr_write(v, msr, val))
            return true;
        warn(v, "WRMSR", msr, val);
        return false;
    }
    if (!msr_read(v, msr, &val)) {
        /* Xen's "faking RDMSR": a kernel without a #GP handler yet (early
           boot) reads 0 instead of being crashed, except Xen's own range.
           (Xen also wants the host to have the MSR; Proxenos cannot probe
           that without a fault fixup, and the guest would crash anyway.) */
        if (pvv(v)->traps[13].address || (msr >> 16) == 0x4000) {
            warn(v, "RDMSR", msr, 0);
            return false;
        }
        warn(v, "RDMSR (no #GP handler: faked as 0)", msr, 0);
        val = 0;
    }
    set_edx_eax(r, val);
    return true;
}

/* ---- control registers ---------------------------------------------------------- */

static uint64_t guest_cr4(struct vcpu *v)
{
    struct pv_vcpu *p = pvv(v);

    if (!p->cr4)                                /* Xen: pv_fixup_guest_cr4(v, 0) */
        p->cr4 = pv_guest_cr4(0, read_cr4(), true, true);
    return p->cr4;
}

static bool read_cr(struct vcpu *v, unsigned int cr, uint64_t *val)
{
    switch (cr) {
    case 0:
        *val = (read_cr0() & ~(uint64_t)X86_CR0_TS) | (pvv(v)->cr0_ts ? X86_CR0_TS : 0);
        return true;
    case 2:
        *val = v->vcpu_info->arch.cr2;
        return true;
    case 3:                     /* the kernel's L4: PV frames are machine frames */
        *val = (uint64_t)pv_mode_l4(v, false) << PAGE_SHIFT;
        return true;
    case 4:
        *val = guest_cr4(v);
        return true;
    default:
        return false;
    }
}

static bool write_cr(struct vcpu *v, unsigned int cr, uint64_t val)
{
    uint32_t a, b, c, d;

    switch (cr) {
    case 0:                     /* only TS may change (Xen: do_fpu_taskswitch) */
        if ((val ^ read_cr0()) & ~(uint64_t)X86_CR0_TS)
            return false;
        pvv(v)->cr0_ts = val & X86_CR0_TS;
        return true;
    case 2:
        v->vcpu_info->arch.cr2 = val;
        return true;
    case 4:                     /* TSD and DE as the CPUID allows, the rest dropped */
        cpuid(1, &a, &b, &c, &d);
        pvv(v)->cr4 = pv_guest_cr4(val, read_cr4(), d & (1u << 4), d & (1u << 2));
        return true;
    default:                    /* CR3: MMUEXT_NEW_BASEPTR is the PV way */
        return false;
    }
}

static bool emulate_mov_cr(struct vcpu *v, struct cpu_regs *r, const struct pv_insn *i)
{
    uint64_t val;

    if (i->kind == PV_INSN_MOV_TO_CR) {
        if (write_cr(v, i->cr, *gpr(r, i->gpr)))
            return true;
        warn(v, "MOV to CR", i->cr, *gpr(r, i->gpr));
        return false;
    }
    if (!read_cr(v, i->cr, &val)) {
        warn(v, "MOV from CR", i->cr, 0);
        return false;
    }
    *gpr(r, i->gpr) = val;
    return true;
}

/* ---- dispatch --------------------------------------------------------------------- */

/* The instruction bytes at RIP: 15, or up to the end of the page if the
   next one is not mapped. 0 if none can be read. */
static size_t fetch(struct vcpu *v, uint64_t rip, uint8_t *buf)
{
    size_t in_page = PAGE_SIZE - (rip & (PAGE_SIZE - 1));

    if (!pv_copy_linear(v, buf, rip, PV_INSN_MAX, false))
        return PV_INSN_MAX;
    if (in_page < PV_INSN_MAX && !pv_copy_linear(v, buf, rip, in_page, false))
        return in_page;
    return 0;
}

static enum emul_rc done_if(bool ok)
{
    return ok ? EMUL_DONE : EMUL_REFUSED;
}

static enum emul_rc emulate_priv(struct vcpu *v, struct cpu_regs *r, const struct pv_insn *i)
{
    struct pv_vcpu *p = pvv(v);
    bool kernel = !p->user_mode;

    switch (i->kind) {
    case PV_INSN_IN:
    case PV_INSN_OUT:
        return done_if(iopl_ok(v) && emulate_in_out(v, r, i));
    case PV_INSN_INS:
    case PV_INSN_OUTS:
        return iopl_ok(v) ? emulate_string_io(v, r, i) : EMUL_REFUSED;
    case PV_INSN_CLI:
    case PV_INSN_STI:           /* Xen: nothing to do once IOPL allows them */
        return done_if(iopl_ok(v));
    case PV_INSN_RDTSC:
        set_edx_eax(r, rdtsc());
        return EMUL_DONE;
    case PV_INSN_CPUID:
        emulate_cpuid(v, r, true);
        return EMUL_DONE;
    default:
        break;
    }
    if (!kernel)                /* the rest needs (virtual) ring 0 */
        return EMUL_REFUSED;
    switch (i->kind) {
    case PV_INSN_RDMSR:
    case PV_INSN_WRMSR:
        return done_if(emulate_msr(v, r, i->kind == PV_INSN_WRMSR));
    case PV_INSN_MOV_FROM_CR:
    case PV_INSN_MOV_TO_CR:
        return done_if(emulate_mov_cr(v, r, i));
    case PV_INSN_CLTS:
        p->cr0_ts = false;
        return EMUL_DONE;
    case PV_INSN_WBINVD:        /* Xen: only a domain with I/O rights flushes */
        if (is_hwdom(v))
            __asm__ volatile("wbinvd" ::: "memory");
        return EMUL_DONE;
    default:                    /* HLT, XSETBV (XSAVE is not offered), ... */
        return EMUL_REFUSED;
    }
}

/* Xen's pv_inject_DB(DR_STEP): an emulated instruction completed with
   EFLAGS.TF set, where the hardware would have trapped after it. */
static void single_step_trap(struct vcpu *v, struct cpu_regs *r)
{
    struct pv_vcpu *p = pvv(v);
    const struct trap_info *t = &p->traps[1];

    p->dr[6] |= DR6_BS;
    pv_bounce(v, r, NULL, t->address, TI_GET_IF(t));    /* no handler: crashed */
}

/* #UD: only Xen's forced-emulation CPUID. */
static enum emul_rc emulate_ud(struct vcpu *v, struct cpu_regs *r, const uint8_t *buf,
                               size_t n)
{
    if (!pv_insn_forced_cpuid(buf, n))
        return EMUL_REFUSED;
    emulate_cpuid(v, r, false);
    r->rip += PV_FORCED_PREFIX_LEN + 2;
    pvv(v)->emul_count[PV_INSN_FORCED_CPUID]++;
    return EMUL_DONE;
}

bool pv_emulate_op(struct vcpu *v, struct cpu_regs *r)
{
    uint8_t buf[PV_INSN_MAX];
    struct pv_insn insn;
    enum emul_rc rc;
    size_t n;

    /* A #GP with an error code is about a selector, not an instruction. */
    if ((r->vector != 6 && r->vector != 13) || (r->vector == 13 && r->error_code))
        return false;
    n = fetch(v, r->rip, buf);
    if (r->vector == 6) {
        rc = emulate_ud(v, r, buf, n);
    } else if (pv_insn_decode(buf, n, &insn)) {
        rc = EMUL_REFUSED;
    } else {
        rc = emulate_priv(v, r, &insn);
        if (rc == EMUL_DONE)
            r->rip += insn.len;
        if (rc != EMUL_REFUSED)
            pvv(v)->emul_count[insn.kind]++;
    }
    if (rc == EMUL_REFUSED)
        return false;
    if (rc == EMUL_DONE && (r->rflags & RFLAGS_TF))
        single_step_trap(v, r);
    return true;
}

void pv_emulate_show_counts(struct vcpu *v)
{
    struct pv_vcpu *p = pvv(v);
    char line[256];
    size_t len = 0;

    if (!p)
        return;
    for (unsigned int k = 0; k < PV_INSN_KINDS && len < sizeof(line) - 1; k++)
        if (p->emul_count[k])
            len = MIN(sizeof(line) - 1,
                      len + (size_t)px_snprintf(line + len, sizeof(line) - len, " %s=%u",
                                                pv_insn_name((enum pv_insn_kind)k),
                                                p->emul_count[k]));
    if (len)
        printk(LOG_INFO "d%u v%u emulated:%s\n", v->domain->domain_id, v->vcpu_id, line);
}

long pv_set_iopl(struct vcpu *v, uint64_t arg)
{
    struct physdev_set_iopl op;

    if (pv_copy_linear(v, &op, arg, sizeof(op), false))
        return -EFAULT;
    if (op.iopl > 3)
        return -EINVAL;
    pvv(v)->iopl = op.iopl;
    return 0;
}
