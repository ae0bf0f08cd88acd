/*
 * The MSRs the backend intercepts (hvm.h hvm_msr_read/hvm_msr_write; ECX
 * the MSR, EDX:EAX the value). The ones whose guest copy lives in the VMCB
 * (FS/GS/KERNEL_GS base, STAR/LSTAR/CSTAR/SFMASK, SYSENTER_*, PAT on SVM)
 * never arrive here. Behaviour follows Xen 4.17 (xen/arch/x86/msr.c
 * guest_rdmsr/guest_wrmsr, traps.c guest_{rd,wr}msr_xen, hvm.c
 * hvm_efer_valid/hvm_set_efer):
 *
 *   0x40000000      the hypercall page: write GFN << 12 | index; index 0
 *                   only, the GFN must be the domain's writable RAM, else
 *                   #GP; reads give 0.
 *   EFER            through hvm_ops, #GP on a bit the guest's CPUID does not
 *                   offer, on LMA/LME/PG inconsistency or an LME change
 *                   with paging on; LMA itself is read-only.
 *   APIC_BASE, 0x800-0x8ff   the vLAPIC's (vlapic.c), #GP where it refuses.
 *   TSC             reads RDTSC (the guest TSC is the host's: no offset);
 *                   writes are ignored: there is no TSC offset to move.
 *   TSC_DEADLINE    the vLAPIC's timer (vlapic.c), in either APIC mode.
 *   MTRRs           per-vCPU copies (cap: 8 variable ranges, fixed ranges,
 *                   WC); writes checked for valid types and reserved bits.
 *                   They describe, they do not act: with nested paging the
 *                   memory type comes from the guest PAT and the host's.
 *                   A PVH vCPU starts with MTRRs enabled, default type WB.
 *   PAT             per-vCPU copy, each entry a valid type (for backends that
 *                   intercept it; SVM keeps G_PAT in the VMCB).
 *   MISC_ENABLE, FEATURE_CONTROL (Intel guests only), PLATFORM_INFO,
 *   MISC_FEATURES_ENABLES, UCODE_REV, AMD HWCR and DE_CFG, the microcode
 *   loaders, DEBUGCTL: fixed values as Xen gives them, read-only (#GP on a
 *   change) except where Xen silently drops writes.
 *   AMD SYSCFG      MtrrFixDramEn only (Xen's svm_msr_read_intercept answer
 *                   for a domU; Xen gives the hardware domain the host's
 *                   MTRR bits, which the hypervisor does not read here);
 *                   writes dropped. Linux's MTRR code reads it with a plain
 *                   rdmsr (k8_check_syscfg_dram_mod_en) and only cares that
 *                   MtrrFixDramModEn is clear. Intel guests: #GP.
 *   NB_CFG          reads 0 for any vendor (Xen's hvm_msr_read_intercept);
 *                   AMD guests' writes are dropped: Linux's amd_bus.c sets
 *                   EnableCF8ExtCfg with a plain wrmsr. Xen 4.17 #GPs that
 *                   write unless the domain is msr-relaxed; see SUPPORT.md.
 *   Everything else: #GP(0) on read and write, as Xen 4.17 does for MSRs
 *   it does not offer (SPEC_CTRL, ARCH_CAPABILITIES, ... whose CPUID bits
 *   are hidden). Each #GP is counted in d->msr_refused.
 */
#include <proxenos/xen_abi.h>
#include <proxenos/domain.h>
#include <proxenos/guest_access.h>
#include <proxenos/hypercall.h>
#include <proxenos/io.h>
#include <proxenos/lib.h>
#include <proxenos/printk.h>
#include <proxenos/vlapic.h>

