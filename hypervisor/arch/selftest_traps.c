/*
 * Self tests of the boot path and of fatal-trap reporting (test image only).
 * `boot` passes once every subsystem has initialised; the system test then
 * checks the log for the banner, the memory totals and the CPU count.
 * `exception` executes UD2 on purpose: the expected outcome is the fatal-trap
 * register dump naming this function, and the crash exit code.
 */
#include <proxenos/printk.h>
#include <proxenos/selftest.h>

static void st_boot(void)
{
    selftest_pass();
}
SELFTEST(boot, st_boot);

static __attribute__((noinline)) void st_exception_fault(void)
{
    __asm__ volatile("ud2");
}

static void st_exception(void)
{
    printk("SELFTEST exception: expecting a #UD register dump\n");
    st_exception_fault();
    selftest_fail("UD2 did not trap");
}
SELFTEST(exception, st_exception);
