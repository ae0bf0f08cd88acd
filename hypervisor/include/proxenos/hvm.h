/*
 * Generic HVM layer and the vendor ops table. Only svm/ and vmx/ touch a
 * VMCB or a VMCS; everything else calls through `hvm_ops`, chosen once at
 * boot (hvm_init), and reads capabilities from it rather than from CPUID.
 */
#ifndef PROXENOS_HVM_H
#define PROXENOS_HVM_H
#include <proxenos/types.h>
#include <proxenos/x86emul.h>

#ifndef X86_FLAGS_IF
#define X86_FLAGS_IF (1u << 9)
#endif
#define X86_FLAGS_DF (1u << 10)

struct vcpu;
struct domain;
struct p2m_format;

/* Segment registers: ES..GS in x86emul's order, then the system ones. */
enum hvm_seg {
    HVM_SEG_ES = X86_SEG_ES, HVM_SEG_CS = X86_SEG_CS, HVM_SEG_SS = X86_SEG_SS,
    HVM_SEG_DS = X86_SEG_DS, HVM_SEG_FS = X86_SEG_FS, HVM_SEG_GS = X86_SEG_GS,
    HVM_SEG_TR, HVM_SEG_LDTR, HVM_SEG_GDTR, HVM_SEG_IDTR, HVM_NR_SEGS
};

/*
 * A segment register. attr holds the descriptor's access rights in the
 * packed 12-bit form of the VMCB (APM vol. 2, 15.5.1): bits 0-7 are
 * descriptor bits 40-47 (type, S, DPL, P), bits 8-11 are bits 52-55
 * (AVL, L, D/B, G). The VMX backend converts to and from its own form.
 */
struct segment_register {
    uint16_t sel;
    uint16_t attr;
    uint32_t limit;
    uint64_t base;
};
#define SEG_ATTR_P   0x080
#define SEG_ATTR_S   0x010
#define SEG_ATTR_L   0x200
#define SEG_ATTR_DB  0x400
#define SEG_ATTR_G   0x800
#define SEG_ATTR_DPL(a) (((a) >> 5) & 3)

/* An event to deliver into the guest (APM 15.20 EVENTINJ; SDM 24.8.3). */
enum hvm_event_type { HVM_EV_EXT_INTR = 0, HVM_EV_NMI = 2, HVM_EV_EXCEPTION = 3, HVM_EV_SOFT_INT = 4 };
struct hvm_event {
    uint8_t vector;
    uint8_t type;            /* enum hvm_event_type */
    bool has_error_code;
    uint32_t error_code;
    uint8_t insn_len;        /* software interrupts/exceptions (VMX needs it) */
};

/* Exit classes counted per vCPU and printed at domain end / on a debug key. */
enum hvm_exit_stat {
    HVM_EXIT_CPUID, HVM_EXIT_MSR_READ, HVM_EXIT_MSR_WRITE, HVM_EXIT_IO,
    HVM_EXIT_NPF, HVM_EXIT_HLT, HVM_EXIT_HYPERCALL, HVM_EXIT_INTR, HVM_EXIT_NMI,
    HVM_EXIT_EXCEPTION, HVM_EXIT_TRIPLE_FAULT, HVM_EXIT_VINTR, HVM_EXIT_PAUSE,
    HVM_EXIT_PREEMPT, HVM_EXIT_OTHER, HVM_NR_EXIT_STATS
};
extern const char *const hvm_exit_stat_names[HVM_NR_EXIT_STATS];

/* Generic per-vCPU HVM state; the backend keeps its own beside it. */
struct hvm_vcpu {
    struct x86emul_regs regs;    /* all GPRs, RIP, RFLAGS: the backend syncs
                                    the ones its hardware keeps (RAX, RSP,
                                    RIP, RFLAGS on SVM) around each exit */
    uint64_t hypercall_page_gfn; /* last page filled, ~0 if none */
    struct vlapic *vlapic;
    bool launched;               /* first entry done */
    unsigned int spurious_npf;   /* consecutive NPFs on RAM (mmio.c) */
    uint8_t upcall_vector;       /* HVMOP_set_evtchn_upcall_vector, 0 if none */
};

/*
 * The vendor ops table (Xen's hvm_function_table, bhyve's vmm_ops).
 * Capability fields are filled by the backend's probe and then fixed.
 */
struct hvm_function_table {
    const char *name;                    /* "SVM" / "VMX" */
    bool hap;                            /* nested paging (NPT / EPT) */
    bool nrip;                           /* exits report the next RIP */
    bool tagged_tlb_flush;               /* flush one ASID / VPID only */
    bool unrestricted_guest;             /* paging-off / real-mode guests */
    uint8_t hypercall_insn[3];           /* VMMCALL 0f 01 d9 / VMCALL 0f 01 c1 */
    const struct p2m_format *p2m_format;

