/*
 * Event channels: the port table of each domain and __HYPERVISOR_event_channel_op
 * (xen/include/public/event_channel.h), as Xen 4.17's xen/common/event_channel.c
 * answers an HVM/PVH guest. How a pending event reaches the guest is the
 * ABI's business: event_2l.c (shared_info bitmaps) until the guest switches
 * to event_fifo.c with EVTCHNOP_init_control. Locking: evtchn_private.h.
 *
 *  alloc_unbound     a port that `remote_dom` may bind (DOMID_SELF: the caller).
 *  bind_interdomain  binds to an unbound port of remote_dom offered to us; the
 *                    new local port is raised once (notifications sent while
 *                    the remote end was unbound are dropped, as in Xen).
 *  bind_virq         per-vCPU VIRQs (TIMER, DEBUG, XENOPROF, XENPMU) on any
 *                    vCPU, global ones on vCPU 0 only (-EINVAL), once per
 *                    vCPU and VIRQ (-EEXIST); vCPU ids outside the domain
 *                    -ENOENT, VIRQs >= 24 -EINVAL.
 *  bind_ipi          a port the domain sends to itself, raised on `vcpu`.
 *  bind_pirq         -EINVAL beyond 256 PIRQs, -EEXIST twice. HVM/PVH: as Xen,
 *                    binds, but no physical IRQ is routed to it (no
 *                    passthrough), so it never fires. PV: the pirq must be
 *                    mapped (PHYSDEVOP_map_pirq, initial domain only: pirq.c),
 *                    whose GSI is then routed and raises the port
 *                    (send_guest_pirq); closing the port masks it again.
 *  close             unbinds; the other end of an interdomain channel goes
 *                    back to unbound. Port 0 and free ports -EINVAL.
 *  send              interdomain: raises the remote port; IPI: raises the port
 *                    itself; unbound: dropped (0); VIRQ/PIRQ/free -EINVAL.
 *  status            EVTCHNSTAT_* of a port of the caller (or, for the initial
 *                    domain, of another domain).
 *  bind_vcpu         moves where an unbound/interdomain/PIRQ/global VIRQ port
 *                    is raised; per-vCPU VIRQs and IPIs -EINVAL.
 *  unmask            2-level: clears the mask bit and re-raises if pending;
 *                    FIFO: clears MASKED and links the event if pending.
 *  reset             closes every port of the caller and returns to 2-level;
 *                    reset_cont -EBUSY (never preempted here). Other domains:
 *                    -EINVAL for the initial domain (not paused), else -EPERM.
 *  init_control, expand_array, set_priority: event_fifo.c.
 *
 * Limits as Xen: 4096 ports with the 2-level ABI (64-bit layout), 2^17 with
 * FIFO. The port table grows in buckets of 128 ports as ports are used.
 */
#include <proxenos/evtchn_private.h>
#include <proxenos/evtchn.h>
#include <proxenos/guest_access.h>
#include <proxenos/hypercall.h>
#include <proxenos/lib.h>
#include <proxenos/mm.h>
#include <proxenos/pirq.h>
#include <proxenos/printk.h>
#include <proxenos/sched.h>

spinlock_t evtchn_global_lock = SPINLOCK_INIT;
/* Event state by domain id [G]; a slot is set while its domain lives. */
static struct evtchn_domain *evtchn_domains[MAX_DOMAINS];

struct evtchn_domain *evtchn_domain_of(const struct domain *d)
{
    struct evtchn_domain *ed;

    if (!d || d->domain_id >= MAX_DOMAINS)
        return NULL;
    ed = __atomic_load_n(&evtchn_domains[d->domain_id], __ATOMIC_ACQUIRE);
    return ed && ed->domain == d ? ed : NULL;
}

/* Xen's virq_is_global(): on x86 only these four are per vCPU. */
static bool virq_is_global(uint32_t virq)
{
    return virq != VIRQ_TIMER && virq != VIRQ_DEBUG && virq != VIRQ_XENOPROF &&
           virq != VIRQ_XENPMU;
}

/* ---- the port table --------------------------------------------------------------- */

/* Makes `port` usable if it is free: -EBUSY if it is not (or still on a
   FIFO queue), -ENOSPC beyond the ABI's limit, -ENOMEM. */
static int port_allocate(struct evtchn_domain *ed, uint32_t port)
{
    struct evtchn *bucket;

    if (port >= ed->ops->max_ports)
        return -ENOSPC;
    if (evtchn_port_valid(ed, port)) {
        struct evtchn *chn = evtchn_from_port(ed, port);
        return chn->state != ECS_FREE || ed->ops->is_busy(ed, chn) ? -EBUSY : 0;
    }
    /* Buckets are added in order: port is the first one of the next. */
    bucket = xzalloc(EVTCHN_BUCKET_PORTS * sizeof(*bucket));
    if (!bucket)
        return -ENOMEM;
    for (uint32_t i = 0; i < EVTCHN_BUCKET_PORTS; i++) {
        bucket[i].port = ed->valid_ports + i;
        bucket[i].priority = EVTCHN_FIFO_PRIORITY_DEFAULT;
    }
    ed->bucket[ed->valid_ports / EVTCHN_BUCKET_PORTS] = bucket;
    ed->valid_ports += EVTCHN_BUCKET_PORTS;
    return 0;
}

