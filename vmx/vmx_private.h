/* State and helpers shared by the files of the VMX backend (vmx/). */
#ifndef PROXENOS_VMX_PRIVATE_H
#define PROXENOS_VMX_PRIVATE_H
#include <proxenos/cpu.h>
#include <proxenos/domain.h>
#include "vmcs.h"
#include "vmx_controls.h"

/* Per physical CPU; only that CPU touches its entry. */
struct vmx_cpu {
    paddr_t vmxon_pa;            /* VMXON region (SDM 24.11.5), set once */
    struct vmx_vcpu *current;    /* whose VMCS is current here (VMPTRLD) */
    struct vcpu *msr_owner;      /* whose lazily switched MSRs are loaded */
    uint64_t xcr0;               /* XCR0 now loaded (guests' values stay loaded) */
    uint64_t host_msrs[5];       /* the host's values of lazy_msrs[] */
    bool up;
};

/* Per vCPU, beside struct vcpu (v->vendor). Tags as in domain.h. */
struct vmx_vcpu {
    void *vmcs;                  /* (c) VMCS region, one page */
    paddr_t vmcs_pa;             /* (c) */
    void *io_bitmap;             /* (c) bitmaps A and B: two pages (SDM 24.6.4) */
    void *msr_bitmap;            /* (c) one page (SDM 24.6.9) */
    uint16_t vpid;               /* (c) 0 when VPIDs are off */
    int active_cpu;              /* (v) CPU where the VMCS is active, -1 if clear */
    bool launched;               /* (v) VMLAUNCH done since the last VMCLEAR */
    uint64_t lazy_msrs[5];       /* (v) guest's lazy_msrs[] while not loaded */
    uint8_t tpr;                 /* (v) the guest's CR8 (CR8 accesses exit) */
    uint64_t cr2;                /* (v) CR2 is not in the VMCS: swapped by vmx_run */
    uint64_t xcr0;               /* (v) the guest's XCR0 (XSETBV exits) */
    bool ept_stale;              /* (v) the p2m may have lost entries: INVEPT */
    /* Copied from the VMCS at each exit (vmx_run). */
    uint32_t exit_reason;        /* (v) */
    uint64_t exit_qual;          /* (v) */
    uint32_t exit_intr_info;     /* (v) */
    uint32_t exit_insn_len;      /* (v) */
    uint32_t idt_vectoring;      /* (v) */
};

struct vmx_caps {
    struct vmx_msrs msrs;
    struct vmx_controls ctl;
    uint32_t revision;
    uint64_t cr0_fixed0, cr0_fixed1, cr4_fixed0, cr4_fixed1;
};

extern struct vmx_cpu vmx_cpus[MAX_CPUS];
extern struct vmx_caps vmx_caps;
extern const struct p2m_format ept_format;
/* STAR, LSTAR, CSTAR, SFMASK, KERNEL_GS_BASE: not switched by VM entry or
   exit on VMX (SDM 26.3.2.1, 27.5.1), swapped lazily (vmx_vmcs.c). */
extern const uint32_t vmx_lazy_msrs[5];

uint32_t vmx_preempt_ticks(void);

static inline struct vmx_vcpu *to_vmx(const struct vcpu *v) { return v->vendor; }

/* Index of a segment register in the VMCS field groups (SDM B.1.2, B.3.3,
   B.4.3): ES, CS, SS, DS, FS, GS, LDTR, TR; hvm.h puts TR before LDTR. */
static inline unsigned int vmcs_seg(enum hvm_seg s)
{
    return s == HVM_SEG_TR ? 7 : s == HVM_SEG_LDTR ? 6 : (unsigned int)s;
}

/* --- VMX instructions: every one checks VMfailInvalid (CF) / VMfailValid
   (ZF), SDM vol. 3C, 30.2 "Conventions". A failure here is a hypervisor
   bug, never a guest's doing: it panics with the VM-instruction error. */
__noreturn void vmx_insn_failed(const char *insn, uint64_t arg, bool valid);

