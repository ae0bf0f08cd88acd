/*
 * Cross-CPU calls and stopping the other CPUs.
 *
 * A call is a mailbox per target CPU plus CALL_FUNCTION_VECTOR; one caller
 * at a time owns every mailbox (call_lock), which keeps the protocol to a
 * store, an IPI and a wait.
 *
 * smp_stop_other_cpus() (the strong version of panic.c's weak default)
 * first sends STOP_CPU_VECTOR, which parks a CPU that has interrupts on
 * whether or not a panic is in progress, then an NMI to any CPU still
 * running: an NMI reaches a CPU spinning with interrupts off, and panic.c's
 * NMI handler parks it while a panic is in progress.
 */
#include <proxenos/apic.h>
#include <proxenos/cpu.h>
#include <proxenos/io.h>
#include <proxenos/platform.h>
#include <proxenos/printk.h>
#include <proxenos/smp.h>
#include <proxenos/spinlock.h>

#define CALL_TIMEOUT_MS  1000
#define STOP_IPI_WAIT_MS 10
#define STOP_NMI_WAIT_MS 100

struct call_mailbox {
    void (*fn)(void *);                /* written by the caller under call_lock */
    void *data;
    volatile bool pending;             /* set by the caller, cleared by the target */
};

static struct call_mailbox mailbox[MAX_CPUS];
static spinlock_t call_lock = SPINLOCK_INIT;

static void call_function_interrupt(struct cpu_regs *regs)
{
    struct call_mailbox *mb = &mailbox[smp_processor_id()];

    lapic_eoi();
    if (!__atomic_load_n(&mb->pending, __ATOMIC_ACQUIRE))
        return;
    mb->fn(mb->data);
    __atomic_store_n(&mb->pending, false, __ATOMIC_RELEASE);
}

static void stop_interrupt(struct cpu_regs *regs)
{
    cpu_halt_forever();
}

void smp_call_init(void)
{
    irq_set_handler(CALL_FUNCTION_VECTOR, call_function_interrupt);
    irq_set_handler(STOP_CPU_VECTOR, stop_interrupt);
    tlb_flush_init();
}

static void post(unsigned int cpu, void (*fn)(void *), void *data)
{
    mailbox[cpu].fn = fn;
    mailbox[cpu].data = data;
    __atomic_store_n(&mailbox[cpu].pending, true, __ATOMIC_RELEASE);
    lapic_send_fixed(percpu_table[cpu]->apic_id, CALL_FUNCTION_VECTOR);
}

/*
 * Waits for every posted mailbox. A CPU that never answers has its mailbox
 * withdrawn and -ETIMEDOUT returned; if it wakes up later it finds nothing
 * to run (or, racing with the withdrawal, runs the stale call once).
 */
static int wait_all(void)
{
    s_time_t end = NOW() + MILLISECS(CALL_TIMEOUT_MS);
    bool busy = true;

    while (busy) {
        busy = false;
        for (unsigned int cpu = 0; cpu < MAX_CPUS; cpu++)
            busy |= __atomic_load_n(&mailbox[cpu].pending, __ATOMIC_ACQUIRE);
        if (busy && NOW() > end) {
            for (unsigned int cpu = 0; cpu < MAX_CPUS; cpu++)
                __atomic_store_n(&mailbox[cpu].pending, false, __ATOMIC_RELEASE);
            return -ETIMEDOUT;
        }
        cpu_relax();
    }
    return 0;
}

static void run_here(void (*fn)(void *), void *data)
{
    uint64_t flags = local_irq_save();

    fn(data);
    local_irq_restore(flags);
}

int smp_call_function_single(unsigned int cpu, void (*fn)(void *), void *data)
{
    int rc;

    BUG_ON(!(read_rflags() & 0x200));  /* see smp.h: deadlock otherwise */
    if (!cpu_online(cpu))
        return -EINVAL;
    if (cpu == smp_processor_id()) {
        run_here(fn, data);
        return 0;
    }
    spin_lock(&call_lock);
    post(cpu, fn, data);
    rc = wait_all();
    spin_unlock(&call_lock);
    return rc;
}

int on_each_cpu(void (*fn)(void *), void *data)
{
    unsigned int me = smp_processor_id();
    int rc;

    BUG_ON(!(read_rflags() & 0x200));
    spin_lock(&call_lock);
    for (unsigned int cpu = 0; cpu < MAX_CPUS; cpu++)
        if (cpu != me && cpu_online(cpu))
            post(cpu, fn, data);
    run_here(fn, data);
    rc = wait_all();
    spin_unlock(&call_lock);
    return rc;
}

/* Bounded wait that works before and after TSC calibration. */
static bool others_stopped(unsigned int me, unsigned int ms)
{
    uint64_t spins = (uint64_t)ms * 100000;
    s_time_t end = NOW() + MILLISECS(ms);

    for (;;) {
        bool all = true;
        for (unsigned int cpu = 0; cpu < MAX_CPUS; cpu++)
            if (cpu != me && cpu_online(cpu) && !percpu_table[cpu]->stopped)
                all = false;
        if (all)
            return true;
        if (tsc_khz ? NOW() > end : !spins--)
            return false;
        cpu_relax();
    }
}

void smp_stop_other_cpus(void)
{
    uint64_t gs = rdmsr(MSR_GS_BASE);
    unsigned int me = gs ? ((const struct percpu *)gs)->cpu_id : 0;

    if (nr_cpus_online <= 1)
        return;
    for (unsigned int cpu = 0; cpu < MAX_CPUS; cpu++)
        if (cpu != me && cpu_online(cpu))
            lapic_send_fixed(percpu_table[cpu]->apic_id, STOP_CPU_VECTOR);
    if (others_stopped(me, STOP_IPI_WAIT_MS))
        return;
    for (unsigned int cpu = 0; cpu < MAX_CPUS; cpu++)
        if (cpu != me && cpu_online(cpu) && !percpu_table[cpu]->stopped)
            lapic_send_nmi(percpu_table[cpu]->apic_id);
    if (!others_stopped(me, STOP_NMI_WAIT_MS))
        printk(LOG_WARN "SMP: some CPUs did not stop\n");
}
