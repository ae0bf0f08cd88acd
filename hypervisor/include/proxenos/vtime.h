/*
 * Time for HVM/PVH guests, as the Xen 4.17 guest ABI defines it:
 *
 *  - the PV clock (common/vtime.c): struct vcpu_time_info in each vCPU's
 *    vcpu_info (xen.h), the optional second copy of
 *    VCPUOP_register_vcpu_time_memory_area, and the wallclock in
 *    shared_info (wc_version/wc_sec/wc_nsec/wc_sec_hi) from the CMOS RTC
 *    (platform/rtc.c);
 *  - the vCPU timers (common/vcpu_timer.c): VCPUOP_{set,stop}_singleshot_timer,
 *    VCPUOP_{set,stop}_periodic_timer and __HYPERVISOR_set_timer_op, which
 *    raise VIRQ_TIMER;
 *  - the runstate (common/runstate.c, runstate.h) and __HYPERVISOR_vm_assist.
 *
 * The guest TSC is the host's (the VMCB TSC offset is 0, nothing scales
 * it), so the guest's pvclock is the hypervisor's NOW() to the nanosecond:
 * the TSC-to-ns factor is the one NOW() uses (tsc_to_ns, time.h) and each
 * (tsc_timestamp, system_time) pair is chosen so that the guest's
 * extrapolation equals NOW() exactly (vtime_pvclock_stamp below).
 */
#ifndef PROXENOS_VTIME_H
#define PROXENOS_VTIME_H
#include <proxenos/xen_abi.h>
#include <proxenos/types.h>
#include <proxenos/platform.h>
#include <proxenos/spinlock.h>
#include <proxenos/time.h>

struct vcpu;
struct domain;
struct hcall;

/* ---- pure helpers (unit-tested on the host) ---------------------------------- */

/* One pvclock reference point: system time `system_time` ns at TSC value
   `tsc_timestamp`. */
struct pvclock_stamp {
    uint64_t tsc_timestamp;
    uint64_t system_time;
};

/* What a guest computes from a stamp at TSC `tsc` (xen.h, struct
   vcpu_time_info): system_time + ((tsc - tsc_timestamp) << shift) * mul >> 32,
   with a right shift for a negative `shift`. */
uint64_t pvclock_guest_time(const struct pvclock_stamp *st, uint64_t tsc,
                            const struct time_scale *s);

/* log2 of the TSC distance between exact stamps for scale `s`: from a TSC
   offset that is a multiple of 2^g, the scaled product is a whole number of
   nanoseconds, so extrapolating from there loses nothing. */
unsigned int vtime_stamp_granule_log2(const struct time_scale *s);

/* The latest exact stamp at or before TSC `tsc`, for a clock that reads
   time_scale_apply(tsc - tsc_base, s) ns (NOW()). For every T >= the stamp,
   pvclock_guest_time(stamp, T) equals that clock at T: all vCPUs and all
   updates agree to the nanosecond, so the guest's clock never steps back. */
void vtime_pvclock_stamp(uint64_t tsc, uint64_t tsc_base, const struct time_scale *s,
                         struct pvclock_stamp *out);

/* The wallclock that shared_info carries: the UTC time at system time 0. */
struct vtime_wallclock {
    uint64_t sec;
    uint32_t nsec;
};
/* From a UTC reading `unix_sec` + `sub_ns` (< 1e9) taken at system time
   `now`. A reading earlier than `now` after the epoch gives 0. */
void vtime_wallclock_base(int64_t unix_sec, uint32_t sub_ns, s_time_t now,
                          struct vtime_wallclock *out);

/* ---- the CMOS real-time clock (platform/rtc.c) ---------------------------------- */

/* The clock registers as read (MC146818: 0x00 seconds, 0x02 minutes,
   0x04 hours, 0x07 day of month, 0x08 month, 0x09 year, 0x0b status B). */
struct rtc_regs {
    uint8_t sec, min, hour, mday, mon, year, status_b;
};
#define RTC_B_24H    (1u << 1)       /* 24-hour mode (else 12 with bit 7 = PM) */
#define RTC_B_BINARY (1u << 2)       /* binary (else BCD) */

struct rtc_time {
    unsigned int year;               /* 1970-2069: two digits, pivot at 70 */
    unsigned int mon, mday;          /* 1-12, 1-31 */
    unsigned int hour, min, sec;     /* 0-23, 0-59, 0-59 */
};

/* Decodes BCD or binary, 12- or 24-hour registers; -EINVAL for anything
   out of range (an absent RTC reads 0xff everywhere). */
int rtc_decode(const struct rtc_regs *r, struct rtc_time *t);
/* Seconds since 1970-01-01 00:00 UTC (the RTC is taken to hold UTC). */
int64_t rtc_time_to_unix(const struct rtc_time *t);

