/*
 * The machine-to-physical table: for each machine frame, the guest frame
 * number its owner gave it (MMU_MACHPHYS_UPDATE), or PV_M2P_INVALID. PV
 * guests read it at RO_MPT_VIRT_START (xen-x86_64.h, L4 slot 256) through
 * a read-only mapping built here; only the hypervisor writes it, through
 * its own (direct-map) pointer.
 */
#include <proxenos/pv_mm.h>
#include <proxenos/pagetable.h>

static unsigned long *m2p;           /* set once at boot */
static uint64_t m2p_nr;

void pv_m2p_init(unsigned long *table, uint64_t nr)
{
    for (uint64_t i = 0; i < nr; i++)
        table[i] = PV_M2P_INVALID;
    m2p = table;
    m2p_nr = nr;
}

unsigned long pv_m2p_get(mfn_t mfn)
{
    return mfn < m2p_nr ? __atomic_load_n(&m2p[mfn], __ATOMIC_RELAXED) : PV_M2P_INVALID;
}

bool pv_m2p_set(mfn_t mfn, unsigned long pfn)
{
    if (mfn >= m2p_nr)
        return false;
    /* One aligned store: a guest reading concurrently sees old or new. */
    __atomic_store_n(&m2p[mfn], pfn, __ATOMIC_RELAXED);
    return true;
}

uint64_t pv_m2p_entries(void)
{
    return m2p_nr;
}

/* Entry flags of the guest-visible mapping: present and user at every
   level (the PV kernel runs in ring 3), never writable. */
#define RO_TABLE  (PTE_P | PTE_US)

/* The table below entry e, creating it if absent. NULL on exhaustion or
   when a large page is in the way. */
static uint64_t *next_table(uint64_t *e, paddr_t (*alloc_table)(void),
                            uint64_t *(*map_table)(paddr_t))
{
    if (!(*e & PTE_P)) {
        paddr_t pa = alloc_table();

        if (!pa)
            return NULL;
        *e = pa | RO_TABLE;
    } else if (*e & PTE_PS) {
        return NULL;
    }
    return map_table(*e & PTE_ADDR_MASK);
}

int pv_m2p_build_ro_map(uint64_t *l4, paddr_t table_pa, uint64_t nr_frames,
                        paddr_t (*alloc_table)(void), uint64_t *(*map_table)(paddr_t))
{
    if (!nr_frames || (table_pa & (PAGE_SIZE - 1)) ||
        nr_frames > ((PV_RO_MPT_END - PV_RO_MPT_START) >> PAGE_SHIFT))
        return -EINVAL;
    for (uint64_t i = 0; i < nr_frames; i++) {
        uint64_t va = PV_RO_MPT_START + (i << PAGE_SHIFT);
        uint64_t *t = l4;

        for (unsigned int level = 4; level > 1; level--) {
            unsigned int idx = (unsigned int)(va >> (PAGE_SHIFT + 9 * (level - 1))) & 511;

            /* Tables below the L4 entry are ours: make them readable from
               ring 3. The L4 entry is the hypervisor's (guests get a copy
               with US, pv_xen_l4_slots). */
            if (level < 4 && (t[idx] & PTE_P))
                t[idx] |= PTE_US;
            t = next_table(&t[idx], alloc_table, map_table);
            if (!t)
                return -ENOMEM;
        }
        t[(va >> PAGE_SHIFT) & 511] = (table_pa + (i << PAGE_SHIFT)) | RO_TABLE | PTE_A;
    }
    return 0;
}
