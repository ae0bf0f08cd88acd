/*
 * Running a VMX vCPU: the entry, and the exit dispatch table indexed by
 * basic exit reason (SDM vol. 3C, appendix C). Each handler calls the
 * generic HVM layer or decides alone; a reason without a handler crashes
 * the domain with a dump of the VMCS, never the host.
 */
#include <proxenos/io.h>
#include <proxenos/lib.h>
#include <proxenos/platform.h>
#include <proxenos/printk.h>
#include "vmx_private.h"

#define STAT_BY_HANDLER 0xff

typedef enum hvm_result (*vmx_exit_fn)(struct vcpu *v, struct vmx_vcpu *s);

struct vmx_exit_handler {
    vmx_exit_fn fn;
    uint8_t stat;            /* enum hvm_exit_stat, or STAT_BY_HANDLER */
};

static enum hvm_result exit_crash(struct vcpu *v, const char *what)
{
    domain_crash(v->domain, CRASH_UNHANDLED_EXIT, "%s", what);
    return HVM_CRASHED;
}

/* --- handlers ----------------------------------------------------------------- */
static enum hvm_result exit_nop(struct vcpu *v, struct vmx_vcpu *s)
{
    /* External interrupt: no "acknowledge interrupt on exit", so it is still
       pending in the local APIC and the host takes it when the scheduler
       sets IF (SDM 25.2, 27.2.2). INIT/SIPI/SMI and a preemption timer we
       never arm: nothing to do. */
    return HVM_NO_ADVANCE;
}

static enum hvm_result exit_done(struct vcpu *v, struct vmx_vcpu *s)
{
    return HVM_DONE;    /* INVD / WBINVD: no device DMA to be coherent with */
}

/* Exception or NMI (reason 0). NMIs were already passed to the host right
   after the exit (vmx_run); #MC, the only intercepted exception, is the
   host's machine check. Anything else means our exception bitmap is wrong. */
static enum hvm_result exit_exception(struct vcpu *v, struct vmx_vcpu *s)
{
    uint32_t info = s->exit_intr_info;

    if (INTR_INFO_TYPE(info) == INTR_TYPE_NMI)
        return HVM_NO_ADVANCE;
    if (INTR_INFO_VECTOR(info) == 18) {
        __asm__ volatile("int $18");
        return HVM_NO_ADVANCE;
    }
    domain_crash(v->domain, CRASH_UNHANDLED_EXIT, "unexpected exception exit, vector %u",
                 INTR_INFO_VECTOR(info));
    return HVM_CRASHED;
}

static enum hvm_result exit_triple_fault(struct vcpu *v, struct vmx_vcpu *s)
{
    hvm_triple_fault(v);
    return HVM_CRASHED;
}

static enum hvm_result exit_intr_window(struct vcpu *v, struct vmx_vcpu *s)
{
    vmx_clear_bits(CPU_BASED_CONTROLS, CPU_INTR_WINDOW_EXITING);   /* the next entry injects */
    return HVM_NO_ADVANCE;
}

static enum hvm_result exit_task_switch(struct vcpu *v, struct vmx_vcpu *s)
{
    return exit_crash(v, "hardware task switch (not emulated)");
}

static enum hvm_result exit_cpuid(struct vcpu *v, struct vmx_vcpu *s) { return hvm_cpuid(v); }
static enum hvm_result exit_hlt(struct vcpu *v, struct vmx_vcpu *s) { return hvm_hlt(v); }

/* The hypercall may have removed or restricted p2m entries (memory_op,
   grant unmaps), and the p2m does not notify the backends yet: retire the
   domain's EPT translations on this CPU before re-entering (INVEPT
   single-context; the guest's own linear translations stay). Other CPUs
   are not reached: all vCPUs run on CPU 0 today (schedule.c). */
static enum hvm_result exit_vmcall(struct vcpu *v, struct vmx_vcpu *s)
{
    enum hvm_result r = hvm_hypercall(v);

    s->ept_stale = true;
    return r;
}

