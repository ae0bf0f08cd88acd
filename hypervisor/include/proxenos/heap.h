/*
 * The hypervisor heap behind xmalloc()/xfree() (hypervisor/mm/heap.c).
 *
 * Pure code over a page provider, so the host unit tests run it over
 * aligned_alloc(). Objects up to HEAP_MAX_SMALL bytes come from slabs of one
 * size class; larger ones get a block of whole pages of their own. Every
 * object is preceded by a 16-byte header with a magic number, which is how
 * xfree() tells a double free or a pointer it never returned from a good
 * one; such misuse is reported through the error hook (the hypervisor's
 * panics) and changes nothing.
 */
#ifndef PROXENOS_HEAP_H
#define PROXENOS_HEAP_H
#include <proxenos/types.h>
#include <proxenos/spinlock.h>

#define HEAP_ALIGN       16
#define HEAP_MAX_SMALL   2048
#define HEAP_NR_CLASSES  14

enum heap_error {
    HEAP_ERR_DOUBLE_FREE = 1,         /* the object is already free */
    HEAP_ERR_BAD_POINTER,             /* not an object this heap returned */
};

struct heap_ops {
    /* A block of 2^order pages aligned to its size, or NULL. */
    void *(*alloc_pages)(void *ctx, unsigned int order);
    void (*free_pages)(void *ctx, void *va, unsigned int order);
    /* Misuse report; may be NULL. */
    void (*error)(void *ctx, enum heap_error err, const void *ptr);
};

struct heap_slab;

/* Field tags: (i) set by heap_init, never changed; [H] guarded by heap.lock. */
struct heap_class {
    uint32_t size;                    /* (i) largest object of the class */
    uint32_t slot;                    /* (i) size + header */
    uint32_t per_slab;                /* (i) slots in one slab */
    uint8_t slab_order;               /* (i) pages per slab: 2^slab_order */
    struct heap_slab *partial;        /* [H] slabs with free and used slots */
    struct heap_slab *empty;          /* [H] one fully free slab kept for reuse */
    uint64_t live;                    /* [H] objects allocated */
    uint64_t slabs;                   /* [H] slabs held, including `empty` */
};

struct heap_stats {
    uint64_t live_objects;            /* allocated and not freed */
    uint64_t live_bytes;              /* sum of their requested sizes */
    uint64_t slab_pages;              /* pages held by small-object slabs */
    uint64_t large_pages;             /* pages held by large objects */
    uint64_t allocs, frees;           /* successful calls since boot */
    uint64_t failures;                /* allocations that returned NULL */
    uint64_t class_live[HEAP_NR_CLASSES];
};

struct heap {
    spinlock_t lock;
    const struct heap_ops *ops;       /* (i) */
    void *ctx;                        /* (i) passed to every op */
    unsigned int max_order;           /* (i) largest block the provider can give */
    struct heap_class cls[HEAP_NR_CLASSES];  /* [H] */
    struct heap_stats st;             /* [H] */
};

void heap_init(struct heap *h, const struct heap_ops *ops, void *ctx, unsigned int max_order);
/* HEAP_ALIGN-aligned memory for size bytes (a minimal object for 0), or NULL. */
void *heap_alloc(struct heap *h, size_t size);
/* Frees p (NULL is a no-op). Returns 0, or -(enum heap_error) after calling
 * the error hook. */
int heap_free(struct heap *h, void *p);
void heap_get_stats(struct heap *h, struct heap_stats *st);
/* Object size of class i, for printing statistics. */
static inline uint32_t heap_class_size(const struct heap *h, unsigned int i) { return h->cls[i].size; }

#endif
