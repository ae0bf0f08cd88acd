/*
 * __HYPERVISOR_grant_table_op, version 1, for HVM/PVH domains: Xen 4.17's
 * xen/common/grant_table.c as its HVM filter (hvm_grant_table_op,
 * xen/arch/x86/hvm/hypercall.c) lets a translated guest reach it:
 *
 *  query_size      nr_frames (at least 1) and max_nr_frames (64).
 *  setup_table     grows the table to nr_frames; frame_list gets the GFN
 *                  where the guest mapped each frame (XENMAPSPACE_grant_table)
 *                  or INVALID_GFN: a translated guest's own view of it.
 *  set_version     1: 0. 2: -ENOSYS, as a Xen booted with gnttab=max-ver:1
 *                  (version 2 is not offered); the version field says 1.
 *  get_version     1.
 *  map_grant_ref   host mappings only (GNTMAP_host_map [| readonly]) into the
 *                  caller's p2m at host_addr's GFN as p2m_grant_map_rw/ro.
 *  unmap_grant_ref the mapping at host_addr, by handle; host_addr must be
 *                  where that handle mapped (Xen accepts any GFN mapping the
 *                  same frame); host_addr 0 leaves the mapping (Xen).
 *  copy            between grants and/or the caller's own GFNs.
 *  swap_grant_ref  two unpinned entries of the caller's table.
 *  Other sub-ops (dump_table, transfer, unmap_and_replace,
 *  get_status_frames, cache_flush) and cmds with bits above the sub-op:
 *  -ENOSYS, as the HVM filter answers.
 *
 * Per-entry failures go to the entry's status (GNTST_*), as Xen's; the
 * call itself fails only for an unreadable/unwritable op (-EFAULT), a
 * negative count (-EINVAL) or count != 1 where one op is expected.
 * map/unmap/copy do GNTTAB_OPS_PER_EXIT entries per exit and continue
 * (the guest re-executes the call with uop and count advanced).
 *
 * Everything in a shared frame is the guest's and may change under us: a
 * grant entry's flags/domid word is updated with a bounded number of
 * compare-and-swap attempts (Xen's _set_status_v1), its frame is read once.
 */
#include <proxenos/xen_abi.h>
#include <xen/grant_table.h>
#include <proxenos/console.h>
#include <proxenos/domain.h>
#include <proxenos/frame.h>
#include <proxenos/gnttab.h>
#include <proxenos/guest_access.h>
#include <proxenos/hypercall.h>
#include <proxenos/layout.h>
#include <proxenos/lib.h>
#include <proxenos/mm.h>
#include <proxenos/printk.h>

BUILD_BUG_ON(sizeof(grant_entry_v1_t) * GNTTAB_PER_FRAME != PAGE_SIZE);
BUILD_BUG_ON(sizeof(struct gnttab_map_grant_ref) != 32);
BUILD_BUG_ON(sizeof(struct gnttab_unmap_grant_ref) != 24);
BUILD_BUG_ON(sizeof(struct gnttab_copy) != 40);
BUILD_BUG_ON(sizeof(struct gnttab_setup_table) != 24);
BUILD_BUG_ON(sizeof(struct gnttab_query_size) != 16);

/* The i386 layouts that differ (xen_pfn_t and guest handles 32 bits wide);
   map, unmap, query_size, set/get_version and swap are the same. */
struct compat_gnttab_copy_ptr {
    uint32_t u;                      /* ref or gmfn */
    domid_t domid;
    uint16_t offset;
};
struct compat_gnttab_copy {
    struct compat_gnttab_copy_ptr source, dest;
    uint16_t len, flags;
    int16_t status;
};
struct compat_gnttab_setup_table {
    domid_t dom;
    uint32_t nr_frames;
    int16_t status;
    uint32_t frame_list;             /* XEN_GUEST_HANDLE(xen_pfn_t) of uint32 */
};
BUILD_BUG_ON(sizeof(struct compat_gnttab_copy) != 24);
BUILD_BUG_ON(sizeof(struct compat_gnttab_setup_table) != 16);

/* ---- the table ------------------------------------------------------------------------ */

/* Pins on a grant, as Xen's GNTPIN_hst{w,r}: mappings and copies in flight. */
#define PIN_W        0x00000001u
#define PIN_R        0x00000100u
#define PIN_W_MASK   0x000000ffu
#define PIN_NEAR_TOP 0x80808080u       /* a count about to overflow: refuse */

struct gnttab_active {               /* one per grant entry: all under gt->lock */
    uint32_t pin;                    /* PIN_* counts */
    domid_t domid;                   /* (pin) the domain the pins are for */
    mfn_t mfn;                       /* (pin) the granted frame */
};

struct gnttab_map {                  /* one per handle of the mapping domain */
    uint32_t ref;                    /* the grant; while free, the next free handle */
    uint16_t flags;                  /* GNTMAP_host_map [| readonly]; 0 while free */
    domid_t domid;                   /* granting domain; DOMID_INVALID once it is gone */
    mfn_t mfn;                       /* the frame mapped ... */
    gfn_t gfn;                       /* ... and where */
};

