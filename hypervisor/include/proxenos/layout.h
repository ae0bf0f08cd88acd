/*
 * The hypervisor's virtual address layout. It lives entirely inside the
 * 64-bit PV guest ABI's hypervisor hole, L4 slots 256-271
 * (0xffff800000000000-0xffff87ffffffffff, xen/include/public/arch-x86/xen-x86_64.h),
 * so a PV guest can own every other slot of its page tables.
 *
 *   0xffff800000000000  slot 256      read-only M2P for PV guests (later)
 *   0xffff82d040000000  slot 261      hypervisor image: virt = phys + HV_VIRT_OFFSET
 *   0xffff82e000000000  slot 261      stacks with unmapped guard pages (STACK_VIRT_BASE)
 *   0xffff830000000000  slots 262-271 direct map of all RAM (DIRECTMAP_BASE)
 */
#ifndef PROXENOS_LAYOUT_H
#define PROXENOS_LAYOUT_H

#define HV_LOAD_PHYS     0x200000            /* 2 MiB: where loaders place the image */
#define HV_VIRT_OFFSET   0xffff82d040000000  /* image virtual = physical + this */
#define STACK_VIRT_BASE  0xffff82e000000000
#define DIRECTMAP_BASE   0xffff830000000000
#define DIRECTMAP_END    0xffff880000000000
#define HV_L4_FIRST      256
#define HV_L4_LAST       271

/* Per-CPU stacks: STACK_PAGES usable pages under one unmapped guard page. */
#define STACK_ORDER      3
#define STACK_PAGES      (1 << STACK_ORDER)
#define STACK_SLOT_SIZE  ((STACK_PAGES + 1) * 4096)

#ifndef __ASSEMBLER__
#include <proxenos/types.h>

/* RAM is reachable through the direct map once boot has built it (the first
 * 4 GiB from the first instruction of long mode). */
static inline void *__va(paddr_t pa) { return (void *)(uintptr_t)(pa + DIRECTMAP_BASE); }
static inline paddr_t __pa(const void *va)
{
    uintptr_t v = (uintptr_t)va;
    return v >= DIRECTMAP_BASE ? v - DIRECTMAP_BASE : v - HV_VIRT_OFFSET;
}

extern char __image_phys_start[], __text_start[], __text_end[], __rodata_end[];
extern char __bss_start[], __bss_end[], _end[];
#endif

#endif
