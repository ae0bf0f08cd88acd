/* PV segment descriptors (pv/pv_desc.c): Xen's check_descriptor for 64-bit
   PV guests, descriptor pages through the validator with that check, the
   copy of a guest GDT into the CPU's PV GDT around the hypervisor's slots,
   and the SEGBASE_GS_USER_SEL selector check. The glue (pv/pv_descriptor.c)
   on the fake frames of test_pv_env.h with a fake guest memory and CPU:
   set_gdt, update_descriptor, the GDT copy on entry, GS_USER_SEL, failsafe. */
/* @sources: pv/pv_desc.c pv/pv_descriptor.c pv/page_type.c pv/pt_validate.c pv/mmu_update.c pv/mmuext_op.c pv/update_va_mapping.c pv/mm_domain.c pv/m2p.c */
#include "cmocka_prelude.h"
#include "test_pv_env.h"
#include "../../pv/pv_desc.h"
#include "../../pv/pv_internal.h"
#include <xen/callback.h>

/* Linux 6.1's 64-bit GDT (arch/x86/kernel/cpu/common.c gdt_page, as
   GDT_ENTRY_INIT builds it). */
#define L_KERNEL32_CS 0x00cf9b000000ffffULL     /* 1 */
#define L_KERNEL_CS   0x00af9b000000ffffULL     /* 2 */
#define L_KERNEL_DS   0x00cf93000000ffffULL     /* 3 */
#define L_USER32_CS   0x00cffb000000ffffULL     /* 4 */
#define L_USER_DS     0x00cff3000000ffffULL     /* 5 */
#define L_USER_CS     0x00affb000000ffffULL     /* 6 */
#define L_CPUNODE     0x0040f50000000000ULL     /* 15: limit = node/cpu, for LSL */
#define DPL3          (3ULL << 45)

#define TSS_AVAIL     0x00008901234567ffULL     /* present 64-bit TSS, type 9 */
#define LDT_DESC      0x0000820000000fffULL     /* present LDT, type 2 */
#define INTR_GATE     0x0000ee0000100000ULL     /* present interrupt gate, DPL 3 */

/* A present 64-bit call gate (type 0xc), DPL dpl, to sel:0x1000. */
static uint64_t call_gate(uint16_t sel, unsigned int dpl)
{
    return 0x1000ULL | ((uint64_t)sel << 16) | (0xcULL << 40) | ((uint64_t)dpl << 45) | (1ULL << 47);
}

static void linux_gdt(uint64_t *g)
{
    memset(g, 0, 4096);
    g[1] = L_KERNEL32_CS;
    g[2] = L_KERNEL_CS;
    g[3] = L_KERNEL_DS;
    g[4] = L_USER32_CS;
    g[5] = L_USER_DS;
    g[6] = L_USER_CS;
    g[15] = L_CPUNODE;
}

static int setup(void **state)
{
    env_reset();
    return 0;
}

static uint64_t checked(uint64_t d, bool ok)
{
    uint64_t x = d;

    assert_int_equal(pv_desc_check(&x), ok);
    if (!ok)
        assert_true(x == d);           /* a refused descriptor is not changed */
    return x;
}

static void test_code_and_data(void **state)
{
    /* Kernel segments get DPL 3 (the guest kernel's RPL), user ones stay. */
    assert_true(checked(L_KERNEL_CS, true) == (L_KERNEL_CS | DPL3));
    assert_true(checked(L_KERNEL32_CS, true) == (L_KERNEL32_CS | DPL3));
    assert_true(checked(L_KERNEL_DS, true) == (L_KERNEL_DS | DPL3));
    assert_true(checked(L_USER_DS, true) == L_USER_DS);
    assert_true(checked(L_USER_CS, true) == L_USER_CS);
    assert_true(checked(L_CPUNODE, true) == L_CPUNODE);
    /* No base or limit checks for a 64-bit guest. */
    assert_true(checked(0xffcff2ffffffffffULL, true) == 0xffcff2ffffffffffULL);
}