#define HANDLE_NONE 0xffffffffu

/*
 * (l) guarded by lock; (d) by the owning domain's d->lock; (c) set once.
 */
struct grant_table {
    spinlock_t lock;
    unsigned int nr_frames;                        /* (l) >= 1, only grows */
    grant_entry_v1_t *shared[GNTTAB_MAX_FRAMES];   /* (l) hypervisor pages the guest maps */
    struct gnttab_active *active[GNTTAB_MAX_FRAMES]; /* (l) GNTTAB_PER_FRAME each */
    gfn_t gfn[GNTTAB_MAX_FRAMES];                  /* (d) where frame i is mapped, ~0 */
    struct gnttab_map *maps[GNTTAB_MAX_MAP_CHUNKS];/* (l) GNTTAB_MAPS_PER_CHUNK each */
    uint32_t nr_handles;                           /* (l) handles in maps[] */
    uint32_t free_handle;                          /* (l) first free, HANDLE_NONE */
    uint32_t nr_mapped;                            /* (l) handles in use */
};

#ifndef HOST_TEST
/* Frames through the direct map (layout.h); unit tests bring their own. */
void *gnttab_frame_va(mfn_t mfn) { return __va((paddr_t)mfn << PAGE_SHIFT); }
mfn_t gnttab_va_mfn(const void *va) { return __pa(va) >> PAGE_SHIFT; }
#endif

static void key_grants(char key);

/* Adds frames up to nr (lock held). Stops at the first that cannot be had. */
static int grow(struct grant_table *gt, unsigned int nr)
{
    while (gt->nr_frames < nr) {
        unsigned int i = gt->nr_frames;
        void *pg = alloc_pages(0);
        struct gnttab_active *act = xzalloc(GNTTAB_PER_FRAME * sizeof(*act));

        if (!pg || !act) {
            if (pg)
                free_pages(pg, 0);
            xfree(act);
            return -ENOMEM;
        }
        memset(pg, 0, PAGE_SIZE);
        gt->shared[i] = pg;
        gt->active[i] = act;
        gt->nr_frames = i + 1;
    }
    return 0;
}

/* The domain's table, created with one frame on first use (NULL: no memory). */
static struct grant_table *table_of(struct domain *d)
{
    struct grant_table *gt = __atomic_load_n(&d->grant_table, __ATOMIC_ACQUIRE), *none = NULL;

    if (gt)
        return gt;
    gt = xzalloc(sizeof(*gt));
    if (!gt)
        return NULL;
    gt->lock = (spinlock_t)SPINLOCK_INIT;
    gt->free_handle = HANDLE_NONE;
    for (unsigned int i = 0; i < GNTTAB_MAX_FRAMES; i++)
        gt->gfn[i] = ~0ull;
    if (grow(gt, 1)) {
        xfree(gt);
        return NULL;
    }
    if (!__atomic_compare_exchange_n(&d->grant_table, &none, gt, false, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE)) {
        free_pages(gt->shared[0], 0);          /* another CPU was first */
        xfree(gt->active[0]);
        xfree(gt);
        return none;
    }
    register_keyhandler('g', key_grants, "print the grant tables of every domain");
    return gt;
}

/* Entry and active entry of a ref already checked against the table size. */
static grant_entry_v1_t *shared_entry(struct grant_table *gt, uint32_t ref)
{
    return &gt->shared[ref / GNTTAB_PER_FRAME][ref % GNTTAB_PER_FRAME];
}
static struct gnttab_active *active_entry(struct grant_table *gt, uint32_t ref)
{
    return &gt->active[ref / GNTTAB_PER_FRAME][ref % GNTTAB_PER_FRAME];
}
static struct gnttab_map *map_entry(struct grant_table *gt, uint32_t handle)
{
    return &gt->maps[handle / GNTTAB_MAPS_PER_CHUNK][handle % GNTTAB_MAPS_PER_CHUNK];
}

/* ---- pinning a grant (map and copy) ---------------------------------------------------- */

/* Xen's _set_status_v1: the entry must permit access to ld (and writing,
   unless ro) while unpinned; GTF_reading (and GTF_writing) are set on it. */
static int16_t entry_set_busy(grant_entry_v1_t *e, domid_t ld, bool ro, bool map, bool pinned)
{
    uint32_t *word = (uint32_t *)e;          /* flags | domid << 16 */
    uint16_t mask = GTF_type_mask | (map ? GTF_sub_page : 0);
    uint32_t old = __atomic_load_n(word, __ATOMIC_ACQUIRE);

    for (unsigned int tries = 0;; tries++) {
        uint16_t flags = (uint16_t)old;
        uint32_t new = old | GTF_reading | (ro ? 0 : GTF_writing);

        if (!pinned && ((flags & mask) != GTF_permit_access || (domid_t)(old >> 16) != ld))
            return GNTST_general_error;
        if (!ro && (flags & GTF_readonly))
            return GNTST_general_error;
        if (__atomic_compare_exchange_n(word, &old, new, false, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE))
            return GNTST_okay;
        if (tries == 4)                      /* the guest keeps changing it */
            return GNTST_general_error;
    }
}

