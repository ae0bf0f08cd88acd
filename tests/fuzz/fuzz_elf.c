/*
 * Fuzz target for the ELF loader and the PVH layout (hypervisor/dombuild/).
 *
 * Input that starts with \177ELF is parsed as it is (a libFuzzer corpus of
 * real kernels). Anything else drives mutations of a valid template (ELF32
 * or ELF64 with PT_LOAD, PT_NOTE and Xen notes): byte 0 picks the class and
 * the cut length, then each 3-byte group pokes one byte into the headers,
 * program headers or notes, so random bytes reach deep into the parser.
 * The image sits in an exactly-sized heap buffer, so ASan sees any read
 * past it. Invariants checked on every accepted image:
 *   - each segment: offset + filesz inside the image, filesz <= memsz <=
 *     1 GiB, paddr + memsz <= 2^52, no two overlapping;
 *   - elf_load only reads inside the image and writes inside the segments;
 *   - strings from notes are NUL-terminated and printable;
 *   - pvh_layout, when it accepts, puts start_info, modules and strings in
 *     the guest's RAM, below 4 GiB, never at 0, never over the kernel.
 *
 * Build with libFuzzer (clang):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -DHOST_TEST -Ihypervisor/include \
 *     -Ibuild/include tests/fuzz/fuzz_elf.c hypervisor/dombuild/{elf,pvh_layout}.c \
 *     hypervisor/lib/format.c -o fuzz_elf
 */
/* @sources: hypervisor/dombuild/elf.c hypervisor/dombuild/pvh_layout.c hypervisor/lib/format.c */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <proxenos/dombuild.h>
#include <proxenos/elf.h>

#define CHECK(c) do { if (!(c)) __builtin_trap(); } while (0)

#define TPL_SIZE 0x600
#define CODE_OFF 0x400

static void w16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void w32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void w64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

static size_t note(uint8_t *p, uint32_t type, const void *desc, uint32_t descsz)
{
    w32(p, 4);
    w32(p + 4, descsz);
    w32(p + 8, type);
    memcpy(p + 12, "Xen", 4);
    memcpy(p + 16, desc, descsz);
    return 16 + ((descsz + 3) & ~3u);
}

/* A valid PVH image: kernel at 1 MiB, entry 1 MiB + 0x10. */
static void template(uint8_t *t, bool is64)
{
    uint32_t entry = 0x100010;
    size_t n = 0x100, ph = is64 ? 64 : 52;

    memset(t, 0, TPL_SIZE);
    memcpy(t, "\177ELF", 4);
    t[4] = is64 ? 2 : 1;
    t[5] = t[6] = 1;
    w16(t + 16, 2);
    w16(t + 18, is64 ? 62 : 3);
    w32(t + 20, 1);
    n += note(t + n, 18, &entry, 4);
    n += note(t + n, 6, "linux", 6);
    n += note(t + n, 10, "!writable_page_tables", 22);
    n += note(t + n, 2, &(uint64_t){ 0xffffffff81001000ull }, 8);
    if (is64) {
        w64(t + 24, entry);
        w64(t + 32, ph);
        w16(t + 52, 64); w16(t + 54, 56); w16(t + 56, 2);
        w32(t + ph, 1); w32(t + ph + 4, 5); w64(t + ph + 8, CODE_OFF);
        w64(t + ph + 16, 0xffffffff81000000ull); w64(t + ph + 24, 0x100000);
        w64(t + ph + 32, 0x200); w64(t + ph + 40, 0x5000); w64(t + ph + 48, 0x1000);
        ph += 56;
        w32(t + ph, 4); w64(t + ph + 8, 0x100); w64(t + ph + 32, n - 0x100);
        w64(t + ph + 40, n - 0x100); w64(t + ph + 48, 4);
    } else {
        w32(t + 24, entry);
        w32(t + 28, ph);
        w16(t + 40, 52); w16(t + 42, 32); w16(t + 44, 2);
        w32(t + ph, 1); w32(t + ph + 4, CODE_OFF); w32(t + ph + 8, 0xc0100000);
        w32(t + ph + 12, 0x100000); w32(t + ph + 16, 0x200); w32(t + ph + 20, 0x5000);
        w32(t + ph + 24, 5); w32(t + ph + 28, 0x1000);
        ph += 32;
        w32(t + ph, 4); w32(t + ph + 4, 0x100); w32(t + ph + 16, n - 0x100);
        w32(t + ph + 20, n - 0x100); w32(t + ph + 28, 4);
    }
}

static const uint8_t *cur_img;
static size_t cur_len;
static const struct elf_image *cur_elf;

