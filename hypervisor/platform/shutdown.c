/* Power off, reboot and the emulators' exit ports. */
#include <proxenos/shutdown.h>
#include <proxenos/cpu.h>
#include <proxenos/io.h>
#include <proxenos/printk.h>
#include <proxenos/cmdline.h>

#define QEMU_DEBUG_EXIT_PORT 0xf4
#define BOCHS_E9_PORT        0xe9
#define BOCHS_SHUTDOWN_PORT  0x8900

static bool have_debug_exit, have_bochs;
static bool opt_noreboot;
boolean_param("noreboot", opt_noreboot);

/*
 * QEMU's isa-debug-exit reads as 0 where an unclaimed port reads all-ones;
 * Bochs's port_e9_hack reads back 0xe9. Neither exists on real machines,
 * where both probes read 0xff and we fall back to ACPI.
 */
void platform_detect_emulator(void)
{
    have_debug_exit = inb(QEMU_DEBUG_EXIT_PORT) == 0x00;
    have_bochs = inb(BOCHS_E9_PORT) == BOCHS_E9_PORT;
}

__attribute__((weak)) int acpi_enter_s5(void) { return -ENOSYS; }
__attribute__((weak)) void acpi_reset(void) { }

__noreturn void machine_exit(enum exit_code code)
{
    static const char *const what[] = { "power off", "test failure", "crash" };

    local_irq_disable();
    smp_stop_other_cpus();
    printk("Proxenos: %s (exit code 0x%x)\n", what[code - EXIT_POWEROFF], code);
    if (have_debug_exit)
        outb(QEMU_DEBUG_EXIT_PORT, code);
    if (have_bochs) {
        if (code == EXIT_POWEROFF)
            __asm__ volatile("xchg %bx, %bx");   /* magic breakpoint: pass */
        for (const char *s = "Shutdown"; *s; s++)
            outb(BOCHS_SHUTDOWN_PORT, *s);
    }
    if (code == EXIT_POWEROFF)
        acpi_enter_s5();
    else if (!opt_noreboot)
        machine_restart();
    cpu_halt_forever();
}

__noreturn void machine_restart(void)
{
    printk("Proxenos: rebooting\n");
    local_irq_disable();
    acpi_reset();
    outb(0xcf9, 0x02);                 /* PCI reset control: hard reset */
    outb(0xcf9, 0x06);
    for (int i = 0; i < 100000 && (inb(0x64) & 2); i++)
        cpu_relax();
    outb(0x64, 0xfe);                  /* keyboard controller pulse */
    /* Last resort: an empty IDT turns the next trap into a triple fault. */
    static const struct { uint16_t limit; uint64_t base; } __packed no_idt = { 0, 0 };
    __asm__ volatile("lidt %0; int3" :: "m"(no_idt));
    cpu_halt_forever();
}
