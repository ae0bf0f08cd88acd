/*
 * pv_traps: exceptions, software interrupts and events of a 64-bit PV
 * kernel (the PV counterpart of exceptions; Xen 4.17's pv_inject_event,
 * create_bounce_frame, do_general_protection's INT n, test_all_events):
 *  - set_trap_table: handlers for vectors 0-31 and 0x80, bad tables;
 *  - #DE, #UD, #GP, #PF (read of nothing, write to the read-only M2P) and
 *    INT3 bounced to their handlers with Xen's frame (RCX, R11, [error
 *    code], RIP, CS with RPL 0 for the kernel, RFLAGS with IF = events
 *    unmasked, RSP, SS; 16-byte aligned), CR2 in vcpu_info for #PF, and
 *    back through HYPERVISOR_iret; TI_SET_IF masks events in the handler;
 *  - INT 0x80 with a DPL 3 entry reaches its handler, INT 0x81 without one
 *    is a #GP with error code 0x81 << 3 | 2;
 *  - callbacks (set_callbacks, callback_op, stack_switch) and their
 *    refusals; an event channel upcall to the event callback; a long
 *    computation preempted by the scheduler.
 * With `unhandled` on the command line it ends with a #UD and no trap
 * table: the hypervisor must crash the domain (exit 35, "no handler");
 * `tcg` accepts QEMU TCG's INT n error code (see below).
 * Boot: dom0=pv with build/guests/pv_traps.elf [tcg] [unhandled].
 */
#include "pv_guest.h"
#include <xen/callback.h>
#include <xen/event_channel.h>

#define PV_UNMAPPED 0x0000100000000000UL       /* L4 slot 32: nothing there */
#define RFLAGS_IF 0x200UL
#define PFEC_WRITE 2UL

static uint8_t kernel_stack[8192] __attribute__((aligned(16)));

/* Runs one faulting instruction with RCX and R11 set to known values,
   resuming after it; returns its address. */
#define FAULT(insn, ...)                                                                   \
    ({                                                                                     \
        uint64_t at_;                                                                      \
        __asm__ volatile("lea 1f(%%rip), %%rax\n\tmov %%rax, pv_trap_resume(%%rip)\n\t"   \
                         "mov %%rsp, pv_fault_rsp(%%rip)\n\t"                                 \
                         "mov $0x1234, %%ecx\n\tmov $0x5678, %%r11d\n\t"                   \
                         "0: " insn "\n1:\n\tlea 0b(%%rip), %0"                            \
                         : "=r"(at_) : __VA_ARGS__ : "rax", "rcx", "r11", "rdx", "memory"); \
        at_;                                                                               \
    })

uint64_t pv_fault_rsp;                             /* RSP at the last FAULT() */
static uint64_t count_before;
static bool tcg;                                /* command line: QEMU's TCG underneath */

static void expect_trap(const char *what, uint64_t vector, bool has_ec)
{
    pv_check_eq(what, (long)pv_trap_rec.count, (long)count_before + 1);
    pv_check_eq("  its vector", (long)pv_trap_rec.vector, (long)vector);
    pv_check_eq(has_ec ? "  with an error code" : "  without an error code", (long)pv_trap_rec.has_ec,
                has_ec);
    count_before = pv_trap_rec.count;
}

/* The whole frame of the last exception, taken in kernel mode at `rip`. */
static void check_frame(uint64_t rip)
{
    unsigned int n = 7 + (unsigned int)pv_trap_rec.has_ec;

    pv_check_eq("  frame RCX, R11 are the interrupted ones",
                (long)(pv_trap_rec.frame[0] == 0x1234 && pv_trap_rec.frame[1] == 0x5678), 1);
    pv_check_eq("  frame RIP", (long)pv_trap_word(PV_F_RIP), (long)rip);
    pv_check_eq("  frame CS: the kernel's, RPL 0", (long)pv_trap_word(PV_F_CS), PV_FLAT_KERNEL_CS);
    pv_check_eq("  frame SS", (long)pv_trap_word(PV_F_SS), PV_FLAT_SS);
    pv_check_eq("  frame RSP is the interrupted one", (long)pv_trap_word(PV_F_RSP), (long)pv_fault_rsp);
    pv_check_eq("  the frame right below it, 16-byte aligned",
                (long)(pv_trap_rec.entry_rsp + n * 8), (long)(pv_fault_rsp & ~15UL));
}