/* What no pin needs any more: GTF_writing without writers, GTF_reading without pins. */
static void entry_clear_busy(grant_entry_v1_t *e, const struct gnttab_active *act, bool ro)
{
    uint16_t clear = 0;

    if (!ro && !(act->pin & PIN_W_MASK))
        clear |= GTF_writing;
    if (!act->pin)
        clear |= GTF_reading;
    if (clear)
        __atomic_fetch_and(&e->flags, (uint16_t)~clear, __ATOMIC_ACQ_REL);
}

/* Xen's get_paged_frame: a RAM frame of rd (writable unless ro), referenced. */
static int16_t get_frame(struct domain *rd, uint64_t gfn, bool ro, mfn_t *mfn)
{
    mfn_t m;
    enum p2m_type t = p2m_lookup(&rd->p2m, gfn, &m);

    if (t != p2m_ram_rw && !(ro && t == p2m_ram_ro))
        return GNTST_bad_page;
    if (!domain_get_frame(rd, m))
        return GNTST_bad_page;
    *mfn = m;
    return GNTST_okay;
}

/*
 * Pins grant `ref` of rd for domain ld (Xen's map_grant_ref up to the pin,
 * and acquire_grant_for_copy): *mfn gets the frame, with a general
 * reference that the caller drops after unpin_grant().
 */
static int16_t pin_grant(struct domain *rd, uint32_t ref, domid_t ld, bool ro, bool map,
                         mfn_t *mfn)
{
    struct grant_table *gt = table_of(rd);
    struct gnttab_active *act;
    grant_entry_v1_t *e;
    int16_t rc = GNTST_okay;

    if (!gt)
        return GNTST_general_error;
    spin_lock(&gt->lock);
    if (ref >= gnttab_nr_entries(gt->nr_frames)) {
        rc = GNTST_bad_gntref;
        goto out;
    }
    block_speculation();
    act = active_entry(gt, ref);
    e = shared_entry(gt, ref);
    if (act->pin && (act->domid != ld || (act->pin & PIN_NEAR_TOP))) {
        rc = GNTST_general_error;
        goto out;
    }
    if (!act->pin || (!ro && !(act->pin & PIN_W_MASK)))
        if ((rc = entry_set_busy(e, ld, ro, map, act->pin != 0)))
            goto out;
    if (!act->pin) {
        uint32_t gfn = __atomic_load_n(&e->frame, __ATOMIC_ACQUIRE);
        if ((rc = get_frame(rd, gfn, ro, &act->mfn))) {
            entry_clear_busy(e, act, ro);
            goto out;
        }
        act->domid = ld;
    } else if (!domain_get_frame(rd, act->mfn)) {
        rc = GNTST_general_error;              /* Xen: could not pin the frame */
        entry_clear_busy(e, act, ro);
        goto out;
    }
    act->pin += ro ? PIN_R : PIN_W;
    *mfn = act->mfn;
out:
    spin_unlock(&gt->lock);
    return rc;
}

static void unpin_grant(struct domain *rd, uint32_t ref, bool ro)
{
    struct grant_table *gt = rd->grant_table;
    struct gnttab_active *act;

    if (!gt)
        return;
    spin_lock(&gt->lock);
    if (ref < gnttab_nr_entries(gt->nr_frames)) {
        block_speculation();
        act = active_entry(gt, ref);
        act->pin -= ro ? PIN_R : PIN_W;
        entry_clear_busy(shared_entry(gt, ref), act, ro);
    }
    spin_unlock(&gt->lock);
}

/* ---- handles ------------------------------------------------------------------------------ */

static uint32_t handle_get(struct grant_table *gt)
{
    uint32_t h;

    spin_lock(&gt->lock);
    if (gt->free_handle == HANDLE_NONE && gt->nr_handles < GNTTAB_MAX_MAP_CHUNKS * GNTTAB_MAPS_PER_CHUNK) {
        unsigned int c = gt->nr_handles / GNTTAB_MAPS_PER_CHUNK;
        struct gnttab_map *chunk = xzalloc(GNTTAB_MAPS_PER_CHUNK * sizeof(*chunk));

        if (chunk) {
            for (unsigned int i = 0; i < GNTTAB_MAPS_PER_CHUNK; i++)
                chunk[i].ref = i + 1 < GNTTAB_MAPS_PER_CHUNK ? gt->nr_handles + i + 1 : HANDLE_NONE;
            gt->maps[c] = chunk;
            gt->free_handle = gt->nr_handles;
            gt->nr_handles += GNTTAB_MAPS_PER_CHUNK;
        }
    }
    h = gt->free_handle;
    if (h != HANDLE_NONE) {
        gt->free_handle = map_entry(gt, h)->ref;
        *map_entry(gt, h) = (struct gnttab_map){ .flags = 0 };
    }
    spin_unlock(&gt->lock);
    return h;
}

