/*
 * The ACPI tables a PVH domain is given (hvm_start_info.rsdp_paddr): an
 * RSDP, an XSDT, a hardware-reduced FADT, an empty DSDT and a MADT with one
 * local APIC per vCPU, in one page. Pure (no hypervisor state), so the host
 * unit test (tests/unit/test_pvh_acpi.c) checks them with the hypervisor's
 * own ACPI parser.
 *
 * Why a PVH guest needs them: Linux finds its CPUs in the MADT (or an MP
 * table); with neither, it runs in "virtual wire mode with no
 * configuration", and native_smp_prepare_cpus() then never calls
 * x86_init.timers.setup_percpu_clockev, which for Xen HVM/PVH is
 * xen_time_init(): no Xen clocksource, no VCPUOP_set_singleshot_timer
 * clockevent, no timer at all. See docs/linux-boot-notes.md.
 *
 * The set follows what Xen 4.17's toolstack gives a PVH domU
 * (tools/libacpi, hardware-reduced for PVH): no PM1 blocks, no SCI, no
 * 8259s, no legacy devices. Xen gives a PVH dom0 the host's tables with a
 * MADT of its own instead; Proxenos passes no host hardware through to
 * dom0 yet, so the tables describe only what dom0 really has. Layouts are
 * ACPI 6.3 section 5.2 (RSDP 5.2.5.3, header 5.2.6, XSDT 5.2.8, FADT 5.2.9
 * table 5.33, MADT 5.2.12 tables 5.43/5.45/5.63).
 */
#include <proxenos/dombuild.h>
#include <proxenos/lib.h>

#define RSDP_OFF  0x000
#define XSDT_OFF  0x040
#define FADT_OFF  0x080
#define DSDT_OFF  0x1c0
#define MADT_OFF  0x200

#define HDR_LEN        36
#define RSDP_LEN       36
#define XSDT_LEN       (HDR_LEN + 2 * 8)       /* FADT, MADT */
#define FADT_LEN       276                     /* revision 6 */
#define DSDT_LEN       HDR_LEN                 /* no AML: no devices, no _S5 */
#define MADT_FIXED_LEN (HDR_LEN + 8)
#define MADT_LAPIC_LEN 8                       /* type 0 */
#define MADT_X2APIC_LEN 16                     /* type 9, for APIC IDs > 254 */

/* FADT fields (ACPI 6.3 table 5.33). */
#define FADT_DSDT            40
#define FADT_IAPC_BOOT_ARCH  109
#define FADT_FLAGS           112
#define FADT_MINOR_VERSION   131
#define FADT_X_DSDT          140
#define FADT_IAPC_VGA_NOT_PRESENT (1u << 2)
#define FADT_IAPC_CMOS_RTC_NOT_PRESENT (1u << 5)
#define FADT_PWR_BUTTON      (1u << 4)         /* 1: no fixed power button */
#define FADT_SLP_BUTTON      (1u << 5)
#define FADT_HW_REDUCED_ACPI (1u << 20)

#define MADT_LAPIC_ENABLED   1u
#define LAPIC_DEFAULT_BASE   0xfee00000u

BUILD_BUG_ON(XSDT_OFF < RSDP_OFF + RSDP_LEN || FADT_OFF < XSDT_OFF + XSDT_LEN);
BUILD_BUG_ON(DSDT_OFF < FADT_OFF + FADT_LEN || MADT_OFF < DSDT_OFF + DSDT_LEN);
BUILD_BUG_ON(MADT_OFF + MADT_FIXED_LEN > PVH_ACPI_SIZE);

static void put16(uint8_t *p, uint16_t v) { p[0] = v; p[1] = v >> 8; }
static void put32(uint8_t *p, uint32_t v) { put16(p, v); put16(p + 2, v >> 16); }
static void put64(uint8_t *p, uint64_t v) { put32(p, v); put32(p + 4, v >> 32); }

static uint8_t checksum(const uint8_t *p, size_t len)
{
    uint8_t sum = 0;

    while (len--)
        sum += *p++;
    return (uint8_t)-sum;
}

/* The common header (5.2.6); the checksum is set by finish(). */
static void header(uint8_t *t, const char *sig, uint32_t len, uint8_t rev)
{
    memcpy(t, sig, 4);
    put32(t + 4, len);
    t[8] = rev;
    memcpy(t + 10, "PRXNOS", 6);             /* OEM ID */
    memcpy(t + 16, "PROXENOS", 8);           /* OEM table ID */
    put32(t + 24, 1);                        /* OEM revision */
    memcpy(t + 28, "PRXN", 4);               /* creator ID */
    put32(t + 32, 1);                        /* creator revision */
}

