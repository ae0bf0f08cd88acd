/*
 * The hypervisor's page tables: building the final set at boot, mapping and
 * unmapping in the hypervisor hole, TLB flushes.
 *
 * 4-level paging, SDM vol. 3A, 4.5. Tables are reached through the direct
 * map (before the switch, through the boot tables' direct map of the low
 * 4 GiB, which is why boot-time table pages come from below 4 GiB).
 * Intermediate entries are present and writable and carry no NX: the leaf
 * alone decides (4.6, the effective rights are the AND/OR over all levels).
 */
#include <proxenos/pagetable.h>
#include <proxenos/e820.h>
#include <proxenos/io.h>
#include <proxenos/layout.h>
#include <proxenos/lib.h>
#include <proxenos/printk.h>
#include <proxenos/spinlock.h>

#define HV_HOLE_START 0xffff800000000000ULL   /* L4 slot 256 */
#define HV_HOLE_END   0xffff880000000000ULL   /* end of slot 271 */
#define PTE_PAT_4K    (1ULL << 7)             /* PAT bit of a 4 KiB PTE */
#define PTE_PAT_LARGE (1ULL << 12)            /* PAT bit of a 2 MiB / 1 GiB entry */
#define LEAF_FLAGS    (PTE_P | PTE_RW | PTE_US | PTE_PWT | PTE_PCD | PTE_A | PTE_D | \
                       PTE_G | PTE_NX)
#define TABLE_FLAGS   (PTE_P | PTE_RW)

uint64_t idle_pg_table[512] __aligned(PAGE_SIZE) __section(".bss.page_aligned");
paddr_t hv_cr3;
bool cpu_has_nx, cpu_has_1gb_pages;

static spinlock_t pt_lock = SPINLOCK_INIT;
static paddr_t (*table_alloc)(void);    /* returns a zeroed page, or 0 */
/* A present entry changed under pt_lock: other CPUs must flush once the lock
 * is dropped (never under it: their flush IPI may need a CPU that spins). */
static bool pt_dirty;

extern char cpu0_stack_guard[];

static uint64_t level_size(unsigned int level) { return 1ULL << (PAGE_SHIFT + 9 * (level - 1)); }
static unsigned int pt_index(uintptr_t va, unsigned int level)
{
    return (va >> (PAGE_SHIFT + 9 * (level - 1))) & 511;
}
static uint64_t *table_of(uint64_t entry) { return __va(entry & PTE_ADDR_MASK); }

/* Machine address in a leaf entry of `level` (large pages: bit 12 is PAT). */
static paddr_t leaf_addr(uint64_t e, unsigned int level)
{
    return e & PTE_ADDR_MASK & ~(level_size(level) - 1);
}

void flush_tlb_local(void)
{
    write_cr3(read_cr3());            /* no global pages: CR3 reload flushes all */
}

__attribute__((weak)) void flush_tlb_others(void) { }

static uint64_t pt_lock_irqsave(void) { return spin_lock_irqsave(&pt_lock); }

static void pt_unlock_and_flush(uint64_t irq)
{
    bool flush = pt_dirty;

    pt_dirty = false;
    spin_unlock_irqrestore(&pt_lock, irq);
    if (flush)
        flush_tlb_others();
}

/* ---- walking and splitting ------------------------------------------------ */

/* Replaces the large page in *e (level 2 or 3) by a table one level down
 * mapping the same memory with the same attributes. */
static int split_large(uint64_t *e, unsigned int level)
{
    paddr_t t = table_alloc ? table_alloc() : 0;
    uint64_t base = leaf_addr(*e, level), attrs = *e & ~PTE_ADDR_MASK & ~PTE_PS;
    uint64_t child = level_size(level - 1), pat = *e & PTE_PAT_LARGE;
    uint64_t *tab;

    if (!t)
        return -ENOMEM;
    tab = __va(t);
    for (unsigned int i = 0; i < 512; i++)
        tab[i] = level == 2 ? (base + i * child) | attrs | (pat ? PTE_PAT_4K : 0)
                            : (base + i * child) | attrs | PTE_PS | pat;
    *e = t | TABLE_FLAGS;
    /* Two TLB entries of different sizes for one address are to be avoided
     * (SDM vol. 3A, 4.10.2.3): flush before anyone uses the small ones. */
    flush_tlb_local();
    pt_dirty = true;
    return 0;
}

/* The entry at `level` for va, creating tables and splitting larger pages
 * above it. NULL when out of memory. Lock held. */
static uint64_t *walk_create(uintptr_t va, unsigned int level)
{
    uint64_t *t = idle_pg_table;

    for (unsigned int l = 4; l > level; l--) {
        uint64_t *e = &t[pt_index(va, l)];
        if (!(*e & PTE_P)) {
            paddr_t n = table_alloc ? table_alloc() : 0;
            if (!n)
                return NULL;
            *e = n | TABLE_FLAGS;
        } else if (*e & PTE_PS) {
            if (split_large(e, l))
                return NULL;
        }
        t = table_of(*e);
    }
    return &t[pt_index(va, level)];
}

/* The leaf entry mapping va and its level, or NULL (*level: where the walk
 * stopped at a non-present entry). Lock held. */
