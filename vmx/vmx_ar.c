/*
 * VMX access rights (SDM vol. 3C, 24.4.1, table 24-2) keep descriptor bits
 * 40-47 (type, S, DPL, P) in bits 0-7 and bits 52-55 (AVL, L, D/B, G) in
 * bits 12-15, with bits 8-11 reserved; bit 16 marks a segment "unusable"
 * (a null selector was loaded: SDM 24.4.1, "unusable"). The packed VMCB
 * form has the same bits 0-7 and bits 52-55 in bits 8-11 and no unusable
 * bit: a segment without P is the unusable one. Pure: built into
 * tests/unit/test_vmx_ar.c.
 */
#include <proxenos/types.h>
#include "vmcs.h"
#include "vmx_ar.h"

#define ATTR_P 0x80     /* SEG_ATTR_P of hvm.h */

uint32_t vmx_ar_from_attr(uint16_t attr)
{
    uint32_t ar = (attr & 0xff) | ((uint32_t)(attr & 0xf00) << 4);

    if (!(attr & ATTR_P))
        ar |= VMX_AR_UNUSABLE;
    return ar;
}

uint16_t vmx_attr_from_ar(uint32_t ar)
{
    uint16_t attr = (ar & 0xff) | ((ar >> 4) & 0xf00);

    if (ar & VMX_AR_UNUSABLE)
        attr &= ~ATTR_P;
    return attr;
}