/* VMX, SMX and RSM instructions, MONITOR/MWAIT: CPUID hides them, so they
   are undefined for the guest (#UD), as on a CPU without them. */
static enum hvm_result exit_ud(struct vcpu *v, struct vmx_vcpu *s)
{
    hvm_inject_exception(v, X86_EXC_UD, false, 0);
    return HVM_EXCEPTION;
}

static enum hvm_result exit_msr_read(struct vcpu *v, struct vmx_vcpu *s) { return hvm_msr_read(v); }
static enum hvm_result exit_msr_write(struct vcpu *v, struct vmx_vcpu *s) { return hvm_msr_write(v); }

/* I/O instruction (SDM 27.2.1 table 27-5; 27.2.5 table 27-8 for the
   address size and segment of INS/OUTS). */
static enum hvm_result exit_io(struct vcpu *v, struct vmx_vcpu *s)
{
    uint64_t q = s->exit_qual;
    uint32_t insn_info = vmread(EXIT_INSN_INFO);
    struct hvm_io io = {
        .port = IOQ_PORT(q),
        .size = IOQ_SIZE(q),
        .in = q & IOQ_IN,
        .string = q & IOQ_STRING,
        .rep = q & IOQ_REP,
        .addr_size = 2u << ((insn_info >> 7) & 3),
        .seg = (insn_info >> 15) & 7,
    };

    return hvm_portio(v, &io);
}

/* EPT violation (SDM 27.2.1 table 27-7): the GPA is in its own field. */
static enum hvm_result exit_ept_violation(struct vcpu *v, struct vmx_vcpu *s)
{
    uint64_t q = s->exit_qual;

    /* IRET unblocked NMIs just before the fault: block them again so the
       IRET's re-execution finds the same state (SDM 27.2.3). */
    if ((q & EPTQ_NMI_UNBLOCK) && !(s->idt_vectoring & INTR_INFO_VALID) &&
        vmx_caps.ctl.virtual_nmis)
        vmx_set_bits(GUEST_INTERRUPTIBILITY, INTR_BLOCK_NMI);
    return hvm_npf(v, vmread(GUEST_PHYSICAL_ADDR), q & EPTQ_WRITE, q & EPTQ_FETCH);
}

/* An EPT entry the CPU calls malformed (SDM 28.3.3.1): our own tables are
   wrong. The guest cannot cause this; it is stopped with the entries. */
static enum hvm_result exit_ept_misconfig(struct vcpu *v, struct vmx_vcpu *s)
{
    uint64_t gpa = vmread(GUEST_PHYSICAL_ADDR);

    printk(LOG_ERR "d%u v%u: EPT misconfiguration at GPA %#lx:\n", v->domain->domain_id,
           v->vcpu_id, gpa);
    ept_dump_entry(v, gpa);
    domain_crash(v->domain, CRASH_HYPERVISOR, "EPT misconfiguration at GPA %#lx", gpa);
    return HVM_CRASHED;
}

/* MOV to/from CR3 (legacy CPUs force the exits on) and CR8 (no TPR shadow:
   always), MOV to CR0/CR4 touching a host-owned bit, CLTS, LMSW (SDM
   27.2.1 table 27-3). */
static enum hvm_result exit_cr_access(struct vcpu *v, struct vmx_vcpu *s)
{
    uint64_t q = s->exit_qual, *gpr = &v->hvm.regs.gpr[CRQ_GPR(q)];
    unsigned int cr = CRQ_CR(q);
    int rc = 0;

