/*
 * What the files of the PV runtime share (pv/pv_run.c and the per-feature
 * files next to it): the per-vCPU PV state and the entry points from the
 * run loop's dispatch. Private to pv/; the rest of the hypervisor sees
 * <proxenos/pv.h>.
 *
 *   pv_run.c         entry/exit, hypercall dispatch, bouncing, events
 *   pv_emulate.c     #UD (forced CPUID) and #GP (privileged instructions,
 *                    I/O ports) of the guest kernel; PHYSDEVOP_set_iopl
 *   pv_descriptor.c  set_gdt, update_descriptor, the guest GDT while it
 *                    runs, GS user selector, the failsafe callback
 *   pv_hcall.c       mmu_update/mmuext_op glue (continuations),
 *                    memory_op, vcpu_op, physdev_op, grant_table_op for PV
 */
#ifndef PV_INTERNAL_H
#define PV_INTERNAL_H

#include <proxenos/pv.h>
#include <proxenos/cpu.h>
#include <proxenos/domain.h>
#include <xen/xen.h>

#define FLAT_RING3_CS32   0xe023
#define FLAT_RING3_DS     0xe02b
#define FLAT_RING3_CS64   0xe033
#define PV_GDT_ORDER      4                 /* 16 pages: entries up to 0xe03f */
#define PV_GDT_LIMIT      (0xe040 - 1)
#define PV_GUEST_GDT_ENTRIES (14 * 512)     /* Xen's FIRST_RESERVED_GDT_PAGE: 14 pages */
#define RFLAGS_IF         0x200ULL
#define MSR_KGS           0xc0000102        /* MSR_KERNEL_GS_BASE */

/* Per-vCPU PV state: all (v), touched only by the vCPU itself (in its
   hypercalls and traps) or by the scheduler while it does not run. */
struct pv_vcpu {
    struct cpu_regs regs;               /* guest state while not running */
    uint64_t hv_rsp;                    /* pv_enter's saved stack */
    struct trap_info traps[256];        /* set_trap_table, by vector */
    bool running;                       /* between pv_enter and pv_leave */
    uint64_t fs_base, gs_base_kernel;   /* set_segment_base; live in the MSRs while running */
    uint64_t gs_base_user;              /* kept for user mode */
    uint64_t kernel_ss, kernel_sp;      /* stack_switch: the stack for user->kernel */
    uint64_t callback[8];               /* CALLBACKTYPE_*: addresses */
    uint32_t callback_flags[8];         /* CALLBACKF_* */
    uint64_t preemptions;               /* left to the scheduler from an interrupt */
    bool user_mode;                     /* guest user mode: the user L4, user GS base */
    struct cpu_regs *live;              /* the trap/hypercall frame being handled (running) */
    uint64_t dr[8];                     /* set_debugreg: virtual DR0-3, DR6, DR7 (not loaded) */
    uint64_t trap_counts[32];           /* exceptions taken from the guest, by vector */
    uint64_t ptwr_count;                /* #PFs completed as page-table writes */
    uint64_t user_syscalls;             /* SYSCALLs from guest user space */
    /* pv_descriptor.c: set_gdt's frames (each with a seg-desc reference) */
    mfn_t gdt_frames[16];
    unsigned int gdt_ents;              /* 0: no guest GDT */
    uint64_t gdt_gen;                   /* changes with the GDT's contents; 0: never set */
    /* pv_emulate.c */
    unsigned int iopl;                  /* PHYSDEVOP_set_iopl: the virtual IOPL, 0-3 */
    uint64_t cr4;                       /* the guest's CR4 (Xen's ctrlreg[4]), 0 until first used */
    bool cr0_ts;                        /* the guest's CR0.TS (CLTS, MOV to CR0) */
    uint8_t cmos_idx;                   /* the RTC index last written to port 0x70 */
    unsigned int emul_warned;           /* refusals reported so far (capped) */
    uint32_t emul_count[20];            /* emulations by enum pv_insn_kind (pv_emulate.h) */
    /* pv_run.c: the x87/SSE state (FXSAVE image; XSAVE is hidden from PV
       guests), loaded around each run so the vCPUs sharing a CPU keep
       their own. 16-byte aligned as FXSAVE wants (xmalloc's alignment). */
    uint8_t fpu[512] __attribute__((aligned(16)));
};

static inline struct pv_vcpu *pvv(struct vcpu *v)
{
    return v->vendor;
}

/* pv_run.c */
/* A vCPU's PV state, zeroed, with the FPU in its reset state (FNINIT,
   MXCSR 0x1f80) and ring-3 flat selectors: NULL if out of memory. */
struct pv_vcpu *pv_vcpu_alloc(void);
/* Xen's create_bounce_frame: to `target` with RCX, R11, [*ec], the iret
   frame; events masked if mask_events. False if the domain was crashed. */
bool pv_bounce(struct vcpu *v, struct cpu_regs *r, const uint64_t *ec, uint64_t target,
               bool mask_events);
/* The L4 of the vCPU's kernel or user mode (0: none). */
mfn_t pv_mode_l4(struct vcpu *v, bool user);

/* pv_emulate.c: an exception the guest kernel raised that the hypervisor
   may complete for it (#UD with Xen's forced-emulation prefix, #GP from a
   privileged instruction or port access). True if emulated (RIP moved on,
   registers updated); false: bounce it to the guest as usual. */
bool pv_emulate_op(struct vcpu *v, struct cpu_regs *r);
/* PHYSDEVOP_set_iopl. */
long pv_set_iopl(struct vcpu *v, uint64_t arg);

/* pv_descriptor.c */
long pv_set_gdt(struct vcpu *v, uint64_t frame_list, uint64_t entries);
/* The same with the machine frames at hand (VCPUOP_initialise's gdt_frames):
   v's PV state must exist; v need not be the caller. */
long pv_set_gdt_frames(struct vcpu *v, const xen_ulong_t *list, uint64_t entries);
long pv_update_descriptor(struct vcpu *v, uint64_t maddr, uint64_t desc);
/* SEGBASE_GS_USER_SEL: loads the user GS selector (and its base). */
long pv_set_gs_user_sel(struct vcpu *v, uint64_t sel);
/* Copies the vCPU's GDT into the CPU's PV GDT before it runs (the slots
   the hypervisor uses stay its own). */
void pv_load_gdt(struct vcpu *v, uint64_t *cpu_gdt);
/* Drops the vCPU's GDT references (vCPU teardown). */
void pv_drop_gdt(struct vcpu *v);
/* A bad iret frame or segment: to the failsafe callback (Xen's
   failsafe_callback). False if the domain was crashed instead. */
bool pv_failsafe(struct vcpu *v, struct cpu_regs *r);

/* pv_hcall.c */
long pv_mm_call(struct vcpu *v, struct cpu_regs *r, bool *cont);
long pv_memory_op(struct vcpu *v, uint64_t cmd, uint64_t arg);
/* The same from the hypercall's registers (RDI cmd, RSI arg), continuing a
   long reservation op the way pv_mm_call does (*cont, RIP back by 2). */
long pv_memory_op_regs(struct vcpu *v, struct cpu_regs *r, bool *cont);
long pv_vcpu_op(struct vcpu *v, uint64_t cmd, uint64_t vcpuid, uint64_t arg);
long pv_physdev_op(struct vcpu *v, uint64_t cmd, uint64_t arg);
long pv_grant_table_op(struct vcpu *v, uint64_t cmd, uint64_t arg, uint64_t count);

#endif
