/*
 * __HYPERVISOR_memory_op (xen/include/public/memory.h) for HVM/PVH guests,
 * after Xen 4.17's xen/common/memory.c do_memory_op, the x86
 * arch_memory_op (XENMEM_memory_map) and xenmem_add_to_physmap_one:
 *
 *  maximum_ram_page      one past the highest machine RAM frame (max_mfn).
 *  current_reservation,  the domain's RAM pages / limit / highest mapped
 *  maximum_reservation,  gfn, for DOMID_SELF or the caller's own id; any
 *  maximum_gpfn          other existing domain -EPERM, a missing one -ESRCH
 *                        (Xen lets a privileged domain query others: not
 *                        yet, as domains are not reference-counted).
 *  memory_map            the e820 the builder gave the domain (d->e820),
 *                        min(nr_entries, what there is) entries of 20
 *                        bytes, nr_entries updated; -ENOSYS if none.
 *  add_to_physmap        shared_info (idx 0), grant_table (idx <
 *                        GNTTAB_MAX_FRAMES v1 frames, the table growing to
 *                        idx + 1 frames: grant_table.c) and gmfn (move a
 *                        RAM page). gmfn_range -ENOSYS, gmfn_foreign
 *                        -ENOSYS (Xen: batch only), other spaces -EINVAL.
 *  decrease_reservation  each page of each extent given back
 *                        (domain_release_gfn: unmapped, freed once no
 *                        grant mapping holds it); stops at the first page
 *                        that is not the domain's RAM.
 *  populate_physmap      fresh zeroed RAM per extent while tot_pages stays
 *                        within max_pages; RAM already there is given back
 *                        first. Both: DOMID_SELF or own id only, extents up
 *                        to order 12 (dom0) / 9, the count of extents done
 *                        returned and continued every 4096 pages as Xen's
 *                        start_extent; address_bits restrictions and
 *                        populate-on-demand are refused (0 extents).
 *  machine_memory_map, machphys_mapping: -ENOSYS (Xen's HVM filter);
 *  everything else -ENOSYS (increase_reservation, which gives a
 *  translated guest pages it cannot see, exchange, remove_from_physmap...).
 *
 * Where add_to_physmap lands on RAM, the RAM frame is unmapped but, unlike
 * Xen, not freed: it stays the domain's until the domain goes (ram_unmap
 * says why). A special page (shared info, a grant frame) mapped elsewhere
 * before is unmapped from there: each appears at one gfn at most. MMIO and
 * grant mappings are not displaced (-EBUSY).
 */
#include <proxenos/xen_abi.h>
#include <proxenos/domain.h>
#include <proxenos/frame.h>
#include <proxenos/gnttab.h>
#include <proxenos/guest_access.h>
#include <proxenos/hypercall.h>
#include <proxenos/layout.h>
#include <proxenos/lib.h>
#include <proxenos/mm.h>

/* The domain a DOMID_SELF-style argument names, or why not. */
static int self_domain(struct vcpu *v, domid_t domid, struct domain **out)
{
    if (domid == DOMID_SELF || domid == v->domain->domain_id) {
        *out = v->domain;
        return 0;
    }
    return domain_by_id(domid) ? -EPERM : -ESRCH;
}

static long reservation(struct vcpu *v, unsigned int op, uint64_t arg)
{
    struct domain *d;
    domid_t domid;
    int rc;

    if (copy_from_guest(v, &domid, arg, sizeof(domid)))
        return -EFAULT;
    if ((rc = self_domain(v, domid, &d)))
        return rc;
    switch (op) {
    case XENMEM_current_reservation: return (long)d->tot_pages;
    case XENMEM_maximum_reservation: return (long)d->max_pages;
    default:                         return (long)d->p2m.max_mapped_gfn;
    }
}

static long memory_map(struct vcpu *v, struct hcall *h, uint64_t arg)
{
    struct domain *d = v->domain;
    struct xen_memory_map map;
    struct compat_memory_map cmap;
    uint32_t nr;
    uint64_t buf;
    unsigned int n;

    if (h->compat ? copy_from_guest(v, &cmap, arg, sizeof(cmap))
                  : copy_from_guest(v, &map, arg, sizeof(map)))
        return -EFAULT;
    nr = h->compat ? cmap.nr_entries : map.nr_entries;
    buf = h->compat ? cmap.buffer : (uint64_t)(uintptr_t)map.buffer.p;
    if (!d->nr_e820)
        return -ENOSYS;                   /* Xen: no map was set for the domain */
    n = memory_map_count(nr, MIN(d->nr_e820, (unsigned int)ARRAY_SIZE(d->e820)));
    for (unsigned int i = 0; i < n; i++) {
        struct xen_abi_e820_entry e = {
            .addr = d->e820[i].addr, .size = d->e820[i].size, .type = d->e820[i].type,
        };
        if (copy_to_guest(v, buf + (uint64_t)i * sizeof(e), &e, sizeof(e)))
            return -EFAULT;
    }
    if (h->compat) {
        cmap.nr_entries = n;
        return copy_to_guest(v, arg, &cmap, sizeof(cmap)) ? -EFAULT : 0;
    }
    map.nr_entries = n;
    return copy_to_guest(v, arg, &map, sizeof(map)) ? -EFAULT : 0;
}

