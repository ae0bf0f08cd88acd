/*
 * Weak placeholders for subsystems that are being written in parallel
 * (memory, platform). Each is overridden by its real implementation; this
 * file is deleted once they have all landed.
 */
#include <proxenos/console.h>
#include <proxenos/cpu.h>
#include <proxenos/mm.h>
#include <proxenos/platform.h>
#include <proxenos/printk.h>

unsigned int nr_cpus_online;

__attribute__((weak)) void mm_init(const struct boot_info *bi) { }
__attribute__((weak)) void acpi_init(const struct boot_info *bi) { }
__attribute__((weak)) void apic_init(void) { }
__attribute__((weak)) void time_init(void) { }
__attribute__((weak)) void smp_init(void) { }
__attribute__((weak)) __noreturn void idle_loop(void)
{
    for (;;) {
        console_poll();
        __asm__ volatile("pause");
    }
}
