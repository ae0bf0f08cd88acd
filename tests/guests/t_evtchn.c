/*
 * evtchn: HYPERVISOR_event_channel_op as Xen 4.17 implements it for an HVM
 * guest (xen/common/event_channel.c, event_2l.c, event_fifo.c), the way
 * Linux uses it (drivers/xen/events/), and the delivery of events as
 * upcalls:
 *   - 2-level: VIRQ and IPI binding (twice: -EEXIST; global VIRQs on vCPU 0
 *     only; closing and rebinding), an IPI to ourselves arriving through the
 *     HVM_PARAM_CALLBACK_IRQ vector, masking and EVTCHNOP_unmask, an
 *     interdomain channel looped back to ourselves, status, SCHEDOP_poll
 *     (pending ports, timeouts, bad ports);
 *   - the per-vCPU upcall vector (HVMOP_set_evtchn_upcall_vector) taking over;
 *   - FIFO: EVTCHNOP_init_control and expand_array (bad vCPUs, offsets and
 *     GFNs first), queued delivery with READY bits and priorities, masking,
 *     a link loop built by a hostile guest (the hypervisor must not hang on
 *     it), EVTCHNOP_reset back to 2-level and FIFO again, the array limit;
 *   - hostile arguments everywhere: ports out of range, unknown commands,
 *     unreadable arguments.
 * A watchdog ends the run if an upcall or a poll never returns.
 */
#include "common.h"

TEST_GUEST("evtchn", NEEDS_XEN, "event channels: 2-level and FIFO delivery, VIRQs, IPIs, "
           "interdomain loopback, poll, upcall vector, hostile arguments");

#define CALLBACK_VECTOR 0xf3
#define UPCALL_VECTOR   0xf5
#define SPIN            2000000           /* iterations to wait for an upcall */
#define NR_SEEN         4096

static union {
    struct shared_info s;
    uint8_t raw[4096];
} shinfo_page __aligned(4096);
static struct evtchn_fifo_control_block fifo_cb_page[4096 / sizeof(struct evtchn_fifo_control_block)]
    __aligned(4096);
static uint32_t fifo_array[2][1024] __aligned(4096);

static volatile struct shared_info *const shinfo = &shinfo_page.s;
static volatile struct vcpu_info *const vi = &shinfo_page.s.vcpu_info[0];
static volatile struct evtchn_fifo_control_block *const fcb = &fifo_cb_page[0];

static volatile unsigned int upcalls, upcalls_on_callback, upcalls_on_vector;
static volatile uint64_t seen[NR_SEEN / 64];      /* ports the handler took */
static volatile uint32_t ready_seen;              /* FIFO READY bits met */
static volatile bool fifo_mode;

#define W_PENDING (1u << EVTCHN_FIFO_PENDING)
#define W_MASKED  (1u << EVTCHN_FIFO_MASKED)
#define W_LINKED  (1u << EVTCHN_FIFO_LINKED)

/* ---- the upcall handler, 2-level and FIFO (as Linux's, simplified) --------------- */

static void saw(uint32_t port)
{
    if (port < NR_SEEN)
        __atomic_fetch_or(&seen[port / 64], 1ull << (port % 64), __ATOMIC_SEQ_CST);
}
static bool was_seen(uint32_t port) { return port < NR_SEEN && (seen[port / 64] & (1ull << (port % 64))); }
static void forget(uint32_t port) { if (port < NR_SEEN) seen[port / 64] &= ~(1ull << (port % 64)); }

static void consume_2l(void)
{
    uint64_t sel = __atomic_exchange_n(&vi->evtchn_pending_sel, 0, __ATOMIC_SEQ_CST);

    while (sel) {
        unsigned int w = __builtin_ctzll(sel);
        uint64_t bits = shinfo->evtchn_pending[w] & ~shinfo->evtchn_mask[w];

        sel &= sel - 1;
        while (bits) {
            unsigned int b = __builtin_ctzll(bits);
            bits &= bits - 1;
            __atomic_fetch_and(&shinfo->evtchn_pending[w], ~(1ull << b), __ATOMIC_SEQ_CST);
            saw(w * 64 + b);
        }
    }
}

static volatile uint32_t *fifo_word(uint32_t port)
{
    return port < 2048 ? &fifo_array[port / 1024][port % 1024] : NULL;
}

