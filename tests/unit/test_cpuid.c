/* The guest CPUID policy against recorded AMD and Intel hosts: Xen's leaves
   exact, hidden features hidden, topology, XSAVE and leaf ranges. */
/* @sources: hypervisor/hvm/cpuid.c */
#include "cmocka_prelude.h"
#include <string.h>
#include <proxenos/xen_abi.h>
#include <proxenos/hypercall.h>

struct host_leaf {
    uint32_t leaf, sub;
    struct cpuid_regs r;
};

/* An AMD Zen 2 EPYC (values as the CPU reports them, bare metal). */
static const struct host_leaf amd_host[] = {
    { 0x0, 0, { 0x10, 0x68747541, 0x444d4163, 0x69746e65 } },
    { 0x1, 0, { 0x00830f10, 0x3e400800, 0x7ed8320b, 0x178bfbff } },
    { 0x5, 0, { 0x40, 0x40, 0x3, 0x11 } },
    { 0x6, 0, { 0x4, 0x0, 0x1, 0x0 } },
    { 0x7, 0, { 0x0, 0x219c91a9, 0x00400004, 0x0 } },
    { 0xb, 0, { 0x1, 0x2, 0x100, 0x3e } },
    { 0xb, 1, { 0x7, 0x80, 0x201, 0x3e } },
    { 0xd, 0, { 0x7, 0x340, 0x340, 0x0 } },
    { 0xd, 1, { 0xf, 0x340, 0x0, 0x0 } },
    { 0xd, 2, { 0x100, 0x240, 0x0, 0x0 } },
    { 0x80000000, 0, { 0x80000021, 0x68747541, 0x444d4163, 0x69746e65 } },
    { 0x80000001, 0, { 0x00830f10, 0x40000000, 0x75c237ff, 0x2fd3fbff } },
    { 0x80000002, 0, { 0x20444d41, 0x43595045, 0x32353720, 0x38332d32 } },
    { 0x80000005, 0, { 0xff40ff40, 0xff40ff40, 0x20080140, 0x20080140 } },
    { 0x80000007, 0, { 0x0, 0x3b, 0x0, 0x6799 } },
    { 0x80000008, 0, { 0x3030, 0x010eb757, 0x703f, 0x0 } },
    { 0x8000000a, 0, { 0x1, 0x8000, 0x0, 0x1ebfbcff } },
    { 0x8000001e, 0, { 0x3e, 0x10f, 0x3, 0x0 } },
    { 0x8000001f, 0, { 0x1000f, 0x16f, 0x1fd, 0x1 } },
    { 0x80000021, 0, { 0x0800004d, 0x0, 0x6, 0x0 } },
};

