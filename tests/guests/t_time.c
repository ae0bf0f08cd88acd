/*
 * time: guest time as Xen 4.17 gives it to a PVH guest, and as Linux uses it.
 *  - pvclock (vcpu_info.time): version even, the TSC-to-ns factor CPUID
 *    0x40000003.1 reports, TSC_STABLE set, monotonic, equal to
 *    HVMOP_get_time between two readings around it, and 100 ms of it is
 *    100 ms of TSC by the guest's own tsc_to_system_mul; the copy moved by
 *    VCPUOP_register_vcpu_info and the one of register_vcpu_time_memory_area
 *    give the same time for the same TSC;
 *  - the wallclock in shared_info (a date this century);
 *  - vCPU timers: -ETIME for a past deadline with VCPU_SSHOTTMR_future, the
 *    argument checks, and, once event channels exist (EVTCHNOP_bind_virq of
 *    VIRQ_TIMER), singleshot, set_timer_op and periodic events waking
 *    SCHEDOP_block;
 *  - runstate: get_runstate_info, vm_assist(runstate_update_flag), the
 *    registered area rewritten after the vCPU blocked (blocked time grows);
 *  - the vLAPIC timer: one-shot (TMCCT counting down, the interrupt waking
 *    HLT, ISR cleared by EOI), masked, divide by 16, TPR holding it back,
 *    periodic, TSC-deadline, and one-shot again in x2APIC mode.
 * A watchdog is armed throughout: a timer that never fires ends the run as
 * a crash instead of a hang.
 */
#include "common.h"

TEST_GUEST("time", NEEDS_XEN, "pvclock, wallclock, vCPU timers, runstate, vLAPIC timer");

#define CALLBACK_VECTOR 0xf3
#define APIC_VECTOR     0x40
#define APIC_BASE_VA    0xfee00000UL
#define NS_PER_MS       1000000ULL

static union {
    struct shared_info s;
    uint8_t raw[4096];
} shinfo_page __aligned(4096);
static uint8_t vi_page[4096] __aligned(4096);
static volatile struct vcpu_time_info time_area __aligned(64);
static volatile struct vcpu_runstate_info runstate_area __aligned(64);

static uint32_t cpuid_mul, tsc_khz;
static int8_t cpuid_shift;
static volatile struct vcpu_info *vinfo;        /* where vCPU 0's vcpu_info is now */

static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    asm volatile ("lfence; rdtsc" : "=a" (lo), "=d" (hi) :: "memory");
    return ((uint64_t)hi << 32) | lo;
}

static uint64_t tsc_ms(uint64_t ms) { return ms * tsc_khz; }
static uint64_t tsc_to_us(uint64_t ticks) { return ticks * 1000 / tsc_khz; }

/* ---- the pvclock, read the way Linux's pvclock_clocksource_read does ------------- */

static uint64_t scale(uint64_t delta, uint32_t mul, int8_t shift)
{
    if (shift < 0)
        delta >>= -shift;
    else
        delta <<= shift;
    return (uint64_t)(((unsigned __int128)delta * mul) >> 32);
}

/* The time at TSC `tsc` by one consistent copy of t (tsc 0: now). */
static uint64_t pvclock_at(const volatile struct vcpu_time_info *t, uint64_t tsc, uint8_t *flags)
{
    uint32_t ver;
    uint64_t ns;

    do {
        ver = t->version;
        barrier();
        uint64_t at = tsc ? tsc : rdtsc();
        ns = t->system_time + scale(at - t->tsc_timestamp, t->tsc_to_system_mul, t->tsc_shift);
        if (flags)
            *flags = t->flags;
        barrier();
    } while ((ver & 1) || ver != t->version);
    return ns;
}

static uint64_t pvclock(void) { return pvclock_at(&vinfo->time, 0, NULL); }

