/*
 * MADT parsing (ACPI 6.5, 5.2.12): processors, IOAPICs, interrupt source
 * overrides and NMI wiring. Every entry's length is checked against both its
 * type's minimum and the end of the table before a field is read; a bad
 * entry is recorded and skipped, a broken length stops the walk.
 */
#include <proxenos/acpi.h>
#include <proxenos/lib.h>

/* Entry types and their minimum lengths (ACPI 5.2.12, tables 5.21-5.34). */
enum {
    MADT_LAPIC = 0, MADT_IOAPIC = 1, MADT_OVERRIDE = 2, MADT_NMI_SOURCE = 3,
    MADT_LAPIC_NMI = 4, MADT_LAPIC_ADDR = 5, MADT_X2APIC = 9, MADT_X2APIC_NMI = 10,
};
static const uint8_t madt_min_len[] = {
    [MADT_LAPIC] = 8, [MADT_IOAPIC] = 12, [MADT_OVERRIDE] = 10, [MADT_NMI_SOURCE] = 8,
    [MADT_LAPIC_NMI] = 6, [MADT_LAPIC_ADDR] = 12, [MADT_X2APIC] = 16, [MADT_X2APIC_NMI] = 12,
};

#define MADT_FIXED_LEN   44        /* header + Local APIC Address + Flags */
#define MADT_PCAT_COMPAT 0x1
#define LAPIC_ENABLED        0x1   /* table 5.23 */
#define LAPIC_ONLINE_CAPABLE 0x2   /* ACPI 6.3+ */

static bool cpu_known(const struct acpi_info *ai, uint32_t apic_id)
{
    for (unsigned int i = 0; i < ai->nr_cpus; i++)
        if (ai->cpus[i].apic_id == apic_id)
            return true;
    return false;
}

static void add_cpu(struct acpi_info *ai, paddr_t pa, uint32_t apic_id, uint32_t uid,
                    uint32_t flags, bool x2apic)
{
    struct acpi_cpu *c;

    /* Neither usable nor hot-pluggable: firmware lists it for UID numbering only. */
    if (!(flags & (LAPIC_ENABLED | LAPIC_ONLINE_CAPABLE)))
        return;
    if (cpu_known(ai, apic_id)) {
        acpi_problem(ai, "APIC", pa, "duplicate APIC ID ignored");
        return;
    }
    if (ai->nr_cpus >= ACPI_MAX_CPUS) {
        acpi_problem(ai, "APIC", pa, "too many processors; the rest are ignored");
        return;
    }
    c = &ai->cpus[ai->nr_cpus++];
    c->apic_id = apic_id;
    c->uid = uid;
    c->enabled = flags & LAPIC_ENABLED;
    c->online_capable = !c->enabled && (flags & LAPIC_ONLINE_CAPABLE);
    c->x2apic_entry = x2apic;
}

static void add_ioapic(struct acpi_info *ai, paddr_t pa, const uint8_t *e)
{
    struct acpi_ioapic *io;

    if (ai->nr_ioapics >= ACPI_MAX_IOAPICS) {
        acpi_problem(ai, "APIC", pa, "too many IOAPICs; the rest are ignored");
        return;
    }
    io = &ai->ioapics[ai->nr_ioapics++];
    io->id = e[2];
    io->addr = acpi_get32(e + 4);
    io->gsi_base = acpi_get32(e + 8);
}

static void add_override(struct acpi_info *ai, paddr_t pa, const uint8_t *e)
{
    struct acpi_override *o;

    /* Bus 0 is ISA, the only bus the spec defines for overrides. */
    if (e[2] != 0 || e[3] >= 16) {
        acpi_problem(ai, "APIC", pa, "override of a non-ISA source ignored");
        return;
    }
    if (ai->nr_overrides >= ACPI_MAX_OVERRIDES) {
        acpi_problem(ai, "APIC", pa, "too many interrupt source overrides");
        return;
    }
    o = &ai->overrides[ai->nr_overrides++];
    o->bus = e[2];
    o->irq = e[3];
    o->gsi = acpi_get32(e + 4);
    o->flags = acpi_get16(e + 8);
}

