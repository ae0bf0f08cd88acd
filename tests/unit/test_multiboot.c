/* Multiboot 1/2 parsing over a fake physical memory, well-formed and hostile. */
/* @sources: hypervisor/boot/multiboot.c */
#include "cmocka_prelude.h"
#include <string.h>
#include <proxenos/bootinfo.h>

#define MEM_SIZE 0x10000
static uint8_t mem[MEM_SIZE];
static struct boot_info bi;
static const char *why;

static const void *fake_map(const struct boot_mem *m, paddr_t pa, size_t len)
{
    if (pa >= MEM_SIZE || len > MEM_SIZE - pa)
        return NULL;
    return mem + pa;
}
static const struct boot_mem fake = { fake_map, NULL };

static void put32(size_t off, uint32_t v) { memcpy(mem + off, &v, 4); }
static void put64(size_t off, uint64_t v) { memcpy(mem + off, &v, 8); }
static void putstr(size_t off, const char *s) { memcpy(mem + off, s, strlen(s) + 1); }

static int reset(void **state)
{
    memset(mem, 0, sizeof(mem));
    return 0;
}

static int parse(uint32_t magic, paddr_t pa)
{
    return multiboot_parse(magic, pa, &fake, &bi, &why);
}

/* --- Multiboot 1 ------------------------------------------------------- */
static void mb1_info(uint32_t flags)
{
    put32(0x100, flags);
    put32(0x104, 639);                 /* mem_lower KiB */
    put32(0x108, 523264);              /* mem_upper KiB */
    put32(0x110, 0x400);               /* cmdline */
    put32(0x114, 2);                   /* mods_count */
    put32(0x118, 0x500);               /* mods_addr */
    put32(0x12c, 3 * 24);              /* mmap_length */
    put32(0x130, 0x600);               /* mmap_addr */
    put32(0x140, 0x480);               /* boot_loader_name */
    putstr(0x400, "proxenos.elf loglvl=all");
    putstr(0x480, "qemu");
    put32(0x500, 0x100000); put32(0x504, 0x180000); put32(0x508, 0x700);
    put32(0x510, 0x200000); put32(0x514, 0x201000); put32(0x518, 0x720);
    putstr(0x700, "vmlinuz console=hvc0");
    putstr(0x720, "initrd");
    for (int i = 0; i < 3; i++) {
        size_t e = 0x600 + i * 24;
        put32(e, 20);
        put64(e + 4, (uint64_t)i << 20);
        put64(e + 12, 0x1000 * (i + 1));
        put32(e + 20, i == 1 ? 2 : 1);
    }
}

static void mb1_complete(void **state)
{
    mb1_info(0x24f);
    assert_int_equal(parse(MULTIBOOT1_BOOTLOADER_MAGIC, 0x100), 0);
    assert_int_equal(bi.multiboot_version, 1);
    assert_string_equal(bi.cmdline, "proxenos.elf loglvl=all");
    assert_string_equal(bi.loader, "qemu");
    assert_int_equal(bi.mem_upper_kb, 523264);
    assert_int_equal(bi.nr_mods, 2);
    assert_true(bi.mods[0].start == 0x100000 && bi.mods[0].end == 0x180000);
    assert_string_equal(bi.mods[0].cmdline, "vmlinuz console=hvc0");
    assert_string_equal(bi.mods[1].cmdline, "initrd");
    assert_int_equal(bi.nr_mmap, 3);
    assert_true(bi.mmap[1].addr == 0x100000 && bi.mmap[1].size == 0x2000);
    assert_int_equal(bi.mmap[1].type, 2);
}

static void mb1_flags_respected(void **state)
{
    mb1_info(0);                       /* nothing valid: fields must be ignored */
    assert_int_equal(parse(MULTIBOOT1_BOOTLOADER_MAGIC, 0x100), 0);
    assert_int_equal(bi.nr_mods, 0);
    assert_int_equal(bi.nr_mmap, 0);
    assert_string_equal(bi.cmdline, "");
}

