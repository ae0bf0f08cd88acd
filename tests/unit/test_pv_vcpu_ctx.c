/* VCPUOP_initialise for 64-bit PV (pv/pv_vcpu_ctx.c): the checks of a
   vcpu_guest_context after Xen 4.17's arch_set_info_guest, on the context
   Linux 6.1's cpu_initialize_context (arch/x86/xen/smp_pv.c) builds, and
   the RFLAGS and virtual IOPL a vCPU starts with. */
/* @sources: pv/pv_vcpu_ctx.c */
#include "cmocka_prelude.h"
#include "../../pv/pv_vcpu_ctx.h"
#include <string.h>

#define KTEXT 0xffffffff81000000ULL
#define HOLE  0xffff800000001000ULL            /* the hypervisor's L4 slots */
#define NONCANON 0x0000800000000000ULL

static struct vcpu_guest_context ctx;

/* What Linux's cpu_initialize_context fills in (the rest zero, kzalloc). */
static int linux_ctx(void **state)
{
    (void)state;
    memset(&ctx, 0, sizeof(ctx));
    ctx.user_regs.rip = KTEXT + 0x100;          /* asm_cpu_bringup_and_idle */
    ctx.flags = VGCF_in_kernel;
    ctx.user_regs.rflags = 0x1000;              /* IOPL_RING1 */
    ctx.user_regs.ds = ctx.user_regs.es = 0x2b;
    ctx.user_regs.ss = 0x18;
    ctx.user_regs.cs = 0x10;
    ctx.user_regs.rsp = 0xffffc90000087f58ULL;
    for (unsigned int i = 0; i < 32; i++) {
        ctx.trap_ctxt[i].vector = (uint8_t)i;
        ctx.trap_ctxt[i].cs = 0x10;
        ctx.trap_ctxt[i].address = KTEXT + 0x1000 + i * 16;
    }
    ctx.gdt_frames[0] = 0x12345;
    ctx.gdt_ents = 16;                          /* GDT_ENTRIES */
    ctx.kernel_ss = 0x18;
    ctx.kernel_sp = 0xffffc90000088000ULL;
    ctx.gs_base_kernel = 0xffff88800f600000ULL; /* per_cpu_offset(1) */
    ctx.event_callback_eip = KTEXT + 0x2000;
    ctx.failsafe_callback_eip = KTEXT + 0x2100;
    ctx.ctrlreg[3] = 0x2a0cULL << 12;           /* xen_pfn_to_cr3(swapper_pg_dir) */
    return 0;
}

static void refused(const char *what)
{
    const char *why = NULL;

    assert_int_equal(pv_vcpu_ctx_check(&ctx, &why), -EINVAL);
    assert_non_null(why);
    (void)what;
}

static void test_linux_context_passes(void **state)
{
    const char *why = NULL;

    (void)state;
    assert_int_equal(pv_vcpu_ctx_check(&ctx, &why), 0);
    assert_null(why);
}

static void test_addresses(void **state)
{
    uint64_t *fields[] = {
        &ctx.user_regs.rip, &ctx.user_regs.rsp, &ctx.kernel_sp, &ctx.fs_base,
        &ctx.gs_base_kernel, &ctx.gs_base_user, &ctx.event_callback_eip,
        &ctx.failsafe_callback_eip, &ctx.syscall_callback_eip, &ctx.debugreg[0],
        &ctx.debugreg[3],
    };

    (void)state;
    for (unsigned int i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        uint64_t keep = *fields[i];

        *fields[i] = NONCANON;
        refused("non-canonical");
        *fields[i] = HOLE;
        refused("the hypervisor's hole");
        *fields[i] = keep;
    }
    assert_int_equal(pv_vcpu_ctx_check(&ctx, NULL), 0);
}

static void test_trap_handlers(void **state)
{
    (void)state;
    ctx.trap_ctxt[200].address = HOLE;
    refused("trap handler in the hole");
    ctx.trap_ctxt[200].address = 0;             /* none: fine */
    assert_int_equal(pv_vcpu_ctx_check(&ctx, NULL), 0);
}

static void test_ldt_and_gdt(void **state)
{
    (void)state;
    ctx.ldt_base = 0xffffc90000010000ULL;
    ctx.ldt_ents = 8192;
    assert_int_equal(pv_vcpu_ctx_check(&ctx, NULL), 0);
    ctx.ldt_ents = 8193;
    refused("LDT too long");
    ctx.ldt_ents = 1;
    ctx.ldt_base |= 8;
    refused("LDT base not page-aligned");
    ctx.ldt_base = 0x00007ffffffff000ULL;       /* runs off the lower half */
    ctx.ldt_ents = 8192;
    refused("LDT past the canonical lower half");
    ctx.ldt_base = 123;                         /* ignored without entries */
    ctx.ldt_ents = 0;
    assert_int_equal(pv_vcpu_ctx_check(&ctx, NULL), 0);
    ctx.gdt_ents = PV_CTX_GDT_MAX_ENTS;
    assert_int_equal(pv_vcpu_ctx_check(&ctx, NULL), 0);
    ctx.gdt_ents = PV_CTX_GDT_MAX_ENTS + 1;
    refused("GDT into the reserved entries");
}

static void test_base_pointers(void **state)
{
    (void)state;
    ctx.ctrlreg[3] = 0;
    refused("no kernel L4");
    ctx.ctrlreg[3] = (0x2a0cULL << 12) | 0x18;
    refused("kernel L4 with low bits");
    ctx.ctrlreg[3] = 0x2a0cULL << 12;
    ctx.ctrlreg[1] = (0x777ULL << 12) | 1;
    refused("user L4 with low bits");
    ctx.ctrlreg[1] = 0;
    ctx.flags = 0;                              /* user mode without a user L4 */
    refused("user mode, no user L4");
    ctx.ctrlreg[1] = 0x777ULL << 12;
    assert_int_equal(pv_vcpu_ctx_check(&ctx, NULL), 0);
}

static void test_debug_registers(void **state)
{
    (void)state;
    ctx.debugreg[7] = 0x3;                      /* L0 G0 */
    assert_int_equal(pv_vcpu_ctx_check(&ctx, NULL), 0);
    ctx.debugreg[7] = 1ULL << 12;               /* reserved, must be 0 */
    refused("DR7 bit 12");
    ctx.debugreg[7] = 1ULL << 40;
    refused("DR7 upper half");
}

static void test_rflags_and_iopl(void **state)
{
    (void)state;
    assert_int_equal(pv_ctx_rflags(0x1000), 0x202);            /* IOPL field dropped, IF on */
    assert_int_equal(pv_ctx_iopl(0x1000), 1);
    assert_int_equal(pv_ctx_iopl(0x3000), 3);
    assert_int_equal(pv_ctx_rflags(0x4d5 | 0x100), 0x4d5 | 0x100 | 0x202);
    assert_int_equal(pv_ctx_rflags(0x40000 | 0x4000 | 0x20000), 0x202);  /* AC NT VM */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_linux_context_passes, linux_ctx),
        cmocka_unit_test_setup(test_addresses, linux_ctx),
        cmocka_unit_test_setup(test_trap_handlers, linux_ctx),
        cmocka_unit_test_setup(test_ldt_and_gdt, linux_ctx),
        cmocka_unit_test_setup(test_base_pointers, linux_ctx),
        cmocka_unit_test_setup(test_debug_registers, linux_ctx),
        cmocka_unit_test_setup(test_rflags_and_iopl, linux_ctx),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