static void test_not_present_and_type0(void **state)
{
    /* Not present: anything goes, unchanged. */
    assert_true(checked(TSS_AVAIL & ~(1ULL << 47), true) == (TSS_AVAIL & ~(1ULL << 47)));
    assert_true(checked(0x0000000012345678ULL, true) == 0x0000000012345678ULL);
    assert_true(checked(L_KERNEL_CS & ~(1ULL << 47), true) == (L_KERNEL_CS & ~(1ULL << 47)));
    /* Present system type 0 (upper half of a 16-byte entry): as is. */
    assert_true(checked(0x0000800000000000ULL, true) == 0x0000800000000000ULL);
}

static void test_system_refused(void **state)
{
    checked(TSS_AVAIL, false);
    checked(TSS_AVAIL | (2ULL << 40), false);   /* busy TSS */
    checked(LDT_DESC, false);
    checked(INTR_GATE, false);
    checked(INTR_GATE | (1ULL << 40), false);   /* trap gate */
    checked(0x0000850000000000ULL, false);      /* task gate */
}

static void test_call_gates(void **state)
{
    /* To a guest GDT selector: DPL 0, the DPL (3 after the fixup) in RPL. */
    assert_true(checked(call_gate(0x10, 3), true) == call_gate(0x13, 0));
    assert_true(checked(call_gate(0x10, 0), true) == call_gate(0x13, 0));
    assert_true(checked(call_gate(0xdff8, 0), true) == call_gate(0xdffb, 0));
    /* FLAT_KERNEL_CS and LDT selectors are allowed targets. */
    assert_true(checked(call_gate(0xe033, 3), true) == call_gate(0xe033, 0));
    assert_true(checked(call_gate(0xe00c, 3), true) == call_gate(0xe00f, 0));
    /* The hypervisor's other reserved selectors are not. */
    checked(call_gate(0xe000, 3), false);
    checked(call_gate(0xe030, 3), false);       /* FLAT_KERNEL_CS with RPL 0 */
    checked(call_gate(0xe02b, 3), false);
    /* Bits 32-39 of a 64-bit call gate are reserved. */
    checked(call_gate(0x10, 3) | (1ULL << 32), false);
    checked(call_gate(0x10, 3) | (0x80ULL << 32), false);
}

static void test_segdesc_page_check(void **state)
{
    uint64_t g[512];

    linux_gdt(g);
    assert_int_equal(pv_check_segdesc_page(NULL, g), 0);
    /* A TSS where Linux has one (Xen ignores Linux's writes of it). */
    g[8] = TSS_AVAIL;
    assert_int_equal(pv_check_segdesc_page(NULL, g), -EINVAL);
    g[8] = 0;
    g[511] = LDT_DESC;
    assert_int_equal(pv_check_segdesc_page(NULL, g), -EINVAL);
    g[511] = call_gate(0x33, 3);
    assert_int_equal(pv_check_segdesc_page(NULL, g), 0);
    /* The check does not write the frame. */
    assert_true(g[2] == L_KERNEL_CS && g[511] == call_gate(0x33, 3));
}

/* The validator with pv_check_segdesc_page as its callback. */
static struct pv_mm_ops desc_ops;

static void use_desc_ops(void)
{
    desc_ops = *env_mm.ops;
    desc_ops.check_segdesc_page = pv_check_segdesc_page;
    env_mm.ops = &desc_ops;
}

static void test_segdesc_page_validator(void **state)
{
    use_desc_ops();
    linux_gdt(env_page(9));
    env_page(9)[9] = TSS_AVAIL;
    assert_int_equal(pv_get_segdesc_page(&env_mm, 9), -EINVAL);
    assert_int_equal(tcount(9), 0);
    env_page(9)[9] = 0;
    assert_int_equal(pv_get_segdesc_page(&env_mm, 9), 0);
    assert_int_equal(ttype(9), PGT_seg_desc_page);
    assert_true(validated(9));
    /* Another domain's frame: refused before any check. */
    linux_gdt(env_page(B_FIRST));
    assert_int_equal(pv_get_segdesc_page(&env_mm, B_FIRST), -EINVAL);
    pv_put_segdesc_page(&env_mm, 9);
    assert_int_equal(tcount(9), 0);
    assert_int_equal(pv_mm_bugs, 0);
}

