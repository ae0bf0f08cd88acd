/*
 * Self tests of the platform layer (test image only, `selftest=NAME`):
 *
 *   timer  20 one-shot timers 10 ms apart on CPU 0, timed against a clock
 *          the hypervisor's time does not come from at run time: the HPET
 *          main counter, or PIT channel 2 without one (or with
 *          clocksource=pit). Pass within 25% of 200 ms. CPU 0 halts while
 *          it waits: under TCG a spinning vCPU thread competes with the
 *          thread that runs the emulator's timers and makes them late.
 *   smp    every CPU the MADT lists (within smp=/maxcpus=) is online, runs
 *          a function by IPI on its own stack and APIC, and fires a timer
 *          that CPU 0 armed for it.
 *   ipi    IPI round trips to every CPU, a broadcast, and the stop path of
 *          panic/poweroff: every other CPU must report itself stopped.
 *   ioapic ISA IRQ 0 (PIT channel 0), routed through the MADT's override
 *          and ioapic_route() to the last CPU, must arrive there once.
 */
#include <proxenos/acpi.h>
#include <proxenos/apic.h>
#include <proxenos/cpu.h>
#include <proxenos/io.h>
#include <proxenos/lib.h>
#include <proxenos/platform.h>
#include <proxenos/printk.h>
#include <proxenos/selftest.h>
#include <proxenos/smp.h>
#include <proxenos/time.h>

/* --- an independent reference clock ------------------------------------ */
/* Polled often enough that neither the HPET's 32-bit view (42 s at
 * 100 MHz) nor the PIT's 16-bit counter (55 ms) wraps unseen. */
struct refclock {
    bool hpet;
    uint32_t last;
    uint64_t ticks;
};

static void ref_start(struct refclock *r)
{
    r->hpet = hpet_present();
    if (!r->hpet)
        pit_counter_start();
    r->last = r->hpet ? hpet_read32() : pit_counter_read();
    r->ticks = 0;
}

static void ref_poll(struct refclock *r)
{
    uint32_t now = r->hpet ? hpet_read32() : pit_counter_read();

    /* The HPET counts up, the PIT down from 65536. */
    r->ticks += r->hpet ? now - r->last : (uint16_t)(r->last - now);
    r->last = now;
}

static uint64_t ref_ns(const struct refclock *r)
{
    return r->hpet ? hpet_ticks_to_ns(r->ticks) : r->ticks * 1000000000ull / PIT_HZ;
}

static const char *ref_name(const struct refclock *r)
{
    return r->hpet ? "HPET" : "PIT";
}

/* --- timer --------------------------------------------------------------- */
#define TICKS      20
#define PERIOD_MS  10

struct tick_state {
    struct timer timer;
    volatile unsigned int ticks;
    unsigned int wrong_cpu, early;
    s_time_t max_late;
};

/* Each tick re-arms for PERIOD_MS from now, so a timer that fires late or
 * early by some factor shows in the total, not only in one tick. */
static void tick(void *data)
{
    struct tick_state *st = data;
    s_time_t now = NOW(), late = now - st->timer.expires;

    if (smp_processor_id() != st->timer.cpu)
        st->wrong_cpu++;
    if (late < -MICROSECS(100))
        st->early++;
    st->max_late = MAX(st->max_late, late);
    if (++st->ticks < TICKS)
        set_timer(&st->timer, now + MILLISECS(PERIOD_MS));
}

static bool within_25_percent(uint64_t got, uint64_t want)
{
    return got * 4 >= want * 3 && got * 4 <= want * 5;
}

/*
 * A wake-up that does not depend on the LAPIC timer under test: PIT
 * channel 0 through the IOAPIC every 50 ms, so halting cannot hang the test
 * when the timer never fires, and the PIT reference is polled in time.
 */
#define BACKSTOP_VECTOR (IRQ_VECTOR_FIRST + 1)
static void backstop_irq(struct cpu_regs *regs) { lapic_eoi(); }

static void backstop(bool on)
{
    unsigned int gsi = isa_irq_to_gsi(0);

    if (!on) {
        ioapic_mask(gsi);
        pit_channel0_oneshot(0xffff);
        return;
    }
    irq_set_handler(BACKSTOP_VECTOR, backstop_irq);
    pit_channel0_periodic(PIT_HZ / 20);
    if (ioapic_route(gsi, BACKSTOP_VECTOR, this_cpu()->apic_id))
        printk("timer: no IOAPIC route for the PIT; waiting without a backstop\n");
}

