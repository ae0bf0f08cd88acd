/* The slab heap over aligned_alloc(): size classes, alignment, large
 * objects, slab reuse and release, exhaustion, double free and foreign
 * pointers, and a random workload that checks every byte it wrote. */
/* @sources: hypervisor/mm/heap.c */
#include "cmocka_prelude.h"
#include <stdlib.h>
#include <string.h>
#include <proxenos/heap.h>

#define PG 4096UL

static struct heap h;
static long budget;                   /* pages the provider may still give */
static long outstanding;              /* pages given and not returned */
static struct { int n; enum heap_error last; const void *ptr; } errs;

static void *get_pages(void *ctx, unsigned int order)
{
    void *p;

    if (budget < (1L << order))
        return NULL;
    p = aligned_alloc(PG << order, PG << order);
    assert_non_null(p);
    memset(p, 0xa5, PG << order);     /* garbage, as recycled memory would be */
    budget -= 1L << order;
    outstanding += 1L << order;
    return p;
}

/* With quarantine on, returned pages stay readable until teardown, so a
 * second xfree() of a large object can be looked at safely. */
static bool quarantine;
static void *held[64];
static int nheld;

static void put_pages(void *ctx, void *va, unsigned int order)
{
    assert_int_equal((uintptr_t)va & ((PG << order) - 1), 0);
    outstanding -= 1L << order;
    budget += 1L << order;
    if (quarantine && nheld < 64)
        held[nheld++] = va;
    else
        free(va);
}

static void on_error(void *ctx, enum heap_error err, const void *ptr)
{
    errs.n++;
    errs.last = err;
    errs.ptr = ptr;
}

static const struct heap_ops ops = { get_pages, put_pages, on_error };

static int setup(void **state)
{
    budget = 1L << 20;
    outstanding = 0;
    memset(&errs, 0, sizeof(errs));
    heap_init(&h, &ops, NULL, 12);
    return 0;
}

static void expect_error(int rc, enum heap_error want, const void *p)
{
    assert_int_equal(rc, -(int)want);
    assert_int_equal(errs.n, 1);
    assert_int_equal(errs.last, want);
    assert_ptr_equal(errs.ptr, p);
    errs.n = 0;
}

static struct heap_stats stats(void)
{
    struct heap_stats st;
    heap_get_stats(&h, &st);
    return st;
}

static void test_size_classes(void **state)
{
    static const size_t sizes[] = { 0, 1, 15, 16, 17, 32, 100, 128, 129, 700, 1024, 1025,
                                    1536, 2000, 2047, 2048 };
    static const unsigned int cls[] = { 0, 0, 0, 0, 1, 1, 5, 5, 6, 10, 11, 12, 12, 13, 13, 13 };
    void *p[16];

    for (unsigned int i = 0; i < 16; i++) {
        struct heap_stats before = stats();
        p[i] = heap_alloc(&h, sizes[i]);
        assert_non_null(p[i]);
        assert_int_equal((uintptr_t)p[i] & (HEAP_ALIGN - 1), 0);
        memset(p[i], 0x11, sizes[i]);
        assert_int_equal(stats().class_live[cls[i]], before.class_live[cls[i]] + 1);
        assert_true(heap_class_size(&h, cls[i]) >= sizes[i]);
    }
    assert_int_equal(stats().live_objects, 16);
    assert_int_equal(stats().large_pages, 0);
    for (unsigned int i = 0; i < 16; i++)
        assert_int_equal(heap_free(&h, p[i]), 0);
    assert_int_equal(stats().live_objects, 0);
    assert_int_equal(stats().live_bytes, 0);
    assert_int_equal(errs.n, 0);
}

/* Objects of one class fill a slab, then the next; empty slabs go back
 * except one kept per class. */