/* The lowest free port (Xen's get_free_port), or a negative errno. */
static int get_free_port(struct evtchn_domain *ed)
{
    uint32_t hint = UINT32_MAX;        /* a free port still on a FIFO queue */

    for (uint32_t port = ed->free_hint; port < ed->ops->max_ports; port++) {
        int rc = port_allocate(ed, port);

        if (rc == -EBUSY) {
            if (evtchn_from_port(ed, port)->state == ECS_FREE)
                hint = MIN(hint, port);
            continue;
        }
        if (rc)
            return rc;
        ed->free_hint = MIN(hint, port + 1);
        return (int)port;
    }
    return -ENOSPC;
}

/* What every newly bound port starts with (Xen's evtchn_port_init). */
static void port_bind(struct evtchn *chn, enum evtchn_state state, uint32_t vcpu)
{
    chn->state = state;
    chn->notify_vcpu = (uint16_t)vcpu;
    chn->priority = EVTCHN_FIFO_PRIORITY_DEFAULT;
    chn->fifo_pending = false;
}

static void port_free(struct evtchn_domain *ed, struct evtchn *chn)
{
    /* Clear pending, so that a port bound again starts quiet (Xen). */
    ed->ops->clear_pending(ed, chn);
    chn->state = ECS_FREE;
    chn->notify_vcpu = 0;
    chn->fifo_pending = false;
    memset(&chn->u, 0, sizeof(chn->u));
    if (chn->port < ed->free_hint)
        ed->free_hint = chn->port;
}

void evtchn_set_pending(struct evtchn_domain *ed, struct evtchn *chn)
{
    struct vcpu *v = evtchn_vcpu_of(ed->domain, chn->notify_vcpu);

    if (v)
        ed->ops->set_pending(ed, v, chn);
}

/* ---- SCHEDOP_poll ------------------------------------------------------------------- */

static void poll_end(struct evtchn_domain *ed, unsigned int vcpu_id)
{
    ed->poll_mask &= ~(1u << vcpu_id);
    ed->vcpu[vcpu_id].poll_port = 0;
}

void evtchn_check_pollers(struct evtchn_domain *ed, uint32_t port)
{
    for (uint32_t mask = ed->poll_mask; mask; mask &= mask - 1) {
        unsigned int id = (unsigned int)__builtin_ctz(mask);
        struct evtchn_vcpu *ev = &ed->vcpu[id];

        if (ev->poll_port > 0 && ev->poll_port != port)
            continue;                          /* polls one other port */
        poll_end(ed, id);
        stop_timer(&ev->poll_timer);
        if (ed->domain->vcpu[id])
            vcpu_wake(ed->domain->vcpu[id]);
    }
}

static void poll_timeout(void *data)
{
    struct vcpu *v = data;
    struct evtchn_domain *ed = evtchn_domain_of(v->domain);
    uint64_t flags;

    if (!ed)
        return;
    flags = evtchn_lock(&ed->lock);
    if (ed->poll_mask & (1u << v->vcpu_id)) {
        poll_end(ed, v->vcpu_id);
        vcpu_wake(v);
    }
    evtchn_unlock(&ed->lock, flags);
}

/* An upcall would be delivered: Xen's local_events_need_delivery(). */
static bool upcall_deliverable(const struct vcpu *v)
{
    const uint8_t *vi = (const uint8_t *)v->vcpu_info;

    return vi && __atomic_load_n(vi + offsetof(struct vcpu_info, evtchn_upcall_pending),
                                 __ATOMIC_SEQ_CST) &&
           !__atomic_load_n(vi + offsetof(struct vcpu_info, evtchn_upcall_mask),
                            __ATOMIC_SEQ_CST);
}

/* Copies the ports array; returns how many leading entries were readable. */
static uint32_t poll_copy_ports(struct vcpu *v, uint32_t *ports, uint64_t gla, uint32_t nr)
{
    uint32_t i;

    if (!copy_from_guest(v, ports, gla, nr * sizeof(*ports)))
        return nr;
    for (i = 0; i < nr; i++)            /* find where it faults, as Xen would */
        if (copy_from_guest(v, &ports[i], gla + i * sizeof(*ports), sizeof(*ports)))
            break;
    return i;
}