static void report_timer(const struct tick_state *st, const struct refclock *ref,
                         uint64_t by_ref, uint64_t by_now)
{
    uint64_t want = MILLISECS(TICKS * PERIOD_MS);

    printk("timer: %u ticks of %u ms took %lu ms by %s (%lu us), %lu ms by NOW(); "
           "latest tick %ld us late\n", st->ticks, PERIOD_MS, by_ref / 1000000,
           ref_name(ref), by_ref / 1000, by_now / 1000000, st->max_late / 1000);
    if (st->ticks < TICKS)
        selftest_fail("only %u of %u ticks within 5 s", st->ticks, TICKS);
    if (st->wrong_cpu)
        selftest_fail("%u callbacks ran on another CPU", st->wrong_cpu);
    if (st->early)
        selftest_fail("%u ticks fired before their expiry", st->early);
    if (!within_25_percent(by_ref, want))
        selftest_fail("%lu us by %s, expected %lu us +-25%%", by_ref / 1000, ref_name(ref),
                      want / 1000);
    if (!within_25_percent(by_now, by_ref))
        selftest_fail("NOW() measured %lu us, %s %lu us", by_now / 1000, ref_name(ref),
                      by_ref / 1000);
}

static void st_timer(void)
{
    static struct tick_state st;
    struct refclock ref;
    s_time_t start;
    uint64_t by_ref, by_now;

    init_timer(&st.timer, tick, &st, 0);
    backstop(true);
    ref_start(&ref);
    start = NOW();
    set_timer(&st.timer, start + MILLISECS(PERIOD_MS));
    /* Give up after 5 s of reference time: the timer never fired enough. */
    while (st.ticks < TICKS && ref_ns(&ref) < SECONDS(5)) {
        __asm__ volatile("sti; hlt; cli" ::: "memory");
        ref_poll(&ref);
    }
    by_now = NOW() - start;
    ref_poll(&ref);
    by_ref = ref_ns(&ref);
    backstop(false);
    report_timer(&st, &ref, by_ref, by_now);
    selftest_pass();
}
SELFTEST(timer, st_timer);

/* --- smp --------------------------------------------------------------------- */
struct cpu_report {
    volatile bool ran;
    unsigned int cpu;
    uint32_t apic_id;
    uintptr_t rsp;
};
static struct cpu_report reports[MAX_CPUS];

static void report_in(void *data)
{
    struct cpu_report *r = &reports[smp_processor_id()];
    uintptr_t rsp;

    __asm__ volatile("mov %%rsp, %0" : "=r"(rsp));
    r->cpu = smp_processor_id();
    r->apic_id = lapic_id();
    r->rsp = rsp;
    __atomic_store_n(&r->ran, true, __ATOMIC_RELEASE);
}

static unsigned int madt_enabled_cpus(void)
{
    unsigned int n = 0;

    for (unsigned int i = 0; i < acpi_info.nr_cpus; i++)
        n += acpi_info.cpus[i].enabled;
    return MAX(n, 1u);
}

static void check_report(unsigned int cpu)
{
    const struct percpu *pc = percpu_table[cpu];
    const struct cpu_report *r = &reports[cpu];

    if (!r->ran)
        selftest_fail("CPU %u did not run the call", cpu);
    if (r->cpu != cpu || r->apic_id != pc->apic_id)
        selftest_fail("call for CPU %u (APIC %u) ran on CPU %u (APIC %u)", cpu, pc->apic_id,
                      r->cpu, r->apic_id);
    /* The IPI arrives on the CPU's main stack: RSP0 is only used from a guest. */
    if (r->rsp < pc->stack_bottom || r->rsp >= pc->stack_top)
        selftest_fail("CPU %u ran on %#lx, outside its stack %#lx-%#lx", cpu, r->rsp,
                      pc->stack_bottom, pc->stack_top);
}

static void check_calls(void)
{
    for (unsigned int cpu = 0; cpu < nr_cpus_online; cpu++) {
        int rc = smp_call_function_single(cpu, report_in, NULL);
        if (rc)
            selftest_fail("call on CPU %u failed: %d", cpu, rc);
        check_report(cpu);
    }
}

struct remote_timer {
    struct timer t;
    volatile unsigned int fired_on;
};
static struct remote_timer remote[MAX_CPUS];

static void remote_fire(void *data)
{
    struct remote_timer *rt = data;

    __atomic_store_n(&rt->fired_on, smp_processor_id() + 1, __ATOMIC_RELEASE);
}

/* CPU 0 arms a timer owned by each CPU: the cross-CPU kick and every
 * CPU's own LAPIC timer must work. */
static void check_remote_timers(void)
{
    s_time_t end;

    for (unsigned int cpu = 0; cpu < nr_cpus_online; cpu++) {
        init_timer(&remote[cpu].t, remote_fire, &remote[cpu], cpu);
        set_timer(&remote[cpu].t, NOW() + MILLISECS(5));
    }
    end = NOW() + SECONDS(1);
    for (unsigned int cpu = 0; cpu < nr_cpus_online; cpu++) {
        while (!__atomic_load_n(&remote[cpu].fired_on, __ATOMIC_ACQUIRE) && NOW() < end)
            cpu_relax();
        if (remote[cpu].fired_on != cpu + 1)
            selftest_fail("timer owned by CPU %u %s", cpu,
                          remote[cpu].fired_on ? "fired on another CPU" : "never fired");
    }
}

