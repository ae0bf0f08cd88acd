/*
 * Running an SVM vCPU: ASID assignment, the entry, and the exit dispatch
 * table indexed by exit code (APM vol. 2, appendix C). Each handler either
 * calls the generic HVM layer or decides alone; an exit code without a
 * handler crashes the domain with a dump, never the host.
 */
#include <proxenos/io.h>
#include <proxenos/lib.h>
#include <proxenos/printk.h>
#include "svm_private.h"

#define STAT_BY_HANDLER 0xff

typedef enum hvm_result (*svm_exit_fn)(struct vcpu *v, struct vmcb *vmcb);

struct svm_exit_handler {
    svm_exit_fn fn;
    uint8_t stat;            /* enum hvm_exit_stat, or STAT_BY_HANDLER */
};

/* Gives the vCPU an ASID valid on this CPU (APM 15.16): a new one whenever
   it moved CPUs or the CPU's ASIDs wrapped, which flushes all of them. */
static void svm_asid_assign(struct vcpu *v, struct svm_vcpu *s, struct vmcb *vmcb)
{
    unsigned int cpu = smp_processor_id();
    struct svm_cpu *c = &svm_cpus[cpu];

    if (s->last_cpu != (int)cpu || s->asid_generation != c->asid_generation) {
        if (c->next_asid >= svm_caps.nr_asids) {
            c->asid_generation++;
            c->next_asid = 1;
            vmcb->tlb_control = TLB_CONTROL_FLUSH_ALL;
        }
        s->asid = c->next_asid++;
        s->asid_generation = c->asid_generation;
        s->last_cpu = cpu;
        vmcb->guest_asid = s->asid;
        /* A recycled ASID may hold another guest's translations. */
        if (vmcb->tlb_control == TLB_CONTROL_NONE)
            vmcb->tlb_control = svm_caps.flush_by_asid ? TLB_CONTROL_FLUSH_ASID
                                                       : TLB_CONTROL_FLUSH_ALL;
        v->needs_flush = false;
    }
    if (v->needs_flush) {
        vmcb->tlb_control = svm_caps.flush_by_asid ? TLB_CONTROL_FLUSH_ASID : TLB_CONTROL_FLUSH_ALL;
        v->needs_flush = false;
    }
}

/* --- handlers ------------------------------------------------------------ */
static enum hvm_result exit_nop(struct vcpu *v, struct vmcb *vmcb)
{
    return HVM_NO_ADVANCE;     /* INTR/NMI/SMI: the host takes it after STGI/STI */
}

static enum hvm_result exit_cpuid(struct vcpu *v, struct vmcb *vmcb) { return hvm_cpuid(v); }
static enum hvm_result exit_hlt(struct vcpu *v, struct vmcb *vmcb) { return hvm_hlt(v); }
static enum hvm_result exit_vmmcall(struct vcpu *v, struct vmcb *vmcb) { return hvm_hypercall(v); }

static enum hvm_result exit_msr(struct vcpu *v, struct vmcb *vmcb)
{
    v->exit_counts[vmcb->exitinfo1 ? HVM_EXIT_MSR_WRITE : HVM_EXIT_MSR_READ]++;
    return vmcb->exitinfo1 ? hvm_msr_write(v) : hvm_msr_read(v);
}

static enum hvm_result exit_ioio(struct vcpu *v, struct vmcb *vmcb)
{
    uint32_t info = vmcb->exitinfo1;
    struct hvm_io io = {
        .port = info >> 16,
        .size = (info & SVM_IOIO_SZ32) ? 4 : (info & SVM_IOIO_SZ16) ? 2 : 1,
        .in = info & SVM_IOIO_IN,
        .string = info & SVM_IOIO_STR,
        .rep = info & SVM_IOIO_REP,
    };
    enum hvm_result r = hvm_portio(v, &io);

    /* EXITINFO2 holds the next RIP for IOIO even without NRIP (APM 15.10.2). */
    if (r == HVM_DONE) {
        v->hvm.regs.rip = vmcb->exitinfo2;
        vmcb->interrupt_shadow = 0;
        return HVM_NO_ADVANCE;
    }
    return r;
}

static enum hvm_result exit_npf(struct vcpu *v, struct vmcb *vmcb)
{
    uint64_t err = vmcb->exitinfo1;

    return hvm_npf(v, vmcb->exitinfo2, err & SVM_NPF_WRITE, err & SVM_NPF_FETCH);
}

