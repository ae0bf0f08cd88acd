/* Event channel ports and the 2-level ABI, through do_event_channel_op() as a
   guest calls it, with hostile arguments: ports out of range, closing bound
   VIRQs, binding twice, other domains, bad pointers; SCHEDOP_poll. */
/* @sources: hypervisor/common/event_channel.c hypervisor/common/event_2l.c hypervisor/common/event_fifo.c hypervisor/common/events_pending.c */
#include "test_evtchn_env.h"

/* ---- ports and their states ------------------------------------------------------------- */

static void reserved_port_zero(void **state)
{
    struct evtchn_status s;

    assert_int_equal(status(v0, DOMID_SELF, 0, &s), 0);
    assert_int_equal(s.status, EVTCHNSTAT_closed);
    assert_int_equal(CLOSE(v0, 0), -EINVAL);
    assert_int_equal(SEND(v0, 0), -EINVAL);
    assert_int_equal(bind_vcpu(v0, 0, 1), -EINVAL);
    assert_int_equal(alloc_unbound(v0, DOMID_SELF, DOMID_SELF), 1);   /* lowest free */
}

static void unbound_and_loopback(void **state)
{
    struct evtchn_status s;
    long p = alloc_unbound(v0, DOMID_SELF, DOMID_SELF), q;

    assert_int_equal(status(v0, DOMID_SELF, p, &s), 0);
    assert_int_equal(s.status, EVTCHNSTAT_unbound);
    assert_int_equal(s.u.unbound.dom, 0);            /* DOMID_SELF: the caller */
    assert_int_equal(s.vcpu, 0);
    assert_int_equal(SEND(v0, p), 0);                /* nobody listens: dropped */
    assert_false(l2_pending(d0, p));

    q = bind_interdomain(v0, DOMID_SELF, p);
    assert_int_equal(q, p + 1);
    assert_true(l2_pending(d0, q));                  /* raised once on binding */
    assert_false(l2_pending(d0, p));
    assert_int_equal(upcall(v0), 1);
    assert_int_equal(sel(v0), 1);
    d0->shared_info->evtchn_pending[0] = 0;
    guest_ack(v0);
    assert_int_equal(SEND(v0, p), 0);                /* p's peer is q */
    assert_true(l2_pending(d0, q));
    assert_false(l2_pending(d0, p));
    assert_int_equal(SEND(v0, q), 0);
    assert_true(l2_pending(d0, p));
    assert_int_equal(status(v0, 0, q, &s), 0);
    assert_int_equal(s.status, EVTCHNSTAT_interdomain);
    assert_int_equal(s.u.interdomain.dom, 0);
    assert_int_equal(s.u.interdomain.port, p);
    /* An unbound port is bound once only. */
    assert_int_equal(bind_interdomain(v0, DOMID_SELF, p), -EINVAL);

    /* Closing one end makes the other unbound again, offered to us. */
    assert_int_equal(CLOSE(v0, p), 0);
    assert_false(l2_pending(d0, p));                 /* cleared on close */
    assert_int_equal(status(v0, DOMID_SELF, q, &s), 0);
    assert_int_equal(s.status, EVTCHNSTAT_unbound);
    assert_int_equal(s.u.unbound.dom, 0);
    assert_int_equal(CLOSE(v0, p), -EINVAL);         /* twice */
    assert_int_equal(bind_interdomain(v0, DOMID_SELF, q), p);   /* reuses the lowest */
    assert_int_equal(bind_interdomain(v0, DOMID_SELF, 0), -EINVAL);
    assert_int_equal(bind_interdomain(v0, DOMID_SELF, 1u << 20), -EINVAL);
    assert_int_equal(bind_interdomain(v0, 7, 1), -ESRCH);
    assert_int_equal(bind_interdomain(v0, DOMID_IO, 1), -ESRCH);
}

