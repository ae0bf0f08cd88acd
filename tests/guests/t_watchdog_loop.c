/*
 * watchdog_loop: arms the domain watchdog (SCHEDOP_watchdog, id 0 creates a
 * timer, timeout in seconds) and then spins forever with interrupts off and
 * no VM exits of its own. The hypervisor must preempt the loop with its own
 * timer and, after a second, shut the domain down with SHUTDOWN_watchdog (4),
 * a crash-like end: the system test expects QEMU exit 35 and a hypervisor
 * line about the watchdog. This guest never reports PASS itself.
 */
#include "guest.h"

TEST_GUEST("watchdog_loop", NEEDS_XEN, "spins after arming a 1 s watchdog: the hypervisor must kill it");

void test_main(void)
{
    struct sched_watchdog wd = { .id = 0, .timeout = 1 };
    long id = HYPERVISOR_sched_op(SCHEDOP_watchdog, &wd);
    if (!check(id >= 1, "SCHEDOP_watchdog(id 0, 1 s) -> %ld (%s), a timer id", id, errno_name(id)))
        return;
    printk("watchdog %ld armed for 1 s: spinning with interrupts off until the hypervisor "
           "kills this domain\n", id);
    for (;;)
        barrier();
}
