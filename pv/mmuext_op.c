/*
 * HYPERVISOR_mmuext_op for 64-bit PV guests (xen.h struct mmuext_op;
 * Xen 4.17's do_mmuext_op and new_guest_cr3): pinning, the kernel and user
 * base pointers, TLB flushes, the LDT, and clearing or copying a page.
 */
#include <proxenos/pv_mm.h>
#include <proxenos/lib.h>

#define LDT_MAX_ENTS 8192      /* 64 KiB of descriptors, Xen's limit */

static uint64_t all_vcpus(const struct pv_mm *mm)
{
    return mm->nr_vcpus >= 64 ? ~0ULL : (1ULL << mm->nr_vcpus) - 1;
}

/* A frame of the domain, with a general reference: NULL if none. */
static struct page_info *get_own(struct pv_mm *mm, mfn_t mfn)
{
    struct page_info *pg;

    if (!mfn_valid(mfn) || !pv_get_page(pg = mfn_to_page(mfn), mm->d))
        return NULL;
    return pg;
}

static int pin(struct pv_mm *mm, mfn_t mfn, uint64_t type)
{
    struct page_info *pg = get_own(mm, mfn);
    int rc;

    if (!pg)
        return pv_refuse(mm, -EINVAL, "pin of a frame not the domain's");
    rc = pv_get_page_type(mm, pg, type);
    if (rc) {
        pv_put_page(pg);
        return rc;
    }
    /* The pin keeps both references; pinning is not counted, so twice is
       an error. */
    if (__atomic_fetch_or(&pg->type_info, PGT_pinned, __ATOMIC_ACQ_REL) & PGT_pinned) {
        pv_put_page_and_type(mm, pg);
        return pv_refuse(mm, -EINVAL, "frame is already pinned");
    }
    return 0;
}

static int unpin(struct pv_mm *mm, mfn_t mfn)
{
    struct page_info *pg = get_own(mm, mfn);

    if (!pg)
        return pv_refuse(mm, -EINVAL, "unpin of a frame not the domain's");
    if (!(__atomic_fetch_and(&pg->type_info, ~PGT_pinned, __ATOMIC_ACQ_REL) & PGT_pinned)) {
        pv_put_page(pg);
        return pv_refuse(mm, -EINVAL, "frame is not pinned");
    }
    pv_put_page_and_type(mm, pg);      /* the pin's references */
    pv_put_page(pg);
    return 0;
}

/* MMUEXT_NEW_BASEPTR / NEW_USER_BASEPTR: reference the new L4 before the
   old one is let go, so a switch between two tables sharing subtrees never
   devalidates them in between. A user base pointer of 0 means none. */
static int new_baseptr(struct pv_mm *mm, unsigned int vcpu, mfn_t mfn, bool user)
{
    mfn_t *slot = user ? &mm->vcpu[vcpu].user_l4 : &mm->vcpu[vcpu].kernel_l4;
    mfn_t old = *slot;
    int rc;

    if (old == mfn) {
        if (!user)
            mm->ops->load_cr3(mm, vcpu);
        return 0;
    }
    if (mfn || !user) {
        rc = pv_get_page_and_type(mm, mfn, PGT_l4_page_table);
        if (rc)
            return rc;
    }
    *slot = mfn;
    mm->ops->load_cr3(mm, vcpu);
    if (old)
        pv_put_page_and_type(mm, mfn_to_page(old));
    return 0;
}

void pv_drop_baseptrs(struct pv_mm *mm, unsigned int vcpu)
{
    struct pv_vcpu_mm *v = &mm->vcpu[vcpu];
    mfn_t k = v->kernel_l4, u = v->user_l4;

    v->kernel_l4 = v->user_l4 = 0;
    if (k)
        pv_put_page_and_type(mm, mfn_to_page(k));
    if (u)
        pv_put_page_and_type(mm, mfn_to_page(u));
}

static int flush(struct pv_mm *mm, unsigned int vcpu, const struct mmuext_op *op)
{
    uint64_t mask, va = op->arg1.linear_addr;
    bool one = op->cmd == MMUEXT_INVLPG_LOCAL || op->cmd == MMUEXT_INVLPG_MULTI ||
               op->cmd == MMUEXT_INVLPG_ALL;

    switch (op->cmd) {
    case MMUEXT_TLB_FLUSH_LOCAL:
    case MMUEXT_INVLPG_LOCAL:
        mask = 1ULL << vcpu;
        break;
    case MMUEXT_TLB_FLUSH_ALL:
    case MMUEXT_INVLPG_ALL:
        mask = all_vcpus(mm);
        break;
    default:                            /* *_MULTI: a guest bitmap */
        if (!mm->ops->read_vcpumask ||
            mm->ops->read_vcpumask(mm, vcpu, (uint64_t)(uintptr_t)op->arg2.vcpumask.p, &mask))
            return pv_refuse(mm, -EINVAL, "unreadable vCPU mask");
        mask &= all_vcpus(mm);
        break;
    }
    if (!one)
        mm->ops->flush_tlb(mm, vcpu, mask);
    else if (pv_addr_ok(va))            /* others are silently ignored, as Xen */
        mm->ops->invlpg(mm, vcpu, mask, va);
    return 0;
}