#define MSR_IA32_TSC             0x00000010
#define MSR_FEATURE_CONTROL      0x0000003a
#define  FEATURE_CONTROL_LOCK    (1ull << 0)
#define MSR_UCODE_WRITE          0x00000079
#define MSR_UCODE_REV            0x0000008b   /* AMD: PATCH_LEVEL */
#define MSR_PLATFORM_INFO        0x000000ce
#define MSR_MTRR_CAP             0x000000fe
#define MSR_MISC_FEATURES        0x00000140
#define MSR_MISC_ENABLE          0x000001a0
#define MSR_DEBUGCTL             0x000001d9
#define MSR_TSC_DEADLINE         0x000006e0
#define MSR_MTRR_PHYS_FIRST      0x00000200
#define MSR_MTRR_PHYS_LAST       0x0000020f
#define MSR_MTRR_FIX64K_00000    0x00000250
#define MSR_MTRR_FIX16K_80000    0x00000258
#define MSR_MTRR_FIX16K_A0000    0x00000259
#define MSR_MTRR_FIX4K_C0000     0x00000268
#define MSR_MTRR_FIX4K_F8000     0x0000026f
#define MSR_MTRR_DEF_TYPE        0x000002ff
#define MSR_X2APIC_FIRST         0x00000800
#define MSR_X2APIC_LAST          0x000008ff
#define MSR_K8_SYSCFG            0xc0010010
#define  SYSCFG_MTRR_FIX_DRAM_EN (1ull << 18)
#define MSR_K8_HWCR              0xc0010015
#define MSR_AMD64_NB_CFG         0xc001001f
#define  K8_HWCR_TSC_FREQ_SEL    (1ull << 24)
#define MSR_AMD_PATCHLOADER      0xc0010020
#define MSR_AMD64_DE_CFG         0xc0011029
#define  DE_CFG_LFENCE_SERIALISE (1ull << 1)

#define EFER_FFXSE (1u << 14)
#define EFER_KNOWN (EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE | EFER_FFXSE)

/* MTRRcap: 8 variable ranges, fixed ranges, write-combining (SDM 11.11.1). */
#define MTRR_VCNT     8
#define MTRR_CAP      (MTRR_VCNT | 1u << 8 | 1u << 10)
#define MTRR_DEF_FE   (1u << 10)
#define MTRR_DEF_E    (1u << 11)
#define MTRR_TYPE_WB  6
#define PAT_RESET     0x0007040600070406ull

/* MISC_ENABLE as Xen shows it: fast strings; BTS, PEBS and xTPR off; no
   MONITOR, EIST, perfmon or TCC. */
#define MISC_ENABLE_VALUE ((1ull << 0) | (1ull << 11) | (1ull << 12) | (1ull << 23))

enum msr_rc { MSR_OK = 0, MSR_GP = -1 };

/* ---- pure helpers ------------------------------------------------------------------ */

void hvm_hypercall_page_fill(uint8_t *page, const uint8_t insn[3])
{
    memset(page, 0xcc, PAGE_SIZE);                  /* int3 between the stubs */
    for (uint32_t nr = 0; nr < PAGE_SIZE / 32; nr++) {
        uint8_t *p = page + nr * 32;

        if (nr == __HYPERVISOR_iret) {              /* no iret for HVM: ud2 */
            p[0] = 0x0f;
            p[1] = 0x0b;
            continue;
        }
        p[0] = 0xb8;                                /* mov $nr, %eax */
        p[1] = nr & 0xff;
        p[2] = (nr >> 8) & 0xff;
        p[3] = (nr >> 16) & 0xff;
        p[4] = nr >> 24;
        memcpy(p + 5, insn, 3);                     /* vmmcall / vmcall */
        p[8] = 0xc3;                                /* ret */
    }
}

bool mtrr_type_valid(unsigned int type)
{
    return type == 0 || type == 1 || type == 4 || type == 5 || type == 6;
}

bool msr_pat_valid(uint64_t pat)
{
    for (unsigned int i = 0; i < 8; i++) {
        unsigned int t = (pat >> (i * 8)) & 0xff;
        if (t != 0 && t != 1 && t != 4 && t != 5 && t != 6 && t != 7)
            return false;
    }
    return true;
}

bool mtrr_fixed_valid(uint64_t val)
{
    for (unsigned int i = 0; i < 8; i++)
        if (!mtrr_type_valid((val >> (i * 8)) & 0xff))
            return false;
    return true;
}

bool mtrr_def_type_valid(uint64_t val)
{
    return !(val & ~(0xffull | MTRR_DEF_FE | MTRR_DEF_E)) && mtrr_type_valid(val & 0xff);
}

bool mtrr_var_valid(uint64_t val, bool mask, unsigned int maxphyaddr)
{
    uint64_t addr = maxphyaddr >= 64 ? ~0ull : (1ull << maxphyaddr) - 1;
    uint64_t allowed = (addr & ~0xfffull) | (mask ? 1ull << 11 : 0xffull);

    if (val & ~allowed)
        return false;
    return mask || mtrr_type_valid(val & 0xff);
}