static void test_gdt_copy(void **state)
{
    static uint64_t cpu[0xe040 / 8], f0[512], f1[512];
    const uint64_t *frames[2] = { f0, f1 };

    memset(cpu, 0, sizeof(cpu));
    for (unsigned int i = 0; i < 16; i++)
        if (pv_gdt_slot_reserved(i))
            cpu[i] = 0x1111000000000000ULL + i;    /* the hypervisor's */
    linux_gdt(f0);
    f0[8] = 0x1234;                                /* not present: Linux's TSS is never written */
    f0[12] = L_USER_DS | 0x1234;                   /* TLS */
    f0[100] = L_KERNEL_DS;
    pv_gdt_copy(cpu, frames, 16, 0);
    for (unsigned int i = 0; i < 16; i++) {
        if (pv_gdt_slot_reserved(i))
            assert_true(cpu[i] == 0x1111000000000000ULL + i);
    }
    assert_true(cpu[4] == L_USER32_CS);
    assert_true(cpu[5] == L_USER_DS);
    assert_true(cpu[6] == L_USER_CS);
    assert_true(cpu[12] == (L_USER_DS | 0x1234));
    assert_true(cpu[15] == L_CPUNODE);
    assert_true(cpu[100] == 0);                    /* beyond the entries */

    /* Two frames, 600 entries: fixups applied, the second frame's too. */
    memset(f1, 0, sizeof(f1));
    f1[0] = L_KERNEL_CS;
    f1[87] = L_USER_DS;
    f1[88] = L_USER_DS;                            /* entry 600: not copied */
    f0[13] = TSS_AVAIL;                            /* impossible in a validated frame: 0 */
    pv_gdt_copy(cpu, frames, 600, 16);
    assert_true(cpu[100] == (L_KERNEL_DS | DPL3));
    assert_true(cpu[512] == (L_KERNEL_CS | DPL3));
    assert_true(cpu[599] == L_USER_DS);
    assert_true(cpu[600] == 0);
    assert_true(cpu[13] == 0);
    assert_true(cpu[2] == 0x1111000000000002ULL);

    /* A smaller GDT next: what the previous one left is cleared. */
    pv_gdt_copy(cpu, frames, 8, 600);
    assert_true(cpu[5] == L_USER_DS);
    assert_true(cpu[12] == 0 && cpu[15] == 0 && cpu[100] == 0 && cpu[512] == 0 && cpu[599] == 0);
    assert_true(cpu[8] == 0x1111000000000008ULL && cpu[9] == 0x1111000000000009ULL);
    /* None at all. */
    pv_gdt_copy(cpu, frames, 0, 8);
    for (unsigned int i = 0; i < 0xe040 / 8; i++)
        if (!pv_gdt_slot_reserved(i))
            assert_true(cpu[i] == 0);
}

static void test_data_loadable(void **state)
{
    assert_true(pv_desc_data_loadable(L_USER_DS));
    assert_true(pv_desc_data_loadable(L_USER_CS));          /* readable code */
    assert_false(pv_desc_data_loadable(L_USER_CS & ~(2ULL << 40)));  /* execute-only */
    assert_false(pv_desc_data_loadable(L_KERNEL_DS));       /* DPL 0 */
    assert_false(pv_desc_data_loadable(L_USER_DS & ~(1ULL << 47)));  /* not present */
    assert_false(pv_desc_data_loadable(TSS_AVAIL | DPL3));
    assert_false(pv_desc_data_loadable(0));
    /* Conforming readable code: no DPL check. */
    assert_true(pv_desc_data_loadable(0x00cf9e000000ffffULL));
    assert_true(pv_desc_base(0x12cff3345678ffffULL) == 0x12345678);
}

