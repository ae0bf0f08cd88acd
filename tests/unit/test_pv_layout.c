/* The 64-bit PV initial virtual region (xen.h start_info comment), with hostile inputs. */
/* @sources: hypervisor/dombuild/pv_layout.c hypervisor/lib/string.c */
#include "cmocka_prelude.h"
#include <proxenos/pv.h>

static struct pv_layout l;
static const char *why;

static int lay(uint64_t base, uint64_t ks, uint64_t ke, uint64_t mod, uint64_t pages)
{
    why = NULL;
    return pv_layout(base, ks, ke, mod, pages, &l, &why);
}

static void order_and_alignment(void **s)
{
    (void)s;
    assert_int_equal(lay(0xffffffff80000000ULL, 0xffffffff81000000ULL, 0xffffffff81234567ULL,
                         MiB(3) + 5, 262144), 0);
    assert_int_equal(l.v_start, 0xffffffff80000000ULL);
    assert_int_equal(l.kern_end, 0xffffffff81235000ULL);
    assert_int_equal(l.mod_start, l.kern_end);
    assert_int_equal(l.mod_end, l.mod_start + MiB(3) + 4096);
    assert_int_equal(l.p2m_start, l.mod_end);
    assert_int_equal(l.p2m_end - l.p2m_start, 262144 * 8);
    assert_int_equal(l.si_start, l.p2m_end);
    assert_int_equal(l.pt_start, l.si_start + 4096);
    assert_int_equal(l.stack_start, l.pt_start + l.nr_pt_frames * 4096);
    assert_int_equal(l.stack_end, l.stack_start + 4096);
    assert_int_equal(l.v_end % MiB(4), 0);
    assert_true(l.v_end - l.stack_end >= KiB(512));
    /* L4 + L3 + L2 + one L1 per 2 MiB of the region. */
    assert_int_equal(l.nr_pt_frames, 3 + (l.v_end - l.v_start) / MiB(2));
}

static void small_low_kernel(void **s)
{
    (void)s;
    assert_int_equal(lay(0x400000, 0x400000, 0x407000, 0, 113152), 0);
    assert_int_equal(l.mod_end, l.mod_start);
    assert_int_equal(l.v_end, 0x800000);
    assert_int_equal(l.nr_pt_frames, 5);
}

static void hostile_inputs(void **s)
{
    (void)s;
    /* Unaligned base, kernel below the base, empty kernel. */
    assert_int_equal(lay(0x400001, 0x400001, 0x500000, 0, 4096), -EINVAL);
    assert_int_equal(lay(0x400000, 0x3ff000, 0x500000, 0, 4096), -EINVAL);
    assert_int_equal(lay(0x400000, 0x400000, 0x400000, 0, 4096), -EINVAL);
    /* RAM: none, absurd, or smaller than the region. */
    assert_int_equal(lay(0x400000, 0x400000, 0x500000, 0, 0), -EINVAL);
    assert_int_equal(lay(0x400000, 0x400000, 0x500000, 0, PV_MAX_PAGES + 1), -EINVAL);
    assert_int_equal(lay(0x400000, 0x400000, 0x500000, 0, 512), -ENOSPC);
    assert_non_null(why);
    /* Into the non-canonical gap, into the hypervisor hole, wrapping. */
    assert_int_equal(lay(0x00007fffffc00000ULL, 0x00007fffffc00000ULL, 0x00007fffffff0000ULL,
                         0, 65536), -EINVAL);
    assert_int_equal(lay(0xffff800000000000ULL, 0xffff800000000000ULL, 0xffff800000100000ULL,
                         0, 65536), -EINVAL);
    assert_int_equal(lay(0xffff87ffff000000ULL, 0xffff87ffff000000ULL, 0xffff87ffff100000ULL,
                         0, 65536), -EINVAL);
    assert_int_equal(lay(0xffffffffffc00000ULL, 0xffffffffffc00000ULL, 0xffffffffffd00000ULL,
                         0, 65536), -EINVAL);
    assert_int_equal(lay(0x400000, 0x400000, 0x500000, ~0ULL - 0x1000, 65536), -EINVAL);
    /* Just above the hole is fine. */
    assert_int_equal(lay(0xffff880000000000ULL, 0xffff880000000000ULL, 0xffff880000100000ULL,
                         0, 65536), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(order_and_alignment),
        cmocka_unit_test(small_low_kernel),
        cmocka_unit_test(hostile_inputs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