static void finish(uint8_t *t)
{
    uint32_t len = t[4] | t[5] << 8 | t[6] << 16 | (uint32_t)t[7] << 24;

    t[9] = 0;
    t[9] = checksum(t, len);
}

static void build_rsdp(uint8_t *p, uint64_t xsdt)
{
    memcpy(p, "RSD PTR ", 8);
    memcpy(p + 9, "PRXNOS", 6);
    p[15] = 2;                               /* revision: ACPI 2.0+, XSDT */
    put32(p + 16, 0);                        /* no RSDT */
    put32(p + 20, RSDP_LEN);
    put64(p + 24, xsdt);
    p[8] = checksum(p, 20);                  /* the ACPI 1.0 part */
    p[32] = checksum(p, RSDP_LEN);           /* the whole structure */
}

static void build_fadt(uint8_t *t, uint64_t dsdt)
{
    header(t, "FACP", FADT_LEN, 6);
    put32(t + FADT_DSDT, (uint32_t)dsdt);
    put16(t + FADT_IAPC_BOOT_ARCH, FADT_IAPC_VGA_NOT_PRESENT | FADT_IAPC_CMOS_RTC_NOT_PRESENT);
    put32(t + FADT_FLAGS, FADT_HW_REDUCED_ACPI | FADT_PWR_BUTTON | FADT_SLP_BUTTON);
    t[FADT_MINOR_VERSION] = 3;
    put64(t + FADT_X_DSDT, dsdt);
    finish(t);
}

/* vCPU i has APIC ID 2i, as CPUID reports it (hvm/cpuid.c, Xen's
 * convention), and ACPI processor UID i: Linux takes the UID as the Xen
 * vCPU id (xen_vcpu_id from cpu_acpi_id()). */
static uint32_t build_madt(uint8_t *t, uint32_t room, unsigned int nr_vcpus)
{
    uint32_t len = MADT_FIXED_LEN;

    for (unsigned int i = 0; i < nr_vcpus; i++) {
        uint32_t apic_id = 2 * i;
        uint8_t *e = t + len;

        if (apic_id <= 254) {
            if (len + MADT_LAPIC_LEN > room)
                return 0;
            e[0] = 0;                        /* Processor Local APIC */
            e[1] = MADT_LAPIC_LEN;
            e[2] = (uint8_t)i;
            e[3] = (uint8_t)apic_id;
            put32(e + 4, MADT_LAPIC_ENABLED);
            len += MADT_LAPIC_LEN;
        } else {
            if (len + MADT_X2APIC_LEN > room)
                return 0;
            e[0] = 9;                        /* Processor Local x2APIC */
            e[1] = MADT_X2APIC_LEN;
            put32(e + 4, apic_id);
            put32(e + 8, MADT_LAPIC_ENABLED);
            put32(e + 12, i);
            len += MADT_X2APIC_LEN;
        }
    }
    header(t, "APIC", len, 4);
    put32(t + 36, LAPIC_DEFAULT_BASE);
    put32(t + 40, 0);                        /* flags: no PCAT_COMPAT (no 8259s) */
    finish(t);
    return len;
}

int pvh_acpi_build(uint8_t *page, uint64_t gpa, unsigned int nr_vcpus, const char **why)
{
    uint8_t *xsdt = page + XSDT_OFF, *dsdt = page + DSDT_OFF;

    if (!nr_vcpus) {
        *why = "no vCPU to describe";
        return -EINVAL;
    }
    memset(page, 0, PVH_ACPI_SIZE);
    if (!build_madt(page + MADT_OFF, PVH_ACPI_SIZE - MADT_OFF, nr_vcpus)) {
        *why = "too many vCPUs for the MADT page";
        return -ENOSPC;
    }
    header(dsdt, "DSDT", DSDT_LEN, 2);
    finish(dsdt);
    build_fadt(page + FADT_OFF, gpa + DSDT_OFF);
    header(xsdt, "XSDT", XSDT_LEN, 1);
    put64(xsdt + HDR_LEN, gpa + FADT_OFF);
    put64(xsdt + HDR_LEN + 8, gpa + MADT_OFF);
    finish(xsdt);
    build_rsdp(page + RSDP_OFF, gpa + XSDT_OFF);
    return 0;
}