static void test_gs_user_sel(void **state)
{
    static uint64_t g[0xe040 / 8];
    uint64_t base = 99;

    memset(g, 0, sizeof(g));
    g[2] = 0x00cf92000000ffffULL;                  /* the hypervisor's DS, DPL 0 */
    g[5] = L_USER_DS;
    g[12] = 0xab4ff3cdef000fffULL;                 /* a TLS entry, base 0xabcdef00 */
    g[13] = L_USER_DS & ~(1ULL << 47);
    g[0xe02b >> 3] = 0x00cff2000000ffffULL;        /* FLAT_RING3_DS */
    for (uint16_t s = 0; s <= 3; s++) {
        assert_int_equal(pv_gs_user_sel(g, 0xe040 / 8, s, &base), s);
        assert_true(base == 0);
    }
    assert_int_equal(pv_gs_user_sel(g, 0xe040 / 8, 0x2b, &base), 0x2b);
    assert_true(base == 0);
    /* RPL forced to 3, the base from the descriptor. */
    assert_int_equal(pv_gs_user_sel(g, 0xe040 / 8, 0x60, &base), 0x63);
    assert_true(base == 0xabcdef00ULL);
    assert_int_equal(pv_gs_user_sel(g, 0xe040 / 8, 0xe02b, &base), 0xe02b);
    /* Would fault: the null selector, base 0. */
    base = 5;
    assert_int_equal(pv_gs_user_sel(g, 0xe040 / 8, 0x13, &base), 0);   /* DPL 0 */
    assert_true(base == 0);
    assert_int_equal(pv_gs_user_sel(g, 0xe040 / 8, 0x6b, &base), 0);   /* not present */
    assert_int_equal(pv_gs_user_sel(g, 0xe040 / 8, 0x2f, &base), 0);   /* LDT */
    assert_int_equal(pv_gs_user_sel(g, 0xe040 / 8, 0x7b, &base), 0);   /* empty slot */
    assert_int_equal(pv_gs_user_sel(g, 0xe040 / 8, 0xe043, &base), 0); /* beyond the GDT */
    assert_int_equal(pv_gs_user_sel(g, 4, 0x2b, &base), 0);            /* beyond its entries */
    assert_int_equal(pv_gs_user_sel(NULL, 0, 0x2b, &base), 0);         /* no PV GDT */
}

static void test_iret_selectors(void **state)
{
    static uint64_t g[0xe040 / 8];
    const unsigned int n = 0xe040 / 8;

    memset(g, 0, sizeof(g));
    g[1] = 0x00209a0000000000ULL;                  /* the hypervisor's CS64, DPL 0 */
    g[2] = 0x00cf92000000ffffULL;                  /* its DS */
    g[4] = L_USER32_CS;
    g[5] = L_USER_DS;
    g[6] = L_USER_CS;
    g[7] = L_USER_CS | (1ULL << 54);               /* L and D: refused */
    g[8] = L_USER_DS & ~(1ULL << 47);              /* not present */
    g[9] = 0x00cf9e000000ffffULL;                  /* conforming code, DPL 0 */
    g[10] = 0x00cff1000000ffffULL;                 /* read-only data, DPL 3 */
    g[0xe023 >> 3] = 0x00cffa000000ffffULL;
    g[0xe02b >> 3] = 0x00cff2000000ffffULL;
    g[0xe033 >> 3] = 0x0020fa0000000000ULL;
    assert_true(pv_iret_sels_ok(g, n, 0xe033, 0xe02b));
    assert_true(pv_iret_sels_ok(g, n, 0xe030, 0xe028));    /* RPL forced to 3 */
    assert_true(pv_iret_sels_ok(g, n, 0xe023, 0xe02b));
    assert_true(pv_iret_sels_ok(g, n, 0x33, 0x2b));
    assert_true(pv_iret_sels_ok(g, n, 0x23, 0x2b));
    assert_true(pv_iret_sels_ok(g, n, 0x4b, 0x2b));        /* conforming */
    assert_false(pv_iret_sels_ok(g, n, 0x0b, 0x2b));       /* hypervisor CS, DPL 0 */
    assert_false(pv_iret_sels_ok(g, n, 0x33, 0x13));       /* hypervisor DS, DPL 0 */
    assert_false(pv_iret_sels_ok(g, n, 0x2b, 0x2b));       /* CS not code */
    assert_false(pv_iret_sels_ok(g, n, 0x33, 0x33));       /* SS not writable data */
    assert_false(pv_iret_sels_ok(g, n, 0x33, 0x53));       /* SS read-only */
    assert_false(pv_iret_sels_ok(g, n, 0x33, 0));          /* null SS at CPL 3 */
    assert_false(pv_iret_sels_ok(g, n, 0, 0x2b));
    assert_false(pv_iret_sels_ok(g, n, 0x3b, 0x2b));       /* L and D */
    assert_false(pv_iret_sels_ok(g, n, 0x33, 0x43));       /* not present */
    assert_false(pv_iret_sels_ok(g, n, 0x37, 0x2b));       /* LDT */
    assert_false(pv_iret_sels_ok(g, n, 0xe043, 0x2b));     /* beyond the GDT */
    assert_false(pv_iret_sels_ok(g, 6, 0x33, 0x2b));       /* beyond its entries */
}

