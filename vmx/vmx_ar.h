/*
 * Segment attributes between the packed VMCB form that struct
 * segment_register uses (hvm.h; APM vol. 2, 15.5.1) and VMX access rights
 * (SDM vol. 3C, 24.4.1 table 24-2). Pure (vmx_ar.c), tested on the host.
 */
#ifndef PROXENOS_VMX_AR_H
#define PROXENOS_VMX_AR_H
#include <proxenos/types.h>

uint32_t vmx_ar_from_attr(uint16_t attr);
uint16_t vmx_attr_from_ar(uint32_t ar);

#endif
