/*
 * The fault path of writable page tables (pv_ptwr.h), as Xen 4.17's
 * ptwr_do_page_fault / ptwr_emulated_update for 64-bit guests: a write by
 * the guest kernel, with VMASST_TYPE_writable_pagetables on, to a present
 * read-only mapping of an L1 page table of the domain. The entry written
 * goes through pv_mmu_update (MMU_NORMAL_PT_UPDATE), so it is validated
 * and referenced exactly as an explicit update; a refused one leaves the
 * entry alone and the #PF goes to the guest. Writes to L2-L4 tables are
 * never emulated (Xen neither).
 */
#include "pv_internal.h"
#include "pv_ptwr.h"
#include <proxenos/frame.h>
#include <proxenos/mm.h>
#include <proxenos/vtime.h>
#include <xen/vcpu.h>

#define PFEC_PRESENT  (1u << 0)
#define PFEC_WRITE    (1u << 1)
#define PFEC_RSVD     (1u << 3)
#define PFEC_INSN     (1u << 4)

/* A general register by SDM number (0 RAX ... 15 R15). */
static uint64_t *gpr(struct cpu_regs *r, unsigned int n)
{
    uint64_t *const map[16] = {
        &r->rax, &r->rcx, &r->rdx, &r->rbx, &r->rsp, &r->rbp, &r->rsi, &r->rdi,
        &r->r8, &r->r9, &r->r10, &r->r11, &r->r12, &r->r13, &r->r14, &r->r15,
    };

    return map[n & 15];
}

/* The machine address of the L1 entry the write at cr2 touches, if the
   page written is a validated L1 page table of the domain. */
static bool l1_entry_at(struct vcpu *v, uint64_t cr2, paddr_t *entry)
{
    struct page_info *pg;
    uint64_t t;
    paddr_t ma;

    if (!pv_va_to_maddr(v, cr2, false, &ma))
        return false;
    pg = mfn_to_page(ma >> PAGE_SHIFT);
    t = __atomic_load_n(&pg->type_info, __ATOMIC_ACQUIRE);
    if ((t & PGT_type_mask) != PGT_l1_page_table || !(t & PGT_validated))
        return false;
    *entry = ma & ~7ULL;
    return true;
}

/* The source operand: the immediate or the register (AH-BH for the high
   byte registers). */
static uint64_t source(struct cpu_regs *r, const struct pv_ptwr_insn *in)
{
    if (in->src_imm)
        return in->imm;
    if (in->byte_high)
        return *gpr(r, in->reg - 4) >> 8;
    return *gpr(r, in->reg);
}

/* Writes a register the way an instruction of that operand size does:
   bytes and words merge, a dword zero-extends, a qword replaces. */
static void set_reg(struct cpu_regs *r, unsigned int reg, bool high, unsigned int bytes,
                    uint64_t val)
{
    uint64_t *g = gpr(r, high ? reg - 4 : reg);

    if (bytes == 1 && high)
        *g = (*g & ~0xff00ULL) | ((val & 0xff) << 8);
    else if (bytes == 1)
        *g = (*g & ~0xffULL) | (val & 0xff);
    else if (bytes == 2)
        *g = (*g & ~0xffffULL) | (val & 0xffff);
    else
        *g = bytes == 4 ? (val & 0xffffffffULL) : val;
}

bool pv_ptwr_fault(struct vcpu *v, struct cpu_regs *r, uint64_t cr2)
{
    struct pv_domain *pd = pv_domain_of(v->domain);
    unsigned int off = cr2 & 7, done = 0;
    struct pv_ptwr_insn in;
    struct pv_ptwr_result res;
    uint8_t b[PV_PTWR_INSN_MAX];
    uint64_t old, entry_new;
    size_t n = sizeof(b);
    paddr_t entry;

    if (pvv(v)->user_mode || !pd ||
        (r->error_code & (PFEC_PRESENT | PFEC_WRITE | PFEC_RSVD | PFEC_INSN)) !=
            (PFEC_PRESENT | PFEC_WRITE) ||
        !vm_assist_enabled(v->domain, VMASST_TYPE_writable_pagetables) ||
        !l1_entry_at(v, cr2, &entry))
        return false;
    /* The instruction may end just before an unmapped page. */
    while (n && pv_copy_linear(v, b, r->rip, n, false))
        n--;
    if (!n || pv_ptwr_decode(b, n, &in))
        return false;
    if (off & (in.bytes - 1) || off + in.bytes > 8)
        return false;                       /* not within one entry */
    old = __atomic_load_n((uint64_t *)__va(entry), __ATOMIC_ACQUIRE);
    pv_ptwr_apply(&in, old >> (off * 8), source(r, &in), r->rax, &res);
    if (res.write) {
        struct mmu_update req;

        if (pv_ptwr_merge(old, res.val, off, in.bytes, &entry_new))
            return false;
        req.ptr = entry | MMU_NORMAL_PT_UPDATE;
        req.val = entry_new;
        if (pv_mmu_update(&pd->mm, v->vcpu_id, &req, 1, &done, DOMID_SELF) || done != 1)
            return false;                   /* refused: the guest sees its #PF */
    }
    if (res.set_reg)
        set_reg(r, in.op == PTWR_CMPXCHG ? 0 : in.reg, in.op != PTWR_CMPXCHG && in.byte_high,
                in.bytes, res.reg_val);
    r->rflags = (r->rflags & ~res.flags_mask) | res.flags;
    r->rip += in.len;
    return true;
}
