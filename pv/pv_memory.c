/*
 * __HYPERVISOR_memory_op for 64-bit PV guests, after Xen 4.17's
 * xen/common/memory.c (do_memory_op, guest_remove_page, populate_physmap)
 * and xen/arch/x86/mm.c (arch_memory_op) for a non-translated domain: the
 * guest names machine frames, keeps its own P2M and the M2P is the
 * hypervisor's (pv_mm.h).
 *
 *  maximum_ram_page, current_reservation, maximum_reservation,
 *  memory_map          the common handlers (memory_op.c): memory_map is
 *                      -ENOSYS while the builder gave the domain no e820,
 *                      as Xen answers a PV dom0 (it has none either).
 *  maximum_gpfn        shared_info's arch.max_pfn (what the guest wrote
 *                      there) minus one, 0 if unset (Xen's
 *                      domain_get_maximum_gpfn for PV).
 *  machine_memory_map  initial domain only (-EPERM): the hypervisor's
 *                      sanitized e820 (mm/e820.c); the buffer must hold one
 *                      entry more than the map (-EINVAL), as Xen asks (it
 *                      may add I/O-memory ranges dom0 can reach: we give
 *                      dom0 none). A NULL buffer only returns the count.
 *  machphys_mapping    where the read-only M2P is (RO_MPT_VIRT_START/END)
 *                      and its last entry: pv_m2p_entries() - 1. **Differs**
 *                      for domUs: Xen says MACH2PHYS_NR_ENTRIES - 1, but only
 *                      the machine's frames are mapped here.
 *  decrease_reservation  extents are machine frames: each page loses a
 *                      pin if pinned, then the domain's allocation
 *                      reference (pv_mm_release_frame); it is freed (and
 *                      leaves tot_pages and the M2P) once nothing maps it.
 *                      Stops at the first frame not the domain's (Xen's
 *                      -EINVAL/-ENXIO), returns the extents done.
 *  populate_physmap    per order-0 extent a fresh zeroed frame owned by the
 *                      domain while tot_pages < max_pages; M2P[mfn] = the
 *                      guest's pfn, and the MFN written back over it.
 *  increase_reservation  the same, without the M2P, the list optional.
 *      The three: DOMID_SELF or own id, extents up to order 12 (dom0) / 9,
 *      Xen's start_extent in cmd >> MEMOP_EXTENT_SHIFT and its early
 *      returns; continued after pv_resv_pages_per_call (4096) pages with the
 *      extent to resume at in cmd's upper bits (pv_memory_op_regs: the
 *      guest re-executes SYSCALL). **Differs:** populate/increase of order
 *      > 0 (contiguous frames) and address_bits restrictions are refused
 *      (0 extents done). pv_memory_op (no registers to continue with) does
 *      all the extents in one call, bounded by the domain's pages
 *      (decrease) or max_pages (populate): every extent that does not
 *      fail frees or allocates a frame.
 *  add_to_physmap      -EACCES after Xen's argument checks (xatp_permission_
 *                      check: not a translated guest).
 *  everything else     -ENOSYS (exchange, which Linux's swiotlb-xen tries
 *                      and survives; remove_from_physmap; ...).
 */
#include "pv_internal.h"
#include <proxenos/e820.h>
#include <proxenos/frame.h>
#include <proxenos/guest_access.h>
#include <proxenos/hypercall.h>
#include <proxenos/lib.h>
#include <proxenos/mm.h>
#include <xen/memory.h>

static int self_domain(struct vcpu *v, domid_t domid)
{
    if (domid == DOMID_SELF || domid == v->domain->domain_id)
        return 0;
    return domain_by_id(domid) ? -EPERM : -ESRCH;
}

static long machine_memory_map(struct vcpu *v, uint64_t arg)
{
    struct xen_memory_map map;
    uint64_t buf;

    if (!v->domain->is_initial)
        return -EPERM;                     /* Xen: XSM_PRIV */
    if (copy_from_guest(v, &map, arg, sizeof(map)))
        return -EFAULT;
    buf = (uint64_t)(uintptr_t)map.buffer.p;
    if (buf && map.nr_entries < e820.nr + 1)
        return -EINVAL;
    for (unsigned int i = 0; buf && i < e820.nr; i++) {
        struct xen_abi_e820_entry e = {
            .addr = e820.map[i].addr, .size = e820.map[i].size, .type = e820.map[i].type,
        };
        if (copy_to_guest(v, buf + (uint64_t)i * sizeof(e), &e, sizeof(e)))
            return -EFAULT;
    }
    map.nr_entries = e820.nr;
    return copy_to_guest(v, arg, &map, sizeof(map)) ? -EFAULT : 0;
}