static int copy_check(void *ctx, uint64_t paddr, const void *src, size_t len)
{
    bool inside = false;

    if (src)
        CHECK((const uint8_t *)src >= cur_img && len <= cur_len &&
              (size_t)((const uint8_t *)src - cur_img) <= cur_len - len);
    for (unsigned int i = 0; i < cur_elf->nr_segs; i++) {
        const struct elf_segment *s = &cur_elf->seg[i];
        if (paddr >= s->paddr && len <= s->memsz && paddr - s->paddr <= s->memsz - len)
            inside = true;
    }
    CHECK(inside);
    return 0;
}

static void check_string(const char *s, size_t size)
{
    size_t n = strnlen(s, size);

    CHECK(n < size);
    for (size_t i = 0; i < n; i++)
        CHECK(s[i] >= 0x20 && s[i] < 0x7f);
}

static void check_image(const struct elf_image *e, const uint8_t *img, size_t len)
{
    CHECK(e->nr_segs >= 1 && e->nr_segs <= ELF_MAX_SEGMENTS);
    for (unsigned int i = 0; i < e->nr_segs; i++) {
        const struct elf_segment *s = &e->seg[i];
        CHECK(s->offset <= len && s->filesz <= len - s->offset);
        CHECK(s->filesz <= s->memsz && s->memsz <= ELF_MAX_SEGMENT && s->memsz);
        CHECK(s->paddr + s->memsz <= ELF_MAX_PADDR);
        CHECK(s->paddr >= e->paddr_start && s->paddr + s->memsz <= e->paddr_end);
        for (unsigned int j = 0; j < i; j++)
            CHECK(s->paddr >= e->seg[j].paddr + e->seg[j].memsz ||
                  e->seg[j].paddr >= s->paddr + s->memsz);
    }
    check_string(e->xen.guest_os, sizeof(e->xen.guest_os));
    check_string(e->xen.features, sizeof(e->xen.features));
    check_string(e->xen.loader, sizeof(e->xen.loader));
    CHECK((e->kind == ELF_BOOT_PVH) == e->xen.has_phys32_entry);
    cur_img = img;
    cur_len = len;
    cur_elf = e;
    CHECK(elf_load(e, copy_check, NULL) == 0);
}

static bool in_ram(const struct pvh_layout *l, uint64_t a, uint64_t size)
{
    for (unsigned int i = 0; i < l->nr_e820; i++)
        if (l->e820[i].type == E820_RAM && a >= l->e820[i].addr &&
            size <= l->e820[i].size && a - l->e820[i].addr <= l->e820[i].size - size)
            return true;
    return false;
}

static void check_layout(const struct elf_image *e, uint64_t ram, uint64_t module)
{
    struct pvh_layout_req r = { .ram_bytes = ram, .elf = e, .cmdline_len = 20, .nr_modules = 1,
                                .module_size = { module }, .module_cmdline_len = { 3 } };
    struct pvh_layout l;
    const char *why;
    uint64_t block;

    if (pvh_layout(&r, &l, &why))
        return;
    block = l.info_end - l.start_info_gpa;
    CHECK(l.start_info_gpa && l.info_end <= (1ull << 32));
    CHECK(in_ram(&l, l.start_info_gpa, block) && in_ram(&l, l.module_gpa[0], module));
    CHECK(l.module_gpa[0] >= e->paddr_end && l.start_info_gpa >= l.module_gpa[0] + module);
    for (unsigned int i = 0; i < e->nr_segs; i++)
        CHECK(in_ram(&l, e->seg[i].paddr, e->seg[i].memsz));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *img;
    size_t len;
    struct elf_image e;
    const char *why = NULL;

    if (size >= 4 && !memcmp(data, "\177ELF", 4)) {
        len = size;
        img = malloc(len ? len : 1);
        memcpy(img, data, len);
    } else {
        uint8_t t[TPL_SIZE];

        template(t, size && (data[0] & 1));
        /* Mostly the whole template; sometimes cut short. */
        len = size && (data[0] & 0x80) ? (size_t)data[0] * 5 % TPL_SIZE : TPL_SIZE;
        for (size_t i = 1; i + 2 < size; i += 3) {
            size_t off = ((size_t)data[i] | (size_t)data[i + 1] << 8) % (CODE_OFF + 8);
            t[off] = data[i + 2];
        }
        img = malloc(len ? len : 1);
        memcpy(img, t, len);
    }
    if (elf_parse(img, len, &e, &why) == 0) {
        check_image(&e, img, len);
        check_layout(&e, 16ull << 20, 0x3000);
        check_layout(&e, 256ull << 20, size * 4096);
        check_layout(&e, 6ull << 30, 200ull << 20);
    } else {
        CHECK(why && *why);
    }
    free(img);
    return 0;
}
