/*
 * VMCS control fields derived from the VMX capability MSRs of several CPU
 * models: the allowed-0/allowed-1 rule, the features Proxenos requires
 * (EPT, unrestricted guest) and the optional ones (VPID, virtual NMIs).
 */
/* @sources: vmx/vmx_controls.c */
#include "cmocka_prelude.h"
#include <string.h>
#include <proxenos/types.h>
#include "../../vmx/vmcs.h"
#include "../../vmx/vmx_controls.h"

/*
 * A Skylake-era Core client, as public VirtualBox logs report it (VMCS
 * revision 4, TRUE controls, EPT/VPID capabilities 0xf0106734141). The
 * secondary controls are written out from that generation's feature list
 * (EPT, VPID, unrestricted guest, RDTSCP, INVPCID, XSAVES, PML, VMFUNC,
 * VMCS shadowing, TSC scaling; no APIC-register virtualization on client
 * parts), not copied from a dump.
 */
static const struct vmx_msrs skylake = {
    .basic = 0x00da040000000004ull,
    .pin = 0x0000007f00000016ull,
    .proc = 0xfff9fffe04006172ull,            /* IA32_VMX_TRUE_PROCBASED_CTLS */
    .exit = 0x01ffffff00036dfbull,            /* TRUE_EXIT */
    .entry = 0x0003ffff000011fbull,           /* TRUE_ENTRY */
    .proc2 = 0x021ffcff00000000ull,
    .ept_vpid = 0x00000f0106734141ull,
    .misc = 0x000000007004c1e7ull,
};
/* The legacy IA32_VMX_PROCBASED_CTLS of the same CPU: CR3-load/store
   exiting (bits 15, 16) read as must-be-1 there (SDM A.3.2). */
static const uint64_t skylake_legacy_proc = 0xfff9fffe0401e172ull;

/* Bochs 2.7 `cpu: model=corei7_skylake_x`, read under Bochs with
   loglvl=all (the "VMX: MSRs" line of vmx_probe). */
static const struct vmx_msrs bochs_skylake_x = {
    .basic = 0x00d810000000002bull,
    .pin = 0x0000007f00000016ull,
    .proc = 0xf7f9fffe04006172ull,            /* TRUE_PROCBASED */
    .exit = 0x007fffff00036dfbull,            /* TRUE_EXIT */
    .entry = 0x0000ffff000011fbull,           /* TRUE_ENTRY */
    .proc2 = 0x02177fff00000000ull,
    .ept_vpid = 0x00000f0106334141ull,
    .misc = 0x00000000600401e0ull,
};

/* A Nehalem-era CPU (first-generation Core i7): EPT and VPID but no
   unrestricted guest (secondary allowed-1 0x7f: bits 0-6 only). */
static const struct vmx_msrs nehalem = {
    .basic = 0x00da04000000000eull,
    .pin = 0x0000003f00000016ull,
    .proc = 0xfff9fffe04006172ull,
    .exit = 0x003fffff00036dfbull,
    .entry = 0x0000ffff000011fbull,
    .proc2 = 0x0000007f00000000ull,
    .ept_vpid = 0x00000f0106114141ull,
    .misc = 0x00000000000403c0ull,
};

/* A Core 2 class CPU: no TRUE MSRs, no secondary controls at all. */
static const struct vmx_msrs core2 = {
    .basic = 0x005a08000000000dull,
    .pin = 0x0000003f00000016ull,
    .proc = 0x75f9fffe0401e172ull,            /* allowed-1 bit 31 clear */
    .exit = 0x003fffff00036dffull,
    .entry = 0x0000ffff000011ffull,
    .proc2 = 0, .ept_vpid = 0, .misc = 0x403c0,
};

/* Every computed field must obey its MSR: forced bits on, others allowed. */
static void assert_obeys(uint32_t ctl, uint64_t msr)
{
    assert_int_equal(ctl & (uint32_t)msr, (uint32_t)msr);
    assert_int_equal(ctl & ~(uint32_t)(msr >> 32), 0);
}

static void assert_all_obey(const struct vmx_msrs *m, const struct vmx_controls *c)
{
    assert_obeys(c->pin, m->pin);
    assert_obeys(c->proc, m->proc);
    assert_obeys(c->proc2, m->proc2);
    assert_obeys(c->exit, m->exit);
    assert_obeys(c->entry | ENTRY_IA32E_MODE, m->entry);   /* IA-32e is set per entry */
}

