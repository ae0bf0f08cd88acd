/* The PV validator's page types and counts: validation of each level,
   refused entries, type confusion, foreign and hypervisor frames, count
   overflow, linear page tables, the hypervisor's L4 slots, teardown. */
/* @sources: pv/page_type.c pv/pt_validate.c pv/mmu_update.c pv/mmuext_op.c pv/update_va_mapping.c pv/mm_domain.c pv/m2p.c */
#include "cmocka_prelude.h"
#include "test_pv_assert.h"

/* An L1 mapping frame 3 writable and frame 4 read-only. */
static void test_pin_l1_counts(void **state)
{
    env_page(2)[0] = pte(3, RW);
    env_page(2)[1] = pte(4, RO);
    assert_int_equal(pin(2, 1), 0);
    assert_int_equal(ttype(2), PGT_l1_page_table);
    assert_true(validated(2) && pinned(2));
    assert_int_equal(tcount(2), 1);
    assert_int_equal(gcount(2), 2);               /* allocation + pin */
    assert_int_equal(ttype(3), PGT_writable_page);
    assert_int_equal(tcount(3), 1);
    assert_int_equal(gcount(3), 2);
    assert_int_equal(tcount(4), 0);
    assert_int_equal(gcount(4), 2);
    assert_true(env_page(2)[0] & PTE_US);        /* ring-3 kernel: user bit added */
    audit_ok();

    assert_int_equal(pin(2, 1), -EINVAL);        /* pinning is not counted */
    assert_int_equal(tcount(2), 1);
    assert_int_equal(unpin(2), 0);
    assert_int_equal(tcount(2), 0);
    assert_false(validated(2));
    assert_int_equal(tcount(3), 0);
    assert_int_equal(gcount(3), 1);
    assert_int_equal(gcount(4), 1);
    assert_int_equal(unpin(2), -EINVAL);
    audit_ok();
    torn_down_ok();
}

static void test_table_maps_itself_writable(void **state)
{
    env_page(2)[7] = pte(2, RW);
    assert_int_equal(pin(2, 1), -EBUSY);
    assert_int_equal(tcount(2), 0);
    assert_int_equal(gcount(2), 1);
    /* Read-only is fine: the guest may read its page tables. */
    env_page(2)[7] = pte(2, RO);
    assert_int_equal(pin(2, 1), 0);
    assert_int_equal(gcount(2), 3);
    /* ... and a live table cannot be made writable afterwards. */
    assert_int_equal(mmu1(2, 8, pte(2, RW)), -EBUSY);
    audit_ok();
    torn_down_ok();
}

static void test_type_confusion(void **state)
{
    assert_int_equal(pin(5, 2), 0);              /* an empty L2 */
    assert_int_equal(pin(5, 1), -EINVAL);        /* the L2 used as an L1 */
    assert_int_equal(pin(5, 3), -EINVAL);
    /* An L2 entry naming an L2 writable: not an L1, and no linear RW. */
    env_page(6)[0] = pte(5, RW);
    assert_int_equal(pin(6, 2), -EINVAL);
    assert_int_equal(tcount(5), 1);
    /* An L3 entry naming the L2 as if it were an L2... fine, that is its
       level; naming an L1 is not. */
    assert_int_equal(pin(8, 1), 0);              /* an empty L1 */
    env_page(7)[0] = pte(8, RW);
    assert_int_equal(pin(7, 3), -EINVAL);
    env_page(7)[0] = pte(5, RW);
    assert_int_equal(pin(7, 3), 0);
    assert_int_equal(tcount(5), 2);
    audit_ok();
    torn_down_ok();
}