static enum hvm_result exit_shutdown(struct vcpu *v, struct vmcb *vmcb)
{
    hvm_triple_fault(v);
    return HVM_CRASHED;
}

/* SVM instructions, MONITOR/MWAIT and INVLPGA: CPUID hides them, so they
   are undefined for the guest (#UD), as on a CPU without them. */
static enum hvm_result exit_ud(struct vcpu *v, struct vmcb *vmcb)
{
    hvm_inject_exception(v, X86_EXC_UD, false, 0);
    return HVM_EXCEPTION;
}

static enum hvm_result exit_vintr(struct vcpu *v, struct vmcb *vmcb)
{
    /* The window opened: drop the request; the next entry injects. */
    vmcb->vintr &= ~((1ull << 8) | (0xfull << 16));
    vmcb->intercepts1 &= ~SVM_INTERCEPT_VINTR;
    return HVM_NO_ADVANCE;
}

static enum hvm_result exit_task_switch(struct vcpu *v, struct vmcb *vmcb)
{
    domain_crash(v->domain, CRASH_UNHANDLED_EXIT, "hardware task switch (not emulated)");
    return HVM_CRASHED;
}

static const struct svm_exit_handler exit_table[SVM_EXIT_MAX] = {
    [SVM_EXIT_INTR]     = { exit_nop, HVM_EXIT_INTR },
    [SVM_EXIT_NMI]      = { exit_nop, HVM_EXIT_NMI },
    [SVM_EXIT_SMI]      = { exit_nop, HVM_EXIT_OTHER },
    [SVM_EXIT_INIT]     = { exit_nop, HVM_EXIT_OTHER },
    [SVM_EXIT_VINTR]    = { exit_vintr, HVM_EXIT_VINTR },
    [SVM_EXIT_CPUID]    = { exit_cpuid, HVM_EXIT_CPUID },
    [SVM_EXIT_HLT]      = { exit_hlt, HVM_EXIT_HLT },
    [SVM_EXIT_IOIO]     = { exit_ioio, HVM_EXIT_IO },
    [SVM_EXIT_MSR]      = { exit_msr, STAT_BY_HANDLER },
    [SVM_EXIT_TASK_SWITCH] = { exit_task_switch, HVM_EXIT_OTHER },
    [SVM_EXIT_SHUTDOWN] = { exit_shutdown, HVM_EXIT_TRIPLE_FAULT },
    [SVM_EXIT_VMRUN]    = { exit_ud, HVM_EXIT_EXCEPTION },
    [SVM_EXIT_VMMCALL]  = { exit_vmmcall, HVM_EXIT_HYPERCALL },
    [SVM_EXIT_VMLOAD]   = { exit_ud, HVM_EXIT_EXCEPTION },
    [SVM_EXIT_VMSAVE]   = { exit_ud, HVM_EXIT_EXCEPTION },
    [SVM_EXIT_STGI]     = { exit_ud, HVM_EXIT_EXCEPTION },
    [SVM_EXIT_CLGI]     = { exit_ud, HVM_EXIT_EXCEPTION },
    [SVM_EXIT_SKINIT]   = { exit_ud, HVM_EXIT_EXCEPTION },
    [SVM_EXIT_INVLPGA]  = { exit_ud, HVM_EXIT_EXCEPTION },
    [SVM_EXIT_MONITOR]  = { exit_ud, HVM_EXIT_EXCEPTION },
    [SVM_EXIT_MWAIT]    = { exit_ud, HVM_EXIT_EXCEPTION },
    [SVM_EXIT_NPF]      = { exit_npf, HVM_EXIT_NPF },
};

/* Moves RIP past the intercepted instruction: NRIP when the CPU saves it,
   otherwise the instruction is fetched and decoded (QEMU has no NRIP). */
static void advance_rip(struct vcpu *v, struct vmcb *vmcb)
{
    unsigned int len;

    if (svm_caps.nrip && vmcb->nrip) {
        v->hvm.regs.rip = vmcb->nrip;
    } else if (!hvm_insn_length(v, &len)) {
        v->hvm.regs.rip += len;
    } else {
        if (!v->domain->is_shutting_down && !(vmcb->eventinj & SVM_EVTINJ_VALID))
            domain_crash(v->domain, CRASH_HYPERVISOR,
                         "cannot decode the instruction after exit %#lx", vmcb->exitcode);
        return;
    }
    vmcb->interrupt_shadow = 0;          /* the instruction has completed */
}

