/*
 * Physical interrupts for the initial PV domain, as Xen 4.17 gives them to a
 * PV dom0 with legacy IOAPIC interrupts (xen/arch/x86/physdev.c, irq.c): no
 * MSI, no passthrough to other domains. pirq.h has the interface.
 *
 *  setup_gsi         records trigger (0 edge, 1 level) and polarity (0 high,
 *                    1 low) for a GSI, used when it is next bound; -EINVAL
 *                    outside the IOAPICs' GSIs, -EEXIST while the GSI is
 *                    bound or used by the hypervisor (Xen's mp_register_gsi
 *                    on an enabled IRQ).
 *  map_pirq          MAP_PIRQ_TYPE_GSI only (other types -EINVAL: no MSI):
 *                    index is the GSI (Xen: irq = index for the hardware
 *                    domain), -EINVAL outside the IOAPICs, -EPERM for a GSI
 *                    the hypervisor uses (Xen's irq_access_permitted);
 *                    pirq < 0 asks for one: the GSI's current pirq, else the
 *                    GSI's own number (Xen's default for dom0), else a free
 *                    one from 16; an explicit pirq must be < 256 (-EINVAL)
 *                    and not name another GSI (-EEXIST). The struct is
 *                    copied back in every case, as Xen.
 *  unmap_pirq        masks the pin if bound and forgets the mapping (the
 *                    event channel stays bound to a pirq that never fires,
 *                    as after Xen's pirq_guest_force_unbind); unmapped -EINVAL.
 *  irq_status_query  XENIRQSTAT_needs_eoi for every pirq < 256, as Xen sets
 *                    it for all of them when the guest has no EOI bitmap
 *                    (pirq_eoi_gmfn_v2 is not offered); never shared.
 *  eoi               unmasks a level-triggered line masked since its last
 *                    interrupt; edge lines: nothing to do. -EINVAL for a
 *                    pirq that is not mapped.
 *  alloc_irq_vector  vector = irq, nothing allocated: Xen's answer (it picks
 *                    the vector itself when the GSI is bound). Linux asks
 *                    it for every GSI it binds and gives up on -ENOSYS.
 *  map/unmap_pirq for another domain: -ESRCH if it does not exist, else
 *  -EPERM (no passthrough).
 *
 * Routing: EVTCHNOP_bind_pirq programs the GSI's pin with vector
 * PIRQ_VECTOR_BASE + GSI, fixed delivery to the boot CPU, unmasked. The
 * interrupt raises the bound port (send_guest_pirq); a level-triggered line
 * is masked before the local APIC's EOI and stays masked until the
 * domain's PHYSDEVOP_eoi (Xen's "needs EOI" flow, ioapic_ack_new off); an
 * edge-triggered one is acknowledged at once. Closing the port, unmap_pirq
 * and domain teardown mask the pin again.
 *
 * GSIs the hypervisor has routed to itself (ioapic_route(), sticky) are
 * refused, as Xen keeps its own IRQs from dom0. Today that is only the
 * PIT's, and only in the test image's timer and IOAPIC self-tests, which
 * end the machine: the hypervisor's timer is the local APIC's, the console
 * UART is polled (no IRQ) and hidden from the domain, HPET interrupts are
 * not used. So a PV dom0 gets every GSI, the PIT's included (its channel 0
 * is not the domain's to program; Linux maps it and never binds it).
 *
 * Locking: pirq_lock (interrupts off) guards the table; it nests inside a
 * domain's event lock (bind/close), never the other way: the interrupt
 * handler drops it before raising the port. `in_flight` counts handlers
 * between the two, so that teardown can wait for them.
 */
#include <proxenos/xen_abi.h>
#include <xen/physdev.h>
#include <proxenos/apic.h>
#include <proxenos/cpu.h>
#include <proxenos/domain.h>
#include <proxenos/evtchn_private.h>
#include <proxenos/guest_access.h>
#include <proxenos/io.h>
#include <proxenos/pirq.h>
#include <proxenos/printk.h>

#define PIRQ_MAX_GSIS   MIN(PIRQ_NR_VECTORS, EVTCHN_NR_PIRQS)
#define PIRQ_FIRST_FREE 16u            /* automatic pirqs other than the GSI's own */

