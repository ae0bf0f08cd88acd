/*
 * Per-CPU state and the register frame that every trap and interrupt entry
 * (hypervisor/arch/entry.asm) builds on the stack.
 */
#ifndef PROXENOS_CPU_H
#define PROXENOS_CPU_H
#include <proxenos/types.h>
#include <proxenos/layout.h>

#define MAX_CPUS 64

/* Pushed by entry.asm: general registers, then vector/error code, then the
 * hardware interrupt frame (SDM vol. 3A, 6.14.2). Offsets are used from asm. */
struct cpu_regs {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
    uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector, error_code;
    uint64_t rip, cs, rflags, rsp, ss;
};

struct tss64 {
    uint32_t rsvd0;
    uint64_t rsp[3];
    uint64_t rsvd1;
    uint64_t ist[7];
    uint64_t rsvd2;
    uint16_t rsvd3;
    uint16_t iomap_base;
} __packed;

/* IST slots (1-based in the IDT gate): traps that may arrive on a bad stack. */
#define IST_DF  1
#define IST_NMI 2
#define IST_MC  3
#define NR_IST  3

/* Hypervisor GDT selectors (hypervisor/arch/desc.c). */
#define GDT_CS64   0x08
#define GDT_DS     0x10
#define GDT_CS32   0x18
#define GDT_TSS    0x40    /* 16-byte system descriptor: two slots */
#define GDT_ENTRIES 16

struct percpu {
    struct percpu *self;          /* %gs:0, so this_cpu() is one load */
    unsigned int cpu_id;          /* set once at bring-up; dense 0..nr_cpus-1 */
    uint32_t apic_id;             /* from the MADT, set once */
    uintptr_t stack_top;          /* top of the main stack; set once */
    uintptr_t stack_bottom;       /* lowest usable byte; the guard page is below */
    uintptr_t ist_top[NR_IST];
    volatile bool online;         /* written by the CPU itself, read by others */
    volatile bool stopped;        /* set by the CPU when it parks after a panic */
    uint64_t gdt[GDT_ENTRIES] __aligned(16);
    struct tss64 tss __aligned(16);
    /* Timer and scheduler state: owned by hypervisor/platform and later the
     * scheduler; only this CPU touches it with interrupts disabled. */
    void *timer_state;
    uint64_t ticks;
    /* PV guests (pv/pv_entry.asm): the guest RSP across the SYSCALL entry's
       stack switch. Its offset is fixed in the asm (checked in pv_run.c). */
    uint64_t pv_scratch;
};

extern struct percpu *percpu_table[MAX_CPUS];
extern unsigned int nr_cpus_online;

#ifndef HOST_TEST
static inline struct percpu *this_cpu(void)
{
    struct percpu *p;
    __asm__ volatile("movq %%gs:0, %0" : "=r"(p));
    return p;
}
static inline unsigned int smp_processor_id(void) { return this_cpu()->cpu_id; }
#endif

/* hypervisor/arch/desc.c: loads GDT, TSS, IDT and GS base for this CPU. */
void cpu_desc_init(struct percpu *pc);
/* hypervisor/arch/traps.c */
void traps_init(void);
void show_registers(const struct cpu_regs *r);
void show_stack_trace(uint64_t rbp, uint64_t rip);
void show_stack_words(uint64_t rsp);
typedef void (*irq_handler_t)(struct cpu_regs *regs);
/* Installs a handler for an interrupt vector (32-255). */
void irq_set_handler(unsigned int vector, irq_handler_t fn);
/* Looks up the function containing addr in the embedded symbol table. */
const char *symbol_lookup(uint64_t addr, uint64_t *offset);

/* Stops every other CPU (NMI IPI once SMP exists); weak default does nothing. */
void smp_stop_other_cpus(void);
__noreturn void cpu_halt_forever(void);

#endif