/* Lock held. */
static void handle_put_locked(struct grant_table *gt, uint32_t h)
{
    struct gnttab_map *m = map_entry(gt, h);

    if (m->flags)
        gt->nr_mapped--;
    *m = (struct gnttab_map){ .ref = gt->free_handle, .flags = 0 };
    gt->free_handle = h;
}

static void handle_put(struct grant_table *gt, uint32_t h)
{
    spin_lock(&gt->lock);
    handle_put_locked(gt, h);
    spin_unlock(&gt->lock);
}

/* ---- map and unmap ------------------------------------------------------------------------ */

/* Xen's create_grant_p2m_mapping, with ld->lock held. Unlike Xen, which
   crashes a domain that maps over a grant mapping, the op just fails. */
static int16_t host_map(struct domain *ld, uint64_t addr, uint32_t flags, mfn_t mfn)
{
    gfn_t gfn = addr >> PAGE_SHIFT;
    mfn_t old;
    enum p2m_type t;

    if ((flags & ~GNTMAP_readonly) != GNTMAP_host_map)
        return GNTST_general_error;
    t = p2m_lookup(&ld->p2m, gfn, &old);
    if (t == p2m_grant_map_rw || t == p2m_grant_map_ro)
        return GNTST_general_error;
    if (physmap_release_gfn(ld, gfn, mfn))
        return GNTST_general_error;
    t = flags & GNTMAP_readonly ? p2m_grant_map_ro : p2m_grant_map_rw;
    if (p2m_set_entry(&ld->p2m, gfn, mfn, 0, t))
        return GNTST_general_error;
    physmap_changed(ld);
    return GNTST_okay;
}

/* Xen's replace_grant_p2m_mapping (no replacement), with ld->lock held.
   Stricter than Xen, the address must be the handle's own: another
   mapping of the same frame cannot be taken down with it. */
static int16_t host_unmap(struct domain *ld, uint64_t addr, const struct gnttab_map *m)
{
    gfn_t gfn = addr >> PAGE_SHIFT;
    mfn_t old;
    enum p2m_type t = p2m_lookup(&ld->p2m, gfn, &old);

    if ((t != p2m_grant_map_rw && t != p2m_grant_map_ro) || old != m->mfn || gfn != m->gfn)
        return GNTST_general_error;
    if (p2m_remove(&ld->p2m, gfn, 0))
        return GNTST_general_error;
    physmap_changed(ld);
    return GNTST_okay;
}

static void map_one(struct vcpu *v, struct gnttab_map_grant_ref *op)
{
    struct domain *ld = v->domain, *rd;
    struct grant_table *lgt = table_of(ld);
    bool ro = op->flags & GNTMAP_readonly;
    uint32_t h;
    mfn_t mfn;

    if (!(op->flags & (GNTMAP_device_map | GNTMAP_host_map))) {
        op->status = GNTST_bad_gntref;
        return;
    }
    /* A translated domain has no device (IOMMU) or PTE-based mappings. */
    if (op->flags & (GNTMAP_device_map | GNTMAP_application_map | GNTMAP_contains_pte)) {
        op->status = GNTST_general_error;
        return;
    }
    /* By id only: DOMID_SELF names no domain here (Xen's rcu_lock_domain_by_id). */
    if (!(rd = domain_by_id(op->dom)) || rd->is_shutting_down) {
        op->status = GNTST_bad_domain;
        return;
    }
    if (!lgt || (h = handle_get(lgt)) == HANDLE_NONE) {
        op->status = GNTST_no_device_space;
        return;
    }
    op->status = pin_grant(rd, op->ref, ld->domain_id, ro, true, &mfn);
    if (op->status) {
        handle_put(lgt, h);
        return;
    }
    spin_lock(&ld->lock);
    op->status = host_map(ld, op->host_addr, op->flags, mfn);
    if (!op->status) {
        spin_lock(&lgt->lock);
        *map_entry(lgt, h) = (struct gnttab_map){
            .ref = op->ref, .flags = (uint16_t)op->flags, .domid = rd->domain_id, .mfn = mfn,
            .gfn = op->host_addr >> PAGE_SHIFT,
        };
        lgt->nr_mapped++;
        spin_unlock(&lgt->lock);
    }
    spin_unlock(&ld->lock);
    if (op->status) {
        unpin_grant(rd, op->ref, ro);
        domain_put_frame(mfn);
        handle_put(lgt, h);
        return;
    }
    op->handle = h;
    op->dev_bus_addr = (uint64_t)mfn << PAGE_SHIFT;    /* as Xen reports it */
}