struct pirq_gsi {
    struct domain *owner;    /* [P] the domain it is mapped to, NULL: unmapped */
    uint32_t pirq;           /* [P] its pirq while mapped */
    uint32_t setup_mode;     /* [P] IOAPIC_MODE_* from setup_gsi ... */
    bool set_up;             /* [P] ... if one was given */
    bool bound;              /* [P] routed to its vector (an event channel is bound) */
    bool level;              /* [P] routed level-triggered */
    bool eoi_pending;        /* [P] level: masked until PHYSDEVOP_eoi */
};

static struct pirq_gsi gsis[PIRQ_MAX_GSIS];       /* by GSI */
static spinlock_t pirq_lock = SPINLOCK_INIT;
static unsigned int in_flight;                   /* (a) handlers raising a port */

static unsigned int nr_gsis(void)
{
    return MIN(ioapic_nr_gsis(), (unsigned int)PIRQ_MAX_GSIS);
}

/* GSIs the hypervisor has routed to itself (ioapic_route). */
static bool gsi_reserved(unsigned int gsi)
{
    return ioapic_gsi_hypervisor_owned(gsi);
}

/* The GSI d mapped to `pirq`, or -1. Under pirq_lock. */
static int gsi_of(const struct domain *d, uint32_t pirq)
{
    for (unsigned int g = 0; g < PIRQ_MAX_GSIS; g++)
        if (gsis[g].owner == d && gsis[g].pirq == pirq)
            return (int)g;
    return -1;
}

static bool pirq_used(uint32_t pirq)
{
    for (unsigned int g = 0; g < PIRQ_MAX_GSIS; g++)
        if (gsis[g].owner && gsis[g].pirq == pirq)
            return true;
    return false;
}

/* The pirq a request for `gsi` gets (want < 0: any), or -errno. Under pirq_lock. */
static int choose_pirq(const struct pirq_gsi *e, unsigned int gsi, int want)
{
    if (want >= 0) {
        if (e->owner && e->pirq != (uint32_t)want)
            return -EEXIST;                /* Xen: "irq already mapped to pirq" */
        if (!e->owner && pirq_used((uint32_t)want))
            return -EEXIST;                /* the pirq names another GSI */
        return want;
    }
    if (e->owner)
        return (int)e->pirq;
    if (!pirq_used(gsi))
        return (int)gsi;
    for (uint32_t p = PIRQ_FIRST_FREE; p < EVTCHN_NR_PIRQS; p++)
        if (!pirq_used(p))
            return (int)p;
    return -ENOSPC;
}

static long map_gsi(struct domain *d, int index, int *pirq)
{
    struct pirq_gsi *e;
    uint64_t flags;
    int rc;

    if (index < 0 || (unsigned int)index >= nr_gsis())
        return -EINVAL;
    if (gsi_reserved((unsigned int)index))
        return -EPERM;
    if (*pirq >= (int)EVTCHN_NR_PIRQS)
        return -EINVAL;
    flags = evtchn_lock(&pirq_lock);
    e = &gsis[index];
    if (e->owner && e->owner != d) {
        rc = -EBUSY;
    } else if ((rc = choose_pirq(e, (unsigned int)index, *pirq)) >= 0) {
        e->owner = d;
        e->pirq = (uint32_t)rc;
        *pirq = rc;
        rc = 0;
    }
    evtchn_unlock(&pirq_lock, flags);
    return rc;
}

/* Masks and forgets the routing of a bound GSI. Under pirq_lock. */
static void gsi_unroute(unsigned int gsi)
{
    struct pirq_gsi *e = &gsis[gsi];

    if (e->bound)
        ioapic_mask(gsi);
    e->bound = false;
    e->eoi_pending = false;
}

/* Only the domain itself: no passthrough to others. */
static long check_domid(struct vcpu *v, domid_t domid)
{
    if (domid == DOMID_SELF || domid == v->domain->domain_id)
        return 0;
    return domain_by_id(domid) ? -EPERM : -ESRCH;
}

