/*
 * The AMD-V backend: detection, enabling SVM on each CPU, the VMCB of each
 * vCPU and the register accessors of the ops table. The world switch is in
 * svm_entry.asm, the exit dispatch in svm_exit.c.
 */
#include <proxenos/io.h>
#include <proxenos/layout.h>
#include <proxenos/lib.h>
#include <proxenos/mm.h>
#include <proxenos/printk.h>
#include "svm_private.h"

struct svm_cpu svm_cpus[MAX_CPUS];
struct svm_caps svm_caps;

/* CPUID 0x8000000A EDX (APM vol. 3, E.4.9). */
#define SVM_FEAT_NP            (1u << 0)
#define SVM_FEAT_NRIPS         (1u << 3)
#define SVM_FEAT_VMCB_CLEAN    (1u << 5)
#define SVM_FEAT_FLUSH_BY_ASID (1u << 6)
#define SVM_FEAT_DECODE_ASSIST (1u << 7)
#define SVM_FEAT_PAUSE_FILTER  (1u << 10)

#define IOPM_ORDER  2      /* 12 KiB used of 16 KiB (APM 15.10.1) */
#define MSRPM_ORDER 1      /* 8 KiB (APM 15.11) */

static int svm_cpu_up(void)
{
    struct svm_cpu *c = &svm_cpus[smp_processor_id()];

    if (c->up)
        return 0;
    c->hsave_pa = alloc_frames(0);
    c->host_vmsave_pa = alloc_frames(0);
    if (!c->hsave_pa || !c->host_vmsave_pa)
        return -ENOMEM;
    memset(__va(c->hsave_pa), 0, PAGE_SIZE);
    memset(__va(c->host_vmsave_pa), 0, PAGE_SIZE);
    wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SVME);
    wrmsr(MSR_VM_HSAVE_PA, c->hsave_pa);
    c->next_asid = 1;
    c->asid_generation = 1;
    c->up = true;
    return 0;
}

/* MSRs whose guest copies live in the VMCB and move with VMLOAD/VMSAVE or
   VMRUN itself: the guest reads and writes them directly (APM 15.11). */
static const uint32_t passthrough_msrs[] = {
    MSR_FS_BASE, MSR_GS_BASE, MSR_KERNEL_GS_BASE, 0xc0000081 /* STAR */,
    0xc0000082 /* LSTAR */, 0xc0000083 /* CSTAR */, 0xc0000084 /* SFMASK */,
    0x174 /* SYSENTER_CS */, 0x175 /* SYSENTER_ESP */, 0x176 /* SYSENTER_EIP */,
};

/* The MSR permission map: 2 bits per MSR (read, write) in three 2 KiB
   ranges: 0-0x1fff, 0xc0000000-0xc0001fff, 0xc0010000-0xc0011fff. */
/* Clears the read (bit 0) and/or write (bit 1) intercept of an MSR. */
static void msrpm_clear(uint8_t *msrpm, uint32_t msr, unsigned int bits)
{
    uint32_t base;

    if (msr < 0x2000)
        base = 0;
    else if (msr >= 0xc0000000 && msr < 0xc0002000)
        base = 0x800, msr -= 0xc0000000;
    else if (msr >= 0xc0010000 && msr < 0xc0012000)
        base = 0x1000, msr -= 0xc0010000;
    else
        return;
    msrpm[base + msr / 4] &= ~(bits << ((msr % 4) * 2));
}

static void vmcb_init(struct vcpu *v, struct svm_vcpu *s)
{
    struct vmcb *vmcb = s->vmcb;
    const struct segment_register flat_code = { 0xf000, 0x9b, 0xffff, 0xffff0000 };

    vmcb->intercepts1 = SVM_INTERCEPT_INTR | SVM_INTERCEPT_NMI | SVM_INTERCEPT_SMI |
                        SVM_INTERCEPT_INIT | SVM_INTERCEPT_CPUID | SVM_INTERCEPT_HLT |
                        SVM_INTERCEPT_INVLPGA | SVM_INTERCEPT_IOIO_PROT |
                        SVM_INTERCEPT_MSR_PROT | SVM_INTERCEPT_TASK_SWITCH |
                        SVM_INTERCEPT_SHUTDOWN;
    vmcb->intercepts2 = SVM_INTERCEPT_VMRUN | SVM_INTERCEPT_VMMCALL | SVM_INTERCEPT_VMLOAD |
                        SVM_INTERCEPT_VMSAVE | SVM_INTERCEPT_STGI | SVM_INTERCEPT_CLGI |
                        SVM_INTERCEPT_SKINIT | SVM_INTERCEPT_MONITOR | SVM_INTERCEPT_MWAIT;
    vmcb->iopm_base_pa = __pa(s->iopm);
    vmcb->msrpm_base_pa = __pa(s->msrpm);
    vmcb->np_enable = 1;
    vmcb->n_cr3 = v->domain->p2m.root;
    /* V_INTR_MASKING: the guest's IF masks only virtual interrupts; host
       interrupts always exit (APM 15.21.1). */
    vmcb->vintr = 1ull << 24;
    /* Architectural reset state (APM vol. 2, 14.1.3); builders override it. */
    vmcb->cs = (struct vmcb_seg){ flat_code.sel, flat_code.attr, flat_code.limit, flat_code.base };
    vmcb->ds = vmcb->es = vmcb->ss = vmcb->fs = vmcb->gs =
        (struct vmcb_seg){ 0, 0x93, 0xffff, 0 };
    vmcb->gdtr.limit = vmcb->idtr.limit = 0xffff;
    vmcb->ldtr = (struct vmcb_seg){ 0, 0x82, 0xffff, 0 };
    vmcb->tr = (struct vmcb_seg){ 0, 0x8b, 0xffff, 0 };
    vmcb->cr0 = 0x60000010;            /* CD, NW, ET */
    vmcb->efer = EFER_SVME;            /* VMRUN requires it (APM 15.5.1) */
    vmcb->rflags = 0x2;
    vmcb->rip = 0xfff0;
    vmcb->dr6 = 0xffff0ff0;
    vmcb->dr7 = 0x400;
    vmcb->g_pat = 0x0007040600070406ull;
}

