/*
 * Self tests of the memory subsystem (test image only, `selftest=NAME`).
 *
 * mm: exhausts the frame allocator (order 0, then mixed orders freed out of
 *     order), checking each block against everything that must never be
 *     handed out; stresses xmalloc; checks the page tables (section rights,
 *     the guard page, stacks, ioremap, large-page splitting). Every step
 *     ends with the free count back where it started.
 * stackguard: writes below this CPU's stack. Ends by design in the #PF
 *     fatal-trap dump and the crash exit code.
 */
#include <proxenos/bootinfo.h>
#include <proxenos/cpu.h>
#include <proxenos/e820.h>
#include <proxenos/frame.h>
#include <proxenos/heap.h>
#include <proxenos/io.h>
#include <proxenos/layout.h>
#include <proxenos/lib.h>
#include <proxenos/mm.h>
#include <proxenos/pagetable.h>
#include <proxenos/printk.h>
#include <proxenos/selftest.h>

extern char cpu0_stack_guard[];

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)                 /* xorshift64 */
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* ---- the frame allocator ---------------------------------------------------- */

/* Why frame pa must never have been handed out, or NULL. Checks the inputs
 * of the reservation list as well as the list itself. */
static const char *forbidden(paddr_t pa)
{
    if (pa < MiB(1))
        return "in the first MiB";
    if (pa >= mm_image_phys_start() && pa < __pa(_end))
        return "in the hypervisor image";
    for (unsigned int i = 0; i < boot_info.nr_mods; i++)
        if (pa + PAGE_SIZE > boot_info.mods[i].start && pa < boot_info.mods[i].end)
            return "in a boot module";
    if (pa + PAGE_SIZE > boot_info.info_start && pa < boot_info.info_end)
        return "in the loader's information";
    if (resv_overlaps(&mm_reserved, pa, pa + PAGE_SIZE))
        return "reserved";
    if (!e820_all_of_type(&e820, pa, pa + PAGE_SIZE, E820_RAM))
        return "not RAM";
    if ((pa >> PAGE_SHIFT) >= max_mfn)
        return "beyond max_mfn";
    return NULL;
}

static void check_block(paddr_t pa, unsigned int order)
{
    uint64_t c = mfn_to_page(pa >> PAGE_SHIFT)->count_info;

    if (pa & ((PAGE_SIZE << order) - 1))
        selftest_fail("block %#lx of order %u is not naturally aligned", pa, order);
    if (pgc_state(c) != PGC_state_inuse || !(c & PGC_head) || pgc_order(c) != order)
        selftest_fail("block %#lx: frame table says count_info %#lx", pa, c);
    for (uint64_t i = 0; i < (1ULL << order); i++) {
        const char *why = forbidden(pa + (i << PAGE_SHIFT));
        if (why)
            selftest_fail("allocator handed out frame %#lx: %s", pa + (i << PAGE_SHIFT), why);
    }
}

/* Allocated blocks are chained through their own first bytes. */
struct block {
    paddr_t next;
    unsigned int order;
};

/* Allocates until even order 0 fails; returns the chain and the page count. */
static paddr_t alloc_all(unsigned int max_order, uint64_t *pages)
{
    paddr_t head = 0;

    *pages = 0;
    for (;;) {
        unsigned int order = max_order ? rnd() % (max_order + 1) : 0;
        paddr_t pa = alloc_frames(order);
        while (!pa && order)
            pa = alloc_frames(--order);
        if (!pa)
            return head;
        check_block(pa, order);
        *(struct block *)__va(pa) = (struct block){ head, order };
        head = pa;
        *pages += 1ULL << order;
    }
}

/* Frees the chain; `skip` first frees every other block, so buddies come
 * back in an order unlike the one they left in. */
static void free_all(paddr_t head, bool skip)
{
    for (paddr_t *link = &head; skip && *link;) {
        struct block *b = __va(*link);
        paddr_t next = b->next;
        free_frames(*link, b->order);
        *link = next;
        if (*link)
            link = &((struct block *)__va(*link))->next;
    }
    while (head) {
        struct block *b = __va(head);
        paddr_t next = b->next;
        free_frames(head, b->order);
        head = next;
    }
}

static void check_free_count(uint64_t want, const char *when)
{
    int rc = mm_check_allocator();

    if (mm_free_pages() != want)
        selftest_fail("%s: %lu pages free, expected %lu", when, mm_free_pages(), want);
    if (rc)
        selftest_fail("%s: allocator invariants broken (%d)", when, rc);
}

static void test_exhaustion(unsigned int max_order, bool skip)
{
    uint64_t start = mm_free_pages(), got;
    paddr_t head = alloc_all(max_order, &got);

    if (mm_free_pages() || got != start)
        selftest_fail("exhaustion (order <= %u): got %lu of %lu pages, %lu left", max_order,
                      got, start, mm_free_pages());
    if (alloc_frames(0) || alloc_pages(2) || xmalloc(3 * PAGE_SIZE))
        selftest_fail("an allocation succeeded with memory exhausted");
    free_all(head, skip);
    check_free_count(start, "after freeing everything");
    printk("SELFTEST mm: %lu pages allocated to exhaustion (orders 0-%u) and freed\n",
           got, max_order);
}