/* ---- the glue, on fakes --------------------------------------------------------- */

#define GVA      0x10000ULL                    /* guest memory [GVA, GVA + sizeof(gmem)) */
static uint8_t gmem[0x2000];
static struct domain gdom;
static struct vcpu gvcpu;
static struct pv_vcpu gpv;
static struct pv_domain gpd;
static uint64_t gcpu[0xe040 / 8];             /* this CPU's PV GDT */
static struct {
    unsigned int crashes, bounces, gs_loads;
    uint16_t gs_sel;
    uint64_t bounce_target;
    bool bounce_mask;
} fake;

int pv_copy_linear(struct vcpu *v, void *hv, uint64_t va, size_t len, bool to_guest)
{
    if (va < GVA || va + len > GVA + sizeof(gmem) || va + len < va)
        return -EFAULT;
    if (to_guest)
        memcpy(gmem + (va - GVA), hv, len);
    else
        memcpy(hv, gmem + (va - GVA), len);
    return 0;
}

/* As pv_run.c's: RCX, R11, RIP, CS, RFLAGS, RSP, SS on the 16-aligned stack. */
bool pv_bounce(struct vcpu *v, struct cpu_regs *r, const uint64_t *ec, uint64_t target,
               bool mask_events)
{
    uint64_t f[7] = { r->rcx, r->r11, r->rip, r->cs & ~3ULL, r->rflags, r->rsp, r->ss };
    uint64_t sp = (r->rsp & ~15ULL) - sizeof(f);

    fake.bounces++;
    fake.bounce_target = target;
    fake.bounce_mask = mask_events;
    if (pv_copy_linear(v, f, sp, sizeof(f), true)) {
        fake.crashes++;
        return false;
    }
    r->rsp = sp;
    r->rip = target;
    return true;
}

void domain_crash(struct domain *d, enum crash_cause cause, const char *fmt, ...) { fake.crashes++; }
void printk(const char *fmt, ...) {}
struct pv_domain *pv_domain_of(const struct domain *d) { return d == &gdom ? &gpd : NULL; }
unsigned int pv_desc_cpu(void) { return 0; }
void pv_desc_load_gs(uint16_t sel) { fake.gs_loads++; fake.gs_sel = sel; }
void pv_desc_read_sels(uint64_t sel[4])
{
    sel[0] = 0x2b, sel[1] = 0x2b, sel[2] = 0, sel[3] = 0x63;
}

static struct pv_mm_ops glue_ops;

/* Domain A's frames belong to gdom; vCPU 0 runs on CPU 0 (gcpu loaded). */
static int glue_setup(void **state)
{
    env_reset();
    memset(&gdom, 0, sizeof(gdom));
    memset(&gvcpu, 0, sizeof(gvcpu));
    memset(&gpv, 0, sizeof(gpv));
    memset(&gpd, 0, sizeof(gpd));
    memset(&fake, 0, sizeof(fake));
    memset(gmem, 0, sizeof(gmem));
    memset(gcpu, 0, sizeof(gcpu));
    for (unsigned int i = 0; i < 16; i++)
        if (pv_gdt_slot_reserved(i))
            gcpu[i] = 0x1111000000000000ULL + i;
    gdom.max_vcpus = 1;
    gdom.vcpu[0] = &gvcpu;
    gvcpu.domain = &gdom;
    gvcpu.vendor = &gpv;
    for (mfn_t m = A_FIRST; m <= A_LAST; m++)
        env_frames[m].owner = &gdom;
    glue_ops = env_ops;
    glue_ops.check_segdesc_page = pv_check_segdesc_page;
    if (pv_mm_init(&gpd.mm, &gdom, DOMID_A, 1, &glue_ops, PV_MM_NX))
        return -1;
    pv_load_gdt(&gvcpu, gcpu);                 /* pv_run, before the first entry */
    gpv.running = true;
    return 0;
}

