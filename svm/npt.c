/*
 * Nested page table entries (APM vol. 2, 15.25.5): ordinary long-mode page
 * table entries, read with the guest treated as user: the U bit must be set
 * at every level, or the guest's accesses fault.
 */
#include <proxenos/p2m.h>
#include "svm_private.h"

#define NPT_P   (1ull << 0)
#define NPT_RW  (1ull << 1)
#define NPT_US  (1ull << 2)
#define NPT_PWT (1ull << 3)
#define NPT_PCD (1ull << 4)
#define NPT_A   (1ull << 5)
#define NPT_D   (1ull << 6)
#define NPT_NX  (1ull << 63)

static uint64_t npt_leaf(paddr_t mpa, enum p2m_type t, bool large)
{
    uint64_t pte = (mpa & P2M_ADDR_MASK) | NPT_P | NPT_US | NPT_A | NPT_D |
                   ((uint64_t)t << P2M_TYPE_SHIFT);

    if (p2m_is_writable(t))
        pte |= NPT_RW;
    if (t == p2m_mmio_direct)
        pte |= NPT_PCD | NPT_PWT;      /* device memory: uncached */
    if (large)
        pte |= P2M_LARGE;
    return pte;
}

static uint64_t npt_table(paddr_t mpa)
{
    return (mpa & P2M_ADDR_MASK) | NPT_P | NPT_RW | NPT_US | NPT_A;
}

static bool npt_present(uint64_t pte)
{
    return pte & NPT_P;
}

const struct p2m_format npt_format = {
    .name = "NPT", .leaf = npt_leaf, .table = npt_table, .present = npt_present,
};
