/* Reserved ranges: merging, lookups, subtraction from RAM, and the boot-time
 * top-down allocator built on them. */
/* @sources: hypervisor/mm/reserve.c hypervisor/mm/e820.c */
#include "cmocka_prelude.h"
#include <string.h>
#include <proxenos/e820.h>

static struct resv_list l;

static int reset(void **state)
{
    memset(&l, 0, sizeof(l));
    return 0;
}

static void expect_list(const uint64_t (*w)[2], unsigned int n)
{
    assert_int_equal(l.nr, n);
    for (unsigned int i = 0; i < n; i++) {
        assert_int_equal(l.r[i].start, w[i][0]);
        assert_int_equal(l.r[i].end, w[i][1]);
    }
}

static void test_add_sorts_rounds_merges(void **state)
{
    static const uint64_t w1[][2] = { { 0x1000, 0x3000 }, { 0x8000, 0x9000 }, { 0x20000, 0x21000 } };
    static const uint64_t w2[][2] = { { 0x1000, 0x9000 }, { 0x20000, 0x21000 } };
    static const uint64_t w3[][2] = { { 0x0, 0x22000 } };

    assert_int_equal(resv_add(&l, 0x20000, 0x20001), 0);     /* one byte: a whole page */
    assert_int_equal(resv_add(&l, 0x8800, 0x8900), 0);
    assert_int_equal(resv_add(&l, 0x1fff, 0x2001), 0);
    assert_int_equal(resv_add(&l, 0x1000, 0x2000), 0);       /* adjacent: merges */
    expect_list(w1, 3);
    assert_int_equal(resv_add(&l, 0x3000, 0x8000), 0);       /* fills the gap: three become one */
    expect_list(w2, 2);
    assert_int_equal(resv_add(&l, 0, 0x21800), 0);           /* swallows everything */
    expect_list(w3, 1);
}

static void test_add_rejects(void **state)
{
    assert_int_equal(resv_add(&l, 0x5000, 0x5000), -EINVAL);
    assert_int_equal(resv_add(&l, 0x6000, 0x5000), -EINVAL);
    assert_int_equal(resv_add(&l, 0xfffffffffffff800ULL, UINT64_MAX), -EINVAL);  /* no whole page */
    assert_int_equal(resv_add(&l, 0xffffffffffffe800ULL, UINT64_MAX), 0);
    assert_int_equal(l.r[0].end, 0xfffffffffffff000ULL);
}

static void test_full_list(void **state)
{
    for (unsigned int i = 0; i < RESV_MAX; i++)
        assert_int_equal(resv_add(&l, i * 0x10000, i * 0x10000 + 0x1000), 0);
    assert_int_equal(resv_add(&l, 0x8000, 0x9000), -ENOSPC);
    assert_int_equal(resv_add(&l, 0x1000, 0x2000), 0);      /* merges: no new slot needed */
    assert_int_equal(resv_add(&l, 0x800, 0x10800), 0);      /* joins two */
    assert_int_equal(l.nr, RESV_MAX - 1);
    assert_int_equal(resv_add(&l, 0x8000000, 0x8001000), 0);
}

static void test_overlaps(void **state)
{
    resv_add(&l, 0x2000, 0x4000);
    assert_true(resv_overlaps(&l, 0x3fff, 0x4000));
    assert_true(resv_overlaps(&l, 0x0, 0x2001));
    assert_false(resv_overlaps(&l, 0x0, 0x2000));
    assert_false(resv_overlaps(&l, 0x4000, 0x9000));
}

struct pieces { unsigned int n; uint64_t p[8][2]; };

static void collect(paddr_t s, paddr_t e, void *ctx)
{
    struct pieces *ps = ctx;
    assert_true(ps->n < 8);
    ps->p[ps->n][0] = s;
    ps->p[ps->n][1] = e;
    ps->n++;
}

static void test_subtract(void **state)
{
    struct pieces ps = { 0 };

    resv_add(&l, 0x0, 0x2000);
    resv_add(&l, 0x5000, 0x6000);
    resv_add(&l, 0x9000, 0x20000);
    resv_subtract(&l, 0x1000, 0x10000, collect, &ps);
    assert_int_equal(ps.n, 2);
    assert_int_equal(ps.p[0][0], 0x2000);
    assert_int_equal(ps.p[0][1], 0x5000);
    assert_int_equal(ps.p[1][0], 0x6000);
    assert_int_equal(ps.p[1][1], 0x9000);
    ps.n = 0;
    resv_subtract(&l, 0x9000, 0x10000, collect, &ps);      /* wholly reserved */
    assert_int_equal(ps.n, 0);
    resv_subtract(&l, 0x30000, 0x40000, collect, &ps);     /* nothing reserved */
    assert_int_equal(ps.n, 1);
    assert_int_equal(ps.p[0][0], 0x30000);
    assert_int_equal(ps.p[0][1], 0x40000);
}

