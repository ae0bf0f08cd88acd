/* HYPERVISOR_mmuext_op on the PV validator: pin and unpin, base pointers,
   flushes, the LDT, clear/copy, refused and unknown commands, batches that
   fail half-way, descriptor pages and frames given back. */
/* @sources: pv/page_type.c pv/pt_validate.c pv/mmu_update.c pv/mmuext_op.c pv/update_va_mapping.c pv/mm_domain.c pv/m2p.c */
#include "cmocka_prelude.h"
#include "test_pv_assert.h"

static int op(unsigned int vcpu, const struct mmuext_op *o)
{
    unsigned int done;

    return pv_mmuext_op(&env_mm, vcpu, o, 1, &done, DOMID_SELF);
}

static void test_pin_unpin_unpin(void **state)
{
    for (unsigned int level = 1; level <= 4; level++) {
        mfn_t m = 1 + level;

        assert_int_equal(pin(m, level), 0);
        assert_int_equal(pin(m, level), -EINVAL);
        assert_int_equal(unpin(m), 0);
        assert_int_equal(unpin(m), -EINVAL);
        assert_int_equal(tcount(m), 0);
        assert_int_equal(gcount(m), 1);
    }
    assert_int_equal(unpin(B_FIRST), -EINVAL);
    assert_int_equal(unpin(ENV_FRAMES), -EINVAL);
    assert_int_equal(unpin(20), -EINVAL);          /* ours, never pinned */
    /* A frame that is a live table through an entry, but not pinned. */
    env_page(3)[0] = pte(4, RO);
    assert_int_equal(pin(3, 2), 0);
    assert_int_equal(unpin(4), -EINVAL);
    assert_int_equal(tcount(4), 1);
    audit_ok();
    torn_down_ok();
}

static void test_baseptrs(void **state)
{
    env_page(11)[1] = pte(11, RO);                /* a self-map, for realism */
    assert_int_equal(baseptr(10), 0);             /* validates an empty L4 */
    assert_int_equal(env_mm.vcpu[0].kernel_l4, 10);
    assert_int_equal(env_cb.load_cr3, 1);
    assert_int_equal(tcount(10), 1);
    assert_int_equal(baseptr(10), 0);             /* the same: reload only */
    assert_int_equal(env_cb.load_cr3, 2);
    assert_int_equal(tcount(10), 1);
    assert_int_equal(user_baseptr(11), 0);
    assert_int_equal(ttype(11), PGT_l4_page_table);
    assert_int_equal(env_mm.vcpu[0].user_l4, 11);
    /* Switching drops the old one, which devalidates. */
    assert_int_equal(baseptr(12), 0);
    assert_int_equal(tcount(10), 0);
    assert_false(validated(10));
    assert_int_equal(user_baseptr(0), 0);        /* none */
    assert_int_equal(env_mm.vcpu[0].user_l4, 0);
    assert_int_equal(tcount(11), 0);
    assert_int_equal(baseptr(0), -EINVAL);
    assert_int_equal(env_mm.vcpu[0].kernel_l4, 12);
    /* Not an L4 candidate. */
    assert_int_equal(pin(13, 1), 0);
    assert_int_equal(baseptr(13), -EINVAL);
    assert_int_equal(user_baseptr(B_FIRST), -EINVAL);
    env_page(14)[0] = pte(B_FIRST, RO);
    assert_int_equal(baseptr(14), -EINVAL);
    assert_int_equal(tcount(14), 0);
    assert_int_equal(env_mm.vcpu[0].kernel_l4, 12);
    /* Per vCPU. */
    {
        struct mmuext_op o = { .cmd = MMUEXT_NEW_BASEPTR, .arg1.mfn = 12 };

        assert_int_equal(op(1, &o), 0);
        assert_int_equal(env_cb.last_vcpu, 1);
        assert_int_equal(tcount(12), 2);
        assert_int_equal(op(2, &o), -EINVAL);     /* no vCPU 2 */
    }
    audit_ok();
    torn_down_ok();
}