static void unmap_one(struct vcpu *v, struct gnttab_unmap_grant_ref *op)
{
    struct domain *ld = v->domain, *rd;
    struct grant_table *lgt = ld->grant_table;
    struct gnttab_map m;

    spin_lock(&ld->lock);                  /* one unmap of a handle at a time */
    if (!lgt || op->handle >= __atomic_load_n(&lgt->nr_handles, __ATOMIC_ACQUIRE)) {
        op->status = GNTST_bad_handle;
        goto out;
    }
    block_speculation();
    spin_lock(&lgt->lock);
    m = *map_entry(lgt, op->handle);
    spin_unlock(&lgt->lock);
    if (!m.flags) {
        op->status = GNTST_bad_handle;
        goto out;
    }
    if (op->dev_bus_addr && op->dev_bus_addr != (uint64_t)m.mfn << PAGE_SHIFT) {
        op->status = GNTST_general_error;
        goto out;
    }
    /* Without host_addr there is nothing to undo: Xen leaves the mapping. */
    op->status = GNTST_okay;
    if (!op->host_addr)
        goto out;
    if ((op->status = host_unmap(ld, op->host_addr, &m)))
        goto out;
    handle_put(lgt, op->handle);
    spin_unlock(&ld->lock);
    rd = m.domid == DOMID_INVALID ? NULL : domain_by_id(m.domid);
    if (rd)
        unpin_grant(rd, m.ref, m.flags & GNTMAP_readonly);
    domain_put_frame(m.mfn);
    return;
out:
    spin_unlock(&ld->lock);
}

/* ---- copy ----------------------------------------------------------------------------------- */

struct copy_side {
    struct domain *d;
    mfn_t mfn;
    bool have_frame, pinned;
};

/* Xen's gnttab_copy_lock_domain. */
static int16_t copy_domain(struct vcpu *v, domid_t domid, bool gref, struct copy_side *s)
{
    if (domid != DOMID_SELF && !gref)
        return GNTST_permission_denied;      /* only DOMID_SELF may name a frame */
    s->d = domid == DOMID_SELF ? v->domain : domain_by_id(domid);
    return s->d && !s->d->is_shutting_down ? GNTST_okay : GNTST_bad_domain;
}

/* Xen's gnttab_copy_claim_buf: the source read-only, the destination writable. */
static int16_t copy_claim(struct vcpu *v, const struct gnttab_copy_ptr *p, bool gref, bool ro,
                          struct copy_side *s)
{
    int16_t rc;

    if (gref) {
        rc = pin_grant(s->d, p->u.ref, v->domain->domain_id, ro, false, &s->mfn);
        s->pinned = rc == GNTST_okay;
    } else {
        rc = get_frame(s->d, p->u.gmfn, ro, &s->mfn);
    }
    s->have_frame = rc == GNTST_okay;
    return rc;
}

static void copy_release(const struct gnttab_copy_ptr *p, bool ro, struct copy_side *s)
{
    if (s->pinned)
        unpin_grant(s->d, p->u.ref, ro);
    if (s->have_frame)
        domain_put_frame(s->mfn);
}

static int16_t copy_one(struct vcpu *v, const struct gnttab_copy *op)
{
    struct copy_side src = { 0 }, dst = { 0 };
    bool sg = op->flags & GNTCOPY_source_gref, dg = op->flags & GNTCOPY_dest_gref;
    int16_t rc;

    if ((rc = copy_domain(v, op->source.domid, sg, &src)) ||
        (rc = copy_domain(v, op->dest.domid, dg, &dst)))
        return rc;
    if (!(rc = copy_claim(v, &op->source, sg, true, &src)) &&
        !(rc = copy_claim(v, &op->dest, dg, false, &dst))) {
        if (!gnttab_copy_in_page(op->source.offset, op->len) ||
            !gnttab_copy_in_page(op->dest.offset, op->len))
            rc = GNTST_bad_copy_arg;
        else
            memmove((uint8_t *)gnttab_frame_va(dst.mfn) + op->dest.offset,
                    (const uint8_t *)gnttab_frame_va(src.mfn) + op->source.offset, op->len);
    }
    copy_release(&op->dest, false, &dst);
    copy_release(&op->source, true, &src);
    return rc;
}

/* ---- the batched ops -------------------------------------------------------------------------- */

/* Continues a batch after `done` entries of `size` bytes. */
static long batch_continue(struct hcall *h, uint32_t done, size_t size)
{
    h->arg[1] += (uint64_t)done * size;
    if (h->compat)
        h->arg[1] = (uint32_t)h->arg[1];
    h->arg[2] = (uint32_t)h->arg[2] - done;
    hcall_continue(h);
    return 0;
}

static long map_batch(struct vcpu *v, struct hcall *h, uint32_t count)
{
    struct gnttab_map_grant_ref op;

    for (uint32_t i = 0; i < count; i++) {
        uint64_t at = h->arg[1] + (uint64_t)i * sizeof(op);
        if (i == GNTTAB_OPS_PER_EXIT)
            return batch_continue(h, i, sizeof(op));
        if (copy_from_guest(v, &op, at, sizeof(op)))
            return -EFAULT;
        map_one(v, &op);
        if (copy_to_guest(v, at, &op, sizeof(op)))
            return -EFAULT;
    }
    return 0;
}

