/*
 * The PV paging state of a domain: creation, the hypervisor frames it is
 * allowed to map, descriptor-table frames, giving frames back, and teardown
 * (Xen 4.17's share_xen_page_with_guest, vcpu_destroy_pagetables and
 * relinquish_memory).
 */
#include <proxenos/pv_mm.h>
#include <proxenos/lib.h>
#include <proxenos/pagetable.h>

/* Bits that are neither address nor refused (Xen's base_disallow_mask
   complement): P, RW, US, A, D, the software bits 9-11 and 52-62, and NX
   where the CPU has it. The address bits 12-51 are checked as a frame. */
#define ADDR_BITS     0x000ffffffffff000ULL
#define GUEST_BITS    (PTE_P | PTE_RW | PTE_US | PTE_A | PTE_D | PV_PTE_AVAIL | PV_PTE_AVAIL_HIGH)

int pv_mm_init(struct pv_mm *mm, struct domain *d, domid_t domid, unsigned int nr_vcpus,
               const struct pv_mm_ops *ops, unsigned int flags)
{
    uint64_t allowed = GUEST_BITS | ((flags & PV_MM_NX) ? PTE_NX : 0);

    if (!mm || !d || !ops || !ops->load_cr3 || !ops->flush_tlb || !ops->invlpg ||
        !ops->flush_stale || !nr_vcpus || nr_vcpus > PV_MM_MAX_VCPUS)
        return -EINVAL;
    memset(mm, 0, sizeof(*mm));
    mm->d = d;
    mm->domid = domid;
    mm->nr_vcpus = nr_vcpus;
    mm->ops = ops;
    mm->base_disallow = ~(ADDR_BITS | allowed);
    /* L1: G is accepted (and dropped, pv_adjust_entry); PAT/PCD/PWT need
       I/O privileges; bit 62 tags grant mappings. */
    mm->l1_disallow = (mm->base_disallow | PV_PTE_GNTTAB) & ~PTE_G;
    if (flags & PV_MM_IO)                  /* Xen's l1_disallow_mask with I/O caps */
        mm->l1_disallow &= ~(PTE_PCD | PTE_PWT | (1ULL << 7));  /* bit 7: PAT in an L1 */
    mm->lock = (spinlock_t)SPINLOCK_INIT;
    return 0;
}

int pv_share_xen_frame(struct pv_mm *mm, mfn_t mfn, bool writable)
{
    struct page_info *pg;
    int rc = 0;

    if (!mfn_valid(mfn) || !(mfn_to_page(mfn)->count_info & PGC_xen_heap))
        return -EINVAL;
    pg = mfn_to_page(mfn);
    spin_lock(&mm->lock);
    if (pg->owner || (pg->count_info & (PGC_count_mask | PGC_allocated)) ||
        (pg->type_info & PGT_count_mask)) {
        rc = -EBUSY;
    } else {
        /* The extra type reference is permanent: never a page table. */
        pg->type_info = (writable ? PGT_writable_page : PGT_none) | PGT_validated | 1;
        __atomic_store_n(&pg->owner, mm->d, __ATOMIC_RELEASE);
        __atomic_fetch_or(&pg->count_info, PGC_allocated | 1, __ATOMIC_ACQ_REL);
    }
    spin_unlock(&mm->lock);
    return rc;
}

/* Lock held. Only the allocation reference and the permanent type
   reference may be left. */
