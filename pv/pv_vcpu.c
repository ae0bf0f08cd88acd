/*
 * __HYPERVISOR_vcpu_op for 64-bit PV guests. Everything that does not name
 * guest memory by frame is the common handler's (vcpu_op.c): is_up,
 * get_runstate_info, register_runstate_memory_area and
 * register_vcpu_time_memory_area (guest-virtual addresses, which
 * guest_access.c walks through the PV guest's own tables), the periodic
 * and singleshot timers; up, down, initialise, ...: -ENOSYS there.
 *
 * VCPUOP_register_vcpu_info differs for a non-translated guest (Xen 4.17's
 * map_vcpu_info): `mfn` is a MACHINE frame, which must be the domain's and
 * takes a general and a writable type reference for as long as the
 * hypervisor writes the vcpu_info there (so it can never become a page
 * table or a descriptor page); anything else -EINVAL. The other checks are
 * the common ones: -ENOENT for a vCPU outside the domain, -ENXIO for an
 * offset leaving no room for the 64-byte structure or not 8-aligned,
 * -EINVAL if registered before or another vCPU than the caller is up.
 * Contents move and every event is marked pending (vcpu_info_move).
 *
 * The SMP operations, as Xen 4.17's do_vcpu_op and arch_set_info_guest do
 * them for a 64-bit PV vCPU (Linux's cpu_initialize_context and
 * xen_pv_cpu_up use them to start its secondary CPUs):
 *  initialise  (vcpuid, struct vcpu_guest_context *): -EFAULT if the
 *      context is unreadable, -EEXIST if the vCPU has its state already
 *      (vCPU 0 from the builder, or initialised before: Xen never forgets),
 *      -EINVAL if pv_vcpu_ctx_check refuses it, a GDT frame is refused
 *      (set_gdt's checks) or the L4s are (MMUEXT_NEW_BASEPTR's and
 *      NEW_USER_BASEPTR's: the vCPU's own base pointers, referenced like
 *      the guest's own switch). Taken: every GPR and RIP, RSP, RFLAGS (the
 *      guest's flags, IF on; its IOPL field as the virtual IOPL), trap_ctxt,
 *      the GDT, the LDT (MMUEXT_SET_LDT), kernel_ss/kernel_sp, the event,
 *      failsafe and syscall callbacks (VGCF_failsafe/syscall_disables_events),
 *      FS and both GS bases, DR0-3/6/7, kernel or user mode (VGCF_in_kernel).
 *      Ignored: the FPU image (the vCPU starts from FNINIT's state),
 *      segment selectors (flat ring-3 ones), vm_assist (the domain's, set
 *      by vCPU 0), ctrlreg[0]/[4].
 *  up      -EINVAL unless initialised; the vCPU joins the scheduler.
 *  down    the vCPU stops at its next exit (it may be the caller); the
 *      last vCPU up going down powers the domain off, as in Xen.
 */
#include "pv_internal.h"
#include "pv_vcpu_ctx.h"
#include <proxenos/guest_access.h>
#include <proxenos/hypercall.h>
#include <proxenos/lib.h>
#include <proxenos/mm.h>
#include <proxenos/printk.h>
#include <proxenos/sched.h>
#include <proxenos/vtime.h>
#include <xen/callback.h>
#include <xen/vcpu.h>

/* d->lock held: the frame referenced and the vcpu_info moved there. */
static long map_vcpu_info(struct vcpu *caller, struct vcpu *v, const struct vcpu_register_vcpu_info *info)
{
    struct pv_domain *pd = pv_domain_of(v->domain);
    int rc;

    if (v->vcpu_info_maddr)
        return -EINVAL;                    /* registered already */
    if (v != caller && v->is_up)
        return -EINVAL;                    /* only itself or a vCPU that is down */
    if (!pd)
        return -EINVAL;
    spin_lock(&pd->mm.lock);
    rc = pd->mm.dying ? -EINVAL : pv_get_page_and_type(&pd->mm, info->mfn, PGT_writable_page);
    spin_unlock(&pd->mm.lock);
    if (rc)
        return -EINVAL;
    vcpu_info_move(v, (uint8_t *)pv_map_frame(info->mfn) + info->offset,
                   ((paddr_t)info->mfn << PAGE_SHIFT) + info->offset, false);
    return 0;
}