static long physdev_map_pirq(struct vcpu *v, uint64_t arg)
{
    struct physdev_map_pirq m;
    long rc;

    if (copy_from_guest(v, &m, arg, sizeof(m)))
        return -EFAULT;
    rc = check_domid(v, m.domid);
    if (!rc)
        rc = m.type == MAP_PIRQ_TYPE_GSI ? map_gsi(v->domain, m.index, &m.pirq) : -EINVAL;
    if (copy_to_guest(v, arg, &m, sizeof(m)))
        rc = -EFAULT;
    return rc;
}

static long physdev_unmap_pirq(struct vcpu *v, uint64_t arg)
{
    struct physdev_unmap_pirq u;
    uint64_t flags;
    long rc;
    int gsi;

    if (copy_from_guest(v, &u, arg, sizeof(u)))
        return -EFAULT;
    if ((rc = check_domid(v, u.domid)))
        return rc;
    if (u.pirq < 0 || u.pirq >= (int)EVTCHN_NR_PIRQS)
        return -EINVAL;
    flags = evtchn_lock(&pirq_lock);
    gsi = gsi_of(v->domain, (uint32_t)u.pirq);
    if (gsi < 0) {
        rc = -EINVAL;                      /* Xen: "pirq not mapped" */
    } else {
        gsi_unroute((unsigned int)gsi);
        gsis[gsi].owner = NULL;
        gsis[gsi].pirq = 0;
    }
    evtchn_unlock(&pirq_lock, flags);
    return rc;
}

static long physdev_setup_gsi(struct vcpu *v, uint64_t arg)
{
    struct physdev_setup_gsi s;
    struct pirq_gsi *e;
    uint64_t flags;
    long rc = 0;

    if (copy_from_guest(v, &s, arg, sizeof(s)))
        return -EFAULT;
    if (s.gsi < 0 || (unsigned int)s.gsi >= nr_gsis())
        return -EINVAL;
    if (gsi_reserved((unsigned int)s.gsi))
        return -EEXIST;                    /* enabled by the hypervisor itself */
    flags = evtchn_lock(&pirq_lock);
    e = &gsis[s.gsi];
    if (e->bound) {
        rc = -EEXIST;
    } else {
        e->setup_mode = (s.triggering ? IOAPIC_MODE_LEVEL : 0) |
                        (s.polarity ? IOAPIC_MODE_ACTIVE_LOW : 0);
        e->set_up = true;
    }
    evtchn_unlock(&pirq_lock, flags);
    return rc;
}

static long physdev_irq_status_query(struct vcpu *v, uint64_t arg)
{
    struct physdev_irq_status_query q;

    if (copy_from_guest(v, &q, arg, sizeof(q)))
        return -EFAULT;
    if (q.irq >= EVTCHN_NR_PIRQS)
        return -EINVAL;
    q.flags = XENIRQSTAT_needs_eoi;
    return copy_to_guest(v, arg, &q, sizeof(q)) ? -EFAULT : 0;
}

static long physdev_eoi(struct vcpu *v, uint64_t arg)
{
    struct physdev_eoi eoi;
    uint64_t flags;
    long rc = 0;
    int gsi;

    if (copy_from_guest(v, &eoi, arg, sizeof(eoi)))
        return -EFAULT;
    if (eoi.irq >= EVTCHN_NR_PIRQS)
        return -EINVAL;
    flags = evtchn_lock(&pirq_lock);
    gsi = gsi_of(v->domain, eoi.irq);
    if (gsi < 0) {
        rc = -EINVAL;
    } else if (gsis[gsi].eoi_pending) {
        gsis[gsi].eoi_pending = false;
        if (gsis[gsi].bound)
            ioapic_set_masked((unsigned int)gsi, false);
    }
    evtchn_unlock(&pirq_lock, flags);
    return rc;
}

/* Xen answers it without allocating anything (the vector is the
   hypervisor's business): vector = irq. Linux asks it before binding a GSI. */
static long physdev_alloc_irq_vector(struct vcpu *v, uint64_t arg)
{
    struct physdev_irq irq;

    if (copy_from_guest(v, &irq, arg, sizeof(irq)))
        return -EFAULT;
    irq.vector = irq.irq;
    return copy_to_guest(v, arg, &irq, sizeof(irq)) ? -EFAULT : 0;
}

