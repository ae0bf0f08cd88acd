/*
 * The emulated local APIC of HVM/PVH vCPUs (hypervisor/hvm/vlapic.c):
 * the register file in xAPIC (MMIO at 0xfee00000) and x2APIC (MSRs
 * 0x800-0x8ff) modes, and IA32_APIC_BASE mode switching (SDM vol. 3A,
 * 10.4.3 and 10.12); the timer in one-shot, periodic and TSC-deadline
 * modes (10.5.4) and a minimal IRR/ISR/PPR model for the interrupts it
 * raises (10.8), which hvm/intr.c injects. IPIs are not modelled yet: the
 * ICR holds what the guest writes.
 */
#ifndef PROXENOS_VLAPIC_H
#define PROXENOS_VLAPIC_H
#include <proxenos/types.h>

struct vcpu;

#define VLAPIC_DEFAULT_BASE 0xfee00000ull
#define APIC_BASE_BSP     (1ull << 8)
#define APIC_BASE_EXTD    (1ull << 10)   /* x2APIC mode */
#define APIC_BASE_ENABLE  (1ull << 11)

int vlapic_init(struct vcpu *v);
void vlapic_destroy(struct vcpu *v);
uint64_t vlapic_get_base(const struct vcpu *v);
/* Returns 0, or -1 when the write must raise #GP (reserved bits, a
   forbidden mode transition, a relocated base). */
int vlapic_set_base(struct vcpu *v, uint64_t val);
/* x2APIC MSRs: 0, or -1 for #GP (not in x2APIC mode, reserved register,
   write to a read-only register). IA32_TSC_DEADLINE comes here too, in
   either mode: it reads the armed deadline, and writes are ignored unless
   the LVT timer is in TSC-deadline mode (SDM 10.5.4.1). */
#define MSR_IA32_TSC_DEADLINE 0x6e0
int vlapic_msr_read(struct vcpu *v, uint32_t msr, uint64_t *val);
int vlapic_msr_write(struct vcpu *v, uint32_t msr, uint64_t val);

/* Interrupt delivery (hvm/intr.c): the highest vector pending in IRR that
   the processor priority (PPR) lets through, or -1. */
int vlapic_pending_vector(const struct vcpu *v);
/* That vector was injected: it moves from IRR to ISR until the guest's EOI. */
void vlapic_ack_vector(struct vcpu *v, uint8_t vec);
/* Makes a fixed, edge-triggered vector pending (16-255; others dropped). */
void vlapic_set_irq(struct vcpu *v, uint8_t vec);

#endif
