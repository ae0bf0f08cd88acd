/*
 * The frame table: a flat array of struct page_info indexed by MFN, in
 * memory taken at boot from the top of RAM and reached through the direct
 * map. Frames in holes and reserved ranges get an entry too (state
 * "unmanaged"), which keeps mfn_to_page() a single addition.
 */
#include <proxenos/frame.h>
#include <proxenos/layout.h>
#include <proxenos/lib.h>
#include <proxenos/printk.h>

BUILD_BUG_ON(sizeof(struct page_info) != 32);

struct page_info *frame_table;        /* set once by frame_table_init */
uint64_t max_mfn;                     /* set once by mm_init before it */

uint64_t frame_table_init(paddr_t (*boot_alloc)(uint64_t size))
{
    uint64_t bytes = ALIGN_UP(max_mfn * sizeof(struct page_info), PAGE_SIZE);
    paddr_t pa = boot_alloc(bytes);

    if (!pa)
        panic("cannot allocate the frame table: %lu KiB of contiguous RAM for %lu frames",
              bytes >> 10, max_mfn);
    frame_table = __va(pa);
    memset(frame_table, 0, bytes);
    return bytes;
}

void frame_mark_xen_heap(paddr_t start, paddr_t end)
{
    for (mfn_t m = start >> PAGE_SHIFT; m < ALIGN_UP(end, PAGE_SIZE) >> PAGE_SHIFT; m++)
        if (mfn_valid(m))
            __atomic_fetch_or(&mfn_to_page(m)->count_info, PGC_xen_heap, __ATOMIC_RELAXED);
}
