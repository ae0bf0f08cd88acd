/*
 * pv_pagetable: page-table updates of a 64-bit PV kernel, accepted and
 * refused with Xen 4.17's error codes (xen/arch/x86/mm.c do_mmu_update,
 * do_mmuext_op, __do_update_va_mapping; the validator in pv/):
 *  - mmu_update: an L1 entry rewritten; a page table mapped writable
 *    (-EBUSY); a hypervisor L4 slot, a reserved L4 bit, an L2 entry naming
 *    a data page, an entry in or an M2P update of a frame not ours
 *    (-EINVAL); an unknown command (-ENOSYS); a missing foreign domain
 *    (-ESRCH); MMU_MACHPHYS_UPDATE of our own frame;
 *  - a new L1 table built, pinned, hooked into the L2 and used, updated in
 *    place, unhooked and unpinned, with the pin rules (pin while writable,
 *    pin twice, unpin twice, a live L2 pinned as an L1, an L1 as base
 *    pointer, an L1 holding a writable mapping of the L4);
 *  - a copy of the L4 pinned, made the base pointer and back, unpinned;
 *    MMUEXT_SET_LDT's argument checks;
 *  - update_va_mapping with each flush flag (INVLPG/TLB_FLUSH, local, all,
 *    a vCPU mask, none then MMUEXT_INVLPG_LOCAL), on bad addresses;
 *  - MMUEXT_COPY_PAGE and CLEAR_PAGE, the TLB flush commands;
 *  - batches: mmu_update's done count at a failure, 64 updates in one
 *    call, multicalls with a failing entry (results per entry), a nested
 *    multicall and iret refused in an entry, 71 calls (a continuation).
 * Boot: dom0=pv with build/guests/pv_pagetable.elf.
 */
#include "pv_guest.h"
#include <xen/version.h>

#define PV_UNMAPPED 0x0000100000000000UL       /* L4 slot 32: nothing there */
#define RO_PTE (PV_PTE_P | PV_PTE_US | PV_PTE_A)                      /* 0x25 */
#define RW_PTE (PV_PTE_P | PV_PTE_RW | PV_PTE_US | PV_PTE_A | PV_PTE_D)  /* 0x67 */
#define HOOK_VA 0x3fe00000UL                   /* the last 2 MiB of the first GiB */

static long uvm(uint64_t va, uint64_t val, uint64_t flags)
{
    return pv_hcall(__HYPERVISOR_update_va_mapping, va, val, flags, 0, 0);
}

static uint64_t mfn_of(uint64_t va) { return pv_va_to_mfn(va); }

static volatile uint64_t *page(unsigned int n)
{
    return (volatile uint64_t *)pv_scratch_va(PV_SCRATCH_FREE + n);
}

