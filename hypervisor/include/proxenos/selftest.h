/*
 * In-hypervisor self tests, compiled only into the test image
 * (build/proxenos-test.elf, -DCONFIG_SELFTEST) and run with `selftest=NAME`.
 * A test reports through selftest_pass()/selftest_fail(), which print a
 * verdict line and end the machine with the matching exit code.
 *
 *     static void st_example(void) { if (1 + 1 != 2) selftest_fail("math"); selftest_pass(); }
 *     SELFTEST(example, st_example);
 */
#ifndef PROXENOS_SELFTEST_H
#define PROXENOS_SELFTEST_H
#include <proxenos/types.h>

struct selftest {
    const char *name;
    void (*fn)(void);
};

#ifdef CONFIG_SELFTEST
#define SELFTEST(n, f) \
    static const struct selftest __used __section(".data.selftests") __aligned(8) __selftest_##n = { #n, f }
#else
#define SELFTEST(n, f) static void (*const __selftest_unused_##n)(void) __attribute__((unused)) = f
#endif

void selftest_run_requested(void);
__noreturn void selftest_pass(void);
__noreturn void selftest_fail(const char *fmt, ...) __printf(1, 2);

#endif