static void mb1_hostile(void **state)
{
    mb1_info(0x24f);
    put32(0x110, 0xfffffff0);          /* cmdline outside memory */
    assert_int_equal(parse(MULTIBOOT1_BOOTLOADER_MAGIC, 0x100), -EFAULT);
    assert_non_null(why);

    mb1_info(0x24f);
    put32(0x600 + 24, 0xffff);         /* second entry claims to be huge */
    assert_int_equal(parse(MULTIBOOT1_BOOTLOADER_MAGIC, 0x100), -EINVAL);

    mb1_info(0x24f);
    put32(0x600, 4);                   /* entry too small to hold a range */
    assert_int_equal(parse(MULTIBOOT1_BOOTLOADER_MAGIC, 0x100), -EINVAL);

    mb1_info(0x24f);
    put32(0x114, 100000);              /* absurd module count */
    assert_int_equal(parse(MULTIBOOT1_BOOTLOADER_MAGIC, 0x100), 0);
    assert_int_equal(bi.nr_mods, BOOT_MAX_MODULES);
    assert_true(bi.mods_truncated);

    assert_int_equal(parse(MULTIBOOT1_BOOTLOADER_MAGIC, MEM_SIZE - 8), -EFAULT);
    assert_int_equal(parse(0x12345678, 0x100), -EINVAL);
}

static void mb1_long_cmdline_truncated(void **state)
{
    mb1_info(0x4);
    memset(mem + 0x2000, 'a', 5000);   /* longer than the copy buffer */
    put32(0x110, 0x2000);
    assert_int_equal(parse(MULTIBOOT1_BOOTLOADER_MAGIC, 0x100), 0);
    assert_int_equal(strlen(bi.cmdline), BOOT_CMDLINE_LEN - 1);

    memset(mem + MEM_SIZE - 16, 'b', 16);   /* runs off the end of memory */
    put32(0x110, MEM_SIZE - 16);
    assert_int_equal(parse(MULTIBOOT1_BOOTLOADER_MAGIC, 0x100), -EFAULT);
}

/* --- Multiboot 2 ------------------------------------------------------- */
static size_t tag(size_t off, uint32_t type, uint32_t size)
{
    put32(off, type);
    put32(off + 4, size);
    return off + ((size + 7) & ~7u);
}

static size_t mb2_info(void)
{
    size_t o = 0x1008;
    size_t t;
    t = o; o = tag(o, 1, 8 + 12); putstr(t + 8, "loglvl=info");
    t = o; o = tag(o, 2, 8 + 11); putstr(t + 8, "GRUB 2.06");
    t = o; o = tag(o, 3, 16 + 9); put32(t + 8, 0x300000); put32(t + 12, 0x380000);
    putstr(t + 16, "dom0 arg");
    t = o; o = tag(o, 6, 16 + 2 * 24); put32(t + 8, 24); put32(t + 12, 0);
    put64(t + 16, 0); put64(t + 24, 0x9fc00); put32(t + 32, 1);
    put64(t + 40, 0x100000); put64(t + 48, 0x1ff00000); put32(t + 56, 1);
    t = o; o = tag(o, 14, 8 + 20); memcpy(mem + t + 8, "RSD PTR old", 11);
    t = o; o = tag(o, 15, 8 + 36); memcpy(mem + t + 8, "RSD PTR new", 11);
    o = tag(o, 0, 8);
    put32(0x1000, (uint32_t)(o - 0x1000));
    return o - 0x1000;
}

static void mb2_complete(void **state)
{
    mb2_info();
    assert_int_equal(parse(MULTIBOOT2_BOOTLOADER_MAGIC, 0x1000), 0);
    assert_int_equal(bi.multiboot_version, 2);
    assert_string_equal(bi.cmdline, "loglvl=info");
    assert_string_equal(bi.loader, "GRUB 2.06");
    assert_int_equal(bi.nr_mods, 1);
    assert_string_equal(bi.mods[0].cmdline, "dom0 arg");
    assert_int_equal(bi.nr_mmap, 2);
    assert_true(bi.mmap[1].size == 0x1ff00000);
    assert_int_equal(bi.rsdp_len, 36);
    assert_memory_equal(bi.rsdp, "RSD PTR new", 11);   /* ACPI 2.0 copy preferred */
}

