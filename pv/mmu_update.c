/*
 * HYPERVISOR_mmu_update for 64-bit PV guests (xen.h; Xen 4.17's
 * do_mmu_update and mod_l{1,2,3,4}_entry), and the single-entry update that
 * update_va_mapping shares. Requests arrive as a hypervisor-side copy; the
 * glue copies them in and the done count out.
 */
#include <proxenos/pv_mm.h>
#include <proxenos/pagetable.h>

/* PTE bits a guest may change without the entry being revalidated (Xen's
   FASTPATH_FLAG_WHITELIST): none of them changes what is referenced. */
#define FASTPATH_BITS (PTE_NX | PV_PTE_AVAIL_HIGH | PV_PTE_AVAIL | PTE_G | PTE_D | PTE_A | PTE_US)

/* Writes an entry, keeping the A/D bits the CPU may set meanwhile if asked
   (MMU_PT_UPDATE_PRESERVE_AD). Returns what was replaced. */
static uint64_t write_pte(uint64_t *p, uint64_t val, bool preserve_ad)
{
    uint64_t old = __atomic_load_n(p, __ATOMIC_ACQUIRE);

    if (!preserve_ad)
        return __atomic_exchange_n(p, val, __ATOMIC_ACQ_REL);
    while (!__atomic_compare_exchange_n(p, &old, val | (old & (PTE_A | PTE_D)), false,
                                        __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
        ;
    return old;
}

int pv_mod_entry(struct pv_mm *mm, mfn_t table, unsigned int level, unsigned int slot,
                 uint64_t val, bool preserve_ad)
{
    uint64_t *p, old;
    int rc;

    if (!pv_guest_slot(level, slot))
        return pv_refuse(mm, -EINVAL, "update of a hypervisor L4 slot");
    p = (uint64_t *)pv_map_frame(table) + slot;
    old = __atomic_load_n(p, __ATOMIC_ACQUIRE);
    if (val & PTE_P) {
        rc = pv_check_entry(mm, level, val);
        if (rc)
            return rc;
        if ((old & PTE_P) && !((old ^ val) & ~FASTPATH_BITS)) {
            write_pte(p, pv_adjust_entry(level, val), preserve_ad);
            return 0;
        }
        /* The new references first: the old entry may hold the only ones
           that keep a frame of the new one alive. */
        rc = pv_get_entry_refs(mm, level, table, val);
        if (rc)
            return rc;
    }
    old = write_pte(p, pv_adjust_entry(level, val), preserve_ad);
    if (old & PTE_P)
        pv_put_entry_refs(mm, level, table, old);
    return 0;
}

/* Bits 31:16 of foreigndom: the page-table owner, plus one (0: ourselves). */
static int check_pt_owner(const struct pv_mm *mm, unsigned int pt_dom)
{
    if (pt_dom == 0 || pt_dom - 1 == mm->domid)
        return 0;
    return mm->ops->domain_exists && mm->ops->domain_exists((domid_t)(pt_dom - 1)) ? -EPERM
                                                                                   : -ESRCH;
}

/* A data-page owner (Xen's get_pg_owner): the domain itself is DOMID_SELF,
   naming itself by id is refused as Xen does; foreign owners need
   privileges we do not grant. */
int pv_check_foreign(const struct pv_mm *mm, unsigned int domid)
{
    if (domid == DOMID_SELF)
        return 0;
    if (domid == mm->domid || domid == DOMID_XEN)
        return -ESRCH;
    if (domid == DOMID_IO)
        return -EPERM;
    return mm->ops->domain_exists && mm->ops->domain_exists((domid_t)domid) ? -EPERM : -ESRCH;
}

static void write_raw(mfn_t mfn, unsigned int slot, uint64_t val)
{
    __atomic_store_n((uint64_t *)pv_map_frame(mfn) + slot, val, __ATOMIC_RELEASE);
}

/* An entry of a live frame, under a type reference of its current type
   (Xen's page_lock), so the table cannot be devalidated meanwhile. */
static int update_typed(struct pv_mm *mm, struct page_info *pg, uint64_t type,
                        unsigned int slot, uint64_t val, bool preserve_ad)
{
    mfn_t mfn = page_to_mfn(pg);
    unsigned int level = pv_type_level(type);
    int rc = pv_get_page_type(mm, pg, type);

    if (rc)
        return rc;
    if (level)
        rc = pv_mod_entry(mm, mfn, level, slot, val, preserve_ad);
    else if (type == PGT_writable_page)
        write_raw(mfn, slot, val);
    else
        rc = pv_refuse(mm, -EINVAL, "update of a frame that is no page table");
    pv_put_page_type(mm, pg);
    return rc;
}

static int normal_update(struct pv_mm *mm, uint64_t maddr, uint64_t val, bool preserve_ad)
{
    mfn_t mfn = maddr >> PAGE_SHIFT;
    unsigned int slot = (unsigned int)((maddr & (PAGE_SIZE - 1)) >> 3);
    struct page_info *pg;
    uint64_t x;
    int rc;

    if (!mfn_valid(mfn) || !pv_get_page(pg = mfn_to_page(mfn), mm->d))
        return pv_refuse(mm, -EINVAL, "updated entry is not in a frame of the domain");
    x = __atomic_load_n(&pg->type_info, __ATOMIC_ACQUIRE);
    if ((x & PGT_count_mask) && (x & PGT_validated)) {
        rc = update_typed(mm, pg, x & PGT_type_mask, slot, val, preserve_ad);
    } else if (!(rc = pv_get_page_type(mm, pg, PGT_writable_page))) {
        /* Not live as anything: an ordinary write (a table being built). */
        write_raw(mfn, slot, val);
        pv_put_page_type(mm, pg);
    } else {
        rc = -EINVAL;
    }
    pv_put_page(pg);
    return rc;
}

static int machphys_update(struct pv_mm *mm, mfn_t mfn, uint64_t pfn)
{
    struct page_info *pg;

    if (!mfn_valid(mfn) || !pv_get_page(pg = mfn_to_page(mfn), mm->d))
        return pv_refuse(mm, -EINVAL, "M2P update of a frame not the domain's");
    if (!pv_m2p_set(mfn, (unsigned long)pfn)) {
        pv_put_page(pg);
        return pv_refuse(mm, -EINVAL, "M2P update beyond the table");
    }
    pv_put_page(pg);
    return 0;
}

static int one_update(struct pv_mm *mm, const struct mmu_update *req)
{
    /* ptr[2:0] is the command; the entry address is 8-byte aligned. */
    unsigned int cmd = (unsigned int)(req->ptr & 7);
    uint64_t maddr = req->ptr & ~7ULL;

    switch (cmd) {
    case MMU_NORMAL_PT_UPDATE:
    case MMU_PT_UPDATE_NO_TRANSLATE:      /* PV frames are not translated */
        return normal_update(mm, maddr, req->val, false);
    case MMU_PT_UPDATE_PRESERVE_AD:
        return normal_update(mm, maddr, req->val, true);
    case MMU_MACHPHYS_UPDATE:
        return machphys_update(mm, maddr >> PAGE_SHIFT, req->val);
    default:
        return pv_refuse(mm, -ENOSYS, "unknown mmu_update command");
    }
}

int pv_mmu_update(struct pv_mm *mm, unsigned int vcpu, const struct mmu_update *reqs,
                  unsigned int count, unsigned int *done, unsigned int foreigndom)
{
    unsigned int i = 0;
    int rc;

    if (done)
        *done = 0;
    if (vcpu >= mm->nr_vcpus)
        return -EINVAL;
    rc = check_pt_owner(mm, foreigndom >> 16);
    if (!rc)
        rc = pv_check_foreign(mm, foreigndom & 0xffff);

    spin_lock(&mm->lock);
    if (rc)
        pv_refuse(mm, rc, "foreign domain in mmu_update");
    else if (mm->dying)
        rc = pv_refuse(mm, -EINVAL, "domain is being torn down");
    for (; !rc && i < count; i++) {
        rc = one_update(mm, &reqs[i]);
        if (rc)
            break;
    }
    spin_unlock(&mm->lock);
    if (done)
        *done = i;
    return rc;
}
