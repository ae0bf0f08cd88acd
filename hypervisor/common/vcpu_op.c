/*
 * __HYPERVISOR_vcpu_op (xen/include/public/vcpu.h), after Xen 4.17's
 * xen/common/domain.c do_vcpu_op and map_vcpu_info:
 *
 *  vcpuid not one of the domain's vCPUs: -ENOENT (Xen's domain_vcpu()).
 *  is_up             1 if the vCPU runs (or is runnable), 0 if it is down.
 *  register_vcpu_info  {mfn (a gfn for HVM), offset, rsvd}: the vcpu_info
 *      moves from its shared info slot to that place of a RAM page of the
 *      domain; its current contents go with it, and every event is marked
 *      pending, as Xen does. -ENXIO if the offset leaves no room for the
 *      64-byte structure or is not aligned (8, 4 for 32-bit callers);
 *      -EINVAL if the page is not the domain's writable RAM, if the vCPU
 *      registered before (once per vCPU, as in Xen), or if another vCPU
 *      than the caller is still up. The page stays allocated to the domain
 *      for as long as the domain lives (memory_op.c never frees a displaced
 *      frame), so the hypervisor's pointer into it stays valid.
 *      The vCPU's pvclock is rewritten in its new place at once.
 *  get_runstate_info, register_runstate_memory_area: runstate.c.
 *  set/stop_periodic_timer, set/stop_singleshot_timer: vcpu_timer.c.
 *  register_vcpu_time_memory_area: vtime.c.
 *  everything else (up, down, initialise, send_nmi, get_physid): -ENOSYS
 *      until the SMP interfaces exist.
 */
#include <proxenos/xen_abi.h>
#include <proxenos/domain.h>
#include <proxenos/guest_access.h>
#include <proxenos/hypercall.h>
#include <proxenos/lib.h>
#include <proxenos/runstate.h>
#include <proxenos/vtime.h>

int vcpu_info_offset_check(uint64_t offset, size_t size, size_t align)
{
    if (offset > PAGE_SIZE - size || (offset & (align - 1)))
        return -ENXIO;
    return 0;
}

/* Xen marks every event pending in a new vcpu_info, so that none set
   during the move is lost (the guest gets a spurious upcall). The layout
   of evtchn_pending_sel follows the caller's width, as Xen latches it. */
static void mark_all_pending(uint8_t *vi, bool compat)
{
    /* A 32-bit guest's vcpu_info may be only 4-byte aligned: no access
       through struct vcpu_info, whose alignment is 8. */
    if (compat)
        __atomic_store_n((uint32_t *)(vi + 4), ~0u, __ATOMIC_RELEASE);
    else
        __atomic_store_n((uint64_t *)(vi + offsetof(struct vcpu_info, evtchn_pending_sel)),
                         ~0ull, __ATOMIC_RELEASE);
    __atomic_store_n(vi + offsetof(struct vcpu_info, evtchn_upcall_pending), 1,
                     __ATOMIC_RELEASE);
}

void vcpu_info_move(struct vcpu *v, uint8_t *vi, paddr_t maddr, bool compat)
{
    if (v->vcpu_info)
        memcpy(vi, v->vcpu_info, sizeof(struct vcpu_info));
    else
        memset(vi, 0, sizeof(struct vcpu_info));
    mark_all_pending(vi, compat);
    __atomic_store_n(&v->vcpu_info, (struct vcpu_info *)vi, __ATOMIC_RELEASE);
    v->vcpu_info_maddr = maddr;
}

static long register_vcpu_info(struct vcpu *caller, struct vcpu *v, struct hcall *h)
{
    struct domain *d = v->domain;
    struct vcpu_register_vcpu_info info;
    mfn_t mfn;
    uint8_t *page;
    long rc = -EINVAL;

    if (copy_from_guest(caller, &info, h->arg[2], sizeof(info)))
        return -EFAULT;
    /* i386 vcpu_info is 4-byte aligned, x86-64's 8 (both 64 bytes). */
    if (vcpu_info_offset_check(info.offset, sizeof(struct vcpu_info), h->compat ? 4 : 8))
        return -ENXIO;
    spin_lock(&d->lock);
    if (v->vcpu_info_maddr)
        goto out;                          /* registered already */
    if (v != caller && v->is_up)
        goto out;                          /* only itself or a vCPU that is down */
    if (p2m_lookup(&d->p2m, info.mfn, &mfn) != p2m_ram_rw)
        goto out;
    page = gfn_to_virt(d, info.mfn, &mfn);
    if (!page)
        goto out;
    vcpu_info_move(v, page + info.offset, ((paddr_t)mfn << PAGE_SHIFT) + info.offset, h->compat);
    rc = 0;
out:
    spin_unlock(&d->lock);
    return rc;
}

long do_vcpu_op(struct vcpu *v, struct hcall *h)
{
    struct domain *d = v->domain;
    uint32_t id = (uint32_t)h->arg[1];      /* Xen takes an unsigned int */
    struct vcpu *target;

    if (id >= d->max_vcpus || id >= MAX_VCPUS_PER_DOM || !(target = d->vcpu[id]))
        return -ENOENT;
    block_speculation();
    switch ((int)h->arg[0]) {
    case VCPUOP_is_up:
        return __atomic_load_n(&target->is_up, __ATOMIC_ACQUIRE) ? 1 : 0;
    case VCPUOP_register_vcpu_info: {
        long rc = register_vcpu_info(v, target, h);
        if (!rc)
            vtime_update_vcpu_time(target, true);
        return rc;
    }
    case VCPUOP_get_runstate_info:
    case VCPUOP_register_runstate_memory_area:
        return runstate_vcpu_op(v, target, (int)h->arg[0], h);
    case VCPUOP_set_periodic_timer:
    case VCPUOP_stop_periodic_timer:
    case VCPUOP_set_singleshot_timer:
    case VCPUOP_stop_singleshot_timer:
        return vcpu_timer_op(v, target, (int)h->arg[0], h);
    case VCPUOP_register_vcpu_time_memory_area:
        return vtime_register_time_area(v, target, h);
    default:
        return -ENOSYS;
    }
}
