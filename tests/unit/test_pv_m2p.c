/* The machine-to-physical table and its read-only guest mapping, and the
   multicall batch helper. */
/* @sources: pv/m2p.c pv/multicall.c */
#include "cmocka_prelude.h"
#include <stdlib.h>
#include <string.h>
#include <proxenos/pv_mm.h>
#include <proxenos/pagetable.h>

/* ---- M2P ------------------------------------------------------------------------ */

static void test_m2p_table(void **state)
{
    static unsigned long table[100];

    memset(table, 0x5a, sizeof(table));
    pv_m2p_init(table, 100);
    assert_int_equal(pv_m2p_entries(), 100);
    for (unsigned int i = 0; i < 100; i++)
        assert_int_equal(pv_m2p_get(i), PV_M2P_INVALID);
    assert_true(pv_m2p_set(99, 1234));
    assert_int_equal(table[99], 1234);
    assert_int_equal(pv_m2p_get(99), 1234);
    assert_false(pv_m2p_set(100, 1));
    assert_false(pv_m2p_set(~0ULL, 1));
    assert_int_equal(pv_m2p_get(100), PV_M2P_INVALID);
    assert_int_equal(pv_m2p_get(~0ULL), PV_M2P_INVALID);
}

/* Table pages are host pages; their "machine address" is the pointer. */
static int tables, budget;

static paddr_t t_alloc(void)
{
    void *p;

    if (budget-- <= 0)
        return 0;
    p = aligned_alloc(4096, 4096);
    memset(p, 0, 4096);
    tables++;
    return (paddr_t)(uintptr_t)p;
}

static uint64_t *t_map(paddr_t pa) { return (uint64_t *)(uintptr_t)pa; }

static uint64_t *walk(uint64_t *l4, uint64_t va, uint64_t *flags_and)
{
    uint64_t *t = l4;

    *flags_and = ~0ULL;
    for (unsigned int level = 4; level >= 1; level--) {
        uint64_t e = t[(va >> (12 + 9 * (level - 1))) & 511];

        if (!(e & PTE_P))
            return NULL;
        *flags_and &= e;
        if (level == 1)
            return (uint64_t *)(uintptr_t)(e & PTE_ADDR_MASK);
        t = t_map(e & PTE_ADDR_MASK);
    }
    return NULL;
}

static void free_tree(uint64_t *t, unsigned int level)
{
    for (unsigned int i = 0; level > 1 && i < 512; i++)
        if (t[i] & PTE_P)
            free_tree(t_map(t[i] & PTE_ADDR_MASK), level - 1);
    free(t);
}

static void test_ro_map(void **state)
{
    uint64_t *l4 = t_map((budget = 100, t_alloc()));
    uint64_t flags;
    /* 600 frames: two L1 tables' worth. */
    const uint64_t n = 600, base = 0x40000000;

    /* A hypervisor L4 entry for slot 256 already exists (RW, no US). */
    l4[256] = t_alloc() | PTE_P | PTE_RW;
    assert_int_equal(pv_m2p_build_ro_map(l4, base, n, t_alloc, t_map), 0);
    assert_int_equal(l4[256] & (PTE_P | PTE_RW | PTE_US), PTE_P | PTE_RW);   /* kept */
    for (uint64_t i = 0; i < n; i += 37) {
        uint64_t *pa = walk(l4, PV_RO_MPT_START + i * 4096, &flags);

        assert_ptr_equal(pa, (uint64_t *)(uintptr_t)(base + i * 4096));
        /* Below the L4: user, never writable at any level. */
        assert_false(flags & PTE_RW);
        assert_int_equal(flags & PTE_P, PTE_P);
    }
    {
        uint64_t *l3 = t_map(l4[256] & PTE_ADDR_MASK), *l2 = t_map(l3[0] & PTE_ADDR_MASK);
        uint64_t *l1 = t_map(l2[1] & PTE_ADDR_MASK);

        assert_int_equal(l3[0] & (PTE_US | PTE_RW), PTE_US);
        assert_int_equal(l2[0] & (PTE_US | PTE_RW), PTE_US);
        assert_int_equal(l1[0] & (PTE_US | PTE_RW | PTE_NX), PTE_US);
        assert_int_equal(l1[600 - 512 - 1] & PTE_P, PTE_P);
        assert_int_equal(l1[600 - 512] & PTE_P, 0);      /* nothing beyond */
        assert_int_equal(l2[2], 0);
    }
    assert_null(walk(l4, PV_RO_MPT_START + n * 4096, &flags));
    assert_int_equal(tables, 1 + 1 + 1 + 2);             /* L4, L3, L2, two L1s */
    free_tree(l4, 4);
    tables = 0;
}

static void test_ro_map_refusals(void **state)
{
    uint64_t *l4;

    budget = 2;
    l4 = t_map(t_alloc());
    assert_int_equal(pv_m2p_build_ro_map(l4, 0x1001, 1, t_alloc, t_map), -EINVAL);
    assert_int_equal(pv_m2p_build_ro_map(l4, 0x1000, 0, t_alloc, t_map), -EINVAL);
    assert_int_equal(pv_m2p_build_ro_map(l4, 0x1000, (256ULL << 30) / 4096 + 1, t_alloc, t_map),
                     -EINVAL);
    /* Out of table pages on the way down. */
    assert_int_equal(pv_m2p_build_ro_map(l4, 0x1000, 1, t_alloc, t_map), -ENOMEM);
    free_tree(l4, 4);
    tables = 0;
}

