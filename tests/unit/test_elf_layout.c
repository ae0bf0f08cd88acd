/* The PVH guest layout (e820, boot data placement) and dom0_mem= arithmetic. */
/* @sources: hypervisor/dombuild/pvh_layout.c hypervisor/lib/format.c */
#include "cmocka_prelude.h"
#include <string.h>
#include <proxenos/dombuild.h>
#include <xen/arch-x86/hvm/start_info.h>

static struct elf_image elf;
static struct pvh_layout_req req;
static struct pvh_layout lay;
static const char *why;

/* A kernel of one segment [paddr, paddr + memsz). */
static void kernel_at(uint64_t paddr, uint64_t memsz)
{
    memset(&elf, 0, sizeof(elf));
    elf.nr_segs = 1;
    elf.seg[0] = (struct elf_segment){ paddr, paddr, 0x1000, memsz / 2, memsz, ELF_PF_X };
    elf.paddr_start = paddr;
    elf.paddr_end = paddr + memsz;
    elf.kind = ELF_BOOT_PVH;
}

static int setup(void **state)
{
    kernel_at(MiB(16), MiB(8));
    memset(&req, 0, sizeof(req));
    req.elf = &elf;
    req.ram_bytes = MiB(256);
    req.cmdline_len = strlen("console=hvc0 earlyprintk=xen");
    req.nr_modules = 1;
    req.module_size[0] = MiB(5) + 123;
    req.module_cmdline_len[0] = 4;
    return 0;
}

static int layout(void)
{
    why = NULL;
    return pvh_layout(&req, &lay, &why);
}

static bool in_ram(uint64_t a, uint64_t size)
{
    for (unsigned int i = 0; i < lay.nr_e820; i++)
        if (lay.e820[i].type == E820_RAM && a >= lay.e820[i].addr &&
            a + size <= lay.e820[i].addr + lay.e820[i].size)
            return true;
    return false;
}

static bool overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    return a < b + blen && b < a + alen;
}

static uint64_t ram_in_e820(void)
{
    uint64_t n = 0;

    for (unsigned int i = 0; i < lay.nr_e820; i++)
        if (lay.e820[i].type == E820_RAM)
            n += lay.e820[i].size;
    return n;
}

/* ---- e820 ------------------------------------------------------------------ */

static void e820_small_guest(void **state)
{
    assert_int_equal(layout(), 0);
    assert_int_equal(lay.nr_e820, 3);
    assert_int_equal(lay.e820[0].addr, 0);
    assert_int_equal(lay.e820[0].size, 0xA0000);
    assert_int_equal(lay.e820[0].type, E820_RAM);
    assert_int_equal(lay.e820[1].addr, 0xA0000);
    assert_int_equal(lay.e820[1].size, 0x60000);
    assert_int_equal(lay.e820[1].type, E820_RESERVED);
    assert_int_equal(lay.e820[2].addr, MiB(1));
    assert_int_equal(lay.e820[2].size, MiB(256) - 0xA0000);
    assert_int_equal(lay.e820[2].type, E820_RAM);
    assert_int_equal(ram_in_e820(), MiB(256));
    assert_int_equal(lay.ram_pages, MiB(256) >> 12);
}

static void e820_large_guest_splits_at_the_hole(void **state)
{
    req.ram_bytes = GiB(6) + 0x234;    /* not a page multiple: rounded down */
    assert_int_equal(layout(), 0);
    assert_int_equal(lay.nr_e820, 4);
    assert_int_equal(lay.e820[2].addr + lay.e820[2].size, PVH_HOLE_START);
    assert_int_equal(lay.e820[3].addr, GiB(4));
    assert_int_equal(lay.e820[3].type, E820_RAM);
    assert_int_equal(ram_in_e820(), GiB(6));
    assert_int_equal(lay.ram_pages, GiB(6) >> 12);
}

