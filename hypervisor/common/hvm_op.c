/*
 * __HYPERVISOR_hvm_op (xen/include/public/hvm/hvm_op.h) as Xen 4.17's
 * xen/arch/x86/hvm/hvm.c do_hvm_op answers a guest about itself:
 *
 *  set_param / get_param  struct xen_hvm_param for DOMID_SELF or the
 *      caller's id (another existing domain -EPERM, a missing one -ESRCH;
 *      Xen's toolstack access to other domains has no user here), index <
 *      HVM_NR_PARAMS else -EINVAL. Which parameters a guest may touch is
 *      Xen's hvm_allow_set_param/hvm_allow_get_param list; the others are
 *      the toolstack's (-EPERM) and the deprecated ones are -EPERM to set
 *      and -ENODATA to read. Values are stored in d->hvm_params; a
 *      CALLBACK_IRQ of type vector is how hvm/intr.c delivers upcalls.
 *  get_time  the hypervisor's system time in ns (NOW()), as Xen's.
 *  set_evtchn_upcall_vector  {vcpu, vector}: upcalls of that vCPU come as
 *      `vector` (hvm/intr.c), whatever CALLBACK_IRQ says. As Xen's
 *      hvmop_set_evtchn_upcall_vector: PV domains -EINVAL, vector < 0x10
 *      -EINVAL (checked before the vCPU), a vCPU the domain lacks -ENOENT.
 *      There is no way back to the callback vector, as in Xen.
 *  everything else (flush_tlbs, pagetable_dying, get_mem_type, altp2m, the
 *      device-model ops, ...) -ENOSYS.
 */
#include <proxenos/xen_abi.h>
#include <proxenos/domain.h>
#include <proxenos/guest_access.h>
#include <proxenos/hypercall.h>
#include <proxenos/platform.h>
#include <proxenos/printk.h>

BUILD_BUG_ON(HVM_NR_PARAMS > ARRAY_SIZE(((struct domain *)0)->hvm_params));

/* HVMOP_get_time and its argument are in the part of hvm_op.h shown only
   to Xen and its tools; Xen serves any HVM guest all the same. */
#define HVMOP_GET_TIME 10
struct hvm_get_time { uint64_t now; };

/* Deprecated parameters, which params.h shows only to Xen and its tools. */
#define PARAM_PAE_ENABLED             4
#define PARAM_DM_DOMAIN              13
#define PARAM_MEMORY_EVENT_CR0       20
#define PARAM_MEMORY_EVENT_CR3       21
#define PARAM_MEMORY_EVENT_CR4       22
#define PARAM_MEMORY_EVENT_INT3      23
#define PARAM_NESTEDHVM              24
#define PARAM_MEMORY_EVENT_SSTEP     25
#define PARAM_BUFIOREQ_EVTCHN        26
#define PARAM_MEMORY_EVENT_MSR       30

/* TSS32 size: HVM_PARAM_VM86_TSS_SIZED's size half may not be below it. */
#define TSS32_SIZE 104

enum param_access { PARAM_GUEST, PARAM_DEPRECATED, PARAM_TOOLSTACK };

static enum param_access set_access(uint32_t index)
{
    switch (index) {
    case HVM_PARAM_CALLBACK_IRQ: case HVM_PARAM_VM86_TSS: case HVM_PARAM_VM86_TSS_SIZED:
    case HVM_PARAM_ACPI_IOPORTS_LOCATION: case HVM_PARAM_VM_GENERATION_ID_ADDR:
    case HVM_PARAM_STORE_EVTCHN: case HVM_PARAM_CONSOLE_EVTCHN: case HVM_PARAM_X87_FIP_WIDTH:
        return PARAM_GUEST;
    case PARAM_PAE_ENABLED: case PARAM_DM_DOMAIN: case PARAM_MEMORY_EVENT_CR0:
    case PARAM_MEMORY_EVENT_CR3: case PARAM_MEMORY_EVENT_CR4: case PARAM_MEMORY_EVENT_INT3:
    case PARAM_NESTEDHVM: case PARAM_MEMORY_EVENT_SSTEP: case PARAM_BUFIOREQ_EVTCHN:
    case PARAM_MEMORY_EVENT_MSR:
        return PARAM_DEPRECATED;
    default:
        return PARAM_TOOLSTACK;
    }
}

