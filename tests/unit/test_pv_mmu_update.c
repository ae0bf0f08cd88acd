/* HYPERVISOR_mmu_update and update_va_mapping on the PV validator: entry
   updates at every level, batches that fail half-way, the fast path, A/D
   preservation, plain writes, M2P updates, foreign domains, the walk and
   the flushes of update_va_mapping. */
/* @sources: pv/page_type.c pv/pt_validate.c pv/mmu_update.c pv/mmuext_op.c pv/update_va_mapping.c pv/mm_domain.c pv/m2p.c */
#include "cmocka_prelude.h"
#include "test_pv_assert.h"

static void test_l1_update_counts(void **state)
{
    assert_int_equal(pin(2, 1), 0);
    assert_int_equal(mmu1(2, 10, pte(3, RW)), 0);
    assert_int_equal(ttype(3), PGT_writable_page);
    assert_int_equal(tcount(3), 1);
    assert_int_equal(env_page(2)[10], pte(3, RW | PTE_US));
    assert_int_equal(mmu1(2, 10, pte(3, RO)), 0);     /* RW -> RO: slow path */
    assert_int_equal(tcount(3), 0);
    assert_int_equal(gcount(3), 2);
    assert_int_equal(mmu1(2, 10, pte(4, RO)), 0);     /* another frame */
    assert_int_equal(gcount(3), 1);
    assert_int_equal(gcount(4), 2);
    assert_int_equal(mmu1(2, 10, 0), 0);
    assert_int_equal(gcount(4), 1);
    audit_ok();
    torn_down_ok();
}

static void test_live_l1_not_writable(void **state)
{
    assert_int_equal(pin(2, 1), 0);
    assert_int_equal(pin(3, 1), 0);
    assert_int_equal(mmu1(3, 0, pte(2, RW)), -EBUSY);
    assert_int_equal(env_page(3)[0], 0);
    assert_int_equal(mmu1(3, 0, pte(2, RO)), 0);
    /* ... nor by upgrading an existing read-only mapping. */
    assert_int_equal(mmu1(3, 0, pte(2, RW)), -EBUSY);
    assert_int_equal(env_page(3)[0], pte(2, RO | PTE_US));
    /* The same through the tree: an L2 naming the L1 in use... */
    env_page(5)[0] = pte(2, RW);
    assert_int_equal(pin(5, 2), 0);
    /* ... cannot be made writable after the L1 loses its pin either. */
    assert_int_equal(unpin(2), 0);
    assert_int_equal(mmu1(3, 1, pte(2, RW)), -EBUSY);
    audit_ok();
    torn_down_ok();
}

static void test_batch_partial_failure(void **state)
{
    struct mmu_update reqs[5];
    unsigned int done = 99;

    assert_int_equal(pin(2, 1), 0);
    reqs[0] = upd(2, 0, pte(3, RW));
    reqs[1] = upd(2, 1, pte(4, RO));
    reqs[2] = upd(2, 2, pte(B_FIRST, RO));          /* not ours */
    reqs[3] = upd(2, 3, pte(5, RW));
    reqs[4] = upd(2, 4, pte(6, RW));
    assert_int_equal(pv_mmu_update(&env_mm, 0, reqs, 5, &done, DOMID_SELF), -EBUSY);
    assert_int_equal(done, 2);
    assert_true(env_page(2)[0] & PTE_P);
    assert_true(env_page(2)[1] & PTE_P);
    assert_int_equal(env_page(2)[2], 0);
    assert_int_equal(env_page(2)[3], 0);
    assert_int_equal(tcount(5), 0);
    assert_non_null(env_mm.why);
    /* The glue re-issues the rest after the failed one. */
    assert_int_equal(pv_mmu_update(&env_mm, 0, reqs + 3, 2, &done, DOMID_SELF), 0);
    assert_int_equal(done, 2);
    assert_int_equal(pv_mmu_update(&env_mm, 0, reqs, 0, &done, DOMID_SELF), 0);
    assert_int_equal(done, 0);
    audit_ok();
    torn_down_ok();
}

