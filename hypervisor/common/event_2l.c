/*
 * The 2-level event channel ABI (xen/include/public/xen.h, struct shared_info
 * and struct vcpu_info), after Xen 4.17's xen/common/event_2l.c: one pending
 * and one mask bit per port in shared_info, and a per-vCPU selector with one
 * bit per 64-port word. Raising a port:
 *   1. set its pending bit; if it was set already, nothing more to do;
 *   2. unless it is masked, set the selector bit of its word in the notify
 *      vCPU's vcpu_info; if that bit was clear, mark the upcall pending
 *      (vcpu_mark_events_pending: evtchn_upcall_pending, and a wake-up).
 * The guest clears pending bits, selector bits and evtchn_upcall_pending
 * concurrently, so each step is one atomic operation, in this order.
 *
 * 64-bit guests only: a 32-bit guest's shared_info has 32-bit words at other
 * offsets (Xen latches the layout per domain), which is not supported here.
 */
#include <proxenos/evtchn_private.h>
#include <proxenos/evtchn.h>

BUILD_BUG_ON(sizeof(xen_ulong_t) != sizeof(uint64_t));
BUILD_BUG_ON(EVTCHN_2L_NR_CHANNELS != EVTCHN_2L_PORTS);

static uint64_t *pending_word(struct evtchn_domain *ed, uint32_t port)
{
    return (uint64_t *)&ed->domain->shared_info->evtchn_pending[port / EVTCHN_2L_WORD_BITS];
}

static uint64_t *mask_word(struct evtchn_domain *ed, uint32_t port)
{
    return (uint64_t *)&ed->domain->shared_info->evtchn_mask[port / EVTCHN_2L_WORD_BITS];
}

/* Step 2 above, for a port that is pending and not masked. */
static void select_and_notify(struct vcpu *v, uint32_t port)
{
    /* Read once: VCPUOP_register_vcpu_info may move it meanwhile (it then
       marks every selector bit pending in the new place itself). */
    struct vcpu_info *vi = __atomic_load_n(&v->vcpu_info, __ATOMIC_ACQUIRE);

    if (!vi)                           /* vCPU >= 32 without a vcpu_info yet */
        return;
    if (!guest_test_and_set_bit64((uint64_t *)&vi->evtchn_pending_sel,
                                  port / EVTCHN_2L_WORD_BITS))
        vcpu_mark_events_pending(v);
}

static void evtchn_2l_set_pending(struct evtchn_domain *ed, struct vcpu *v, struct evtchn *chn)
{
    uint32_t port = chn->port;

    if (port >= EVTCHN_2L_PORTS)
        return;
    port = (uint32_t)evtchn_index_nospec(port, EVTCHN_2L_PORTS);
    if (guest_test_and_set_bit64(pending_word(ed, port), port % EVTCHN_2L_WORD_BITS))
        return;
    if (!guest_test_bit64(mask_word(ed, port), port % EVTCHN_2L_WORD_BITS))
        select_and_notify(v, port);
    /* Pollers wait for the pending bit, masked or not (Linux polls masked
       ports for its PV spinlocks). */
    evtchn_check_pollers(ed, port);
}

static void evtchn_2l_clear_pending(struct evtchn_domain *ed, struct evtchn *chn)
{
    uint32_t port = chn->port;

    if (port < EVTCHN_2L_PORTS)
        guest_test_and_clear_bit64(pending_word(ed, port), port % EVTCHN_2L_WORD_BITS);
}

/* Unmask, and if the port was masked and is pending, raise it now: the
   same order as set_pending, so that a racing raise is not lost. */
static void evtchn_2l_unmask(struct evtchn_domain *ed, struct evtchn *chn)
{
    uint32_t port = chn->port;
    struct vcpu *v = evtchn_vcpu_of(ed->domain, chn->notify_vcpu);

    if (port >= EVTCHN_2L_PORTS || !v)
        return;
    port = (uint32_t)evtchn_index_nospec(port, EVTCHN_2L_PORTS);
    if (guest_test_and_clear_bit64(mask_word(ed, port), port % EVTCHN_2L_WORD_BITS) &&
        guest_test_bit64(pending_word(ed, port), port % EVTCHN_2L_WORD_BITS))
        select_and_notify(v, port);
}

static bool evtchn_2l_is_pending(struct evtchn_domain *ed, const struct evtchn *chn)
{
    return chn->port < EVTCHN_2L_PORTS &&
           guest_test_bit64(pending_word(ed, chn->port), chn->port % EVTCHN_2L_WORD_BITS);
}

static bool evtchn_2l_is_busy(struct evtchn_domain *ed, const struct evtchn *chn)
{
    return false;
}

const struct evtchn_port_ops evtchn_ops_2l = {
    .name = "2-level",
    .max_ports = EVTCHN_2L_PORTS,
    .set_pending = evtchn_2l_set_pending,
    .clear_pending = evtchn_2l_clear_pending,
    .unmask = evtchn_2l_unmask,
    .is_pending = evtchn_2l_is_pending,
    .is_busy = evtchn_2l_is_busy,
    .set_priority = NULL,
};