static void check_time_info(const char *where, const volatile struct vcpu_time_info *t)
{
    uint8_t flags = 0;

    check(t->version && !(t->version & 1), "%s: version %u is even and set", where, t->version);
    check(t->tsc_to_system_mul == cpuid_mul && t->tsc_shift == cpuid_shift,
          "%s: mul %#x shift %d are CPUID 0x40000003.1's (%#x, %d)", where,
          t->tsc_to_system_mul, t->tsc_shift, cpuid_mul, cpuid_shift);
    pvclock_at(t, 0, &flags);
    check(flags & XEN_PVCLOCK_TSC_STABLE_BIT, "%s: XEN_PVCLOCK_TSC_STABLE_BIT set (flags %#x)",
          where, flags);
}

static void test_discovery(void)
{
    struct cpuid_res l0 = cpuid_count(xen_cpuid_base + 3, 0);
    struct cpuid_res l1 = cpuid_count(xen_cpuid_base + 3, 1);
    struct cpuid_res l2 = cpuid_count(xen_cpuid_base + 3, 2);
    xen_feature_info_t fi = { .submap_idx = 0 };

    tsc_khz = l0.c;
    cpuid_mul = l1.c;
    cpuid_shift = (int8_t)l1.d;
    printk("CPUID 0x40000003: tsc %u kHz (host %u kHz), mul %#x shift %d, offset %#x%08x\n",
           l0.c, l2.a, cpuid_mul, cpuid_shift, l1.b, l1.a);
    check(tsc_khz > 1000 && l2.a == tsc_khz, "guest TSC kHz %u = host TSC kHz %u", tsc_khz, l2.a);
    check(l1.a == 0 && l1.b == 0, "TSC offset 0: the guest TSC is the host's");
    check(cpuid_mul >= 0x80000000u, "tsc_to_system_mul %#x is normalised", cpuid_mul);
    check_rc("XENVER_get_features", HYPERVISOR_xen_version(XENVER_get_features, &fi), 0);
    check(fi.submap & (1U << XENFEAT_hvm_safe_pvclock), "XENFEAT_hvm_safe_pvclock offered");
}

static void test_pvclock(const char *where, const volatile struct vcpu_time_info *t)
{
    uint64_t last = 0, tsc0, tsc1, pv0, pv1, ns, want;
    unsigned int back = 0;
    struct xen_hvm_get_time { uint64_t now; } gt;

    check_time_info(where, t);
    for (int i = 0; i < 20000; i++) {
        uint64_t now = pvclock_at(t, 0, NULL);
        back += now < last;
        last = now;
    }
    check(back == 0, "%s: 20000 readings never go back (%u did)", where, back);

    /* HVMOP_get_time is NOW(): a reading before and after bracket it. */
    pv0 = pvclock_at(t, 0, NULL);
    check_rc("HVMOP_get_time", HYPERVISOR_hvm_op(10 /* HVMOP_get_time */, &gt), 0);
    pv1 = pvclock_at(t, 0, NULL);
    check(pv0 <= gt.now && gt.now <= pv1, "%s: %lu <= HVMOP_get_time %lu <= %lu", where,
          pv0, gt.now, pv1);

    /* 100 ms of TSC by the pvclock's own factor is 100 ms of pvclock. */
    tsc0 = rdtsc();
    pv0 = pvclock_at(t, tsc0, NULL);
    while (rdtsc() - tsc0 < tsc_ms(100))
        cpu_relax();
    tsc1 = rdtsc();
    pv1 = pvclock_at(t, tsc1, NULL);
    ns = pv1 - pv0;
    want = (tsc1 - tsc0) * 1000000 / tsc_khz;
    check(ns + 1000 + want / 1000 >= want && ns <= want + 1000 + want / 1000,
          "%s: %lu ns of pvclock over %lu TSC ticks (%lu ns at %u kHz)", where, ns,
          tsc1 - tsc0, want, tsc_khz);
}

