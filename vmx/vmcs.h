/*
 * VMCS field encodings, control bits and exit reasons (Intel SDM vol. 3C,
 * appendix B "Field encoding in VMCS", chapter 24 "Virtual machine control
 * structures", appendix C "VMX basic exit reasons"), and the VMX
 * capability MSRs (SDM vol. 3D, appendix A). Constants only: this header is
 * also included by the host unit tests.
 */
#ifndef PROXENOS_VMX_VMCS_H
#define PROXENOS_VMX_VMCS_H

/* --- capability MSRs (SDM appendix A) ------------------------------------- */
#define MSR_IA32_FEATURE_CONTROL      0x03a
#define  FEATURE_CONTROL_LOCK         (1ull << 0)
#define  FEATURE_CONTROL_VMXON_SMX    (1ull << 1)
#define  FEATURE_CONTROL_VMXON        (1ull << 2)   /* outside SMX */
#define MSR_IA32_VMX_BASIC            0x480
#define  VMX_BASIC_REVISION(b)        ((uint32_t)(b) & 0x7fffffff)
#define  VMX_BASIC_VMCS_SIZE(b)       ((uint32_t)((b) >> 32) & 0x1fff)
#define  VMX_BASIC_32BIT_ADDR         (1ull << 48)
#define  VMX_BASIC_MEMTYPE(b)         ((uint32_t)((b) >> 50) & 0xf)
#define  VMX_BASIC_INOUT_INFO         (1ull << 54)
#define  VMX_BASIC_TRUE_CTLS          (1ull << 55)
#define MSR_IA32_VMX_PINBASED_CTLS    0x481
#define MSR_IA32_VMX_PROCBASED_CTLS   0x482
#define MSR_IA32_VMX_EXIT_CTLS        0x483
#define MSR_IA32_VMX_ENTRY_CTLS       0x484
#define MSR_IA32_VMX_MISC             0x485
#define  VMX_MISC_EXIT_SAVES_LMA      (1ull << 5)
#define  VMX_MISC_ACT_HLT             (1ull << 6)
#define MSR_IA32_VMX_CR0_FIXED0       0x486
#define MSR_IA32_VMX_CR0_FIXED1       0x487
#define MSR_IA32_VMX_CR4_FIXED0       0x488
#define MSR_IA32_VMX_CR4_FIXED1       0x489
#define MSR_IA32_VMX_PROCBASED_CTLS2  0x48b
#define MSR_IA32_VMX_EPT_VPID_CAP     0x48c
#define MSR_IA32_VMX_TRUE_PINBASED_CTLS  0x48d
#define MSR_IA32_VMX_TRUE_PROCBASED_CTLS 0x48e
#define MSR_IA32_VMX_TRUE_EXIT_CTLS      0x48f
#define MSR_IA32_VMX_TRUE_ENTRY_CTLS     0x490

/* IA32_VMX_EPT_VPID_CAP (SDM A.10) */
#define EPT_CAP_EXEC_ONLY      (1ull << 0)
#define EPT_CAP_WALK4          (1ull << 6)
#define EPT_CAP_UC             (1ull << 8)
#define EPT_CAP_WB             (1ull << 14)
#define EPT_CAP_2M             (1ull << 16)
#define EPT_CAP_1G             (1ull << 17)
#define EPT_CAP_INVEPT         (1ull << 20)
#define EPT_CAP_AD             (1ull << 21)
#define EPT_CAP_INVEPT_SINGLE  (1ull << 25)
#define EPT_CAP_INVEPT_ALL     (1ull << 26)
#define VPID_CAP_INVVPID       (1ull << 32)
#define VPID_CAP_ADDR          (1ull << 40)
#define VPID_CAP_SINGLE        (1ull << 41)
#define VPID_CAP_ALL           (1ull << 42)
#define VPID_CAP_SINGLE_NOGLB  (1ull << 43)

/* INVEPT / INVVPID types (SDM vol. 3C, 30.3 "INVEPT", "INVVPID") */
#define INVEPT_SINGLE   1
#define INVEPT_ALL      2
#define INVVPID_ADDR    0
#define INVVPID_SINGLE  1
#define INVVPID_ALL     2

