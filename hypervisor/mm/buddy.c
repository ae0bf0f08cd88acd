/*
 * Binary buddy allocator (pure code: also built on the host).
 *
 * Free blocks of each order sit on a doubly linked list threaded through the
 * head frame's page_info, so taking a buddy off its list when it merges is
 * O(1). Every frame carries its allocator state (free / in use / unmanaged)
 * and the first frame of each block its order, so free() can tell a double
 * free, a wrong order or a stray frame from a good call before it changes
 * anything. Costs: alloc and free touch each frame of the block once (to set
 * its state) plus O(MAX_ORDER) for splitting or merging.
 */
#include <proxenos/buddy.h>

static struct page_info *pg(struct buddy *b, mfn_t mfn)
{
    return &b->pages[mfn - b->base];
}

/* True if the whole block [mfn, mfn + 2^order) lies in the range. */
static bool block_in_range(const struct buddy *b, mfn_t mfn, unsigned int order)
{
    return mfn >= b->base && mfn - b->base < b->nr &&
           b->nr - (mfn - b->base) >= (1ULL << order);
}

static uint64_t head_bits(uint64_t state, unsigned int order)
{
    return state | PGC_head | ((uint64_t)order << PGC_order_shift);
}

static void list_push(struct buddy *b, mfn_t mfn, unsigned int order)
{
    uint32_t i = (uint32_t)(mfn - b->base), first = b->free_list[order];

    b->pages[i].list = (struct page_list_entry){ first, PAGE_LIST_NULL };
    if (first != PAGE_LIST_NULL)
        b->pages[first].list.prev = i;
    b->free_list[order] = i;
    b->free_blocks[order]++;
}

static void list_del(struct buddy *b, mfn_t mfn, unsigned int order)
{
    struct page_list_entry *l = &pg(b, mfn)->list;

    if (l->prev != PAGE_LIST_NULL)
        b->pages[l->prev].list.next = l->next;
    else
        b->free_list[order] = l->next;
    if (l->next != PAGE_LIST_NULL)
        b->pages[l->next].list.prev = l->prev;
    *l = (struct page_list_entry){ PAGE_LIST_NULL, PAGE_LIST_NULL };
    b->free_blocks[order]--;
}

/* Inserts the free block [mfn, 2^order), whose frames are already marked
 * free, merging it with its buddy for as long as the buddy is a free block
 * of the same order. */
static void merge_and_insert(struct buddy *b, mfn_t mfn, unsigned int order)
{
    while (order < MAX_ORDER) {
        mfn_t buddy = mfn ^ (1ULL << order);

        if (!block_in_range(b, buddy, order) ||
            pg(b, buddy)->count_info != head_bits(PGC_state_free, order))
            break;
        list_del(b, buddy, order);
        pg(b, MAX(mfn, buddy))->count_info = PGC_state_free;   /* now a tail */
        mfn = MIN(mfn, buddy);
        order++;
    }
    pg(b, mfn)->count_info = head_bits(PGC_state_free, order);
    list_push(b, mfn, order);
}

void buddy_init(struct buddy *b, struct page_info *pages, mfn_t base, uint64_t nr,
                buddy_error_fn error, void *ctx)
{
    /* List links are 32-bit indices, PAGE_LIST_NULL excluded. */
    nr = MIN(nr, (uint64_t)PAGE_LIST_NULL);
    *b = (struct buddy){ .lock = SPINLOCK_INIT, .pages = pages, .base = base, .nr = nr,
                         .error = error, .ctx = ctx };
    for (unsigned int k = 0; k <= MAX_ORDER; k++)
        b->free_list[k] = PAGE_LIST_NULL;
}

static void mark_free(struct buddy *b, mfn_t mfn, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) {
        struct page_info *p = pg(b, mfn + i);
        p->count_info = PGC_state_free;
        p->type_info = 0;
        p->owner = NULL;
    }
}

/* Largest order whose block at mfn is aligned and ends by `end`. */
static unsigned int fit_order(mfn_t mfn, mfn_t end)
{
    unsigned int k = 0;

    while (k < MAX_ORDER && !(mfn & (1ULL << k)) && end - mfn >= (2ULL << k))
        k++;
    return k;
}

uint64_t buddy_add_range(struct buddy *b, mfn_t start, mfn_t end)
{
    uint64_t added = 0;

    start = MAX(start, MAX(b->base, (mfn_t)1));
    end = MIN(end, b->base + b->nr);
    if (start >= end)
        return 0;
    spin_lock(&b->lock);
    for (mfn_t m = start; m < end; m++) {
        if (pgc_state(pg(b, m)->count_info) != PGC_state_unmanaged) {
            spin_unlock(&b->lock);
            if (b->error)
                b->error(b, BUDDY_ERR_CORRUPT, m, 0);
            return 0;
        }
    }
    for (mfn_t m = start; m < end; m += 1ULL << fit_order(m, end)) {
        unsigned int k = fit_order(m, end);
        mark_free(b, m, 1ULL << k);
        merge_and_insert(b, m, k);
        added += 1ULL << k;
    }
    b->free_pages += added;
    b->managed_pages += added;
    spin_unlock(&b->lock);
    return added;
}

static void mark_inuse(struct buddy *b, mfn_t mfn, unsigned int order)
{
    for (uint64_t i = 0; i < (1ULL << order); i++) {
        struct page_info *p = pg(b, mfn + i);
        p->count_info = PGC_state_inuse;
        p->type_info = 0;
        p->owner = NULL;
        p->list = (struct page_list_entry){ PAGE_LIST_NULL, PAGE_LIST_NULL };
    }
    pg(b, mfn)->count_info = head_bits(PGC_state_inuse, order);
}