static void e820_exactly_to_the_hole(void **state)
{
    req.ram_bytes = PVH_HOLE_START - MiB(1) + 0xA0000;
    assert_int_equal(layout(), 0);
    assert_int_equal(lay.nr_e820, 3);
    assert_int_equal(lay.e820[2].addr + lay.e820[2].size, PVH_HOLE_START);
    req.ram_bytes += PAGE_SIZE;
    assert_int_equal(layout(), 0);
    assert_int_equal(lay.nr_e820, 4);
    assert_int_equal(lay.e820[3].size, PAGE_SIZE);
}

static void too_little_or_absurd_ram(void **state)
{
    req.ram_bytes = KiB(512);
    assert_int_equal(layout(), -ENOSPC);
    assert_non_null(strstr(why, "1 MiB"));
    req.ram_bytes = 1ull << 62;
    assert_int_equal(layout(), -EINVAL);
    assert_non_null(strstr(why, "absurd"));
}

/* ---- placement ---------------------------------------------------------------- */

static void boot_data_after_kernel_no_overlaps(void **state)
{
    uint64_t block;

    assert_int_equal(layout(), 0);
    assert_int_equal(lay.kernel_start, MiB(16));
    assert_int_equal(lay.kernel_end, MiB(24));
    assert_int_equal(lay.module_gpa[0], MiB(24));
    assert_int_equal(lay.module_gpa[0] % PAGE_SIZE, 0);
    assert_int_equal(lay.start_info_gpa, ALIGN_UP(MiB(24) + MiB(5) + 123, PAGE_SIZE));
    assert_int_equal(lay.modlist_gpa, lay.start_info_gpa + sizeof(struct hvm_start_info));
    assert_int_equal(lay.memmap_gpa, lay.modlist_gpa + sizeof(struct hvm_modlist_entry));
    assert_int_equal(lay.cmdline_gpa,
                     lay.memmap_gpa + 3 * sizeof(struct hvm_memmap_table_entry));
    assert_int_equal(lay.module_cmdline_gpa[0], lay.cmdline_gpa + req.cmdline_len + 1);
    assert_int_equal(lay.info_end, lay.module_cmdline_gpa[0] + 5);
    assert_int_equal(lay.memmap_gpa % 8, 0);
    assert_int_equal(lay.modlist_gpa % 8, 0);

    block = lay.info_end - lay.start_info_gpa;
    assert_true(in_ram(lay.module_gpa[0], req.module_size[0]));
    assert_true(in_ram(lay.start_info_gpa, block));
    assert_false(overlap(lay.module_gpa[0], req.module_size[0], MiB(16), MiB(8)));
    assert_false(overlap(lay.start_info_gpa, block, MiB(16), MiB(8)));
    assert_false(overlap(lay.start_info_gpa, block, lay.module_gpa[0], req.module_size[0]));
    assert_true(lay.info_end <= GiB(4));
}

static void no_modules(void **state)
{
    req.nr_modules = 0;
    assert_int_equal(layout(), 0);
    assert_int_equal(lay.modlist_gpa, 0);
    assert_int_equal(lay.start_info_gpa, MiB(24));
    assert_int_equal(lay.memmap_gpa, lay.start_info_gpa + sizeof(struct hvm_start_info));
}

static void low_kernel_skips_the_vga_hole(void **state)
{
    kernel_at(0x1000, 0x9e000);        /* ends 0x9f000, one page short of 640K */
    req.module_size[0] = 0x2000;       /* does not fit below 640K */
    assert_int_equal(layout(), 0);
    assert_int_equal(lay.module_gpa[0], MiB(1));
    assert_int_equal(lay.start_info_gpa, MiB(1) + 0x2000);

    req.module_size[0] = 0x1000;       /* exactly fills the last low page */
    assert_int_equal(layout(), 0);
    assert_int_equal(lay.module_gpa[0], 0x9f000);
    assert_int_equal(lay.start_info_gpa, MiB(1));

    req.module_size[0] = 0;            /* an empty ramdisk is still listed */
    assert_int_equal(layout(), 0);
    assert_int_equal(lay.module_gpa[0], 0x9f000);
    assert_int_equal(lay.start_info_gpa, 0x9f000);
}

