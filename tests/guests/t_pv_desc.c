/*
 * pv_desc: segment descriptors from a 64-bit PV kernel (Xen 4.17's
 * descriptor-tables.c and SEGBASE_GS_USER_SEL): set_gdt refuses a frame
 * mapped writable and one with a TSS, takes a read-only one and fixes its
 * kernel segments to DPL 3; its entries are then loadable from ring 3 (the
 * hypervisor's slots 1-3 are not); update_descriptor changes a live entry
 * and refuses system descriptors; GS_USER_SEL loads %gs (a bad selector
 * gives the null one); set_gdt(0) takes the GDT away.
 * Boot: dom0=pv with build/guests/pv_desc.elf.
 */
#include "pv_guest.h"

#define USER32_CS 0x00cffb000000ffffUL
#define USER_DS   0x00cff3000000ffffUL
#define USER_CS   0x00affb000000ffffUL
#define KERNEL_CS 0x00af9b000000ffffUL
#define CPUNODE   0x0040f50000000123UL     /* limit 0x123 */
#define TLS_DS    0x12cff3345678ffffUL     /* base 0x12345678 */
#define TSS       0x0000890000000067UL

static long set_gdt(uint64_t *frames, uint64_t entries)
{
    return pv_hcall(__HYPERVISOR_set_gdt, (uint64_t)frames, entries, 0, 0, 0);
}

static long update_desc(uint64_t ma, uint64_t d)
{
    return pv_hcall(__HYPERVISOR_update_descriptor, ma, d, 0, 0, 0);
}

static long protect(uint64_t va, bool writable)
{
    uint64_t pte = pv_read_pte(pv_l1e_maddr(va));

    pte = writable ? pte | PV_PTE_RW : pte & ~PV_PTE_RW;
    return pv_hcall(__HYPERVISOR_update_va_mapping, va, pte, UVMF_INVLPG | UVMF_LOCAL, 0, 0);
}

static uint16_t get_gs(void)
{
    uint16_t s;

    __asm__ volatile("mov %%gs, %0" : "=r"(s));
    return s;
}

/* Loads sel into %es from ring 3: 0 if it faulted (the trap handler
   resumes after the load with pv_trap_resume). */
static uint16_t try_es(uint16_t sel)
{
    uint16_t got = 0;
    uint64_t before = pv_trap_rec.count;

    __asm__ volatile("lea 1f(%%rip), %%rax\n\t"
                     "mov %%rax, pv_trap_resume(%%rip)\n\t"
                     "mov %1, %%es\n\t"
                     "movq $0, pv_trap_resume(%%rip)\n\t"
                     "1: mov %%es, %0"
                     : "=r"(got) : "r"(sel) : "rax", "memory");
    if (pv_trap_rec.count != before)
        return 0xffff;
    return got;
}

PV_TEST_MAIN(desc)
{
    uint64_t va = pv_scratch_va(PV_SCRATCH_FREE);
    uint64_t *g = (uint64_t *)va;
    uint64_t frame[1] = { pv_va_to_mfn(va) };
    uint64_t ma = frame[0] << 12;
    uint32_t lim = 0;

    pv_check_eq("trap handlers", pv_trap_install(), 0);
    for (unsigned int i = 0; i < 512; i++)
        g[i] = 0;
    g[2] = KERNEL_CS;
    g[4] = USER32_CS;
    g[5] = USER_DS;
    g[6] = USER_CS;
    g[12] = TLS_DS;
    g[15] = CPUNODE;
    pv_check_eq("set_gdt of a writable frame", set_gdt(frame, 16), -XEN_EINVAL);
    pv_check_eq("made read-only", protect(va, false), 0);
    g = (uint64_t *)va;
    pv_check_eq("set_gdt > 14 pages", set_gdt(frame, 14 * 512 + 1), -XEN_EINVAL);
    pv_check_eq("set_gdt", set_gdt(frame, 16), 0);
    pv_check(g[2] == (KERNEL_CS | (3UL << 45)), "kernel CS fixed to DPL 3 in the frame", (long)g[2], 0);
    pv_check_eq("load USER_DS (0x2b)", try_es(0x2b), 0x2b);
    pv_check_eq("load TLS (0x63)", try_es(0x63), 0x63);
    pv_check_eq("load slot 3 (the hypervisor's): faults", try_es(0x1b), 0xffff);
    pv_check_eq("load slot 13 (empty): faults", try_es(0x6b), 0xffff);
    __asm__ volatile("lsl %1, %0" : "=r"(lim) : "r"(0x7bu));
    pv_check_eq("LSL of CPUNODE (0x7b)", lim, 0x123);
    pv_check_eq("update_descriptor of slot 13", update_desc(ma + 13 * 8, USER_DS), 0);
    pv_check(g[13] == USER_DS, "slot 13 written", (long)g[13], 0);
    pv_check_eq("load slot 13 now", try_es(0x6b), 0x6b);
    pv_check_eq("update_descriptor with a TSS", update_desc(ma + 14 * 8, TSS), -XEN_EINVAL);
    pv_check_eq("update_descriptor misaligned", update_desc(ma + 12, USER_DS), -XEN_EINVAL);
    pv_check_eq("GS_USER_SEL 0x63", pv_hcall(__HYPERVISOR_set_segment_base,
                                               SEGBASE_GS_USER_SEL, 0x63, 0, 0, 0), 0);
    pv_check_eq("%gs after GS_USER_SEL 0x63", get_gs(), 0x63);
    pv_check_eq("GS_USER_SEL 0x1b (would fault)", pv_hcall(__HYPERVISOR_set_segment_base,
                                                             SEGBASE_GS_USER_SEL, 0x1b, 0, 0, 0), 0);
    pv_check_eq("%gs after a bad selector", get_gs(), 0);
    pv_check_eq("GS_USER_SEL 0x2b", pv_hcall(__HYPERVISOR_set_segment_base,
                                               SEGBASE_GS_USER_SEL, 0x2b, 0, 0, 0), 0);
    pv_check_eq("GS_USER_SEL 0", pv_hcall(__HYPERVISOR_set_segment_base,
                                            SEGBASE_GS_USER_SEL, 0, 0, 0, 0), 0);
    pv_check_eq("%gs null", get_gs(), 0);
    __asm__ volatile("mov %0, %%es" :: "r"(0) : "memory");
    pv_check_eq("set_gdt(0)", set_gdt(frame, 0), 0);
    pv_check_eq("USER_DS gone", try_es(0x2b), 0xffff);
    pv_check_eq("frame writable again", protect(va, true), 0);
}
