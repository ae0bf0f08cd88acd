/*
 * The frame table: one struct page_info per machine frame below max_mfn
 * (hypervisor/mm/frame.c). It is what the buddy allocator links free blocks
 * through, and what the PV page-type validator and the grant tables will
 * count references and types in, as Xen's struct page_info
 * (xen/arch/x86/include/asm/mm.h), whose count_info/type_info semantics
 * these fields follow.
 *
 * Fields are tagged with how they are initialised and who may change them:
 *   (z) zeroed when the frame table is built at boot
 *   (f) rewritten by the buddy allocator on every allocation and free
 *   (o) set by the code that owns the allocated frame
 *   [B] guarded by the buddy allocator's lock
 *   [A] changed only with atomic read-modify-write (cmpxchg loops), no lock
 *   [D] guarded by the owning domain's page-allocation lock
 */
#ifndef PROXENOS_FRAME_H
#define PROXENOS_FRAME_H
#include <proxenos/types.h>

struct domain;

/* Links hold frame numbers relative to the start of the page array that the
 * list belongs to (for the frame table that is the MFN). 32 bits reach
 * 16 TiB, beyond the direct map's 5 TiB. */
#define PAGE_LIST_NULL 0xffffffffu
struct page_list_entry {
    uint32_t next, prev;
};

struct page_info {
    /* (f) Free: [B] the buddy free list of this block's order (head page
     * only). Allocated: [D] the owner's page list, once domains exist. */
    struct page_list_entry list;

    /* (z,f) Reference count and allocation state, see PGC_* below. The state,
     * head and order bits are [B]; the count and PGC_allocated are [A] while
     * the frame is allocated; PGC_xen_heap is (o). */
    uint64_t count_info;

    /* (f,o) [A] Page type for PV guests, see PGT_* below: what the frame may
     * be used as (page table of a level, descriptor table, writable), its
     * validated and pinned bits and the count of type references. Zeroed on
     * allocation; meaningless while free. */
    uint64_t type_info;

    /* (f,o) [D] The domain the frame belongs to, NULL for the hypervisor's
     * own frames and for free ones. Cleared on allocation. */
    struct domain *owner;
};

/* ---- count_info ---------------------------------------------------------- */
/* A domain holds its allocation reference (Xen's PGC_allocated). */
#define PGC_allocated     (1ULL << 63)
/* The hypervisor's own memory (heap, page tables, stacks, frame table):
 * never mappable by a guest. */
#define PGC_xen_heap      (1ULL << 62)
/* Allocator state of the frame. */
#define PGC_state_shift   59
#define PGC_state_mask    (3ULL << PGC_state_shift)
#define  PGC_state_unmanaged (0ULL << PGC_state_shift)  /* hole, reserved, or boot-allocated */
#define  PGC_state_free      (1ULL << PGC_state_shift)  /* in a free buddy block */
#define  PGC_state_inuse     (2ULL << PGC_state_shift)  /* in an allocated block */
/* First frame of a buddy block, free or allocated; the block's order is in
 * PGC_order. Tail frames have PGC_head clear. */
#define PGC_head          (1ULL << 58)
#define PGC_order_shift   53
#define PGC_order_mask    (0x1fULL << PGC_order_shift)
/* The general reference count: mappings, grant references, I/O in flight. */
#define PGC_count_mask    ((1ULL << PGC_order_shift) - 1)

static inline uint64_t pgc_state(uint64_t c) { return c & PGC_state_mask; }
static inline unsigned int pgc_order(uint64_t c)
{
    return (unsigned int)((c & PGC_order_mask) >> PGC_order_shift);
}

/* ---- type_info ----------------------------------------------------------- */
/* A frame has at most one type at a time; a type may change only when the
 * type count is zero (Xen's get_page_type rule). */
#define PGT_type_shift    61
#define PGT_type_mask     (7ULL << PGT_type_shift)
#define  PGT_none           (0ULL << PGT_type_shift)  /* no type references */
#define  PGT_l1_page_table  (1ULL << PGT_type_shift)
#define  PGT_l2_page_table  (2ULL << PGT_type_shift)
#define  PGT_l3_page_table  (3ULL << PGT_type_shift)
#define  PGT_l4_page_table  (4ULL << PGT_type_shift)
#define  PGT_seg_desc_page  (5ULL << PGT_type_shift)  /* GDT/LDT frame */
#define  PGT_writable_page  (7ULL << PGT_type_shift)  /* mapped writable somewhere */
/* The guest pinned the type (MMUEXT_PIN_*): it holds a type reference. */
#define PGT_pinned        (1ULL << 60)
/* Contents checked against the type's rules (a page table's entries). */
#define PGT_validated     (1ULL << 59)
/* Number of type references. */
#define PGT_count_mask    ((1ULL << 59) - 1)

/* ---- the frame table ------------------------------------------------------ */
extern struct page_info *frame_table;   /* indexed by MFN, [0, max_mfn) */
extern uint64_t max_mfn;

static inline bool mfn_valid(mfn_t mfn) { return mfn < max_mfn; }
static inline struct page_info *mfn_to_page(mfn_t mfn) { return frame_table + mfn; }
static inline mfn_t page_to_mfn(const struct page_info *pg) { return (mfn_t)(pg - frame_table); }
static inline paddr_t page_to_maddr(const struct page_info *pg)
{
    return page_to_mfn(pg) << PAGE_SHIFT;
}

/* Builds the zeroed frame table for [0, max_mfn) in memory from the boot
 * allocator (hypervisor/mm/init.c supplies it). Returns its size in bytes. */
uint64_t frame_table_init(paddr_t (*boot_alloc)(uint64_t size));
/* Marks [start, end) as the hypervisor's own memory (PGC_xen_heap). */
void frame_mark_xen_heap(paddr_t start, paddr_t end);

#endif
