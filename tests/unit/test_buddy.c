/* The buddy allocator over a fake frame range: splitting and merging, natural
 * alignment, fragmentation, exhaustion, misuse detection, a random workload
 * against a shadow model, and concurrent use. */
/* @sources: hypervisor/mm/buddy.c */
#include "cmocka_prelude.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <proxenos/buddy.h>

static struct buddy b;
static struct page_info *pages;

static struct { int n; enum buddy_error last; mfn_t mfn; unsigned int order; } errs;

static void on_error(struct buddy *bd, enum buddy_error err, mfn_t mfn, unsigned int order)
{
    errs.n++;
    errs.last = err;
    errs.mfn = mfn;
    errs.order = order;
}

static void setup_range(mfn_t base, uint64_t nr)
{
    free(pages);
    pages = calloc(nr, sizeof(*pages));
    assert_non_null(pages);
    memset(&errs, 0, sizeof(errs));
    buddy_init(&b, pages, base, nr, on_error, NULL);
}

static int teardown(void **state)
{
    free(pages);
    pages = NULL;
    return 0;
}

static void expect_error(int rc, enum buddy_error want)
{
    assert_int_equal(rc, -(int)want);
    assert_int_equal(errs.n, 1);
    assert_int_equal(errs.last, want);
    errs.n = 0;
}

static void test_split_and_merge(void **state)
{
    mfn_t a, c;

    setup_range(1024, 1024);
    assert_int_equal(buddy_add_range(&b, 1024, 2048), 1024);
    assert_int_equal(b.free_blocks[10], 1);
    a = buddy_alloc(&b, 0);
    assert_int_equal(a, 1024);
    assert_int_equal(buddy_free_pages(&b), 1023);
    for (unsigned int k = 0; k < 10; k++)            /* one upper half per order */
        assert_int_equal(b.free_blocks[k], 1);
    assert_int_equal(buddy_check(&b), 0);
    c = buddy_alloc(&b, 3);
    assert_int_equal(c, 1024 + 8);
    assert_int_equal(buddy_free(&b, a, 0), 0);
    assert_int_equal(buddy_free(&b, c, 3), 0);
    assert_int_equal(b.free_blocks[10], 1);          /* all merged back */
    assert_int_equal(buddy_free_pages(&b), 1024);
    assert_int_equal(buddy_check(&b), 0);
    assert_int_equal(errs.n, 0);
}

/* Blocks are aligned in frame numbers even when the range is not. */
static void test_natural_alignment(void **state)
{
    setup_range(3, 5000);
    buddy_add_range(&b, 3, 5003);
    for (unsigned int order = 0; order <= 11; order++) {
        mfn_t m = buddy_alloc(&b, order);
        assert_true(m != 0);
        assert_int_equal(m & ((1ULL << order) - 1), 0);
        assert_true(m >= 3 && m + (1ULL << order) <= 5003);
    }
    assert_int_equal(buddy_alloc(&b, 12), 0);        /* 4096 aligned frames don't fit */
    assert_int_equal(buddy_check(&b), 0);
}

static void test_frame_zero_never_handed_out(void **state)
{
    setup_range(0, 64);
    assert_int_equal(buddy_add_range(&b, 0, 64), 63);
    for (mfn_t m; (m = buddy_alloc(&b, 0));)
        assert_true(m != 0);
    assert_int_equal(buddy_free_pages(&b), 0);
}

static void test_exhaustion(void **state)
{
    static mfn_t got[4096];
    unsigned int n = 0;

    setup_range(0, 4096);
    buddy_add_range(&b, 1, 4096);
    while ((got[n] = buddy_alloc(&b, 0)))
        n++;
    assert_int_equal(n, 4095);
    assert_int_equal(buddy_alloc(&b, 0), 0);
    assert_int_equal(buddy_alloc(&b, 5), 0);
    assert_int_equal(buddy_alloc(&b, MAX_ORDER + 1), 0);
    for (unsigned int i = 0; i < n; i++)
        assert_int_equal(buddy_free(&b, got[i], 0), 0);
    assert_int_equal(buddy_free_pages(&b), 4095);
    assert_int_equal(buddy_check(&b), 0);
}

