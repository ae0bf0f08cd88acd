/*
 * Running 64-bit PV vCPUs (Partial: see the lists below and docs/SUPPORT.md). The guest kernel runs in ring 3 on its own
 * pinned L4 (the validator keeps hypervisor slots 256-271 in it, so the
 * hypervisor runs on the guest's CR3 without a switch), with Xen's flat
 * ring-3 selectors (xen-x86_64.h FLAT_RING3_*, in a per-CPU GDT that
 * reaches entry 0xe000 >> 3), and comes back through SYSCALL (the
 * hypercall page, pv_entry.asm) or an exception.
 *
 * What exists: entry, hypercalls from the kernel (a PV subset: console_io,
 * xen_version, sched_op, mmu_update, mmuext_op, update_va_mapping,
 * set_trap_table, iret, fpu_taskswitch, set_segment_base stubs), exceptions
 * bounced to the handlers of set_trap_table (Xen's frame: RCX, R11, [error
 * code], RIP, CS, RFLAGS, RSP, SS on the guest kernel stack).
 * Also: kernel/user mode (toggle_mode), event upcalls (deliver_events),
 * multicall, preemption by the slice timer in ring 3.
 * Several vCPUs per domain (VCPUOP_initialise/up: pv_vcpu.c), time-sliced
 * on CPU 0 with their own FPU state. Not yet: SYSENTER, vCPUs on other CPUs.
 */
#include "pv_internal.h"
#include "pv_ptwr.h"
#include "pv_emulate.h"
#include "pv_desc.h"
#include <proxenos/cpu.h>
#include <proxenos/domain.h>
#include <proxenos/guest_access.h>
#include <proxenos/hypercall.h>
#include <proxenos/io.h>
#include <proxenos/layout.h>
#include <proxenos/lib.h>
#include <proxenos/mm.h>
#include <proxenos/pagetable.h>
#include <proxenos/printk.h>
#include <proxenos/sched.h>
#include <proxenos/evtchn.h>
#include <proxenos/vtime.h>
#include <xen/callback.h>

#define PV_SYSCALL_VEC    0x100
#define PV_SYSCALL32_VEC  0x101             /* pv_entry.asm: SYSCALL through CSTAR */
#define RFLAGS_USER_MASK  0x00000dd5ULL     /* CF PF AF ZF SF TF DF OF: what a guest may set */
#define SFMASK            0x44700ULL        /* IF TF DF NT AC cleared on SYSCALL */

BUILD_BUG_ON(offsetof(struct percpu, tss) + 4 != 196);          /* pv_entry.asm PCPU_RSP0 */
BUILD_BUG_ON(offsetof(struct percpu, pv_scratch) != 312);       /* ... PCPU_SCRATCH */

void pv_enter(struct cpu_regs *guest, uint64_t *saved_rsp);
__noreturn void pv_leave(uint64_t saved_rsp);
extern char pv_syscall_entry[], pv_syscall32_entry[];

mfn_t pv_mode_l4(struct vcpu *v, bool user)
{
    struct pv_domain *pd = pv_domain_of(v->domain);

    return user ? pd->mm.vcpu[v->vcpu_id].user_l4 : pd->mm.vcpu[v->vcpu_id].kernel_l4;
}

/* Xen's toggle_guest_mode, called in the hypervisor after the entry's
   SWAPGS (so MSR_KERNEL_GS_BASE holds the guest's active GS base): the
   other mode's GS base and L4. */
static void toggle_mode(struct vcpu *v, bool to_user)
{
    struct pv_vcpu *p = v->vendor;
    uint64_t active = rdmsr(MSR_KGS);

    if (to_user) {
        p->gs_base_kernel = active;
        wrmsr(MSR_KGS, p->gs_base_user);
    } else {
        p->gs_base_user = active;
        wrmsr(MSR_KGS, p->gs_base_kernel);
    }
    p->user_mode = to_user;
    __asm__ volatile("mov %0, %%cr3" :: "r"(pv_mode_l4(v, to_user) << PAGE_SHIFT) : "memory");
}

static uint64_t *pv_gdt[MAX_CPUS];

struct desc_ptr { uint16_t limit; uint64_t base; } __packed;

/* The per-CPU PV GDT: the hypervisor's entries (with its TSS) in the first
   slots, Xen's flat ring-3 descriptors where the ABI puts them. */
static uint64_t *gdt_for(unsigned int cpu)
{
    uint64_t *g = pv_gdt[cpu];

    if (g)
        return g;
    g = alloc_pages(PV_GDT_ORDER);
    if (!g)
        return NULL;
    memset(g, 0, PAGE_SIZE << PV_GDT_ORDER);
    memcpy(g, this_cpu()->gdt, sizeof(this_cpu()->gdt));
    g[FLAT_RING3_CS32 >> 3] = 0x00cffa000000ffffULL;  /* DPL 3, 32-bit code */
    g[FLAT_RING3_DS >> 3]   = 0x00cff2000000ffffULL;  /* DPL 3, flat data */
    g[FLAT_RING3_CS64 >> 3] = 0x0020fa0000000000ULL;  /* DPL 3, L=1 code */
    pv_gdt[cpu] = g;
    return g;
}