long evtchn_poll(struct vcpu *v, uint64_t ports_gla, uint32_t nr_ports, uint64_t timeout)
{
    struct evtchn_domain *ed = evtchn_domain_of(v->domain);
    uint32_t ports[EVTCHN_POLL_MAX_PORTS], readable;
    struct evtchn_vcpu *ev;
    uint64_t flags;
    long rc = 0;

    if (nr_ports > EVTCHN_POLL_MAX_PORTS)
        return -EINVAL;
    if (!ed)
        return -ENOSYS;
    readable = poll_copy_ports(v, ports, ports_gla, nr_ports);
    ev = &ed->vcpu[v->vcpu_id];
    flags = evtchn_lock(&ed->lock);
    /* Blocked and registered before looking: an event raised from here on
       wakes the vCPU (all raising happens under this lock anyway). */
    __atomic_store_n(&v->is_blocked, true, __ATOMIC_SEQ_CST);
    ed->poll_mask |= 1u << v->vcpu_id;
    ev->poll_port = -1;
    if (upcall_deliverable(v))
        goto out;
    for (uint32_t i = 0; i < nr_ports; i++) {
        if (i >= readable) {
            rc = -EFAULT;
            goto out;
        }
        if (!evtchn_port_valid(ed, ports[i])) {
            rc = -EINVAL;
            goto out;
        }
        if (ed->ops->is_pending(ed, evtchn_from_port(ed, ports[i])))
            goto out;
    }
    if (nr_ports == 1)
        ev->poll_port = ports[0];
    if (timeout)                       /* absolute system time, as Xen */
        set_timer(&ev->poll_timer, (s_time_t)MIN(timeout, (uint64_t)INT64_MAX));
    evtchn_unlock(&ed->lock, flags);
    return 0;

out:
    poll_end(ed, v->vcpu_id);
    __atomic_store_n(&v->is_blocked, false, __ATOMIC_SEQ_CST);
    evtchn_unlock(&ed->lock, flags);
    return rc;
}

/* ---- binding ------------------------------------------------------------------------- */

/*
 * The event state of the domain a hypercall of v names: DOMID_SELF or its
 * own id, or (for the initial domain only, Xen's XSM default for the
 * control domain) another one. Other domains need evtchn_global_lock held,
 * which keeps them from being torn down.
 */
static long target_domain(struct vcpu *v, domid_t dom, struct evtchn_domain **out)
{
    if (dom == DOMID_SELF || dom == v->domain->domain_id) {
        *out = evtchn_domain_of(v->domain);
        return *out ? 0 : -ESRCH;
    }
    if (dom >= MAX_DOMAINS || !(*out = evtchn_domains[evtchn_index_nospec(dom, MAX_DOMAINS)]))
        return -ESRCH;
    return v->domain->is_initial ? 0 : -EPERM;
}

static long evtchn_alloc_unbound(struct vcpu *v, struct evtchn_alloc_unbound *a)
{
    struct evtchn_domain *ed;
    uint64_t gflags = evtchn_lock(&evtchn_global_lock), flags;
    long rc = target_domain(v, a->dom, &ed);
    int port;

    if (rc)
        goto out_global;
    flags = evtchn_lock(&ed->lock);
    port = get_free_port(ed);
    if (port < 0) {
        rc = port;
    } else {
        struct evtchn *chn = evtchn_from_port(ed, (uint32_t)port);

        port_bind(chn, ECS_UNBOUND, 0);
        chn->u.remote_domid = a->remote_dom == DOMID_SELF ? v->domain->domain_id
                                                          : a->remote_dom;
        a->port = (uint32_t)port;
    }
    evtchn_unlock(&ed->lock, flags);
out_global:
    evtchn_unlock(&evtchn_global_lock, gflags);
    return rc;
}

/* Under the global lock and both domains' locks. */
static long bind_interdomain_locked(struct evtchn_domain *led, struct evtchn_domain *red,
                                    struct evtchn_bind_interdomain *b)
{
    struct evtchn *lchn, *rchn;
    int lport = get_free_port(led);

    if (lport < 0)
        return lport;
    if (!evtchn_port_valid(red, b->remote_port))
        return -EINVAL;
    rchn = evtchn_from_port(red, b->remote_port);
    if (rchn->state != ECS_UNBOUND || rchn->u.remote_domid != led->domain->domain_id)
        return -EINVAL;
    lchn = evtchn_from_port(led, (uint32_t)lport);
    port_bind(lchn, ECS_INTERDOMAIN, 0);
    lchn->u.interdomain.dom = red->domain;
    lchn->u.interdomain.port = rchn->port;
    rchn->state = ECS_INTERDOMAIN;             /* keeps its notify vCPU */
    rchn->u.interdomain.dom = led->domain;
    rchn->u.interdomain.port = (uint32_t)lport;
    /* Sends on the remote end while it was unbound were dropped: raise the
       new port once, as Xen does, so none is lost. */
    evtchn_set_pending(led, lchn);
    b->local_port = (uint32_t)lport;
    return 0;
}

static long evtchn_bind_interdomain(struct vcpu *v, struct evtchn_bind_interdomain *b)
{
    struct evtchn_domain *led = evtchn_domain_of(v->domain), *red;
    domid_t rdom = b->remote_dom == DOMID_SELF ? v->domain->domain_id : b->remote_dom;
    uint64_t gflags, lflags, rflags = 0;
    long rc;

    if (!led)
        return -ESRCH;
    gflags = evtchn_lock(&evtchn_global_lock);
    red = rdom < MAX_DOMAINS ? evtchn_domains[evtchn_index_nospec(rdom, MAX_DOMAINS)] : NULL;
    if (!red) {
        evtchn_unlock(&evtchn_global_lock, gflags);
        return -ESRCH;
    }
    lflags = evtchn_lock(&led->lock);
    if (red != led)
        rflags = evtchn_lock(&red->lock);
    rc = bind_interdomain_locked(led, red, b);
    if (red != led)
        evtchn_unlock(&red->lock, rflags);
    evtchn_unlock(&led->lock, lflags);
    evtchn_unlock(&evtchn_global_lock, gflags);
    return rc;
}