static long register_vcpu_info(struct vcpu *caller, struct vcpu *v, uint64_t arg)
{
    struct domain *d = v->domain;
    struct vcpu_register_vcpu_info info;
    long rc;

    if (copy_from_guest(caller, &info, arg, sizeof(info)))
        return -EFAULT;
    if (vcpu_info_offset_check(info.offset, sizeof(struct vcpu_info), 8))
        return -ENXIO;
    spin_lock(&d->lock);
    rc = map_vcpu_info(caller, v, &info);
    spin_unlock(&d->lock);
    if (!rc)
        vtime_update_vcpu_time(v, true);
    return rc;
}

/* The registers and callbacks of c into p (checked already). */
static void ctx_to_pv(struct pv_vcpu *p, const struct vcpu_guest_context *c)
{
    const struct cpu_user_regs *u = &c->user_regs;
    struct cpu_regs *r = &p->regs;

    r->rax = u->rax; r->rbx = u->rbx; r->rcx = u->rcx; r->rdx = u->rdx;
    r->rsi = u->rsi; r->rdi = u->rdi; r->rbp = u->rbp; r->rsp = u->rsp;
    r->r8 = u->r8; r->r9 = u->r9; r->r10 = u->r10; r->r11 = u->r11;
    r->r12 = u->r12; r->r13 = u->r13; r->r14 = u->r14; r->r15 = u->r15;
    r->rip = u->rip;
    r->rflags = pv_ctx_rflags(u->rflags);
    p->iopl = pv_ctx_iopl(u->rflags);
    memcpy(p->traps, c->trap_ctxt, sizeof(p->traps));
    for (unsigned int i = 0; i < 256; i++)
        p->traps[i].vector = (uint8_t)i;   /* Xen indexes trap_ctxt by vector */
    p->kernel_ss = c->kernel_ss | 3;        /* the guest kernel runs at RPL 3 (Xen's fixup) */
    p->kernel_sp = c->kernel_sp;
    p->callback[CALLBACKTYPE_event] = c->event_callback_eip;
    p->callback[CALLBACKTYPE_failsafe] = c->failsafe_callback_eip;
    p->callback[CALLBACKTYPE_syscall] = c->syscall_callback_eip;
    if (c->flags & VGCF_failsafe_disables_events)
        p->callback_flags[CALLBACKTYPE_failsafe] = CALLBACKF_mask_events;
    if (c->flags & VGCF_syscall_disables_events)
        p->callback_flags[CALLBACKTYPE_syscall] = CALLBACKF_mask_events;
    p->fs_base = c->fs_base;
    p->gs_base_kernel = c->gs_base_kernel;
    p->gs_base_user = c->gs_base_user;
    for (unsigned int i = 0; i < 4; i++)
        p->dr[i] = c->debugreg[i];
    p->dr[6] = (c->debugreg[6] & 0xffffffffULL) | 0xffff0ff0ULL;
    p->dr[7] = c->debugreg[7] | 0x400ULL;
    p->user_mode = !(c->flags & VGCF_in_kernel);
}

/* The vCPU's base pointers and LDT through the validator, as the vCPU's
   own mmuext_op would set them. */
static long ctx_paging(struct vcpu *v, const struct vcpu_guest_context *c)
{
    struct mmuext_op ops[3] = {
        { .cmd = MMUEXT_NEW_BASEPTR, .arg1.mfn = c->ctrlreg[3] >> PAGE_SHIFT },
        { .cmd = MMUEXT_NEW_USER_BASEPTR, .arg1.mfn = c->ctrlreg[1] >> PAGE_SHIFT },
        { .cmd = MMUEXT_SET_LDT, .arg1.linear_addr = c->ldt_base,
          .arg2.nr_ents = (unsigned int)c->ldt_ents },
    };
    struct pv_mm *mm = &pv_domain_of(v->domain)->mm;
    int rc = pv_mmuext_op(mm, v->vcpu_id, ops, c->ldt_ents ? 3 : 2, NULL, DOMID_SELF);

    if (rc) {
        printk(LOG_DEBUG "d%u v%u: VCPUOP_initialise: page tables refused: %s\n",
               v->domain->domain_id, v->vcpu_id, mm->why ? mm->why : "?");
        spin_lock(&mm->lock);
        pv_drop_baseptrs(mm, v->vcpu_id);
        spin_unlock(&mm->lock);
        return -EINVAL;
    }
    return 0;
}

