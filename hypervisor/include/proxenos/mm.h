/*
 * Machine memory: the frame table, the buddy allocator, the heap and the
 * hypervisor's own page tables (hypervisor/mm/).
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
 * Returns 0 when none is free (frame 0 is never handed out). */
paddr_t alloc_frames(unsigned int order);
void free_frames(paddr_t pa, unsigned int order);
/* The same, as direct-map pointers; NULL when exhausted. */
void *alloc_pages(unsigned int order);
void free_pages(void *va, unsigned int order);

void *xmalloc(size_t size);       /* 16-byte aligned; NULL when exhausted */
void *xzalloc(size_t size);
void xfree(void *p);

/* A stack of STACK_PAGES pages with an unmapped guard page below it, mapped
 * in the stack area. Returns the top (initial RSP); *bottom gets the lowest
 * usable address. Returns 0 on exhaustion. */
uintptr_t stack_alloc(uintptr_t *bottom);

extern uint64_t total_ram_pages;   /* RAM pages in the (clipped) memory map */
extern uint64_t max_mfn;           /* one past the highest RAM frame */

#endif
