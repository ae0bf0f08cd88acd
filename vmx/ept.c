/*
 * EPT entries for the generic p2m (SDM vol. 3C, 28.3.2, tables 28-1 to
 * 28-6): R/W/X permissions in bits 0-2, the memory type in bits 3-5 and
 * "ignore PAT" in bit 6 of leaves, bit 7 for 2 MiB / 1 GiB leaves. The
 * accessed/dirty flags (bits 8-9) are unused: the EPTP leaves A/D off.
 * The p2m keeps its type in bits 52-55, which EPT ignores (table 28-6).
 */
#include <proxenos/layout.h>
#include <proxenos/p2m.h>
#include <proxenos/printk.h>
#include "vmx_private.h"

#define EPT_R        (1ull << 0)
#define EPT_W        (1ull << 1)
#define EPT_X        (1ull << 2)
#define EPT_RWX      (EPT_R | EPT_W | EPT_X)
#define EPT_MT_SHIFT 3
#define EPT_MT_UC    0ull
#define EPT_MT_WB    6ull
#define EPT_IPAT     (1ull << 6)

/* Guest RAM is write-back whatever the guest's PAT says (ignore PAT);
   machine MMIO is uncached. Read-only RAM stays executable. */
static uint64_t ept_leaf(paddr_t mpa, enum p2m_type t, bool large)
{
    uint64_t pte = (mpa & P2M_ADDR_MASK) | ((uint64_t)t << P2M_TYPE_SHIFT) | EPT_IPAT;

    switch (t) {
    case p2m_ram_rw:
    case p2m_grant_map_rw:
        pte |= EPT_RWX | (EPT_MT_WB << EPT_MT_SHIFT);
        break;
    case p2m_ram_ro:
    case p2m_grant_map_ro:
        pte |= EPT_R | EPT_X | (EPT_MT_WB << EPT_MT_SHIFT);
        break;
    case p2m_reserved:
        pte |= EPT_R | EPT_W | (EPT_MT_WB << EPT_MT_SHIFT);
        break;
    case p2m_mmio_direct:
        pte |= EPT_R | EPT_W | (EPT_MT_UC << EPT_MT_SHIFT);
        break;
    default:
        return 0;                    /* not present */
    }
    if (large)
        pte |= P2M_LARGE;
    return pte;
}

/* Non-leaf entries grant everything: the leaf decides (SDM 28.3.3). */
static uint64_t ept_table(paddr_t mpa)
{
    return (mpa & P2M_ADDR_MASK) | EPT_RWX;
}

/* An EPT entry is present when any of R/W/X is set (SDM 28.3.2). */
static bool ept_present(uint64_t pte)
{
    return pte & EPT_RWX;
}

const struct p2m_format ept_format = {
    .name = "EPT", .leaf = ept_leaf, .table = ept_table, .present = ept_present,
};

/* EPTP (SDM 24.6.11, table 24-8): WB paging-structure memory type in bits
   2:0, page-walk length minus one (3: four levels) in bits 5:3, A/D off. */
uint64_t ept_pointer(paddr_t root)
{
    return (root & P2M_ADDR_MASK) | EPT_MT_WB | ((4ull - 1) << 3);
}

/* Prints the EPT entries on the way to gpa (for misconfigurations). */
void ept_dump_entry(struct vcpu *v, uint64_t gpa)
{
    paddr_t table = v->domain->p2m.root;
    static const char *const names[] = { "PML4E", "PDPTE", "PDE", "PTE" };

    for (int level = 3; level >= 0; level--) {
        unsigned int idx = (gpa >> (PAGE_SHIFT + 9 * level)) & 511;
        uint64_t e = ((const uint64_t *)__va(table))[idx];

        printk(LOG_ERR "  EPT %-5s [%3u] = %016lx (%c%c%c mt %lu%s%s)\n", names[3 - level], idx, e,
               e & EPT_R ? 'r' : '-', e & EPT_W ? 'w' : '-', e & EPT_X ? 'x' : '-',
               (e >> EPT_MT_SHIFT) & 7, e & EPT_IPAT ? " ipat" : "",
               e & P2M_LARGE ? " large" : "");
        if (!ept_present(e) || (level < 3 && level > 0 && (e & P2M_LARGE)))
            return;
        table = e & P2M_ADDR_MASK;
    }
}
