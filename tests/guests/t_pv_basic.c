/*
 * 64-bit PV basics: start_info as the builder documents it (xen.h), the
 * console, one mmu_update accepted and two refused with Xen's errors, an
 * exception bounced to the handler registered with set_trap_table, the
 * segment-base, stack and callback registrations, and the end through
 * SCHEDOP_shutdown. Boot: dom0=pv with build/guests/pv_basic.elf.
 */
#include "pv_guest.h"
#include <xen/callback.h>
#include <xen/version.h>
#include <xen/event_channel.h>

const char pv_test_name[] = "pv_basic";
extern char pv_ud_handler[];
extern volatile uint64_t pv_ud_count;

static bool magic_ok(const char *m)
{
    static const char want[] = "xen-3.0-x86_64";

    for (unsigned int i = 0; i < sizeof(want); i++)
        if (m[i] != want[i])
            return false;
    return true;
}

static void check_start_info(void)
{
    start_info_t *si = pv_si;

    pv_check(magic_ok(si->magic), "start_info magic is xen-3.0-x86_64", 0, 0);
    pv_check(si->nr_pages >= 1024, "nr_pages covers at least 4 MiB", (long)si->nr_pages, 1024);
    pv_check((si->flags & (SIF_INITDOMAIN | SIF_PRIVILEGED)) == (SIF_INITDOMAIN | SIF_PRIVILEGED),
             "dom0 flags SIF_INITDOMAIN|SIF_PRIVILEGED", si->flags, SIF_INITDOMAIN | SIF_PRIVILEGED);
    pv_check(!(si->shared_info & (PV_PAGE_SIZE - 1)) && si->shared_info,
             "shared_info is a page-aligned machine address", (long)si->shared_info, 0);
    pv_check(!(si->pt_base & (PV_PAGE_SIZE - 1)) && si->pt_base > (uint64_t)si,
             "pt_base is a page after start_info", (long)si->pt_base, 0);
    pv_check(si->nr_pt_frames >= 4, "at least 4 bootstrap page-table frames",
             (long)si->nr_pt_frames, 4);
    pv_check(si->mfn_list && si->mfn_list < (uint64_t)si, "the P2M list precedes start_info",
             (long)si->mfn_list, 0);
    pv_check(si->store_mfn == 0 && si->console.domU.mfn == 0, "dom0: no store/console rings",
             (long)si->store_mfn, 0);
    /* The P2M and the read-only M2P agree on start_info's own page. */
    pv_check(pv_mfn_to_va(pv_va_to_mfn((uint64_t)si)) == (uint64_t)si,
             "M2P[P2M[start_info]] is start_info", 0, 0);
}

/* The machine address of the L1 entry that maps va (walk of the read-only
   bootstrap tables: entries hold machine addresses, the M2P turns them
   back into our virtual addresses). */
static uint64_t l1e_maddr(uint64_t va)
{
    uint64_t table_mfn = pv_va_to_mfn(pv_si->pt_base);

    for (int level = 4; level > 1; level--) {
        const uint64_t *t = (const uint64_t *)pv_mfn_to_va(table_mfn);
        table_mfn = (t[(va >> (12 + 9 * (level - 1))) & 511] & 0x000ffffffffff000UL) >> 12;
    }
    return (table_mfn << 12) + ((va >> 12) & 511) * 8;
}

static long mmu_update1(uint64_t ptr, uint64_t val)
{
    struct mmu_update req = { .ptr = ptr, .val = val };
    unsigned int done = 0;

    return pv_hcall(__HYPERVISOR_mmu_update, (uint64_t)&req, 1, (uint64_t)&done, DOMID_SELF, 0);
}

static void check_mmu_update(void)
{
    uint64_t stack_va = pv_si->pt_base + pv_si->nr_pt_frames * PV_PAGE_SIZE;
    uint64_t l1e_ma = l1e_maddr(stack_va);
    const uint64_t *l1 = (const uint64_t *)pv_mfn_to_va(l1e_ma >> 12);
    uint64_t old = l1[(l1e_ma & 0xfff) / 8];
    uint64_t l4_mfn = pv_va_to_mfn(pv_si->pt_base);

    pv_check(mmu_update1(l1e_ma | MMU_NORMAL_PT_UPDATE, old) == 0,
             "mmu_update rewriting the bootstrap stack's L1 entry accepted",
             mmu_update1(l1e_ma | MMU_NORMAL_PT_UPDATE, old), 0);
    /* The L4's own page made writable: it is a live page table. */
    long rc = mmu_update1(l1e_maddr(pv_si->pt_base) | MMU_NORMAL_PT_UPDATE,
                          (l4_mfn << 12) | 7);
    pv_check(rc < 0, "mmu_update mapping the L4 writable refused", rc, -XEN_EBUSY);
    /* A hypervisor slot of the L4 (xen-x86_64.h: 256-271 are Xen's). */
    rc = mmu_update1(((l4_mfn << 12) + 256 * 8) | MMU_NORMAL_PT_UPDATE, 0);
    pv_check(rc == -XEN_EINVAL, "mmu_update of L4 slot 256 refused with -EINVAL", rc, -XEN_EINVAL);
}

