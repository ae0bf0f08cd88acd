/*
 * Sanitizing the firmware memory map (pure code: also built on the host).
 *
 * Two passes. The sweep walks every boundary of the raw map in address order
 * and gives each elementary interval the type of the strongest entry that
 * covers it, so overlaps and ordering stop mattering. Alignment then shrinks
 * RAM inward and grows everything else outward to page boundaries; since the
 * sweep output is sorted and disjoint, the only conflicts left are two
 * firmware types sharing one partial page, settled by the same strength rule.
 */
#include <proxenos/e820.h>

/* Strength of a type where ranges overlap: RAM is the weakest, because
 * handing out a page the firmware uses is the one unrecoverable mistake. */
static uint64_t rank(uint32_t type)
{
    return type == E820_RAM ? 0 : (uint64_t)type + 1;
}

/* An entry is usable if it is non-empty and its end is representable. */
static bool entry_valid(const struct e820entry *e)
{
    return e->size != 0 && e->addr + e->size > e->addr;
}

/* Appends [start, end) of `type`, merging with an adjacent range of the same
 * type. Returns false when the map is full. */
static bool emit(struct e820map *out, uint64_t start, uint64_t end, uint32_t type)
{
    struct e820entry *last = out->nr ? &out->map[out->nr - 1] : NULL;

    if (last && last->type == type && last->addr + last->size == start) {
        last->size = end - last->addr;
        return true;
    }
    if (out->nr == E820_MAX_ENTRIES) {
        out->truncated = true;
        return false;
    }
    out->map[out->nr++] = (struct e820entry){ start, end - start, type };
    return true;
}

/* Finds the type covering `cur` (*covered false if none) and the next
 * boundary above it. Returns false when no boundary lies above `cur`. */
static bool sweep_step(const struct e820entry *in, unsigned int n, uint64_t cur,
                       bool *covered, uint32_t *type, uint64_t *next)
{
    bool found = false;

    *covered = false;
    for (unsigned int i = 0; i < n; i++) {
        const struct e820entry *e = &in[i];
        uint64_t end = e->addr + e->size;

        if (!entry_valid(e))
            continue;
        if (e->addr <= cur && cur < end && (!*covered || rank(e->type) > rank(*type))) {
            *covered = true;
            *type = e->type;
        }
        uint64_t b = e->addr > cur ? e->addr : end > cur ? end : 0;
        if (b && (!found || b < *next)) {
            *next = b;
            found = true;
        }
    }
    return found;
}

/* Pass 1: exact, byte-granular, disjoint, sorted. */
static void sweep(const struct e820entry *in, unsigned int n, struct e820map *out)
{
    uint64_t cur = UINT64_MAX, next = 0;
    uint32_t type = 0;
    bool covered;

    for (unsigned int i = 0; i < n; i++)
        if (entry_valid(&in[i]) && in[i].addr < cur)
            cur = in[i].addr;
    while (sweep_step(in, n, cur, &covered, &type, &next)) {
        if (covered && !emit(out, cur, next, type))
            return;
        cur = next;
    }
}

/* Page-aligns one exact range; returns false if nothing is left of it. */
static bool align_entry(struct e820entry *e)
{
    uint64_t start = e->addr, end = e->addr + e->size;

    if (e->type == E820_RAM) {
        if (start > ALIGN_DOWN(UINT64_MAX, PAGE_SIZE))
            return false;
        start = ALIGN_UP(start, PAGE_SIZE);
        end = ALIGN_DOWN(end, PAGE_SIZE);
    } else {
        start = ALIGN_DOWN(start, PAGE_SIZE);
        /* The last partial page of the address space cannot be RAM either. */
        end = end > ALIGN_DOWN(UINT64_MAX, PAGE_SIZE) ? ALIGN_DOWN(UINT64_MAX, PAGE_SIZE)
                                                      : ALIGN_UP(end, PAGE_SIZE);
    }
    if (start >= end)
        return false;
    e->addr = start;
    e->size = end - start;
    return true;
}

/*
 * Pass 2, in place: align each range and settle the partial pages that two
 * neighbours now both claim. `w` ranges are kept; the last kept one is the
 * only candidate for an overlap, unless the newcomer wins and empties it.
 */