static void test_flushes(void **state)
{
    struct mmuext_op o = { 0 };

    o.cmd = MMUEXT_TLB_FLUSH_LOCAL;
    assert_int_equal(op(1, &o), 0);
    assert_int_equal(env_cb.flush_tlb, 1);
    assert_int_equal(env_cb.last_mask, 2);
    o.cmd = MMUEXT_TLB_FLUSH_ALL;
    assert_int_equal(op(0, &o), 0);
    assert_int_equal(env_cb.last_mask, 3);
    o.cmd = MMUEXT_TLB_FLUSH_MULTI;
    env_cb.vcpumask = 0xfe;
    o.arg2.vcpumask.p = (const void *)0x5000;
    assert_int_equal(op(0, &o), 0);
    assert_int_equal(env_cb.last_mask, 2);
    o.arg2.vcpumask.p = (const void *)0xbad0;
    assert_int_equal(op(0, &o), -EINVAL);
    assert_int_equal(env_cb.flush_tlb, 3);

    o.cmd = MMUEXT_INVLPG_LOCAL;
    o.arg1.linear_addr = 0x7000;
    assert_int_equal(op(0, &o), 0);
    assert_int_equal(env_cb.invlpg, 1);
    assert_int_equal(env_cb.last_va, 0x7000);
    assert_int_equal(env_cb.last_mask, 1);
    o.cmd = MMUEXT_INVLPG_ALL;
    o.arg1.linear_addr = 0xffff800000001000ULL;   /* the hole: ignored */
    assert_int_equal(op(0, &o), 0);
    o.arg1.linear_addr = 0x0000800000000000ULL;   /* non-canonical: ignored */
    assert_int_equal(op(0, &o), 0);
    assert_int_equal(env_cb.invlpg, 1);
    o.cmd = MMUEXT_INVLPG_MULTI;
    o.arg1.linear_addr = 0xffff900000000000ULL;
    o.arg2.vcpumask.p = (const void *)0x5000;
    env_cb.vcpumask = 1;
    assert_int_equal(op(0, &o), 0);
    assert_int_equal(env_cb.invlpg, 2);
    assert_int_equal(env_cb.last_va, 0xffff900000000000ULL);
}

static void test_set_ldt(void **state)
{
    struct mmuext_op o = { .cmd = MMUEXT_SET_LDT };
    static const struct { uint64_t base; unsigned int ents; } bad[] = {
        { 0x1001, 1 }, { 0x1000, 8193 }, { 0xffff800000000000ULL, 1 },
        { 0x00007ffffffff000ULL, 1024 },   /* ends beyond the canonical half */
        { 0x0000800000000000ULL, 1 },
    };

    for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++) {
        o.arg1.linear_addr = bad[i].base;
        o.arg2.nr_ents = bad[i].ents;
        assert_int_equal(op(0, &o), -EINVAL);
    }
    assert_int_equal(env_cb.set_ldt, 0);
    o.arg1.linear_addr = 0xffff880000010000ULL;
    o.arg2.nr_ents = 8192;
    assert_int_equal(op(1, &o), 0);
    assert_int_equal(env_cb.set_ldt, 1);
    assert_int_equal(env_mm.vcpu[1].ldt_base, 0xffff880000010000ULL);
    assert_int_equal(env_mm.vcpu[1].ldt_ents, 8192);
    assert_int_equal(op(1, &o), 0);               /* unchanged: nothing to do */
    assert_int_equal(env_cb.set_ldt, 1);
    o.arg1.linear_addr = 0x1001;                  /* ignored with 0 entries */
    o.arg2.nr_ents = 0;
    assert_int_equal(op(1, &o), 0);
    assert_int_equal(env_mm.vcpu[1].ldt_base, 0);
    assert_int_equal(env_cb.set_ldt, 2);
}

