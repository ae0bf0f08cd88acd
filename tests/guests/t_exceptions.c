/*
 * exceptions: each exception the guest causes is delivered to the guest's
 * own IDT, once, with the right vector, error code and RIP (faults: the
 * faulting instruction; traps: the next one), CR2 for page faults. Covers
 * #DE #DB #BP #UD #NM #DF #SS #GP #PF #AC and software INT n, from CPL 0
 * and CPL 3. Needs no hypervisor: under plain QEMU it checks the CPU model
 * and the framework; under a hypervisor, that the hypervisor neither eats,
 * reorders nor re-injects these wrongly (intercepted #DB/#BP/#UD/#PF/#AC
 * paths, single-step over a VM exit).
 */
#include "guest.h"

TEST_GUEST("exceptions", NEEDS_NOTHING, "exception delivery to the guest IDT: vector, error code, RIP, CR2");

#define EXPECT(name_, vec_, err_, rip_) expect(name_, vec_, err_, rip_, __LINE__)

static void expect(const char *name, unsigned int vec, uint64_t err, uint64_t rip, int line)
{
    const volatile struct exinfo *e = &last_exception;
    check(e->count == 1 && e->vector == vec && e->error_code == err && e->rip == rip,
          "%s: %u exception(s), last %s(%#lx) at %#lx; want %s(%#lx) at %#lx (line %d)",
          name, e->count, exception_name(e->vector), e->error_code, e->rip,
          exception_name(vec), err, rip, line);
}

static void test_simple_faults(void)
{
    unsigned long rip;

    exinfo_clear();
    asm volatile ("lea 1f(%%rip), %0\n"
                  "xor %%edx, %%edx\n"
                  "1: divl %%edx\n2:\n" EXTABLE(1b, 2b)
                  : "=&r" (rip) :: "rax", "rdx", "memory");
    EXPECT("div by zero (#DE)", X86_EXC_DE, 0, rip);

    exinfo_clear();
    asm volatile ("lea 2f(%%rip), %0\n1: int3\n2:\n" EXTABLE(2b, 2b) : "=r" (rip) :: "memory");
    EXPECT("int3 (#BP, trap: RIP after)", X86_EXC_BP, 0, rip);

    exinfo_clear();
    asm volatile ("lea 2f(%%rip), %0\n1: int $3\n2:\n" EXTABLE(2b, 2b) : "=r" (rip) :: "memory");
    EXPECT("int $3 (#BP, 2-byte form)", X86_EXC_BP, 0, rip);

    exinfo_clear();
    asm volatile ("lea 1f(%%rip), %0\n1: ud2\n2:\n" EXTABLE(1b, 2b) : "=r" (rip) :: "memory");
    EXPECT("ud2 (#UD)", X86_EXC_UD, 0, rip);

    exinfo_clear();
    asm volatile ("lea 1f(%%rip), %0\n1: .byte 0xce\n2:\n" EXTABLE(1b, 2b) : "=r" (rip) :: "memory");
    EXPECT("into in 64-bit mode (#UD)", X86_EXC_UD, 0, rip);

    exinfo_clear();
    asm volatile ("lea 2f(%%rip), %0\n1: int $0x40\n2:\n" EXTABLE(2b, 2b) : "=r" (rip) :: "memory");
    EXPECT("int $0x40 (software interrupt)", 0x40, 0, rip);

    /* No ICEBP (0xf1) here: QEMU's TCG raises #UD for it, so the check
     * would measure the emulator, not the hypervisor. */

    /* x87 with CR0.TS set: #NM. */
    uint64_t cr0 = read_cr0();
    write_cr0(cr0 | X86_CR0_TS);
    exinfo_clear();
    asm volatile ("lea 1f(%%rip), %0\n1: fninit\n2:\n" EXTABLE(1b, 2b) : "=r" (rip) :: "memory");
    write_cr0(cr0);
    EXPECT("fninit with CR0.TS (#NM)", X86_EXC_NM, 0, rip);
}

static void test_single_step(void)
{
    unsigned long rip;
    uint64_t dr6;
    asm volatile ("mov %0, %%dr6" :: "r" (0xffff0ff0ULL));
    exinfo_clear();
    asm volatile ("lea 2f(%%rip), %0\n"
                  "pushfq\n"
                  "orq $0x100, (%%rsp)\n"
                  "popfq\n"
                  "1: nop\n"
                  "2: nop\n" EXTABLE(2b, 2b)
                  : "=&r" (rip) :: "memory", "cc");
    asm volatile ("mov %%dr6, %0" : "=r" (dr6));
    EXPECT("single step over a nop (#DB after it)", X86_EXC_DB, 0, rip);
    check(dr6 & (1ULL << 14), "DR6.BS set after the single step (DR6 %#lx)", dr6);
    check(!(read_rflags() & X86_EFLAGS_TF), "TF clear again after the step");

    /* Single step over an instruction that exits to the hypervisor (CPUID):
     * the #DB must still come, after it. */
    exinfo_clear();
    asm volatile ("lea 2f(%%rip), %0\n"
                  "pushfq\n"
                  "orq $0x100, (%%rsp)\n"
                  "popfq\n"
                  "1: cpuid\n"
                  "2: nop\n" EXTABLE(2b, 2b)
                  : "=&r" (rip), "+a" ((uint32_t){ 0 }) :: "rbx", "rcx", "rdx", "memory", "cc");
    EXPECT("single step over cpuid (#DB after it)", X86_EXC_DB, 0, rip);
}

