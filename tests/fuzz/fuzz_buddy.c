/*
 * Fuzz target for the buddy allocator (hypervisor/mm/buddy.c).
 *
 * The input is a program: byte 0 and 1 shape the frame range (base offset
 * and holes, so ranges are unaligned and fragmented), then every 2-byte pair
 * is one operation: allocate an order, free a live block, or a misuse (free
 * a block twice, with the wrong order, from its middle, or a frame never
 * managed). Checked throughout:
 *   - a block is naturally aligned, inside managed frames, and never
 *     overlaps a live one (shadow ownership map);
 *   - every misuse is reported through the hook, returns an error and
 *     changes nothing (free count, invariants);
 *   - buddy_check() holds after every 64 operations and at the end, and
 *     freeing everything restores the starting free count.
 *
 * Build with libFuzzer (clang):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -DHOST_TEST -Ihypervisor/include \
 *     tests/fuzz/fuzz_buddy.c hypervisor/mm/buddy.c -o fuzz_buddy
 */
/* @sources: hypervisor/mm/buddy.c */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <proxenos/buddy.h>

#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)

#define NR 2048
#define MAX_LIVE 256

static struct page_info pages[NR];
static uint8_t owner[NR];             /* 1: in a live block; 2: never managed */
static struct buddy b;
static struct { mfn_t m; unsigned int o; } live[MAX_LIVE];
static unsigned int nlive;
static int errors;

static void on_error(struct buddy *bd, enum buddy_error e, mfn_t m, unsigned int o) { errors++; }

/* A misuse must be reported and must not change the allocator. */
static void expect_refused(mfn_t m, unsigned int o)
{
    uint64_t before = buddy_free_pages(&b);
    int e = errors;

    CHECK(buddy_free(&b, m, o) < 0);
    CHECK(errors == e + 1);
    CHECK(buddy_free_pages(&b) == before);
}

static void do_alloc(mfn_t base, unsigned int o)
{
    mfn_t m = buddy_alloc(&b, o);

    if (!m || nlive == MAX_LIVE) {
        if (m)
            CHECK(buddy_free(&b, m, o) == 0);
        return;
    }
    CHECK(!(m & ((1ULL << o) - 1)) && m >= base && m - base + (1ULL << o) <= NR);
    for (uint64_t i = 0; i < (1ULL << o); i++) {
        CHECK(owner[m - base + i] == 0);
        owner[m - base + i] = 1;
    }
    live[nlive].m = m;
    live[nlive++].o = o;
}

static void do_free(mfn_t base, unsigned int i, bool twice)
{
    mfn_t m = live[i].m;
    unsigned int o = live[i].o;

    for (uint64_t j = 0; j < (1ULL << o); j++)
        owner[m - base + j] = 0;
    CHECK(buddy_free(&b, m, o) == 0);
    live[i] = live[--nlive];
    if (twice)
        expect_refused(m, o);
}

static void do_misuse(mfn_t base, uint8_t arg)
{
    unsigned int i = nlive ? arg % nlive : 0;

    switch (arg >> 6) {
    case 0:
        if (nlive)
            do_free(base, i, true);
        break;
    case 1:
        if (nlive)
            expect_refused(live[i].m, live[i].o + 1 + arg % 3);
        break;
    case 2:
        if (nlive && live[i].o)
            expect_refused(live[i].m + 1, 0);
        break;
    default:
        for (unsigned int f = 0; f < NR; f++)
            if (owner[(f + arg) % NR] == 2) {
                expect_refused(base + (f + arg) % NR, 0);
                break;
            }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mfn_t base = size > 0 ? 1 + data[0] * 3 : 1;
    uint64_t start;

    if (size < 2)
        return 0;
    memset(pages, 0, sizeof(pages));
    memset(owner, 0, sizeof(owner));
    nlive = 0;
    errors = 0;
    buddy_init(&b, pages, base, NR, on_error, NULL);
    /* Up to 8 holes of 1..32 frames, placed by byte 1. */
    for (unsigned int h = 0; h < (data[1] & 7u); h++)
        for (unsigned int f = (data[1] * 97u + h * 263u) % NR, n = 1 + (h * 7u + data[1]) % 32;
             n && f < NR; n--, f++)
            owner[f] = 2;
    for (unsigned int f = 0; f < NR;) {
        unsigned int e = f;
        while (e < NR && owner[e] != 2)
            e++;
        buddy_add_range(&b, base + f, base + e);
        f = e + 1;
    }
    start = buddy_free_pages(&b);
    for (size_t pc = 2; pc + 1 < size; pc += 2) {
        uint8_t op = data[pc], arg = data[pc + 1];
        if (op < 128)
            do_alloc(base, arg % 11);
        else if (op < 224 && nlive)
            do_free(base, arg % nlive, false);
        else if (op >= 224)
            do_misuse(base, arg);
        if (((pc / 2) & 63) == 0)
            CHECK(buddy_check(&b) == 0);
    }
    CHECK(buddy_check(&b) == 0);
    while (nlive)
        do_free(base, nlive - 1, false);
    CHECK(buddy_free_pages(&b) == start && buddy_check(&b) == 0);
    return 0;
}