static void test_foreign_and_hypervisor_frames(void **state)
{
    static const mfn_t bad[] = { B_FIRST, XEN_FIRST, 0, 60 };

    for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++) {
        env_page(2)[0] = pte(bad[i], RO);
        assert_int_equal(pin(2, 1), -EBUSY);
        env_page(2)[0] = pte(bad[i], RW);
        assert_int_equal(pin(2, 1), -EBUSY);
        assert_int_equal(pin(bad[i], 1), -EINVAL);
        env_page(9)[0] = pte(bad[i], RO);       /* as a lower table */
        assert_int_equal(pin(9, 2), -EINVAL);
    }
    env_page(2)[0] = pte(ENV_FRAMES + 5, RO);     /* beyond RAM: MMIO */
    assert_int_equal(pin(2, 1), -EPERM);
    env_page(2)[0] = pte(0xffffffffffULL, RO);
    assert_int_equal(pin(2, 1), -EPERM);
    audit_ok();

    /* A hypervisor frame shared with the domain can be mapped, never
       pinned, and is taken back only once unmapped. */
    assert_int_equal(pv_share_xen_frame(&env_mm, XEN_FIRST, true), 0);
    assert_int_equal(pv_share_xen_frame(&env_mm, XEN_FIRST, true), -EBUSY);
    assert_int_equal(pv_share_xen_frame(&env_mm, 3, true), -EINVAL);
    env_page(2)[0] = pte(XEN_FIRST, RW);
    assert_int_equal(pin(2, 1), 0);
    assert_int_equal(pin(XEN_FIRST, 1), -EINVAL);
    assert_int_equal(pv_unshare_xen_frame(&env_mm, XEN_FIRST), -EBUSY);
    audit_ok();
    assert_int_equal(unpin(2), 0);
    assert_int_equal(pv_unshare_xen_frame(&env_mm, XEN_FIRST), 0);
    assert_null(env_frames[XEN_FIRST].owner);
    /* Shared read-only: writable mappings refused. */
    assert_int_equal(pv_share_xen_frame(&env_mm, XEN_FIRST + 1, false), 0);
    env_page(2)[0] = pte(XEN_FIRST + 1, RW);
    assert_int_equal(pin(2, 1), -EBUSY);
    env_page(2)[0] = pte(XEN_FIRST + 1, RO);
    assert_int_equal(pin(2, 1), 0);
    audit_ok();
    torn_down_ok();                                /* teardown unshares it */
    assert_null(env_frames[XEN_FIRST + 1].owner);
}

static void test_type_count_overflow(void **state)
{
    uint64_t saved;

    /* Frame 3 already carries the largest type count there is: one more
       writable mapping must be refused, not wrapped to zero. */
    env_frames[3].type_info = PGT_writable_page | PGT_validated | PGT_count_mask;
    env_page(2)[0] = pte(3, RW);
    assert_int_equal(pin(2, 1), -EBUSY);
    assert_int_equal(env_frames[3].type_info & PGT_count_mask, PGT_count_mask);
    assert_int_equal(gcount(3), 1);
    assert_int_equal(tcount(2), 0);

    /* One below: the last reference fits, the next one does not. */
    env_frames[3].type_info = PGT_writable_page | PGT_validated | (PGT_count_mask - 1);
    assert_int_equal(pin(2, 1), 0);
    assert_int_equal(tcount(3), PGT_count_mask);
    assert_int_equal(mmu1(2, 1, pte(3, RW)), -EBUSY);
    assert_int_equal(unpin(2), 0);
    assert_int_equal(tcount(3), PGT_count_mask - 1);

    /* Through a chain: an L2 naming an L1 whose type count is full. */
    assert_int_equal(pin(4, 1), 0);
    saved = env_frames[4].type_info;
    env_frames[4].type_info = (saved & ~PGT_count_mask) | PGT_count_mask;
    env_page(5)[0] = pte(4, RO);
    assert_int_equal(pin(5, 2), -EINVAL);
    assert_int_equal(tcount(5), 0);
    env_frames[4].type_info = saved;

    /* The general count too: the top values are never handed out. */
    env_frames[6].count_info = (env_frames[6].count_info & ~PGC_count_mask) | (PGC_count_mask - 1);
    env_page(2)[0] = pte(6, RO);
    assert_int_equal(pin(2, 1), -EBUSY);
    assert_int_equal(gcount(6), PGC_count_mask - 1);
    env_frames[6].count_info = (env_frames[6].count_info & ~PGC_count_mask) | 1;
    env_frames[3].type_info = 0;
    audit_ok();
}