static void align_all(struct e820map *m)
{
    unsigned int w = 0;

    for (unsigned int i = 0; i < m->nr; i++) {
        struct e820entry cur = m->map[i];

        if (!align_entry(&cur))
            continue;
        while (w && m->map[w - 1].addr + m->map[w - 1].size > cur.addr) {
            struct e820entry *last = &m->map[w - 1];
            uint64_t last_end = last->addr + last->size, cur_end = cur.addr + cur.size;

            if (rank(cur.type) > rank(last->type)) {      /* the newcomer takes the page */
                last->size = cur.addr > last->addr ? cur.addr - last->addr : 0;
                if (!last->size)
                    w--;
                continue;
            }
            if (last->type == cur.type) {                 /* same type: absorb */
                if (cur_end > last_end)
                    last->size = cur_end - last->addr;
                cur.size = 0;
                break;
            }
            cur.size = cur_end > last_end ? cur_end - last_end : 0;   /* the last one keeps it */
            cur.addr = last_end;
            break;
        }
        if (!cur.size)
            continue;
        if (w && m->map[w - 1].type == cur.type &&
            m->map[w - 1].addr + m->map[w - 1].size == cur.addr)
            m->map[w - 1].size += cur.size;
        else
            m->map[w++] = cur;
    }
    m->nr = w;
}

unsigned int e820_sanitize(const struct e820entry *in, unsigned int n, struct e820map *out)
{
    unsigned int dropped = 0;

    for (unsigned int i = 0; i < n; i++)
        if (!entry_valid(&in[i]))
            dropped++;
    out->nr = 0;
    out->truncated = false;
    sweep(in, n, out);
    align_all(out);
    return dropped;
}

unsigned int e820_from_basic(uint64_t lower_kb, uint64_t upper_kb, struct e820entry out[2])
{
    unsigned int n = 0;

    /* mem_lower never reaches past the 640 KiB conventional memory. */
    if (lower_kb)
        out[n++] = (struct e820entry){ 0, KiB(MIN(lower_kb, 640)), E820_RAM };
    if (upper_kb && upper_kb <= (UINT64_MAX - MiB(1)) >> 10)
        out[n++] = (struct e820entry){ MiB(1), KiB(upper_kb), E820_RAM };
    return n;
}

uint64_t e820_clip_ram(struct e820map *m, uint64_t limit)
{
    uint64_t removed = 0;
    unsigned int w = 0;

    limit = ALIGN_DOWN(limit, PAGE_SIZE);
    for (unsigned int i = 0; i < m->nr; i++) {
        struct e820entry e = m->map[i];

        if (e.type == E820_RAM && e.addr + e.size > limit) {
            uint64_t keep = e.addr < limit ? limit - e.addr : 0;
            removed += e.size - keep;
            e.size = keep;
        }
        if (e.size)
            m->map[w++] = e;
    }
    m->nr = w;
    return removed;
}

uint64_t e820_ram_bytes(const struct e820map *m)
{
    uint64_t total = 0;

    for (unsigned int i = 0; i < m->nr; i++)
        if (m->map[i].type == E820_RAM)
            total += m->map[i].size;
    return total;
}

paddr_t e820_ram_end(const struct e820map *m)
{
    paddr_t end = 0;

    for (unsigned int i = 0; i < m->nr; i++)
        if (m->map[i].type == E820_RAM)
            end = MAX(end, m->map[i].addr + m->map[i].size);
    return end;
}

/* The map is sorted and disjoint: walk it, requiring each covering range to
 * start exactly where the previous one stopped. */
bool e820_all_of_type(const struct e820map *m, paddr_t start, paddr_t end, uint32_t type)
{
    paddr_t pos = start;

    for (unsigned int i = 0; i < m->nr && pos < end; i++) {
        const struct e820entry *e = &m->map[i];
        if (e->addr + e->size <= pos)
            continue;
        if (e->addr > pos || e->type != type)
            return false;
        pos = e->addr + e->size;
    }
    return pos >= end;
}

const char *e820_type_name(uint32_t type)
{
    switch (type) {
    case E820_RAM:      return "RAM";
    case E820_RESERVED: return "reserved";
    case E820_ACPI:     return "ACPI data";
    case E820_NVS:      return "ACPI NVS";
    case E820_UNUSABLE: return "unusable";
    case 7:             return "persistent memory";   /* ACPI 6.5, table 15.6 */
    default:            return "unknown type";
    }
}