struct pv_vcpu *pv_vcpu_alloc(void)
{
    struct pv_vcpu *p = xzalloc(sizeof(*p));

    if (!p)
        return NULL;
    /* FXSAVE layout (SDM vol. 1, 10.5.1): FCW 0x37f, all tags empty, MXCSR. */
    *(uint16_t *)&p->fpu[0] = 0x37f;
    *(uint32_t *)&p->fpu[24] = 0x1f80;
    p->regs.cs = FLAT_RING3_CS64;
    p->regs.ss = FLAT_RING3_DS;
    p->regs.rflags = RFLAGS_IF | 2;
    return p;
}

int pv_vcpu_start(struct vcpu *v, const struct pv_entry_state *e)
{
    struct pv_vcpu *p = pv_vcpu_alloc();

    if (!p)
        return -ENOMEM;
    p->regs.rip = e->rip;
    p->regs.rsp = e->rsp;
    p->regs.rsi = e->rsi;
    v->vendor = p;
    /* Events stay masked until the guest registers its callbacks. */
    if (v->vcpu_info)
        v->vcpu_info->evtchn_upcall_mask = 1;
    return 0;
}

void pv_vcpu_free(struct vcpu *v)
{
    if (v->vendor)
        pv_drop_gdt(v);
    xfree(v->vendor);
    v->vendor = NULL;
}

/* ---- guest memory: walk the guest's own tables (machine addresses) ---- */

bool pv_va_to_maddr(struct vcpu *v, uint64_t va, bool write, paddr_t *ma)
{
    struct pv_domain *pd = pv_domain_of(v->domain);
    mfn_t mfn = pd ? pd->mm.vcpu[v->vcpu_id].kernel_l4 : 0;

    if (!mfn || !pv_addr_ok(va))
        return false;
    for (int level = 4; level >= 1; level--) {
        uint64_t e = ((uint64_t *)pv_map_frame(mfn))[(va >> (12 + 9 * (level - 1))) & 511];

        if (!(e & PTE_P) || !(e & PTE_US) || (write && !(e & PTE_RW)) || (e & PTE_PS))
            return false;
        mfn = pv_pte_mfn(e);
        if (!mfn_valid(mfn) || mfn_to_page(mfn)->owner != v->domain)
            return false;
    }
    *ma = (mfn << PAGE_SHIFT) | (va & (PAGE_SIZE - 1));
    return true;
}

int pv_copy_linear(struct vcpu *v, void *hv, uint64_t va, size_t len, bool to_guest)
{
    /* guest_access.c walks page by page through pv_va_to_maddr. */
    return to_guest ? copy_to_guest(v, va, hv, len) : copy_from_guest(v, hv, va, len);
}

/* ---- hypercalls ---- */

static long pv_set_trap_table(struct vcpu *v, uint64_t list)
{
    struct pv_vcpu *p = pvv(v);

    if (!list) {
        memset(p->traps, 0, sizeof(p->traps));
        return 0;
    }
    for (unsigned int i = 0; i < 256; i++) {
        struct trap_info t;

        if (pv_copy_linear(v, &t, list + i * sizeof(t), sizeof(t), false))
            return -EFAULT;
        if (!t.address)
            return 0;
        if (!pv_addr_ok(t.address))
            return -EINVAL;
        p->traps[t.vector] = t;             /* vector is a uint8_t: 0-255 */
    }
    return 0;
}

/* HYPERVISOR_iret: the guest stack holds struct iret_context
   (xen-x86_64.h). An RPL-3 CS returns to user mode (the user L4 must
   exist), RPL 0 stays in the kernel; EFLAGS.IF gives the event mask. */
