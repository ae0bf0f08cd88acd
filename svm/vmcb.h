/*
 * The VMCB (APM vol. 2, appendix B: layout of VMCB) and the SVM constants
 * the backend uses. Private to svm/.
 */
#ifndef PROXENOS_SVM_VMCB_H
#define PROXENOS_SVM_VMCB_H
#include <proxenos/types.h>

struct vmcb_seg {
    uint16_t sel;
    uint16_t attr;       /* packed access rights (hvm.h struct segment_register) */
    uint32_t limit;
    uint64_t base;
} __packed;

struct vmcb {
    /* Control area, APM table B-1. */
    uint32_t cr_intercepts;          /* 0x000: reads 15:0, writes 31:16 */
    uint32_t dr_intercepts;          /* 0x004 */
    uint32_t exception_intercepts;   /* 0x008 */
    uint32_t intercepts1;            /* 0x00c: INTR ... SHUTDOWN */
    uint32_t intercepts2;            /* 0x010: VMRUN ... */
    uint32_t intercepts3;            /* 0x014 */
    uint8_t  rsvd1[0x03c - 0x018];
    uint16_t pause_filter_thresh;    /* 0x03c */
    uint16_t pause_filter_count;     /* 0x03e */
    uint64_t iopm_base_pa;           /* 0x040 */
    uint64_t msrpm_base_pa;          /* 0x048 */
    uint64_t tsc_offset;             /* 0x050 */
    uint32_t guest_asid;             /* 0x058 */
    uint8_t  tlb_control;            /* 0x05c */
    uint8_t  rsvd2[3];
    uint64_t vintr;                  /* 0x060: V_TPR, V_IRQ, V_INTR_MASKING ... */
    uint64_t interrupt_shadow;       /* 0x068 */
    uint64_t exitcode;               /* 0x070 */
    uint64_t exitinfo1;              /* 0x078 */
    uint64_t exitinfo2;              /* 0x080 */
    uint64_t exitintinfo;            /* 0x088 */
    uint64_t np_enable;              /* 0x090 */
    uint64_t avic_apic_bar;          /* 0x098 */
    uint64_t ghcb_pa;                /* 0x0a0 */
    uint64_t eventinj;               /* 0x0a8 */
    uint64_t n_cr3;                  /* 0x0b0 */
    uint64_t virt_ext;               /* 0x0b8: LBR virt, VMLOAD/VMSAVE virt */
    uint32_t clean_bits;             /* 0x0c0 */
    uint32_t rsvd3;
    uint64_t nrip;                   /* 0x0c8 */
    uint8_t  insn_len;               /* 0x0d0 */
    uint8_t  insn_bytes[15];         /* 0x0d1 */
    uint8_t  rsvd4[0x400 - 0x0e0];

    /* State save area, APM table B-2. */
    struct vmcb_seg es, cs, ss, ds, fs, gs;      /* 0x400 .. 0x45f */
    struct vmcb_seg gdtr, ldtr, idtr, tr;        /* 0x460 .. 0x49f */
    uint8_t  rsvd5[0x4cb - 0x4a0];
    uint8_t  cpl;                    /* 0x4cb */
    uint32_t rsvd6;
    uint64_t efer;                   /* 0x4d0 */
    uint8_t  rsvd7[0x548 - 0x4d8];
    uint64_t cr4;                    /* 0x548 */
    uint64_t cr3;                    /* 0x550 */
    uint64_t cr0;                    /* 0x558 */
    uint64_t dr7;                    /* 0x560 */
    uint64_t dr6;                    /* 0x568 */
    uint64_t rflags;                 /* 0x570 */
    uint64_t rip;                    /* 0x578 */
    uint8_t  rsvd8[0x5d8 - 0x580];
    uint64_t rsp;                    /* 0x5d8 */
    uint64_t s_cet, ssp, isst_addr;  /* 0x5e0 */
    uint64_t rax;                    /* 0x5f8 */
    uint64_t star;                   /* 0x600 */
    uint64_t lstar;                  /* 0x608 */
    uint64_t cstar;                  /* 0x610 */
    uint64_t sfmask;                 /* 0x618 */
    uint64_t kernel_gs_base;         /* 0x620 */
    uint64_t sysenter_cs;            /* 0x628 */
    uint64_t sysenter_esp;           /* 0x630 */
    uint64_t sysenter_eip;           /* 0x638 */
    uint64_t cr2;                    /* 0x640 */
    uint8_t  rsvd9[0x668 - 0x648];
    uint64_t g_pat;                  /* 0x668 */
    uint64_t dbgctl;                 /* 0x670 */
    uint64_t br_from, br_to;         /* 0x678 */
    uint64_t last_excp_from, last_excp_to;  /* 0x688 */
    uint8_t  rsvd10[0x1000 - 0x698];
} __packed;

_Static_assert(__builtin_offsetof(struct vmcb, iopm_base_pa) == 0x040, "vmcb");
_Static_assert(__builtin_offsetof(struct vmcb, exitcode) == 0x070, "vmcb");
_Static_assert(__builtin_offsetof(struct vmcb, eventinj) == 0x0a8, "vmcb");
_Static_assert(__builtin_offsetof(struct vmcb, nrip) == 0x0c8, "vmcb");
_Static_assert(__builtin_offsetof(struct vmcb, es) == 0x400, "vmcb");
_Static_assert(__builtin_offsetof(struct vmcb, tr) == 0x490, "vmcb");
_Static_assert(__builtin_offsetof(struct vmcb, cpl) == 0x4cb, "vmcb");
_Static_assert(__builtin_offsetof(struct vmcb, efer) == 0x4d0, "vmcb");
_Static_assert(__builtin_offsetof(struct vmcb, cr4) == 0x548, "vmcb");
_Static_assert(__builtin_offsetof(struct vmcb, rip) == 0x578, "vmcb");
_Static_assert(__builtin_offsetof(struct vmcb, rsp) == 0x5d8, "vmcb");
_Static_assert(__builtin_offsetof(struct vmcb, rax) == 0x5f8, "vmcb");
_Static_assert(__builtin_offsetof(struct vmcb, cr2) == 0x640, "vmcb");
_Static_assert(__builtin_offsetof(struct vmcb, g_pat) == 0x668, "vmcb");
_Static_assert(sizeof(struct vmcb) == 0x1000, "vmcb");