static void test_pinned_type_cannot_change(void **state)
{
    assert_int_equal(pin(2, 1), 0);
    env_page(3)[0] = pte(2, RW);                 /* a writable mapping of it */
    assert_int_equal(pin(3, 1), -EBUSY);
    assert_int_equal(pin(2, 2), -EINVAL);
    assert_int_equal(baseptr(2), -EINVAL);
    assert_int_equal(ext1(MMUEXT_CLEAR_PAGE, 2, 0), -EINVAL);
    assert_int_equal(ttype(2), PGT_l1_page_table);
    assert_true(pinned(2));
    audit_ok();
    /* Once unpinned (count 0) the frame may change type. */
    assert_int_equal(unpin(2), 0);
    assert_int_equal(pin(3, 1), 0);
    assert_int_equal(ttype(2), PGT_writable_page);
    audit_ok();
    torn_down_ok();
}

static void test_disallowed_bits(void **state)
{
    static const uint64_t l1_bad[] = { PTE_PCD, PTE_PWT, PV_PTE_PAT, PV_PTE_GNTTAB };
    static const uint64_t upper_bad[] = { PTE_PS, PTE_G, PTE_PCD, PTE_PWT };

    for (unsigned int i = 0; i < ARRAY_SIZE(l1_bad); i++) {
        env_page(2)[0] = pte(3, RO | l1_bad[i]);
        assert_int_equal(pin(2, 1), -EINVAL);
    }
    for (unsigned int level = 2; level <= 4; level++)
        for (unsigned int i = 0; i < ARRAY_SIZE(upper_bad); i++) {
            memset(env_page(2), 0, PAGE_SIZE);
            env_page(2)[1] = pte(4, RO | upper_bad[i]);
            assert_int_equal(pin(2, level), -EINVAL);
            assert_int_equal(tcount(2), 0);
        }
    /* Software bits, A/D, NX and G (dropped) are the guest's business. */
    memset(env_page(2), 0, PAGE_SIZE);
    env_page(2)[0] = pte(3, RW | PTE_A | PTE_D | PV_PTE_AVAIL | PTE_NX | PTE_G | (1ULL << 52));
    assert_int_equal(pin(2, 1), 0);
    assert_false(env_page(2)[0] & PTE_G);
    assert_true(env_page(2)[0] & PTE_NX);
    assert_int_equal(unpin(2), 0);
    /* Without NX on the CPU, bit 63 is reserved. */
    assert_int_equal(pv_mm_init(&env_mm, DOM_A, DOMID_A, 1, &env_ops, 0), 0);
    assert_int_equal(pin(2, 1), -EINVAL);
    audit_ok();
}

/* L4 10 -> L3 11 -> L2 12 -> L1 13 -> data 20 (RW) and 21 (RO). */
static void build_tree(void)
{
    env_page(10)[0] = pte(11, RW);
    env_page(11)[0] = pte(12, RW);
    env_page(12)[0] = pte(13, RW);
    env_page(12)[1] = pte(13, RW);               /* shared twice */
    env_page(13)[0] = pte(20, RW);
    env_page(13)[1] = pte(21, RO);
}

static void test_tree_and_teardown(void **state)
{
    build_tree();
    assert_int_equal(pin(10, 4), 0);
    assert_int_equal(ttype(11), PGT_l3_page_table);
    assert_int_equal(ttype(12), PGT_l2_page_table);
    assert_int_equal(ttype(13), PGT_l1_page_table);
    assert_int_equal(tcount(13), 2);
    assert_int_equal(ttype(20), PGT_writable_page);
    assert_true(env_page(10)[0] & PTE_A);
    assert_int_equal(env_mm.stats.validations, 4);
    assert_int_equal(baseptr(10), 0);
    assert_int_equal(env_cb.load_cr3, 1);
    assert_int_equal(tcount(10), 2);
    assert_int_equal(pin(13, 1), 0);              /* already an L1: just pinned */
    audit_ok();
    /* Teardown with pins and base pointers in place. */
    torn_down_ok();
    assert_int_equal(env_mm.stats.devalidations, 4);
    assert_int_equal(env_released, A_LAST - A_FIRST + 1);
    assert_int_equal(pin(10, 4), -EINVAL);        /* a dead domain does nothing */
}

