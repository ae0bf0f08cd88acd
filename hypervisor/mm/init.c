/*
 * mm_init(): from the loader's memory map to a running allocator.
 *
 *   1. sanitize the map, apply mem=, print it;
 *   2. reserve what must never be handed out (first MiB, image, modules,
 *      the loader's info block);
 *   3. build the final page tables with pages from the boot allocator (top
 *      of RAM below 4 GiB, where the boot direct map reaches) and switch;
 *   4. allocate the frame table from the top of RAM, now all mapped;
 *   5. give every unreserved RAM frame to the buddy allocator, start the heap.
 * The boot allocator's grants are reservations, so step 5 skips them.
 */
#include <proxenos/cmdline.h>
#include <proxenos/console.h>
#include <proxenos/e820.h>
#include <proxenos/frame.h>
#include <proxenos/layout.h>
#include <proxenos/lib.h>
#include <proxenos/mm.h>
#include <proxenos/pagetable.h>
#include <proxenos/printk.h>

struct e820map e820;                  /* set once here, read-only afterwards */
struct resv_list mm_reserved;         /* grows only during mm_init */
uint64_t total_ram_pages;

/* What the boot allocator gave (page tables, frame table): hypervisor memory. */
static struct resv_list boot_grants;

/* mem=<size>: ignore RAM at and above this address (Xen semantics). */
static uint64_t opt_mem;
size_param("mem", opt_mem);

/* The linker puts __image_phys_start at the low load address, out of reach
 * of RIP-relative addressing from the higher half: take it absolutely. */
paddr_t mm_image_phys_start(void)
{
    paddr_t pa;

    __asm__("movabs $__image_phys_start, %0" : "=r"(pa));
    return pa;
}

/* ---- 1. the map ----------------------------------------------------------- */

static void print_map(void)
{
    printk("Physical memory map (sanitized):\n");
    for (unsigned int i = 0; i < e820.nr; i++) {
        const struct e820entry *e = &e820.map[i];
        const char *name = e820_type_name(e->type);

        if (strcmp(name, "unknown type"))
            printk("  %016lx - %016lx  %s\n", e->addr, e->addr + e->size, name);
        else
            printk("  %016lx - %016lx  type %u\n", e->addr, e->addr + e->size, e->type);
    }
}

static void build_map(const struct boot_info *bi)
{
    struct e820entry basic[2];
    const struct e820entry *raw = bi->mmap;
    unsigned int n = bi->nr_mmap, dropped;
    uint64_t cut;

    if (!n) {
        n = e820_from_basic(bi->mem_lower_kb, bi->mem_upper_kb, basic);
        raw = basic;
        printk(LOG_WARN "No memory map from the loader: using mem_lower/mem_upper\n");
    }
    if (!n)
        panic("the loader gave neither a memory map nor mem_lower/mem_upper: "
              "no usable RAM");
    for (unsigned int i = 0; i < n; i++)
        printk(LOG_DEBUG "  raw map: %016lx + %016lx type %u\n", raw[i].addr, raw[i].size,
               raw[i].type);
    dropped = e820_sanitize(raw, n, &e820);
    if (dropped)
        printk(LOG_WARN "Memory map: dropped %u empty or wrapping entries\n", dropped);
    if (bi->mmap_truncated || e820.truncated)
        printk(LOG_WARN "Memory map: too many entries; the highest ones are ignored\n");
    if (opt_mem && (cut = e820_clip_ram(&e820, opt_mem)))
        printk("mem=%#lx: ignoring %lu MiB of RAM above it\n", opt_mem, cut >> 20);
    if ((cut = e820_clip_ram(&e820, DIRECTMAP_END - DIRECTMAP_BASE)))
        printk(LOG_WARN "Ignoring %lu MiB of RAM above the %lu GiB direct map\n", cut >> 20,
               (DIRECTMAP_END - DIRECTMAP_BASE) >> 30);
    print_map();
    total_ram_pages = e820_ram_bytes(&e820) >> PAGE_SHIFT;
    max_mfn = e820_ram_end(&e820) >> PAGE_SHIFT;
    if (!total_ram_pages)
        panic("no usable RAM in the memory map (%u loader entries%s)", n,
              opt_mem ? ", after mem=" : "");
}

/* ---- 2. reservations --------------------------------------------------------- */

static void reserve(paddr_t start, paddr_t end, const char *what)
{
    if (end <= start)
        return;
    printk("Reserved: %016lx - %016lx  %s\n", start, end, what);
    if (resv_add(&mm_reserved, start, end) == -ENOSPC)
        panic("more than %d reserved memory ranges (at %s)", RESV_MAX, what);
}

