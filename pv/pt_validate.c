/*
 * Page-table entries and tables of 64-bit PV guests: what an entry of each
 * level may contain and which references it holds (Xen 4.17's
 * get_page_from_l{1,2,3,4}e / put_page_from_l*e), and the validation and
 * devalidation of a whole table (promote_l*_table / demote_l*_table).
 * Entry formats: SDM vol. 3A, 4.5, tables 4-15 to 4-20.
 */
#include <proxenos/pv_mm.h>
#include <proxenos/pagetable.h>

static const char *const bad_bits[5] = {
    NULL,
    "disallowed bits in an L1 entry (PAT/PCD/PWT, bit 62, reserved)",
    "disallowed bits in an L2 entry (PS, G, PCD/PWT, reserved)",
    "disallowed bits in an L3 entry (PS, G, PCD/PWT, reserved)",
    "disallowed bits in an L4 entry (PS, G, PCD/PWT, reserved)",
};

uint64_t pv_xen_l4_slots[PV_L4_XEN_SLOTS];

int pv_check_entry(struct pv_mm *mm, unsigned int level, uint64_t e)
{
    uint64_t bad = e & (level == 1 ? mm->l1_disallow : mm->base_disallow);

    return bad ? pv_refuse(mm, -EINVAL, bad_bits[level]) : 0;
}

/* What Xen's adjust_guest_l*e do for 64-bit guests: the kernel runs in
   ring 3, so every present entry is user-accessible (kernel and user are
   told apart by their separate L4s); L4 entries are marked accessed. We
   also clear G from L1 entries: a global mapping would survive the CR3
   switches between guests unless every switch flushed global pages. */
uint64_t pv_adjust_entry(unsigned int level, uint64_t e)
{
    if (!(e & PTE_P))
        return e;
    e |= PTE_US;
    if (level == 1)
        e &= ~PTE_G;
    if (level == 4)
        e |= PTE_A;
    return e;
}

/* I/O memory the domain may map: no references are taken or dropped. */
static bool io_frame(struct pv_mm *mm, mfn_t mfn)
{
    return mm->ops->iomem_ok && mm->ops->iomem_ok(mm, mfn);
}

static int get_l1e_refs(struct pv_mm *mm, uint64_t e)
{
    mfn_t mfn = pv_pte_mfn(e);
    struct page_info *pg;

    if (io_frame(mm, mfn))
        return 0;
    if (!mfn_valid(mfn))
        return pv_refuse(mm, -EPERM, "L1 entry maps a frame outside RAM (needs I/O privilege)");
    pg = mfn_to_page(mfn);
    if (!pv_get_page(pg, mm->d))
        return pv_refuse(mm, -EBUSY, "L1 entry maps a frame not the domain's");
    if ((e & PTE_RW) && pv_get_page_type(mm, pg, PGT_writable_page)) {
        pv_put_page(pg);
        return pv_refuse(mm, -EBUSY, "L1 entry would make a typed frame writable");
    }
    return 0;
}

int pv_get_entry_refs(struct pv_mm *mm, unsigned int level, mfn_t table, uint64_t e)
{
    int rc;

    if (level == 1)
        return get_l1e_refs(mm, e);
    rc = pv_get_page_and_type(mm, pv_pte_mfn(e), pv_level_type(level - 1));
    /* Not a table of the level below: maybe a linear entry (Xen retries
       exactly on -EINVAL too). */
    if (rc == -EINVAL && !pv_get_linear(mm, e, level, table))
        return 0;
    return rc;
}

void pv_put_entry_refs(struct pv_mm *mm, unsigned int level, mfn_t table, uint64_t e)
{
    mfn_t mfn = pv_pte_mfn(e);
    struct page_info *pg;

    if (level == 1 && io_frame(mm, mfn))
        return;
    if (!mfn_valid(mfn)) {
        pv_mm_bugs++;
        return;
    }
    pg = mfn_to_page(mfn);
    if (level == 1) {
        if (e & PTE_RW)
            pv_put_page_type(mm, pg);
        pv_put_page(pg);
        return;
    }
    if (mfn == table)
        return;
    /* We hold a type reference, so the type is stable: the level below for
       an ordinary entry, this level for a linear one. */
    if (pv_type_level(__atomic_load_n(&pg->type_info, __ATOMIC_ACQUIRE)) == level)
        pv_put_linear(mm, pg, table);
    else
        pv_put_page_and_type(mm, pg);
}

static uint64_t read_entry(const uint64_t *t, unsigned int i)
{
    return __atomic_load_n(&t[i], __ATOMIC_RELAXED);
}

static void write_entry(uint64_t *t, unsigned int i, uint64_t e)
{
    __atomic_store_n(&t[i], e, __ATOMIC_RELEASE);
}

/* Drops the references of entries [0, end) of a table, last first. */
static void put_entries(struct pv_mm *mm, uint64_t *t, unsigned int level, mfn_t mfn,
                        unsigned int end)
{
    while (end-- > 0) {
        uint64_t e = read_entry(t, end);

        if (pv_guest_slot(level, end) && (e & PTE_P))
            pv_put_entry_refs(mm, level, mfn, e);
    }
}

int pv_validate_table(struct pv_mm *mm, struct page_info *pg, unsigned int level)
{
    mfn_t mfn = page_to_mfn(pg);
    uint64_t *t = pv_map_frame(mfn);

    for (unsigned int i = 0; i < PV_PT_ENTRIES; i++) {
        uint64_t e = read_entry(t, i);
        int rc;

        if (!pv_guest_slot(level, i) || !(e & PTE_P))
            continue;
        rc = pv_check_entry(mm, level, e);
        if (!rc)
            rc = pv_get_entry_refs(mm, level, mfn, e);
        if (rc) {
            put_entries(mm, t, level, mfn, i);
            return rc;
        }
        write_entry(t, i, pv_adjust_entry(level, e));
    }
    /* The hypervisor's slots, whatever the guest left there. */
    if (level == 4)
        for (unsigned int i = 0; i < PV_L4_XEN_SLOTS; i++)
            write_entry(t, PV_L4_XEN_FIRST + i, pv_xen_l4_slots[i]);
    mm->stats.validations++;
    return 0;
}

void pv_devalidate_table(struct pv_mm *mm, struct page_info *pg, unsigned int level)
{
    mfn_t mfn = page_to_mfn(pg);

    put_entries(mm, pv_map_frame(mfn), level, mfn, PV_PT_ENTRIES);
    mm->stats.devalidations++;
}