static long evtchn_bind_virq(struct vcpu *v, struct evtchn_bind_virq *b)
{
    struct evtchn_domain *ed = evtchn_domain_of(v->domain);
    uint32_t virq = b->virq, vid;
    uint64_t flags;
    long rc = 0;
    int port;

    if (virq >= EVTCHN_NR_VIRQS)
        return -EINVAL;
    virq = (uint32_t)evtchn_index_nospec(virq, EVTCHN_NR_VIRQS);
    if (virq_is_global(virq) && b->vcpu != 0)
        return -EINVAL;
    if (!evtchn_vcpu_of(v->domain, b->vcpu))
        return -ENOENT;
    vid = (uint32_t)evtchn_index_nospec(b->vcpu, MAX_VCPUS_PER_DOM);
    if (!ed)
        return -ESRCH;
    flags = evtchn_lock(&ed->lock);
    if (ed->vcpu[vid].virq_port[virq]) {
        rc = -EEXIST;
    } else if ((port = get_free_port(ed)) < 0) {
        rc = port;
    } else {
        struct evtchn *chn = evtchn_from_port(ed, (uint32_t)port);

        port_bind(chn, ECS_VIRQ, vid);
        chn->u.virq = virq;
        ed->vcpu[vid].virq_port[virq] = (uint32_t)port;
        b->port = (uint32_t)port;
    }
    evtchn_unlock(&ed->lock, flags);
    return rc;
}

static long evtchn_bind_ipi(struct vcpu *v, struct evtchn_bind_ipi *b)
{
    struct evtchn_domain *ed = evtchn_domain_of(v->domain);
    uint64_t flags;
    int port;

    if (!evtchn_vcpu_of(v->domain, b->vcpu))
        return -ENOENT;
    if (!ed)
        return -ESRCH;
    flags = evtchn_lock(&ed->lock);
    port = get_free_port(ed);
    if (port >= 0) {
        port_bind(evtchn_from_port(ed, (uint32_t)port), ECS_IPI, b->vcpu);
        b->port = (uint32_t)port;
    }
    evtchn_unlock(&ed->lock, flags);
    return port < 0 ? port : 0;
}

static long evtchn_bind_pirq(struct vcpu *v, struct evtchn_bind_pirq *b)
{
    struct evtchn_domain *ed = evtchn_domain_of(v->domain);
    uint32_t pirq = b->pirq;
    /* A PV domain's pirq is a real interrupt: routed first (pirq.c). */
    bool pv = v->domain->type == DOMTYPE_PV;
    uint64_t flags;
    long rc = 0;
    int port;

    if (pirq >= EVTCHN_NR_PIRQS)           /* Xen: pirq < 0 || >= nr_pirqs */
        return -EINVAL;
    pirq = (uint32_t)evtchn_index_nospec(pirq, EVTCHN_NR_PIRQS);
    if (!ed)
        return -ESRCH;
    flags = evtchn_lock(&ed->lock);
    if (ed->pirq_port[pirq])
        rc = -EEXIST;
    else if (pv)
        rc = pirq_guest_bind(v->domain, pirq);
    if (rc) {
        /* -EEXIST, or no interrupt behind the pirq */
    } else if ((port = get_free_port(ed)) < 0) {
        rc = port;
        if (pv)
            pirq_guest_unbind(v->domain, pirq);
    } else {
        struct evtchn *chn = evtchn_from_port(ed, (uint32_t)port);

        port_bind(chn, ECS_PIRQ, 0);
        chn->u.pirq = pirq;
        ed->pirq_port[pirq] = (uint32_t)port;
        b->port = (uint32_t)port;
    }
    evtchn_unlock(&ed->lock, flags);
    return rc;
}

/* ---- closing --------------------------------------------------------------------------- */

/* The other end of an interdomain channel goes back to unbound, offered to
   the domain that closed. Under the global lock and ed's lock. */
static void unbind_remote(struct evtchn_domain *ed, struct evtchn *chn)
{
    struct evtchn_domain *red = evtchn_domain_of(chn->u.interdomain.dom);
    uint64_t flags = 0;
    struct evtchn *rchn;

    if (!red)
        return;
    if (red != ed)
        flags = evtchn_lock(&red->lock);
    if (evtchn_port_valid(red, chn->u.interdomain.port)) {
        rchn = evtchn_from_port(red, chn->u.interdomain.port);
        if (rchn->state == ECS_INTERDOMAIN && rchn->u.interdomain.dom == ed->domain &&
            rchn->u.interdomain.port == chn->port) {
            rchn->state = ECS_UNBOUND;
            rchn->u.remote_domid = ed->domain->domain_id;
        }
    }
    if (red != ed)
        evtchn_unlock(&red->lock, flags);
}