    switch (CRQ_TYPE(q)) {
    case CR_TYPE_MOV_TO:
        if (cr == 0) rc = vmx_write_cr0(v, *gpr);
        else if (cr == 3) rc = vmx_write_cr3(v, *gpr);
        else if (cr == 4) rc = vmx_write_cr4(v, *gpr);
        else if (cr == 8) rc = (*gpr >> 4) ? -1 : (s->tpr = *gpr, 0);
        else return exit_crash(v, "MOV to an unexpected control register");
        break;
    case CR_TYPE_MOV_FROM:
        if (cr == 3) *gpr = vmread(GUEST_CR3);
        else if (cr == 8) *gpr = s->tpr;
        else return exit_crash(v, "MOV from an unexpected control register");
        break;
    case CR_TYPE_CLTS:
        rc = vmx_write_cr0(v, vmx_get_cr(v, 0) & ~(uint64_t)X86_CR0_TS);
        break;
    case CR_TYPE_LMSW: {
        /* LMSW loads PE, MP, EM, TS, and can set PE but never clear it. */
        uint64_t cr0 = vmx_get_cr(v, 0);
        rc = vmx_write_cr0(v, (cr0 & ~0xeull) | (CRQ_LMSW_DATA(q) & 0xf));
        break;
    }
    }
    if (rc) {
        hvm_inject_exception(v, X86_EXC_GP, true, 0);
        return HVM_EXCEPTION;
    }
    return HVM_DONE;
}

/* XSETBV always exits (SDM 25.1.2). Only XCR0, only states the CPU has,
   x87 always on, AVX with SSE, AVX-512 with AVX, all or none of its three
   components (SDM vol. 1, 13.3); then it is loaded by vmx_run. */
static enum hvm_result exit_xsetbv(struct vcpu *v, struct vmx_vcpu *s)
{
    uint64_t *gpr = v->hvm.regs.gpr;
    uint64_t val = (gpr[X86_REG_RDX] << 32) | (uint32_t)gpr[X86_REG_RAX];
    uint32_t a, b, c, d;
    uint64_t supported;

    cpuid_count(0xd, 0, &a, &b, &c, &d);
    supported = ((uint64_t)d << 32) | a;
    if ((uint32_t)gpr[X86_REG_RCX] != 0 || hvm_guest_cpl(v) != 0 || (val & ~supported) ||
        !(val & 1) || ((val & 4) && !(val & 2)) ||
        ((val & 0xe0) && ((val & 0xe0) != 0xe0 || (val & 6) != 6))) {
        hvm_inject_exception(v, X86_EXC_GP, true, 0);
        return HVM_EXCEPTION;
    }
    s->xcr0 = val;
    return HVM_DONE;
}

