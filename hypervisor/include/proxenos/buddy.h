/*
 * The binary buddy allocator over a range of frames (hypervisor/mm/buddy.c).
 *
 * Pure code: it knows nothing of the hypervisor's frame table or console, so
 * the host unit tests run it over a calloc'ed page_info array. Blocks of
 * 2^order frames are naturally aligned in machine frame numbers (not just
 * relative to the range), as alloc_frames() promises. Misuse of free (double
 * free, wrong order, a frame that was never allocated) is reported through
 * the error hook and leaves the allocator unchanged; the hypervisor's hook
 * panics (hypervisor/mm/page_alloc.c).
 */
#ifndef PROXENOS_BUDDY_H
#define PROXENOS_BUDDY_H
#include <proxenos/types.h>
#include <proxenos/frame.h>
#include <proxenos/spinlock.h>

#define MAX_ORDER 18                  /* largest block: 2^18 frames = 1 GiB */

enum buddy_error {
    BUDDY_ERR_DOUBLE_FREE = 1,        /* the frame is already free */
    BUDDY_ERR_NOT_ALLOCATED,          /* the frame was never given to the allocator */
    BUDDY_ERR_NOT_HEAD,               /* inside an allocated block, not its first frame */
    BUDDY_ERR_WRONG_ORDER,            /* first frame of a block of another order */
    BUDDY_ERR_OUT_OF_RANGE,           /* block not inside the allocator's range */
    BUDDY_ERR_BAD_ORDER,              /* order > MAX_ORDER */
    BUDDY_ERR_CORRUPT,                /* the frames of the block disagree with its head,
                                         or buddy_add_range() met a managed frame */
};

struct buddy;
typedef void (*buddy_error_fn)(struct buddy *b, enum buddy_error err, mfn_t mfn,
                               unsigned int order);

/*
 * (i) set by buddy_init, never changed; [B] guarded by lock.
 */
struct buddy {
    spinlock_t lock;
    struct page_info *pages;          /* (i) pages[i] describes frame base + i */
    mfn_t base;                       /* (i) first frame of the range */
    uint64_t nr;                      /* (i) frames in the range */
    buddy_error_fn error;             /* (i) misuse report; may be NULL */
    void *ctx;                        /* (i) for the error hook */
    uint32_t free_list[MAX_ORDER + 1];  /* [B] first free block of each order (index) */
    uint64_t free_blocks[MAX_ORDER + 1];/* [B] blocks on each list */
    uint64_t free_pages;              /* [B] frames in all free blocks */
    uint64_t managed_pages;           /* [B] frames ever handed to the allocator */
};

/* pages[0..nr) must be zeroed (every frame unmanaged). */
void buddy_init(struct buddy *b, struct page_info *pages, mfn_t base, uint64_t nr,
                buddy_error_fn error, void *ctx);
/* Gives the unmanaged frames [start, end) to the allocator as free memory.
 * Frame 0 is never added: 0 means "no frame" to callers. Returns the number
 * of frames added. */
uint64_t buddy_add_range(struct buddy *b, mfn_t start, mfn_t end);

/* A naturally aligned block of 2^order frames, or 0 when none is free. */
mfn_t buddy_alloc(struct buddy *b, unsigned int order);
/* Returns 0, or -(enum buddy_error) after calling the error hook. */
int buddy_free(struct buddy *b, mfn_t mfn, unsigned int order);

uint64_t buddy_free_pages(struct buddy *b);
/* Checks every invariant (lists, states, counts); 0 or a negative error.
 * Linear in the range: for tests and the self test. */
int buddy_check(struct buddy *b);

#endif