static long set_gdt(const mfn_t *frames, unsigned int nr, uint64_t entries)
{
    for (unsigned int i = 0; i < nr; i++)
        ((uint64_t *)gmem)[i] = frames[i];
    return pv_set_gdt(&gvcpu, GVA, entries);
}

static void test_set_gdt(void **state)
{
    const mfn_t f9 = 9;

    linux_gdt(env_page(9));
    assert_int_equal(set_gdt(&f9, 1, 16), 0);
    assert_int_equal(ttype(9), PGT_seg_desc_page);
    assert_int_equal(tcount(9), 1);
    assert_int_equal(gcount(9), 2);
    assert_int_equal(gpv.gdt_ents, 16);
    assert_true(gpv.gdt_frames[0] == 9);
    /* Fixed up in the guest's frame, as Xen's validation leaves it. */
    assert_true(env_page(9)[2] == (L_KERNEL_CS | DPL3));
    /* The running vCPU's CPU GDT follows at once, around the reserved slots. */
    assert_true(gcpu[5] == L_USER_DS && gcpu[6] == L_USER_CS && gcpu[15] == L_CPUNODE);
    assert_true(gcpu[2] == 0x1111000000000002ULL);
    /* Loaded again unchanged: not copied again. */
    gcpu[5] = 0x5555;
    pv_load_gdt(&gvcpu, gcpu);
    assert_true(gcpu[5] == 0x5555);
    gcpu[5] = L_USER_DS;
    /* HYPERVISOR_iret's selectors against this CPU's copy. */
    assert_true(pv_iret_selectors_ok(0x33, 0x2b));
    assert_false(pv_iret_selectors_ok(0x33, 0x1b));        /* slot 3 is the hypervisor's */
    assert_int_equal(pv_mm_bugs, 0);
}

static void test_set_gdt_refused(void **state)
{
    const mfn_t two[2] = { 9, 10 }, other = B_FIRST, f9 = 9;

    linux_gdt(env_page(9));
    linux_gdt(env_page(10));
    env_page(10)[300] = TSS_AVAIL;
    assert_int_equal(set_gdt(&f9, 1, 16), 0);
    /* One bad frame: -EINVAL, every new reference undone, the old GDT kept. */
    assert_int_equal(set_gdt(two, 2, 1024), -EINVAL);
    assert_int_equal(tcount(9), 1);
    assert_int_equal(tcount(10), 0);
    assert_int_equal(gcount(10), 1);
    assert_int_equal(gpv.gdt_ents, 16);
    assert_int_equal(set_gdt(&other, 1, 16), -EINVAL);
    assert_int_equal(set_gdt(&f9, 1, 14 * 512 + 1), -EINVAL);
    assert_int_equal(pv_set_gdt(&gvcpu, 0xdead0000, 16), -EFAULT);
    /* The list is read for exactly ceil(entries / 512) frames. */
    ((uint64_t *)gmem)[sizeof(gmem) / 8 - 1] = 9;
    assert_int_equal(pv_set_gdt(&gvcpu, GVA + sizeof(gmem) - 8, 513), -EFAULT);
    assert_int_equal(pv_set_gdt(&gvcpu, GVA + sizeof(gmem) - 8, 512), 0);
    assert_int_equal(gpv.gdt_ents, 512);
    assert_int_equal(tcount(9), 1);
    assert_int_equal(pv_mm_bugs, 0);
}