static void adjust_applies_both_halves(void **state)
{
    uint32_t out;
    /* must be 1: bits 1, 4; may be 1: bits 0-7 */
    uint64_t msr = (0xffull << 32) | 0x12;

    assert_int_equal(vmx_adjust_controls(0x1, 0x80, msr, &out), 0);
    assert_int_equal(out, 0x93);
    /* A wanted bit that is not allowed is dropped silently. */
    assert_int_equal(vmx_adjust_controls(0x100, 0, msr, &out), 0);
    assert_int_equal(out, 0x12);
    /* A required bit that is not allowed is reported, and left out. */
    assert_int_equal(vmx_adjust_controls(0, 0x300, msr, &out), 0x300);
    assert_int_equal(out, 0x12);
    /* Everything forced, nothing allowed beyond. */
    assert_int_equal(vmx_adjust_controls(~0u, 0, 0xffffffffffffffffull, &out), 0);
    assert_int_equal(out, 0xffffffffu);
}

static void skylake_true_controls(void **state)
{
    struct vmx_controls c;
    const char *why = NULL;

    assert_int_equal(vmx_compute_controls(&skylake, &c, &why), 0);
    assert_all_obey(&skylake, &c);
    assert_true(c.pin & PIN_EXT_INTR_EXITING);
    assert_true(c.pin & PIN_NMI_EXITING);
    assert_true(c.virtual_nmis && (c.pin & PIN_VIRTUAL_NMIS));
    assert_true(c.preempt_timer && (c.pin & PIN_PREEMPT_TIMER));   /* used where allowed */
    assert_true(c.proc & CPU_HLT_EXITING);
    assert_true(c.proc & CPU_USE_IO_BITMAPS);
    assert_true(c.proc & CPU_USE_MSR_BITMAPS);
    assert_true(c.proc & CPU_SECONDARY_CONTROLS);
    assert_true(c.proc & CPU_CR8_LOAD_EXITING);
    assert_false(c.proc & (CPU_CR3_LOAD_EXITING | CPU_CR3_STORE_EXITING));
    assert_false(c.cr3_exiting);
    assert_false(c.proc & CPU_INTR_WINDOW_EXITING);     /* only on demand */
    assert_false(c.proc & CPU_UNCOND_IO_EXITING);
    assert_true(c.proc2 & CPU2_ENABLE_EPT);
    assert_true(c.proc2 & CPU2_UNRESTRICTED_GUEST);
    assert_true(c.proc2 & CPU2_ENABLE_VPID);
    assert_true(c.proc2 & CPU2_ENABLE_RDTSCP);
    assert_true(c.proc2 & CPU2_ENABLE_INVPCID);
    assert_true(c.proc2 & CPU2_ENABLE_XSAVES);
    assert_false(c.proc2 & (CPU2_ENABLE_PML | CPU2_VMCS_SHADOWING | CPU2_EPT_VE));
    assert_true(c.vpid && c.invvpid_single && c.invept_single);
    assert_true(c.exit & EXIT_HOST_ADDR_SPACE);
    assert_true((c.exit & (EXIT_SAVE_EFER | EXIT_LOAD_EFER | EXIT_SAVE_PAT | EXIT_LOAD_PAT)) ==
                (EXIT_SAVE_EFER | EXIT_LOAD_EFER | EXIT_SAVE_PAT | EXIT_LOAD_PAT));
    assert_false(c.exit & EXIT_ACK_INTR);
    assert_true((c.entry & (ENTRY_LOAD_EFER | ENTRY_LOAD_PAT)) == (ENTRY_LOAD_EFER | ENTRY_LOAD_PAT));
    assert_false(c.entry & (ENTRY_IA32E_MODE | ENTRY_SMM | ENTRY_DUAL_MONITOR));
    assert_true(c.exit_saves_lma);
}

/* The same CPU seen through its legacy MSR: CR3 exiting cannot be turned
   off, which the backend must then handle (the CR-access exit). */
static void legacy_msr_forces_cr3_exiting(void **state)
{
    struct vmx_msrs m = skylake;
    struct vmx_controls c;
    const char *why = NULL;

    m.basic &= ~VMX_BASIC_TRUE_CTLS;
    m.proc = skylake_legacy_proc;
    assert_int_equal(vmx_compute_controls(&m, &c, &why), 0);
    assert_all_obey(&m, &c);
    assert_true(c.cr3_exiting);
    assert_int_equal(c.proc & (CPU_CR3_LOAD_EXITING | CPU_CR3_STORE_EXITING),
                     CPU_CR3_LOAD_EXITING | CPU_CR3_STORE_EXITING);
}

static void bochs_skylake_x_controls(void **state)
{
    struct vmx_controls c;
    const char *why = NULL;

    assert_int_equal(vmx_compute_controls(&bochs_skylake_x, &c, &why), 0);
    assert_all_obey(&bochs_skylake_x, &c);
    assert_true(c.proc2 & CPU2_ENABLE_EPT);
    assert_true(c.proc2 & CPU2_UNRESTRICTED_GUEST);
    assert_true(c.vpid);
    assert_true(c.virtual_nmis);
    assert_false(c.cr3_exiting);
}