static void test_fast_path_and_preserve_ad(void **state)
{
    struct mmu_update u;
    unsigned int done;
    uint64_t vals = env_mm.stats.validations;

    assert_int_equal(pin(2, 1), 0);
    assert_int_equal(mmu1(2, 0, pte(3, RW)), 0);
    /* Only flags that change no reference: counts untouched. */
    assert_int_equal(mmu1(2, 0, pte(3, RW | PTE_NX | PTE_A | PV_PTE_AVAIL | (3ULL << 52))), 0);
    assert_int_equal(tcount(3), 1);
    assert_int_equal(gcount(3), 2);
    assert_true(env_page(2)[0] & PTE_NX);
    /* The CPU set A and D meanwhile; PRESERVE_AD keeps them. */
    env_page(2)[0] |= PTE_A | PTE_D;
    u = upd(2, 0, pte(3, RW));
    u.ptr += MMU_PT_UPDATE_PRESERVE_AD;
    assert_int_equal(pv_mmu_update(&env_mm, 0, &u, 1, &done, DOMID_SELF), 0);
    assert_int_equal(env_page(2)[0] & (PTE_A | PTE_D), PTE_A | PTE_D);
    assert_int_equal(mmu1(2, 0, pte(3, RW)), 0);
    assert_int_equal(env_page(2)[0] & (PTE_A | PTE_D), 0);
    /* A disallowed bit is refused even where nothing else changes. */
    assert_int_equal(mmu1(2, 0, pte(3, RW | PTE_PCD)), -EINVAL);
    assert_int_equal(env_mm.stats.validations, vals + 1);
    audit_ok();
}

static void test_upper_levels(void **state)
{
    assert_int_equal(pin(10, 4), 0);
    env_page(13)[0] = pte(20, RW);
    assert_int_equal(mmu1(10, 0, pte(11, RW)), 0);     /* L4 -> new L3 */
    assert_int_equal(ttype(11), PGT_l3_page_table);
    assert_int_equal(mmu1(11, 0, pte(12, RW)), 0);
    assert_int_equal(mmu1(12, 0, pte(13, RW)), 0);     /* validates the L1 */
    assert_int_equal(ttype(20), PGT_writable_page);
    assert_int_equal(mmu1(12, 0, pte(13, RW | PTE_PS)), -EINVAL);   /* no superpages */
    assert_int_equal(mmu1(11, 1, pte(12, RW | PTE_PS)), -EINVAL);
    /* Replacing the only reference to a subtree devalidates it. */
    assert_int_equal(mmu1(11, 0, 0), 0);
    assert_int_equal(tcount(12), 0);
    assert_int_equal(tcount(13), 0);
    assert_int_equal(tcount(20), 0);
    assert_int_equal(gcount(20), 1);
    /* Entries of frames that are live as nothing are written as they are
       (a table being prepared); the writer takes a writable type. */
    assert_int_equal(mmu1(13, 5, pte(B_FIRST, RW | PTE_PCD)), 0);
    assert_int_equal(env_page(13)[5], pte(B_FIRST, RW | PTE_PCD));
    assert_int_equal(ttype(13), PGT_writable_page);
    assert_int_equal(tcount(13), 0);
    audit_ok();
    torn_down_ok();
}

static void test_not_a_table(void **state)
{
    assert_int_equal(pv_share_xen_frame(&env_mm, XEN_FIRST, false), 0);
    assert_int_equal(mmu1(XEN_FIRST, 0, 1), -EINVAL);     /* read-only shared */
    assert_int_equal(mmu1(B_FIRST, 0, 0), -EINVAL);       /* not ours */
    assert_int_equal(mmu1(ENV_FRAMES + 3, 0, 0), -EINVAL);
    env_cb.segdesc_rc = 0;
    assert_int_equal(pv_get_segdesc_page(&env_mm, 7), 0);
    assert_int_equal(mmu1(7, 0, 0), -EINVAL);              /* a descriptor page */
    pv_put_segdesc_page(&env_mm, 7);
    audit_ok();
}

