/*
 * The HPET main counter (IA-PC HPET 1.0a, 2.3): a fixed-rate clock that is
 * independent of the CPU, used to calibrate the TSC and by the timer self
 * test to check the result. Only the main counter is used; the comparators
 * stay off, so the HPET raises no interrupts.
 */
#include <proxenos/acpi.h>
#include <proxenos/io.h>
#include <proxenos/pagetable.h>
#include <proxenos/platform.h>
#include <proxenos/printk.h>
#include <proxenos/time.h>

/* Register offsets (HPET 1.0a, 2.3.1, table 2). */
#define HPET_GCAP_ID       0x000
#define HPET_GEN_CONF      0x010
#define HPET_MAIN_COUNTER  0x0f0
#define HPET_MMIO_LEN      0x400

#define GCAP_COUNT_SIZE_64 (1u << 13)
#define CONF_ENABLE        (1u << 0)
#define CONF_LEGACY_ROUTE  (1u << 1)
/* 2.3.4: the period is at most 100 ns, i.e. the clock is at least 10 MHz. */
#define HPET_MAX_PERIOD_FS 100000000u
#define FS_PER_NS          1000000u

static volatile uint8_t *hpet;
static uint32_t period_fs;
static struct time_scale hpet_to_ns, ns_to_hpet;

static uint32_t hpet_reg(unsigned int off)
{
    return *(volatile uint32_t *)(hpet + off);
}

uint32_t hpet_read32(void)
{
    return hpet_reg(HPET_MAIN_COUNTER);
}

bool hpet_present(void)
{
    return hpet != NULL;
}

uint64_t hpet_ticks_to_ns(uint64_t ticks)
{
    return time_scale_apply(ticks, &hpet_to_ns);
}

uint64_t hpet_ns_to_ticks(uint64_t ns)
{
    return time_scale_apply(ns, &ns_to_hpet);
}

/* A counter that does not move is as good as none (some firmware leaves the
 * block half-configured); ~1 ms of HPET ticks must pass in a bounded spin. */
static bool counter_runs(void)
{
    uint32_t start = hpet_read32();

    for (unsigned long i = 0; i < 10000000; i++) {
        if (hpet_read32() - start > FS_PER_NS * 1000000ull / period_fs)
            return true;
        cpu_relax();
    }
    return false;
}

static bool hpet_setup(void)
{
    uint32_t conf;

    period_fs = hpet_reg(HPET_GCAP_ID + 4);
    if (!period_fs || period_fs > HPET_MAX_PERIOD_FS) {
        printk(LOG_WARN "HPET: implausible period %u fs; not used\n", period_fs);
        return false;
    }
    /* Run the main counter (2.3.5). Legacy replacement routing would take
     * ISA IRQ 0 and 8 from the PIT and RTC; we use no HPET interrupts, so
     * keep the standard routing. */
    conf = hpet_reg(HPET_GEN_CONF);
    if ((conf & (CONF_ENABLE | CONF_LEGACY_ROUTE)) != CONF_ENABLE)
        *(volatile uint32_t *)(hpet + HPET_GEN_CONF) = (conf & ~CONF_LEGACY_ROUTE) | CONF_ENABLE;
    /* ticks -> ns is period_fs / 10^6, and the other way round. */
    if (time_scale_init(&hpet_to_ns, FS_PER_NS, period_fs) ||
        time_scale_init(&ns_to_hpet, period_fs, FS_PER_NS))
        return false;
    if (!counter_runs()) {
        printk(LOG_WARN "HPET: main counter does not advance; not used\n");
        return false;
    }
    printk("HPET: %u kHz main counter, %s-bit, at %#lx\n",
           (uint32_t)(1000000000000ull / period_fs),
           (hpet_reg(HPET_GCAP_ID) & GCAP_COUNT_SIZE_64) ? "64" : "32", acpi_info.hpet_addr);
    return true;
}

bool hpet_init(void)
{
    if (!acpi_present || !acpi_info.have_hpet)
        return false;
    hpet = ioremap(acpi_info.hpet_addr, HPET_MMIO_LEN);
    if (hpet && hpet_setup())
        return true;
    hpet = NULL;
    return false;
}
