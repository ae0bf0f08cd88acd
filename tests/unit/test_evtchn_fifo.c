/* The FIFO event channel ABI through do_event_channel_op(): control blocks,
   event array pages, queue linking, priorities, masking, the switch from and
   back to 2-level, and a hostile guest: bad offsets and GFNs, link loops,
   garbage in its words, and a second thread that keeps changing the tail
   word while the hypervisor links to it. */
/* @sources: hypervisor/common/event_channel.c hypervisor/common/event_2l.c hypervisor/common/event_fifo.c hypervisor/common/events_pending.c */
#include "test_evtchn_env.h"
#include <pthread.h>

#define CB_PAGE   1                   /* RAM page of the control blocks */
#define ARR_PAGE  2                   /* first event array page; the next ones follow */
#define W_PENDING (1u << EVTCHN_FIFO_PENDING)
#define W_MASKED  (1u << EVTCHN_FIFO_MASKED)
#define W_LINKED  (1u << EVTCHN_FIFO_LINKED)
#define W_BUSY    (1u << EVTCHN_FIFO_BUSY)

static long init_control(struct vcpu *v, uint64_t gfn, uint32_t offset, uint32_t vcpu,
                         uint8_t *link_bits)
{
    struct evtchn_init_control ic = { .control_gfn = gfn, .offset = offset, .vcpu = vcpu };
    long rc = OP(v, EVTCHNOP_init_control, ic);

    if (link_bits)
        *link_bits = ic.link_bits;
    return rc;
}
static long expand(struct vcpu *v, uint64_t gfn)
{
    struct evtchn_expand_array ea = { .array_gfn = gfn };

    return OP(v, EVTCHNOP_expand_array, ea);
}
static long set_priority(struct vcpu *v, uint32_t port, uint32_t prio)
{
    struct evtchn_set_priority sp = { .port = port, .priority = prio };

    return OP(v, EVTCHNOP_set_priority, sp);
}

static volatile uint32_t *word(uint32_t port)
{
    return (volatile uint32_t *)ram[ARR_PAGE + port / 1024] + port % 1024;
}
static volatile struct evtchn_fifo_control_block *cb(unsigned int vcpu)
{
    return (volatile struct evtchn_fifo_control_block *)(ram[CB_PAGE] + vcpu * 0x100);
}

/* Both vCPUs' control blocks and one event array page (ports 0-1023). */
static void fifo_on(void)
{
    uint8_t lb = 0;

    assert_int_equal(init_control(v0, RAM_GFN + CB_PAGE, 0, 0, &lb), 0);
    assert_int_equal(lb, EVTCHN_FIFO_LINK_BITS);
    assert_int_equal(init_control(v0, RAM_GFN + CB_PAGE, 0x100, 1, NULL), 0);
    assert_int_equal(expand(v0, RAM_GFN + ARR_PAGE), 0);
}

/* ---- setting up --------------------------------------------------------------------------- */

static void init_control_errors(void **state)
{
    uint8_t lb = 0;

    assert_int_equal(expand(v0, RAM_GFN + ARR_PAGE), -EOPNOTSUPP);      /* 2-level yet */
    assert_int_equal(set_priority(v0, 0, 3), -ENOSYS);
    assert_int_equal(init_control(v0, RAM_GFN, 0, 2, &lb), -ENOENT);
    assert_int_equal(init_control(v0, RAM_GFN, 0, 0xffffffff, &lb), -ENOENT);
    /* Offsets: the 72-byte block within the page, 8-byte aligned. */
    assert_int_equal(init_control(v0, RAM_GFN, 4096 - 72 + 8, 0, &lb), -EINVAL);
    assert_int_equal(init_control(v0, RAM_GFN, 4096, 0, &lb), -EINVAL);
    assert_int_equal(init_control(v0, RAM_GFN, 0xfffffff8, 0, &lb), -EINVAL);
    assert_int_equal(init_control(v0, RAM_GFN, 4, 0, &lb), -EINVAL);
    assert_int_equal(init_control(v0, RAM_GFN, 4096 - 72 + 4, 0, &lb), -EINVAL);
    /* Frames: only the domain's writable RAM. */
    assert_int_equal(init_control(v0, 0x5000, 0, 0, &lb), -EINVAL);
    assert_int_equal(init_control(v0, SPECIAL_GFN, 0, 0, &lb), -EINVAL);
    assert_int_equal(init_control(v0, RO_GFN, 0, 0, &lb), -EINVAL);
    assert_int_equal(init_control(v0, 1ull << 63, 0, 0, &lb), -EINVAL);
    assert_int_equal(init_control(v0, ~0ull, 0, 0, &lb), -EINVAL);
    assert_ptr_equal(evtchn_domain_of(d0)->ops, &evtchn_ops_2l);  /* still 2-level */
    /* The last byte of the page, and again for the same vCPU. */
    assert_int_equal(init_control(v0, RAM_GFN + CB_PAGE, 4096 - 72, 0, &lb), 0);
    assert_int_equal(lb, 17);
    assert_ptr_equal(evtchn_domain_of(d0)->ops, &evtchn_ops_fifo);
    assert_int_equal(init_control(v0, RAM_GFN + CB_PAGE, 0, 0, &lb), -EINVAL);
    assert_int_equal(init_control(v0, RAM_GFN + CB_PAGE, 0, 1, &lb), 0);
    assert_int_equal(set_priority(v0, 0, 3), 0);     /* FIFO now: port 0 too (Xen) */
}

