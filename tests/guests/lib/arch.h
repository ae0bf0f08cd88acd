/* x86-64 helpers for the test guests: CPUID, MSRs, ports, control registers. */
#ifndef GUEST_ARCH_H
#define GUEST_ARCH_H

#include <stdint.h>
#include <stdbool.h>

/* The frame built by trap_common (head.asm), lowest address first. */
struct cpu_regs {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
    uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector, error_code;
    uint64_t rip, cs, rflags, rsp, ss;      /* pushed by the CPU */
};

#define X86_EFLAGS_TF   (1ULL << 8)
#define X86_EFLAGS_IF   (1ULL << 9)
#define X86_EFLAGS_VM   (1ULL << 17)

#define X86_CR0_PE      (1ULL << 0)
#define X86_CR0_ET      (1ULL << 4)
#define X86_CR0_TS      (1ULL << 3)
#define X86_CR0_PG      (1ULL << 31)

#define MSR_APIC_BASE   0x0000001b
#define MSR_EFER        0xc0000080
#define MSR_FS_BASE     0xc0000100
#define MSR_GS_BASE     0xc0000101
#define EFER_SCE        (1ULL << 0)
#define EFER_LME        (1ULL << 8)
#define EFER_LMA        (1ULL << 10)
#define EFER_NXE        (1ULL << 11)
#define EFER_SVME       (1ULL << 12)

/* Exception vectors (SDM vol. 3 table 6-1). */
enum {
    X86_EXC_DE = 0, X86_EXC_DB = 1, X86_EXC_NMI = 2, X86_EXC_BP = 3,
    X86_EXC_OF = 4, X86_EXC_BR = 5, X86_EXC_UD = 6, X86_EXC_NM = 7,
    X86_EXC_DF = 8, X86_EXC_TS = 10, X86_EXC_NP = 11, X86_EXC_SS = 12,
    X86_EXC_GP = 13, X86_EXC_PF = 14, X86_EXC_MF = 16, X86_EXC_AC = 17,
    X86_EXC_MC = 18, X86_EXC_XM = 19, X86_EXC_VE = 20, X86_EXC_CP = 21,
};
#define PFEC_PRESENT    (1U << 0)
#define PFEC_WRITE      (1U << 1)
#define PFEC_USER       (1U << 2)
#define PFEC_RSVD       (1U << 3)
#define PFEC_INSN       (1U << 4)

struct cpuid_res { uint32_t a, b, c, d; };

static inline struct cpuid_res cpuid_count(uint32_t leaf, uint32_t sub)
{
    struct cpuid_res r;
    asm volatile ("cpuid" : "=a" (r.a), "=b" (r.b), "=c" (r.c), "=d" (r.d)
                  : "a" (leaf), "c" (sub));
    return r;
}
static inline struct cpuid_res cpuid(uint32_t leaf) { return cpuid_count(leaf, 0); }

static inline uint64_t rdmsr(uint32_t msr)
{
    uint32_t lo, hi;
    asm volatile ("rdmsr" : "=a" (lo), "=d" (hi) : "c" (msr));
    return ((uint64_t)hi << 32) | lo;
}
static inline void wrmsr(uint32_t msr, uint64_t val)
{
    asm volatile ("wrmsr" :: "c" (msr), "a" ((uint32_t)val), "d" ((uint32_t)(val >> 32))
                  : "memory");
}

static inline void outb(uint16_t port, uint8_t v) { asm volatile ("outb %0, %1" :: "a" (v), "Nd" (port)); }
static inline void outw(uint16_t port, uint16_t v) { asm volatile ("outw %0, %1" :: "a" (v), "Nd" (port)); }
static inline void outl(uint16_t port, uint32_t v) { asm volatile ("outl %0, %1" :: "a" (v), "Nd" (port)); }
static inline uint8_t inb(uint16_t port) { uint8_t v; asm volatile ("inb %1, %0" : "=a" (v) : "Nd" (port)); return v; }
static inline uint16_t inw(uint16_t port) { uint16_t v; asm volatile ("inw %1, %0" : "=a" (v) : "Nd" (port)); return v; }
static inline uint32_t inl(uint16_t port) { uint32_t v; asm volatile ("inl %1, %0" : "=a" (v) : "Nd" (port)); return v; }

#define DEFINE_READ_CR(n) \
    static inline uint64_t read_cr##n(void) \
    { uint64_t v; asm volatile ("mov %%cr" #n ", %0" : "=r" (v)); return v; }
DEFINE_READ_CR(0)
DEFINE_READ_CR(2)
DEFINE_READ_CR(3)
DEFINE_READ_CR(4)
#undef DEFINE_READ_CR
static inline void write_cr0(uint64_t v) { asm volatile ("mov %0, %%cr0" :: "r" (v) : "memory"); }
static inline void write_cr3(uint64_t v) { asm volatile ("mov %0, %%cr3" :: "r" (v) : "memory"); }

static inline uint64_t read_rflags(void)
{
    uint64_t f;
    asm volatile ("pushfq; popq %0" : "=r" (f));
    return f;
}
static inline void invlpg(const volatile void *va)
{
    asm volatile ("invlpg (%0)" :: "r" (va) : "memory");
}
static inline void cpu_relax(void) { asm volatile ("pause" ::: "memory"); }
static inline void barrier(void) { asm volatile ("" ::: "memory"); }

#endif
