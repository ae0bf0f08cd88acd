/*
 * The pure half of the PVH builder: the guest e820, where the boot data
 * goes, and the dom0_mem= arithmetic. No hypervisor state, so the host unit
 * tests (tests/unit/test_elf_layout.c) run it directly. The map itself is
 * described in dombuild.h.
 */
#include <proxenos/dombuild.h>
#include <proxenos/lib.h>
#include <xen/arch-x86/hvm/start_info.h>

#define PVH_MAX_CMDLINE KiB(64)          /* longer command lines are refused */

static int reject(const char **why, const char *reason, int err)
{
    *why = reason;
    return err;
}

static void add_e820(struct pvh_layout *l, uint64_t addr, uint64_t size, uint32_t type)
{
    struct e820entry *e = &l->e820[l->nr_e820++];

    e->addr = addr;
    e->size = size;
    e->type = type;
}

/* RAM from 0, around the 640K-1M hole and the MMIO hole below 4 GiB. */
static void build_e820(struct pvh_layout *l, uint64_t pages)
{
    uint64_t low = MIN(pages, PVH_LOW_RAM_END >> PAGE_SHIFT);
    uint64_t below4g = (PVH_HOLE_START - PVH_HIGH_RAM_BASE) >> PAGE_SHIFT;
    uint64_t rest = pages - low;

    l->nr_e820 = 0;
    l->ram_pages = pages;
    add_e820(l, 0, low << PAGE_SHIFT, E820_RAM);
    if (!rest)
        return;
    add_e820(l, PVH_LOW_RAM_END, PVH_HIGH_RAM_BASE - PVH_LOW_RAM_END, E820_RESERVED);
    below4g = MIN(rest, below4g);
    add_e820(l, PVH_HIGH_RAM_BASE, below4g << PAGE_SHIFT, E820_RAM);
    rest -= below4g;
    if (rest)
        add_e820(l, PVH_HOLE_END, rest << PAGE_SHIFT, E820_RAM);
}

/* True when [addr, addr + size) lies inside one RAM entry. */
static bool in_ram(const struct pvh_layout *l, uint64_t addr, uint64_t size)
{
    for (unsigned int i = 0; i < l->nr_e820; i++) {
        const struct e820entry *e = &l->e820[i];

        if (e->type == E820_RAM && addr >= e->addr && addr - e->addr <= e->size &&
            size <= e->size - (addr - e->addr))
            return true;
    }
    return false;
}

/*
 * Places `size` bytes at the first page-aligned address >= *cursor that lies
 * in one RAM entry, entirely below 4 GiB; advances *cursor past it.
 */
static int place(const struct pvh_layout *l, uint64_t *cursor, uint64_t size, uint64_t *gpa)
{
    for (unsigned int i = 0; i < l->nr_e820; i++) {
        const struct e820entry *e = &l->e820[i];
        uint64_t start = MAX(*cursor, e->addr), end = e->addr + e->size;

        if (e->type != E820_RAM || start > end)
            continue;
        start = ALIGN_UP(start, PAGE_SIZE);   /* start < 2^52: cannot wrap */
        if (start >= PVH_HOLE_END || size > PVH_HOLE_END - start)
            return -ENOSPC;
        if (start > end || size > end - start)
            continue;
        *gpa = start;
        *cursor = start + size;
        return 0;
    }
    return -ENOSPC;
}

static int check_kernel(const struct pvh_layout *l, const struct elf_image *elf,
                        const char **why)
{
    for (unsigned int i = 0; i < elf->nr_segs; i++)
        if (!in_ram(l, elf->seg[i].paddr, elf->seg[i].memsz))
            return reject(why, "a kernel segment lies outside the guest's RAM (in a "
                               "hole or beyond the end of memory: raise dom0_mem?)", -ENOSPC);
    return 0;
}

/* Bytes of the block holding start_info, the lists and the strings. */
static int info_block_size(const struct pvh_layout_req *r, uint64_t nr_e820, uint64_t *size,
                           const char **why)
{
    uint64_t n = sizeof(struct hvm_start_info) +
                 r->nr_modules * sizeof(struct hvm_modlist_entry) +
                 nr_e820 * sizeof(struct hvm_memmap_table_entry);

    if (r->cmdline_len >= PVH_MAX_CMDLINE)
        return reject(why, "the kernel command line is too long", -EINVAL);
    n += r->cmdline_len + 1;
    for (unsigned int i = 0; i < r->nr_modules; i++) {
        if (r->module_cmdline_len[i] >= PVH_MAX_CMDLINE)
            return reject(why, "a module command line is too long", -EINVAL);
        n += r->module_cmdline_len[i] + 1;
    }
    *size = n;
    return 0;
}

