/*
 * The PV clock of HVM/PVH guests (vtime.h), after Xen 4.17's
 * xen/arch/x86/time.c (__update_vcpu_system_time, update_secondary_system_time,
 * update_domain_wallclock_time) and the readers in Linux's
 * arch/x86/kernel/pvclock.c:
 *
 *  - vcpu_time_info in the vCPU's vcpu_info (the shared_info slot, or where
 *    VCPUOP_register_vcpu_info moved it): version odd while the rest
 *    changes, tsc_timestamp/system_time a reference point, the TSC-to-ns
 *    factor of NOW() (also CPUID 0x40000003.1, hvm/cpuid.c), and
 *    XEN_PVCLOCK_TSC_STABLE_BIT while the domain's vCPUs share one clock;
 *  - the same structure at the guest-virtual address given with
 *    VCPUOP_register_vcpu_time_memory_area (Linux's vDSO clock);
 *  - shared_info's wallclock: the UTC time at system time 0, from the CMOS
 *    RTC read once (platform/rtc.c), for every domain alike (there is no
 *    XENPF_settime or per-domain offset).
 *
 * The guest TSC is the host's: the VMCB TSC offset stays 0 and nothing
 * scales it, so system time is the same function of the TSC for the guest
 * as for NOW(). Stamps are taken on the granule of vtime_stamp_granule_log2
 * (a few seconds of TSC), where the guest's extrapolation is exact: every
 * reading equals NOW() at that TSC, all vCPUs agree, and an update never
 * moves the clock (Xen's per-second recalibration can move it by a few ns).
 * Updates therefore only keep tsc_timestamp recent: at the vCPU's first
 * run, on VCPUOP_register_vcpu_info and register_vcpu_time_memory_area,
 * each time the scheduler runs the vCPU, and at its timer events.
 *
 * 32-bit guests: vcpu_time_info has the same layout; the wallclock is
 * written in the 64-bit shared_info layout only, as the event channels use
 * only that one.
 */
#include <proxenos/vtime.h>

/* ---- pure helpers ---------------------------------------------------------------- */

uint64_t pvclock_guest_time(const struct pvclock_stamp *st, uint64_t tsc,
                            const struct time_scale *s)
{
    return st->system_time + time_scale_apply(tsc - st->tsc_timestamp, s);
}

/*
 * For an offset x = k * 2^g from the base, the scaled product is
 * (x >> -shift) * mul (or x << shift) = k * 2^(32 - ctz(mul)) * mul, a
 * multiple of 2^32: the ns value is a whole number with no fraction
 * dropped, and scaling (x + y) gives exactly scaled(x) + scaled(y).
 */
unsigned int vtime_stamp_granule_log2(const struct time_scale *s)
{
    int g;

    if (!s->mul_frac)
        return 0;
    g = 32 - __builtin_ctz(s->mul_frac) - s->shift;
    return g < 0 ? 0 : g > 63 ? 63 : (unsigned int)g;
}

void vtime_pvclock_stamp(uint64_t tsc, uint64_t tsc_base, const struct time_scale *s,
                         struct pvclock_stamp *out)
{
    unsigned int g = vtime_stamp_granule_log2(s);
    uint64_t off = tsc > tsc_base ? tsc - tsc_base : 0;

    off = off >> g << g;
    out->tsc_timestamp = tsc_base + off;
    out->system_time = time_scale_apply(off, s);
}

#define NS_PER_SEC 1000000000ll

void vtime_wallclock_base(int64_t unix_sec, uint32_t sub_ns, s_time_t now,
                          struct vtime_wallclock *out)
{
    int64_t sec, nsec;

    if (now < 0)
        now = 0;
    if (sub_ns >= NS_PER_SEC)
        sub_ns = NS_PER_SEC - 1;
    /* Seconds and nanoseconds apart: unix_sec * 1e9 would overflow in 2262. */
    sec = unix_sec - now / NS_PER_SEC;
    nsec = (int64_t)sub_ns - now % NS_PER_SEC;
    if (nsec < 0) {
        nsec += NS_PER_SEC;
        sec--;
    }
    if (sec < 0)
        sec = nsec = 0;
    out->sec = (uint64_t)sec;
    out->nsec = (uint32_t)nsec;
}

/* ---- the hypervisor side ------------------------------------------------------------ */
#ifndef HOST_TEST
#include <proxenos/domain.h>
#include <proxenos/guest_access.h>
#include <proxenos/hypercall.h>
#include <proxenos/io.h>
#include <proxenos/lib.h>
#include <proxenos/printk.h>
#include <proxenos/runstate.h>