static void across_domains(void **state)
{
    struct evtchn_status s;
    long r = alloc_unbound(w0, DOMID_SELF, 0), l;  /* d1 offers a port to d0 */

    assert_true(r > 0);
    assert_int_equal(bind_interdomain(v0, 1, r), r); /* d0's first free is r as well */
    l = r;
    assert_true(l2_pending(d0, l));
    d0->shared_info->evtchn_pending[0] = 0;
    assert_int_equal(SEND(w0, r), 0);
    assert_true(l2_pending(d0, l));
    assert_false(l2_pending(d1, r));
    assert_int_equal(SEND(v0, l), 0);
    assert_true(l2_pending(d1, r));
    assert_int_equal(upcall(w0), 1);
    /* d1 may not bind a port d0 offered to itself, nor act on d0. */
    long own = alloc_unbound(v0, DOMID_SELF, DOMID_SELF);
    assert_int_equal(bind_interdomain(w0, 0, own), -EINVAL);
    assert_int_equal(alloc_unbound(w0, 0, 1), -EPERM);
    assert_int_equal(status(w0, 0, own, &s), -EPERM);
    assert_int_equal(reset(w0, 0), -EPERM);
    /* The initial domain may look at and allocate in d1. */
    assert_int_equal(status(v0, 1, r, &s), 0);
    assert_int_equal(s.status, EVTCHNSTAT_interdomain);
    assert_int_equal(s.u.interdomain.dom, 0);
    assert_int_equal(s.u.interdomain.port, l);
    long x = alloc_unbound(v0, 1, 0);
    assert_true(x > r);
    assert_int_equal(bind_interdomain(v0, 1, x), x);
    assert_int_equal(reset(v0, 1), -EINVAL);         /* not paused by a controller */
    assert_int_equal(alloc_unbound(v0, 9, 0), -ESRCH);
    assert_int_equal(status(v0, 9, 1, &s), -ESRCH);

    /* d1 goes away: d0's ends become unbound, sends are dropped. */
    evtchn_domain_destroy(d1);
    assert_int_equal(status(v0, DOMID_SELF, l, &s), 0);
    assert_int_equal(s.status, EVTCHNSTAT_unbound);
    assert_int_equal(s.u.unbound.dom, 1);
    assert_int_equal(SEND(v0, l), 0);
    assert_int_equal(SEND(v0, x), 0);
    assert_int_equal(bind_interdomain(v0, 1, r), -ESRCH);
    send_guest_vcpu_virq(w0, VIRQ_TIMER);            /* no state: ignored */
    assert_int_equal(evtchn_domain_init(d1), 0);     /* for the teardown */
}