static const struct vmx_exit_handler exit_table[VMX_NR_EXIT_REASONS] = {
    [EXIT_EXCEPTION_NMI]  = { exit_exception, HVM_EXIT_EXCEPTION },
    [EXIT_EXTERNAL_INTR]  = { exit_nop, HVM_EXIT_INTR },
    [EXIT_TRIPLE_FAULT]   = { exit_triple_fault, HVM_EXIT_TRIPLE_FAULT },
    [EXIT_INIT]           = { exit_nop, HVM_EXIT_OTHER },
    [EXIT_SIPI]           = { exit_nop, HVM_EXIT_OTHER },
    [EXIT_IO_SMI]         = { exit_nop, HVM_EXIT_OTHER },
    [EXIT_OTHER_SMI]      = { exit_nop, HVM_EXIT_OTHER },
    [EXIT_INTR_WINDOW]    = { exit_intr_window, HVM_EXIT_VINTR },
    [EXIT_TASK_SWITCH]    = { exit_task_switch, HVM_EXIT_OTHER },
    [EXIT_CPUID]          = { exit_cpuid, HVM_EXIT_CPUID },
    [EXIT_GETSEC]         = { exit_ud, HVM_EXIT_EXCEPTION },
    [EXIT_HLT]            = { exit_hlt, HVM_EXIT_HLT },
    [EXIT_INVD]           = { exit_done, HVM_EXIT_OTHER },
    [EXIT_RSM]            = { exit_ud, HVM_EXIT_EXCEPTION },
    [EXIT_VMCALL]         = { exit_vmcall, HVM_EXIT_HYPERCALL },
    [EXIT_VMCLEAR]        = { exit_ud, HVM_EXIT_EXCEPTION },
    [EXIT_VMLAUNCH]       = { exit_ud, HVM_EXIT_EXCEPTION },
    [EXIT_VMPTRLD]        = { exit_ud, HVM_EXIT_EXCEPTION },
    [EXIT_VMPTRST]        = { exit_ud, HVM_EXIT_EXCEPTION },
    [EXIT_VMREAD]         = { exit_ud, HVM_EXIT_EXCEPTION },
    [EXIT_VMRESUME]       = { exit_ud, HVM_EXIT_EXCEPTION },
    [EXIT_VMWRITE]        = { exit_ud, HVM_EXIT_EXCEPTION },
    [EXIT_VMXOFF]         = { exit_ud, HVM_EXIT_EXCEPTION },
    [EXIT_VMXON]          = { exit_ud, HVM_EXIT_EXCEPTION },
    [EXIT_CR_ACCESS]      = { exit_cr_access, HVM_EXIT_OTHER },
    [EXIT_IO]             = { exit_io, HVM_EXIT_IO },
    [EXIT_RDMSR]          = { exit_msr_read, HVM_EXIT_MSR_READ },
    [EXIT_WRMSR]          = { exit_msr_write, HVM_EXIT_MSR_WRITE },
    [EXIT_MWAIT]          = { exit_ud, HVM_EXIT_EXCEPTION },
    [EXIT_MTF]            = { exit_nop, HVM_EXIT_OTHER },
    [EXIT_MONITOR]        = { exit_ud, HVM_EXIT_EXCEPTION },
    [EXIT_EPT_VIOLATION]  = { exit_ept_violation, HVM_EXIT_NPF },
    [EXIT_EPT_MISCONFIG]  = { exit_ept_misconfig, HVM_EXIT_NPF },
    [EXIT_INVEPT]         = { exit_ud, HVM_EXIT_EXCEPTION },
    [EXIT_PREEMPT_TIMER]  = { exit_nop, HVM_EXIT_PREEMPT },
    [EXIT_INVVPID]        = { exit_ud, HVM_EXIT_EXCEPTION },
    [EXIT_WBINVD]         = { exit_done, HVM_EXIT_OTHER },
    [EXIT_XSETBV]         = { exit_xsetbv, HVM_EXIT_OTHER },
    [EXIT_VMFUNC]         = { exit_ud, HVM_EXIT_EXCEPTION },
};

/* --- the run loop body ---------------------------------------------------------- */

/* The instruction completed: move past it (VM-exit instruction length,
   SDM 27.2.5) and drop the STI / MOV SS shadow it may have been under. */
static void advance_rip(struct vcpu *v, struct vmx_vcpu *s)
{
    uint64_t intr = vmread(GUEST_INTERRUPTIBILITY);

    v->hvm.regs.rip += s->exit_insn_len;
    if (intr & (INTR_BLOCK_STI | INTR_BLOCK_MOV_SS))
        vmwrite(GUEST_INTERRUPTIBILITY, intr & ~(uint64_t)(INTR_BLOCK_STI | INTR_BLOCK_MOV_SS));
}

static void handle_exit(struct vcpu *v, struct vmx_vcpu *s)
{
    unsigned int reason = EXIT_REASON_BASIC(s->exit_reason);
    const struct vmx_exit_handler *h = reason < VMX_NR_EXIT_REASONS ? &exit_table[reason] : NULL;

    vmx_requeue_idt_vectoring(v);
    if (!h || !h->fn) {
        v->exit_counts[HVM_EXIT_OTHER]++;
        domain_crash(v->domain, CRASH_UNHANDLED_EXIT, "unexpected VMX exit %u (qualification %#lx)",
                     reason, s->exit_qual);
        return;
    }
    if (h->stat != STAT_BY_HANDLER)
        v->exit_counts[h->stat]++;
    if (h->fn(v, s) == HVM_DONE)
        advance_rip(v, s);
}

/* Reads what the exit left in the VMCS (SDM 27.2). */
static void read_exit_info(struct vcpu *v, struct vmx_vcpu *s)
{
    struct x86emul_regs *r = &v->hvm.regs;

    s->exit_reason = vmread(EXIT_REASON);
    s->exit_qual = vmread(EXIT_QUALIFICATION);
    s->exit_intr_info = vmread(EXIT_INTR_INFO);
    s->exit_insn_len = vmread(EXIT_INSN_LEN);
    s->idt_vectoring = vmread(IDT_VECTORING_INFO);
    r->gpr[X86_REG_RSP] = vmread(GUEST_RSP);
    r->rip = vmread(GUEST_RIP);
    r->rflags = vmread(GUEST_RFLAGS);
}

