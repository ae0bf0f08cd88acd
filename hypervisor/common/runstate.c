/*
 * vCPU runstate and __HYPERVISOR_vm_assist (runstate.h), after Xen 4.17:
 *
 *  get_runstate_info  the state and the ns spent in each, with the time in
 *      the current state so far added (vcpu_runstate_get); 44-byte i386
 *      layout for 32-bit callers; -EFAULT if the buffer is not writable.
 *  register_runstate_memory_area  {addr}: a guest-virtual address (32 bits
 *      for 32-bit callers, whose i386 layout is then used), any value
 *      accepted as Xen accepts any for HVM, 0 stops the updates. The
 *      current contents are copied there at once, through the caller's page
 *      tables, then again each time the vCPU starts or stops running,
 *      through its own (update_runstate_area at Xen's context switches).
 *      Copies that fault are dropped, as in Xen.
 *  vm_assist  HVM guests may enable or disable only
 *      VMASST_TYPE_runstate_update_flag (Xen's HVM_VM_ASSIST_MASK): other
 *      types, and types >= 64, -EINVAL; other commands -ENOSYS. With the
 *      flag on, XEN_RUNSTATE_UPDATE (bit 63 of state_entry_time) is set in
 *      the guest's area, by a write of its top byte, before the area
 *      changes and cleared after, so a reader on another vCPU sees a
 *      consistent copy (Linux's xen_get_runstate_snapshot_cpu_delta).
 *
 * A vCPU starts offline, becomes runnable when the scheduler takes it,
 * running while it is in guest mode (and in the hypervisor on its behalf),
 * blocked when it waits in SCHEDOP_block or HLT, offline again when it or
 * its domain goes down.
 */
#include <proxenos/xen_abi.h>
#include <proxenos/runstate.h>

/* ---- pure helpers ---------------------------------------------------------------- */

void runstate_account(struct vcpu_runstate_info *rs, int state, s_time_t now)
{
    s_time_t delta = now - (s_time_t)rs->state_entry_time;

    if (delta > 0) {
        rs->time[rs->state & 3] += (uint64_t)delta;
        rs->state_entry_time = (uint64_t)now;
    }
    rs->state = state;
}

void runstate_snapshot(const struct vcpu_runstate_info *rs, s_time_t now,
                       struct vcpu_runstate_info *out)
{
    s_time_t delta = now - (s_time_t)rs->state_entry_time;

    *out = *rs;
    if (delta > 0)
        out->time[rs->state & 3] += (uint64_t)delta;
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

void runstate_to_compat(const struct vcpu_runstate_info *rs, uint8_t out[RUNSTATE_COMPAT_SIZE])
{
    uint32_t state = (uint32_t)rs->state;

    for (int i = 0; i < 4; i++)
        out[i] = (uint8_t)(state >> (8 * i));
    put64(out + RUNSTATE_COMPAT_ENTRY_OFF, rs->state_entry_time);
    for (int i = 0; i < 4; i++)
        put64(out + 12 + 8 * i, rs->time[i]);
}

BUILD_BUG_ON(sizeof(struct vcpu_runstate_info) != 48);
BUILD_BUG_ON(offsetof(struct vcpu_runstate_info, state_entry_time) != 8);

/* ---- the hypervisor side ------------------------------------------------------------ */
#ifndef HOST_TEST
#include <proxenos/domain.h>
#include <proxenos/guest_access.h>
#include <proxenos/hypercall.h>
#include <proxenos/lib.h>
#include <proxenos/vtime.h>

void runstate_slot_init(struct vtime_vcpu *vt)
{
    vt->lock = (spinlock_t)SPINLOCK_INIT;
    vt->runstate.state = RUNSTATE_offline;
    vt->runstate.state_entry_time = (uint64_t)NOW();
}

/* ---- vm_assist ---------------------------------------------------------------------- */

#define HVM_VM_ASSIST_MASK (1ull << VMASST_TYPE_runstate_update_flag)
/* Xen's NATIVE_VM_ASSIST_VALID for 64-bit PV guests. Recorded; only the
   runstate flag changes behaviour here (no writable page-table emulation,
   no 4 GiB-segment fixups: a 64-bit guest needs neither). */
#define PV_VM_ASSIST_MASK  ((1ull << VMASST_TYPE_4gb_segments) |                            \
                            (1ull << VMASST_TYPE_4gb_segments_notify) |                     \
                            (1ull << VMASST_TYPE_writable_pagetables) |                     \
                            (1ull << VMASST_TYPE_pae_extended_cr3) |                        \
                            (1ull << VMASST_TYPE_architectural_iopl) |                      \
                            (1ull << VMASST_TYPE_runstate_update_flag) |                    \
                            (1ull << VMASST_TYPE_m2p_strict))