/* --- execution controls ---------------------------------------------------- */
/* Pin-based VM-execution controls (SDM 24.6.1, table 24-5) */
#define PIN_EXT_INTR_EXITING     (1u << 0)
#define PIN_NMI_EXITING          (1u << 3)
#define PIN_VIRTUAL_NMIS         (1u << 5)
#define PIN_PREEMPT_TIMER        (1u << 6)
#define PIN_POSTED_INTR          (1u << 7)

/* Primary processor-based controls (SDM 24.6.2, table 24-6) */
#define CPU_INTR_WINDOW_EXITING  (1u << 2)
#define CPU_TSC_OFFSETTING       (1u << 3)
#define CPU_HLT_EXITING          (1u << 7)
#define CPU_INVLPG_EXITING       (1u << 9)
#define CPU_MWAIT_EXITING        (1u << 10)
#define CPU_RDPMC_EXITING        (1u << 11)
#define CPU_RDTSC_EXITING        (1u << 12)
#define CPU_CR3_LOAD_EXITING     (1u << 15)
#define CPU_CR3_STORE_EXITING    (1u << 16)
#define CPU_CR8_LOAD_EXITING     (1u << 19)
#define CPU_CR8_STORE_EXITING    (1u << 20)
#define CPU_TPR_SHADOW           (1u << 21)
#define CPU_NMI_WINDOW_EXITING   (1u << 22)
#define CPU_MOV_DR_EXITING       (1u << 23)
#define CPU_UNCOND_IO_EXITING    (1u << 24)
#define CPU_USE_IO_BITMAPS       (1u << 25)
#define CPU_MONITOR_TRAP_FLAG    (1u << 27)
#define CPU_USE_MSR_BITMAPS      (1u << 28)
#define CPU_MONITOR_EXITING      (1u << 29)
#define CPU_PAUSE_EXITING        (1u << 30)
#define CPU_SECONDARY_CONTROLS   (1u << 31)

/* Secondary processor-based controls (SDM 24.6.2, table 24-7) */
#define CPU2_VIRT_APIC_ACCESS    (1u << 0)
#define CPU2_ENABLE_EPT          (1u << 1)
#define CPU2_DESC_TABLE_EXITING  (1u << 2)
#define CPU2_ENABLE_RDTSCP       (1u << 3)
#define CPU2_VIRT_X2APIC         (1u << 4)
#define CPU2_ENABLE_VPID         (1u << 5)
#define CPU2_WBINVD_EXITING      (1u << 6)
#define CPU2_UNRESTRICTED_GUEST  (1u << 7)
#define CPU2_APIC_REG_VIRT       (1u << 8)
#define CPU2_VIRT_INTR_DELIVERY  (1u << 9)
#define CPU2_PAUSE_LOOP_EXITING  (1u << 10)
#define CPU2_RDRAND_EXITING      (1u << 11)
#define CPU2_ENABLE_INVPCID      (1u << 12)
#define CPU2_ENABLE_VMFUNC       (1u << 13)
#define CPU2_VMCS_SHADOWING      (1u << 14)
#define CPU2_ENCLS_EXITING       (1u << 15)
#define CPU2_RDSEED_EXITING      (1u << 16)
#define CPU2_ENABLE_PML          (1u << 17)
#define CPU2_EPT_VE              (1u << 18)
#define CPU2_ENABLE_XSAVES       (1u << 20)
#define CPU2_TSC_SCALING         (1u << 25)

/* VM-exit controls (SDM 24.7.1, table 24-13) */
#define EXIT_SAVE_DEBUG_CTLS     (1u << 2)
#define EXIT_HOST_ADDR_SPACE     (1u << 9)
#define EXIT_LOAD_PERF_GLOBAL    (1u << 12)
#define EXIT_ACK_INTR            (1u << 15)
#define EXIT_SAVE_PAT            (1u << 18)
#define EXIT_LOAD_PAT            (1u << 19)
#define EXIT_SAVE_EFER           (1u << 20)
#define EXIT_LOAD_EFER           (1u << 21)
#define EXIT_SAVE_PREEMPT_TIMER  (1u << 22)

