/*
 * Hypercall entry for HVM/PVH guests: the VMMCALL/VMCALL exit lands here
 * (hvm.h hvm_hypercall), as in Xen's xen/arch/x86/hvm/hypercall.c:
 *   - 64-bit guests pass the number in RAX and arguments in RDI, RSI, RDX,
 *     R10, R8; 32-bit (and real-mode) guests use EAX and EBX, ECX, EDX,
 *     ESI, EDI, and the i386 structure layouts;
 *   - only the guest kernel may call: CPL > 0 or virtual-8086 mode gets
 *     -EPERM, so guest user space cannot reach the hypervisor directly;
 *   - numbers without a handler return -ENOSYS;
 *   - the result goes to RAX, sign-extended.
 * Each call is counted per vCPU (domain.h hypercall_counts) for the
 * counters printout.
 */
#include <proxenos/xen_abi.h>
#include <proxenos/domain.h>
#include <proxenos/evtchn.h>
#include <proxenos/gnttab.h>
#include <proxenos/hypercall.h>
#include <proxenos/printk.h>
#include <proxenos/vtime.h>

#define X86_FLAGS_VM (1u << 17)

static const hcall_fn hypercall_table[NR_HYPERCALLS] = {
    [__HYPERVISOR_memory_op]   = do_memory_op,
    [__HYPERVISOR_xen_version] = do_xen_version,
    [__HYPERVISOR_console_io]  = do_console_io,
    [__HYPERVISOR_vcpu_op]     = do_vcpu_op,
    [__HYPERVISOR_sched_op]    = do_sched_op,
    [__HYPERVISOR_hvm_op]      = do_hvm_op,
    [__HYPERVISOR_event_channel_op] = do_event_channel_hcall,
    [__HYPERVISOR_grant_table_op] = do_grant_table_op,  /* grant_table.c */
    [__HYPERVISOR_physdev_op]  = do_physdev_op,         /* physdev_op.c */
    [__HYPERVISOR_platform_op] = do_platform_op,        /* platform_op.c */
    [__HYPERVISOR_sysctl]      = do_sysctl,             /* platform_op.c */
    [__HYPERVISOR_domctl]      = do_domctl,             /* platform_op.c */
    [__HYPERVISOR_set_timer_op] = do_set_timer_op,      /* vcpu_timer.c */
    [__HYPERVISOR_vm_assist]   = do_vm_assist,          /* runstate.c */
};

static const char *const hypercall_names[NR_HYPERCALLS] = {
#define N(x) [__HYPERVISOR_##x] = #x
    N(set_trap_table), N(mmu_update), N(set_gdt), N(stack_switch), N(set_callbacks),
    N(fpu_taskswitch), N(sched_op_compat), N(platform_op), N(set_debugreg),
    N(get_debugreg), N(update_descriptor), N(memory_op), N(multicall),
    N(update_va_mapping), N(set_timer_op), N(event_channel_op_compat), N(xen_version),
    N(console_io), N(physdev_op_compat), N(grant_table_op), N(vm_assist),
    N(update_va_mapping_otherdomain), N(iret), N(vcpu_op), N(set_segment_base),
    N(mmuext_op), N(xsm_op), N(nmi_op), N(sched_op), N(callback_op), N(xenoprof_op),
    N(event_channel_op), N(physdev_op), N(hvm_op), N(sysctl), N(domctl), N(kexec_op),
    N(tmem_op), N(argo_op), N(xenpmu_op), N(dm_op), N(hypfs_op), N(arch_0), N(arch_1),
    N(arch_2), N(arch_3), N(arch_4), N(arch_5), N(arch_6), N(arch_7),
#undef N
};
BUILD_BUG_ON(__HYPERVISOR_arch_7 >= NR_HYPERCALLS);

const char *hypercall_name(unsigned int nr)
{
    return nr < NR_HYPERCALLS && hypercall_names[nr] ? hypercall_names[nr] : "?";
}

/* Argument registers in Xen's order, for each width. */
static const uint8_t args64[5] = { X86_REG_RDI, X86_REG_RSI, X86_REG_RDX, X86_REG_R10, X86_REG_R8 };
static const uint8_t args32[5] = { X86_REG_RBX, X86_REG_RCX, X86_REG_RDX, X86_REG_RSI, X86_REG_RDI };

/* Says once per hypercall number that a guest wanted what we lack. */
static void report_missing(struct vcpu *v, uint64_t nr)
{
    static uint64_t reported;            /* bit nr: already said */
    uint64_t bit = 1ull << (nr < 63 ? nr : 63);

    if (__atomic_fetch_or(&reported, bit, __ATOMIC_RELAXED) & bit)
        return;
    printk(LOG_INFO "d%u v%u: hypercall %s (%lu) is not implemented: -ENOSYS%s\n",
           v->domain->domain_id, v->vcpu_id, hypercall_name(nr), nr,
           nr >= 63 ? " (further unknown numbers are not reported)" : "");
}

enum hvm_result hvm_hypercall(struct vcpu *v)
{
    uint64_t *gpr = v->hvm.regs.gpr;
    struct hcall h = { .compat = hvm_guest_mode(v) != X86_MODE_64 };
    const uint8_t *regs = h.compat ? args32 : args64;
    uint64_t nr = h.compat ? (uint32_t)gpr[X86_REG_RAX] : gpr[X86_REG_RAX];
    long rc;

    if (nr < NR_HYPERCALLS)
        v->hypercall_counts[nr]++;
    else
        v->hypercall_unknown++;

    if ((v->hvm.regs.rflags & X86_FLAGS_VM) || hvm_guest_cpl(v) != 0) {
        rc = -EPERM;
    } else if (nr >= NR_HYPERCALLS || !hypercall_table[nr]) {
        report_missing(v, nr);
        rc = -ENOSYS;
    } else {
        block_speculation();
        for (unsigned int i = 0; i < 5; i++)
            h.arg[i] = h.compat ? (uint32_t)gpr[regs[i]] : gpr[regs[i]];
        rc = hypercall_table[nr](v, &h);
        if (h.preempted) {
            /* RAX still holds the number: the guest re-executes the call
               with the arguments that describe what is left. */
            for (unsigned int i = 0; i < 5; i++)
                gpr[regs[i]] = h.compat ? (uint32_t)h.arg[i] : h.arg[i];
            return HVM_NO_ADVANCE;
        }
    }
    gpr[X86_REG_RAX] = (uint64_t)rc;
    return HVM_DONE;
}

void domain_xen_teardown(struct domain *d)
{
    vtime_domain_teardown(d);
    sched_watchdog_release(d);
    gnttab_domain_destroy(d);
}
