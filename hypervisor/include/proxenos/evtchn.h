/*
 * Event channels (hypervisor/common/event_channel*.c): Xen's 2-level and
 * FIFO ABIs (xen/include/public/event_channel.h). Other subsystems raise
 * events through the functions below; delivery into the vCPU is
 * hvm/intr.c's job once vcpu_mark_events_pending() has run.
 */
#ifndef PROXENOS_EVTCHN_H
#define PROXENOS_EVTCHN_H
#include <proxenos/types.h>

struct vcpu;
struct domain;

/* Domain lifetime. */
int evtchn_domain_init(struct domain *d);
void evtchn_domain_destroy(struct domain *d);

/* The EVTCHNOP_* hypercall (cmd, guest pointer to its argument). */
long do_event_channel_op(struct vcpu *v, unsigned int cmd, uint64_t arg);

/* Raises a per-vCPU VIRQ (VIRQ_TIMER, VIRQ_DEBUG...) if the guest bound it. */
void send_guest_vcpu_virq(struct vcpu *v, unsigned int virq);
/* Raises a global VIRQ (VIRQ_CONSOLE...) on the vCPU it is bound to. */
void send_guest_global_virq(struct domain *d, unsigned int virq);

/* Sets evtchn_upcall_pending in the vCPU's vcpu_info and wakes the vCPU
   (kicking it out of guest mode if it runs on another CPU). */
void vcpu_mark_events_pending(struct vcpu *v);

#endif