static void never_at_gpa_zero(void **state)
{
    kernel_at(0, 0x800);               /* a tiny kernel at 0 */
    req.nr_modules = 0;
    assert_int_equal(layout(), 0);
    assert_true(lay.start_info_gpa >= PAGE_SIZE);
}

static void kernel_outside_ram_rejected(void **state)
{
    kernel_at(0xA0000, 0x1000);        /* in the VGA hole */
    assert_int_equal(layout(), -ENOSPC);
    assert_non_null(strstr(why, "outside the guest's RAM"));
    kernel_at(0x9f000, 0x2000);        /* straddles 640K */
    assert_int_equal(layout(), -ENOSPC);
    kernel_at(MiB(255), MiB(2));       /* past the end of 256 MiB */
    assert_int_equal(layout(), -ENOSPC);
    kernel_at(PVH_HOLE_START, MiB(1)); /* in the MMIO hole */
    req.ram_bytes = GiB(8);
    assert_int_equal(layout(), -ENOSPC);
    kernel_at(GiB(5), MiB(1));         /* above 4 GiB, in RAM: allowed... */
    assert_int_equal(layout(), -ENOSPC);   /* ...but boot data must stay below 4 GiB */
    assert_non_null(strstr(why, "below 4 GiB"));
}

static void modules_that_do_not_fit(void **state)
{
    req.module_size[0] = MiB(300);     /* larger than the guest */
    assert_int_equal(layout(), -ENOSPC);
    assert_non_null(strstr(why, "modules do not fit"));

    req.ram_bytes = GiB(8);            /* RAM above 4 GiB does not help */
    req.module_size[0] = GiB(4) - MiB(10);
    assert_int_equal(layout(), -ENOSPC);

    req.module_size[0] = 1ull << 63;
    assert_int_equal(layout(), -EINVAL);

    req.ram_bytes = MiB(256);
    req.module_size[0] = MiB(256) - 0xA0000 - MiB(24) - PAGE_SIZE + MiB(1);
    assert_int_equal(layout(), 0);     /* the module fits with one page to spare... */
    req.module_size[0] += PAGE_SIZE;   /* ...and without it start_info does not */
    assert_int_equal(layout(), -ENOSPC);
    assert_non_null(strstr(why, "hvm_start_info"));
}

static void hostile_request(void **state)
{
    req.nr_modules = PVH_MAX_MODULES + 1;
    assert_int_equal(layout(), -EINVAL);
    req.nr_modules = 1;
    req.cmdline_len = SIZE_MAX;
    assert_int_equal(layout(), -EINVAL);
    req.cmdline_len = 0;
    req.module_cmdline_len[0] = SIZE_MAX - 1;
    assert_int_equal(layout(), -EINVAL);
    req.module_cmdline_len[0] = 0;
    req.elf = NULL;
    assert_int_equal(layout(), -EINVAL);
}

/* ---- dom0_mem= ----------------------------------------------------------------- */

static struct dom0_mem_opt opt;

static void dom0_mem_syntax(void **state)
{
    memset(&opt, 0, sizeof(opt));
    assert_int_equal(dom0_mem_parse("512M", &opt, &why), 0);
    assert_true(opt.amount.set && !opt.min.set && !opt.max.set);
    assert_int_equal(opt.amount.bytes, MiB(512));

    assert_int_equal(dom0_mem_parse("max:512M", &opt, &why), 0);
    assert_true(!opt.amount.set && opt.max.set);
    assert_int_equal(opt.max.bytes, MiB(512));

    assert_int_equal(dom0_mem_parse("min:256M,max:1G,768M", &opt, &why), 0);
    assert_int_equal(opt.min.bytes, MiB(256));
    assert_int_equal(opt.max.bytes, GiB(1));
    assert_int_equal(opt.amount.bytes, MiB(768));

    assert_int_equal(dom0_mem_parse("-256M", &opt, &why), 0);
    assert_true(opt.amount.negative);
    assert_int_equal(dom0_mem_parse("max:25%", &opt, &why), 0);
    assert_true(opt.max.percent);
    assert_int_equal(opt.max.bytes, 25);
}

