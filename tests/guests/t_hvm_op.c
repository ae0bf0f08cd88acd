/*
 * hvm_op: HYPERVISOR_hvm_op as Xen 4.17 serves it to an HVM domain
 * (xen/arch/x86/hvm/hvm.c do_hvm_op): HVM parameters a guest may read and
 * set for itself, HVMOP_get_time, the per-vCPU upcall vector, and the
 * errors: index >= HVM_NR_PARAMS -EINVAL (checked before the domain), an
 * unknown domain -ESRCH, unreadable arguments -EFAULT, unknown ops -ENOSYS.
 */
#include "common.h"

TEST_GUEST("hvm_op", NEEDS_XEN, "HYPERVISOR_hvm_op: parameters, time, upcall vector, bad arguments");

static long get_param(domid_t dom, uint32_t index, uint64_t *value)
{
    struct xen_hvm_param p = { .domid = dom, .index = index, .value = 0xdeadbeefULL };
    long rc = HYPERVISOR_hvm_op(HVMOP_get_param, &p);
    *value = p.value;
    return rc;
}

static long set_param(domid_t dom, uint32_t index, uint64_t value)
{
    struct xen_hvm_param p = { .domid = dom, .index = index, .value = value };
    return HYPERVISOR_hvm_op(HVMOP_set_param, &p);
}

static void test_params(void)
{
    uint64_t v;
    long rc = get_param(DOMID_SELF, HVM_PARAM_CALLBACK_IRQ, &v);
    check(rc == 0 && v == 0, "get HVM_PARAM_CALLBACK_IRQ -> %ld, %#lx (none set yet)", rc, v);

    uint64_t via = ((uint64_t)HVM_PARAM_CALLBACK_TYPE_VECTOR << 56) | 0xf3;
    check_rc("set HVM_PARAM_CALLBACK_IRQ to vector 0xf3", set_param(DOMID_SELF,
             HVM_PARAM_CALLBACK_IRQ, via), 0);
    rc = get_param(DOMID_SELF, HVM_PARAM_CALLBACK_IRQ, &v);
    check(rc == 0 && v == via, "get HVM_PARAM_CALLBACK_IRQ -> %ld, %#lx (want %#lx)", rc, v, via);
    check_rc("set HVM_PARAM_CALLBACK_IRQ back to 0", set_param(DOMID_SELF,
             HVM_PARAM_CALLBACK_IRQ, 0), 0);
    rc = get_param(DOMID_SELF, HVM_PARAM_CALLBACK_IRQ, &v);
    check(rc == 0 && v == 0, "get HVM_PARAM_CALLBACK_IRQ -> %ld, %#lx after the reset", rc, v);

    /* Readable by the guest itself (hvm_allow_get_param); dom0 without a
     * xenstore or console ring has nothing there, any value is fine. */
    static const struct { uint32_t index; const char *name; } readable[] = {
        { HVM_PARAM_STORE_PFN, "STORE_PFN" },
        { HVM_PARAM_STORE_EVTCHN, "STORE_EVTCHN" },
        { HVM_PARAM_CONSOLE_PFN, "CONSOLE_PFN" },
        { HVM_PARAM_CONSOLE_EVTCHN, "CONSOLE_EVTCHN" },
    };
    for (unsigned int i = 0; i < ARRAY_SIZE(readable); i++) {
        rc = get_param(DOMID_SELF, readable[i].index, &v);
        check(rc == 0, "get HVM_PARAM_%s -> %ld (%s), value %#lx", readable[i].name, rc,
              errno_name(rc), v);
    }
    /* Our own domid works as well as DOMID_SELF for dom0. */
    rc = get_param(0, HVM_PARAM_CALLBACK_IRQ, &v);
    check(rc == 0 && v == 0, "get HVM_PARAM_CALLBACK_IRQ of domain 0 by id -> %ld", rc);
}