/* An Intel Skylake-SP with AVX-512, MPX and PKU. */
static const struct host_leaf intel_host[] = {
    { 0x0, 0, { 0x16, 0x756e6547, 0x6c65746e, 0x49656e69 } },
    { 0x1, 0, { 0x00050654, 0x1e400800, 0x7ffefbff, 0xbfebfbff } },
    { 0x2, 0, { 0x76036301, 0x00f0b5ff, 0x0, 0x00c30000 } },
    { 0x4, 0, { 0x7c004121, 0x01c0003f, 0x3f, 0x0 } },
    { 0x4, 1, { 0x7c004122, 0x01c0003f, 0x3f, 0x0 } },
    { 0x4, 2, { 0x7c004143, 0x03c0003f, 0x3ff, 0x0 } },
    { 0x4, 3, { 0x7c0fc163, 0x0280003f, 0xb7ff, 0x4 } },
    { 0x5, 0, { 0x40, 0x40, 0x3, 0x2020 } },
    { 0x6, 0, { 0x77, 0x2, 0x9, 0x0 } },
    { 0x7, 0, { 0x0, 0xd39ffffb, 0x00000018, 0xbc000400 } },
    { 0xa, 0, { 0x07300404, 0x0, 0x0, 0x603 } },
    { 0xb, 0, { 0x1, 0x2, 0x100, 0x1e } },
    { 0xb, 1, { 0x5, 0x1c, 0x201, 0x1e } },
    { 0xd, 0, { 0x2ff, 0xa88, 0xa88, 0x0 } },
    { 0xd, 1, { 0xf, 0xa88, 0x0, 0x0 } },
    { 0xd, 2, { 0x100, 0x240, 0x0, 0x0 } },
    { 0xd, 3, { 0x40, 0x3c0, 0x0, 0x0 } },
    { 0xd, 4, { 0x40, 0x400, 0x0, 0x0 } },
    { 0xd, 5, { 0x40, 0x440, 0x0, 0x0 } },
    { 0xd, 6, { 0x200, 0x480, 0x0, 0x0 } },
    { 0xd, 7, { 0x400, 0x680, 0x0, 0x0 } },
    { 0xd, 9, { 0x8, 0xa80, 0x0, 0x0 } },
    { 0x14, 0, { 0x1, 0xf, 0x7, 0x0 } },
    { 0x15, 0, { 0x2, 0xd8, 0x0, 0x0 } },
    { 0x16, 0, { 0x834, 0xe74, 0x64, 0x0 } },
    { 0x80000000, 0, { 0x80000008, 0x0, 0x0, 0x0 } },
    { 0x80000001, 0, { 0x0, 0x0, 0x121, 0x2c100800 } },
    { 0x80000007, 0, { 0x0, 0x0, 0x0, 0x100 } },
    { 0x80000008, 0, { 0x302e, 0x0, 0x0, 0x0 } },
};

static const struct host_leaf *host_table;
static size_t host_len;
static struct host_leaf extra[8];          /* per-test overrides */
static size_t nr_extra;

static void fake_host(uint32_t leaf, uint32_t sub, struct cpuid_regs *r)
{
    for (size_t i = 0; i < nr_extra; i++)
        if (extra[i].leaf == leaf && extra[i].sub == sub) {
            *r = extra[i].r;
            return;
        }
    for (size_t i = 0; i < host_len; i++)
        if (host_table[i].leaf == leaf && host_table[i].sub == sub) {
            *r = host_table[i].r;
            return;
        }
    *r = (struct cpuid_regs){ 0, 0, 0, 0 };
}

static void override(uint32_t leaf, uint32_t sub, uint32_t a, uint32_t b, uint32_t c, uint32_t d)
{
    extra[nr_extra++] = (struct host_leaf){ leaf, sub, { a, b, c, d } };
}

static struct hvm_cpuid_input in;

static void use_host(const struct host_leaf *t, size_t n)
{
    host_table = t;
    host_len = n;
    nr_extra = 0;
    in = (struct hvm_cpuid_input){
        .host = fake_host, .vcpu_id = 0, .nr_vcpus = 1, .domid = 0,
        .guest_osxsave = false, .apic_enabled = true, .tsc_khz = 2596131,
        .tsc_reliable = true, .tsc_mul_frac = 0xc52a6a4a, .tsc_shift = -1,
    };
    in.guest_xcr0 = hvm_cpuid_xcr0_allowed(&in);
}
#define USE_AMD()   use_host(amd_host, sizeof(amd_host) / sizeof(amd_host[0]))
#define USE_INTEL() use_host(intel_host, sizeof(intel_host) / sizeof(intel_host[0]))

static struct cpuid_regs q(uint32_t leaf, uint32_t sub)
{
    struct cpuid_regs r;

    hvm_cpuid_policy(&in, leaf, sub, &r);
    return r;
}

#define assert_regs(r, A, B, C, D) do { struct cpuid_regs r_ = (r); \
    assert_int_equal(r_.a, A); assert_int_equal(r_.b, B); \
    assert_int_equal(r_.c, C); assert_int_equal(r_.d, D); } while (0)
