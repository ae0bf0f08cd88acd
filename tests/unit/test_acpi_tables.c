/* ACPI table parsing over a fake physical memory, well-formed and hostile. */
/* @sources: hypervisor/platform/acpi_tables.c hypervisor/platform/acpi_madt.c hypervisor/platform/acpi_fadt.c hypervisor/platform/acpi_s5.c */
#include "cmocka_prelude.h"
#include <string.h>
#include <proxenos/acpi.h>

#define MEM_SIZE 0x20000
static uint8_t mem[MEM_SIZE];
static struct acpi_info ai;

static const void *fake_map(const struct acpi_mem *m, paddr_t pa, size_t len)
{
    if (pa >= MEM_SIZE || len > MEM_SIZE - pa)
        return NULL;
    return mem + pa;
}
static const struct acpi_mem fake = { fake_map, NULL };

static void put16(size_t off, uint16_t v) { memcpy(mem + off, &v, 2); }
static void put32(size_t off, uint32_t v) { memcpy(mem + off, &v, 4); }
static void put64(size_t off, uint64_t v) { memcpy(mem + off, &v, 8); }

static int reset(void **state)
{
    memset(mem, 0, sizeof(mem));
    memset(&ai, 0, sizeof(ai));
    return 0;
}

/* Sets a table's checksum byte so the whole table sums to zero. */
static void fix_checksum(size_t pa)
{
    uint32_t len;

    memcpy(&len, mem + pa + 4, 4);
    mem[pa + 9] = 0;
    mem[pa + 9] = (uint8_t)-acpi_checksum(mem + pa, len);
}

/* Writes a header for a table of `len` bytes (body already in place). */
static void table(size_t pa, const char *sig, uint32_t len, uint8_t rev)
{
    memcpy(mem + pa, sig, 4);
    put32(pa + 4, len);
    mem[pa + 8] = rev;
    memcpy(mem + pa + 10, "PXTEST", 6);
    memcpy(mem + pa + 16, "UNITTEST", 8);
    fix_checksum(pa);
}

static void rsdp(size_t pa, uint8_t rev, uint32_t rsdt, uint64_t xsdt)
{
    memcpy(mem + pa, "RSD PTR ", 8);
    memcpy(mem + pa + 9, "PXOEM ", 6);
    mem[pa + 15] = rev;
    put32(pa + 16, rsdt);
    mem[pa + 8] = (uint8_t)-acpi_checksum(mem + pa, 20);
    if (rev < 2)
        return;                        /* ACPI 1.0: 20 bytes only */
    put32(pa + 20, 36);
    put64(pa + 24, xsdt);
    mem[pa + 32] = (uint8_t)-acpi_checksum(mem + pa, 36);
}

static bool has_problem(const char *needle)
{
    for (unsigned int i = 0; i < ai.nr_problems; i++)
        if (strstr(ai.problems[i].why, needle))
            return true;
    return false;
}

/* --- RSDP ------------------------------------------------------------- */
static void test_rsdp_v1_and_v2(void **state)
{
    struct acpi_rsdp r;

    rsdp(0x100, 0, 0x1000, 0);
    assert_int_equal(acpi_rsdp_parse(mem + 0x100, 20, &r), 0);
    assert_int_equal(r.rsdt, 0x1000);
    assert_int_equal(r.xsdt, 0);
    assert_string_equal(r.oem_id, "PXOEM ");

    rsdp(0x200, 2, 0x1000, 0x2000);
    assert_int_equal(acpi_rsdp_parse(mem + 0x200, 36, &r), 0);
    assert_int_equal(r.xsdt, 0x2000);
    assert_false(r.xsdt_checksum_bad);
    /* Only 20 bytes available (a truncated loader copy): no XSDT. */
    assert_int_equal(acpi_rsdp_parse(mem + 0x200, 20, &r), 0);
    assert_int_equal(r.xsdt, 0);
    assert_true(r.xsdt_checksum_bad);
}

