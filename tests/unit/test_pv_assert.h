/*
 * The cmocka side of test_pv_env.h for the validator's unit tests
 * (test_pv_page_type.c, test_pv_mmu_update.c, test_pv_mmuext_op.c): the
 * per-test reset and the invariant checks as assertions. test_pv_env.h
 * itself stays free of cmocka for the fuzzer.
 */
#ifndef TEST_PV_ASSERT_H
#define TEST_PV_ASSERT_H

#include "test_pv_env.h"

#define RW   (PTE_P | PTE_RW)
#define RO   (PTE_P)

ENV_FN int setup(void **state)
{
    env_reset();
    return 0;
}

ENV_FN void audit_ok(void)
{
    const char *why = env_audit();

    if (why)
        fail_msg("audit: %s", why);
}

ENV_FN void torn_down_ok(void)
{
    const char *why;

    assert_int_equal(pv_mm_teardown(&env_mm), 0);
    why = env_audit_torn_down();
    if (why)
        fail_msg("teardown: %s", why);
    assert_int_equal(env_mm.stats.forced, 0);   /* nothing left to devalidate by force */
}

#endif
