/*
 * Segment descriptors of 64-bit PV guests, the pure half (pv/pv_desc.c):
 * no CPU, no locks, no guest memory, so host unit tests link it as it is.
 * The hypercalls and the CPU's GDT around it live in pv/pv_descriptor.c.
 *
 * Descriptor bits are those of the 8-byte entry as a whole (SDM vol. 3A
 * 3.4.5, figure 3-8; call gates: 5.8.3.1, figure 5-9).
 */
#ifndef PV_DESC_H
#define PV_DESC_H

#include <proxenos/pv_mm.h>

#define PV_DESC_TYPE_SHIFT 40
#define PV_DESC_TYPE       (0xfULL << 40)
#define PV_DESC_S          (1ULL << 44)         /* code/data (1) or system (0) */
#define PV_DESC_DPL_SHIFT  45
#define PV_DESC_DPL        (3ULL << 45)
#define PV_DESC_P          (1ULL << 47)
#define PV_DESC_L          (1ULL << 53)         /* 64-bit code */
#define PV_DESC_DB         (1ULL << 54)
#define PV_DESC_GATE_RSVD  (0xffULL << 32)      /* a 64-bit call gate's bits 32-39 */
#define PV_SYS_CALL_GATE   0xcULL               /* 64-bit call gate (system type) */

#define PV_GDT_ENTRIES_PER_FRAME 512
#define PV_GDT_MAX_FRAMES  14                   /* Xen's FIRST_RESERVED_GDT_PAGE */
#define PV_GDT_FIRST_RESERVED (PV_GDT_MAX_FRAMES * PV_GDT_ENTRIES_PER_FRAME)
#define PV_FLAT_KERNEL_CS  0xe033               /* xen-x86_64.h FLAT_KERNEL_CS */

/*
 * Slots of the CPU's PV GDT that stay the hypervisor's whatever the guest
 * puts there: 0 (null), 1-3 (GDT_CS64, GDT_DS, GDT_CS32: an interrupt
 * taken in ring 3 loads the hypervisor's CS through the current GDT) and
 * 8-9 (the TSS, loaded in TR and marked busy). Linux's GDT has its own
 * kernel segments and TSS there, which a PV Linux never loads.
 */
#define PV_GDT_RESERVED_MASK 0x30fULL
static inline bool pv_gdt_slot_reserved(unsigned int i)
{
    return i < 64 && ((PV_GDT_RESERVED_MASK >> i) & 1);
}

/*
 * Xen 4.17's check_descriptor for a 64-bit PV guest (whose kernel runs
 * with RPL 3): true if *d may sit in a GDT/LDT page, with its fixups made:
 *  - not present: accepted as is (it can only fault);
 *  - code and data: accepted with DPL raised to 3, no base/limit checks;
 *  - present system type 0: accepted as is (the upper half of a 16-byte
 *    call gate or system descriptor);
 *  - a 64-bit call gate whose target selector is a guest GDT entry
 *    (index < 14 * 512), FLAT_KERNEL_CS or an LDT selector, with bits
 *    32-39 clear: accepted with DPL 0 (a use faults and can be emulated)
 *    and RPL 3 in its selector;
 *  - anything else (TSS, LDT, interrupt/trap gates, other types): refused.
 */
bool pv_desc_check(uint64_t *d);

/* ops->check_segdesc_page (pv_mm.h): all 512 descriptors of a frame pass
   pv_desc_check. 0 or -EINVAL. Checks only: set_gdt writes the fixups. */
int pv_check_segdesc_page(struct pv_mm *mm, const uint64_t *descs);

/*
 * Copies the guest GDT entries [0, ents) into the CPU's PV GDT; frames[f]
 * points at the guest's frame f (entries 512 f ...). Each entry goes
 * through pv_desc_check (a refused one, impossible in a validated frame,
 * is copied as 0). Entries [ents, old_ents) left by the previous guest GDT
 * are cleared. Reserved slots (pv_gdt_slot_reserved) are never written.
 */
void pv_gdt_copy(uint64_t *cpu_gdt, const uint64_t *const *frames, unsigned int ents,
                 unsigned int old_ents);

/* Whether MOV to DS/ES/FS/GS of a selector with RPL 3 naming descriptor d
   completes without an exception at CPL 0 or 3 (SDM vol. 3A 5.6, 5.7; the
   MOV instruction's protected-mode checks): present, code/data, data or
   readable code, DPL 3 unless conforming code. */
bool pv_desc_data_loadable(uint64_t d);
/* The 32-bit base of a code/data descriptor. */
static inline uint64_t pv_desc_base(uint64_t d)
{
    return ((d >> 16) & 0xffffffULL) | ((d >> 32) & 0xff000000ULL);
}

/*
 * SEGBASE_GS_USER_SEL's selector against the CPU's PV GDT as it is loaded
 * (gdt_entries entries, no LDT): the selector to load (RPL forced to 3) and
 * the base it gives, or the null selector with base 0 when a load would
 * fault (Xen loads a null selector then). Null selectors (0-3) give
 * themselves and base 0 (Xen zeroes the base on AMD too).
 */
uint16_t pv_gs_user_sel(const uint64_t *gdt, unsigned int gdt_entries, uint16_t sel,
                        uint64_t *base);

/*
 * Whether IRETQ to CPL 3 loads CS and SS (RPL forced to 3, as Xen's do_iret
 * does) from this GDT without a fault (SDM vol. 2A IRET, return to outer
 * privilege level; vol. 3A 5.8.1): CS a present code segment, DPL 3 unless
 * conforming, not L and D together; SS a present writable data segment of
 * DPL 3 (a null SS faults at CPL 3). No LDT: TI selectors fail.
 */
bool pv_iret_sels_ok(const uint64_t *gdt, unsigned int gdt_entries, uint16_t cs, uint16_t ss);
/* The same against the calling CPU's PV GDT (pv_descriptor.c), for
   HYPERVISOR_iret: false means the exit IRET would fault. */
bool pv_iret_selectors_ok(uint64_t cs, uint64_t ss);

/* The glue's seams to the CPU (pv_descriptor.c; host tests bring their
   own): the CPU running the caller; MOV of a checked selector to %gs (the
   hypervisor's GS base is kept); DS, ES, FS, GS as loaded now. */
unsigned int pv_desc_cpu(void);
void pv_desc_load_gs(uint16_t sel);
void pv_desc_read_sels(uint64_t sel[4]);

#endif
