/*
 * Events into a VMX guest: VM-entry event injection (SDM vol. 3C, 24.8.3
 * and 26.6), interrupt-window exiting (25.2), and re-delivery of an event
 * whose delivery a VM exit interrupted (IDT-vectoring information, 27.2.4).
 */
#include <proxenos/io.h>
#include "vmx_private.h"

/* Exceptions that push an error code (SDM vol. 3A, 6.15): only these may
   set "deliver error code", and only in protected mode (SDM 26.2.1.3). */
static bool exception_has_error_code(uint8_t vector)
{
    switch (vector) {
    case 8: case 10: case 11: case 12: case 13: case 14: case 17: case 21:
        return true;
    default:
        return false;
    }
}

bool vmx_inject_event(struct vcpu *v, const struct hvm_event *e)
{
    uint32_t info = e->vector | ((uint32_t)e->type << INTR_INFO_TYPE_SHIFT) | INTR_INFO_VALID;

    vmx_load_vmcs(v);
    if (vmread(ENTRY_INTR_INFO) & INTR_INFO_VALID)
        return false;
    if (e->type == HVM_EV_EXCEPTION && exception_has_error_code(e->vector) &&
        (vmx_get_cr(v, 0) & X86_CR0_PE)) {
        info |= INTR_INFO_HAS_ERROR;
        vmwrite(ENTRY_EXCEPTION_ERROR, e->has_error_code ? e->error_code : 0);
    }
    if (e->type == HVM_EV_SOFT_INT) {
        unsigned int len = e->insn_len;

        /* Software interrupts need their length (SDM 26.2.1.3, 26.6.1.1). */
        if (!len && hvm_insn_length(v, &len))
            len = 2;                              /* INT n */
        vmwrite(ENTRY_INSN_LEN, len);
    }
    vmwrite(ENTRY_INTR_INFO, info);
    return true;
}

bool vmx_interrupt_window(struct vcpu *v)
{
    uint64_t intr;

    vmx_load_vmcs(v);
    intr = vmread(GUEST_INTERRUPTIBILITY);
    if ((v->hvm.regs.rflags & X86_FLAGS_IF) && !(intr & (INTR_BLOCK_STI | INTR_BLOCK_MOV_SS)) &&
        !(vmread(ENTRY_INTR_INFO) & INTR_INFO_VALID))
        return true;
    /* Exit as soon as the guest can take an interrupt (SDM 25.2). */
    vmx_set_bits(CPU_BASED_CONTROLS, CPU_INTR_WINDOW_EXITING);
    return false;
}

/* An event the exit interrupted is delivered again at the next entry, with
   its error code and, for software events, its instruction length (SDM
   27.2.4, 24.8.3). */
void vmx_requeue_idt_vectoring(struct vcpu *v)
{
    struct vmx_vcpu *s = to_vmx(v);
    uint32_t info = s->idt_vectoring;
    unsigned int type = INTR_INFO_TYPE(info);

    if (!(info & INTR_INFO_VALID) || (vmread(ENTRY_INTR_INFO) & INTR_INFO_VALID))
        return;
    if (info & INTR_INFO_HAS_ERROR)
        vmwrite(ENTRY_EXCEPTION_ERROR, vmread(IDT_VECTORING_ERROR));
    if (type == INTR_TYPE_SOFT_INTR || type == INTR_TYPE_PRIV_SOFT_EXC ||
        type == INTR_TYPE_SOFT_EXC)
        vmwrite(ENTRY_INSN_LEN, s->exit_insn_len);
    vmwrite(ENTRY_INTR_INFO, info & 0x80000fffu);   /* bits 30:12 reserved on entry */
}