static void check_mmu_update(void)
{
    uint64_t stack_va = pv_si->pt_base + pv_si->nr_pt_frames * PV_PAGE_SIZE;
    uint64_t l1e_ma = pv_l1e_maddr(stack_va);
    uint64_t old = pv_read_pte(l1e_ma);
    uint64_t l4_mfn = mfn_of(pv_si->pt_base);
    uint64_t l1_mfn = l1e_ma >> 12;
    /* A frame of the hypervisor's: the M2P's L3, from our L4 slot 256. */
    uint64_t xen_mfn = PV_PTE_MFN(pv_read_pte((l4_mfn << 12) + 256 * 8));
    uint64_t a = (uint64_t)page(1);
    long rc;

    rc = pv_mmu_update1(l1e_ma | MMU_NORMAL_PT_UPDATE, old);
    pv_check_eq("mmu_update rewriting the bootstrap stack's L1 entry accepted", rc, 0);
    rc = pv_mmu_update1(l1e_ma | MMU_PT_UPDATE_PRESERVE_AD, old);
    pv_check_eq("the same with MMU_PT_UPDATE_PRESERVE_AD", rc, 0);
    /* The L4's own page made writable: it is a live page table. */
    rc = pv_mmu_update1(pv_l1e_maddr(pv_si->pt_base) | MMU_NORMAL_PT_UPDATE, (l4_mfn << 12) | 7);
    pv_check_eq("mmu_update mapping the L4 writable refused -EBUSY", rc, -XEN_EBUSY);
    /* A writable self-mapping: the stack's L1 mapping its own frame RW. */
    rc = pv_mmu_update1(l1e_ma | MMU_NORMAL_PT_UPDATE, (l1_mfn << 12) | RW_PTE);
    pv_check_eq("an L1 entry mapping its own L1 writable refused -EBUSY", rc, -XEN_EBUSY);
    pv_check_eq("the refused entry kept its old value", (long)pv_read_pte(l1e_ma), (long)old);
    /* A hypervisor slot of the L4 (xen-x86_64.h: 256-271 are Xen's). */
    rc = pv_mmu_update1(((l4_mfn << 12) + 256 * 8) | MMU_NORMAL_PT_UPDATE, 0);
    pv_check_eq("mmu_update of L4 slot 256 refused with -EINVAL", rc, -XEN_EINVAL);
    rc = pv_mmu_update1(((l4_mfn << 12) + 32 * 8) | MMU_NORMAL_PT_UPDATE,
                        (mfn_of(a) << 12) | PV_PTE_P | PV_PTE_PS);
    pv_check_eq("an L4 entry with PS set -EINVAL", rc, -XEN_EINVAL);
    if (pv_read_pte(pv_pte_maddr(HOOK_VA, 2)) & PV_PTE_P) {
        pv_puts("SKIP: the L2 slot of 0x3fe00000 is in use: type checks through it\n");
    } else {
        rc = pv_mmu_update1(pv_pte_maddr(HOOK_VA, 2) | MMU_NORMAL_PT_UPDATE,
                            (mfn_of(a) << 12) | 0x27);
        pv_check_eq("an L2 entry naming a writable data page (not an L1) -EINVAL", rc, -XEN_EINVAL);
    }
    rc = pv_mmu_update1((xen_mfn << 12) | MMU_NORMAL_PT_UPDATE, 0);
    pv_check_eq("mmu_update of an entry in a frame not ours -EINVAL", rc, -XEN_EINVAL);
    rc = pv_mmu_update1((xen_mfn << 12) | MMU_MACHPHYS_UPDATE, 5);
    pv_check_eq("MMU_MACHPHYS_UPDATE of a frame not ours -EINVAL", rc, -XEN_EINVAL);
    rc = pv_mmu_update1(l1e_ma | 5, old);
    pv_check_eq("mmu_update command 5 (unknown) -ENOSYS", rc, -XEN_ENOSYS);
    {
        struct mmu_update req = { .ptr = l1e_ma, .val = old };
        unsigned int done = 7;

        rc = pv_hcall(__HYPERVISOR_mmu_update, (uint64_t)&req, 1, (uint64_t)&done, 123, 0);
        pv_check_eq("mmu_update for foreign domain 123 (none) -ESRCH", rc, -XEN_ESRCH);
        rc = pv_hcall(__HYPERVISOR_mmu_update, PV_UNMAPPED, 1, (uint64_t)&done, DOMID_SELF, 0);
        pv_check_eq("mmu_update from an unmapped request list -EFAULT", rc, -XEN_EFAULT);
    }
    /* Our own frame's M2P entry, changed and put back. */
    {
        const volatile unsigned long *m2p = (const volatile unsigned long *)PV_RO_MPT;
        uint64_t mfn = mfn_of(a), pfn = m2p[mfn];

        rc = pv_mmu_update1((mfn << 12) | MMU_MACHPHYS_UPDATE, 0x12345);
        pv_check(rc == 0 && m2p[mfn] == 0x12345, "MMU_MACHPHYS_UPDATE of our frame, seen in the M2P",
                 rc, 0);
        rc = pv_mmu_update1((mfn << 12) | MMU_MACHPHYS_UPDATE, pfn);
        pv_check(rc == 0 && m2p[mfn] == pfn, "MMU_MACHPHYS_UPDATE back to its pfn", rc, 0);
    }
}

