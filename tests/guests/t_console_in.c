/*
 * console_in: serial console input reaching dom0, as a PVH dom0 Linux reads
 * it on hvc0 (drivers/tty/hvc/hvc_xen.c: CONSOLEIO_read, woken by
 * VIRQ_CONSOLE). Driven by tests/system/cases/console_input.sh, which types
 * into the serial line:
 *     "hello\r"            -> we must read the line "hello"
 *     Ctrl-A Ctrl-A "x\r"  -> fewer than three switch characters are input
 *     Ctrl-A x3, "h"       -> input goes to the hypervisor's debug keys: the
 *                             'h' must not reach us
 *     Ctrl-A x3, "bye\r"   -> back to us: the line "bye", then we report
 * Each line read is echoed as "console_in: got line '...'". Also checked:
 * CONSOLEIO_read into a bad buffer fails with -EFAULT and loses nothing, and
 * VIRQ_CONSOLE is raised for the input when event channels exist.
 * Without the script (no input) the guest gives up after 60 s: FAIL.
 */
#include "common.h"

TEST_GUEST("console_in", NEEDS_XEN, "serial input to dom0: CONSOLEIO_read, VIRQ_CONSOLE, Ctrl-A switching");

#define TIMEOUT_NS (60ULL * 1000000000ULL)

static const char *const expected[] = { "hello", "\x01\x01x", "bye" };
static char lines[3][64];
static unsigned int nr_lines;

static union {
    struct shared_info s;
    uint8_t raw[4096];
} shinfo_page __aligned(4096);

static bool have_virq;
static uint32_t virq_port;
static unsigned int virq_events;

static uint64_t now_ns(void)
{
    xen_hvm_get_time_t t = { 0 };

    HYPERVISOR_hvm_op(HVMOP_get_time, &t);
    return t.now;
}

static long console_read(void *buf, unsigned int count)
{
    return HYPERVISOR_console_io(CONSOLEIO_read, count, buf);
}

/* VIRQ_CONSOLE on a 2-level port we watch in our own shared_info page. */
static void setup_virq(void)
{
    struct evtchn_bind_virq b = { .virq = VIRQ_CONSOLE, .vcpu = 0 };
    long rc;

    if (add_to_physmap(XENMAPSPACE_shared_info, 0, (uintptr_t)&shinfo_page >> 12)) {
        test_warn("shared_info not mapped: input is polled only");
        return;
    }
    shinfo_page.s.vcpu_info[0].evtchn_upcall_mask = 1;     /* we poll, no upcalls */
    rc = HYPERVISOR_event_channel_op(EVTCHNOP_bind_virq, &b);
    if (rc == -XEN_ENOSYS) {
        test_warn("no event channels: input is polled only");
        return;
    }
    if (check_rc("bind VIRQ_CONSOLE", rc, 0)) {
        have_virq = true;
        virq_port = b.port;
    }
}

/* Waits for input: SCHEDOP_poll on the VIRQ port, or a yield. */
static void wait_for_input(void)
{
    if (have_virq) {
        struct sched_poll p = { .nr_ports = 1, .timeout = now_ns() + 50000000ULL };
        set_xen_guest_handle(p.ports, &virq_port);
        HYPERVISOR_sched_op(SCHEDOP_poll, &p);
        volatile xen_ulong_t *pend = &shinfo_page.s.evtchn_pending[virq_port / 64];
        xen_ulong_t bit = 1UL << (virq_port % 64);
        if (*pend & bit) {
            __atomic_fetch_and(pend, ~bit, __ATOMIC_SEQ_CST);
            virq_events++;
        }
    } else {
        HYPERVISOR_sched_op(SCHEDOP_yield, NULL);
    }
}

static void echo_line(const char *line)
{
    char shown[256];
    size_t n = 0;

    for (const char *p = line; *p && n < sizeof(shown) - 5; p++)
        n += (unsigned char)*p < 32 ? (size_t)snprintf(shown + n, 5, "\\x%02x", (unsigned char)*p)
                                    : (size_t)snprintf(shown + n, 2, "%c", *p);
    printk("console_in: got line '%s'\n", shown);
}

/* Until input arrives, reads go to a bad buffer: 0 while there is none,
   then -EFAULT, and the bytes must still be there for the next read. */
static bool first_read_checked;
static bool bad_read_until_input(void)
{
    char c = 0;
    long rc = console_read(BAD_PTR_UNMAPPED, 16);

    if (rc == 0)
        return false;
    first_read_checked = true;
    check_rc("CONSOLEIO_read into an unmapped buffer with input pending", rc, -XEN_EFAULT);
    check_rc("CONSOLEIO_read of 0 bytes", console_read(&c, 0), 0);
    return true;
}

void test_main(void)
{
    char cur[64], buf[16];
    size_t len = 0;
    uint64_t deadline;

    setup_virq();
    printk("console_in: ready (virq %s)\n", have_virq ? "bound" : "not used");
    deadline = now_ns() + TIMEOUT_NS;
    while (nr_lines < ARRAY_SIZE(expected)) {
        if (now_ns() > deadline) {
            test_fail("no complete input after 60 s (%u lines)", nr_lines);
            return;
        }
        if (!first_read_checked && !bad_read_until_input()) {
            wait_for_input();
            continue;
        }
        long n = console_read(buf, sizeof(buf));
        if (n < 0) {
            test_fail("CONSOLEIO_read -> %ld (%s)", n, errno_name(n));
            return;
        }
        if (n == 0) {
            wait_for_input();
            continue;
        }
        for (long i = 0; i < n; i++) {
            if (buf[i] == '\r' || buf[i] == '\n') {
                cur[len] = 0;
                if (len && nr_lines < ARRAY_SIZE(lines)) {
                    memcpy(lines[nr_lines++], cur, len + 1);
                    echo_line(cur);
                }
                len = 0;
            } else if (len < sizeof(cur) - 1) {
                cur[len++] = buf[i];
            }
        }
    }
    for (unsigned int i = 0; i < ARRAY_SIZE(expected); i++)
        check(!strcmp(lines[i], expected[i]), "line %u is the one typed (%zu bytes)", i,
              strlen(lines[i]));
    if (have_virq)
        check(virq_events > 0, "VIRQ_CONSOLE was raised for the input (%u times seen)",
              virq_events);
}