static enum param_access get_access(uint32_t index)
{
    switch (index) {
    case HVM_PARAM_STORE_PFN: case HVM_PARAM_CONSOLE_PFN: case HVM_PARAM_ALTP2M:
        return PARAM_GUEST;
    default:
        return set_access(index);
    }
}

/* Xen's per-parameter checks of a value the guest may set. */
static int param_value_ok(uint32_t index, uint64_t value)
{
    switch (index) {
    case HVM_PARAM_VM86_TSS:
        return value == (uint32_t)value;           /* hardware truncates */
    case HVM_PARAM_VM86_TSS_SIZED:
        return !value || (value >> 32) >= TSS32_SIZE;
    case HVM_PARAM_ACPI_IOPORTS_LOCATION:
        return value <= 1;                          /* PM1a at 0x1f40 or 0xb000 */
    case HVM_PARAM_X87_FIP_WIDTH:
        return value == 0 || value == 4 || value == 8;
    default:
        return true;
    }
}

static long hvm_param(struct vcpu *v, uint64_t arg, bool set)
{
    struct domain *d = v->domain;
    struct xen_hvm_param p;
    enum param_access acc;

    if (copy_from_guest(v, &p, arg, sizeof(p)))
        return -EFAULT;
    if (p.index >= HVM_NR_PARAMS)         /* Xen checks it before the domain */
        return -EINVAL;
    block_speculation();
    if (p.domid != DOMID_SELF && p.domid != d->domain_id)
        return domain_by_id(p.domid) ? -EPERM : -ESRCH;
    if (d->type == DOMTYPE_PV)
        return -EINVAL;
    acc = set ? set_access(p.index) : get_access(p.index);
    if (acc == PARAM_TOOLSTACK)
        return -EPERM;
    if (acc == PARAM_DEPRECATED)
        return set ? -EPERM : -ENODATA;
    if (set) {
        if (!param_value_ok(p.index, p.value))
            return -EINVAL;
        spin_lock(&d->lock);
        d->hvm_params[p.index] = p.value;
        spin_unlock(&d->lock);
        return 0;
    }
    spin_lock(&d->lock);
    p.value = d->hvm_params[p.index];
    spin_unlock(&d->lock);
    return copy_to_guest(v, arg, &p, sizeof(p)) ? -EFAULT : 0;
}

static long hvm_get_time(struct vcpu *v, uint64_t arg)
{
    struct hvm_get_time t = { .now = (uint64_t)NOW() };

    return copy_to_guest(v, arg, &t, sizeof(t)) ? -EFAULT : 0;
}

static long hvm_set_upcall_vector(struct vcpu *v, uint64_t arg)
{
    struct domain *d = v->domain;
    struct xen_hvm_evtchn_upcall_vector uv;
    struct vcpu *target;

    if (d->type == DOMTYPE_PV)
        return -EINVAL;
    if (copy_from_guest(v, &uv, arg, sizeof(uv)))
        return -EFAULT;
    if (uv.vector < 0x10)              /* exceptions are no interrupts */
        return -EINVAL;
    if (uv.vcpu >= d->max_vcpus || uv.vcpu >= MAX_VCPUS_PER_DOM)
        return -ENOENT;
    block_speculation();
    if (!(target = d->vcpu[uv.vcpu]))
        return -ENOENT;
    printk(LOG_INFO "d%u v%u: upcall vector %#x\n", d->domain_id, uv.vcpu, uv.vector);
    /* Delivered from the next VM entry on if an upcall is pending (Xen
       asserts it at once; hvm_intr_assist does the same before entry). */
    __atomic_store_n(&target->hvm.upcall_vector, uv.vector, __ATOMIC_RELEASE);
    return 0;
}

long do_hvm_op(struct vcpu *v, struct hcall *h)
{
    switch (h->arg[0]) {
    case HVMOP_set_param:
        return hvm_param(v, h->arg[1], true);
    case HVMOP_get_param:
        return hvm_param(v, h->arg[1], false);
    case HVMOP_GET_TIME:
        return hvm_get_time(v, h->arg[1]);
    case HVMOP_set_evtchn_upcall_vector:
        return hvm_set_upcall_vector(v, h->arg[1]);
    default:
        return -ENOSYS;
    }
}