static void dom0_mem_bad_syntax(void **state)
{
    static const char *const bad[] = {
        "", "abc", "512M,", ",512M", "max:", "min:1M,min:2M", "512M,1G", "101%", "0%",
        "-5%", "5X", "max:512M junk", "max=512M", "99999999999999999999999M",
    };

    opt = (struct dom0_mem_opt){ .amount = { true, false, false, 42 } };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        why = NULL;
        assert_int_equal(dom0_mem_parse(bad[i], &opt, &why), -EINVAL);
        assert_non_null(why);
        assert_int_equal(opt.amount.bytes, 42);   /* untouched on error */
    }
    assert_int_equal(dom0_mem_parse(NULL, &opt, &why), -EINVAL);
}

static uint64_t compute(const char *s, uint64_t avail)
{
    struct dom0_mem_opt o = { 0 };

    if (s)
        assert_int_equal(dom0_mem_parse(s, &o, &why), 0);
    return dom0_mem_compute(&o, avail);
}

static void dom0_mem_arithmetic(void **state)
{
    /* Default: min(avail - reserve, 1 GiB). */
    assert_int_equal(compute(NULL, MiB(512)), MiB(448));
    assert_int_equal(compute(NULL, GiB(16)), GiB(1));
    assert_int_equal(compute(NULL, MiB(32)), 0);
    /* An amount, never above what is available. */
    assert_int_equal(compute("256M", GiB(16)), MiB(256));
    assert_int_equal(compute("4G", GiB(2)), GiB(2) - MiB(64));
    assert_int_equal(compute("-1G", GiB(4) + MiB(64)), GiB(3));
    assert_int_equal(compute("-8G", GiB(4)), 0);
    assert_int_equal(compute("50%", MiB(264)), MiB(100));
    /* Bounds. */
    assert_int_equal(compute("max:512M", GiB(16)), MiB(512));
    assert_int_equal(compute("max:2G", GiB(16)), GiB(1));     /* default is below max */
    assert_int_equal(compute("min:2G", GiB(16)), GiB(2));
    assert_int_equal(compute("min:2G,max:3G,8G", GiB(16)), GiB(3));
    assert_int_equal(compute("min:2G", GiB(1)), GiB(1) - MiB(64));
    /* Page-aligned. */
    assert_int_equal(compute("1000001", GiB(1)), ALIGN_DOWN(1000001ull, PAGE_SIZE));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(e820_small_guest, setup),
        cmocka_unit_test_setup(e820_large_guest_splits_at_the_hole, setup),
        cmocka_unit_test_setup(e820_exactly_to_the_hole, setup),
        cmocka_unit_test_setup(too_little_or_absurd_ram, setup),
        cmocka_unit_test_setup(boot_data_after_kernel_no_overlaps, setup),
        cmocka_unit_test_setup(no_modules, setup),
        cmocka_unit_test_setup(low_kernel_skips_the_vga_hole, setup),
        cmocka_unit_test_setup(never_at_gpa_zero, setup),
        cmocka_unit_test_setup(kernel_outside_ram_rejected, setup),
        cmocka_unit_test_setup(modules_that_do_not_fit, setup),
        cmocka_unit_test_setup(hostile_request, setup),
        cmocka_unit_test(dom0_mem_syntax),
        cmocka_unit_test(dom0_mem_bad_syntax),
        cmocka_unit_test(dom0_mem_arithmetic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