static long unmap_batch(struct vcpu *v, struct hcall *h, uint32_t count)
{
    struct gnttab_unmap_grant_ref op;

    for (uint32_t i = 0; i < count; i++) {
        uint64_t at = h->arg[1] + (uint64_t)i * sizeof(op);
        if (i == GNTTAB_OPS_PER_EXIT)
            return batch_continue(h, i, sizeof(op));
        if (copy_from_guest(v, &op, at, sizeof(op)))
            return -EFAULT;
        unmap_one(v, &op);
        if (copy_to_guest(v, at + offsetof(struct gnttab_unmap_grant_ref, status), &op.status,
                          sizeof(op.status)))
            return -EFAULT;
    }
    return 0;
}

static int read_copy_op(struct vcpu *v, struct hcall *h, uint64_t at, struct gnttab_copy *op)
{
    struct compat_gnttab_copy c;

    if (!h->compat)
        return copy_from_guest(v, op, at, sizeof(*op));
    if (copy_from_guest(v, &c, at, sizeof(c)))
        return -EFAULT;
    memset(op, 0, sizeof(*op));
    op->source.u.gmfn = c.source.u;          /* the ref, or a 32-bit gmfn */
    op->source.domid = c.source.domid;
    op->source.offset = c.source.offset;
    op->dest.u.gmfn = c.dest.u;
    op->dest.domid = c.dest.domid;
    op->dest.offset = c.dest.offset;
    op->len = c.len;
    op->flags = c.flags;
    return 0;
}

static long copy_batch(struct vcpu *v, struct hcall *h, uint32_t count)
{
    size_t size = h->compat ? sizeof(struct compat_gnttab_copy) : sizeof(struct gnttab_copy);
    size_t status_at = h->compat ? offsetof(struct compat_gnttab_copy, status)
                                 : offsetof(struct gnttab_copy, status);
    struct gnttab_copy op;

    for (uint32_t i = 0; i < count; i++) {
        uint64_t at = h->arg[1] + (uint64_t)i * size;
        if (i == GNTTAB_OPS_PER_EXIT)
            return batch_continue(h, i, size);
        if (read_copy_op(v, h, at, &op))
            return -EFAULT;
        op.status = copy_one(v, &op);
        if (copy_to_guest(v, at + status_at, &op.status, sizeof(op.status)))
            return -EFAULT;
    }
    return 0;
}

/* ---- single ops ------------------------------------------------------------------------------- */

/* Xen's rcu_lock_domain_by_any_id and the XSM_TARGET check: a domain may
   name itself; the initial domain may name any. */
static int16_t target_domain(struct vcpu *v, domid_t domid, struct domain **out)
{
    struct domain *d = domid == DOMID_SELF ? v->domain : domain_by_id(domid);

    if (!d)
        return GNTST_bad_domain;
    if (d != v->domain && !v->domain->is_initial)
        return GNTST_permission_denied;
    *out = d;
    return GNTST_okay;
}

static long query_size(struct vcpu *v, uint64_t arg, uint32_t count)
{
    struct gnttab_query_size op;
    struct grant_table *gt;
    struct domain *d;

    if (count != 1)
        return -EINVAL;
    if (copy_from_guest(v, &op, arg, sizeof(op)))
        return -EFAULT;
    op.status = target_domain(v, op.dom, &d);
    if (!op.status && !(gt = table_of(d)))
        op.status = GNTST_general_error;
    if (!op.status) {
        op.nr_frames = __atomic_load_n(&gt->nr_frames, __ATOMIC_ACQUIRE);
        op.max_nr_frames = GNTTAB_MAX_FRAMES;
    }
    return copy_to_guest(v, arg, &op, sizeof(op)) ? -EFAULT : 0;
}

struct setup_args {
    domid_t dom;
    uint32_t nr_frames;
    uint64_t frame_list;
    size_t status_at;
};

/* Grows d's table to nr frames (Xen: at most max_grant_frames). */
static int16_t setup_frames(struct domain *d, uint32_t nr)
{
    struct grant_table *gt = table_of(d);
    int rc;

    if (!gt || nr > GNTTAB_MAX_FRAMES)
        return GNTST_general_error;
    spin_lock(&gt->lock);
    rc = grow(gt, nr);
    spin_unlock(&gt->lock);
    return rc ? GNTST_general_error : GNTST_okay;
}

