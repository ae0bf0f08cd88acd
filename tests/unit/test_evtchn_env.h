/*
 * A small machine for the event channel tests (test_evtchn*.c): two domains
 * (d0, the initial domain, with 2 vCPUs; d1 with 1), guest RAM that is
 * identity mapped (linear = physical) at gfn 0x100-0x13f, one read-only RAM
 * page at gfn 0x150, a special page (p2m_reserved) at gfn 0x200, and fake
 * timers, allocator and scheduler. Calls go through do_event_channel_op()
 * with their argument in guest RAM, as a guest makes them.
 */
#ifndef TEST_EVTCHN_ENV_H
#define TEST_EVTCHN_ENV_H
#include "cmocka_prelude.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <proxenos/evtchn_private.h>
#include <proxenos/evtchn.h>
#include <proxenos/guest_access.h>
#include <proxenos/hypercall.h>
#include <proxenos/mm.h>
#include <proxenos/sched.h>

#define RAM_GFN     0x100ull
#define RAM_PAGES   64
#define RO_GFN      0x150ull      /* after a hole: G_END is unmapped */
#define SPECIAL_GFN 0x200ull
#define G(off)      ((RAM_GFN << 12) + (off))
#define G_END       G(RAM_PAGES * 4096ull)
#define GFN(off)    (G(off) >> 12)

static uint8_t ram[RAM_PAGES + 1][4096] __attribute__((aligned(4096)));   /* + the RO page */
static uint8_t special_page[4096] __attribute__((aligned(4096)));
static uint8_t shinfo[2][4096] __attribute__((aligned(4096)));
static struct domain doms[2];
static struct vcpu vcpus0[2], vcpu1;
static struct vcpu *v0 = &vcpus0[0], *v0b = &vcpus0[1];
static struct vcpu *w0 __attribute__((unused)) = &vcpu1;
static struct domain *d0 = &doms[0], *d1 = &doms[1];

/* ---- guest memory ------------------------------------------------------------------- */

enum p2m_type p2m_lookup(struct p2m *p2m, gfn_t gfn, mfn_t *mfn)
{
    *mfn = INVALID_MFN;
    if (gfn >= RAM_GFN && gfn < RAM_GFN + RAM_PAGES) {
        *mfn = gfn;
        return p2m_ram_rw;
    }
    if (gfn == RO_GFN) {
        *mfn = gfn;
        return p2m_ram_ro;
    }
    if (gfn == SPECIAL_GFN) {
        *mfn = gfn;
        return p2m_reserved;
    }
    return p2m_invalid;
}

static inline uint8_t *page_of(uint64_t gfn, bool write)
{
    mfn_t mfn;
    enum p2m_type t = p2m_lookup(NULL, gfn, &mfn);

    if (t == p2m_ram_rw)
        return ram[gfn - RAM_GFN];
    if (t == p2m_ram_ro && !write)
        return ram[RAM_PAGES];
    if (t == p2m_reserved)
        return special_page;
    return NULL;
}

void *gfn_to_virt(struct domain *d, uint64_t gfn, uint64_t *mfn_out)
{
    if (gfn == RO_GFN)
        return NULL;
    if (mfn_out)
        *mfn_out = gfn;
    return page_of(gfn, true);
}

static int copy(uint8_t *hv, uint64_t gla, size_t len, bool to_guest)
{
    for (size_t i = 0; i < len; i++) {
        uint8_t *p = page_of((gla + i) >> 12, to_guest);

        if (!p)
            return -EFAULT;
        if (to_guest)
            p[(gla + i) & 4095] = hv[i];
        else
            hv[i] = p[(gla + i) & 4095];
    }
    return 0;
}
int copy_from_guest(struct vcpu *v, void *dst, uint64_t gla, size_t len) { return copy(dst, gla, len, false); }
int copy_to_guest(struct vcpu *v, uint64_t gla, const void *src, size_t len) { return copy((void *)src, gla, len, true); }

