/*
 * TLB shootdown: flush_tlb_others(), the strong version of the weak default
 * in hypervisor/mm/pagetable.c, which calls it after changing or removing
 * a mapping. It has its own vector and flags rather than the call mailbox
 * (smp_call.c), because the page-table code calls it with interrupts in
 * any state, where waiting on another CPU's call could deadlock.
 */
#include <proxenos/apic.h>
#include <proxenos/cpu.h>
#include <proxenos/io.h>
#include <proxenos/pagetable.h>
#include <proxenos/platform.h>
#include <proxenos/printk.h>
#include <proxenos/smp.h>

#define FLUSH_TIMEOUT_MS 1000

static volatile bool flush_pending[MAX_CPUS];   /* set by the flusher, cleared by the target */
static volatile int flush_busy;                  /* one shootdown at a time */

static void flush_if_asked(void)
{
    unsigned int me = smp_processor_id();

    if (__atomic_load_n(&flush_pending[me], __ATOMIC_ACQUIRE)) {
        flush_tlb_local();
        __atomic_store_n(&flush_pending[me], false, __ATOMIC_RELEASE);
    }
}

static void flush_tlb_interrupt(struct cpu_regs *regs)
{
    lapic_eoi();
    flush_if_asked();
}

static bool flush_done(unsigned int me)
{
    for (unsigned int cpu = 0; cpu < MAX_CPUS; cpu++)
        if (cpu != me && __atomic_load_n(&flush_pending[cpu], __ATOMIC_ACQUIRE))
            return false;
    return true;
}

/*
 * Makes every other online CPU reload CR3 and waits for all of them. The
 * caller may have interrupts off, so while waiting for its turn it answers
 * the shootdown another CPU may be asking of it: two CPUs flushing at once
 * then cannot wait for each other forever.
 */
void flush_tlb_others(void)
{
    unsigned int me;
    s_time_t end;

    if (nr_cpus_online <= 1 || !rdmsr(MSR_GS_BASE))
        return;
    me = smp_processor_id();
    while (__atomic_exchange_n(&flush_busy, 1, __ATOMIC_ACQUIRE)) {
        flush_if_asked();
        cpu_relax();
    }
    for (unsigned int cpu = 0; cpu < MAX_CPUS; cpu++) {
        if (cpu == me || !cpu_online(cpu))
            continue;
        __atomic_store_n(&flush_pending[cpu], true, __ATOMIC_RELEASE);
        lapic_send_fixed(percpu_table[cpu]->apic_id, FLUSH_TLB_VECTOR);
    }
    end = NOW() + MILLISECS(FLUSH_TIMEOUT_MS);
    while (!flush_done(me) && NOW() < end)
        cpu_relax();
    if (!flush_done(me)) {
        printk(LOG_WARN "SMP: a CPU did not answer a TLB shootdown\n");
        for (unsigned int cpu = 0; cpu < MAX_CPUS; cpu++)
            __atomic_store_n(&flush_pending[cpu], false, __ATOMIC_RELEASE);
    }
    __atomic_store_n(&flush_busy, 0, __ATOMIC_RELEASE);
}

void tlb_flush_init(void)
{
    irq_set_handler(FLUSH_TLB_VECTOR, flush_tlb_interrupt);
}
