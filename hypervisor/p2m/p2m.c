/*
 * The p2m: a 4-level radix tree of nested page tables in the backend's
 * format (p2m.h). Table pages come from p2m_table_alloc(); the tree maps
 * 4 KiB leaves at level 1 and 2 MiB leaves at level 2 (P2M_LARGE). Setting a
 * 4 KiB entry inside a 2 MiB leaf splits it into 512 small entries first.
 * Pure code: the page allocation hooks are provided by p2m_mem.c in the
 * hypervisor and by the unit test on the host.
 */
#include <proxenos/p2m.h>
#include <proxenos/lib.h>

/* Hooks: a zeroed table page (machine address, 0 on exhaustion), its
   hypervisor mapping, and its release. */
paddr_t p2m_table_alloc(void);
void p2m_table_free(paddr_t pa);
uint64_t *p2m_table_map(paddr_t pa);

#define P2M_LEVELS 4
#define GFN_BITS   (PADDR_BITS - PAGE_SHIFT)

static unsigned int index_at(gfn_t gfn, unsigned int level)
{
    return (gfn >> (9 * (level - 1))) & 511;
}

static enum p2m_type pte_type(uint64_t pte)
{
    return (enum p2m_type)((pte & P2M_TYPE_MASK) >> P2M_TYPE_SHIFT);
}

int p2m_init(struct p2m *p2m, const struct p2m_format *fmt)
{
    memset(p2m, 0, sizeof(*p2m));
    p2m->fmt = fmt;
    p2m->root = p2m_table_alloc();
    if (!p2m->root)
        return -ENOMEM;
    p2m->nr_table_pages = 1;
    return 0;
}

static void free_tree(struct p2m *p2m, paddr_t table, unsigned int level)
{
    uint64_t *t = p2m_table_map(table);

    if (level > 1) {
        for (unsigned int i = 0; i < 512; i++)
            if (p2m->fmt->present(t[i]) && !(level == 2 && (t[i] & P2M_LARGE)))
                free_tree(p2m, t[i] & P2M_ADDR_MASK, level - 1);
    }
    p2m_table_free(table);
}

void p2m_teardown(struct p2m *p2m)
{
    if (p2m->root)
        free_tree(p2m, p2m->root, P2M_LEVELS);
    p2m->root = 0;
}

/* Replaces a 2 MiB leaf by a table of 512 equivalent 4 KiB leaves. */
static int split_large(struct p2m *p2m, uint64_t *slot)
{
    paddr_t pa = p2m_table_alloc();
    if (!pa)
        return -ENOMEM;
    uint64_t *t = p2m_table_map(pa);
    paddr_t base = *slot & P2M_ADDR_MASK & ~((uint64_t)MiB(2) - 1);
    enum p2m_type type = pte_type(*slot);

    for (unsigned int i = 0; i < 512; i++)
        t[i] = p2m->fmt->leaf(base + i * PAGE_SIZE, type, false);
    *slot = p2m->fmt->table(pa);
    p2m->nr_table_pages++;
    return 0;
}

/* Walks to the entry for gfn at target level, creating tables if asked. */
static int walk(struct p2m *p2m, gfn_t gfn, unsigned int target, bool create, uint64_t **out)
{
    paddr_t table = p2m->root;

    if (!table)
        return -EINVAL;                /* no p2m (a PV domain): nothing to walk */
    for (unsigned int level = P2M_LEVELS; level > target; level--) {
        uint64_t *slot = &p2m_table_map(table)[index_at(gfn, level)];
        if (!p2m->fmt->present(*slot)) {
            if (!create)
                return -ENOENT;
            paddr_t pa = p2m_table_alloc();
            if (!pa)
                return -ENOMEM;
            p2m->nr_table_pages++;
            *slot = p2m->fmt->table(pa);
        } else if (level == 2 && (*slot & P2M_LARGE)) {
            if (!create)
                return -EEXIST;        /* covered by a large leaf */
            int rc = split_large(p2m, slot);
            if (rc)
                return rc;
        }
        table = *slot & P2M_ADDR_MASK;
    }
    *out = &p2m_table_map(table)[index_at(gfn, target)];
    return 0;
}

static void account(struct p2m *p2m, uint64_t old, enum p2m_type t, unsigned int order,
                    bool old_present)
{
    if (old_present) {
        enum p2m_type ot = pte_type(old);
        if (ot < p2m_nr_types)
            p2m->nr_entries[ot] -= 1ull << order;
    }
    if (t != p2m_invalid)
        p2m->nr_entries[t] += 1ull << order;
}

