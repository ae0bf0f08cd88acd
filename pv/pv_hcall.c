/*
 * PV hypercalls that reach the validator or the common handlers with PV
 * semantics (pv_internal.h): the mmu_update/mmuext_op glue, memory_op,
 * vcpu_op, physdev_op and grant_table_op.
 * Partial: no continuations (batches of at most 64), memory_op, vcpu_op,
 * physdev_op and grant_table_op not yet provided.
 */
#include "pv_internal.h"
#include <proxenos/hypercall.h>
#include <proxenos/lib.h>

long pv_mm_call(struct vcpu *v, struct cpu_regs *r, bool *cont)
{
    struct pv_domain *pd = pv_domain_of(v->domain);
    uint64_t nr = r->rax, a[4] = { r->rdi, r->rsi, r->rdx, r->r10 };
    unsigned int done = 0;
    long rc;

    (void)cont;
    if (nr == __HYPERVISOR_update_va_mapping)
        return pv_update_va_mapping(&pd->mm, v->vcpu_id, a[0], a[1], a[2]);
    if (a[1] > 64)
        return -EINVAL;                     /* no continuations yet: small batches */
    if (nr == __HYPERVISOR_mmu_update) {
        struct mmu_update req[64];

        if (pv_copy_linear(v, req, a[0], a[1] * sizeof(req[0]), false))
            return -EFAULT;
        rc = pv_mmu_update(&pd->mm, v->vcpu_id, req, (unsigned int)a[1], &done, (unsigned int)a[3]);
    } else {
        struct mmuext_op op[64];

        if (pv_copy_linear(v, op, a[0], a[1] * sizeof(op[0]), false))
            return -EFAULT;
        rc = pv_mmuext_op(&pd->mm, v->vcpu_id, op, (unsigned int)a[1], &done, (unsigned int)a[3]);
    }
    if (a[2] && pv_copy_linear(v, (uint32_t[]){ done }, a[2], sizeof(uint32_t), true))
        return -EFAULT;
    return rc;
}

long pv_memory_op(struct vcpu *v, uint64_t cmd, uint64_t arg)
{
    (void)v; (void)cmd; (void)arg;
    return -ENOSYS;
}

long pv_vcpu_op(struct vcpu *v, uint64_t cmd, uint64_t vcpuid, uint64_t arg)
{
    (void)v; (void)cmd; (void)vcpuid; (void)arg;
    return -ENOSYS;
}

long pv_physdev_op(struct vcpu *v, uint64_t cmd, uint64_t arg)
{
    if (cmd == PHYSDEVOP_set_iopl)
        return pv_set_iopl(v, arg);
    return -ENOSYS;
}

long pv_grant_table_op(struct vcpu *v, uint64_t cmd, uint64_t arg, uint64_t count)
{
    (void)v; (void)cmd; (void)arg; (void)count;
    return -ENOSYS;
}
