/*
 * Multiboot 1 and 2 information parsing into struct boot_info. The loader's
 * memory is read only through boot_mem.map(), which checks every range, so a
 * malformed or hostile info block yields an error, never a wild access.
 * References: Multiboot Specification 0.6.96 (section 3.3, boot information
 * format) and Multiboot2 Specification 2.0 (section 3.6, tags).
 */
#include <proxenos/bootinfo.h>
#include <proxenos/lib.h>

#define MB1_INFO_MEMORY   (1u << 0)
#define MB1_INFO_CMDLINE  (1u << 2)
#define MB1_INFO_MODS     (1u << 3)
#define MB1_INFO_MMAP     (1u << 6)
#define MB1_INFO_LOADER   (1u << 9)
#define MB1_INFO_SIZE     72          /* through boot_loader_name */

#define MB2_TAG_END       0
#define MB2_TAG_CMDLINE   1
#define MB2_TAG_LOADER    2
#define MB2_TAG_MODULE    3
#define MB2_TAG_MEMINFO   4
#define MB2_TAG_MMAP      6
#define MB2_TAG_ACPI_OLD  14
#define MB2_TAG_ACPI_NEW  15
#define MB2_MAX_TOTAL     (1u << 20)  /* refuse absurd info blocks */

static uint32_t rd32(const void *p, size_t off)
{
    uint32_t v;
    memcpy(&v, (const uint8_t *)p + off, sizeof(v));
    return v;
}

static uint64_t rd64(const void *p, size_t off)
{
    uint64_t v;
    memcpy(&v, (const uint8_t *)p + off, sizeof(v));
    return v;
}

/* Copies a NUL-terminated string at physical pa, truncating to fit. */
static int copy_string_pa(const struct boot_mem *m, paddr_t pa, char *dst, size_t size)
{
    size_t i;

    for (i = 0; i + 1 < size; i++) {
        const char *c = m->map(m, pa + i, 1);
        if (!c)
            return -EFAULT;
        if (!*c)
            break;
        dst[i] = *c;
    }
    dst[i] = '\0';
    return 0;
}

