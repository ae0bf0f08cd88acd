/*
 * __HYPERVISOR_sched_op (xen/include/public/sched.h), after Xen 4.17's
 * xen/common/sched/core.c do_sched_op and xen/common/domain.c
 * (domain_shutdown, domain_watchdog):
 *
 *  yield          0: a hint; for a PV vCPU the slice ends when another vCPU
 *                 on its CPU could run (Linux's PV CPU bring-up spins on
 *                 it); otherwise the scheduler's slice decides.
 *  block          events are enabled (vcpu_info evtchn_upcall_mask = 0) and
 *                 the vCPU blocks unless an upcall is already pending; the
 *                 scheduler runs it again after vcpu_wake().
 *  shutdown       domain_shutdown() with the reason; SHUTDOWN_crash also
 *                 records CRASH_GUEST_REQUEST. A reason given earlier with
 *                 shutdown_code wins, as in Xen.
 *  shutdown_code  records the reason a later shutdown will report.
 *  watchdog       Xen's two per-domain watchdogs: id 0 allocates and arms
 *                 one (returns its id, -ENOSPC if none is free), id N with a
 *                 timeout re-arms it, with timeout 0 frees it; expiry
 *                 crashes the domain with CRASH_WATCHDOG (SHUTDOWN_watchdog).
 *  remote_shutdown  -ESRCH for a missing domain, otherwise -EPERM: no
 *                 domain holds the device-model privilege Xen requires.
 *  poll           {ports, nr_ports, timeout}: evtchn_poll() (event_channel.c)
 *                 blocks until one of the ports is pending, an upcall is
 *                 deliverable or the absolute timeout passes; more than 128
 *                 ports or an invalid one -EINVAL, unreadable ones -EFAULT.
 *  pin_override   -ENOSYS.
 *
 * Interpretation: Xen's domain_shutdown() takes any 8-bit reason; reasons
 * above SHUTDOWN_watchdog (soft_reset needs a toolstack, the rest are
 * undefined) get -EINVAL here instead of an undefined shutdown.
 */
#include <proxenos/xen_abi.h>
#include <proxenos/domain.h>
#include <proxenos/evtchn.h>
#include <proxenos/guest_access.h>
#include <proxenos/hypercall.h>
#include <proxenos/printk.h>
#include <proxenos/sched.h>

#define NR_WATCHDOGS 2

static long sched_block(struct vcpu *v)
{
    /* Byte access: a 32-bit guest's vcpu_info may be only 4-byte aligned. */
    uint8_t *vi = (uint8_t *)v->vcpu_info;

    if (vi) {
        __atomic_store_n(vi + offsetof(struct vcpu_info, evtchn_upcall_mask), 0,
                         __ATOMIC_SEQ_CST);
        /* An upcall already pending would be lost on a sleeping vCPU. */
        if (__atomic_load_n(vi + offsetof(struct vcpu_info, evtchn_upcall_pending),
                            __ATOMIC_SEQ_CST))
            return 0;
    }
    __atomic_store_n(&v->is_blocked, true, __ATOMIC_RELEASE);
    return 0;
}

static long sched_shutdown(struct vcpu *v, uint64_t arg)
{
    struct domain *d = v->domain;
    struct sched_shutdown s;
    unsigned int reason;

    if (copy_from_guest(v, &s, arg, sizeof(s)))
        return -EFAULT;
    if (s.reason > SHUTDOWN_watchdog)
        return -EINVAL;
    spin_lock(&d->lock);
    reason = d->shutdown_code_set ? d->shutdown_code_req : s.reason;
    if (reason == SHUTDOWN_crash && d->crash_cause == CRASH_NONE)
        d->crash_cause = CRASH_GUEST_REQUEST;
    spin_unlock(&d->lock);
    domain_shutdown(d, reason);
    return 0;
}

static long sched_shutdown_code(struct vcpu *v, uint64_t arg)
{
    struct domain *d = v->domain;
    struct sched_shutdown s;

    if (copy_from_guest(v, &s, arg, sizeof(s)))
        return -EFAULT;
    if (s.reason > SHUTDOWN_watchdog)
        return -EINVAL;
    spin_lock(&d->lock);
    if (!d->shutdown_code_set) {          /* the first code given stays */
        d->shutdown_code_req = s.reason;
        d->shutdown_code_set = true;
    }
    spin_unlock(&d->lock);
    return 0;
}

/* ---- watchdogs ------------------------------------------------------------ */

static void watchdog_expired(struct domain *d, unsigned int id)
{
    printk(LOG_WARN "d%u: watchdog %u expired\n", d->domain_id, id);
    domain_crash(d, CRASH_WATCHDOG, "watchdog %u was not re-armed in time", id);
}
static void watchdog1_fn(void *data) { watchdog_expired(data, 1); }
static void watchdog2_fn(void *data) { watchdog_expired(data, 2); }

