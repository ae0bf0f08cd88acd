/*
 * Explaining a VM entry that failed. VMfailValid carries a VM-instruction
 * error number (SDM vol. 3C, 30.4); an entry that fails on the guest state
 * is a VM exit with bit 31 of the exit reason set (SDM 26.8) and says
 * nothing more, so the guest-state checks of SDM 26.3.1 are walked here
 * again and every violated rule is printed with the field. The domain is
 * then crashed (CRASH_BAD_STATE); the host is untouched.
 */
#include <proxenos/io.h>
#include <proxenos/lib.h>
#include <proxenos/printk.h>
#include "vmx_private.h"

static const char *const insn_errors[] = {
    [1] = "VMCALL executed in VMX root operation",
    [2] = "VMCLEAR with invalid physical address",
    [3] = "VMCLEAR with VMXON pointer",
    [4] = "VMLAUNCH with non-clear VMCS",
    [5] = "VMRESUME with non-launched VMCS",
    [6] = "VMRESUME after VMXOFF",
    [7] = "VM entry with invalid control field(s)",
    [8] = "VM entry with invalid host-state field(s)",
    [9] = "VMPTRLD with invalid physical address",
    [10] = "VMPTRLD with VMXON pointer",
    [11] = "VMPTRLD with incorrect VMCS revision identifier",
    [12] = "VMREAD/VMWRITE from/to unsupported VMCS component",
    [13] = "VMWRITE to read-only VMCS component",
    [15] = "VMXON executed in VMX root operation",
    [16] = "VM entry with invalid executive-VMCS pointer",
    [17] = "VM entry with non-launched executive VMCS",
    [18] = "VM entry with executive-VMCS pointer not VMXON pointer",
    [19] = "VMCALL with non-clear VMCS",
    [20] = "VMCALL with invalid VM-exit control fields",
    [22] = "VMCALL with incorrect MSEG revision identifier",
    [23] = "VMXOFF under dual-monitor treatment of SMIs and SMM",
    [24] = "VMCALL with invalid SMM-monitor features",
    [25] = "VM entry with invalid VM-execution control fields in executive VMCS",
    [26] = "VM entry with events blocked by MOV SS",
    [28] = "invalid operand to INVEPT/INVVPID",
};

const char *vmx_insn_error_name(uint32_t err)
{
    return err < ARRAY_SIZE(insn_errors) && insn_errors[err] ? insn_errors[err] : "unknown error";
}

static unsigned int violations;

static void violation(const char *field, const char *rule, uint64_t val, const char *sdm)
{
    violations++;
    printk(LOG_ERR "  VMX check: %s = %#lx: %s (SDM %s)\n", field, val, rule, sdm);
}

#define CHECK(cond, field, rule, val, sdm) do { if (!(cond)) violation(field, rule, val, sdm); } while (0)

static const char *const seg_names[HVM_NR_SEGS] = { "ES", "CS", "SS", "DS", "FS", "GS", "TR", "LDTR" };

static bool canonical(uint64_t a) { return (uint64_t)((int64_t)(a << 16) >> 16) == a; }

/* Limit and G must agree (SDM 26.3.1.2): G=0 if any of limit[11:0] is 0,
   G=1 if any of limit[31:20] is 1. */
static bool limit_ok(uint32_t limit, uint32_t ar)
{
    if ((limit & 0xfff) != 0xfff && (ar & VMX_AR_G))
        return false;
    if ((limit >> 20) && !(ar & VMX_AR_G))
        return false;
    return true;
}