static int set_ldt(struct pv_mm *mm, unsigned int vcpu, const struct mmuext_op *op)
{
    struct pv_vcpu_mm *v = &mm->vcpu[vcpu];
    unsigned int ents = op->arg2.nr_ents;
    uint64_t base = ents ? op->arg1.linear_addr : 0;

    if (ents > LDT_MAX_ENTS || (base & (PAGE_SIZE - 1)) || !pv_addr_ok(base) ||
        (ents && !pv_addr_ok(base + (uint64_t)ents * 8 - 1)))
        return pv_refuse(mm, -EINVAL, "bad LDT base or size");
    if (v->ldt_base == base && v->ldt_ents == ents)
        return 0;
    v->ldt_base = base;
    v->ldt_ents = ents;
    if (mm->ops->set_ldt)
        mm->ops->set_ldt(mm, vcpu);
    return 0;
}

/* MMUEXT_CLEAR_PAGE / COPY_PAGE: the destination must be writable by the
   guest anyway, so it takes a writable type reference for the copy. */
static int clear_or_copy(struct pv_mm *mm, const struct mmuext_op *op)
{
    struct page_info *dst, *src = NULL;
    int rc = -EINVAL;

    if (op->cmd == MMUEXT_COPY_PAGE && !(src = get_own(mm, op->arg2.src_mfn)))
        return pv_refuse(mm, -EINVAL, "copy from a frame not the domain's");
    dst = get_own(mm, op->arg1.mfn);
    if (dst && !pv_get_page_type(mm, dst, PGT_writable_page)) {
        void *to = pv_map_frame(op->arg1.mfn);

        if (src)
            memmove(to, pv_map_frame(op->arg2.src_mfn), PAGE_SIZE);
        else
            memset(to, 0, PAGE_SIZE);
        pv_put_page_type(mm, dst);
        rc = 0;
    } else {
        pv_refuse(mm, -EINVAL, "clear or copy to a frame that is not writable");
    }
    if (dst)
        pv_put_page(dst);
    if (src)
        pv_put_page(src);
    return rc;
}

static int one_op(struct pv_mm *mm, unsigned int vcpu, const struct mmuext_op *op)
{
    switch (op->cmd) {
    case MMUEXT_PIN_L1_TABLE:
    case MMUEXT_PIN_L2_TABLE:
    case MMUEXT_PIN_L3_TABLE:
    case MMUEXT_PIN_L4_TABLE:
        return pin(mm, op->arg1.mfn, pv_level_type(op->cmd - MMUEXT_PIN_L1_TABLE + 1));
    case MMUEXT_UNPIN_TABLE:
        return unpin(mm, op->arg1.mfn);
    case MMUEXT_NEW_BASEPTR:
        return new_baseptr(mm, vcpu, op->arg1.mfn, false);
    case MMUEXT_NEW_USER_BASEPTR:
        return new_baseptr(mm, vcpu, op->arg1.mfn, true);
    case MMUEXT_TLB_FLUSH_LOCAL:
    case MMUEXT_INVLPG_LOCAL:
    case MMUEXT_TLB_FLUSH_MULTI:
    case MMUEXT_INVLPG_MULTI:
    case MMUEXT_TLB_FLUSH_ALL:
    case MMUEXT_INVLPG_ALL:
        return flush(mm, vcpu, op);
    case MMUEXT_FLUSH_CACHE:
        return pv_refuse(mm, -EACCES, "cache flush needs I/O privileges");
    case MMUEXT_FLUSH_CACHE_GLOBAL:
        return pv_refuse(mm, -EINVAL, "cache flush needs I/O privileges");
    case MMUEXT_SET_LDT:
        return set_ldt(mm, vcpu, op);
    case MMUEXT_CLEAR_PAGE:
    case MMUEXT_COPY_PAGE:
        return clear_or_copy(mm, op);
    case MMUEXT_MARK_SUPER:
    case MMUEXT_UNMARK_SUPER:
        return pv_refuse(mm, -EOPNOTSUPP, "superpages are not supported");
    default:
        return pv_refuse(mm, -ENOSYS, "unknown mmuext_op command");
    }
}

int pv_mmuext_op(struct pv_mm *mm, unsigned int vcpu, const struct mmuext_op *ops,
                 unsigned int count, unsigned int *done, unsigned int foreigndom)
{
    unsigned int i = 0;
    int rc;

    if (done)
        *done = 0;
    if (vcpu >= mm->nr_vcpus)
        return -EINVAL;
    rc = pv_check_foreign(mm, foreigndom & 0xffff);

    spin_lock(&mm->lock);
    if (rc)
        pv_refuse(mm, rc, "foreign domain in mmuext_op");
    else if (mm->dying)
        rc = pv_refuse(mm, -EINVAL, "domain is being torn down");
    for (; !rc && i < count; i++) {
        rc = one_op(mm, vcpu, &ops[i]);
        if (rc)
            break;
    }
    spin_unlock(&mm->lock);
    if (done)
        *done = i;
    return rc;
}