static void test_wallclock(void)
{
    volatile struct shared_info *s = &shinfo_page.s;
    uint32_t ver, sec, nsec, hi;

    do {
        ver = s->wc_version;
        barrier();
        sec = s->wc_sec;
        nsec = s->wc_nsec;
        hi = s->wc_sec_hi;
        barrier();
    } while ((ver & 1) || ver != s->wc_version);
    uint64_t now = ((uint64_t)hi << 32 | sec) + (pvclock() + nsec) / 1000000000ULL;
    uint64_t days = now / 86400, y = 1970;
    while (days >= (uint64_t)((y % 4 == 0 && y % 100 != 0) || y % 400 == 0 ? 366 : 365)) {
        days -= (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 ? 366 : 365;
        y++;
    }
    printk("wallclock: boot at %u.%09u s since 1970 (version %u), now %lu s: year %lu\n",
           sec, nsec, ver, now, y);
    check(ver && !(ver & 1), "wc_version %u is even and set", ver);
    check(nsec < 1000000000U && hi == 0, "wc_nsec %u < 1e9, wc_sec_hi %u", nsec, hi);
    check(y >= 2020 && y < 2100, "the wallclock is in this century (%lu)", y);
}

static void test_moved_copies(void)
{
    struct vcpu_register_vcpu_info r = { .mfn = (uintptr_t)vi_page >> 12, .offset = 128 };
    struct vcpu_register_time_memory_area ta = { .addr.v = (void *)&time_area };
    volatile struct vcpu_info *moved = (void *)(vi_page + 128);

    if (!check_rc("VCPUOP_register_vcpu_info", HYPERVISOR_vcpu_op(VCPUOP_register_vcpu_info, 0, &r), 0))
        return;
    moved->evtchn_upcall_pending = 0;               /* it marks every event pending */
    moved->evtchn_pending_sel = 0;
    vinfo = moved;
    check_time_info("registered vcpu_info", &moved->time);
    uint64_t tsc = rdtsc();
    uint64_t a = pvclock_at(&shinfo_page.s.vcpu_info[0].time, tsc, NULL);
    uint64_t b = pvclock_at(&moved->time, tsc, NULL);
    check(a == b, "old and new vcpu_info give the same time for one TSC (%lu, %lu)", a, b);

    check_rc("VCPUOP_register_vcpu_time_memory_area",
             HYPERVISOR_vcpu_op(VCPUOP_register_vcpu_time_memory_area, 0, &ta), 0);
    check_time_info("vcpu_time_memory_area", &time_area);
    tsc = rdtsc();
    a = pvclock_at(&time_area, tsc, NULL);
    b = pvclock_at(&moved->time, tsc, NULL);
    check(a == b, "the time memory area agrees with vcpu_info (%lu, %lu)", a, b);
    check_rc("VCPUOP_register_vcpu_time_memory_area, unmapped argument",
             HYPERVISOR_vcpu_op(VCPUOP_register_vcpu_time_memory_area, 0, BAD_PTR_UNMAPPED),
             -XEN_EFAULT);
}

/* ---- vCPU timers: argument checks ---------------------------------------------------- */

static long singleshot(uint64_t timeout, uint32_t flags)
{
    struct vcpu_set_singleshot_timer t = { .timeout_abs_ns = timeout, .flags = flags };
    return HYPERVISOR_vcpu_op(VCPUOP_set_singleshot_timer, 0, &t);
}

static long periodic(unsigned int vcpu, uint64_t period)
{
    struct vcpu_set_periodic_timer p = { .period_ns = period };
    return HYPERVISOR_vcpu_op(VCPUOP_set_periodic_timer, vcpu, &p);
}

static void test_timer_args(void)
{
    check_rc("singleshot in the past with VCPU_SSHOTTMR_future", singleshot(1, VCPU_SSHOTTMR_future),
             -XEN_ETIME);
    check_rc("singleshot 1 ms ahead with VCPU_SSHOTTMR_future",
             singleshot(pvclock() + NS_PER_MS, VCPU_SSHOTTMR_future), 0);
    check_rc("VCPUOP_stop_singleshot_timer", HYPERVISOR_vcpu_op(VCPUOP_stop_singleshot_timer, 0, NULL), 0);
    check_rc("singleshot, unmapped argument",
             HYPERVISOR_vcpu_op(VCPUOP_set_singleshot_timer, 0, BAD_PTR_UNMAPPED), -XEN_EFAULT);
    long up1 = HYPERVISOR_vcpu_op(VCPUOP_is_up, 1, NULL);
    struct vcpu_set_singleshot_timer t = { .timeout_abs_ns = 1 };
    check_rc("singleshot for vCPU 1 (another vCPU, or none)",
             HYPERVISOR_vcpu_op(VCPUOP_set_singleshot_timer, 1, &t),
             up1 == -XEN_ENOENT ? -XEN_ENOENT : -XEN_EINVAL);
    check_rc("periodic 999999 ns (under 1 ms)", periodic(0, 999999), -XEN_EINVAL);
    check_rc("periodic 2^63 ns", periodic(0, 1ULL << 63), -XEN_EINVAL);
    check_rc("periodic 10 ms", periodic(0, 10 * NS_PER_MS), 0);
    check_rc("VCPUOP_stop_periodic_timer", HYPERVISOR_vcpu_op(VCPUOP_stop_periodic_timer, 0, NULL), 0);
    check_rc("periodic, unmapped argument",
             HYPERVISOR_vcpu_op(VCPUOP_set_periodic_timer, 0, BAD_PTR_UNMAPPED), -XEN_EFAULT);
    check_rc("set_timer_op(0) stops it", hypercall_raw(__HYPERVISOR_set_timer_op, 0, 0, 0, 0, 0), 0);
}

/* ---- vCPU timers firing, through VIRQ_TIMER ---------------------------------------------- */

static volatile unsigned int timer_events;
static volatile uint64_t last_event_tsc;
static evtchn_port_t timer_port;

static void upcall_handler(struct cpu_regs *regs)
{
    volatile struct shared_info *s = &shinfo_page.s;
    unsigned int w = timer_port / 64;
    xen_ulong_t bit = 1ULL << (timer_port % 64);

    (void)regs;
    vinfo->evtchn_upcall_pending = 0;
    __atomic_exchange_n(&vinfo->evtchn_pending_sel, 0, __ATOMIC_SEQ_CST);
    if (__atomic_fetch_and(&s->evtchn_pending[w], ~bit, __ATOMIC_SEQ_CST) & bit) {
        timer_events++;
        last_event_tsc = rdtsc();
    }
}

/* Blocks (interrupts off: SCHEDOP_block returns once an event is pending)
   and takes the upcall, until `want` events or `ms` of TSC. */
static void wait_events(unsigned int want, uint64_t ms)
{
    uint64_t end = rdtsc() + tsc_ms(ms);

    while (timer_events < want && rdtsc() < end) {
        HYPERVISOR_sched_op(SCHEDOP_block, NULL);
        asm volatile ("sti; nop; nop; cli" ::: "memory");
    }
}

static void expect_event(const char *what, uint64_t start_tsc, uint64_t after_ms)
{
    wait_events(1, 2000);
    check(timer_events == 1, "%s: one VIRQ_TIMER event (%u)", what, timer_events);
    if (timer_events)
        check(last_event_tsc - start_tsc >= tsc_ms(after_ms) - tsc_ms(after_ms) / 100,
              "%s: after %lu us (asked %lu ms)", what, tsc_to_us(last_event_tsc - start_tsc),
              after_ms);
    timer_events = 0;
}

static void test_timer_events(void)
{
    struct evtchn_bind_virq bv = { .virq = VIRQ_TIMER, .vcpu = 0 };
    long rc = HYPERVISOR_event_channel_op(EVTCHNOP_bind_virq, &bv);
    if (rc == -XEN_ENOSYS) {
        test_skip("vCPU timer events: EVTCHNOP_bind_virq is -ENOSYS (no event channels yet)");
        return;
    }
    if (!check_rc("EVTCHNOP_bind_virq(VIRQ_TIMER)", rc, 0))
        return;
    timer_port = bv.port;
    struct xen_hvm_param p = {
        .domid = DOMID_SELF, .index = HVM_PARAM_CALLBACK_IRQ,
        .value = ((uint64_t)HVM_PARAM_CALLBACK_TYPE_VECTOR << 56) | CALLBACK_VECTOR,
    };
    if (!check_rc("HVM_PARAM_CALLBACK_IRQ vector", HYPERVISOR_hvm_op(HVMOP_set_param, &p), 0))
        return;
    set_trap_handler(CALLBACK_VECTOR, upcall_handler);
    asm volatile ("sti; nop; nop; cli" ::: "memory");  /* anything left pending */
    timer_events = 0;

    uint64_t t0 = rdtsc();
    check_rc("singleshot 5 ms ahead", singleshot(pvclock() + 5 * NS_PER_MS, VCPU_SSHOTTMR_future), 0);
    expect_event("VCPUOP_set_singleshot_timer, SCHEDOP_block", t0, 5);

    t0 = rdtsc();
    check_rc("singleshot in the past without the flag", singleshot(1, 0), 0);
    expect_event("a past singleshot fires at once", t0, 0);

    t0 = rdtsc();
    check_rc("set_timer_op 5 ms ahead",
             hypercall_raw(__HYPERVISOR_set_timer_op, pvclock() + 5 * NS_PER_MS, 0, 0, 0, 0), 0);
    expect_event("set_timer_op", t0, 5);

    /* Stopped before anything is printed: console output through an
       emulated UART can itself take milliseconds. Then watch for longer
       than the deadline was. */
    rc = singleshot(pvclock() + 50 * NS_PER_MS, 0);
    long stop_rc = HYPERVISOR_vcpu_op(VCPUOP_stop_singleshot_timer, 0, NULL);
    check_rc("singleshot 50 ms ahead", rc, 0);
    check_rc("VCPUOP_stop_singleshot_timer", stop_rc, 0);
    t0 = rdtsc();
    while (rdtsc() - t0 < tsc_ms(80))
        asm volatile ("sti; nop; nop; cli" ::: "memory");
    check(timer_events == 0, "a stopped singleshot stays quiet (%u events)", timer_events);

    t0 = rdtsc();
    check_rc("periodic 2 ms", periodic(0, 2 * NS_PER_MS), 0);
    wait_events(3, 2000);
    unsigned int got = timer_events;
    uint64_t span = last_event_tsc - t0;
    HYPERVISOR_vcpu_op(VCPUOP_stop_periodic_timer, 0, NULL);
    check(got >= 3 && span >= tsc_ms(6) - tsc_ms(6) / 100,
          "periodic: %u events in %lu us", got, tsc_to_us(span));
    timer_events = 0;
    t0 = rdtsc();
    while (rdtsc() - t0 < tsc_ms(10))
        asm volatile ("sti; nop; nop; cli" ::: "memory");
    check(timer_events == 0, "stopped periodic timer stays quiet (%u events)", timer_events);

    struct evtchn_close cl = { .port = timer_port };
    HYPERVISOR_event_channel_op(EVTCHNOP_close, &cl);
    p.value = 0;
    HYPERVISOR_hvm_op(HVMOP_set_param, &p);
}

/* ---- runstate -------------------------------------------------------------------------- */

static long vm_assist(unsigned int cmd, unsigned int type)
{
    return hypercall_raw(__HYPERVISOR_vm_assist, cmd, type, 0, 0, 0);
}

static void test_runstate_setup(void)
{
    struct vcpu_runstate_info rs;
    struct vcpu_register_runstate_memory_area area = { .addr.v = (void *)&runstate_area };
    struct vcpu_register_runstate_memory_area bad = { .addr.p = UNMAPPED_BASE };

    check_rc("VCPUOP_get_runstate_info", HYPERVISOR_vcpu_op(VCPUOP_get_runstate_info, 0, &rs), 0);
    uint64_t now = pvclock();
    check(rs.state == RUNSTATE_running, "vCPU 0 is running (state %d)", rs.state);
    check(rs.time[RUNSTATE_running] > 0 && rs.state_entry_time <= now,
          "running %lu ns, entered at %lu <= now %lu", rs.time[RUNSTATE_running],
          rs.state_entry_time, now);
    check_rc("get_runstate_info into an unmapped buffer",
             HYPERVISOR_vcpu_op(VCPUOP_get_runstate_info, 0, BAD_PTR_UNMAPPED), -XEN_EFAULT);

    check_rc("vm_assist enable runstate_update_flag",
             vm_assist(VMASST_CMD_enable, VMASST_TYPE_runstate_update_flag), 0);
    check_rc("vm_assist enable 4gb_segments (PV only)",
             vm_assist(VMASST_CMD_enable, VMASST_TYPE_4gb_segments), -XEN_EINVAL);
    check_rc("vm_assist type 64", vm_assist(VMASST_CMD_enable, 64), -XEN_EINVAL);
    check_rc("vm_assist command 2", vm_assist(2, VMASST_TYPE_runstate_update_flag), -XEN_ENOSYS);

    check_rc("register_runstate_memory_area at an unmapped address (accepted, as Xen)",
             HYPERVISOR_vcpu_op(VCPUOP_register_runstate_memory_area, 0, &bad), 0);
    check_rc("register_runstate_memory_area",
             HYPERVISOR_vcpu_op(VCPUOP_register_runstate_memory_area, 0, &area), 0);
    check(runstate_area.state == RUNSTATE_running && runstate_area.time[RUNSTATE_running] > 0,
          "the area is written at once (state %d, running %lu ns)", runstate_area.state,
          runstate_area.time[RUNSTATE_running]);
}

/* After a sleep in HLT of `slept_ms`: the area shows it. */
static void check_runstate_after_block(uint64_t blocked_before, uint64_t slept_ms)
{
    uint64_t entry = runstate_area.state_entry_time;

    check(runstate_area.state == RUNSTATE_running, "area after the sleep: running (%d)",
          runstate_area.state);
    check(!(entry & XEN_RUNSTATE_UPDATE), "XEN_RUNSTATE_UPDATE clear after the update");
    check(runstate_area.time[RUNSTATE_blocked] - blocked_before >= slept_ms * NS_PER_MS / 2,
          "blocked time grew by %lu us over a %lu ms sleep",
          (runstate_area.time[RUNSTATE_blocked] - blocked_before) / 1000, slept_ms);
}

/* ---- the vLAPIC timer ------------------------------------------------------------------- */

#define APIC_TPR   0x080
#define APIC_EOI   0x0b0
#define APIC_SVR   0x0f0
#define APIC_ISR   0x100
#define APIC_IRR   0x200
#define APIC_LVTT  0x320
#define APIC_TMICT 0x380
#define APIC_TMCCT 0x390
#define APIC_TDCR  0x3e0
#define LVT_MASKED (1u << 16)
#define LVT_PERIODIC (1u << 17)
#define LVT_TSC_DEADLINE (2u << 17)
#define MSR_TSC_DEADLINE 0x6e0

static bool x2apic;
static volatile unsigned int apic_irqs;
static volatile uint64_t apic_irq_tsc;

static uint32_t apic_read(unsigned int off)
{
    if (x2apic)
        return (uint32_t)rdmsr(0x800 + (off >> 4));
    return *(volatile uint32_t *)(APIC_BASE_VA + off);
}

static void apic_write(unsigned int off, uint32_t val)
{
    if (x2apic)
        wrmsr(0x800 + (off >> 4), val);
    else
        *(volatile uint32_t *)(APIC_BASE_VA + off) = val;
}

static void apic_timer_handler(struct cpu_regs *regs)
{
    (void)regs;
    apic_irqs++;
    apic_irq_tsc = rdtsc();
    apic_write(APIC_EOI, 0);
}

/* HLT with interrupts on until `want` interrupts or `ms` of TSC. */
static void wait_apic(unsigned int want, uint64_t ms)
{
    uint64_t end = rdtsc() + tsc_ms(ms);

    while (apic_irqs < want && rdtsc() < end)
        asm volatile ("sti; hlt; cli" ::: "memory");
}

static void spin_with_irqs(uint64_t ms)
{
    uint64_t t0 = rdtsc();

    while (rdtsc() - t0 < tsc_ms(ms))
        asm volatile ("sti; nop; nop; cli" ::: "memory");
}

static void test_apic_oneshot(const char *mode)
{
    uint64_t blocked = runstate_area.time[RUNSTATE_blocked];

    apic_irqs = 0;
    apic_write(APIC_TDCR, 0xb);                          /* divide by 1 */
    apic_write(APIC_LVTT, APIC_VECTOR);                  /* one-shot */
    uint64_t t0 = rdtsc();
    apic_write(APIC_TMICT, 10000000);                    /* 10 ms at 1 GHz */
    uint32_t c1 = apic_read(APIC_TMCCT), c2 = apic_read(APIC_TMCCT);
    wait_apic(1, 2000);
    check(c1 <= 10000000 && c2 < c1 && c1 > 0, "%s: TMCCT counts down (%u, then %u)", mode, c1, c2);
    check(apic_irqs == 1, "%s: one-shot timer interrupt woke HLT (%u)", mode, apic_irqs);
    check(apic_irq_tsc - t0 >= tsc_ms(10) - tsc_ms(10) / 100, "%s: after %lu us (10000 asked)",
          mode, tsc_to_us(apic_irq_tsc - t0));
    check(apic_read(APIC_TMCCT) == 0, "%s: TMCCT reads 0 after expiry", mode);
    check(!(apic_read(APIC_ISR + (APIC_VECTOR / 32) * 0x10) & (1u << (APIC_VECTOR % 32))),
          "%s: EOI cleared the vector from ISR", mode);
    spin_with_irqs(5);
    check(apic_irqs == 1, "%s: no second interrupt from a one-shot timer (%u)", mode, apic_irqs);
    if (!x2apic)
        check_runstate_after_block(blocked, 10);
}

static void test_apic_more(void)
{
    uint64_t t0;

    /* Masked: the timer counts, nothing arrives. */
    apic_irqs = 0;
    apic_write(APIC_LVTT, APIC_VECTOR | LVT_MASKED);
    apic_write(APIC_TMICT, 1000000);
    spin_with_irqs(3);
    check(apic_irqs == 0 && apic_read(APIC_TMCCT) == 0, "masked LVT: no interrupt (%u), count ran out",
          apic_irqs);

    /* Divide by 16: 200000 counts are 3.2 ms. */
    apic_write(APIC_TDCR, 0x3);
    apic_write(APIC_LVTT, APIC_VECTOR);
    t0 = rdtsc();
    apic_write(APIC_TMICT, 200000);
    wait_apic(1, 2000);
    check(apic_irqs == 1 && apic_irq_tsc - t0 >= tsc_ms(3),
          "divide by 16: interrupt after %lu us (3200 asked)", tsc_to_us(apic_irq_tsc - t0));

    /* TPR 0x50 holds vector 0x40 back in IRR until it drops. */
    apic_irqs = 0;
    apic_write(APIC_TDCR, 0xb);
    apic_write(APIC_TPR, 0x50);
    apic_write(APIC_TMICT, 500000);
    /* Wait for the expiry itself, not a fixed time: on a loaded host the
       hypervisor's timer may run late, which is no failure of the model. */
    uint32_t irr = 0;
    for (unsigned int ms = 0; ms < 500 && !(irr & (1u << (APIC_VECTOR % 32))); ms++) {
        spin_with_irqs(1);
        irr = apic_read(APIC_IRR + (APIC_VECTOR / 32) * 0x10);
    }
    check(apic_irqs == 0 && (irr & (1u << (APIC_VECTOR % 32))),
          "TPR 0x50: vector %#x waits in IRR (%u delivered, IRR %#x)", APIC_VECTOR, apic_irqs, irr);
    apic_write(APIC_TPR, 0);
    spin_with_irqs(1);
    check(apic_irqs == 1, "TPR 0: the pending vector is delivered (%u)", apic_irqs);

    /* Periodic, 1 ms. */
    apic_irqs = 0;
    apic_write(APIC_LVTT, APIC_VECTOR | LVT_PERIODIC);
    t0 = rdtsc();
    apic_write(APIC_TMICT, 1000000);
    wait_apic(4, 2000);
    uint64_t span = apic_irq_tsc - t0;
    apic_write(APIC_TMICT, 0);
    check(apic_irqs >= 4 && span >= tsc_ms(4) - tsc_ms(4) / 100,
          "periodic 1 ms: %u interrupts in %lu us", apic_irqs, tsc_to_us(span));
    unsigned int n = apic_irqs;
    spin_with_irqs(4);
    check(apic_irqs == n, "TMICT 0 stops the periodic timer (%u more)", apic_irqs - n);
}

static void test_apic_deadline(void)
{
    if (!(cpuid(1).c & (1u << 24))) {
        test_fail("CPUID.1:ECX.TSC_DEADLINE[24] not offered");
        return;
    }
    test_pass("CPUID.1:ECX.TSC_DEADLINE[24] offered");
    apic_irqs = 0;
    apic_write(APIC_LVTT, APIC_VECTOR | LVT_TSC_DEADLINE);
    apic_write(APIC_TMICT, 1000000);
    check(apic_read(APIC_TMICT) == 0, "TSC-deadline mode ignores TMICT writes");
    uint64_t t0 = rdtsc(), deadline = t0 + tsc_ms(20);
    wrmsr(MSR_TSC_DEADLINE, deadline);
    uint64_t rb = rdmsr(MSR_TSC_DEADLINE), after = rdtsc();
    wait_apic(1, 2000);
    check(rb == deadline || (rb == 0 && after >= deadline),
          "IA32_TSC_DEADLINE reads back while armed (%#lx, wrote %#lx)", rb, deadline);
    check(apic_irqs == 1 && apic_irq_tsc >= deadline,
          "TSC-deadline interrupt at %lu us (20000 asked)", tsc_to_us(apic_irq_tsc - t0));
    check(rdmsr(MSR_TSC_DEADLINE) == 0, "IA32_TSC_DEADLINE reads 0 once fired");
    wrmsr(MSR_TSC_DEADLINE, rdtsc() + tsc_ms(1));
    wrmsr(MSR_TSC_DEADLINE, 0);
    spin_with_irqs(3);
    check(apic_irqs == 1, "a deadline of 0 disarms it (%u interrupts)", apic_irqs);
    apic_write(APIC_LVTT, APIC_VECTOR | LVT_MASKED);
    wrmsr(MSR_TSC_DEADLINE, rdtsc());
    check(rdmsr(MSR_TSC_DEADLINE) == 0, "outside TSC-deadline mode the MSR ignores writes");
}

static void test_apic(void)
{
    uint64_t base = rdmsr(MSR_APIC_BASE);

    if ((base & ~0xfffULL) != APIC_BASE_VA || !(base & (1u << 11))) {
        test_fail("local APIC not enabled at %#lx (IA32_APIC_BASE %#lx)", APIC_BASE_VA, base);
        return;
    }
    set_trap_handler(APIC_VECTOR, apic_timer_handler);
    apic_write(APIC_SVR, 0x1ff);
    apic_write(APIC_TPR, 0);
    test_apic_oneshot("xAPIC");
    test_apic_more();
    test_apic_deadline();
    /* x2APIC: the same one-shot through the MSRs. */
    wrmsr(MSR_APIC_BASE, base | (1u << 10));
    x2apic = true;
    apic_write(APIC_SVR, 0x1ff);
    test_apic_oneshot("x2APIC");
    apic_write(APIC_LVTT, APIC_VECTOR | LVT_MASKED);
    apic_write(APIC_TMICT, 0);
}

void test_main(void)
{
    long rc = add_to_physmap(XENMAPSPACE_shared_info, 0, (uintptr_t)&shinfo_page >> 12);
    if (!check_rc("map shared_info", rc, 0))
        return;
    struct sched_watchdog wd = { .id = 0, .timeout = 30 };
    long wd_id = HYPERVISOR_sched_op(SCHEDOP_watchdog, &wd);
    vinfo = &shinfo_page.s.vcpu_info[0];

    test_discovery();
    test_pvclock("shared_info vcpu_info", &vinfo->time);
    test_wallclock();
    test_moved_copies();
    test_pvclock("registered vcpu_info", &vinfo->time);
    test_runstate_setup();
    test_timer_args();
    test_timer_events();
    test_apic();

    if (wd_id > 0) {
        wd.id = (uint32_t)wd_id;
        wd.timeout = 0;
        HYPERVISOR_sched_op(SCHEDOP_watchdog, &wd);
    }
}
