/* Fixed-point clock scaling (time_scale.c) against 128-bit exact arithmetic. */
/* @sources: hypervisor/platform/time_scale.c */
#include "cmocka_prelude.h"
#include <proxenos/time.h>

typedef unsigned __int128 u128;

/* |got - exact| must be within 2^-30 of exact, plus the input bits a
 * right shift drops (each worth at most to/from), plus one for truncation. */
static void check(uint64_t from, uint64_t to, uint64_t delta)
{
    struct time_scale ts;
    uint64_t got, exact, slack;

    assert_int_equal(time_scale_init(&ts, from, to), 0);
    assert_true(ts.mul_frac >= 0x80000000u);
    got = time_scale_apply(delta, &ts);
    exact = (uint64_t)((u128)delta * to / from);
    slack = (exact >> 30) + 1;
    if (ts.shift < 0)
        slack += (uint64_t)(((u128)1 << -ts.shift) * to / from) + 1;
    if (got > exact ? got - exact > slack : exact - got > slack)
        fail_msg("from %lu Hz to %lu Hz, delta %lu: got %lu, exact %lu (mul %#x shift %d)",
                 from, to, delta, got, exact, ts.mul_frac, ts.shift);
}

static const uint64_t rates[] = {
    1, 1000, 32768, 1193182, 14318180, 62500000, 100000000, 999999999,
    1000000000, 1000000001, 2994563000ull, 3600000000ull, 4294967295ull,
    4294967296ull, 5000000000ull, 12345678901ull,
};

static void test_tsc_to_ns(void **state)
{
    static const uint64_t deltas[] = {
        0, 1, 2, 3, 999, 1000000, 0xffffffffull, 0x100000000ull, 3000000000ull * 3600,
        3000000000ull * 86400 * 365,
    };

    for (size_t i = 0; i < sizeof(deltas) / sizeof(deltas[0]); i++) {
        check(2994563000ull, 1000000000, deltas[i]);
        check(1000000000, 2994563000ull, deltas[i] / 4);
        check(1000000000, 62500000, deltas[i]);
        check(100000000, 1000000000, deltas[i]);
        check(14318180, 1000000000, deltas[i]);
    }
}

static void test_all_rate_pairs(void **state)
{
    size_t n = sizeof(rates) / sizeof(rates[0]);

    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < n; j++) {
            struct time_scale ts;
            /* Only ratios near or beyond 2^31 either way may be refused. */
            bool extreme = ((u128)rates[j] << 32) / rates[i] >= ((u128)1 << 62) ||
                           ((u128)rates[i] << 32) / rates[j] >= ((u128)1 << 62);

            if (time_scale_init(&ts, rates[i], rates[j])) {
                assert_true(extreme);
                continue;
            }
            check(rates[i], rates[j], 123456789);
            check(rates[i], rates[j], rates[i]);      /* one second */
        }
    }
}

static void test_identity_and_exact_ratios(void **state)
{
    struct time_scale ts;

    assert_int_equal(time_scale_init(&ts, 1000000000, 1000000000), 0);
    assert_int_equal(time_scale_apply(123456789, &ts), 123456789);
    assert_int_equal(ts.mul_frac, 0x80000000u);
    assert_int_equal(ts.shift, 1);
    assert_int_equal(time_scale_init(&ts, 2000, 1000), 0);
    assert_int_equal(time_scale_apply(1000, &ts), 500);
    assert_int_equal(time_scale_init(&ts, 1000, 3000), 0);
    assert_int_equal(time_scale_apply(1000, &ts), 3000);
    assert_int_equal(time_scale_init(&ts, 3, 1), 0);
    assert_int_equal(time_scale_apply(3000, &ts), 999);      /* 1/3 truncates */
}

static void test_bad_rates(void **state)
{
    struct time_scale ts;

    assert_int_equal(time_scale_init(&ts, 0, 1000), -EINVAL);
    assert_int_equal(time_scale_init(&ts, 1000, 0), -EINVAL);
    assert_int_equal(time_scale_init(&ts, 1, 1ull << 40), -EINVAL);
    assert_int_equal(time_scale_init(&ts, 1ull << 40, 1), -EINVAL);
}

/* Monotonic: a later TSC never gives an earlier time. */
static void test_monotonic(void **state)
{
    struct time_scale ts;
    uint64_t prev = 0;

    assert_int_equal(time_scale_init(&ts, 2994563000ull, 1000000000), 0);
    for (uint64_t d = 0xfffff000ull; d < 0x100001000ull; d += 7) {
        uint64_t v = time_scale_apply(d, &ts);
        assert_true(v >= prev);
        prev = v;
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tsc_to_ns),
        cmocka_unit_test(test_all_rate_pairs),
        cmocka_unit_test(test_identity_and_exact_ratios),
        cmocka_unit_test(test_bad_rates),
        cmocka_unit_test(test_monotonic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