static void test_set_gdt_replace_and_drop(void **state)
{
    const mfn_t f9 = 9, f11[2] = { 11, 9 };

    linux_gdt(env_page(9));
    linux_gdt(env_page(11));
    env_page(11)[12] = L_USER_DS | 0x1234;
    env_page(9)[0] = L_USER_DS;                   /* entry 512 of the 2-frame GDT */
    assert_int_equal(set_gdt(&f9, 1, 16), 0);
    assert_true(gcpu[12] == 0);
    assert_int_equal(set_gdt(f11, 2, 513), 0);
    assert_int_equal(tcount(9), 1);               /* the old reference went, the new came */
    assert_int_equal(tcount(11), 1);
    assert_true(gcpu[12] == (L_USER_DS | 0x1234));
    assert_true(gcpu[512] == L_USER_DS);
    /* Back to no GDT: entries cleared, references dropped. */
    assert_int_equal(set_gdt(NULL, 0, 0), 0);
    assert_int_equal(tcount(9), 0);
    assert_int_equal(tcount(11), 0);
    assert_true(gcpu[5] == 0 && gcpu[12] == 0 && gcpu[512] == 0);
    assert_int_equal(set_gdt(&f9, 1, 16), 0);
    pv_drop_gdt(&gvcpu);
    assert_int_equal(tcount(9), 0);
    assert_int_equal(gcount(9), 1);
    assert_int_equal(gpv.gdt_ents, 0);
    assert_int_equal(pv_mm_bugs, 0);
}

static void test_update_descriptor(void **state)
{
    const mfn_t f9 = 9;
    uint64_t ma9 = 9ULL << PAGE_SHIFT;

    linux_gdt(env_page(9));
    assert_int_equal(set_gdt(&f9, 1, 16), 0);
    /* A TLS entry: written to the frame and to the running CPU's copy. */
    assert_int_equal(pv_update_descriptor(&gvcpu, ma9 + 12 * 8, 0xab4ff3cdef000fffULL), 0);
    assert_true(env_page(9)[12] == 0xab4ff3cdef000fffULL);
    assert_true(gcpu[12] == 0xab4ff3cdef000fffULL);
    assert_int_equal(tcount(9), 1);
    /* Fixed up as the check says. */
    assert_int_equal(pv_update_descriptor(&gvcpu, ma9 + 13 * 8, L_KERNEL_DS), 0);
    assert_true(env_page(9)[13] == (L_KERNEL_DS | DPL3) && gcpu[13] == (L_KERNEL_DS | DPL3));
    /* A reserved slot: the frame changes, the CPU's slot stays the hypervisor's. */
    assert_int_equal(pv_update_descriptor(&gvcpu, ma9 + 3 * 8, L_USER_DS), 0);
    assert_true(env_page(9)[3] == L_USER_DS && gcpu[3] == 0x1111000000000003ULL);
    /* Beyond gdt_ents: the frame only. */
    assert_int_equal(pv_update_descriptor(&gvcpu, ma9 + 100 * 8, L_USER_DS), 0);
    assert_true(env_page(9)[100] == L_USER_DS && gcpu[100] == 0);
    /* Refused: system descriptors, misaligned, others' frames, page tables. */
    assert_int_equal(pv_update_descriptor(&gvcpu, ma9 + 20 * 8, TSS_AVAIL), -EINVAL);
    assert_int_equal(pv_update_descriptor(&gvcpu, ma9 + 4, L_USER_DS), -EINVAL);
    assert_int_equal(pv_update_descriptor(&gvcpu, (uint64_t)B_FIRST << PAGE_SHIFT, L_USER_DS),
                     -EINVAL);
    assert_int_equal(pv_update_descriptor(&gvcpu, 1000ULL << PAGE_SHIFT, L_USER_DS), -EINVAL);
    {
        struct mmuext_op op = { .cmd = MMUEXT_PIN_L1_TABLE, .arg1.mfn = 12 };
        unsigned int done;

        assert_int_equal(pv_mmuext_op(&gpd.mm, 0, &op, 1, &done, DOMID_SELF), 0);
    }
    assert_int_equal(pv_update_descriptor(&gvcpu, 12ULL << PAGE_SHIFT, L_USER_DS), -EINVAL);
    /* An ordinary frame: written through a passing writable reference. */
    assert_int_equal(pv_update_descriptor(&gvcpu, (13ULL << PAGE_SHIFT) + 8, L_USER_DS), 0);
    assert_true(env_page(13)[1] == L_USER_DS);
    assert_int_equal(tcount(13), 0);
    assert_int_equal(gcount(13), 1);
    assert_int_equal(pv_mm_bugs, 0);
}

