/*
 * pv_emul: the guest kernel's faulting instructions the hypervisor
 * completes (pv/pv_emulate.c, Xen 4.17's emul-priv-op.c / emul-inv-op.c),
 * end to end from ring 3: the forced-emulation CPUID and the PV CPUID
 * policy, MSR reads and refused writes, port I/O with and without virtual
 * IOPL (PHYSDEVOP_set_iopl), the RTC index, the emulated PIT channel 2,
 * PCI configuration ports, control registers, and the #GP/#PF/#DB the
 * guest gets when an instruction is refused, faults, or is single-stepped.
 * Boot: dom0=pv with build/guests/pv_emul.elf.
 */
#include "pv_guest.h"
#include <xen/physdev.h>

extern char gp_handler[];
volatile uint64_t gp_count, gp_skip, pf_count, db_count, db_rip;
extern char pf_handler[], db_handler[], after_out[];
__asm__(".text\n.globl pf_handler\npf_handler:\n"
        "  pop %rcx\n  pop %r11\n  add $8, %rsp\n"
        "  addq $2, 0(%rsp)\n  lock incq pf_count(%rip)\n"
        "  push $0\n  jmp hypercall_page + 23*32\n"
        ".globl db_handler\ndb_handler:\n"
        "  pop %rcx\n  pop %r11\n"
        "  push %rax\n  mov 8(%rsp), %rax\n  mov %rax, db_rip(%rip)\n  pop %rax\n"
        "  andq $~0x100, 16(%rsp)\n  lock incq db_count(%rip)\n"
        "  push $0\n  jmp hypercall_page + 23*32\n");

__asm__(".text\n.globl gp_handler\ngp_handler:\n"
        "  pop %rcx\n  pop %r11\n  add $8, %rsp\n"          /* error code */
        "  push %rax\n  mov gp_skip(%rip), %rax\n  add %rax, 8(%rsp)\n  pop %rax\n"
        "  lock incq gp_count(%rip)\n"
        "  push $0\n  jmp hypercall_page + 23*32\n");

static void cpuid_f(uint32_t leaf, uint32_t sub, uint32_t *r)
{
    __asm__ volatile("ud2a; .ascii \"xen\"; cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3])
                     : "0"(leaf), "2"(sub));
}
static uint64_t rdmsr_(uint32_t m)
{
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(m));
    return ((uint64_t)hi << 32) | lo;
}
static uint8_t inb_(uint16_t p) { uint8_t v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(p)); return v; }
static void outb_(uint16_t p, uint8_t v) { __asm__ volatile("outb %0, %1" :: "a"(v), "Nd"(p)); }