static inline void *gptr(uint64_t gla) { return page_of(gla >> 12, false) + (gla & 4095); }

/* Frame references (domain.c): counted per gfn (= mfn here); a frame the
   guest gave back (ballooned) cannot be referenced any more. */
static int frame_refs[0x300];
static bool frame_given_back[0x300];
bool domain_get_frame(struct domain *d, mfn_t mfn)
{
    if (mfn >= 0x300 || frame_given_back[mfn])
        return false;
    frame_refs[mfn]++;
    return true;
}
void domain_put_frame(mfn_t mfn)
{
    assert_true(mfn < 0x300 && frame_refs[mfn] > 0);
    frame_refs[mfn]--;
}
static int frames_referenced(void)
{
    int n = 0;

    for (unsigned int i = 0; i < 0x300; i++)
        n += frame_refs[i];
    return n;
}

/* ---- the rest of the hypervisor --------------------------------------------------------- */

static int live_allocs;
void *xzalloc(size_t size) { live_allocs++; return calloc(1, size); }
void xfree(void *p) { if (p) live_allocs--; free(p); }

static s_time_t now = 1000000;
s_time_t NOW(void) { return now; }
void init_timer(struct timer *t, void (*fn)(void *), void *data, unsigned int cpu)
{
    memset(t, 0, sizeof(*t));
    t->fn = fn;
    t->data = data;
    t->cpu = cpu;
}
void set_timer(struct timer *t, s_time_t expires) { t->expires = expires; t->active = true; }
void stop_timer(struct timer *t) { t->active = false; }
/* Fires a timer as the timer interrupt would. */
static inline void fire(struct timer *t)
{
    assert_true(t->active);
    t->active = false;
    t->fn(t->data);
}

static int wakes;
void vcpu_wake(struct vcpu *v)
{
    wakes++;
    v->is_blocked = false;
}

static int warnings;
void printk(const char *fmt, ...) { warnings++; }
/* common/pirq.c: routing a PV domain's pirq (EVTCHNOP_bind_pirq, close). */
static long pirq_bind_rc;
static unsigned int pirq_binds, pirq_unbinds;
int pirq_guest_bind(struct domain *d, uint32_t pirq) { pirq_binds++; return (int)pirq_bind_rc; }
void pirq_guest_unbind(struct domain *d, uint32_t pirq) { pirq_unbinds++; }

/* ---- setup --------------------------------------------------------------------------------- */

static inline void make_domain(struct domain *d, domid_t id, struct vcpu *vs, unsigned int n, void *si)
{
    memset(d, 0, sizeof(*d));
    d->domain_id = id;
    d->max_vcpus = n;
    d->shared_info = si;
    for (unsigned int i = 0; i < n; i++) {
        memset(&vs[i], 0, sizeof(vs[i]));
        vs[i].vcpu_id = i;
        vs[i].domain = d;
        vs[i].vcpu_info = &d->shared_info->vcpu_info[i];
        vs[i].is_up = true;
        d->vcpu[i] = &vs[i];
    }
}

static int env_setup(void **state)
{
    memset(ram, 0, sizeof(ram));
    memset(shinfo, 0, sizeof(shinfo));
    memset(special_page, 0, sizeof(special_page));
    make_domain(d0, 0, vcpus0, 2, shinfo[0]);
    d0->is_initial = true;
    make_domain(d1, 1, &vcpu1, 1, shinfo[1]);
    live_allocs = wakes = warnings = 0;
    memset(frame_refs, 0, sizeof(frame_refs));
    memset(frame_given_back, 0, sizeof(frame_given_back));
    assert_int_equal(evtchn_domain_init(d0), 0);
    assert_int_equal(evtchn_domain_init(d1), 0);
    assert_int_equal(evtchn_domain_init(d1), -EEXIST);
    return 0;
}

static int env_teardown(void **state)
{
    evtchn_domain_destroy(d1);
    evtchn_domain_destroy(d0);
    assert_int_equal(live_allocs, 0);
    assert_int_equal(frames_referenced(), 0);
    return 0;
}