static void test_validation_failure_rolls_back(void **state)
{
    env_page(13)[0] = pte(20, RW);
    env_page(12)[0] = pte(13, RW);               /* valid */
    env_page(12)[5] = pte(B_FIRST, RW);          /* another domain's */
    assert_int_equal(pin(12, 2), -EINVAL);
    assert_int_equal(tcount(12), 0);
    assert_int_equal(tcount(13), 0);
    assert_false(validated(13));
    assert_int_equal(tcount(20), 0);
    assert_int_equal(gcount(20), 1);
    audit_ok();
    /* Deeper: the failure is in an L1 three levels down. */
    env_page(12)[5] = 0;
    env_page(13)[9] = pte(13, RW);
    build_tree();
    env_page(13)[9] = pte(13, RW);
    assert_int_equal(pin(10, 4), -EBUSY);
    for (mfn_t m = 10; m <= 21; m++)
        assert_int_equal(tcount(m), 0);
    audit_ok();
}

static void test_linear_l4(void **state)
{
    /* A self-map: allowed read-only, holds no reference. */
    env_page(10)[300] = pte(10, RO);
    assert_int_equal(pin(10, 4), 0);
    assert_int_equal(tcount(10), 1);
    assert_int_equal(gcount(10), 2);
    assert_int_equal(unpin(10), 0);
    env_page(10)[300] = pte(10, RW);
    assert_int_equal(pin(10, 4), -EINVAL);
    assert_int_equal(mmu1(10, 301, pte(10, RW)), 0);  /* not live: a plain write */
    assert_int_equal(ttype(10), PGT_writable_page);
    env_page(10)[300] = env_page(10)[301] = 0;

    /* Another validated L4, read-only: one general and one type reference. */
    assert_int_equal(pin(14, 4), 0);
    env_page(10)[1] = pte(14, RO);
    assert_int_equal(pin(10, 4), 0);
    assert_int_equal(tcount(14), 2);
    assert_int_equal(env_linear[10], 1);
    assert_int_equal(env_linear[14], -1);
    assert_int_equal(mmu1(10, 2, pte(14, RW)), -EINVAL);
    /* No chains: 14 is named linearly, so it may not name another... */
    assert_int_equal(pin(15, 4), 0);
    assert_int_equal(mmu1(14, 3, pte(15, RO)), -EINVAL);
    /* ... and 10, which holds a linear entry, may not be named. */
    assert_int_equal(mmu1(15, 3, pte(10, RO)), -EINVAL);
    /* A frame that is not a live L4 is tried as an L3 first (as Xen):
       an empty one becomes one. */
    assert_int_equal(mmu1(10, 4, pte(16, RO)), 0);
    assert_int_equal(ttype(16), PGT_l3_page_table);
    assert_int_equal(env_linear[16], 0);
    audit_ok();
    /* Dropping the referring table releases the target's extra count. */
    assert_int_equal(mmu1(10, 1, 0), 0);
    assert_int_equal(tcount(14), 1);
    assert_int_equal(env_linear[10], 0);
    assert_int_equal(env_linear[14], 0);
    assert_int_equal(mmu1(10, 1, pte(14, RO)), 0);
    audit_ok();
    torn_down_ok();
}

static void test_linear_lower_levels(void **state)
{
    /* Xen allows the same at L2 and L3: an L2 entry naming an L2. */
    assert_int_equal(pin(12, 2), 0);
    env_page(16)[0] = pte(12, RO);
    env_page(16)[1] = pte(16, RO);
    assert_int_equal(pin(16, 2), 0);
    assert_int_equal(tcount(12), 2);
    assert_int_equal(unpin(16), 0);
    assert_int_equal(tcount(12), 1);
    assert_int_equal(env_linear[12], 0);
    audit_ok();
    torn_down_ok();
}