static void virqs(void **state)
{
    struct evtchn_status s;
    long t0 = bind_virq(v0, VIRQ_TIMER, 0), t1 = bind_virq(v0, VIRQ_TIMER, 1);

    assert_true(t0 > 0 && t1 > 0 && t0 != t1);
    assert_int_equal(bind_virq(v0, VIRQ_TIMER, 1), -EEXIST);
    assert_int_equal(bind_virq(v0, VIRQ_CONSOLE, 1), -EINVAL);   /* global: vCPU 0 only */
    assert_int_equal(bind_virq(v0, EVTCHN_NR_VIRQS, 0), -EINVAL);
    assert_int_equal(bind_virq(v0, 0xffffffff, 0), -EINVAL);
    assert_int_equal(bind_virq(v0, VIRQ_DEBUG, 2), -ENOENT);
    assert_int_equal(bind_virq(v0, VIRQ_DEBUG, 0xffffffff), -ENOENT);
    assert_int_equal(bind_virq(v0, VIRQ_DEBUG, MAX_VCPUS_PER_DOM), -ENOENT);
    assert_int_equal(SEND(v0, t0), -EINVAL);         /* VIRQs are raised by Xen only */
    assert_int_equal(status(v0, DOMID_SELF, t1, &s), 0);
    assert_int_equal(s.status, EVTCHNSTAT_virq);
    assert_int_equal(s.u.virq, VIRQ_TIMER);
    assert_int_equal(s.vcpu, 1);
    assert_int_equal(bind_vcpu(v0, t1, 0), -EINVAL); /* per-vCPU VIRQs stay */

    wakes = 0;
    v0b->is_blocked = true;
    send_guest_vcpu_virq(v0b, VIRQ_TIMER);
    assert_true(l2_pending(d0, t1));
    assert_false(l2_pending(d0, t0));
    assert_int_equal(sel(v0b), 1ull << (t1 / 64));
    assert_int_equal(upcall(v0b), 1);
    assert_int_equal(upcall(v0), 0);
    assert_false(v0b->is_blocked);
    assert_int_equal(wakes, 1);
    send_guest_vcpu_virq(v0b, VIRQ_TIMER);           /* already pending: nothing new */
    assert_int_equal(wakes, 1);
    send_guest_vcpu_virq(v0, VIRQ_DEBUG);            /* not bound: nothing */
    send_guest_vcpu_virq(v0, 9999);
    send_guest_vcpu_virq(NULL, VIRQ_TIMER);
    assert_int_equal(upcall(v0), 0);

    /* Global VIRQs: bound on vCPU 0, moved with bind_vcpu. */
    long c = bind_virq(v0, VIRQ_CONSOLE, 0);
    assert_true(c > 0);
    send_guest_global_virq(d0, VIRQ_CONSOLE);
    assert_true(l2_pending(d0, c));
    assert_int_equal(upcall(v0), 1);
    guest_ack(v0);
    d0->shared_info->evtchn_pending[c / 64] &= ~(1ull << (c % 64));
    assert_int_equal(bind_vcpu(v0, c, 1), 0);
    assert_int_equal(bind_vcpu(v0, c, 2), -ENOENT);
    guest_ack(v0b);
    send_guest_vcpu_virq(v0, VIRQ_CONSOLE);          /* a global VIRQ this way too */
    assert_int_equal(upcall(v0b), 1);
    assert_int_equal(upcall(v0), 0);
    send_guest_global_virq(d0, VIRQ_TIMER);          /* per-vCPU: ignored */
    send_guest_global_virq(NULL, VIRQ_CONSOLE);
    send_guest_global_virq(d0, 24);

    /* Closing a bound VIRQ frees the binding: raising it does nothing, and
       it can be bound again. */
    assert_int_equal(CLOSE(v0, t1), 0);
    assert_false(l2_pending(d0, t1));
    send_guest_vcpu_virq(v0b, VIRQ_TIMER);
    assert_false(l2_pending(d0, t1));
    assert_int_equal(bind_virq(v0, VIRQ_TIMER, 1), t1);
    assert_int_equal(CLOSE(v0, c), 0);
    assert_int_equal(CLOSE(v0, c), -EINVAL);
    assert_int_equal(bind_virq(v0, VIRQ_CONSOLE, 0), c);
}

static void ipis_and_masking(void **state)
{
    struct evtchn_status s;
    long p = bind_ipi(v0, 1);

    assert_true(p > 0);
    assert_int_equal(bind_ipi(v0, 2), -ENOENT);
    assert_int_equal(bind_ipi(v0, 0x80000000u), -ENOENT);
    assert_int_equal(status(v0, DOMID_SELF, p, &s), 0);
    assert_int_equal(s.status, EVTCHNSTAT_ipi);
    assert_int_equal(s.vcpu, 1);
    assert_int_equal(bind_vcpu(v0, p, 0), -EINVAL);
    assert_int_equal(SEND(v0, p), 0);
    assert_true(l2_pending(d0, p));
    assert_int_equal(upcall(v0b), 1);
    assert_int_equal(upcall(v0), 0);

    /* Masked: pending, but no selector bit and no upcall ... */
    guest_ack(v0b);
    d0->shared_info->evtchn_pending[0] = 0;
    l2_mask(d0, p, true);
    assert_int_equal(SEND(v0, p), 0);
    assert_true(l2_pending(d0, p));
    assert_int_equal(sel(v0b), 0);
    assert_int_equal(upcall(v0b), 0);
    /* ... until unmasked. */
    assert_int_equal(UNMASK(v0, p), 0);
    assert_int_equal(sel(v0b), 1);
    assert_int_equal(upcall(v0b), 1);
    assert_false(d0->shared_info->evtchn_mask[0] & (1ull << p));
    /* Unmasking what is not pending raises nothing. */
    guest_ack(v0b);
    d0->shared_info->evtchn_pending[0] = 0;
    l2_mask(d0, p, true);
    assert_int_equal(UNMASK(v0, p), 0);
    assert_int_equal(upcall(v0b), 0);
    assert_int_equal(UNMASK(v0, 4096), -EINVAL);
    assert_int_equal(UNMASK(v0, 0xffffffff), -EINVAL);
    assert_int_equal(UNMASK(v0, 100), 0);            /* a free port: Xen allows it */
}