/* Copies a string that lives inside an already mapped tag of len bytes. */
static void copy_string_in(const char *src, size_t len, char *dst, size_t size)
{
    size_t n = strnlen(src, len);

    if (n >= size)
        n = size - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static void add_mmap(struct boot_info *bi, uint64_t addr, uint64_t size, uint32_t type)
{
    if (bi->nr_mmap == BOOT_MAX_MMAP) {
        bi->mmap_truncated = true;
        return;
    }
    bi->mmap[bi->nr_mmap++] = (struct e820entry){ addr, size, type };
}

static struct boot_module *add_module(struct boot_info *bi, paddr_t start, paddr_t end)
{
    if (bi->nr_mods == BOOT_MAX_MODULES) {
        bi->mods_truncated = true;
        return NULL;
    }
    struct boot_module *mod = &bi->mods[bi->nr_mods++];
    mod->start = start;
    mod->end = end;
    mod->cmdline[0] = '\0';
    return mod;
}

static int parse_mb1_mmap(const struct boot_mem *m, struct boot_info *bi,
                          paddr_t addr, uint32_t length, const char **why)
{
    for (uint32_t off = 0; off + 4 <= length;) {
        const void *e = m->map(m, addr + off, 4);
        if (!e)
            return *why = "memory map outside addressable memory", -EFAULT;
        uint32_t size = rd32(e, 0);
        /* size excludes itself; an entry needs base, length and type. */
        if (size < 20 || size > length - off - 4)
            return *why = "malformed memory map entry", -EINVAL;
        e = m->map(m, addr + off, 24);
        if (!e)
            return *why = "memory map outside addressable memory", -EFAULT;
        add_mmap(bi, rd64(e, 4), rd64(e, 12), rd32(e, 20));
        off += size + 4;
    }
    return 0;
}

static int parse_mb1(const struct boot_mem *m, paddr_t info_pa, struct boot_info *bi,
                     const char **why)
{
    const void *info = m->map(m, info_pa, MB1_INFO_SIZE);
    if (!info)
        return *why = "Multiboot info block not addressable", -EFAULT;
    uint32_t flags = rd32(info, 0);

    bi->multiboot_version = 1;
    bi->info_start = info_pa;
    bi->info_end = info_pa + MB1_INFO_SIZE;
    if (flags & MB1_INFO_MEMORY) {
        bi->mem_lower_kb = rd32(info, 4);
        bi->mem_upper_kb = rd32(info, 8);
    }
    if ((flags & MB1_INFO_CMDLINE) &&
        copy_string_pa(m, rd32(info, 16), bi->cmdline, sizeof(bi->cmdline)))
        return *why = "command line not addressable", -EFAULT;
    if ((flags & MB1_INFO_LOADER) &&
        copy_string_pa(m, rd32(info, 64), bi->loader, sizeof(bi->loader)))
        return *why = "boot loader name not addressable", -EFAULT;
    if (flags & MB1_INFO_MODS) {
        uint32_t count = rd32(info, 20), addr = rd32(info, 24);
        for (uint32_t i = 0; i < count && i < BOOT_MAX_MODULES + 1; i++) {
            const void *mod = m->map(m, (paddr_t)addr + i * 16, 16);
            if (!mod)
                return *why = "module list not addressable", -EFAULT;
            struct boot_module *bm = add_module(bi, rd32(mod, 0), rd32(mod, 4));
            if (bm && copy_string_pa(m, rd32(mod, 8), bm->cmdline, sizeof(bm->cmdline)))
                return *why = "module command line not addressable", -EFAULT;
        }
    }
    if (flags & MB1_INFO_MMAP) {
        int rc = parse_mb1_mmap(m, bi, rd32(info, 48), rd32(info, 44), why);
        if (rc)
            return rc;
    }
    return 0;
}

static int parse_mb2_tag(struct boot_info *bi, uint32_t type, const uint8_t *tag,
                         uint32_t size, const char **why)
{
    switch (type) {
    case MB2_TAG_CMDLINE:
        copy_string_in((const char *)tag + 8, size - 8, bi->cmdline, sizeof(bi->cmdline));
        break;
    case MB2_TAG_LOADER:
        copy_string_in((const char *)tag + 8, size - 8, bi->loader, sizeof(bi->loader));
        break;
    case MB2_TAG_MODULE: {
        if (size < 16)
            return *why = "short module tag", -EINVAL;
        struct boot_module *bm = add_module(bi, rd32(tag, 8), rd32(tag, 12));
        if (bm)
            copy_string_in((const char *)tag + 16, size - 16, bm->cmdline, sizeof(bm->cmdline));
        break;
    }
    case MB2_TAG_MEMINFO:
        if (size < 16)
            return *why = "short memory info tag", -EINVAL;
        bi->mem_lower_kb = rd32(tag, 8);
        bi->mem_upper_kb = rd32(tag, 12);
        break;
    case MB2_TAG_MMAP: {
        if (size < 16)
            return *why = "short memory map tag", -EINVAL;
        uint32_t esize = rd32(tag, 8);
        if (esize < 20 || esize > 4096)
            return *why = "bad memory map entry size", -EINVAL;
        for (uint32_t off = 16; off + esize <= size; off += esize)
            add_mmap(bi, rd64(tag, off), rd64(tag, off + 8), rd32(tag, off + 16));
        break;
    }
    case MB2_TAG_ACPI_OLD:
    case MB2_TAG_ACPI_NEW: {
        uint32_t len = size - 8;
        if (len > sizeof(bi->rsdp))
            len = sizeof(bi->rsdp);
        /* Prefer the ACPI 2.0+ copy when a loader gives both. */
        if (type == MB2_TAG_ACPI_NEW || !bi->rsdp_len) {
            memcpy(bi->rsdp, tag + 8, len);
            bi->rsdp_len = len;
        }
        break;
    }
    default:
        break;                         /* framebuffer, EFI, ELF sections...: unused */
    }
    return 0;
}

static int parse_mb2(const struct boot_mem *m, paddr_t info_pa, struct boot_info *bi,
                     const char **why)
{
    if (info_pa & 7)
        return *why = "Multiboot2 info block not 8-byte aligned", -EINVAL;
    const uint8_t *hdr = m->map(m, info_pa, 8);
    if (!hdr)
        return *why = "Multiboot2 info block not addressable", -EFAULT;
    uint32_t total = rd32(hdr, 0);
    if (total < 16 || total > MB2_MAX_TOTAL)
        return *why = "Multiboot2 info block has an absurd size", -EINVAL;
    const uint8_t *info = m->map(m, info_pa, total);
    if (!info)
        return *why = "Multiboot2 info block not addressable", -EFAULT;

    bi->multiboot_version = 2;
    bi->info_start = info_pa;
    bi->info_end = info_pa + total;
    for (uint32_t off = 8; off + 8 <= total;) {
        uint32_t type = rd32(info, off), size = rd32(info, off + 4);
        if (size < 8 || size > total - off)
            return *why = "Multiboot2 tag overruns the info block", -EINVAL;
        if (type == MB2_TAG_END)
            return 0;
        int rc = parse_mb2_tag(bi, type, info + off, size, why);
        if (rc)
            return rc;
        off += ALIGN_UP(size, 8u);
    }
    return *why = "Multiboot2 info block has no end tag", -EINVAL;
}

int multiboot_parse(uint32_t magic, paddr_t info_pa, const struct boot_mem *mem,
                    struct boot_info *bi, const char **why)
{
    memset(bi, 0, sizeof(*bi));
    *why = NULL;
    if (magic == MULTIBOOT1_BOOTLOADER_MAGIC)
        return parse_mb1(mem, info_pa, bi, why);
    if (magic == MULTIBOOT2_BOOTLOADER_MAGIC)
        return parse_mb2(mem, info_pa, bi, why);
    *why = "not started by a Multiboot loader (bad magic)";
    return -EINVAL;
}
