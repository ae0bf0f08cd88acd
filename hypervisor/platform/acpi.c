/*
 * acpi_init(): finds the RSDP, parses the tables once with the pure parser
 * (acpi_tables.c and friends) and prints one line per table and a summary.
 * Everything after boot reads the result, acpi_info, and never the firmware
 * tables again.
 */
#include <proxenos/acpi.h>
#include <proxenos/bootinfo.h>
#include <proxenos/layout.h>
#include <proxenos/pagetable.h>
#include <proxenos/platform.h>
#include <proxenos/printk.h>

struct acpi_info acpi_info;
bool acpi_present;

/* Legacy BIOS areas the RSDP may hide in (ACPI 6.5, 5.2.5.1). */
#define BDA_EBDA_SEGMENT  0x40e
#define EBDA_SCAN_LEN     1024
#define BIOS_ROM_START    0xe0000
#define BIOS_ROM_LEN      0x20000

/*
 * The BIOS areas of the first MiB are always in the direct map; tables
 * elsewhere go through ioremap_cache(), which returns the direct map when
 * it covers them (ACPI and NVS ranges, and uncached below 4 GiB) and maps a
 * window otherwise (ACPI 6.5, 15.4: tables may sit in any of those ranges).
 */
static const void *acpi_map(const struct acpi_mem *m, paddr_t pa, size_t len)
{
    if (pa < MiB(1) && len <= MiB(1) - pa)
        return __va(pa);
    return ioremap_cache(pa, len);
}
static const struct acpi_mem acpi_mem = { acpi_map, NULL };

static bool rsdp_from_bios(struct acpi_rsdp *r, paddr_t *where)
{
    const uint16_t *seg = acpi_map(&acpi_mem, BDA_EBDA_SEGMENT, 2);
    paddr_t ebda = seg ? (paddr_t)*seg << 4 : 0;
    const void *p;
    /* Only trust an EBDA pointer that lands where an EBDA can be. */
    bool found = (ebda >= 0x80000 && ebda < 0xa0000 &&
                  acpi_rsdp_scan(&acpi_mem, ebda, EBDA_SCAN_LEN, where)) ||
                 acpi_rsdp_scan(&acpi_mem, BIOS_ROM_START, BIOS_ROM_LEN, where);

    if (!found)
        return false;
    /* The scan validated it; parse again for the fields, v2 part included. */
    p = acpi_map(&acpi_mem, *where, ACPI_RSDP_V2_LEN);
    return p && !acpi_rsdp_parse(p, ACPI_RSDP_V2_LEN, r);
}

static bool rsdp_find(const struct boot_info *bi, struct acpi_rsdp *r)
{
    paddr_t where;

    if (bi->rsdp_len) {
        if (!acpi_rsdp_parse(bi->rsdp, bi->rsdp_len, r)) {
            printk("ACPI: RSDP rev %u (%s) from the boot loader\n", r->revision, r->oem_id);
            return true;
        }
        printk(LOG_WARN "ACPI: the loader's RSDP copy is invalid; scanning the BIOS areas\n");
    }
    if (!rsdp_from_bios(r, &where))
        return false;
    printk("ACPI: RSDP rev %u (%s) at %#lx\n", r->revision, r->oem_id, where);
    return true;
}

static void print_tables(const struct acpi_info *ai)
{
    for (unsigned int i = 0; i < ai->nr_tables; i++) {
        const struct acpi_table_ref *t = &ai->tables[i];
        printk("ACPI: %s %#010lx %6u bytes, rev %u (%s %s)\n", t->sig, t->pa, t->length,
               t->revision, t->oem_id, t->oem_table_id);
    }
    for (unsigned int i = 0; i < ai->nr_problems; i++)
        printk(LOG_WARN "ACPI: %s at %#lx: %s\n", ai->problems[i].sig, ai->problems[i].pa,
               ai->problems[i].why);
    if (ai->problems_dropped)
        printk(LOG_WARN "ACPI: %u more problems not listed\n", ai->problems_dropped);
}

static void print_summary(const struct acpi_info *ai)
{
    unsigned int enabled = 0;

    for (unsigned int i = 0; i < ai->nr_cpus; i++)
        enabled += ai->cpus[i].enabled;
    if (ai->have_madt)
        printk("ACPI: MADT: %u CPUs (%u enabled, %u hot-pluggable), %u IOAPIC%s, "
               "%u overrides, LAPIC at %#lx%s\n", ai->nr_cpus, enabled, ai->nr_cpus - enabled,
               ai->nr_ioapics, ai->nr_ioapics == 1 ? "" : "s", ai->nr_overrides, ai->lapic_addr,
               ai->pcat_compat ? ", dual 8259" : "");
    else
        printk(LOG_WARN "ACPI: no usable MADT: one CPU, no IOAPIC\n");
    if (ai->have_hpet)
        printk("ACPI: HPET %u at %#lx\n", ai->hpet_number, ai->hpet_addr);
    if (ai->have_fadt)
        printk("ACPI: FADT: PM1a_CNT %s %#lx, reset %s, S5 %s (SLP_TYP %u/%u)\n",
               ai->fadt.pm1a_cnt.space == ACPI_GAS_IO ? "port" : "mmio",
               ai->fadt.pm1a_cnt.address,
               ai->fadt.reset_supported ? "register" : "not described",
               ai->have_s5 ? "from the DSDT" : "unknown", ai->slp_typa, ai->slp_typb);
}

void acpi_init(const struct boot_info *bi)
{
    struct acpi_rsdp rsdp;

    if (!rsdp_find(bi, &rsdp)) {
        printk(LOG_WARN "ACPI: no RSDP found: one CPU, no IOAPIC, no HPET\n");
        return;
    }
    if (acpi_parse(&acpi_mem, &rsdp, &acpi_info)) {
        print_tables(&acpi_info);
        printk(LOG_WARN "ACPI: neither XSDT nor RSDT is readable\n");
        return;
    }
    acpi_present = true;
    print_tables(&acpi_info);
    print_summary(&acpi_info);
    acpi_power_init();
}