static int svm_vcpu_init(struct vcpu *v)
{
    struct svm_vcpu *s = xzalloc(sizeof(*s));

    if (!s)
        return -ENOMEM;
    s->vmcb = alloc_pages(0);
    s->iopm = alloc_pages(IOPM_ORDER);
    s->msrpm = alloc_pages(MSRPM_ORDER);
    if (!s->vmcb || !s->iopm || !s->msrpm) {
        v->vendor = s;
        return -ENOMEM;
    }
    memset(s->vmcb, 0, PAGE_SIZE);
    memset(s->iopm, 0xff, PAGE_SIZE << IOPM_ORDER);    /* every port exits */
    memset(s->msrpm, 0xff, PAGE_SIZE << MSRPM_ORDER);  /* every MSR exits ... */
    for (size_t i = 0; i < ARRAY_SIZE(passthrough_msrs); i++)
        msrpm_clear(s->msrpm, passthrough_msrs[i], 3); /* ... but these */
    /* PAT stays intercepted: the generic MSR code validates writes and
       answers reads from its copy, and G_PAT (switched by VMRUN with NPT)
       follows it, because not every CPU model checks or switches it. */
    s->vmcb_pa = __pa(s->vmcb);
    s->last_cpu = -1;
    v->vendor = s;
    vmcb_init(v, s);
    return 0;
}

static void svm_vcpu_destroy(struct vcpu *v)
{
    struct svm_vcpu *s = to_svm(v);

    if (!s)
        return;
    if (s->vmcb) free_pages(s->vmcb, 0);
    if (s->iopm) free_pages(s->iopm, IOPM_ORDER);
    if (s->msrpm) free_pages(s->msrpm, MSRPM_ORDER);
    xfree(s);
    v->vendor = NULL;
}

static struct vmcb_seg *seg_of(struct vmcb *vmcb, enum hvm_seg s)
{
    struct vmcb_seg *segs[HVM_NR_SEGS] = {
        [HVM_SEG_ES] = &vmcb->es, [HVM_SEG_CS] = &vmcb->cs, [HVM_SEG_SS] = &vmcb->ss,
        [HVM_SEG_DS] = &vmcb->ds, [HVM_SEG_FS] = &vmcb->fs, [HVM_SEG_GS] = &vmcb->gs,
        [HVM_SEG_TR] = &vmcb->tr, [HVM_SEG_LDTR] = &vmcb->ldtr,
        [HVM_SEG_GDTR] = &vmcb->gdtr, [HVM_SEG_IDTR] = &vmcb->idtr,
    };
    return segs[s];
}

static void svm_get_segment(struct vcpu *v, enum hvm_seg s, struct segment_register *r)
{
    const struct vmcb_seg *vs = seg_of(to_svm(v)->vmcb, s);

    *r = (struct segment_register){ vs->sel, vs->attr, vs->limit, vs->base };
}

static void svm_set_segment(struct vcpu *v, enum hvm_seg s, const struct segment_register *r)
{
    struct vmcb *vmcb = to_svm(v)->vmcb;

    *seg_of(vmcb, s) = (struct vmcb_seg){ r->sel, r->attr, r->limit, r->base };
    if (s == HVM_SEG_SS)
        vmcb->cpl = SEG_ATTR_DPL(r->attr);   /* VMRUN takes CPL from here */
}

static uint64_t svm_get_cr(struct vcpu *v, unsigned int cr)
{
    const struct vmcb *vmcb = to_svm(v)->vmcb;

    switch (cr) {
    case 0: return vmcb->cr0;
    case 2: return vmcb->cr2;
    case 3: return vmcb->cr3;
    case 4: return vmcb->cr4;
    default: return 0;
    }
}

