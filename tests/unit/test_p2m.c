/* The p2m radix tree: 4 KiB / 2 MiB entries, splits, types, teardown. */
/* @sources: hypervisor/p2m/p2m.c */
#include "cmocka_prelude.h"
#include <stdlib.h>
#include <string.h>
#include <proxenos/p2m.h>

/* Table pages are host pages; their "machine address" is the pointer. */
static int live_tables, alloc_budget = 1 << 20;

paddr_t p2m_table_alloc(void)
{
    if (alloc_budget-- <= 0)
        return 0;
    void *p = aligned_alloc(4096, 4096);
    memset(p, 0, 4096);
    live_tables++;
    return (paddr_t)(uintptr_t)p;
}
void p2m_table_free(paddr_t pa) { free((void *)(uintptr_t)pa); live_tables--; }
uint64_t *p2m_table_map(paddr_t pa) { return (uint64_t *)(uintptr_t)pa; }

/* A format like NPT: P bit 0, RW bit 1. */
static uint64_t leaf(paddr_t mpa, enum p2m_type t, bool large)
{
    return (mpa & P2M_ADDR_MASK) | 1 | (p2m_is_writable(t) ? 2 : 0) |
           ((uint64_t)t << P2M_TYPE_SHIFT) | (large ? P2M_LARGE : 0);
}
static uint64_t table(paddr_t mpa) { return (mpa & P2M_ADDR_MASK) | 3; }
static bool present(uint64_t pte) { return pte & 1; }
static const struct p2m_format fmt = { "test", leaf, table, present };

static struct p2m p2m;

static int setup(void **state)
{
    alloc_budget = 1 << 20;
    assert_int_equal(p2m_init(&p2m, &fmt), 0);
    return 0;
}

static int teardown(void **state)
{
    p2m_teardown(&p2m);
    assert_int_equal(live_tables, 0);   /* every table page given back */
    return 0;
}

static void small_and_large(void **state)
{
    mfn_t mfn;
    assert_int_equal(p2m_set_entry(&p2m, 0x10, 0x1234, 0, p2m_ram_rw), 0);
    assert_int_equal(p2m_set_entry(&p2m, 0x200, 0x40000, 9, p2m_ram_rw), 0);
    assert_int_equal(p2m_lookup(&p2m, 0x10, &mfn), p2m_ram_rw);
    assert_true(mfn == 0x1234);
    assert_int_equal(p2m_lookup(&p2m, 0x2ff, &mfn), p2m_ram_rw);
    assert_true(mfn == 0x400ff);
    assert_int_equal(p2m_lookup(&p2m, 0x11, &mfn), p2m_invalid);
    assert_true(mfn == INVALID_MFN);
    assert_true(p2m.nr_entries[p2m_ram_rw] == 513);
    assert_true(p2m.max_mapped_gfn == 0x3ff);
}

static void split_keeps_the_rest(void **state)
{
    mfn_t mfn;
    assert_int_equal(p2m_set_entry(&p2m, 0x400, 0x80000, 9, p2m_ram_rw), 0);
    /* Map the shared-info page into the middle of a 2 MiB RAM range. */
    assert_int_equal(p2m_set_entry(&p2m, 0x405, 0x999, 0, p2m_reserved), 0);
    assert_int_equal(p2m_lookup(&p2m, 0x405, &mfn), p2m_reserved);
    assert_true(mfn == 0x999);
    assert_int_equal(p2m_lookup(&p2m, 0x404, &mfn), p2m_ram_rw);
    assert_true(mfn == 0x80004);
    assert_int_equal(p2m_lookup(&p2m, 0x5ff, &mfn), p2m_ram_rw);
    assert_true(mfn == 0x801ff);
    assert_true(p2m.nr_entries[p2m_ram_rw] == 511);
    assert_true(p2m.nr_entries[p2m_reserved] == 1);
}

static void large_over_small_table(void **state)
{
    mfn_t mfn;
    assert_int_equal(p2m_set_entry(&p2m, 0x600, 0x1000, 0, p2m_ram_rw), 0);
    assert_int_equal(p2m_set_entry(&p2m, 0x601, 0x1001, 0, p2m_ram_rw), 0);
    uint64_t tables = p2m.nr_table_pages;
    assert_int_equal(p2m_set_entry(&p2m, 0x600, 0xa0000, 9, p2m_ram_rw), 0);
    assert_true(p2m.nr_table_pages == tables - 1);     /* the L1 table was freed */
    assert_true(p2m.nr_entries[p2m_ram_rw] == 512);
    assert_int_equal(p2m_lookup(&p2m, 0x601, &mfn), p2m_ram_rw);
    assert_true(mfn == 0xa0001);
}

