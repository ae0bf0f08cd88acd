/*
 * sched_op: HYPERVISOR_sched_op as Xen 4.17 implements it (xen/common/sched/
 * core.c do_sched_op). SCHEDOP_yield returns 0; unknown commands -ENOSYS;
 * bad argument pointers -EFAULT; the domain watchdog hands out two timers
 * (NR_DOMAIN_WATCHDOG_TIMERS) and rejects unknown ids; SCHEDOP_block
 * returns at once when an event is already pending. The final verdict
 * exercises SCHEDOP_shutdown itself.
 *
 * SCHEDOP_block runs last, with a watchdog armed, because a hypervisor that
 * ignores the pending event would block forever: the watchdog (or the
 * system test's timeout) then ends the run as a failure.
 */
#include "common.h"

TEST_GUEST("sched_op", NEEDS_XEN, "HYPERVISOR_sched_op: yield, watchdog, block, bad arguments");

#define CALLBACK_VECTOR 0xf3

/* A whole page: the mapping replaces the frame, not just the structure. */
static union {
    struct shared_info s;
    uint8_t raw[4096];
} shinfo_page __aligned(4096);
static volatile unsigned int upcalls;

static void test_simple(void)
{
    check_rc("SCHEDOP_yield", HYPERVISOR_sched_op(SCHEDOP_yield, NULL), 0);
    long rc = 0;
    for (unsigned int i = 0; i < 100 && rc == 0; i++)
        rc = HYPERVISOR_sched_op(SCHEDOP_yield, NULL);
    check_rc("100 more SCHEDOP_yield", rc, 0);
    check_rc("sched_op command 0x100 (unknown)", HYPERVISOR_sched_op(0x100, NULL), -XEN_ENOSYS);
    check_rc("sched_op command -1 (unknown)", HYPERVISOR_sched_op(-1, NULL), -XEN_ENOSYS);
}

static void test_bad_pointers(void)
{
    /* A shutdown whose argument cannot be read must fail and leave us running. */
    check_rc("SCHEDOP_shutdown from an unmapped pointer",
             HYPERVISOR_sched_op(SCHEDOP_shutdown, BAD_PTR_UNMAPPED), -XEN_EFAULT);
    check_rc("SCHEDOP_shutdown from a non-RAM GPA",
             HYPERVISOR_sched_op(SCHEDOP_shutdown, BAD_PTR_NOT_RAM), -XEN_EFAULT);
    check_rc("SCHEDOP_shutdown_code from an unmapped pointer",
             HYPERVISOR_sched_op(SCHEDOP_shutdown_code, BAD_PTR_UNMAPPED), -XEN_EFAULT);
    check_rc("SCHEDOP_watchdog from an unmapped pointer",
             HYPERVISOR_sched_op(SCHEDOP_watchdog, BAD_PTR_UNMAPPED), -XEN_EFAULT);
    check_rc("SCHEDOP_remote_shutdown from an unmapped pointer",
             HYPERVISOR_sched_op(SCHEDOP_remote_shutdown, BAD_PTR_UNMAPPED), -XEN_EFAULT);

    struct sched_remote_shutdown rs = { .domain_id = 123, .reason = SHUTDOWN_poweroff };
    check_rc("SCHEDOP_remote_shutdown of domain 123 (none)",
             HYPERVISOR_sched_op(SCHEDOP_remote_shutdown, &rs), -XEN_ESRCH);
}

static long watchdog(uint32_t id, uint32_t timeout)
{
    struct sched_watchdog wd = { .id = id, .timeout = timeout };
    return HYPERVISOR_sched_op(SCHEDOP_watchdog, &wd);
}

static void test_watchdog(void)
{
    long a = watchdog(0, 60), b = watchdog(0, 60);
    check(a >= 1 && a <= 2, "SCHEDOP_watchdog create -> id %ld (%s)", a, errno_name(a));
    check(b >= 1 && b <= 2 && b != a, "second SCHEDOP_watchdog create -> id %ld, another one", b);
    check_rc("third SCHEDOP_watchdog create (two timers per domain)", watchdog(0, 60), -XEN_ENOSPC);
    check_rc("SCHEDOP_watchdog id 3 (out of range)", watchdog(3, 0), -XEN_EINVAL);
    check_rc("SCHEDOP_watchdog id 0xffffffff", watchdog(0xffffffffU, 0), -XEN_EINVAL);
    if (a >= 1 && a <= 2) {
        check_rc("SCHEDOP_watchdog rearm of the first timer", watchdog((uint32_t)a, 60), 0);
        check_rc("SCHEDOP_watchdog destroy of the first timer", watchdog((uint32_t)a, 0), 0);
        check_rc("SCHEDOP_watchdog destroy of it again", watchdog((uint32_t)a, 0), -XEN_EINVAL);
    }
    if (b >= 1 && b <= 2)
        check_rc("SCHEDOP_watchdog destroy of the second timer", watchdog((uint32_t)b, 0), 0);
}

/* Leaves evtchn_upcall_pending set, so the vector keeps coming while IF=1:
 * it only counts. The test masks interrupts and clears pending afterwards. */
static void upcall_handler(struct cpu_regs *regs)
{
    (void)regs;
    upcalls++;
}

static void test_block(void)
{
    long rc = add_to_physmap(XENMAPSPACE_shared_info, 0, (uintptr_t)&shinfo_page >> 12);
    if (rc) {
        test_skip("SCHEDOP_block: cannot map shared_info (%ld, %s)", rc, errno_name(rc));
        return;
    }
    struct xen_hvm_param p = {
        .domid = DOMID_SELF, .index = HVM_PARAM_CALLBACK_IRQ,
        .value = ((uint64_t)HVM_PARAM_CALLBACK_TYPE_VECTOR << 56) | CALLBACK_VECTOR,
    };
    rc = HYPERVISOR_hvm_op(HVMOP_set_param, &p);
    if (rc) {
        test_skip("SCHEDOP_block: no callback vector (%ld, %s)", rc, errno_name(rc));
        return;
    }
    long wd = watchdog(0, 10);
    printk("SCHEDOP_block with an event pending (watchdog %ld armed: a hang ends in a crash)\n", wd);

    set_trap_handler(CALLBACK_VECTOR, upcall_handler);
    volatile struct vcpu_info *vi = &shinfo_page.s.vcpu_info[0];
    vi->evtchn_upcall_mask = 0;
    vi->evtchn_upcall_pending = 1;
    asm volatile ("sti" ::: "memory");
    rc = HYPERVISOR_sched_op(SCHEDOP_block, NULL);
    asm volatile ("cli" ::: "memory");
    vi->evtchn_upcall_pending = 0;

    check_rc("SCHEDOP_block with an event pending returns", rc, 0);
    check(upcalls >= 1, "the callback vector %#x was delivered (%u times)", CALLBACK_VECTOR, upcalls);

    p.value = 0;
    check_rc("HVM_PARAM_CALLBACK_IRQ reset to 0", HYPERVISOR_hvm_op(HVMOP_set_param, &p), 0);
    if (wd >= 1 && wd <= 2)
        watchdog((uint32_t)wd, 0);
}

void test_main(void)
{
    test_simple();
    test_bad_pointers();
    test_watchdog();
    test_block();
}