static void test_unknown_and_refused(void **state)
{
    static const struct { unsigned int cmd; int rc; } cases[] = {
        { 14, -ENOSYS }, { 21, -ENOSYS }, { 0xffffffff, -ENOSYS },
        { MMUEXT_MARK_SUPER, -EOPNOTSUPP }, { MMUEXT_UNMARK_SUPER, -EOPNOTSUPP },
        { MMUEXT_FLUSH_CACHE, -EACCES }, { MMUEXT_FLUSH_CACHE_GLOBAL, -EINVAL },
    };
    struct mmuext_op o = { 0 };
    unsigned int done = 5;

    for (unsigned int i = 0; i < ARRAY_SIZE(cases); i++) {
        o.cmd = cases[i].cmd;
        assert_int_equal(op(0, &o), cases[i].rc);
    }
    o.cmd = MMUEXT_TLB_FLUSH_LOCAL;
    assert_int_equal(pv_mmuext_op(&env_mm, 0, &o, 1, &done, DOMID_B), -EPERM);
    assert_int_equal(done, 0);
    assert_int_equal(pv_mmuext_op(&env_mm, 0, &o, 1, &done, 33), -ESRCH);
    assert_int_equal(pv_mmuext_op(&env_mm, 0, &o, 1, &done, DOMID_A), -ESRCH);
    assert_int_equal(env_cb.flush_tlb, 0);
}

static void test_batch_partial_failure(void **state)
{
    struct mmuext_op o[4];
    unsigned int done = 99;

    memset(o, 0, sizeof(o));
    o[0].cmd = MMUEXT_PIN_L1_TABLE;
    o[0].arg1.mfn = 2;
    o[1].cmd = MMUEXT_PIN_L2_TABLE;
    o[1].arg1.mfn = 3;
    o[2].cmd = MMUEXT_PIN_L2_TABLE;
    o[2].arg1.mfn = 2;                            /* already an L1 */
    o[3].cmd = MMUEXT_PIN_L3_TABLE;
    o[3].arg1.mfn = 4;
    assert_int_equal(pv_mmuext_op(&env_mm, 0, o, 4, &done, DOMID_SELF), -EINVAL);
    assert_int_equal(done, 2);
    assert_true(pinned(2) && pinned(3));
    assert_false(pinned(4));
    assert_int_equal(tcount(4), 0);
    audit_ok();
    torn_down_ok();
}

static void test_clear_copy(void **state)
{
    memset(env_page(5), 0xab, PAGE_SIZE);
    env_page(5)[0] = 0x1122334455667788ULL;
    assert_int_equal(ext1(MMUEXT_COPY_PAGE, 6, 5), 0);
    assert_memory_equal(env_page(5), env_page(6), PAGE_SIZE);
    assert_int_equal(ext1(MMUEXT_CLEAR_PAGE, 5, 0), 0);
    assert_int_equal(env_page(5)[0], 0);
    assert_int_equal(env_page(5)[511], 0);
    assert_int_equal(tcount(5), 0);
    assert_int_equal(ext1(MMUEXT_COPY_PAGE, 6, B_FIRST), -EINVAL);
    assert_int_equal(ext1(MMUEXT_CLEAR_PAGE, B_FIRST, 0), -EINVAL);
    assert_int_equal(pin(7, 1), 0);
    assert_int_equal(ext1(MMUEXT_CLEAR_PAGE, 7, 0), -EINVAL);       /* a live table */
    assert_int_equal(ext1(MMUEXT_COPY_PAGE, 8, 7), 0);              /* reading it is fine */
    assert_int_equal(ext1(MMUEXT_COPY_PAGE, 7, 8), -EINVAL);
    audit_ok();
}

static void test_segdesc_pages(void **state)
{
    env_cb.segdesc_rc = -EINVAL;
    assert_int_equal(pv_get_segdesc_page(&env_mm, 9), -EINVAL);
    assert_int_equal(tcount(9), 0);
    env_cb.segdesc_rc = 0;
    assert_int_equal(pv_get_segdesc_page(&env_mm, 9), 0);
    assert_int_equal(ttype(9), PGT_seg_desc_page);
    /* A descriptor page in use can be mapped read-only, not writable. */
    env_page(2)[0] = pte(9, RW);
    assert_int_equal(pin(2, 1), -EBUSY);
    env_page(2)[0] = pte(9, RO);
    assert_int_equal(pin(2, 1), 0);
    assert_int_equal(pv_get_segdesc_page(&env_mm, B_FIRST), -EINVAL);
    pv_put_segdesc_page(&env_mm, 9);
    assert_int_equal(tcount(9), 0);
    assert_int_equal(gcount(9), 2);
    assert_int_equal(pv_mm_bugs, 0);
    audit_ok();
    torn_down_ok();
}

