/*
 * ACPI table discovery (hypervisor/platform/acpi*.c).
 *
 * The parser core (acpi_tables.c, acpi_madt.c, acpi_fadt.c, acpi_s5.c) is
 * pure: it reads firmware memory only through a map callback, trusts no
 * length, count or checksum, and reports what it rejected as data instead of
 * printing, so the same code runs in host unit tests against hostile tables.
 * acpi.c is the hypervisor side: it finds the RSDP, parses once at boot and
 * prints what it found.
 *
 * References: ACPI 6.5, 5.2 (RSDP 5.2.5, header 5.2.6, RSDT/XSDT 5.2.7-8,
 * FADT 5.2.9, MADT 5.2.12); IA-PC HPET 1.0a, 3.2.4 (the HPET table).
 */
#ifndef PROXENOS_ACPI_H
#define PROXENOS_ACPI_H
#include <proxenos/types.h>

#define ACPI_MAX_TABLES       64
#define ACPI_MAX_CPUS         256
#define ACPI_MAX_IOAPICS      16
#define ACPI_MAX_OVERRIDES    24
#define ACPI_MAX_NMI_SOURCES  8
#define ACPI_MAX_LAPIC_NMIS   16
#define ACPI_MAX_PROBLEMS     16
/* Larger than any real table (DSDTs are well under 1 MiB): a length above
 * this is corruption, not a table. */
#define ACPI_MAX_TABLE_LEN    (16u << 20)

#define ACPI_HEADER_LEN       36      /* ACPI 5.2.6, table 5.4 */
#define ACPI_RSDP_V1_LEN      20      /* ACPI 5.2.5.3, table 5.3 */
#define ACPI_RSDP_V2_LEN      36

/*
 * Firmware memory as the parser sees it: map() returns a pointer to len
 * readable bytes at physical address pa, or NULL when that range is not
 * addressable. The parser never reads outside what it mapped.
 */
struct acpi_mem {
    const void *(*map)(const struct acpi_mem *m, paddr_t pa, size_t len);
    void *ctx;
};

/* Generic Address Structure (ACPI 5.2.3.2). */
struct acpi_gas {
    uint8_t space;                     /* ACPI_GAS_* */
    uint8_t bit_width, bit_offset, access_size;
    uint64_t address;
};
#define ACPI_GAS_MEMORY 0
#define ACPI_GAS_IO     1
#define ACPI_GAS_PCI    2

struct acpi_rsdp {
    uint8_t revision;
    char oem_id[7];
    uint32_t rsdt;
    uint64_t xsdt;                     /* 0 when absent or not trusted */
    bool xsdt_checksum_bad;            /* v2 part failed: RSDT only */
};

struct acpi_table_ref {
    char sig[5];
    char oem_id[7];
    char oem_table_id[9];
    uint8_t revision;
    paddr_t pa;
    uint32_t length;
};

/* One processor from a MADT Local APIC (type 0) or x2APIC (type 9) entry. */
struct acpi_cpu {
    uint32_t apic_id;
    uint32_t uid;                      /* ACPI processor UID */
    bool enabled;                      /* usable now: start it at boot */
    bool online_capable;               /* disabled, but may be hot-added later */
    bool x2apic_entry;
};

struct acpi_ioapic {
    uint8_t id;
    uint32_t addr;
    uint32_t gsi_base;
};

/* MADT Interrupt Source Override (type 2): ISA IRQ `irq` arrives at `gsi`. */
struct acpi_override {
    uint8_t bus, irq;
    uint32_t gsi;
    uint16_t flags;                    /* ACPI_INTI_* */
};

struct acpi_nmi_source {               /* type 3: an IOAPIC pin wired to NMI */
    uint32_t gsi;
    uint16_t flags;
};

#define ACPI_UID_ALL 0xffffffffu       /* "all processors" in NMI entries */
struct acpi_lapic_nmi {                /* types 4 and 0xA: LINTn wired to NMI */
    uint32_t uid;
    uint16_t flags;
    uint8_t lint;
};

/* MPS INTI flags (ACPI 5.2.12.5, table 5.26). */
#define ACPI_INTI_POLARITY_MASK  0x3
#define ACPI_INTI_POLARITY_HIGH  0x1
#define ACPI_INTI_POLARITY_LOW   0x3
#define ACPI_INTI_TRIGGER_MASK   0xc
#define ACPI_INTI_TRIGGER_EDGE   0x4
#define ACPI_INTI_TRIGGER_LEVEL  0xc

/* Something the parser rejected or worked around, for the caller to print. */
struct acpi_problem {
    char sig[5];
    paddr_t pa;
    const char *why;                   /* static string */
};

