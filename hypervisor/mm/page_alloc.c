/*
 * The machine's frame allocator: one buddy allocator (buddy.c) over the
 * whole frame table, with interrupts off around it so a CPU can never spin
 * on the lock it holds itself, and misuse turned into a panic.
 */
#include <proxenos/buddy.h>
#include <proxenos/frame.h>
#include <proxenos/io.h>
#include <proxenos/layout.h>
#include <proxenos/mm.h>
#include <proxenos/printk.h>

static struct buddy buddy;
static bool buddy_ready;              /* set once by page_alloc_init at boot */

static const char *const buddy_errors[] = {
    [BUDDY_ERR_DOUBLE_FREE] = "double free",
    [BUDDY_ERR_NOT_ALLOCATED] = "frame was never allocated (reserved or a hole)",
    [BUDDY_ERR_NOT_HEAD] = "frame is inside an allocated block, not its start",
    [BUDDY_ERR_WRONG_ORDER] = "block was allocated with another order",
    [BUDDY_ERR_OUT_OF_RANGE] = "frame outside the frame table",
    [BUDDY_ERR_BAD_ORDER] = "order larger than MAX_ORDER",
    [BUDDY_ERR_CORRUPT] = "frame table state is inconsistent",
};

static void buddy_misuse(struct buddy *b, enum buddy_error err, mfn_t mfn, unsigned int order)
{
    uint64_t c = mfn_valid(mfn) ? mfn_to_page(mfn)->count_info : 0;

    panic("free_frames(%#lx, order %u): %s (count_info %#lx)", mfn << PAGE_SHIFT, order,
          buddy_errors[err], c);
}

void page_alloc_init(struct page_info *frames, uint64_t nr)
{
    buddy_init(&buddy, frames, 0, nr, buddy_misuse, NULL);
    buddy_ready = true;
}

uint64_t page_alloc_add_range(paddr_t start, paddr_t end)
{
    return buddy_add_range(&buddy, start >> PAGE_SHIFT, end >> PAGE_SHIFT);
}

paddr_t alloc_frames(unsigned int order)
{
    uint64_t irq;
    mfn_t mfn;

    if (!buddy_ready)
        return 0;
    irq = local_irq_save();
    mfn = buddy_alloc(&buddy, order);
    local_irq_restore(irq);
    return mfn << PAGE_SHIFT;
}

void free_frames(paddr_t pa, unsigned int order)
{
    uint64_t irq;

    if (pa & (PAGE_SIZE - 1))
        panic("free_frames(%#lx, order %u): not a frame address", pa, order);
    BUG_ON(!buddy_ready);
    irq = local_irq_save();
    buddy_free(&buddy, pa >> PAGE_SHIFT, order);
    local_irq_restore(irq);
}

void *alloc_pages(unsigned int order)
{
    paddr_t pa = alloc_frames(order);

    if (!pa)
        return NULL;
    frame_mark_xen_heap(pa, pa + (PAGE_SIZE << order));
    return __va(pa);
}

void free_pages(void *va, unsigned int order)
{
    uintptr_t v = (uintptr_t)va;

    if (!va)
        return;
    if (v < DIRECTMAP_BASE || v >= DIRECTMAP_END)
        panic("free_pages(%p, order %u): not a direct-map address", va, order);
    free_frames(__pa(va), order);
}

uint64_t mm_free_pages(void)
{
    return buddy_free_pages(&buddy);
}

int mm_check_allocator(void)
{
    uint64_t irq = local_irq_save();
    int rc = buddy_check(&buddy);

    local_irq_restore(irq);
    return rc;
}

/* Free blocks per order, for the 'm' debug key. */
void page_alloc_dump(void)
{
    printk("Free memory: %lu pages (%lu MiB) of %lu managed\n", buddy.free_pages,
           buddy.free_pages >> 8, buddy.managed_pages);
    for (unsigned int k = 0; k <= MAX_ORDER; k++)
        if (buddy.free_blocks[k])
            printk("  order %2u: %lu blocks\n", k, buddy.free_blocks[k]);
}