/* Xen's evtchn_close(): under the global lock and ed's lock. */
static long close_locked(struct evtchn_domain *ed, uint32_t port)
{
    struct evtchn *chn;

    if (!evtchn_port_valid(ed, port))
        return -EINVAL;
    chn = evtchn_from_port(ed, port);
    switch (chn->state) {
    case ECS_FREE:
    case ECS_RESERVED:
        return -EINVAL;
    case ECS_UNBOUND:
    case ECS_IPI:
        break;
    case ECS_PIRQ:
        if (chn->u.pirq < EVTCHN_NR_PIRQS && ed->pirq_port[chn->u.pirq] == port) {
            ed->pirq_port[chn->u.pirq] = 0;
            if (ed->domain->type == DOMTYPE_PV)
                pirq_guest_unbind(ed->domain, chn->u.pirq);
        }
        break;
    case ECS_VIRQ:
        for (unsigned int i = 0; i < MAX_VCPUS_PER_DOM; i++)
            if (chn->u.virq < EVTCHN_NR_VIRQS && ed->vcpu[i].virq_port[chn->u.virq] == port)
                ed->vcpu[i].virq_port[chn->u.virq] = 0;
        break;
    case ECS_INTERDOMAIN:
        unbind_remote(ed, chn);
        break;
    }
    port_free(ed, chn);
    return 0;
}

static long evtchn_close(struct evtchn_domain *ed, uint32_t port)
{
    uint64_t gflags = evtchn_lock(&evtchn_global_lock);
    uint64_t flags = evtchn_lock(&ed->lock);
    long rc = close_locked(ed, port);

    evtchn_unlock(&ed->lock, flags);
    evtchn_unlock(&evtchn_global_lock, gflags);
    return rc;
}

/* Closes every port of ed but 0 (reserved), a bucket at a time so that
   interrupts are not held off for a whole table. */
static void close_all(struct evtchn_domain *ed)
{
    for (uint32_t base = 0; base < ed->valid_ports; base += EVTCHN_BUCKET_PORTS) {
        uint64_t gflags = evtchn_lock(&evtchn_global_lock);
        uint64_t flags = evtchn_lock(&ed->lock);

        for (uint32_t p = MAX(base, 1u); p < base + EVTCHN_BUCKET_PORTS; p++)
            close_locked(ed, p);
        evtchn_unlock(&ed->lock, flags);
        evtchn_unlock(&evtchn_global_lock, gflags);
    }
}

static long evtchn_reset(struct vcpu *v, struct evtchn_reset *r, bool cont)
{
    struct evtchn_fifo_frames frames;
    struct evtchn_domain *ed;
    uint64_t gflags = evtchn_lock(&evtchn_global_lock), flags;
    long rc = target_domain(v, r->dom, &ed);

    /* Xen resets another domain only while its controller pauses it; no
       domain here is paused that way. */
    if (!rc && ed->domain != v->domain)
        rc = -EINVAL;
    evtchn_unlock(&evtchn_global_lock, gflags);
    if (rc)
        return rc;
    if (cont)                          /* no reset is ever left half done */
        return -EBUSY;
    close_all(ed);
    flags = evtchn_lock(&ed->lock);
    evtchn_fifo_destroy(ed, &frames);  /* back to the 2-level ABI, as Xen */
    evtchn_unlock(&ed->lock, flags);
    evtchn_fifo_put_frames(&frames);
    return 0;
}

/* ---- sending, status, vCPU binding, unmasking --------------------------------------------- */

/* -EVTCHN_RETRY: the remote end is another domain, whose lock needs the global. */
static long send_locked(struct evtchn_domain *ed, uint32_t port, bool have_global)
{
    struct evtchn *chn;
    struct evtchn_domain *red;
    uint64_t flags = 0;

    if (!evtchn_port_valid(ed, port))
        return -EINVAL;
    chn = evtchn_from_port(ed, port);
    switch (chn->state) {
    case ECS_IPI:
        evtchn_set_pending(ed, chn);
        return 0;
    case ECS_UNBOUND:
        return 0;                      /* nobody listens yet: dropped (Xen) */
    case ECS_INTERDOMAIN:
        red = chn->u.interdomain.dom == ed->domain ? ed : NULL;
        if (!red && !have_global)
            return -EVTCHN_RETRY;
        if (!red && !(red = evtchn_domain_of(chn->u.interdomain.dom)))
            return 0;
        if (red != ed)
            flags = evtchn_lock(&red->lock);
        if (evtchn_port_valid(red, chn->u.interdomain.port))
            evtchn_set_pending(red, evtchn_from_port(red, chn->u.interdomain.port));
        if (red != ed)
            evtchn_unlock(&red->lock, flags);
        return 0;
    default:
        return -EINVAL;
    }
}