static void out_of_range(void **state)
{
    struct evtchn_status s;
    static const uint32_t bad[] = { 128, 4095, 4096, 1u << 17, 0x80000000u, 0xffffffff };

    for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++) {
        assert_int_equal(SEND(v0, bad[i]), -EINVAL);
        assert_int_equal(CLOSE(v0, bad[i]), -EINVAL);
        assert_int_equal(UNMASK(v0, bad[i]), -EINVAL);
        assert_int_equal(bind_vcpu(v0, bad[i], 0), -EINVAL);
        assert_int_equal(status(v0, DOMID_SELF, bad[i], &s), -EINVAL);
        struct evtchn_set_priority sp = { .port = bad[i], .priority = 1 };
        assert_int_equal(OP(v0, EVTCHNOP_set_priority, sp), -EINVAL);
    }
    /* A free port within the table. */
    assert_int_equal(SEND(v0, 5), -EINVAL);
    assert_int_equal(CLOSE(v0, 5), -EINVAL);
    assert_int_equal(status(v0, DOMID_SELF, 5, &s), 0);
    assert_int_equal(s.status, EVTCHNSTAT_closed);
}

static void exhaustion(void **state)
{
    long p;

    /* 4096 ports, port 0 reserved: 4095 to hand out, then -ENOSPC. */
    for (uint32_t i = 1; i < 4096; i++)
        assert_int_equal(alloc_unbound(v0, DOMID_SELF, 5), i);
    assert_int_equal(alloc_unbound(v0, DOMID_SELF, 5), -ENOSPC);
    assert_int_equal(bind_ipi(v0, 0), -ENOSPC);
    assert_int_equal(bind_virq(v0, VIRQ_TIMER, 0), -ENOSPC);
    assert_int_equal(CLOSE(v0, 1000), 0);
    assert_int_equal(CLOSE(v0, 77), 0);
    assert_int_equal(bind_ipi(v0, 0), 77);           /* the lowest free first */
    p = bind_virq(v0, VIRQ_TIMER, 0);
    assert_int_equal(p, 1000);
    send_guest_vcpu_virq(v0, VIRQ_TIMER);
    assert_true(l2_pending(d0, 1000));
    assert_int_equal(sel(v0), 1ull << (1000 / 64));
    assert_int_equal(reset(v0, DOMID_SELF), 0);
    assert_int_equal(alloc_unbound(v0, DOMID_SELF, 5), 1);
}