static void test_gp_ss(void)
{
    unsigned long rip;
    exinfo_clear();
    asm volatile ("lea 1f(%%rip), %0\n"
                  "movabs $0x8000000000000000, %%rax\n"
                  "1: movq (%%rax), %%rax\n2:\n" EXTABLE(1b, 2b)
                  : "=&r" (rip) :: "rax", "memory");
    EXPECT("non-canonical load (#GP(0))", X86_EXC_GP, 0, rip);

    exinfo_clear();
    asm volatile ("lea 1f(%%rip), %0\n"
                  "mov $0xfff8, %%eax\n"
                  "1: mov %%eax, %%ds\n2:\n" EXTABLE(1b, 2b)
                  : "=&r" (rip) :: "rax", "memory");
    EXPECT("mov to DS of a selector beyond the GDT (#GP(sel))", X86_EXC_GP, 0xfff8, rip);
    asm volatile ("mov %0, %%ds" :: "r" (SEL_DATA));

    exinfo_clear();
    asm volatile ("lea 1f(%%rip), %0\n"
                  "push %%rbp\n"
                  "movabs $0x8000000000000000, %%rbp\n"
                  "1: movq (%%rbp), %%rax\n"
                  "2: pop %%rbp\n" EXTABLE(1b, 2b)
                  : "=&r" (rip) :: "rax", "memory");
    /* The SDM says #SS(0) for a non-canonical SS-relative address; QEMU's
     * TCG raises #GP(0) for every non-canonical access. */
    const volatile struct exinfo *e = &last_exception;
    check(e->count == 1 && (e->vector == X86_EXC_SS || (emu_tcg && e->vector == X86_EXC_GP)) &&
          e->error_code == 0 && e->rip == rip,
          "non-canonical load via RBP: %u exception(s), %s(%#lx) at %#lx; want #SS(0)%s at %#lx",
          e->count, exception_name(e->vector), e->error_code, e->rip,
          emu_tcg ? " (or TCG's #GP(0))" : "", rip);
}

static void fetch_unmapped(void *arg)
{
    ((void (*)(void))arg)();
}

static void test_page_faults(void)
{
    unsigned long rip;
    uintptr_t va = UNMAPPED_BASE + 0x1238;

    exinfo_clear();
    asm volatile ("lea 1f(%%rip), %0\n1: movq (%1), %%rax\n2:\n" EXTABLE(1b, 2b)
                  : "=&r" (rip) : "r" (va) : "rax", "memory");
    EXPECT("read of an unmapped page (#PF)", X86_EXC_PF, 0, rip);
    check_eq("  CR2 of that #PF", last_exception.cr2, va);

    exinfo_clear();
    asm volatile ("lea 1f(%%rip), %0\n1: movq %%rax, (%1)\n2:\n" EXTABLE(1b, 2b)
                  : "=&r" (rip) : "r" (va) : "rax", "memory");
    EXPECT("write to an unmapped page (#PF W)", X86_EXC_PF, PFEC_WRITE, rip);

    /* A read-only 2 MiB page (scratch slot 1 over our own RAM at 0). */
    uintptr_t ro = (uintptr_t)map_scratch(1, 0, 0) + 0x80;
    exinfo_clear();
    asm volatile ("lea 1f(%%rip), %0\n1: movq %%rax, (%1)\n2:\n" EXTABLE(1b, 2b)
                  : "=&r" (rip) : "r" (ro) : "rax", "memory");
    EXPECT("write to a read-only page (#PF P|W)", X86_EXC_PF, PFEC_PRESENT | PFEC_WRITE, rip);
    check_eq("  CR2 of that #PF", last_exception.cr2, ro);
    exinfo_clear();
    (void)*(volatile uint64_t *)ro;
    check(!last_exception.taken, "reading the read-only page works");

    /* Bits 20:13 of a 2 MiB PDE are reserved (SDM table 4-18). */
    uintptr_t rsvd = (uintptr_t)map_scratch(2, 0, PTE_W | (1ULL << 13));
    exinfo_clear();
    asm volatile ("lea 1f(%%rip), %0\n1: movq (%1), %%rax\n2:\n" EXTABLE(1b, 2b)
                  : "=&r" (rip) : "r" (rsvd) : "rax", "memory");
    /* SDM 4.7: RSVD comes with P set (0x9); QEMU's TCG reports 0x8. */
    const volatile struct exinfo *e = &last_exception;
    check(e->count == 1 && e->vector == X86_EXC_PF && e->rip == rip &&
          (e->error_code == (PFEC_PRESENT | PFEC_RSVD) ||
           (emu_tcg && e->error_code == PFEC_RSVD)),
          "read through a PDE with a reserved bit: %u exception(s), %s(%#lx) at %#lx; "
          "want #PF(0x9)%s at %#lx", e->count, exception_name(e->vector),
          e->error_code, e->rip, emu_tcg ? " (or TCG's 0x8)" : "", rip);

    bool nx = rdmsr(MSR_EFER) & EFER_NXE;
    exinfo_clear();
    int caught = catch_call(fetch_unmapped, (void *)va);
    check(caught && last_exception.vector == X86_EXC_PF && last_exception.rip == va &&
          last_exception.cr2 == va && last_exception.error_code == (nx ? PFEC_INSN : 0),
          "call into an unmapped page: #PF(%#lx) at RIP %#lx CR2 %#lx; want (%#x) at %#lx",
          last_exception.error_code, last_exception.rip, last_exception.cr2,
          nx ? PFEC_INSN : 0, va);

    if (nx) {
        /* Our RAM, writable and non-executable: the code at 1 MiB. */
        uintptr_t nxva = (uintptr_t)map_scratch(3, 0, PTE_W | PTE_NX) + ((uintptr_t)fetch_unmapped & 0x1fffff);
        exinfo_clear();
        caught = catch_call(fetch_unmapped, (void *)nxva);
        check(caught && last_exception.vector == X86_EXC_PF &&
              last_exception.error_code == (PFEC_PRESENT | PFEC_INSN) && last_exception.cr2 == nxva,
              "call into an NX page: #PF(%#lx) CR2 %#lx; want (0x11) at %#lx",
              last_exception.error_code, last_exception.cr2, nxva);
    }
}

