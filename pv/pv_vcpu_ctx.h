/*
 * VCPUOP_initialise for 64-bit PV guests: the checks Xen 4.17's
 * arch_set_info_guest (xen/arch/x86/domain.c) makes of a struct
 * vcpu_guest_context (xen/include/public/arch-x86/xen.h) before it takes
 * any of it. Pure (no hypervisor state), host unit-tested
 * (tests/unit/test_pv_vcpu_ctx.c); pv/pv_vcpu.c applies what passes.
 */
#ifndef PV_VCPU_CTX_H
#define PV_VCPU_CTX_H

#include <proxenos/pv_mm.h>
#include <xen/xen.h>

#define PV_CTX_LDT_MAX_ENTS   8192          /* 64 KiB of descriptors (Xen's limit) */
#define PV_CTX_GDT_MAX_ENTS   (14 * 512)    /* Xen's FIRST_RESERVED_GDT_ENTRY */
#define PV_CTX_DR7_ZEROS      0xffffffff0000d800ULL  /* must-be-0 bits (set_debugreg's) */

/*
 * 0 if c may start a vCPU, else -EINVAL with a static reason in *why:
 *  - RIP, RSP, kernel_sp, the FS and both GS bases, the event, failsafe
 *    and syscall callbacks, every trap handler and DR0-DR3: pv_addr_ok
 *    (Xen's is_canonical_address checks; 0 passes where Xen allows "none");
 *  - ldt_base page-aligned and ldt_ents <= 8192, the LDT inside guest space;
 *  - gdt_ents <= 14 * 512 (the hypervisor's reserved GDT pages follow);
 *  - ctrlreg[3] (the kernel L4) a frame number in xen_pfn_to_cr3 form: not
 *    0, no low 12 bits set; ctrlreg[1] (the user L4) the same or 0;
 *    a vCPU started in user mode (no VGCF_in_kernel) needs the user L4;
 *  - DR7 without reserved bits.
 */
int pv_vcpu_ctx_check(const struct vcpu_guest_context *c, const char **why);

/* The RFLAGS the vCPU starts with: the arithmetic flags, TF, DF and OF the
   guest may set, IF always on (the event mask stands for it), bit 1. */
uint64_t pv_ctx_rflags(uint64_t rflags);
/* The virtual IOPL (0-3) Xen takes from user_regs.rflags (arch.pv.iopl). */
unsigned int pv_ctx_iopl(uint64_t rflags);

#endif