static int unshare(struct pv_mm *mm, struct page_info *pg)
{
    uint64_t x = __atomic_load_n(&pg->count_info, __ATOMIC_ACQUIRE);

    if (pg->owner != mm->d || !(x & PGC_xen_heap))
        return -EINVAL;
    if ((x & (PGC_count_mask | PGC_allocated)) != (PGC_allocated | 1) ||
        (pg->type_info & PGT_count_mask) != 1)
        return -EBUSY;
    if (!__atomic_compare_exchange_n(&pg->count_info, &x, x & ~(PGC_count_mask | PGC_allocated),
                                     false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
        return -EBUSY;
    pg->type_info = 0;
    __atomic_store_n(&pg->owner, NULL, __ATOMIC_RELEASE);
    return 0;
}

int pv_unshare_xen_frame(struct pv_mm *mm, mfn_t mfn)
{
    int rc;

    if (!mfn_valid(mfn))
        return -EINVAL;
    spin_lock(&mm->lock);
    rc = unshare(mm, mfn_to_page(mfn));
    spin_unlock(&mm->lock);
    return rc;
}

int pv_get_segdesc_page(struct pv_mm *mm, mfn_t mfn)
{
    int rc;

    spin_lock(&mm->lock);
    rc = mm->dying ? -EINVAL : pv_get_page_and_type(mm, mfn, PGT_seg_desc_page);
    spin_unlock(&mm->lock);
    return rc;
}

void pv_put_segdesc_page(struct pv_mm *mm, mfn_t mfn)
{
    if (!mfn_valid(mfn))
        return;
    spin_lock(&mm->lock);
    pv_put_page_and_type(mm, mfn_to_page(mfn));
    spin_unlock(&mm->lock);
}

/* Drops the allocation reference, once. Lock held. */
static int release(struct page_info *pg)
{
    uint64_t x = __atomic_load_n(&pg->count_info, __ATOMIC_ACQUIRE);

    do {
        if (!(x & PGC_allocated))
            return -EINVAL;
    } while (!__atomic_compare_exchange_n(&pg->count_info, &x, x & ~PGC_allocated, false,
                                          __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE));
    pv_put_page(pg);
    return 0;
}

int pv_mm_release_frame(struct pv_mm *mm, mfn_t mfn)
{
    struct page_info *pg;
    int rc = -EINVAL;

    if (!mfn_valid(mfn))
        return -EINVAL;
    pg = mfn_to_page(mfn);
    spin_lock(&mm->lock);
    if (pg->owner == mm->d && !(pg->count_info & PGC_xen_heap))
        rc = release(pg);
    spin_unlock(&mm->lock);
    return rc;
}

/* ---- teardown ----------------------------------------------------------------- */

/* What a teardown pass works with. */
struct teardown {
    unsigned int level;                /* force_devalidate: the level of this pass */
    uint64_t left;                     /* release_frame: frames still referenced */
};

/* Calls fn on every frame the domain owns. The frame table is the only
   complete list (frames can be referenced without being in any p2m). */
static void for_each_frame(struct pv_mm *mm, struct teardown *td,
                           void (*fn)(struct pv_mm *, struct page_info *, struct teardown *))
{
    for (mfn_t m = 0; m < max_mfn; m++)
        if (__atomic_load_n(&frame_table[m].owner, __ATOMIC_ACQUIRE) == mm->d)
            fn(mm, &frame_table[m], td);
}

static void unpin_frame(struct pv_mm *mm, struct page_info *pg, struct teardown *td)
{
    if (__atomic_fetch_and(&pg->type_info, ~PGT_pinned, __ATOMIC_ACQ_REL) & PGT_pinned)
        pv_put_page_and_type(mm, pg);
}

/* What is still validated once pins and base pointers are gone is held by
   references that no root reaches (a cycle, which the linear rules
   should make impossible): drop its entries' references by force, top
   level first, as Xen's relinquish_memory. The type count stays; whoever
   holds it puts it later without devalidating twice. */
static void force_devalidate(struct pv_mm *mm, struct page_info *pg, struct teardown *td)
{
    uint64_t x = __atomic_load_n(&pg->type_info, __ATOMIC_ACQUIRE);

    do {
        if (pv_type_level(x) != td->level || !(x & PGT_validated))
            return;
    } while (!__atomic_compare_exchange_n(&pg->type_info, &x, x & ~PGT_validated, false,
                                          __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE));
    mm->stats.forced++;
    pv_devalidate_table(mm, pg, td->level);
}

static void release_frame(struct pv_mm *mm, struct page_info *pg, struct teardown *td)
{
    if (pg->count_info & PGC_xen_heap)
        unshare(mm, pg);
    else
        release(pg);
    /* The last reference clears the owner (pv_frame_released). */
    if (__atomic_load_n(&pg->owner, __ATOMIC_ACQUIRE) == mm->d)
        td->left++;
}

uint64_t pv_mm_teardown(struct pv_mm *mm)
{
    struct teardown td = { 0, 0 };

    spin_lock(&mm->lock);
    mm->dying = true;
    mm->ops->flush_stale(mm);
    for (unsigned int v = 0; v < mm->nr_vcpus; v++) {
        pv_drop_baseptrs(mm, v);
        if (mm->vcpu[v].ldt_ents) {
            mm->vcpu[v].ldt_base = 0;
            mm->vcpu[v].ldt_ents = 0;
            if (mm->ops->set_ldt)
                mm->ops->set_ldt(mm, v);
        }
    }
    for_each_frame(mm, &td, unpin_frame);
    for (td.level = 4; td.level >= 1; td.level--)
        for_each_frame(mm, &td, force_devalidate);
    for_each_frame(mm, &td, release_frame);
    spin_unlock(&mm->lock);
    return td.left;
}
