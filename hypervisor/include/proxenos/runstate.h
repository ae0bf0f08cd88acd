/*
 * vCPU runstate (hypervisor/common/runstate.c), after Xen 4.17's
 * xen/common/sched/core.c (vcpu_runstate_change, vcpu_runstate_get) and
 * xen/arch/x86/domain.c (update_runstate_area): how long each vCPU has
 * been running, runnable, blocked and offline, in ns of system time.
 *
 * The scheduler reports changes with runstate_change(); the guest reads
 * them with VCPUOP_get_runstate_info or in the area it registered with
 * VCPUOP_register_runstate_memory_area (a guest-virtual address of a
 * struct vcpu_runstate_info), which is rewritten whenever the vCPU starts
 * or stops running, as Xen does at each context switch.
 */
#ifndef PROXENOS_RUNSTATE_H
#define PROXENOS_RUNSTATE_H
#include <proxenos/types.h>
#include <proxenos/xen_abi.h>

struct vcpu;
struct hcall;
struct vtime_vcpu;

/* ---- pure helpers (unit-tested on the host) ------------------------------ */

/* Moves `rs` to `state` at `now`: the time since state_entry_time goes to
   the old state. As Xen, a clock that did not advance leaves the entry
   time alone. */
void runstate_account(struct vcpu_runstate_info *rs, int state, s_time_t now);
/* A copy of `rs` with the time spent in the current state so far added
   (VCPUOP_get_runstate_info); state_entry_time is unchanged. */
void runstate_snapshot(const struct vcpu_runstate_info *rs, s_time_t now,
                       struct vcpu_runstate_info *out);

/* The i386 layout: state, then state_entry_time and time[4] 4-byte
   aligned (Xen's compat_vcpu_runstate_info). */
#define RUNSTATE_COMPAT_SIZE 44
#define RUNSTATE_COMPAT_ENTRY_OFF 4
void runstate_to_compat(const struct vcpu_runstate_info *rs, uint8_t out[RUNSTATE_COMPAT_SIZE]);

/* ---- the scheduler's hooks ------------------------------------------------- */

/* The vCPU changes state (RUNSTATE_running/runnable/blocked/offline).
   Entering or leaving `running` also rewrites the guest's area; the other
   transitions (a wake-up from a timer callback) only record. */
void runstate_change(struct vcpu *v, int state);
/* The state a vCPU that stops running goes to: offline if it is down or its
   domain is going away, blocked if it waits for an event, else runnable. */
int runstate_after_run(const struct vcpu *v);
/* A blocked vCPU became runnable (vcpu_wake): no change for the others. */
void runstate_wake(struct vcpu *v);

/* VCPUOP_get_runstate_info and VCPUOP_register_runstate_memory_area for
   vCPU v, called by vCPU caller. */
long runstate_vcpu_op(struct vcpu *caller, struct vcpu *v, int cmd, struct hcall *h);

/* Sets up a fresh slot: offline since now (vtime.c). */
void runstate_slot_init(struct vtime_vcpu *vt);

#endif
