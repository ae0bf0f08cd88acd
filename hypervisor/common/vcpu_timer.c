/*
 * The vCPU timers of the Xen ABI, after Xen 4.17's xen/common/domain.c
 * (do_vcpu_op) and xen/common/sched/core.c (vcpu_set_periodic_timer,
 * vcpu_periodic_timer_work, do_set_timer_op). Each expiry raises VIRQ_TIMER
 * on the vCPU (send_guest_vcpu_virq), which marks its upcall pending and
 * wakes it from SCHEDOP_block or HLT; it also refreshes the vCPU's pvclock.
 *
 *  set_singleshot_timer  {timeout_abs_ns, flags} (12 bytes for 32-bit
 *      callers): only for the calling vCPU, else -EINVAL (checked before
 *      the argument is read, as Xen). With VCPU_SSHOTTMR_future a timeout
 *      already past is -ETIME; without, it fires at once. A timeout beyond
 *      2^63 - 1 ns reads as negative system time and also fires at once
 *      (Xen 4.17 behaves the same). Linux's clockevent passes flags 0.
 *  stop_singleshot_timer  the calling vCPU only, else -EINVAL.
 *  set_periodic_timer  {period_ns} for any vCPU of the domain: below 1 ms or
 *      above 2^63 - 1 ns -EINVAL. Setting the period it already has does
 *      not restart it; a new one starts a period from now. A late event is
 *      sent once and the next is a whole period after it (no catch-up).
 *      HVM vCPUs start without one (Xen gives PV vCPUs a 100 Hz default).
 *  stop_periodic_timer  any vCPU: 0.
 *  __HYPERVISOR_set_timer_op(timeout)  the singleshot timer of the caller:
 *      0 stops it; a negative timeout, or one more than 2^50 ns (13 days)
 *      ahead, is Linux's jiffies wrap and fires in 100 ms, as Xen does;
 *      otherwise the absolute timeout. 32-bit callers pass it as lo, hi
 *      (EBX, ECX). Always 0.
 *
 * Timers run on the CPU the vCPU was placed on (all vCPUs are on CPU 0
 * today); their callbacks check that the vCPU and its domain still exist
 * and are not shutting down.
 */
#include <proxenos/xen_abi.h>
#include <proxenos/domain.h>
#include <proxenos/evtchn.h>
#include <proxenos/guest_access.h>
#include <proxenos/hypercall.h>
#include <proxenos/printk.h>
#include <proxenos/vtime.h>

#define STIME_DELTA_MAX     INT64_MAX
#define SET_TIMER_OP_HORIZON_SHIFT 50          /* 2^50 ns: about 13 days */

/* The i386 vcpu_set_singleshot_timer: no tail padding. */
#define SINGLESHOT_COMPAT_SIZE 12
BUILD_BUG_ON(sizeof(struct vcpu_set_singleshot_timer) != 16);
BUILD_BUG_ON(offsetof(struct vcpu_set_singleshot_timer, flags) != 8);
BUILD_BUG_ON(sizeof(struct vcpu_set_periodic_timer) != 8);

/* Until common/event_channel.c provides the real one, a VIRQ goes nowhere
   (no guest can bind one yet). */
__attribute__((weak)) void send_guest_vcpu_virq(struct vcpu *v, unsigned int virq)
{
}

static void send_timer_event(struct vcpu *v)
{
    vtime_update_vcpu_time_irq(v);
    send_guest_vcpu_virq(v, VIRQ_TIMER);
}

static void singleshot_fn(void *data)
{
    struct vcpu *v = vtime_slot_vcpu(data);

    if (v)
        send_timer_event(v);
}

static void periodic_fn(void *data)
{
    struct vtime_vcpu *vt = data;
    struct vcpu *v = vtime_slot_vcpu(vt);
    s_time_t now, next;

    if (!v || !vt->period)
        return;
    now = NOW();
    next = vt->periodic_last + vt->period;
    if (now >= next) {
        send_timer_event(v);
        vt->periodic_last = now;
        next = now + vt->period;
    }
    set_timer(&vt->periodic, next);
}