/* ---- the heap --------------------------------------------------------------- */

#define HEAP_SLOTS 256
static struct { uint8_t *p; size_t size; uint8_t seed; } objs[HEAP_SLOTS];

/* Mostly small objects, some up to 32 KiB, a few up to `max`. */
static size_t random_size(size_t max)
{
    uint64_t r = rnd() % 100;

    if (r < 70 || max <= HEAP_MAX_SMALL)
        return rnd() % (MIN(max, HEAP_MAX_SMALL) + 1);
    if (r < 95 || max <= KiB(32))
        return HEAP_MAX_SMALL + 1 + rnd() % (MIN(max, KiB(32)) - HEAP_MAX_SMALL);
    return KiB(32) + rnd() % (max - KiB(32));
}

/* Whole small objects; the ends and one byte per page of large ones. */
static bool pattern(uint8_t *p, size_t size, uint8_t seed, bool write)
{
    for (size_t i = 0; i < size;) {
        uint8_t v = (uint8_t)(seed + i * 7);
        if (write)
            p[i] = v;
        else if (p[i] != v)
            return false;
        i = (size <= PAGE_SIZE || i < 512 || i + 512 >= size) ? i + 1
            : MIN(i + PAGE_SIZE, size - 512);
    }
    return true;
}

static void heap_step(unsigned int i, size_t max)
{
    if (objs[i].p) {
        if (!pattern(objs[i].p, objs[i].size, objs[i].seed, false))
            selftest_fail("xmalloc object %p (%zu bytes) was overwritten", objs[i].p,
                          objs[i].size);
        xfree(objs[i].p);
        objs[i].p = NULL;
        return;
    }
    objs[i].size = random_size(max);
    objs[i].seed = (uint8_t)rnd();
    objs[i].p = xmalloc(objs[i].size);
    if (!objs[i].p || ((uintptr_t)objs[i].p & (HEAP_ALIGN - 1)))
        selftest_fail("xmalloc(%zu) returned %p", objs[i].size, objs[i].p);
    pattern(objs[i].p, objs[i].size, objs[i].seed, true);
}

static void test_heap(void)
{
    struct heap_stats before, after;
    uint64_t free0 = mm_free_pages();
    /* Sized so that every slot at its largest fits twice over in free
     * memory (small machines, mem=). */
    size_t max = MIN(MiB(1), (free0 << PAGE_SHIFT) / (4 * HEAP_SLOTS));
    uint8_t *z;

    xmalloc_get_stats(&before);
    for (unsigned int n = 0; n < 20000; n++)
        heap_step(rnd() % HEAP_SLOTS, max);
    for (unsigned int i = 0; i < HEAP_SLOTS; i++)
        if (objs[i].p)
            heap_step(i, max);
    z = xzalloc(1000);                /* lands on poisoned, recycled memory */
    for (unsigned int i = 0; z && i < 1000; i++)
        if (z[i])
            selftest_fail("xzalloc memory not zeroed at byte %u", i);
    xfree(z);
    xfree(NULL);
    xmalloc_get_stats(&after);
    if (after.live_objects != before.live_objects || after.live_bytes != before.live_bytes ||
        mm_free_pages() + after.slab_pages + after.large_pages !=
        free0 + before.slab_pages + before.large_pages)
        selftest_fail("heap did not return to its starting state (%lu objects, %lu pages)",
                      after.live_objects, after.slab_pages + after.large_pages);
    printk("SELFTEST mm: xmalloc stress: %lu allocations, slabs hold %lu pages\n",
           after.allocs - before.allocs, after.slab_pages);
}

/* ---- page tables ----------------------------------------------------------------- */

static void expect_map(uintptr_t va, bool present, uint64_t set, uint64_t clear, const char *what)
{
    paddr_t pa;
    uint64_t f = 0;
    bool p = pt_lookup(va, &pa, &f);

    if (!cpu_has_nx) {
        set &= ~PTE_NX;
        clear &= ~PTE_NX;
    }
    if (p != present)
        selftest_fail("%s (%#lx) is %smapped", what, va, p ? "" : "not ");
    if (p && ((f & set) != set || (f & clear)))
        selftest_fail("%s (%#lx) has flags %#lx", what, va, f);
}

static void test_image_rights(void)
{
    expect_map((uintptr_t)__text_start, true, PTE_P, PTE_RW | PTE_NX, "text");
    expect_map(ALIGN_UP((uintptr_t)__text_end, PAGE_SIZE), true, PTE_P | PTE_NX, PTE_RW,
               "rodata");
    expect_map((uintptr_t)&rng, true, PTE_P | PTE_RW | PTE_NX, 0, "data");
    expect_map((uintptr_t)cpu0_stack_guard, false, 0, 0, "CPU 0's stack guard");
    expect_map((uintptr_t)cpu0_stack_guard + PAGE_SIZE, true, PTE_RW, 0, "CPU 0's stack");
    if ((read_cr3() & PTE_ADDR_MASK) != hv_cr3 || hv_cr3 >= GiB(4))
        selftest_fail("CR3 %#lx, hv_cr3 %#lx", read_cr3(), hv_cr3);
    for (unsigned int i = 0; i < e820.nr; i++) {
        const struct e820entry *e = &e820.map[i];
        if (e->type != E820_RAM)
            continue;
        expect_map((uintptr_t)__va(e->addr), true, PTE_RW | PTE_NX, PTE_PCD, "RAM start");
        expect_map((uintptr_t)__va(e->addr + e->size - PAGE_SIZE), true, PTE_RW | PTE_NX,
                   PTE_PCD, "RAM end");
    }
}

