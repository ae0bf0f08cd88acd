/*
 * Physical interrupts of the initial PV domain (common/pirq.c): Xen 4.17's
 * legacy IOAPIC path for a PV dom0 (xen/arch/x86/physdev.c, irq.c).
 * PHYSDEVOP_map_pirq gives a GSI a pirq, EVTCHNOP_bind_pirq routes its
 * IOAPIC pin to PIRQ_VECTOR_BASE + GSI on the boot CPU, and each interrupt
 * raises the bound event channel.
 */
#ifndef PROXENOS_PIRQ_H
#define PROXENOS_PIRQ_H
#include <proxenos/types.h>

struct domain;
struct vcpu;

/* PHYSDEVOP_setup_gsi, map_pirq, unmap_pirq, irq_status_query and eoi for a
 * PV domain; -ENOSYS for other commands and for domains without pirqs
 * (everything but the initial domain), so the caller answers them. */
long pirq_physdev_op(struct vcpu *v, unsigned int cmd, uint64_t arg);

/* EVTCHNOP_bind_pirq / close of a PV domain, under its event lock:
 * bind routes and unmasks the GSI mapped to `pirq` (-EPERM without pirqs,
 * -EINVAL if unmapped); unbind masks it again (no-op if not bound). */
int pirq_guest_bind(struct domain *d, uint32_t pirq);
void pirq_guest_unbind(struct domain *d, uint32_t pirq);

/* Domain teardown, before its event channels go: masks and forgets every
 * GSI the domain has, and waits for interrupts still being delivered. */
void pirq_domain_release(struct domain *d);

/* event_channel.c: raises the port bound to `pirq` of d, if any. */
void send_guest_pirq(struct domain *d, uint32_t pirq);

#endif
