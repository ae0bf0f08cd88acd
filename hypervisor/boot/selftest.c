/* Runs the self test named by `selftest=` (test image only). */
#include <proxenos/cmdline.h>
#include <proxenos/lib.h>
#include <proxenos/printk.h>
#include <proxenos/selftest.h>
#include <proxenos/shutdown.h>

static char opt_selftest[32];
static const char *current = "?";

#ifdef CONFIG_SELFTEST
string_param("selftest", opt_selftest);
#endif

extern const struct selftest __selftest_start[], __selftest_end[];

void selftest_run_requested(void)
{
    if (!opt_selftest[0])
        return;
    for (const struct selftest *t = __selftest_start; t < __selftest_end; t++) {
        if (!strcmp(t->name, opt_selftest)) {
            current = t->name;
            printk("SELFTEST %s: start\n", t->name);
            t->fn();
            selftest_fail("returned without a verdict");
        }
    }
    printk(LOG_ERR "selftest=%s: no such self test\n", opt_selftest);
    machine_exit(EXIT_FAIL);
}

__noreturn void selftest_pass(void)
{
    printk("SELFTEST %s: PASS\n", current);
    machine_exit(EXIT_POWEROFF);
}

__noreturn void selftest_fail(const char *fmt, ...)
{
    char msg[200];
    va_list ap;

    va_start(ap, fmt);
    px_vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    printk(LOG_ERR "SELFTEST %s: FAIL: %s\n", current, msg);
    machine_exit(EXIT_FAIL);
}