/* ---- add_to_physmap ----------------------------------------------------------- */

/* Every vCPU translates through the p2m again before its next entry. All of
   a domain's vCPUs run on the CPU handling this exit (sched_pick_cpu), so
   none uses a stale translation meanwhile; with vCPUs spread over CPUs a
   running one would need a synchronous remote flush. */
void physmap_changed(struct domain *d)
{
    for (unsigned int i = 0; i < d->max_vcpus; i++)
        if (d->vcpu[i])
            d->vcpu[i]->needs_flush = true;
}

/* A special page at gfn is about to be unmapped: forget where it was. */
static void forget_special(struct domain *d, gfn_t gfn)
{
    if (d->shared_info_gfn == gfn)
        d->shared_info_gfn = ~0ull;
    gnttab_forget_gfn(d, gfn);
}

/*
 * Unmaps a RAM frame of the domain from gfn. Xen frees it (guest_remove_page);
 * here it stays allocated to the domain, unmapped, until the domain goes:
 * the buddy allocator frees only whole allocations, and the frame is most
 * likely one 4 KiB piece of a 2 MiB one (domain_populate_ram). So tot_pages
 * is unchanged, and a vcpu_info registered in the frame stays valid.
 */
static int ram_unmap(struct domain *d, gfn_t gfn, mfn_t mfn)
{
    int rc;

    if (!mfn_valid(mfn) || mfn_to_page(mfn)->owner != d)
        return -EINVAL;
    if ((rc = p2m_remove(&d->p2m, gfn, 0)))
        return rc;
    physmap_changed(d);
    return 0;
}

static unsigned int gfn_bits(void);

int physmap_release_gfn(struct domain *d, gfn_t gfn, mfn_t mfn)
{
    mfn_t old;
    enum p2m_type t;

    if (gfn >> gfn_bits())
        return -EINVAL;                   /* beyond the guest's physical address width */
    t = p2m_lookup(&d->p2m, gfn, &old);
    if (t == p2m_invalid || old == mfn)
        return 0;
    if (t == p2m_reserved) {              /* special pages are only unhooked */
        forget_special(d, gfn);
        return p2m_remove(&d->p2m, gfn, 0);
    }
    if (p2m_is_ram(t))
        return ram_unmap(d, gfn, old);
    return -EBUSY;
}

/* Maps a special page at gfn, unmapping it from where it was (`*where`). */
static int map_special(struct domain *d, gfn_t gfn, mfn_t mfn, gfn_t *where, bool was_mapped)
{
    int rc = physmap_release_gfn(d, gfn, mfn);

    if (!rc && was_mapped && *where != gfn) {
        rc = p2m_remove(&d->p2m, *where, 0);
        *where = ~0ull;
    }
    if (!rc)
        rc = p2m_set_entry(&d->p2m, gfn, mfn, 0, p2m_reserved);
    if (!rc)
        *where = gfn;
    physmap_changed(d);
    return rc;
}

static int map_shared_info(struct domain *d, uint64_t idx, gfn_t gfn)
{
    if (idx != 0)
        return -EINVAL;
    return map_special(d, gfn, d->shared_info_maddr >> PAGE_SHIFT, &d->shared_info_gfn,
                       d->shared_info_gfn != ~0ull);
}

static int map_grant_frame(struct domain *d, uint64_t idx, gfn_t gfn)
{
    gfn_t *where;
    mfn_t mfn;
    int rc = gnttab_frame_mfn(d, idx, &mfn, &where);

    return rc ? rc : map_special(d, gfn, mfn, where, *where != ~0ull);
}

/* XENMAPSPACE_gmfn: the RAM page at gfn idx moves to gfn. */
static int move_ram(struct domain *d, uint64_t idx, gfn_t gfn)
{
    mfn_t mfn;
    enum p2m_type t = p2m_lookup(&d->p2m, idx, &mfn);
    int rc;

    if (!p2m_is_ram(t) || !mfn_valid(mfn) || mfn_to_page(mfn)->owner != d)
        return -EINVAL;
    if (idx == gfn)
        return 0;
    rc = physmap_release_gfn(d, gfn, mfn);
    if (!rc)
        rc = p2m_remove(&d->p2m, idx, 0);
    if (!rc)
        rc = p2m_set_entry(&d->p2m, gfn, mfn, 0, t);
    physmap_changed(d);
    return rc;
}

