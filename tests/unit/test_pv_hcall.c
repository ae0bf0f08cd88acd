/* The PV hypercall glue (pv/pv_hcall.c, pv_memory.c, pv_vcpu.c) over the
   real validator and the fake machine of test_pv_env.h: mmu_update and
   mmuext_op continuations (count encoding, pdone totals, faults and
   failures in a later chunk), memory_op reservations by machine frame
   (decrease with pins and mappings, populate within max_pages, start
   extents, hostile arguments), the machine memory map and M2P location,
   register_vcpu_info by MFN, grant table setup by MFN, routing to the
   common handlers. */
/* @sources: pv/pv_hcall.c pv/pv_memory.c pv/pv_vcpu.c pv/pv_vcpu_ctx.c pv/page_type.c pv/pt_validate.c pv/mmu_update.c pv/mmuext_op.c pv/update_va_mapping.c pv/mm_domain.c pv/m2p.c pv/multicall.c */
#include "cmocka_prelude.h"
#include "test_pv_env.h"
#include "../../pv/pv_internal.h"
#include <proxenos/e820.h>
#include <proxenos/gnttab.h>
#include <proxenos/guest_access.h>
#include <proxenos/hypercall.h>
#include <proxenos/mm.h>
#include <proxenos/vtime.h>
#include <xen/grant_table.h>
#include <xen/memory.h>
#include <xen/physdev.h>
#include <xen/callback.h>
#include <xen/vcpu.h>

#define PREEMPTED 0x80000000u
#define SENTINEL  0x5e5e

/* ---- the fake domain and its guest memory ----------------------------------------- */

static struct domain tdom;
static struct shared_info tshared;
static struct vcpu tv[2];
static struct pv_domain tpd;

#define GVA      0x10000000ull
#define GMEM     (64 * 1024)
static uint8_t gmem[GMEM];

static int gcopy(uint64_t va, void *hv, size_t len, bool to_guest)
{
    if (va < GVA || va - GVA > GMEM || len > GMEM - (va - GVA))
        return -EFAULT;
    if (to_guest)
        memcpy(gmem + (va - GVA), hv, len);
    else
        memcpy(hv, gmem + (va - GVA), len);
    return 0;
}

int pv_copy_linear(struct vcpu *v, void *hv, uint64_t va, size_t len, bool to_guest)
{
    return gcopy(va, hv, len, to_guest);
}
int copy_from_guest(struct vcpu *v, void *dst, uint64_t gla, size_t len) { return gcopy(gla, dst, len, false); }
int copy_to_guest(struct vcpu *v, uint64_t gla, const void *src, size_t len) { return gcopy(gla, (void *)src, len, true); }

struct pv_domain *pv_domain_of(const struct domain *d) { return d == &tdom ? &tpd : NULL; }
struct domain *domain_by_id(domid_t id)
{
    return id == DOMID_A ? &tdom : id == DOMID_B ? (struct domain *)DOM_B : NULL;
}

/* ---- the rest of the hypervisor, as far as the glue reaches -------------------------- */

struct e820map e820;
static unsigned int iopl_calls, vtime_calls;
static struct hcall last_h;

long pv_set_iopl(struct vcpu *v, uint64_t arg) { iopl_calls++; return 0; }
long do_physdev_op(struct vcpu *v, struct hcall *h) { last_h = *h; return SENTINEL; }
static unsigned int pirq_cmd;
long pirq_physdev_op(struct vcpu *v, unsigned int cmd, uint64_t arg)
{
    pirq_cmd = cmd;
    return cmd == PHYSDEVOP_map_pirq ? 0 : -ENOSYS;    /* what pirq.c does not take goes on */
}
long do_grant_table_op(struct vcpu *v, struct hcall *h) { last_h = *h; return SENTINEL; }
long do_memory_op(struct vcpu *v, struct hcall *h) { last_h = *h; return SENTINEL; }
long do_vcpu_op(struct vcpu *v, struct hcall *h) { last_h = *h; return SENTINEL; }
void vtime_update_vcpu_time(struct vcpu *v, bool force) { vtime_calls++; }
int vcpu_info_offset_check(uint64_t offset, size_t size, size_t align)
{
    return offset > PAGE_SIZE - size || (offset & (align - 1)) ? -ENXIO : 0;
}
void vcpu_info_move(struct vcpu *v, uint8_t *vi, paddr_t maddr, bool compat)
{
    memcpy(vi, v->vcpu_info, sizeof(struct vcpu_info));
    vi[offsetof(struct vcpu_info, evtchn_upcall_pending)] = 1;
    v->vcpu_info = (struct vcpu_info *)vi;
    v->vcpu_info_maddr = maddr;
}
/* VCPUOP_initialise/up/down (pv_vcpu.c): the PV state and the scheduler. */
static unsigned int gdt_calls, sched_adds, shutdowns;
void printk(const char *fmt, ...) { }
void *xmalloc(size_t size) { return malloc(size); }
void xfree(void *p) { free(p); }
struct pv_vcpu *pv_vcpu_alloc(void) { return calloc(1, sizeof(struct pv_vcpu)); }
void pv_vcpu_free(struct vcpu *v) { free(v->vendor); v->vendor = NULL; }
long pv_set_gdt_frames(struct vcpu *v, const xen_ulong_t *list, uint64_t entries)
{
    gdt_calls++;
    return entries > 16 ? -EINVAL : 0;      /* the real checks: test_pv_descriptor */
}
void sched_add_vcpu(struct vcpu *v) { sched_adds++; }
void domain_shutdown(struct domain *d, unsigned int reason) { shutdowns++; }
/* Grant frame i is hypervisor frame XEN_FIRST + i. */
int gnttab_frame_mfn(struct domain *d, uint64_t idx, mfn_t *mfn, gfn_t **where)
{
    static gfn_t nowhere = ~0ull;

    if (idx > XEN_LAST - XEN_FIRST)
        return -EINVAL;
    *mfn = XEN_FIRST + idx;
    *where = &nowhere;
    return 0;
}
/* Fresh frames from 52-63, one by one. */
paddr_t alloc_frames(unsigned int order)
{
    for (mfn_t m = XEN_LAST + 1; m < ENV_FRAMES; m++)
        if (order == 0 && env_frames[m].count_info == PGC_state_free) {
            env_frames[m].count_info = PGC_state_inuse | PGC_head;
            memset(env_ram[m], 0xaa, 4096);
            return m << PAGE_SHIFT;
        }
    return 0;
}

