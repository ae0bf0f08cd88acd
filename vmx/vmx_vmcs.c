/*
 * The VMCS of each vCPU: allocation, activation on a CPU (VMCLEAR /
 * VMPTRLD, SDM vol. 3C, 24.1 and 24.11), the control fields, the host
 * state, the initial guest state, the segment accessors of the ops table
 * and the MSRs that VMX does not switch.
 */
#include <proxenos/io.h>
#include <proxenos/layout.h>
#include <proxenos/lib.h>
#include <proxenos/mm.h>
#include <proxenos/printk.h>
#include <proxenos/smp.h>
#include <proxenos/spinlock.h>
#include "vmx_ar.h"
#include "vmx_private.h"

#define MSR_STAR           0xc0000081
#define MSR_LSTAR          0xc0000082
#define MSR_CSTAR          0xc0000083
#define MSR_SFMASK         0xc0000084
#define MSR_SYSENTER_CS    0x174
#define MSR_SYSENTER_ESP   0x175
#define MSR_SYSENTER_EIP   0x176
#define XSS_EXIT_BITMAP    0x202c      /* SDM B.2.1, used with "enable XSAVES" */

/*
 * STAR/LSTAR/CSTAR/SFMASK/KERNEL_GS_BASE are neither in the VMCS nor
 * switched by entry or exit (SDM 26.3.2.1, 27.5.1). The guest reads and
 * writes them directly (MSR bitmap); their guest values stay in the CPU
 * while the host runs, since the hypervisor uses none of them (no SYSCALL,
 * and SWAPGS only on traps from CPL 3, which HVM guests never raise on the
 * host). They are swapped only when another vCPU enters on this CPU, or
 * when the vCPU is torn down or moves away (host values put back).
 */
const uint32_t vmx_lazy_msrs[5] = {
    MSR_STAR, MSR_LSTAR, MSR_CSTAR, MSR_SFMASK, MSR_KERNEL_GS_BASE,
};

/* MSRs the guest accesses without exits: their guest copies are in the
   VMCS (FS/GS base, SYSENTER: SDM 24.4.1; PAT with save/load PAT) or
   lazily switched (above). */
static const uint32_t passthrough_msrs[] = {
    MSR_FS_BASE, MSR_GS_BASE, MSR_KERNEL_GS_BASE, MSR_STAR, MSR_LSTAR, MSR_CSTAR,
    MSR_SFMASK, MSR_SYSENTER_CS, MSR_SYSENTER_ESP, MSR_SYSENTER_EIP, MSR_PAT,
};

#define IO_BITMAP_ORDER 1              /* bitmaps A and B (SDM 24.6.4) */

/* --- VPIDs: 1..65535, 0 is the host's (SDM 28.1) --------------------------- */
static uint64_t vpid_map[65536 / 64];
static spinlock_t vpid_lock = SPINLOCK_INIT;

static uint16_t vpid_alloc(void)
{
    uint16_t vpid = 0;

    spin_lock(&vpid_lock);
    for (unsigned int i = 1; i < 65536 && !vpid; i++) {
        if (!(vpid_map[i / 64] & (1ull << (i % 64)))) {
            vpid_map[i / 64] |= 1ull << (i % 64);
            vpid = i;
        }
    }
    spin_unlock(&vpid_lock);
    return vpid;
}

static void vpid_free(uint16_t vpid)
{
    spin_lock(&vpid_lock);
    vpid_map[vpid / 64] &= ~(1ull << (vpid % 64));
    spin_unlock(&vpid_lock);
}

/* --- the MSRs VMX does not switch ------------------------------------------ */
static void lazy_msrs_put(struct vmx_cpu *c)
{
    struct vcpu *owner = c->msr_owner;

    if (!owner)
        return;
    for (unsigned int i = 0; i < ARRAY_SIZE(vmx_lazy_msrs); i++) {
        to_vmx(owner)->lazy_msrs[i] = rdmsr(vmx_lazy_msrs[i]);
        wrmsr(vmx_lazy_msrs[i], c->host_msrs[i]);
    }
    c->msr_owner = NULL;
}