static struct {
    const struct domain *owner;      /* the domain the bits belong to */
    uint64_t bits;                   /* VMASST_TYPE_* enabled */
} vmassist[MAX_DOMAINS];

bool vm_assist_enabled(const struct domain *d, unsigned int type)
{
    return d->domain_id < MAX_DOMAINS && type < 64 && vmassist[d->domain_id].owner == d &&
           (__atomic_load_n(&vmassist[d->domain_id].bits, __ATOMIC_RELAXED) >> type & 1);
}

void vm_assist_reset(const struct domain *d)
{
    if (d->domain_id < MAX_DOMAINS && vmassist[d->domain_id].owner == d) {
        vmassist[d->domain_id].owner = NULL;
        vmassist[d->domain_id].bits = 0;
    }
}

long do_vm_assist(struct vcpu *v, struct hcall *h)
{
    struct domain *d = v->domain;
    unsigned int cmd = (unsigned int)h->arg[0], type = (unsigned int)h->arg[1];
    uint64_t bit;

    uint64_t valid = d->type == DOMTYPE_PV ? PV_VM_ASSIST_MASK : HVM_VM_ASSIST_MASK;

    if (type >= 64 || !(valid >> type & 1) || d->domain_id >= MAX_DOMAINS)
        return -EINVAL;
    bit = 1ull << type;
    spin_lock(&d->lock);
    if (vmassist[d->domain_id].owner != d) {
        vmassist[d->domain_id].owner = d;
        vmassist[d->domain_id].bits = 0;
    }
    spin_unlock(&d->lock);
    switch (cmd) {
    case VMASST_CMD_enable:
        __atomic_fetch_or(&vmassist[d->domain_id].bits, bit, __ATOMIC_RELAXED);
        return 0;
    case VMASST_CMD_disable:
        __atomic_fetch_and(&vmassist[d->domain_id].bits, ~bit, __ATOMIC_RELAXED);
        return 0;
    default:
        return -ENOSYS;
    }
}

/* ---- the guest's area ------------------------------------------------------------------ */

/* One copy of rs to the area through `via`'s page tables; with the update
   flag, bracketed by writes of state_entry_time's top byte. */
static void area_write(struct vcpu *via, struct vtime_vcpu *vt,
                       const struct vcpu_runstate_info *rs, bool use_flag)
{
    struct vcpu_runstate_info n = *rs;
    uint8_t buf[sizeof(n)];
    uint64_t gla = vt->runstate_gla;
    size_t len, top_off;
    uint8_t top;

    if (!gla)
        return;
    if (use_flag)
        n.state_entry_time |= XEN_RUNSTATE_UPDATE;
    if (vt->runstate_compat) {
        runstate_to_compat(&n, buf);
        len = RUNSTATE_COMPAT_SIZE;
        top_off = RUNSTATE_COMPAT_ENTRY_OFF + 7;
    } else {
        memcpy(buf, &n, sizeof(n));
        len = sizeof(n);
        top_off = offsetof(struct vcpu_runstate_info, state_entry_time) + 7;
    }
    top = buf[top_off];
    if (use_flag) {
        copy_to_guest(via, gla + top_off, &top, 1);
        __atomic_thread_fence(__ATOMIC_RELEASE);      /* Xen's smp_wmb() */
    }
    copy_to_guest(via, gla, buf, len);
    if (use_flag) {
        __atomic_thread_fence(__ATOMIC_RELEASE);
        top &= (uint8_t)~(XEN_RUNSTATE_UPDATE >> 56);
        copy_to_guest(via, gla + top_off, &top, 1);
    }
}

