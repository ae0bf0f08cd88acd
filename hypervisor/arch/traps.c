/*
 * The IDT, exception handling and the register dump. An exception in the
 * hypervisor is always fatal: it prints the full register state, the faulting
 * RIP with its function, a stack trace, and stops every CPU (panic.c).
 */
#include <proxenos/cpu.h>
#include <proxenos/io.h>
#include <proxenos/lib.h>
#include <proxenos/printk.h>
#include <proxenos/pv.h>

struct idt_gate {
    uint16_t off_lo, sel;
    uint8_t ist, type;
    uint16_t off_mid;
    uint32_t off_hi, rsvd;
} __packed;

static struct idt_gate idt[256] __aligned(16);
struct { uint16_t limit; uint64_t base; } __packed idt_descr = { sizeof(idt) - 1, 0 };
extern const uint64_t trap_stub_table[256];
static irq_handler_t irq_handlers[256];

static const char *const exception_names[32] = {
    "#DE divide error", "#DB debug", "NMI", "#BP breakpoint", "#OF overflow",
    "#BR bound range", "#UD invalid opcode", "#NM device not available",
    "#DF double fault", "coprocessor overrun", "#TS invalid TSS",
    "#NP segment not present", "#SS stack fault", "#GP general protection",
    "#PF page fault", "reserved 15", "#MF x87 error", "#AC alignment check",
    "#MC machine check", "#XM SIMD error", "#VE virtualization", "#CP control protection",
    [28] = "#HV hypervisor injection", [29] = "#VC VMM communication", [30] = "#SX security",
};

static void idt_set(unsigned int vec, uint64_t handler, unsigned int ist)
{
    /* INT3 and INTO may be executed in ring 3 (a PV guest's kernel and user
       space: Linux patches its text with int3), as Xen's set_swint_gate;
       every other INT n from ring 3 raises #GP(n << 3 | 2) instead. */
    bool swint = vec == 3 || vec == 4;

    idt[vec] = (struct idt_gate){
        .off_lo = handler & 0xffff, .sel = GDT_CS64, .ist = ist,
        .type = swint ? 0xee : 0x8e,   /* present, DPL 3 or 0, 64-bit interrupt gate */
        .off_mid = (handler >> 16) & 0xffff, .off_hi = handler >> 32,
    };
}

void traps_init(void)
{
    for (unsigned int v = 0; v < 256; v++)
        idt_set(v, trap_stub_table[v], 0);
    /* Traps that can arrive with a broken stack get a known-good one. */
    idt_set(2, trap_stub_table[2], IST_NMI);
    idt_set(8, trap_stub_table[8], IST_DF);
    idt_set(18, trap_stub_table[18], IST_MC);
    idt_descr.base = (uint64_t)idt;
}

void irq_set_handler(unsigned int vector, irq_handler_t fn)
{
    BUG_ON(vector < 32 || vector > 255);
    irq_handlers[vector] = fn;
}

extern const uint64_t ksyms_count;
extern const uint64_t ksyms_addrs[][2];
extern const char ksyms_names[];

const char *symbol_lookup(uint64_t addr, uint64_t *offset)
{
    uint64_t lo = 0, hi = ksyms_count;

    if (!hi || addr < ksyms_addrs[0][0] || addr >= (uint64_t)__text_end)
        return NULL;
    while (hi - lo > 1) {              /* last entry with address <= addr */
        uint64_t mid = (lo + hi) / 2;
        if (ksyms_addrs[mid][0] <= addr)
            lo = mid;
        else
            hi = mid;
    }
    *offset = addr - ksyms_addrs[lo][0];
    return ksyms_names + ksyms_addrs[lo][1];
}

static void print_symbol(const char *prefix, uint64_t addr)
{
    uint64_t off;
    const char *name = symbol_lookup(addr, &off);

    if (name)
        printk(LOG_ERR "%s%016lx <%s+0x%lx>\n", prefix, addr, name, off);
    else
        printk(LOG_ERR "%s%016lx\n", prefix, addr);
}

void show_registers(const struct cpu_regs *r)
{
    print_symbol("RIP:    ", r->rip);
    printk(LOG_ERR "CS: %04lx  SS: %04lx  RFLAGS: %016lx  error code: %lx\n",
           r->cs, r->ss, r->rflags, r->error_code);
    printk(LOG_ERR "rax: %016lx  rbx: %016lx  rcx: %016lx\n", r->rax, r->rbx, r->rcx);
    printk(LOG_ERR "rdx: %016lx  rsi: %016lx  rdi: %016lx\n", r->rdx, r->rsi, r->rdi);
    printk(LOG_ERR "rbp: %016lx  rsp: %016lx  r8:  %016lx\n", r->rbp, r->rsp, r->r8);
    printk(LOG_ERR "r9:  %016lx  r10: %016lx  r11: %016lx\n", r->r9, r->r10, r->r11);
    printk(LOG_ERR "r12: %016lx  r13: %016lx  r14: %016lx\n", r->r12, r->r13, r->r14);
    printk(LOG_ERR "r15: %016lx\n", r->r15);
    printk(LOG_ERR "cr0: %016lx  cr2: %016lx  cr3: %016lx  cr4: %016lx\n",
           read_cr0(), read_cr2(), read_cr3(), read_cr4());
}