static struct vtime_vcpu slots[MAX_DOMAINS][MAX_VCPUS_PER_DOM];
/* The domain whose shared_info holds the wallclock, per domain id. */
static const struct domain *wallclock_written[MAX_DOMAINS];

struct vtime_vcpu *vtime_vcpu(struct vcpu *v)
{
    struct domain *d = v->domain;
    struct vtime_vcpu *vt;

    BUG_ON(d->domain_id >= MAX_DOMAINS || v->vcpu_id >= MAX_VCPUS_PER_DOM);
    vt = &slots[d->domain_id][v->vcpu_id];
    if (vt->owner == v && vt->domain == d)
        return vt;
    /* Free, or left by a domain that vtime_domain_teardown() missed. */
    vcpu_timer_stop_all(vt);
    memset(vt, 0, sizeof(*vt));
    vt->owner = v;
    vt->domain = d;
    runstate_slot_init(vt);
    vcpu_timer_slot_init(vt);
    return vt;
}

struct vcpu *vtime_slot_vcpu(struct vtime_vcpu *vt)
{
    size_t idx = (size_t)(vt - &slots[0][0]);
    struct domain *d;

    if (idx >= MAX_DOMAINS * MAX_VCPUS_PER_DOM)
        return NULL;
    /* domain_destroy() unlists the domain before it frees anything. */
    d = domain_by_id((domid_t)(idx / MAX_VCPUS_PER_DOM));
    if (!d || d != vt->domain || d->is_shutting_down ||
        d->vcpu[idx % MAX_VCPUS_PER_DOM] != vt->owner)
        return NULL;
    return vt->owner;
}

/* One clock for the domain: its vCPUs share a CPU, or the TSC is invariant
   (NOW() already takes the CPUs' TSCs to be synchronised). */
bool vtime_tsc_stable(const struct domain *d)
{
    if (tsc_invariant)
        return true;
    for (unsigned int i = 1; i < d->max_vcpus && i < MAX_VCPUS_PER_DOM; i++)
        if (d->vcpu[i] && d->vcpu[0] && d->vcpu[i]->processor != d->vcpu[0]->processor)
            return false;
    return true;
}

/* ---- the wallclock -------------------------------------------------------------------- */

static void boot_wallclock(struct vtime_wallclock *wc)
{
    static spinlock_t lock = SPINLOCK_INIT;
    static struct vtime_wallclock base;
    static bool done;
    int64_t sec;
    uint32_t sub;
    s_time_t at;

    spin_lock(&lock);
    if (!done) {
        if (rtc_read_utc(&sec, &sub, &at) == 0)
            vtime_wallclock_base(sec, sub, at, &base);
        else
            printk(LOG_WARN "vtime: no RTC reading: guests' wallclock starts at 1970\n");
        done = true;
    }
    *wc = base;
    spin_unlock(&lock);
}

/* Xen's update_domain_wallclock_time: version odd while the fields change. */
static void wallclock_write(struct domain *d)
{
    volatile struct shared_info *s = d->shared_info;
    struct vtime_wallclock wc;
    uint32_t ver;

    if (!s || wallclock_written[d->domain_id] == d)
        return;
    boot_wallclock(&wc);
    ver = s->wc_version;
    s->wc_version = (ver + 1) | 1;
    __atomic_thread_fence(__ATOMIC_RELEASE);
    s->wc_sec = (uint32_t)wc.sec;
    s->wc_nsec = wc.nsec;
    s->wc_sec_hi = (uint32_t)(wc.sec >> 32);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    s->wc_version = ((ver + 1) | 1) + 1;
    wallclock_written[d->domain_id] = d;
}

/* ---- vcpu_time_info ------------------------------------------------------------------- */

static void make_time_info(const struct vcpu *v, struct vcpu_time_info *t)
{
    struct pvclock_stamp st;

    vtime_pvclock_stamp(rdtsc(), tsc_at_boot, &tsc_to_ns, &st);
    memset(t, 0, sizeof(*t));
    t->tsc_timestamp = st.tsc_timestamp;
    t->system_time = st.system_time;
    t->tsc_to_system_mul = tsc_to_ns.mul_frac;
    t->tsc_shift = (int8_t)tsc_to_ns.shift;
    t->flags = vtime_tsc_stable(v->domain) ? XEN_PVCLOCK_TSC_STABLE_BIT : 0;
}