static void test_slab_reuse_and_release(void **state)
{
    static void *p[1000];
    long before = outstanding;

    for (int i = 0; i < 1000; i++) {
        p[i] = heap_alloc(&h, 64);
        for (int j = 0; j < i; j++)
            assert_true((char *)p[i] >= (char *)p[j] + 64 || (char *)p[j] >= (char *)p[i] + 64);
    }
    assert_true(stats().slab_pages >= 1000 * (64 + 16) / PG);
    for (int i = 0; i < 1000; i++)
        heap_free(&h, p[i]);
    assert_int_equal(stats().slab_pages, 1);         /* the one cached empty slab */
    assert_int_equal(outstanding - before, 1);
    p[0] = heap_alloc(&h, 60);                       /* reuses it: no new pages */
    assert_int_equal(outstanding - before, 1);
    heap_free(&h, p[0]);
}

static void test_large_objects(void **state)
{
    void *a = heap_alloc(&h, 2049), *b = heap_alloc(&h, PG - 16), *c = heap_alloc(&h, PG - 15);
    void *d = heap_alloc(&h, 1 << 20);

    assert_true(a && b && c && d);
    assert_int_equal((uintptr_t)a & (PG - 1), 16);   /* header, then the object */
    assert_int_equal(stats().large_pages, 1 + 1 + 2 + 512);
    memset(d, 0x22, 1 << 20);
    memset(c, 0x33, PG - 15);
    heap_free(&h, a);
    heap_free(&h, b);
    heap_free(&h, c);
    heap_free(&h, d);
    assert_int_equal(stats().large_pages, 0);
    assert_int_equal(outstanding, 0);                /* large pages go straight back */
}

static void test_too_large_and_exhaustion(void **state)
{
    void *max;

    assert_null(heap_alloc(&h, SIZE_MAX));
    assert_null(heap_alloc(&h, SIZE_MAX - 8));
    assert_null(heap_alloc(&h, (PG << 12) - 15));    /* beyond max_order 12 */
    max = heap_alloc(&h, (PG << 12) - 16);
    assert_non_null(max);
    budget = 0;
    assert_null(heap_alloc(&h, 5000));
    assert_null(heap_alloc(&h, 100));                /* needs a fresh slab */
    assert_int_equal(stats().failures, 5);
    assert_int_equal(stats().live_objects, 1);
    heap_free(&h, max);
}

static void test_double_free(void **state)
{
    void *keep = heap_alloc(&h, 200), *p = heap_alloc(&h, 200);

    assert_int_equal(heap_free(&h, p), 0);
    expect_error(heap_free(&h, p), HEAP_ERR_DOUBLE_FREE, p);
    assert_int_equal(stats().live_objects, 1);       /* unchanged by the misuse */
    assert_int_equal(stats().frees, 1);
    heap_free(&h, keep);
}

static void test_double_free_large(void **state)
{
    void *big;

    quarantine = true;
    big = heap_alloc(&h, 3 * PG);
    assert_int_equal(heap_free(&h, big), 0);
    assert_int_equal(outstanding, 0);
    expect_error(heap_free(&h, big), HEAP_ERR_DOUBLE_FREE, big);
    assert_int_equal(stats().large_pages, 0);
    assert_int_equal(stats().frees, 1);
}

static void test_bad_pointers(void **state)
{
    char *p = heap_alloc(&h, 100), *big = heap_alloc(&h, 9000);
    uint8_t *fake = aligned_alloc(PG, PG);

    memset(p, 0, 100);
    memset(fake, 0, PG);
    expect_error(heap_free(&h, p + 1), HEAP_ERR_BAD_POINTER, p + 1);      /* misaligned */
    expect_error(heap_free(&h, p + 32), HEAP_ERR_BAD_POINTER, p + 32);    /* inside */
    expect_error(heap_free(&h, big + PG), HEAP_ERR_BAD_POINTER, big + PG);
    expect_error(heap_free(&h, fake + 256), HEAP_ERR_BAD_POINTER, fake + 256);
    /* A forged small-object header: no slab around it, refused. */
    memcpy(fake + 240, p - 16, 16);
    expect_error(heap_free(&h, fake + 256), HEAP_ERR_BAD_POINTER, fake + 256);
    /* A forged large-object header off a page boundary. */
    memcpy(fake + 240, big - 16, 16);
    expect_error(heap_free(&h, fake + 256), HEAP_ERR_BAD_POINTER, fake + 256);
    /* A real slab, but not on a slot boundary. */
    memcpy(p + 16, p - 16, 16);
    expect_error(heap_free(&h, p + 32), HEAP_ERR_BAD_POINTER, p + 32);
    assert_int_equal(heap_free(&h, NULL), 0);
    assert_int_equal(heap_free(&h, p), 0);
    assert_int_equal(heap_free(&h, big), 0);
    assert_int_equal(stats().live_objects, 0);
    free(fake);
}

