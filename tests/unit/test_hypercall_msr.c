/* The MSR layer: the hypercall page (stub bytes for both vendors, the MSR's
   checks), EFER, PAT and MTRR validation, vendor MSRs and refused ones. */
/* @sources: hypervisor/hvm/msr.c */
#include "cmocka_prelude.h"
#include <stdio.h>
#include <string.h>
#include <proxenos/xen_abi.h>
#include <proxenos/domain.h>
#include <proxenos/hypercall.h>
#include <proxenos/io.h>
#include <proxenos/vlapic.h>

extern struct msr_platform msr_test_platform;

/* ---- the hypervisor around msr.c -------------------------------------------- */

static uint8_t ram_page[4096];
static uint64_t guest_efer, guest_cr0;
static uint64_t apic_base = 0xfee00900;
static int injected_vector = -1, inject_count;
static uint32_t vlapic_last_msr;

static uint64_t t_get_efer(struct vcpu *v) { return guest_efer; }
static void t_set_efer(struct vcpu *v, uint64_t e) { guest_efer = e; }
static uint64_t t_get_cr(struct vcpu *v, unsigned int cr) { return cr == 0 ? guest_cr0 : 0; }

static struct hvm_function_table ops = {
    .name = "TEST", .get_efer = t_get_efer, .set_efer = t_set_efer, .get_cr = t_get_cr,
    .hypercall_insn = { 0x0f, 0x01, 0xd9 },
};
const struct hvm_function_table *hvm_ops = &ops;

void hvm_inject_exception(struct vcpu *v, uint8_t vector, bool has_ec, uint32_t ec)
{
    injected_vector = vector;
    inject_count++;
    assert_true(has_ec);
    assert_int_equal(ec, 0);
}

/* RAM at gfn 0x123 only; 0x124 is a special (reserved) page. */
enum p2m_type p2m_lookup(struct p2m *p2m, gfn_t gfn, mfn_t *mfn)
{
    *mfn = gfn == 0x123 || gfn == 0x124 ? 0x5000 + gfn : INVALID_MFN;
    return gfn == 0x123 ? p2m_ram_rw : gfn == 0x124 ? p2m_reserved : p2m_invalid;
}
void *gfn_to_virt(struct domain *d, uint64_t gfn, uint64_t *mfn_out)
{
    return gfn == 0x123 || gfn == 0x124 ? ram_page : NULL;
}

uint64_t vlapic_get_base(const struct vcpu *v) { return apic_base; }
int vlapic_set_base(struct vcpu *v, uint64_t val)
{
    if (val & 0x400 && !(val & 0x800))
        return -1;
    apic_base = val;
    return 0;
}
int vlapic_msr_read(struct vcpu *v, uint32_t msr, uint64_t *val)
{
    vlapic_last_msr = msr;
    *val = 0x1122334455667788ull;
    return msr == 0x802 ? 0 : -1;
}
int vlapic_msr_write(struct vcpu *v, uint32_t msr, uint64_t val)
{
    vlapic_last_msr = msr;
    return msr == 0x808 ? 0 : -1;
}

void printk(const char *fmt, ...) { }

static struct domain dom;
static struct vcpu vcpu;

static int setup(void **state)
{
    memset(&dom, 0, sizeof(dom));
    memset(&vcpu, 0, sizeof(vcpu));
    vcpu.domain = &dom;
    vcpu.hvm.hypercall_page_gfn = ~0ull;
    injected_vector = -1;
    inject_count = 0;
    guest_efer = 0;
    guest_cr0 = 0x11;
    ops.hypercall_insn[2] = 0xd9;
    msr_test_platform = (struct msr_platform){
        .amd = true, .family = 0x17, .maxphyaddr = 40,
        .efer = { .syscall = true, .lm = true, .nx = true, .ffxsr = true },
    };
    return 0;
}