/* A 2 MiB slot that holds a table: free it (and count what it mapped). */
static void drop_subtable(struct p2m *p2m, uint64_t *slot)
{
    uint64_t *t = p2m_table_map(*slot & P2M_ADDR_MASK);

    for (unsigned int i = 0; i < 512; i++)
        if (p2m->fmt->present(t[i]))
            account(p2m, t[i], p2m_invalid, 0, true);
    p2m_table_free(*slot & P2M_ADDR_MASK);
    p2m->nr_table_pages--;
    *slot = 0;
}

int p2m_set_entry(struct p2m *p2m, gfn_t gfn, mfn_t mfn, unsigned int order, enum p2m_type t)
{
    unsigned int level = order == 9 ? 2 : 1;
    uint64_t *slot;
    int rc;

    if ((order != 0 && order != 9) || t >= p2m_nr_types || gfn >> GFN_BITS ||
        (t != p2m_invalid && mfn >> GFN_BITS) || (gfn | (t != p2m_invalid ? mfn : 0)) & ((1ull << order) - 1))
        return -EINVAL;

    spin_lock(&p2m->lock);
    rc = walk(p2m, gfn, level, true, &slot);
    if (!rc) {
        bool was = p2m->fmt->present(*slot);
        if (level == 2 && was && !(*slot & P2M_LARGE)) {
            drop_subtable(p2m, slot);  /* a 4 KiB table under this 2 MiB range */
            was = false;
        }
        account(p2m, *slot, t, order, was);
        *slot = t == p2m_invalid ? 0 : p2m->fmt->leaf(mfn << PAGE_SHIFT, t, level == 2);
        if (t != p2m_invalid && gfn + (1ull << order) - 1 > p2m->max_mapped_gfn)
            p2m->max_mapped_gfn = gfn + (1ull << order) - 1;
    }
    spin_unlock(&p2m->lock);
    return rc;
}

int p2m_remove(struct p2m *p2m, gfn_t gfn, unsigned int order)
{
    return p2m_set_entry(p2m, gfn, 0, order, p2m_invalid);
}

enum p2m_type p2m_lookup(struct p2m *p2m, gfn_t gfn, mfn_t *mfn)
{
    paddr_t table = p2m->root;
    enum p2m_type t = p2m_invalid;

    *mfn = INVALID_MFN;
    if (gfn >> GFN_BITS || !table)     /* !table: a PV domain has no p2m */
        return p2m_invalid;
    spin_lock(&p2m->lock);
    for (unsigned int level = P2M_LEVELS; level >= 1; level--) {
        uint64_t pte = p2m_table_map(table)[index_at(gfn, level)];
        if (!p2m->fmt->present(pte))
            break;
        if (level == 1 || (level == 2 && (pte & P2M_LARGE))) {
            uint64_t off = level == 2 ? (gfn & 511) : 0;
            *mfn = ((pte & P2M_ADDR_MASK) >> PAGE_SHIFT) + off;
            t = pte_type(pte);
            break;
        }
        table = pte & P2M_ADDR_MASK;
    }
    spin_unlock(&p2m->lock);
    return t;
}

static void each(struct p2m *p2m, paddr_t table, unsigned int level, gfn_t base,
                 void (*fn)(gfn_t, mfn_t, unsigned int, enum p2m_type, void *), void *arg)
{
    uint64_t *t = p2m_table_map(table);

    for (unsigned int i = 0; i < 512; i++) {
        gfn_t gfn = base + ((gfn_t)i << (9 * (level - 1)));
        if (!p2m->fmt->present(t[i]))
            continue;
        if (level == 1 || (level == 2 && (t[i] & P2M_LARGE)))
            fn(gfn, (t[i] & P2M_ADDR_MASK) >> PAGE_SHIFT, level == 2 ? 9 : 0, pte_type(t[i]), arg);
        else
            each(p2m, t[i] & P2M_ADDR_MASK, level - 1, gfn, fn, arg);
    }
}

void p2m_for_each(struct p2m *p2m, void (*fn)(gfn_t, mfn_t, unsigned int, enum p2m_type, void *),
                  void *arg)
{
    if (p2m->root)
        each(p2m, p2m->root, P2M_LEVELS, 0, fn, arg);
}

const char *p2m_type_name(enum p2m_type t)
{
    static const char *const names[p2m_nr_types] = {
        "invalid", "ram_rw", "ram_ro", "mmio_direct", "grant_rw", "grant_ro", "reserved",
    };
    return t < p2m_nr_types ? names[t] : "?";
}