/* Nothing lies beyond the guest's CPUID physical address width. */
static unsigned int gfn_bits(void)
{
    unsigned int bits = msr_platform_get()->maxphyaddr;

    return (bits >= 32 && bits <= PADDR_BITS ? bits : PADDR_BITS) - PAGE_SHIFT;
}

struct xatp {
    domid_t domid;
    unsigned int space;
    uint64_t idx, gpfn;
};

static int read_xatp(struct vcpu *v, struct hcall *h, uint64_t arg, struct xatp *x)
{
    if (h->compat) {
        struct compat_add_to_physmap c;
        if (copy_from_guest(v, &c, arg, sizeof(c)))
            return -EFAULT;
        *x = (struct xatp){ c.domid, c.space, c.idx, c.gpfn };
    } else {
        struct xen_add_to_physmap n;
        if (copy_from_guest(v, &n, arg, sizeof(n)))
            return -EFAULT;
        *x = (struct xatp){ n.domid, n.space, n.idx, n.gpfn };
    }
    return 0;
}

static long add_to_physmap(struct vcpu *v, struct hcall *h, uint64_t arg, uint64_t start)
{
    struct domain *d;
    struct xatp x;
    int rc;

    if (start > 0xffff)                   /* Xen: it must fit xatp.size */
        return -EDOM;
    if ((rc = read_xatp(v, h, arg, &x)))
        return rc;
    if (x.space == XENMAPSPACE_gmfn_foreign)
        return -ENOSYS;
    if ((rc = self_domain(v, x.domid, &d)))
        return rc;
    if (x.gpfn >> gfn_bits())
        return -EINVAL;
    spin_lock(&d->lock);
    switch (x.space) {
    case XENMAPSPACE_shared_info: rc = map_shared_info(d, x.idx, x.gpfn); break;
    case XENMAPSPACE_grant_table: rc = map_grant_frame(d, x.idx, x.gpfn); break;
    case XENMAPSPACE_gmfn:        rc = move_ram(d, x.idx, x.gpfn); break;
    case XENMAPSPACE_gmfn_range:  rc = -ENOSYS; break;
    default:                      rc = -EINVAL; break;
    }
    spin_unlock(&d->lock);
    return rc;
}

/* ---- decrease_reservation, populate_physmap --------------------------------------------- */

/* struct xen_memory_reservation of either width. */
struct reservation {
    uint64_t extent_start;                /* guest address of the xen_pfn_t list */
    uint64_t nr_extents;
    uint32_t extent_order, mem_flags;
    domid_t domid;
};
struct compat_memory_reservation {
    uint32_t extent_start, nr_extents, extent_order, mem_flags;
    domid_t domid;
};
BUILD_BUG_ON(sizeof(struct xen_memory_reservation) != 32);
BUILD_BUG_ON(sizeof(struct compat_memory_reservation) != 20);

/* Pages given back or populated per exit before the call continues. */
#define RESERVATION_PAGES_PER_EXIT 4096

static int read_reservation(struct vcpu *v, struct hcall *h, uint64_t arg, struct reservation *r)
{
    if (h->compat) {
        struct compat_memory_reservation c;
        if (copy_from_guest(v, &c, arg, sizeof(c)))
            return -EFAULT;
        *r = (struct reservation){ c.extent_start, c.nr_extents, c.extent_order, c.mem_flags,
                                   c.domid };
    } else {
        struct xen_memory_reservation n;
        if (copy_from_guest(v, &n, arg, sizeof(n)))
            return -EFAULT;
        *r = (struct reservation){ (uint64_t)(uintptr_t)n.extent_start.p, n.nr_extents,
                                   n.extent_order, n.mem_flags, n.domid };
    }
    return 0;
}

static int read_extent(struct vcpu *v, struct hcall *h, const struct reservation *r, uint64_t i,
                       gfn_t *gfn)
{
    uint32_t g32;

    if (!h->compat)
        return copy_from_guest(v, gfn, r->extent_start + i * 8, 8);
    if (copy_from_guest(v, &g32, r->extent_start + i * 4, 4))
        return -EFAULT;
    *gfn = g32;
    return 0;
}

/* What Xen's construct_memop_from_reservation and max_order() refuse, or
   what we cannot do: a real address restriction (MEMF_bits: our frames
   come from anywhere), populate-on-demand. Extents are at most order 12
   for the hardware domain (hwdom_max_order), 9 for others. */