static void test_gs_user_sel_glue(void **state)
{
    const mfn_t f9 = 9;

    linux_gdt(env_page(9));
    env_page(9)[12] = 0xab4ff3cdef000fffULL;
    assert_int_equal(set_gdt(&f9, 1, 16), 0);
    gpv.gs_base_user = 7;
    assert_int_equal(pv_set_gs_user_sel(&gvcpu, 0x2b), 0);
    assert_int_equal(fake.gs_sel, 0x2b);
    assert_true(gpv.gs_base_user == 0);
    assert_int_equal(pv_set_gs_user_sel(&gvcpu, 0x60), 0);
    assert_int_equal(fake.gs_sel, 0x63);
    assert_true(gpv.gs_base_user == 0xabcdef00ULL);
    /* Slot 3 is the hypervisor's in the CPU's GDT: a load would fault. */
    assert_int_equal(pv_set_gs_user_sel(&gvcpu, 0x1b), 0);
    assert_int_equal(fake.gs_sel, 0);
    assert_true(gpv.gs_base_user == 0);
    assert_int_equal(pv_set_gs_user_sel(&gvcpu, 0x10000), 0);   /* (uint16_t): 0 */
    assert_int_equal(fake.gs_sel, 0);
    assert_int_equal(fake.gs_loads, 4);
}

static void test_failsafe(void **state)
{
    struct cpu_regs r = { .rcx = 0xc1, .r11 = 0x11, .rip = 0xffffffff81000000ULL,
                          .cs = 0xe033, .rflags = 0x202, .rsp = GVA + 0x1008, .ss = 0xe02b };
    const uint64_t *f;

    assert_false(pv_failsafe(&gvcpu, &r));
    assert_int_equal(fake.crashes, 1);
    assert_int_equal(fake.bounces, 0);
    gpv.callback[CALLBACKTYPE_failsafe] = 0xffffffff81001000ULL;
    fake.crashes = 0;
    assert_true(pv_failsafe(&gvcpu, &r));
    assert_int_equal(fake.crashes, 0);
    assert_false(fake.bounce_mask);
    /* Xen's 64-bit failsafe frame: 11 words below the 16-aligned stack. */
    assert_true(r.rsp == GVA + 0x1000 - 11 * 8);
    assert_true(r.rip == 0xffffffff81001000ULL);
    f = (const uint64_t *)(gmem + (r.rsp - GVA));
    assert_true(f[0] == 0xc1 && f[1] == 0x11);                        /* RCX, R11 */
    assert_true(f[2] == 0x2b && f[3] == 0x2b && f[4] == 0 && f[5] == 0x63);   /* DS-GS */
    assert_true(f[6] == 0xffffffff81000000ULL && f[7] == 0xe030);     /* RIP, CS */
    assert_true(f[8] == 0x202 && f[9] == GVA + 0x1008 && f[10] == 0xe02b);
    /* CALLBACKF_mask_events is honoured. */
    gpv.callback_flags[CALLBACKTYPE_failsafe] = CALLBACKF_mask_events;
    r.rsp = GVA + 0x1008;
    assert_true(pv_failsafe(&gvcpu, &r));
    assert_true(fake.bounce_mask);
    /* A stack with room for the common part only: the domain is crashed. */
    r.rsp = GVA + 7 * 8 + 16;
    assert_false(pv_failsafe(&gvcpu, &r));
    assert_int_equal(fake.crashes, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_code_and_data),
        cmocka_unit_test(test_not_present_and_type0),
        cmocka_unit_test(test_system_refused),
        cmocka_unit_test(test_call_gates),
        cmocka_unit_test(test_segdesc_page_check),
        cmocka_unit_test_setup(test_segdesc_page_validator, setup),
        cmocka_unit_test(test_gdt_copy),
        cmocka_unit_test(test_data_loadable),
        cmocka_unit_test(test_gs_user_sel),
        cmocka_unit_test(test_iret_selectors),
        cmocka_unit_test_setup(test_set_gdt, glue_setup),
        cmocka_unit_test_setup(test_set_gdt_refused, glue_setup),
        cmocka_unit_test_setup(test_set_gdt_replace_and_drop, glue_setup),
        cmocka_unit_test_setup(test_update_descriptor, glue_setup),
        cmocka_unit_test_setup(test_gs_user_sel_glue, glue_setup),
        cmocka_unit_test_setup(test_failsafe, glue_setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