static long pv_iret(struct vcpu *v, struct cpu_regs *r)
{
    struct iret_context c;
    bool to_user;

    if (pv_copy_linear(v, &c, r->rsp, sizeof(c), false)) {
        domain_crash(v->domain, CRASH_HYPERVISOR, "PV iret: unreadable frame at %#lx", r->rsp);
        return -EFAULT;
    }
    to_user = (c.cs & 3) == 3;
    if (!pv_addr_ok(c.rip) || !pv_addr_ok(c.rsp) || (to_user && !pv_mode_l4(v, true))) {
        domain_crash(v->domain, CRASH_HYPERVISOR, "PV iret: bad frame rip %#lx cs %#lx%s", c.rip,
                     c.cs, to_user && !pv_mode_l4(v, true) ? " (no user page tables)" : "");
        return -EINVAL;
    }
    r->rip = c.rip;
    r->rsp = c.rsp;
    r->cs = FLAT_RING3_CS64;
    r->ss = FLAT_RING3_DS;
    /* User mode gets the selectors it asked for (Xen loads cs|3, ss|3),
       e.g. Linux's __USER_CS/__USER_DS from its own GDT or a 32-bit code
       segment, when the CPU's PV GDT can load them; otherwise the flat
       ones (where Xen's IRETQ would fault). The kernel always runs on the
       flat selectors: its own GDT slots 1-3 are the hypervisor's here. */
    if (to_user && pv_iret_selectors_ok(c.cs | 3, c.ss | 3)) {
        r->cs = c.cs | 3;
        r->ss = c.ss | 3;
    }
    r->rflags = (c.rflags & RFLAGS_USER_MASK) | RFLAGS_IF | 2;
    if (!(c.flags & VGCF_in_syscall)) {
        r->r11 = c.r11;
        r->rcx = c.rcx;
    }
    if (v->vcpu_info)
        v->vcpu_info->evtchn_upcall_mask = !(c.rflags & RFLAGS_IF);
    if (vm_assist_enabled(v->domain, VMASST_TYPE_architectural_iopl))
        pvv(v)->iopl = (c.rflags >> 12) & 3;  /* Xen's do_iret */
    if (to_user)
        toggle_mode(v, true);
    return (long)c.rax;                     /* restored into RAX */
}

/* HYPERVISOR_set_segment_base (xen-x86_64.h SEGBASE_*). While in here the
   guest's kernel GS base is in MSR_KERNEL_GS_BASE (the entry swapped it). */
static long pv_set_segment_base(struct vcpu *v, uint64_t which, uint64_t base)
{
    struct pv_vcpu *p = pvv(v);

    if (which <= SEGBASE_GS_KERNEL && !pv_addr_ok(base) && base)
        return -EINVAL;                     /* a non-canonical base would #GP here */
    switch (which) {
    case SEGBASE_FS:
        p->fs_base = base;
        wrmsr(MSR_FS_BASE, base);
        return 0;
    case SEGBASE_GS_USER:
        p->gs_base_user = base;
        return 0;
    case SEGBASE_GS_KERNEL:
        p->gs_base_kernel = base;
        wrmsr(MSR_KGS, base);               /* the kernel's, active: we are in kernel mode */
        return 0;
    case SEGBASE_GS_USER_SEL:
        return pv_set_gs_user_sel(v, base);
    default:
        return -EINVAL;
    }
}

/*
 * set_debugreg / get_debugreg: the guest's debug registers, checked as
 * Xen's set_debugreg checks them (DR0-3 guest addresses, DR6/DR7 with
 * their fixed bits) and kept per vCPU. Partial: they are not loaded into
 * the hardware, so a guest's breakpoints never fire.
 */
#define DR6_ONES   0xffff0ff0ULL
#define DR7_ONES   0x400ULL
#define DR7_ZEROS  0xffffffff0000d800ULL  /* reserved, plus GD (bit 13) */

static long pv_set_debugreg(struct vcpu *v, uint64_t reg, uint64_t val)
{
    struct pv_vcpu *p = pvv(v);

    switch (reg) {
    case 0: case 1: case 2: case 3:
        if (!pv_addr_ok(val))
            return -EPERM;
        break;
    case 6:
        val = (val & 0xffffffffULL) | DR6_ONES;
        break;
    case 7:
        if (val & DR7_ZEROS)
            return -EPERM;
        val |= DR7_ONES;
        break;
    default:
        return -EINVAL;
    }
    p->dr[reg] = val;
    return 0;
}

static long pv_get_debugreg(struct vcpu *v, uint64_t reg)
{
    struct pv_vcpu *p = pvv(v);

    switch (reg) {
    case 0: case 1: case 2: case 3:
        return (long)p->dr[reg];
    case 6:
        return (long)(p->dr[6] | DR6_ONES);
    case 7:
        return (long)(p->dr[7] | DR7_ONES);
    default:
        return -EINVAL;
    }
}

static bool callback_ok(uint64_t a)
{
    return !a || pv_addr_ok(a);
}

/* set_callbacks(event, failsafe, syscall) and callback_op: recorded, not yet
   delivered (no event upcalls, no user mode). */
static long pv_callback_op(struct vcpu *v, uint64_t cmd, uint64_t arg)
{
    struct pv_vcpu *p = pvv(v);
    struct callback_register cb;

    if (cmd != CALLBACKOP_register && cmd != CALLBACKOP_unregister)
        return -ENOSYS;
    if (pv_copy_linear(v, &cb, arg, cmd == CALLBACKOP_register ? sizeof(cb)
                       : sizeof(struct callback_unregister), false))
        return -EFAULT;
    if (cb.type >= ARRAY_SIZE(p->callback))
        return -EINVAL;
    if (cmd == CALLBACKOP_unregister) {
        p->callback[cb.type] = 0;
        if (cb.type == CALLBACKTYPE_nmi)
            p->traps[2].address = 0;
        return 0;
    }
    if (!callback_ok(cb.address))
        return -EINVAL;
    if (cb.type == CALLBACKTYPE_nmi) {
        /* Xen's register_guest_nmi_callback: the NMI trap entry, events
           masked. No NMI is ever forwarded to a PV guest here. */
        p->traps[2] = (struct trap_info){ .vector = 2, .flags = 4, .cs = FLAT_RING3_CS64,
                                          .address = cb.address };
    }
    p->callback[cb.type] = cb.address;
    p->callback_flags[cb.type] = cb.flags;
    return 0;
}