/* VM-entry controls (SDM 24.8.1, table 24-15) */
#define ENTRY_LOAD_DEBUG_CTLS    (1u << 2)
#define ENTRY_IA32E_MODE         (1u << 9)
#define ENTRY_SMM                (1u << 10)
#define ENTRY_DUAL_MONITOR       (1u << 11)
#define ENTRY_LOAD_PERF_GLOBAL   (1u << 13)
#define ENTRY_LOAD_PAT           (1u << 14)
#define ENTRY_LOAD_EFER          (1u << 15)

/* --- field encodings (SDM appendix B) -------------------------------------- */
enum vmcs_field {
    /* 16-bit control, guest, host (B.1) */
    VMCS_VPID                   = 0x0000,
    GUEST_ES_SEL                = 0x0800,   /* ES..GS, LDTR, TR: +2 each */
    GUEST_LDTR_SEL              = 0x080c,
    GUEST_TR_SEL                = 0x080e,
    HOST_ES_SEL                 = 0x0c00,
    HOST_CS_SEL                 = 0x0c02,
    HOST_SS_SEL                 = 0x0c04,
    HOST_DS_SEL                 = 0x0c06,
    HOST_FS_SEL                 = 0x0c08,
    HOST_GS_SEL                 = 0x0c0a,
    HOST_TR_SEL                 = 0x0c0c,
    /* 64-bit (B.2) */
    IO_BITMAP_A                 = 0x2000,
    IO_BITMAP_B                 = 0x2002,
    MSR_BITMAP                  = 0x2004,
    EXIT_MSR_STORE_ADDR         = 0x2006,
    EXIT_MSR_LOAD_ADDR          = 0x2008,
    ENTRY_MSR_LOAD_ADDR         = 0x200a,
    TSC_OFFSET                  = 0x2010,
    VIRTUAL_APIC_ADDR           = 0x2012,
    EPT_POINTER                 = 0x201a,
    GUEST_PHYSICAL_ADDR         = 0x2400,
    VMCS_LINK_POINTER           = 0x2800,
    GUEST_DEBUGCTL              = 0x2802,
    GUEST_PAT                   = 0x2804,
    GUEST_EFER                  = 0x2806,
    GUEST_PDPTE0                = 0x280a,   /* PDPTE0..3: +2 each */
    HOST_PAT                    = 0x2c00,
    HOST_EFER                   = 0x2c02,
    /* 32-bit (B.3) */
    PIN_BASED_CONTROLS          = 0x4000,
    CPU_BASED_CONTROLS          = 0x4002,
    EXCEPTION_BITMAP            = 0x4004,
    PF_ERROR_MASK               = 0x4006,
    PF_ERROR_MATCH              = 0x4008,
    CR3_TARGET_COUNT            = 0x400a,
    EXIT_CONTROLS               = 0x400c,
    EXIT_MSR_STORE_COUNT        = 0x400e,
    EXIT_MSR_LOAD_COUNT         = 0x4010,
    ENTRY_CONTROLS              = 0x4012,
    ENTRY_MSR_LOAD_COUNT        = 0x4014,
    ENTRY_INTR_INFO             = 0x4016,
    ENTRY_EXCEPTION_ERROR       = 0x4018,
    ENTRY_INSN_LEN              = 0x401a,
    TPR_THRESHOLD               = 0x401c,
    SECONDARY_CONTROLS          = 0x401e,
    VM_INSN_ERROR               = 0x4400,
    EXIT_REASON                 = 0x4402,
    EXIT_INTR_INFO              = 0x4404,
    EXIT_INTR_ERROR             = 0x4406,
    IDT_VECTORING_INFO          = 0x4408,
    IDT_VECTORING_ERROR         = 0x440a,
    EXIT_INSN_LEN               = 0x440c,
    EXIT_INSN_INFO              = 0x440e,
    GUEST_ES_LIMIT              = 0x4800,   /* ES..GS, LDTR, TR: +2 each */
    GUEST_GDTR_LIMIT            = 0x4810,
    GUEST_IDTR_LIMIT            = 0x4812,
    GUEST_ES_AR                 = 0x4814,   /* ES..GS, LDTR, TR: +2 each */
    GUEST_INTERRUPTIBILITY      = 0x4824,
    VMX_PREEMPTION_TIMER_VALUE  = 0x482e,
    GUEST_ACTIVITY_STATE        = 0x4826,
    GUEST_SYSENTER_CS           = 0x482a,
    HOST_SYSENTER_CS            = 0x4c00,
    /* natural width (B.4) */
    CR0_GUEST_HOST_MASK         = 0x6000,
    CR4_GUEST_HOST_MASK         = 0x6002,
    CR0_READ_SHADOW             = 0x6004,
    CR4_READ_SHADOW             = 0x6006,
    EXIT_QUALIFICATION          = 0x6400,
    GUEST_LINEAR_ADDR           = 0x640a,
    GUEST_CR0                   = 0x6800,
    GUEST_CR3                   = 0x6802,
    GUEST_CR4                   = 0x6804,
    GUEST_ES_BASE               = 0x6806,   /* ES..GS, LDTR, TR: +2 each */
    GUEST_GDTR_BASE             = 0x6816,
    GUEST_IDTR_BASE             = 0x6818,
    GUEST_DR7                   = 0x681a,
    GUEST_RSP                   = 0x681c,
    GUEST_RIP                   = 0x681e,
    GUEST_RFLAGS                = 0x6820,
    GUEST_PENDING_DBG           = 0x6822,
    GUEST_SYSENTER_ESP          = 0x6824,
    GUEST_SYSENTER_EIP          = 0x6826,
    HOST_CR0                    = 0x6c00,
    HOST_CR3                    = 0x6c02,
    HOST_CR4                    = 0x6c04,
    HOST_FS_BASE                = 0x6c06,
    HOST_GS_BASE                = 0x6c08,
    HOST_TR_BASE                = 0x6c0a,
    HOST_GDTR_BASE              = 0x6c0c,
    HOST_IDTR_BASE              = 0x6c0e,
    HOST_SYSENTER_ESP           = 0x6c10,
    HOST_SYSENTER_EIP           = 0x6c12,
    HOST_RSP                    = 0x6c14,
    HOST_RIP                    = 0x6c16,
};