static uint64_t *walk_find(uintptr_t va, unsigned int *level)
{
    uint64_t *t = idle_pg_table;

    for (unsigned int l = 4;; l--) {
        uint64_t *e = &t[pt_index(va, l)];
        *level = l;
        if (!(*e & PTE_P))
            return NULL;
        if (l == 1 || (*e & PTE_PS))
            return e;
        t = table_of(*e);
    }
}

bool pt_lookup(uintptr_t va, paddr_t *pa, uint64_t *flags)
{
    uint64_t irq = pt_lock_irqsave();
    unsigned int level;
    uint64_t *e = walk_find(va, &level);
    uint64_t v = e ? *e : 0;

    pt_unlock_and_flush(irq);
    if (!e)
        return false;
    *pa = leaf_addr(v, level) + (va & (level_size(level) - 1));
    *flags = v & ~PTE_ADDR_MASK;
    return true;
}

/* ---- mapping ------------------------------------------------------------------ */

/* Maps the largest page (up to max_level) that fits at va/pa within `left`
 * bytes; returns its size, or 0 when out of memory. Lock held. */
static uint64_t map_one(uintptr_t va, paddr_t pa, uint64_t left, uint64_t flags,
                        unsigned int max_level)
{
    for (unsigned int l = max_level; l >= 1; l--) {
        uint64_t sz = level_size(l), *e;

        if (l > 1 && (((va | pa) & (sz - 1)) || left < sz))
            continue;
        if (!(e = walk_create(va, l)))
            return 0;
        if (l > 1 && (*e & PTE_P) && !(*e & PTE_PS))
            continue;                 /* finer mappings live here: keep them */
        if (*e & PTE_P) {
            pt_dirty = true;
            invlpg((void *)va);
        }
        *e = pa | flags | (l > 1 ? PTE_PS : 0);
        return sz;
    }
    return 0;
}

static bool hv_range_ok(uintptr_t va, uint64_t n)
{
    return !(va & (PAGE_SIZE - 1)) && n && va >= HV_HOLE_START && va < HV_HOLE_END &&
           n <= (HV_HOLE_END - va) >> PAGE_SHIFT;
}

static int map_range(uintptr_t va, paddr_t pa, uint64_t n, uint64_t flags, unsigned int max_level)
{
    uint64_t left = n << PAGE_SHIFT, irq;
    int rc = 0;

    if (!hv_range_ok(va, n) || (pa & (PAGE_SIZE - 1)) || pa + left < pa ||
        pa + left > (1ULL << 52))
        return -EINVAL;
    flags &= LEAF_FLAGS;
    if (!cpu_has_nx)
        flags &= ~PTE_NX;
    irq = pt_lock_irqsave();
    while (left) {
        uint64_t done = map_one(va, pa, left, flags, max_level);
        if (!done) {
            rc = -ENOMEM;
            break;
        }
        va += done;
        pa += done;
        left -= done;
    }
    pt_unlock_and_flush(irq);
    return rc;
}

int map_pages(uintptr_t va, paddr_t pa, uint64_t n, uint64_t flags)
{
    return map_range(va, pa, n, flags, cpu_has_1gb_pages ? 3 : 2);
}

int map_pages_4k(uintptr_t va, paddr_t pa, uint64_t n, uint64_t flags)
{
    return map_range(va, pa, n, flags, 1);
}

/* Unmaps what maps va; returns how far to advance (0: out of memory).
 * Lock held. */
static uint64_t unmap_one(uintptr_t va, uint64_t left)
{
    unsigned int level;
    uint64_t *e = walk_find(va, &level), sz = level_size(level);

    if (!e)                           /* nothing here up to this level's boundary */
        return MIN(left, sz - (va & (sz - 1)));
    if (level > 1 && ((va & (sz - 1)) || left < sz))
        return split_large(e, level) ? 0 : unmap_one(va, left);
    *e = 0;
    invlpg((void *)va);
    pt_dirty = true;
    return sz;
}

int unmap_pages(uintptr_t va, uint64_t n)
{
    uint64_t left = n << PAGE_SHIFT, irq;
    int rc = 0;

    if (!hv_range_ok(va, n))
        return -EINVAL;
    irq = pt_lock_irqsave();
    while (left) {
        uint64_t done = unmap_one(va, left);
        if (!done) {
            rc = -ENOMEM;
            break;
        }
        va += done;
        left -= done;
    }
    pt_unlock_and_flush(irq);
    return rc;
}

void pagetable_set_allocator(paddr_t (*alloc_table)(void))
{
    table_alloc = alloc_table;
}

/* ---- the final tables ------------------------------------------------------------ */

static void detect_paging_features(void)
{
    uint32_t a, b, c, d;

    cpuid(0x80000000, &a, &b, &c, &d);
    if (a >= 0x80000001) {
        cpuid(0x80000001, &a, &b, &c, &d);
        cpu_has_1gb_pages = d & (1u << 26);   /* Page1GB (SDM vol. 2A, CPUID) */
    }
    /* head.asm set EFER.NXE when CPUID.80000001H:EDX.NX[20] allows. */
    cpu_has_nx = rdmsr(MSR_EFER) & EFER_NXE;
}