static void test_rsdp_hostile(void **state)
{
    struct acpi_rsdp r;

    rsdp(0x100, 2, 0x1000, 0x2000);
    mem[0x100 + 28] ^= 1;              /* XSDT address: extended checksum breaks */
    assert_int_equal(acpi_rsdp_parse(mem + 0x100, 36, &r), 0);
    assert_true(r.xsdt_checksum_bad);
    assert_int_equal(r.xsdt, 0);
    assert_int_equal(r.rsdt, 0x1000);

    rsdp(0x200, 2, 0x1000, 0x2000);
    put32(0x200 + 20, 0xffffffff);     /* Length far past what we have */
    mem[0x200 + 8] = 0;
    mem[0x200 + 8] = (uint8_t)-acpi_checksum(mem + 0x200, 20);
    assert_int_equal(acpi_rsdp_parse(mem + 0x200, 36, &r), 0);
    assert_true(r.xsdt_checksum_bad);

    rsdp(0x300, 0, 0x1000, 0);
    mem[0x300 + 16] ^= 1;              /* v1 checksum: unusable */
    assert_int_equal(acpi_rsdp_parse(mem + 0x300, 20, &r), -EINVAL);
    rsdp(0x400, 0, 0x1000, 0);
    mem[0x400] = 'X';
    assert_int_equal(acpi_rsdp_parse(mem + 0x400, 20, &r), -EINVAL);
    assert_int_equal(acpi_rsdp_parse(mem + 0x400, 19, &r), -EINVAL);
}

static void test_rsdp_scan(void **state)
{
    paddr_t found = 0;

    assert_false(acpi_rsdp_scan(&fake, 0x1000, 0x1000, &found));
    rsdp(0x1400, 0, 0x5000, 0);
    mem[0x1400 + 8] ^= 0x55;           /* a corrupt candidate first */
    rsdp(0x1800, 2, 0x5000, 0x6000);
    assert_true(acpi_rsdp_scan(&fake, 0x1000, 0x1000, &found));
    assert_int_equal(found, 0x1800);
    /* Not on a 16-byte boundary: not an RSDP. */
    reset(NULL);
    rsdp(0x1808, 0, 0x5000, 0);
    assert_false(acpi_rsdp_scan(&fake, 0x1000, 0x1000, &found));
    /* A candidate at the very end of memory must not be read past it. */
    rsdp(MEM_SIZE - 32, 0, 0x5000, 0);
    assert_true(acpi_rsdp_scan(&fake, MEM_SIZE - 0x100, 0x100, &found));
    assert_int_equal(found, MEM_SIZE - 32);
}

/* --- table headers ------------------------------------------------------ */
static void test_table_map_hostile(void **state)
{
    const char *why = NULL;
    uint32_t len;

    table(0x1000, "APIC", 44, 1);
    assert_non_null(acpi_table_map(&fake, 0x1000, "APIC", &len, &why));
    assert_int_equal(len, 44);
    assert_null(acpi_table_map(&fake, 0x1000, "FACP", &len, &why));
    assert_string_equal(why, "wrong signature");
    mem[0x1000 + 40] ^= 1;
    assert_null(acpi_table_map(&fake, 0x1000, NULL, &len, &why));
    assert_string_equal(why, "bad checksum");

    table(0x2000, "APIC", 20, 1);      /* shorter than its own header */
    assert_null(acpi_table_map(&fake, 0x2000, NULL, &len, &why));
    assert_string_equal(why, "length shorter than the table header");

    table(MEM_SIZE - 64, "SSDT", 36, 1);
    put32(MEM_SIZE - 64 + 4, 200);     /* runs off the end of memory */
    assert_null(acpi_table_map(&fake, MEM_SIZE - 64, NULL, &len, &why));
    assert_string_equal(why, "length runs past addressable memory");

    table(0x3000, "SSDT", 36, 1);
    put32(0x3000 + 4, 0xfffffff0);
    assert_null(acpi_table_map(&fake, 0x3000, NULL, &len, &why));
    assert_string_equal(why, "implausible length");

    assert_null(acpi_table_map(&fake, 0, NULL, &len, &why));
    assert_null(acpi_table_map(&fake, MEM_SIZE - 8, NULL, &len, &why));
    assert_string_equal(why, "header not addressable");
}