/* The hypervisor keeps pointers into these frames: it holds a reference on
   each while mapped, and drops them on reset (and teardown, checked by every
   test's teardown). A frame the guest already gave back cannot be used. */
static void frame_references(void **state)
{
    fifo_on();
    assert_int_equal(frame_refs[RAM_GFN + CB_PAGE], 2);        /* two control blocks */
    assert_int_equal(frame_refs[RAM_GFN + ARR_PAGE], 1);
    assert_int_equal(expand(v0, RAM_GFN + ARR_PAGE), 0);       /* the same page again */
    assert_int_equal(frame_refs[RAM_GFN + ARR_PAGE], 2);
    frame_given_back[RAM_GFN + 9] = true;
    assert_int_equal(expand(v0, RAM_GFN + 9), -EINVAL);
    assert_int_equal(frames_referenced(), 4);
    assert_int_equal(reset(v0, DOMID_SELF), 0);
    assert_int_equal(frames_referenced(), 0);
    assert_int_equal(init_control(v0, RAM_GFN + 9, 0, 0, NULL), -EINVAL);
    assert_ptr_equal(evtchn_domain_of(d0)->ops, &evtchn_ops_2l);
    fifo_on();
    assert_int_equal(frames_referenced(), 3);
}

static void expand_array(void **state)
{
    assert_int_equal(init_control(v0, RAM_GFN + CB_PAGE, 0, 0, NULL), 0);
    assert_int_equal(expand(v0, 0x5000), -EINVAL);
    assert_int_equal(expand(v0, SPECIAL_GFN), -EINVAL);
    assert_int_equal(expand(v0, RO_GFN), -EINVAL);
    assert_int_equal(expand(v0, ~0ull), -EINVAL);
    /* 128 pages (2^17 ports), then -ENOSPC. Xen does not mind the same
       page twice: it only confuses the guest. */
    for (unsigned int i = 0; i < 128; i++)
        assert_int_equal(expand(v0, RAM_GFN + ARR_PAGE + i % 8), 0);
    assert_int_equal(expand(v0, RAM_GFN + ARR_PAGE), -ENOSPC);
    assert_int_equal(evtchn_domain_of(d0)->fifo_words, 1u << 17);
}

/* ---- raising -------------------------------------------------------------------------------- */