void vcpu_timer_slot_init(struct vtime_vcpu *vt)
{
    init_timer(&vt->singleshot, singleshot_fn, vt, vt->owner->processor);
    init_timer(&vt->periodic, periodic_fn, vt, vt->owner->processor);
}

void vcpu_timer_stop_all(struct vtime_vcpu *vt)
{
    vt->period = 0;
    stop_timer(&vt->singleshot);
    stop_timer(&vt->periodic);
}

static void set_periodic(struct vtime_vcpu *vt, s_time_t period)
{
    if (vt->period == period)
        return;
    stop_timer(&vt->periodic);
    vt->period = period;
    if (!period)
        return;
    vt->periodic_last = NOW();
    set_timer(&vt->periodic, vt->periodic_last + period);
}

static long set_periodic_op(struct vcpu *caller, struct vtime_vcpu *vt, struct hcall *h)
{
    struct vcpu_set_periodic_timer set;

    if (copy_from_guest(caller, &set, h->arg[2], sizeof(set)))
        return -EFAULT;
    if (set.period_ns < (uint64_t)MILLISECS(1) || set.period_ns > (uint64_t)STIME_DELTA_MAX)
        return -EINVAL;
    set_periodic(vt, (s_time_t)set.period_ns);
    return 0;
}

static long set_singleshot_op(struct vcpu *caller, struct vtime_vcpu *vt, struct hcall *h)
{
    struct vcpu_set_singleshot_timer set = { 0, 0 };

    if (copy_from_guest(caller, &set, h->arg[2],
                        h->compat ? SINGLESHOT_COMPAT_SIZE : sizeof(set)))
        return -EFAULT;
    if ((set.flags & VCPU_SSHOTTMR_future) && set.timeout_abs_ns < (uint64_t)NOW())
        return -XEN_ETIME;
    set_timer(&vt->singleshot, (s_time_t)set.timeout_abs_ns);
    return 0;
}

long vcpu_timer_op(struct vcpu *caller, struct vcpu *v, int cmd, struct hcall *h)
{
    struct vtime_vcpu *vt = vtime_vcpu(v);

    switch (cmd) {
    case VCPUOP_set_periodic_timer:
        return set_periodic_op(caller, vt, h);
    case VCPUOP_stop_periodic_timer:
        set_periodic(vt, 0);
        return 0;
    case VCPUOP_set_singleshot_timer:
        if (v != caller)
            return -EINVAL;
        return set_singleshot_op(caller, vt, h);
    case VCPUOP_stop_singleshot_timer:
        if (v != caller)
            return -EINVAL;
        stop_timer(&vt->singleshot);
        return 0;
    default:
        return -ENOSYS;
    }
}

long do_set_timer_op(struct vcpu *v, struct hcall *h)
{
    struct vtime_vcpu *vt = vtime_vcpu(v);
    s_time_t timeout, now = NOW(), offset;

    if (h->compat)
        timeout = (s_time_t)((uint64_t)(uint32_t)h->arg[1] << 32 | (uint32_t)h->arg[0]);
    else
        timeout = (s_time_t)h->arg[0];
    offset = (s_time_t)((uint64_t)timeout - (uint64_t)now);
    if (timeout == 0) {
        stop_timer(&vt->singleshot);
    } else if (timeout < 0 || (offset > 0 && (offset >> SET_TIMER_OP_HORIZON_SHIFT))) {
        static bool said;
        if (!__atomic_exchange_n(&said, true, __ATOMIC_RELAXED))
            printk(LOG_INFO "d%u v%u: set_timer_op: huge timeout %#lx, firing in 100 ms "
                   "(reported once)\n", v->domain->domain_id, v->vcpu_id, (uint64_t)timeout);
        set_timer(&vt->singleshot, now + MILLISECS(100));
    } else {
        set_timer(&vt->singleshot, timeout);
    }
    return 0;
}