static uint64_t user_int40(void)
{
    asm volatile ("int $0x40");
    return 0;
}

static uint64_t user_read_supervisor(void)
{
    return *(volatile uint64_t *)(SCRATCH_BASE + (4ULL << 21));
}

static uint64_t user_misaligned(void)
{
    uint64_t buf[2] = { 0, 0 };
    asm volatile ("pushfq\n"
                  "orq $0x40000, (%%rsp)\n"     /* EFLAGS.AC */
                  "popfq\n"
                  "movl 1(%0), %%eax\n"
                  :: "r" (buf) : "rax", "memory", "cc");
    return 0;
}

static void test_user_mode(void)
{
    exinfo_clear();
    uint64_t r = exec_user(user_int40);
    /* Error code: vector * 8 + 2 (IDT bit); QEMU's TCG uses vector * 16 + 2
     * in long mode. */
    check(r == EXEC_USER_FAULTED && last_exception.vector == X86_EXC_GP &&
          (last_exception.error_code == ((0x40 << 3) | 2) ||
           (emu_tcg && last_exception.error_code == ((0x40 << 4) | 2))) &&
          last_exception.from_user,
          "int $0x40 at CPL 3 through a DPL 0 gate: %s(%#lx), want #GP(0x202)%s",
          exception_name(last_exception.vector), last_exception.error_code,
          emu_tcg ? " (or TCG's 0x402)" : "");

    map_scratch(4, 0, PTE_W);      /* no PTE_U */
    exinfo_clear();
    r = exec_user(user_read_supervisor);
    check(r == EXEC_USER_FAULTED && last_exception.vector == X86_EXC_PF &&
          last_exception.error_code == (PFEC_PRESENT | PFEC_USER),
          "CPL 3 read of a supervisor page: #PF(%#lx), want (0x5)", last_exception.error_code);

    uint64_t cr0 = read_cr0();
    write_cr0(cr0 | (1ULL << 18));      /* CR0.AM */
    exinfo_clear();
    r = exec_user(user_misaligned);
    write_cr0(cr0);
    /* QEMU's TCG does not implement alignment checks at all. */
    if (r != EXEC_USER_FAULTED && emu_tcg)
        test_skip("misaligned load at CPL 3 with CR0.AM and EFLAGS.AC raised nothing: "
                  "the CPU model has no #AC (QEMU TCG)");
    else
        check(last_exception.vector == X86_EXC_AC && last_exception.error_code == 0,
              "misaligned load at CPL 3 with CR0.AM and EFLAGS.AC: %s(%#lx), want #AC(0)",
              exception_name(last_exception.vector), last_exception.error_code);
}

static void raise_gp(void *arg)
{
    (void)arg;
    asm volatile ("movabs $0x8000000000000000, %%rax\n movq (%%rax), %%rax" ::: "rax", "memory");
}

static void test_double_fault(void)
{
    /* #GP whose gate is not present raises #NP during delivery: two
     * contributory exceptions make a #DF (SDM vol. 3 table 6-5). */
    set_gate_present(X86_EXC_GP, false);
    exinfo_clear();
    int caught = catch_call(raise_gp, NULL);
    set_gate_present(X86_EXC_GP, true);
    check(caught && last_exception.count == 1 && last_exception.vector == X86_EXC_DF &&
          last_exception.error_code == 0,
          "#GP through a not-present gate: %u exception(s), %s(%#lx), want one #DF(0)",
          last_exception.count, exception_name(last_exception.vector), last_exception.error_code);
}

void test_main(void)
{
    test_simple_faults();
    test_single_step();
    test_gp_ss();
    test_page_faults();
    test_user_mode();
    test_double_fault();
}