#define assert_zero(r) assert_regs(r, 0, 0, 0, 0)
#define BIT(n) (1u << (n))

/* ---- Xen's leaves -------------------------------------------------------- */

static void xen_leaves_exact(void **state)
{
    USE_AMD();
    in.vcpu_id = 3;
    in.nr_vcpus = 4;
    in.domid = 7;
    assert_regs(q(0x40000000, 0), 0x40000005, XEN_CPUID_SIGNATURE_EBX, XEN_CPUID_SIGNATURE_ECX,
                XEN_CPUID_SIGNATURE_EDX);
    struct cpuid_regs sig = q(0x40000000, 0);
    uint32_t words[3] = { sig.b, sig.c, sig.d };
    assert_memory_equal(words, "XenVMMXenVMM", 12);
    assert_regs(q(0x40000001, 0), 0x00040011, 0, 0, 0);
    assert_regs(q(0x40000002, 0), 1, 0x40000000, 0, 0);
    assert_regs(q(0x40000003, 0), BIT(1), 0, 2596131, 0);      /* reliable, mode 0 */
    assert_regs(q(0x40000003, 1), 0, 0, 0xc52a6a4a, 0xffffffff);
    assert_regs(q(0x40000003, 2), 2596131, 0, 0, 0);
    assert_zero(q(0x40000003, 3));
    assert_regs(q(0x40000004, 0), XEN_HVM_CPUID_VCPU_ID_PRESENT | XEN_HVM_CPUID_DOMID_PRESENT |
                XEN_HVM_CPUID_UPCALL_VECTOR, 3, 7, 0);
    assert_zero(q(0x40000004, 1));
    assert_zero(q(0x40000005, 0));                              /* PV leaf */
    assert_zero(q(0x40000006, 0));
    assert_zero(q(0x40000100, 0));                              /* no Viridian */
    assert_zero(q(0x40000101, 0));
    assert_zero(q(0x4fffffff, 0));
    /* No virtualised APIC access or x2APIC offered yet; the upcall vector is
       (HVMOP_set_evtchn_upcall_vector). */
    assert_int_equal(q(0x40000004, 0).a & (XEN_HVM_CPUID_APIC_ACCESS_VIRT |
                     XEN_HVM_CPUID_X2APIC_VIRT | XEN_HVM_CPUID_IOMMU_MAPPINGS), 0);
}

static void xen_time_leaf_unreliable(void **state)
{
    USE_INTEL();
    in.tsc_reliable = false;
    in.tsc_shift = 2;
    assert_regs(q(0x40000003, 0), 0, 0, 2596131, 0);
    assert_int_equal(q(0x40000003, 1).d, 2);
}

/* ---- hidden and forced features --------------------------------------------- */

