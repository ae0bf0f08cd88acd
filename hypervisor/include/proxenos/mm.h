/*
 * Machine memory: the frame table, the buddy allocator, the heap and the
 * hypervisor's own page tables (hypervisor/mm/).
 *
 * Related headers: e820.h (the memory map, reserved ranges), frame.h
 * (struct page_info), pagetable.h (map_pages, ioremap, hv_cr3,
 * mm_drop_identity_map), buddy.h and heap.h (the pure allocator cores).
 */
#ifndef PROXENOS_MM_H
#define PROXENOS_MM_H
#include <proxenos/types.h>
#include <proxenos/bootinfo.h>

/* Sets up everything in this header from the loader's memory map: reserves
 * the image, the modules and the boot structures, builds the direct map of
 * all RAM, the frame table, the allocator and the heap, and unmaps CPU 0's
 * stack guard page. Prints the totals. Panics with a clear reason when
 * memory is unusable. */
void mm_init(const struct boot_info *bi);

/* Frames from the buddy allocator (2^order contiguous, naturally aligned).
 * Returns 0 when none is free (frame 0 is never handed out). Misuse of
 * free_frames (double free, wrong order, a frame never allocated) panics.
 * Callable from any CPU; not from NMI or machine-check context. */
paddr_t alloc_frames(unsigned int order);
void free_frames(paddr_t pa, unsigned int order);
/* The same, as direct-map pointers; NULL when exhausted. These frames are
 * marked as the hypervisor's own (PGC_xen_heap). */
void *alloc_pages(unsigned int order);
void free_pages(void *va, unsigned int order);

void *xmalloc(size_t size);       /* 16-byte aligned; NULL when exhausted */
void *xzalloc(size_t size);
void xfree(void *p);              /* panics on a double free or a foreign pointer */

/* A stack of STACK_PAGES pages with an unmapped guard page below it, mapped
 * in the stack area. Returns the top (initial RSP); *bottom gets the lowest
 * usable address. Returns 0 on exhaustion. */
uintptr_t stack_alloc(uintptr_t *bottom);

extern uint64_t total_ram_pages;   /* RAM pages in the (clipped) memory map */
extern uint64_t max_mfn;           /* one past the highest RAM frame */

/* Frames currently free in the buddy allocator. */
uint64_t mm_free_pages(void);
/* Checks the allocator's invariants (linear in RAM): 0 or a negative error. */
int mm_check_allocator(void);
struct heap_stats;
void xmalloc_get_stats(struct heap_stats *st);
/* Prints free memory by order and the heap statistics (debug key 'm'). */
void mm_dump_stats(void);

/* ---- used between the files of hypervisor/mm only ---- */
struct page_info;
void page_alloc_init(struct page_info *frames, uint64_t nr);
uint64_t page_alloc_add_range(paddr_t start, paddr_t end);
void page_alloc_dump(void);
paddr_t mm_image_phys_start(void);
void xmalloc_init(void);

#endif
