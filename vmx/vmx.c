/*
 * The Intel VT-x backend: detection, enabling VMX on each CPU, the VMX
 * instruction helpers and the ops table. The VMCS of each vCPU is built in
 * vmx_vmcs.c, the world switch is vmx_entry.asm, the exit dispatch is
 * vmx_exit.c, event injection vmx_event.c, failed-entry diagnosis
 * vmx_check.c and the EPT entry format ept.c.
 */
#include <proxenos/io.h>
#include <proxenos/layout.h>
#include <proxenos/lib.h>
#include <proxenos/mm.h>
#include <proxenos/printk.h>
#include "vmx_private.h"

struct vmx_cpu vmx_cpus[MAX_CPUS];
struct vmx_caps vmx_caps;

#define CPUID1_ECX_VMX    (1u << 5)
#define CPUID1_ECX_XSAVE  (1u << 26)

__noreturn void vmx_insn_failed(const char *insn, uint64_t arg, bool valid)
{
    uint64_t err = 0;
    bool fail = true;

    /* VMfailValid leaves the reason in the current VMCS (SDM 30.4). */
    if (valid)
        __asm__ volatile("vmread %[f], %[v]" : [v] "=r"(err), "=@ccna"(fail)
                         : [f] "r"((uint64_t)VM_INSN_ERROR));
    if (fail)
        panic("VMX: %s %#lx failed: VMfailInvalid (no current VMCS or bad pointer)", insn, arg);
    panic("VMX: %s %#lx failed: VM-instruction error %lu (%s)", insn, arg, err,
          vmx_insn_error_name(err));
}

/* INVEPT / INVVPID take a 128-bit descriptor in memory (SDM 30.3). */
void invept(unsigned int type, uint64_t eptp)
{
    struct { uint64_t eptp, rsvd; } desc = { eptp, 0 };
    bool fail;

    __asm__ volatile("invept %[d], %[t]" : "=@ccna"(fail)
                     : [d] "m"(desc), [t] "r"((uint64_t)type) : "memory");
    if (unlikely(fail))
        vmx_insn_failed("INVEPT", eptp, false);
}

void invvpid(unsigned int type, uint16_t vpid, uint64_t gla)
{
    struct { uint64_t vpid, gla; } desc = { vpid, gla };
    bool fail;

    __asm__ volatile("invvpid %[d], %[t]" : "=@ccna"(fail)
                     : [d] "m"(desc), [t] "r"((uint64_t)type) : "memory");
    if (unlikely(fail))
        vmx_insn_failed("INVVPID", vpid, false);
}

/* Reads the capability MSRs (SDM appendix A): the TRUE_* control MSRs
   when IA32_VMX_BASIC[55] says they exist, the legacy ones otherwise. */
static void vmx_read_caps(struct vmx_msrs *m)
{
    bool true_ctls;

    m->basic = rdmsr(MSR_IA32_VMX_BASIC);
    true_ctls = m->basic & VMX_BASIC_TRUE_CTLS;
    m->pin = rdmsr(true_ctls ? MSR_IA32_VMX_TRUE_PINBASED_CTLS : MSR_IA32_VMX_PINBASED_CTLS);
    m->proc = rdmsr(true_ctls ? MSR_IA32_VMX_TRUE_PROCBASED_CTLS : MSR_IA32_VMX_PROCBASED_CTLS);
    m->exit = rdmsr(true_ctls ? MSR_IA32_VMX_TRUE_EXIT_CTLS : MSR_IA32_VMX_EXIT_CTLS);
    m->entry = rdmsr(true_ctls ? MSR_IA32_VMX_TRUE_ENTRY_CTLS : MSR_IA32_VMX_ENTRY_CTLS);
    m->misc = rdmsr(MSR_IA32_VMX_MISC);
    /* PROCBASED_CTLS2 exists only if secondary controls can be activated,
       EPT_VPID_CAP only if EPT or VPID can be enabled (SDM A.3.3, A.10). */
    m->proc2 = ((m->proc >> 32) & CPU_SECONDARY_CONTROLS) ? rdmsr(MSR_IA32_VMX_PROCBASED_CTLS2) : 0;
    m->ept_vpid = (m->proc2 >> 32) & (CPU2_ENABLE_EPT | CPU2_ENABLE_VPID)
                  ? rdmsr(MSR_IA32_VMX_EPT_VPID_CAP) : 0;
}