static long pv_set_callbacks(struct vcpu *v, uint64_t a[5])
{
    struct pv_vcpu *p = pvv(v);

    if (!callback_ok(a[0]) || !callback_ok(a[1]) || !callback_ok(a[2]))
        return -EINVAL;
    p->callback[CALLBACKTYPE_event] = a[0];
    p->callback[CALLBACKTYPE_failsafe] = a[1];
    p->callback[CALLBACKTYPE_syscall] = a[2];
    p->callback_flags[CALLBACKTYPE_syscall] = CALLBACKF_mask_events;
    return 0;
}

static long dispatch(struct vcpu *v, struct cpu_regs *r, bool *cont);

/* ---- HYPERVISOR_multicall through the validator's pv_multicall ---- */

#define MC_BATCH 64                          /* calls per hypercall, then a continuation */

struct mc_ctx {
    struct vcpu *v;
    const struct cpu_regs *r;
    uint64_t list;
    uint32_t done;                           /* calls run by this hypercall */
};

static int mc_fetch(void *c, uint32_t i, struct multicall_entry *call)
{
    struct mc_ctx *m = c;

    return pv_copy_linear(m->v, call, m->list + (uint64_t)i * sizeof(*call), sizeof(*call), false);
}

static int mc_store_result(void *c, uint32_t i, const struct multicall_entry *call)
{
    struct mc_ctx *m = c;

    return pv_copy_linear(m->v, (void *)&call->result, m->list + (uint64_t)i * sizeof(*call) +
                          offsetof(struct multicall_entry, result), sizeof(call->result), true);
}

static int mc_store_entry(void *c, uint32_t i, const struct multicall_entry *call)
{
    struct mc_ctx *m = c;

    return pv_copy_linear(m->v, (void *)call, m->list + (uint64_t)i * sizeof(*call),
                          sizeof(*call), true);
}

/* One sub-call as if issued alone; iret and nested multicalls are refused
   (they would change the frame the batch returns to). */
static enum pv_mc_disp mc_dispatch(void *c, struct multicall_entry *call, bool *preempted)
{
    struct mc_ctx *m = c;
    struct cpu_regs tmp = *m->r;
    bool cont = false;

    m->done++;
    if (call->op == __HYPERVISOR_iret || call->op == __HYPERVISOR_multicall) {
        call->result = (xen_ulong_t)-EINVAL;
        return PV_MC_CONTINUE;
    }
    tmp.rax = call->op;
    tmp.rdi = call->args[0];
    tmp.rsi = call->args[1];
    tmp.rdx = call->args[2];
    tmp.r10 = call->args[3];
    tmp.r8 = call->args[4];
    call->result = (xen_ulong_t)dispatch(m->v, &tmp, &cont);
    if (cont) {
        /* The sub-call continues (mmu_update past its batch): the entry
           gets its advanced arguments and the multicall stops there. */
        call->args[0] = tmp.rdi;
        call->args[1] = tmp.rsi;
        call->args[2] = tmp.rdx;
        call->args[3] = tmp.r10;
        call->args[4] = tmp.r8;
        *preempted = true;
    }
    return m->v->domain->is_shutting_down ? PV_MC_EXIT : PV_MC_CONTINUE;
}

static bool mc_preempt(void *c)
{
    return ((struct mc_ctx *)c)->done >= MC_BATCH;
}

static const struct pv_multicall_ops mc_ops = {
    .fetch = mc_fetch, .store_result = mc_store_result, .dispatch = mc_dispatch,
    .store_entry = mc_store_entry, .preempt_check = mc_preempt,
};

/* Continues a preempted batch the HVM way: the guest re-executes SYSCALL
   (2 bytes) with the list and count advanced; RAX keeps the number. */
static long pv_multicall_op(struct vcpu *v, struct cpu_regs *r, bool *cont)
{
    struct mc_ctx m = { .v = v, .r = r, .list = r->rdi };
    uint32_t next = 0, nr = (uint32_t)r->rsi;
    long rc;

    if (r->rsi > UINT32_MAX)
        return -EINVAL;
    rc = pv_multicall(&mc_ops, &m, nr, &next);
    if (rc == PV_MC_PREEMPTED) {
        r->rdi += (uint64_t)next * sizeof(struct multicall_entry);
        r->rsi = nr - next;
        r->rip -= 2;
        *cont = true;
        return 0;
    }
    return rc;
}