/* SDM 26.3.1.1: control registers, DR7, EFER, PAT. */
static void check_crs(bool ug, bool ia32e)
{
    uint64_t cr0 = vmread(GUEST_CR0), cr4 = vmread(GUEST_CR4), efer = vmread(GUEST_EFER);
    uint64_t fixed0 = vmx_caps.cr0_fixed0 & ~(ug ? (uint64_t)(X86_CR0_PE | X86_CR0_PG) : 0);
    uint64_t pat = vmread(GUEST_PAT);

    CHECK((cr0 & fixed0) == fixed0, "guest CR0", "a bit of IA32_VMX_CR0_FIXED0 is clear", cr0, "26.3.1.1");
    CHECK(!(cr0 & ~vmx_caps.cr0_fixed1), "guest CR0", "a bit clear in IA32_VMX_CR0_FIXED1 is set", cr0, "26.3.1.1");
    CHECK(!((cr0 & X86_CR0_PG) && !(cr0 & X86_CR0_PE)), "guest CR0", "PG set without PE", cr0, "26.3.1.1");
    CHECK((cr4 & vmx_caps.cr4_fixed0) == vmx_caps.cr4_fixed0, "guest CR4", "a bit of IA32_VMX_CR4_FIXED0 (VMXE) is clear", cr4, "26.3.1.1");
    CHECK(!(cr4 & ~vmx_caps.cr4_fixed1), "guest CR4", "a bit clear in IA32_VMX_CR4_FIXED1 is set", cr4, "26.3.1.1");
    if (ia32e) {
        CHECK(cr0 & X86_CR0_PG, "guest CR0", "IA-32e mode guest without CR0.PG", cr0, "26.3.1.1");
        CHECK(cr4 & X86_CR4_PAE, "guest CR4", "IA-32e mode guest without CR4.PAE", cr4, "26.3.1.1");
    } else {
        CHECK(!(cr4 & (1u << 17)), "guest CR4", "PCIDE set outside IA-32e mode", cr4, "26.3.1.1");
    }
    CHECK(!(vmread(GUEST_DR7) >> 32), "guest DR7", "bits 63:32 must be 0", vmread(GUEST_DR7), "26.3.1.1");
    CHECK(!(efer & ~0xd01ull), "guest EFER", "reserved bits set (only SCE, LME, LMA, NXE exist)", efer, "26.3.1.1");
    CHECK(!!(efer & EFER_LMA) == ia32e, "guest EFER", "LMA differs from the IA-32e mode guest entry control", efer, "26.3.1.1");
    if (cr0 & X86_CR0_PG)
        CHECK(!!(efer & EFER_LMA) == !!(efer & EFER_LME), "guest EFER", "with CR0.PG, LMA must equal LME", efer, "26.3.1.1");
    for (int i = 0; i < 8; i++) {
        unsigned int t = (pat >> (8 * i)) & 0xff;
        CHECK(t == 0 || t == 1 || t == 4 || t == 5 || t == 6 || t == 7, "guest PAT",
              "a memory type is not 0, 1, 4, 5, 6 or 7", pat, "26.3.1.1");
    }
}

/* By enum hvm_seg. */
static uint32_t seg_ar(int seg) { return vmread(GUEST_ES_AR + 2 * vmcs_seg(seg)); }
static uint32_t seg_limit(int seg) { return vmread(GUEST_ES_LIMIT + 2 * vmcs_seg(seg)); }
static uint16_t seg_sel(int seg) { return vmread(GUEST_ES_SEL + 2 * vmcs_seg(seg)); }
static uint64_t seg_base(int seg) { return vmread(GUEST_ES_BASE + 2 * vmcs_seg(seg)); }

static void check_common_ar(int seg, uint32_t ar, bool system)
{
    char field[24];

    px_snprintf(field, sizeof(field), "guest %s access rights", seg_names[seg]);
    CHECK(!!(ar & VMX_AR_S) == !system, field, system ? "S must be 0 (system segment)"
                                                       : "S must be 1 (code/data)", ar, "26.3.1.2");
    CHECK(ar & VMX_AR_P, field, "P must be 1 for a usable segment", ar, "26.3.1.2");
    CHECK(!(ar & 0xf00) && !(ar >> 17), field, "reserved bits 11:8 / 31:17 set", ar, "26.3.1.2");
    CHECK(limit_ok(seg_limit(seg), ar), field, "limit and G disagree", ar, "26.3.1.2");
}