static void count_piece(paddr_t start, paddr_t end, void *ctx)
{
    *(uint64_t *)ctx += end - start;
}

/* RAM that no reservation covers: what the allocators will have. */
static uint64_t unreserved_ram(void)
{
    uint64_t bytes = 0;

    for (unsigned int i = 0; i < e820.nr; i++)
        if (e820.map[i].type == E820_RAM)
            resv_subtract(&mm_reserved, e820.map[i].addr,
                          e820.map[i].addr + e820.map[i].size, count_piece, &bytes);
    return bytes;
}

static void reserve_boot_memory(const struct boot_info *bi)
{
    /* Real-mode IVT, BDA, EBDA, option ROMs and BIOS; later the AP trampoline. */
    reserve(0, MiB(1), "first MiB (BIOS, real mode)");
    reserve(mm_image_phys_start(), __pa(_end), "hypervisor image");
    for (unsigned int i = 0; i < bi->nr_mods; i++)
        reserve(bi->mods[i].start, bi->mods[i].end, "boot module");
    reserve(bi->info_start, bi->info_end, "loader information");
    if (!unreserved_ram())
        panic("no usable RAM: the first MiB, the image and the modules cover all of "
              "the %lu KiB in the memory map%s", (total_ram_pages << PAGE_SHIFT) >> 10,
              opt_mem ? " (see mem=)" : "");
}

/* ---- 3, 4. boot allocations ----------------------------------------------------- */

static paddr_t boot_alloc_below(uint64_t size, paddr_t limit)
{
    paddr_t pa = resv_alloc_top(&e820, &mm_reserved, size, PAGE_SIZE, limit);

    /* Only feeds frame_mark_xen_heap(): a full list costs a flag, not safety. */
    if (pa)
        resv_add(&boot_grants, pa, pa + size);
    return pa;
}

static paddr_t boot_table_page(void)
{
    paddr_t pa = boot_alloc_below(PAGE_SIZE, GiB(4));

    if (!pa)
        panic("no free RAM below 4 GiB for the hypervisor's page tables");
    memset(__va(pa), 0, PAGE_SIZE);
    return pa;
}

static paddr_t boot_alloc_any(uint64_t size)
{
    return boot_alloc_below(size, UINT64_MAX);
}

/* Page tables made after boot come from the buddy allocator. */
static paddr_t heap_table_page(void)
{
    void *p = alloc_pages(0);

    if (!p)
        return 0;
    memset(p, 0, PAGE_SIZE);
    return __pa(p);
}

/* ---- 5. the allocator ---------------------------------------------------------- */

static void add_free_piece(paddr_t start, paddr_t end, void *ctx)
{
    page_alloc_add_range(start, end);
}

static void start_allocator(void)
{
    page_alloc_init(frame_table, max_mfn);
    for (unsigned int i = 0; i < e820.nr; i++)
        if (e820.map[i].type == E820_RAM)
            resv_subtract(&mm_reserved, e820.map[i].addr,
                          e820.map[i].addr + e820.map[i].size, add_free_piece, NULL);
    frame_mark_xen_heap(mm_image_phys_start(), __pa(_end));
    for (unsigned int i = 0; i < boot_grants.nr; i++)
        frame_mark_xen_heap(boot_grants.r[i].start, boot_grants.r[i].end);
    pagetable_set_allocator(heap_table_page);
    xmalloc_init();
    if (!mm_free_pages())
        panic("no free RAM left after the hypervisor's own reservations");
}

static void key_memory(char key) { mm_dump_stats(); }

void mm_init(const struct boot_info *bi)
{
    uint64_t ft_bytes;

    build_map(bi);
    reserve_boot_memory(bi);
    pagetable_init(&e820, boot_table_page);
    ft_bytes = frame_table_init(boot_alloc_any);
    start_allocator();
    register_keyhandler('m', key_memory, "dump memory allocator statistics");
    printk("Page tables: NX %s, 1 GiB pages %s; low 4 GiB identity-mapped until "
           "mm_drop_identity_map()\n", cpu_has_nx ? "on" : "off",
           cpu_has_1gb_pages ? "used" : "not available");
    printk("Memory: %lu MiB RAM, %lu MiB free, frame table %lu KiB\n",
           (total_ram_pages << PAGE_SHIFT) >> 20, mm_free_pages() >> (20 - PAGE_SHIFT),
           ft_bytes >> 10);
}