/* One hypercall; the common handlers see h (their continuations: below). */
static long dispatch_one(struct vcpu *v, struct cpu_regs *r, bool *cont, struct hcall *hp)
{
    uint64_t nr = r->rax;
    uint64_t a[5] = { r->rdi, r->rsi, r->rdx, r->r10, r->r8 };

    if (nr < NR_HYPERCALLS)
        v->hypercall_counts[nr]++;
    else
        v->hypercall_unknown++;
    block_speculation();
    switch (nr) {
    case __HYPERVISOR_iret:
        return pv_iret(v, r);               /* the frame's RAX */
    case __HYPERVISOR_set_trap_table:
        return pv_set_trap_table(v, a[0]);
    case __HYPERVISOR_mmu_update:
    case __HYPERVISOR_mmuext_op:
    case __HYPERVISOR_update_va_mapping:
        return pv_mm_call(v, r, cont);       /* *cont: a continuation, RAX untouched */
    case __HYPERVISOR_set_gdt:
        return pv_set_gdt(v, a[0], a[1]);
    case __HYPERVISOR_update_descriptor:
        return pv_update_descriptor(v, a[0], a[1]);
    case __HYPERVISOR_memory_op:
        return pv_memory_op_regs(v, r, cont);
    case __HYPERVISOR_vcpu_op:
        return pv_vcpu_op(v, a[0], a[1], a[2]);
    case __HYPERVISOR_physdev_op:
        return pv_physdev_op(v, a[0], a[1]);
    case __HYPERVISOR_grant_table_op:
        return pv_grant_table_op(v, a[0], a[1], a[2]);
    case __HYPERVISOR_console_io:
        return do_console_io(v, hp);
    case __HYPERVISOR_xen_version:
        return do_xen_version(v, hp);
    case __HYPERVISOR_sched_op:
        return do_sched_op(v, hp);
    case __HYPERVISOR_event_channel_op:
        return do_event_channel_hcall(v, hp);
    case __HYPERVISOR_set_debugreg:
        return pv_set_debugreg(v, a[0], a[1]);
    case __HYPERVISOR_get_debugreg:
        return pv_get_debugreg(v, a[0]);
    case __HYPERVISOR_platform_op:
        return do_platform_op(v, hp);
    case __HYPERVISOR_sysctl:
        return do_sysctl(v, hp);
    case __HYPERVISOR_domctl:
        return do_domctl(v, hp);
    case __HYPERVISOR_set_timer_op:
        return do_set_timer_op(v, hp);
    case __HYPERVISOR_vm_assist:
        return do_vm_assist(v, hp);
    case __HYPERVISOR_fpu_taskswitch:
        pvv(v)->cr0_ts = a[0] != 0;         /* what a CR0 read shows; not loaded */
        return 0;
    case __HYPERVISOR_multicall:
        return pv_multicall_op(v, r, cont);
    case __HYPERVISOR_set_segment_base:
        return pv_set_segment_base(v, a[0], a[1]);
    case __HYPERVISOR_stack_switch:
        if (!pv_addr_ok(a[1]))
            return -EINVAL;
        pvv(v)->kernel_ss = a[0] | 3;       /* the guest kernel runs at RPL 3 (Xen's fixup) */
        pvv(v)->kernel_sp = a[1];
        return 0;
    case __HYPERVISOR_set_callbacks:
        return pv_set_callbacks(v, a);
    case __HYPERVISOR_callback_op:
        return pv_callback_op(v, a[0], a[1]);
    default: {
        static uint64_t reported;           /* bit nr: said once (a guest may loop) */
        uint64_t bit = 1ULL << MIN(nr, 63);

        if (!(__atomic_fetch_or(&reported, bit, __ATOMIC_RELAXED) & bit))
            printk(LOG_INFO "d%u v%u: PV hypercall %s (%lu) not implemented: -ENOSYS\n",
                   v->domain->domain_id, v->vcpu_id, hypercall_name((unsigned int)MIN(nr, 63)), nr);
        return -ENOSYS;
    }
    }
}

/* A common handler that did part of the work (hcall_continue) left the
   rest in h: the guest re-executes the 2-byte SYSCALL with those
   arguments, RAX keeping the number (Xen's hypercall_create_continuation). */
static long dispatch(struct vcpu *v, struct cpu_regs *r, bool *cont)
{
    struct hcall h = { .arg = { r->rdi, r->rsi, r->rdx, r->r10, r->r8 } };
    long rc = dispatch_one(v, r, cont, &h);

    if (h.preempted) {
        r->rdi = h.arg[0];
        r->rsi = h.arg[1];
        r->rdx = h.arg[2];
        r->r10 = h.arg[3];
        r->r8 = h.arg[4];
        r->rip -= 2;
        *cont = true;
    }
    return rc;
}