/* SDM 26.3.1.2, access rights outside virtual-8086 mode. */
static void check_segments(bool ug, bool ia32e)
{
    uint32_t cs = seg_ar(HVM_SEG_CS), ss = seg_ar(HVM_SEG_SS), tr = seg_ar(HVM_SEG_TR);
    unsigned int cst = VMX_AR_TYPE(cs), cr0_pe = vmread(GUEST_CR0) & X86_CR0_PE;

    CHECK(!(seg_sel(HVM_SEG_TR) & 4), "guest TR selector", "TI must be 0", seg_sel(HVM_SEG_TR), "26.3.1.2");
    CHECK(cst == 9 || cst == 11 || cst == 13 || cst == 15 || (ug && cst == 3),
          "guest CS access rights", "type must be 9, 11, 13, 15 (or 3 with unrestricted guest)", cs, "26.3.1.2");
    if (cst == 3)
        CHECK(VMX_AR_DPL(cs) == 0, "guest CS access rights", "type 3 requires DPL 0", cs, "26.3.1.2");
    if (cst == 9 || cst == 11)
        CHECK(VMX_AR_DPL(cs) == VMX_AR_DPL(ss), "guest CS access rights",
              "non-conforming code: DPL must equal SS.DPL", cs, "26.3.1.2");
    if (cst == 13 || cst == 15)
        CHECK(VMX_AR_DPL(cs) <= VMX_AR_DPL(ss), "guest CS access rights",
              "conforming code: DPL must not exceed SS.DPL", cs, "26.3.1.2");
    check_common_ar(HVM_SEG_CS, cs, false);
    CHECK(!(ia32e && (cs & VMX_AR_L) && (cs & VMX_AR_DB)), "guest CS access rights",
          "L and D/B both set in IA-32e mode", cs, "26.3.1.2");
    if (!(ss & VMX_AR_UNUSABLE)) {
        CHECK(VMX_AR_TYPE(ss) == 3 || VMX_AR_TYPE(ss) == 7, "guest SS access rights",
              "type must be 3 or 7", ss, "26.3.1.2");
        check_common_ar(HVM_SEG_SS, ss, false);
    }
    if (!ug)
        CHECK(VMX_AR_DPL(ss) == (seg_sel(HVM_SEG_SS) & 3), "guest SS access rights",
              "DPL must equal the selector's RPL", ss, "26.3.1.2");
    if (cst == 3 || !cr0_pe)
        CHECK(VMX_AR_DPL(ss) == 0, "guest SS access rights",
              "DPL must be 0 with CS type 3 or CR0.PE=0", ss, "26.3.1.2");
    static const int data_segs[] = { HVM_SEG_ES, HVM_SEG_DS, HVM_SEG_FS, HVM_SEG_GS };
    for (unsigned int i = 0; i < ARRAY_SIZE(data_segs); i++) {
        uint32_t ar = seg_ar(data_segs[i]);
        if (ar & VMX_AR_UNUSABLE)
            continue;
        CHECK(ar & 1, "guest data segment access rights", "type must be accessed (bit 0)", ar, "26.3.1.2");
        CHECK(!((ar & 8) && !(ar & 2)), "guest data segment access rights",
              "a code segment must be readable", ar, "26.3.1.2");
        check_common_ar(data_segs[i], ar, false);
    }
    CHECK(!(tr & VMX_AR_UNUSABLE), "guest TR access rights", "TR must be usable", tr, "26.3.1.2");
    CHECK(VMX_AR_TYPE(tr) == 11 || (!ia32e && VMX_AR_TYPE(tr) == 3), "guest TR access rights",
          "type must be 11 (busy TSS; 3 also outside IA-32e mode)", tr, "26.3.1.2");
    check_common_ar(HVM_SEG_TR, tr, true);
    if (!(seg_ar(HVM_SEG_LDTR) & VMX_AR_UNUSABLE)) {
        CHECK(VMX_AR_TYPE(seg_ar(HVM_SEG_LDTR)) == 2, "guest LDTR access rights", "type must be 2",
              seg_ar(HVM_SEG_LDTR), "26.3.1.2");
        CHECK(!(seg_sel(HVM_SEG_LDTR) & 4), "guest LDTR selector", "TI must be 0",
              seg_sel(HVM_SEG_LDTR), "26.3.1.2");
        check_common_ar(HVM_SEG_LDTR, seg_ar(HVM_SEG_LDTR), true);
    }
    CHECK(canonical(seg_base(HVM_SEG_TR)), "guest TR base", "not canonical",
          seg_base(HVM_SEG_TR), "26.3.1.2");
    CHECK(!(seg_base(HVM_SEG_CS) >> 32), "guest CS base", "bits 63:32 must be 0",
          seg_base(HVM_SEG_CS), "26.3.1.2");
    CHECK(canonical(vmread(GUEST_GDTR_BASE)), "guest GDTR base", "not canonical", vmread(GUEST_GDTR_BASE), "26.3.1.3");
    CHECK(canonical(vmread(GUEST_IDTR_BASE)), "guest IDTR base", "not canonical", vmread(GUEST_IDTR_BASE), "26.3.1.3");
    CHECK(!(vmread(GUEST_GDTR_LIMIT) >> 16), "guest GDTR limit", "bits 31:16 must be 0", vmread(GUEST_GDTR_LIMIT), "26.3.1.3");
    CHECK(!(vmread(GUEST_IDTR_LIMIT) >> 16), "guest IDTR limit", "bits 31:16 must be 0", vmread(GUEST_IDTR_LIMIT), "26.3.1.3");
}

