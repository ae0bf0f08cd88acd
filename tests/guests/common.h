/* Helpers several test guests share: bad guest pointers and free GFNs. */
#ifndef GUEST_COMMON_H
#define GUEST_COMMON_H

#include "guest.h"

/*
 * Guest handles are linear addresses, translated through the guest's own
 * page tables (Xen's copy_{to,from}_guest on HVM). Three kinds of bad one:
 * a linear address our tables leave unmapped, a non-canonical one, and an
 * identity-mapped GPA that is not RAM (0xfffff000: the BIOS ROM area at the
 * top of 4 GiB, never RAM in a PVH memory map).
 */
#define BAD_PTR_UNMAPPED    ((void *)(uintptr_t)(UNMAPPED_BASE + 0x800))
#define BAD_PTR_NONCANON    ((void *)0x8000000000000000ULL)
#define BAD_PTR_NOT_RAM     ((void *)0xfffff000ULL)

/* End of the RAM region the image sits in, when the next byte is not RAM
 * and is below 4 GiB (identity mapped): buffers ending there straddle RAM's
 * end. 0 when the layout does not allow the check. */
static inline uint64_t ram_end_below_4g(void)
{
    uint64_t end = ram_region_end((uintptr_t)_start_image);
    return (end && end < UNMAPPED_BASE && !ram_region_end(end)) ? end : 0;
}

/* A 4 KiB guest frame, below 4 GiB and above the image's RAM region, that no
 * memory map entry covers and that is clear of the APIC/IOAPIC/HPET window:
 * somewhere to map things with XENMEM_add_to_physmap. n picks the n-th. */
static inline uint64_t free_gfn(unsigned int n)
{
    uint64_t end = ram_region_end((uintptr_t)_start_image);
    uint64_t gpa = ((end + 0x1fffff) & ~0x1fffffULL) + 0x200000;
    for (; gpa < 0xfe000000ULL; gpa += 0x200000) {
        bool used = false;
        for (unsigned int i = 0; i < guest_memmap_nr; i++) {
            const struct hvm_memmap_table_entry *e = &guest_memmap[i];
            if (gpa + PAGE_SIZE * 8 > e->addr && gpa < e->addr + e->size)
                used = true;
        }
        if (!used)
            return (gpa >> 12) + n;
    }
    return 0;
}

/* XENMEM_add_to_physmap of `space`/`idx` at guest frame gfn, for DOMID_SELF. */
static inline long add_to_physmap(unsigned int space, unsigned long idx, uint64_t gfn)
{
    struct xen_add_to_physmap xatp = {
        .domid = DOMID_SELF, .space = space, .idx = idx, .gpfn = gfn,
    };
    return HYPERVISOR_memory_op(XENMEM_add_to_physmap, &xatp);
}

#endif
