/*
 * pv_shutdown: HYPERVISOR_sched_op from a 64-bit PV kernel (the PV
 * counterpart of sched_op and of the crash guests; Xen 4.17's do_sched_op
 * and domain_shutdown): yield, unknown commands -ENOSYS, unreadable
 * arguments -EFAULT, remote_shutdown of no domain -ESRCH, the two domain
 * watchdogs, SCHEDOP_block with an event pending, then the end, chosen by
 * the command line:
 *  (none)    SCHEDOP_shutdown_code(poweroff) then SCHEDOP_shutdown(crash):
 *            the code given first wins, the run ends powered off (QEMU
 *            exit 33, "d0: shut down: poweroff");
 *  crash     SCHEDOP_shutdown(crash): exit 35, "shut down: crash, guest request";
 *  watchdog  a 1 s watchdog and a spin: the hypervisor must kill it (exit
 *            35, "watchdog").
 * A failed check before the end ends the run with SHUTDOWN_crash as usual.
 * Boot: dom0=pv with build/guests/pv_shutdown.elf [crash|watchdog].
 */
#include "pv_guest.h"

#define PV_UNMAPPED 0x0000100000000000UL       /* L4 slot 32: nothing there */

static long sched_op(unsigned int cmd, uint64_t arg)
{
    return pv_hcall(__HYPERVISOR_sched_op, cmd, arg, 0, 0, 0);
}

static long watchdog(uint32_t id, uint32_t timeout)
{
    struct sched_watchdog wd = { .id = id, .timeout = timeout };

    return sched_op(SCHEDOP_watchdog, (uint64_t)&wd);
}

static long shutdown(unsigned int cmd, unsigned int reason)
{
    struct sched_shutdown sd = { .reason = reason };

    return sched_op(cmd, (uint64_t)&sd);
}

static void check_simple(void)
{
    long rc = 0;

    pv_check_eq("SCHEDOP_yield", sched_op(SCHEDOP_yield, 0), 0);
    for (unsigned int i = 0; i < 100 && rc == 0; i++)
        rc = sched_op(SCHEDOP_yield, 0);
    pv_check_eq("100 more SCHEDOP_yield", rc, 0);
    pv_check_eq("sched_op command 0x100 (unknown) -ENOSYS", sched_op(0x100, 0), -XEN_ENOSYS);
    pv_check_eq("sched_op command -1 (unknown) -ENOSYS", sched_op(-1U, 0), -XEN_ENOSYS);
}

static void check_bad_pointers(void)
{
    struct sched_remote_shutdown rs = { .domain_id = 123, .reason = SHUTDOWN_poweroff };

    /* A shutdown whose argument cannot be read must fail and leave us running. */
    pv_check_eq("SCHEDOP_shutdown from an unmapped pointer -EFAULT",
                sched_op(SCHEDOP_shutdown, PV_UNMAPPED), -XEN_EFAULT);
    pv_check_eq("SCHEDOP_shutdown from the hypervisor's area -EFAULT",
                sched_op(SCHEDOP_shutdown, 0xffff830000000000UL), -XEN_EFAULT);
    pv_check_eq("SCHEDOP_shutdown_code from an unmapped pointer -EFAULT",
                sched_op(SCHEDOP_shutdown_code, PV_UNMAPPED), -XEN_EFAULT);
    pv_check_eq("SCHEDOP_watchdog from an unmapped pointer -EFAULT",
                sched_op(SCHEDOP_watchdog, PV_UNMAPPED), -XEN_EFAULT);
    pv_check_eq("SCHEDOP_remote_shutdown from an unmapped pointer -EFAULT",
                sched_op(SCHEDOP_remote_shutdown, PV_UNMAPPED), -XEN_EFAULT);
    pv_check_eq("SCHEDOP_remote_shutdown of domain 123 (none) -ESRCH",
                sched_op(SCHEDOP_remote_shutdown, (uint64_t)&rs), -XEN_ESRCH);
}

static void check_watchdog(void)
{
    long a = watchdog(0, 60), b = watchdog(0, 60);

    pv_check(a >= 1 && a <= 2, "SCHEDOP_watchdog create -> id 1 or 2", a, 1);
    pv_check(b >= 1 && b <= 2 && b != a, "second SCHEDOP_watchdog create -> the other id", b, 3 - a);
    pv_check_eq("third SCHEDOP_watchdog create (two timers per domain) -ENOSPC", watchdog(0, 60),
                -XEN_ENOSPC);
    pv_check_eq("SCHEDOP_watchdog id 3 (out of range) -EINVAL", watchdog(3, 0), -XEN_EINVAL);
    if (a >= 1 && a <= 2) {
        pv_check_eq("SCHEDOP_watchdog rearm of the first timer", watchdog((uint32_t)a, 60), 0);
        pv_check_eq("SCHEDOP_watchdog destroy of the first timer", watchdog((uint32_t)a, 0), 0);
        pv_check_eq("SCHEDOP_watchdog destroy of it again -EINVAL", watchdog((uint32_t)a, 0),
                    -XEN_EINVAL);
    }
    if (b >= 1 && b <= 2)
        pv_check_eq("SCHEDOP_watchdog destroy of the second timer", watchdog((uint32_t)b, 0), 0);
}

/* SCHEDOP_block unmasks events and must return at once with one pending
   (a hang: the watchdog crashes the run). */
static void check_block(void)
{
    struct shared_info *sh;
    volatile struct vcpu_info *vi;
    long wd, rc;

    if (pv_map_shared_info(&sh)) {
        pv_check(false, "shared info mapped for SCHEDOP_block", 0, 0);
        return;
    }
    vi = &sh->vcpu_info[0];
    wd = watchdog(0, 10);
    vi->evtchn_upcall_mask = 1;
    vi->evtchn_upcall_pending = 1;
    rc = sched_op(SCHEDOP_block, 0);
    pv_check_eq("SCHEDOP_block with an event pending returns 0", rc, 0);
    pv_check_eq("SCHEDOP_block unmasked events", vi->evtchn_upcall_mask, 0);
    vi->evtchn_upcall_mask = 1;
    vi->evtchn_upcall_pending = 0;
    if (wd >= 1 && wd <= 2)
        watchdog((uint32_t)wd, 0);
}

PV_TEST_MAIN(shutdown)
{
    check_simple();
    check_bad_pointers();
    check_watchdog();
    check_block();
    if (pv_failures)
        pv_finish();
    if (pv_cmdline_has("watchdog")) {
        pv_puts("pv_shutdown: watchdog ");
        pv_put_dec(watchdog(0, 1));
        pv_puts(" armed for 1 s, spinning\n");
        for (;;)
            __asm__ volatile("pause");
    }
    if (pv_cmdline_has("crash")) {
        pv_puts("pv_shutdown: SCHEDOP_shutdown(SHUTDOWN_crash)\n");
        shutdown(SCHEDOP_shutdown, SHUTDOWN_crash);
        pv_check(false, "SCHEDOP_shutdown(crash) returned", 0, 0);
        pv_finish();
    }
    pv_check_eq("SCHEDOP_shutdown_code(SHUTDOWN_poweroff)",
                shutdown(SCHEDOP_shutdown_code, SHUTDOWN_poweroff), 0);
    pv_puts("Test result: PASS\npv_shutdown: SCHEDOP_shutdown(SHUTDOWN_crash) after shutdown_code(poweroff)\n");
    shutdown(SCHEDOP_shutdown, SHUTDOWN_crash);
    pv_check(false, "SCHEDOP_shutdown(crash) returned", 0, 0);
    pv_finish();
}