static void amd_hides_svm_and_friends(void **state)
{
    USE_AMD();
    struct cpuid_regs l1 = q(1, 0), e1 = q(0x80000001, 0);

    assert_true(l1.c & BIT(31));                         /* hypervisor */
    assert_true(l1.c & BIT(21));                         /* x2APIC, forced */
    assert_false(l1.c & BIT(3));                         /* MONITOR */
    assert_true(l1.c & BIT(24));                         /* TSC deadline: the vLAPIC's */
    assert_false(l1.c & BIT(27));                        /* OSXSAVE: guest CR4 clear */
    assert_true(l1.c & BIT(28));                         /* AVX */
    assert_false(l1.d & (BIT(7) | BIT(14)));             /* MCE, MCA */
    assert_true(l1.d & BIT(28));                         /* HTT */
    assert_false(e1.c & BIT(2));                         /* SVM */
    assert_false(e1.c & (BIT(1) | BIT(3) | BIT(9) | BIT(10) | BIT(12) | BIT(13) | BIT(22)));
    assert_true(e1.c & (BIT(0) | BIT(5) | BIT(6)));      /* LAHF_LM, ABM, SSE4A */
    assert_false(e1.d & BIT(27));                        /* RDTSCP */
    assert_true(e1.d & (BIT(29) | BIT(20) | BIT(11)));   /* LM, NX, SYSCALL */
    assert_false(e1.d & (BIT(7) | BIT(14)));             /* mirrored MCE/MCA follow leaf 1 */
    assert_true(e1.d & BIT(0));                          /* mirrored FPU */
    assert_zero(q(0x8000000a, 0));                       /* SVM leaf */
    assert_zero(q(0x8000001e, 0));                       /* TOPOEXT */
    assert_zero(q(0x8000001f, 0));                       /* SEV */
    assert_zero(q(5, 0));                                /* MONITOR/MWAIT */
    assert_false(q(7, 0).c & BIT(22));                   /* RDPID */
    assert_true(q(7, 0).c & BIT(2));                     /* UMIP */
    assert_regs(q(6, 0), BIT(2), 0, 0, 0);               /* ARAT only */
    assert_regs(q(0x80000007, 0), 0, 0, 0, BIT(8));      /* invariant TSC only */
    assert_int_equal(q(0x80000008, 0).b, BIT(0) | BIT(2));   /* CLZERO, FP error ptrs */
    /* 0x80000021: LFENCE_DISPATCH, NSCB; not SBPB (bit 27) or bits 0, 3. */
    assert_regs(q(0x80000021, 0), BIT(2) | BIT(6), 0, BIT(1) | BIT(2), 0);
}

static void intel_hides_vmx_and_friends(void **state)
{
    USE_INTEL();
    struct cpuid_regs l1 = q(1, 0), l7 = q(7, 0);

    assert_false(l1.c & (BIT(2) | BIT(3) | BIT(4) | BIT(5) | BIT(6) | BIT(7) | BIT(8)));
    assert_false(l1.c & (BIT(14) | BIT(15) | BIT(18)));
    assert_true(l1.c & BIT(24));                         /* TSC deadline: the vLAPIC's */
    assert_true(l1.c & (BIT(31) | BIT(21) | BIT(17)));   /* hypervisor, x2APIC, PCID */
    assert_false(l1.d & (BIT(21) | BIT(22) | BIT(29) | BIT(31) | BIT(7) | BIT(14)));
    assert_zero(q(0xa, 0));                              /* architectural PMU */
    assert_zero(q(5, 0));
    assert_zero(q(0x14, 0));                             /* processor trace */
    assert_zero(q(3, 0));
    /* Leaf 7 EBX: no TSC_ADJUST, HLE, RTM, PQM, MPX, PQE, PT. */
    assert_false(l7.b & (BIT(1) | BIT(4) | BIT(11) | BIT(12) | BIT(14) | BIT(15) | BIT(25)));
    assert_true(l7.b & (BIT(0) | BIT(5) | BIT(16)));     /* FSGSBASE, AVX2, AVX512F */
    assert_int_equal(l7.c, 0);                           /* PKU, OSPKE hidden */
    assert_int_equal(l7.d, BIT(10));                     /* MD_CLEAR; no spec ctrl */
    assert_false(q(0x80000001, 0).d & BIT(27));          /* RDTSCP */
    assert_int_equal(q(0xd, 1).a, 0x7);                  /* no XSAVES */
    assert_regs(q(0x15, 0), 0x2, 0xd8, 0, 0);            /* TSC ratio passed */
    assert_regs(q(0x2, 0), 0x76036301, 0x00f0b5ff, 0, 0x00c30000);
}

static void dynamic_bits(void **state)
{
    USE_AMD();
    in.guest_osxsave = true;
    assert_true(q(1, 0).c & BIT(27));
    in.apic_enabled = false;
    assert_false(q(1, 0).d & BIT(9));
    assert_false(q(0x80000001, 0).d & BIT(9));           /* AMD's mirror follows */
    in.apic_enabled = true;
    assert_true(q(1, 0).d & BIT(9));
    assert_true(q(0x80000001, 0).d & BIT(9));
}

