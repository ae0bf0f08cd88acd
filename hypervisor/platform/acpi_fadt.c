/*
 * FADT (ACPI 6.5, 5.2.9, table 5.9) and HPET (IA-PC HPET 1.0a, 3.2.4)
 * tables. The FADT has grown over the revisions; a field is only read when
 * the table's length covers it, and the 64-bit X_ fields win over the
 * legacy 32-bit ones when present and non-zero (5.2.9, "X_" field notes).
 */
#include <proxenos/acpi.h>
#include <proxenos/lib.h>

/* Byte offsets into the FADT (ACPI 5.2.9, table 5.9). */
#define FADT_DSDT           40
#define FADT_SCI_INT        46
#define FADT_SMI_CMD        48
#define FADT_ACPI_ENABLE    52
#define FADT_PM1A_CNT_BLK   64
#define FADT_PM1B_CNT_BLK   68
#define FADT_PM1_CNT_LEN    89
#define FADT_FLAGS          112
#define FADT_V1_LEN         116   /* ACPI 1.0 ends after Flags */
#define FADT_RESET_REG      116
#define FADT_RESET_VALUE    128
#define FADT_X_DSDT         140
#define FADT_X_PM1A_CNT     172
#define FADT_X_PM1B_CNT     184
#define FADT_SLEEP_CONTROL  244
#define GAS_LEN             12

#define HPET_BASE_ADDR      40    /* HPET 1.0a, table 3 */
#define HPET_NUMBER         52
#define HPET_MIN_TICK       53
#define HPET_TABLE_LEN      56

static bool covers(uint32_t len, uint32_t off, uint32_t size)
{
    return off + size <= len;
}

static struct acpi_gas get_gas(const uint8_t *p)
{
    return (struct acpi_gas){
        .space = p[0], .bit_width = p[1], .bit_offset = p[2], .access_size = p[3],
        .address = acpi_get64(p + 4),
    };
}

/* A legacy PM1 control block: an I/O port of PM1_CNT_LEN bytes. */
static struct acpi_gas legacy_pm1(uint32_t port, uint8_t cnt_len)
{
    return (struct acpi_gas){
        .space = ACPI_GAS_IO, .bit_width = (uint8_t)(cnt_len * 8), .address = port,
    };
}

static void parse_pm1(const uint8_t *t, uint32_t len, struct acpi_fadt_info *f)
{
    uint8_t cnt_len = t[FADT_PM1_CNT_LEN];

    f->pm1a_cnt = legacy_pm1(acpi_get32(t + FADT_PM1A_CNT_BLK), cnt_len);
    f->pm1b_cnt = legacy_pm1(acpi_get32(t + FADT_PM1B_CNT_BLK), cnt_len);
    if (covers(len, FADT_X_PM1A_CNT, GAS_LEN) && acpi_get64(t + FADT_X_PM1A_CNT + 4))
        f->pm1a_cnt = get_gas(t + FADT_X_PM1A_CNT);
    if (covers(len, FADT_X_PM1B_CNT, GAS_LEN) && acpi_get64(t + FADT_X_PM1B_CNT + 4))
        f->pm1b_cnt = get_gas(t + FADT_X_PM1B_CNT);
}

int acpi_parse_fadt(const uint8_t *t, uint32_t len, paddr_t pa, struct acpi_info *ai)
{
    struct acpi_fadt_info *f = &ai->fadt;

    if (len < FADT_V1_LEN) {
        acpi_problem(ai, "FACP", pa, "shorter than an ACPI 1.0 FADT");
        return -EINVAL;
    }
    memset(f, 0, sizeof(*f));
    f->flags = acpi_get32(t + FADT_FLAGS);
    f->hw_reduced = f->flags & ACPI_FADT_HW_REDUCED;
    f->sci_irq = acpi_get16(t + FADT_SCI_INT);
    f->smi_cmd = acpi_get32(t + FADT_SMI_CMD);
    f->acpi_enable = t[FADT_ACPI_ENABLE];
    f->dsdt = acpi_get32(t + FADT_DSDT);
    if (covers(len, FADT_X_DSDT, 8) && acpi_get64(t + FADT_X_DSDT))
        f->dsdt = acpi_get64(t + FADT_X_DSDT);
    parse_pm1(t, len, f);
    if ((f->flags & ACPI_FADT_RESET_REG_SUP) && covers(len, FADT_RESET_VALUE, 1)) {
        f->reset_reg = get_gas(t + FADT_RESET_REG);
        f->reset_value = t[FADT_RESET_VALUE];
        f->reset_supported = f->reset_reg.address != 0;
    }
    if (f->hw_reduced && covers(len, FADT_SLEEP_CONTROL, GAS_LEN))
        f->sleep_control = get_gas(t + FADT_SLEEP_CONTROL);
    return 0;
}

int acpi_parse_hpet(const uint8_t *t, uint32_t len, paddr_t pa, struct acpi_info *ai)
{
    struct acpi_gas base;

    if (len < HPET_TABLE_LEN) {
        acpi_problem(ai, "HPET", pa, "shorter than the HPET table");
        return -EINVAL;
    }
    base = get_gas(t + HPET_BASE_ADDR);
    /* The event timer block is memory mapped (HPET 1.0a, 2.3.1). */
    if (base.space != ACPI_GAS_MEMORY || !base.address || (base.address & 7)) {
        acpi_problem(ai, "HPET", pa, "base address not a usable MMIO address");
        return -EINVAL;
    }
    ai->hpet_addr = base.address;
    ai->hpet_number = t[HPET_NUMBER];
    ai->hpet_min_tick = acpi_get16(t + HPET_MIN_TICK);
    return 0;
}