static void add_nmi_source(struct acpi_info *ai, paddr_t pa, const uint8_t *e)
{
    if (ai->nr_nmi_sources >= ACPI_MAX_NMI_SOURCES) {
        acpi_problem(ai, "APIC", pa, "too many NMI sources");
        return;
    }
    ai->nmi_sources[ai->nr_nmi_sources++] = (struct acpi_nmi_source){
        .flags = acpi_get16(e + 2), .gsi = acpi_get32(e + 4),
    };
}

static void add_lapic_nmi(struct acpi_info *ai, paddr_t pa, uint32_t uid, uint16_t flags,
                          uint8_t lint)
{
    if (lint > 1) {
        acpi_problem(ai, "APIC", pa, "local APIC NMI on a LINT pin other than 0/1 ignored");
        return;
    }
    if (ai->nr_lapic_nmis >= ACPI_MAX_LAPIC_NMIS) {
        acpi_problem(ai, "APIC", pa, "too many local APIC NMI entries");
        return;
    }
    ai->lapic_nmis[ai->nr_lapic_nmis++] = (struct acpi_lapic_nmi){
        .uid = uid, .flags = flags, .lint = lint,
    };
}

static void parse_entry(struct acpi_info *ai, paddr_t pa, const uint8_t *e)
{
    switch (e[0]) {
    case MADT_LAPIC:
        /* xAPIC ID 0xff is the broadcast address, never a processor. */
        if (e[3] != 0xff)
            add_cpu(ai, pa, e[3], e[2], acpi_get32(e + 4), false);
        break;
    case MADT_X2APIC:
        add_cpu(ai, pa, acpi_get32(e + 4), acpi_get32(e + 12), acpi_get32(e + 8), true);
        break;
    case MADT_IOAPIC:
        add_ioapic(ai, pa, e);
        break;
    case MADT_OVERRIDE:
        add_override(ai, pa, e);
        break;
    case MADT_NMI_SOURCE:
        add_nmi_source(ai, pa, e);
        break;
    case MADT_LAPIC_NMI:
        /* An 8-bit UID of 0xff means every processor. */
        add_lapic_nmi(ai, pa, e[2] == 0xff ? ACPI_UID_ALL : e[2], acpi_get16(e + 3), e[5]);
        break;
    case MADT_X2APIC_NMI:
        add_lapic_nmi(ai, pa, acpi_get32(e + 4), acpi_get16(e + 2), e[8]);
        break;
    case MADT_LAPIC_ADDR:
        ai->lapic_addr = acpi_get64(e + 4);
        break;
    default:
        break;                         /* GIC, RINTC and others: not x86 */
    }
}

int acpi_parse_madt(const uint8_t *t, uint32_t len, paddr_t pa, struct acpi_info *ai)
{
    uint32_t off = MADT_FIXED_LEN;

    if (len < MADT_FIXED_LEN) {
        acpi_problem(ai, "APIC", pa, "shorter than its fixed fields");
        return -EINVAL;
    }
    ai->lapic_addr = acpi_get32(t + 36);
    ai->pcat_compat = acpi_get32(t + 40) & MADT_PCAT_COMPAT;
    while (off < len) {
        const uint8_t *e = t + off;
        uint8_t type, elen;

        if (len - off < 2) {
            acpi_problem(ai, "APIC", pa, "stray byte after the last entry");
            break;
        }
        type = e[0];
        elen = e[1];
        if (elen < 2) {                /* would never advance: stop here */
            acpi_problem(ai, "APIC", pa, "entry with a length below 2");
            break;
        }
        if (elen > len - off) {
            acpi_problem(ai, "APIC", pa, "entry runs past the end of the table");
            break;
        }
        if (type < ARRAY_SIZE(madt_min_len) && elen < madt_min_len[type])
            acpi_problem(ai, "APIC", pa, "truncated entry skipped");
        else
            parse_entry(ai, pa, e);
        off += elen;
    }
    return 0;
}