/* ---- topology ------------------------------------------------------------------ */

static void topology(void **state)
{
    USE_INTEL();
    in.vcpu_id = 3;
    in.nr_vcpus = 4;
    struct cpuid_regs l1 = q(1, 0);

    assert_int_equal(l1.b >> 24, 6);                     /* APIC ID = 2 * vcpu_id */
    assert_int_equal((l1.b >> 16) & 0xff, 8);            /* IDs per package */
    assert_int_equal(l1.b & 0xffff, 0x0800);             /* CLFLUSH size, brand */
    assert_regs(q(0xb, 0), 1, 1, 0x100, 6);
    assert_regs(q(0xb, 1), 3, 4, 0x201, 6);
    assert_regs(q(0xb, 2), 0, 0, 2, 6);
    assert_zero(q(0x1f, 0));                             /* beyond the host's max (0x16) */
    /* Leaf 4: geometry kept, cores field = 3, sharing: 2 IDs for L1/L2, 8 for L3. */
    assert_int_equal(q(4, 0).a, (0x7c004121 & 0x3fff) | 1 << 14 | 3u << 26);
    assert_int_equal(q(4, 0).b, 0x01c0003f);
    assert_int_equal(q(4, 3).a, (0x7c0fc163 & 0x3fff) | 7 << 14 | 3u << 26);
    assert_zero(q(4, 4));                                /* end of the list */

    USE_AMD();
    in.vcpu_id = 1;
    in.nr_vcpus = 3;                                      /* rounds up to 4 IDs */
    assert_int_equal(q(0x80000008, 0).c, 2 | 3 << 12);
    assert_regs(q(0xb, 1), 3, 3, 0x201, 2);
    assert_int_equal(q(1, 0).b >> 24, 2);
    assert_false(q(0x80000001, 0).c & (BIT(1) | BIT(22)));  /* CMP_LEGACY, TOPOEXT */

    in.nr_vcpus = 1;
    in.vcpu_id = 0;
    assert_int_equal((q(1, 0).b >> 16) & 0xff, 2);
    assert_regs(q(0xb, 1), 1, 1, 0x201, 0);
}

/* ---- XSAVE ------------------------------------------------------------------------ */

static void xsave_intel(void **state)
{
    USE_INTEL();
    /* x87, SSE, AVX and AVX-512; not MPX (3, 4) or PKRU (9). */
    assert_int_equal(hvm_cpuid_xcr0_allowed(&in), 0xe7);
    in.guest_xcr0 = 0xe7;
    assert_regs(q(0xd, 0), 0xe7, 0x680 + 0x400, 0x680 + 0x400, 0);
    in.guest_xcr0 = 0x7;
    assert_int_equal(q(0xd, 0).b, 0x240 + 0x100);
    assert_int_equal(q(0xd, 0).c, 0xa80);
    assert_regs(q(0xd, 2), 0x100, 0x240, 0, 0);
    assert_regs(q(0xd, 7), 0x400, 0x680, 0, 0);
    assert_zero(q(0xd, 3));                              /* MPX state */
    assert_zero(q(0xd, 9));                              /* PKRU */
    assert_zero(q(0xd, 63));
}

static void xsave_incomplete_avx512(void **state)
{
    USE_INTEL();
    override(0xd, 0, 0x27, 0, 0, 0);                     /* opmask but no ZMM states */
    assert_int_equal(hvm_cpuid_xcr0_allowed(&in), 0x7);
    assert_false(q(7, 0).b & BIT(16));                   /* AVX512F */
    assert_false(q(7, 0).b & BIT(31));                   /* AVX512VL */
    assert_true(q(7, 0).b & BIT(5));                     /* AVX2 stays */
    assert_zero(q(0xd, 5));
}

