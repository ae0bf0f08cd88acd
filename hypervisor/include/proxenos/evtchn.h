/*
 * Event channels (hypervisor/common/event_{channel,2l,fifo}.c): Xen's 2-level and
 * FIFO ABIs (xen/include/public/event_channel.h). Other subsystems raise
 * events through the functions below; delivery into the vCPU is
 * hvm/intr.c's job once vcpu_mark_events_pending() has run.
 */
#ifndef PROXENOS_EVTCHN_H
#define PROXENOS_EVTCHN_H
#include <proxenos/types.h>

struct vcpu;
struct domain;
struct hcall;

/* Domain lifetime: init once the domain's vCPUs exist (0 or -ENOMEM);
   destroy before they are freed, after every source of events for the
   domain (timers, devices) has stopped. Closing a domain's ports turns the
   other end of its interdomain channels back into unbound ports. */
int evtchn_domain_init(struct domain *d);
void evtchn_domain_destroy(struct domain *d);

/* The EVTCHNOP_* hypercall (cmd, guest pointer to its argument). */
long do_event_channel_op(struct vcpu *v, unsigned int cmd, uint64_t arg);
/* The same as an entry of the hypercall table (hypercall.h). */
long do_event_channel_hcall(struct vcpu *v, struct hcall *h);

/* SCHEDOP_poll for sched_op.c: nr_ports ports (evtchn_port_t) at guest
   address ports_gla. Returns 0 at once if an upcall is deliverable or one
   of the ports is pending; otherwise blocks the vCPU (v->is_blocked) until
   one of them becomes pending, any event is delivered, or system time
   reaches `timeout` (absolute ns, 0: none), and returns 0. -EINVAL for more
   than 128 ports or an invalid port, -EFAULT for an unreadable one (in
   array order: a pending port before it wins, as in Xen). */
long evtchn_poll(struct vcpu *v, uint64_t ports_gla, uint32_t nr_ports, uint64_t timeout);

/* Raises a per-vCPU VIRQ (VIRQ_TIMER, VIRQ_DEBUG, VIRQ_XENOPROF,
   VIRQ_XENPMU) of v if the guest bound it; a global VIRQ given here is
   passed to send_guest_global_virq(). Safe from interrupt context (timer
   callbacks): the event lock is taken with interrupts off. */
void send_guest_vcpu_virq(struct vcpu *v, unsigned int virq);
/* Raises a global VIRQ (VIRQ_CONSOLE, VIRQ_DOM_EXC, ...) on the vCPU its
   port is bound to (EVTCHNOP_bind_vcpu moves it). Same context rules. */
void send_guest_global_virq(struct domain *d, unsigned int virq);

/* Sets evtchn_upcall_pending in the vCPU's vcpu_info and wakes the vCPU
   (kicking it out of guest mode if it runs on another CPU). */
void vcpu_mark_events_pending(struct vcpu *v);

#endif