static int setup(void **state)
{
    env_reset();
    memset(&tdom, 0, sizeof(tdom));
    memset(&tshared, 0, sizeof(tshared));
    memset(tv, 0, sizeof(tv));
    memset(gmem, 0, sizeof(gmem));
    tdom.domain_id = DOMID_A;
    tdom.max_vcpus = 2;
    tdom.is_initial = true;
    tdom.shared_info = &tshared;
    tdom.lock = (spinlock_t)SPINLOCK_INIT;
    for (unsigned int i = 0; i < 2; i++) {
        tv[i].vcpu_id = i;
        tv[i].domain = &tdom;
        tv[i].vcpu_info = &tshared.vcpu_info[i];
        tdom.vcpu[i] = &tv[i];
    }
    tv[0].is_up = true;
    /* The env's domain A becomes tdom. */
    for (mfn_t m = 0; m < ENV_FRAMES; m++)
        if (env_frames[m].owner == DOM_A) {
            env_frames[m].owner = &tdom;
            tdom.tot_pages++;
        }
    tdom.max_pages = tdom.tot_pages;
    memset(&tpd, 0, sizeof(tpd));
    tpd.d = &tdom;
    assert_int_equal(pv_mm_init(&tpd.mm, &tdom, DOMID_A, 2, &env_ops, PV_MM_NX), 0);
    iopl_calls = vtime_calls = gdt_calls = sched_adds = shutdowns = 0;
    memset(&last_h, 0, sizeof(last_h));
    return 0;
}

/* The env's pin/unpin work on env_mm; the glue uses tpd.mm. */
static int text1(unsigned int cmd, mfn_t m)
{
    struct mmuext_op op = { .cmd = cmd, .arg1.mfn = m };
    unsigned int done;

    return pv_mmuext_op(&tpd.mm, 0, &op, 1, &done, DOMID_SELF);
}
static int tpin(mfn_t m, unsigned int level) { return text1(MMUEXT_PIN_L1_TABLE + level - 1, m); }
static int tunpin(mfn_t m) { return text1(MMUEXT_UNPIN_TABLE, m); }

static void *gptr(uint64_t va) { return gmem + (va - GVA); }

/* One hypercall as pv_run.c's dispatch makes it: RIP past the SYSCALL. */
static long call(struct cpu_regs *r, bool *cont)
{
    *cont = false;
    return pv_mm_call(&tv[0], r, cont);
}

static struct cpu_regs mm_regs(uint64_t nr, uint64_t list, uint64_t count, uint64_t pdone)
{
    struct cpu_regs r;

    memset(&r, 0, sizeof(r));
    r.rax = nr;
    r.rdi = list;
    r.rsi = count;
    r.rdx = pdone;
    r.r10 = DOMID_SELF;
    r.rip = 0x401002;
    return r;
}

/* n M2P updates at GVA: frame A_FIRST + i % 30 gets pfn 0x1000 + i. */
static void m2p_list(unsigned int n)
{
    struct mmu_update *u = gptr(GVA);

    for (unsigned int i = 0; i < n; i++) {
        u[i].ptr = ((uint64_t)(A_FIRST + i % 30) << PAGE_SHIFT) | MMU_MACHPHYS_UPDATE;
        u[i].val = 0x1000 + i;
    }
}

#define PDONE (GVA + GMEM - 8)

static void test_mmu_update_continues(void **state)
{
    struct cpu_regs r;
    bool cont;

    m2p_list(100);
    r = mm_regs(__HYPERVISOR_mmu_update, GVA, 100, PDONE);
    assert_int_equal(call(&r, &cont), 0);
    assert_true(cont);
    assert_int_equal(r.rip, 0x401000);
    assert_int_equal(r.rdi, GVA + 64 * sizeof(struct mmu_update));
    assert_int_equal(r.rsi, 36 | PREEMPTED);
    assert_int_equal(r.rdx, PDONE);
    assert_int_equal(*(uint32_t *)gptr(PDONE), 64);
    assert_int_equal(pv_m2p_get(A_FIRST + 63 % 30), 0x1000 + 63);
    r.rip += 2;
    assert_int_equal(call(&r, &cont), 0);
    assert_false(cont);
    assert_int_equal(*(uint32_t *)gptr(PDONE), 100);
    assert_int_equal(pv_m2p_get(A_FIRST + 99 % 30), 0x1000 + 99);
    assert_int_equal(r.rip, 0x401002);
}

static void test_mmu_update_exact_batch_and_zero(void **state)
{
    struct cpu_regs r;
    bool cont;

    m2p_list(64);
    r = mm_regs(__HYPERVISOR_mmu_update, GVA, 64, PDONE);
    assert_int_equal(call(&r, &cont), 0);
    assert_false(cont);
    assert_int_equal(*(uint32_t *)gptr(PDONE), 64);
    r = mm_regs(__HYPERVISOR_mmu_update, GVA, 0, PDONE);
    assert_int_equal(call(&r, &cont), 0);
    assert_false(cont);
    assert_int_equal(*(uint32_t *)gptr(PDONE), 0);
    /* The count is an unsigned int: the upper half is ignored (Xen). */
    r = mm_regs(__HYPERVISOR_mmu_update, GVA, 0x100000002ull, 0);
    assert_int_equal(call(&r, &cont), 0);
    assert_false(cont);
}