/* Frames must stay inside one stack of this CPU; anything else ends the walk. */
static bool frame_ok(uint64_t rbp, uint64_t lo, uint64_t hi)
{
    return rbp >= lo && rbp + 16 <= hi && !(rbp & 7);
}

/* The stack of this CPU that holds addr: its main stack or an IST stack.
   Anything else (a guest's RBP left in the register by a fault inside the
   world switch, say) is not walked. */
static bool own_stack(uint64_t addr, uint64_t *lo, uint64_t *hi)
{
    uint64_t gs = rdmsr(MSR_GS_BASE);
    const struct percpu *pc = (const struct percpu *)gs;

    if (!gs)
        return false;
    if (addr >= pc->stack_bottom && addr < pc->stack_top) {
        *lo = pc->stack_bottom;
        *hi = pc->stack_top;
        return true;
    }
    for (int i = 0; i < NR_IST; i++) {
        if (addr >= pc->ist_top[i] - PAGE_SIZE && addr < pc->ist_top[i]) {
            *lo = pc->ist_top[i] - PAGE_SIZE;
            *hi = pc->ist_top[i];
            return true;
        }
    }
    return false;
}

void show_stack_trace(uint64_t rbp, uint64_t rip)
{
    uint64_t lo = 0, hi = 0;

    printk(LOG_ERR "Stack trace:\n");
    print_symbol("   [<>] ", rip);
    if (!own_stack(rbp, &lo, &hi)) {
        printk(LOG_ERR "   (rbp %016lx is not on this CPU's stacks: no frame chain)\n", rbp);
        return;
    }
    for (int depth = 0; depth < 32 && frame_ok(rbp, lo, hi); depth++) {
        const uint64_t *frame = (const uint64_t *)rbp;
        if (!frame[1])
            break;
        print_symbol("   [<>] ", frame[1]);
        if (frame[0] <= rbp)           /* frames only grow upwards */
            break;
        rbp = frame[0];
    }
}

/*
 * The frame chain misses a function that faulted before pushing its frame
 * (and anything built without frame pointers), so also list the words near
 * the stack pointer that point into .text, as likely return addresses.
 */
void show_stack_words(uint64_t rsp)
{
    uint64_t lo, top;
    int shown = 0;

    if ((rsp & 7) || !own_stack(rsp, &lo, &top))
        return;
    top = MIN(top, ALIGN_UP(rsp + 1, PAGE_SIZE));
    printk(LOG_ERR "Text addresses on the stack from %016lx:\n", rsp);
    for (const uint64_t *p = (const uint64_t *)rsp; (uint64_t)p < top && shown < 12; p++) {
        if (*p >= (uint64_t)__text_start && *p < (uint64_t)__text_end) {
            print_symbol("   ", *p);
            shown++;
        }
    }
}

void __noreturn fatal_trap(const struct cpu_regs *r);

static void exception(struct cpu_regs *r)
{
    const char *name = exception_names[r->vector] ? exception_names[r->vector] : "reserved";
    uint64_t gs = rdmsr(MSR_GS_BASE);

    printk(LOG_ERR "----[ Proxenos FATAL TRAP: vector %lu (%s) on CPU %u ]----\n",
           r->vector, name, gs ? ((const struct percpu *)gs)->cpu_id : 0);
    if (r->vector == 14)
        printk(LOG_ERR "page fault at %016lx: %s, %s, %s%s\n", read_cr2(),
               (r->error_code & 1) ? "protection violation" : "not present",
               (r->error_code & 2) ? "write" : "read",
               (r->error_code & 4) ? "user" : "supervisor",
               (r->error_code & 16) ? ", instruction fetch" : "");
    fatal_trap(r);
}

/*
 * #DB in the hypervisor: nothing here single-steps or sets breakpoints, so
 * it is a stray trap, e.g. a guest's pending single-step that an emulator
 * delivers after #VMEXIT. Harmless: clear TF and DR6 and carry on (as Xen
 * ignores debug traps it did not ask for), and say so once.
 */
static void stray_debug_trap(struct cpu_regs *r)
{
    static bool reported;

    r->rflags &= ~(uint64_t)(1u << 8);
    __asm__ volatile("mov %0, %%dr6" :: "r"(0xffff0ff0ull));
    if (!reported) {
        reported = true;
        printk(LOG_WARN "ignoring a stray #DB in the hypervisor at %016lx\n", r->rip);
    }
}

void trap_dispatch(struct cpu_regs *r)
{
    if (r->vector == 1 && !(r->cs & 3)) {
        stray_debug_trap(r);
        return;
    }
    if (r->vector < 32 && r->vector != 2) {
        if ((r->cs & 3) && pv_trap_bounce(r))   /* a PV guest's own exception */
            return;
        exception(r);
        return;
    }
    if (r->vector == 2) {              /* NMI: the panic IPI, or a real one */
        extern void nmi_handler(struct cpu_regs *r);
        nmi_handler(r);
        return;
    }
    if (irq_handlers[r->vector]) {
        irq_handlers[r->vector](r);
        if (r->cs & 3)
            pv_irq_return(r);          /* back to a PV guest: unless it must stop */
        return;
    }
    printk(LOG_WARN "unexpected interrupt vector %lu on CPU %u\n", r->vector,
           smp_processor_id());
}