static void handle_exit(struct vcpu *v, struct vmcb *vmcb)
{
    uint64_t code = vmcb->exitcode;
    const struct svm_exit_handler *h = code < SVM_EXIT_MAX ? &exit_table[code] : NULL;

    /* An event whose delivery the exit interrupted is delivered again. */
    if (vmcb->exitintinfo & SVM_EVTINJ_VALID) {
        if (!(vmcb->eventinj & SVM_EVTINJ_VALID))
            vmcb->eventinj = vmcb->exitintinfo;
        vmcb->exitintinfo = 0;
    }
    if (code == SVM_EXIT_INVALID) {
        domain_crash(v->domain, CRASH_BAD_STATE, "VMRUN refused the guest state (VMEXIT_INVALID)");
        return;
    }
    if (!h || !h->fn) {
        v->exit_counts[HVM_EXIT_OTHER]++;
        domain_crash(v->domain, CRASH_UNHANDLED_EXIT, "unexpected SVM exit %#lx (info1 %#lx info2 %#lx)",
                     code, vmcb->exitinfo1, vmcb->exitinfo2);
        return;
    }
    if (h->stat != STAT_BY_HANDLER)
        v->exit_counts[h->stat]++;
    uint64_t rip = v->hvm.regs.rip;
    enum hvm_result r = h->fn(v, vmcb);
    if (r == HVM_DONE)
        advance_rip(v, vmcb);
    /* An instruction we completed on the guest's behalf owes it the
       single-step trap the CPU would have raised (SDM vol. 3B, 17.3.1.4):
       #DB with DR6.BS, after the instruction. */
    if ((r == HVM_DONE || r == HVM_NO_ADVANCE) && v->hvm.regs.rip != rip &&
        (v->hvm.regs.rflags & X86_FLAGS_TF) && !v->domain->is_shutting_down) {
        vmcb->dr6 |= 1u << 14;
        hvm_inject_exception(v, 1, false, 0);
    }
}

void svm_run(struct vcpu *v)
{
    struct svm_vcpu *s = to_svm(v);
    struct vmcb *vmcb = s->vmcb;
    struct x86emul_regs *r = &v->hvm.regs;

    svm_asid_assign(v, s, vmcb);
    vmcb->rax = r->gpr[X86_REG_RAX];
    vmcb->rsp = r->gpr[X86_REG_RSP];
    vmcb->rip = r->rip;
    vmcb->rflags = r->rflags;
    v->is_running = true;
    svm_vmrun(r, s->vmcb_pa, svm_cpus[smp_processor_id()].host_vmsave_pa);
    v->is_running = false;
    vmcb->tlb_control = TLB_CONTROL_NONE;
    r->gpr[X86_REG_RAX] = vmcb->rax;
    r->gpr[X86_REG_RSP] = vmcb->rsp;
    r->rip = vmcb->rip;
    r->rflags = vmcb->rflags;
    v->hvm.launched = true;
    handle_exit(v, vmcb);
}

static void dump_seg(const char *name, const struct vmcb_seg *s)
{
    printk(LOG_ERR "  %-4s sel %04x attr %03x limit %08x base %016lx\n", name, s->sel, s->attr,
           s->limit, s->base);
}

void svm_dump(const struct vcpu *v)
{
    const struct vmcb *vmcb = to_svm(v)->vmcb;

    printk(LOG_ERR "  SVM exit %#lx info1 %#lx info2 %#lx intinfo %#lx eventinj %#lx\n",
           vmcb->exitcode, vmcb->exitinfo1, vmcb->exitinfo2, vmcb->exitintinfo, vmcb->eventinj);
    printk(LOG_ERR "  cr0 %016lx cr2 %016lx cr3 %016lx cr4 %016lx\n",
           vmcb->cr0, vmcb->cr2, vmcb->cr3, vmcb->cr4);
    printk(LOG_ERR "  efer %016lx cpl %u asid %u n_cr3 %016lx\n", vmcb->efer, vmcb->cpl,
           vmcb->guest_asid, vmcb->n_cr3);
    dump_seg("cs", &vmcb->cs);
    dump_seg("ss", &vmcb->ss);
    dump_seg("ds", &vmcb->ds);
    dump_seg("es", &vmcb->es);
    dump_seg("fs", &vmcb->fs);
    dump_seg("gs", &vmcb->gs);
    dump_seg("tr", &vmcb->tr);
    dump_seg("gdtr", &vmcb->gdtr);
    dump_seg("idtr", &vmcb->idtr);
}