/* --- MADT ------------------------------------------------------------- */
static size_t madt_off;
static void madt_begin(size_t pa, uint32_t lapic, uint32_t flags)
{
    put32(pa + 36, lapic);
    put32(pa + 40, flags);
    madt_off = pa + 44;
}
static void madt_entry(const uint8_t *e, size_t n)
{
    memcpy(mem + madt_off, e, n);
    madt_off += n;
}
static void madt_end(size_t pa)
{
    table(pa, "APIC", (uint32_t)(madt_off - pa), 5);
}

static void test_madt_full(void **state)
{
    static const uint8_t lapic0[] = { 0, 8, 0, 0, 1, 0, 0, 0 };          /* enabled */
    static const uint8_t lapic1[] = { 0, 8, 1, 2, 2, 0, 0, 0 };          /* online capable */
    static const uint8_t lapic2[] = { 0, 8, 2, 3, 0, 0, 0, 0 };          /* unusable */
    static const uint8_t lapic_ff[] = { 0, 8, 3, 0xff, 1, 0, 0, 0 };     /* broadcast id */
    static const uint8_t x2[] = { 9, 16, 0, 0, 0x00, 0x01, 0, 0, 1, 0, 0, 0, 7, 0, 0, 0 };
    static const uint8_t ioapic[] = { 1, 12, 4, 0, 0, 0, 0xc0, 0xfe, 0, 0, 0, 0 };
    static const uint8_t iso[] = { 2, 10, 0, 0, 2, 0, 0, 0, 0, 0 };      /* IRQ0 -> GSI2 */
    static const uint8_t iso9[] = { 2, 10, 0, 9, 9, 0, 0, 0, 0x0d, 0 };  /* level, high */
    static const uint8_t nmisrc[] = { 3, 8, 5, 0, 16, 0, 0, 0 };
    static const uint8_t lnmi[] = { 4, 6, 0xff, 5, 0, 1 };
    static const uint8_t x2nmi[] = { 10, 12, 5, 0, 7, 0, 0, 0, 0, 0, 0, 0 };
    static const uint8_t addr[] = { 5, 12, 0, 0, 0, 0, 0xe0, 0xfe, 1, 0, 0, 0 };
    static const uint8_t gicc[] = { 0x0b, 4, 0, 0 };                     /* not x86: skipped */

    madt_begin(0x1000, 0xfee00000, 1);
    madt_entry(lapic0, 8); madt_entry(lapic1, 8); madt_entry(lapic2, 8);
    madt_entry(lapic_ff, 8); madt_entry(x2, 16); madt_entry(ioapic, 12);
    madt_entry(iso, 10); madt_entry(iso9, 10); madt_entry(nmisrc, 8);
    madt_entry(lnmi, 6); madt_entry(x2nmi, 12); madt_entry(gicc, 4);
    madt_end(0x1000);
    assert_int_equal(acpi_parse_madt(mem + 0x1000, (uint32_t)(madt_off - 0x1000), 0x1000, &ai), 0);
    assert_true(ai.pcat_compat);
    assert_int_equal(ai.lapic_addr, 0xfee00000);
    assert_int_equal(ai.nr_cpus, 3);
    assert_int_equal(ai.cpus[0].apic_id, 0);
    assert_true(ai.cpus[0].enabled);
    assert_int_equal(ai.cpus[1].apic_id, 2);
    assert_false(ai.cpus[1].enabled);
    assert_true(ai.cpus[1].online_capable);
    assert_int_equal(ai.cpus[2].apic_id, 0x100);
    assert_true(ai.cpus[2].x2apic_entry);
    assert_int_equal(ai.cpus[2].uid, 7);
    assert_int_equal(ai.nr_ioapics, 1);
    assert_int_equal(ai.ioapics[0].addr, 0xfec00000);
    assert_int_equal(ai.ioapics[0].id, 4);
    assert_int_equal(ai.nr_overrides, 2);
    assert_int_equal(ai.overrides[0].gsi, 2);
    assert_int_equal(ai.overrides[1].flags, 0x0d);
    assert_int_equal(ai.nr_nmi_sources, 1);
    assert_int_equal(ai.nmi_sources[0].gsi, 16);
    assert_int_equal(ai.nr_lapic_nmis, 2);
    assert_int_equal(ai.lapic_nmis[0].uid, ACPI_UID_ALL);
    assert_int_equal(ai.lapic_nmis[0].lint, 1);
    assert_int_equal(ai.lapic_nmis[1].uid, 7);
    assert_int_equal(ai.nr_problems, 0);
    /* A type 5 entry overrides the 32-bit address. */
    reset(NULL);
    madt_begin(0x1000, 0xfee00000, 0);
    madt_entry(addr, 12);
    madt_end(0x1000);
    acpi_parse_madt(mem + 0x1000, 56, 0x1000, &ai);
    assert_int_equal(ai.lapic_addr, 0x1fee00000ull);
    assert_false(ai.pcat_compat);
}