    int  (*cpu_up)(void);                /* enable on this physical CPU */
    int  (*vcpu_init)(struct vcpu *v);
    void (*vcpu_destroy)(struct vcpu *v);
    /* Enters the guest once and handles the exit (vendor dispatch table,
       which calls the generic hvm_* handlers below). */
    void (*run)(struct vcpu *v);
    void (*get_segment)(struct vcpu *v, enum hvm_seg s, struct segment_register *r);
    void (*set_segment)(struct vcpu *v, enum hvm_seg s, const struct segment_register *r);
    uint64_t (*get_cr)(struct vcpu *v, unsigned int cr);     /* 0, 2, 3, 4 */
    void (*set_cr)(struct vcpu *v, unsigned int cr, uint64_t val);
    uint64_t (*get_efer)(struct vcpu *v);
    void (*set_efer)(struct vcpu *v, uint64_t efer);
    /* The guest's IA32_PAT, already validated; NULL when the backend lets
       the guest write PAT directly (the CPU validates it then). */
    void (*set_pat)(struct vcpu *v, uint64_t pat);
    /* Queues an event for the next entry; false if one is already queued. */
    bool (*inject_event)(struct vcpu *v, const struct hvm_event *e);
    /* The guest can take an external interrupt now (IF=1, no shadow, no
       event queued); otherwise asks for an exit when it can. */
    bool (*interrupt_window)(struct vcpu *v);
    void (*dump)(const struct vcpu *v);
};

extern const struct hvm_function_table *hvm_ops;

/* Probes SVM then VMX (or `hvm=svm|vmx`), enables it on the boot CPU.
   Returns 0 or -ENODEV with a printed reason. */
int hvm_init(void);
bool hvm_enabled(void);

/* --- generic exit handlers, called by the backends ---------------------- */
enum hvm_result {
    HVM_DONE,           /* handled: advance RIP past the instruction */
    HVM_NO_ADVANCE,     /* handled, RIP already set (or re-execute) */
    HVM_EXCEPTION,      /* an exception was queued for the guest */
    HVM_CRASHED,        /* the domain was crashed */
};
enum hvm_result hvm_cpuid(struct vcpu *v);
enum hvm_result hvm_msr_read(struct vcpu *v);    /* ECX in, EDX:EAX out */
enum hvm_result hvm_msr_write(struct vcpu *v);
/* Port I/O of one element; string forms are decoded here. */
struct hvm_io {
    uint16_t port;
    uint8_t size;        /* 1, 2, 4 */
    bool in, string, rep;
    uint8_t addr_size;   /* string forms: 2, 4, 8 */
    uint8_t seg;         /* string OUTS segment (enum x86_seg) */
};
enum hvm_result hvm_portio(struct vcpu *v, const struct hvm_io *io);
/* An emulated port device (hvm/io.c's table): it gets the accesses that lie
   wholly inside [first, first + count), one element at a time (string forms
   too); ports no device claims read all-ones and drop writes. */
struct hvm_portio_handler {
    const char *name;
    uint16_t first, count;
    uint32_t (*read)(struct vcpu *v, uint16_t port, unsigned int size);
    void (*write)(struct vcpu *v, uint16_t port, unsigned int size, uint32_t val);
};
/* A nested page fault / EPT violation at gpa: MMIO emulation. */
enum hvm_result hvm_npf(struct vcpu *v, uint64_t gpa, bool write, bool fetch);
enum hvm_result hvm_hlt(struct vcpu *v);
enum hvm_result hvm_hypercall(struct vcpu *v);
void hvm_triple_fault(struct vcpu *v);
/* Queues #GP(0) / #UD / #PF for the guest. */
void hvm_inject_exception(struct vcpu *v, uint8_t vector, bool has_ec, uint32_t ec);
void hvm_inject_page_fault(struct vcpu *v, uint32_t ec, uint64_t cr2);
/* Length of the instruction at the guest's RIP (for CPUs without NRIP).
   Returns 0, or a negative X86EMUL_* code (a fault was then injected if
   the code is -X86EMUL_EXCEPTION). */
int hvm_insn_length(struct vcpu *v, unsigned int *len);
/* Fetches and decodes the instruction at CS:RIP (same returns). */
int hvm_fetch_insn(struct vcpu *v, struct x86_insn *insn);
/* Linear to guest-physical through the guest's paging; on -X86EMUL_EXCEPTION
   *fault holds the #PF/#GP to inject. */
int hvm_translate_linear(struct vcpu *v, uint64_t gla, bool write, uint64_t *gpa,
                         struct x86_fault *fault);
/* Injects the fault that a failed walk or emulation reported. */
void hvm_inject_fault(struct vcpu *v, const struct x86_fault *f);
/* Fills an x86_paging for walks of this vCPU's current page tables. */
void hvm_get_paging(struct vcpu *v, struct x86_paging *pg);
enum x86_mode hvm_guest_mode(struct vcpu *v);
unsigned int hvm_guest_cpl(struct vcpu *v);

#endif