/* The guest's copy, through the hypervisor's mapping of its vcpu_info page
   (32-bit guests may place it only 4-byte aligned: byte copies, and the
   version as an aligned 32-bit word). The guest may scribble on it: we only
   ever read its version back. */
static void write_time_info(uint8_t *p, const struct vcpu_time_info *t)
{
    uint32_t *ver = (uint32_t *)p;
    uint32_t odd = (__atomic_load_n(ver, __ATOMIC_RELAXED) + 1) | 1;

    __atomic_store_n(ver, odd, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE);          /* Xen's smp_wmb() */
    memcpy(p + 4, (const uint8_t *)t + 4, sizeof(*t) - 4);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    __atomic_store_n(ver, odd + 1, __ATOMIC_RELAXED);
}

/* Xen's update_secondary_system_time: version, body, version, each a copy
   to the guest-virtual address; a first copy that fails ends it. */
static void write_time_area(struct vcpu *v, uint64_t gla, const struct vcpu_time_info *t,
                            uint32_t odd)
{
    struct vcpu_time_info u = *t;

    u.version = odd;
    if (copy_to_guest(v, gla, &u.version, sizeof(u.version)))
        return;
    __atomic_thread_fence(__ATOMIC_RELEASE);
    copy_to_guest(v, gla, &u, sizeof(u));
    __atomic_thread_fence(__ATOMIC_RELEASE);
    u.version = odd + 1;
    copy_to_guest(v, gla, &u.version, sizeof(u.version));
}

/* Writes the vcpu_info copy if the stamp moved (or `force`). */
static void update_vcpu_info(struct vcpu *v, struct vtime_vcpu *vt, bool force)
{
    uint8_t *vi = (uint8_t *)__atomic_load_n(&v->vcpu_info, __ATOMIC_ACQUIRE);
    struct vcpu_time_info t;

    if (!tsc_khz)
        return;
    make_time_info(v, &t);
    if (!force && vt->time_written && t.tsc_timestamp == vt->stamp_tsc &&
        t.flags == vt->flags_written)
        return;
    vt->stamp_tsc = t.tsc_timestamp;
    vt->flags_written = t.flags;
    vt->time_written = true;
    vt->time_area_stale = true;
    if (vi)                            /* NULL: a vCPU >= 32 before it registers one */
        write_time_info(vi + offsetof(struct vcpu_info, time), &t);
}

void vtime_update_vcpu_time(struct vcpu *v, bool force)
{
    struct vtime_vcpu *vt = vtime_vcpu(v);
    struct vcpu_time_info t;

    wallclock_write(v->domain);
    update_vcpu_info(v, vt, force);
    if (!vt->time_area_gla || !vt->time_area_stale || !tsc_khz)
        return;
    make_time_info(v, &t);
    vt->area_version = (vt->area_version + 1) | 1;
    write_time_area(v, vt->time_area_gla, &t, vt->area_version);
    vt->area_version++;
    vt->time_area_stale = false;
}

void vtime_update_vcpu_time_irq(struct vcpu *v)
{
    update_vcpu_info(v, vtime_vcpu(v), false);
}

/* Xen 4.17 (x86 arch_do_vcpu_op): any address is accepted for an HVM
   guest, 0 stops the updates; the copy is written at once. The i386
   compat layer has no such op: -ENOSYS for 32-bit callers, as there. */
long vtime_register_time_area(struct vcpu *caller, struct vcpu *v, struct hcall *h)
{
    uint64_t gla;
    struct vtime_vcpu *vt;

    if (h->compat)
        return -ENOSYS;
    if (copy_from_guest(caller, &gla, h->arg[2], sizeof(gla)))
        return -EFAULT;
    vt = vtime_vcpu(v);
    vt->time_area_gla = gla;
    vt->time_area_stale = true;
    vtime_update_vcpu_time(v, true);
    return 0;
}

void vtime_domain_teardown(struct domain *d)
{
    if (d->domain_id >= MAX_DOMAINS)
        return;
    for (unsigned int i = 0; i < MAX_VCPUS_PER_DOM; i++) {
        struct vtime_vcpu *vt = &slots[d->domain_id][i];

        if (vt->domain != d)
            continue;
        vcpu_timer_stop_all(vt);
        memset(vt, 0, sizeof(*vt));
    }
    if (wallclock_written[d->domain_id] == d)
        wallclock_written[d->domain_id] = NULL;
    vm_assist_reset(d);
}
#endif