static void queueing(void **state)
{
    fifo_on();
    long a = bind_ipi(v0, 0), b = bind_ipi(v0, 0), c = bind_ipi(v0, 0);

    /* The first event of an empty queue: PENDING|LINKED, HEAD, READY, upcall. */
    assert_int_equal(SEND(v0, a), 0);
    assert_int_equal(*word(a), W_PENDING | W_LINKED);
    assert_int_equal(cb(0)->head[EVTCHN_FIFO_PRIORITY_DEFAULT], a);
    assert_int_equal(cb(0)->ready, 1u << EVTCHN_FIFO_PRIORITY_DEFAULT);
    assert_int_equal(upcall(v0), 1);
    assert_false(l2_pending(d0, a));                 /* not the 2-level bitmap */
    /* The next ones link behind the tail; HEAD stays. */
    assert_int_equal(SEND(v0, b), 0);
    assert_int_equal(*word(a), W_PENDING | W_LINKED | b);
    assert_int_equal(*word(b), W_PENDING | W_LINKED);
    assert_int_equal(cb(0)->head[EVTCHN_FIFO_PRIORITY_DEFAULT], a);
    assert_int_equal(SEND(v0, b), 0);                /* pending already: no change */
    assert_int_equal(*word(b), W_PENDING | W_LINKED);
    /* The guest consumes a (clears LINKED and LINK, handles it), not yet b. */
    *word(a) = 0;
    assert_int_equal(SEND(v0, c), 0);
    assert_int_equal(*word(b), W_PENDING | W_LINKED | c);
    /* It consumes everything: the next event starts a new queue at HEAD. */
    *word(b) = 0;
    *word(c) = 0;
    cb(0)->ready = 0;
    guest_ack(v0);
    assert_int_equal(SEND(v0, a), 0);
    assert_int_equal(cb(0)->head[EVTCHN_FIFO_PRIORITY_DEFAULT], a);
    assert_int_equal(cb(0)->ready, 1u << EVTCHN_FIFO_PRIORITY_DEFAULT);
    assert_int_equal(upcall(v0), 1);
    /* READY still set: no second upcall marking. */
    *word(a) = 0;
    guest_ack(v0);
    assert_int_equal(SEND(v0, b), 0);
    assert_int_equal(upcall(v0), 0);
    /* Per-vCPU queues: an IPI for vCPU 1 goes to its control block. */
    long d = bind_ipi(v0, 1);
    assert_int_equal(SEND(v0, d), 0);
    assert_int_equal(cb(1)->head[EVTCHN_FIFO_PRIORITY_DEFAULT], d);
    assert_int_equal(upcall(v0b), 1);
    /* VIRQs the same way. */
    long t = bind_virq(v0, VIRQ_TIMER, 1);
    send_guest_vcpu_virq(v0b, VIRQ_TIMER);
    assert_int_equal(*word(d), W_PENDING | W_LINKED | t);
    /* Closing clears PENDING (the guest unlinks it on its own). */
    assert_int_equal(CLOSE(v0, t), 0);
    assert_int_equal(*word(t), W_LINKED);
}

static void priorities(void **state)
{
    fifo_on();
    long a = bind_ipi(v0, 0), b = bind_ipi(v0, 0);

    assert_int_equal(set_priority(v0, a, 16), -EINVAL);
    assert_int_equal(set_priority(v0, a, 0xffffffff), -EINVAL);
    assert_int_equal(set_priority(v0, 4000, 1), -EINVAL);
    assert_int_equal(set_priority(v0, a, EVTCHN_FIFO_PRIORITY_MAX), 0);
    assert_int_equal(set_priority(v0, b, EVTCHN_FIFO_PRIORITY_MIN), 0);
    assert_int_equal(SEND(v0, a), 0);
    assert_int_equal(SEND(v0, b), 0);
    assert_int_equal(cb(0)->head[0], a);
    assert_int_equal(cb(0)->head[15], b);
    assert_int_equal(cb(0)->ready, 1u | 1u << 15);
    assert_int_equal(*word(a), W_PENDING | W_LINKED);   /* different queues */
    /* Moving a linked event to another queue only affects later raises;
       once consumed, it goes to the new queue, and the old one's tail is
       forgotten so that nothing links behind a word that moved. */
    assert_int_equal(set_priority(v0, a, 5), 0);
    *word(a) = 0;
    assert_int_equal(SEND(v0, a), 0);
    assert_int_equal(cb(0)->head[5], a);
    assert_int_equal(evtchn_domain_of(d0)->vcpu[0].queue[0].tail, 0);
    /* A rebound port starts at the default priority. */
    assert_int_equal(CLOSE(v0, b), 0);
    *word(b) = 0;
    assert_int_equal(bind_ipi(v0, 0), b);
    assert_int_equal(SEND(v0, b), 0);
    assert_int_equal(cb(0)->head[EVTCHN_FIFO_PRIORITY_DEFAULT], b);
}