/* Leaves to the scheduler when the vCPU must stop running here: it blocked,
   went down, its domain is going, or its slice ended (SCHEDOP_yield, a
   sibling vCPU woken on this CPU: sched.h). */
static void maybe_leave(struct vcpu *v, struct cpu_regs *r)
{
    struct pv_vcpu *p = pvv(v);

    if (!sched_should_yield())
        return;
    p->regs = *r;
    p->running = false;
    pv_leave(p->hv_rsp);
}

/* Event delivery before the guest resumes (Xen's test_all_events): an
   upcall pending and not masked goes to the event callback with an
   interrupt-like frame, events masked. */
static void deliver_events(struct vcpu *v, struct cpu_regs *r)
{
    struct pv_vcpu *p = pvv(v);
    struct vcpu_info *vi = v->vcpu_info;

    if (!vi || !p->callback[CALLBACKTYPE_event] || v->domain->is_shutting_down)
        return;
    if (!__atomic_load_n(&vi->evtchn_upcall_pending, __ATOMIC_ACQUIRE) || vi->evtchn_upcall_mask)
        return;
    if (!pv_bounce(v, r, NULL, p->callback[CALLBACKTYPE_event], true))
        maybe_leave(v, r);
}

/*
 * SYSCALL from 32-bit code (AMD's CSTAR path): Xen's cstar_enter hands it
 * to the syscall32 callback in kernel mode; without one the guest gets
 * #UD, as an Intel CPU would raise. Never a hypercall.
 */
static void syscall32(struct vcpu *v, struct cpu_regs *r)
{
    struct pv_vcpu *p = pvv(v);
    uint64_t target = p->callback[CALLBACKTYPE_syscall32];

    if (target)
        pv_bounce(v, r, NULL, target,
                  p->callback_flags[CALLBACKTYPE_syscall32] & CALLBACKF_mask_events);
    else {
        r->rip -= 2;                        /* a fault: at the SYSCALL itself */
        pv_bounce(v, r, NULL, p->traps[6].address, TI_GET_IF(&p->traps[6]));
    }
    maybe_leave(v, r);
    deliver_events(v, r);
}

void pv_syscall_dispatch(struct cpu_regs *r)
{
    struct vcpu *v = current_vcpu();
    struct pv_vcpu *p = pvv(v);
    bool cont = false;
    long rc;

    p->live = r;
    if (r->vector == PV_SYSCALL32_VEC) {
        syscall32(v, r);
        return;
    }
    if (p->user_mode) {
        p->user_syscalls++;
        /* SYSCALL from guest user space goes to the guest kernel's
           syscall callback (Xen's lstar_enter from user mode). */
        pv_bounce(v, r, NULL, p->callback[CALLBACKTYPE_syscall],
               p->callback_flags[CALLBACKTYPE_syscall] & CALLBACKF_mask_events);
        maybe_leave(v, r);                  /* if it crashed the domain */
        return;
    }
    rc = dispatch(v, r, &cont);
    if (!cont)
        r->rax = (uint64_t)rc;                /* a continued call keeps its number */
    maybe_leave(v, r);
    deliver_events(v, r);
}

/* ---- exceptions from the guest ---- */

/*
 * Xen's create_bounce_frame for a 64-bit guest: RCX, R11, [error code],
 * then RIP, CS, RFLAGS, RSP, SS on the kernel stack, 16-byte aligned: the
 * current stack in kernel mode, stack_switch's from user mode (which
 * switches to kernel mode). CS has RPL 0 for a kernel context ("indicate
 * kernel context to guest"), RFLAGS.IF is the event mask's inverse.
 * False if the domain was crashed instead.
 */
bool pv_bounce(struct vcpu *v, struct cpu_regs *r, const uint64_t *ec, uint64_t target,
               bool mask_events)
{
    struct pv_vcpu *p = pvv(v);
    bool from_user = p->user_mode;
    uint8_t *mask = &v->vcpu_info->evtchn_upcall_mask;
    uint64_t frame[8], n = 0, sp = from_user ? p->kernel_sp : r->rsp;

    frame[n++] = r->rcx;
    frame[n++] = r->r11;
    if (ec)
        frame[n++] = *ec;
    frame[n++] = r->rip;
    frame[n++] = from_user ? r->cs : r->cs & ~3ULL;
    frame[n++] = (r->rflags & ~RFLAGS_IF) | (*mask ? 0 : RFLAGS_IF);
    frame[n++] = r->rsp;
    frame[n++] = r->ss;
    sp = (sp & ~15ULL) - n * 8;
    if (!target || !sp || pv_copy_linear(v, frame, sp, n * 8, true)) {
        domain_crash(v->domain, CRASH_HYPERVISOR, "PV bounce to %#lx: %s", target,
                     target ? "kernel stack not writable" : "no handler");
        return false;
    }
    if (from_user)
        toggle_mode(v, false);
    if (mask_events)
        *mask = 1;
    r->rsp = sp;
    r->rip = target;
    r->cs = FLAT_RING3_CS64;
    r->ss = FLAT_RING3_DS;
    r->rflags = (r->rflags & ~0x100ULL) | RFLAGS_IF;   /* TF off; real IF stays on */
    return true;
}

