/*
 * Virtual areas of the hypervisor hole that are handed out at run time:
 * ioremap() for MMIO and firmware tables, and guarded per-CPU stacks.
 * Both are bump allocators: MMIO windows and stacks are set up once per
 * device or CPU, so virtual space (64 GiB and 128 GiB) is never recycled.
 */
#include <proxenos/frame.h>
#include <proxenos/layout.h>
#include <proxenos/lib.h>
#include <proxenos/mm.h>
#include <proxenos/pagetable.h>
#include <proxenos/printk.h>
#include <proxenos/spinlock.h>

BUILD_BUG_ON(STACK_PAGES != 1 << STACK_ORDER);

static spinlock_t vmap_lock = SPINLOCK_INIT;
static uintptr_t ioremap_next = IOREMAP_BASE;   /* [vmap_lock] */
static uint64_t stack_slots;                    /* [vmap_lock] slots handed out */

#define CACHE_BITS (PTE_PCD | PTE_PWT)

/* How the direct map holds [start, end) compared with the cache type wanted. */
enum dm_state {
    DM_NONE,          /* not wholly mapped, and no mapped page conflicts */
    DM_USE,           /* wholly mapped with a type that serves the request */
    DM_CONFLICT,      /* some page is mapped with a type the request contradicts */
};

/*
 * An uncached request needs every page uncached. A write-back request is
 * served by any mapping of the whole range (uncached firmware tables below
 * 4 GiB are merely slow); only a fresh mapping must not alias a page with
 * another type (SDM vol. 3A, 12.12.4).
 */
static enum dm_state directmap_state(paddr_t start, paddr_t end, uint64_t cache)
{
    bool all = true, other = false;

    for (paddr_t p = start; p < end; p += PAGE_SIZE) {
        paddr_t pa;
        uint64_t flags;

        if (p >= DIRECTMAP_END - DIRECTMAP_BASE ||
            !pt_lookup(DIRECTMAP_BASE + p, &pa, &flags))
            all = false;
        else if ((flags & CACHE_BITS) != cache)
            other = true;
    }
    if (other && (cache || !all))
        return DM_CONFLICT;
    return all ? DM_USE : DM_NONE;
}

/* Reserves n pages of ioremap space plus an unmapped page after them, so an
 * overrun of one window faults instead of reaching the next. */
static uintptr_t ioremap_va(uint64_t n)
{
    uint64_t irq = spin_lock_irqsave(&vmap_lock);
    uintptr_t va = ioremap_next;

    if ((IOREMAP_END - va) >> PAGE_SHIFT < n + 1)
        va = 0;
    else
        ioremap_next += (n + 1) << PAGE_SHIFT;
    spin_unlock_irqrestore(&vmap_lock, irq);
    return va;
}

static void *remap(paddr_t pa, size_t len, uint64_t flags)
{
    paddr_t start = ALIGN_DOWN(pa, PAGE_SIZE), end;
    uintptr_t va;

    if (!len || pa + len < pa || pa + len > (1ULL << 52))
        return NULL;
    end = ALIGN_UP(pa + len, PAGE_SIZE);
    switch (directmap_state(start, end, flags & CACHE_BITS)) {
    case DM_USE:
        return __va(pa);
    case DM_CONFLICT:
        printk(LOG_ERR "ioremap(%#lx, %#zx): the direct map holds it with another "
               "cache type; refusing an alias\n", pa, len);
        return NULL;
    case DM_NONE:
        break;
    }
    va = ioremap_va((end - start) >> PAGE_SHIFT);
    if (!va)
        return NULL;
    if (map_pages(va, start, (end - start) >> PAGE_SHIFT, flags)) {
        unmap_pages(va, (end - start) >> PAGE_SHIFT);
        return NULL;
    }
    return (void *)(va + (pa - start));
}

void *ioremap(paddr_t pa, size_t len)
{
    return remap(pa, len, PAGE_HYPERVISOR_UC);
}

void *ioremap_cache(paddr_t pa, size_t len)
{
    return remap(pa, len, PAGE_HYPERVISOR_RW);
}

void iounmap(void *p, size_t len)
{
    uintptr_t va = (uintptr_t)p, start = ALIGN_DOWN(va, PAGE_SIZE);

    if (va >= DIRECTMAP_BASE && va < DIRECTMAP_END)
        return;                       /* came from the direct map */
    if (va < IOREMAP_BASE || va >= IOREMAP_END || !len || len > IOREMAP_END - va)
        panic("iounmap(%p, %#zx): not an ioremap() window", p, len);
    unmap_pages(start, (ALIGN_UP(va + len, PAGE_SIZE) - start) >> PAGE_SHIFT);
}

/* ---- stacks ----------------------------------------------------------------- */

/* Slot n is [base, base + STACK_SLOT_SIZE): a guard page that is never
 * mapped, then STACK_PAGES of stack. */
uintptr_t stack_alloc(uintptr_t *bottom)
{
    uint64_t irq = spin_lock_irqsave(&vmap_lock), slot = stack_slots;
    uintptr_t base, lo;
    paddr_t pa;

    if (slot < (STACK_VIRT_END - STACK_VIRT_BASE) / STACK_SLOT_SIZE)
        stack_slots++;
    spin_unlock_irqrestore(&vmap_lock, irq);
    if (slot >= (STACK_VIRT_END - STACK_VIRT_BASE) / STACK_SLOT_SIZE)
        return 0;
    base = STACK_VIRT_BASE + slot * STACK_SLOT_SIZE;
    lo = base + PAGE_SIZE;
    pa = alloc_frames(STACK_ORDER);
    if (!pa)
        return 0;
    frame_mark_xen_heap(pa, pa + (PAGE_SIZE << STACK_ORDER));
    memset(__va(pa), 0, PAGE_SIZE << STACK_ORDER);
    if (map_pages_4k(lo, pa, STACK_PAGES, PAGE_HYPERVISOR_RW)) {
        unmap_pages(lo, STACK_PAGES);     /* whatever part got mapped */
        free_frames(pa, STACK_ORDER);
        return 0;
    }
    if (bottom)
        *bottom = lo;
    return base + STACK_SLOT_SIZE;
}