static void xsave_absent(void **state)
{
    USE_AMD();
    override(1, 0, 0x00830f10, 0, 0x7ed8320b & ~BIT(26), 0x178bfbff);   /* no XSAVE */
    assert_int_equal(hvm_cpuid_xcr0_allowed(&in), 0);
    assert_false(q(1, 0).c & (BIT(26) | BIT(28) | BIT(29) | BIT(12)));  /* XSAVE AVX F16C FMA */
    assert_false(q(7, 0).b & BIT(5));                    /* AVX2 */
    in.guest_osxsave = true;
    assert_false(q(1, 0).c & BIT(27));                   /* no OSXSAVE without XSAVE */
    assert_zero(q(0xd, 0));
    assert_zero(q(0xd, 1));
}

static void xsave_no_ymm(void **state)
{
    USE_AMD();
    override(0xd, 0, 0x3, 0x240, 0x240, 0);
    assert_int_equal(hvm_cpuid_xcr0_allowed(&in), 0x3);
    assert_true(q(1, 0).c & BIT(26));                    /* XSAVE stays */
    assert_false(q(1, 0).c & (BIT(28) | BIT(29) | BIT(12)));
    assert_false(q(7, 0).b & BIT(5));
    assert_regs(q(0xd, 0), 0x3, 576, 576, 0);
    assert_zero(q(0xd, 2));
}

/* ---- leaf ranges --------------------------------------------------------------------- */

static void ranges(void **state)
{
    USE_INTEL();
    assert_regs(q(0, 0), 0x16, 0x756e6547, 0x6c65746e, 0x49656e69);
    assert_zero(q(0x17, 0));
    assert_zero(q(0x20, 0));
    assert_int_equal(q(0x80000000, 0).a, 0x80000008);
    assert_zero(q(0x80000009, 0));
    assert_zero(q(0x80000021, 0));
    assert_zero(q(0x90000000, 0));
    assert_zero(q(0xc0000000, 0));
    assert_zero(q(0xffffffff, 0xffffffff));

    USE_AMD();
    assert_int_equal(q(0, 0).a, 0x10);
    assert_int_equal(q(0x80000000, 0).a, 0x80000021);
    assert_regs(q(0x80000002, 0), 0x20444d41, 0x43595045, 0x32353720, 0x38332d32);
    override(0, 0, 0x2a, 0x68747541, 0x444d4163, 0x69746e65);
    override(0x80000000, 0, 0x80000028, 0, 0, 0);
    assert_int_equal(q(0, 0).a, 0x1f);                   /* capped to what we understand */
    assert_int_equal(q(0x80000000, 0).a, 0x80000021);
    assert_zero(q(0x80000028, 0));
}

static void leaf7_subleaves(void **state)
{
    USE_INTEL();
    override(7, 0, 2, 0xd39ffffb, 0x18, 0xbc000400);
    override(7, 1, 0x00001c30 | BIT(0), 0x1, 0, 0);     /* AVX_VNNI, BF16, FZRM.. + bit 0 */
    override(7, 2, 0, 0, 0, 0x1f);
    assert_int_equal(q(7, 0).a, 1);
    assert_regs(q(7, 1), 0x00001c30, 0, 0, 0);
    assert_zero(q(7, 2));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(xen_leaves_exact),
        cmocka_unit_test(xen_time_leaf_unreliable),
        cmocka_unit_test(amd_hides_svm_and_friends),
        cmocka_unit_test(intel_hides_vmx_and_friends),
        cmocka_unit_test(dynamic_bits),
        cmocka_unit_test(topology),
        cmocka_unit_test(xsave_intel),
        cmocka_unit_test(xsave_incomplete_avx512),
        cmocka_unit_test(xsave_absent),
        cmocka_unit_test(xsave_no_ymm),
        cmocka_unit_test(ranges),
        cmocka_unit_test(leaf7_subleaves),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