/* intercepts1 (vector 3), APM table B-1 offset 0x0c. */
#define SVM_INTERCEPT_INTR        (1u << 0)
#define SVM_INTERCEPT_NMI         (1u << 1)
#define SVM_INTERCEPT_SMI         (1u << 2)
#define SVM_INTERCEPT_INIT        (1u << 3)
#define SVM_INTERCEPT_VINTR       (1u << 4)
#define SVM_INTERCEPT_RDPMC       (1u << 15)
#define SVM_INTERCEPT_CPUID       (1u << 18)
#define SVM_INTERCEPT_INVD        (1u << 22)
#define SVM_INTERCEPT_PAUSE       (1u << 23)
#define SVM_INTERCEPT_HLT         (1u << 24)
#define SVM_INTERCEPT_INVLPGA     (1u << 26)
#define SVM_INTERCEPT_IOIO_PROT   (1u << 27)
#define SVM_INTERCEPT_MSR_PROT    (1u << 28)
#define SVM_INTERCEPT_TASK_SWITCH (1u << 29)
#define SVM_INTERCEPT_SHUTDOWN    (1u << 31)
/* intercepts2 (vector 4). */
#define SVM_INTERCEPT_VMRUN       (1u << 0)
#define SVM_INTERCEPT_VMMCALL     (1u << 1)
#define SVM_INTERCEPT_VMLOAD      (1u << 2)
#define SVM_INTERCEPT_VMSAVE      (1u << 3)
#define SVM_INTERCEPT_STGI        (1u << 4)
#define SVM_INTERCEPT_CLGI        (1u << 5)
#define SVM_INTERCEPT_SKINIT      (1u << 6)
#define SVM_INTERCEPT_RDTSCP_     (1u << 7)
#define SVM_INTERCEPT_ICEBP       (1u << 8)
#define SVM_INTERCEPT_WBINVD      (1u << 9)
#define SVM_INTERCEPT_MONITOR     (1u << 10)
#define SVM_INTERCEPT_MWAIT       (1u << 11)
#define SVM_INTERCEPT_XSETBV      (1u << 13)

/* Exit codes, APM appendix C. */
#define SVM_EXIT_EXCP_BASE   0x040
#define SVM_EXIT_INTR        0x060
#define SVM_EXIT_NMI         0x061
#define SVM_EXIT_SMI         0x062
#define SVM_EXIT_INIT        0x063
#define SVM_EXIT_VINTR       0x064
#define SVM_EXIT_RDPMC       0x06f
#define SVM_EXIT_CPUID       0x072
#define SVM_EXIT_INVD        0x076
#define SVM_EXIT_PAUSE       0x077
#define SVM_EXIT_HLT         0x078
#define SVM_EXIT_INVLPGA     0x07a
#define SVM_EXIT_IOIO        0x07b
#define SVM_EXIT_MSR         0x07c
#define SVM_EXIT_TASK_SWITCH 0x07d
#define SVM_EXIT_SHUTDOWN    0x07f
#define SVM_EXIT_VMRUN       0x080
#define SVM_EXIT_VMMCALL     0x081
#define SVM_EXIT_VMLOAD      0x082
#define SVM_EXIT_VMSAVE      0x083
#define SVM_EXIT_STGI        0x084
#define SVM_EXIT_CLGI        0x085
#define SVM_EXIT_SKINIT      0x086
#define SVM_EXIT_RDTSCP      0x087
#define SVM_EXIT_ICEBP       0x088
#define SVM_EXIT_WBINVD      0x089
#define SVM_EXIT_MONITOR     0x08a
#define SVM_EXIT_MWAIT       0x08b
#define SVM_EXIT_XSETBV      0x08d
#define SVM_EXIT_NPF         0x400
#define SVM_EXIT_INVALID     (-1ull)
#define SVM_EXIT_MAX         0x401     /* dispatch table size */

/* EVENTINJ / EXITINTINFO (APM 15.20). */
#define SVM_EVTINJ_VALID     (1ull << 31)
#define SVM_EVTINJ_EV        (1ull << 11)
#define SVM_EVTINJ_TYPE_SHIFT 8

/* IOIO EXITINFO1 (APM 15.10.2). */
#define SVM_IOIO_IN          (1u << 0)
#define SVM_IOIO_STR         (1u << 2)
#define SVM_IOIO_REP         (1u << 3)
#define SVM_IOIO_SZ8         (1u << 4)
#define SVM_IOIO_SZ16        (1u << 5)
#define SVM_IOIO_SZ32        (1u << 6)

/* NPF EXITINFO1: a #PF error code (APM 15.25.6). */
#define SVM_NPF_PRESENT      (1ull << 0)
#define SVM_NPF_WRITE        (1ull << 1)
#define SVM_NPF_FETCH        (1ull << 4)

#define MSR_VM_CR            0xc0010114
#define MSR_VM_HSAVE_PA      0xc0010117
#define VM_CR_SVMDIS         (1u << 4)

#endif