/* Carves the block into its parts, in the order of info_block_size(). */
static void split_info_block(const struct pvh_layout_req *r, struct pvh_layout *l, uint64_t gpa)
{
    l->start_info_gpa = gpa;
    gpa += sizeof(struct hvm_start_info);
    l->modlist_gpa = r->nr_modules ? gpa : 0;
    gpa += r->nr_modules * sizeof(struct hvm_modlist_entry);
    l->memmap_gpa = gpa;
    gpa += l->nr_e820 * sizeof(struct hvm_memmap_table_entry);
    l->cmdline_gpa = gpa;
    gpa += r->cmdline_len + 1;
    for (unsigned int i = 0; i < r->nr_modules; i++) {
        l->module_cmdline_gpa[i] = gpa;
        gpa += r->module_cmdline_len[i] + 1;
    }
    l->info_end = gpa;
}

int pvh_layout(const struct pvh_layout_req *r, struct pvh_layout *l, const char **why)
{
    uint64_t pages = r->ram_bytes >> PAGE_SHIFT, cursor, block, gpa;
    int rc;

    memset(l, 0, sizeof(*l));
    if (!r->elf || !r->elf->nr_segs)
        return reject(why, "no kernel image", -EINVAL);
    if (r->nr_modules > PVH_MAX_MODULES)
        return reject(why, "too many modules", -EINVAL);
    if (pages < (PVH_HIGH_RAM_BASE >> PAGE_SHIFT))
        return reject(why, "less than 1 MiB of RAM", -ENOSPC);
    if (pages > (ELF_MAX_PADDR - PVH_HOLE_END) >> PAGE_SHIFT)
        return reject(why, "absurd amount of RAM", -EINVAL);

    build_e820(l, pages);
    l->kernel_start = r->elf->paddr_start;
    l->kernel_end = r->elf->paddr_end;
    if ((rc = check_kernel(l, r->elf, why)))
        return rc;

    /* Never hand out guest-physical 0: start_info.h reads 0 as "absent". */
    cursor = MAX(l->kernel_end, PAGE_SIZE);
    for (unsigned int i = 0; i < r->nr_modules; i++) {
        if (r->module_size[i] > ELF_MAX_PADDR)
            return reject(why, "absurd module size", -EINVAL);
        if (place(l, &cursor, r->module_size[i], &l->module_gpa[i]))
            return reject(why, "the modules do not fit in the guest's RAM below 4 GiB "
                               "after the kernel (raise dom0_mem?)", -ENOSPC);
    }
    if ((rc = info_block_size(r, l->nr_e820, &block, why)))
        return rc;
    if (place(l, &cursor, block, &gpa))
        return reject(why, "no room for hvm_start_info below 4 GiB after the kernel and "
                           "modules (raise dom0_mem?)", -ENOSPC);
    split_info_block(r, l, gpa);
    return 0;
}

/* ---- dom0_mem= ------------------------------------------------------------ */

/* One <sz>: [-]size, or N%. Returns characters consumed, 0 on error. */
static size_t parse_amount(const char *s, struct dom0_mem_amount *a)
{
    uint64_t v;
    size_t n, neg = *s == '-';

    memset(a, 0, sizeof(*a));
    n = parse_ulong(s + neg, &v);
    if (n && s[neg + n] == '%') {
        if (neg || v == 0 || v > 100)
            return 0;
        a->set = a->percent = true;
        a->bytes = v;
        return n + 1;
    }
    n = parse_size(s + neg, &v);
    if (!n)
        return 0;
    a->set = true;
    a->negative = neg;
    a->bytes = v;
    return neg + n;
}

int dom0_mem_parse(const char *s, struct dom0_mem_opt *opt, const char **why)
{
    struct dom0_mem_opt o = { 0 };

    if (!s || !*s)
        return reject(why, "needs a value like 512M, max:512M or min:256M,max:1G", -EINVAL);
    for (;;) {
        struct dom0_mem_amount *a = &o.amount;
        size_t n;

        if (!strncmp(s, "min:", 4)) {
            a = &o.min;
            s += 4;
        } else if (!strncmp(s, "max:", 4)) {
            a = &o.max;
            s += 4;
        }
        if (a->set)
            return reject(why, "the same bound is given twice", -EINVAL);
        n = parse_amount(s, a);
        if (!n || (s[n] != ',' && s[n] != '\0'))
            return reject(why, "expected [min:<size>,][max:<size>,][<size>], "
                               "a size being like 512M, -256M or 25%", -EINVAL);
        s += n;
        if (!*s)
            break;
        s++;
    }
    *opt = o;
    return 0;
}

static uint64_t resolve(const struct dom0_mem_amount *a, uint64_t usable)
{
    if (a->percent)
        return usable / 100 * a->bytes;
    if (a->negative)
        return usable > a->bytes ? usable - a->bytes : 0;
    return a->bytes;
}

uint64_t dom0_mem_compute(const struct dom0_mem_opt *opt, uint64_t avail)
{
    uint64_t usable = avail > DOM0_MEM_RESERVE ? avail - DOM0_MEM_RESERVE : 0;
    uint64_t nr = opt->amount.set ? resolve(&opt->amount, usable)
                                  : MIN(usable, DOM0_MEM_DEFAULT_MAX);

    if (opt->min.set)
        nr = MAX(nr, resolve(&opt->min, usable));
    if (opt->max.set)
        nr = MIN(nr, resolve(&opt->max, usable));
    return ALIGN_DOWN(MIN(nr, usable), PAGE_SIZE);
}
