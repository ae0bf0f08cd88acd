/*
 * The checks of VCPUOP_initialise's vcpu_guest_context for a 64-bit PV
 * vCPU (pv_vcpu_ctx.h), after Xen 4.17's arch_set_info_guest. Pure.
 */
#include "pv_vcpu_ctx.h"

#define CTX_RFLAGS_USER  0x00000dd5ULL      /* CF PF AF ZF SF TF DF OF (pv_run.c) */
#define CTX_RFLAGS_IF    0x200ULL
#define CTX_PAGE_MASK    0xfffULL

static int bad(const char **why, const char *reason)
{
    if (why)
        *why = reason;
    return -EINVAL;
}

static bool traps_ok(const struct vcpu_guest_context *c)
{
    for (unsigned int i = 0; i < 256; i++)
        if (!pv_addr_ok(c->trap_ctxt[i].address))
            return false;
    return true;
}

static bool l4_ok(uint64_t cr3, bool may_be_zero)
{
    return (cr3 || may_be_zero) && !(cr3 & CTX_PAGE_MASK);
}

/* user_regs and the callbacks: every address the vCPU will jump to or use. */
static bool addrs_ok(const struct vcpu_guest_context *c)
{
    const uint64_t a[] = {
        c->user_regs.rip, c->user_regs.rsp, c->kernel_sp, c->fs_base, c->gs_base_kernel,
        c->gs_base_user, c->event_callback_eip, c->failsafe_callback_eip,
        c->syscall_callback_eip, c->debugreg[0], c->debugreg[1], c->debugreg[2], c->debugreg[3],
    };

    for (unsigned int i = 0; i < sizeof(a) / sizeof(a[0]); i++)
        if (!pv_addr_ok(a[i]))
            return false;
    return true;
}

int pv_vcpu_ctx_check(const struct vcpu_guest_context *c, const char **why)
{
    if (!addrs_ok(c))
        return bad(why, "an address (rip, rsp, kernel_sp, segment base, callback or DR0-3) "
                        "is not canonical or is the hypervisor's");
    if (!traps_ok(c))
        return bad(why, "a trap_ctxt handler is not canonical or is the hypervisor's");
    if (c->ldt_ents > PV_CTX_LDT_MAX_ENTS || (c->ldt_ents && (c->ldt_base & CTX_PAGE_MASK)) ||
        (c->ldt_ents && (!pv_addr_ok(c->ldt_base) ||
                         !pv_addr_ok(c->ldt_base + c->ldt_ents * 8 - 1))))
        return bad(why, "bad LDT (base not page-aligned or not guest space, or > 8192 entries)");
    if (c->gdt_ents > PV_CTX_GDT_MAX_ENTS)
        return bad(why, "gdt_ents reaches the hypervisor's reserved GDT entries");
    if (!l4_ok(c->ctrlreg[3], false))
        return bad(why, "ctrlreg[3] is not a kernel L4 in xen_pfn_to_cr3 form");
    if (!l4_ok(c->ctrlreg[1], true))
        return bad(why, "ctrlreg[1] is not a user L4 in xen_pfn_to_cr3 form");
    if (!(c->flags & VGCF_in_kernel) && !c->ctrlreg[1])
        return bad(why, "a vCPU started in user mode needs a user L4 (ctrlreg[1])");
    if (c->debugreg[7] & PV_CTX_DR7_ZEROS)
        return bad(why, "DR7 has reserved bits set");
    return 0;
}

uint64_t pv_ctx_rflags(uint64_t rflags)
{
    return (rflags & CTX_RFLAGS_USER) | CTX_RFLAGS_IF | 2;
}

unsigned int pv_ctx_iopl(uint64_t rflags)
{
    return (unsigned int)(rflags >> 12) & 3;
}
