/*
 * PV segment descriptors (pv_internal.h): HYPERVISOR_set_gdt and
 * update_descriptor, the guest's GDT in the CPU's PV GDT while it runs,
 * SEGBASE_GS_USER_SEL and the failsafe callback, as Xen 4.17 does them for
 * 64-bit PV guests (xen/arch/x86/pv/descriptor-tables.c, do_set_segment_base,
 * load_segments). The checks themselves are pure, in pv_desc.c.
 *
 * Xen maps the guest's GDT frames into the GDT the CPU uses; here each CPU
 * has one PV GDT (pv_run.c) into which the running vCPU's entries are
 * copied, except the slots the hypervisor keeps (pv_desc.h). A CPU
 * remembers whose GDT it holds by a generation number that every change of
 * a vCPU's GDT renews, so an unchanged GDT is not copied again.
 *
 * Not yet: a GDT changed by update_descriptor while its vCPU runs on
 * another CPU is seen there only at that vCPU's next pv_run (a PV
 * domain's vCPUs all run on CPU 0 today); no LDT.
 */
#include "pv_internal.h"
#include "pv_desc.h"
#include <proxenos/io.h>
#include <proxenos/lib.h>
#include <proxenos/mm.h>
#include <proxenos/printk.h>
#include <xen/callback.h>

/* What a CPU's PV GDT holds. Touched only by the CPU itself, in pv_run or
   in a hypercall of the vCPU running there. */
struct gdt_cpu {
    uint64_t *gdt;                  /* the PV GDT pv_run gave (NULL: not yet) */
    uint64_t gen;                   /* the gdt_gen of the guest entries in it */
    unsigned int ents;              /* how many guest entries it holds */
};

static struct gdt_cpu gdt_cpu[MAX_CPUS];
static uint64_t gdt_gen_last;       /* [A] generations handed out */

#ifndef HOST_TEST
/* The seams to the CPU (pv_desc.h); host tests bring their own. */
unsigned int pv_desc_cpu(void)
{
    return smp_processor_id();
}

/* MOV to %gs at CPL 0 replaces the hypervisor's GS base: put back. */
void pv_desc_load_gs(uint16_t sel)
{
    uint64_t flags = local_irq_save(), hv_base = rdmsr(MSR_GS_BASE);

    __asm__ volatile("mov %0, %%gs" :: "r"((uint32_t)sel) : "memory");
    wrmsr(MSR_GS_BASE, hv_base);
    local_irq_restore(flags);
}

void pv_desc_read_sels(uint64_t sel[4])
{
    uint16_t s;

    __asm__ volatile("mov %%ds, %0" : "=r"(s));
    sel[0] = s;
    __asm__ volatile("mov %%es, %0" : "=r"(s));
    sel[1] = s;
    __asm__ volatile("mov %%fs, %0" : "=r"(s));
    sel[2] = s;
    __asm__ volatile("mov %%gs, %0" : "=r"(s));
    sel[3] = s;
}
#endif

static struct gdt_cpu *gdt_here(void)
{
    return &gdt_cpu[pv_desc_cpu()];
}

static void gdt_renew(struct pv_vcpu *p)
{
    __atomic_store_n(&p->gdt_gen, __atomic_add_fetch(&gdt_gen_last, 1, __ATOMIC_RELAXED),
                     __ATOMIC_RELAXED);
}

static unsigned int gdt_nr_frames(unsigned int ents)
{
    return (ents + PV_GDT_ENTRIES_PER_FRAME - 1) / PV_GDT_ENTRIES_PER_FRAME;
}

void pv_load_gdt(struct vcpu *v, uint64_t *cpu_gdt)
{
    struct pv_vcpu *p = pvv(v);
    struct gdt_cpu *c = gdt_here();
    const uint64_t *frames[PV_GDT_MAX_FRAMES];
    unsigned int nr = gdt_nr_frames(p->gdt_ents);

    if (c->gdt == cpu_gdt && c->gen == p->gdt_gen)
        return;
    for (unsigned int f = 0; f < nr; f++)
        frames[f] = pv_map_frame(p->gdt_frames[f]);
    pv_gdt_copy(cpu_gdt, frames, p->gdt_ents, c->gdt == cpu_gdt ? c->ents : 0);
    c->gdt = cpu_gdt;
    c->gen = p->gdt_gen;
    c->ents = p->gdt_ents;
}

/* The vCPU's GDT changed while it runs here (its own hypercall): the CPU's
   copy follows before the guest resumes. */
static void gdt_reload_here(struct vcpu *v)
{
    struct gdt_cpu *c = gdt_here();

    if (pvv(v)->running && c->gdt)
        pv_load_gdt(v, c->gdt);
}