void vmx_lazy_msrs_switch(struct vcpu *v)
{
    struct vmx_cpu *c = &vmx_cpus[smp_processor_id()];

    if (c->msr_owner == v)
        return;
    lazy_msrs_put(c);
    for (unsigned int i = 0; i < ARRAY_SIZE(vmx_lazy_msrs); i++)
        wrmsr(vmx_lazy_msrs[i], to_vmx(v)->lazy_msrs[i]);
    c->msr_owner = v;
}

/* --- activation -------------------------------------------------------------- */

/* Runs on the CPU where the VMCS is active: writes it back to memory and
   makes it inactive (SDM 24.11.1: "No VMCS should ever be active on more
   than one logical processor"), and gives the CPU its own MSRs back. */
static void vmx_deactivate_here(void *data)
{
    struct vcpu *v = data;
    struct vmx_vcpu *s = to_vmx(v);
    struct vmx_cpu *c = &vmx_cpus[smp_processor_id()];

    if (c->msr_owner == v)
        lazy_msrs_put(c);
    if (s->active_cpu == (int)smp_processor_id()) {
        vmclear(s->vmcs_pa);
        if (c->current == s)
            c->current = NULL;
        s->active_cpu = -1;
        s->launched = false;         /* VMCLEAR: the next entry is a VMLAUNCH */
    }
}

/* Makes the VMCS inactive wherever it is; true when that worked. */
static bool vmx_deactivate(struct vcpu *v)
{
    int cpu = to_vmx(v)->active_cpu;

    if (cpu < 0 || cpu == (int)smp_processor_id()) {
        vmx_deactivate_here(v);
        return true;
    }
    /* The cross-CPU call needs interrupts on (smp.h); the vCPU is not
       running anywhere while its own CPU thread is here. */
    bool irqs_were_on = read_rflags() & X86_FLAGS_IF;
    local_irq_enable();
    int rc = smp_call_function_single(cpu, vmx_deactivate_here, v);
    if (!irqs_were_on)
        local_irq_disable();
    return rc == 0;
}

struct desc_ptr { uint16_t limit; uint64_t base; } __packed;

static uint16_t read_sel(int which)
{
    uint16_t s = 0;

    switch (which) {
    case 0: __asm__ volatile("mov %%cs, %0" : "=r"(s)); break;
    case 1: __asm__ volatile("mov %%ss, %0" : "=r"(s)); break;
    case 2: __asm__ volatile("mov %%ds, %0" : "=r"(s)); break;
    case 3: __asm__ volatile("mov %%es, %0" : "=r"(s)); break;
    case 4: __asm__ volatile("str %0" : "=r"(s)); break;
    }
    return s;
}

/* Host state of this CPU (SDM 24.5, checked by 26.2.2-26.2.4): the state
   VM exits load. RSP is written by vmx_entry.asm at each entry, CR3 by
   vmx_run. Exits set the GDTR and IDTR limits to 0xffff and the TR limit
   to 0x67 (SDM 27.5.2): the IDT and the TSS are that large or smaller, and
   the hypervisor loads no selector beyond its GDT, so they are not
   reloaded. */
static void vmx_write_host_state(void)
{
    struct percpu *pc = this_cpu();
    struct desc_ptr idtr;

    __asm__ volatile("sidt %0" : "=m"(idtr));
    vmwrite(HOST_CR0, read_cr0());
    vmwrite(HOST_CR3, read_cr3());
    vmwrite(HOST_CR4, read_cr4());
    vmwrite(HOST_CS_SEL, read_sel(0));
    vmwrite(HOST_SS_SEL, read_sel(1));
    vmwrite(HOST_DS_SEL, read_sel(2));
    vmwrite(HOST_ES_SEL, read_sel(3));
    vmwrite(HOST_FS_SEL, 0);
    vmwrite(HOST_GS_SEL, 0);
    vmwrite(HOST_TR_SEL, read_sel(4));          /* non-null: SDM 26.2.3 */
    vmwrite(HOST_FS_BASE, rdmsr(MSR_FS_BASE));
    vmwrite(HOST_GS_BASE, (uint64_t)pc);        /* this_cpu() reads %gs:0 */
    vmwrite(HOST_TR_BASE, (uint64_t)&pc->tss);
    vmwrite(HOST_GDTR_BASE, (uint64_t)pc->gdt);
    vmwrite(HOST_IDTR_BASE, idtr.base);
    vmwrite(HOST_SYSENTER_CS, rdmsr(MSR_SYSENTER_CS));
    vmwrite(HOST_SYSENTER_ESP, rdmsr(MSR_SYSENTER_ESP));
    vmwrite(HOST_SYSENTER_EIP, rdmsr(MSR_SYSENTER_EIP));
    vmwrite(HOST_EFER, rdmsr(MSR_EFER));
    vmwrite(HOST_PAT, rdmsr(MSR_PAT));
    vmwrite(HOST_RIP, (uint64_t)vmx_exit_stub);
}