/* ---- multicall -------------------------------------------------------------------- */

struct mc_ctx {
    struct multicall_entry list[8];
    uint32_t nr;
    int fault_fetch, fault_store;         /* index that faults, or -1 */
    int preempt_at;                       /* preempt_check true before this index */
    int subcall_preempt;                  /* this call asks for a continuation */
    unsigned int calls;
};

static int mc_fetch(void *c, uint32_t i, struct multicall_entry *call)
{
    struct mc_ctx *x = c;

    if ((int)i == x->fault_fetch)
        return -EFAULT;
    *call = x->list[i];
    return 0;
}

static int mc_store(void *c, uint32_t i, const struct multicall_entry *call)
{
    struct mc_ctx *x = c;

    if ((int)i == x->fault_store)
        return -EFAULT;
    x->list[i].result = call->result;
    return 0;
}

static int mc_store_entry(void *c, uint32_t i, const struct multicall_entry *call)
{
    ((struct mc_ctx *)c)->list[i] = *call;
    return 0;
}

/* op 1: returns -(arg0); op 23 (iret): exits; op 2: leaves kernel mode. */
static enum pv_mc_disp mc_dispatch(void *c, struct multicall_entry *call, bool *preempted)
{
    struct mc_ctx *x = c;

    x->calls++;
    call->result = -(long)call->args[0];
    if ((int)x->calls - 1 == x->subcall_preempt) {
        call->args[0] = 77;               /* the continuation's arguments */
        *preempted = true;
    }
    if (call->op == __HYPERVISOR_iret)
        return PV_MC_EXIT;
    return call->op == 2 ? PV_MC_PREEMPT : PV_MC_CONTINUE;
}

static bool mc_preempt(void *c)
{
    struct mc_ctx *x = c;

    return (int)x->calls == x->preempt_at;
}

static const struct pv_multicall_ops mc_ops = {
    .fetch = mc_fetch, .store_result = mc_store, .dispatch = mc_dispatch,
    .store_entry = mc_store_entry, .preempt_check = mc_preempt,
};

static void mc_init(struct mc_ctx *x, uint32_t nr)
{
    memset(x, 0, sizeof(*x));
    x->nr = nr;
    x->fault_fetch = x->fault_store = x->preempt_at = x->subcall_preempt = -1;
    for (uint32_t i = 0; i < nr; i++) {
        x->list[i].op = 1;
        x->list[i].args[0] = i + 1;
        x->list[i].result = 0xdead;
    }
}

static void test_multicall(void **state)
{
    struct mc_ctx x;
    uint32_t next;

    /* Failing calls do not stop the batch; each gets its own result. */
    mc_init(&x, 4);
    assert_int_equal(pv_multicall(&mc_ops, &x, 4, &next), 0);
    assert_int_equal(next, 4);
    for (unsigned int i = 0; i < 4; i++)
        assert_int_equal((long)x.list[i].result, -(long)(i + 1));

    mc_init(&x, 4);
    x.fault_fetch = 2;
    assert_int_equal(pv_multicall(&mc_ops, &x, 4, &next), -EFAULT);
    assert_int_equal(x.calls, 2);
    assert_int_equal(x.list[2].result, 0xdead);
    mc_init(&x, 4);
    x.fault_store = 1;
    assert_int_equal(pv_multicall(&mc_ops, &x, 4, &next), -EFAULT);
    assert_int_equal(x.calls, 2);

    /* iret ends the batch with its own result. */
    mc_init(&x, 4);
    x.list[1].op = __HYPERVISOR_iret;
    assert_int_equal(pv_multicall(&mc_ops, &x, 4, &next), -2);
    assert_int_equal(x.calls, 2);
    assert_int_equal(next, 2);

    /* Preempted between calls, or after leaving kernel mode. */
    mc_init(&x, 4);
    x.preempt_at = 3;
    assert_int_equal(pv_multicall(&mc_ops, &x, 4, &next), PV_MC_PREEMPTED);
    assert_int_equal(next, 3);
    assert_int_equal(x.list[3].result, 0xdead);
    mc_init(&x, 4);
    x.list[1].op = 2;
    assert_int_equal(pv_multicall(&mc_ops, &x, 4, &next), PV_MC_PREEMPTED);
    assert_int_equal(next, 2);
    x.list[3].op = 2;
    assert_int_equal(pv_multicall(&mc_ops, &x, 1, &next), 0);   /* last call: done */

    /* A sub-call continuation: the entry is rewritten and redone. */
    mc_init(&x, 4);
    x.subcall_preempt = 1;
    assert_int_equal(pv_multicall(&mc_ops, &x, 4, &next), PV_MC_PREEMPTED);
    assert_int_equal(next, 1);
    assert_int_equal(x.list[1].args[0], 77);
    assert_int_equal(pv_multicall(&mc_ops, &x, 0, &next), 0);
    assert_int_equal(next, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_m2p_table),
        cmocka_unit_test(test_ro_map),
        cmocka_unit_test(test_ro_map_refusals),
        cmocka_unit_test(test_multicall),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