/* Segment-register access rights (SDM 24.4.1, table 24-2) */
#define VMX_AR_TYPE(ar)    ((ar) & 0xf)
#define VMX_AR_S           (1u << 4)
#define VMX_AR_DPL(ar)     (((ar) >> 5) & 3)
#define VMX_AR_P           (1u << 7)
#define VMX_AR_AVL         (1u << 12)
#define VMX_AR_L           (1u << 13)
#define VMX_AR_DB          (1u << 14)
#define VMX_AR_G           (1u << 15)
#define VMX_AR_UNUSABLE    (1u << 16)

/* Guest interruptibility state (SDM 24.4.2, table 24-3) */
#define INTR_BLOCK_STI     (1u << 0)
#define INTR_BLOCK_MOV_SS  (1u << 1)
#define INTR_BLOCK_SMI     (1u << 2)
#define INTR_BLOCK_NMI     (1u << 3)

/* Activity states (SDM 24.4.2) */
#define ACTIVITY_ACTIVE    0
#define ACTIVITY_HLT       1
#define ACTIVITY_SHUTDOWN  2
#define ACTIVITY_WAIT_SIPI 3

/* Interruption information: VM-entry (SDM 24.8.3, table 24-17), VM-exit
 * (24.9.2, table 24-19) and IDT-vectoring (24.9.3) share this layout. */
#define INTR_INFO_VECTOR(i)     ((i) & 0xff)
#define INTR_INFO_TYPE(i)       (((i) >> 8) & 7)
#define INTR_INFO_TYPE_SHIFT    8
#define INTR_INFO_HAS_ERROR     (1u << 11)
#define INTR_INFO_NMI_UNBLOCK   (1u << 12)
#define INTR_INFO_VALID         (1u << 31)
#define INTR_TYPE_EXT_INTR      0
#define INTR_TYPE_NMI           2
#define INTR_TYPE_HW_EXCEPTION  3
#define INTR_TYPE_SOFT_INTR     4
#define INTR_TYPE_PRIV_SOFT_EXC 5
#define INTR_TYPE_SOFT_EXC      6

