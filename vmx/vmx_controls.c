/*
 * VMCS control fields from the capability MSRs, never hard-coded: each
 * field is (wanted | required) filtered through the allowed 1-settings,
 * plus whatever the allowed 0-settings force on (SDM vol. 3D, A.3-A.5).
 * With IA32_VMX_BASIC[55] the caller passes the TRUE_* MSRs, whose
 * allowed 0-settings leave the "default1" controls free; this is what lets
 * CR3-load/store exiting be off with EPT (SDM A.3.2: on the legacy
 * IA32_VMX_PROCBASED_CTLS, bits 15 and 16 always read as must-be-1).
 *
 * Pure: no hardware access, built into tests/unit/test_vmx_controls.c.
 */
#include <proxenos/types.h>
#include "vmcs.h"
#include "vmx_controls.h"

uint32_t vmx_adjust_controls(uint32_t wanted, uint32_t required, uint64_t cap_msr,
                             uint32_t *out)
{
    uint32_t must_be_1 = (uint32_t)cap_msr;
    uint32_t may_be_1 = (uint32_t)(cap_msr >> 32);

    *out = ((wanted | required) & may_be_1) | must_be_1;
    return required & ~may_be_1;
}

static int refuse(const char **why, const char *reason)
{
    *why = reason;
    return -1;
}

/* EPT as the p2m uses it (vmx/ept.c): 4-level walks, write-back paging
 * structures, 2 MiB leaves, and an INVEPT type to flush with (SDM A.10). */
static int check_ept(const struct vmx_msrs *m, struct vmx_controls *c, const char **why)
{
    uint64_t cap = m->ept_vpid;

    if (!(cap & EPT_CAP_WALK4))
        return refuse(why, "EPT without 4-level page walks");
    if (!(cap & EPT_CAP_WB))
        return refuse(why, "EPT without write-back paging structures");
    if (!(cap & EPT_CAP_2M))
        return refuse(why, "EPT without 2 MiB pages");
    if (!(cap & EPT_CAP_INVEPT) || !(cap & (EPT_CAP_INVEPT_SINGLE | EPT_CAP_INVEPT_ALL)))
        return refuse(why, "no INVEPT (single- or all-context)");
    c->invept_single = cap & EPT_CAP_INVEPT_SINGLE;
    return 0;
}

static int compute_pin(const struct vmx_msrs *m, struct vmx_controls *c, const char **why)
{
    /* Host interrupts and NMIs always leave the guest (SDM 25.2);
       virtual NMIs give NMI-window exiting and exact NMI blocking. The
       preemption timer (SDM 25.5.1) bounds every stay in the guest
       whatever interrupt masking does: the scheduler's backstop. */
    if (vmx_adjust_controls(PIN_VIRTUAL_NMIS | PIN_PREEMPT_TIMER,
                            PIN_EXT_INTR_EXITING | PIN_NMI_EXITING, m->pin, &c->pin))
        return refuse(why, "pin-based controls: external-interrupt or NMI exiting not allowed");
    c->virtual_nmis = c->pin & PIN_VIRTUAL_NMIS;
    c->preempt_timer = c->pin & PIN_PREEMPT_TIMER;
    return 0;
}

static int compute_proc(const struct vmx_msrs *m, struct vmx_controls *c, const char **why)
{
    /* CR8 accesses exit: without a TPR shadow a guest MOV to CR8 would write
       the host's own local APIC TPR (SDM 25.3). MWAIT/MONITOR exit to #UD
       as CPUID hides them, the same as the SVM backend. */
    const uint32_t required = CPU_HLT_EXITING | CPU_USE_IO_BITMAPS | CPU_USE_MSR_BITMAPS |
                              CPU_SECONDARY_CONTROLS | CPU_CR8_LOAD_EXITING |
                              CPU_CR8_STORE_EXITING | CPU_MWAIT_EXITING | CPU_MONITOR_EXITING;

    if (!((m->proc >> 32) & CPU_SECONDARY_CONTROLS))
        return refuse(why, "no secondary processor-based controls, so no EPT");
    if (vmx_adjust_controls(0, required, m->proc, &c->proc))
        return refuse(why, "primary processor-based controls: HLT, I/O bitmap, MSR bitmap, "
                           "CR8 or MWAIT/MONITOR exiting not allowed");
    /* Forced on only by legacy MSRs of CPUs without TRUE controls. */
    c->cr3_exiting = c->proc & (CPU_CR3_LOAD_EXITING | CPU_CR3_STORE_EXITING);
    c->intr_window = (m->proc >> 32) & CPU_INTR_WINDOW_EXITING;
    if (!c->intr_window)
        return refuse(why, "no interrupt-window exiting");
    return 0;
}

