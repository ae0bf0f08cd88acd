/*
 * The guest kernel's faulting instructions the hypervisor completes for
 * it (pv_internal.h). Not yet written: nothing is emulated.
 */
#include "pv_internal.h"
#include <proxenos/lib.h>

bool pv_emulate_op(struct vcpu *v, struct cpu_regs *r)
{
    (void)v;
    (void)r;
    return false;
}

long pv_set_iopl(struct vcpu *v, uint64_t arg)
{
    (void)v;
    (void)arg;
    return -ENOSYS;
}
