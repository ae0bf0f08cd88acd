/*
 * Platform bring-up (hypervisor/platform/): ACPI tables, local APIC and
 * IOAPIC, time and timers, secondary CPUs and the idle loop.
 */
#ifndef PROXENOS_PLATFORM_H
#define PROXENOS_PLATFORM_H
#include <proxenos/types.h>
#include <proxenos/bootinfo.h>

void acpi_init(const struct boot_info *bi);   /* finds RSDP, MADT, HPET, FADT */
void apic_init(void);                         /* BSP local APIC, IOAPICs masked */
void time_init(void);                         /* TSC calibration, timer queue */
void smp_init(void);                          /* INIT-SIPI-SIPI every MADT CPU */
__noreturn void idle_loop(void);              /* each CPU ends up here */

/* System time in nanoseconds since boot, from the calibrated TSC. */
s_time_t NOW(void);
extern uint64_t tsc_khz;

/* One-shot software timers on the LAPIC timer, per CPU. */
struct timer {
    s_time_t expires;
    void (*fn)(void *data);
    void *data;
    unsigned int cpu;
    bool active;
    struct timer *next;                /* queue link, owned by the timer code */
};
void init_timer(struct timer *t, void (*fn)(void *), void *data, unsigned int cpu);
void set_timer(struct timer *t, s_time_t expires);
void stop_timer(struct timer *t);

#define MILLISECS(ms) ((s_time_t)(ms) * 1000000LL)
#define MICROSECS(us) ((s_time_t)(us) * 1000LL)
#define SECONDS(s)    ((s_time_t)(s) * 1000000000LL)

#endif