static enum hvm_result rd(uint32_t msr, uint64_t *val)
{
    vcpu.hvm.regs.gpr[X86_REG_RCX] = 0xffffffff00000000ull | msr;   /* upper half ignored */
    vcpu.hvm.regs.gpr[X86_REG_RAX] = vcpu.hvm.regs.gpr[X86_REG_RDX] = 0xdead;
    enum hvm_result r = hvm_msr_read(&vcpu);
    *val = vcpu.hvm.regs.gpr[X86_REG_RDX] << 32 | vcpu.hvm.regs.gpr[X86_REG_RAX];
    if (r == HVM_DONE) {
        assert_true(vcpu.hvm.regs.gpr[X86_REG_RAX] <= 0xffffffffu);
        assert_true(vcpu.hvm.regs.gpr[X86_REG_RDX] <= 0xffffffffu);
    }
    return r;
}

static enum hvm_result wr(uint32_t msr, uint64_t val)
{
    vcpu.hvm.regs.gpr[X86_REG_RCX] = msr;
    vcpu.hvm.regs.gpr[X86_REG_RAX] = 0xabcdef0000000000ull | (uint32_t)val;   /* EAX only */
    vcpu.hvm.regs.gpr[X86_REG_RDX] = val >> 32;
    return hvm_msr_write(&vcpu);
}

#define assert_gp(r) do { int n_ = inject_count; assert_int_equal((r), HVM_EXCEPTION); \
    assert_int_equal(injected_vector, 13); assert_int_equal(inject_count, n_ + 1); } while (0)

/* ---- the hypercall page -------------------------------------------------------- */

static void check_page(const uint8_t *page, const uint8_t insn[3])
{
    for (unsigned int nr = 0; nr < 128; nr++) {
        const uint8_t *p = page + nr * 32;
        unsigned int first_pad = 9;

        if (nr == __HYPERVISOR_iret) {
            assert_int_equal(p[0], 0x0f);
            assert_int_equal(p[1], 0x0b);
            first_pad = 2;
        } else {
            assert_int_equal(p[0], 0xb8);
            assert_int_equal(p[1] | p[2] << 8 | p[3] << 16 | (uint32_t)p[4] << 24, nr);
            assert_memory_equal(p + 5, insn, 3);
            assert_int_equal(p[8], 0xc3);
        }
        for (unsigned int i = first_pad; i < 32; i++)
            assert_int_equal(p[i], 0xcc);
    }
}

static void page_bytes_both_vendors(void **state)
{
    static uint8_t page[4096];
    const uint8_t vmmcall[3] = { 0x0f, 0x01, 0xd9 }, vmcall[3] = { 0x0f, 0x01, 0xc1 };
    const uint8_t stub17[9] = { 0xb8, 17, 0, 0, 0, 0x0f, 0x01, 0xd9, 0xc3 };

    memset(page, 0x5a, sizeof(page));
    hvm_hypercall_page_fill(page, vmmcall);
    check_page(page, vmmcall);
    assert_memory_equal(page + 17 * 32, stub17, 9);     /* xen_version, byte for byte */
    hvm_hypercall_page_fill(page, vmcall);
    check_page(page, vmcall);
}

static void page_msr(void **state)
{
    uint64_t val;

    memset(ram_page, 0, sizeof(ram_page));
    assert_int_equal(wr(0x40000000, 0x123000), HVM_DONE);
    check_page(ram_page, ops.hypercall_insn);
    assert_int_equal(vcpu.hvm.hypercall_page_gfn, 0x123);
    assert_int_equal(rd(0x40000000, &val), HVM_DONE);    /* reads as zero (Xen) */
    assert_int_equal(val, 0);

    memset(ram_page, 0, sizeof(ram_page));
    assert_gp(wr(0x40000000, 0x123001));                 /* page index 1 */
    assert_gp(wr(0x40000000, 0x123fff));
    assert_gp(wr(0x40000000, 0x124000));                 /* not RAM */
    assert_gp(wr(0x40000000, 0x999000));                 /* nothing there */
    assert_gp(wr(0x40000000, 0xfffffffffffff000ull));
    assert_int_equal(ram_page[0], 0);                    /* untouched */
    assert_int_equal(dom.msr_refused, 5);
    assert_gp(wr(0x40000001, 0));                        /* rest of Xen's range */
    assert_gp(rd(0x40000001, &val));
    assert_gp(rd(0x400000ff, &val));
}

/* ---- EFER --------------------------------------------------------------------------- */