static void test_mmu_update_fails_in_later_chunk(void **state)
{
    struct mmu_update *u = gptr(GVA);
    struct cpu_regs r;
    bool cont;

    m2p_list(100);
    u[70].ptr = ((uint64_t)B_FIRST << PAGE_SHIFT) | MMU_MACHPHYS_UPDATE;   /* not ours */
    r = mm_regs(__HYPERVISOR_mmu_update, GVA, 100, PDONE);
    assert_int_equal(call(&r, &cont), 0);
    assert_true(cont);
    r.rip += 2;
    assert_int_equal(call(&r, &cont), -EINVAL);
    assert_false(cont);
    assert_int_equal(*(uint32_t *)gptr(PDONE), 70);
    assert_int_equal(pv_m2p_get(A_FIRST + 71 % 30), 0x1000 + 41);   /* 71 not done */
}

static void test_mmu_update_unreadable_entry(void **state)
{
    uint64_t list = GVA + GMEM - 8 - 10 * sizeof(struct mmu_update);
    struct mmu_update *u = gptr(list);
    struct cpu_regs r;
    bool cont;

    for (unsigned int i = 0; i < 10; i++)
        u[i] = (struct mmu_update){ ((uint64_t)A_FIRST << PAGE_SHIFT) | MMU_MACHPHYS_UPDATE, i };
    /* Entry 10 would overlap pdone's 8 bytes then leave guest memory. */
    r = mm_regs(__HYPERVISOR_mmu_update, list, 12, GVA);
    assert_int_equal(call(&r, &cont), -EFAULT);
    assert_false(cont);
    assert_int_equal(*(uint32_t *)gptr(GVA), 10);
    assert_int_equal(pv_m2p_get(A_FIRST), 9);
    /* An unwritable pdone is ignored, as Xen. */
    r = mm_regs(__HYPERVISOR_mmu_update, list, 2, 0xdead0000);
    assert_int_equal(call(&r, &cont), 0);
}

static void test_mmu_update_preempted_count_from_pdone(void **state)
{
    struct cpu_regs r;
    bool cont;

    m2p_list(3);
    *(uint32_t *)gptr(PDONE) = 5;
    r = mm_regs(__HYPERVISOR_mmu_update, GVA, 3 | PREEMPTED, PDONE);
    assert_int_equal(call(&r, &cont), 0);
    assert_false(cont);
    assert_int_equal(*(uint32_t *)gptr(PDONE), 8);
    /* Without the marker pdone starts from zero. */
    r = mm_regs(__HYPERVISOR_mmu_update, GVA, 3, PDONE);
    assert_int_equal(call(&r, &cont), 0);
    assert_int_equal(*(uint32_t *)gptr(PDONE), 3);
}

static void test_mmuext_op_continues(void **state)
{
    struct mmuext_op *op = gptr(GVA);
    struct cpu_regs r;
    bool cont;

    for (unsigned int i = 0; i < 130; i++)
        op[i] = (struct mmuext_op){ .cmd = MMUEXT_TLB_FLUSH_LOCAL };
    op[129].cmd = MMUEXT_PIN_L1_TABLE;
    op[129].arg1.mfn = 5;
    r = mm_regs(__HYPERVISOR_mmuext_op, GVA, 130, PDONE);
    assert_int_equal(call(&r, &cont), 0);
    assert_true(cont);
    assert_int_equal(r.rdi, GVA + 64 * sizeof(struct mmuext_op));
    assert_int_equal(r.rsi, 66 | PREEMPTED);
    r.rip += 2;
    assert_int_equal(call(&r, &cont), 0);
    assert_true(cont);
    assert_int_equal(r.rsi, 2 | PREEMPTED);
    assert_int_equal(*(uint32_t *)gptr(PDONE), 128);
    r.rip += 2;
    assert_int_equal(call(&r, &cont), 0);
    assert_false(cont);
    assert_int_equal(*(uint32_t *)gptr(PDONE), 130);
    assert_int_equal(env_cb.flush_tlb, 129);
    assert_true(pinned(5));
}

/* Inside a multicall, as pv_run.c's mc_dispatch runs a sub-call: the
   continued entry gets its advanced arguments back and runs again. */
#define MCL (GVA + 0x8000)

static int mc_fetch(void *c, uint32_t i, struct multicall_entry *e)
{
    return gcopy(MCL + i * sizeof(*e), e, sizeof(*e), false);
}
static int mc_store_result(void *c, uint32_t i, const struct multicall_entry *e)
{
    return gcopy(MCL + i * sizeof(*e) + offsetof(struct multicall_entry, result),
                 (void *)&e->result, sizeof(e->result), true);
}
static int mc_store_entry(void *c, uint32_t i, const struct multicall_entry *e)
{
    return gcopy(MCL + i * sizeof(*e), (void *)e, sizeof(*e), true);
}
static enum pv_mc_disp mc_dispatch(void *c, struct multicall_entry *e, bool *preempted)
{
    struct cpu_regs r = mm_regs(e->op, e->args[0], e->args[1], e->args[2]);
    bool cont = false;

    r.r10 = e->args[3];
    e->result = (xen_ulong_t)pv_mm_call(&tv[0], &r, &cont);
    if (cont) {
        e->args[0] = r.rdi;
        e->args[1] = r.rsi;
        e->args[2] = r.rdx;
        e->args[3] = r.r10;
        *preempted = true;
    }
    return PV_MC_CONTINUE;
}

static void test_mmu_update_in_multicall(void **state)
{
    static const struct pv_multicall_ops ops = {
        .fetch = mc_fetch, .store_result = mc_store_result, .dispatch = mc_dispatch,
        .store_entry = mc_store_entry,
    };
    struct multicall_entry *e = gptr(MCL);
    uint32_t next = 0, first = 0, rounds = 0;
    long rc;

    m2p_list(100);
    e[0] = (struct multicall_entry){ .op = __HYPERVISOR_mmu_update,
                                     .args = { GVA, 100, PDONE, DOMID_SELF } };
    e[1] = (struct multicall_entry){ .op = __HYPERVISOR_mmuext_op,
                                     .args = { GVA + 0x1800, 1, 0, DOMID_SELF } };
    ((struct mmuext_op *)gptr(GVA + 0x1800))->cmd = MMUEXT_TLB_FLUSH_LOCAL;
    /* The guest re-issues multicall(list + next, nr - next) each time. */
    do {
        struct multicall_entry tmp[2];

        memcpy(tmp, e + first, (2 - first) * sizeof(*tmp));
        memcpy(e, tmp, (2 - first) * sizeof(*tmp));
        rc = pv_multicall(&ops, NULL, 2 - first, &next);
        memcpy(tmp, e, (2 - first) * sizeof(*tmp));
        memcpy(e + first, tmp, (2 - first) * sizeof(*tmp));
        first += rc == PV_MC_PREEMPTED ? next : 0;
        rounds++;
    } while (rc == PV_MC_PREEMPTED && rounds < 5);
    assert_int_equal(rc, 0);
    assert_int_equal(rounds, 2);
    assert_int_equal(*(uint32_t *)gptr(PDONE), 100);
    assert_int_equal(e[0].result, 0);
    assert_int_equal(e[1].result, 0);
    assert_int_equal(env_cb.flush_tlb, 1);
    assert_int_equal(pv_m2p_get(A_FIRST + 99 % 30), 0x1000 + 99);
}

