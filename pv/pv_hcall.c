/*
 * PV hypercalls that reach the validator or the common handlers with PV
 * semantics (pv_internal.h): the mmu_update/mmuext_op glue with its
 * continuations, physdev_op and grant_table_op. memory_op is in
 * pv_memory.c, vcpu_op in pv_vcpu.c.
 *
 *  mmu_update, mmuext_op  at most PV_MM_BATCH requests per call; a longer
 *      batch continues as Xen's do_mmu_update does: the guest re-executes
 *      the SYSCALL with the list advanced and the count left, bit 31 of the
 *      count (Xen's MMU_UPDATE_PREEMPTED) set, so that the next call reads
 *      back the running total from *pdone and adds its own. A list entry
 *      that cannot be read ends the batch with -EFAULT after the readable
 *      ones before it. pdone gets the total of all calls (as Xen, a pdone
 *      that cannot be written is ignored).
 *  physdev_op  set_iopl (pv_emulate.c); for the initial domain setup_gsi,
 *      map_pirq, unmap_pirq, irq_status_query and eoi (common/pirq.c);
 *      everything else as the common handler answers a domain without
 *      pirqs (physdev_op.c): -ENOSYS but for pci_mmcfg_reserved. Linux
 *      copes: PHYSDEVOP_pirq_eoi_gmfn_v2 failing leaves it without the EOI
 *      bitmap (it asks irq_status_query instead), apic_read failing with
 *      emulated IOAPIC values.
 *  grant_table_op  query_size, set_version, get_version: the common
 *      handlers (the guest's pointers go through pv_copy_linear).
 *      setup_table: each frame of the table is shared with the domain
 *      (writable, never a page table) and frame_list gets its MACHINE frame
 *      number (non-translated guests map it with mmu_update). The caller's
 *      own table only (another existing domain: GNTST_permission_denied).
 *      map/unmap (GNTMAP_host_map into PV page tables), copy, swap and the
 *      rest: -ENOSYS for now.
 */
#include "pv_internal.h"
#include <proxenos/gnttab.h>
#include <proxenos/guest_access.h>
#include <proxenos/hypercall.h>
#include <proxenos/lib.h>
#include <proxenos/pirq.h>
#include <xen/grant_table.h>
#include <xen/physdev.h>

/* Xen's continuation marker in the count of mmu_update and mmuext_op. */
#define MMU_UPDATE_PREEMPTED (~(~0u >> 1))
/* Requests of mmu_update/mmuext_op done per call before it continues. */
#define PV_MM_BATCH 64

static long mm_chunk(struct pv_domain *pd, struct vcpu *v, uint64_t nr, const void *reqs,
                     unsigned int n, unsigned int *did, unsigned int foreigndom)
{
    if (nr == __HYPERVISOR_mmu_update)
        return pv_mmu_update(&pd->mm, v->vcpu_id, reqs, n, did, foreigndom);
    return pv_mmuext_op(&pd->mm, v->vcpu_id, reqs, n, did, foreigndom);
}

long pv_mm_call(struct vcpu *v, struct cpu_regs *r, bool *cont)
{
    struct pv_domain *pd = pv_domain_of(v->domain);
    uint64_t nr = r->rax, list = r->rdi, pdone = r->rdx;
    uint32_t count = (uint32_t)r->rsi, done = 0;   /* Xen: unsigned int count */
    size_t size = nr == __HYPERVISOR_mmu_update ? sizeof(struct mmu_update)
                                                : sizeof(struct mmuext_op);
    union {
        struct mmu_update u[PV_MM_BATCH];
        struct mmuext_op x[PV_MM_BATCH];
    } buf;
    unsigned int n, got, did = 0;
    long rc = 0;

    if (!pd)
        return -EINVAL;
    if (nr == __HYPERVISOR_update_va_mapping)
        return pv_update_va_mapping(&pd->mm, v->vcpu_id, r->rdi, r->rsi, r->rdx);
    if (count & MMU_UPDATE_PREEMPTED) {
        count &= ~MMU_UPDATE_PREEMPTED;
        if (pdone)
            (void)pv_copy_linear(v, &done, pdone, sizeof(done), false);
    }
    n = MIN(count, (uint32_t)PV_MM_BATCH);
    /* One copy for the batch (a page walk per page); only when part of it
       is unreadable, entry by entry to find the readable prefix. */
    got = pv_copy_linear(v, &buf, list, (size_t)n * size, false) ? 0 : n;
    for (; got < n; got++)
        if (pv_copy_linear(v, (uint8_t *)&buf + got * size, list + got * size, size, false))
            break;
    if (got)
        rc = mm_chunk(pd, v, nr, &buf, got, &did, (unsigned int)r->r10);
    if (!rc && got < n)
        rc = -EFAULT;
    if (!rc && did < count) {
        r->rdi = list + (uint64_t)did * size;
        r->rsi = (count - did) | MMU_UPDATE_PREEMPTED;
        r->rip -= 2;                        /* the 2-byte SYSCALL again */
        *cont = true;
    }
    done += did;
    if (pdone)
        (void)pv_copy_linear(v, &done, pdone, sizeof(done), true);
    return rc;
}