const char *hvm_efer_check(uint64_t old, uint64_t val, bool cr0_pg,
                           const struct efer_features *f)
{
    val &= ~(uint64_t)EFER_LMA;                     /* read-only: hvm_set_efer */
    val |= old & EFER_LMA;
    if (val & ~(uint64_t)EFER_KNOWN)
        return "unknown bits set";
    if ((val & EFER_SCE) && !f->syscall)
        return "SCE without SYSCALL";
    if ((val & (EFER_LME | EFER_LMA)) && !f->lm)
        return "LME/LMA without long mode";
    if ((val & EFER_LMA) && (!(val & EFER_LME) || !cr0_pg))
        return "LMA/LME/CR0.PG inconsistency";
    if ((val & EFER_NXE) && !f->nx)
        return "NXE without NX";
    if ((val & EFER_FFXSE) && !f->ffxsr)
        return "FFXSE without FFXSR";
    if (((val ^ old) & EFER_LME) && cr0_pg)
        return "LME changed with paging enabled";
    return NULL;
}

/* ---- the machine ----------------------------------------------------------------------- */

#ifdef HOST_TEST
struct msr_platform msr_test_platform;
const struct msr_platform *msr_platform_get(void) { return &msr_test_platform; }
#else
const struct msr_platform *msr_platform_get(void)
{
    static struct msr_platform p;
    static bool done;
    uint32_t a, b, c, d;

    if (__atomic_load_n(&done, __ATOMIC_ACQUIRE))
        return &p;
    cpuid(0, &a, &b, &c, &d);
    p.intel = b == 0x756e6547 && d == 0x49656e69 && c == 0x6c65746e;      /* GenuineIntel */
    p.amd = (b == 0x68747541 && d == 0x69746e65 && c == 0x444d4163) ||    /* AuthenticAMD */
            (b == 0x6f677948 && d == 0x656e6975 && c == 0x6e65476e);      /* HygonGenuine */
    cpuid(1, &a, &b, &c, &d);
    p.family = ((a >> 8) & 0xf) == 0xf ? 0xf + ((a >> 20) & 0xff) : (a >> 8) & 0xf;
    p.maxphyaddr = 36;
    cpuid(0x80000000, &a, &b, &c, &d);
    if (a >= 0x80000008) {
        cpuid(0x80000008, &a, &b, &c, &d);
        p.maxphyaddr = a & 0xff;
    }
    cpuid(0x80000001, &a, &b, &c, &d);
    p.efer = (struct efer_features){ .syscall = d & (1u << 11), .nx = d & (1u << 20),
                                     .ffxsr = d & (1u << 25), .lm = d & (1u << 29) };
    __atomic_store_n(&done, true, __ATOMIC_RELEASE);
    return &p;
}
#endif

/* ---- per-vCPU state ----------------------------------------------------------------------- */

static struct hvm_msrs *msrs(struct vcpu *v)
{
    struct hvm_msrs *m = &v->domain->msr[v->vcpu_id];

    if (!m->init) {
        m->pat = PAT_RESET;
        m->mtrr_def_type = MTRR_DEF_E | MTRR_TYPE_WB;
        for (unsigned int i = 0; i < ARRAY_SIZE(m->mtrr_fixed); i++)
            m->mtrr_fixed[i] = 0x0606060606060606ull;   /* WB, used once FE is set */
        m->init = true;
    }
    return m;
}

/* Index into hvm_msrs.mtrr_fixed, or -1. */
static int mtrr_fixed_index(uint32_t msr)
{
    if (msr == MSR_MTRR_FIX64K_00000)
        return 0;
    if (msr == MSR_MTRR_FIX16K_80000 || msr == MSR_MTRR_FIX16K_A0000)
        return 1 + (msr - MSR_MTRR_FIX16K_80000);
    if (msr >= MSR_MTRR_FIX4K_C0000 && msr <= MSR_MTRR_FIX4K_F8000)
        return 3 + (msr - MSR_MTRR_FIX4K_C0000);
    return -1;
}

/* ---- the hypercall page --------------------------------------------------------------------- */

static int hypercall_page_write(struct vcpu *v, uint64_t val)
{
    struct domain *d = v->domain;
    uint64_t gfn = val >> PAGE_SHIFT;
    mfn_t mfn;
    uint8_t *page;

    if (val & (PAGE_SIZE - 1))
        return MSR_GP;                    /* one page only: index 0 */
    if (p2m_lookup(&d->p2m, gfn, &mfn) != p2m_ram_rw || !(page = gfn_to_virt(d, gfn, NULL)))
        return MSR_GP;
    hvm_hypercall_page_fill(page, hvm_ops->hypercall_insn);
    v->hvm.hypercall_page_gfn = gfn;
    return MSR_OK;
}

/* ---- reads and writes ----------------------------------------------------------------------- */