static long setup_table(struct vcpu *v, struct hcall *h, uint32_t count)
{
    struct setup_args a;
    struct domain *d = NULL;
    int16_t status;

    if (count != 1)
        return -EINVAL;
    if (h->compat) {
        struct compat_gnttab_setup_table c;
        if (copy_from_guest(v, &c, h->arg[1], sizeof(c)))
            return -EFAULT;
        a = (struct setup_args){ c.dom, c.nr_frames, c.frame_list,
                                 offsetof(struct compat_gnttab_setup_table, status) };
    } else {
        struct gnttab_setup_table n;
        if (copy_from_guest(v, &n, h->arg[1], sizeof(n)))
            return -EFAULT;
        a = (struct setup_args){ n.dom, n.nr_frames, (uint64_t)(uintptr_t)n.frame_list.p,
                                 offsetof(struct gnttab_setup_table, status) };
    }
    status = target_domain(v, a.dom, &d);
    if (!status)
        status = setup_frames(d, a.nr_frames);
    /* Each frame's GFN, INVALID_GFN where it is not mapped; a list entry
       that cannot be written makes the status bad_virt_addr (Xen). */
    for (uint32_t i = 0; i < a.nr_frames && (!status || status == GNTST_bad_virt_addr); i++) {
        gfn_t gfn;
        spin_lock(&d->lock);                 /* gt->gfn[] is (d) */
        gfn = d->grant_table->gfn[i];
        spin_unlock(&d->lock);
        if (h->compat ? copy_to_guest(v, a.frame_list + i * 4ull, &(uint32_t){ (uint32_t)gfn }, 4)
                      : copy_to_guest(v, a.frame_list + i * 8ull, &gfn, 8))
            status = GNTST_bad_virt_addr;
    }
    return copy_to_guest(v, h->arg[1] + a.status_at, &status, sizeof(status)) ? -EFAULT : 0;
}

static long set_version(struct vcpu *v, uint64_t arg)
{
    gnttab_set_version_t op;
    long rc;

    if (copy_from_guest(v, &op, arg, sizeof(op)))
        return -EFAULT;
    if (op.version != 1 && op.version != 2)
        rc = -EINVAL;
    else
        rc = op.version == 2 ? -ENOSYS : 0;   /* version 2 is not offered */
    op.version = 1;
    return copy_to_guest(v, arg, &op, sizeof(op)) ? -EFAULT : rc;
}

static long get_version(struct vcpu *v, uint64_t arg)
{
    gnttab_get_version_t op;
    struct domain *d;

    if (copy_from_guest(v, &op, arg, sizeof(op)))
        return -EFAULT;
    switch (target_domain(v, op.dom, &d)) {
    case GNTST_bad_domain:        return -ESRCH;
    case GNTST_permission_denied: return -EPERM;
    }
    op.version = 1;
    return copy_to_guest(v, arg + offsetof(gnttab_get_version_t, version), &op.version,
                         sizeof(op.version)) ? -EFAULT : 0;
}

/* Xen's swap_grant_ref, in the caller's own table. */
static int16_t swap_one(struct domain *d, uint32_t a, uint32_t b)
{
    struct grant_table *gt = table_of(d);
    int16_t rc = GNTST_okay;

    if (!gt)
        return GNTST_general_error;
    spin_lock(&gt->lock);
    if (a >= gnttab_nr_entries(gt->nr_frames) || b >= gnttab_nr_entries(gt->nr_frames)) {
        rc = GNTST_bad_gntref;
    } else if (a != b) {
        block_speculation();
        if (active_entry(gt, a)->pin || active_entry(gt, b)->pin) {
            rc = GNTST_eagain;
        } else {
            grant_entry_v1_t t = *shared_entry(gt, a);
            *shared_entry(gt, a) = *shared_entry(gt, b);
            *shared_entry(gt, b) = t;
        }
    }
    spin_unlock(&gt->lock);
    return rc;
}

static long swap_batch(struct vcpu *v, struct hcall *h, uint32_t count)
{
    gnttab_swap_grant_ref_t op;

    for (uint32_t i = 0; i < count; i++) {
        uint64_t at = h->arg[1] + (uint64_t)i * sizeof(op);
        if (i == GNTTAB_OPS_PER_EXIT)
            return batch_continue(h, i, sizeof(op));
        if (copy_from_guest(v, &op, at, sizeof(op)))
            return -EFAULT;
        op.status = swap_one(v->domain, op.ref_a, op.ref_b);
        if (copy_to_guest(v, at + offsetof(gnttab_swap_grant_ref_t, status), &op.status,
                          sizeof(op.status)))
            return -EFAULT;
    }
    return 0;
}

long do_grant_table_op(struct vcpu *v, struct hcall *h)
{
    uint32_t cmd = (uint32_t)h->arg[0], count = (uint32_t)h->arg[2];

    /* hvm_grant_table_op: the whole cmd must be one of these. */
    switch (cmd) {
    case GNTTABOP_query_size: case GNTTABOP_setup_table: case GNTTABOP_set_version:
    case GNTTABOP_get_version: case GNTTABOP_copy: case GNTTABOP_map_grant_ref:
    case GNTTABOP_unmap_grant_ref: case GNTTABOP_swap_grant_ref:
        break;
    default:
        return -ENOSYS;
    }
    if ((int32_t)count < 0)
        return -EINVAL;
    switch (cmd) {
    case GNTTABOP_map_grant_ref:   return map_batch(v, h, count);
    case GNTTABOP_unmap_grant_ref: return unmap_batch(v, h, count);
    case GNTTABOP_copy:            return copy_batch(v, h, count);
    case GNTTABOP_swap_grant_ref:  return swap_batch(v, h, count);
    case GNTTABOP_setup_table:     return setup_table(v, h, count);
    case GNTTABOP_query_size:      return query_size(v, h->arg[1], count);
    case GNTTABOP_set_version:     return set_version(v, h->arg[1]);
    default:                       return get_version(v, h->arg[1]);
    }
}