/* A new L1 in a free page: entry 0 maps page 2 read-only. */
static void check_new_l1(void)
{
    volatile uint64_t *l1 = page(3), *data = page(2), *data2 = page(1);
    uint64_t l1_va = (uint64_t)l1, l1_mfn = mfn_of(l1_va);
    uint64_t l2e = pv_pte_maddr(HOOK_VA, 2);
    uint64_t live_l2 = PV_PTE_MFN(pv_read_pte(pv_pte_maddr(PV_VIRT_BASE, 3)));
    long rc;

    if (pv_read_pte(l2e) & PV_PTE_P) {
        pv_puts("SKIP: the L2 slot of 0x3fe00000 is in use: the new L1\n");
        return;
    }
    for (int i = 0; i < 512; i++)
        l1[i] = 0;
    l1[0] = (mfn_of((uint64_t)data) << 12) | RO_PTE;
    data[0] = 0xda7a0001;
    data2[0] = 0xda7a0002;
    pv_check_eq("MMUEXT_PIN_L1_TABLE of a page still mapped writable -EINVAL",
                pv_mmuext1(MMUEXT_PIN_L1_TABLE, l1_mfn), -XEN_EINVAL);
    pv_check_eq("the new L1's page made read-only (update_va_mapping)",
                uvm(l1_va, (l1_mfn << 12) | RO_PTE, UVMF_INVLPG), 0);
    pv_check_eq("MMUEXT_PIN_L1_TABLE of the new L1", pv_mmuext1(MMUEXT_PIN_L1_TABLE, l1_mfn), 0);
    pv_check_eq("MMUEXT_PIN_L1_TABLE of it again -EINVAL",
                pv_mmuext1(MMUEXT_PIN_L1_TABLE, l1_mfn), -XEN_EINVAL);
    pv_check_eq("the pinned L1 mapped writable -EBUSY",
                uvm(l1_va, (l1_mfn << 12) | RW_PTE, UVMF_INVLPG), -XEN_EBUSY);
    pv_check_eq("MMUEXT_PIN_L1_TABLE of the live L2 -EINVAL",
                pv_mmuext1(MMUEXT_PIN_L1_TABLE, live_l2), -XEN_EINVAL);
    pv_check_eq("MMUEXT_NEW_BASEPTR to an L1 -EINVAL", pv_mmuext1(MMUEXT_NEW_BASEPTR, l1_mfn),
                -XEN_EINVAL);
    rc = pv_mmu_update1(l2e | MMU_NORMAL_PT_UPDATE, (l1_mfn << 12) | 0x27);
    pv_check_eq("the new L1 hooked into the L2 (mmu_update)", rc, 0);
    pv_check_eq("its mapping reads the data page", (long)*(volatile uint64_t *)HOOK_VA, 0xda7a0001);
    rc = pv_mmu_update1(((l1_mfn << 12) + 8) | MMU_NORMAL_PT_UPDATE,
                        (mfn_of((uint64_t)data2) << 12) | RO_PTE);
    pv_check_eq("an entry of the hooked L1 updated in place", rc, 0);
    pv_check_eq("the new entry reads its page", (long)*(volatile uint64_t *)(HOOK_VA + 4096),
                0xda7a0002);
    rc = pv_mmu_update1(l2e | MMU_NORMAL_PT_UPDATE, 0);
    pv_check_eq("the L1 unhooked", rc, 0);
    pv_check_eq("MMUEXT_UNPIN_TABLE", pv_mmuext1(MMUEXT_UNPIN_TABLE, l1_mfn), 0);
    pv_check_eq("MMUEXT_UNPIN_TABLE again -EINVAL", pv_mmuext1(MMUEXT_UNPIN_TABLE, l1_mfn),
                -XEN_EINVAL);
    pv_check_eq("the former L1 mapped writable again",
                uvm(l1_va, (l1_mfn << 12) | RW_PTE, UVMF_INVLPG), 0);
    pv_check_eq("MMUEXT_UNPIN_TABLE of a frame not ours -EINVAL",
                pv_mmuext1(MMUEXT_UNPIN_TABLE,
                           PV_PTE_MFN(pv_read_pte((mfn_of(pv_si->pt_base) << 12) + 256 * 8))),
                -XEN_EINVAL);

    /* An L1 holding a writable mapping of the live L4 cannot be validated. */
    l1[0] = (mfn_of(pv_si->pt_base) << 12) | RW_PTE;
    uvm(l1_va, (l1_mfn << 12) | RO_PTE, UVMF_INVLPG);
    pv_check_eq("pin of an L1 mapping the L4 writable -EBUSY",
                pv_mmuext1(MMUEXT_PIN_L1_TABLE, l1_mfn), -XEN_EBUSY);
    pv_check_eq("its page mapped writable again",
                uvm(l1_va, (l1_mfn << 12) | RW_PTE, UVMF_INVLPG), 0);
}

/* A second kernel L4 (a copy of the bootstrap one) pinned and made the
   base pointer, then the bootstrap L4 again: Xen's new_guest_cr3. */
static const uint64_t l4_magic = 0x14c0b1e5;