static struct e820map map;

static void make_map(void)
{
    static const struct e820entry raw[] = {
        { 0, 0x9f000, E820_RAM }, { 0x100000, 0x7f00000, E820_RAM },
        { 0x100000000ULL, 0x40000000, E820_RAM }, { 0x8000000, 0x100000, E820_RESERVED },
    };
    e820_sanitize(raw, 4, &map);
}

static void test_alloc_top(void **state)
{
    paddr_t a, b;

    make_map();
    resv_add(&l, 0, 0x100000);
    a = resv_alloc_top(&map, &l, 0x1000, 0x1000, UINT64_MAX);
    assert_int_equal(a, 0x140000000ULL - 0x1000);            /* top of the highest RAM */
    b = resv_alloc_top(&map, &l, 0x1000, 0x1000, UINT64_MAX);
    assert_int_equal(b, a - 0x1000);                         /* just below: merged */
    assert_int_equal(l.nr, 2);
    a = resv_alloc_top(&map, &l, 0x3000, 0x1000, 0x100000000ULL);
    assert_int_equal(a, 0x8000000 - 0x3000);                 /* below 4 GiB */
    a = resv_alloc_top(&map, &l, 0x1000, 0x200000, 0x100000000ULL);
    assert_int_equal(a, 0x7e00000);                          /* aligned */
    assert_true(resv_overlaps(&l, a, a + 0x1000));
    assert_int_equal(resv_alloc_top(&map, &l, 0x100000000ULL, 0x1000, UINT64_MAX), 0);
    assert_int_equal(resv_alloc_top(&map, &l, 0x800, 0x1000, UINT64_MAX), 0);
    assert_int_equal(resv_alloc_top(&map, &l, 0x1000, 0x3000, UINT64_MAX), 0);
    assert_int_equal(resv_alloc_top(&map, &l, 0x1000, 0x1000, 0x100000), 0);  /* all reserved */
}

/* A thousand one-page grants keep the list short and never overlap. */
static void test_alloc_many(void **state)
{
    paddr_t prev = UINT64_MAX;

    make_map();
    resv_add(&l, 0, 0x100000);
    for (int i = 0; i < 1000; i++) {
        paddr_t a = resv_alloc_top(&map, &l, 0x1000, 0x1000, 0x100000000ULL);
        assert_true(a && a < prev);
        prev = a;
    }
    assert_true(l.nr <= 3);
}

static void test_alloc_exhausts(void **state)
{
    static const struct e820entry raw[] = { { 0x1000, 0x3000, E820_RAM } };
    e820_sanitize(raw, 1, &map);
    assert_int_equal(resv_alloc_top(&map, &l, 0x1000, 0x1000, UINT64_MAX), 0x3000);
    assert_int_equal(resv_alloc_top(&map, &l, 0x1000, 0x1000, UINT64_MAX), 0x2000);
    assert_int_equal(resv_alloc_top(&map, &l, 0x1000, 0x1000, UINT64_MAX), 0x1000);
    assert_int_equal(resv_alloc_top(&map, &l, 0x1000, 0x1000, UINT64_MAX), 0);
}

/* Address 0 is never granted, even when it is free RAM. */
static void test_alloc_never_zero(void **state)
{
    static const struct e820entry raw[] = { { 0, 0x1000, E820_RAM } };
    e820_sanitize(raw, 1, &map);
    assert_int_equal(resv_alloc_top(&map, &l, 0x1000, 0x1000, UINT64_MAX), 0);
    assert_int_equal(l.nr, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_add_sorts_rounds_merges, reset),
        cmocka_unit_test_setup(test_add_rejects, reset),
        cmocka_unit_test_setup(test_full_list, reset),
        cmocka_unit_test_setup(test_overlaps, reset),
        cmocka_unit_test_setup(test_subtract, reset),
        cmocka_unit_test_setup(test_alloc_top, reset),
        cmocka_unit_test_setup(test_alloc_many, reset),
        cmocka_unit_test_setup(test_alloc_exhausts, reset),
        cmocka_unit_test_setup(test_alloc_never_zero, reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