static void st_smp(void)
{
    unsigned int madt = madt_enabled_cpus();

    printk("smp: %u CPUs online; the MADT lists %u enabled, %u were started\n",
           nr_cpus_online, madt, smp_cpus_wanted);
    if (nr_cpus_online != smp_cpus_wanted)
        selftest_fail("%u of %u CPUs came up", nr_cpus_online, smp_cpus_wanted);
    if (smp_cpus_wanted < MIN(madt, (unsigned int)MAX_CPUS))
        printk("smp: %u CPUs left out by smp=/maxcpus=/nosmp\n",
               MIN(madt, (unsigned int)MAX_CPUS) - smp_cpus_wanted);
    local_irq_enable();
    check_calls();
    check_remote_timers();
    for (unsigned int cpu = 0; cpu < nr_cpus_online; cpu++)
        printk("smp: CPU %u: APIC ID %u, stack %#lx, %lu timer interrupts\n", cpu,
               percpu_table[cpu]->apic_id, percpu_table[cpu]->stack_top,
               percpu_table[cpu]->ticks);
    selftest_pass();
}
SELFTEST(smp, st_smp);

/* --- ipi ------------------------------------------------------------------------ */
#define ROUND_TRIPS 1000

static unsigned int broadcast_hits;

static void nothing(void *data) { }
static void count_hit(void *data) { __atomic_add_fetch(&broadcast_hits, 1, __ATOMIC_RELAXED); }

static void round_trips(unsigned int cpu)
{
    s_time_t t0 = NOW();

    for (int i = 0; i < ROUND_TRIPS; i++) {
        int rc = smp_call_function_single(cpu, nothing, NULL);
        if (rc)
            selftest_fail("round trip %d to CPU %u failed: %d", i, cpu, rc);
    }
    printk("ipi: CPU 0 -> CPU %u: %u round trips, %lu ns each\n", cpu, ROUND_TRIPS,
           (NOW() - t0) / ROUND_TRIPS);
}

static void st_ipi(void)
{
    local_irq_enable();
    if (nr_cpus_online < 2)
        selftest_fail("needs at least 2 CPUs, %u online", nr_cpus_online);
    for (unsigned int cpu = 1; cpu < nr_cpus_online; cpu++)
        round_trips(cpu);
    for (int i = 0; i < 100; i++)
        if (on_each_cpu(count_hit, NULL))
            selftest_fail("broadcast %d timed out", i);
    if (broadcast_hits != 100 * nr_cpus_online)
        selftest_fail("broadcasts reached %u CPUs, expected %u", broadcast_hits,
                      100 * nr_cpus_online);
    local_irq_disable();
    smp_stop_other_cpus();
    for (unsigned int cpu = 1; cpu < nr_cpus_online; cpu++)
        if (!percpu_table[cpu]->stopped)
            selftest_fail("CPU %u did not stop", cpu);
    printk("ipi: %u broadcasts reached every CPU; %u CPUs stopped on request\n", 100,
           nr_cpus_online - 1);
    selftest_pass();
}
SELFTEST(ipi, st_ipi);

/* --- ioapic ------------------------------------------------------------------------ */
#define TEST_VECTOR IRQ_VECTOR_FIRST

static volatile unsigned int irq_hits, irq_cpu;

static void test_irq(struct cpu_regs *regs)
{
    irq_cpu = smp_processor_id();
    irq_hits++;
    lapic_eoi();
}

static void st_ioapic(void)
{
    unsigned int gsi = isa_irq_to_gsi(0), cpu = nr_cpus_online - 1;
    s_time_t end;
    int rc;

    irq_set_handler(TEST_VECTOR, test_irq);
    rc = ioapic_route(gsi, TEST_VECTOR, percpu_table[cpu]->apic_id);
    if (rc)
        selftest_fail("ioapic_route(GSI %u) failed: %d", gsi, rc);
    local_irq_enable();
    pit_channel0_oneshot(PIT_HZ / 1000);              /* 1 ms */
    end = NOW() + MILLISECS(100);
    while (!irq_hits && NOW() < end)
        cpu_relax();
    mdelay(5);                                         /* a second one would be a bug */
    ioapic_mask(gsi);
    printk("ioapic: ISA IRQ 0 -> GSI %u -> vector %#x on CPU %u: %u interrupt%s\n", gsi,
           TEST_VECTOR, irq_cpu, irq_hits, irq_hits == 1 ? "" : "s");
    if (irq_hits != 1)
        selftest_fail("%u interrupts from one PIT edge", irq_hits);
    if (irq_cpu != cpu)
        selftest_fail("interrupt arrived on CPU %u, routed to CPU %u", irq_cpu, cpu);
    selftest_pass();
}
SELFTEST(ioapic, st_ioapic);
