/*
 * The readable dump of a VMX vCPU (ops->dump, printed with every domain
 * crash): the last exit with its qualification decoded, the control
 * registers with their shadows, the controls and the segment registers.
 */
#include <proxenos/lib.h>
#include <proxenos/printk.h>
#include "vmx_private.h"

static const char *const exit_names[VMX_NR_EXIT_REASONS] = {
    [EXIT_EXCEPTION_NMI] = "exception or NMI", [EXIT_EXTERNAL_INTR] = "external interrupt",
    [EXIT_TRIPLE_FAULT] = "triple fault", [EXIT_INIT] = "INIT", [EXIT_SIPI] = "SIPI",
    [EXIT_INTR_WINDOW] = "interrupt window", [EXIT_NMI_WINDOW] = "NMI window",
    [EXIT_TASK_SWITCH] = "task switch", [EXIT_CPUID] = "CPUID", [EXIT_HLT] = "HLT",
    [EXIT_INVD] = "INVD", [EXIT_VMCALL] = "VMCALL", [EXIT_CR_ACCESS] = "CR access",
    [EXIT_DR_ACCESS] = "DR access", [EXIT_IO] = "I/O instruction", [EXIT_RDMSR] = "RDMSR",
    [EXIT_WRMSR] = "WRMSR", [EXIT_INVALID_STATE] = "entry failure: invalid guest state",
    [EXIT_MSR_LOADING] = "entry failure: MSR loading", [EXIT_MWAIT] = "MWAIT",
    [EXIT_MONITOR] = "MONITOR", [EXIT_PAUSE] = "PAUSE",
    [EXIT_MACHINE_CHECK] = "entry failure: machine check",
    [EXIT_EPT_VIOLATION] = "EPT violation", [EXIT_EPT_MISCONFIG] = "EPT misconfiguration",
    [EXIT_PREEMPT_TIMER] = "preemption timer", [EXIT_WBINVD] = "WBINVD",
    [EXIT_XSETBV] = "XSETBV",
};

static const char *exit_name(unsigned int reason)
{
    return reason < VMX_NR_EXIT_REASONS && exit_names[reason] ? exit_names[reason] : "other";
}

/* The qualification in words for the exits that crash guests most. */
static void dump_qualification(const struct vmx_vcpu *s, unsigned int reason)
{
    uint64_t q = s->exit_qual;

    if (reason == EXIT_EPT_VIOLATION) {
        char access[32];

        px_snprintf(access, sizeof(access), "%s%s%s", q & EPTQ_READ ? "/read" : "",
                    q & EPTQ_WRITE ? "/write" : "", q & EPTQ_FETCH ? "/instruction-fetch" : "");
        printk(LOG_ERR "  EPT violation: %s access to GPA %#lx; the entry allowed %s%s%s; "
               "guest linear address %s%#lx\n", access[0] ? access + 1 : "no",
               vmread(GUEST_PHYSICAL_ADDR), q & EPTQ_READABLE ? "r" : "-",
               q & EPTQ_WRITABLE ? "w" : "-", q & EPTQ_EXECUTABLE ? "x" : "-",
               q & EPTQ_GLA_VALID ? "" : "(not valid) ",
               (q & EPTQ_GLA_VALID) ? vmread(GUEST_LINEAR_ADDR) : 0);
    } else if (reason == EXIT_IO) {
        printk(LOG_ERR "  I/O: %s port %#lx, %lu byte(s)%s%s\n", q & IOQ_IN ? "IN from" : "OUT to",
               IOQ_PORT(q), IOQ_SIZE(q), q & IOQ_STRING ? ", string" : "", q & IOQ_REP ? ", REP" : "");
    } else if (reason == EXIT_CR_ACCESS) {
        static const char *const types[] = { "MOV to", "MOV from", "CLTS", "LMSW" };
        printk(LOG_ERR "  CR access: %s CR%lu, register %lu\n", types[CRQ_TYPE(q)], CRQ_CR(q),
               CRQ_GPR(q));
    }
}

static void dump_seg(const char *name, int seg)
{
    printk(LOG_ERR "  %-4s sel %04lx ar %05lx limit %08lx base %016lx\n", name,
           vmread(GUEST_ES_SEL + 2 * seg), vmread(GUEST_ES_AR + 2 * seg),
           vmread(GUEST_ES_LIMIT + 2 * seg), vmread(GUEST_ES_BASE + 2 * seg));
}

void vmx_dump(const struct vcpu *cv)
{
    struct vcpu *v = (struct vcpu *)cv;          /* the VMCS must be made current */
    const struct vmx_vcpu *s = to_vmx(v);
    unsigned int reason = EXIT_REASON_BASIC(s->exit_reason);
    static const char *const segs[] = { "es", "cs", "ss", "ds", "fs", "gs", "ldtr", "tr" };

    if (s->active_cpu >= 0 && s->active_cpu != (int)smp_processor_id()) {
        printk(LOG_ERR "  VMX: the VMCS is active on CPU %d: not dumped from here\n", s->active_cpu);
        return;
    }
    vmx_load_vmcs(v);
    printk(LOG_ERR "  VMX exit %u (%s)%s qualification %#lx intr-info %#x idt-vectoring %#x "
           "insn-len %u\n", reason, exit_name(reason),
           (s->exit_reason & EXIT_REASON_FAILED_ENTRY) ? " [failed entry]" : "", s->exit_qual,
           s->exit_intr_info, s->idt_vectoring, s->exit_insn_len);
    dump_qualification(s, reason);
    printk(LOG_ERR "  cr0 %016lx (shadow %016lx) cr3 %016lx cr4 %016lx (shadow %016lx)\n",
           vmread(GUEST_CR0), vmread(CR0_READ_SHADOW), vmread(GUEST_CR3), vmread(GUEST_CR4),
           vmread(CR4_READ_SHADOW));
    printk(LOG_ERR "  cr2 %016lx efer %016lx pat %016lx vpid %u eptp %016lx\n", s->cr2,
           vmread(GUEST_EFER), vmread(GUEST_PAT), s->vpid, vmread(EPT_POINTER));
    printk(LOG_ERR "  rip %016lx rsp %016lx rflags %08lx interruptibility %lx activity %lu "
           "entry-intr %#lx\n", vmread(GUEST_RIP), vmread(GUEST_RSP), vmread(GUEST_RFLAGS),
           vmread(GUEST_INTERRUPTIBILITY), vmread(GUEST_ACTIVITY_STATE), vmread(ENTRY_INTR_INFO));
    printk(LOG_ERR "  controls pin %#lx proc %#lx proc2 %#lx exit %#lx entry %#lx\n",
           vmread(PIN_BASED_CONTROLS), vmread(CPU_BASED_CONTROLS), vmread(SECONDARY_CONTROLS),
           vmread(EXIT_CONTROLS), vmread(ENTRY_CONTROLS));
    for (int i = 0; i < 8; i++)
        dump_seg(segs[i], i);
    printk(LOG_ERR "  gdtr base %016lx limit %04lx idtr base %016lx limit %04lx\n",
           vmread(GUEST_GDTR_BASE), vmread(GUEST_GDTR_LIMIT), vmread(GUEST_IDTR_BASE),
           vmread(GUEST_IDTR_LIMIT));
}