static void remove_and_bad_args(void **state)
{
    mfn_t mfn;
    assert_int_equal(p2m_set_entry(&p2m, 0x800, 0xc0000, 9, p2m_ram_rw), 0);
    assert_int_equal(p2m_remove(&p2m, 0x800, 9), 0);
    assert_int_equal(p2m_lookup(&p2m, 0x800, &mfn), p2m_invalid);
    assert_true(p2m.nr_entries[p2m_ram_rw] == 0);
    assert_int_equal(p2m_set_entry(&p2m, 0x801, 0xc0000, 9, p2m_ram_rw), -EINVAL);  /* unaligned */
    assert_int_equal(p2m_set_entry(&p2m, 0x800, 0xc0001, 9, p2m_ram_rw), -EINVAL);
    assert_int_equal(p2m_set_entry(&p2m, 0, 0, 3, p2m_ram_rw), -EINVAL);            /* order */
    assert_int_equal(p2m_set_entry(&p2m, 1ull << 40, 0, 0, p2m_ram_rw), -EINVAL);   /* gfn too big */
    assert_int_equal(p2m_set_entry(&p2m, 0, 1ull << 40, 0, p2m_ram_rw), -EINVAL);
    assert_int_equal(p2m_set_entry(&p2m, 0, 0, 0, p2m_nr_types), -EINVAL);
    assert_int_equal(p2m_lookup(&p2m, ~0ull, &mfn), p2m_invalid);
}

static void exhaustion_is_reported(void **state)
{
    alloc_budget = 1;                  /* room for one more table only */
    assert_int_equal(p2m_set_entry(&p2m, 1ull << 27, 5, 0, p2m_ram_rw), -ENOMEM);
    alloc_budget = 1 << 20;
    assert_int_equal(p2m_set_entry(&p2m, 1ull << 27, 5, 0, p2m_ram_rw), 0);
}

static uint64_t seen_pages;
static void count(gfn_t gfn, mfn_t mfn, unsigned int order, enum p2m_type t, void *arg)
{
    seen_pages += 1ull << order;
    assert_true(gfn >= *(gfn_t *)arg);    /* visited in gfn order */
    *(gfn_t *)arg = gfn;
}

static void for_each_visits_all(void **state)
{
    gfn_t last = 0;
    for (gfn_t g = 0; g < 64; g++)
        assert_int_equal(p2m_set_entry(&p2m, g * 37, g, 0, p2m_ram_rw), 0);
    assert_int_equal(p2m_set_entry(&p2m, 0x10000, 0x20000, 9, p2m_ram_rw), 0);
    seen_pages = 0;
    p2m_for_each(&p2m, count, &last);
    assert_true(seen_pages == 64 + 512);
}

/* A PV domain has no p2m (root 0, no format): common code that reaches it
   must get "nothing there", never a walk through physical page 0. */
static void no_p2m_is_refused(void **state)
{
    struct p2m none;
    mfn_t mfn;
    gfn_t last = 0;

    (void)state;
    memset(&none, 0, sizeof(none));
    assert_int_equal(p2m_lookup(&none, 0x1000, &mfn), p2m_invalid);
    assert_true(mfn == INVALID_MFN);
    assert_int_equal(p2m_set_entry(&none, 0x1000, 0x2000, 0, p2m_ram_rw), -EINVAL);
    assert_int_equal(p2m_remove(&none, 0x1000, 0), -EINVAL);
    seen_pages = 0;
    p2m_for_each(&none, count, &last);
    assert_true(seen_pages == 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(small_and_large, setup, teardown),
        cmocka_unit_test_setup_teardown(split_keeps_the_rest, setup, teardown),
        cmocka_unit_test_setup_teardown(large_over_small_table, setup, teardown),
        cmocka_unit_test_setup_teardown(remove_and_bad_args, setup, teardown),
        cmocka_unit_test_setup_teardown(exhaustion_is_reported, setup, teardown),
        cmocka_unit_test_setup_teardown(for_each_visits_all, setup, teardown),
        cmocka_unit_test(no_p2m_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