static void nehalem_refused_without_unrestricted_guest(void **state)
{
    struct vmx_controls c;
    const char *why = NULL;

    assert_int_equal(vmx_compute_controls(&nehalem, &c, &why), -1);
    assert_non_null(why);
    assert_non_null(strstr(why, "no unrestricted guest"));
    assert_non_null(strstr(why, "paging off"));
}

static void core2_refused_without_secondary_controls(void **state)
{
    struct vmx_controls c;
    const char *why = NULL;

    assert_int_equal(vmx_compute_controls(&core2, &c, &why), -1);
    assert_non_null(strstr(why, "no secondary processor-based controls"));
}

static void refused_without_ept_features(void **state)
{
    struct vmx_msrs m = skylake;
    struct vmx_controls c;
    const char *why = NULL;

    m.proc2 &= ~((uint64_t)CPU2_ENABLE_EPT << 32);
    assert_int_equal(vmx_compute_controls(&m, &c, &why), -1);
    assert_non_null(strstr(why, "no EPT"));

    m = skylake;
    m.ept_vpid &= ~EPT_CAP_WB;
    assert_int_equal(vmx_compute_controls(&m, &c, &why), -1);
    assert_non_null(strstr(why, "write-back"));

    m = skylake;
    m.ept_vpid &= ~EPT_CAP_WALK4;
    assert_int_equal(vmx_compute_controls(&m, &c, &why), -1);
    assert_non_null(strstr(why, "4-level"));

    m = skylake;
    m.ept_vpid &= ~(EPT_CAP_INVEPT_SINGLE | EPT_CAP_INVEPT_ALL);
    assert_int_equal(vmx_compute_controls(&m, &c, &why), -1);
    assert_non_null(strstr(why, "INVEPT"));
}

static void optional_features_follow_the_caps(void **state)
{
    struct vmx_msrs m = skylake;
    struct vmx_controls c;
    const char *why = NULL;

    /* No INVVPID: VPIDs stay off (nothing could retire their entries). */
    m.ept_vpid &= ~VPID_CAP_INVVPID;
    assert_int_equal(vmx_compute_controls(&m, &c, &why), 0);
    assert_false(c.vpid);
    assert_false(c.proc2 & CPU2_ENABLE_VPID);

    /* All-context INVEPT/INVVPID only. */
    m = skylake;
    m.ept_vpid &= ~(EPT_CAP_INVEPT_SINGLE | VPID_CAP_SINGLE);
    assert_int_equal(vmx_compute_controls(&m, &c, &why), 0);
    assert_false(c.invept_single);
    assert_true(c.vpid && !c.invvpid_single && c.invvpid_all);

    /* No virtual NMIs, no XSAVES: fine, just off. */
    m = skylake;
    m.pin &= ~((uint64_t)PIN_VIRTUAL_NMIS << 32);
    m.proc2 &= ~((uint64_t)CPU2_ENABLE_XSAVES << 32);
    assert_int_equal(vmx_compute_controls(&m, &c, &why), 0);
    assert_false(c.virtual_nmis);
    assert_false(c.proc2 & CPU2_ENABLE_XSAVES);
}

static void refused_without_required_exit_entry_controls(void **state)
{
    struct vmx_msrs m = skylake;
    struct vmx_controls c;
    const char *why = NULL;

    m.exit &= ~((uint64_t)EXIT_LOAD_EFER << 32);
    assert_int_equal(vmx_compute_controls(&m, &c, &why), -1);
    assert_non_null(strstr(why, "VM-exit controls"));

    m = skylake;
    m.entry &= ~((uint64_t)ENTRY_IA32E_MODE << 32);
    assert_int_equal(vmx_compute_controls(&m, &c, &why), -1);
    assert_non_null(strstr(why, "IA-32e"));

    m = skylake;
    m.pin &= ~((uint64_t)PIN_NMI_EXITING << 32);
    assert_int_equal(vmx_compute_controls(&m, &c, &why), -1);
    assert_non_null(strstr(why, "NMI exiting"));

    m = skylake;
    m.basic |= VMX_BASIC_32BIT_ADDR;
    assert_int_equal(vmx_compute_controls(&m, &c, &why), -1);
    assert_non_null(strstr(why, "32-bit"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(adjust_applies_both_halves),
        cmocka_unit_test(skylake_true_controls),
        cmocka_unit_test(legacy_msr_forces_cr3_exiting),
        cmocka_unit_test(bochs_skylake_x_controls),
        cmocka_unit_test(nehalem_refused_without_unrestricted_guest),
        cmocka_unit_test(core2_refused_without_secondary_controls),
        cmocka_unit_test(refused_without_ept_features),
        cmocka_unit_test(optional_features_follow_the_caps),
        cmocka_unit_test(refused_without_required_exit_entry_controls),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