static void must_map(uintptr_t va, paddr_t pa, uint64_t bytes, uint64_t flags, bool large,
                     const char *what)
{
    int rc = large ? map_pages(va, pa, bytes >> PAGE_SHIFT, flags)
                   : map_pages_4k(va, pa, bytes >> PAGE_SHIFT, flags);

    if (rc)
        panic("cannot map %s (%#lx-%#lx): error %d", what, pa, pa + bytes, rc);
}

/* The image window with 4 KiB pages, so each section gets its own rights. */
static void map_image(void)
{
    uintptr_t text = (uintptr_t)__text_start, rodata = ALIGN_UP((uintptr_t)__text_end, PAGE_SIZE);
    uintptr_t data = ALIGN_UP((uintptr_t)__rodata_end, PAGE_SIZE);
    uintptr_t guard = (uintptr_t)cpu0_stack_guard, end = (uintptr_t)_end;

    must_map(text, __pa(__text_start), rodata - text, PAGE_HYPERVISOR_RX, false, "text");
    must_map(rodata, __pa((void *)rodata), data - rodata, PAGE_HYPERVISOR_RO, false, "rodata");
    must_map(data, __pa((void *)data), guard - data, PAGE_HYPERVISOR_RW, false, "data");
    /* cpu0_stack_guard stays unmapped: an overflow of CPU 0's stack faults. */
    must_map(guard + PAGE_SIZE, __pa((void *)(guard + PAGE_SIZE)), end - guard - PAGE_SIZE,
             PAGE_HYPERVISOR_RW, false, "bss");
}

static void map_direct(paddr_t start, paddr_t end, uint64_t flags, const char *what)
{
    end = MIN(end, DIRECTMAP_END - DIRECTMAP_BASE);
    if (start < end)
        must_map(DIRECTMAP_BASE + start, start, end - start, flags, true, what);
}

static bool is_memory(uint32_t type)
{
    return type == E820_RAM || type == E820_ACPI || type == E820_NVS;
}

/*
 * The direct map: the first MiB (BIOS data, EBDA, option ROMs: the RSDP
 * search and the AP trampoline use it; the VGA window uncached), every range
 * that is memory rather than MMIO (RAM, ACPI data, ACPI NVS) write-back, and
 * everything else below 4 GiB uncached: local APIC, IOAPIC, HPET and firmware
 * tables in "reserved" ranges stay reachable at __va() as they were with the
 * boot tables, with the memory type MMIO needs. Above 4 GiB only memory is
 * mapped; ioremap() reaches the rest.
 */
static void map_directmap(const struct e820map *m)
{
    paddr_t pos = MiB(1);

    map_direct(0, 0xa0000, PAGE_HYPERVISOR_RW, "low memory");
    map_direct(0xa0000, 0xc0000, PAGE_HYPERVISOR_UC, "the VGA window");
    map_direct(0xc0000, MiB(1), PAGE_HYPERVISOR_RW, "the BIOS area");
    for (unsigned int i = 0; i < m->nr; i++) {
        const struct e820entry *e = &m->map[i];
        paddr_t start = MAX(e->addr, MiB(1)), end = e->addr + e->size;

        if (!is_memory(e->type) || end <= start)
            continue;
        if (start > pos && pos < GiB(4))
            map_direct(pos, MIN(start, GiB(4)), PAGE_HYPERVISOR_UC, "MMIO below 4 GiB");
        map_direct(start, end, PAGE_HYPERVISOR_RW, e820_type_name(e->type));
        pos = MAX(pos, end);
    }
    if (pos < GiB(4))
        map_direct(pos, GiB(4), PAGE_HYPERVISOR_UC, "MMIO below 4 GiB");
}

void pagetable_init(const struct e820map *map, paddr_t (*alloc_table)(void))
{
    const uint64_t *boot_l4 = __va(read_cr3() & PTE_ADDR_MASK);

    detect_paging_features();
    table_alloc = alloc_table;
    memset(idle_pg_table, 0, sizeof(idle_pg_table));
    hv_cr3 = __pa(idle_pg_table);
    /* Every L3 of the hypervisor hole exists from now on, so copies of
     * these L4 entries (PV guests' L4s) never go stale. */
    for (unsigned int slot = HV_L4_FIRST; slot <= HV_L4_LAST; slot++) {
        paddr_t t = table_alloc();
        if (!t)
            panic("no memory for the hypervisor's L3 tables");
        idle_pg_table[slot] = t | TABLE_FLAGS;
    }
    /* Keep the boot identity map of the low 4 GiB for the AP trampoline. */
    idle_pg_table[0] = boot_l4[0];
    map_image();
    map_directmap(map);
    write_cr3(hv_cr3);
}

void mm_drop_identity_map(void)
{
    uint64_t irq = pt_lock_irqsave();

    idle_pg_table[0] = 0;
    flush_tlb_local();
    pt_dirty = true;
    pt_unlock_and_flush(irq);
}

bool mm_identity_mapped(void)
{
    return idle_pg_table[0] & PTE_P;
}
