/* Marking a vCPU's upcall pending: the meeting point of event sources
   (event channels) and delivery (hvm/intr.c, or the PV path later). */
#include <proxenos/domain.h>
#include <proxenos/evtchn.h>
#include <proxenos/sched.h>

void vcpu_mark_events_pending(struct vcpu *v)
{
    volatile struct vcpu_info *vi = v->vcpu_info;

    if (!vi)
        return;
    /* Xen sets the byte with an atomic exchange: the guest clears it
       concurrently from its upcall handler. */
    if (__atomic_exchange_n(&vi->evtchn_upcall_pending, 1, __ATOMIC_SEQ_CST))
        return;                        /* already pending: already kicked */
    vcpu_wake(v);
    /* All vCPUs run on CPU 0 today (sched_pick_cpu), where the next entry
       delivers it; a vCPU on another CPU will need an IPI here. */
}