static void test_machphys_and_commands(void **state)
{
    struct mmu_update u = { (5ULL << PAGE_SHIFT) + 0x123 * 8 + MMU_MACHPHYS_UPDATE, 0x4242 };
    unsigned int done;

    assert_int_equal(pv_m2p_get(5), PV_M2P_INVALID);
    assert_int_equal(pv_mmu_update(&env_mm, 0, &u, 1, &done, DOMID_SELF), 0);
    assert_int_equal(pv_m2p_get(5), 0x4242);
    u.ptr = (B_FIRST << PAGE_SHIFT) | MMU_MACHPHYS_UPDATE;
    assert_int_equal(pv_mmu_update(&env_mm, 0, &u, 1, &done, DOMID_SELF), -EINVAL);
    assert_int_equal(pv_m2p_get(B_FIRST), PV_M2P_INVALID);
    u.ptr = (70ULL << PAGE_SHIFT) | MMU_MACHPHYS_UPDATE;
    assert_int_equal(pv_mmu_update(&env_mm, 0, &u, 1, &done, DOMID_SELF), -EINVAL);
    for (unsigned int cmd = 4; cmd < 8; cmd++) {
        u.ptr = (5ULL << PAGE_SHIFT) | cmd;
        assert_int_equal(pv_mmu_update(&env_mm, 0, &u, 1, &done, DOMID_SELF), -ENOSYS);
    }
    /* MMU_PT_UPDATE_NO_TRANSLATE is a normal update for PV. */
    assert_int_equal(pin(2, 1), 0);
    u = upd(2, 3, pte(3, RO));
    u.ptr |= MMU_PT_UPDATE_NO_TRANSLATE;
    assert_int_equal(pv_mmu_update(&env_mm, 0, &u, 1, &done, DOMID_SELF), 0);
    assert_int_equal(gcount(3), 2);
    assert_int_equal(pv_mmu_update(&env_mm, 5, &u, 1, &done, DOMID_SELF), -EINVAL);
    audit_ok();
}

static void test_foreign_domains(void **state)
{
    struct mmu_update u = upd(2, 0, 0);
    static const struct { unsigned int fd; int rc; } cases[] = {
        { DOMID_SELF, 0 },
        { ((DOMID_A + 1) << 16) | DOMID_SELF, 0 },   /* ourselves as PT owner */
        { ((DOMID_B + 1) << 16) | DOMID_SELF, -EPERM },
        { (100u << 16) | DOMID_SELF, -ESRCH },
        { DOMID_B, -EPERM },
        { DOMID_A, -ESRCH },                         /* naming itself */
        { 9, -ESRCH },
        { DOMID_IO, -EPERM },
        { DOMID_XEN, -ESRCH },
    };
    unsigned int done;

    for (unsigned int i = 0; i < ARRAY_SIZE(cases); i++) {
        done = 77;
        assert_int_equal(pv_mmu_update(&env_mm, 0, &u, 1, &done, cases[i].fd), cases[i].rc);
        assert_int_equal(done, cases[i].rc ? 0 : 1);
    }
}

/* update_va_mapping: L4 10 -> L3 11 -> L2 12 -> L1 13 for va 0, and a
   self-map in L4 slot 510. */
#define VA(l4, l3, l2, l1) (((uint64_t)(l4) << 39) | ((uint64_t)(l3) << 30) | \
                            ((uint64_t)(l2) << 21) | ((uint64_t)(l1) << 12))

static void build_and_load(void)
{
    env_page(10)[0] = pte(11, RW);
    env_page(10)[510] = pte(10, RO);
    env_page(11)[0] = pte(12, RW);
    env_page(12)[0] = pte(13, RW);
    assert_int_equal(pin(10, 4), 0);
    assert_int_equal(baseptr(10), 0);
}