static long evtchn_send(struct evtchn_domain *ed, uint32_t port)
{
    uint64_t flags = evtchn_lock(&ed->lock), gflags;
    long rc = send_locked(ed, port, false);

    evtchn_unlock(&ed->lock, flags);
    if (rc != -EVTCHN_RETRY)
        return rc;
    gflags = evtchn_lock(&evtchn_global_lock);
    flags = evtchn_lock(&ed->lock);
    rc = send_locked(ed, port, true);  /* the port may have changed meanwhile */
    evtchn_unlock(&ed->lock, flags);
    evtchn_unlock(&evtchn_global_lock, gflags);
    return rc;
}

static void fill_status(const struct evtchn *chn, struct evtchn_status *s)
{
    static const uint8_t stat[] = {
        [ECS_FREE] = EVTCHNSTAT_closed, [ECS_RESERVED] = EVTCHNSTAT_closed,
        [ECS_UNBOUND] = EVTCHNSTAT_unbound, [ECS_INTERDOMAIN] = EVTCHNSTAT_interdomain,
        [ECS_PIRQ] = EVTCHNSTAT_pirq, [ECS_VIRQ] = EVTCHNSTAT_virq, [ECS_IPI] = EVTCHNSTAT_ipi,
    };

    memset(&s->u, 0, sizeof(s->u));
    s->status = stat[chn->state];
    s->vcpu = chn->notify_vcpu;
    if (chn->state == ECS_UNBOUND) {
        s->u.unbound.dom = chn->u.remote_domid;
    } else if (chn->state == ECS_INTERDOMAIN) {
        s->u.interdomain.dom = chn->u.interdomain.dom->domain_id;
        s->u.interdomain.port = chn->u.interdomain.port;
    } else if (chn->state == ECS_PIRQ) {
        s->u.pirq = chn->u.pirq;
    } else if (chn->state == ECS_VIRQ) {
        s->u.virq = chn->u.virq;
    }
}

static long evtchn_status(struct vcpu *v, struct evtchn_status *s)
{
    struct evtchn_domain *ed;
    uint64_t gflags = evtchn_lock(&evtchn_global_lock), flags;
    long rc = target_domain(v, s->dom, &ed);

    if (!rc) {
        flags = evtchn_lock(&ed->lock);
        if (evtchn_port_valid(ed, s->port))
            fill_status(evtchn_from_port(ed, s->port), s);
        else
            rc = -EINVAL;
        evtchn_unlock(&ed->lock, flags);
    }
    evtchn_unlock(&evtchn_global_lock, gflags);
    return rc;
}

static long evtchn_bind_vcpu(struct evtchn_domain *ed, struct evtchn_bind_vcpu *b)
{
    struct evtchn *chn;
    uint64_t flags;
    long rc = 0;

    if (!evtchn_vcpu_of(ed->domain, b->vcpu))
        return -ENOENT;
    flags = evtchn_lock(&ed->lock);
    if (!evtchn_port_valid(ed, b->port)) {
        rc = -EINVAL;
        goto out;
    }
    chn = evtchn_from_port(ed, b->port);
    switch (chn->state) {
    case ECS_VIRQ:
        if (!virq_is_global(chn->u.virq)) {
            rc = -EINVAL;                  /* per-vCPU VIRQs stay where bound */
            break;
        }
        /* fall through */
    case ECS_UNBOUND:
    case ECS_INTERDOMAIN:
    case ECS_PIRQ:
        chn->notify_vcpu = (uint16_t)b->vcpu;
        break;
    default:
        rc = -EINVAL;
    }
out:
    evtchn_unlock(&ed->lock, flags);
    return rc;
}

static long evtchn_unmask(struct evtchn_domain *ed, uint32_t port)
{
    uint64_t flags = evtchn_lock(&ed->lock);
    long rc = 0;

    if (evtchn_port_valid(ed, port))
        ed->ops->unmask(ed, evtchn_from_port(ed, port));
    else
        rc = -EINVAL;
    evtchn_unlock(&ed->lock, flags);
    return rc;
}

static long evtchn_set_priority(struct evtchn_domain *ed, struct evtchn_set_priority *p)
{
    uint64_t flags = evtchn_lock(&ed->lock);
    long rc;

    if (!evtchn_port_valid(ed, p->port))
        rc = -EINVAL;
    else if (!ed->ops->set_priority)
        rc = -ENOSYS;                      /* 2-level: no priorities */
    else
        rc = ed->ops->set_priority(ed, evtchn_from_port(ed, p->port), p->priority);
    evtchn_unlock(&ed->lock, flags);
    return rc;
}

static long evtchn_init_control(struct evtchn_domain *ed, struct evtchn_init_control *ic)
{
    uint64_t flags = evtchn_lock(&ed->lock);
    long rc = evtchn_fifo_init_control(ed, ic);

    evtchn_unlock(&ed->lock, flags);
    return rc;
}

static long evtchn_expand_array(struct evtchn_domain *ed, struct evtchn_expand_array *ea)
{
    uint64_t flags = evtchn_lock(&ed->lock);
    long rc = evtchn_fifo_expand_array(ed, ea->array_gfn);

    evtchn_unlock(&ed->lock, flags);
    return rc;
}

/* ---- raising VIRQs for the rest of the hypervisor --------------------------------------------- */