static void test_update_va_mapping_passes_through(void **state)
{
    struct cpu_regs r = mm_regs(__HYPERVISOR_update_va_mapping, 0x1000, 0, 0);
    bool cont;

    /* No base pointer: the validator refuses, nothing continues. */
    assert_int_equal(call(&r, &cont), -EINVAL);
    assert_false(cont);
}

/* ---- memory_op -------------------------------------------------------------------------- */

#define RESV (GVA + 0x2000)
#define LIST (GVA + 0x3000)

static void resv(uint64_t nr, unsigned int order, domid_t dom, const xen_pfn_t *l)
{
    struct xen_memory_reservation x = { .nr_extents = nr, .extent_order = order, .domid = dom };

    x.extent_start.p = (xen_pfn_t *)(uintptr_t)LIST;
    memcpy(gptr(RESV), &x, sizeof(x));
    memcpy(gptr(LIST), l, (nr <= 4 ? nr : 0) * sizeof(*l));
}

static void test_decrease_reservation(void **state)
{
    xen_pfn_t l[4] = { 3, 4, 6, B_FIRST };

    /* 6 is pinned as an L1 naming 7 read-only; 4 is mapped by it too. */
    env_page(6)[0] = pte(7, PTE_P);
    env_page(6)[1] = pte(4, PTE_P);
    assert_int_equal(tpin(6, 1), 0);
    resv(4, 0, DOMID_SELF, l);
    assert_int_equal(pv_memory_op(&tv[0], XENMEM_decrease_reservation, RESV), 3);
    assert_null(env_frames[3].owner);                   /* freed */
    assert_null(env_frames[6].owner);                   /* unpinned, then freed */
    assert_false(env_frames[4].count_info & PGC_allocated);   /* went with 6's entries */
    assert_null(env_frames[4].owner);
    assert_ptr_equal(env_frames[7].owner, &tdom);       /* 6's entry to 7 went too */
    assert_int_equal(gcount(7), 1);
    assert_ptr_equal(env_frames[B_FIRST].owner, DOM_B);
    assert_true(env_cb.flush_stale > 0);
    assert_int_equal(pv_mm_bugs, 0);
    /* Given back twice: stops there. */
    resv(1, 0, DOMID_SELF, l);
    assert_int_equal(pv_memory_op(&tv[0], XENMEM_decrease_reservation, RESV), 0);
}

static void test_decrease_keeps_mapped_frames(void **state)
{
    xen_pfn_t l[1] = { 8 };

    env_page(6)[0] = pte(8, PTE_P | PTE_RW);
    assert_int_equal(tpin(6, 1), 0);
    resv(1, 0, DOMID_SELF, l);
    assert_int_equal(pv_memory_op(&tv[0], XENMEM_decrease_reservation, RESV), 1);
    /* Still mapped: only the allocation reference went. */
    assert_ptr_equal(env_frames[8].owner, &tdom);
    assert_false(env_frames[8].count_info & PGC_allocated);
    assert_int_equal(gcount(8), 1);
    assert_int_equal(tunpin(6), 0);
    assert_null(env_frames[8].owner);
    assert_int_equal(pv_mm_bugs, 0);
}

static void test_decrease_extents_and_start(void **state)
{
    xen_pfn_t l[3] = { 10, 12, 14 };

    resv(3, 1, DOMID_SELF, l);                          /* order 1: 10-11, 12-13, 14-15 */
    assert_int_equal(pv_memory_op(&tv[0], XENMEM_decrease_reservation | (1 << MEMOP_EXTENT_SHIFT),
                                  RESV), 3);
    assert_ptr_equal(env_frames[10].owner, &tdom);      /* extent 0 skipped */
    assert_null(env_frames[12].owner);
    assert_null(env_frames[15].owner);
    /* start beyond the extents, another domain, a bad order, an unreadable
       argument: `start` comes back, nothing done. */
    assert_int_equal(pv_memory_op(&tv[0], XENMEM_decrease_reservation | (5 << MEMOP_EXTENT_SHIFT),
                                  RESV), 5);
    resv(1, 0, DOMID_B, l);
    assert_int_equal(pv_memory_op(&tv[0], XENMEM_decrease_reservation, RESV), 0);
    resv(1, 13, DOMID_SELF, l);
    assert_int_equal(pv_memory_op(&tv[0], XENMEM_decrease_reservation, RESV), 0);
    assert_int_equal(pv_memory_op(&tv[0], XENMEM_decrease_reservation, 0x1234), 0);
    resv(1ull << 40, 0, DOMID_SELF, l);
    assert_int_equal(pv_memory_op(&tv[0], XENMEM_decrease_reservation, RESV), 0);
    assert_ptr_equal(env_frames[10].owner, &tdom);
    /* The shared info-like hypervisor frame is never given back. */
    assert_int_equal(pv_share_xen_frame(&tpd.mm, XEN_FIRST, true), 0);
    l[0] = XEN_FIRST;
    resv(1, 0, DOMID_SELF, l);
    assert_int_equal(pv_memory_op(&tv[0], XENMEM_decrease_reservation, RESV), 0);
    assert_ptr_equal(env_frames[XEN_FIRST].owner, &tdom);
}