static void test_update_va_mapping(void **state)
{
    build_and_load();
    assert_int_equal(pv_update_va_mapping(&env_mm, 0, VA(0, 0, 0, 7) + 0x123, pte(20, RW),
                                          UVMF_NONE), 0);
    assert_int_equal(env_page(13)[7], pte(20, RW | PTE_US));
    assert_int_equal(ttype(20), PGT_writable_page);
    assert_int_equal(env_cb.flush_tlb + env_cb.invlpg, 0);

    assert_int_equal(pv_update_va_mapping(&env_mm, 1, VA(0, 0, 0, 7), pte(20, RO),
                                          UVMF_INVLPG | UVMF_LOCAL), -EINVAL);  /* vCPU 1: no L4 */
    assert_int_equal(pv_update_va_mapping(&env_mm, 0, VA(0, 0, 0, 7), pte(20, RO),
                                          UVMF_INVLPG | UVMF_LOCAL), 0);
    assert_int_equal(env_cb.invlpg, 1);
    assert_int_equal(env_cb.last_mask, 1);
    assert_int_equal(env_cb.last_va, VA(0, 0, 0, 7));
    assert_int_equal(tcount(20), 0);
    assert_int_equal(pv_update_va_mapping(&env_mm, 0, VA(0, 0, 0, 8), pte(21, RW),
                                          UVMF_TLB_FLUSH | UVMF_ALL), 0);
    assert_int_equal(env_cb.flush_tlb, 1);
    assert_int_equal(env_cb.last_mask, 3);
    env_cb.vcpumask = 0xff;
    assert_int_equal(pv_update_va_mapping(&env_mm, 0, VA(0, 0, 0, 8), pte(21, RW),
                                          UVMF_TLB_FLUSH | 0x7000), 0);
    assert_int_equal(env_cb.last_mask, 3);                  /* only vCPUs that exist */
    assert_int_equal(pv_update_va_mapping(&env_mm, 0, VA(0, 0, 0, 8), pte(21, RO),
                                          UVMF_INVLPG | 0xbad0), -EFAULT);
    assert_int_equal(tcount(21), 0);                        /* the update itself happened */
    audit_ok();
}

static void test_update_va_mapping_refusals(void **state)
{
    unsigned int flushes;

    assert_int_equal(pv_update_va_mapping(&env_mm, 0, 0, 0, UVMF_NONE), -EINVAL);  /* no L4 */
    build_and_load();
    flushes = env_cb.flush_tlb + env_cb.invlpg;
    /* No L2 entry for this address: the L1 entry does not exist. */
    assert_int_equal(pv_update_va_mapping(&env_mm, 0, VA(0, 0, 1, 0), pte(20, RO),
                                          UVMF_TLB_FLUSH | UVMF_ALL), -EINVAL);
    assert_int_equal(pv_update_va_mapping(&env_mm, 0, VA(0, 1, 0, 0), 0, UVMF_NONE), -EINVAL);
    /* The hypervisor hole and non-canonical addresses. */
    assert_int_equal(pv_update_va_mapping(&env_mm, 0, 0xffff800000000000ULL, 0, UVMF_NONE), -EINVAL);
    assert_int_equal(pv_update_va_mapping(&env_mm, 0, 0x0000800000000000ULL, 0, UVMF_NONE), -EINVAL);
    /* Through the self-map the walk ends in the L2, not an L1. */
    assert_int_equal(pv_update_va_mapping(&env_mm, 0, 0xffff000000000000ULL | VA(510, 0, 0, 0),
                                          pte(20, RO), UVMF_NONE), -EINVAL);
    /* The entry is checked as any L1 entry: a live table stays read-only. */
    assert_int_equal(pv_update_va_mapping(&env_mm, 0, VA(0, 0, 0, 3), pte(12, RW),
                                          UVMF_INVLPG | UVMF_ALL), -EBUSY);
    assert_int_equal(pv_update_va_mapping(&env_mm, 0, VA(0, 0, 0, 3), pte(B_FIRST, RO),
                                          UVMF_INVLPG | UVMF_ALL), -EBUSY);
    assert_int_equal(env_cb.flush_tlb + env_cb.invlpg, flushes);   /* no flush on failure */
    audit_ok();
    torn_down_ok();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_l1_update_counts, setup),
        cmocka_unit_test_setup(test_live_l1_not_writable, setup),
        cmocka_unit_test_setup(test_batch_partial_failure, setup),
        cmocka_unit_test_setup(test_fast_path_and_preserve_ad, setup),
        cmocka_unit_test_setup(test_upper_levels, setup),
        cmocka_unit_test_setup(test_not_a_table, setup),
        cmocka_unit_test_setup(test_machphys_and_commands, setup),
        cmocka_unit_test_setup(test_foreign_domains, setup),
        cmocka_unit_test_setup(test_update_va_mapping, setup),
        cmocka_unit_test_setup(test_update_va_mapping_refusals, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