/* Reads the RTC once (bounded waits for update-in-progress): the UTC time
   in *unix_sec and the NOW() it was read at. With `rtc_sync` on the
   command line it waits (up to 1.1 s) for the start of a second, and
   *sub_ns says where in the second the reading is (0 then, else 500 ms:
   the middle of the unknown part). 0, or -EIO. */
int rtc_read_utc(int64_t *unix_sec, uint32_t *sub_ns, s_time_t *at);

/* ---- the hypervisor side (common/vtime.c) ---------------------------------------- */

/* XEN_PVCLOCK_TSC_STABLE_BIT for domain d: every vCPU's pvclock reads one
   monotonic clock. True while the domain's vCPUs all run on one physical
   CPU (today: always, sched_pick_cpu) or the TSC is invariant (NOW()
   already takes the CPUs' TSCs to be synchronised). */
bool vtime_tsc_stable(const struct domain *d);

/* Writes the vCPU's vcpu_time_info, and the registered second copy, when
   the stamp moved (or always with `force`). The first call for a domain
   also writes the wallclock into shared_info. For hypercalls and the
   scheduler loop. */
void vtime_update_vcpu_time(struct vcpu *v, bool force);
/* The same from a timer callback: only the vcpu_info copy, reached through
   the hypervisor's own mapping; the second copy (a guest-virtual address,
   which needs a page walk) follows at the next vtime_update_vcpu_time(). */
void vtime_update_vcpu_time_irq(struct vcpu *v);

/* VCPUOP_register_vcpu_time_memory_area (x86 arch_do_vcpu_op in Xen). */
long vtime_register_time_area(struct vcpu *caller, struct vcpu *v, struct hcall *h);

/* Forgets the domain's time state: stops its timers. domain_xen_teardown(). */
void vtime_domain_teardown(struct domain *d);

/* ---- per-vCPU state ------------------------------------------------------------- */

/*
 * Kept beside struct vcpu (a table indexed by domain id and vCPU id), set
 * up on first use and cleared by vtime_domain_teardown(). Everything runs
 * on the vCPU's CPU with interrupts off (hypercalls, the scheduler loop,
 * timer callbacks), so the fields are (v) in domain.h's terms; `lock`
 * guards the runstate, which timer callbacks change through vcpu_wake().
 */
struct vtime_vcpu {
    struct vcpu *owner;                   /* the vCPU served; NULL: free */
    struct domain *domain;                /* its domain, for callback checks */
    spinlock_t lock;

    /* vtime.c: the PV clock */
    bool time_written;                    /* vcpu_info time written once */
    uint64_t stamp_tsc;                   /* tsc_timestamp last written */
    uint8_t flags_written;                /* and its flags */
    uint64_t time_area_gla;               /* register_vcpu_time_memory_area, 0: none */
    bool time_area_stale;                 /* second copy behind the first */
    uint32_t area_version;                /* the second copy's version */

    /* runstate.c */
    struct vcpu_runstate_info runstate;   /* guarded by lock */
    uint64_t runstate_gla;                /* register_runstate_memory_area, 0: none */
    bool runstate_compat;                 /* the i386 layout (44 bytes) */

    /* vcpu_timer.c */
    struct timer singleshot;              /* VCPUOP singleshot and set_timer_op */
    struct timer periodic;
    s_time_t period;                      /* 0: periodic timer off */
    s_time_t periodic_last;               /* NOW() of the last periodic event */
};

/* The vCPU's slot, set up on first use. */
struct vtime_vcpu *vtime_vcpu(struct vcpu *v);
/* The vCPU a timer callback's slot serves, or NULL if it or its domain is
   gone or shutting down. */
struct vcpu *vtime_slot_vcpu(struct vtime_vcpu *vt);

/* __HYPERVISOR_vm_assist (runstate.c): HVM guests may enable only
   VMASST_TYPE_runstate_update_flag, as in Xen. */
long do_vm_assist(struct vcpu *v, struct hcall *h);
bool vm_assist_enabled(const struct domain *d, unsigned int type);
void vm_assist_reset(const struct domain *d);

/* vcpu_timer.c: the timer VCPUOP_* (cmd), target v, from vCPU caller. */
long vcpu_timer_op(struct vcpu *caller, struct vcpu *v, int cmd, struct hcall *h);
/* __HYPERVISOR_set_timer_op. */
long do_set_timer_op(struct vcpu *v, struct hcall *h);
/* Sets up a fresh slot's timers on the vCPU's CPU; stops them (teardown). */
void vcpu_timer_slot_init(struct vtime_vcpu *vt);
void vcpu_timer_stop_all(struct vtime_vcpu *vt);

#endif
