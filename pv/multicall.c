/*
 * HYPERVISOR_multicall's batch semantics (xen.h struct multicall_entry;
 * Xen 4.17's common/multicall.c and x86's arch_do_multicall_call), apart
 * from guest memory and the dispatch, which the hypercall glue supplies:
 *   - each call runs whatever the previous ones returned; its result goes
 *     to its own entry, and a failing call does not stop the batch;
 *   - a fault copying an entry in or a result out ends the batch: -EFAULT;
 *   - a call that changes the guest's context (iret) ends it with that
 *     call's result;
 *   - a sub-call that asked for a continuation, pending work between calls,
 *     or a call after which the guest left kernel mode, preempt the batch:
 *     it is continued from the first call not done.
 */
#include <proxenos/pv_mm.h>

long pv_multicall(const struct pv_multicall_ops *ops, void *ctx, uint32_t nr_calls,
                  uint32_t *next)
{
    struct multicall_entry call;
    uint32_t i;

    for (i = 0; i < nr_calls; i++) {
        enum pv_mc_disp disp;
        bool preempted = false;

        *next = i;
        if (i && ops->preempt_check && ops->preempt_check(ctx))
            return PV_MC_PREEMPTED;
        if (ops->fetch(ctx, i, &call))
            return -EFAULT;
        disp = ops->dispatch(ctx, &call, &preempted);
        if (ops->store_result(ctx, i, &call))
            return -EFAULT;
        if (disp == PV_MC_EXIT) {
            *next = i + 1;
            return (long)call.result;
        }
        if (preempted) {
            /* The sub-call runs again from its rewritten arguments. */
            return ops->store_entry(ctx, i, &call) ? -EFAULT : PV_MC_PREEMPTED;
        }
        if (disp == PV_MC_PREEMPT && i + 1 < nr_calls) {
            *next = i + 1;
            return PV_MC_PREEMPTED;
        }
    }
    *next = nr_calls;
    return 0;
}