/* What the CPU does not switch: CR2 (not in the VMCS), XCR0, the lazy MSRs. */
static void load_guest_extra(struct vcpu *v, struct vmx_vcpu *s)
{
    struct vmx_cpu *c = &vmx_cpus[smp_processor_id()];

    vmx_lazy_msrs_switch(v);
    if (read_cr2() != s->cr2)
        write_cr2(s->cr2);
    if (c->xcr0 != s->xcr0 && (read_cr4() & X86_CR4_OSXSAVE)) {
        __asm__ volatile("xsetbv" :: "c"(0), "a"((uint32_t)s->xcr0),
                         "d"((uint32_t)(s->xcr0 >> 32)));
        c->xcr0 = s->xcr0;
    }
}

/*
 * The preemption timer counts down at the TSC rate divided by 2^N, N from
 * IA32_VMX_MISC[4:0] (SDM A.6). One scheduler tick's worth, so a guest
 * that masks interrupts cannot keep the CPU from its timers for longer
 * (physical interrupts exit anyway; this covers CPUs and emulators where
 * they stay masked).
 */
#define PREEMPT_TICK_MS 10

uint32_t vmx_preempt_ticks(void)
{
    static uint32_t ticks;

    if (!ticks) {
        uint64_t t = (tsc_khz * PREEMPT_TICK_MS) >> (vmx_caps.msrs.misc & 0x1f);
        ticks = t > UINT32_MAX ? UINT32_MAX : t ? (uint32_t)t : 1;
    }
    return ticks;
}

void vmx_run(struct vcpu *v)
{
    struct vmx_vcpu *s = to_vmx(v);
    struct x86emul_regs *r = &v->hvm.regs;
    int fail;

    if (!vmx_cpus[smp_processor_id()].up && vmx_cpu_up()) {
        domain_crash(v->domain, CRASH_HYPERVISOR, "VMX cannot be enabled on CPU %u",
                     smp_processor_id());
        return;
    }
    vmx_load_vmcs(v);
    if (v->needs_flush) {
        vmx_flush_guest_tlb(v);          /* EPT and VPID */
        v->needs_flush = false;
    } else if (s->ept_stale) {
        vmx_flush_ept(v);                /* after hypercalls: see exit_vmcall */
    }
    load_guest_extra(v, s);
    vmwrite(HOST_CR3, read_cr3());
    vmwrite(GUEST_RSP, r->gpr[X86_REG_RSP]);
    vmwrite(GUEST_RIP, r->rip);
    vmwrite(GUEST_RFLAGS, r->rflags);
    vmx_update_entry_mode(v);
    if (vmx_caps.ctl.preempt_timer)
        vmwrite(VMX_PREEMPTION_TIMER_VALUE, vmx_preempt_ticks());

    v->is_running = true;
    fail = vmx_enter(r, s->launched);
    v->is_running = false;
    s->cr2 = read_cr2();
    if (fail) {
        vmx_diagnose_entry_failure(v, fail, 0);
        return;
    }
    read_exit_info(v, s);
    /* An NMI that hit the guest belongs to the host: deliver it through our
       IDT before anything else (SDM 27.2.2: it was not delivered). */
    if (EXIT_REASON_BASIC(s->exit_reason) == EXIT_EXCEPTION_NMI &&
        INTR_INFO_TYPE(s->exit_intr_info) == INTR_TYPE_NMI)
        __asm__ volatile("int $2");
    if (s->exit_reason & EXIT_REASON_FAILED_ENTRY) {
        vmx_diagnose_entry_failure(v, 0, s->exit_reason);
        return;
    }
    s->launched = true;
    v->hvm.launched = true;
    handle_exit(v, s);
}
