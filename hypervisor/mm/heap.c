/*
 * Slab heap (pure code: also built on the host).
 *
 * A slab is a naturally aligned block of 2^slab_order pages holding slots of
 * one size class: a struct heap_slab at its start, then the slots. A slot is
 * a 16-byte header and the object. Because slabs are aligned to their size,
 * xfree() finds the slab from the object's address alone, and checks the
 * slab's magic and the slot boundary before trusting the header's class.
 * Large objects are a page block whose first 16 bytes are the header.
 *
 * Slabs with free slots sit on their class's partial list; full slabs are on
 * no list (xfree() finds them by address); one empty slab per class is kept
 * to avoid page churn, further empty ones go back to the page provider.
 */
#include <proxenos/heap.h>
#include <proxenos/lib.h>

#define HDR_SMALL       0x4c4c4d53u   /* "SMLL" */
#define HDR_LARGE       0x4752414cu   /* "LARG" */
#define HDR_FREE_SMALL  0x65657266u   /* "free" */
#define HDR_FREE_LARGE  0x45455246u   /* "FREE" */
#define SLAB_MAGIC      0x42414c53u   /* "SLAB" */
#define POISON          0xdf          /* freed object bodies: use-after-free shows */
#define SLAB_HDR_SIZE   64
#define MAX_SLAB_ORDER  3

struct obj_hdr {
    uint32_t magic;                   /* HDR_* */
    uint8_t cls;                      /* small: class index */
    uint8_t order;                    /* large: block order */
    uint16_t rsvd;
    union {
        uint64_t size;                /* allocated: requested size */
        struct obj_hdr *next;         /* free small slot: next free slot */
    };
};
_Static_assert(sizeof(struct obj_hdr) == HEAP_ALIGN, "header keeps objects aligned");

struct heap_slab {
    uint32_t magic;                   /* SLAB_MAGIC */
    uint32_t cls;
    uint32_t nr_free;
    struct obj_hdr *free;             /* free slots */
    struct heap_slab *prev, *next;    /* class partial list */
};
_Static_assert(sizeof(struct heap_slab) <= SLAB_HDR_SIZE, "slab header fits");

static const uint32_t class_sizes[HEAP_NR_CLASSES] = {
    16, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024, 1536, 2048,
};

static size_t slab_bytes(const struct heap_class *c) { return PAGE_SIZE << c->slab_order; }

/* Smallest slab order wasting at most 1/8 of the slab. */
static void class_init(struct heap_class *c, uint32_t size)
{
    *c = (struct heap_class){ .size = size, .slot = size + sizeof(struct obj_hdr) };
    for (c->slab_order = 0;; c->slab_order++) {
        c->per_slab = (uint32_t)((slab_bytes(c) - SLAB_HDR_SIZE) / c->slot);
        if (c->slab_order == MAX_SLAB_ORDER ||
            slab_bytes(c) - (size_t)c->per_slab * c->slot <= slab_bytes(c) / 8)
            break;
    }
}

void heap_init(struct heap *h, const struct heap_ops *ops, void *ctx, unsigned int max_order)
{
    *h = (struct heap){ .lock = SPINLOCK_INIT, .ops = ops, .ctx = ctx, .max_order = max_order };
    for (unsigned int i = 0; i < HEAP_NR_CLASSES; i++)
        class_init(&h->cls[i], class_sizes[i]);
}

static unsigned int class_of(size_t size)
{
    unsigned int i = 0;

    while (class_sizes[i] < size)
        i++;
    return i;
}

static struct obj_hdr *slot_at(struct heap_slab *s, const struct heap_class *c, uint32_t i)
{
    return (struct obj_hdr *)((char *)s + SLAB_HDR_SIZE + (size_t)i * c->slot);
}

/* ---- the partial list ------------------------------------------------------ */
static void partial_add(struct heap_class *c, struct heap_slab *s)
{
    s->prev = NULL;
    s->next = c->partial;
    if (c->partial)
        c->partial->prev = s;
    c->partial = s;
}

static void partial_del(struct heap_class *c, struct heap_slab *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        c->partial = s->next;
    if (s->next)
        s->next->prev = s->prev;
    s->prev = s->next = NULL;
}

/* Lays out a fresh slab: every slot free and poisoned. */
static void slab_format(struct heap_slab *s, const struct heap_class *c, unsigned int cls)
{
    *s = (struct heap_slab){ .magic = SLAB_MAGIC, .cls = cls, .nr_free = c->per_slab };
    for (uint32_t i = c->per_slab; i-- > 0;) {
        struct obj_hdr *o = slot_at(s, c, i);
        memset(o + 1, POISON, c->size);
        *o = (struct obj_hdr){ .magic = HDR_FREE_SMALL, .cls = (uint8_t)cls, .next = s->free };
        s->free = o;
    }
}

/* ---- allocation ---------------------------------------------------------------- */

/* A slab of class `cls` with a free slot, or NULL. Called and returns with
 * the lock held; drops it around the page provider. */
static struct heap_slab *slab_with_space(struct heap *h, unsigned int cls)
{
    struct heap_class *c = &h->cls[cls];
    struct heap_slab *s;

    if (c->partial)
        return c->partial;
    if (c->empty) {
        s = c->empty;
        c->empty = NULL;
        partial_add(c, s);
        return s;
    }
    spin_unlock(&h->lock);
    s = h->ops->alloc_pages(h->ctx, c->slab_order);
    if (s)
        slab_format(s, c, cls);
    spin_lock(&h->lock);
    if (!s)
        return NULL;
    c->slabs++;
    h->st.slab_pages += 1ULL << c->slab_order;
    partial_add(c, s);
    return s;
}

