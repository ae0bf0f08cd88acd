/*
 * pv_usermode: the guest kernel/user split of a 64-bit PV guest (Xen
 * 4.17's toggle_guest_mode, do_iret, the syscall callback and
 * create_bounce_frame from user mode):
 *  - segment bases: FS set and read through, a non-canonical base
 *    refused; the user and kernel GS bases swapped with the mode;
 *  - a user L4 (a copy of the kernel's, read-only, pinned,
 *    MMUEXT_NEW_USER_BASEPTR), stack_switch to a kernel stack, the
 *    syscall callback registered;
 *  - HYPERVISOR_iret to user mode and SYSCALL back to the callback, on the
 *    stack_switch stack with Xen's frame (RCX, R11, RIP, CS (user), RFLAGS,
 *    RSP, SS), with and without CALLBACKF_mask_events;
 *  - exceptions from user mode (#UD, #PF with the U bit, INT 0x80 through
 *    a DPL 3 entry) bounced to the kernel's handlers on that stack with a
 *    user CS, and iret back into user mode;
 *  - hypercalls work again once back in kernel mode.
 * `tcg` on the command line accepts QEMU TCG's INT n error code.
 * Boot: dom0=pv with build/guests/pv_usermode.elf [tcg].
 */
#include "pv_guest.h"
#include <xen/callback.h>
#include <xen/version.h>

static uint8_t kernel_stack[8192] __attribute__((aligned(16)));
static uint8_t user_stack[4096] __attribute__((aligned(16)));
#define KSTACK_TOP ((uint64_t)kernel_stack + sizeof(kernel_stack))
#define USTACK_TOP ((uint64_t)user_stack + sizeof(user_stack))

static void check_fs_base(void)
{
    static uint64_t fs_word = 0x5afe5afe12345678UL;
    uint64_t seen = 0;
    long rc;

    rc = pv_hcall(__HYPERVISOR_set_segment_base, SEGBASE_FS, (uint64_t)&fs_word, 0, 0, 0);
    pv_check(rc == 0, "set_segment_base(SEGBASE_FS) accepted", rc, 0);
    __asm__ volatile("movq %%fs:0, %0" : "=r"(seen));
    pv_check(seen == fs_word, "%fs:0 reads through the new FS base", (long)seen, (long)fs_word);
    rc = pv_hcall(__HYPERVISOR_set_segment_base, SEGBASE_FS, 0x0000800000000000UL, 0, 0, 0);
    pv_check(rc == -XEN_EINVAL, "a non-canonical FS base refused", rc, -XEN_EINVAL);
    rc = pv_hcall(__HYPERVISOR_set_segment_base, SEGBASE_FS, 0, 0, 0, 0);
    pv_check(rc == 0, "FS base back to 0", rc, 0);
    pv_check_eq("set_segment_base of an unknown segment (99) -EINVAL",
                pv_hcall(__HYPERVISOR_set_segment_base, 99, 0, 0, 0, 0), -XEN_EINVAL);
}

/* A user L4 (a copy of the kernel's, in a free page of the bootstrap
   region past the stack, made read-only, pinned, NEW_USER_BASEPTR), the
   kernel stack for user->kernel entries and the syscall callback. */
static bool setup_user(void)
{
    uint64_t page = pv_scratch_va(PV_SCRATCH_USER_L4);
    uint64_t mfn = pv_va_to_mfn(page), l1e = pv_l1e_maddr(page);
    const uint64_t *kl4 = (const uint64_t *)pv_si->pt_base;
    uint64_t *ul4 = (uint64_t *)page;
    struct callback_register cb = { .type = CALLBACKTYPE_syscall,
                                    .address = (unsigned long)pv_syscall_callback };
    long rc;

    for (int i = 0; i < 512; i++)
        ul4[i] = kl4[i];
    rc = pv_mmu_update1(l1e | MMU_NORMAL_PT_UPDATE, (mfn << 12) | 0x65);   /* P US A D, read-only */
    pv_check(rc == 0, "the user L4's page made read-only", rc, 0);
    rc = pv_mmuext1(MMUEXT_PIN_L4_TABLE, mfn);
    pv_check(rc == 0, "user L4 pinned", rc, 0);
    rc = pv_mmuext1(MMUEXT_NEW_USER_BASEPTR, mfn);
    pv_check(rc == 0, "MMUEXT_NEW_USER_BASEPTR accepted", rc, 0);
    rc = pv_hcall(__HYPERVISOR_stack_switch, FLAT_KERNEL_SS, KSTACK_TOP, 0, 0, 0);
    pv_check(rc == 0, "stack_switch to the kernel stack for user entries", rc, 0);
    rc = pv_hcall(__HYPERVISOR_callback_op, CALLBACKOP_register, (uint64_t)&cb, 0, 0, 0);
    pv_check(rc == 0, "CALLBACKOP_register(syscall) accepted", rc, 0);
    return rc == 0;
}

