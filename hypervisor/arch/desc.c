/*
 * Per-CPU descriptor tables: GDT with the TSS, the shared IDT, GS base.
 * SDM vol. 3A, 3.4.5 (segment descriptors), 7.2.3 (64-bit TSS descriptor).
 */
#include <proxenos/cpu.h>
#include <proxenos/io.h>
#include <proxenos/lib.h>

struct desc_ptr {
    uint16_t limit;
    uint64_t base;
} __packed;

extern struct desc_ptr idt_descr;

static void gdt_build(struct percpu *pc)
{
    uint64_t tss = (uint64_t)&pc->tss;
    uint64_t limit = sizeof(pc->tss) - 1;

    memset(pc->gdt, 0, sizeof(pc->gdt));
    pc->gdt[GDT_CS64 / 8] = 0x00209a0000000000ull;  /* L=1, P, DPL 0, code */
    pc->gdt[GDT_DS / 8]   = 0x00cf92000000ffffull;  /* flat data */
    pc->gdt[GDT_CS32 / 8] = 0x00cf9a000000ffffull;  /* flat 32-bit code */
    /* Available 64-bit TSS (type 9), 16 bytes. */
    pc->gdt[GDT_TSS / 8] = (limit & 0xffff) | ((tss & 0xffffff) << 16) |
                           (0x89ull << 40) | ((limit >> 16) << 48) |
                           (((tss >> 24) & 0xff) << 56);
    pc->gdt[GDT_TSS / 8 + 1] = tss >> 32;
}

void cpu_desc_init(struct percpu *pc)
{
    struct desc_ptr gdtr = { sizeof(pc->gdt) - 1, (uint64_t)pc->gdt };

    memset(&pc->tss, 0, sizeof(pc->tss));
    pc->tss.rsp[0] = pc->stack_top;
    for (int i = 0; i < NR_IST; i++)
        pc->tss.ist[i] = pc->ist_top[i];
    pc->tss.iomap_base = sizeof(pc->tss);          /* no I/O bitmap */
    gdt_build(pc);

    __asm__ volatile("lgdt %0" :: "m"(gdtr));
    /* Reload CS with a far return, then the data segments. */
    __asm__ volatile(
        "pushq %[cs]\n\t"
        "leaq 1f(%%rip), %%rax\n\t"
        "pushq %%rax\n\t"
        "lretq\n"
        "1:\n\t"
        "movl %[ds], %%eax\n\t"
        "movl %%eax, %%ds\n\t"
        "movl %%eax, %%es\n\t"
        "movl %%eax, %%ss\n\t"
        "xorl %%eax, %%eax\n\t"
        "movl %%eax, %%fs\n\t"
        "movl %%eax, %%gs\n\t"
        :: [cs] "i"(GDT_CS64), [ds] "i"(GDT_DS) : "rax", "memory");
    __asm__ volatile("ltr %w0" :: "r"(GDT_TSS));
    __asm__ volatile("lidt %0" :: "m"(idt_descr));
    wrmsr(MSR_GS_BASE, (uint64_t)pc);
    wrmsr(MSR_KERNEL_GS_BASE, 0);
}
