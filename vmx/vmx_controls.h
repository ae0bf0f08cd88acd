/*
 * Deriving the VMCS control fields from the VMX capability MSRs (SDM vol.
 * 3D, appendix A.3-A.5 and A.10). Pure code over numbers (vmx_controls.c):
 * the host unit tests feed it the MSR values of real CPU models.
 */
#ifndef PROXENOS_VMX_CONTROLS_H
#define PROXENOS_VMX_CONTROLS_H
#include <proxenos/types.h>

/* Raw capability MSRs as the CPU reports them. The control MSRs are the
 * TRUE_* ones when IA32_VMX_BASIC bit 55 is set, else the legacy ones
 * (vmx_read_caps() picks); proc2 is 0 when the primary controls cannot
 * activate secondary controls (the MSR may not exist then). */
struct vmx_msrs {
    uint64_t basic;
    uint64_t pin, proc, exit, entry;
    uint64_t proc2;
    uint64_t ept_vpid;
    uint64_t misc;
};

/* What the backend programs, and the capability bits behind it. */
struct vmx_controls {
    uint32_t pin, proc, proc2, exit, entry;  /* entry without IA-32e mode guest */
    bool vpid;             /* VPIDs tag the guest's TLB entries */
    bool invvpid_single;   /* else INVVPID all-context (or no INVVPID: see vmx_flush) */
    bool invvpid_all;
    bool invept_single;    /* else INVEPT all-context */
    bool virtual_nmis;
    bool preempt_timer;    /* the VMX-preemption timer bounds each guest stay */
    bool cr3_exiting;      /* forced on by a legacy (non-TRUE) MSR: CR3 accesses exit */
    bool intr_window;      /* interrupt-window exiting can be set */
    bool exit_saves_lma;   /* VM exits store EFER.LMA into the IA-32e mode entry control */
};

/*
 * Applies one capability MSR to a control field: bits 31:0 are the allowed
 * 0-settings (a 1 there means the control must be 1), bits 63:32 the allowed
 * 1-settings (a 0 there means the control must be 0). *out gets the wanted
 * and required bits that the CPU allows, plus every bit it forces on.
 * Returns the required bits the CPU does not allow (0: all is well).
 */
uint32_t vmx_adjust_controls(uint32_t wanted, uint32_t required, uint64_t cap_msr,
                             uint32_t *out);

/* Computes every control field for Proxenos's guests. Returns 0, or -1 with
 * *why naming the missing feature (EPT, unrestricted guest, ...). */
int vmx_compute_controls(const struct vmx_msrs *m, struct vmx_controls *c, const char **why);

#endif