static void test_madt_truncated_entries(void **state)
{
    static const uint8_t lapic0[] = { 0, 8, 0, 0, 1, 0, 0, 0 };
    static const uint8_t short_lapic[] = { 0, 4, 1, 1 };                  /* too short for type 0 */
    static const uint8_t short_x2[] = { 9, 8, 0, 0, 5, 0, 0, 0 };
    static const uint8_t lapic3[] = { 0, 8, 3, 3, 1, 0, 0, 0 };

    madt_begin(0x1000, 0xfee00000, 0);
    madt_entry(lapic0, 8); madt_entry(short_lapic, 4); madt_entry(short_x2, 8);
    madt_entry(lapic3, 8);
    madt_end(0x1000);
    acpi_parse_madt(mem + 0x1000, (uint32_t)(madt_off - 0x1000), 0x1000, &ai);
    assert_int_equal(ai.nr_cpus, 2);   /* the walk continues after a short entry */
    assert_int_equal(ai.cpus[1].apic_id, 3);
    assert_int_equal(ai.nr_problems, 2);
    assert_true(has_problem("truncated"));
}

static void test_madt_broken_lengths(void **state)
{
    static const uint8_t lapic0[] = { 0, 8, 0, 0, 1, 0, 0, 0 };
    static const uint8_t zero_len[] = { 0, 0, 1, 1, 1, 0, 0, 0 };
    static const uint8_t long_len[] = { 0, 200, 1, 1, 1, 0, 0, 0 };
    uint32_t len;

    madt_begin(0x1000, 0xfee00000, 0);
    madt_entry(lapic0, 8); madt_entry(zero_len, 8); madt_entry(lapic0, 8);
    madt_end(0x1000);
    acpi_parse_madt(mem + 0x1000, (uint32_t)(madt_off - 0x1000), 0x1000, &ai);
    assert_int_equal(ai.nr_cpus, 1);   /* stops at the zero length, no loop */
    assert_true(has_problem("length below 2"));

    reset(NULL);
    madt_begin(0x1000, 0xfee00000, 0);
    madt_entry(lapic0, 8); madt_entry(long_len, 8);
    madt_end(0x1000);
    len = (uint32_t)(madt_off - 0x1000);
    acpi_parse_madt(mem + 0x1000, len, 0x1000, &ai);
    assert_int_equal(ai.nr_cpus, 1);
    assert_true(has_problem("past the end"));

    /* A lone trailing byte, and a table shorter than its fixed part. */
    reset(NULL);
    madt_begin(0x1000, 0xfee00000, 0);
    madt_entry(lapic0, 8);
    madt_off++;
    madt_end(0x1000);
    acpi_parse_madt(mem + 0x1000, (uint32_t)(madt_off - 0x1000), 0x1000, &ai);
    assert_int_equal(ai.nr_cpus, 1);
    assert_true(has_problem("stray byte"));
    assert_int_equal(acpi_parse_madt(mem + 0x1000, 40, 0x1000, &ai), -EINVAL);
}