static void svm_set_cr(struct vcpu *v, unsigned int cr, uint64_t val)
{
    struct vmcb *vmcb = to_svm(v)->vmcb;

    switch (cr) {
    case 0: vmcb->cr0 = val; break;
    case 2: vmcb->cr2 = val; break;
    case 3: vmcb->cr3 = val; v->needs_flush = true; break;
    case 4: vmcb->cr4 = val; v->needs_flush = true; break;
    }
}

/* The guest never sees EFER.SVME, and can never clear it. */
static uint64_t svm_get_efer(struct vcpu *v)
{
    return to_svm(v)->vmcb->efer & ~(uint64_t)EFER_SVME;
}

static void svm_set_efer(struct vcpu *v, uint64_t efer)
{
    to_svm(v)->vmcb->efer = efer | EFER_SVME;
}

static void svm_set_pat(struct vcpu *v, uint64_t pat)
{
    to_svm(v)->vmcb->g_pat = pat;
}

static bool svm_inject_event(struct vcpu *v, const struct hvm_event *e)
{
    struct vmcb *vmcb = to_svm(v)->vmcb;

    if (vmcb->eventinj & SVM_EVTINJ_VALID)
        return false;
    vmcb->eventinj = e->vector | ((uint64_t)e->type << SVM_EVTINJ_TYPE_SHIFT) |
                     SVM_EVTINJ_VALID |
                     (e->has_error_code ? SVM_EVTINJ_EV | ((uint64_t)e->error_code << 32) : 0);
    return true;
}

static bool svm_interrupt_window(struct vcpu *v)
{
    struct vmcb *vmcb = to_svm(v)->vmcb;

    if ((vmcb->rflags & X86_FLAGS_IF) && !(vmcb->interrupt_shadow & 1) &&
        !(vmcb->eventinj & SVM_EVTINJ_VALID))
        return true;
    /* A virtual interrupt request makes the CPU exit (VINTR) as soon as the
       guest can take it (APM 15.21.4). */
    vmcb->vintr |= (1ull << 8) | (0xfull << 16);
    vmcb->intercepts1 |= SVM_INTERCEPT_VINTR;
    return false;
}

static struct hvm_function_table svm_ops = {
    .name = "SVM",
    .hap = true,
    .hypercall_insn = { 0x0f, 0x01, 0xd9 },  /* VMMCALL */
    .p2m_format = &npt_format,
    .cpu_up = svm_cpu_up,
    .vcpu_init = svm_vcpu_init,
    .vcpu_destroy = svm_vcpu_destroy,
    .run = svm_run,
    .get_segment = svm_get_segment,
    .set_segment = svm_set_segment,
    .get_cr = svm_get_cr,
    .set_cr = svm_set_cr,
    .get_efer = svm_get_efer,
    .set_efer = svm_set_efer,
    .set_pat = svm_set_pat,
    .inject_event = svm_inject_event,
    .interrupt_window = svm_interrupt_window,
    .dump = svm_dump,
};

const struct hvm_function_table *svm_probe(void)
{
    uint32_t a, b, c, d;

    cpuid(0x80000000, &a, &b, &c, &d);
    if (a < 0x8000000a) {
        printk("SVM: not available (no CPUID leaf 0x8000000a)\n");
        return NULL;
    }
    cpuid(0x80000001, &a, &b, &c, &d);
    if (!(c & (1u << 2))) {
        printk("SVM: not available (CPUID 0x80000001 ECX.SVM clear)\n");
        return NULL;
    }
    if (rdmsr(MSR_VM_CR) & VM_CR_SVMDIS) {
        printk(LOG_WARN "SVM: disabled by the firmware (VM_CR.SVMDIS)\n");
        return NULL;
    }
    cpuid(0x8000000a, &a, &b, &c, &d);
    if (!(d & SVM_FEAT_NP)) {
        printk(LOG_WARN "SVM: the CPU has no nested paging, which Proxenos requires\n");
        return NULL;
    }
    svm_caps = (struct svm_caps){
        .nr_asids = b, .nrip = d & SVM_FEAT_NRIPS, .flush_by_asid = d & SVM_FEAT_FLUSH_BY_ASID,
        .pause_filter = d & SVM_FEAT_PAUSE_FILTER, .vmcb_clean = d & SVM_FEAT_VMCB_CLEAN,
        .decode_assists = d & SVM_FEAT_DECODE_ASSIST,
    };
    if (svm_caps.nr_asids < 2) {
        printk(LOG_WARN "SVM: %u ASIDs: at least 2 are needed\n", svm_caps.nr_asids);
        return NULL;
    }
    svm_ops.nrip = svm_caps.nrip;
    svm_ops.tagged_tlb_flush = svm_caps.flush_by_asid;
    svm_ops.unrestricted_guest = true;   /* SVM runs paging-off and real mode natively */
    printk("SVM: revision %u, %u ASIDs, features %#x\n", a & 0xff, svm_caps.nr_asids, d);
    return &svm_ops;
}
