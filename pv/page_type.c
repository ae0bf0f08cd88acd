/*
 * General references and page types of PV guests' frames, as Xen 4.17's
 * get_page / put_page / _get_page_type / _put_page_type (xen/arch/x86/mm.c)
 * and its linear page-table counters. The rules are in pv_mm.h.
 *
 * count_info and type_info are changed only with compare-and-swap loops, so
 * references may be taken and dropped outside the domain's pv_mm lock. What
 * the lock adds is that validation and devalidation of the domain's tables
 * never run concurrently, which is why a table type seen with a non-zero
 * count but not PGT_validated is refused (-EBUSY) instead of waited for.
 */
#include <proxenos/pv_mm.h>
#include <proxenos/pagetable.h>

int16_t *pv_linear_pt_count;

/* Misuse that a correct caller never causes (a reference dropped twice);
   counted instead of crashing the host, and checked by the tests. */
uint64_t pv_mm_bugs;

static bool cas64(uint64_t *p, uint64_t *old, uint64_t new)
{
    return __atomic_compare_exchange_n(p, old, new, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

static uint64_t load64(const uint64_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }

/* ---- general references ------------------------------------------------------ */

bool pv_get_page(struct page_info *pg, const struct domain *d)
{
    uint64_t x = load64(&pg->count_info);

    do {
        uint64_t c = x & PGC_count_mask;

        /* 0: not allocated to anyone. The top value is never reached, so
           a count can never wrap into the state bits above it. */
        if (c == 0 || c >= PGC_count_mask - 1)
            return false;
    } while (!cas64(&pg->count_info, &x, x + 1));

    /* The owner cannot change while we hold a reference. */
    if (__atomic_load_n(&pg->owner, __ATOMIC_ACQUIRE) != d) {
        pv_put_page(pg);
        return false;
    }
    return true;
}

void pv_put_page(struct page_info *pg)
{
    uint64_t x = load64(&pg->count_info), nx;

    do {
        if (!(x & PGC_count_mask)) {
            pv_mm_bugs++;
            return;
        }
        nx = x - 1;
    } while (!cas64(&pg->count_info, &x, nx));
    if (!(nx & PGC_count_mask))
        pv_frame_released(pg);
}

/* ---- types ---------------------------------------------------------------------- */

static int validate(struct pv_mm *mm, struct page_info *pg, uint64_t type)
{
    unsigned int level = pv_type_level(type);

    if (level)
        return pv_validate_table(mm, pg, level);
    if (type == PGT_seg_desc_page) {
        if (!mm->ops->check_segdesc_page)
            return pv_refuse(mm, -EINVAL, "descriptor pages are not supported");
        if (mm->ops->check_segdesc_page(mm, pv_map_frame(page_to_mfn(pg))))
            return pv_refuse(mm, -EINVAL, "bad descriptor in a GDT/LDT page");
        return 0;
    }
    return pv_refuse(mm, -EINVAL, "no such page type");
}

/* The new type_info for one more reference of `type`, or an error. Sets
   *change when the frame's previous type is given up. */
static int type_next(struct pv_mm *mm, uint64_t x, uint64_t type, uint64_t *nx, bool *change)
{
    uint64_t count = x & PGT_count_mask;

    *change = false;
    if (count == PGT_count_mask)
        return pv_refuse(mm, -EINVAL, "type count would overflow");
    if (count && (x & PGT_type_mask) != type)
        return pv_refuse(mm, -EINVAL, "frame is in use with another type");
    if (count && !(x & PGT_validated))
        return pv_refuse(mm, -EBUSY, "frame is being validated");
    if (count || (x & PGT_type_mask) == type) {
        *nx = x + 1;
        return 0;
    }
    /* A new type: validity and the pin go with the old one. Writable and
       untyped frames have nothing to check. */
    *change = (x & PGT_type_mask) != PGT_none;
    *nx = type | 1;
    if (type == PGT_writable_page || type == PGT_none)
        *nx |= PGT_validated;
    return 0;
}

int pv_get_page_type(struct pv_mm *mm, struct page_info *pg, uint64_t type)
{
    uint64_t x = load64(&pg->type_info), nx = 0;
    bool change;
    int rc;

    do {
        rc = type_next(mm, x, type, &nx, &change);
        if (rc)
            return rc;
    } while (!cas64(&pg->type_info, &x, nx));

    if (change) {
        /* Stale TLB entries must not outlive the old type: a writable one
           would let the guest write a page table being validated, a
           paging-structure one would walk a frame the guest now writes. */
        mm->stats.type_changes++;
        mm->ops->flush_stale(mm);
    }
    if (nx & PGT_validated)
        return 0;

    rc = validate(mm, pg, type);
    if (rc) {
        /* Nobody else can hold this type yet: count 1, not validated. The
           type stays, with no count: the frame was (maybe) live as it
           before, so the next type change must still flush (Xen resets to
           0 here, but flushes on every change, filtered by a timestamp we
           do not keep). */
        __atomic_store_n(&pg->type_info, type, __ATOMIC_RELEASE);
        return rc;
    }
    __atomic_fetch_or(&pg->type_info, PGT_validated, __ATOMIC_RELEASE);
    return 0;
}

void pv_put_page_type(struct pv_mm *mm, struct page_info *pg)
{
    uint64_t x = load64(&pg->type_info);

    for (;;) {
        uint64_t count = x & PGT_count_mask;
        unsigned int level = pv_type_level(x);

        if (!count) {
            pv_mm_bugs++;
            return;
        }
        if (count == 1 && level && (x & PGT_validated)) {
            /* The last reference of a live table: invalidate first, so no
               one takes a new reference while its entries are dropped. */
            if (!cas64(&pg->type_info, &x, x & ~PGT_validated))
                continue;
            pv_devalidate_table(mm, pg, level);
            __atomic_fetch_sub(&pg->type_info, 1, __ATOMIC_RELEASE);
            return;
        }
        if (cas64(&pg->type_info, &x, x - 1))
            return;
    }
}

int pv_get_page_and_type(struct pv_mm *mm, mfn_t mfn, uint64_t type)
{
    struct page_info *pg;
    int rc;

    if (!mfn_valid(mfn))
        return pv_refuse(mm, -EINVAL, "frame is not RAM");
    pg = mfn_to_page(mfn);
    if (!pv_get_page(pg, mm->d))
        return pv_refuse(mm, -EINVAL, "frame is not the domain's");
    rc = pv_get_page_type(mm, pg, type);
    if (rc)
        pv_put_page(pg);
    return rc;
}

void pv_put_page_and_type(struct pv_mm *mm, struct page_info *pg)
{
    pv_put_page_type(mm, pg);
    pv_put_page(pg);
}

/* ---- linear page tables ------------------------------------------------------- */

/* A table holding linear entries counts up, a table named by them counts
   down: a frame can be one or the other, never both, so linear references
   cannot chain (Xen's inc_linear_entries / inc_linear_uses). */
static bool linear_inc(mfn_t mfn, int delta)
{
    int16_t *p = &pv_linear_pt_count[mfn];
    int16_t o = __atomic_load_n(p, __ATOMIC_ACQUIRE), n;

    do {
        if ((delta > 0 && (o < 0 || o == INT16_MAX)) || (delta < 0 && (o > 0 || o == INT16_MIN)))
            return false;
        n = (int16_t)(o + delta);
    } while (!__atomic_compare_exchange_n(p, &o, n, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE));
    return true;
}

static void linear_undo(mfn_t mfn, int delta)
{
    __atomic_fetch_sub(&pv_linear_pt_count[mfn], (int16_t)delta, __ATOMIC_ACQ_REL);
}

/* One more type reference, only on an already validated table of `type`. */
static bool get_validated_type(struct page_info *pg, uint64_t type)
{
    uint64_t x = load64(&pg->type_info);

    do {
        if ((x & PGT_count_mask) == PGT_count_mask ||
            (x & (PGT_type_mask | PGT_validated)) != (type | PGT_validated))
            return false;
    } while (!cas64(&pg->type_info, &x, x + 1));
    return true;
}

int pv_get_linear(struct pv_mm *mm, uint64_t e, unsigned int level, mfn_t from)
{
    mfn_t to = pv_pte_mfn(e);
    struct page_info *pg;

    if (e & PTE_RW)
        return pv_refuse(mm, -EINVAL, "linear page-table entry with RW");
    if (to == from)
        return 0;              /* a table naming itself holds nothing */
    if (!pv_linear_pt_count || !mfn_valid(to))
        return pv_refuse(mm, -EINVAL, "linear entry to another table unsupported");
    pg = mfn_to_page(to);
    if (!pv_get_page(pg, mm->d))
        return pv_refuse(mm, -EINVAL, "linear entry to a frame not the domain's");
    if (!linear_inc(from, 1)) {
        pv_put_page(pg);
        return pv_refuse(mm, -EINVAL, "table is itself named by a linear entry");
    }
    if (!linear_inc(to, -1)) {
        linear_undo(from, 1);
        pv_put_page(pg);
        return pv_refuse(mm, -EINVAL, "linear target holds linear entries");
    }
    if (!get_validated_type(pg, pv_level_type(level))) {
        linear_undo(to, -1);
        linear_undo(from, 1);
        pv_put_page(pg);
        return pv_refuse(mm, -EINVAL, "linear target is not a validated table of that level");
    }
    return 0;
}

void pv_put_linear(struct pv_mm *mm, struct page_info *to, mfn_t from)
{
    if (pv_linear_pt_count) {
        linear_undo(page_to_mfn(to), -1);
        linear_undo(from, 1);
    }
    pv_put_page_and_type(mm, to);
}
