/* panic() and fatal traps: dump, stop every CPU, leave with the crash code. */
#include <proxenos/cpu.h>
#include <proxenos/io.h>
#include <proxenos/lib.h>
#include <proxenos/printk.h>
#include <proxenos/shutdown.h>

static volatile int panicking = -1;

__noreturn void cpu_halt_forever(void)
{
    uint64_t gs = rdmsr(MSR_GS_BASE);

    if (gs)
        ((struct percpu *)gs)->stopped = true;
    for (;;)
        __asm__ volatile("cli; hlt");
}

/* The weak default has no other CPUs to stop; hypervisor/platform/smp.c
 * replaces it with an NMI broadcast once APs exist. */
__attribute__((weak)) void smp_stop_other_cpus(void) { }

/* Only the first CPU to fail gets to print; others that fault meanwhile park. */
static void enter_panic(void)
{
    uint64_t gs = rdmsr(MSR_GS_BASE);
    int me = gs ? (int)((const struct percpu *)gs)->cpu_id : 0;

    local_irq_disable();
    if (!__atomic_compare_exchange_n(&panicking, &(int){ -1 }, me, false,
                                     __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST) && panicking != me)
        cpu_halt_forever();
}

__noreturn void fatal_trap(const struct cpu_regs *r)
{
    enter_panic();
    show_registers(r);
    show_stack_trace(r->rbp, r->rip);
    if (!(r->cs & 3))
        show_stack_words(r->rsp);
    printk(LOG_ERR "Proxenos halted: fatal trap in the hypervisor\n");
    machine_exit(EXIT_CRASH);
}

__noreturn void panic(const char *fmt, ...)
{
    va_list ap;
    char msg[256];
    uint64_t rbp;
    uint64_t gs = rdmsr(MSR_GS_BASE);

    enter_panic();
    printk(LOG_ERR "----[ Proxenos PANIC on CPU %u ]----\n",
           gs ? ((const struct percpu *)gs)->cpu_id : 0);
    va_start(ap, fmt);
    px_vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    printk(LOG_ERR "%s\n", msg);
    __asm__ volatile("mov %%rbp, %0" : "=r"(rbp));
    show_stack_trace(rbp, (uint64_t)__builtin_return_address(0));
    machine_exit(EXIT_CRASH);
}

/* An NMI while some CPU panics is the request to stop; otherwise report it. */
void nmi_handler(struct cpu_regs *r)
{
    if (panicking >= 0)
        cpu_halt_forever();
    printk(LOG_WARN "NMI received on CPU %u at %016lx\n", smp_processor_id(), r->rip);
}