static void check_new_baseptr(void)
{
    volatile uint64_t *l4 = page(4);
    const uint64_t *boot = (const uint64_t *)pv_si->pt_base;
    uint64_t va = (uint64_t)l4, mfn = mfn_of(va), boot_mfn = mfn_of(pv_si->pt_base);
    static struct mmuext_op ldt = { .cmd = MMUEXT_SET_LDT };
    long rc;

    for (int i = 0; i < 512; i++)
        l4[i] = boot[i];
    pv_check_eq("the L4 copy's page made read-only", uvm(va, (mfn << 12) | RO_PTE, UVMF_INVLPG), 0);
    pv_check_eq("MMUEXT_PIN_L4_TABLE of the copy", pv_mmuext1(MMUEXT_PIN_L4_TABLE, mfn), 0);
    pv_check_eq("MMUEXT_NEW_BASEPTR to the copy", pv_mmuext1(MMUEXT_NEW_BASEPTR, mfn), 0);
    pv_check_eq("  running on it: hypercalls and our data",
                pv_hcall(__HYPERVISOR_xen_version, XENVER_version, 0, 0, 0, 0) == 0x40011 &&
                l4[1] == boot[1], 1);
    pv_check_eq("  update_va_mapping through it",
                uvm((uint64_t)page(0), (mfn_of((uint64_t)page(0)) << 12) | RW_PTE, UVMF_INVLPG), 0);
    /* Proof that the copy is live: its slot 32 (not in the bootstrap L4)
       made to share slot 0's L3 shows our image at 0x100000000000 too. */
    rc = pv_mmu_update1(((mfn << 12) + 32 * 8) | MMU_NORMAL_PT_UPDATE, (boot[0] & ~0xfffUL) | 0x27);
    pv_check(rc == 0 && *(volatile uint64_t *)(PV_UNMAPPED + (uint64_t)&l4_magic) == l4_magic,
             "  an entry added to the copy's L4 is seen at once", rc, 0);
    rc = pv_mmu_update1(((mfn << 12) + 32 * 8) | MMU_NORMAL_PT_UPDATE, 0);
    pv_check_eq("  and removed again", rc, 0);
    pv_check_eq("MMUEXT_NEW_BASEPTR back to the bootstrap L4", pv_mmuext1(MMUEXT_NEW_BASEPTR, boot_mfn), 0);
    pv_check_eq("MMUEXT_UNPIN_TABLE of the copy", pv_mmuext1(MMUEXT_UNPIN_TABLE, mfn), 0);
    pv_check_eq("its page mapped writable again", uvm(va, (mfn << 12) | RW_PTE, UVMF_INVLPG), 0);

    /* Xen's set_ldt: a page-aligned canonical base, at most 8192 entries. */
    ldt.arg1.linear_addr = (uint64_t)page(5) + 8;
    ldt.arg2.nr_ents = 16;
    rc = pv_hcall(__HYPERVISOR_mmuext_op, (uint64_t)&ldt, 1, 0, DOMID_SELF, 0);
    pv_check_eq("MMUEXT_SET_LDT with a misaligned base -EINVAL", rc, -XEN_EINVAL);
    ldt.arg1.linear_addr = (uint64_t)page(5);
    ldt.arg2.nr_ents = 8193;
    rc = pv_hcall(__HYPERVISOR_mmuext_op, (uint64_t)&ldt, 1, 0, DOMID_SELF, 0);
    pv_check_eq("MMUEXT_SET_LDT of 8193 entries -EINVAL", rc, -XEN_EINVAL);
}

/* va (page 0) is remapped between pages 1 and 2 with each flush flag: the
   read after the call must see the new page. */