/* Host CR0/CR4 as VMX operation requires (SDM 23.8, A.7, A.8): the fixed-1
   bits set (CR4.VMXE, CR0.NE/PE/PG, which long mode already has), the
   fixed-0 bits clear. CR4.OSXSAVE too when the CPU has XSAVE, so that the
   guest's XCR0 can be loaded (XSETBV exits, vmx_exit.c). */
static int vmx_host_crs(void)
{
    uint32_t a, b, c, d;
    uint64_t cr0 = read_cr0(), cr4 = read_cr4();
    uint64_t want0 = (cr0 | vmx_caps.cr0_fixed0) & vmx_caps.cr0_fixed1;
    uint64_t want4 = (cr4 | vmx_caps.cr4_fixed0 | X86_CR4_VMXE) & vmx_caps.cr4_fixed1;

    cpuid(1, &a, &b, &c, &d);
    if ((c & CPUID1_ECX_XSAVE) && (vmx_caps.cr4_fixed1 & X86_CR4_OSXSAVE))
        want4 |= X86_CR4_OSXSAVE;
    if ((want0 ^ cr0) & (X86_CR0_PE | X86_CR0_PG)) {
        printk(LOG_ERR "VMX: host CR0 %#lx cannot meet the fixed bits %#lx/%#lx\n", cr0,
               vmx_caps.cr0_fixed0, vmx_caps.cr0_fixed1);
        return -EIO;
    }
    if (want0 != cr0)
        write_cr0(want0);
    if (want4 != cr4)
        write_cr4(want4);
    return 0;
}

int vmx_cpu_up(void)
{
    struct vmx_cpu *c = &vmx_cpus[smp_processor_id()];
    bool fail;

    if (c->up)
        return 0;
    if (vmx_host_crs())
        return -EIO;
    if (!c->vmxon_pa && !(c->vmxon_pa = alloc_frames(0)))
        return -ENOMEM;
    memset(__va(c->vmxon_pa), 0, PAGE_SIZE);
    *(uint32_t *)__va(c->vmxon_pa) = vmx_caps.revision;     /* SDM 24.11.5 */
    __asm__ volatile("vmxon %[pa]" : "=@ccna"(fail) : [pa] "m"(c->vmxon_pa) : "memory");
    if (fail) {
        printk(LOG_ERR "VMX: VMXON failed on CPU %u (already in VMX operation, or a bad "
               "VMXON region)\n", smp_processor_id());
        return -EIO;
    }
    /* Nothing tagged by an EPTP may survive from before (firmware, a
       previous kernel): flush everything once (SDM 28.3.3.4). */
    if (vmx_caps.msrs.ept_vpid & EPT_CAP_INVEPT_ALL)
        invept(INVEPT_ALL, 0);
    if (vmx_caps.ctl.invvpid_all)
        invvpid(INVVPID_ALL, 0, 0);
    for (unsigned int i = 0; i < ARRAY_SIZE(vmx_lazy_msrs); i++)
        c->host_msrs[i] = rdmsr(vmx_lazy_msrs[i]);
    if (read_cr4() & X86_CR4_OSXSAVE) {
        uint32_t lo, hi;
        __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
        c->xcr0 = ((uint64_t)hi << 32) | lo;
    }
    c->up = true;
    return 0;
}


static struct hvm_function_table vmx_ops = {
    .name = "VMX",
    .hap = true,
    .nrip = true,                            /* VM-exit instruction length, SDM 27.2.5 */
    .unrestricted_guest = true,              /* required by vmx_compute_controls */
    .hypercall_insn = { 0x0f, 0x01, 0xc1 },  /* VMCALL */
    .p2m_format = &ept_format,
    .cpu_up = vmx_cpu_up,
    .vcpu_init = vmx_vcpu_init,
    .vcpu_destroy = vmx_vcpu_destroy,
    .run = vmx_run,
    .get_segment = vmx_get_segment,
    .set_segment = vmx_set_segment,
    .get_cr = vmx_get_cr,
    .set_cr = vmx_set_cr,
    .get_efer = vmx_get_efer,
    .set_efer = vmx_set_efer,
    .inject_event = vmx_inject_event,
    .interrupt_window = vmx_interrupt_window,
    .dump = vmx_dump,
};