/* Every other frame free: plenty of memory, yet no pair. */
static void test_fragmentation(void **state)
{
    setup_range(0, 2048);
    buddy_add_range(&b, 1024, 2048);
    for (mfn_t m = 1024; m < 2048; m++)
        assert_int_equal(buddy_alloc(&b, 0), m);
    for (mfn_t m = 1024; m < 2048; m += 2)
        buddy_free(&b, m, 0);
    assert_int_equal(buddy_free_pages(&b), 512);
    assert_int_equal(buddy_alloc(&b, 1), 0);
    assert_int_equal(buddy_check(&b), 0);
    for (mfn_t m = 1025; m < 2048; m += 2)
        buddy_free(&b, m, 0);
    assert_int_equal(b.free_blocks[10], 1);
    assert_int_equal(buddy_alloc(&b, 10), 1024);
}

static void test_largest_order(void **state)
{
    uint64_t n = 2ULL << MAX_ORDER;

    setup_range(n, n);
    buddy_add_range(&b, n, 2 * n);
    assert_int_equal(b.free_blocks[MAX_ORDER], 2);   /* never merged beyond MAX_ORDER */
    mfn_t x = buddy_alloc(&b, MAX_ORDER), y = buddy_alloc(&b, MAX_ORDER);
    assert_int_equal(MIN(x, y), n);
    assert_int_equal(MAX(x, y), n + (1ULL << MAX_ORDER));
    assert_int_equal(buddy_alloc(&b, 0), 0);
    buddy_free(&b, x, MAX_ORDER);
    buddy_free(&b, y, MAX_ORDER);
    assert_int_equal(b.free_blocks[MAX_ORDER], 2);
    assert_int_equal(buddy_check(&b), 0);
}

static void test_double_free(void **state)
{
    mfn_t a, c;

    setup_range(0, 256);
    buddy_add_range(&b, 0, 256);
    a = buddy_alloc(&b, 2);
    c = buddy_alloc(&b, 0);
    assert_int_equal(buddy_free(&b, a, 2), 0);
    expect_error(buddy_free(&b, a, 2), BUDDY_ERR_DOUBLE_FREE);
    expect_error(buddy_free(&b, a + 1, 0), BUDDY_ERR_DOUBLE_FREE);  /* merged tail */
    assert_int_equal(buddy_free(&b, c, 0), 0);
    expect_error(buddy_free(&b, c, 0), BUDDY_ERR_DOUBLE_FREE);
    assert_int_equal(errs.mfn, c);
    assert_int_equal(buddy_free_pages(&b), 255);     /* nothing changed by the misuse */
    assert_int_equal(buddy_check(&b), 0);
}

static void test_wrong_free(void **state)
{
    mfn_t a;

    setup_range(0, 512);
    buddy_add_range(&b, 0, 256);                     /* 256..511: never managed */
    a = buddy_alloc(&b, 2);
    expect_error(buddy_free(&b, a, 1), BUDDY_ERR_WRONG_ORDER);
    expect_error(buddy_free(&b, a, 3), BUDDY_ERR_WRONG_ORDER);
    expect_error(buddy_free(&b, a + 1, 0), BUDDY_ERR_NOT_HEAD);
    expect_error(buddy_free(&b, a + 2, 1), BUDDY_ERR_NOT_HEAD);
    expect_error(buddy_free(&b, 300, 0), BUDDY_ERR_NOT_ALLOCATED);
    expect_error(buddy_free(&b, 512, 0), BUDDY_ERR_OUT_OF_RANGE);
    expect_error(buddy_free(&b, UINT64_MAX, 0), BUDDY_ERR_OUT_OF_RANGE);
    expect_error(buddy_free(&b, a, MAX_ORDER + 1), BUDDY_ERR_BAD_ORDER);
    expect_error(buddy_free(&b, 0, 0), BUDDY_ERR_NOT_ALLOCATED);   /* frame 0 */
    assert_int_equal(buddy_free(&b, a, 2), 0);
    assert_int_equal(buddy_check(&b), 0);
}

/* A corrupted frame table is caught, not trusted. */
static void test_corruption_detected(void **state)
{
    mfn_t a;

    setup_range(0, 64);
    buddy_add_range(&b, 1, 64);
    assert_int_equal(buddy_add_range(&b, 8, 9), 0);   /* already managed */
    assert_int_equal(errs.n, 1);
    assert_int_equal(errs.last, BUDDY_ERR_CORRUPT);
    errs.n = 0;
    a = buddy_alloc(&b, 2);
    pages[a + 1].count_info = PGC_state_free;        /* a tail that claims to be free */
    expect_error(buddy_free(&b, a, 2), BUDDY_ERR_CORRUPT);
    assert_int_not_equal(buddy_check(&b), 0);
    pages[a + 1].count_info = PGC_state_inuse;
    assert_int_equal(buddy_check(&b), 0);
    pages[b.free_list[0]].list.prev = 7;             /* broken back link */
    assert_int_not_equal(buddy_check(&b), 0);
}