void send_guest_global_virq(struct domain *d, unsigned int virq)
{
    struct evtchn_domain *ed = evtchn_domain_of(d);
    uint64_t flags;
    uint32_t port;

    if (!ed || virq >= EVTCHN_NR_VIRQS || !virq_is_global(virq))
        return;
    flags = evtchn_lock(&ed->lock);
    port = ed->vcpu[0].virq_port[virq];        /* global VIRQs bind on vCPU 0 */
    if (port && evtchn_port_valid(ed, port))
        evtchn_set_pending(ed, evtchn_from_port(ed, port));
    evtchn_unlock(&ed->lock, flags);
}

void send_guest_vcpu_virq(struct vcpu *v, unsigned int virq)
{
    struct evtchn_domain *ed;
    uint64_t flags;
    uint32_t port;

    if (!v || virq >= EVTCHN_NR_VIRQS)
        return;
    if (virq_is_global(virq)) {                /* tolerated: Xen would assert */
        send_guest_global_virq(v->domain, virq);
        return;
    }
    if (!(ed = evtchn_domain_of(v->domain)) || v->vcpu_id >= MAX_VCPUS_PER_DOM)
        return;
    flags = evtchn_lock(&ed->lock);
    port = ed->vcpu[v->vcpu_id].virq_port[virq];
    if (port && evtchn_port_valid(ed, port))
        ed->ops->set_pending(ed, v, evtchn_from_port(ed, port));
    evtchn_unlock(&ed->lock, flags);
}

void send_guest_pirq(struct domain *d, uint32_t pirq)
{
    struct evtchn_domain *ed = evtchn_domain_of(d);
    uint64_t flags;
    uint32_t port;

    if (!ed || pirq >= EVTCHN_NR_PIRQS)
        return;
    flags = evtchn_lock(&ed->lock);
    port = ed->pirq_port[pirq];
    if (port && evtchn_port_valid(ed, port))
        evtchn_set_pending(ed, evtchn_from_port(ed, port));
    evtchn_unlock(&ed->lock, flags);
}

/* ---- domain lifetime ------------------------------------------------------------------------- */

int evtchn_domain_init(struct domain *d)
{
    struct evtchn_domain *ed;
    uint64_t gflags;
    int rc;

    if (d->domain_id >= MAX_DOMAINS)
        return -EINVAL;
    ed = xzalloc(sizeof(*ed));
    if (!ed)
        return -ENOMEM;
    ed->domain = d;
    ed->ops = &evtchn_ops_2l;
    rc = port_allocate(ed, 0);
    if (rc) {
        xfree(ed);
        return rc;
    }
    evtchn_from_port(ed, 0)->state = ECS_RESERVED;
    ed->free_hint = 1;
    for (unsigned int i = 0; i < d->max_vcpus && i < MAX_VCPUS_PER_DOM; i++)
        if (d->vcpu[i])
            init_timer(&ed->vcpu[i].poll_timer, poll_timeout, d->vcpu[i], d->vcpu[i]->processor);
    gflags = evtchn_lock(&evtchn_global_lock);
    if (evtchn_domains[d->domain_id]) {
        rc = -EEXIST;
    } else {
        __atomic_store_n(&evtchn_domains[d->domain_id], ed, __ATOMIC_RELEASE);
    }
    evtchn_unlock(&evtchn_global_lock, gflags);
    if (rc) {
        xfree(ed->bucket[0]);
        xfree(ed);
    }
    return rc;
}

/* Callers must have stopped raising events for d (timers, devices): the
   state is freed when this returns. */
void evtchn_domain_destroy(struct domain *d)
{
    struct evtchn_domain *ed = evtchn_domain_of(d);
    struct evtchn_fifo_frames frames;
    uint64_t gflags;

    if (!ed)
        return;
    /* Out of the table first: no other domain can bind to it any more, and
       what they still send to it is dropped. */
    gflags = evtchn_lock(&evtchn_global_lock);
    __atomic_store_n(&evtchn_domains[d->domain_id], NULL, __ATOMIC_RELEASE);
    evtchn_unlock(&evtchn_global_lock, gflags);
    close_all(ed);                     /* remote ends go back to unbound */
    for (unsigned int i = 0; i < MAX_VCPUS_PER_DOM; i++)
        if (ed->vcpu[i].poll_timer.fn)
            stop_timer(&ed->vcpu[i].poll_timer);
    evtchn_fifo_destroy(ed, &frames);
    evtchn_fifo_put_frames(&frames);
    for (uint32_t b = 0; b < EVTCHN_MAX_BUCKETS; b++)
        xfree(ed->bucket[b]);
    xfree(ed);
}

/* ---- the hypercall ----------------------------------------------------------------------------- */

union evtchn_op_args {
    struct evtchn_alloc_unbound alloc_unbound;
    struct evtchn_bind_interdomain bind_interdomain;
    struct evtchn_bind_virq bind_virq;
    struct evtchn_bind_pirq bind_pirq;
    struct evtchn_bind_ipi bind_ipi;
    struct evtchn_close close;
    struct evtchn_send send;
    struct evtchn_status status;
    struct evtchn_bind_vcpu bind_vcpu;
    struct evtchn_unmask unmask;
    struct evtchn_reset reset;
    struct evtchn_init_control init_control;
    struct evtchn_expand_array expand_array;
    struct evtchn_set_priority set_priority;
};

