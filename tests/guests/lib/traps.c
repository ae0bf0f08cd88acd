/*
 * IDT, TSS and the common trap handler. Every exception is recorded in
 * last_exception; then, in order:
 *   1. USER_RETURN_VECTOR or any exception from CPL 3 ends exec_user();
 *   2. a handler installed with set_trap_handler() runs;
 *   3. an extable entry matching RIP resumes at its fixup (XTF's extable);
 *   4. an active catch_call() unwinds to its caller;
 *   5. anything else is an unexpected exception: FAIL and shut down.
 */
#include "guest.h"

struct idt_gate {
    uint16_t off_lo, sel;
    uint8_t ist, type;
    uint16_t off_mid;
    uint32_t off_hi, rsvd;
} __attribute__((packed));

struct tss64 {
    uint32_t rsvd0;
    uint64_t rsp[3];
    uint64_t rsvd1;
    uint64_t ist[7];
    uint64_t rsvd2;
    uint16_t rsvd3, iopb;
} __attribute__((packed));

struct desc_ptr {
    uint16_t limit;
    uint64_t base;
} __attribute__((packed));

struct extable_entry { uint64_t fault, fixup; };

extern const uint64_t trap_stub_table[256];
extern uint64_t gdt[];
extern char ring0_stack_top[], ist_stack_top[];
extern const struct extable_entry __start_extable[], __stop_extable[];
extern char catch_resume[], exec_user_resume[];

static struct idt_gate idt[256] __aligned(16);
static struct tss64 tss __aligned(16);
static trap_handler_t handlers[256];

volatile struct exinfo last_exception;
uint64_t catch_rsp, user_saved_rsp;
uint8_t catch_active;

static void set_gate(unsigned int vec, unsigned int dpl, unsigned int ist)
{
    uint64_t off = trap_stub_table[vec];
    idt[vec] = (struct idt_gate) {
        .off_lo = (uint16_t)off, .sel = SEL_CODE64, .ist = (uint8_t)ist,
        .type = (uint8_t)(0x8e | (dpl << 5)),       /* present 64-bit interrupt gate */
        .off_mid = (uint16_t)(off >> 16), .off_hi = (uint32_t)(off >> 32),
    };
}

void traps_init(void)
{
    /* 64-bit TSS descriptor (SDM vol. 3 7.2.3): type 9 available, 16 bytes. */
    uint64_t base = (uintptr_t)&tss, limit = sizeof(tss) - 1;
    tss.rsp[0] = (uintptr_t)ring0_stack_top;    /* not the boot stack: it is in use */
    tss.ist[0] = (uintptr_t)ist_stack_top;      /* IST1: #DF and NMI */
    tss.iopb = sizeof(tss);
    gdt[SEL_TSS / 8] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89ULL << 40) |
                       ((limit >> 16) << 48) | (((base >> 24) & 0xff) << 56);
    gdt[SEL_TSS / 8 + 1] = base >> 32;
    asm volatile ("ltr %w0" :: "r" (SEL_TSS));

    for (unsigned int v = 0; v < 256; v++)
        set_gate(v, 0, (v == X86_EXC_DF || v == X86_EXC_NMI) ? 1 : 0);
    /* Reachable from ring 3: INT3/INTO like an OS would, and the exit of exec_user. */
    set_gate(X86_EXC_BP, 3, 0);
    set_gate(X86_EXC_OF, 3, 0);
    set_gate(USER_RETURN_VECTOR, 3, 0);
    struct desc_ptr p = { sizeof(idt) - 1, (uintptr_t)idt };
    asm volatile ("lidt %0" :: "m" (p));
}

void load_empty_idt(void)
{
    struct desc_ptr p = { 0, 0 };
    asm volatile ("lidt %0" :: "m" (p));
}

void set_gate_present(unsigned int vector, bool present)
{
    if (present)
        idt[vector & 0xff].type |= 0x80;
    else
        idt[vector & 0xff].type &= (uint8_t)~0x80;
}

void set_trap_handler(unsigned int vector, trap_handler_t fn)
{
    handlers[vector & 0xff] = fn;
}

void exinfo_clear(void)
{
    last_exception.taken = false;
    last_exception.count = 0;
    last_exception.vector = 0;
    last_exception.error_code = last_exception.rip = last_exception.cr2 = 0;
}