extern unsigned int pv_resv_pages_per_call;

static void test_reservation_continues(void **state)
{
    xen_pfn_t l[4] = { 20, 21, 22, B_FIRST };
    struct cpu_regs r;
    bool cont = false;

    pv_resv_pages_per_call = 2;
    resv(4, 0, DOMID_SELF, l);
    memset(&r, 0, sizeof(r));
    r.rdi = XENMEM_decrease_reservation;
    r.rsi = RESV;
    r.rip = 0x401002;
    assert_int_equal(pv_memory_op_regs(&tv[0], &r, &cont), 0);
    assert_true(cont);
    assert_int_equal(r.rdi, XENMEM_decrease_reservation | (2 << MEMOP_EXTENT_SHIFT));
    assert_int_equal(r.rip, 0x401000);
    assert_null(env_frames[21].owner);
    assert_ptr_equal(env_frames[22].owner, &tdom);
    cont = false;
    r.rip += 2;
    assert_int_equal(pv_memory_op_regs(&tv[0], &r, &cont), 3);   /* B_FIRST stops it */
    assert_false(cont);
    assert_null(env_frames[22].owner);
    /* Without registers the whole list is done in one call. */
    l[0] = 23, l[1] = 24, l[2] = 25, l[3] = 26;
    resv(4, 0, DOMID_SELF, l);
    assert_int_equal(pv_memory_op(&tv[0], XENMEM_decrease_reservation, RESV), 4);
    assert_null(env_frames[26].owner);
    pv_resv_pages_per_call = 4096;
}

static void test_populate_physmap(void **state)
{
    xen_pfn_t l[3] = { 0x100, 0x101, 0x102 };
    xen_pfn_t *out = gptr(LIST);

    tdom.max_pages = tdom.tot_pages + 2;
    resv(3, 0, DOMID_SELF, l);
    assert_int_equal(pv_memory_op(&tv[0], XENMEM_populate_physmap, RESV), 2);
    assert_int_equal(tdom.tot_pages, tdom.max_pages);
    for (unsigned int i = 0; i < 2; i++) {
        mfn_t m = out[i];

        assert_true(m > XEN_LAST && m < ENV_FRAMES);
        assert_ptr_equal(env_frames[m].owner, &tdom);
        assert_int_equal(env_frames[m].count_info & (PGC_allocated | PGC_count_mask), PGC_allocated | 1);
        assert_int_equal(env_frames[m].type_info, 0);
        assert_int_equal(pv_m2p_get(m), 0x100 + i);
        assert_int_equal(env_page(m)[17], 0);           /* zeroed */
    }
    assert_int_equal(out[2], 0x102);                    /* not done: untouched */
    /* The new frame can be used as a page table. */
    assert_int_equal(tpin((mfn_t)out[0], 1), 0);
    /* Order > 0 and populate-on-demand: nothing. */
    tdom.max_pages += 8;
    resv(1, 1, DOMID_SELF, l);
    assert_int_equal(pv_memory_op(&tv[0], XENMEM_populate_physmap, RESV), 0);
    resv(1, 0, DOMID_SELF, l);
    ((struct xen_memory_reservation *)gptr(RESV))->mem_flags = XENMEMF_populate_on_demand;
    assert_int_equal(pv_memory_op(&tv[0], XENMEM_populate_physmap, RESV), 0);
}

static void test_increase_reservation(void **state)
{
    xen_pfn_t l[2] = { 0, 0 };
    xen_pfn_t *out = gptr(LIST);

    tdom.max_pages = tdom.tot_pages + 5;
    resv(2, 0, DOMID_SELF, l);
    assert_int_equal(pv_memory_op(&tv[0], XENMEM_increase_reservation, RESV), 2);
    assert_ptr_equal(env_frames[out[1]].owner, &tdom);
    assert_int_equal(pv_m2p_get(out[1]), PV_M2P_INVALID);   /* the M2P is the guest's to set */
    /* No list: frames given, nothing written. */
    ((struct xen_memory_reservation *)gptr(RESV))->extent_start.p = NULL;
    assert_int_equal(pv_memory_op(&tv[0], XENMEM_increase_reservation, RESV), 2);
    assert_int_equal(tdom.tot_pages, tdom.max_pages - 1);
}

static void test_memory_maps(void **state)
{
    struct xen_memory_map map = { .nr_entries = 3 };
    struct xen_abi_e820_entry *e = gptr(LIST);
    struct xen_machphys_mapping *mp = gptr(RESV);

    e820.nr = 2;
    e820.map[0] = (struct e820entry){ 0, 0x9f000, E820_RAM };
    e820.map[1] = (struct e820entry){ 0xf0000, 0x10000, E820_RESERVED };
    map.buffer.p = (void *)(uintptr_t)LIST;
    memcpy(gptr(RESV), &map, sizeof(map));
    assert_int_equal(pv_memory_op(&tv[0], XENMEM_machine_memory_map, RESV), 0);
    assert_int_equal(((struct xen_memory_map *)gptr(RESV))->nr_entries, 2);
    assert_int_equal(e[1].addr, 0xf0000);
    assert_int_equal(e[1].size, 0x10000);
    assert_int_equal(e[1].type, E820_RESERVED);
    /* Room for the map plus one, as Xen asks. */
    map.nr_entries = 2;
    memcpy(gptr(RESV), &map, sizeof(map));
    assert_int_equal(pv_memory_op(&tv[0], XENMEM_machine_memory_map, RESV), -EINVAL);
    assert_int_equal(pv_memory_op(&tv[0], XENMEM_machine_memory_map | (1 << MEMOP_EXTENT_SHIFT),
                                  RESV), -ENOSYS);
    assert_int_equal(pv_memory_op(&tv[0], XENMEM_machine_memory_map, 0x1234), -EFAULT);
    tdom.is_initial = false;
    assert_int_equal(pv_memory_op(&tv[0], XENMEM_machine_memory_map, RESV), -EPERM);

    assert_int_equal(pv_memory_op(&tv[0], XENMEM_machphys_mapping, RESV), 0);
    assert_int_equal(mp->v_start, 0xffff800000000000ull);
    assert_int_equal(mp->v_end, 0xffff804000000000ull);
    assert_int_equal(mp->max_mfn, ENV_FRAMES - 1);
}