void vmx_flush_ept(struct vcpu *v)
{
    /* Single-context: every combined mapping made with this EPTP, for
       every VPID (SDM 28.3.3.4, "INVEPT"). */
    if (vmx_caps.ctl.invept_single)
        invept(INVEPT_SINGLE, ept_pointer(v->domain->p2m.root));
    else
        invept(INVEPT_ALL, 0);
    to_vmx(v)->ept_stale = false;
}

/* The translations this vCPU may find on this CPU are stale: they were
   made before it last left, or by a previous owner of its VPID or of its
   domain's EPT root (SDM 28.3.3.3-28.3.3.4). */
void vmx_flush_guest_tlb(struct vcpu *v)
{
    struct vmx_vcpu *s = to_vmx(v);

    vmx_flush_ept(v);
    if (s->vpid)
        invvpid(vmx_caps.ctl.invvpid_single ? INVVPID_SINGLE : INVVPID_ALL, s->vpid, 0);
}

/* Makes v's VMCS the current one on this CPU (VMPTRLD), moving it from the
   CPU it was active on first. Every accessor of the ops table calls it. */
void vmx_load_vmcs(struct vcpu *v)
{
    struct vmx_vcpu *s = to_vmx(v);
    unsigned int cpu = smp_processor_id();
    struct vmx_cpu *c = &vmx_cpus[cpu];

    if (c->current == s)
        return;
    if (s->active_cpu >= 0 && s->active_cpu != (int)cpu && !vmx_deactivate(v))
        panic("VMX: d%u v%u: cannot VMCLEAR its VMCS on CPU %d", v->domain->domain_id,
              v->vcpu_id, s->active_cpu);
    vmptrld(s->vmcs_pa);
    c->current = s;
    if (s->active_cpu != (int)cpu) {
        s->active_cpu = cpu;
        vmx_write_host_state();
        vmx_flush_guest_tlb(v);
    }
}

/* --- building the VMCS ---------------------------------------------------------- */
static void msr_bitmap_allow(uint8_t *bm, uint32_t msr)
{
    /* Read bitmaps at 0 (low MSRs) and 1024 (0xc0000000-0xc0001fff), write
       bitmaps at 2048 and 3072 (SDM 24.6.9). */
    unsigned int base = msr < 0x2000 ? 0 : 1024;

    msr &= 0x1fff;
    bm[base + msr / 8] &= ~(1u << (msr % 8));
    bm[base + 2048 + msr / 8] &= ~(1u << (msr % 8));
}

/* CR bits the host owns (SDM 24.6.6): the fixed ones, except PE/PG with
   unrestricted guest (SDM 26.3.1.1). A guest MOV that would change one of
   them exits (vmx_cr.c); reads see the read shadow. */
uint64_t vmx_cr0_host_mask(void)
{
    return (vmx_caps.cr0_fixed0 & ~(uint64_t)(X86_CR0_PE | X86_CR0_PG)) | ~vmx_caps.cr0_fixed1;
}

uint64_t vmx_cr4_host_mask(void)
{
    return vmx_caps.cr4_fixed0 | ~vmx_caps.cr4_fixed1 | X86_CR4_VMXE;
}

