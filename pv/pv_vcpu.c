/*
 * __HYPERVISOR_vcpu_op for 64-bit PV guests. Everything that does not name
 * guest memory by frame is the common handler's (vcpu_op.c): is_up,
 * get_runstate_info, register_runstate_memory_area and
 * register_vcpu_time_memory_area (guest-virtual addresses, which
 * guest_access.c walks through the PV guest's own tables), the periodic
 * and singleshot timers; up, down, initialise, ...: -ENOSYS there.
 *
 * VCPUOP_register_vcpu_info differs for a non-translated guest (Xen 4.17's
 * map_vcpu_info): `mfn` is a MACHINE frame, which must be the domain's and
 * takes a general and a writable type reference for as long as the
 * hypervisor writes the vcpu_info there (so it can never become a page
 * table or a descriptor page); anything else -EINVAL. The other checks are
 * the common ones: -ENOENT for a vCPU outside the domain, -ENXIO for an
 * offset leaving no room for the 64-byte structure or not 8-aligned,
 * -EINVAL if registered before or another vCPU than the caller is up.
 * Contents move and every event is marked pending (vcpu_info_move).
 */
#include "pv_internal.h"
#include <proxenos/guest_access.h>
#include <proxenos/hypercall.h>
#include <proxenos/lib.h>
#include <proxenos/vtime.h>
#include <xen/vcpu.h>

/* d->lock held: the frame referenced and the vcpu_info moved there. */
static long map_vcpu_info(struct vcpu *caller, struct vcpu *v, const struct vcpu_register_vcpu_info *info)
{
    struct pv_domain *pd = pv_domain_of(v->domain);
    int rc;

    if (v->vcpu_info_maddr)
        return -EINVAL;                    /* registered already */
    if (v != caller && v->is_up)
        return -EINVAL;                    /* only itself or a vCPU that is down */
    if (!pd)
        return -EINVAL;
    spin_lock(&pd->mm.lock);
    rc = pd->mm.dying ? -EINVAL : pv_get_page_and_type(&pd->mm, info->mfn, PGT_writable_page);
    spin_unlock(&pd->mm.lock);
    if (rc)
        return -EINVAL;
    vcpu_info_move(v, (uint8_t *)pv_map_frame(info->mfn) + info->offset,
                   ((paddr_t)info->mfn << PAGE_SHIFT) + info->offset, false);
    return 0;
}

static long register_vcpu_info(struct vcpu *caller, struct vcpu *v, uint64_t arg)
{
    struct domain *d = v->domain;
    struct vcpu_register_vcpu_info info;
    long rc;

    if (copy_from_guest(caller, &info, arg, sizeof(info)))
        return -EFAULT;
    if (vcpu_info_offset_check(info.offset, sizeof(struct vcpu_info), 8))
        return -ENXIO;
    spin_lock(&d->lock);
    rc = map_vcpu_info(caller, v, &info);
    spin_unlock(&d->lock);
    if (!rc)
        vtime_update_vcpu_time(v, true);
    return rc;
}

long pv_vcpu_op(struct vcpu *v, uint64_t cmd, uint64_t vcpuid, uint64_t arg)
{
    struct domain *d = v->domain;
    uint32_t id = (uint32_t)vcpuid;        /* Xen takes an unsigned int */
    struct hcall h = { .arg = { cmd, vcpuid, arg } };

    if ((int)cmd != VCPUOP_register_vcpu_info)
        return do_vcpu_op(v, &h);
    if (id >= d->max_vcpus || id >= MAX_VCPUS_PER_DOM || !d->vcpu[id])
        return -ENOENT;
    block_speculation();
    return register_vcpu_info(v, d->vcpu[id], arg);
}

/* Drops the references register_vcpu_info took (the domain is going:
   before pv_mm_teardown, which would otherwise find the frames held). */
void pv_vcpu_info_release(struct domain *d)
{
    struct pv_domain *pd = pv_domain_of(d);

    for (unsigned int i = 0; pd && i < d->max_vcpus && i < MAX_VCPUS_PER_DOM; i++) {
        struct vcpu *v = d->vcpu[i];
        mfn_t mfn;

        if (!v || !v->vcpu_info_maddr)
            continue;
        mfn = v->vcpu_info_maddr >> PAGE_SHIFT;
        v->vcpu_info = d->shared_info && i < XEN_LEGACY_MAX_VCPUS ? &d->shared_info->vcpu_info[i]
                                                                  : NULL;
        v->vcpu_info_maddr = 0;
        spin_lock(&pd->mm.lock);
        pv_put_page_and_type(&pd->mm, mfn_to_page(mfn));
        spin_unlock(&pd->mm.lock);
    }
}