static void test_memory_op_routing(void **state)
{
    struct xen_add_to_physmap x = { .domid = DOMID_SELF, .space = XENMAPSPACE_shared_info };
    domid_t self = DOMID_SELF;

    assert_int_equal(pv_memory_op(&tv[0], XENMEM_current_reservation, RESV), SENTINEL);
    assert_int_equal(last_h.arg[1], RESV);
    assert_int_equal(pv_memory_op(&tv[0], XENMEM_memory_map, RESV), SENTINEL);
    assert_int_equal(pv_memory_op(&tv[0], XENMEM_exchange, RESV), -ENOSYS);
    memcpy(gptr(RESV), &x, sizeof(x));
    assert_int_equal(pv_memory_op(&tv[0], XENMEM_add_to_physmap, RESV), -EACCES);
    x.domid = 9;
    memcpy(gptr(RESV), &x, sizeof(x));
    assert_int_equal(pv_memory_op(&tv[0], XENMEM_add_to_physmap, RESV), -ESRCH);
    x.space = XENMAPSPACE_gmfn_foreign;
    memcpy(gptr(RESV), &x, sizeof(x));
    assert_int_equal(pv_memory_op(&tv[0], XENMEM_add_to_physmap, RESV), -ENOSYS);
    /* maximum_gpfn: what the guest wrote into shared info, minus one. */
    memcpy(gptr(RESV), &self, sizeof(self));
    assert_int_equal(pv_memory_op(&tv[0], XENMEM_maximum_gpfn, RESV), 0);
    tshared.arch.max_pfn = 0x10000;
    assert_int_equal(pv_memory_op(&tv[0], XENMEM_maximum_gpfn, RESV), 0xffff);
    self = DOMID_B;
    memcpy(gptr(RESV), &self, sizeof(self));
    assert_int_equal(pv_memory_op(&tv[0], XENMEM_maximum_gpfn, RESV), -EPERM);
}

/* ---- vcpu_op -------------------------------------------------------------------------------- */

static long reg_info(unsigned int vcpu, uint64_t mfn, uint64_t offset)
{
    struct vcpu_register_vcpu_info info = { .mfn = mfn, .offset = (uint32_t)offset };

    memcpy(gptr(RESV), &info, sizeof(info));
    return pv_vcpu_op(&tv[0], VCPUOP_register_vcpu_info, vcpu, RESV);
}

static void test_register_vcpu_info(void **state)
{
    tshared.vcpu_info[0].evtchn_upcall_mask = 1;
    assert_int_equal(reg_info(5, 9, 0), -ENOENT);
    assert_int_equal(reg_info(0, 9, 4040), -ENXIO);
    assert_int_equal(reg_info(0, 9, 4), -ENXIO);
    assert_int_equal(reg_info(0, B_FIRST, 0), -EINVAL);   /* not ours */
    assert_int_equal(reg_info(0, XEN_FIRST, 0), -EINVAL); /* hypervisor's */
    assert_int_equal(reg_info(0, 1ull << 40, 0), -EINVAL);
    assert_int_equal(tpin(9, 1), 0);
    assert_int_equal(reg_info(0, 9, 0), -EINVAL);         /* a page table */
    assert_int_equal(tunpin(9), 0);
    assert_int_equal(reg_info(1, 9, 64), 0);          /* vCPU 1 is down: allowed */
    assert_int_equal(reg_info(0, 9, 128), 0);
    assert_int_equal(tv[0].vcpu_info_maddr, (9 << PAGE_SHIFT) + 128);
    assert_ptr_equal(tv[0].vcpu_info, (uint8_t *)env_page(9) + 128);
    assert_int_equal(tv[0].vcpu_info->evtchn_upcall_mask, 1);
    assert_int_equal(ttype(9), PGT_writable_page);
    assert_int_equal(tcount(9), 2);                        /* one per vcpu_info */
    assert_int_equal(gcount(9), 3);
    assert_int_equal(vtime_calls, 2);
    assert_int_equal(reg_info(0, 10, 0), -EINVAL);         /* once only */
    assert_int_equal(tpin(9, 1), -EINVAL);                  /* never a page table now */
    pv_vcpu_info_release(&tdom);
    assert_int_equal(tcount(9), 0);
    assert_int_equal(gcount(9), 1);
    assert_ptr_equal(tv[0].vcpu_info, &tshared.vcpu_info[0]);
    assert_int_equal(pv_mm_bugs, 0);
}

static void test_register_vcpu_info_other_running_vcpu(void **state)
{
    tv[1].is_up = true;
    assert_int_equal(reg_info(1, 9, 0), -EINVAL);
    assert_int_equal(tcount(9), 0);
    assert_int_equal(pv_vcpu_op(&tv[0], VCPUOP_is_up, 1, 0), SENTINEL);
    assert_int_equal(last_h.arg[0], VCPUOP_is_up);
    assert_int_equal(last_h.arg[1], 1);
}

/* ---- physdev_op, grant_table_op --------------------------------------------------------- */

static void test_physdev_routing(void **state)
{
    assert_int_equal(pv_physdev_op(&tv[0], PHYSDEVOP_set_iopl, RESV), 0);
    assert_int_equal(iopl_calls, 1);
    assert_int_equal(pv_physdev_op(&tv[0], PHYSDEVOP_pirq_eoi_gmfn_v2, RESV), SENTINEL);
    assert_int_equal(last_h.arg[0], PHYSDEVOP_pirq_eoi_gmfn_v2);
    assert_int_equal(pirq_cmd, PHYSDEVOP_pirq_eoi_gmfn_v2);    /* asked first */
    last_h.arg[0] = 0;
    assert_int_equal(pv_physdev_op(&tv[0], PHYSDEVOP_map_pirq, RESV), 0);
    assert_int_equal(last_h.arg[0], 0);                         /* not passed on */
}