static struct timer *watchdog_timer(struct domain *d, unsigned int slot)
{
    return slot == 0 ? &d->watchdog : &d->watchdog2;
}

/* Xen takes the timeout in seconds (uint32_t): at most ~136 years, no
   overflow of s_time_t. */
static void watchdog_arm(struct vcpu *v, unsigned int slot, uint32_t timeout)
{
    struct domain *d = v->domain;
    s_time_t expires = NOW() + SECONDS((s_time_t)timeout);

    if (slot == 0)                        /* non-zero: armed (domain_shutdown stops it) */
        d->watchdog_timeout = timeout ? SECONDS((s_time_t)timeout) : 1;
    set_timer(watchdog_timer(d, slot), expires);
}

static long sched_watchdog(struct vcpu *v, uint64_t arg)
{
    struct domain *d = v->domain;
    struct sched_watchdog w;
    long rc = 0;

    if (copy_from_guest(v, &w, arg, sizeof(w)))
        return -EFAULT;
    spin_lock(&d->lock);
    if (w.id == 0) {
        unsigned int slot = 0;

        while (slot < NR_WATCHDOGS && (d->watchdog_inuse & (1u << slot)))
            slot++;
        if (slot == NR_WATCHDOGS) {
            rc = -ENOSPC;
        } else {
            /* Timers live on the CPU of the vCPU that created them. */
            init_timer(watchdog_timer(d, slot), slot ? watchdog2_fn : watchdog1_fn, d,
                       v->processor);
            d->watchdog_inuse |= 1u << slot;
            watchdog_arm(v, slot, w.timeout);
            rc = slot + 1;
        }
    } else if (w.id > NR_WATCHDOGS || !(d->watchdog_inuse & (1u << (w.id - 1)))) {
        rc = -EINVAL;
    } else if (w.timeout == 0) {
        stop_timer(watchdog_timer(d, w.id - 1));
        d->watchdog_inuse &= ~(1u << (w.id - 1));
        if (w.id == 1)
            d->watchdog_timeout = 0;
    } else {
        watchdog_arm(v, w.id - 1, w.timeout);
    }
    spin_unlock(&d->lock);
    return rc;
}

/* struct sched_poll: the ports handle is 8 bytes for 64-bit callers (24-byte
   struct), 4 for 32-bit ones, whose uint64_t timeout is 4-byte aligned. */
struct compat_sched_poll {
    uint32_t ports;
    uint32_t nr_ports;
    uint64_t timeout;
};
BUILD_BUG_ON(sizeof(struct sched_poll) != 24);
BUILD_BUG_ON(sizeof(struct compat_sched_poll) != 16);

static long sched_poll(struct vcpu *v, uint64_t arg, bool compat)
{
    struct sched_poll p;
    struct compat_sched_poll c;

    if (compat) {
        if (copy_from_guest(v, &c, arg, sizeof(c)))
            return -EFAULT;
        return evtchn_poll(v, c.ports, c.nr_ports, c.timeout);
    }
    if (copy_from_guest(v, &p, arg, sizeof(p)))
        return -EFAULT;
    return evtchn_poll(v, (uintptr_t)p.ports.p, p.nr_ports, p.timeout);
}

static long sched_remote_shutdown(struct vcpu *v, uint64_t arg)
{
    struct sched_remote_shutdown r;

    if (copy_from_guest(v, &r, arg, sizeof(r)))
        return -EFAULT;
    if (!domain_by_id(r.domain_id))
        return -ESRCH;
    return -EPERM;
}

long do_sched_op(struct vcpu *v, struct hcall *h)
{
    uint64_t arg = h->arg[1];

    switch ((int)h->arg[0]) {
    case SCHEDOP_yield:
        if (v->domain->type == DOMTYPE_PV)
            sched_yield_slice();
        return 0;
    case SCHEDOP_block:
        return sched_block(v);
    case SCHEDOP_shutdown:
        return sched_shutdown(v, arg);
    case SCHEDOP_shutdown_code:
        return sched_shutdown_code(v, arg);
    case SCHEDOP_watchdog:
        return sched_watchdog(v, arg);
    case SCHEDOP_remote_shutdown:
        return sched_remote_shutdown(v, arg);
    case SCHEDOP_poll:
        return sched_poll(v, arg, h->compat);
    default:                              /* pin_override, unknown */
        return -ENOSYS;
    }
}

/* Stops the watchdogs of a domain about to be freed (domain_xen_teardown). */
void sched_watchdog_release(struct domain *d)
{
    for (unsigned int slot = 0; slot < NR_WATCHDOGS; slot++)
        if (d->watchdog_inuse & (1u << slot))
            stop_timer(watchdog_timer(d, slot));
    d->watchdog_inuse = 0;
    d->watchdog_timeout = 0;
}
