/*
 * Time keeping (hypervisor/platform/time*.c, hpet.c, pit.c, timer.c).
 *
 * System time (NOW(), platform.h) is the TSC scaled to nanoseconds. The TSC
 * rate is measured once at boot against the HPET main counter, or the PIT
 * when there is no HPET. Conversions between clocks use a fixed-point
 * factor: value * mul_frac / 2^32, shifted by `shift`, with a 64x32-bit
 * multiply and no division or floating point on the hot path.
 */
#ifndef PROXENOS_TIME_H
#define PROXENOS_TIME_H
#include <proxenos/types.h>

/* to = ((from << shift) * mul_frac) >> 32 (a negative shift shifts right).
 * mul_frac is normalised to [2^31, 2^32) for full precision. */
struct time_scale {
    uint32_t mul_frac;
    int shift;
};

/* Pure (time_scale.c): a scale that turns ticks of a from_hz clock into
 * ticks of a to_hz clock. Returns 0, or -EINVAL when a rate is 0 or the
 * ratio is beyond 2^31 either way. */
int time_scale_init(struct time_scale *ts, uint64_t from_hz, uint64_t to_hz);
/* Applies the scale; exact to within one part in 2^31 of the result. */
uint64_t time_scale_apply(uint64_t delta, const struct time_scale *ts);

#ifndef HOST_TEST
extern uint64_t tsc_at_boot;           /* TSC value that NOW() counts from */
extern struct time_scale tsc_to_ns, ns_to_tsc;
extern bool tsc_invariant;

/* Reads another clock with the TSC next to it (time.c): of five tries, the
 * one with the fewest TSC ticks around the read, and its midpoint in *tsc. */
uint32_t tsc_paired_read(uint32_t (*read)(void), uint64_t *tsc);

/* Busy waits on the TSC; usable once time_init() has calibrated it. */
void udelay(unsigned int us);
void mdelay(unsigned int ms);
/* The TSC value at which NOW() will read `t`. */
uint64_t ns_to_tsc_abs(s_time_t t);

/* HPET main counter (hpet.c), the independent clock for calibration and
 * for the timer self test. */
bool hpet_init(void);                  /* maps and enables it when ACPI lists one */
bool hpet_present(void);
uint32_t hpet_read32(void);
uint64_t hpet_ticks_to_ns(uint64_t ticks);
uint64_t hpet_ns_to_ticks(uint64_t ns);

/* i8254 PIT (pit.c): channel 2 free-running, for TSC calibration without
 * an HPET and as a reference clock; channel 0 as an IRQ 0 source. */
#define PIT_HZ 1193182u
void pit_counter_start(void);
uint16_t pit_counter_read(void);               /* counts down from 65535, wraps */
void pit_channel0_oneshot(uint16_t count);     /* one IRQ 0 edge after count ticks */
void pit_channel0_periodic(uint16_t count);    /* an IRQ 0 edge every count ticks */

/* Per-CPU timer queue (timer.c). */
void timer_cpu_init(void);             /* this CPU's queue and LAPIC timer */
/* CPU 0's 50 ms housekeeping timer: polls the console (idle.c). */
void housekeeping_init(void);
#endif

#endif