static long setup_table(domid_t dom, uint32_t nr, uint64_t count, int16_t *status)
{
    struct gnttab_setup_table op = { .dom = dom, .nr_frames = nr };
    long rc;

    op.frame_list.p = (xen_pfn_t *)(uintptr_t)LIST;
    op.status = 99;
    memcpy(gptr(RESV), &op, sizeof(op));
    rc = pv_grant_table_op(&tv[0], GNTTABOP_setup_table, RESV, count);
    *status = ((struct gnttab_setup_table *)gptr(RESV))->status;
    return rc;
}

static void test_gnttab_setup_table(void **state)
{
    xen_pfn_t *fl = gptr(LIST);
    int16_t st;

    assert_int_equal(setup_table(DOMID_SELF, 2, 1, &st), 0);
    assert_int_equal(st, GNTST_okay);
    assert_int_equal(fl[0], XEN_FIRST);
    assert_int_equal(fl[1], XEN_FIRST + 1);
    assert_ptr_equal(env_frames[XEN_FIRST + 1].owner, &tdom);
    assert_int_equal(ttype(XEN_FIRST), PGT_writable_page);
    /* Again, more frames: the shared ones stay shared. */
    assert_int_equal(setup_table(DOMID_A, 3, 1, &st), 0);
    assert_int_equal(st, GNTST_okay);
    assert_int_equal(fl[2], XEN_FIRST + 2);
    assert_int_equal(tcount(XEN_FIRST), 1);
    /* The guest may map a frame writable; never as a page table. */
    env_page(6)[0] = pte(XEN_FIRST, PTE_P | PTE_RW);
    assert_int_equal(tpin(6, 1), 0);
    assert_int_equal(tpin(XEN_FIRST, 1), -EINVAL);
    assert_int_equal(tunpin(6), 0);
    /* Hostile arguments. */
    assert_int_equal(setup_table(DOMID_SELF, 65, 1, &st), 0);
    assert_int_equal(st, GNTST_general_error);
    assert_int_equal(setup_table(DOMID_SELF, 5, 1, &st), 0);   /* frame 4 cannot be had */
    assert_int_equal(st, GNTST_general_error);
    assert_int_equal(setup_table(DOMID_B, 1, 1, &st), 0);
    assert_int_equal(st, GNTST_permission_denied);
    assert_int_equal(setup_table(7, 1, 1, &st), 0);
    assert_int_equal(st, GNTST_bad_domain);
    assert_int_equal(setup_table(DOMID_SELF, 1, 2, &st), -EINVAL);
    assert_int_equal(setup_table(DOMID_SELF, 1, 0x80000000u, &st), -EINVAL);
    assert_int_equal(pv_grant_table_op(&tv[0], GNTTABOP_setup_table, 0x1234, 1), -EFAULT);
    {
        struct gnttab_setup_table op = { .dom = DOMID_SELF, .nr_frames = 1 };
        op.frame_list.p = (xen_pfn_t *)(uintptr_t)0xdead0000;
        memcpy(gptr(RESV), &op, sizeof(op));
        assert_int_equal(pv_grant_table_op(&tv[0], GNTTABOP_setup_table, RESV, 1), 0);
        assert_int_equal(((struct gnttab_setup_table *)gptr(RESV))->status, GNTST_bad_virt_addr);
    }
    /* Teardown takes the shared frames back. */
    assert_int_equal(pv_mm_teardown(&tpd.mm), 0);
    assert_null(env_frames[XEN_FIRST].owner);
}

static void test_gnttab_routing(void **state)
{
    assert_int_equal(pv_grant_table_op(&tv[0], GNTTABOP_query_size, RESV, 1), SENTINEL);
    assert_int_equal(last_h.arg[2], 1);
    assert_int_equal(pv_grant_table_op(&tv[0], GNTTABOP_set_version, RESV, 1), SENTINEL);
    assert_int_equal(pv_grant_table_op(&tv[0], GNTTABOP_get_version, RESV, 1), SENTINEL);
    assert_int_equal(pv_grant_table_op(&tv[0], GNTTABOP_map_grant_ref, RESV, 1), -ENOSYS);
    assert_int_equal(pv_grant_table_op(&tv[0], GNTTABOP_copy, RESV, 1), -ENOSYS);
    assert_int_equal(pv_grant_table_op(&tv[0], 0x100 | GNTTABOP_query_size, RESV, 1), -ENOSYS);
}

/* ---- VCPUOP_initialise, up, down ----------------------------------------------------- */

#define CTX_GVA (GVA + 0x1000)

static long vcpu_call(unsigned int cmd, unsigned int vcpu, uint64_t arg)
{
    return pv_vcpu_op(&tv[0], cmd, vcpu, arg);
}

static struct vcpu_guest_context *ctx_in_guest(mfn_t l4)
{
    static struct vcpu_guest_context c;

    memset(&c, 0, sizeof(c));
    c.flags = VGCF_in_kernel;
    c.user_regs.rip = 0xffffffff81000100ULL;
    c.user_regs.rsp = 0xffffc90000087f58ULL;
    c.user_regs.rbx = 0x1234;
    c.user_regs.rflags = 0x1000 | 0x1;      /* IOPL 1, CF */
    c.trap_ctxt[14] = (struct trap_info){ .vector = 14, .cs = 0x10, .address = 0xffffffff81002000ULL };
    c.kernel_ss = 0x18;
    c.kernel_sp = 0xffffc90000088000ULL;
    c.gs_base_kernel = 0xffff88800f600000ULL;
    c.event_callback_eip = 0xffffffff81003000ULL;
    c.ctrlreg[3] = l4 << PAGE_SHIFT;
    assert_true(sizeof(c) <= GMEM - 0x1000);
    return &c;
}

static void put_ctx(const struct vcpu_guest_context *c)
{
    assert_int_equal(copy_to_guest(&tv[0], CTX_GVA, c, sizeof(*c)), 0);
}