static void test_madt_duplicates_and_overflow(void **state)
{
    uint8_t e[8] = { 0, 8, 0, 0, 1, 0, 0, 0 };

    madt_begin(0x1000, 0xfee00000, 0);
    madt_entry(e, 8);
    madt_entry(e, 8);                  /* same APIC ID again */
    for (int i = 1; i < 255; i++) {
        e[2] = e[3] = (uint8_t)i;
        madt_entry(e, 8);
    }
    for (int i = 0; i < 10; i++) {     /* x2APIC IDs past the table's capacity */
        uint8_t x[16] = { 9, 16 };
        x[4] = (uint8_t)i; x[5] = 0x10; x[8] = 1;
        madt_entry(x, 16);
    }
    madt_end(0x1000);
    acpi_parse_madt(mem + 0x1000, (uint32_t)(madt_off - 0x1000), 0x1000, &ai);
    assert_int_equal(ai.nr_cpus, ACPI_MAX_CPUS);
    assert_true(has_problem("duplicate APIC ID"));
    assert_true(has_problem("too many processors"));
}

/* --- FADT, DSDT and \_S5 ------------------------------------------------ */
static const uint8_t s5_bytes[] = {
    0x08, '\\', '_', 'S', '5', '_', 0x12, 0x08, 0x04, 0x0a, 0x05, 0x0a, 0x06, 0x00, 0x00,
};

static void dsdt_with(size_t pa, const uint8_t *aml, size_t n)
{
    memcpy(mem + pa + 36, aml, n);
    table(pa, "DSDT", (uint32_t)(36 + n), 2);
}

static void fadt_v1(size_t pa, uint32_t dsdt)
{
    put32(pa + 40, dsdt);
    put16(pa + 46, 9);
    put32(pa + 48, 0xb2);
    mem[pa + 52] = 0xf1;
    put32(pa + 64, 0x604);
    mem[pa + 89] = 2;
    table(pa, "FACP", 116, 1);
}

static void test_fadt_v1(void **state)
{
    fadt_v1(0x1000, 0x2000);
    assert_int_equal(acpi_parse_fadt(mem + 0x1000, 116, 0x1000, &ai), 0);
    assert_int_equal(ai.fadt.pm1a_cnt.space, ACPI_GAS_IO);
    assert_int_equal(ai.fadt.pm1a_cnt.address, 0x604);
    assert_int_equal(ai.fadt.pm1a_cnt.bit_width, 16);
    assert_int_equal(ai.fadt.pm1b_cnt.address, 0);
    assert_int_equal(ai.fadt.sci_irq, 9);
    assert_int_equal(ai.fadt.smi_cmd, 0xb2);
    assert_int_equal(ai.fadt.acpi_enable, 0xf1);
    assert_int_equal(ai.fadt.dsdt, 0x2000);
    assert_false(ai.fadt.reset_supported);
    assert_int_equal(acpi_parse_fadt(mem + 0x1000, 100, 0x1000, &ai), -EINVAL);
}