static void pirqs(void **state)
{
    struct evtchn_bind_pirq b = { .pirq = 5 };
    struct evtchn_status s;

    assert_int_equal(OP(v0, EVTCHNOP_bind_pirq, b), 0);
    assert_true(b.port > 0);
    assert_int_equal(status(v0, DOMID_SELF, b.port, &s), 0);
    assert_int_equal(s.status, EVTCHNSTAT_pirq);
    assert_int_equal(s.u.pirq, 5);
    assert_int_equal(OP(v0, EVTCHNOP_bind_pirq, b), -EEXIST);
    assert_int_equal(SEND(v0, b.port), -EINVAL);
    assert_int_equal(bind_vcpu(v0, b.port, 1), 0);
    uint32_t port = b.port;
    b.pirq = EVTCHN_NR_PIRQS;
    assert_int_equal(OP(v0, EVTCHNOP_bind_pirq, b), -EINVAL);
    b.pirq = 0xffffffff;                             /* -1 to Xen */
    assert_int_equal(OP(v0, EVTCHNOP_bind_pirq, b), -EINVAL);
    assert_int_equal(CLOSE(v0, port), 0);
    b.pirq = 5;
    assert_int_equal(OP(v0, EVTCHNOP_bind_pirq, b), 0);
    assert_int_equal(b.port, port);
}

/* A PV domain's pirq is routed first (pirq.c); refused, no port is used up. */
static void pv_pirqs(void **state)
{
    struct evtchn_bind_pirq b = { .pirq = 9 };
    long p;

    d0->type = DOMTYPE_PV;
    pirq_binds = pirq_unbinds = 0;
    pirq_bind_rc = -EINVAL;                          /* not mapped */
    assert_int_equal(OP(v0, EVTCHNOP_bind_pirq, b), -EINVAL);
    assert_int_equal(pirq_binds, 1);
    p = alloc_unbound(v0, DOMID_SELF, DOMID_SELF);
    assert_int_equal(p, 1);                          /* still the lowest */
    pirq_bind_rc = 0;
    assert_int_equal(OP(v0, EVTCHNOP_bind_pirq, b), 0);
    assert_int_equal(b.port, 2);
    assert_int_equal(OP(v0, EVTCHNOP_bind_pirq, b), -EEXIST);
    assert_int_equal(pirq_binds, 2);                 /* bound once */
    assert_int_equal(CLOSE(v0, b.port), 0);
    assert_int_equal(pirq_unbinds, 1);               /* masked again */
    assert_int_equal(CLOSE(v0, p), 0);
    assert_int_equal(pirq_unbinds, 1);
    d0->type = DOMTYPE_PVH;
}

static void reset_and_dispatch(void **state)
{
    struct evtchn_reset r = { .dom = DOMID_SELF };
    long t = bind_virq(v0, VIRQ_TIMER, 0), i = bind_ipi(v0, 1);
    long u = alloc_unbound(v0, DOMID_SELF, DOMID_SELF), l = bind_interdomain(v0, DOMID_SELF, u);

    assert_true(t > 0 && i > 0 && u > 0 && l > 0);
    assert_int_equal(OP(v0, EVTCHNOP_RESET_CONT, r), -EBUSY);    /* none in progress */
    assert_int_equal(reset(v0, 0), 0);
    for (long p = 1; p <= l; p++)
        assert_int_equal(CLOSE(v0, p), -EINVAL);
    assert_false(l2_pending(d0, l));
    assert_int_equal(bind_virq(v0, VIRQ_TIMER, 0), 1);
    assert_int_equal(reset(v0, 42), -ESRCH);
    assert_int_equal(reset(v0, DOMID_SELF), 0);

    /* Dispatch: unknown commands, unreadable and unwritable arguments. */
    assert_int_equal(do_event_channel_op(v0, 15, ARG), -ENOSYS);
    assert_int_equal(do_event_channel_op(v0, 0xffffffff, ARG), -ENOSYS);
    assert_int_equal(do_event_channel_op(v0, 1u << 31, 0), -ENOSYS);
    assert_int_equal(do_event_channel_op(v0, EVTCHNOP_send, 0), -EFAULT);
    assert_int_equal(do_event_channel_op(v0, EVTCHNOP_bind_ipi, G_END - 2), -EFAULT);
    assert_int_equal(do_event_channel_op(v0, EVTCHNOP_init_control, G_END - 16), -EFAULT);
    /* A result that cannot be written back: -EFAULT, the port stays bound
       (as Xen: "cleaning up here would be a mess"). */
    assert_int_equal(do_event_channel_op(v0, EVTCHNOP_bind_ipi, RO_GFN << 12), -EFAULT);
    struct evtchn_status s;
    assert_int_equal(status(v0, DOMID_SELF, 1, &s), 0);
    assert_int_equal(s.status, EVTCHNSTAT_ipi);
    /* The hypercall table's entry passes cmd and argument through. */
    struct hcall h = { .arg = { EVTCHNOP_send, G_END } };
    assert_int_equal(do_event_channel_hcall(v0, &h), -EFAULT);
}