static void mb2_hostile(void **state)
{
    size_t total = mb2_info();
    assert_int_equal(parse(MULTIBOOT2_BOOTLOADER_MAGIC, 0x1004), -EINVAL);  /* misaligned */

    put32(0x1000, 0x7fffffff);                   /* absurd total size */
    assert_int_equal(parse(MULTIBOOT2_BOOTLOADER_MAGIC, 0x1000), -EINVAL);

    mb2_info();
    put32(0x1008 + 4, 4);                        /* tag smaller than its header */
    assert_int_equal(parse(MULTIBOOT2_BOOTLOADER_MAGIC, 0x1000), -EINVAL);

    mb2_info();
    put32(0x1008 + 4, (uint32_t)total);          /* tag overruns the block */
    assert_int_equal(parse(MULTIBOOT2_BOOTLOADER_MAGIC, 0x1000), -EINVAL);

    mb2_info();
    put32(0x1000, (uint32_t)total - 8);          /* end tag cut off */
    assert_int_equal(parse(MULTIBOOT2_BOOTLOADER_MAGIC, 0x1000), -EINVAL);

    reset(NULL);
    size_t o = tag(0x1008, 6, 16 + 24);          /* mmap with entry_size 0 */
    put32(0x1008 + 8, 0);
    o = tag(o, 0, 8);
    put32(0x1000, (uint32_t)(o - 0x1000));
    assert_int_equal(parse(MULTIBOOT2_BOOTLOADER_MAGIC, 0x1000), -EINVAL);

    reset(NULL);
    o = tag(0x1008, 3, 12);                      /* module tag too short */
    o = tag(o, 0, 8);
    put32(0x1000, (uint32_t)(o - 0x1000));
    assert_int_equal(parse(MULTIBOOT2_BOOTLOADER_MAGIC, 0x1000), -EINVAL);

    assert_int_equal(parse(MULTIBOOT2_BOOTLOADER_MAGIC, MEM_SIZE), -EFAULT);
}

static void mb2_unterminated_strings(void **state)
{
    reset(NULL);
    size_t o = tag(0x1008, 1, 8 + 4);
    memcpy(mem + 0x1010, "abcd", 4);             /* no NUL inside the tag */
    put32(0x1014 + 4, 0x99999999);
    o = tag(o, 0, 8);
    put32(0x1000, (uint32_t)(o - 0x1000));
    assert_int_equal(parse(MULTIBOOT2_BOOTLOADER_MAGIC, 0x1000), 0);
    assert_string_equal(bi.cmdline, "abcd");      /* bounded by the tag */
}

static void mmap_overflow_truncates(void **state)
{
    reset(NULL);
    uint32_t n = BOOT_MAX_MMAP + 10;
    size_t o = tag(0x1008, 6, 16 + n * 24);
    put32(0x1008 + 8, 24);
    o = tag(o, 0, 8);
    put32(0x1000, (uint32_t)(o - 0x1000));
    assert_int_equal(parse(MULTIBOOT2_BOOTLOADER_MAGIC, 0x1000), 0);
    assert_int_equal(bi.nr_mmap, BOOT_MAX_MMAP);
    assert_true(bi.mmap_truncated);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(mb1_complete, reset),
        cmocka_unit_test_setup(mb1_flags_respected, reset),
        cmocka_unit_test_setup(mb1_hostile, reset),
        cmocka_unit_test_setup(mb1_long_cmdline_truncated, reset),
        cmocka_unit_test_setup(mb2_complete, reset),
        cmocka_unit_test_setup(mb2_hostile, reset),
        cmocka_unit_test_setup(mb2_unterminated_strings, reset),
        cmocka_unit_test_setup(mmap_overflow_truncates, reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