/* Argument size of each EVTCHNOP_* (the same for 32- and 64-bit callers:
   the structures hold no pointers or longs), and whether the result is
   copied back. */
static const struct { uint8_t size; bool out; } evtchn_op_args[] = {
    [EVTCHNOP_bind_interdomain] = { sizeof(struct evtchn_bind_interdomain), true },
    [EVTCHNOP_bind_virq]        = { sizeof(struct evtchn_bind_virq), true },
    [EVTCHNOP_bind_pirq]        = { sizeof(struct evtchn_bind_pirq), true },
    [EVTCHNOP_close]            = { sizeof(struct evtchn_close), false },
    [EVTCHNOP_send]             = { sizeof(struct evtchn_send), false },
    [EVTCHNOP_status]           = { sizeof(struct evtchn_status), true },
    [EVTCHNOP_alloc_unbound]    = { sizeof(struct evtchn_alloc_unbound), true },
    [EVTCHNOP_bind_ipi]         = { sizeof(struct evtchn_bind_ipi), true },
    [EVTCHNOP_bind_vcpu]        = { sizeof(struct evtchn_bind_vcpu), false },
    [EVTCHNOP_unmask]           = { sizeof(struct evtchn_unmask), false },
    [EVTCHNOP_reset]            = { sizeof(struct evtchn_reset), false },
    [EVTCHNOP_init_control]     = { sizeof(struct evtchn_init_control), true },
    [EVTCHNOP_expand_array]     = { sizeof(struct evtchn_expand_array), false },
    [EVTCHNOP_set_priority]     = { sizeof(struct evtchn_set_priority), false },
    [EVTCHNOP_RESET_CONT]       = { sizeof(struct evtchn_reset), false },
};
BUILD_BUG_ON(sizeof(struct evtchn_init_control) != 24);
BUILD_BUG_ON(sizeof(struct evtchn_status) != 24);
BUILD_BUG_ON(sizeof(struct evtchn_fifo_control_block) != 72);

static long dispatch(struct vcpu *v, struct evtchn_domain *ed, unsigned int cmd,
                     union evtchn_op_args *a)
{
    switch (cmd) {
    case EVTCHNOP_alloc_unbound:    return evtchn_alloc_unbound(v, &a->alloc_unbound);
    case EVTCHNOP_bind_interdomain: return evtchn_bind_interdomain(v, &a->bind_interdomain);
    case EVTCHNOP_bind_virq:        return evtchn_bind_virq(v, &a->bind_virq);
    case EVTCHNOP_bind_ipi:         return evtchn_bind_ipi(v, &a->bind_ipi);
    case EVTCHNOP_bind_pirq:        return evtchn_bind_pirq(v, &a->bind_pirq);
    case EVTCHNOP_close:            return evtchn_close(ed, a->close.port);
    case EVTCHNOP_send:             return evtchn_send(ed, a->send.port);
    case EVTCHNOP_status:           return evtchn_status(v, &a->status);
    case EVTCHNOP_bind_vcpu:        return evtchn_bind_vcpu(ed, &a->bind_vcpu);
    case EVTCHNOP_unmask:           return evtchn_unmask(ed, a->unmask.port);
    case EVTCHNOP_reset:            return evtchn_reset(v, &a->reset, false);
    case EVTCHNOP_RESET_CONT:       return evtchn_reset(v, &a->reset, true);
    case EVTCHNOP_init_control:     return evtchn_init_control(ed, &a->init_control);
    case EVTCHNOP_expand_array:     return evtchn_expand_array(ed, &a->expand_array);
    case EVTCHNOP_set_priority:     return evtchn_set_priority(ed, &a->set_priority);
    default:                        return -ENOSYS;
    }
}

long do_event_channel_op(struct vcpu *v, unsigned int cmd, uint64_t arg)
{
    struct evtchn_domain *ed = evtchn_domain_of(v->domain);
    union evtchn_op_args a;
    size_t size;
    long rc;

    if (cmd >= ARRAY_SIZE(evtchn_op_args) || !evtchn_op_args[cmd].size)
        return -ENOSYS;
    cmd = (unsigned int)evtchn_index_nospec(cmd, ARRAY_SIZE(evtchn_op_args));
    if (!ed)                           /* a domain being built or torn down */
        return -ENOSYS;
    size = evtchn_op_args[cmd].size;
    if (copy_from_guest(v, &a, arg, size))
        return -EFAULT;
    rc = dispatch(v, ed, cmd, &a);
    /* Xen does not undo a bind whose result cannot be written back. */
    if (!rc && evtchn_op_args[cmd].out && copy_to_guest(v, arg, &a, size))
        rc = -EFAULT;
    return rc;
}

long do_event_channel_hcall(struct vcpu *v, struct hcall *h)
{
    return do_event_channel_op(v, (unsigned int)h->arg[0], h->arg[1]);
}