static int msr_read(struct vcpu *v, uint32_t msr, uint64_t *val)
{
    const struct msr_platform *p = msr_platform_get();
    int i;

    switch (msr) {
    case XEN_MSR_HYPERCALL_PAGE:   *val = 0; return MSR_OK;
    case MSR_EFER:                 *val = hvm_ops->get_efer(v); return MSR_OK;
    case MSR_APIC_BASE:            *val = vlapic_get_base(v); return MSR_OK;
    case MSR_IA32_TSC:             *val = rdtsc(); return MSR_OK;
    case MSR_TSC_DEADLINE:         return vlapic_msr_read(v, msr, val) ? MSR_GP : MSR_OK;
    case MSR_PAT:                  *val = msrs(v)->pat; return MSR_OK;
    case MSR_MTRR_CAP:             *val = MTRR_CAP; return MSR_OK;
    case MSR_MTRR_DEF_TYPE:        *val = msrs(v)->mtrr_def_type; return MSR_OK;
    case MSR_PLATFORM_INFO:        *val = 0; return MSR_OK;   /* no CPUID faulting */
    case MSR_MISC_FEATURES:        *val = 0; return MSR_OK;
    case MSR_UCODE_REV:            *val = 0; return MSR_OK;   /* not the host's: see SUPPORT.md */
    case MSR_DEBUGCTL:             *val = 0; return MSR_OK;
    case MSR_MISC_ENABLE:
        *val = MISC_ENABLE_VALUE;
        return p->intel ? MSR_OK : MSR_GP;
    case MSR_FEATURE_CONTROL:
        *val = FEATURE_CONTROL_LOCK;      /* locked, VMX off */
        return p->intel ? MSR_OK : MSR_GP;
    case MSR_K8_HWCR:
        *val = p->family >= 0x10 ? K8_HWCR_TSC_FREQ_SEL : 0;
        return p->amd ? MSR_OK : MSR_GP;
    case MSR_AMD64_DE_CFG:
        *val = DE_CFG_LFENCE_SERIALISE;
        return p->amd ? MSR_OK : MSR_GP;
    case MSR_K8_SYSCFG:
        *val = SYSCFG_MTRR_FIX_DRAM_EN;
        return p->amd ? MSR_OK : MSR_GP;
    case MSR_AMD64_NB_CFG:            /* Xen: for guests migrated to Intel too */
        *val = 0;
        return MSR_OK;
    }
    if (msr >= MSR_X2APIC_FIRST && msr <= MSR_X2APIC_LAST)
        return vlapic_msr_read(v, msr, val) ? MSR_GP : MSR_OK;
    if (msr >= MSR_MTRR_PHYS_FIRST && msr <= MSR_MTRR_PHYS_LAST) {
        *val = msrs(v)->mtrr_var[msr - MSR_MTRR_PHYS_FIRST];
        return MSR_OK;
    }
    if ((i = mtrr_fixed_index(msr)) >= 0) {
        *val = msrs(v)->mtrr_fixed[i];
        return MSR_OK;
    }
    return MSR_GP;
}

static int efer_write(struct vcpu *v, uint64_t val)
{
    uint64_t old = hvm_ops->get_efer(v);
    bool pg = hvm_ops->get_cr(v, 0) & X86_CR0_PG;

    if (hvm_efer_check(old, val, pg, &msr_platform_get()->efer))
        return MSR_GP;
    hvm_ops->set_efer(v, (val & ~(uint64_t)EFER_LMA) | (old & EFER_LMA));
    return MSR_OK;
}

static int mtrr_write(struct vcpu *v, uint32_t msr, uint64_t val)
{
    struct hvm_msrs *m = msrs(v);
    int i;

    if (msr == MSR_MTRR_DEF_TYPE) {
        if (!mtrr_def_type_valid(val))
            return MSR_GP;
        m->mtrr_def_type = val;
        return MSR_OK;
    }
    if (msr >= MSR_MTRR_PHYS_FIRST && msr <= MSR_MTRR_PHYS_LAST) {
        if (!mtrr_var_valid(val, msr & 1, msr_platform_get()->maxphyaddr))
            return MSR_GP;
        m->mtrr_var[msr - MSR_MTRR_PHYS_FIRST] = val;
        return MSR_OK;
    }
    if ((i = mtrr_fixed_index(msr)) < 0 || !mtrr_fixed_valid(val))
        return MSR_GP;
    m->mtrr_fixed[i] = val;
    return MSR_OK;
}