static long machphys_mapping(struct vcpu *v, uint64_t arg)
{
    struct xen_machphys_mapping m = {
        .v_start = PV_RO_MPT_START,
        .v_end = PV_RO_MPT_END,
        .max_mfn = pv_m2p_entries() ? pv_m2p_entries() - 1 : 0,
    };

    return copy_to_guest(v, arg, &m, sizeof(m)) ? -EFAULT : 0;
}

static long maximum_gpfn(struct vcpu *v, uint64_t arg)
{
    domid_t domid;
    uint64_t max_pfn;
    int rc;

    if (copy_from_guest(v, &domid, arg, sizeof(domid)))
        return -EFAULT;
    if ((rc = self_domain(v, domid)))
        return rc;
    max_pfn = __atomic_load_n(&v->domain->shared_info->arch.max_pfn, __ATOMIC_RELAXED);
    return (long)((max_pfn ? max_pfn : 1) - 1);
}

static long add_to_physmap(struct vcpu *v, uint64_t arg, uint64_t start)
{
    struct xen_add_to_physmap x;

    if (start > 0xffff)                    /* must fit xatp.size */
        return -EDOM;
    if (copy_from_guest(v, &x, arg, sizeof(x)))
        return -EFAULT;
    if (x.space == XENMAPSPACE_gmfn_foreign)
        return -ENOSYS;
    if (x.domid != DOMID_SELF && !domain_by_id(x.domid))
        return -ESRCH;
    return -EACCES;                        /* not paging_mode_translate */
}

/* ---- reservations ------------------------------------------------------------------ */

struct resv {
    uint64_t list;                         /* guest address of the xen_pfn_t array */
    uint64_t nr;
    unsigned int order, flags;
    domid_t domid;
};

static int read_resv(struct vcpu *v, uint64_t arg, struct resv *r)
{
    struct xen_memory_reservation x;

    if (copy_from_guest(v, &x, arg, sizeof(x)))
        return -EFAULT;
    *r = (struct resv){ (uint64_t)(uintptr_t)x.extent_start.p, x.nr_extents, x.extent_order,
                        x.mem_flags, x.domid };
    return 0;
}

/* Xen's construct_memop_from_reservation and max_order(), and what we
   cannot give: frames below an address limit, populate-on-demand,
   contiguous frames. */
static bool resv_ok(const struct domain *d, const struct resv *r, unsigned int op)
{
    unsigned int bits = XENMEMF_get_address_bits(r->flags), need = PAGE_SHIFT;

    while (need < 64 && (1ull << (need - PAGE_SHIFT)) < max_mfn)
        need++;
    if (r->order > (d->is_initial ? 12u : 9u))
        return false;
    if (op == XENMEM_decrease_reservation)
        return true;
    return !(bits && bits < need) && !(r->flags & XENMEMF_populate_on_demand) && r->order == 0;
}

/* Drops the allocation reference of one frame (Xen's guest_remove_page for
   a non-translated domain). A pinned table loses its pin first. If the
   frame is about to be freed, every TLB of the domain is flushed while
   this call still holds it, so no stale translation reaches its next
   owner. */
static int remove_page(struct vcpu *v, struct pv_domain *pd, mfn_t mfn)
{
    struct page_info *pg;
    int rc;

    if (!mfn_valid(mfn))
        return -EINVAL;
    pg = mfn_to_page(mfn);
    if (!pv_get_page(pg, pd->d))
        return -ENXIO;
    if (__atomic_load_n(&pg->type_info, __ATOMIC_ACQUIRE) & PGT_pinned) {
        struct mmuext_op op = { .cmd = MMUEXT_UNPIN_TABLE, .arg1.mfn = mfn };
        unsigned int done;

        (void)pv_mmuext_op(&pd->mm, v->vcpu_id, &op, 1, &done, DOMID_SELF);
    }
    rc = pv_mm_release_frame(&pd->mm, mfn);
    if (!rc && (__atomic_load_n(&pg->count_info, __ATOMIC_ACQUIRE) & PGC_count_mask) == 1) {
        spin_lock(&pd->mm.lock);
        pd->mm.ops->flush_stale(&pd->mm);
        spin_unlock(&pd->mm.lock);
    }
    pv_put_page(pg);
    return rc;
}

static bool decrease_extent(struct vcpu *v, struct pv_domain *pd, mfn_t mfn, unsigned int order)
{
    for (uint64_t j = 0; j < (1ull << order); j++)
        if (remove_page(v, pd, mfn + j))
            return false;
    return true;
}

/* One fresh zeroed frame owned by d with its allocation reference, if d is
   below max_pages; 0 otherwise. */
