/*
 * HYPERVISOR_update_va_mapping for 64-bit PV guests (xen.h; Xen 4.17's
 * __do_update_va_mapping): the L1 entry of a virtual address of the current
 * kernel page tables, updated as MMU_NORMAL_PT_UPDATE, then a flush.
 */
#include <proxenos/pv_mm.h>
#include <proxenos/pagetable.h>

/* Finds the L1 table and slot of va under the vCPU's kernel L4 (Xen walks
   the guest's linear map; we read the validated tables directly, which
   the domain lock keeps stable). Every present entry of a validated table
   names a frame of the domain, so each step stays inside RAM. */
static int find_l1(struct pv_mm *mm, unsigned int vcpu, uint64_t va, mfn_t *l1,
                   unsigned int *slot)
{
    mfn_t t = mm->vcpu[vcpu].kernel_l4;

    if (!t)
        return pv_refuse(mm, -EINVAL, "update_va_mapping without a base pointer");
    if (!pv_addr_ok(va))
        return pv_refuse(mm, -EINVAL, "update_va_mapping of a non-guest address");
    for (unsigned int level = 4; level > 1; level--) {
        unsigned int i = (unsigned int)(va >> (PAGE_SHIFT + 9 * (level - 1))) & 511;
        uint64_t e = __atomic_load_n((uint64_t *)pv_map_frame(t) + i, __ATOMIC_ACQUIRE);

        if (!(e & PTE_P) || (e & PTE_PS) || !mfn_valid(pv_pte_mfn(e)))
            return pv_refuse(mm, -EINVAL, "update_va_mapping of an unmapped address");
        t = pv_pte_mfn(e);
    }
    *l1 = t;
    *slot = (unsigned int)(va >> PAGE_SHIFT) & 511;
    return 0;
}

/* The entry update itself, on a validated L1 of the domain held for the
   duration by a type reference. */
static int update_l1(struct pv_mm *mm, mfn_t l1, unsigned int slot, uint64_t val)
{
    struct page_info *pg = mfn_to_page(l1);
    uint64_t x;
    int rc;

    if (!pv_get_page(pg, mm->d))
        return pv_refuse(mm, -EINVAL, "update_va_mapping: L1 not the domain's");
    x = __atomic_load_n(&pg->type_info, __ATOMIC_ACQUIRE);
    if (pv_type_level(x) != 1 || !(x & PGT_validated) || !(x & PGT_count_mask)) {
        pv_put_page(pg);
        return pv_refuse(mm, -EINVAL, "update_va_mapping: the walk did not end in an L1");
    }
    rc = pv_get_page_type(mm, pg, PGT_l1_page_table);
    if (!rc) {
        rc = pv_mod_entry(mm, l1, 1, slot, val, false);
        pv_put_page_type(mm, pg);
    }
    pv_put_page(pg);
    return rc;
}

static int uvm_flush(struct pv_mm *mm, unsigned int vcpu, uint64_t va, uint64_t flags)
{
    uint64_t type = flags & UVMF_FLUSHTYPE_MASK, bmap = flags & ~UVMF_FLUSHTYPE_MASK, mask;

    if (type != UVMF_TLB_FLUSH && type != UVMF_INVLPG)
        return 0;
    if (bmap == UVMF_LOCAL) {
        mask = 1ULL << vcpu;
    } else if (bmap == UVMF_ALL) {
        mask = mm->nr_vcpus >= 64 ? ~0ULL : (1ULL << mm->nr_vcpus) - 1;
    } else {                            /* UVMF_MULTI: the bitmap's address */
        if (!mm->ops->read_vcpumask || mm->ops->read_vcpumask(mm, vcpu, bmap, &mask))
            return pv_refuse(mm, -EFAULT, "unreadable vCPU mask");
        mask &= mm->nr_vcpus >= 64 ? ~0ULL : (1ULL << mm->nr_vcpus) - 1;
    }
    if (type == UVMF_TLB_FLUSH)
        mm->ops->flush_tlb(mm, vcpu, mask);
    else
        mm->ops->invlpg(mm, vcpu, mask, va);
    return 0;
}

int pv_update_va_mapping(struct pv_mm *mm, unsigned int vcpu, uint64_t va, uint64_t val,
                         uint64_t flags)
{
    mfn_t l1 = 0;
    unsigned int slot = 0;
    int rc;

    if (vcpu >= mm->nr_vcpus)
        return -EINVAL;
    spin_lock(&mm->lock);
    if (mm->dying)
        rc = pv_refuse(mm, -EINVAL, "domain is being torn down");
    else
        rc = find_l1(mm, vcpu, va, &l1, &slot);
    if (!rc)
        rc = update_l1(mm, l1, slot, val);
    /* Nothing changed on failure: no flush (va is not even checked then). */
    if (!rc)
        rc = uvm_flush(mm, vcpu, va, flags);
    spin_unlock(&mm->lock);
    return rc;
}