static int msr_write(struct vcpu *v, uint32_t msr, uint64_t val)
{
    const struct msr_platform *p = msr_platform_get();
    uint64_t cur;

    switch (msr) {
    case XEN_MSR_HYPERCALL_PAGE:
        return hypercall_page_write(v, val);
    case MSR_EFER:
        return efer_write(v, val);
    case MSR_APIC_BASE:
        return vlapic_set_base(v, val) ? MSR_GP : MSR_OK;
    case MSR_IA32_TSC:
        return MSR_OK;                    /* ignored: no TSC offset to move */
    case MSR_TSC_DEADLINE:
        return vlapic_msr_write(v, msr, val) ? MSR_GP : MSR_OK;
    case MSR_PAT:
        if (!msr_pat_valid(val))
            return MSR_GP;
        msrs(v)->pat = val;
        if (hvm_ops && hvm_ops->set_pat)
            hvm_ops->set_pat(v, val);
        return MSR_OK;
    case MSR_MTRR_DEF_TYPE:
        return mtrr_write(v, msr, val);
    case MSR_MISC_FEATURES:               /* CPUID faulting is not offered */
    case MSR_DEBUGCTL:                    /* no LBR or BTF */
        return val ? MSR_GP : MSR_OK;
    case MSR_UCODE_REV:                   /* Intel: "write 0, CPUID, read" */
        return p->intel && val == 0 ? MSR_OK : MSR_GP;
    case MSR_UCODE_WRITE:                 /* Intel loader: dropped, as Xen */
        return p->intel ? MSR_OK : MSR_GP;
    case MSR_AMD_PATCHLOADER:             /* AMD loader: dropped, as Xen */
    case MSR_AMD64_DE_CFG:                /* dropped: OpenBSD writes it (Xen) */
    case MSR_K8_SYSCFG:                   /* read-only, writes dropped (Xen) */
    case MSR_AMD64_NB_CFG:                /* dropped: see the top of the file */
        return p->amd ? MSR_OK : MSR_GP;
    case MSR_MISC_ENABLE:                 /* read-only: only its own value */
    case MSR_K8_HWCR:
        return msr_read(v, msr, &cur) == MSR_OK && val == cur ? MSR_OK : MSR_GP;
    }
    if (msr >= MSR_X2APIC_FIRST && msr <= MSR_X2APIC_LAST)
        return vlapic_msr_write(v, msr, val) ? MSR_GP : MSR_OK;
    if ((msr >= MSR_MTRR_PHYS_FIRST && msr <= MSR_MTRR_PHYS_LAST) || mtrr_fixed_index(msr) >= 0)
        return mtrr_write(v, msr, val);
    /* MTRRcap, PLATFORM_INFO, FEATURE_CONTROL (read-only), and the rest. */
    return MSR_GP;
}

/* ---- exit handlers ------------------------------------------------------------------------------ */

static enum hvm_result refuse(struct vcpu *v, uint32_t msr, uint64_t val, bool write)
{
    struct domain *d = v->domain;
    uint64_t n = __atomic_fetch_add(&d->msr_refused, 1, __ATOMIC_RELAXED);

    const char *more = n == 15 ? " (no more reported)" : "";

    if (n < 16 && write)
        printk(LOG_INFO "d%u v%u: wrmsr %#x value %#lx: #GP%s\n", d->domain_id, v->vcpu_id,
               msr, val, more);
    else if (n < 16)
        printk(LOG_INFO "d%u v%u: rdmsr %#x: #GP%s\n", d->domain_id, v->vcpu_id, msr, more);
    hvm_inject_exception(v, X86_EXC_GP, true, 0);
    return HVM_EXCEPTION;
}

enum hvm_result hvm_msr_read(struct vcpu *v)
{
    uint64_t *gpr = v->hvm.regs.gpr;
    uint32_t msr = (uint32_t)gpr[X86_REG_RCX];
    uint64_t val = 0;

    if (msr_read(v, msr, &val) != MSR_OK)
        return refuse(v, msr, 0, false);
    gpr[X86_REG_RAX] = (uint32_t)val;
    gpr[X86_REG_RDX] = val >> 32;
    return HVM_DONE;
}

enum hvm_result hvm_msr_write(struct vcpu *v)
{
    uint64_t *gpr = v->hvm.regs.gpr;
    uint32_t msr = (uint32_t)gpr[X86_REG_RCX];
    uint64_t val = (gpr[X86_REG_RDX] << 32) | (uint32_t)gpr[X86_REG_RAX];

    if (msr_write(v, msr, val) != MSR_OK)
        return refuse(v, msr, val, true);
    return HVM_DONE;
}