static void check_exceptions(struct vcpu_info *vi)
{
    uint64_t at;
    long rc;

    rc = pv_trap_install();
    pv_check(rc == 0, "set_trap_table accepted", rc, 0);
    count_before = pv_trap_rec.count;

    at = FAULT("ud2", "i"(0));
    pv_check(pv_trap_rec.count == count_before + 1,
             "#UD bounced to the registered handler and returned by iret", (long)pv_trap_rec.count,
             (long)count_before + 1);
    expect_trap("#UD: one exception", 6, false);
    check_frame(at);
    pv_check_eq("  frame RFLAGS.IF: events masked (as at boot)",
                (long)(pv_trap_word(PV_F_RFLAGS) & RFLAGS_IF), 0);

    {
        static volatile uint32_t zero;     /* any dividend: the divisor is 0 */

        at = FAULT("divl %[z]", [z] "m"(zero));
    }
    expect_trap("#DE (divide by zero) bounced", 0, false);
    check_frame(at);

    at = FAULT("mov (%[p]), %%rax", [p] "r"(0x8000000000000000UL));
    expect_trap("#GP (non-canonical load) bounced", 13, true);
    pv_check_eq("  error code 0", (long)pv_trap_rec.frame[2], 0);
    check_frame(at);

    vi->arch.cr2 = 0;
    at = FAULT("mov (%[p]), %%rax", [p] "r"(PV_UNMAPPED + 0x123));
    expect_trap("#PF (read of an unmapped address) bounced", 14, true);
    pv_check_eq("  CR2 in vcpu_info", (long)vi->arch.cr2, (long)(PV_UNMAPPED + 0x123));
    /* Xen's pv_inject_event sets PFEC_user_mode from the guest's mode:
       clear for the kernel, though it runs in ring 3. */
    pv_check_eq("  error code: not present, read, kernel (no U bit)", (long)pv_trap_rec.frame[2], 0);
    check_frame(at);

    at = FAULT("movq $1, (%[p])", [p] "r"(PV_RO_MPT));
    expect_trap("#PF (write to the read-only M2P) bounced", 14, true);
    pv_check_eq("  CR2 in vcpu_info", (long)vi->arch.cr2, (long)PV_RO_MPT);
    pv_check_eq("  error code: present, write, kernel", (long)pv_trap_rec.frame[2], 1 | PFEC_WRITE);
    pv_check_eq("  frame RIP", (long)pv_trap_word(PV_F_RIP), (long)at);

    at = FAULT("int3", "i"(0));
    expect_trap("INT3 bounced", 3, false);
    pv_check_eq("  frame RIP after the INT3 (a trap)", (long)pv_trap_word(PV_F_RIP), (long)at + 1);

    /* INT n from ring 3 through a DPL 0 gate: #GP(n << 3 | 2), which the
       hypervisor turns into the guest's INT n. QEMU's TCG pushes
       n << 4 | 2 instead (as the exceptions guest notes): the hypervisor
       cannot tell n, so under `tcg` it stays a #GP with that code. */
    at = FAULT("int $0x80", "i"(0));
    if (tcg) {
        expect_trap("INT 0x80 (TCG: a #GP with error code 0x80 << 4 | 2)", 13, true);
        pv_check_eq("  error code", (long)pv_trap_rec.frame[2], 0x80 << 4 | 2);
    } else {
        expect_trap("INT 0x80 (DPL 3 entry) reaches its handler", 0x80, false);
        pv_check_eq("  frame RIP after the INT", (long)pv_trap_word(PV_F_RIP), (long)at + 2);
    }

    at = FAULT("int $0x81", "i"(0));
    expect_trap("INT 0x81 (no entry) is a #GP", 13, true);
    pv_check_eq(tcg ? "  error code 0x81 << 4 | 2 (TCG)" : "  error code 0x81 << 3 | 2",
                (long)pv_trap_rec.frame[2], tcg ? 0x81 << 4 | 2 : 0x81 << 3 | 2);
    pv_check_eq("  frame RIP at the INT", (long)pv_trap_word(PV_F_RIP), (long)at);
}

/* Events unmasked: the frame shows IF; a TI_SET_IF entry masks events in
   the handler and iret restores them from the frame. */