/* d->lock held, v not initialised and not running. */
static long initialise_locked(struct vcpu *v, const struct vcpu_guest_context *c)
{
    const char *why = NULL;
    struct pv_vcpu *p;
    long rc;

    if (pv_vcpu_ctx_check(c, &why)) {
        printk(LOG_DEBUG "d%u v%u: VCPUOP_initialise refused: %s\n", v->domain->domain_id,
               v->vcpu_id, why);
        return -EINVAL;
    }
    if (!(p = pv_vcpu_alloc()))
        return -ENOMEM;
    ctx_to_pv(p, c);
    v->vendor = p;                          /* pv_set_gdt_frames works on pvv(v) */
    rc = pv_set_gdt_frames(v, c->gdt_frames, c->gdt_ents);
    if (!rc)
        rc = ctx_paging(v, c);
    if (rc) {
        pv_vcpu_free(v);                    /* its GDT references too */
        return rc;
    }
    return 0;
}

static long initialise(struct vcpu *caller, struct vcpu *v, uint64_t arg)
{
    struct vcpu_guest_context *c = xmalloc(sizeof(*c));
    struct domain *d = v->domain;
    long rc;

    if (!c)
        return -ENOMEM;
    if (copy_from_guest(caller, c, arg, sizeof(*c))) {
        xfree(c);
        return -EFAULT;
    }
    spin_lock(&d->lock);
    rc = v->vendor ? -EEXIST : initialise_locked(v, c);
    spin_unlock(&d->lock);
    xfree(c);
    return rc;
}

static long vcpu_up(struct vcpu *v)
{
    if (!v->vendor)
        return -EINVAL;                     /* Xen: not initialised */
    if (!__atomic_exchange_n(&v->is_up, true, __ATOMIC_ACQ_REL))
        sched_add_vcpu(v);                  /* runnable; back in its place if it was before */
    return 0;
}

static long vcpu_down(struct vcpu *v)
{
    struct domain *d = v->domain;
    bool others = false;

    for (unsigned int i = 0; i < d->max_vcpus && i < MAX_VCPUS_PER_DOM; i++)
        if (i != v->vcpu_id && d->vcpu[i] && __atomic_load_n(&d->vcpu[i]->is_up, __ATOMIC_ACQUIRE))
            others = true;
    if (!others) {
        domain_shutdown(d, SHUTDOWN_poweroff);  /* Xen: the last vCPU going down */
        return 0;
    }
    __atomic_store_n(&v->is_up, false, __ATOMIC_RELEASE);  /* the scheduler skips it */
    return 0;
}

long pv_vcpu_op(struct vcpu *v, uint64_t cmd, uint64_t vcpuid, uint64_t arg)
{
    struct domain *d = v->domain;
    uint32_t id = (uint32_t)vcpuid;        /* Xen takes an unsigned int */
    struct hcall h = { .arg = { cmd, vcpuid, arg } };

    switch ((int)cmd) {
    case VCPUOP_register_vcpu_info:
    case VCPUOP_initialise:
    case VCPUOP_up:
    case VCPUOP_down:
        break;
    default:
        return do_vcpu_op(v, &h);
    }
    if (id >= d->max_vcpus || id >= MAX_VCPUS_PER_DOM || !d->vcpu[id])
        return -ENOENT;
    block_speculation();
    switch ((int)cmd) {
    case VCPUOP_initialise:
        return initialise(v, d->vcpu[id], arg);
    case VCPUOP_up:
        return vcpu_up(d->vcpu[id]);
    case VCPUOP_down:
        return vcpu_down(d->vcpu[id]);
    default:
        return register_vcpu_info(v, d->vcpu[id], arg);
    }
}

/* Drops the references register_vcpu_info took (the domain is going:
   before pv_mm_teardown, which would otherwise find the frames held). */
void pv_vcpu_info_release(struct domain *d)
{
    struct pv_domain *pd = pv_domain_of(d);

    for (unsigned int i = 0; pd && i < d->max_vcpus && i < MAX_VCPUS_PER_DOM; i++) {
        struct vcpu *v = d->vcpu[i];
        mfn_t mfn;

        if (!v || !v->vcpu_info_maddr)
            continue;
        mfn = v->vcpu_info_maddr >> PAGE_SHIFT;
        v->vcpu_info = d->shared_info && i < XEN_LEGACY_MAX_VCPUS ? &d->shared_info->vcpu_info[i]
                                                                  : NULL;
        v->vcpu_info_maddr = 0;
        spin_lock(&pd->mm.lock);
        pv_put_page_and_type(&pd->mm, mfn_to_page(mfn));
        spin_unlock(&pd->mm.lock);
    }
}
