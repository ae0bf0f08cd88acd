/*
 * Segment descriptors of 64-bit PV guests: the checks and copies that need
 * no CPU (pv_desc.h). Rules as Xen 4.17's check_descriptor
 * (xen/arch/x86/pv/descriptor-tables.c) for a guest whose kernel runs in
 * ring 3 (GUEST_KERNEL_RPL 3).
 */
#include "pv_desc.h"

/* Xen's guest_gate_selector_okay: a call gate may only lead to the guest's
   own GDT entries, the flat kernel code segment, or the LDT. */
static bool gate_selector_ok(uint16_t sel)
{
    return (sel >> 3) < PV_GDT_FIRST_RESERVED || sel == PV_FLAT_KERNEL_CS || (sel & 4);
}

bool pv_desc_check(uint64_t *d)
{
    uint64_t x = *d;
    uint16_t cs;

    if (!(x & PV_DESC_P))
        return true;                    /* a not-present descriptor only faults */
    if (x & PV_DESC_S) {
        *d = x | PV_DESC_DPL;           /* DPL below the kernel's RPL 3: raised */
        return true;
    }
    switch ((x & PV_DESC_TYPE) >> PV_DESC_TYPE_SHIFT) {
    case 0:
        return true;                    /* upper half of a 16-byte entry */
    case PV_SYS_CALL_GATE:
        break;
    default:
        return false;                   /* TSS, LDT, interrupt and trap gates */
    }
    cs = (uint16_t)(x >> 16);
    if (!gate_selector_ok(cs) || (x & PV_DESC_GATE_RSVD))
        return false;
    /* DPL 0: a guest's far call through the gate faults (#GP with the gate
       in the error code) and can be emulated; its DPL, 3 after the fixup,
       is kept in the selector's RPL, as Xen does. */
    x &= ~(PV_DESC_DPL | (0xffffULL << 16));
    *d = x | ((uint64_t)(cs | 3) << 16);
    return true;
}

int pv_check_segdesc_page(struct pv_mm *mm, const uint64_t *descs)
{
    (void)mm;
    for (unsigned int i = 0; i < PV_GDT_ENTRIES_PER_FRAME; i++) {
        uint64_t d = descs[i];

        if (!pv_desc_check(&d))
            return -EINVAL;
    }
    return 0;
}

void pv_gdt_copy(uint64_t *cpu_gdt, const uint64_t *const *frames, unsigned int ents,
                 unsigned int old_ents)
{
    for (unsigned int i = 0; i < ents; i++) {
        uint64_t d = frames[i / PV_GDT_ENTRIES_PER_FRAME][i % PV_GDT_ENTRIES_PER_FRAME];

        if (pv_gdt_slot_reserved(i))
            continue;
        cpu_gdt[i] = pv_desc_check(&d) ? d : 0;
    }
    for (unsigned int i = ents; i < old_ents; i++)
        if (!pv_gdt_slot_reserved(i))
            cpu_gdt[i] = 0;
}

bool pv_desc_data_loadable(uint64_t d)
{
    uint64_t type = (d & PV_DESC_TYPE) >> PV_DESC_TYPE_SHIFT;

    if (!(d & PV_DESC_P) || !(d & PV_DESC_S))
        return false;
    if ((type & 0xa) == 0x8)
        return false;                   /* execute-only code */
    if ((type & 0xc) == 0xc)
        return true;                    /* conforming code: no privilege check */
    return (d & PV_DESC_DPL) == PV_DESC_DPL;
}

uint16_t pv_gs_user_sel(const uint64_t *gdt, unsigned int gdt_entries, uint16_t sel,
                        uint64_t *base)
{
    *base = 0;
    if (sel <= 3)
        return sel;                     /* null: the base becomes 0 */
    sel |= 3;
    /* No LDT is loaded for PV guests yet: an LDT selector would fault. */
    if ((sel & 4) || (sel >> 3) >= gdt_entries || !pv_desc_data_loadable(gdt[sel >> 3]))
        return 0;
    *base = pv_desc_base(gdt[sel >> 3]);
    return sel;
}

static bool gdt_desc(const uint64_t *gdt, unsigned int gdt_entries, uint16_t sel, uint64_t *d)
{
    if ((sel & 4) || (sel >> 3) == 0 || (sel >> 3) >= gdt_entries)
        return false;
    *d = gdt[sel >> 3];
    return (*d & PV_DESC_P) && (*d & PV_DESC_S);
}

bool pv_iret_sels_ok(const uint64_t *gdt, unsigned int gdt_entries, uint16_t cs, uint16_t ss)
{
    uint64_t c, s, ctype, stype;

    if (!gdt_desc(gdt, gdt_entries, cs | 3, &c) || !gdt_desc(gdt, gdt_entries, ss | 3, &s))
        return false;
    ctype = (c & PV_DESC_TYPE) >> PV_DESC_TYPE_SHIFT;
    stype = (s & PV_DESC_TYPE) >> PV_DESC_TYPE_SHIFT;
    if (!(ctype & 8) || (!(ctype & 4) && (c & PV_DESC_DPL) != PV_DESC_DPL))
        return false;                   /* not code, or non-conforming below DPL 3 */
    if ((c & PV_DESC_L) && (c & PV_DESC_DB))
        return false;
    return (stype & 0xa) == 0x2 && (s & PV_DESC_DPL) == PV_DESC_DPL;
}
