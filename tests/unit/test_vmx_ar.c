/* Segment attributes: packed VMCB form <-> VMX access rights. */
/* @sources: vmx/vmx_ar.c */
#include "cmocka_prelude.h"
#include <proxenos/types.h>
#include "../../vmx/vmcs.h"
#include "../../vmx/vmx_ar.h"

/* The PVH entry segments (dombuild/pvh.c) and the reset state. */
static void pvh_and_reset_segments(void **state)
{
    assert_int_equal(vmx_ar_from_attr(0xc9b), 0xc09b);    /* flat 32-bit code */
    assert_int_equal(vmx_ar_from_attr(0xc93), 0xc093);    /* flat 32-bit data */
    assert_int_equal(vmx_ar_from_attr(0x08b), 0x008b);    /* busy 32-bit TSS */
    assert_int_equal(vmx_ar_from_attr(0x082), 0x0082);    /* LDT */
    assert_int_equal(vmx_ar_from_attr(0x29b), 0x209b);    /* 64-bit code: L */
    assert_int_equal(vmx_ar_from_attr(0x093), 0x0093);    /* real-mode data */
}

static void not_present_is_unusable(void **state)
{
    assert_int_equal(vmx_ar_from_attr(0), VMX_AR_UNUSABLE);
    assert_int_equal(vmx_ar_from_attr(0xc13), 0xc013 | VMX_AR_UNUSABLE);
    assert_int_equal(vmx_attr_from_ar(VMX_AR_UNUSABLE | 0xc093), 0xc13);
    assert_int_equal(vmx_attr_from_ar(VMX_AR_UNUSABLE), 0);
}

static void round_trip_every_attr(void **state)
{
    for (uint32_t a = 0; a < 0x1000; a++) {
        uint32_t ar = vmx_ar_from_attr(a);
        assert_int_equal(ar & 0xf00, 0);                   /* reserved bits stay clear */
        assert_int_equal(ar >> 17, 0);
        assert_int_equal(vmx_attr_from_ar(ar), a);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pvh_and_reset_segments),
        cmocka_unit_test(not_present_is_unusable),
        cmocka_unit_test(round_trip_every_attr),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
