/* The ACPI tables a PVH domain is given, read back by the hypervisor's own
 * ACPI parser (the same code that reads the host's tables at boot). */
/* @sources: hypervisor/dombuild/pvh_acpi.c hypervisor/platform/acpi_tables.c hypervisor/platform/acpi_madt.c hypervisor/platform/acpi_fadt.c hypervisor/platform/acpi_s5.c hypervisor/lib/format.c */
#include "cmocka_prelude.h"
#include <string.h>
#include <proxenos/acpi.h>
#include <proxenos/dombuild.h>

/* Guest-physical memory around the page: [PVH_ACPI_GPA, + PVH_ACPI_SIZE). */
static uint8_t page[PVH_ACPI_SIZE];
static struct acpi_info ai;
static const char *why;

static const void *guest_map(const struct acpi_mem *m, paddr_t pa, size_t len)
{
    if (pa < PVH_ACPI_GPA || pa - PVH_ACPI_GPA >= PVH_ACPI_SIZE ||
        len > PVH_ACPI_SIZE - (pa - PVH_ACPI_GPA))
        return NULL;
    return page + (pa - PVH_ACPI_GPA);
}
static const struct acpi_mem guest = { guest_map, NULL };

static void parse(unsigned int nr_vcpus)
{
    struct acpi_rsdp rsdp;
    paddr_t found;

    memset(&ai, 0, sizeof(ai));
    assert_int_equal(pvh_acpi_build(page, PVH_ACPI_GPA, nr_vcpus, &why), 0);
    /* Found where a legacy scan would look, and at rsdp_paddr. */
    assert_true(acpi_rsdp_scan(&guest, PVH_ACPI_GPA, PVH_ACPI_SIZE, &found));
    assert_int_equal(found, PVH_ACPI_GPA);
    assert_int_equal(acpi_rsdp_parse(page, 36, &rsdp), 0);
    assert_int_equal(rsdp.revision, 2);
    assert_false(rsdp.xsdt_checksum_bad);
    assert_int_equal(acpi_parse(&guest, &rsdp, &ai), 0);
    assert_true(ai.used_xsdt);
    assert_int_equal(ai.nr_problems, 0);
}

static void test_tables_one_vcpu(void **state)
{
    parse(1);
    assert_int_equal(ai.nr_tables, 4);          /* XSDT, FACP, its DSDT, APIC */
    assert_true(ai.have_madt);
    assert_int_equal(ai.lapic_addr, 0xfee00000);
    assert_false(ai.pcat_compat);
    assert_int_equal(ai.nr_cpus, 1);
    assert_int_equal(ai.cpus[0].apic_id, 0);
    assert_int_equal(ai.cpus[0].uid, 0);
    assert_true(ai.cpus[0].enabled);
    assert_int_equal(ai.nr_ioapics, 0);
    assert_true(ai.have_fadt);
    assert_true(ai.fadt.hw_reduced);
    assert_int_equal(ai.fadt.pm1a_cnt.address, 0);
    assert_int_equal(ai.fadt.dsdt, PVH_ACPI_GPA + 0x1c0);
    assert_false(ai.have_hpet);
    assert_false(ai.have_s5);                   /* power-off is by halting (Xen's hvm_hlt) */
}

/* vCPU i: APIC ID 2i (the CPUID topology), UID i (Linux's Xen vCPU id). */
static void test_tables_many_vcpus(void **state)
{
    parse(8);
    assert_int_equal(ai.nr_cpus, 8);
    for (unsigned int i = 0; i < 8; i++) {
        assert_int_equal(ai.cpus[i].apic_id, 2 * i);
        assert_int_equal(ai.cpus[i].uid, i);
        assert_true(ai.cpus[i].enabled);
        assert_false(ai.cpus[i].x2apic_entry);
    }
}

/* APIC IDs above 254 need x2APIC entries. */
static void test_tables_x2apic_entries(void **state)
{
    parse(200);
    assert_int_equal(ai.nr_cpus, 200);
    assert_false(ai.cpus[127].x2apic_entry);
    assert_int_equal(ai.cpus[127].apic_id, 254);
    assert_true(ai.cpus[128].x2apic_entry);
    assert_int_equal(ai.cpus[128].apic_id, 256);
    assert_int_equal(ai.cpus[199].uid, 199);
}

static void test_tables_refused(void **state)
{
    assert_int_equal(pvh_acpi_build(page, PVH_ACPI_GPA, 0, &why), -EINVAL);
    assert_non_null(why);
    assert_int_equal(pvh_acpi_build(page, PVH_ACPI_GPA, 4096, &why), -ENOSPC);
    assert_non_null(why);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tables_one_vcpu),
        cmocka_unit_test(test_tables_many_vcpus),
        cmocka_unit_test(test_tables_x2apic_entries),
        cmocka_unit_test(test_tables_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
