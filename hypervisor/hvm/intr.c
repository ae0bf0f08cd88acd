/*
 * Interrupt delivery into HVM/PVH vCPUs before each VM entry. Two sources:
 *  - the event-channel upcall, delivered as Xen does for
 *    HVM_PARAM_CALLBACK_IRQ of type "vector" (xen/include/public/hvm/params.h):
 *    while vcpu_info->evtchn_upcall_pending is set and not masked, the
 *    vector is injected as an external interrupt whenever the guest can
 *    take one. It does not go through the local APIC, so the guest does not
 *    EOI it. A per-vCPU vector (HVMOP_set_evtchn_upcall_vector) takes
 *    precedence. It goes first, as Xen checks it before the local APIC;
 *  - the vLAPIC (vlapic.c): the highest IRR vector above the processor
 *    priority, moved to ISR once injected.
 */
#include <proxenos/domain.h>
#include <proxenos/hvm.h>
#include <proxenos/hvm_intr.h>
#include <proxenos/vlapic.h>
#include <xen/hvm/params.h>

#define CALLBACK_TYPE_SHIFT 56

bool hvm_events_pending(const struct vcpu *v)
{
    const volatile struct vcpu_info *vi = v->vcpu_info;

    return vi && vi->evtchn_upcall_pending && !vi->evtchn_upcall_mask;
}

/* The vector to deliver upcalls with, or 0 when the guest asked for none. */
static uint8_t upcall_vector(const struct vcpu *v)
{
    uint64_t cb = v->domain->hvm_params[HVM_PARAM_CALLBACK_IRQ];

    if (v->hvm.upcall_vector)
        return v->hvm.upcall_vector;
    if ((cb >> CALLBACK_TYPE_SHIFT) != HVM_PARAM_CALLBACK_TYPE_VECTOR)
        return 0;
    /* Vectors below 16 are exceptions: never deliver those as interrupts. */
    return (cb & 0xff) >= 0x10 ? cb & 0xff : 0;
}

bool hvm_vcpu_has_work(const struct vcpu *v)
{
    return (upcall_vector(v) && hvm_events_pending(v)) || vlapic_pending_vector(v) >= 0;
}

/* The vLAPIC's vector, acknowledged only once the backend took it. */
static void vlapic_assist(struct vcpu *v)
{
    int vec = vlapic_pending_vector(v);
    struct hvm_event ev = { .vector = (uint8_t)vec, .type = HVM_EV_EXT_INTR };

    if (vec < 0)
        return;
    if (hvm_ops->interrupt_window(v) && hvm_ops->inject_event(v, &ev))
        vlapic_ack_vector(v, (uint8_t)vec);
}

void hvm_intr_assist(struct vcpu *v)
{
    uint8_t vec = upcall_vector(v);
    struct hvm_event ev = { .vector = vec, .type = HVM_EV_EXT_INTR };

    if (!vec || !hvm_events_pending(v)) {
        vlapic_assist(v);
        return;
    }
    /* Closed window: the backend exits as soon as it opens, and we retry. */
    if (hvm_ops->interrupt_window(v))
        hvm_ops->inject_event(v, &ev);
}