static void check_syscall(struct vcpu_info *vi)
{
    struct callback_register cb = { .type = CALLBACKTYPE_syscall, .flags = CALLBACKF_mask_events,
                                    .address = (unsigned long)pv_syscall_callback };

    pv_run_user((uint64_t)pv_user_syscall, USTACK_TOP);
    pv_check(pv_cb_rax == 0x5e1f, "user-mode SYSCALL reached the kernel's syscall callback",
             (long)pv_cb_rax, 0x5e1f);
    pv_check((pv_cb_frame[3] & 3) == 3, "its frame shows a user CS (RPL 3)", (long)pv_cb_frame[3],
             PV_FLAT_USER_CS);
    pv_check_eq("  frame CS is FLAT_USER_CS64", (long)pv_cb_frame[3], PV_FLAT_USER_CS);
    pv_check_eq("  frame RIP after the SYSCALL", (long)pv_cb_frame[2], (long)pv_user_syscall + 7);
    pv_check_eq("  frame RCX is that RIP too (SYSCALL)", (long)pv_cb_frame[0], (long)pv_user_syscall + 7);
    pv_check_eq("  frame RSP is the user stack", (long)pv_cb_frame[5], (long)USTACK_TOP);
    pv_check_eq("  frame SS", (long)pv_cb_frame[6], PV_FLAT_SS);
    pv_check_eq("  on the stack_switch stack, right below its (16-byte aligned) top",
                (long)pv_cb_rsp, (long)KSTACK_TOP - 7 * 8);
    pv_check_eq("  events left unmasked (callback without CALLBACKF_mask_events)",
                vi->evtchn_upcall_mask, 0);
    pv_check_eq("back in kernel mode: hypercalls work again",
                pv_hcall(__HYPERVISOR_xen_version, XENVER_version, 0, 0, 0, 0), 0x40011);

    pv_hcall(__HYPERVISOR_callback_op, CALLBACKOP_register, (uint64_t)&cb, 0, 0, 0);
    pv_run_user((uint64_t)pv_user_syscall, USTACK_TOP);
    pv_check_eq("with CALLBACKF_mask_events the callback runs with events masked",
                vi->evtchn_upcall_mask, 1);
    vi->evtchn_upcall_mask = 1;
    cb.flags = 0;
    pv_hcall(__HYPERVISOR_callback_op, CALLBACKOP_register, (uint64_t)&cb, 0, 0, 0);
}

static void check_gs_bases(void)
{
    static uint64_t user_word = 0x05e7000000000001UL, kernel_word = 0x7e7e000000000002UL;
    uint64_t seen = 0;
    long rc;

    rc = pv_hcall(__HYPERVISOR_set_segment_base, SEGBASE_GS_USER, (uint64_t)&user_word, 0, 0, 0);
    pv_check_eq("set_segment_base(SEGBASE_GS_USER)", rc, 0);
    rc = pv_hcall(__HYPERVISOR_set_segment_base, SEGBASE_GS_KERNEL, (uint64_t)&kernel_word, 0, 0, 0);
    pv_check_eq("set_segment_base(SEGBASE_GS_KERNEL)", rc, 0);
    __asm__ volatile("movq %%gs:0, %0" : "=r"(seen));
    pv_check_eq("kernel mode: %gs:0 through the kernel GS base", (long)seen, (long)kernel_word);
    pv_run_user((uint64_t)pv_user_read_gs, USTACK_TOP);
    pv_check_eq("user mode: %gs:0 through the user GS base", (long)pv_cb_rax, (long)user_word);
    __asm__ volatile("movq %%gs:0, %0" : "=r"(seen));
    pv_check_eq("back in kernel mode: the kernel GS base again", (long)seen, (long)kernel_word);
    pv_hcall(__HYPERVISOR_set_segment_base, SEGBASE_GS_USER, 0, 0, 0, 0);
    pv_hcall(__HYPERVISOR_set_segment_base, SEGBASE_GS_KERNEL, 0, 0, 0, 0);
}

