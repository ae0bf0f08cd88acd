/* Interrupt delivery into HVM/PVH vCPUs (hypervisor/hvm/intr.c). */
#ifndef PROXENOS_HVM_INTR_H
#define PROXENOS_HVM_INTR_H
#include <proxenos/types.h>

struct vcpu;

/* An upcall is pending and not masked in the vCPU's vcpu_info. */
bool hvm_events_pending(const struct vcpu *v);
/* Something would be delivered: a blocked vCPU should wake up. */
bool hvm_vcpu_has_work(const struct vcpu *v);
/* Called before every VM entry: queues what can be delivered now. */
void hvm_intr_assist(struct vcpu *v);

#endif
