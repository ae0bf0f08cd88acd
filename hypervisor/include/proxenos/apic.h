/*
 * Interrupt controllers (hypervisor/platform/lapic*.c, ioapic.c): the local
 * APIC of each CPU in xAPIC (MMIO) or x2APIC (MSR) mode, its timer, IPIs,
 * and the IOAPICs the MADT lists. SDM vol. 3A, chapter 10 ("Advanced
 * Programmable Interrupt Controller"); 82093AA IOAPIC datasheet.
 */
#ifndef PROXENOS_APIC_H
#define PROXENOS_APIC_H
#include <proxenos/types.h>

/*
 * Vectors the hypervisor owns. The high nibble is the priority class
 * (SDM 10.8.3.1): the timer, IPIs and errors sit above anything routed from
 * an IOAPIC, and the spurious vector has its low nibble all ones, which old
 * xAPICs require (SDM 10.9).
 */
#define IRQ_VECTOR_FIRST       0x30   /* 0x30-0xdf: free for device interrupts */
#define IRQ_VECTOR_LAST        0xdf
/* GSIs routed to the initial domain (common/pirq.c): GSI n arrives on
 * PIRQ_VECTOR_BASE + n, inside the device range and clear of the vectors
 * the boot self-tests borrow (IRQ_VECTOR_FIRST, +1). */
#define PIRQ_VECTOR_BASE       0x40
#define PIRQ_NR_VECTORS        (IRQ_VECTOR_LAST + 1 - PIRQ_VECTOR_BASE)
#define LAPIC_TIMER_VECTOR     0xf0
#define CALL_FUNCTION_VECTOR   0xf1
#define STOP_CPU_VECTOR        0xf2
#define FLUSH_TLB_VECTOR       0xf3
#define LAPIC_ERROR_VECTOR     0xfe
#define SPURIOUS_VECTOR        0xff

/* --- local APIC (lapic.c) --- */
void lapic_cpu_init(void);             /* this CPU's APIC: mode, SVR, LVTs, TPR */
bool lapic_x2apic_mode(void);
uint32_t lapic_id(void);               /* this CPU's APIC ID (32-bit in x2APIC mode) */
void lapic_eoi(void);
/* IPIs; each waits for the previous one to be accepted (xAPIC). */
void lapic_send_fixed(uint32_t apic_id, uint8_t vector);
void lapic_send_fixed_allbutself(uint8_t vector);
void lapic_send_nmi(uint32_t apic_id);
void lapic_send_init(uint32_t apic_id);
void lapic_send_sipi(uint32_t apic_id, uint8_t page);
/* Direct register access, by xAPIC MMIO offset (mapped to MSR 0x800 +
 * offset/16 in x2APIC mode, SDM 10.12.1.2). */
uint32_t lapic_read(unsigned int reg);
void lapic_write(unsigned int reg, uint32_t v);

/* --- local APIC timer (lapic_timer.c) --- */
void lapic_timer_init(void);           /* CPU 0: chooses the mode, calibrates */
void lapic_timer_cpu_init(void);       /* each CPU: LVT timer entry, masked */
/* Fires LAPIC_TIMER_VECTOR on this CPU at system time `deadline` (ns),
 * or as soon as possible when it has passed; 0 disarms. */
void lapic_timer_program(s_time_t deadline);
bool lapic_timer_tsc_deadline(void);
uint64_t lapic_timer_hz(void);         /* 0 in TSC-deadline mode */

/* --- IOAPIC and the legacy PIC (ioapic.c) --- */
void ioapic_init(void);                /* every pin of every IOAPIC masked */
/* Routes a GSI to `vector` on the CPU with APIC ID `dest` (physical mode,
 * fixed delivery), polarity and trigger from the MADT for ISA IRQs, level
 * low otherwise (PCI). Leaves it unmasked. Returns 0 or -ENOENT/-EINVAL.
 * For the hypervisor's own interrupts: the GSI is never given to a domain
 * afterwards (ioapic_gsi_hypervisor_owned). */
int ioapic_route(unsigned int gsi, uint8_t vector, uint32_t dest);
int ioapic_mask(unsigned int gsi);
/* Trigger mode and polarity of a redirection entry (82093AA 3.2.4). */
#define IOAPIC_MODE_LEVEL      (1u << 15)
#define IOAPIC_MODE_ACTIVE_LOW (1u << 13)
/* What ioapic_route() would program for `gsi`: IOAPIC_MODE_* from the MADT. */
uint32_t ioapic_gsi_mode(unsigned int gsi);
/* ioapic_route() with the trigger and polarity given (IOAPIC_MODE_*). */
int ioapic_route_mode(unsigned int gsi, uint8_t vector, uint32_t dest, uint32_t mode);
/* Sets or clears the mask bit of a routed GSI, keeping the rest of its entry. */
int ioapic_set_masked(unsigned int gsi, bool masked);
/* Has the hypervisor ever routed `gsi` to itself (ioapic_route)? */
bool ioapic_gsi_hypervisor_owned(unsigned int gsi);
/* One past the highest GSI of any IOAPIC (0 without IOAPICs). */
unsigned int ioapic_nr_gsis(void);
/* The GSI an ISA IRQ arrives at, after the MADT's overrides. */
unsigned int isa_irq_to_gsi(unsigned int irq);
void pic_disable(void);                /* remaps and masks both 8259s */

#endif