/* A guest scribbling over its 2-level state only confuses itself. */
static void hostile_2l_state(void **state)
{
    long p = bind_ipi(v0, 0);

    memset(d0->shared_info->evtchn_pending, 0xff, sizeof(d0->shared_info->evtchn_pending));
    memset(d0->shared_info->evtchn_mask, 0xff, sizeof(d0->shared_info->evtchn_mask));
    v0->vcpu_info->evtchn_pending_sel = ~0ull;
    v0->vcpu_info->evtchn_upcall_pending = 0xff;
    assert_int_equal(SEND(v0, p), 0);
    assert_int_equal(UNMASK(v0, p), 0);
    assert_int_equal(upcall(v0), 0xff);              /* untouched: already "pending" */
    /* A vCPU without a vcpu_info (id >= 32, none registered) just misses
       its selector; nothing is written anywhere. */
    v0b->vcpu_info = NULL;
    long q = bind_ipi(v0, 1);
    d0->shared_info->evtchn_pending[q / 64] &= ~(1ull << (q % 64));
    l2_mask(d0, q, false);
    assert_int_equal(SEND(v0, q), 0);
    assert_true(l2_pending(d0, q));
}

/* ---- SCHEDOP_poll ----------------------------------------------------------------------------- */

#define PORTS G(0x900)

static long poll(struct vcpu *v, const uint32_t *ports, uint32_t nr, uint64_t timeout)
{
    if (nr && nr <= 128)
        assert_int_equal(copy_to_guest(v, PORTS, ports, nr * 4), 0);
    return evtchn_poll(v, PORTS, nr, timeout);
}

static void poll_returns_at_once(void **state)
{
    uint32_t ports[130] = { 0 };
    long a = bind_ipi(v0, 0), b = bind_ipi(v0, 0);

    ports[0] = (uint32_t)a;
    ports[1] = (uint32_t)b;
    assert_int_equal(poll(v0, ports, 129, 0), -EINVAL);
    assert_int_equal(poll(v0, ports, 0xffffffff, 0), -EINVAL);
    ports[1] = 4096;
    assert_int_equal(poll(v0, ports, 2, 0), -EINVAL);
    assert_false(v0->is_blocked);
    /* Pending (even masked) ports: return at once. */
    l2_mask(d0, b, true);
    assert_int_equal(SEND(v0, b), 0);
    assert_int_equal(upcall(v0), 0);
    ports[1] = (uint32_t)b;
    assert_int_equal(poll(v0, ports, 2, 0), 0);
    assert_false(v0->is_blocked);
    /* ... in array order: a pending port before a bad one wins. */
    ports[0] = (uint32_t)b;
    ports[1] = 0xffffffff;
    assert_int_equal(poll(v0, ports, 2, 0), 0);
    ports[0] = (uint32_t)a;
    ports[1] = 0xffffffff;
    ports[2] = (uint32_t)b;
    assert_int_equal(poll(v0, ports, 3, 0), -EINVAL);
    /* Unreadable ports array: -EFAULT where it stops being readable. */
    assert_int_equal(evtchn_poll(v0, G_END - 4, 2, 0), -EFAULT);
    assert_int_equal(evtchn_poll(v0, 0, 1, 0), -EFAULT);
    assert_int_equal(copy_to_guest(v0, G_END - 4, &b, 4), 0);
    assert_int_equal(evtchn_poll(v0, G_END - 4, 2, 0), 0);  /* pending first */
    assert_false(v0->is_blocked);
    /* An upcall that would be delivered: return at once. */
    v0->vcpu_info->evtchn_upcall_pending = 1;
    ports[0] = (uint32_t)a;
    assert_int_equal(poll(v0, ports, 1, 0), 0);
    assert_false(v0->is_blocked);
    v0->vcpu_info->evtchn_upcall_mask = 1;           /* masked: does not count */
    assert_int_equal(poll(v0, ports, 1, 0), 0);
    assert_true(v0->is_blocked);
}