/* ---- frames for memory_op ------------------------------------------------------------------- */

int gnttab_frame_mfn(struct domain *d, uint64_t idx, mfn_t *mfn, gfn_t **where)
{
    struct grant_table *gt;
    int rc = 0;

    /* Status frames exist only for version 2 (Xen: -EINVAL under v1). */
    if ((idx & XENMAPIDX_grant_table_status) || idx >= GNTTAB_MAX_FRAMES)
        return -EINVAL;
    block_speculation();
    if (!(gt = table_of(d)))
        return -ENOMEM;
    spin_lock(&gt->lock);
    if (idx >= gt->nr_frames)
        rc = grow(gt, (unsigned int)idx + 1);
    if (!rc) {
        *mfn = gnttab_va_mfn(gt->shared[idx]);
        *where = &gt->gfn[idx];
    }
    spin_unlock(&gt->lock);
    return rc ? -EINVAL : 0;                 /* Xen: -EINVAL when it cannot grow */
}

void gnttab_forget_gfn(struct domain *d, gfn_t gfn)
{
    struct grant_table *gt = d->grant_table;

    for (unsigned int i = 0; gt && i < GNTTAB_MAX_FRAMES; i++)
        if (gt->gfn[i] == gfn)
            gt->gfn[i] = ~0ull;
}

/* ---- teardown --------------------------------------------------------------------------------- */

/* Mappings other domains hold of d's grants outlive d's table: they keep
   their frame reference (domain.c leaks such frames rather than free them)
   and no longer name d, whose id may be reused. */
static void orphan_foreign_maps(struct domain *d)
{
    for (unsigned int i = 0; i < MAX_DOMAINS; i++) {
        struct domain *o = domain_table[i];
        struct grant_table *gt = o && o != d ? o->grant_table : NULL;

        if (!gt)
            continue;
        spin_lock(&gt->lock);
        for (uint32_t h = 0; h < gt->nr_handles; h++) {
            struct gnttab_map *m = map_entry(gt, h);
            if (m->flags && m->domid == d->domain_id)
                m->domid = DOMID_INVALID;
        }
        spin_unlock(&gt->lock);
    }
}

/* Drops d's own mappings: the pins on the granting tables and the frame
   references (the p2m entries go with d's p2m). */
static void release_own_maps(struct domain *d, struct grant_table *gt)
{
    for (uint32_t h = 0; h < gt->nr_handles; h++) {
        struct gnttab_map m = *map_entry(gt, h);
        struct domain *rd;

        if (!m.flags)
            continue;
        map_entry(gt, h)->flags = 0;
        rd = m.domid == DOMID_INVALID ? NULL : domain_by_id(m.domid);
        if (rd)
            unpin_grant(rd, m.ref, m.flags & GNTMAP_readonly);
        domain_put_frame(m.mfn);
    }
}

void gnttab_domain_destroy(struct domain *d)
{
    struct grant_table *gt = d->grant_table;

    if (!gt)
        return;
    release_own_maps(d, gt);                 /* self-mappings unpin through d's table */
    d->grant_table = NULL;
    orphan_foreign_maps(d);
    for (unsigned int i = 0; i < gt->nr_frames; i++) {
        free_pages(gt->shared[i], 0);
        xfree(gt->active[i]);
    }
    for (unsigned int c = 0; c < GNTTAB_MAX_MAP_CHUNKS; c++)
        xfree(gt->maps[c]);
    xfree(gt);
}

/* ---- debug key 'g' --------------------------------------------------------------------------- */

static void print_table(struct domain *d, struct grant_table *gt)
{
    unsigned int pinned = 0;

    spin_lock(&gt->lock);
    printk("d%u grant table v1: %u of %u frames, %u mappings held\n", d->domain_id,
           gt->nr_frames, GNTTAB_MAX_FRAMES, gt->nr_mapped);
    for (uint32_t ref = 0; ref < gnttab_nr_entries(gt->nr_frames); ref++) {
        const struct gnttab_active *a = active_entry(gt, ref);
        if (!a->pin)
            continue;
        if (++pinned <= 10)
            printk("  [%#x] pinned for d%u: mfn %#lx pin %#x flags %#x\n", ref, a->domid,
                   a->mfn, a->pin, shared_entry(gt, ref)->flags);
    }
    if (pinned > 10)
        printk("  ... %u pinned grants in all\n", pinned);
    spin_unlock(&gt->lock);
}

static void key_grants(char key)
{
    for (unsigned int i = 0; i < MAX_DOMAINS; i++)
        if (domain_table[i] && domain_table[i]->grant_table)
            print_table(domain_table[i], domain_table[i]->grant_table);
}
