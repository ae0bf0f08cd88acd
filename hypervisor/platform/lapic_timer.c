/*
 * The local APIC timer as a one-shot event source (SDM vol. 3A, 10.5.4).
 * TSC-deadline mode when the CPU has it (CPUID.1:ECX[24]): the deadline is
 * an absolute TSC value, so no calibration and no drift. Otherwise one-shot
 * mode with the divider at 16, its rate measured against the calibrated TSC.
 * `tsc_deadline=no` forces one-shot mode, to exercise it where both exist.
 */
#include <proxenos/apic.h>
#include <proxenos/cmdline.h>
#include <proxenos/io.h>
#include <proxenos/platform.h>
#include <proxenos/printk.h>
#include <proxenos/time.h>

#define APIC_LVT_TIMER 0x320
#define APIC_TMICT     0x380          /* initial count */
#define APIC_TMCCT     0x390          /* current count */
#define APIC_TDCR      0x3e0          /* divide configuration */
#define TDCR_DIV_16    0x3            /* SDM 10.5.4, figure 10-10 */
#define LVT_MASKED     (1u << 16)
#define LVT_ONESHOT    (0u << 17)     /* timer mode, bits 18:17 (figure 10-8) */
#define LVT_TSC_DEADLINE (2u << 17)
#define MSR_TSC_DEADLINE 0x6e0
#define CPUID1_ECX_TSC_DEADLINE (1u << 24)
#define CAL_MS         10

static bool opt_tsc_deadline = true;
boolean_param("tsc_deadline", opt_tsc_deadline);

static bool deadline_mode;            /* chosen once by CPU 0 */
static uint64_t apic_timer_hz;
static struct time_scale ns_to_apic;

bool lapic_timer_tsc_deadline(void)
{
    return deadline_mode;
}

uint64_t lapic_timer_hz(void)
{
    return apic_timer_hz;
}

static uint32_t read_tmcct(void)
{
    return lapic_read(APIC_TMCCT);
}

/* Lets the timer count down from the maximum for CAL_MS of TSC time and
 * reads the count next to the TSC at both ends (tsc_paired_read), so the
 * register accesses' latency (large under emulation) cancels out. */
static void calibrate_oneshot(void)
{
    uint32_t c0, c1;
    uint64_t t0, t1;

    lapic_write(APIC_TDCR, TDCR_DIV_16);
    lapic_write(APIC_LVT_TIMER, LVT_MASKED | LVT_ONESHOT | LAPIC_TIMER_VECTOR);
    lapic_write(APIC_TMICT, 0xffffffff);
    c0 = tsc_paired_read(read_tmcct, &t0);
    while (rdtsc() - t0 < tsc_khz * CAL_MS)
        cpu_relax();
    c1 = tsc_paired_read(read_tmcct, &t1);
    lapic_write(APIC_TMICT, 0);
    /* ticks per second = counted / (TSC ticks / (tsc_khz * 1000)) */
    apic_timer_hz = t1 > t0 && c0 > c1 ? (uint64_t)(c0 - c1) * tsc_khz * 1000 / (t1 - t0) : 0;
    if (!apic_timer_hz || time_scale_init(&ns_to_apic, 1000000000, apic_timer_hz))
        panic("APIC timer: does not count (%#x, then %#x after %u ms)", c0, c1, CAL_MS);
}

void lapic_timer_init(void)
{
    uint32_t a, b, c, d;

    cpuid(1, &a, &b, &c, &d);
    deadline_mode = (c & CPUID1_ECX_TSC_DEADLINE) && opt_tsc_deadline;
    if (deadline_mode) {
        printk("APIC timer: TSC-deadline mode\n");
        return;
    }
    calibrate_oneshot();
    printk("APIC timer: one-shot mode, %lu kHz after divide by 16 (calibrated against the TSC)%s\n",
           apic_timer_hz / 1000, (c & CPUID1_ECX_TSC_DEADLINE) ? ", TSC-deadline refused" : "");
}

void lapic_timer_cpu_init(void)
{
    if (deadline_mode) {
        lapic_write(APIC_LVT_TIMER, LVT_TSC_DEADLINE | LAPIC_TIMER_VECTOR);
        /* SDM 10.5.4.1: the LVT write that selects TSC-deadline mode and a
         * following IA32_TSC_DEADLINE write are not ordered in xAPIC mode;
         * MFENCE orders them, or the deadline write may be ignored. */
        __asm__ volatile("mfence" ::: "memory");
        wrmsr(MSR_TSC_DEADLINE, 0);
        return;
    }
    lapic_write(APIC_TDCR, TDCR_DIV_16);
    lapic_write(APIC_LVT_TIMER, LVT_ONESHOT | LAPIC_TIMER_VECTOR);
    lapic_write(APIC_TMICT, 0);
}

/* Called with interrupts off, on the CPU whose timer it programs. */
void lapic_timer_program(s_time_t deadline)
{
    s_time_t delta;
    uint64_t ticks;

    if (deadline_mode) {
        /* 0 disarms; a deadline in the past fires at once (SDM 10.5.4.1). */
        wrmsr(MSR_TSC_DEADLINE, deadline ? MAX(ns_to_tsc_abs(deadline), 1) : 0);
        return;
    }
    if (!deadline) {
        lapic_write(APIC_TMICT, 0);    /* a zero initial count stops it */
        return;
    }
    delta = deadline - NOW();
    ticks = delta > 0 ? time_scale_apply((uint64_t)delta, &ns_to_apic) : 1;
    /* Too far for 32 bits: fire early, the timer code re-arms for the rest. */
    lapic_write(APIC_TMICT, (uint32_t)MIN(MAX(ticks, 1), 0xffffffffull));
}
