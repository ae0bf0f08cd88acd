/* Memory map sanitizing: ordering, overlaps, alignment, hostile entries,
 * mem_lower/upper fallback, mem= clipping; checked against a page-by-page
 * oracle on random maps. */
/* @sources: hypervisor/mm/e820.c */
#include "cmocka_prelude.h"
#include <stdlib.h>
#include <string.h>
#include <proxenos/e820.h>

static struct e820map out;

#define R(a, s, t) { (a), (s), (t) }

/* Expected output as {start, end, type} triples. */
struct want { uint64_t start, end; uint32_t type; };

static void expect_map(const struct want *w, unsigned int n)
{
    for (unsigned int i = 0; i < n && i < out.nr; i++) {
        if (out.map[i].addr != w[i].start || out.map[i].addr + out.map[i].size != w[i].end ||
            out.map[i].type != w[i].type)
            fail_msg("range %u: got %#lx-%#lx type %u, want %#lx-%#lx type %u", i,
                     out.map[i].addr, out.map[i].addr + out.map[i].size, out.map[i].type,
                     w[i].start, w[i].end, w[i].type);
    }
    assert_int_equal(out.nr, n);
}

/* Sorted, disjoint, aligned, non-empty, neighbours of one type not adjacent. */
static void check_invariants(const struct e820map *m)
{
    for (unsigned int i = 0; i < m->nr; i++) {
        const struct e820entry *e = &m->map[i];
        assert_true(e->size > 0);
        assert_int_equal(e->addr & 0xfff, 0);
        assert_int_equal(e->size & 0xfff, 0);
        assert_true(e->addr + e->size > e->addr);
        if (i) {
            const struct e820entry *p = &m->map[i - 1];
            assert_true(p->addr + p->size <= e->addr);
            assert_false(p->addr + p->size == e->addr && p->type == e->type);
        }
    }
}

static void sanitize(const struct e820entry *in, unsigned int n, unsigned int want_dropped)
{
    assert_int_equal(e820_sanitize(in, n, &out), want_dropped);
    check_invariants(&out);
}

static const struct e820entry qemu_map[] = {
    R(0, 0x9fc00, E820_RAM), R(0x9fc00, 0x400, E820_RESERVED),
    R(0xf0000, 0x10000, E820_RESERVED), R(0x100000, 0x1fee0000, E820_RAM),
    R(0x1ffe0000, 0x20000, E820_RESERVED), R(0xfffc0000, 0x40000, E820_RESERVED),
};

static void test_qemu_map(void **state)
{
    static const struct want w[] = {
        { 0, 0x9f000, E820_RAM }, { 0x9f000, 0xa0000, E820_RESERVED },
        { 0xf0000, 0x100000, E820_RESERVED }, { 0x100000, 0x1ffe0000, E820_RAM },
        { 0x1ffe0000, 0x20000000, E820_RESERVED }, { 0xfffc0000, 0x100000000, E820_RESERVED },
    };
    sanitize(qemu_map, 6, 0);
    expect_map(w, 6);
    assert_false(out.truncated);
    assert_int_equal(e820_ram_bytes(&out), 0x9f000 + 0x1fee0000);
    assert_int_equal(e820_ram_end(&out), 0x1ffe0000);
}

static void test_unsorted(void **state)
{
    struct e820entry shuffled[6];
    struct e820map sorted;

    e820_sanitize(qemu_map, 6, &sorted);
    for (int i = 0; i < 6; i++)
        shuffled[i] = qemu_map[(i * 5 + 3) % 6];
    sanitize(shuffled, 6, 0);
    assert_int_equal(out.nr, sorted.nr);
    assert_memory_equal(out.map, sorted.map, sorted.nr * sizeof(sorted.map[0]));
}

static void test_reserved_inside_ram(void **state)
{
    static const struct e820entry in[] = {
        R(0, 0x1000000, E820_RAM), R(0x400800, 0xff800, E820_ACPI),
    };
    static const struct want w[] = {
        { 0, 0x400000, E820_RAM }, { 0x400000, 0x500000, E820_ACPI },
        { 0x500000, 0x1000000, E820_RAM },
    };
    sanitize(in, 2, 0);
    expect_map(w, 3);
}

static void test_overlapping_ram_merges(void **state)
{
    static const struct e820entry in[] = {
        R(0x200000, 0x300000, E820_RAM), R(0x100000, 0x200000, E820_RAM),
        R(0x500000, 0x100000, E820_RAM), R(0x380000, 0x10, E820_RAM),
    };
    static const struct want w[] = { { 0x100000, 0x600000, E820_RAM } };
    sanitize(in, 4, 0);
    expect_map(w, 1);
}

/* Two firmware types sharing a partial page: the larger type number wins it. */
static void test_shared_partial_page(void **state)
{
    static const struct e820entry in[] = {
        R(0x0, 0x1800, E820_ACPI), R(0x1800, 0x1800, E820_NVS), R(0x3000, 0x1000, E820_RAM),
        R(0x4000, 0x100, E820_RESERVED), R(0x4100, 0x1f00, E820_UNUSABLE),
    };
    static const struct want w[] = {
        { 0, 0x1000, E820_ACPI }, { 0x1000, 0x3000, E820_NVS }, { 0x3000, 0x4000, E820_RAM },
        { 0x4000, 0x6000, E820_UNUSABLE },
    };
    sanitize(in, 5, 0);
    expect_map(w, 4);
}