/* SDM 26.3.1.4 (RIP, RFLAGS) and 26.3.1.5 (activity, interruptibility). */
static void check_rip_flags_state(bool ia32e)
{
    uint64_t rip = vmread(GUEST_RIP), fl = vmread(GUEST_RFLAGS);
    uint64_t intr = vmread(GUEST_INTERRUPTIBILITY), act = vmread(GUEST_ACTIVITY_STATE);
    uint32_t inj = vmread(ENTRY_INTR_INFO);
    bool cs_l = seg_ar(HVM_SEG_CS) & VMX_AR_L;

    if (!(ia32e && cs_l))
        CHECK(!(rip >> 32), "guest RIP", "bits 63:32 must be 0 outside 64-bit mode", rip, "26.3.1.4");
    CHECK(!(fl & 0xffffffffffc08028ull), "guest RFLAGS", "reserved bits set (63:22, 15, 5, 3)", fl, "26.3.1.4");
    CHECK(fl & 2, "guest RFLAGS", "bit 1 must be 1", fl, "26.3.1.4");
    if (ia32e || !(vmread(GUEST_CR0) & X86_CR0_PE))
        CHECK(!(fl & (1u << 17)), "guest RFLAGS", "VM must be 0 in IA-32e mode or real mode", fl, "26.3.1.4");
    if ((inj & INTR_INFO_VALID) && INTR_INFO_TYPE(inj) == INTR_TYPE_EXT_INTR)
        CHECK(fl & X86_FLAGS_IF, "guest RFLAGS", "IF must be 1 to inject an external interrupt", fl, "26.3.1.4");
    CHECK(act <= ACTIVITY_WAIT_SIPI, "guest activity state", "not 0-3", act, "26.3.1.5");
    if (act == ACTIVITY_HLT)
        CHECK(VMX_AR_DPL(seg_ar(HVM_SEG_SS)) == 0, "guest activity state", "HLT requires SS.DPL 0", act, "26.3.1.5");
    CHECK(!(intr >> 5), "guest interruptibility", "reserved bits 31:5 set", intr, "26.3.1.5");
    CHECK((intr & 3) != 3, "guest interruptibility", "blocking by STI and by MOV SS both set", intr, "26.3.1.5");
    if (!(fl & X86_FLAGS_IF))
        CHECK(!(intr & INTR_BLOCK_STI), "guest interruptibility", "blocking by STI with IF=0", intr, "26.3.1.5");
    if ((inj & INTR_INFO_VALID) && INTR_INFO_TYPE(inj) == INTR_TYPE_EXT_INTR)
        CHECK(!(intr & 3), "guest interruptibility", "STI/MOV SS blocking while injecting an interrupt", intr, "26.3.1.5");
    CHECK(vmread(VMCS_LINK_POINTER) == ~0ull, "VMCS link pointer", "must be all ones without VMCS shadowing",
          vmread(VMCS_LINK_POINTER), "26.3.1.5");
}

static void check_guest_state(void)
{
    bool ug = vmread(SECONDARY_CONTROLS) & CPU2_UNRESTRICTED_GUEST;
    bool ia32e = vmread(ENTRY_CONTROLS) & ENTRY_IA32E_MODE;

    violations = 0;
    check_crs(ug, ia32e);
    check_segments(ug, ia32e);
    check_rip_flags_state(ia32e);
    if (!violations)
        printk(LOG_ERR "  VMX check: no rule of SDM 26.3.1 found broken by these checks; "
               "exit qualification %#lx\n", vmread(EXIT_QUALIFICATION));
}

/* fail: 1 VMfailInvalid, 2 VMfailValid (vmx_enter); or 0 with the exit
   reason of a failed entry (bit 31 set). */
void vmx_diagnose_entry_failure(struct vcpu *v, int fail, uint32_t exit_reason)
{
    struct domain *d = v->domain;
    unsigned int basic = EXIT_REASON_BASIC(exit_reason);

    if (fail == 1) {
        domain_crash(d, CRASH_BAD_STATE, "VM entry failed: VMfailInvalid (no valid current VMCS)");
        return;
    }
    if (fail == 2) {
        uint32_t err = vmread(VM_INSN_ERROR);
        printk(LOG_ERR "d%u v%u: VM entry failed: VM-instruction error %u: %s\n",
               d->domain_id, v->vcpu_id, err, vmx_insn_error_name(err));
        if (err == 7 || err == 8)
            printk(LOG_ERR "  controls pin %#lx proc %#lx proc2 %#lx exit %#lx entry %#lx\n",
                   vmread(PIN_BASED_CONTROLS), vmread(CPU_BASED_CONTROLS),
                   vmread(SECONDARY_CONTROLS), vmread(EXIT_CONTROLS), vmread(ENTRY_CONTROLS));
        domain_crash(d, CRASH_BAD_STATE, "VM entry failed: %s", vmx_insn_error_name(err));
        return;
    }
    printk(LOG_ERR "d%u v%u: VM entry failed with exit reason %u (%s)\n", d->domain_id,
           v->vcpu_id, basic, basic == EXIT_INVALID_STATE ? "invalid guest state" :
           basic == EXIT_MSR_LOADING ? "MSR loading" :
           basic == EXIT_MACHINE_CHECK ? "machine check during entry" : "unexpected");
    if (basic == EXIT_INVALID_STATE)
        check_guest_state();
    else if (basic == EXIT_MSR_LOADING)
        printk(LOG_ERR "  MSR-load entry %lu failed (Proxenos loads none)\n",
               vmread(EXIT_QUALIFICATION));
    domain_crash(d, CRASH_BAD_STATE, "VM entry failed: exit reason %u", basic);
}