static void efer(void **state)
{
    uint64_t val;

    assert_int_equal(wr(0xc0000080, EFER_SCE | EFER_NXE | EFER_LME), HVM_DONE);
    assert_int_equal(guest_efer, EFER_SCE | EFER_NXE | EFER_LME);
    assert_int_equal(rd(0xc0000080, &val), HVM_DONE);
    assert_int_equal(val, guest_efer);
    assert_gp(wr(0xc0000080, EFER_SVME));               /* no nested SVM */
    assert_gp(wr(0xc0000080, 1ull << 15));              /* TCE: unknown */
    assert_gp(wr(0xc0000080, 1ull << 63));
    /* Long mode active: LMA is read-only, LME cannot change with paging on. */
    guest_cr0 |= X86_CR0_PG;
    guest_efer = EFER_LME | EFER_LMA | EFER_SCE;
    assert_int_equal(wr(0xc0000080, EFER_LME | EFER_SCE | EFER_NXE), HVM_DONE);
    assert_int_equal(guest_efer, EFER_LME | EFER_LMA | EFER_SCE | EFER_NXE);
    assert_gp(wr(0xc0000080, EFER_SCE));                 /* LME off with PG on */
    msr_test_platform.efer.nx = false;
    assert_gp(wr(0xc0000080, EFER_LME | EFER_NXE));
}

static void efer_check_pure(void **state)
{
    struct efer_features all = { true, true, true, true }, none = { false, false, false, false };

    assert_null(hvm_efer_check(0, EFER_LME, false, &all));
    assert_non_null(hvm_efer_check(0, EFER_LME, false, &none));
    assert_non_null(hvm_efer_check(0, EFER_SCE, false, &none));
    assert_null(hvm_efer_check(0, EFER_LMA, false, &all));         /* LMA ignored */
    assert_non_null(hvm_efer_check(EFER_LMA, 0, true, &all));      /* LMA without LME */
    assert_non_null(hvm_efer_check(0, EFER_LME, true, &all));      /* LME on under PG */
    assert_null(hvm_efer_check(EFER_LME, EFER_LME | EFER_NXE, true, &all));
    assert_non_null(hvm_efer_check(0, 1u << 14, false, &none));    /* FFXSE */
}

/* ---- PAT and MTRRs ------------------------------------------------------------------- */

static void pat(void **state)
{
    uint64_t val;

    assert_true(msr_pat_valid(0x0007040600070406ull));
    assert_true(msr_pat_valid(0x0707070707070707ull));
    assert_false(msr_pat_valid(0x0007040600070402ull));  /* type 2 */
    assert_false(msr_pat_valid(0x0307040600070406ull));  /* type 3 */
    assert_false(msr_pat_valid(0x0800000000000000ull));  /* type 8 */
    assert_int_equal(rd(0x277, &val), HVM_DONE);
    assert_int_equal(val, 0x0007040600070406ull);        /* reset value */
    assert_int_equal(wr(0x277, 0x0001050600070406ull), HVM_DONE);
    assert_int_equal(rd(0x277, &val), HVM_DONE);
    assert_int_equal(val, 0x0001050600070406ull);
    assert_gp(wr(0x277, 0x0002050600070406ull));
    assert_int_equal(rd(0x277, &val), HVM_DONE);
    assert_int_equal(val, 0x0001050600070406ull);
}