static void test_hypervisor_l4_slots(void **state)
{
    /* Whatever the guest leaves in slots 256-271 is ignored, then
       replaced by the hypervisor's entries. */
    for (unsigned int i = PV_L4_XEN_FIRST; i <= PV_L4_XEN_LAST; i++)
        env_page(10)[i] = pte(B_FIRST, RW);
    env_page(10)[255] = pte(11, RW);
    env_page(10)[272] = pte(11, RW);
    assert_int_equal(pin(10, 4), 0);
    for (unsigned int i = 0; i < PV_L4_XEN_SLOTS; i++)
        assert_int_equal(env_page(10)[PV_L4_XEN_FIRST + i], env_xen_slot(i));
    assert_int_equal(tcount(11), 2);
    /* Updates of those slots are refused, their neighbours are not. */
    for (unsigned int i = PV_L4_XEN_FIRST; i <= PV_L4_XEN_LAST; i++) {
        assert_int_equal(mmu1(10, i, 0), -EINVAL);
        assert_int_equal(mmu1(10, i, pte(12, RO)), -EINVAL);
    }
    assert_int_equal(env_page(10)[PV_L4_XEN_FIRST], env_xen_slot(0));
    assert_int_equal(mmu1(10, 255, 0), 0);
    assert_int_equal(mmu1(10, 272, 0), 0);
    assert_int_equal(tcount(11), 0);
    audit_ok();
    torn_down_ok();
    /* Teardown did not "drop" the hypervisor's entries as guest ones. */
    assert_int_equal(pv_mm_bugs, 0);
}

static void test_type_change_flushes(void **state)
{
    env_page(2)[0] = pte(3, RW);
    assert_int_equal(pin(2, 1), 0);
    assert_int_equal(env_cb.flush_stale, 0);      /* none -> L1, none -> writable */
    assert_int_equal(unpin(2), 0);
    env_page(4)[0] = pte(2, RW);                 /* L1 -> writable */
    assert_int_equal(pin(4, 1), 0);
    assert_int_equal(env_cb.flush_stale, 1);
    assert_int_equal(mmu1(4, 0, 0), 0);
    assert_int_equal(pin(2, 1), 0);               /* writable -> L1 */
    assert_int_equal(env_cb.flush_stale, 2);
    assert_int_equal(env_mm.stats.type_changes, 2);
    /* A failed validation keeps the type it tried (count 0), so the next
       change of type still flushes. */
    env_page(6)[0] = pte(B_FIRST, RO);
    assert_int_equal(pin(6, 1), -EBUSY);
    assert_int_equal(ttype(6), PGT_l1_page_table);
    assert_int_equal(tcount(6), 0);
    assert_false(validated(6));
    assert_int_equal(mmu1(4, 1, pte(6, RW)), 0);
    assert_int_equal(env_cb.flush_stale, 3);
    audit_ok();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_pin_l1_counts, setup),
        cmocka_unit_test_setup(test_table_maps_itself_writable, setup),
        cmocka_unit_test_setup(test_type_confusion, setup),
        cmocka_unit_test_setup(test_foreign_and_hypervisor_frames, setup),
        cmocka_unit_test_setup(test_type_count_overflow, setup),
        cmocka_unit_test_setup(test_pinned_type_cannot_change, setup),
        cmocka_unit_test_setup(test_disallowed_bits, setup),
        cmocka_unit_test_setup(test_tree_and_teardown, setup),
        cmocka_unit_test_setup(test_validation_failure_rolls_back, setup),
        cmocka_unit_test_setup(test_linear_l4, setup),
        cmocka_unit_test_setup(test_linear_lower_levels, setup),
        cmocka_unit_test_setup(test_hypervisor_l4_slots, setup),
        cmocka_unit_test_setup(test_type_change_flushes, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
