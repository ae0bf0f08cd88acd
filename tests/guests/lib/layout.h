/* Constants shared with head.asm (mirrors layout.inc: keep the two in step). */
#ifndef GUEST_LAYOUT_H
#define GUEST_LAYOUT_H

#define SEL_CODE64      0x08
#define SEL_DATA        0x10
#define SEL_CODE32      0x18
#define SEL_UDATA       0x20
#define SEL_UCODE64     0x28
#define SEL_TSS         0x30

#define PTE_P           0x001ULL
#define PTE_W           0x002ULL
#define PTE_U           0x004ULL
#define PTE_PS          0x080ULL
#define PTE_NX          (1ULL << 63)

#define SCRATCH_PDPT_SLOT 5
#define SCRATCH_BASE    (5ULL << 30)    /* linear address of scratch slot 0 */
#define UNMAPPED_BASE   (4ULL << 30)    /* PDPT[4]: never mapped */
#define USER_RETURN_VECTOR 0x81

#define HCALL_VMCALL    0
#define HCALL_VMMCALL   1
#define HCALL_PAGE      2

/* What the builder handed to guest_start32 (head.asm). */
struct entry_state {
    uint32_t ebx, cr0, cr4, eflags;
    uint32_t ds_probe, es_probe;        /* 0x5afe5afe if DS/ES bases are 0 */
};
#define ENTRY_PROBE_VALUE 0x5afe5afeU

#endif