/* --- exit reasons (SDM appendix C) ------------------------------------------ */
#define EXIT_REASON_FAILED_ENTRY   (1u << 31)
#define EXIT_REASON_BASIC(r)       ((r) & 0xffff)
enum vmx_exit_reason {
    EXIT_EXCEPTION_NMI = 0, EXIT_EXTERNAL_INTR = 1, EXIT_TRIPLE_FAULT = 2, EXIT_INIT = 3,
    EXIT_SIPI = 4, EXIT_IO_SMI = 5, EXIT_OTHER_SMI = 6, EXIT_INTR_WINDOW = 7,
    EXIT_NMI_WINDOW = 8, EXIT_TASK_SWITCH = 9, EXIT_CPUID = 10, EXIT_GETSEC = 11,
    EXIT_HLT = 12, EXIT_INVD = 13, EXIT_INVLPG = 14, EXIT_RDPMC = 15, EXIT_RDTSC = 16,
    EXIT_RSM = 17, EXIT_VMCALL = 18, EXIT_VMCLEAR = 19, EXIT_VMLAUNCH = 20,
    EXIT_VMPTRLD = 21, EXIT_VMPTRST = 22, EXIT_VMREAD = 23, EXIT_VMRESUME = 24,
    EXIT_VMWRITE = 25, EXIT_VMXOFF = 26, EXIT_VMXON = 27, EXIT_CR_ACCESS = 28,
    EXIT_DR_ACCESS = 29, EXIT_IO = 30, EXIT_RDMSR = 31, EXIT_WRMSR = 32,
    EXIT_INVALID_STATE = 33, EXIT_MSR_LOADING = 34, EXIT_MWAIT = 36, EXIT_MTF = 37,
    EXIT_MONITOR = 39, EXIT_PAUSE = 40, EXIT_MACHINE_CHECK = 41, EXIT_TPR_BELOW = 43,
    EXIT_APIC_ACCESS = 44, EXIT_EOI = 45, EXIT_GDTR_IDTR = 46, EXIT_LDTR_TR = 47,
    EXIT_EPT_VIOLATION = 48, EXIT_EPT_MISCONFIG = 49, EXIT_INVEPT = 50, EXIT_RDTSCP = 51,
    EXIT_PREEMPT_TIMER = 52, EXIT_INVVPID = 53, EXIT_WBINVD = 54, EXIT_XSETBV = 55,
    EXIT_APIC_WRITE = 56, EXIT_RDRAND = 57, EXIT_INVPCID = 58, EXIT_VMFUNC = 59,
    EXIT_ENCLS = 60, EXIT_RDSEED = 61, EXIT_PML_FULL = 62, EXIT_XSAVES = 63,
    EXIT_XRSTORS = 64, VMX_NR_EXIT_REASONS = 70
};

/* Exit qualification of I/O instructions (SDM 27.2.1, table 27-5) */
#define IOQ_SIZE(q)        (((q) & 7) + 1)
#define IOQ_IN             (1u << 3)
#define IOQ_STRING         (1u << 4)
#define IOQ_REP            (1u << 5)
#define IOQ_PORT(q)        (((q) >> 16) & 0xffff)

/* Exit qualification of control-register accesses (SDM 27.2.1, table 27-3) */
#define CRQ_CR(q)          ((q) & 0xf)
#define CRQ_TYPE(q)        (((q) >> 4) & 3)
#define CRQ_GPR(q)         (((q) >> 8) & 0xf)
#define CRQ_LMSW_DATA(q)   (((q) >> 16) & 0xffff)
#define CR_TYPE_MOV_TO     0
#define CR_TYPE_MOV_FROM   1
#define CR_TYPE_CLTS       2
#define CR_TYPE_LMSW       3

/* Exit qualification of EPT violations (SDM 27.2.1, table 27-7) */
#define EPTQ_READ          (1u << 0)
#define EPTQ_WRITE         (1u << 1)
#define EPTQ_FETCH         (1u << 2)
#define EPTQ_READABLE      (1u << 3)
#define EPTQ_WRITABLE      (1u << 4)
#define EPTQ_EXECUTABLE    (1u << 5)
#define EPTQ_GLA_VALID     (1u << 7)
#define EPTQ_GLA_XLATE     (1u << 8)
#define EPTQ_NMI_UNBLOCK   (1u << 12)

#endif
