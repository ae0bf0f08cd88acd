/*
 * System time: the TSC, calibrated once at boot against the HPET (or the
 * PIT without one), scaled to nanoseconds for NOW(). Every CPU reads its
 * own TSC; that is one clock only when the TSCs are synchronised, which the
 * emulators and single-socket machines give us. time_init() also starts
 * CPU 0's timer queue and the LAPIC timer behind it.
 */
#include <proxenos/apic.h>
#include <proxenos/cmdline.h>
#include <proxenos/io.h>
#include <proxenos/lib.h>
#include <proxenos/platform.h>
#include <proxenos/printk.h>
#include <proxenos/time.h>

uint64_t tsc_khz;
uint64_t tsc_at_boot;
struct time_scale tsc_to_ns, ns_to_tsc;
bool tsc_invariant;

/* `clocksource=pit` calibrates against the PIT even when there is an HPET
 * (Xen's option name; here it only picks the calibration reference). */
static char opt_clocksource[8];
string_param("clocksource", opt_clocksource);

/* Each of three calibration runs (median3) lasts this long. */
#define HPET_CAL_MS 10
#define PIT_CAL_MS  30                 /* the 16-bit count allows 54 ms */
#define CPUID_80000007_EDX_INVTSC (1u << 8)

s_time_t NOW(void)
{
    uint64_t tsc = rdtsc();

    /* Before calibration, or a TSC read behind CPU 0's boot value. */
    if (!tsc_khz || tsc < tsc_at_boot)
        return 0;
    return (s_time_t)time_scale_apply(tsc - tsc_at_boot, &tsc_to_ns);
}

uint64_t ns_to_tsc_abs(s_time_t t)
{
    return tsc_at_boot + time_scale_apply(t > 0 ? (uint64_t)t : 0, &ns_to_tsc);
}

void udelay(unsigned int us)
{
    uint64_t end;

    if (!tsc_khz) {                    /* uncalibrated: ~1 us per port write */
        for (unsigned int i = 0; i < us; i++)
            outb(0x80, 0);
        return;
    }
    end = rdtsc() + (uint64_t)us * tsc_khz / 1000;
    while (rdtsc() < end)
        cpu_relax();
}

void mdelay(unsigned int ms)
{
    while (ms--)
        udelay(1000);
}

/*
 * A reading of another clock with the TSC next to it: the TSC is read on
 * both sides and the closest pair of five is kept, so an interruption of
 * the CPU between the two reads (an SMI, or the host descheduling an
 * emulator's vCPU) does not skew a calibration.
 */
uint32_t tsc_paired_read(uint32_t (*read)(void), uint64_t *tsc)
{
    uint64_t best = UINT64_MAX;
    uint32_t v = 0;

    *tsc = 0;
    for (int i = 0; i < 5; i++) {
        uint64_t t1 = rdtsc();
        uint32_t r = read();
        uint64_t t2 = rdtsc();

        if (t2 - t1 < best) {
            best = t2 - t1;
            v = r;
            *tsc = t1 + (t2 - t1) / 2;
        }
    }
    return v;
}

/* TSC kHz over HPET_CAL_MS of HPET time. */
static uint64_t calibrate_hpet_once(void)
{
    uint32_t want = (uint32_t)hpet_ns_to_ticks(MILLISECS(HPET_CAL_MS));
    uint32_t h0, h1;
    uint64_t t0 = 0, t1 = 0, ns;

    h0 = tsc_paired_read(hpet_read32, &t0);
    do {
        h1 = tsc_paired_read(hpet_read32, &t1);
    } while (h1 - h0 < want);
    ns = hpet_ticks_to_ns(h1 - h0);
    return ns ? (t1 - t0) * 1000000 / ns : 0;
}

static uint32_t pit_read(void)
{
    return pit_counter_read();
}

/* TSC kHz over PIT_CAL_MS of PIT time. The 16-bit down-counter wraps every
 * 55 ms: a run interrupted longer than that comes out far off, and the
 * median of three drops it. A PIT that does not count gives 0. */
static uint64_t calibrate_pit_once(void)
{
    const uint64_t want = (uint64_t)PIT_HZ * PIT_CAL_MS / 1000;
    uint64_t t0 = 0, t1 = 0, ticks = 0;
    uint32_t last;

    pit_counter_start();
    last = tsc_paired_read(pit_read, &t0);
    for (unsigned long spins = 0; ticks < want; spins++) {
        uint32_t now = tsc_paired_read(pit_read, &t1);

        if (spins > (ticks ? 10000000ul : 100000ul))
            return 0;
        ticks += (uint16_t)(last - now);
        last = now;
    }
    return (t1 - t0) * PIT_HZ / ticks / 1000;
}

/* The median of three runs: one disturbed run cannot move the result. */
static uint64_t median3(uint64_t (*run)(void))
{
    uint64_t a = run(), b = run(), c = run();

    if (a > b) { uint64_t t = a; a = b; b = t; }
    if (b > c)
        b = c;                         /* the larger of the two is not needed */
    return MAX(a, b);
}

static const char *calibrate_tsc(void)
{
    bool want_pit = !strcmp(opt_clocksource, "pit");

    if (opt_clocksource[0] && !want_pit && strcmp(opt_clocksource, "hpet"))
        printk(LOG_WARN "clocksource=%s: unknown; use hpet or pit\n", opt_clocksource);
    if (!want_pit && hpet_init()) {
        tsc_khz = median3(calibrate_hpet_once);
        if (tsc_khz)
            return "HPET";
    }
    tsc_khz = median3(calibrate_pit_once);
    if (tsc_khz)
        return "PIT";
    panic("TSC calibration failed: no working HPET and the PIT does not count");
}

static void check_invariant_tsc(void)
{
    uint32_t a, b, c, d;

    cpuid(0x80000000, &a, &b, &c, &d);
    if (a >= 0x80000007) {
        cpuid(0x80000007, &a, &b, &c, &d);
        tsc_invariant = d & CPUID_80000007_EDX_INVTSC;
    }
    if (tsc_invariant)
        printk("TSC: invariant (constant rate in every P-, C- and T-state)\n");
    else
        printk(LOG_WARN "TSC: not invariant (CPUID 0x80000007 EDX[8] clear): "
               "NOW() assumes it keeps its boot-time rate\n");
}

void time_init(void)
{
    const char *ref = calibrate_tsc();

    tsc_at_boot = rdtsc();
    if (time_scale_init(&tsc_to_ns, tsc_khz * 1000, 1000000000) ||
        time_scale_init(&ns_to_tsc, 1000000000, tsc_khz * 1000))
        panic("TSC: %lu kHz cannot be scaled", tsc_khz);
    printk("TSC: %lu kHz (calibrated against %s)\n", tsc_khz, ref);
    check_invariant_tsc();
    lapic_timer_init();
    timer_cpu_init();
    housekeeping_init();
}