PV_TEST_MAIN(emul)
{
    struct trap_info traps[4] = {
        { .vector = 13, .flags = 0, .cs = FLAT_KERNEL_CS, .address = (unsigned long)gp_handler },
        { .vector = 14, .flags = 0, .cs = FLAT_KERNEL_CS, .address = (unsigned long)pf_handler },
        { .vector = 1, .flags = 0, .cs = FLAT_KERNEL_CS, .address = (unsigned long)db_handler },
        { 0 } };
    uint32_t r[4];
    uint64_t v, c0, c3, c4;
    static uint64_t fs_word = 0x1122334455667788UL;

    pv_check(pv_hcall(__HYPERVISOR_set_trap_table, (uint64_t)traps, 0, 0, 0, 0) == 0, "traps", 0, 0);
    cpuid_f(0x40000000, 0, r);
    pv_check(r[0] == 0x40000005 && r[1] == 0x566e6558, "forced cpuid Xen leaf", r[0], 0x40000005);
    cpuid_f(1, 0, r);
    pv_check((r[2] >> 31) & 1, "hypervisor bit", r[2], 0);
    pv_check(!(r[2] & (1u << 26)), "no XSAVE", r[2], 0);
    cpuid_f(0x40000002, 0, r);
    pv_check(r[0] == 1 && r[1] == 0x40000000 && r[2] == 1, "leaf 2", r[2], 1);
    v = rdmsr_(0xc0000080);
    pv_check((v & 0x500) == 0x500 && !(v & 0x1000), "EFER", (long)v, 0xd01);
    v = rdmsr_(0x1b);
    pv_check(v == 0xfee00900, "APIC_BASE", (long)v, 0xfee00900);
    gp_skip = 2;
    v = rdmsr_(0x12345);
    pv_check(gp_count == 1, "unknown MSR #GP bounced", (long)gp_count, 1);
    __asm__ volatile("wrmsr" :: "c"(0xc0000100), "a"((uint32_t)(uint64_t)&fs_word),
                     "d"((uint32_t)((uint64_t)&fs_word >> 32)));
    __asm__ volatile("movq %%fs:0, %0" : "=r"(v));
    pv_check(v == fs_word, "wrmsr FS_BASE", (long)v, (long)fs_word);
    pv_check(rdmsr_(0xc0000100) == (uint64_t)&fs_word, "rdmsr FS_BASE", 0, 0);
    __asm__ volatile("wrmsr" :: "c"(0xc0000100), "a"(0), "d"(0));
    /* Ports: no IOPL yet. */
    gp_skip = 2;
    outb_(0x80, 1);
    pv_check(gp_count == 2, "out without IOPL: #GP", (long)gp_count, 2);
    struct physdev_set_iopl io = { .iopl = 4 };
    pv_check(pv_hcall(__HYPERVISOR_physdev_op, PHYSDEVOP_set_iopl, (uint64_t)&io, 0, 0, 0) == -22,
             "iopl 4 refused", 0, 0);
    io.iopl = 1;
    pv_check(pv_hcall(__HYPERVISOR_physdev_op, PHYSDEVOP_set_iopl, (uint64_t)&io, 0, 0, 0) == 0,
             "iopl 1", 0, 0);
    outb_(0x80, 1);
    pv_check(gp_count == 2, "out 0x80 with IOPL 1", (long)gp_count, 2);
    pv_check(inb_(0x3fd) == 0xff, "COM1 LSR hidden", inb_(0x3fd), 0xff);
    pv_check(inb_(0x40) == 0xff, "PIT hidden", inb_(0x40), 0xff);
    { uint8_t lo1, hi1, lo2, hi2;
      outb_(0x61, (inb_(0x61) & ~2) | 1);          /* gate channel 2 on */
      outb_(0x43, 0xb0);                          /* ch2, lo/hi, mode 0 */
      outb_(0x42, 0xff); outb_(0x42, 0xff);
      outb_(0x43, 0x80);                          /* latch ch2 */
      lo1 = inb_(0x42); hi1 = inb_(0x42);
      for (volatile int k = 0; k < 100000; k++) ;
      outb_(0x43, 0x80);
      lo2 = inb_(0x42); hi2 = inb_(0x42);
      pv_check((hi2 << 8 | lo2) < (hi1 << 8 | lo1), "PIT channel 2 counts down (emulated)",
               hi2 << 8 | lo2, hi1 << 8 | lo1);
      pv_check((inb_(0x61) & 1) == 1, "port 0x61 gate reads back", inb_(0x61), 1); }
    outb_(0x70, 0x0e);
    pv_check(inb_(0x70) == 0x0e, "RTC index kept", inb_(0x70), 0x0e);
    outb_(0x70, 0x32);                                  /* century */
    v = inb_(0x71);
    pv_check(v == 0x20, "RTC century through the emulation", (long)v, 0x20);
    { uint32_t cfg; __asm__ volatile("outl %0, %w1" :: "a"(0x80000000u), "Nd"(0xcf8));
      __asm__ volatile("inl %w1, %0" : "=a"(cfg) : "Nd"(0xcfc));
      pv_check(cfg != 0xffffffffu && cfg != 0, "PCI 0:0.0 ID", cfg, 0); }
    __asm__ volatile("cli; sti");
    pv_check(gp_count == 2, "cli/sti with IOPL", (long)gp_count, 2);
    /* Control registers. */
    __asm__ volatile("mov %%cr0, %0" : "=r"(c0));
    __asm__ volatile("mov %%cr3, %0" : "=r"(c3));
    __asm__ volatile("mov %%cr4, %0" : "=r"(c4));
    pv_check((c0 & 0x80000001) == 0x80000001, "CR0 PG PE", (long)c0, 0);
    pv_check(c3 == pv_va_to_mfn(pv_si->pt_base) << 12, "CR3 = kernel L4", (long)c3, 0);
    pv_check((c4 & 0x20) && !(c4 & 0x80), "CR4: PAE, no PGE", (long)c4, 0x620);
    __asm__ volatile("mov %0, %%cr4" :: "r"(c4 | 0x4 | 0x80));
    __asm__ volatile("mov %%cr4, %0" : "=r"(v));
    pv_check(v == (c4 | 0x4), "CR4 TSD kept, PGE dropped", (long)v, (long)(c4 | 4));
    __asm__ volatile("mov %0, %%cr4" :: "r"(c4));
    __asm__ volatile("mov %0, %%cr0" :: "r"(c0 | 8));
    __asm__ volatile("mov %%cr0, %0" : "=r"(v));
    pv_check(v & 8, "CR0.TS set", (long)v, 0);
    __asm__ volatile("clts");
    __asm__ volatile("mov %%cr0, %0" : "=r"(v));
    pv_check(!(v & 8), "CLTS", (long)v, 0);
    gp_skip = 3;
    __asm__ volatile("mov %0, %%cr0" :: "a"(c0 & ~0x10000ULL));  /* WP off: refused */
    pv_check(gp_count == 3, "CR0.WP change #GP", (long)gp_count, 3);
    __asm__ volatile("wbinvd");
    gp_skip = 1;
    __asm__ volatile("hlt");
    pv_check(gp_count == 4, "hlt #GP", (long)gp_count, 4);
    { char buf[4] = { 0 };
      char *p = buf; uint64_t n = 3; __asm__ volatile("rep insb" : "+D"(p), "+c"(n) : "d"(0x40) : "memory");
      pv_check((uint8_t)buf[0] == 0xff && (uint8_t)buf[2] == 0xff && buf[3] == 0, "rep insb", buf[0], -1); }
    { uint8_t b2[8] = { 0 }; uint8_t *p = b2 + 5; uint64_t n = 2;
      __asm__ volatile("std; rep insb; cld" : "+D"(p), "+c"(n) : "d"(0x40) : "memory");
      pv_check(b2[5] == 0xff && b2[4] == 0xff && b2[3] == 0 && b2[6] == 0 && p == b2 + 3 && n == 0,
               "std; rep insb goes down", (long)(p - b2), 3); }
    { static const uint8_t src[4] = { 1, 2, 3, 4 }; const uint8_t *p = src; uint64_t n = 4;
      __asm__ volatile("rep outsb" : "+S"(p), "+c"(n) : "d"(0x80) : "memory");
      pv_check(p == src + 4 && n == 0, "rep outsb to 0x80", (long)(p - src), 4); }
    { const uint8_t *p = (const uint8_t *)0x1000; uint64_t n = 4;
      __asm__ volatile("rep outsb" : "+S"(p), "+c"(n) : "d"(0x80) : "memory");
      pv_check(pf_count == 1 && n == 4, "rep outsb from unmapped memory: #PF", (long)pf_count, 1); }
    __asm__ volatile("pushfq; orq $0x100, (%%rsp); popfq; outb %%al, $0x80\n.globl after_out\nafter_out: nop"
                     ::: "memory", "cc");
    pv_check(db_count == 1 && db_rip == (uint64_t)after_out, "TF: #DB after the emulated out",
             (long)db_count, 1);
}