static void vmx_write_controls(struct vcpu *v, struct vmx_vcpu *s)
{
    const struct vmx_controls *ctl = &vmx_caps.ctl;

    vmwrite(PIN_BASED_CONTROLS, ctl->pin);
    vmwrite(CPU_BASED_CONTROLS, ctl->proc);
    vmwrite(SECONDARY_CONTROLS, ctl->proc2);
    vmwrite(EXIT_CONTROLS, ctl->exit);
    vmwrite(ENTRY_CONTROLS, ctl->entry);
    vmwrite(EXCEPTION_BITMAP, 1u << 18);        /* #MC goes to the host (vmx_exit.c) */
    vmwrite(PF_ERROR_MASK, 0);
    vmwrite(PF_ERROR_MATCH, 0);
    vmwrite(CR3_TARGET_COUNT, 0);
    vmwrite(EXIT_MSR_STORE_COUNT, 0);
    vmwrite(EXIT_MSR_LOAD_COUNT, 0);
    vmwrite(ENTRY_MSR_LOAD_COUNT, 0);
    vmwrite(ENTRY_INTR_INFO, 0);
    vmwrite(IO_BITMAP_A, __pa(s->io_bitmap));
    vmwrite(IO_BITMAP_B, __pa(s->io_bitmap) + PAGE_SIZE);
    vmwrite(MSR_BITMAP, __pa(s->msr_bitmap));
    vmwrite(EPT_POINTER, ept_pointer(v->domain->p2m.root));
    if (ctl->vpid)
        vmwrite(VMCS_VPID, s->vpid);
    if (ctl->proc2 & CPU2_ENABLE_XSAVES)
        vmwrite(XSS_EXIT_BITMAP, 0);            /* XSAVES/XRSTORS never exit */
    vmwrite(CR0_GUEST_HOST_MASK, vmx_cr0_host_mask());
    vmwrite(CR4_GUEST_HOST_MASK, vmx_cr4_host_mask());
    vmwrite(VMCS_LINK_POINTER, ~0ull);          /* no shadow VMCS: SDM 26.3.1.5 */
}

static void set_seg_fields(enum hvm_seg seg, uint16_t sel, uint32_t ar, uint32_t limit,
                           uint64_t base)
{
    unsigned int i = vmcs_seg(seg);

    vmwrite(GUEST_ES_SEL + 2 * i, sel);
    vmwrite(GUEST_ES_AR + 2 * i, ar);
    vmwrite(GUEST_ES_LIMIT + 2 * i, limit);
    vmwrite(GUEST_ES_BASE + 2 * i, base);
}

/* The architectural reset state (SDM vol. 3A, 9.1.1, table 9-1); the
   domain builder then sets the PVH entry state through the ops table. */
static void vmx_write_guest_reset_state(struct vcpu *v)
{
    for (enum hvm_seg seg = HVM_SEG_ES; seg <= HVM_SEG_GS; seg++)
        set_seg_fields(seg, 0, 0x93, 0xffff, 0);
    set_seg_fields(HVM_SEG_CS, 0xf000, 0x9b, 0xffff, 0xffff0000);
    set_seg_fields(HVM_SEG_LDTR, 0, 0x82, 0xffff, 0);
    set_seg_fields(HVM_SEG_TR, 0, 0x8b, 0xffff, 0);
    vmwrite(GUEST_GDTR_BASE, 0);
    vmwrite(GUEST_GDTR_LIMIT, 0xffff);
    vmwrite(GUEST_IDTR_BASE, 0);
    vmwrite(GUEST_IDTR_LIMIT, 0xffff);
    /* EFER, CR4 and CR3 first: setting CR0 reads them back. */
    vmx_set_efer(v, 0);
    vmx_set_cr(v, 4, 0);
    vmx_set_cr(v, 3, 0);
    vmx_set_cr(v, 0, 0x60000010);               /* CD, NW, ET */
    vmwrite(GUEST_PAT, 0x0007040600070406ull);
    vmwrite(GUEST_DEBUGCTL, 0);
    vmwrite(GUEST_DR7, 0x400);
    vmwrite(GUEST_SYSENTER_CS, 0);
    vmwrite(GUEST_SYSENTER_ESP, 0);
    vmwrite(GUEST_SYSENTER_EIP, 0);
    vmwrite(GUEST_RSP, 0);
    vmwrite(GUEST_RIP, 0xfff0);
    vmwrite(GUEST_RFLAGS, 0x2);
    vmwrite(GUEST_PENDING_DBG, 0);
    vmwrite(GUEST_INTERRUPTIBILITY, 0);
    vmwrite(GUEST_ACTIVITY_STATE, ACTIVITY_ACTIVE);
    for (int i = 0; i < 4; i++)
        vmwrite(GUEST_PDPTE0 + 2 * i, 0);
    v->hvm.regs.rip = 0xfff0;
    v->hvm.regs.rflags = 0x2;
}