static void put_frames(struct pv_mm *mm, const mfn_t *frames, unsigned int nr)
{
    for (unsigned int i = 0; i < nr; i++)
        pv_put_segdesc_page(mm, frames[i]);
}

/* Xen's validation leaves each descriptor fixed up in the guest's frame
   (DPL 3, call gates DPL 0): the same here, under the lock that orders
   descriptor writes. Idempotent for frames validated before. */
static void fixup_frames(struct pv_mm *mm, const mfn_t *frames, unsigned int nr)
{
    spin_lock(&mm->lock);
    for (unsigned int f = 0; f < nr; f++) {
        uint64_t *descs = pv_map_frame(frames[f]);

        for (unsigned int i = 0; i < PV_GDT_ENTRIES_PER_FRAME; i++) {
            uint64_t d = descs[i];

            if (pv_desc_check(&d) && d != descs[i])
                __atomic_store_n(&descs[i], d, __ATOMIC_RELAXED);
        }
    }
    spin_unlock(&mm->lock);
}

/* HYPERVISOR_set_gdt(frame_list, entries): Xen's do_set_gdt. Every error
   of a frame is -EINVAL, as in Xen; the old GDT is kept then. */
long pv_set_gdt(struct vcpu *v, uint64_t frame_list, uint64_t entries)
{
    xen_ulong_t list[PV_GDT_MAX_FRAMES];

    if (entries > PV_GDT_FIRST_RESERVED)
        return -EINVAL;
    if (pv_copy_linear(v, list, frame_list, gdt_nr_frames((unsigned int)entries) * sizeof(list[0]),
                       false))
        return -EFAULT;
    return pv_set_gdt_frames(v, list, entries);
}

long pv_set_gdt_frames(struct vcpu *v, const xen_ulong_t *list, uint64_t entries)
{
    struct pv_vcpu *p = pvv(v);
    struct pv_mm *mm = &pv_domain_of(v->domain)->mm;
    mfn_t frames[PV_GDT_MAX_FRAMES];
    unsigned int nr, i, old_nr = gdt_nr_frames(p->gdt_ents);

    if (entries > PV_GDT_FIRST_RESERVED)
        return -EINVAL;
    nr = gdt_nr_frames((unsigned int)entries);
    for (i = 0; i < nr; i++) {
        frames[i] = list[i];            /* a PV guest names machine frames */
        if (pv_get_segdesc_page(mm, frames[i])) {
            printk(LOG_DEBUG "d%u v%u: set_gdt: frame %#lx refused: %s\n",
                   v->domain->domain_id, v->vcpu_id, frames[i], mm->why ? mm->why : "?");
            put_frames(mm, frames, i);
            return -EINVAL;
        }
    }
    fixup_frames(mm, frames, nr);
    put_frames(mm, p->gdt_frames, old_nr);
    memset(p->gdt_frames, 0, sizeof(p->gdt_frames));
    memcpy(p->gdt_frames, frames, nr * sizeof(frames[0]));
    p->gdt_ents = (unsigned int)entries;
    gdt_renew(p);
    gdt_reload_here(v);
    return 0;
}

void pv_drop_gdt(struct vcpu *v)
{
    struct pv_vcpu *p = pvv(v);
    struct pv_domain *pd = pv_domain_of(v->domain);

    if (pd)
        put_frames(&pd->mm, p->gdt_frames, gdt_nr_frames(p->gdt_ents));
    memset(p->gdt_frames, 0, sizeof(p->gdt_frames));
    p->gdt_ents = 0;
    gdt_renew(p);
}

bool pv_iret_selectors_ok(uint64_t cs, uint64_t ss)
{
    struct gdt_cpu *c = gdt_here();

    return c->gdt && pv_iret_sels_ok(c->gdt, (PV_GDT_LIMIT + 1) / 8, (uint16_t)cs, (uint16_t)ss);
}

/* Descriptor `slot` of frame mfn changed to d: every vCPU of the domain
   whose GDT holds it gets a new generation; the one running here patches
   its CPU's copy in place when that copy was current. */
static void gdt_frame_written(struct vcpu *v, mfn_t mfn, unsigned int slot, uint64_t d)
{
    struct domain *dom = v->domain;
    struct gdt_cpu *c = gdt_here();

    for (unsigned int i = 0; i < dom->max_vcpus; i++) {
        struct vcpu *u = dom->vcpu[i];
        struct pv_vcpu *q = u ? pvv(u) : NULL;

        for (unsigned int f = 0; q && f < gdt_nr_frames(q->gdt_ents); f++) {
            unsigned int idx = f * PV_GDT_ENTRIES_PER_FRAME + slot;
            uint64_t old = q->gdt_gen;

            if (q->gdt_frames[f] != mfn || idx >= q->gdt_ents)
                continue;
            gdt_renew(q);
            if (u != v || !q->running || c->gen != old || !c->gdt)
                continue;
            if (!pv_gdt_slot_reserved(idx))
                c->gdt[idx] = d;
            c->gen = q->gdt_gen;
        }
    }
}

