/*
 * PV segment descriptors (pv_internal.h). Not yet written.
 */
#include "pv_internal.h"
#include <proxenos/lib.h>

long pv_set_gdt(struct vcpu *v, uint64_t frame_list, uint64_t entries)
{
    (void)v; (void)frame_list; (void)entries;
    return -ENOSYS;
}

long pv_update_descriptor(struct vcpu *v, uint64_t maddr, uint64_t desc)
{
    (void)v; (void)maddr; (void)desc;
    return -ENOSYS;
}

long pv_set_gs_user_sel(struct vcpu *v, uint64_t sel)
{
    (void)v; (void)sel;
    return -EINVAL;
}

void pv_load_gdt(struct vcpu *v, uint64_t *cpu_gdt)
{
    (void)v; (void)cpu_gdt;
}

void pv_drop_gdt(struct vcpu *v)
{
    (void)v;
}

bool pv_failsafe(struct vcpu *v, struct cpu_regs *r)
{
    (void)r;
    domain_crash(v->domain, CRASH_HYPERVISOR, "PV failsafe callback: not delivered");
    return false;
}