/* The last exception came from user mode: on the stack_switch stack, with
   the user's CS and stack in its frame. */
static void check_user_frame(void)
{
    unsigned int n = 7 + (unsigned int)pv_trap_rec.has_ec;

    pv_check_eq("  frame CS is the user's", (long)pv_trap_word(PV_F_CS), PV_FLAT_USER_CS);
    pv_check_eq("  frame RSP is the user stack", (long)pv_trap_word(PV_F_RSP), (long)USTACK_TOP);
    pv_check_eq("  on the stack_switch stack", (long)(pv_trap_rec.entry_rsp + n * 8),
                (long)KSTACK_TOP);
}

static void check_user_exceptions(struct vcpu_info *vi, bool tcg)
{
    uint64_t count = pv_trap_rec.count;

    pv_check_eq("set_trap_table", pv_trap_install(), 0);
    pv_trap_resume = (uint64_t)pv_user_ud2_resume;
    pv_run_user((uint64_t)pv_user_ud2, USTACK_TOP);
    pv_check(pv_trap_rec.count == count + 1 && pv_trap_rec.vector == 6,
             "#UD in user mode bounced to the kernel's handler", (long)pv_trap_rec.vector, 6);
    pv_check_eq("  frame RIP at the UD2", (long)pv_trap_word(PV_F_RIP), (long)pv_user_ud2);
    check_user_frame();
    pv_check(pv_cb_rax == 0x0d2 && pv_cb_frame[3] == PV_FLAT_USER_CS,
             "  iret went back to user mode, whose SYSCALL followed", (long)pv_cb_rax, 0x0d2);

    vi->arch.cr2 = 0;
    pv_trap_resume = (uint64_t)pv_user_pf_resume;
    pv_run_user((uint64_t)pv_user_pf, USTACK_TOP);
    pv_check(pv_trap_rec.count == count + 2 && pv_trap_rec.vector == 14,
             "#PF in user mode bounced to the kernel's handler", (long)pv_trap_rec.vector, 14);
    pv_check_eq("  error code: user, not present, read", (long)pv_trap_rec.frame[2], 4);
    pv_check_eq("  CR2 in vcpu_info", (long)vi->arch.cr2, 0x0000100000000123L);
    check_user_frame();
    pv_check_eq("  back in user mode after it", (long)pv_cb_rax, 0x0e);

    /* QEMU's TCG: #GP(0x80 << 4 | 2), which the hypervisor cannot turn
       into INT 0x80 (see pv_traps): resumed after the INT. */
    pv_trap_resume = tcg ? (uint64_t)pv_user_int80 + 2 : 0;
    pv_run_user((uint64_t)pv_user_int80, USTACK_TOP);
    if (tcg) {
        pv_check(pv_trap_rec.count == count + 3 && pv_trap_rec.vector == 13 &&
                 pv_trap_rec.frame[2] == (0x80 << 4 | 2),
                 "INT 0x80 in user mode (TCG: #GP(0x80 << 4 | 2)) bounced", (long)pv_trap_rec.vector, 13);
        check_user_frame();
    } else {
        pv_check(pv_trap_rec.count == count + 3 && pv_trap_rec.vector == 0x80,
                 "INT 0x80 in user mode reaches its DPL 3 handler", (long)pv_trap_rec.vector, 0x80);
        pv_check_eq("  frame RIP after the INT", (long)pv_trap_word(PV_F_RIP), (long)pv_user_int80 + 2);
        check_user_frame();
        pv_check_eq("  back in user mode after it", (long)pv_cb_rax, 0x80);
    }
}

PV_TEST_MAIN(usermode)
{
    struct shared_info *sh;
    long rc = pv_map_shared_info(&sh);

    check_fs_base();
    if (rc || !setup_user()) {
        pv_check(false, "shared info and user mode set up", rc, 0);
        return;
    }
    check_syscall(&sh->vcpu_info[0]);
    check_gs_bases();
    check_user_exceptions(&sh->vcpu_info[0], pv_cmdline_has("tcg"));
}