static void check_event_mask(struct vcpu_info *vi)
{
    static struct trap_info masked[2];
    extern const uint64_t pv_trap_stubs[33];
    long rc;

    vi->evtchn_upcall_mask = 0;
    FAULT("ud2", "i"(0));
    pv_check_eq("events unmasked: frame RFLAGS.IF set", (long)(pv_trap_word(PV_F_RFLAGS) & RFLAGS_IF),
                (long)RFLAGS_IF);
    pv_check_eq("  still unmasked after iret", vi->evtchn_upcall_mask, 0);
    masked[0] = (struct trap_info){ .vector = 6, .flags = 4, .cs = FLAT_KERNEL_CS,
                                    .address = pv_trap_stubs[6] };
    rc = pv_hcall(__HYPERVISOR_set_trap_table, (uint64_t)masked, 0, 0, 0, 0);
    pv_check_eq("set_trap_table: #UD with TI_SET_IF", rc, 0);
    FAULT("ud2", "i"(0));
    pv_check_eq("  the frame still shows events unmasked before",
                (long)(pv_trap_word(PV_F_RFLAGS) & RFLAGS_IF), (long)RFLAGS_IF);
    pv_check_eq("  and iret unmasked them again", vi->evtchn_upcall_mask, 0);
    vi->evtchn_upcall_mask = 1;
    pv_trap_install();
}

static void check_bad_tables(void)
{
    static struct trap_info bad[2] = {
        { .vector = 6, .flags = 0, .cs = FLAT_KERNEL_CS, .address = 0x0000800000000000UL },
    };

    pv_check_eq("set_trap_table with a non-canonical handler -EINVAL",
                pv_hcall(__HYPERVISOR_set_trap_table, (uint64_t)bad, 0, 0, 0, 0), -XEN_EINVAL);
    pv_check_eq("set_trap_table from an unmapped list -EFAULT",
                pv_hcall(__HYPERVISOR_set_trap_table, PV_UNMAPPED, 0, 0, 0, 0), -XEN_EFAULT);
    pv_check_eq("set_trap_table(NULL) clears the table",
                pv_hcall(__HYPERVISOR_set_trap_table, 0, 0, 0, 0, 0), 0);
    pv_check_eq("set_trap_table again", pv_trap_install(), 0);
}

static void check_callbacks(void)
{
    struct callback_register cb = { .type = CALLBACKTYPE_nmi, .address = (unsigned long)pv_event_callback };
    long rc;

    rc = pv_hcall(__HYPERVISOR_stack_switch, FLAT_KERNEL_SS, (uint64_t)kernel_stack + sizeof(kernel_stack),
                  0, 0, 0);
    pv_check(rc == 0, "stack_switch accepted", rc, 0);
    pv_check_eq("stack_switch to a non-canonical stack -EINVAL",
                pv_hcall(__HYPERVISOR_stack_switch, FLAT_KERNEL_SS, 0x0000800000000000UL, 0, 0, 0),
                -XEN_EINVAL);
    rc = pv_hcall(__HYPERVISOR_set_callbacks, (uint64_t)pv_event_callback,
                  (uint64_t)pv_event_callback, 0, 0, 0);
    pv_check(rc == 0, "set_callbacks accepted", rc, 0);
    rc = pv_hcall(__HYPERVISOR_set_callbacks, 0xffff800000001000UL, 0, 0, 0, 0);
    pv_check(rc == -XEN_EINVAL, "a callback in the hypervisor hole refused", rc, -XEN_EINVAL);
    /* Xen's register_guest_nmi_callback: any canonical address. */
    pv_check_eq("CALLBACKOP_register of the NMI callback",
                pv_hcall(__HYPERVISOR_callback_op, CALLBACKOP_register, (uint64_t)&cb, 0, 0, 0), 0);
    pv_check_eq("CALLBACKOP_unregister of the NMI callback",
                pv_hcall(__HYPERVISOR_callback_op, CALLBACKOP_unregister, (uint64_t)&cb, 0, 0, 0), 0);
    pv_check_eq("callback_op command 99 -ENOSYS",
                pv_hcall(__HYPERVISOR_callback_op, 99, (uint64_t)&cb, 0, 0, 0), -XEN_ENOSYS);
    pv_check_eq("CALLBACKOP_register from an unmapped pointer -EFAULT",
                pv_hcall(__HYPERVISOR_callback_op, CALLBACKOP_register, PV_UNMAPPED, 0, 0, 0),
                -XEN_EFAULT);
}

/* An IPI event channel bound to ourselves, EVTCHNOP_send: the upcall must
   reach the event callback before the hypercall returns to us. */