static void test_vcpu_initialise(void **state)
{
    mfn_t l4 = A_FIRST + 20;                /* an empty frame of the domain: a valid L4 */
    struct vcpu_guest_context *c = ctx_in_guest(l4);
    struct pv_vcpu *p;

    (void)state;
    assert_int_equal(vcpu_call(VCPUOP_up, 1, 0), -EINVAL);          /* not initialised */
    assert_int_equal(vcpu_call(VCPUOP_initialise, 1, 0x10), -EFAULT);
    assert_int_equal(vcpu_call(VCPUOP_initialise, 2, CTX_GVA), -ENOENT);
    put_ctx(c);
    assert_int_equal(vcpu_call(VCPUOP_initialise, 1, CTX_GVA), 0);
    p = tv[1].vendor;
    assert_non_null(p);
    assert_int_equal(tpd.mm.vcpu[1].kernel_l4, l4);
    assert_int_equal(tpd.mm.vcpu[1].user_l4, 0);
    assert_int_equal(p->regs.rip, c->user_regs.rip);
    assert_int_equal(p->regs.rsp, c->user_regs.rsp);
    assert_int_equal(p->regs.rbx, 0x1234);
    assert_int_equal(p->regs.rflags, 0x203);
    assert_int_equal(p->iopl, 1);
    assert_int_equal(p->traps[14].address, 0xffffffff81002000ULL);
    assert_int_equal(p->kernel_ss, 0x1b);
    assert_int_equal(p->kernel_sp, c->kernel_sp);
    assert_int_equal(p->gs_base_kernel, c->gs_base_kernel);
    assert_int_equal(p->callback[CALLBACKTYPE_event], c->event_callback_eip);
    assert_false(p->user_mode);
    assert_int_equal(gdt_calls, 1);
    assert_false(tv[1].is_up);
    /* Once only (Xen's -EEXIST), and never for the builder's vCPU 0. */
    assert_int_equal(vcpu_call(VCPUOP_initialise, 1, CTX_GVA), -EEXIST);
    tv[0].vendor = p;                       /* stands for the builder's state */
    assert_int_equal(vcpu_call(VCPUOP_initialise, 0, CTX_GVA), -EEXIST);
    tv[0].vendor = NULL;
    /* up, down */
    assert_int_equal(vcpu_call(VCPUOP_up, 1, 0), 0);
    assert_true(tv[1].is_up);
    assert_int_equal(sched_adds, 1);
    assert_int_equal(vcpu_call(VCPUOP_up, 1, 0), 0);                /* up already: nothing */
    assert_int_equal(sched_adds, 1);
    assert_int_equal(vcpu_call(VCPUOP_down, 1, 0), 0);
    assert_false(tv[1].is_up);
    assert_int_equal(shutdowns, 0);
    assert_int_equal(vcpu_call(VCPUOP_down, 0, 0), 0);              /* the last one: poweroff */
    assert_int_equal(shutdowns, 1);
    free(tv[1].vendor);
    tv[1].vendor = NULL;
}

static void test_vcpu_initialise_refused(void **state)
{
    struct vcpu_guest_context *c = ctx_in_guest(A_FIRST + 20);

    (void)state;
    c->ctrlreg[3] |= 0x18;                  /* not xen_pfn_to_cr3 form */
    put_ctx(c);
    assert_int_equal(vcpu_call(VCPUOP_initialise, 1, CTX_GVA), -EINVAL);
    assert_null(tv[1].vendor);
    c->ctrlreg[3] = (mfn_t)B_FIRST << PAGE_SHIFT;   /* another domain's frame */
    put_ctx(c);
    assert_int_equal(vcpu_call(VCPUOP_initialise, 1, CTX_GVA), -EINVAL);
    assert_null(tv[1].vendor);
    assert_int_equal(tpd.mm.vcpu[1].kernel_l4, 0);
    c->ctrlreg[3] = (mfn_t)(A_FIRST + 20) << PAGE_SHIFT;
    c->gdt_ents = 17 * 512;                 /* into the reserved entries */
    put_ctx(c);
    assert_int_equal(vcpu_call(VCPUOP_initialise, 1, CTX_GVA), -EINVAL);
    assert_null(tv[1].vendor);
    c->gdt_ents = 0;
    put_ctx(c);
    assert_int_equal(vcpu_call(VCPUOP_initialise, 1, CTX_GVA), 0);   /* refusals left no trace */
    free(tv[1].vendor);
    tv[1].vendor = NULL;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_vcpu_initialise, setup),
        cmocka_unit_test_setup(test_vcpu_initialise_refused, setup),
        cmocka_unit_test_setup(test_mmu_update_continues, setup),
        cmocka_unit_test_setup(test_mmu_update_exact_batch_and_zero, setup),
        cmocka_unit_test_setup(test_mmu_update_fails_in_later_chunk, setup),
        cmocka_unit_test_setup(test_mmu_update_unreadable_entry, setup),
        cmocka_unit_test_setup(test_mmu_update_preempted_count_from_pdone, setup),
        cmocka_unit_test_setup(test_mmuext_op_continues, setup),
        cmocka_unit_test_setup(test_mmu_update_in_multicall, setup),
        cmocka_unit_test_setup(test_update_va_mapping_passes_through, setup),
        cmocka_unit_test_setup(test_decrease_reservation, setup),
        cmocka_unit_test_setup(test_decrease_keeps_mapped_frames, setup),
        cmocka_unit_test_setup(test_decrease_extents_and_start, setup),
        cmocka_unit_test_setup(test_reservation_continues, setup),
        cmocka_unit_test_setup(test_populate_physmap, setup),
        cmocka_unit_test_setup(test_increase_reservation, setup),
        cmocka_unit_test_setup(test_memory_maps, setup),
        cmocka_unit_test_setup(test_memory_op_routing, setup),
        cmocka_unit_test_setup(test_register_vcpu_info, setup),
        cmocka_unit_test_setup(test_register_vcpu_info_other_running_vcpu, setup),
        cmocka_unit_test_setup(test_physdev_routing, setup),
        cmocka_unit_test_setup(test_gnttab_setup_table, setup),
        cmocka_unit_test_setup(test_gnttab_routing, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