/*
 * INT n (n not 3 or 4) from ring 3 faults with #GP(n << 3 | 2): Xen's
 * do_general_protection delivers it to the guest's handler for n when the
 * trap table's DPL permits it (>= 1 from the guest kernel, 3 from user
 * space), after the 2-byte instruction. False: an ordinary #GP.
 */
static bool softint(struct vcpu *v, struct cpu_regs *r)
{
    struct pv_vcpu *p = pvv(v);
    const struct trap_info *t = &p->traps[(r->error_code >> 3) & 0xff];

    if (!t->address || TI_GET_DPL(t) < (p->user_mode ? 3u : 1u))
        return false;
    r->rip += 2;
    if (!pv_bounce(v, r, NULL, t->address, TI_GET_IF(t)))
        maybe_leave(v, r);
    deliver_events(v, r);
    return true;
}

bool pv_trap_bounce(struct cpu_regs *r)
{
    struct vcpu *v = current_vcpu();
    struct pv_vcpu *p;
    struct trap_info *t;
    bool has_ec = r->vector == 8 || (r->vector >= 10 && r->vector <= 14) || r->vector == 17;

    if (!v || v->domain->type != DOMTYPE_PV || !(p = pvv(v)) || !p->running)
        return false;
    p->live = r;
    p->trap_counts[r->vector & 31]++;
    if (r->vector == 13 && (r->error_code & 3) == 2 && softint(v, r))
        return true;
    if (((r->vector == 6 || r->vector == 13) && pv_emulate_op(v, r)) ||
        (r->vector == 14 && pv_ptwr_fault(v, r, read_cr2()) && ++p->ptwr_count)) {
        maybe_leave(v, r);                  /* e.g. it crashed the domain */
        deliver_events(v, r);
        return true;
    }
    t = &p->traps[r->vector];               /* vector < 32: trap_dispatch */
    if (r->vector == 14) {
        v->vcpu_info->arch.cr2 = ({ uint64_t c; __asm__ volatile("mov %%cr2, %0" : "=r"(c)); c; });
        /* The U bit tells the guest which of its modes faulted (Xen's
           pv_inject_event), not the ring-3 access both make. */
        if (!p->user_mode)
            r->error_code &= ~4ULL;
    }
    if (!pv_bounce(v, r, has_ec ? &r->error_code : NULL, t->address, TI_GET_IF(t)))
        maybe_leave(v, r);
    return true;
}

/* ---- the run loop's entry ---- */

void pv_run(struct vcpu *v)
{
    struct pv_domain *pd = pv_domain_of(v->domain);
    struct pv_vcpu *p = pvv(v);
    uint64_t *gdt = gdt_for(smp_processor_id());
    struct desc_ptr pv = { PV_GDT_LIMIT, (uint64_t)gdt };
    struct desc_ptr hv = { sizeof(this_cpu()->gdt) - 1, (uint64_t)this_cpu()->gdt };
    uint64_t rsp0 = this_cpu()->tss.rsp[0];

    if (!pd || !p || !gdt || !pd->mm.vcpu[v->vcpu_id].kernel_l4) {
        domain_crash(v->domain, CRASH_BAD_STATE, "PV vCPU has no state to run");
        return;
    }
    pv_load_gdt(v, gdt);
    __asm__ volatile("lgdt %0" :: "m"(pv));
    wrmsr(MSR_EFER, rdmsr(MSR_EFER) | 1);   /* SCE */
    wrmsr(0xc0000081, (0x0000e023ULL << 48) | ((uint64_t)GDT_CS64 << 32));  /* STAR */
    wrmsr(0xc0000082, (uint64_t)pv_syscall_entry);                          /* LSTAR */
    wrmsr(0xc0000083, (uint64_t)pv_syscall32_entry);                        /* CSTAR */
    wrmsr(0xc0000084, SFMASK);                                              /* SFMASK */
    __asm__ volatile("mov %0, %%cr3" :: "r"(pv_mode_l4(v, p->user_mode) << PAGE_SHIFT) : "memory");
    wrmsr(MSR_FS_BASE, p->fs_base);
    wrmsr(MSR_KGS, p->user_mode ? p->gs_base_user : p->gs_base_kernel);  /* swapped in by pv_enter */
    deliver_events(v, &p->regs);            /* e.g. woken from SCHEDOP_block by one */
    /* The vCPU's own x87/SSE registers: another vCPU may have run here. */
    __asm__ volatile("fxrstor64 %0" :: "m"(*(const uint8_t (*)[512])p->fpu));
    p->running = true;
    pv_enter(&p->regs, &p->hv_rsp);
    __asm__ volatile("fxsave64 %0" : "=m"(*(uint8_t (*)[512])p->fpu));
    p->fs_base = rdmsr(MSR_FS_BASE);
    *(p->user_mode ? &p->gs_base_user : &p->gs_base_kernel) = rdmsr(MSR_KGS);  /* swapped back here */
    wrmsr(MSR_KGS, 0);
    /* Back from pv_leave: the hypervisor's tables, stack and GDT. */
    this_cpu()->tss.rsp[0] = rsp0;
    __asm__ volatile("mov %0, %%cr3" :: "r"(hv_cr3) : "memory");
    __asm__ volatile("lgdt %0" :: "m"(hv));
}