static void test_release_frame(void **state)
{
    env_page(2)[0] = pte(3, RO);
    assert_int_equal(pin(2, 1), 0);
    assert_int_equal(pv_mm_release_frame(&env_mm, 3), 0);
    assert_int_equal(pv_mm_release_frame(&env_mm, 3), -EINVAL);   /* once */
    assert_ptr_equal(env_frames[3].owner, DOM_A);                 /* still mapped */
    assert_int_equal(env_released, 0);
    assert_int_equal(unpin(2), 0);
    assert_int_equal(env_released, 1);
    assert_null(env_frames[3].owner);
    assert_int_equal(pv_mm_release_frame(&env_mm, B_FIRST), -EINVAL);
    assert_int_equal(pv_mm_release_frame(&env_mm, 4), 0);
    assert_int_equal(env_released, 2);
    /* A released frame can no longer be referenced. */
    env_page(2)[0] = pte(4, RO);
    assert_int_equal(pin(2, 1), -EBUSY);
    audit_ok();
    torn_down_ok();
}

static void test_teardown_with_everything(void **state)
{
    struct mmuext_op o = { .cmd = MMUEXT_SET_LDT, .arg1.linear_addr = 0x10000,
                           .arg2.nr_ents = 16 };

    env_page(10)[0] = pte(11, RW);
    env_page(10)[1] = pte(15, RO);                /* linear to another L4 */
    env_page(10)[2] = pte(10, RO);                /* self */
    env_page(11)[0] = pte(12, RW);
    env_page(12)[0] = pte(13, RW);
    env_page(13)[0] = pte(20, RW);
    env_page(13)[1] = pte(13, RO);
    env_page(13)[2] = pte(XEN_FIRST, RW);
    assert_int_equal(pv_share_xen_frame(&env_mm, XEN_FIRST, true), 0);
    assert_int_equal(pin(15, 4), 0);
    assert_int_equal(pin(10, 4), 0);
    assert_int_equal(pin(12, 2), 0);
    assert_int_equal(baseptr(10), 0);
    assert_int_equal(user_baseptr(15), 0);
    assert_int_equal(op(0, &o), 0);
    assert_int_equal(pv_get_segdesc_page(&env_mm, 21), 0);
    env_extra[21]++;
    audit_ok();
    /* A descriptor reference held by the runtime keeps frame 21. */
    assert_int_equal(pv_mm_teardown(&env_mm), 1);
    assert_ptr_equal(env_frames[21].owner, DOM_A);
    assert_int_equal(env_mm.vcpu[0].ldt_ents, 0);
    assert_int_equal(env_cb.set_ldt, 2);
    assert_null(env_frames[XEN_FIRST].owner);
    pv_put_segdesc_page(&env_mm, 21);
    env_extra[21]--;
    assert_null(env_frames[21].owner);
    {
        const char *why = env_audit_torn_down();

        if (why)
            fail_msg("teardown: %s", why);
    }
    assert_int_equal(env_mm.stats.forced, 0);
    assert_int_equal(baseptr(10), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_pin_unpin_unpin, setup),
        cmocka_unit_test_setup(test_baseptrs, setup),
        cmocka_unit_test_setup(test_flushes, setup),
        cmocka_unit_test_setup(test_set_ldt, setup),
        cmocka_unit_test_setup(test_unknown_and_refused, setup),
        cmocka_unit_test_setup(test_batch_partial_failure, setup),
        cmocka_unit_test_setup(test_clear_copy, setup),
        cmocka_unit_test_setup(test_segdesc_pages, setup),
        cmocka_unit_test_setup(test_release_frame, setup),
        cmocka_unit_test_setup(test_teardown_with_everything, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