/* HYPERVISOR_update_descriptor(ma, desc): Xen's do_update_descriptor. The
   frame keeps its type: a descriptor page stays one (the write is checked
   like its validation was), any other frame must be able to take a
   writable reference (not a page table). */
long pv_update_descriptor(struct vcpu *v, uint64_t maddr, uint64_t desc)
{
    struct pv_mm *mm = &pv_domain_of(v->domain)->mm;
    mfn_t mfn = maddr >> PAGE_SHIFT;
    unsigned int slot = (maddr & (PAGE_SIZE - 1)) / 8;
    uint64_t type;
    int rc;

    if ((maddr & 7) || !pv_desc_check(&desc) || !mfn_valid(mfn))
        return -EINVAL;
    spin_lock(&mm->lock);
    type = (__atomic_load_n(&mfn_to_page(mfn)->type_info, __ATOMIC_ACQUIRE) & PGT_type_mask) ==
           PGT_seg_desc_page ? PGT_seg_desc_page : PGT_writable_page;
    rc = mm->dying ? -EINVAL : pv_get_page_and_type(mm, mfn, type);
    if (!rc) {
        __atomic_store_n((uint64_t *)pv_map_frame(mfn) + slot, desc, __ATOMIC_RELAXED);
        pv_put_page_and_type(mm, mfn_to_page(mfn));
    }
    spin_unlock(&mm->lock);
    if (rc)
        return -EINVAL;
    if (type == PGT_seg_desc_page)
        gdt_frame_written(v, mfn, slot, desc);
    return 0;
}

/*
 * SEGBASE_GS_USER_SEL: Xen loads the selector into %gs for user mode,
 * reads the user GS base it gives, and on a fault loads a null selector
 * instead; the call itself always succeeds (Linux's xen_load_gs_index
 * BUG()s otherwise). Here the selector is checked first against the CPU's
 * PV GDT (no fault is possible then), loaded for real (the %gs selector is
 * shared by kernel and user mode, as on Xen), and the hypervisor's GS base,
 * which the load replaces, is put back. The base goes to gs_base_user.
 * An NMI between the load and the restore would see the wrong GS base.
 */
long pv_set_gs_user_sel(struct vcpu *v, uint64_t sel)
{
    struct gdt_cpu *c = gdt_here();
    uint64_t base;
    uint16_t s = pv_gs_user_sel(c->gdt, c->gdt ? (PV_GDT_LIMIT + 1) / 8 : 0, (uint16_t)sel,
                                &base);

    pv_desc_load_gs(s);
    pvv(v)->gs_base_user = base;
    return 0;
}

/*
 * The failsafe callback, with the frame of Xen's load_segments (64-bit):
 * RCX, R11, DS, ES, FS, GS, then RIP, CS, RFLAGS, RSP, SS of the context
 * that could not be resumed, on the kernel stack (stack_switch's from user
 * mode), 16-byte aligned before the 11 words. The selectors are the
 * guest's as they are loaded now: a guest (Linux's xen_failsafe_callback)
 * comparing them with its registers finds them equal and treats the
 * failure as a bad IRET (#GP). Events are masked if the callback was
 * registered with CALLBACKF_mask_events. pv_bounce builds the common part;
 * the selectors go between its R11 and RIP.
 */
bool pv_failsafe(struct vcpu *v, struct cpu_regs *r)
{
    struct pv_vcpu *p = pvv(v);
    uint64_t target = p->callback[CALLBACKTYPE_failsafe];
    uint64_t head[6] = { r->rcx, r->r11 };

    pv_desc_read_sels(&head[2]);
    if (!target) {
        domain_crash(v->domain, CRASH_HYPERVISOR,
                     "PV: context at rip %#lx cannot be resumed and no failsafe callback is "
                     "registered", r->rip);
        return false;
    }
    if (!pv_bounce(v, r, NULL, target,
                   p->callback_flags[CALLBACKTYPE_failsafe] & CALLBACKF_mask_events))
        return false;
    if (pv_copy_linear(v, head, r->rsp - 32, sizeof(head), true)) {
        domain_crash(v->domain, CRASH_HYPERVISOR, "PV failsafe callback: kernel stack at %#lx "
                     "not writable", r->rsp - 32);
        return false;
    }
    r->rsp -= 32;
    return true;
}