static void mtrr(void **state)
{
    uint64_t val;

    assert_int_equal(rd(0xfe, &val), HVM_DONE);
    assert_int_equal(val, 8 | 1 << 8 | 1 << 10);         /* 8 ranges, fixed, WC */
    assert_gp(wr(0xfe, val));                            /* read-only */
    assert_int_equal(rd(0x2ff, &val), HVM_DONE);
    assert_int_equal(val, 0x806);                        /* enabled, default WB */
    assert_int_equal(wr(0x2ff, 0xc00), HVM_DONE);        /* E, FE, UC */
    assert_gp(wr(0x2ff, 0x802));                         /* type 2 */
    assert_gp(wr(0x2ff, 0x1806));                        /* bit 12 reserved */
    assert_int_equal(rd(0x2ff, &val), HVM_DONE);
    assert_int_equal(val, 0xc00);

    /* Variable ranges: base type, mask valid bit, nothing above 40 bits. */
    assert_int_equal(wr(0x200, 0xc0000006), HVM_DONE);
    assert_int_equal(wr(0x201, 0xffc0000800ull), HVM_DONE);
    assert_int_equal(rd(0x201, &val), HVM_DONE);
    assert_int_equal(val, 0xffc0000800ull);
    assert_gp(wr(0x202, 0xc0000007));                    /* type 7 is PAT-only */
    assert_gp(wr(0x202, 0xc0000106));                    /* reserved bit 8 */
    assert_gp(wr(0x202, 0x10000000006ull));              /* bit 40 */
    assert_gp(wr(0x203, 0xffc0000801ull));               /* mask bits 0-10 */
    assert_gp(wr(0x20f, 1ull << 41 | 0x800));
    assert_int_equal(wr(0x20e, 0x6), HVM_DONE);
    assert_gp(rd(0x210, &val));                          /* beyond 8 pairs */

    /* Fixed ranges: every byte a valid type. */
    assert_int_equal(rd(0x250, &val), HVM_DONE);
    assert_int_equal(val, 0x0606060606060606ull);
    assert_int_equal(wr(0x250, 0x0606060606060600ull), HVM_DONE);
    assert_int_equal(wr(0x259, 0x0101010101010101ull), HVM_DONE);
    assert_int_equal(wr(0x26f, 0x0504060606060606ull), HVM_DONE);
    assert_gp(wr(0x268, 0x0606060606060602ull));
    assert_gp(wr(0x251, 0));                             /* not a fixed-range MSR */
    assert_int_equal(rd(0x259, &val), HVM_DONE);
    assert_int_equal(val, 0x0101010101010101ull);
    assert_true(mtrr_var_valid(0xfffffff000ull | 6, false, 40));
    assert_false(mtrr_var_valid(0xfffffff000ull | 6, false, 36));
    assert_true(mtrr_def_type_valid(0x0));
    assert_false(mtrr_fixed_valid(0x0300000000000000ull));
}

/* ---- other MSRs ------------------------------------------------------------------------ */

static void vendor_msrs(void **state)
{
    uint64_t val;

    /* AMD host: HWCR and DE_CFG exist, Intel's MISC_ENABLE and FEATURE_CONTROL not. */
    assert_int_equal(rd(0xc0010015, &val), HVM_DONE);
    assert_int_equal(val, 1ull << 24);
    assert_int_equal(wr(0xc0010015, 1ull << 24), HVM_DONE);
    assert_gp(wr(0xc0010015, 0));
    assert_int_equal(rd(0xc0011029, &val), HVM_DONE);
    assert_int_equal(val, 2);
    assert_int_equal(wr(0xc0011029, 0x1234), HVM_DONE);  /* dropped */
    assert_int_equal(wr(0xc0010020, 0x1234), HVM_DONE);  /* patch loader: dropped */
    assert_gp(rd(0xc0010020, &val));
    assert_gp(rd(0x1a0, &val));
    assert_gp(rd(0x3a, &val));
    assert_gp(wr(0x8b, 0));
    /* SYSCFG: MtrrFixDramEn only (Linux's MTRR code wants MtrrFixDramModEn
       clear), writes dropped; NB_CFG: 0, Linux's EnableCF8ExtCfg dropped. */
    assert_int_equal(rd(0xc0010010, &val), HVM_DONE);
    assert_int_equal(val, 1ull << 18);
    assert_int_equal(wr(0xc0010010, 1ull << 19 | 1ull << 18), HVM_DONE);
    assert_int_equal(rd(0xc0010010, &val), HVM_DONE);
    assert_int_equal(val, 1ull << 18);
    assert_int_equal(rd(0xc001001f, &val), HVM_DONE);
    assert_int_equal(val, 0);
    assert_int_equal(wr(0xc001001f, 1ull << 46), HVM_DONE);
    assert_int_equal(rd(0xc001001f, &val), HVM_DONE);
    assert_int_equal(val, 0);
    assert_int_equal(dom.msr_refused, 5);                /* the five #GPs above only */

    msr_test_platform.amd = false;
    msr_test_platform.intel = true;
    assert_int_equal(rd(0x1a0, &val), HVM_DONE);
    assert_int_equal(val, 0x801801);
    assert_int_equal(wr(0x1a0, val), HVM_DONE);
    assert_gp(wr(0x1a0, val | 1 << 18));                 /* MONITOR enable */
    assert_int_equal(rd(0x3a, &val), HVM_DONE);
    assert_int_equal(val, 1);                            /* locked, no VMX */
    assert_gp(wr(0x3a, 5));
    assert_int_equal(wr(0x8b, 0), HVM_DONE);             /* write 0, CPUID, read */
    assert_gp(wr(0x8b, 1));
    assert_int_equal(rd(0x8b, &val), HVM_DONE);
    assert_int_equal(wr(0x79, 0x1000), HVM_DONE);        /* Intel loader: dropped */
    assert_gp(rd(0xc0010015, &val));
    assert_gp(rd(0xc0010010, &val));                     /* SYSCFG: AMD only */
    assert_gp(wr(0xc0010010, 0));
    assert_int_equal(rd(0xc001001f, &val), HVM_DONE);    /* NB_CFG reads 0 anywhere */
    assert_int_equal(val, 0);
    assert_gp(wr(0xc001001f, 1ull << 46));
    assert_int_equal(rd(0xce, &val), HVM_DONE);
    assert_int_equal(val, 0);
    assert_gp(wr(0xce, 0));
    assert_int_equal(wr(0x140, 0), HVM_DONE);
    assert_gp(wr(0x140, 1));                             /* no CPUID faulting */
}

