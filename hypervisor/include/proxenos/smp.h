/*
 * Secondary CPUs (hypervisor/platform/smp.c, trampoline.asm) and running
 * functions on other CPUs (smp_call.c).
 */
#ifndef PROXENOS_SMP_H
#define PROXENOS_SMP_H
#include <proxenos/types.h>

struct percpu;

/* CPUs smp_init() tried to run: CPU 0 plus every enabled MADT processor
 * within the smp=/maxcpus= limit. Equal to nr_cpus_online when all came up. */
extern unsigned int smp_cpus_wanted;

/*
 * Runs fn(data) on `cpu` from its CALL_FUNCTION_VECTOR interrupt (with
 * interrupts off there) and waits until it returned. Must be called with
 * interrupts enabled, since two CPUs calling each other would otherwise
 * deadlock. Returns 0, -EINVAL for a CPU that is not online, or -ETIMEDOUT
 * after a second without an answer.
 */
int smp_call_function_single(unsigned int cpu, void (*fn)(void *), void *data);
/* The same on every online CPU, this one included; waits for all. */
int on_each_cpu(void (*fn)(void *), void *data);

/* Is `cpu` (a dense CPU number) up and running? */
bool cpu_online(unsigned int cpu);

/* Install the IPI handlers (smp_init): calls and stop (smp_call.c), TLB
 * shootdown (tlbflush.c). */
void smp_call_init(void);
void tlb_flush_init(void);

/* AP entry from the trampoline, on the AP's own stack (smp.c). */
__noreturn void ap_start(struct percpu *pc);

#endif