/* ---- random workload against a shadow bitmap --------------------------------- */

#define RAND_FRAMES 8192
static uint8_t owned[RAND_FRAMES];

static void test_random_workload(void **state)
{
    static struct { mfn_t m; unsigned int o; } live[2048];
    unsigned int nlive = 0;

    setup_range(0, RAND_FRAMES);
    memset(owned, 0, sizeof(owned));
    buddy_add_range(&b, 0, 3000);
    buddy_add_range(&b, 3007, RAND_FRAMES);          /* a hole, unaligned edges */
    uint64_t total = buddy_free_pages(&b);
    srand(42);
    for (int step = 0; step < 200000; step++) {
        if (nlive < 2048 && (rand() % 2 || !nlive)) {
            unsigned int o = rand() % 8 ? rand() % 3 : rand() % 9;
            mfn_t m = buddy_alloc(&b, o);
            if (!m)
                continue;
            assert_int_equal(m & ((1ULL << o) - 1), 0);
            for (uint64_t i = 0; i < (1ULL << o); i++) {
                assert_false(owned[m + i]);          /* never handed out twice */
                assert_true(m + i < 3000 || m + i >= 3007);
                owned[m + i] = 1;
            }
            live[nlive++] = (typeof(live[0])){ m, o };
        } else {
            unsigned int i = rand() % nlive;
            for (uint64_t j = 0; j < (1ULL << live[i].o); j++)
                owned[live[i].m + j] = 0;
            assert_int_equal(buddy_free(&b, live[i].m, live[i].o), 0);
            live[i] = live[--nlive];
        }
        if (step % 20000 == 0)
            assert_int_equal(buddy_check(&b), 0);
    }
    while (nlive) {
        nlive--;
        assert_int_equal(buddy_free(&b, live[nlive].m, live[nlive].o), 0);
    }
    assert_int_equal(buddy_free_pages(&b), total);
    assert_int_equal(buddy_check(&b), 0);
    assert_int_equal(errs.n, 0);
}

/* ---- concurrency ------------------------------------------------------------- */

static void *worker(void *arg)
{
    unsigned int seed = (unsigned int)(uintptr_t)arg;
    mfn_t held[64];
    unsigned int orders[64], n = 0;

    for (int i = 0; i < 20000; i++) {
        if (n < 64 && (rand_r(&seed) % 2 || !n)) {
            unsigned int o = rand_r(&seed) % 4;
            mfn_t m = buddy_alloc(&b, o);
            if (m) {
                held[n] = m;
                orders[n++] = o;
            }
        } else {
            n--;
            if (buddy_free(&b, held[n], orders[n]))
                return (void *)1;
        }
    }
    while (n--)
        if (buddy_free(&b, held[n], orders[n]))
            return (void *)1;
    return NULL;
}

static void test_concurrent(void **state)
{
    pthread_t t[4];
    void *ret;

    setup_range(0, 4096);
    buddy_add_range(&b, 1, 4096);
    for (uintptr_t i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, worker, (void *)(i + 1)), 0);
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], &ret);
        assert_null(ret);
    }
    assert_int_equal(buddy_free_pages(&b), 4095);
    assert_int_equal(buddy_check(&b), 0);
    assert_int_equal(errs.n, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_split_and_merge, teardown),
        cmocka_unit_test_teardown(test_natural_alignment, teardown),
        cmocka_unit_test_teardown(test_frame_zero_never_handed_out, teardown),
        cmocka_unit_test_teardown(test_exhaustion, teardown),
        cmocka_unit_test_teardown(test_fragmentation, teardown),
        cmocka_unit_test_teardown(test_largest_order, teardown),
        cmocka_unit_test_teardown(test_double_free, teardown),
        cmocka_unit_test_teardown(test_wrong_free, teardown),
        cmocka_unit_test_teardown(test_corruption_detected, teardown),
        cmocka_unit_test_teardown(test_random_workload, teardown),
        cmocka_unit_test_teardown(test_concurrent, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