mfn_t buddy_alloc(struct buddy *b, unsigned int order)
{
    unsigned int k = order;
    mfn_t mfn;

    if (order > MAX_ORDER)
        return 0;
    spin_lock(&b->lock);
    while (k <= MAX_ORDER && b->free_list[k] == PAGE_LIST_NULL)
        k++;
    if (k > MAX_ORDER) {
        spin_unlock(&b->lock);
        return 0;
    }
    mfn = b->base + b->free_list[k];
    list_del(b, mfn, k);
    while (k > order) {                /* the upper halves go back, one per order */
        k--;
        pg(b, mfn + (1ULL << k))->count_info = head_bits(PGC_state_free, k);
        list_push(b, mfn + (1ULL << k), k);
    }
    mark_inuse(b, mfn, order);
    b->free_pages -= 1ULL << order;
    spin_unlock(&b->lock);
    return mfn;
}

/* Why [mfn, 2^order) cannot be freed, or 0 if it can. Lock held. */
static enum buddy_error check_free(struct buddy *b, mfn_t mfn, unsigned int order)
{
    uint64_t c;

    if (order > MAX_ORDER)
        return BUDDY_ERR_BAD_ORDER;
    if (!block_in_range(b, mfn, 0))
        return BUDDY_ERR_OUT_OF_RANGE;
    c = pg(b, mfn)->count_info;
    if (pgc_state(c) == PGC_state_free)
        return BUDDY_ERR_DOUBLE_FREE;
    if (pgc_state(c) != PGC_state_inuse)
        return BUDDY_ERR_NOT_ALLOCATED;
    if (!(c & PGC_head))
        return BUDDY_ERR_NOT_HEAD;
    if (pgc_order(c) != order)
        return BUDDY_ERR_WRONG_ORDER;
    if (!block_in_range(b, mfn, order))
        return BUDDY_ERR_CORRUPT;
    for (uint64_t i = 1; i < (1ULL << order); i++) {
        c = pg(b, mfn + i)->count_info;
        if (pgc_state(c) != PGC_state_inuse || (c & PGC_head))
            return BUDDY_ERR_CORRUPT;
    }
    return 0;
}

int buddy_free(struct buddy *b, mfn_t mfn, unsigned int order)
{
    enum buddy_error err;

    spin_lock(&b->lock);
    err = check_free(b, mfn, order);
    if (!err) {
        mark_free(b, mfn, 1ULL << order);
        merge_and_insert(b, mfn, order);
        b->free_pages += 1ULL << order;
    }
    spin_unlock(&b->lock);
    /* Reported outside the lock, so the hook may look at the allocator. */
    if (err && b->error)
        b->error(b, err, mfn, order);
    return err ? -(int)err : 0;
}

uint64_t buddy_free_pages(struct buddy *b)
{
    return __atomic_load_n(&b->free_pages, __ATOMIC_RELAXED);
}

/* ---- consistency check ---------------------------------------------------- */

/* Walks the free list of `order`: every entry a free head of that order,
 * aligned, back-linked. Adds its frames to *pages. */
static int check_list(struct buddy *b, unsigned int order, uint64_t *pages)
{
    uint32_t i = b->free_list[order], prev = PAGE_LIST_NULL;
    uint64_t n = 0;

    while (i != PAGE_LIST_NULL) {
        mfn_t mfn = b->base + i;
        if (i >= b->nr || n++ > b->nr || b->pages[i].list.prev != prev ||
            b->pages[i].count_info != head_bits(PGC_state_free, order) ||
            (mfn & ((1ULL << order) - 1)) || !block_in_range(b, mfn, order))
            return -EINVAL;
        prev = i;
        i = b->pages[i].list.next;
    }
    if (n != b->free_blocks[order])
        return -EINVAL;
    *pages += n << order;
    return 0;
}

/* Checks the block whose head is at index i; returns its size in frames or 0. */
static uint64_t check_block(struct buddy *b, uint64_t i, uint64_t *free_frames)
{
    uint64_t c = b->pages[i].count_info, state = pgc_state(c), n;
    unsigned int order = pgc_order(c);
    mfn_t mfn = b->base + i;

    if (!(c & PGC_head) || (mfn & ((1ULL << order) - 1)) || !block_in_range(b, mfn, order))
        return 0;
    n = 1ULL << order;
    for (uint64_t j = 1; j < n; j++) {
        uint64_t t = b->pages[i + j].count_info;
        if (pgc_state(t) != state || (t & PGC_head))
            return 0;
    }
    if (state == PGC_state_free) {
        mfn_t buddy = mfn ^ n;        /* two free buddies of one order must have merged */
        if (order < MAX_ORDER && block_in_range(b, buddy, order) &&
            b->pages[buddy - b->base].count_info == head_bits(PGC_state_free, order))
            return 0;
        *free_frames += n;
    }
    return n;
}

int buddy_check(struct buddy *b)
{
    uint64_t listed = 0, free_frames = 0;
    int rc = 0;

    spin_lock(&b->lock);
    for (unsigned int k = 0; k <= MAX_ORDER && !rc; k++)
        rc = check_list(b, k, &listed);
    for (uint64_t i = 0; i < b->nr && !rc;) {
        if (pgc_state(b->pages[i].count_info) == PGC_state_unmanaged) {
            i++;
            continue;
        }
        uint64_t n = check_block(b, i, &free_frames);
        if (!n)
            rc = -EINVAL;
        i += n;
    }
    if (!rc && (listed != b->free_pages || free_frames != b->free_pages))
        rc = -EINVAL;
    spin_unlock(&b->lock);
    return rc;
}