/* Walks one queue from its HEAD, unlinking; bounded, since a hostile test
   below builds a loop on purpose. */
static void consume_queue(unsigned int prio)
{
    uint32_t port = fcb->head[prio];

    for (unsigned int n = 0; port && n < 2100; n++) {
        volatile uint32_t *w = fifo_word(port);
        uint32_t old;

        if (!w)
            break;
        old = *w;
        while (!__atomic_compare_exchange_n(w, &old, old & ~(W_LINKED | EVTCHN_FIFO_LINK_MASK),
                                            false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
            ;
        if ((old & W_PENDING) && !(old & W_MASKED)) {
            __atomic_fetch_and(w, ~W_PENDING, __ATOMIC_SEQ_CST);
            saw(port);
        }
        port = old & EVTCHN_FIFO_LINK_MASK;
    }
}

static void consume_fifo(void)
{
    uint32_t ready = __atomic_exchange_n(&fcb->ready, 0, __ATOMIC_SEQ_CST);

    ready_seen |= ready;
    for (unsigned int prio = 0; prio < EVTCHN_FIFO_MAX_QUEUES; prio++)
        if (ready & (1u << prio))
            consume_queue(prio);
}

static void upcall_handler(struct cpu_regs *regs)
{
    upcalls++;
    if (regs->vector == CALLBACK_VECTOR)
        upcalls_on_callback++;
    else
        upcalls_on_vector++;
    vi->evtchn_upcall_pending = 0;
    if (fifo_mode)
        consume_fifo();
    else
        consume_2l();
}

/* Lets the pending upcall in (if any) and waits for port to be taken. */
static bool wait_seen(uint32_t port)
{
    asm volatile ("sti" ::: "memory");
    for (unsigned int i = 0; i < SPIN && !was_seen(port); i++)
        asm volatile ("pause" ::: "memory");
    asm volatile ("cli" ::: "memory");
    return was_seen(port);
}
/* Interrupts on for a while: how many upcalls came. */
static unsigned int upcalls_during_window(void)
{
    unsigned int before = upcalls;

    asm volatile ("sti" ::: "memory");
    for (unsigned int i = 0; i < SPIN / 10; i++)
        asm volatile ("pause" ::: "memory");
    asm volatile ("cli" ::: "memory");
    return upcalls - before;
}

/* ---- hypercall helpers ---------------------------------------------------------------- */

static long evtchn_op(int cmd, void *arg) { return HYPERVISOR_event_channel_op(cmd, arg); }

static long bind_virq(uint32_t virq, uint32_t vcpu, uint32_t *port)
{
    struct evtchn_bind_virq b = { .virq = virq, .vcpu = vcpu };
    long rc = evtchn_op(EVTCHNOP_bind_virq, &b);

    *port = b.port;
    return rc;
}
static long bind_ipi(uint32_t vcpu, uint32_t *port)
{
    struct evtchn_bind_ipi b = { .vcpu = vcpu };
    long rc = evtchn_op(EVTCHNOP_bind_ipi, &b);

    *port = b.port;
    forget(b.port);                    /* a reused port was seen before */
    return rc;
}
static long port_op(int cmd, uint32_t port) { return evtchn_op(cmd, &port); }
static long ev_send(uint32_t port) { return port_op(EVTCHNOP_send, port); }
static long ev_close(uint32_t port) { return port_op(EVTCHNOP_close, port); }
static long ev_unmask(uint32_t port) { return port_op(EVTCHNOP_unmask, port); }
static long ev_status(uint32_t port, struct evtchn_status *s)
{
    memset(s, 0, sizeof(*s));
    s->dom = DOMID_SELF;
    s->port = port;
    return evtchn_op(EVTCHNOP_status, s);
}
static long ev_reset(domid_t dom)
{
    struct evtchn_reset r = { .dom = dom };
    return evtchn_op(EVTCHNOP_reset, &r);
}
static long init_control(uint64_t gfn, uint32_t offset, uint32_t vcpu, uint8_t *link_bits)
{
    struct evtchn_init_control ic = { .control_gfn = gfn, .offset = offset, .vcpu = vcpu };
    long rc = evtchn_op(EVTCHNOP_init_control, &ic);

    if (link_bits)
        *link_bits = ic.link_bits;
    return rc;
}
static long expand_array(uint64_t gfn)
{
    struct evtchn_expand_array ea = { .array_gfn = gfn };
    return evtchn_op(EVTCHNOP_expand_array, &ea);
}
static long set_priority(uint32_t port, uint32_t prio)
{
    struct evtchn_set_priority sp = { .port = port, .priority = prio };
    return evtchn_op(EVTCHNOP_set_priority, &sp);
}
static long poll_ports(uint32_t *ports, unsigned int nr, uint64_t timeout)
{
    struct sched_poll p = { .nr_ports = nr, .timeout = timeout };

    set_xen_guest_handle(p.ports, ports);
    return HYPERVISOR_sched_op(SCHEDOP_poll, &p);
}
static uint64_t now_ns(void)
{
    xen_hvm_get_time_t t = { 0 };

    HYPERVISOR_hvm_op(HVMOP_get_time, &t);
    return t.now;
}
static long watchdog(uint32_t id, uint32_t timeout)
{
    struct sched_watchdog wd = { .id = id, .timeout = timeout };
    return HYPERVISOR_sched_op(SCHEDOP_watchdog, &wd);
}
static void l2_mask(uint32_t port, bool on)
{
    if (on)
        __atomic_fetch_or(&shinfo->evtchn_mask[port / 64], 1ull << (port % 64), __ATOMIC_SEQ_CST);
    else
        __atomic_fetch_and(&shinfo->evtchn_mask[port / 64], ~(1ull << (port % 64)), __ATOMIC_SEQ_CST);
}
static bool l2_pending(uint32_t port)
{
    return shinfo->evtchn_pending[port / 64] & (1ull << (port % 64));
}

/* ---- hostile arguments ---------------------------------------------------------------- */

static void test_bad_arguments(void)
{
    static const uint32_t bad_ports[] = { 0, 4096, 1u << 17, 0x7fffffff, 0xffffffff };
    struct evtchn_status s;
    uint32_t port;

    check_rc("EVTCHNOP 15 (unknown)", evtchn_op(15, &port), -XEN_ENOSYS);
    check_rc("EVTCHNOP -1 (unknown)", evtchn_op(-1, &port), -XEN_ENOSYS);
    check_rc("EVTCHNOP_send from an unmapped pointer", evtchn_op(EVTCHNOP_send, BAD_PTR_UNMAPPED),
             -XEN_EFAULT);
    check_rc("EVTCHNOP_bind_ipi from a non-RAM GPA", evtchn_op(EVTCHNOP_bind_ipi, BAD_PTR_NOT_RAM),
             -XEN_EFAULT);
    check_rc("EVTCHNOP_status from a non-canonical pointer",
             evtchn_op(EVTCHNOP_status, BAD_PTR_NONCANON), -XEN_EFAULT);
    for (unsigned int i = 0; i < ARRAY_SIZE(bad_ports); i++) {
        uint32_t p = bad_ports[i];
        struct evtchn_bind_vcpu bv = { .port = p, .vcpu = 0 };
        long rs = ev_send(p), rc = ev_close(p), ru = ev_unmask(p);
        long rb = evtchn_op(EVTCHNOP_bind_vcpu, &bv);

        check(rs == -XEN_EINVAL && rc == -XEN_EINVAL && rb == -XEN_EINVAL &&
              (p == 0 ? ru == 0 : ru == -XEN_EINVAL),
              "port %#x: send %ld, close %ld, bind_vcpu %ld, unmask %ld (EINVAL%s)", p, rs, rc,
              rb, ru, p == 0 ? "; unmask of port 0: 0" : "");
    }
    check_rc("EVTCHNOP_status of port 0 (reserved)", ev_status(0, &s), 0);
    check_eq("port 0 status closed", s.status, EVTCHNSTAT_closed);
    check_rc("EVTCHNOP_status of port 0x80000000", ev_status(0x80000000u, &s), -XEN_EINVAL);
    check_rc("bind_virq VIRQ 24 (NR_VIRQS)", bind_virq(24, 0, &port), -XEN_EINVAL);
    check_rc("bind_virq VIRQ 0xffffffff", bind_virq(0xffffffff, 0, &port), -XEN_EINVAL);
    check_rc("bind_virq VIRQ_CONSOLE (global) on vCPU 1", bind_virq(VIRQ_CONSOLE, 1, &port),
             -XEN_EINVAL);
    check_rc("bind_virq VIRQ_TIMER on vCPU 4095", bind_virq(VIRQ_TIMER, 4095, &port), -XEN_ENOENT);
    check_rc("bind_ipi on vCPU 0xffffffff", bind_ipi(0xffffffff, &port), -XEN_ENOENT);
    struct evtchn_bind_pirq bp = { .pirq = 0xffffffff };
    check_rc("bind_pirq -1", evtchn_op(EVTCHNOP_bind_pirq, &bp), -XEN_EINVAL);
    struct evtchn_bind_interdomain bi = { .remote_dom = DOMID_SELF, .remote_port = 0 };
    check_rc("bind_interdomain to port 0", evtchn_op(EVTCHNOP_bind_interdomain, &bi), -XEN_EINVAL);
    bi.remote_dom = 77;
    check_rc("bind_interdomain to domain 77 (none)", evtchn_op(EVTCHNOP_bind_interdomain, &bi),
             -XEN_ESRCH);
    check_rc("set_priority with the 2-level ABI", set_priority(1, 1), -XEN_ENOSYS);
    check_rc("expand_array before init_control", expand_array((uintptr_t)fifo_array >> 12),
             -XEN_EOPNOTSUPP);
    check_rc("EVTCHNOP_reset of domain 77", ev_reset(77), -XEN_ESRCH);
    struct evtchn_reset r = { .dom = DOMID_SELF };
    check_rc("EVTCHNOP_reset_cont (14) with no reset in progress", evtchn_op(14, &r), -XEN_EBUSY);
}

/* ---- 2-level -------------------------------------------------------------------------------- */

static void test_virq_binding(void)
{
    struct evtchn_status s;
    uint32_t t, t2, d;

    if (!check_rc("bind_virq VIRQ_TIMER vCPU 0", bind_virq(VIRQ_TIMER, 0, &t), 0))
        return;
    check_rc("bind_virq VIRQ_TIMER vCPU 0 again", bind_virq(VIRQ_TIMER, 0, &t2), -XEN_EEXIST);
    check_rc("EVTCHNOP_status of the VIRQ port", ev_status(t, &s), 0);
    check(s.status == EVTCHNSTAT_virq && s.u.virq == VIRQ_TIMER && s.vcpu == 0,
          "status virq %u vcpu %u (VIRQ_TIMER on vCPU 0)", s.u.virq, s.vcpu);
    check_rc("EVTCHNOP_send on a VIRQ port", ev_send(t), -XEN_EINVAL);
    struct evtchn_bind_vcpu bv = { .port = t, .vcpu = 0 };
    check_rc("EVTCHNOP_bind_vcpu of a per-vCPU VIRQ", evtchn_op(EVTCHNOP_bind_vcpu, &bv), -XEN_EINVAL);
    check_rc("close the VIRQ_TIMER port", ev_close(t), 0);
    check_rc("close it again", ev_close(t), -XEN_EINVAL);
    check_rc("bind_virq VIRQ_TIMER after closing", bind_virq(VIRQ_TIMER, 0, &t2), 0);
    check_eq("the same (lowest free) port again", t2, t);
    check_rc("bind_virq VIRQ_DEBUG vCPU 0", bind_virq(VIRQ_DEBUG, 0, &d), 0);
    check_rc("bind_virq VIRQ_CONSOLE (global) vCPU 0", bind_virq(VIRQ_CONSOLE, 0, &d), 0);
    bv.port = d;
    check_rc("EVTCHNOP_bind_vcpu of the global VIRQ to vCPU 0", evtchn_op(EVTCHNOP_bind_vcpu, &bv), 0);

    /* A real VIRQ_TIMER, when a one-shot timer exists to raise it. */
    struct vcpu_set_singleshot_timer st = { .timeout_abs_ns = now_ns() + 1000000 };
    long rc = HYPERVISOR_vcpu_op(VCPUOP_set_singleshot_timer, 0, &st);
    if (rc == -XEN_ENOSYS) {
        printk("  note: VCPUOP_set_singleshot_timer is -ENOSYS: VIRQ_TIMER delivery not checked\n");
        return;
    }
    check_rc("VCPUOP_set_singleshot_timer in 1 ms", rc, 0);
    check(wait_seen(t2), "VIRQ_TIMER (port %u) delivered by the one-shot timer", t2);
}

static void test_ipi_delivery(void)
{
    struct evtchn_status s;
    uint32_t p;

    if (!check_rc("bind_ipi vCPU 0", bind_ipi(0, &p), 0))
        return;
    check_rc("EVTCHNOP_status of the IPI port", ev_status(p, &s), 0);
    check(s.status == EVTCHNSTAT_ipi && s.vcpu == 0, "status ipi (%u) on vCPU %u", s.status, s.vcpu);
    unsigned int cb0 = upcalls_on_callback;
    check_rc("EVTCHNOP_send on the IPI port", ev_send(p), 0);
    check(l2_pending(p) || was_seen(p), "port %u pending in shared_info", p);
    check(vi->evtchn_upcall_pending || was_seen(p), "evtchn_upcall_pending set");
    check(wait_seen(p), "the upcall took port %u", p);
    check(upcalls_on_callback > cb0, "it came on the callback vector %#x", CALLBACK_VECTOR);

    /* Masked: pending, but no upcall until EVTCHNOP_unmask. */
    forget(p);
    l2_mask(p, true);
    check_rc("send on the masked port", ev_send(p), 0);
    check(l2_pending(p), "masked port pending");
    check_eq("upcalls while it is masked", upcalls_during_window(), 0);
    check_rc("EVTCHNOP_unmask", ev_unmask(p), 0);
    check(!(shinfo->evtchn_mask[p / 64] & (1ull << (p % 64))), "mask bit cleared by the hypervisor");
    check(wait_seen(p), "the unmasked port was delivered");
    check_rc("close the IPI port", ev_close(p), 0);
}

static void test_interdomain_loopback(void)
{
    struct evtchn_alloc_unbound a = { .dom = DOMID_SELF, .remote_dom = DOMID_SELF };
    struct evtchn_bind_interdomain b = { .remote_dom = DOMID_SELF };
    struct evtchn_status s;

    if (!check_rc("alloc_unbound for ourselves", evtchn_op(EVTCHNOP_alloc_unbound, &a), 0))
        return;
    forget(a.port);
    check_rc("status of the unbound port", ev_status(a.port, &s), 0);
    check(s.status == EVTCHNSTAT_unbound && s.u.unbound.dom == cpuid(xen_cpuid_base + 4).c,
          "unbound, offered to ourselves (domain %u)", s.u.unbound.dom);
    check_rc("send on an unbound port (dropped)", ev_send(a.port), 0);
    b.remote_port = a.port;
    if (!check_rc("bind_interdomain to it", evtchn_op(EVTCHNOP_bind_interdomain, &b), 0))
        return;
    check(wait_seen(b.local_port), "the new local port %u is raised once on binding", b.local_port);
    check(!was_seen(a.port), "... and not the remote end %u", a.port);
    forget(b.local_port);
    check_rc("send on the first end", ev_send(a.port), 0);
    check(wait_seen(b.local_port), "... arrives on the other end %u", b.local_port);
    check(!was_seen(a.port), "... and not on the sending end %u", a.port);
    check_rc("send on the other end", ev_send(b.local_port), 0);
    check(wait_seen(a.port), "... arrives on the first end %u", a.port);
    check_rc("status of the bound end", ev_status(a.port, &s), 0);
    check(s.status == EVTCHNSTAT_interdomain && s.u.interdomain.port == b.local_port,
          "interdomain, peer port %u", s.u.interdomain.port);
    check_rc("bind_interdomain to a bound port", evtchn_op(EVTCHNOP_bind_interdomain, &b), -XEN_EINVAL);
    check_rc("close the first end", ev_close(a.port), 0);
    check_rc("status of the other end", ev_status(b.local_port, &s), 0);
    check_eq("the other end is unbound again", s.status, EVTCHNSTAT_unbound);
    check_rc("close the other end", ev_close(b.local_port), 0);
}

static void test_poll(void)
{
    uint32_t ports[130], p, q;

    if (bind_ipi(0, &p) || bind_ipi(0, &q)) {
        test_fail("bind_ipi for the poll tests");
        return;
    }
    ports[0] = p;
    check_rc("SCHEDOP_poll with 129 ports", poll_ports(ports, 129, 0), -XEN_EINVAL);
    ports[1] = 5000;
    check_rc("SCHEDOP_poll with port 5000", poll_ports(ports, 2, 0), -XEN_EINVAL);
    check_rc("SCHEDOP_poll with an unmapped array", poll_ports(BAD_PTR_UNMAPPED, 1, 0), -XEN_EFAULT);
    /* Linux's PV spinlock kick: a masked IPI port, polled. */
    l2_mask(q, true);
    check_rc("send on a masked port", ev_send(q), 0);
    ports[0] = p;
    ports[1] = q;
    check_rc("SCHEDOP_poll with a pending (masked) port returns", poll_ports(ports, 2, 0), 0);
    uint64_t t0 = now_ns();
    check_rc("SCHEDOP_poll on a quiet port, 20 ms timeout", poll_ports(ports, 1, t0 + 20000000), 0);
    uint64_t waited = now_ns() - t0;
    check(waited >= 15000000 && waited < 5000000000ull,
          "SCHEDOP_poll slept until its timeout (%lu us)", (unsigned long)(waited / 1000));
    check_rc("SCHEDOP_poll with a timeout in the past", poll_ports(ports, 1, 1), 0);
    __atomic_fetch_and(&shinfo->evtchn_pending[q / 64], ~(1ull << (q % 64)), __ATOMIC_SEQ_CST);
    l2_mask(q, false);
    ev_close(p);
    ev_close(q);
}

/* ---- the per-vCPU upcall vector ------------------------------------------------------------------ */

static void test_upcall_vector(void)
{
    struct cpuid_res r = cpuid(xen_cpuid_base + 4);
    xen_hvm_evtchn_upcall_vector_t uv = { .vcpu = 0, .vector = UPCALL_VECTOR };
    uint32_t p;

    check(r.a & XEN_HVM_CPUID_UPCALL_VECTOR, "CPUID %#x EAX offers XEN_HVM_CPUID_UPCALL_VECTOR (%#x)",
          xen_cpuid_base + 4, r.a);
    if (!check_rc("HVMOP_set_evtchn_upcall_vector vCPU 0",
                  HYPERVISOR_hvm_op(HVMOP_set_evtchn_upcall_vector, &uv), 0))
        return;
    if (bind_ipi(0, &p)) {
        test_fail("bind_ipi for the upcall vector");
        return;
    }
    unsigned int on_vec = upcalls_on_vector, on_cb = upcalls_on_callback;
    check_rc("send", ev_send(p), 0);
    check(wait_seen(p), "port %u delivered", p);
    check(upcalls_on_vector > on_vec && upcalls_on_callback == on_cb,
          "on the per-vCPU vector %#x, not the callback vector", UPCALL_VECTOR);
    ev_close(p);
}

/* ---- FIFO ------------------------------------------------------------------------------------------ */

static uint64_t gfn_of(const volatile void *p) { return (uintptr_t)p >> 12; }
/* A frame that is not RAM: a hole of the memory map, else the BIOS ROM. */
static uint64_t nonram_gfn(void) { return free_gfn(0) ? free_gfn(0) : 0xfffff; }

static void test_fifo_setup_errors(void)
{
    uint8_t lb = 0;
    uint64_t cb_gfn = gfn_of(fcb);

    check_rc("init_control for vCPU 4095", init_control(cb_gfn, 0, 4095, &lb), -XEN_ENOENT);
    check_rc("init_control at offset 4095", init_control(cb_gfn, 4095, 0, &lb), -XEN_EINVAL);
    check_rc("init_control at offset 4032 (block crosses the page)", init_control(cb_gfn, 4032, 0, &lb),
             -XEN_EINVAL);
    check_rc("init_control at offset 4 (unaligned)", init_control(cb_gfn, 4, 0, &lb), -XEN_EINVAL);
    check_rc("init_control at offset 0xfffffff8", init_control(cb_gfn, 0xfffffff8, 0, &lb), -XEN_EINVAL);
    check_rc("init_control on a GFN that is not RAM", init_control(nonram_gfn(), 0, 0, &lb), -XEN_EINVAL);
    check_rc("init_control on GFN 0xfffff (ROM)", init_control(0xfffff, 0, 0, &lb), -XEN_EINVAL);
    check_rc("init_control on GFN 2^60", init_control(1ull << 60, 0, 0, &lb), -XEN_EINVAL);
    check_rc("init_control from an unmapped pointer", evtchn_op(EVTCHNOP_init_control, BAD_PTR_UNMAPPED),
             -XEN_EFAULT);
    check_rc("still 2-level: expand_array", expand_array(gfn_of(fifo_array)), -XEN_EOPNOTSUPP);
}

static bool fifo_start(void)
{
    uint8_t lb = 0;

    memset((void *)fcb, 0, sizeof(*fcb));
    memset(fifo_array, 0, sizeof(fifo_array));
    if (!check_rc("EVTCHNOP_init_control vCPU 0", init_control(gfn_of(fcb), 0, 0, &lb), 0))
        return false;
    fifo_mode = true;
    check_eq("init_control link_bits", lb, EVTCHN_FIFO_LINK_BITS);
    check_rc("init_control again for vCPU 0", init_control(gfn_of(fcb), 0, 0, &lb), -XEN_EINVAL);
    check_rc("expand_array on a GFN that is not RAM", expand_array(nonram_gfn()), -XEN_EINVAL);
    return check_rc("EVTCHNOP_expand_array (ports 0-1023)", expand_array(gfn_of(fifo_array[0])), 0) &&
           check_rc("EVTCHNOP_expand_array (ports 1024-2047)", expand_array(gfn_of(fifo_array[1])), 0);
}

static void test_fifo_delivery(void)
{
    uint32_t a, b;

    if (bind_ipi(0, &a) || bind_ipi(0, &b)) {
        test_fail("bind_ipi with FIFO");
        return;
    }
    check_rc("send (FIFO)", ev_send(a), 0);
    check(wait_seen(a), "port %u delivered through the FIFO queue", a);
    check(ready_seen & (1u << EVTCHN_FIFO_PRIORITY_DEFAULT), "READY bit of the default priority");
    check_eq("event word consumed", *fifo_word(a), 0);

    check_rc("set_priority 16", set_priority(a, 16), -XEN_EINVAL);
    check_rc("set_priority 3", set_priority(a, 3), 0);
    ready_seen = 0;
    forget(a);
    check_rc("send at priority 3", ev_send(a), 0);
    check(wait_seen(a), "priority 3 event delivered");
    check(ready_seen == 1u << 3, "on queue 3 (READY %#x)", ready_seen);

    /* Two events before the upcall runs: linked one behind the other. */
    forget(a);
    forget(b);
    set_priority(a, EVTCHN_FIFO_PRIORITY_DEFAULT);
    check_rc("send a", ev_send(a), 0);
    check_rc("send b", ev_send(b), 0);
    check(*fifo_word(a) == (W_PENDING | W_LINKED | b) || was_seen(a),
          "a's word links to b (%#x)", *fifo_word(a));
    check(wait_seen(a) && wait_seen(b), "both delivered");

    /* Masked: pending and not linked; EVTCHNOP_unmask links it. */
    forget(a);
    *fifo_word(a) = W_MASKED;
    check_rc("send on a masked FIFO port", ev_send(a), 0);
    check_eq("masked word: PENDING, not LINKED", *fifo_word(a), W_MASKED | W_PENDING);
    check_eq("upcalls while masked", upcalls_during_window(), 0);
    check_rc("EVTCHNOP_unmask (FIFO)", ev_unmask(a), 0);
    check(wait_seen(a), "the unmasked event was delivered");

    /* SCHEDOP_poll reads the event word. */
    *fifo_word(b) = W_MASKED;
    ev_send(b);
    check_rc("SCHEDOP_poll on a pending FIFO port", poll_ports(&b, 1, 0), 0);
    *fifo_word(b) = 0;
    ev_close(a);
    ev_close(b);
}

/* A hostile guest: its queue is a loop and its words are garbage. The
   hypervisor only ever writes the tail's LINK and the HEAD, so every call
   returns; then EVTCHNOP_reset brings us back to a clean 2-level state. */
static void test_fifo_hostile(void)
{
    uint32_t x, y, z;

    if (bind_ipi(0, &x) || bind_ipi(0, &y) || bind_ipi(0, &z)) {
        test_fail("bind_ipi for the hostile FIFO test");
        return;
    }
    ev_send(x);                                    /* x is the tail (interrupts off) */
    *fifo_word(x) = W_LINKED | y;
    *fifo_word(y) = W_LINKED | x;
    long rc = 0;
    for (unsigned int i = 0; i < 200 && !rc; i++) {
        rc = ev_send(z) | ev_send(y) | ev_send(x);
        *fifo_word(z) &= ~W_PENDING;
    }
    check_rc("200 rounds of sends into a looped queue return", rc, 0);
    for (unsigned int i = 0; i < 2048; i++)
        fifo_word(i)[0] = 0x1fffffffu;             /* BUSY and garbage, no LINKED */
    memset((void *)fcb, 0xff, sizeof(*fcb));
    check_rc("send with garbage words and control block", ev_send(x), 0);
    check_rc("EVTCHNOP_reset", ev_reset(DOMID_SELF), 0);
    fifo_mode = false;
    check_rc("after reset: set_priority is 2-level's again", set_priority(1, 1), -XEN_ENOSYS);
    struct evtchn_status s;
    check(ev_status(x, &s) == 0 && s.status == EVTCHNSTAT_closed, "after reset: port %u closed", x);
}

static void test_fifo_again_and_limit(void)
{
    uint32_t p;

    if (!fifo_start())
        return;
    if (bind_ipi(0, &p)) {
        test_fail("bind_ipi with FIFO again");
        return;
    }
    forget(p);
    check_rc("send with FIFO again", ev_send(p), 0);
    check(wait_seen(p), "delivered after reset and init_control again");
    /* 2^17 ports: 128 array pages (the same page again only confuses us). */
    long rc = 0;
    unsigned int pages = 2;
    while (!rc && pages < 200) {
        rc = expand_array(gfn_of(fifo_array[1]));
        if (!rc)
            pages++;
    }
    check(rc == -XEN_ENOSPC && pages == 128, "expand_array stops at 128 pages (%u, %s)", pages,
          errno_name(rc));
    check_rc("EVTCHNOP_reset at the end", ev_reset(DOMID_SELF), 0);
    fifo_mode = false;
}

/* ---- setup ------------------------------------------------------------------------------------------ */

static bool setup(void)
{
    long rc = add_to_physmap(XENMAPSPACE_shared_info, 0, gfn_of(&shinfo_page));
    if (rc) {
        test_skip("cannot map shared_info (%ld, %s)", rc, errno_name(rc));
        return false;
    }
    struct xen_hvm_param p = {
        .domid = DOMID_SELF, .index = HVM_PARAM_CALLBACK_IRQ,
        .value = ((uint64_t)HVM_PARAM_CALLBACK_TYPE_VECTOR << 56) | CALLBACK_VECTOR,
    };
    rc = HYPERVISOR_hvm_op(HVMOP_set_param, &p);
    if (rc) {
        test_skip("no callback vector (%ld, %s)", rc, errno_name(rc));
        return false;
    }
    set_trap_handler(CALLBACK_VECTOR, upcall_handler);
    set_trap_handler(UPCALL_VECTOR, upcall_handler);
    vi->evtchn_upcall_mask = 0;
    /* Registering the shared info may have marked everything pending. */
    upcalls_during_window();
    memset((void *)seen, 0, sizeof(seen));
    return true;
}

void test_main(void)
{
    asm volatile ("cli" ::: "memory");
    if (!setup())
        return;
    long wd = watchdog(0, 20);
    printk("watchdog %ld armed: an upcall or poll that never returns ends in a crash\n", wd);

    test_bad_arguments();
    test_virq_binding();
    test_ipi_delivery();
    test_interdomain_loopback();
    test_poll();
    test_upcall_vector();
    test_fifo_setup_errors();
    if (fifo_start()) {
        test_fifo_delivery();
        test_fifo_hostile();
        test_fifo_again_and_limit();
    }
    if (wd >= 1 && wd <= 2)
        watchdog((uint32_t)wd, 0);
}