/* RAM that is not a whole page disappears; partial pages next to a hole go. */
static void test_ram_shrinks(void **state)
{
    static const struct e820entry in[] = {
        R(0x100, 0x700, E820_RAM), R(0x10800, 0x2000, E820_RAM),
    };
    static const struct want w[] = { { 0x11000, 0x12000, E820_RAM } };
    sanitize(in, 2, 0);
    expect_map(w, 1);
}

static void test_hostile_entries(void **state)
{
    static const struct e820entry in[] = {
        R(0x100000, 0, E820_RAM),                          /* empty */
        R(0xfffffffffffff000ULL, 0x2000, E820_RAM),        /* wraps */
        R(0xffffffffffff0000ULL, 0x10000, E820_RESERVED),  /* ends at exactly 2^64 */
        R(1, UINT64_MAX, E820_RAM),                        /* wraps by one */
        R(0x200000, 0x100000, E820_RAM),
        R(0, 0, 0),
    };
    static const struct want w[] = { { 0x200000, 0x300000, E820_RAM } };
    sanitize(in, 6, 5);
    expect_map(w, 1);
}

/* The very top of the address space: representable ends only. */
static void test_top_of_address_space(void **state)
{
    static const struct e820entry in[] = {
        R(0xffffffffffffc000ULL, 0x2fff, E820_RAM),        /* ends at 2^64 - 0x1001 */
        R(0xffffffffffffefffULL, 0x1000, E820_RESERVED),   /* ends at 2^64 - 1 */
    };
    static const struct want w[] = {
        { 0xffffffffffffc000ULL, 0xffffffffffffe000ULL, E820_RAM },
        { 0xffffffffffffe000ULL, 0xfffffffffffff000ULL, E820_RESERVED },
    };
    sanitize(in, 2, 0);
    expect_map(w, 2);
}

/* Unknown and zero types are treated as firmware memory, never as RAM. */
static void test_unknown_types(void **state)
{
    static const struct e820entry in[] = {
        R(0, 0x10000, E820_RAM), R(0x2000, 0x1000, 0), R(0x4000, 0x1000, 0xffffffffu),
        R(0x6000, 0x1000, 12),
    };
    static const struct want w[] = {
        { 0, 0x2000, E820_RAM }, { 0x2000, 0x3000, 0 }, { 0x3000, 0x4000, E820_RAM },
        { 0x4000, 0x5000, 0xffffffffu }, { 0x5000, 0x6000, E820_RAM }, { 0x6000, 0x7000, 12 },
        { 0x7000, 0x10000, E820_RAM },
    };
    sanitize(in, 4, 0);
    expect_map(w, 7);
    assert_string_equal(e820_type_name(12), "unknown type");
    assert_string_equal(e820_type_name(E820_NVS), "ACPI NVS");
}

static void test_all_reserved(void **state)
{
    static const struct e820entry in[] = {
        R(0, 0x100000, E820_RESERVED), R(0x100000, 0x100000, E820_RESERVED),
        R(0x50000, 0x100000, E820_RAM),
    };
    sanitize(in, 2, 0);
    assert_int_equal(out.nr, 1);
    assert_int_equal(e820_ram_bytes(&out), 0);
    assert_int_equal(e820_ram_end(&out), 0);
    sanitize(in, 3, 0);
    assert_int_equal(e820_ram_bytes(&out), 0);   /* RAM wholly inside: loses */
    sanitize(in, 0, 0);
    assert_int_equal(out.nr, 0);
}

/* Many entries: every one survives when they fit; beyond the table's size
 * the highest are dropped and the map says so. */
static void test_many_entries(void **state)
{
    static struct e820entry in[400];

    for (int i = 0; i < 400; i++)
        in[i] = (struct e820entry){ (uint64_t)(399 - i) * 0x2000, 0x1000,
                                    i % 2 ? E820_RAM : E820_RESERVED };
    sanitize(in, 200, 0);
    assert_int_equal(out.nr, 200);
    assert_false(out.truncated);
    sanitize(in, 400, 0);
    assert_true(out.truncated);
    assert_int_equal(out.nr, E820_MAX_ENTRIES);
    assert_int_equal(out.map[0].addr, 0);
}

static void test_from_basic(void **state)
{
    struct e820entry raw[2];
    static const struct want w[] = {
        { 0, 0x9f000, E820_RAM }, { 0x100000, 0x100000 + 523264ULL * 1024, E820_RAM },
    };

    sanitize(raw, e820_from_basic(639, 523264, raw), 0);
    expect_map(w, 2);
    assert_int_equal(e820_from_basic(0, 0, raw), 0);
    assert_int_equal(e820_from_basic(4096, 0, raw), 1);      /* lower clipped to 640 KiB */
    assert_int_equal(raw[0].size, 640 * 1024);
    assert_int_equal(e820_from_basic(0, UINT64_MAX, raw), 0); /* would wrap */
}