long pv_physdev_op(struct vcpu *v, uint64_t cmd, uint64_t arg)
{
    struct hcall h = { .arg = { cmd, arg } };

    long rc;

    if ((int)cmd == PHYSDEVOP_set_iopl)
        return pv_set_iopl(v, arg);
    rc = pirq_physdev_op(v, (unsigned int)cmd, arg);    /* the initial domain's pirqs */
    return rc != -ENOSYS ? rc : do_physdev_op(v, &h);
}

/* ---- grant tables ------------------------------------------------------------------ */

/* Frame i of d's table (grown to i + 1 frames), shared with the domain. */
static int16_t gnttab_pv_frame(struct pv_domain *pd, unsigned int i, mfn_t *mfn)
{
    struct domain *d = pd->d;
    gfn_t *where;
    int rc;

    spin_lock(&d->lock);                   /* gnttab_frame_mfn's rule */
    rc = gnttab_frame_mfn(d, i, mfn, &where);
    spin_unlock(&d->lock);
    if (rc)
        return GNTST_general_error;
    if (mfn_to_page(*mfn)->owner == d)
        return GNTST_okay;                 /* shared by an earlier setup_table */
    return pv_share_xen_frame(&pd->mm, *mfn, true) ? GNTST_general_error : GNTST_okay;
}

static long gnttab_pv_setup(struct vcpu *v, uint64_t arg, uint32_t count)
{
    struct pv_domain *pd = pv_domain_of(v->domain);
    struct gnttab_setup_table op;
    int16_t status = GNTST_okay;

    if (count != 1)
        return -EINVAL;
    if (copy_from_guest(v, &op, arg, sizeof(op)))
        return -EFAULT;
    if (op.nr_frames > GNTTAB_MAX_FRAMES || !pd)
        status = GNTST_general_error;
    else if (op.dom != DOMID_SELF && op.dom != v->domain->domain_id)
        status = domain_by_id(op.dom) ? GNTST_permission_denied : GNTST_bad_domain;
    for (uint32_t i = 0; !status && i < op.nr_frames; i++) {
        mfn_t mfn;

        status = gnttab_pv_frame(pd, i, &mfn);
        if (!status && copy_to_guest(v, (uint64_t)(uintptr_t)op.frame_list.p + i * 8ull,
                                     &(xen_pfn_t){ mfn }, sizeof(xen_pfn_t)))
            status = GNTST_bad_virt_addr;
    }
    return copy_to_guest(v, arg + offsetof(struct gnttab_setup_table, status), &status,
                         sizeof(status)) ? -EFAULT : 0;
}

long pv_grant_table_op(struct vcpu *v, uint64_t cmd, uint64_t arg, uint64_t count)
{
    struct hcall h = { .arg = { cmd, arg, count } };

    switch ((uint32_t)cmd) {
    case GNTTABOP_query_size:
    case GNTTABOP_set_version:
    case GNTTABOP_get_version:
        return do_grant_table_op(v, &h);
    case GNTTABOP_setup_table:
        return (int32_t)count < 0 ? -EINVAL : gnttab_pv_setup(v, arg, (uint32_t)count);
    default:
        return -ENOSYS;
    }
}