static void apic_and_tsc(void **state)
{
    uint64_t val;

    assert_int_equal(rd(0x1b, &val), HVM_DONE);
    assert_int_equal(val, 0xfee00900);
    assert_int_equal(wr(0x1b, 0xfee00d00), HVM_DONE);    /* x2APIC on */
    assert_int_equal(apic_base, 0xfee00d00);
    assert_gp(wr(0x1b, 0xfee00500));                     /* refused by the vLAPIC */
    assert_int_equal(rd(0x802, &val), HVM_DONE);
    assert_int_equal(val, 0x1122334455667788ull);
    assert_gp(rd(0x8ff, &val));
    assert_int_equal(vlapic_last_msr, 0x8ff);
    assert_gp(rd(0x6e0, &val));                          /* TSC_DEADLINE: the vLAPIC's answer */
    assert_int_equal(vlapic_last_msr, 0x6e0);
    assert_gp(wr(0x6e0, 1));
    assert_int_equal(vlapic_last_msr, 0x6e0);
    assert_int_equal(wr(0x808, 0x10), HVM_DONE);
    assert_gp(wr(0x830, 0));
    assert_int_equal(rd(0x10, &val), HVM_DONE);
    assert_true(val != 0);
    assert_int_equal(wr(0x10, 0), HVM_DONE);             /* ignored */
}

static void refused(void **state)
{
    uint64_t val;
    const uint32_t msrs[] = { 0x48, 0x49, 0x10a, 0x10b, 0x3b, 0xda0, 0xc0000103,
                              0x179, 0x400, 0x1d9 + 1, 0xc0010000, 0x12345678 };

    for (size_t i = 0; i < sizeof(msrs) / sizeof(msrs[0]); i++) {
        assert_gp(rd(msrs[i], &val));
        assert_gp(wr(msrs[i], 0));
    }
    assert_int_equal(dom.msr_refused, 2 * (sizeof(msrs) / sizeof(msrs[0])));
    assert_int_equal(rd(0x1d9, &val), HVM_DONE);         /* DEBUGCTL: 0, writes of 0 */
    assert_int_equal(wr(0x1d9, 0), HVM_DONE);
    assert_gp(wr(0x1d9, 1));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(page_bytes_both_vendors, setup),
        cmocka_unit_test_setup(page_msr, setup),
        cmocka_unit_test_setup(efer, setup),
        cmocka_unit_test_setup(efer_check_pure, setup),
        cmocka_unit_test_setup(pat, setup),
        cmocka_unit_test_setup(mtrr, setup),
        cmocka_unit_test_setup(vendor_msrs, setup),
        cmocka_unit_test_setup(apic_and_tsc, setup),
        cmocka_unit_test_setup(refused, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