static void check_events(struct shared_info *sh, long map_rc)
{
    struct callback_register cb = { .type = CALLBACKTYPE_event,
                                    .address = (unsigned long)pv_event_callback };
    struct evtchn_bind_ipi ipi = { .vcpu = 0 };
    struct evtchn_send send;
    volatile uint8_t *vi = (volatile uint8_t *)&sh->vcpu_info[0];
    uint64_t before = pv_event_count;
    long rc;

    pv_check(map_rc == 0, "shared info mapped with update_va_mapping", map_rc, 0);
    rc = pv_hcall(__HYPERVISOR_callback_op, CALLBACKOP_register, (uint64_t)&cb, 0, 0, 0);
    pv_check(rc == 0, "event callback registered", rc, 0);
    vi[1] = 0;                               /* evtchn_upcall_mask: events on */
    rc = pv_hcall(__HYPERVISOR_event_channel_op, EVTCHNOP_bind_ipi, (uint64_t)&ipi, 0, 0, 0);
    pv_check(rc == 0 && ipi.port > 0, "EVTCHNOP_bind_ipi", rc, 0);
    send.port = ipi.port;
    rc = pv_hcall(__HYPERVISOR_event_channel_op, EVTCHNOP_send, (uint64_t)&send, 0, 0, 0);
    pv_check(rc == 0, "EVTCHNOP_send to ourselves", rc, 0);
    pv_check(pv_event_count == before + 1, "the event upcall reached the event callback once",
             (long)(pv_event_count - before), 1);
    pv_check(vi[1] == 0, "iret unmasked events again", vi[1], 0);
    /* Masked: the event stays pending, no upcall until unmasked. The port
       and selector bits are ours to clear (the callback only counts). */
    vi[1] = 1;
    __atomic_fetch_and(&sh->evtchn_pending[ipi.port / 64], ~(1UL << (ipi.port % 64)), __ATOMIC_SEQ_CST);
    sh->vcpu_info[0].evtchn_pending_sel = 0;
    rc = pv_hcall(__HYPERVISOR_event_channel_op, EVTCHNOP_send, (uint64_t)&send, 0, 0, 0);
    pv_check(rc == 0 && pv_event_count == before + 1 && vi[0] == 1,
             "with events masked the upcall waits, pending set", (long)(pv_event_count - before), 1);
    vi[1] = 0;
    pv_hcall(__HYPERVISOR_xen_version, 0, 0, 0, 0, 0);   /* any hypercall: events delivered on return */
    pv_check_eq("unmasked: delivered on the next return from the hypervisor",
                (long)(pv_event_count - before), 2);
    vi[1] = 1;
}

/* Long enough in ring 3 for the scheduler's slice timer to interrupt the
   guest (the vCPU leaves to the scheduler and is entered again): the
   registers and the FS base must survive. */
static void check_preemption(void)
{
    static uint64_t fs_word = 0x600df00d600df00dUL;
    uint64_t seen = 0, sum = 0;

    pv_hcall(__HYPERVISOR_set_segment_base, SEGBASE_FS, (uint64_t)&fs_word, 0, 0, 0);
    for (uint64_t i = 0; i < 200000000UL; i++)
        __asm__ volatile("add %1, %0" : "+r"(sum) : "r"(i));
    __asm__ volatile("movq %%fs:0, %0" : "=r"(seen));
    pv_check(sum == 200000000UL * (200000000UL - 1) / 2, "a long computation survives preemption",
             (long)sum, 0);
    pv_check(seen == fs_word, "the FS base survives preemption", (long)seen, (long)fs_word);
    pv_hcall(__HYPERVISOR_set_segment_base, SEGBASE_FS, 0, 0, 0, 0);
}

PV_TEST_MAIN(traps)
{
    struct shared_info *sh;
    long map_rc = pv_map_shared_info(&sh);

    tcg = pv_cmdline_has("tcg");
    if (map_rc) {
        pv_check(false, "shared info mapped with update_va_mapping", map_rc, 0);
        return;
    }
    check_exceptions(&sh->vcpu_info[0]);
    check_event_mask(&sh->vcpu_info[0]);
    check_bad_tables();
    check_callbacks();
    check_events(sh, map_rc);
    check_preemption();
    if (pv_cmdline_has("unhandled")) {
        pv_puts("pv_traps: a #UD with no trap table: the domain must be crashed\n");
        pv_hcall(__HYPERVISOR_set_trap_table, 0, 0, 0, 0, 0);
        __asm__ volatile("ud2");
        pv_check(false, "the #UD without a handler returned", 0, 0);
    }
}