static mfn_t new_frame(struct domain *d)
{
    struct page_info *pg;
    paddr_t pa = 0;

    spin_lock(&d->lock);
    if (__atomic_load_n(&d->tot_pages, __ATOMIC_RELAXED) < d->max_pages && (pa = alloc_frames(0)))
        __atomic_fetch_add(&d->tot_pages, 1, __ATOMIC_RELAXED);
    spin_unlock(&d->lock);
    if (!pa)
        return 0;
    memset(pv_map_frame(pa >> PAGE_SHIFT), 0, PAGE_SIZE);
    pg = mfn_to_page(pa >> PAGE_SHIFT);
    pg->type_info = 0;
    __atomic_store_n(&pg->owner, d, __ATOMIC_RELEASE);
    __atomic_fetch_or(&pg->count_info, PGC_allocated | 1, __ATOMIC_ACQ_REL);
    return pa >> PAGE_SHIFT;
}

/* populate_physmap (the list holds pfns, gets mfns) or increase_reservation
   (the list, if any, only gets mfns). */
static bool populate_extent(struct vcpu *v, const struct resv *r, uint64_t i, bool populate)
{
    uint64_t slot = r->list + i * sizeof(xen_pfn_t);
    xen_pfn_t pfn = 0;
    mfn_t mfn;

    if (populate && copy_from_guest(v, &pfn, slot, sizeof(pfn)))
        return false;
    if (!(mfn = new_frame(v->domain)))
        return false;
    if (populate)
        pv_m2p_set(mfn, pfn);
    /* A list that cannot be written stops the call; the frame stays the
       domain's, as in Xen. */
    return !((populate || r->list) && copy_to_guest(v, slot, &(xen_pfn_t){ mfn }, sizeof(mfn)));
}

/* Pages given back or populated per call before it continues (Xen checks
   hypercall_preempt_check() between extents). A variable so that host
   tests can shrink it. */
unsigned int pv_resv_pages_per_call = 4096;

/* Returns the extents done (Xen's nr_done), or sets *next to the extent
   to continue from (0: finished). */
static long reservation_op(struct vcpu *v, unsigned int op, uint64_t start, uint64_t arg,
                           uint64_t *next)
{
    struct pv_domain *pd = pv_domain_of(v->domain);
    struct resv r;
    uint64_t i, work = 0;

    if (!pd || read_resv(v, arg, &r))
        return (long)start;
    if (r.nr > (UINT32_MAX >> MEMOP_EXTENT_SHIFT) || start >= r.nr)
        return (long)start;
    if (self_domain(v, r.domid) || !resv_ok(v->domain, &r, op))
        return (long)start;
    for (i = start; i < r.nr; i++) {
        if (i > start && work >= pv_resv_pages_per_call) {
            *next = i;
            return 0;
        }
        work += 1ull << r.order;
        if (op == XENMEM_decrease_reservation) {
            xen_pfn_t mfn;

            if (copy_from_guest(v, &mfn, r.list + i * sizeof(mfn), sizeof(mfn)) ||
                !decrease_extent(v, pd, mfn, r.order))
                break;
        } else if (!populate_extent(v, &r, i, op == XENMEM_populate_physmap)) {
            break;
        }
    }
    return (long)i;
}

static long memory_op(struct vcpu *v, uint64_t cmd, uint64_t arg, uint64_t *next)
{
    unsigned int op = cmd & MEMOP_CMD_MASK;
    uint64_t start = cmd >> MEMOP_EXTENT_SHIFT;
    struct hcall h = { .arg = { cmd, arg } };

    switch (op) {
    case XENMEM_maximum_ram_page:
    case XENMEM_current_reservation:
    case XENMEM_maximum_reservation:
    case XENMEM_memory_map:
        return do_memory_op(v, &h);
    case XENMEM_maximum_gpfn:
        return start ? -EINVAL : maximum_gpfn(v, arg);
    case XENMEM_machine_memory_map:        /* arch ops: the whole cmd must match */
        return start ? -ENOSYS : machine_memory_map(v, arg);
    case XENMEM_machphys_mapping:
        return start ? -ENOSYS : machphys_mapping(v, arg);
    case XENMEM_add_to_physmap:
        return add_to_physmap(v, arg, start);
    case XENMEM_decrease_reservation:
    case XENMEM_populate_physmap:
    case XENMEM_increase_reservation:
        return reservation_op(v, op, start, arg, next);
    default:
        return -ENOSYS;
    }
}

long pv_memory_op_regs(struct vcpu *v, struct cpu_regs *r, bool *cont)
{
    uint64_t next = 0;
    long rc = memory_op(v, r->rdi, r->rsi, &next);

    if (next) {
        r->rdi = (r->rdi & MEMOP_CMD_MASK) | (next << MEMOP_EXTENT_SHIFT);
        r->rip -= 2;                       /* the 2-byte SYSCALL again */
        *cont = true;
    }
    return rc;
}

long pv_memory_op(struct vcpu *v, uint64_t cmd, uint64_t arg)
{
    uint64_t next = 0;
    long rc = memory_op(v, cmd, arg, &next);

    while (next) {
        cmd = (cmd & MEMOP_CMD_MASK) | (next << MEMOP_EXTENT_SHIFT);
        next = 0;
        rc = memory_op(v, cmd, arg, &next);
    }
    return rc;
}
