/*
 * What a CPU does when there is nothing to do: halt until an interrupt.
 * CPU 0 also owns the serial console's debug keys, polled from its idle
 * loop and from a 20 ms housekeeping timer (often enough for typing into
 * dom0 while its vCPUs run), since the UART's interrupt is
 * not routed (console.h).
 */
#include <proxenos/console.h>
#include <proxenos/cpu.h>
#include <proxenos/io.h>
#include <proxenos/platform.h>
#include <proxenos/time.h>

#define HOUSEKEEPING_PERIOD MILLISECS(20)

static struct timer housekeeping_timer;

static void housekeeping(void *unused)
{
    console_poll();
    set_timer(&housekeeping_timer, NOW() + HOUSEKEEPING_PERIOD);
}

void housekeeping_init(void)
{
    init_timer(&housekeeping_timer, housekeeping, NULL, 0);
    set_timer(&housekeeping_timer, NOW() + HOUSEKEEPING_PERIOD);
}

__noreturn void idle_loop(void)
{
    bool cpu0 = smp_processor_id() == 0;

    for (;;) {
        local_irq_disable();
        if (cpu0)
            console_poll();
        /* STI's one-instruction shadow keeps an interrupt from landing
         * between the check above and HLT (SDM vol. 2B, STI). */
        __asm__ volatile("sti; hlt" ::: "memory");
    }
}