static void check_update_va_mapping(void)
{
    uint64_t va = (uint64_t)page(0), own = mfn_of(va);
    uint64_t m1 = mfn_of((uint64_t)page(1)), m2 = mfn_of((uint64_t)page(2));
    static uint64_t mask __attribute__((aligned(8))) = 1;
    volatile uint64_t *p = (volatile uint64_t *)va;
    long rc;

    page(1)[0] = 0x1111;
    page(2)[0] = 0x2222;
    (void)*p;                                   /* the old translation in the TLB */
    rc = uvm(va, (m1 << 12) | RW_PTE, UVMF_INVLPG | UVMF_LOCAL);
    pv_check(rc == 0 && *p == 0x1111, "update_va_mapping UVMF_INVLPG|UVMF_LOCAL", rc, 0);
    rc = uvm(va, (m2 << 12) | RW_PTE, UVMF_TLB_FLUSH | UVMF_LOCAL);
    pv_check(rc == 0 && *p == 0x2222, "update_va_mapping UVMF_TLB_FLUSH|UVMF_LOCAL", rc, 0);
    rc = uvm(va, (m1 << 12) | RW_PTE, UVMF_INVLPG | UVMF_ALL);
    pv_check(rc == 0 && *p == 0x1111, "update_va_mapping UVMF_INVLPG|UVMF_ALL", rc, 0);
    rc = uvm(va, (m2 << 12) | RW_PTE, UVMF_TLB_FLUSH | UVMF_ALL);
    pv_check(rc == 0 && *p == 0x2222, "update_va_mapping UVMF_TLB_FLUSH|UVMF_ALL", rc, 0);
    rc = uvm(va, (m1 << 12) | RW_PTE, UVMF_INVLPG | UVMF_MULTI | (uint64_t)&mask);
    pv_check(rc == 0 && *p == 0x1111, "update_va_mapping UVMF_INVLPG with a vCPU mask", rc, 0);
    rc = uvm(va, (m2 << 12) | RW_PTE, UVMF_NONE);
    pv_check_eq("update_va_mapping UVMF_NONE", rc, 0);
    rc = pv_hcall(__HYPERVISOR_mmuext_op, (uint64_t)&(struct mmuext_op){
                      .cmd = MMUEXT_INVLPG_LOCAL, .arg1.linear_addr = va }, 1, 0, DOMID_SELF, 0);
    pv_check(rc == 0 && *p == 0x2222, "then MMUEXT_INVLPG_LOCAL: the new page", rc, 0);
    rc = uvm(va, (m1 << 12) | RW_PTE, UVMF_INVLPG | PV_UNMAPPED);
    pv_check_eq("update_va_mapping with an unreadable vCPU mask -EFAULT", rc, -XEN_EFAULT);
    pv_check_eq("update_va_mapping back to its own frame", uvm(va, (own << 12) | RW_PTE, UVMF_INVLPG), 0);
    pv_check_eq("update_va_mapping of the hypervisor's area -EINVAL",
                uvm(0xffff830000000000UL, 0, UVMF_INVLPG), -XEN_EINVAL);
    pv_check_eq("update_va_mapping of an address with no L1 -EINVAL",
                uvm(PV_UNMAPPED, 0, UVMF_INVLPG), -XEN_EINVAL);
    for (unsigned int cmd = MMUEXT_TLB_FLUSH_LOCAL; cmd <= MMUEXT_INVLPG_ALL; cmd++) {
        struct mmuext_op op = { .cmd = cmd, .arg1.linear_addr = va, .arg2.vcpumask.p = &mask };
        bool multi = cmd == MMUEXT_TLB_FLUSH_MULTI || cmd == MMUEXT_INVLPG_MULTI;

        rc = pv_hcall(__HYPERVISOR_mmuext_op, (uint64_t)&op, 1, 0, DOMID_SELF, 0);
        pv_check(rc == 0, multi ? "MMUEXT_*_MULTI with a vCPU mask"
                                : "MMUEXT TLB_FLUSH/INVLPG LOCAL or ALL", rc, 0);
    }
    pv_check_eq("mmuext_op command 99 (unknown) -ENOSYS", pv_mmuext1(99, 0), -XEN_ENOSYS);
}

static void check_copy_clear(void)
{
    volatile uint64_t *a = page(1), *b = page(2);
    struct mmuext_op op = { .cmd = MMUEXT_COPY_PAGE, .arg1.mfn = mfn_of((uint64_t)b),
                            .arg2.src_mfn = mfn_of((uint64_t)a) };
    long rc;

    for (int i = 0; i < 512; i++) {
        a[i] = 0xc0b1e5UL * (uint64_t)(i + 1);
        b[i] = 0;
    }
    rc = pv_hcall(__HYPERVISOR_mmuext_op, (uint64_t)&op, 1, 0, DOMID_SELF, 0);
    pv_check(rc == 0 && b[0] == a[0] && b[511] == a[511], "MMUEXT_COPY_PAGE", rc, 0);
    rc = pv_mmuext1(MMUEXT_CLEAR_PAGE, mfn_of((uint64_t)b));
    pv_check(rc == 0 && b[0] == 0 && b[511] == 0, "MMUEXT_CLEAR_PAGE", rc, 0);
    rc = pv_mmuext1(MMUEXT_CLEAR_PAGE, mfn_of(pv_si->pt_base));
    pv_check_eq("MMUEXT_CLEAR_PAGE of the live L4 -EINVAL", rc, -XEN_EINVAL);
}