const char *exception_name(unsigned int vector)
{
    static const char *const names[32] = {
        "#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "#09",
        "#TS", "#NP", "#SS", "#GP", "#PF", "#15", "#MF", "#AC", "#MC", "#XM",
        "#VE", "#CP", "#22", "#23", "#24", "#25", "#26", "#27", "#HV", "#VC",
        "#SX", "#31",
    };
    return vector < 32 ? names[vector] : "INT";
}

static const struct extable_entry *extable_find(uint64_t rip)
{
    for (const struct extable_entry *e = __start_extable; e < __stop_extable; e++)
        if (e->fault == rip)
            return e;
    return NULL;
}

static void resume_kernel_at(struct cpu_regs *regs, uint64_t rip, uint64_t rsp)
{
    regs->rip = rip;
    regs->rsp = rsp;
    regs->cs = SEL_CODE64;
    regs->ss = SEL_DATA;
    regs->rflags &= ~X86_EFLAGS_TF;
}

static void record(const struct cpu_regs *regs)
{
    last_exception.taken = true;
    last_exception.count++;
    last_exception.vector = (uint8_t)regs->vector;
    last_exception.error_code = regs->error_code;
    last_exception.rip = regs->rip;
    last_exception.rflags = regs->rflags;
    last_exception.cs = (uint16_t)regs->cs;
    last_exception.from_user = (regs->cs & 3) != 0;
    if (regs->vector == X86_EXC_PF)
        last_exception.cr2 = read_cr2();
}

static void unexpected(const struct cpu_regs *regs)
{
    test_fail("unexpected exception %s (vector %lu) error %#lx at RIP %#lx "
              "(CS %#lx RFLAGS %#lx RSP %#lx CR2 %#lx)",
              exception_name((unsigned int)regs->vector), regs->vector,
              regs->error_code, regs->rip, regs->cs, regs->rflags, regs->rsp,
              regs->vector == X86_EXC_PF ? read_cr2() : 0UL);
    printk("  rax %016lx rbx %016lx rcx %016lx rdx %016lx\n", regs->rax, regs->rbx, regs->rcx, regs->rdx);
    printk("  rsi %016lx rdi %016lx rbp %016lx r8  %016lx\n", regs->rsi, regs->rdi, regs->rbp, regs->r8);
    test_finish();
}

void do_trap(struct cpu_regs *regs)
{
    /* The vector pushed by the stub, not the error code, says which gate. */
    unsigned int vec = (unsigned int)regs->vector;

    if (vec == X86_EXC_DB)
        regs->rflags &= ~X86_EFLAGS_TF;     /* single-step tests: stop stepping */

    if (vec == USER_RETURN_VECTOR && (regs->cs & 3)) {
        resume_kernel_at(regs, (uintptr_t)exec_user_resume, user_saved_rsp);
        return;
    }
    record(regs);
    if (regs->cs & 3) {
        regs->rax = EXEC_USER_FAULTED;
        resume_kernel_at(regs, (uintptr_t)exec_user_resume, user_saved_rsp);
        return;
    }
    if (handlers[vec]) {
        handlers[vec](regs);
        return;
    }
    const struct extable_entry *e = extable_find(regs->rip);
    if (e) {
        regs->rip = e->fixup;
        return;
    }
    if (catch_active) {
        catch_active = 0;
        resume_kernel_at(regs, (uintptr_t)catch_resume, catch_rsp);
        return;
    }
    unexpected(regs);
}

bool rdmsr_safe(uint32_t msr, uint64_t *val)
{
    uint32_t lo = 0, hi = 0;
    unsigned int before = last_exception.count;
    asm volatile ("1: rdmsr\n2:\n" EXTABLE(1b, 2b)
                  : "+a" (lo), "+d" (hi) : "c" (msr) : "memory");
    *val = ((uint64_t)hi << 32) | lo;
    return last_exception.count == before;
}

bool wrmsr_safe(uint32_t msr, uint64_t val)
{
    unsigned int before = last_exception.count;
    asm volatile ("1: wrmsr\n2:\n" EXTABLE(1b, 2b)
                  :: "c" (msr), "a" ((uint32_t)val), "d" ((uint32_t)(val >> 32)) : "memory");
    return last_exception.count == before;
}