long pirq_physdev_op(struct vcpu *v, unsigned int cmd, uint64_t arg)
{
    if (!v->domain->is_initial)
        return -ENOSYS;
    switch (cmd) {
    case PHYSDEVOP_setup_gsi:        return physdev_setup_gsi(v, arg);
    case PHYSDEVOP_map_pirq:         return physdev_map_pirq(v, arg);
    case PHYSDEVOP_unmap_pirq:       return physdev_unmap_pirq(v, arg);
    case PHYSDEVOP_irq_status_query: return physdev_irq_status_query(v, arg);
    case PHYSDEVOP_eoi:              return physdev_eoi(v, arg);
    case PHYSDEVOP_alloc_irq_vector: return physdev_alloc_irq_vector(v, arg);
    default:                         return -ENOSYS;
    }
}

/* ---- delivery ------------------------------------------------------------------------ */

static void pirq_interrupt(struct cpu_regs *r)
{
    unsigned int gsi = (unsigned int)r->vector - PIRQ_VECTOR_BASE;
    struct domain *d = NULL;
    uint32_t pirq = 0;
    uint64_t flags;

    flags = evtchn_lock(&pirq_lock);
    if (gsi < PIRQ_MAX_GSIS && gsis[gsi].bound) {
        d = gsis[gsi].owner;
        pirq = gsis[gsi].pirq;
        __atomic_add_fetch(&in_flight, 1, __ATOMIC_ACQ_REL);
        if (gsis[gsi].level) {
            /* Masked before the EOI, or the still-asserted line fires again
               at once (82093AA 3.2.4: remote IRR clears on the EOI). */
            ioapic_set_masked(gsi, true);
            gsis[gsi].eoi_pending = true;
        }
    }
    evtchn_unlock(&pirq_lock, flags);
    lapic_eoi();
    if (d) {
        send_guest_pirq(d, pirq);
        __atomic_sub_fetch(&in_flight, 1, __ATOMIC_ACQ_REL);
    }
}

int pirq_guest_bind(struct domain *d, uint32_t pirq)
{
    uint64_t flags;
    uint32_t mode;
    int gsi, rc = 0;

    if (!d->is_initial)
        return -EPERM;                     /* Xen: pirq_access_permitted */
    flags = evtchn_lock(&pirq_lock);
    gsi = gsi_of(d, pirq);
    if (gsi < 0) {
        rc = -EINVAL;                      /* Xen's pirq_guest_bind: no IRQ behind it */
    } else if (!gsis[gsi].bound) {
        struct pirq_gsi *e = &gsis[gsi];

        mode = e->set_up ? e->setup_mode : ioapic_gsi_mode((unsigned int)gsi);
        irq_set_handler(PIRQ_VECTOR_BASE + (unsigned int)gsi, pirq_interrupt);
        rc = ioapic_route_mode((unsigned int)gsi, (uint8_t)(PIRQ_VECTOR_BASE + gsi),
                               percpu_table[0]->apic_id, mode);
        if (!rc) {
            e->bound = true;
            e->level = mode & IOAPIC_MODE_LEVEL;
            e->eoi_pending = false;
            printk("d%u: GSI %d is pirq %u, %s-triggered active %s\n", d->domain_id, gsi,
                   pirq, e->level ? "level" : "edge",
                   mode & IOAPIC_MODE_ACTIVE_LOW ? "low" : "high");
        }
    }
    evtchn_unlock(&pirq_lock, flags);
    return rc;
}

void pirq_guest_unbind(struct domain *d, uint32_t pirq)
{
    uint64_t flags = evtchn_lock(&pirq_lock);
    int gsi = gsi_of(d, pirq);

    if (gsi >= 0)
        gsi_unroute((unsigned int)gsi);
    evtchn_unlock(&pirq_lock, flags);
}

void pirq_domain_release(struct domain *d)
{
    uint64_t flags = evtchn_lock(&pirq_lock);

    for (unsigned int g = 0; g < PIRQ_MAX_GSIS; g++) {
        if (gsis[g].owner != d)
            continue;
        gsi_unroute(g);
        gsis[g] = (struct pirq_gsi){ 0 };
    }
    evtchn_unlock(&pirq_lock, flags);
    /* A handler that read d before the pins went quiet may still raise
       one of its ports: the event state must outlive it. */
    while (__atomic_load_n(&in_flight, __ATOMIC_ACQUIRE))
        cpu_relax();
}