static int compute_proc2(const struct vmx_msrs *m, struct vmx_controls *c, const char **why)
{
    uint64_t cap = m->ept_vpid;
    uint32_t may = (uint32_t)(m->proc2 >> 32);
    uint32_t wanted = CPU2_ENABLE_RDTSCP | CPU2_ENABLE_INVPCID | CPU2_ENABLE_XSAVES |
                      CPU2_WBINVD_EXITING;

    if (!(may & CPU2_ENABLE_EPT))
        return refuse(why, "no EPT (secondary control bit 1)");
    if (!(may & CPU2_UNRESTRICTED_GUEST))
        return refuse(why, "no unrestricted guest (secondary control bit 7), which the "
                           "PVH entry needs: it starts with paging off");
    /* VPID only with an INVVPID to retire a VPID's translations with. */
    if ((cap & VPID_CAP_INVVPID) && (cap & (VPID_CAP_SINGLE | VPID_CAP_ALL)))
        wanted |= CPU2_ENABLE_VPID;
    vmx_adjust_controls(wanted, CPU2_ENABLE_EPT | CPU2_UNRESTRICTED_GUEST, m->proc2, &c->proc2);
    c->vpid = c->proc2 & CPU2_ENABLE_VPID;
    c->invvpid_single = c->vpid && (cap & VPID_CAP_SINGLE);
    c->invvpid_all = c->vpid && (cap & VPID_CAP_ALL);
    return 0;
}

/* Exit: 64-bit host; EFER and PAT switched by the CPU. No "acknowledge
 * interrupt on exit": the interrupt stays pending in the local APIC and the
 * host takes it through its IDT as soon as the scheduler sets IF, with no
 * vector to re-dispatch by hand (SDM 24.7.1 table 24-13, 27.2.2). */
static int compute_exit_entry(const struct vmx_msrs *m, struct vmx_controls *c,
                              const char **why)
{
    uint32_t entry_allowed = (uint32_t)(m->entry >> 32);

    if (vmx_adjust_controls(0, EXIT_HOST_ADDR_SPACE | EXIT_SAVE_EFER | EXIT_LOAD_EFER |
                            EXIT_SAVE_PAT | EXIT_LOAD_PAT, m->exit, &c->exit))
        return refuse(why, "VM-exit controls: 64-bit host or EFER/PAT switching not allowed");
    if (vmx_adjust_controls(0, ENTRY_LOAD_EFER | ENTRY_LOAD_PAT, m->entry, &c->entry))
        return refuse(why, "VM-entry controls: EFER/PAT loading not allowed");
    if (!(entry_allowed & ENTRY_IA32E_MODE))
        return refuse(why, "VM-entry controls: no IA-32e mode guests");
    /* Set per entry from the guest's EFER.LMA (vmx_run). */
    c->entry &= ~ENTRY_IA32E_MODE;
    if (c->entry & (ENTRY_SMM | ENTRY_DUAL_MONITOR))
        return refuse(why, "VM-entry controls force SMM entry");
    c->exit_saves_lma = m->misc & VMX_MISC_EXIT_SAVES_LMA;
    return 0;
}

int vmx_compute_controls(const struct vmx_msrs *m, struct vmx_controls *c, const char **why)
{
    *c = (struct vmx_controls){ 0 };
    if (m->basic & VMX_BASIC_32BIT_ADDR)
        return refuse(why, "VMX structures limited to 32-bit addresses");
    if (VMX_BASIC_VMCS_SIZE(m->basic) == 0 || VMX_BASIC_VMCS_SIZE(m->basic) > 4096)
        return refuse(why, "VMCS size out of range");
    if (compute_pin(m, c, why) || compute_proc(m, c, why) || compute_proc2(m, c, why) ||
        check_ept(m, c, why) || compute_exit_entry(m, c, why))
        return -1;
    return 0;
}
