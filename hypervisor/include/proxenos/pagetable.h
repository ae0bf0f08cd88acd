/*
 * The hypervisor's own page tables (hypervisor/mm/pagetable.c) and the
 * virtual areas mapped through them (hypervisor/mm/vmap.c).
 *
 * One set of tables, idle_pg_table, is shared by every CPU. Of its L4 slots,
 * 256-271 (the PV ABI's hypervisor hole, see layout.h) are populated with L3
 * tables at boot and never replaced, so a PV guest's L4 can later share them
 * by copying those 16 entries once. Slot 0 keeps the boot identity map of
 * the low 4 GiB until mm_drop_identity_map().
 */
#ifndef PROXENOS_PAGETABLE_H
#define PROXENOS_PAGETABLE_H
#include <proxenos/types.h>

/* Page-table entry bits, SDM vol. 3A, 4.5 (tables 4-15 to 4-20). */
#define PTE_P     (1ULL << 0)
#define PTE_RW    (1ULL << 1)
#define PTE_US    (1ULL << 2)
#define PTE_PWT   (1ULL << 3)
#define PTE_PCD   (1ULL << 4)
#define PTE_A     (1ULL << 5)
#define PTE_D     (1ULL << 6)
#define PTE_PS    (1ULL << 7)         /* in an L3/L2 entry: 1 GiB / 2 MiB page */
#define PTE_G     (1ULL << 8)
#define PTE_NX    (1ULL << 63)        /* needs EFER.NXE, else a reserved bit */
#define PTE_ADDR_MASK 0x000ffffffffff000ULL

/* Leaf permissions of the hypervisor's mappings. Without NX support the
 * NX bit is dropped when an entry is written. With the power-on PAT,
 * PCD|PWT selects entry 3, UC (SDM vol. 3A, 12.12.2 table 12-11). */
#define PAGE_HYPERVISOR_RX  (PTE_P)
#define PAGE_HYPERVISOR_RO  (PTE_P | PTE_NX)
#define PAGE_HYPERVISOR_RW  (PTE_P | PTE_RW | PTE_NX)
#define PAGE_HYPERVISOR_UC  (PTE_P | PTE_RW | PTE_NX | PTE_PCD | PTE_PWT)

/* Virtual area for ioremap() in L4 slot 261, below the image (64 GiB). */
#define IOREMAP_BASE  0xffff82c000000000ULL
#define IOREMAP_END   0xffff82d000000000ULL
/* Stack slots (layout.h's STACK_VIRT_BASE) run to the end of slot 261. */
#define STACK_VIRT_END 0xffff830000000000ULL

extern uint64_t idle_pg_table[512];
/* Physical address of idle_pg_table: the CR3 of every CPU. It lies in the
 * image, below 4 GiB, so a 32-bit AP trampoline can load it. */
extern paddr_t hv_cr3;
extern bool cpu_has_nx, cpu_has_1gb_pages;

/*
 * Builds the final tables and switches CPU 0 to them: the image with 4 KiB
 * pages (text RX, rodata RO, data RW, CPU 0's guard page absent), the direct
 * map (write-back: the first MiB and every RAM, ACPI and NVS range of `map`;
 * uncached: every other range below 4 GiB, i.e. MMIO and firmware), and the
 * identity map of the low 4 GiB that the boot tables had.
 * alloc_table returns a zeroed page below 4 GiB (the boot direct map's
 * reach) for page tables.
 */
struct e820map;
void pagetable_init(const struct e820map *map, paddr_t (*alloc_table)(void));
/* Where later page-table pages come from (the buddy allocator once it runs). */
void pagetable_set_allocator(paddr_t (*alloc_table)(void));

/*
 * Maps n 4 KiB pages at va to pa (both page-aligned) with `flags`
 * (PAGE_HYPERVISOR_*), in the hypervisor hole only. Uses 2 MiB and 1 GiB
 * pages where alignment allows and nothing finer is mapped there already;
 * replaces existing mappings. Returns 0, -EINVAL, or -ENOMEM (partially
 * mapped then).
 */
int map_pages(uintptr_t va, paddr_t pa, uint64_t n, uint64_t flags);
/* The same with 4 KiB pages only. */
int map_pages_4k(uintptr_t va, paddr_t pa, uint64_t n, uint64_t flags);
/* Removes the mappings of n pages at va (splitting large pages as needed)
 * and flushes the TLBs. Returns 0, -EINVAL or -ENOMEM (for a split). */
int unmap_pages(uintptr_t va, uint64_t n);
/* Translates va through idle_pg_table: returns true with *pa and the leaf
 * entry's flags, false if unmapped. */
bool pt_lookup(uintptr_t va, paddr_t *pa, uint64_t *flags);

/*
 * Removes the identity map of the low 4 GiB (L4 slot 0). Call it once every
 * AP is in long mode on hv_cr3: the AP trampoline needs the identity map
 * while it enables paging. Flushes this CPU's TLB and calls
 * flush_tlb_others().
 */
void mm_drop_identity_map(void);
bool mm_identity_mapped(void);

void flush_tlb_local(void);
/* Flushes the other CPUs' TLBs after a mapping was removed or changed. The
 * weak default does nothing (one CPU); the SMP code overrides it with an IPI
 * that makes every other online CPU call flush_tlb_local(). It is called
 * after the page-table lock is dropped, with interrupts as the caller of
 * map/unmap had them. */
void flush_tlb_others(void);

/*
 * MMIO and firmware tables (vmap.c). ioremap() maps [pa, pa + len)
 * uncached; ioremap_cache() write-back, for ACPI tables. Where the direct
 * map already serves the request it is used: below 4 GiB, where it maps
 * every non-memory range uncached, ioremap() returns __va(pa), and
 * ioremap_cache() on a "reserved" range returns that uncached mapping too
 * (slow but no alias). Asking for UC on memory that the direct map holds
 * write-back is refused (NULL): one frame with two memory types is
 * undefined (SDM vol. 3A, 12.12.4). Fresh windows go to IOREMAP_BASE.
 * Returns NULL on exhaustion. Virtual space is not recycled: map once.
 */
void *ioremap(paddr_t pa, size_t len);
void *ioremap_cache(paddr_t pa, size_t len);
void iounmap(void *va, size_t len);

#endif