static void test_fadt_v5_x_fields(void **state)
{
    size_t pa = 0x1000;

    put32(pa + 40, 0x2000);
    put32(pa + 64, 0x604);
    mem[pa + 89] = 2;
    put32(pa + 112, ACPI_FADT_RESET_REG_SUP);
    mem[pa + 116] = ACPI_GAS_IO; mem[pa + 117] = 8;
    put64(pa + 120, 0xcf9);
    mem[pa + 128] = 0x06;
    put64(pa + 140, 0x3000);                      /* X_DSDT wins */
    mem[pa + 172] = ACPI_GAS_IO; mem[pa + 173] = 16;
    put64(pa + 176, 0xb004);                      /* X_PM1a_CNT_BLK wins */
    table(pa, "FACP", 276, 6);
    assert_int_equal(acpi_parse_fadt(mem + pa, 276, pa, &ai), 0);
    assert_true(ai.fadt.reset_supported);
    assert_int_equal(ai.fadt.reset_reg.address, 0xcf9);
    assert_int_equal(ai.fadt.reset_value, 6);
    assert_int_equal(ai.fadt.dsdt, 0x3000);
    assert_int_equal(ai.fadt.pm1a_cnt.address, 0xb004);
    /* Reset register claimed by the flag but beyond a short table: ignored. */
    put32(pa + 4, 120);
    fix_checksum(pa);
    acpi_parse_fadt(mem + pa, 120, pa, &ai);
    assert_false(ai.fadt.reset_supported);
    assert_int_equal(ai.fadt.dsdt, 0x2000);
}

static void test_s5_shapes(void **state)
{
    uint8_t a = 99, b = 99;
    static const uint8_t qemu[] = {        /* Name(_S5, Package(4){Zero, Zero, Zero, Zero}) */
        0x10, 0x05, '_', 'S', 'B', '_', 0x08, '_', 'S', '5', '_', 0x12, 0x06, 0x04, 0, 0, 0, 0,
    };
    static const uint8_t one_elem[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x04, 0x01, 0x0a, 0x05 };
    static const uint8_t too_big[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x06, 0x02, 0x0a, 0x09, 0x0a, 0x01 };
    static const uint8_t truncated[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x08, 0x04, 0x0a, 0x05 };
    static const uint8_t not_a_name[] = { 0x70, '_', 'S', '5', '_', 0x12, 0x06, 0x02, 0x01, 0x01 };
    static const uint8_t long_pkglen[] = {  /* two-byte PkgLength, word values */
        0x08, '_', 'S', '5', '_', 0x12, 0x49, 0x00, 0x02, 0x0b, 0x03, 0x00, 0x0b, 0x04, 0x00,
    };
    static const uint8_t pkglen_past[] = { 0x08, '_', 'S', '5', '_', 0x12, 0x3f, 0x02, 0x01, 0x01 };
    /* A bogus match first, then the real object: the scan must go on. */
    static const uint8_t decoy[] = {
        0x08, '_', 'S', '5', '_', 0x70, 0x08, '_', 'S', '5', '_', 0x12, 0x05, 0x02, 0x01, 0x0a, 0x07,
    };

    assert_int_equal(acpi_find_s5(s5_bytes, sizeof(s5_bytes), &a, &b), 0);
    assert_int_equal(a, 5);
    assert_int_equal(b, 6);
    assert_int_equal(acpi_find_s5(qemu, sizeof(qemu), &a, &b), 0);
    assert_int_equal(a, 0);
    assert_int_equal(b, 0);
    assert_int_equal(acpi_find_s5(long_pkglen, sizeof(long_pkglen), &a, &b), 0);
    assert_int_equal(a, 3);
    assert_int_equal(b, 4);
    assert_int_equal(acpi_find_s5(decoy, sizeof(decoy), &a, &b), 0);
    assert_int_equal(a, 1);
    assert_int_equal(b, 7);
    assert_int_equal(acpi_find_s5(one_elem, sizeof(one_elem), &a, &b), -ENOENT);
    assert_int_equal(acpi_find_s5(too_big, sizeof(too_big), &a, &b), -ENOENT);
    assert_int_equal(acpi_find_s5(truncated, sizeof(truncated), &a, &b), -ENOENT);
    assert_int_equal(acpi_find_s5(not_a_name, sizeof(not_a_name), &a, &b), -ENOENT);
    assert_int_equal(acpi_find_s5(pkglen_past, sizeof(pkglen_past), &a, &b), -ENOENT);
    /* Every truncation of a good object fails cleanly (ASan checks the reads). */
    for (size_t n = 0; n < sizeof(s5_bytes); n++)
        assert_int_equal(acpi_find_s5(s5_bytes, n, &a, &b), -ENOENT);
}