static void masking(void **state)
{
    fifo_on();
    long a = bind_ipi(v0, 0);

    *word(a) = W_MASKED;
    assert_int_equal(SEND(v0, a), 0);
    assert_int_equal(*word(a), W_MASKED | W_PENDING);   /* not linked */
    assert_int_equal(cb(0)->ready, 0);
    assert_int_equal(upcall(v0), 0);
    /* Linux's unmask found it PENDING and asks the hypervisor. */
    assert_int_equal(UNMASK(v0, a), 0);
    assert_int_equal(*word(a), W_PENDING | W_LINKED);
    assert_int_equal(cb(0)->head[EVTCHN_FIFO_PRIORITY_DEFAULT], a);
    assert_int_equal(upcall(v0), 1);
    /* Unmasking a quiet event links nothing. */
    *word(a) = W_MASKED;
    cb(0)->ready = 0;
    guest_ack(v0);
    assert_int_equal(UNMASK(v0, a), 0);
    assert_int_equal(*word(a), 0);
    assert_int_equal(upcall(v0), 0);
    assert_int_equal(UNMASK(v0, 1u << 17), -EINVAL);
    *word(100) = W_MASKED;
    assert_int_equal(UNMASK(v0, 100), 0);            /* a free port: unmasked, no more */
    assert_int_equal(*word(100), 0);
    assert_int_equal(UNMASK(v0, 900), -EINVAL);      /* beyond the port table */
}

/* Events raised before their event word exists are kept and raised when the
   page arrives; so are events pending in 2-level when the guest switches. */
static void pending_before_words(void **state)
{
    long early = bind_ipi(v0, 0);
    assert_int_equal(SEND(v0, early), 0);            /* 2-level, pending */
    assert_true(l2_pending(d0, early));
    guest_ack(v0);
    assert_int_equal(init_control(v0, RAM_GFN + CB_PAGE, 0, 0, NULL), 0);
    assert_int_equal(init_control(v0, RAM_GFN + CB_PAGE, 0x100, 1, NULL), 0);
    /* Ports beyond the 2-level limit now, with no words yet. */
    for (uint32_t p = early + 1; p < 1030; p++)
        assert_int_equal(alloc_unbound(v0, DOMID_SELF, 7), p);
    long late = bind_ipi(v0, 1);
    assert_int_equal(late, 1030);
    assert_int_equal(SEND(v0, late), 0);             /* no word: remembered */
    assert_int_equal(upcall(v0b), 0);
    assert_int_equal(expand(v0, RAM_GFN + ARR_PAGE), 0);
    assert_int_equal(*word(early), W_PENDING | W_LINKED);
    assert_int_equal(cb(0)->head[EVTCHN_FIFO_PRIORITY_DEFAULT], early);
    assert_int_equal(upcall(v0), 1);
    assert_int_equal(upcall(v0b), 0);
    assert_int_equal(expand(v0, RAM_GFN + ARR_PAGE + 1), 0);
    assert_int_equal(*word(late), W_PENDING | W_LINKED);
    assert_int_equal(cb(1)->head[EVTCHN_FIFO_PRIORITY_DEFAULT], late);
    assert_int_equal(upcall(v0b), 1);
    /* A vCPU without a control block: the event stays pending, unlinked. */
    struct evtchn_vcpu *ev1 = &evtchn_domain_of(d0)->vcpu[1];
    struct evtchn_fifo_control_block *saved = ev1->control_block;
    ev1->control_block = NULL;
    *word(late) = 0;
    assert_int_equal(SEND(v0, late), 0);
    assert_int_equal(*word(late), W_PENDING);
    ev1->control_block = saved;
}

static void reset_to_2l(void **state)
{
    fifo_on();
    long a = bind_ipi(v0, 0);

    assert_int_equal(SEND(v0, a), 0);
    assert_int_equal(reset(v0, DOMID_SELF), 0);
    assert_ptr_equal(evtchn_domain_of(d0)->ops, &evtchn_ops_2l);
    assert_int_equal(*word(a), W_LINKED);            /* closed: PENDING cleared */
    assert_int_equal(set_priority(v0, 0, 1), -ENOSYS);
    assert_int_equal(expand(v0, RAM_GFN + ARR_PAGE), -EOPNOTSUPP);
    a = bind_ipi(v0, 0);
    assert_int_equal(SEND(v0, a), 0);
    assert_true(l2_pending(d0, a));
    /* And FIFO again, with fresh control blocks. */
    memset(ram[CB_PAGE], 0, 4096);
    memset(ram[ARR_PAGE], 0, 4096);
    fifo_on();
    assert_int_equal(*word(a), W_PENDING | W_LINKED);   /* carried over */
}

/* ---- a hostile guest ---------------------------------------------------------------------------- */