struct acpi_fadt_info {
    uint32_t flags;
    uint16_t sci_irq;
    uint32_t smi_cmd;
    uint8_t acpi_enable;
    struct acpi_gas pm1a_cnt, pm1b_cnt;  /* address 0: absent */
    struct acpi_gas sleep_control;       /* hardware-reduced ACPI only */
    struct acpi_gas reset_reg;           /* valid when reset_supported */
    uint8_t reset_value;
    bool reset_supported;
    bool hw_reduced;
    paddr_t dsdt;
};
#define ACPI_FADT_RESET_REG_SUP  (1u << 10)  /* ACPI 5.2.9.3, table 5.10 */
#define ACPI_FADT_HW_REDUCED     (1u << 20)

struct acpi_info {
    struct acpi_rsdp rsdp;
    bool used_xsdt;
    struct acpi_table_ref tables[ACPI_MAX_TABLES];
    unsigned int nr_tables;

    bool have_madt;
    uint64_t lapic_addr;               /* MADT field, or its type 5 override */
    bool pcat_compat;                  /* dual 8259s present (MADT flags bit 0) */
    struct acpi_cpu cpus[ACPI_MAX_CPUS];
    unsigned int nr_cpus;
    struct acpi_ioapic ioapics[ACPI_MAX_IOAPICS];
    unsigned int nr_ioapics;
    struct acpi_override overrides[ACPI_MAX_OVERRIDES];
    unsigned int nr_overrides;
    struct acpi_nmi_source nmi_sources[ACPI_MAX_NMI_SOURCES];
    unsigned int nr_nmi_sources;
    struct acpi_lapic_nmi lapic_nmis[ACPI_MAX_LAPIC_NMIS];
    unsigned int nr_lapic_nmis;

    bool have_fadt;
    struct acpi_fadt_info fadt;

    bool have_hpet;
    uint64_t hpet_addr;
    uint8_t hpet_number;
    uint16_t hpet_min_tick;

    bool have_s5;                      /* \_S5 found in the DSDT */
    uint8_t slp_typa, slp_typb;

    struct acpi_problem problems[ACPI_MAX_PROBLEMS];
    unsigned int nr_problems;
    unsigned int problems_dropped;
};

/* Sum of the bytes: 0 for a table whose checksum is right. */
uint8_t acpi_checksum(const void *p, size_t len);

/* Validates an RSDP of `len` available bytes (ACPI 5.2.5.3): signature and
 * the v1 checksum must hold; a bad v2 part only drops the XSDT. Returns 0
 * or -EINVAL. */
int acpi_rsdp_parse(const void *p, size_t len, struct acpi_rsdp *out);

/* Looks for a valid RSDP on 16-byte boundaries in [start, start + len)
 * (ACPI 5.2.5.1). Returns true and its address in *found. */
bool acpi_rsdp_scan(const struct acpi_mem *m, paddr_t start, size_t len, paddr_t *found);

/* Maps and validates the table at pa: header, length bound, checksum and,
 * when sig is not NULL, the signature. Returns the table or NULL with the
 * reason in *why. */
const uint8_t *acpi_table_map(const struct acpi_mem *m, paddr_t pa, const char *sig,
                              uint32_t *len, const char **why);

/*
 * Walks the XSDT (or the RSDT when there is no trustworthy XSDT) from a
 * validated RSDP and fills *ai from the MADT, FADT, DSDT and HPET tables.
 * Returns 0, or -ENOENT when no root table could be read at all. Problems
 * with individual tables are listed in ai->problems, not fatal.
 */
int acpi_parse(const struct acpi_mem *m, const struct acpi_rsdp *rsdp, struct acpi_info *ai);

/* Per-table parsers over a validated table of `len` bytes (acpi_madt.c,
 * acpi_fadt.c). Each returns 0 or -EINVAL and records problems in *ai. */
int acpi_parse_madt(const uint8_t *t, uint32_t len, paddr_t pa, struct acpi_info *ai);
int acpi_parse_fadt(const uint8_t *t, uint32_t len, paddr_t pa, struct acpi_info *ai);
int acpi_parse_hpet(const uint8_t *t, uint32_t len, paddr_t pa, struct acpi_info *ai);

/*
 * Finds `Name(\_S5, Package(){a, b, ...})` in AML without interpreting it
 * (acpi_s5.c). Returns 0 with the SLP_TYP values, or -ENOENT.
 */
int acpi_find_s5(const uint8_t *aml, size_t len, uint8_t *slp_typa, uint8_t *slp_typb);

/* Records a problem (acpi_tables.c); keeps the first ACPI_MAX_PROBLEMS. */
void acpi_problem(struct acpi_info *ai, const char *sig, paddr_t pa, const char *why);

/* Little-endian field access that is safe at any alignment. */
static inline uint16_t acpi_get16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t acpi_get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline uint64_t acpi_get64(const uint8_t *p)
{
    return (uint64_t)acpi_get32(p) | (uint64_t)acpi_get32(p + 4) << 32;
}

#ifndef HOST_TEST
/* The machine's tables, parsed once by acpi_init() and read-only after. */
extern struct acpi_info acpi_info;
extern bool acpi_present;
/* Maps the FADT's fixed-hardware registers for acpi_enter_s5/acpi_reset. */
void acpi_power_init(void);
#endif

#endif