int vmx_vcpu_init(struct vcpu *v)
{
    struct vmx_vcpu *s = xzalloc(sizeof(*s));

    if (!s)
        return -ENOMEM;
    v->vendor = s;
    s->active_cpu = -1;
    s->xcr0 = 1;                                /* x87 only: the reset value */
    if (vmx_cpu_up())                           /* VMX on for this CPU (idempotent) */
        return -EIO;
    s->vmcs = alloc_pages(0);
    s->io_bitmap = alloc_pages(IO_BITMAP_ORDER);
    s->msr_bitmap = alloc_pages(0);
    if (!s->vmcs || !s->io_bitmap || !s->msr_bitmap)
        return -ENOMEM;
    if (vmx_caps.ctl.vpid && !(s->vpid = vpid_alloc()))
        return -ENOSPC;
    memset(s->vmcs, 0, PAGE_SIZE);
    *(uint32_t *)s->vmcs = vmx_caps.revision;    /* SDM 24.2 */
    s->vmcs_pa = __pa(s->vmcs);
    memset(s->io_bitmap, 0xff, PAGE_SIZE << IO_BITMAP_ORDER);     /* every port exits */
    memset(s->msr_bitmap, 0xff, PAGE_SIZE);                        /* every MSR exits ... */
    for (size_t i = 0; i < ARRAY_SIZE(passthrough_msrs); i++)
        msr_bitmap_allow(s->msr_bitmap, passthrough_msrs[i]);      /* ... but these */

    vmclear(s->vmcs_pa);                         /* launch state "clear" (SDM 24.11.3) */
    vmx_load_vmcs(v);
    vmx_write_controls(v, s);
    vmx_write_guest_reset_state(v);
    return 0;
}

void vmx_vcpu_destroy(struct vcpu *v)
{
    struct vmx_vcpu *s = to_vmx(v);

    if (!s)
        return;
    if (s->vmcs_pa && s->active_cpu >= 0 && !vmx_deactivate(v))
        panic("VMX: cannot VMCLEAR a dying vCPU's VMCS on CPU %d", s->active_cpu);
    if (vmx_cpus[smp_processor_id()].msr_owner == v)
        lazy_msrs_put(&vmx_cpus[smp_processor_id()]);
    if (s->vpid) {
        if (vmx_cpus[smp_processor_id()].up)
            invvpid(vmx_caps.ctl.invvpid_single ? INVVPID_SINGLE : INVVPID_ALL, s->vpid, 0);
        vpid_free(s->vpid);
    }
    if (s->vmcs) free_pages(s->vmcs, 0);
    if (s->io_bitmap) free_pages(s->io_bitmap, IO_BITMAP_ORDER);
    if (s->msr_bitmap) free_pages(s->msr_bitmap, 0);
    xfree(s);
    v->vendor = NULL;
}

/* --- segments ------------------------------------------------------------------- */

void vmx_get_segment(struct vcpu *v, enum hvm_seg seg, struct segment_register *r)
{
    vmx_load_vmcs(v);
    if (seg == HVM_SEG_GDTR || seg == HVM_SEG_IDTR) {
        bool g = seg == HVM_SEG_GDTR;
        *r = (struct segment_register){ 0, 0, vmread(g ? GUEST_GDTR_LIMIT : GUEST_IDTR_LIMIT),
                                        vmread(g ? GUEST_GDTR_BASE : GUEST_IDTR_BASE) };
        return;
    }
    unsigned int i = vmcs_seg(seg);

    r->sel = vmread(GUEST_ES_SEL + 2 * i);
    r->attr = vmx_attr_from_ar(vmread(GUEST_ES_AR + 2 * i));
    r->limit = vmread(GUEST_ES_LIMIT + 2 * i);
    r->base = vmread(GUEST_ES_BASE + 2 * i);
}

void vmx_set_segment(struct vcpu *v, enum hvm_seg seg, const struct segment_register *r)
{
    vmx_load_vmcs(v);
    if (seg == HVM_SEG_GDTR || seg == HVM_SEG_IDTR) {
        bool g = seg == HVM_SEG_GDTR;
        vmwrite(g ? GUEST_GDTR_LIMIT : GUEST_IDTR_LIMIT, r->limit);
        vmwrite(g ? GUEST_GDTR_BASE : GUEST_IDTR_BASE, r->base);
        return;
    }
    set_seg_fields(seg, r->sel, vmx_ar_from_attr(r->attr), r->limit, r->base);
}