/* IA32_FEATURE_CONTROL (SDM 23.7): firmware normally locks it; a CPU that
   comes up unlocked (Bochs) is locked here with VMXON outside SMX on. */
static bool vmx_feature_control(void)
{
    uint64_t fc = rdmsr(MSR_IA32_FEATURE_CONTROL);

    if (!(fc & FEATURE_CONTROL_LOCK)) {
        wrmsr(MSR_IA32_FEATURE_CONTROL, fc | FEATURE_CONTROL_VMXON | FEATURE_CONTROL_LOCK);
        printk("VMX: IA32_FEATURE_CONTROL was unlocked: enabled VMXON outside SMX and locked it\n");
        return true;
    }
    if (!(fc & FEATURE_CONTROL_VMXON)) {
        printk(LOG_WARN "VMX: disabled by the firmware (IA32_FEATURE_CONTROL %#lx is locked "
               "without VMXON outside SMX)\n", fc);
        return false;
    }
    return true;
}

static void vmx_print_caps(void)
{
    const struct vmx_msrs *m = &vmx_caps.msrs;
    const struct vmx_controls *c = &vmx_caps.ctl;

    printk("VMX: revision %#x, VMCS %u bytes, %s control MSRs, EPT (4-level, WB, 2M%s, "
           "INVEPT %s), VPID %s, unrestricted guest%s\n",
           vmx_caps.revision, VMX_BASIC_VMCS_SIZE(m->basic),
           (m->basic & VMX_BASIC_TRUE_CTLS) ? "TRUE" : "legacy",
           (m->ept_vpid & EPT_CAP_1G) ? "/1G" : "", c->invept_single ? "single" : "all",
           c->vpid ? (c->invvpid_single ? "on (INVVPID single)" : "on (INVVPID all)") : "off",
           c->virtual_nmis ? ", virtual NMIs" : "");
    printk(LOG_INFO "VMX: controls pin %#x proc %#x proc2 %#x exit %#x entry %#x\n",
           c->pin, c->proc, c->proc2, c->exit, c->entry);
    printk(LOG_DEBUG "VMX: MSRs basic %#lx pin %#lx proc %#lx proc2 %#lx exit %#lx entry %#lx "
           "misc %#lx ept_vpid %#lx cr0 %#lx/%#lx cr4 %#lx/%#lx\n", m->basic, m->pin, m->proc,
           m->proc2, m->exit, m->entry, m->misc, m->ept_vpid, vmx_caps.cr0_fixed0,
           vmx_caps.cr0_fixed1, vmx_caps.cr4_fixed0, vmx_caps.cr4_fixed1);
}

const struct hvm_function_table *vmx_probe(void)
{
    uint32_t a, b, c, d;
    const char *why;

    cpuid(1, &a, &b, &c, &d);
    if (!(c & CPUID1_ECX_VMX)) {
        printk("VMX: not available (CPUID.1:ECX.VMX clear)\n");
        return NULL;
    }
    if (!vmx_feature_control())
        return NULL;
    vmx_read_caps(&vmx_caps.msrs);
    vmx_caps.revision = VMX_BASIC_REVISION(vmx_caps.msrs.basic);
    vmx_caps.cr0_fixed0 = rdmsr(MSR_IA32_VMX_CR0_FIXED0);
    vmx_caps.cr0_fixed1 = rdmsr(MSR_IA32_VMX_CR0_FIXED1);
    vmx_caps.cr4_fixed0 = rdmsr(MSR_IA32_VMX_CR4_FIXED0);
    vmx_caps.cr4_fixed1 = rdmsr(MSR_IA32_VMX_CR4_FIXED1);
    if (vmx_compute_controls(&vmx_caps.msrs, &vmx_caps.ctl, &why)) {
        printk(LOG_WARN "VMX: cannot be used: %s\n", why);
        return NULL;
    }
    vmx_ops.tagged_tlb_flush = vmx_caps.ctl.vpid;
    vmx_print_caps();
    return &vmx_ops;
}