static void check_batches(void)
{
    uint64_t stack_va = pv_si->pt_base + pv_si->nr_pt_frames * PV_PAGE_SIZE;
    uint64_t l1e_ma = pv_l1e_maddr(stack_va), old = pv_read_pte(l1e_ma);
    uint64_t l4_mfn = mfn_of(pv_si->pt_base);
    static struct mmu_update req[64];
    static struct multicall_entry mc[71];
    unsigned int done = 99, good = 0;
    long rc;

    req[0] = (struct mmu_update){ .ptr = l1e_ma, .val = old };
    req[1] = (struct mmu_update){ .ptr = (l4_mfn << 12) + 256 * 8, .val = 0 };
    req[2] = (struct mmu_update){ .ptr = l1e_ma, .val = old };
    rc = pv_hcall(__HYPERVISOR_mmu_update, (uint64_t)req, 3, (uint64_t)&done, DOMID_SELF, 0);
    pv_check_eq("mmu_update of 3 with the 2nd refused -EINVAL", rc, -XEN_EINVAL);
    pv_check_eq("its done count stops at the refused one", done, 1);
    for (int i = 0; i < 64; i++)
        req[i] = (struct mmu_update){ .ptr = l1e_ma, .val = old };
    rc = pv_hcall(__HYPERVISOR_mmu_update, (uint64_t)req, 64, (uint64_t)&done, DOMID_SELF, 0);
    pv_check(rc == 0 && done == 64, "mmu_update of 64 entries, done count 64", rc, 0);

    /* One multicall, one failing call in it: every call runs, each result
       in its own entry, the multicall itself returns 0. */
    {
        static struct mmu_update bad = { .ptr = 0, .val = 0 };
        static const char msg[] = "multicall marker: console_io inside a multicall\n";

        bad.ptr = ((l4_mfn << 12) + 256 * 8) | MMU_NORMAL_PT_UPDATE;
        mc[0] = (struct multicall_entry){ .op = __HYPERVISOR_xen_version, .args = { XENVER_version } };
        mc[1] = (struct multicall_entry){ .op = __HYPERVISOR_mmu_update,
                                          .args = { (uint64_t)&bad, 1, 0, DOMID_SELF } };
        mc[2] = (struct multicall_entry){ .op = __HYPERVISOR_update_va_mapping,
                                          .args = { stack_va, old, UVMF_INVLPG } };
        mc[3] = (struct multicall_entry){ .op = __HYPERVISOR_console_io,
                                          .args = { CONSOLEIO_write, sizeof(msg) - 1, (uint64_t)msg } };
        mc[4] = (struct multicall_entry){ .op = __HYPERVISOR_multicall, .args = { (uint64_t)mc, 1 } };
        mc[5] = (struct multicall_entry){ .op = 63 };
        rc = pv_hcall(__HYPERVISOR_multicall, (uint64_t)mc, 6, 0, 0, 0);
        pv_check_eq("multicall with failing entries returns 0", rc, 0);
        pv_check_eq("entry 0 xen_version: 4.17", (long)mc[0].result, 0x40011);
        pv_check_eq("entry 1 mmu_update of slot 256: -EINVAL", (long)mc[1].result, -XEN_EINVAL);
        pv_check_eq("entry 2 update_va_mapping after it: 0", (long)mc[2].result, 0);
        pv_check_eq("entry 3 console_io: 0", (long)mc[3].result, 0);
        pv_check_eq("entry 4 a nested multicall: -EINVAL", (long)mc[4].result, -XEN_EINVAL);
        pv_check_eq("entry 5 hypercall 63: -ENOSYS", (long)mc[5].result, -XEN_ENOSYS);
        rc = pv_hcall(__HYPERVISOR_multicall, PV_UNMAPPED, 2, 0, 0, 0);
        pv_check_eq("multicall from an unmapped list -EFAULT", rc, -XEN_EFAULT);
    }

    /* 70 xen_version calls and an iret in one multicall: more than one
       batch (the hypervisor continues it), every result in its entry. */
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

PV_TEST_MAIN(pagetable)
{
    check_mmu_update();
    check_new_l1();
    check_new_baseptr();
    check_update_va_mapping();
    check_copy_clear();
    check_batches();
}