static void test_param_errors(void)
{
    uint64_t v;
    check_rc("get param HVM_NR_PARAMS", get_param(DOMID_SELF, HVM_NR_PARAMS, &v), -XEN_EINVAL);
    check_rc("get param 0xffffffff", get_param(DOMID_SELF, 0xffffffffU, &v), -XEN_EINVAL);
    check_rc("set param HVM_NR_PARAMS", set_param(DOMID_SELF, HVM_NR_PARAMS, 1), -XEN_EINVAL);
    /* The index check comes first: even for a domain that does not exist. */
    check_rc("get param HVM_NR_PARAMS of domain 123", get_param(123, HVM_NR_PARAMS, &v),
             -XEN_EINVAL);
    check_rc("get HVM_PARAM_CALLBACK_IRQ of domain 123 (none)",
             get_param(123, HVM_PARAM_CALLBACK_IRQ, &v), -XEN_ESRCH);
    check_rc("set HVM_PARAM_CALLBACK_IRQ of domain 123 (none)",
             set_param(123, HVM_PARAM_CALLBACK_IRQ, 0), -XEN_ESRCH);
    check_rc("get param with an unmapped argument",
             HYPERVISOR_hvm_op(HVMOP_get_param, BAD_PTR_UNMAPPED), -XEN_EFAULT);
    check_rc("set param with a non-RAM argument",
             HYPERVISOR_hvm_op(HVMOP_set_param, BAD_PTR_NOT_RAM), -XEN_EFAULT);
    /* An argument whose last 8 bytes lie past the end of RAM cannot be read. */
    uint64_t end = ram_end_below_4g();
    if (end) {
        struct xen_hvm_param *p = (void *)(uintptr_t)(end - 8);
        check_rc("get param with the argument straddling the end of RAM",
                 HYPERVISOR_hvm_op(HVMOP_get_param, p), -XEN_EFAULT);
    }
}

static void test_time_and_vector(void)
{
    xen_hvm_get_time_t t1 = { 0 }, t2 = { 0 };
    long rc1 = HYPERVISOR_hvm_op(HVMOP_get_time, &t1);
    for (volatile int i = 0; i < 100000; i++)
        ;
    long rc2 = HYPERVISOR_hvm_op(HVMOP_get_time, &t2);
    check(rc1 == 0 && rc2 == 0 && t1.now > 0 && t2.now >= t1.now,
          "HVMOP_get_time -> %ld, %lu ns then %lu ns (running, monotonic)", rc1,
          (unsigned long)t1.now, (unsigned long)t2.now);
    check_rc("HVMOP_get_time into an unmapped buffer",
             HYPERVISOR_hvm_op(HVMOP_get_time, BAD_PTR_UNMAPPED), -XEN_EFAULT);

    xen_hvm_evtchn_upcall_vector_t uv = { .vcpu = 0, .vector = 0xf4 };
    check_rc("HVMOP_set_evtchn_upcall_vector vCPU 0 vector 0xf4",
             HYPERVISOR_hvm_op(HVMOP_set_evtchn_upcall_vector, &uv), 0);
    uv.vector = 0x0f;
    check_rc("HVMOP_set_evtchn_upcall_vector vector 0x0f (< 0x10)",
             HYPERVISOR_hvm_op(HVMOP_set_evtchn_upcall_vector, &uv), -XEN_EINVAL);
    uv.vector = 0xf4;
    uv.vcpu = 4095;
    check_rc("HVMOP_set_evtchn_upcall_vector vCPU 4095 (none)",
             HYPERVISOR_hvm_op(HVMOP_set_evtchn_upcall_vector, &uv), -XEN_ENOENT);
}

void test_main(void)
{
    test_params();
    test_param_errors();
    test_time_and_vector();
    check_rc("hvm_op 0x1234 (unknown)", HYPERVISOR_hvm_op(0x1234, NULL), -XEN_ENOSYS);
}