static void test_stack_alloc(void)
{
    uintptr_t bottom = 0, top = stack_alloc(&bottom);

    if (!top || top - bottom != STACK_PAGES * PAGE_SIZE || top < STACK_VIRT_BASE)
        selftest_fail("stack_alloc: top %#lx bottom %#lx", top, bottom);
    expect_map(bottom - PAGE_SIZE, false, 0, 0, "new stack's guard page");
    expect_map(bottom, true, PTE_RW | PTE_NX, 0, "new stack bottom");
    expect_map(top - PAGE_SIZE, true, PTE_RW | PTE_NX, 0, "new stack top");
    *(volatile uint64_t *)bottom = 1;
    *(volatile uint64_t *)(top - 8) = 2;
}

/* Below 4 GiB MMIO comes from the direct map, uncached; above, ioremap()
 * makes a window (nothing is behind the address used: it is never read). */
static void test_ioremap(void)
{
    paddr_t ram = e820.map[e820.nr - 1].type == E820_RAM ? e820.map[e820.nr - 1].addr : MiB(1);
    paddr_t high = ALIGN_UP(MAX(e820_ram_end(&e820), GiB(4)), GiB(1)) + GiB(1);
    uint8_t *lapic = ioremap(0xfee00020, 16), *win = ioremap(high + 0x20, 16);

    if (lapic != __va(0xfee00020))
        selftest_fail("ioremap(0xfee00020) returned %p, not the direct map", lapic);
    expect_map((uintptr_t)lapic, true, PTE_PCD | PTE_PWT | PTE_NX, 0, "local APIC");
    if (!win || ((uintptr_t)win & (PAGE_SIZE - 1)) != 0x20 ||
        (uintptr_t)win < IOREMAP_BASE || (uintptr_t)win >= IOREMAP_END)
        selftest_fail("ioremap(%#lx) returned %p", high + 0x20, win);
    expect_map((uintptr_t)win, true, PTE_PCD | PTE_PWT | PTE_NX, 0, "ioremap window");
    iounmap(win, 16);
    expect_map((uintptr_t)win, false, 0, 0, "ioremap window after iounmap");
    if (ioremap_cache(MiB(1), PAGE_SIZE) != __va(MiB(1)))
        selftest_fail("ioremap_cache of RAM did not use the direct map");
    printk("SELFTEST mm: an uncached alias of RAM must be refused:\n");
    if (ioremap(ram, PAGE_SIZE))
        selftest_fail("ioremap(%#lx) made an uncached alias of RAM", ram);
}

/* A 2 MiB page split by unmapping one 4 KiB page of it. The top of the
 * ioremap area is used: its bump allocator gets there after 64 GiB. */
static void test_split(void)
{
    uintptr_t va = IOREMAP_END - MiB(4);
    paddr_t pa = MiB(2), got;
    uint64_t f;

    if (map_pages(va, pa, 512, PAGE_HYPERVISOR_RW) || !pt_lookup(va, &got, &f) ||
        !(f & PTE_PS))
        selftest_fail("map_pages did not make a 2 MiB page");
    if (unmap_pages(va + PAGE_SIZE, 1))
        selftest_fail("unmap_pages inside a 2 MiB page failed");
    expect_map(va + PAGE_SIZE, false, 0, 0, "unmapped page of a split 2 MiB page");
    if (!pt_lookup(va + 2 * PAGE_SIZE, &got, &f) || got != pa + 2 * PAGE_SIZE || (f & PTE_PS))
        selftest_fail("split 2 MiB page maps %#lx with flags %#lx", got, f);
    if (unmap_pages(va, 512))
        selftest_fail("unmap_pages failed");
    expect_map(va, false, 0, 0, "split page after unmapping");
}

static void st_mm(void)
{
    uint64_t start = mm_free_pages();

    check_free_count(start, "at start");
    test_exhaustion(0, false);
    test_exhaustion(10, true);
    test_heap();
    test_image_rights();
    test_stack_alloc();
    test_ioremap();
    test_split();
    selftest_pass();
}
SELFTEST(mm, st_mm);

static void st_stackguard(void)
{
    volatile uint8_t *below = (volatile uint8_t *)this_cpu()->stack_bottom - 8;

    printk("SELFTEST stackguard: expecting a page fault\n");
    *below = 0xab;
    selftest_fail("writing below the stack bottom (%p) did not fault", below);
}
SELFTEST(stackguard, st_stackguard);