void pv_irq_return(struct cpu_regs *r)
{
    struct vcpu *v = current_vcpu();
    struct pv_vcpu *p;

    if (!v || v->domain->type != DOMTYPE_PV || !(p = pvv(v)) || !p->running)
        return;
    p->live = r;
    if (!sched_should_yield()) {
        deliver_events(v, r);
        return;
    }
    if (++p->preemptions == 1)
        printk(LOG_INFO "d%u v%u: PV vCPU preempted in ring 3 (first time), rip %#lx\n",
               v->domain->domain_id, v->vcpu_id, r->rip);
    p->regs = *r;
    p->running = false;
    pv_leave(p->hv_rsp);
}

/* ---- counters and the crash dump ---- */

/* The PV counterpart of the exit counters (domain_debug.c): what the guest
   made the hypervisor do besides hypercalls. */
void pv_print_counters(const struct vcpu *cv)
{
    struct vcpu *v = (struct vcpu *)cv;
    struct pv_vcpu *p = pvv(v);
    char line[200];
    size_t n = 0;

    if (!p)
        return;
    for (unsigned int i = 0; i < 32 && n < sizeof(line) - 24; i++)
        if (p->trap_counts[i])
            n += (size_t)px_snprintf(line + n, sizeof(line) - n, " %u=%lu", i, p->trap_counts[i]);
    printk("d%u v%u traps (by vector):%s; page-table writes emulated %lu, user syscalls %lu, "
           "preemptions %lu\n", v->domain->domain_id, v->vcpu_id, n ? line : " none",
           p->ptwr_count, p->user_syscalls, p->preemptions);
    pv_emulate_show_counts(v);
}

void pv_vcpu_dump(const struct vcpu *cv)
{
    struct vcpu *v = (struct vcpu *)cv;
    struct pv_vcpu *p = pvv(v);
    const struct cpu_regs *r;
    uint64_t words[8];
    uint64_t off;
    const char *sym;

    printk(LOG_ERR "d%u v%u state (PV):\n", v->domain->domain_id, v->vcpu_id);
    if (!p) {
        printk(LOG_ERR "  no PV state\n");
        return;
    }
    r = p->running && p->live ? p->live : &p->regs;
    printk(LOG_ERR "  %s mode, rip: %04lx:%016lx  rflags: %016lx  events %s\n",
           p->user_mode ? "user" : "kernel", r->cs, r->rip, r->rflags,
           v->vcpu_info && v->vcpu_info->evtchn_upcall_mask ? "masked" : "unmasked");
    printk(LOG_ERR "  rax: %016lx  rbx: %016lx  rcx: %016lx\n", r->rax, r->rbx, r->rcx);
    printk(LOG_ERR "  rdx: %016lx  rsi: %016lx  rdi: %016lx\n", r->rdx, r->rsi, r->rdi);
    printk(LOG_ERR "  rbp: %016lx  rsp: %016lx  r8:  %016lx\n", r->rbp, r->rsp, r->r8);
    printk(LOG_ERR "  r9:  %016lx  r10: %016lx  r11: %016lx\n", r->r9, r->r10, r->r11);
    printk(LOG_ERR "  r12: %016lx  r13: %016lx  r14: %016lx\n", r->r12, r->r13, r->r14);
    printk(LOG_ERR "  r15: %016lx  cr2: %016lx  fs: %016lx gs(k): %016lx\n", r->r15,
           v->vcpu_info ? v->vcpu_info->arch.cr2 : 0, p->fs_base, p->gs_base_kernel);
    printk(LOG_ERR "  kernel L4 mfn %#lx, user L4 mfn %#lx, last vector %lu error %#lx\n",
           pv_mode_l4(v, false), pv_mode_l4(v, true), r->vector, r->error_code);
    /* The hypervisor's own symbols do not cover the guest: print addresses. */
    sym = symbol_lookup(r->rip, &off);
    (void)sym;
    pv_emulate_show_counts(v);
    if (!pv_copy_linear(v, words, r->rsp & ~7ULL, sizeof(words), false))
        printk(LOG_ERR "  stack: %016lx %016lx %016lx %016lx\n"
               "         %016lx %016lx %016lx %016lx\n", words[0], words[1], words[2], words[3],
               words[4], words[5], words[6], words[7]);
}