static void check_trap_bounce(void)
{
    struct trap_info traps[2] = {
        { .vector = 6, .flags = 0, .cs = FLAT_KERNEL_CS, .address = (unsigned long)pv_ud_handler },
        { 0 },
    };
    long rc = pv_hcall(__HYPERVISOR_set_trap_table, (uint64_t)traps, 0, 0, 0, 0);

    pv_check(rc == 0, "set_trap_table accepted", rc, 0);
    __asm__ volatile("ud2" ::: "memory");
    pv_check(pv_ud_count == 1, "#UD bounced to the registered handler and returned by iret",
             (long)pv_ud_count, 1);
}

static void check_registrations(void)
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
    rc = pv_hcall(__HYPERVISOR_stack_switch, FLAT_KERNEL_SS, pv_si->pt_base, 0, 0, 0);
    pv_check(rc == 0, "stack_switch accepted", rc, 0);
    rc = pv_hcall(__HYPERVISOR_set_callbacks, (uint64_t)pv_test_main, (uint64_t)pv_test_main,
                  0, 0, 0);
    pv_check(rc == 0, "set_callbacks accepted", rc, 0);
    rc = pv_hcall(__HYPERVISOR_set_callbacks, 0xffff800000001000UL, 0, 0, 0, 0);
    pv_check(rc == -XEN_EINVAL, "a callback in the hypervisor hole refused", rc, -XEN_EINVAL);
    rc = pv_hcall(__HYPERVISOR_kexec_op, 0, 0, 0, 0, 0);
    pv_check(rc == -XEN_ENOSYS, "an unimplemented hypercall answers -ENOSYS", rc, -XEN_ENOSYS);
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

extern char pv_user_code[], pv_syscall_callback[];
extern volatile uint64_t pv_cb_rax, pv_cb_cs;
void pv_run_user(uint64_t rip, uint64_t rsp);
static uint8_t kernel_stack[8192] __attribute__((aligned(16)));
static uint8_t user_stack[4096] __attribute__((aligned(16)));

static long mmuext1(unsigned int cmd, uint64_t mfn)
{
    struct mmuext_op op = { .cmd = cmd, .arg1.mfn = mfn };
    unsigned int done = 0;

    return pv_hcall(__HYPERVISOR_mmuext_op, (uint64_t)&op, 1, (uint64_t)&done, DOMID_SELF, 0);
}

/* A user L4 (a copy of the kernel's, in a free page of the bootstrap
   region past the stack, made read-only, pinned, NEW_USER_BASEPTR), then
   HYPERVISOR_iret to user mode, whose SYSCALL must reach the kernel's
   syscall callback with a user CS. */
static void check_user_mode(void)
{
    uint64_t page = pv_si->pt_base + (pv_si->nr_pt_frames + 1) * PV_PAGE_SIZE;
    uint64_t mfn = pv_va_to_mfn(page), l1e = l1e_maddr(page);
    const uint64_t *kl4 = (const uint64_t *)pv_si->pt_base;
    uint64_t *ul4 = (uint64_t *)page;
    struct callback_register cb = { .type = CALLBACKTYPE_syscall,
                                    .address = (unsigned long)pv_syscall_callback };
    long rc;

    for (int i = 0; i < 512; i++)
        ul4[i] = kl4[i];
    rc = mmu_update1(l1e | MMU_NORMAL_PT_UPDATE, (mfn << 12) | 0x65);   /* P US A D, read-only */
    pv_check(rc == 0, "the user L4's page made read-only", rc, 0);
    pv_check(mmuext1(MMUEXT_PIN_L4_TABLE, mfn) == 0, "user L4 pinned", 0, 0);
    rc = mmuext1(MMUEXT_NEW_USER_BASEPTR, mfn);
    pv_check(rc == 0, "MMUEXT_NEW_USER_BASEPTR accepted", rc, 0);
    rc = pv_hcall(__HYPERVISOR_stack_switch, FLAT_KERNEL_SS, (uint64_t)kernel_stack + sizeof(kernel_stack),
                  0, 0, 0);
    pv_check(rc == 0, "stack_switch to the kernel stack for user entries", rc, 0);
    rc = pv_hcall(__HYPERVISOR_callback_op, CALLBACKOP_register, (uint64_t)&cb, 0, 0, 0);
    pv_check(rc == 0, "CALLBACKOP_register(syscall) accepted", rc, 0);
    pv_run_user((uint64_t)pv_user_code, (uint64_t)user_stack + sizeof(user_stack));
    pv_check(pv_cb_rax == 0x5e1f, "user-mode SYSCALL reached the kernel's syscall callback",
             (long)pv_cb_rax, 0x5e1f);
    pv_check((pv_cb_cs & 3) == 3, "its frame shows a user CS (RPL 3)", (long)pv_cb_cs, 0xe033);
    pv_puts("back in kernel mode: hypercalls work again\n");
}