/* ---- making calls ----------------------------------------------------------------------------- */

#define ARG G(0x800)                  /* where arguments go */

static inline long op(struct vcpu *v, unsigned int cmd, void *arg, size_t size)
{
    long rc;

    assert_int_equal(copy_to_guest(v, ARG, arg, size), 0);
    rc = do_event_channel_op(v, cmd, ARG);
    assert_int_equal(copy_from_guest(v, arg, ARG, size), 0);
    return rc;
}
#define OP(v, cmd, s) op(v, cmd, &(s), sizeof(s))

static inline long alloc_unbound(struct vcpu *v, domid_t dom, domid_t remote)
{
    struct evtchn_alloc_unbound a = { .dom = dom, .remote_dom = remote, .port = 0xdead };
    long rc = OP(v, EVTCHNOP_alloc_unbound, a);

    return rc ? rc : (long)a.port;
}
static inline long bind_interdomain(struct vcpu *v, domid_t rdom, uint32_t rport)
{
    struct evtchn_bind_interdomain b = { .remote_dom = rdom, .remote_port = rport };
    long rc = OP(v, EVTCHNOP_bind_interdomain, b);

    return rc ? rc : (long)b.local_port;
}
static inline long bind_virq(struct vcpu *v, uint32_t virq, uint32_t vcpu)
{
    struct evtchn_bind_virq b = { .virq = virq, .vcpu = vcpu };
    long rc = OP(v, EVTCHNOP_bind_virq, b);

    return rc ? rc : (long)b.port;
}
static inline long bind_ipi(struct vcpu *v, uint32_t vcpu)
{
    struct evtchn_bind_ipi b = { .vcpu = vcpu };
    long rc = OP(v, EVTCHNOP_bind_ipi, b);

    return rc ? rc : (long)b.port;
}
static inline long port_op(struct vcpu *v, unsigned int cmd, uint32_t port)
{
    uint32_t p = port;                 /* close, send, unmask: { port } */

    return OP(v, cmd, p);
}
#define CLOSE(v, p)  port_op(v, EVTCHNOP_close, p)
#define SEND(v, p)   port_op(v, EVTCHNOP_send, p)
#define UNMASK(v, p) port_op(v, EVTCHNOP_unmask, p)
static inline long bind_vcpu(struct vcpu *v, uint32_t port, uint32_t vcpu)
{
    struct evtchn_bind_vcpu b = { .port = port, .vcpu = vcpu };

    return OP(v, EVTCHNOP_bind_vcpu, b);
}
static inline long status(struct vcpu *v, domid_t dom, uint32_t port, struct evtchn_status *s)
{
    memset(s, 0xa5, sizeof(*s));
    s->dom = dom;
    s->port = port;
    return op(v, EVTCHNOP_status, s, sizeof(*s));
}
static inline long reset(struct vcpu *v, domid_t dom)
{
    struct evtchn_reset r = { .dom = dom };

    return OP(v, EVTCHNOP_reset, r);
}

/* ---- looking at the guest's view ---------------------------------------------------------- */

static inline bool l2_pending(struct domain *d, uint32_t port)
{
    return d->shared_info->evtchn_pending[port / 64] & (1ull << (port % 64));
}
static inline void l2_mask(struct domain *d, uint32_t port, bool on)
{
    if (on)
        d->shared_info->evtchn_mask[port / 64] |= 1ull << (port % 64);
    else
        d->shared_info->evtchn_mask[port / 64] &= ~(1ull << (port % 64));
}
static inline uint64_t sel(struct vcpu *v) { return v->vcpu_info->evtchn_pending_sel; }
static inline uint8_t upcall(struct vcpu *v) { return v->vcpu_info->evtchn_upcall_pending; }
/* What a guest's upcall handler does before looking for more. */
static inline void guest_ack(struct vcpu *v)
{
    v->vcpu_info->evtchn_upcall_pending = 0;
    v->vcpu_info->evtchn_pending_sel = 0;
}

#endif