static void test_clip_ram(void **state)
{
    static const struct want w[] = {
        { 0, 0x9f000, E820_RAM }, { 0x9f000, 0xa0000, E820_RESERVED },
        { 0xf0000, 0x100000, E820_RESERVED }, { 0x100000, 0x10000000, E820_RAM },
        { 0x1ffe0000, 0x20000000, E820_RESERVED }, { 0xfffc0000, 0x100000000, E820_RESERVED },
    };

    sanitize(qemu_map, 6, 0);
    assert_int_equal(e820_clip_ram(&out, 0x10000fff), 0x1ffe0000 - 0x10000000);
    expect_map(w, 6);
    assert_int_equal(e820_clip_ram(&out, 0x10000000), 0);
    e820_clip_ram(&out, 0x800);                 /* below all RAM: nothing left */
    assert_int_equal(e820_ram_bytes(&out), 0);
    assert_int_equal(out.nr, 4);
}

static void test_all_of_type(void **state)
{
    static const struct e820entry in[] = {
        R(0, 0x3000, E820_RAM), R(0x3000, 0x1000, E820_ACPI), R(0x5000, 0x1000, E820_RAM),
    };
    sanitize(in, 3, 0);
    assert_true(e820_all_of_type(&out, 0, 0x3000, E820_RAM));
    assert_true(e820_all_of_type(&out, 0x1000, 0x2000, E820_RAM));
    assert_false(e820_all_of_type(&out, 0x2000, 0x4000, E820_RAM));
    assert_false(e820_all_of_type(&out, 0x3000, 0x6000, E820_ACPI));   /* hole at 0x4000 */
    assert_false(e820_all_of_type(&out, 0x4000, 0x5000, E820_RAM));
    assert_true(e820_all_of_type(&out, 0x5000, 0x6000, E820_RAM));
    assert_false(e820_all_of_type(&out, 0x5000, 0x7000, E820_RAM));
}

/* ---- oracle ---------------------------------------------------------------- */

#define SPACE 0x10000                 /* 16 pages, byte-granular entries */

static uint64_t rank_of(uint32_t t) { return t == E820_RAM ? 0 : (uint64_t)t + 1; }

/* Per page: the strongest non-RAM type touching it; else RAM if every byte
 * is RAM; else a hole (-1). */
static int64_t oracle_page(const struct e820entry *in, unsigned int n, uint64_t page)
{
    int64_t best = -1;
    unsigned int ram_bytes = 0;

    for (uint64_t b = page; b < page + 0x1000; b++) {
        bool ram = false;
        for (unsigned int i = 0; i < n; i++) {
            if (!in[i].size || b < in[i].addr || b >= in[i].addr + in[i].size)
                continue;
            if (in[i].type == E820_RAM)
                ram = true;
            else if (best < 0 || rank_of(in[i].type) > rank_of((uint32_t)best))
                best = in[i].type;
        }
        ram_bytes += ram;
    }
    if (best >= 0)
        return best;
    return ram_bytes == 0x1000 ? E820_RAM : -1;
}

static int64_t output_page(uint64_t page)
{
    for (unsigned int i = 0; i < out.nr; i++)
        if (page >= out.map[i].addr && page < out.map[i].addr + out.map[i].size)
            return out.map[i].type;
    return -1;
}

static void test_random_against_oracle(void **state)
{
    static const uint32_t types[] = { E820_RAM, E820_RAM, E820_RAM, E820_RESERVED, E820_ACPI,
                                      E820_NVS, E820_UNUSABLE, 7 };
    struct e820entry in[24];

    srand(1234);
    for (int round = 0; round < 1500; round++) {
        unsigned int n = 1 + rand() % 24;
        for (unsigned int i = 0; i < n; i++) {
            uint64_t a = rand() % SPACE, s = rand() % 4 ? rand() % 0x3000 : rand() % 0x100;
            in[i] = (struct e820entry){ a, MIN(s, SPACE - a), types[rand() % 8] };
        }
        e820_sanitize(in, n, &out);
        check_invariants(&out);
        for (uint64_t p = 0; p < SPACE; p += 0x1000) {
            int64_t want = oracle_page(in, n, p), got = output_page(p);
            if (want != got)
                fail_msg("round %d page %#lx: got %ld want %ld", round, p, got, want);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_qemu_map),
        cmocka_unit_test(test_unsorted),
        cmocka_unit_test(test_reserved_inside_ram),
        cmocka_unit_test(test_overlapping_ram_merges),
        cmocka_unit_test(test_shared_partial_page),
        cmocka_unit_test(test_ram_shrinks),
        cmocka_unit_test(test_hostile_entries),
        cmocka_unit_test(test_top_of_address_space),
        cmocka_unit_test(test_unknown_types),
        cmocka_unit_test(test_all_reserved),
        cmocka_unit_test(test_many_entries),
        cmocka_unit_test(test_from_basic),
        cmocka_unit_test(test_clip_ram),
        cmocka_unit_test(test_all_of_type),
        cmocka_unit_test(test_random_against_oracle),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