/* 70 xen_version calls and an iret in one multicall: more than one batch
   (the hypervisor continues it), every result in its entry. */
static void check_multicall(void)
{
    static struct multicall_entry mc[71];
    unsigned int good = 0;
    long rc;

    for (int i = 0; i < 70; i++)
        mc[i] = (struct multicall_entry){ .op = __HYPERVISOR_xen_version, .args = { XENVER_version } };
    mc[70] = (struct multicall_entry){ .op = __HYPERVISOR_iret };
    rc = pv_hcall(__HYPERVISOR_multicall, (uint64_t)mc, 71, 0, 0, 0);
    pv_check(rc == 0, "multicall of 71 calls returns 0", rc, 0);
    for (int i = 0; i < 70; i++)
        good += mc[i].result == 0x40011;
    pv_check(good == 70, "all 70 xen_version results are 4.17 (across a continuation)", good, 70);
    pv_check((long)mc[70].result == -XEN_EINVAL, "iret inside a multicall refused",
             (long)mc[70].result, -XEN_EINVAL);
}

extern char pv_event_callback[];
extern volatile uint64_t pv_event_count;
extern uint64_t pv_vcpu_info;

/* Shared info mapped with update_va_mapping at a free page of the region,
   an IPI event channel bound to ourselves, EVTCHNOP_send: the upcall must
   reach the event callback before the hypercall returns to us. */
static void check_events(void)
{
    uint64_t va = pv_si->pt_base + (pv_si->nr_pt_frames + 2) * PV_PAGE_SIZE;
    struct callback_register cb = { .type = CALLBACKTYPE_event,
                                    .address = (unsigned long)pv_event_callback };
    struct evtchn_bind_ipi ipi = { .vcpu = 0 };
    struct evtchn_send send;
    long rc;

    rc = pv_hcall(__HYPERVISOR_update_va_mapping, va, pv_si->shared_info | 0x67, UVMF_INVLPG, 0, 0);
    pv_check(rc == 0, "shared info mapped with update_va_mapping", rc, 0);
    pv_vcpu_info = va;                       /* vcpu_info[0] is at offset 0 */
    rc = pv_hcall(__HYPERVISOR_callback_op, CALLBACKOP_register, (uint64_t)&cb, 0, 0, 0);
    pv_check(rc == 0, "event callback registered", rc, 0);
    ((volatile uint8_t *)va)[1] = 0;         /* evtchn_upcall_mask: events on */
    rc = pv_hcall(__HYPERVISOR_event_channel_op, EVTCHNOP_bind_ipi, (uint64_t)&ipi, 0, 0, 0);
    pv_check(rc == 0 && ipi.port > 0, "EVTCHNOP_bind_ipi", rc, 0);
    send.port = ipi.port;
    rc = pv_hcall(__HYPERVISOR_event_channel_op, EVTCHNOP_send, (uint64_t)&send, 0, 0, 0);
    pv_check(rc == 0, "EVTCHNOP_send to ourselves", rc, 0);
    pv_check(pv_event_count == 1, "the event upcall reached the event callback once",
             (long)pv_event_count, 1);
    pv_check(((volatile uint8_t *)va)[1] == 0, "iret unmasked events again",
             ((volatile uint8_t *)va)[1], 0);
}

void pv_test_main(void)
{
    check_start_info();
    pv_puts("console_io write reached the console\n");
    check_mmu_update();
    check_trap_bounce();
    check_registrations();
    check_multicall();
    check_events();
    check_preemption();
    check_user_mode();
}
