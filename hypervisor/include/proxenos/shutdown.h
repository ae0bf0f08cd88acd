/*
 * Ending the machine: power off, reboot, or (under the test emulators) exit
 * with a verdict. Under QEMU with isa-debug-exit at port 0xf4, the emulator's
 * exit status is (code << 1) | 1: 33 poweroff/pass, 35 fail, 37 crash.
 * Under Bochs, a pass is the magic breakpoint and anything else is Bochs's
 * "Shutdown" port (see tests/system/lib.sh).
 */
#ifndef PROXENOS_SHUTDOWN_H
#define PROXENOS_SHUTDOWN_H
#include <proxenos/types.h>

enum exit_code {
    EXIT_POWEROFF = 0x10,   /* clean poweroff; the pass verdict of a test */
    EXIT_FAIL     = 0x11,   /* a test reported failure */
    EXIT_CRASH    = 0x12,   /* hypervisor panic or crashed last domain */
};

void platform_detect_emulator(void);
__noreturn void machine_exit(enum exit_code code);
__noreturn void machine_restart(void);
/* Optional ACPI sleep-state and reset support (hypervisor/platform/acpi). */
int acpi_enter_s5(void);
void acpi_reset(void);

#endif