static void hostile_words(void **state)
{
    fifo_on();
    long a = bind_ipi(v0, 0), b = bind_ipi(v0, 0), c = bind_ipi(v0, 0);

    /* A loop a -> b -> a in the guest's words: the hypervisor never follows
       LINK, so raising more events ends (and only rewrites the tail). */
    assert_int_equal(SEND(v0, a), 0);
    *word(a) = W_PENDING | W_LINKED | b;
    *word(b) = W_PENDING | W_LINKED | a;
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(SEND(v0, c), 0);
        *word(c) &= ~W_PENDING;
    }
    assert_int_equal(*word(a) & EVTCHN_FIFO_LINK_MASK, c);
    /* Garbage everywhere: LINK values beyond the limit, BUSY left set, the
       whole control block overwritten. */
    for (unsigned int i = 0; i < 1024; i++)
        *word(i) = 0x1fffffffu | W_BUSY;
    memset((void *)cb(0), 0xff, sizeof(struct evtchn_fifo_control_block));
    assert_int_equal(SEND(v0, a), 0);
    assert_int_equal(SEND(v0, b), 0);
    assert_int_equal(CLOSE(v0, c), 0);
    /* A free port whose word the guest keeps LINKED is not handed out. */
    *word(c) |= W_LINKED;
    assert_int_equal(bind_ipi(v0, 0), c + 1);
    *word(c) &= ~W_LINKED;
    assert_int_equal(bind_ipi(v0, 0), c);
    /* The control block and event array on the same page: allowed (Xen). */
    assert_int_equal(reset(v0, DOMID_SELF), 0);
    assert_int_equal(init_control(v0, RAM_GFN + ARR_PAGE, 0, 0, NULL), 0);
    assert_int_equal(expand(v0, RAM_GFN + ARR_PAGE), 0);
    long p = bind_ipi(v0, 0);
    assert_true(p > 0);
    assert_int_equal(SEND(v0, p), 0);
}

/* The guest keeps changing the tail's word while the hypervisor links new
   events behind it: each link gives up after a bounded number of cmpxchg
   attempts, so sending always ends. */
static volatile bool stop_flipping;
static void *flipper(void *arg)
{
    volatile uint32_t *w = arg;

    while (!stop_flipping)
        __atomic_fetch_xor(w, W_MASKED, __ATOMIC_SEQ_CST);
    return NULL;
}

static void concurrent_tail_changes(void **state)
{
    pthread_t t;

    fifo_on();
    long a = bind_ipi(v0, 0), b = bind_ipi(v0, 0);
    assert_int_equal(SEND(v0, a), 0);                /* a is the tail, LINKED */
    stop_flipping = false;
    assert_int_equal(pthread_create(&t, NULL, flipper, (void *)word(a)), 0);
    for (int i = 0; i < 20000; i++) {
        assert_int_equal(SEND(v0, b), 0);
        __atomic_fetch_and(word(b), ~(W_PENDING | W_LINKED), __ATOMIC_SEQ_CST);
        evtchn_domain_of(d0)->vcpu[0].queue[EVTCHN_FIFO_PRIORITY_DEFAULT].tail = (uint32_t)a;
    }
    stop_flipping = true;
    pthread_join(t, NULL);
    /* Given-up links are logged a bounded number of times. */
    assert_true(warnings <= EVTCHN_FIFO_LOST_LOGGED);
    /* a is still LINKED and its LINK names b (when a link got through), and
       BUSY is never left behind. */
    assert_true(*word(a) & W_LINKED);
    assert_false(*word(a) & W_BUSY);
}

static void poll_fifo(void **state)
{
    uint32_t port;

    fifo_on();
    long a = bind_ipi(v0, 1);
    port = (uint32_t)a;
    assert_int_equal(copy_to_guest(v0, G(0x900), &port, 4), 0);
    assert_int_equal(evtchn_poll(v0, G(0x900), 1, 0), 0);
    assert_true(v0->is_blocked);
    *word(a) = W_MASKED;                             /* masked, like Linux's spinlock kick */
    assert_int_equal(SEND(v0, a), 0);
    assert_false(v0->is_blocked);
    assert_int_equal(evtchn_poll(v0, G(0x900), 1, 0), 0);   /* pending: at once */
    assert_false(v0->is_blocked);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, env_setup, env_teardown)
    const struct CMUnitTest tests[] = {
        T(init_control_errors), T(frame_references), T(expand_array), T(queueing), T(priorities), T(masking),
        T(pending_before_words), T(reset_to_2l), T(hostile_words), T(concurrent_tail_changes),
        T(poll_fifo),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