static void test_hpet_table(void **state)
{
    mem[0x1000 + 40] = ACPI_GAS_MEMORY;
    put64(0x1000 + 44, 0xfed00000);
    mem[0x1000 + 52] = 0;
    put16(0x1000 + 53, 0x80);
    table(0x1000, "HPET", 56, 1);
    assert_int_equal(acpi_parse_hpet(mem + 0x1000, 56, 0x1000, &ai), 0);
    assert_int_equal(ai.hpet_addr, 0xfed00000);
    assert_int_equal(ai.hpet_min_tick, 0x80);
    assert_int_equal(acpi_parse_hpet(mem + 0x1000, 52, 0x1000, &ai), -EINVAL);
    mem[0x1000 + 40] = ACPI_GAS_IO;
    assert_int_equal(acpi_parse_hpet(mem + 0x1000, 56, 0x1000, &ai), -EINVAL);
}

/* --- the whole walk ------------------------------------------------------ */
/* A machine: RSDP at 0x100, RSDT 0x1000 -> FADT 0x3000 + MADT-A 0x5000,
 * XSDT 0x2000 -> FADT + MADT-B 0x6000 + HPET 0x7000; DSDT 0x4000. */
static void build_machine(void)
{
    static const uint8_t cpu_a[] = { 0, 8, 0, 0, 1, 0, 0, 0 };
    static const uint8_t cpu_b[] = { 0, 8, 0, 4, 1, 0, 0, 0 };

    fadt_v1(0x3000, 0x4000);
    dsdt_with(0x4000, s5_bytes, sizeof(s5_bytes));
    madt_begin(0x5000, 0xfee00000, 1); madt_entry(cpu_a, 8); madt_end(0x5000);
    madt_begin(0x6000, 0xfee00000, 1); madt_entry(cpu_b, 8); madt_end(0x6000);
    mem[0x7000 + 40] = ACPI_GAS_MEMORY;
    put64(0x7000 + 44, 0xfed00000);
    table(0x7000, "HPET", 56, 1);
    put32(0x1000 + 36, 0x3000); put32(0x1000 + 40, 0x5000);
    table(0x1000, "RSDT", 44, 1);
    put64(0x2000 + 36, 0x3000); put64(0x2000 + 44, 0x6000); put64(0x2000 + 52, 0x7000);
    table(0x2000, "XSDT", 60, 1);
    rsdp(0x100, 2, 0x1000, 0x2000);
}

static int parse_machine(void)
{
    struct acpi_rsdp r;

    assert_int_equal(acpi_rsdp_parse(mem + 0x100, 36, &r), 0);
    return acpi_parse(&fake, &r, &ai);
}

static void test_walk_prefers_xsdt(void **state)
{
    build_machine();
    assert_int_equal(parse_machine(), 0);
    assert_true(ai.used_xsdt);
    assert_true(ai.have_madt && ai.have_fadt && ai.have_hpet && ai.have_s5);
    assert_int_equal(ai.cpus[0].apic_id, 4);           /* MADT-B, from the XSDT */
    assert_int_equal(ai.slp_typa, 5);
    assert_int_equal(ai.nr_tables, 5);                 /* XSDT FACP DSDT APIC HPET */
    assert_string_equal(ai.tables[0].sig, "XSDT");
    assert_string_equal(ai.tables[2].sig, "DSDT");
    assert_string_equal(ai.tables[3].oem_table_id, "UNITTEST");
    assert_int_equal(ai.nr_problems, 0);
}

