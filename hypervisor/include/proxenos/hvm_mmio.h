/* Emulated MMIO devices of HVM/PVH guests (hypervisor/hvm/mmio.c). */
#ifndef PROXENOS_HVM_MMIO_H
#define PROXENOS_HVM_MMIO_H
#include <proxenos/types.h>

struct vcpu;

/* A device model: claims guest-physical addresses for a vCPU; accesses of
   1-8 bytes never cross a page. Callbacks return 0 or a negative
   X86EMUL_* code. */
struct hvm_mmio_handler {
    const char *name;
    bool (*accepts)(struct vcpu *v, uint64_t gpa);
    int (*read)(struct vcpu *v, uint64_t gpa, unsigned int size, uint64_t *val);
    int (*write)(struct vcpu *v, uint64_t gpa, unsigned int size, uint64_t val);
};

void hvm_register_mmio(const struct hvm_mmio_handler *h);

#endif