static inline uint64_t vmread(enum vmcs_field f)
{
    uint64_t val;
    bool fail;

    __asm__ volatile("vmread %[f], %[v]" : [v] "=r"(val), "=@ccna"(fail) : [f] "r"((uint64_t)f));
    if (unlikely(fail))
        vmx_insn_failed("VMREAD", f, true);
    return val;
}

static inline void vmwrite(enum vmcs_field f, uint64_t val)
{
    bool fail;

    __asm__ volatile("vmwrite %[v], %[f]" : "=@ccna"(fail) : [f] "r"((uint64_t)f), [v] "rm"(val)
                     : "memory");
    if (unlikely(fail))
        vmx_insn_failed("VMWRITE", f, true);
}

static inline void vmx_set_bits(enum vmcs_field f, uint64_t bits) { vmwrite(f, vmread(f) | bits); }
static inline void vmx_clear_bits(enum vmcs_field f, uint64_t bits) { vmwrite(f, vmread(f) & ~bits); }

/* VMCLEAR / VMPTRLD / VMXON with the physical address in memory. */
#define VMX_PTR_INSN(name, insn) \
    static inline void name(paddr_t pa) \
    { \
        bool fail; \
        __asm__ volatile(insn " %[pa]" : "=@ccna"(fail) : [pa] "m"(pa) : "memory"); \
        if (unlikely(fail)) \
            vmx_insn_failed(insn, pa, false); \
    }
VMX_PTR_INSN(vmclear, "vmclear")
VMX_PTR_INSN(vmptrld, "vmptrld")
#undef VMX_PTR_INSN

void invept(unsigned int type, uint64_t eptp);
void invvpid(unsigned int type, uint16_t vpid, uint64_t gla);

/* vmx_entry.asm: loads the guest GPRs and enters; after the exit, stores
   them. Returns 0 after a VM exit, 1 on VMfailInvalid, 2 on VMfailValid. */
int vmx_enter(struct x86emul_regs *regs, bool launched);
extern char vmx_exit_stub[];

/* vmx.c */
int vmx_cpu_up(void);
/* vmx_vmcs.c */
void vmx_load_vmcs(struct vcpu *v);
void vmx_flush_guest_tlb(struct vcpu *v);
void vmx_flush_ept(struct vcpu *v);
uint64_t vmx_cr0_host_mask(void);
uint64_t vmx_cr4_host_mask(void);
void vmx_lazy_msrs_switch(struct vcpu *v);
void vmx_get_segment(struct vcpu *v, enum hvm_seg s, struct segment_register *r);
void vmx_set_segment(struct vcpu *v, enum hvm_seg s, const struct segment_register *r);
int vmx_vcpu_init(struct vcpu *v);
void vmx_vcpu_destroy(struct vcpu *v);
/* vmx_cr.c: emulated MOV to CR0/CR3/CR4, 0 or -1 for #GP (injected by the caller) */
int vmx_write_cr0(struct vcpu *v, uint64_t val);
int vmx_write_cr3(struct vcpu *v, uint64_t val);
int vmx_write_cr4(struct vcpu *v, uint64_t val);
void vmx_update_entry_mode(struct vcpu *v);
void vmx_set_cr(struct vcpu *v, unsigned int cr, uint64_t val);
uint64_t vmx_get_cr(struct vcpu *v, unsigned int cr);
void vmx_set_efer(struct vcpu *v, uint64_t efer);
uint64_t vmx_get_efer(struct vcpu *v);
/* vmx_exit.c */
void vmx_run(struct vcpu *v);
void vmx_dump(const struct vcpu *v);
/* vmx_check.c: explains a failed VM entry */
void vmx_diagnose_entry_failure(struct vcpu *v, int fail, uint32_t exit_reason);
const char *vmx_insn_error_name(uint32_t err);
/* vmx_event.c */
bool vmx_inject_event(struct vcpu *v, const struct hvm_event *e);
bool vmx_interrupt_window(struct vcpu *v);
void vmx_requeue_idt_vectoring(struct vcpu *v);
/* ept.c */
uint64_t ept_pointer(paddr_t root);
void ept_dump_entry(struct vcpu *v, uint64_t gpa);

#endif
