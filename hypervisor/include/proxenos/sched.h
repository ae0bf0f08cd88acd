/*
 * The scheduler (hypervisor/common/schedule.c): each physical CPU runs the
 * vCPUs placed on it round-robin, with a time slice, and idles when none is
 * runnable. A vCPU stays on the CPU it was placed on.
 */
#ifndef PROXENOS_SCHED_H
#define PROXENOS_SCHED_H
#include <proxenos/types.h>

struct vcpu;

#define SCHED_SLICE_MS 30

unsigned int sched_pick_cpu(unsigned int vcpu_id);
void sched_add_vcpu(struct vcpu *v);
void sched_remove_vcpu(struct vcpu *v);
/* Makes a blocked vCPU runnable again (an event or timer for it). */
void vcpu_wake(struct vcpu *v);
/* SCHEDOP_yield: the running vCPU's slice ends if another vCPU on this
   CPU could run (it takes effect at the vCPU's next exit). */
void sched_yield_slice(void);
/* True when the running vCPU should give the CPU up at the next exit. */
bool sched_should_yield(void);
/* Called by every CPU once boot is done: runs its vCPUs, idles otherwise. */
__noreturn void scheduler_run(void);

#endif
