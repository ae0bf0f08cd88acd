/* State shared by the files of the SVM backend (svm/). */
#ifndef PROXENOS_SVM_PRIVATE_H
#define PROXENOS_SVM_PRIVATE_H
#include <proxenos/cpu.h>
#include <proxenos/domain.h>
#include "vmcb.h"

/* Per physical CPU (only that CPU touches its entry). */
struct svm_cpu {
    paddr_t hsave_pa;          /* VM_HSAVE_PA: the CPU's host state on VMRUN */
    paddr_t host_vmsave_pa;    /* our VMSAVE/VMLOAD page (svm_entry.asm) */
    uint32_t next_asid;        /* next ASID to hand out in this generation */
    uint64_t asid_generation;  /* bumped when ASIDs wrap (full TLB flush) */
    bool up;
};

/* Per vCPU, beside struct vcpu (v->vendor). */
struct svm_vcpu {
    struct vmcb *vmcb;
    paddr_t vmcb_pa;
    void *iopm, *msrpm;        /* permission maps (APM 15.10.1, 15.11) */
    uint32_t asid;
    uint64_t asid_generation;
    int last_cpu;              /* -1 before the first entry */
};

struct svm_caps {
    uint32_t nr_asids;
    bool nrip, flush_by_asid, pause_filter, vmcb_clean, decode_assists;
};

extern struct svm_cpu svm_cpus[MAX_CPUS];
extern struct svm_caps svm_caps;
extern const struct p2m_format npt_format;

static inline struct svm_vcpu *to_svm(const struct vcpu *v) { return v->vendor; }

void svm_vmrun(struct x86emul_regs *regs, paddr_t vmcb_pa, paddr_t host_pa);
void svm_run(struct vcpu *v);
void svm_dump(const struct vcpu *v);

#define TLB_CONTROL_NONE        0
#define TLB_CONTROL_FLUSH_ALL   1
#define TLB_CONTROL_FLUSH_ASID  3

#endif