static void poll_blocks_and_wakes(void **state)
{
    struct evtchn_domain *ed = evtchn_domain_of(d0);
    struct timer *t = &ed->vcpu[0].poll_timer;
    uint32_t ports[2];
    long a = bind_ipi(v0, 1), b = bind_ipi(v0, 1), c = bind_ipi(v0, 1);

    /* One port, with a timeout: woken by that port, timer stopped. */
    ports[0] = (uint32_t)a;
    assert_int_equal(poll(v0, ports, 1, now + 5000), 0);
    assert_true(v0->is_blocked);
    assert_true(t->active);
    assert_int_equal(t->expires, now + 5000);
    assert_int_equal(SEND(v0, b), 0);                /* another port: still asleep */
    assert_true(v0->is_blocked);
    l2_mask(d0, a, true);                            /* masked still wakes a poller */
    assert_int_equal(SEND(v0, a), 0);
    assert_false(v0->is_blocked);
    assert_false(t->active);
    assert_int_equal(ed->poll_mask, 0);

    /* Two ports: any port wakes (Xen only narrows a single-port poll). */
    ports[0] = (uint32_t)c;
    ports[1] = 0;                                    /* port 0: valid, never pending */
    assert_int_equal(poll(v0, ports, 2, 0), 0);
    assert_true(v0->is_blocked);
    assert_false(t->active);                         /* no timeout */
    d0->shared_info->evtchn_pending[0] = 0;
    assert_int_equal(SEND(v0, b), 0);
    assert_false(v0->is_blocked);

    /* The timeout: the timer wakes it, and only once. */
    d0->shared_info->evtchn_pending[0] = 0;
    assert_int_equal(poll(v0, ports, 1, now + 10), 0);
    assert_true(v0->is_blocked);
    wakes = 0;
    fire(t);
    assert_false(v0->is_blocked);
    assert_int_equal(wakes, 1);
    assert_int_equal(ed->poll_mask, 0);
    /* Timeouts beyond s_time_t do not wrap into the past. */
    assert_int_equal(poll(v0, ports, 1, ~0ull), 0);
    assert_int_equal(t->expires, INT64_MAX);
    assert_int_equal(SEND(v0, c), 0);
    assert_false(v0->is_blocked);

    /* Both vCPUs poll: a port wakes only the one that waits for it. */
    d0->shared_info->evtchn_pending[0] = 0;
    guest_ack(v0b);
    ports[0] = (uint32_t)b;
    assert_int_equal(poll(v0, ports, 1, 0), 0);
    ports[0] = (uint32_t)c;
    assert_int_equal(poll(v0b, ports, 1, 0), 0);
    assert_int_equal(ed->poll_mask, 3);
    assert_int_equal(SEND(v0, c), 0);
    assert_false(v0b->is_blocked);
    assert_true(v0->is_blocked);
    assert_int_equal(SEND(v0, b), 0);
    assert_false(v0->is_blocked);
    assert_int_equal(ed->poll_mask, 0);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, env_setup, env_teardown)
    const struct CMUnitTest tests[] = {
        T(reserved_port_zero), T(unbound_and_loopback), T(across_domains), T(virqs),
        T(ipis_and_masking), T(out_of_range), T(exhaustion), T(pirqs), T(pv_pirqs),
        T(reset_and_dispatch), T(hostile_2l_state), T(poll_returns_at_once),
        T(poll_blocks_and_wakes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