static bool reservation_ok(const struct domain *d, const struct reservation *r, unsigned int op)
{
    unsigned int bits = XENMEMF_get_address_bits(r->mem_flags), need = PAGE_SHIFT;

    while (need < 64 && (1ull << (need - PAGE_SHIFT)) < max_mfn)
        need++;
    if (bits && bits < need)
        return false;
    if (op == XENMEM_populate_physmap && (r->mem_flags & XENMEMF_populate_on_demand))
        return false;
    return r->extent_order <= (d->is_initial ? 12u : 9u);
}

/* Xen's decrease_reservation extent: guest_remove_page on each page. */
static bool decrease_extent(struct domain *d, gfn_t gfn, unsigned int order)
{
    for (uint64_t j = 0; j < (1ull << order); j++)
        if (domain_release_gfn(d, gfn + j))
            return false;
    return true;
}

/* Room at gfn for new RAM: the domain's RAM there is given back (Xen only
   drops it from the p2m), a special page unhooked; grants and MMIO stay. */
static int populate_clear(struct domain *d, gfn_t gfn)
{
    mfn_t old;
    enum p2m_type t = p2m_lookup(&d->p2m, gfn, &old);
    int rc;

    if (t == p2m_invalid)
        return 0;
    if (p2m_is_ram(t))
        return domain_release_gfn(d, gfn);
    spin_lock(&d->lock);
    rc = physmap_release_gfn(d, gfn, INVALID_MFN);
    spin_unlock(&d->lock);
    return rc;
}

/* One extent of populate_physmap: fresh zeroed RAM, within max_pages. */
static bool populate_extent(struct domain *d, gfn_t gfn, unsigned int order)
{
    uint64_t n = 1ull << order;
    int rc;

    if (gfn + n < gfn || (gfn + n - 1) >> gfn_bits())
        return false;
    for (uint64_t j = 0; j < n; j++)
        if (populate_clear(d, gfn + j))
            return false;
    spin_lock(&d->lock);
    rc = d->tot_pages + n > d->max_pages ? -ENOMEM : domain_populate_ram(d, gfn, n);
    spin_unlock(&d->lock);
    if (rc)                               /* what part of the extent was populated goes */
        for (uint64_t j = 0; j < n; j++)
            (void)domain_release_gfn(d, gfn + j);
    return !rc;
}

/*
 * decrease_reservation / populate_physmap (Xen's do_memory_op): returns the
 * number of extents done; failing to read the reservation, a bad domain or
 * flags, or start >= nr_extents return `start` (Xen: start_extent). The
 * call continues after RESERVATION_PAGES_PER_EXIT pages with the extent to
 * resume at in cmd's upper bits, as Xen's continuation encodes it.
 */
static long reservation_op(struct vcpu *v, struct hcall *h, unsigned int op, uint64_t start)
{
    struct reservation r;
    struct domain *d = v->domain;
    uint64_t i, work = 0;

    if (read_reservation(v, h, h->arg[1], &r))
        return (long)start;
    if (r.nr_extents > (UINT32_MAX >> MEMOP_EXTENT_SHIFT) || start >= r.nr_extents)
        return (long)start;
    if ((r.domid != DOMID_SELF && r.domid != d->domain_id) || !reservation_ok(d, &r, op))
        return (long)start;
    for (i = start; i < r.nr_extents; i++) {
        gfn_t gfn;
        if (i > start && work >= RESERVATION_PAGES_PER_EXIT) {
            h->arg[0] = op | (i << MEMOP_EXTENT_SHIFT);
            hcall_continue(h);
            return 0;
        }
        if (read_extent(v, h, &r, i, &gfn))
            break;
        if (!(op == XENMEM_decrease_reservation ? decrease_extent(d, gfn, r.extent_order)
                                                : populate_extent(d, gfn, r.extent_order)))
            break;
        work += 1ull << r.extent_order;
    }
    return (long)i;
}

long do_memory_op(struct vcpu *v, struct hcall *h)
{
    unsigned int op = h->arg[0] & MEMOP_CMD_MASK;
    uint64_t start = h->arg[0] >> MEMOP_EXTENT_SHIFT;    /* Xen: unsigned long cmd */
    uint64_t arg = h->arg[1];

    switch (op) {
    case XENMEM_maximum_ram_page:
        return start ? -EINVAL : (long)max_mfn;
    case XENMEM_current_reservation:
    case XENMEM_maximum_reservation:
    case XENMEM_maximum_gpfn:
        return start ? -EINVAL : reservation(v, op, arg);
    case XENMEM_add_to_physmap:
        return add_to_physmap(v, h, arg, start);
    case XENMEM_decrease_reservation:
    case XENMEM_populate_physmap:
        return reservation_op(v, h, op, start);
    case XENMEM_memory_map:
        /* An arch op: Xen matches the whole cmd, so extent bits miss it. */
        return start ? -ENOSYS : memory_map(v, h, arg);
    default:
        return -ENOSYS;
    }
}