static void test_walk_falls_back_to_rsdt(void **state)
{
    build_machine();
    mem[0x2000 + 40] ^= 0xff;                          /* XSDT checksum broken */
    assert_int_equal(parse_machine(), 0);
    assert_false(ai.used_xsdt);
    assert_int_equal(ai.cpus[0].apic_id, 0);           /* MADT-A, from the RSDT */
    assert_false(ai.have_hpet);
    assert_true(has_problem("bad checksum"));

    reset(NULL);
    build_machine();
    put32(0x1000 + 4, 0x10000000);                     /* and the RSDT unreadable */
    mem[0x2000 + 40] ^= 0xff;
    assert_int_equal(parse_machine(), -ENOENT);
}

static void test_walk_bad_children(void **state)
{
    build_machine();
    mem[0x6000 + 44] ^= 1;                             /* MADT-B checksum */
    put64(0x2000 + 52, 0x7fff0000);                    /* HPET entry points nowhere */
    put32(0x3000 + 40, 0x9000);                        /* DSDT pointer to zeroes */
    fix_checksum(0x3000);
    fix_checksum(0x2000);
    assert_int_equal(parse_machine(), 0);
    assert_false(ai.have_madt);
    assert_false(ai.have_hpet);
    assert_false(ai.have_s5);
    assert_true(ai.have_fadt);
    assert_int_equal(ai.nr_problems, 3);
    assert_string_equal(ai.problems[0].sig, "DSDT");
    assert_string_equal(ai.problems[1].sig, "APIC");   /* named from its header */
    assert_string_equal(ai.problems[2].sig, "????");
}

static void test_walk_too_many_tables(void **state)
{
    struct acpi_rsdp r;
    uint32_t n = 100;

    table(0x4000, "SSDT", 36, 1);
    for (uint32_t i = 0; i < n; i++)
        put32(0x1000 + 36 + i * 4, 0x4000);
    mem[0x1000 + 36 + n * 4] = 0xaa;                   /* and a partial entry */
    table(0x1000, "RSDT", 36 + n * 4 + 1, 1);
    rsdp(0x100, 0, 0x1000, 0);
    assert_int_equal(acpi_rsdp_parse(mem + 0x100, 20, &r), 0);
    assert_int_equal(acpi_parse(&fake, &r, &ai), 0);
    assert_int_equal(ai.nr_tables, ACPI_MAX_TABLES);
    assert_true(has_problem("too many tables"));
    assert_true(has_problem("whole number of entries"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_rsdp_v1_and_v2, reset),
        cmocka_unit_test_setup(test_rsdp_hostile, reset),
        cmocka_unit_test_setup(test_rsdp_scan, reset),
        cmocka_unit_test_setup(test_table_map_hostile, reset),
        cmocka_unit_test_setup(test_madt_full, reset),
        cmocka_unit_test_setup(test_madt_truncated_entries, reset),
        cmocka_unit_test_setup(test_madt_broken_lengths, reset),
        cmocka_unit_test_setup(test_madt_duplicates_and_overflow, reset),
        cmocka_unit_test_setup(test_fadt_v1, reset),
        cmocka_unit_test_setup(test_fadt_v5_x_fields, reset),
        cmocka_unit_test_setup(test_s5_shapes, reset),
        cmocka_unit_test_setup(test_hpet_table, reset),
        cmocka_unit_test_setup(test_walk_prefers_xsdt, reset),
        cmocka_unit_test_setup(test_walk_falls_back_to_rsdt, reset),
        cmocka_unit_test_setup(test_walk_bad_children, reset),
        cmocka_unit_test_setup(test_walk_too_many_tables, reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