/* Freed small objects are poisoned, so use after free shows. */
static void test_poison(void **state)
{
    uint8_t *keep = heap_alloc(&h, 48), *p = heap_alloc(&h, 48);

    memset(p, 0, 48);
    heap_free(&h, p);
    for (int i = 0; i < 48; i++)
        assert_int_equal(p[i], 0xdf);
    heap_free(&h, keep);
}

/* ---- random workload ---------------------------------------------------------- */

#define SLOTS 512
static struct { uint8_t *p; size_t n; uint8_t seed; } live[SLOTS];

static void fill(uint8_t *p, size_t n, uint8_t seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(seed + i * 13);
}

static void verify(const uint8_t *p, size_t n, uint8_t seed)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != (uint8_t)(seed + i * 13))
            fail_msg("object %p byte %zu overwritten", (void *)p, i);
}

static void test_random_workload(void **state)
{
    srand(7);
    for (int step = 0; step < 100000; step++) {
        unsigned int i = rand() % SLOTS;
        if (live[i].p) {
            verify(live[i].p, live[i].n, live[i].seed);
            assert_int_equal(heap_free(&h, live[i].p), 0);
            live[i].p = NULL;
            continue;
        }
        live[i].n = rand() % 10 ? rand() % 2100 : rand() % 40000;
        live[i].seed = (uint8_t)rand();
        live[i].p = heap_alloc(&h, live[i].n);
        assert_non_null(live[i].p);
        assert_int_equal((uintptr_t)live[i].p & 15, 0);
        fill(live[i].p, live[i].n, live[i].seed);
    }
    for (unsigned int i = 0; i < SLOTS; i++)
        if (live[i].p) {
            verify(live[i].p, live[i].n, live[i].seed);
            heap_free(&h, live[i].p);
            live[i].p = NULL;
        }
    assert_int_equal(stats().live_objects, 0);
    assert_int_equal(stats().live_bytes, 0);
    assert_int_equal(stats().large_pages, 0);
    assert_true(stats().slab_pages <= 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 1 + 2 + 2 + 4);
    assert_int_equal(outstanding, (long)stats().slab_pages);
    assert_int_equal(errs.n, 0);
}

/* Returns every cached slab so the next test starts from nothing. */
static int teardown(void **state)
{
    while (nheld)
        free(held[--nheld]);
    quarantine = false;
    for (unsigned int i = 0; i < HEAP_NR_CLASSES; i++)
        if (h.cls[i].empty) {
            put_pages(NULL, h.cls[i].empty, h.cls[i].slab_order);
            h.cls[i].empty = NULL;
        }
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_size_classes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_slab_reuse_and_release, setup, teardown),
        cmocka_unit_test_setup_teardown(test_large_objects, setup, teardown),
        cmocka_unit_test_setup_teardown(test_too_large_and_exhaustion, setup, teardown),
        cmocka_unit_test_setup_teardown(test_double_free, setup, teardown),
        cmocka_unit_test_setup_teardown(test_double_free_large, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_pointers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_poison, setup, teardown),
        cmocka_unit_test_setup_teardown(test_random_workload, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