static void *alloc_small(struct heap *h, size_t size)
{
    unsigned int cls = class_of(size);
    struct heap_class *c = &h->cls[cls];
    struct heap_slab *s = slab_with_space(h, cls);
    struct obj_hdr *o;

    if (!s)
        return NULL;
    o = s->free;
    s->free = o->next;
    if (--s->nr_free == 0)
        partial_del(c, s);
    *o = (struct obj_hdr){ .magic = HDR_SMALL, .cls = (uint8_t)cls, .size = size };
    c->live++;
    h->st.class_live[cls]++;
    return o + 1;
}

/* Lock held on entry and exit; dropped around the page provider. */
static void *alloc_large(struct heap *h, size_t size)
{
    unsigned int order = 0;
    struct obj_hdr *o;

    if (size > SIZE_MAX - sizeof(*o))
        return NULL;
    while (order <= h->max_order && (PAGE_SIZE << order) < size + sizeof(*o))
        order++;
    if (order > h->max_order)
        return NULL;
    spin_unlock(&h->lock);
    o = h->ops->alloc_pages(h->ctx, order);
    spin_lock(&h->lock);
    if (!o)
        return NULL;
    *o = (struct obj_hdr){ .magic = HDR_LARGE, .order = (uint8_t)order, .size = size };
    h->st.large_pages += 1ULL << order;
    return o + 1;
}

void *heap_alloc(struct heap *h, size_t size)
{
    void *p;

    spin_lock(&h->lock);
    p = size <= HEAP_MAX_SMALL ? alloc_small(h, size) : alloc_large(h, size);
    if (p) {
        h->st.allocs++;
        h->st.live_objects++;
        h->st.live_bytes += size;
    } else {
        h->st.failures++;
    }
    spin_unlock(&h->lock);
    return p;
}

/* ---- freeing --------------------------------------------------------------------- */

/* The slab holding small object header o, if o really is one of its slots. */
static struct heap_slab *slab_of(struct heap *h, struct obj_hdr *o)
{
    const struct heap_class *c;
    struct heap_slab *s;
    uintptr_t off;

    if (o->cls >= HEAP_NR_CLASSES)
        return NULL;
    c = &h->cls[o->cls];
    s = (struct heap_slab *)ALIGN_DOWN((uintptr_t)o, slab_bytes(c));
    off = (uintptr_t)o - (uintptr_t)s;
    if (s->magic != SLAB_MAGIC || s->cls != o->cls || off < SLAB_HDR_SIZE ||
        (off - SLAB_HDR_SIZE) % c->slot || (off - SLAB_HDR_SIZE) / c->slot >= c->per_slab)
        return NULL;
    return s;
}

/* Returns the slab to release to the provider, if it became a surplus empty one. */
static struct heap_slab *free_small(struct heap *h, struct heap_slab *s, struct obj_hdr *o)
{
    struct heap_class *c = &h->cls[s->cls];

    h->st.class_live[s->cls]--;
    c->live--;
    memset(o + 1, POISON, c->size);
    *o = (struct obj_hdr){ .magic = HDR_FREE_SMALL, .cls = (uint8_t)s->cls, .next = s->free };
    s->free = o;
    if (++s->nr_free == 1)
        partial_add(c, s);
    if (s->nr_free < c->per_slab)
        return NULL;
    partial_del(c, s);
    if (!c->empty) {
        c->empty = s;
        return NULL;
    }
    s->magic = 0;                     /* a stale pointer into it is no longer "ours" */
    c->slabs--;
    h->st.slab_pages -= 1ULL << c->slab_order;
    return s;
}

/* Validates and frees under the lock; says what to give back to the provider. */
static enum heap_error free_locked(struct heap *h, struct obj_hdr *o, void **pages,
                                   unsigned int *order)
{
    struct heap_slab *s;

    switch (o->magic) {
    case HDR_FREE_SMALL:
    case HDR_FREE_LARGE:
        return HEAP_ERR_DOUBLE_FREE;
    case HDR_SMALL:
        if (!(s = slab_of(h, o)))
            return HEAP_ERR_BAD_POINTER;
        h->st.live_bytes -= o->size;
        *pages = free_small(h, s, o);
        *order = h->cls[s->cls].slab_order;
        return 0;
    case HDR_LARGE:
        if (((uintptr_t)o & (PAGE_SIZE - 1)) || o->order > h->max_order ||
            o->size <= HEAP_MAX_SMALL)
            return HEAP_ERR_BAD_POINTER;
        h->st.live_bytes -= o->size;
        h->st.large_pages -= 1ULL << o->order;
        o->magic = HDR_FREE_LARGE;
        *pages = o;
        *order = o->order;
        return 0;
    default:
        return HEAP_ERR_BAD_POINTER;
    }
}

int heap_free(struct heap *h, void *p)
{
    enum heap_error err = HEAP_ERR_BAD_POINTER;
    void *pages = NULL;
    unsigned int order = 0;

    if (!p)
        return 0;
    spin_lock(&h->lock);
    if (!((uintptr_t)p & (HEAP_ALIGN - 1)))
        err = free_locked(h, (struct obj_hdr *)p - 1, &pages, &order);
    if (!err) {
        h->st.frees++;
        h->st.live_objects--;
    }
    spin_unlock(&h->lock);
    if (pages)
        h->ops->free_pages(h->ctx, pages, order);
    if (err && h->ops->error)
        h->ops->error(h->ctx, err, p);
    return err ? -(int)err : 0;
}

void heap_get_stats(struct heap *h, struct heap_stats *st)
{
    spin_lock(&h->lock);
    *st = h->st;
    spin_unlock(&h->lock);
}
