/*
 * Reserved machine memory and the boot-time allocator built on it (pure
 * code: also built on the host). The list is kept sorted and merged, so it
 * stays a handful of entries however many boot allocations there are: the
 * boot allocator takes from the top of a free piece, next to its last grant.
 */
#include <proxenos/e820.h>

#define PAGE_TOP ALIGN_DOWN(UINT64_MAX, PAGE_SIZE)   /* highest page-aligned address */

int resv_add(struct resv_list *l, paddr_t start, paddr_t end)
{
    unsigned int i = 0, j;

    if (end <= start)
        return -EINVAL;
    start = ALIGN_DOWN(start, PAGE_SIZE);
    end = end > PAGE_TOP ? PAGE_TOP : ALIGN_UP(end, PAGE_SIZE);
    if (end <= start)
        return -EINVAL;
    /* r[i..j) are the ranges that overlap or touch [start, end). */
    while (i < l->nr && l->r[i].end < start)
        i++;
    for (j = i; j < l->nr && l->r[j].start <= end; j++)
        ;
    if (i == j) {
        if (l->nr == RESV_MAX)
            return -ENOSPC;
        for (unsigned int k = l->nr; k > i; k--)
            l->r[k] = l->r[k - 1];
        l->r[i] = (struct resv_range){ start, end };
        l->nr++;
        return 0;
    }
    l->r[i].start = MIN(l->r[i].start, start);
    l->r[i].end = MAX(l->r[j - 1].end, end);
    for (unsigned int k = j; k < l->nr; k++)
        l->r[i + 1 + k - j] = l->r[k];
    l->nr -= j - i - 1;
    return 0;
}

bool resv_overlaps(const struct resv_list *l, paddr_t start, paddr_t end)
{
    for (unsigned int i = 0; i < l->nr; i++)
        if (l->r[i].start < end && start < l->r[i].end)
            return true;
    return false;
}

void resv_subtract(const struct resv_list *l, paddr_t start, paddr_t end,
                   resv_piece_fn fn, void *ctx)
{
    paddr_t pos = start;

    for (unsigned int i = 0; i < l->nr && pos < end; i++) {
        const struct resv_range *r = &l->r[i];
        if (r->end <= pos)
            continue;
        if (r->start >= end)
            break;
        if (r->start > pos)
            fn(pos, r->start, ctx);
        pos = r->end;
    }
    if (pos < end)
        fn(pos, end, ctx);
}

struct top_search {
    uint64_t size, align;
    paddr_t limit;
    paddr_t best;                     /* highest fitting address so far, 0: none */
};

static void consider_piece(paddr_t start, paddr_t end, void *ctx)
{
    struct top_search *s = ctx;
    paddr_t top = MIN(end, s->limit), at;

    if (top < start || top - start < s->size)
        return;
    at = ALIGN_DOWN(top - s->size, s->align);
    if (at >= start && at > s->best)
        s->best = at;
}

paddr_t resv_alloc_top(const struct e820map *m, struct resv_list *l, uint64_t size,
                       uint64_t align, paddr_t limit)
{
    struct top_search s = { size, MAX(align, PAGE_SIZE), limit, 0 };

    if (!size || (size & (PAGE_SIZE - 1)) || (s.align & (s.align - 1)))
        return 0;
    for (unsigned int i = 0; i < m->nr; i++)
        if (m->map[i].type == E820_RAM)
            resv_subtract(l, m->map[i].addr, m->map[i].addr + m->map[i].size,
                          consider_piece, &s);
    /* Address 0 doubles as "none": it is never a valid grant. */
    if (!s.best || resv_add(l, s.best, s.best + size))
        return 0;
    return s.best;
}
