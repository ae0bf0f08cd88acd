/*
 * The hypervisor side of the PV validator's seams (pv_mm.h): frames through
 * the direct map, freed frames back to the buddy allocator, and the
 * boot-time tables (linear page-table counters, the M2P and its read-only
 * mapping in L4 slot 256, the hypervisor L4 slots every guest L4 gets).
 * Never linked into host tests, which provide their own fakes.
 */
#include <proxenos/pv_mm.h>
#include <proxenos/buddy.h>
#include <proxenos/domain.h>
#include <proxenos/layout.h>
#include <proxenos/lib.h>
#include <proxenos/mm.h>
#include <proxenos/pagetable.h>
#include <proxenos/printk.h>

BUILD_BUG_ON(PV_MM_MAX_VCPUS != MAX_VCPUS_PER_DOM);
BUILD_BUG_ON(PV_L4_XEN_FIRST != HV_L4_FIRST || PV_L4_XEN_LAST != HV_L4_LAST);
BUILD_BUG_ON(PV_RO_MPT_START != __MACH2PHYS_VIRT_START);
BUILD_BUG_ON(PV_RO_MPT_END != __MACH2PHYS_VIRT_END);
BUILD_BUG_ON(PV_RO_MPT_START != HYPERVISOR_VIRT_START);

void *pv_map_frame(mfn_t mfn)
{
    return __va(mfn << PAGE_SHIFT);
}

/*
 * The last reference of a frame is gone. Guest frames go back to the
 * allocator; they must have been allocated one by one (order 0), since
 * free_frames() cannot split a block. The owner's tot_pages counts the
 * frames it owns, so it drops here. The hypervisor's own (shared) frames
 * are freed by their hypervisor owner instead.
 */
void pv_frame_released(struct page_info *pg)
{
    struct domain *d = __atomic_exchange_n(&pg->owner, NULL, __ATOMIC_ACQ_REL);
    uint64_t c = pg->count_info;
    mfn_t mfn = page_to_mfn(pg);

    if (c & PGC_xen_heap)
        return;
    if (d)
        __atomic_fetch_sub(&d->tot_pages, 1, __ATOMIC_RELAXED);
    pv_m2p_set(mfn, PV_M2P_INVALID);
    pg->type_info = 0;
    if (pgc_state(c) == PGC_state_inuse && (c & PGC_head) && pgc_order(c) == 0)
        free_frames(mfn << PAGE_SHIFT, 0);
    else
        printk(LOG_WARN "pv: frame %#lx is inside a larger block: not freed\n", mfn);
}

static unsigned int order_for(uint64_t bytes)
{
    unsigned int order = 0;

    while ((PAGE_SIZE << order) < bytes)
        order++;
    return order;
}

static paddr_t ro_map_table_alloc(void)
{
    void *p = alloc_pages(0);

    if (!p)
        return 0;
    memset(p, 0, PAGE_SIZE);
    return __pa(p);
}

static uint64_t *ro_map_table_map(paddr_t pa)
{
    return __va(pa);
}

/*
 * Called once at boot, before the first PV domain. L4 slot 256 belongs to
 * the M2P alone (layout.h), so its subtree is filled here without the page
 * table lock of hypervisor/mm, and only with new mappings (no flush).
 */
int pv_mm_boot_init(void)
{
    uint64_t lin_bytes = max_mfn * sizeof(int16_t), m2p_bytes = max_mfn * sizeof(unsigned long);
    unsigned int lin_order = order_for(lin_bytes), m2p_order = order_for(m2p_bytes);
    int16_t *lin = lin_order <= MAX_ORDER ? alloc_pages(lin_order) : NULL;
    unsigned long *m2p = m2p_order <= MAX_ORDER ? alloc_pages(m2p_order) : NULL;
    int rc;

    if (!lin || !m2p) {
        if (lin)
            free_pages(lin, lin_order);
        if (m2p)
            free_pages(m2p, m2p_order);
        printk(LOG_ERR "pv: no memory for the M2P of %lu frames\n", max_mfn);
        return -ENOMEM;
    }
    memset(lin, 0, PAGE_SIZE << lin_order);
    pv_linear_pt_count = lin;
    pv_m2p_init(m2p, max_mfn);
    rc = pv_m2p_build_ro_map(idle_pg_table, __pa(m2p), ALIGN_UP(m2p_bytes, PAGE_SIZE) >> PAGE_SHIFT,
                             ro_map_table_alloc, ro_map_table_map);
    for (unsigned int i = 0; i < PV_L4_XEN_SLOTS; i++)
        pv_xen_l4_slots[i] = idle_pg_table[PV_L4_XEN_FIRST + i];
    /* Guests reach the M2P from ring 3: slot 256 is user-accessible in
       their L4s (its tables are read-only all the way down). */
    if (!rc)
        pv_xen_l4_slots[0] |= PTE_US;
    printk("pv: M2P of %lu frames (%lu KiB)%s\n", max_mfn, m2p_bytes >> 10,
           rc ? ", no guest mapping" : " mapped read-only for guests");
    return rc;
}