/* Changes the state if it is `from` (any state for from < 0). */
static void change(struct vcpu *v, int from, int state)
{
    struct vtime_vcpu *vt = vtime_vcpu(v);
    struct vcpu_runstate_info snap;
    uint64_t flags = spin_lock_irqsave(&vt->lock);
    int old = vt->runstate.state;

    if (old == state || (from >= 0 && old != from)) {
        spin_unlock_irqrestore(&vt->lock, flags);
        return;
    }
    runstate_account(&vt->runstate, state, NOW());
    snap = vt->runstate;
    spin_unlock_irqrestore(&vt->lock, flags);
    /* Xen rewrites the area at context switches, in and out; wake-ups
       (possibly from a timer callback) only record. */
    if (old == RUNSTATE_running || state == RUNSTATE_running)
        area_write(v, vt, &snap,
                   vm_assist_enabled(v->domain, VMASST_TYPE_runstate_update_flag));
}

void runstate_change(struct vcpu *v, int state)
{
    change(v, -1, state);
}

void runstate_wake(struct vcpu *v)
{
    change(v, RUNSTATE_blocked, RUNSTATE_runnable);
}

int runstate_after_run(const struct vcpu *v)
{
    if (!v->is_up || v->domain->is_shutting_down)
        return RUNSTATE_offline;
    return v->is_blocked ? RUNSTATE_blocked : RUNSTATE_runnable;
}

/* ---- the vCPU ops ---------------------------------------------------------------------- */

static void snapshot(struct vtime_vcpu *vt, struct vcpu_runstate_info *out, bool raw)
{
    uint64_t flags = spin_lock_irqsave(&vt->lock);

    if (raw)
        *out = vt->runstate;
    else
        runstate_snapshot(&vt->runstate, NOW(), out);
    spin_unlock_irqrestore(&vt->lock, flags);
}

static long get_info(struct vcpu *caller, struct vcpu *v, struct hcall *h)
{
    struct vcpu_runstate_info rs;
    uint8_t compat[RUNSTATE_COMPAT_SIZE];

    snapshot(vtime_vcpu(v), &rs, false);
    if (h->compat) {
        runstate_to_compat(&rs, compat);
        return copy_to_guest(caller, h->arg[2], compat, sizeof(compat)) ? -EFAULT : 0;
    }
    return copy_to_guest(caller, h->arg[2], &rs, sizeof(rs)) ? -EFAULT : 0;
}

static long register_area(struct vcpu *caller, struct vcpu *v, struct hcall *h)
{
    struct vtime_vcpu *vt;
    struct vcpu_runstate_info rs;
    uint64_t gla = 0;
    uint32_t gla32;

    if (h->compat) {
        if (copy_from_guest(caller, &gla32, h->arg[2], sizeof(gla32)))
            return -EFAULT;
        gla = gla32;
    } else if (copy_from_guest(caller, &gla, h->arg[2], sizeof(gla))) {
        return -EFAULT;
    }
    vt = vtime_vcpu(v);
    vt->runstate_gla = gla;
    vt->runstate_compat = h->compat;
    /* Xen copies its own record for the running caller, a snapshot for
       another vCPU, with a plain copy through the caller's page tables. */
    snapshot(vt, &rs, v == caller);
    area_write(caller, vt, &rs, false);
    return 0;
}

long runstate_vcpu_op(struct vcpu *caller, struct vcpu *v, int cmd, struct hcall *h)
{
    switch (cmd) {
    case VCPUOP_get_runstate_info:
        return get_info(caller, v, h);
    case VCPUOP_register_runstate_memory_area:
        return register_area(caller, v, h);
    default:
        return -ENOSYS;
    }
}
#endif
