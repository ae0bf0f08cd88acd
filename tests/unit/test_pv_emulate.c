/* PV emulation's pure half: the decoder (forced CPUID, lengths of the
   I/O, MSR and MOV CR forms with prefixes, refusals), the port policy and
   IOPL check, the PV CR4 and the PV CPUID policy against recorded hosts. */
/* @sources: pv/pv_emulate_decode.c hypervisor/hvm/cpuid.c */
#include "cmocka_prelude.h"
#include <stdlib.h>
#include <string.h>
#include "../../pv/pv_emulate.h"
#include <xen/arch-x86/cpufeatureset.h>

#define F(name)  (1u << (XEN_X86_FEATURE_##name & 31))

/* ---- decoder ----------------------------------------------------------------- */

static struct pv_insn dec_ok(const uint8_t *b, size_t n)
{
    struct pv_insn i;

    assert_int_equal(pv_insn_decode(b, n, &i), 0);
    return i;
}
#define DEC(...) ({ static const uint8_t b_[] = { __VA_ARGS__ }; dec_ok(b_, sizeof(b_)); })
#define REFUSED(...) ({ static const uint8_t b_[] = { __VA_ARGS__ }; struct pv_insn i_; \
    assert_int_equal(pv_insn_decode(b_, sizeof(b_), &i_), -1); \
    assert_int_equal(i_.kind, PV_INSN_NONE); })

static void forced_cpuid(void **s)
{
    static const uint8_t ok[] = { 0x0f, 0x0b, 'x', 'e', 'n', 0x0f, 0xa2, 0x90 };
    static const uint8_t not_xen[] = { 0x0f, 0x0b, 'x', 'e', 'm', 0x0f, 0xa2 };
    static const uint8_t not_cpuid[] = { 0x0f, 0x0b, 'x', 'e', 'n', 0x0f, 0x31 };

    assert_true(pv_insn_forced_cpuid(ok, sizeof(ok)));
    assert_true(pv_insn_forced_cpuid(ok, 7));
    assert_false(pv_insn_forced_cpuid(ok, 6));          /* cut short */
    assert_false(pv_insn_forced_cpuid(not_xen, sizeof(not_xen)));
    assert_false(pv_insn_forced_cpuid(not_cpuid, sizeof(not_cpuid)));
    assert_int_equal(PV_FORCED_PREFIX_LEN + 2, 7);
}

static void port_io_forms(void **s)
{
    struct pv_insn i;

    i = DEC(0xe4, 0x71);                                /* in al, 0x71 */
    assert_int_equal(i.kind, PV_INSN_IN);
    assert_int_equal(i.len, 2);
    assert_int_equal(i.bytes, 1);
    assert_false(i.port_in_dx);
    assert_int_equal(i.port, 0x71);
    i = DEC(0xe5, 0x60);                                /* in eax, 0x60 */
    assert_int_equal(i.bytes, 4);
    i = DEC(0x66, 0xe7, 0x80);                          /* out 0x80, ax */
    assert_int_equal(i.kind, PV_INSN_OUT);
    assert_int_equal(i.len, 3);
    assert_int_equal(i.bytes, 2);
    i = DEC(0xec);                                      /* in al, dx */
    assert_int_equal(i.kind, PV_INSN_IN);
    assert_int_equal(i.len, 1);
    assert_true(i.port_in_dx);
    i = DEC(0xef);                                      /* out dx, eax */
    assert_int_equal(i.kind, PV_INSN_OUT);
    assert_int_equal(i.bytes, 4);
    i = DEC(0x66, 0xed);                                /* in ax, dx */
    assert_int_equal(i.bytes, 2);
    assert_int_equal(i.len, 2);
    i = DEC(0x48, 0xed);                                /* REX.W: still 32-bit */
    assert_int_equal(i.bytes, 4);
    assert_int_equal(i.len, 2);
    i = DEC(0xee, 0x90);                                /* trailing bytes ignored */
    assert_int_equal(i.len, 1);
    REFUSED(0xe4);                                      /* imm8 missing */
    REFUSED(0xf0, 0xee);                                /* lock */
}

static void string_io_forms(void **s)
{
    struct pv_insn i;

    i = DEC(0xf3, 0x6c);                                /* rep insb */
    assert_int_equal(i.kind, PV_INSN_INS);
    assert_true(i.rep);
    assert_int_equal(i.bytes, 1);
    assert_int_equal(i.len, 2);
    i = DEC(0x66, 0xf3, 0x6f);                          /* rep outsw */
    assert_int_equal(i.kind, PV_INSN_OUTS);
    assert_int_equal(i.bytes, 2);
    assert_int_equal(i.len, 3);
    i = DEC(0x67, 0x65, 0x6f);                          /* outsd gs:[esi] */
    assert_false(i.rep);
    assert_true(i.addr32);
    assert_int_equal(i.seg, 0x65);
    assert_int_equal(i.bytes, 4);
    i = DEC(0x3e, 0x6e);                                /* ds: is base 0 */
    assert_int_equal(i.seg, 0);
    i = DEC(0xf3, 0xec);                                /* rep means nothing to IN */
    assert_false(i.rep);
}

static void msr_cr_forms(void **s)
{
    struct pv_insn i;

    i = DEC(0x0f, 0x32);
    assert_int_equal(i.kind, PV_INSN_RDMSR);
    assert_int_equal(i.len, 2);
    i = DEC(0x0f, 0x30);
    assert_int_equal(i.kind, PV_INSN_WRMSR);
    i = DEC(0x3e, 0x0f, 0x30);                          /* Linux's "ds wrmsr" */
    assert_int_equal(i.kind, PV_INSN_WRMSR);
    assert_int_equal(i.len, 3);
    i = DEC(0x0f, 0x20, 0xc0);                          /* mov rax, cr0 */
    assert_int_equal(i.kind, PV_INSN_MOV_FROM_CR);
    assert_int_equal(i.len, 3);
    assert_int_equal(i.cr, 0);
    assert_int_equal(i.gpr, 0);
    i = DEC(0x0f, 0x20, 0xe3);                          /* mov rbx, cr4 */
    assert_int_equal(i.cr, 4);
    assert_int_equal(i.gpr, 3);
    i = DEC(0x41, 0x0f, 0x22, 0xe0);                    /* mov cr4, r8 */
    assert_int_equal(i.kind, PV_INSN_MOV_TO_CR);
    assert_int_equal(i.len, 4);
    assert_int_equal(i.cr, 4);
    assert_int_equal(i.gpr, 8);
    i = DEC(0x44, 0x0f, 0x20, 0xc7);                    /* mov rdi, cr8 */
    assert_int_equal(i.cr, 8);
    assert_int_equal(i.gpr, 7);
    i = DEC(0x0f, 0x20, 0x18);                          /* mod ignored: mov rax, cr3 */
    assert_int_equal(i.cr, 3);
    assert_int_equal(i.gpr, 0);
    i = DEC(0x41, 0x66, 0x0f, 0x20, 0xc0);              /* REX before 66: dropped */
    assert_int_equal(i.gpr, 0);
    assert_int_equal(i.len, 5);
    REFUSED(0x0f, 0x20);                                /* ModRM missing */
    REFUSED(0x0f);
}

static void other_forms(void **s)
{
    assert_int_equal(DEC(0xfa).kind, PV_INSN_CLI);
    assert_int_equal(DEC(0xfb).kind, PV_INSN_STI);
    assert_int_equal(DEC(0xf4).kind, PV_INSN_HLT);
    assert_int_equal(DEC(0x0f, 0x06).kind, PV_INSN_CLTS);
    assert_int_equal(DEC(0x0f, 0x09).kind, PV_INSN_WBINVD);
    assert_int_equal(DEC(0xf3, 0x0f, 0x09).kind, PV_INSN_WBINVD);
    assert_int_equal(DEC(0x0f, 0x31).kind, PV_INSN_RDTSC);
    assert_int_equal(DEC(0x0f, 0xa2).kind, PV_INSN_CPUID);
    assert_int_equal(DEC(0x0f, 0x01, 0xd1).kind, PV_INSN_XSETBV);
    assert_int_equal(DEC(0x0f, 0x01, 0xd1).len, 3);
    for (int k = 0; k < PV_INSN_KINDS; k++)
        assert_string_not_equal(pv_insn_name((enum pv_insn_kind)k), "?");
    assert_string_equal(pv_insn_name(PV_INSN_RDMSR), "rdmsr");
    assert_string_equal(pv_insn_name(PV_INSN_KINDS), "?");
}

static void refusals(void **s)
{
    static const uint8_t long_prefixes[16] = {
        0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
        0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0xe5, 0x10,  /* 16 bytes: too long */
    };
    struct pv_insn i;

    REFUSED(0x90);                                      /* nop */
    REFUSED(0xcd, 0x80);                                /* int 0x80 */
    REFUSED(0x0f, 0x0b);                                /* ud2 */
    REFUSED(0x0f, 0x01, 0xd0);                          /* xgetbv: never faults */
    REFUSED(0x0f, 0x01, 0xf9);                          /* rdtscp */
    REFUSED(0x0f, 0x33);                                /* rdpmc */
    REFUSED(0x0f, 0x21, 0xc0);                          /* mov rax, dr0 */
    REFUSED(0x0f, 0x08);                                /* invd */
    REFUSED(0xc5, 0xf8, 0x77);                          /* VEX vzeroupper */
    REFUSED(0x66, 0x66);                                /* prefixes only */
    assert_int_equal(pv_insn_decode(long_prefixes, sizeof(long_prefixes), &i), -1);
    assert_int_equal(pv_insn_decode(long_prefixes + 1, 15, &i), 0);   /* exactly 15 */
    assert_int_equal(i.len, 15);
    assert_int_equal(i.bytes, 2);
    assert_int_equal(pv_insn_decode(long_prefixes + 1, 14, &i), -1);  /* imm8 cut off */
    assert_int_equal(pv_insn_decode(long_prefixes, 0, &i), -1);
}

/* Random bytes (biased towards the prefixes and opcodes handled): the
   decoder stays inside the buffer (ASan) and its answers are consistent. */
static void decode_random(void **s)
{
    static const uint8_t interesting[] = {
        0x66, 0x67, 0xf2, 0xf3, 0x64, 0x65, 0x2e, 0x3e, 0x40, 0x41, 0x44, 0x48, 0x4c, 0xf0,
        0x0f, 0x20, 0x22, 0x30, 0x32, 0x01, 0xd1, 0xe4, 0xe5, 0xe6, 0xe7, 0xec, 0xed, 0xee,
        0xef, 0x6c, 0x6d, 0x6e, 0x6f, 0xfa, 0xfb, 0xf4, 0x06, 0x09, 0x31, 0xa2, 0x0b,
    };
    uint64_t x = 0x9e3779b97f4a7c15ULL;

    for (int round = 0; round < 200000; round++) {
        size_t n = 1 + (size_t)(x % PV_INSN_MAX);
        uint8_t *b = malloc(n);                 /* exact size: ASan sees overreads */
        struct pv_insn i;

        for (size_t k = 0; k < n; k++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            b[k] = (x & 3) ? interesting[(x >> 8) % sizeof(interesting)] : (uint8_t)(x >> 16);
        }
        if (pv_insn_decode(b, n, &i) == 0) {
            assert_true(i.kind > PV_INSN_NONE && i.kind < PV_INSN_KINDS);
            assert_true(i.kind != PV_INSN_FORCED_CPUID);
            assert_true(i.len >= 1 && i.len <= n && i.len <= PV_INSN_MAX);
            if (i.kind == PV_INSN_IN || i.kind == PV_INSN_OUT || i.kind == PV_INSN_INS ||
                i.kind == PV_INSN_OUTS)
                assert_true(i.bytes == 1 || i.bytes == 2 || i.bytes == 4);
            if (i.kind == PV_INSN_MOV_FROM_CR || i.kind == PV_INSN_MOV_TO_CR)
                assert_true(i.cr < 16 && i.gpr < 16);
        } else {
            assert_int_equal(i.kind, PV_INSN_NONE);
        }
        free(b);
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    }
}

/* ---- ports, IOPL, CR4 ------------------------------------------------------- */

static void iopl(void **s)
{
    assert_false(pv_iopl_ok(0, true, false));
    assert_true(pv_iopl_ok(1, true, false));            /* Linux's set_iopl(1) */
    assert_true(pv_iopl_ok(3, true, false));
    assert_false(pv_iopl_ok(1, false, false));
    assert_false(pv_iopl_ok(2, false, false));
    assert_true(pv_iopl_ok(3, false, false));
    /* VMASST_TYPE_architectural_iopl: the kernel is CPL 0. */
    assert_true(pv_iopl_ok(0, true, true));
    assert_false(pv_iopl_ok(2, false, true));
    assert_true(pv_iopl_ok(3, false, true));
}

static void ports(void **s)
{
    /* The hardware domain: most ports. */
    assert_true(pv_io_direct_ok(0x80, 1, true));        /* POST / delay port */
    assert_true(pv_io_direct_ok(0x60, 1, true));        /* keyboard controller */
    assert_true(pv_io_direct_ok(0xcf8, 4, true));       /* PCI config, directly */
    assert_true(pv_io_direct_ok(0xcfc, 4, true));
    assert_true(pv_io_direct_ok(0xcfe, 2, true));
    assert_true(pv_io_direct_ok(0x1f0, 2, true));       /* IDE */
    assert_true(pv_io_direct_ok(0xb000, 4, true));      /* an ACPI PM block */
    assert_true(pv_io_direct_ok(0x3f0, 4, true));       /* just below COM1 */
    assert_true(pv_io_direct_ok(0xfffc, 4, true));
    /* ... but not the hypervisor's. */
    assert_false(pv_io_direct_ok(0x20, 1, true));
    assert_false(pv_io_direct_ok(0x21, 1, true));
    assert_false(pv_io_direct_ok(0xa0, 1, true));
    assert_false(pv_io_direct_ok(0xa1, 1, true));
    assert_false(pv_io_direct_ok(0x40, 1, true));
    assert_false(pv_io_direct_ok(0x43, 1, true));
    assert_false(pv_io_direct_ok(0x61, 1, true));
    assert_false(pv_io_direct_ok(0x70, 1, true));       /* RTC: emulated */
    assert_false(pv_io_direct_ok(0x71, 1, true));
    assert_false(pv_io_direct_ok(0x92, 1, true));
    assert_false(pv_io_direct_ok(0xf0, 1, true));
    assert_false(pv_io_direct_ok(0xf4, 1, true));       /* isa-debug-exit */
    assert_false(pv_io_direct_ok(0xf7, 1, true));
    assert_false(pv_io_direct_ok(0x3f8, 1, true));      /* console UARTs */
    assert_false(pv_io_direct_ok(0x3fd, 1, true));
    assert_false(pv_io_direct_ok(0x2ff, 1, true));
    assert_false(pv_io_direct_ok(0x8900, 1, true));     /* Bochs shutdown */
    /* Wide accesses overlapping a denied port. */
    assert_false(pv_io_direct_ok(0x3f6, 4, true));
    assert_false(pv_io_direct_ok(0x1e, 4, true));
    assert_false(pv_io_direct_ok(0x60, 2, true));       /* 0x61 */
    assert_false(pv_io_direct_ok(0x3e, 4, true));       /* 0x40 */
    assert_false(pv_io_direct_ok(0xfffe, 4, true));     /* past 0xffff */
    assert_false(pv_io_direct_ok(0x80, 0, true));
    assert_false(pv_io_direct_ok(0x80, 8, true));
    /* Other domains: none. */
    assert_false(pv_io_direct_ok(0x80, 1, false));
    assert_false(pv_io_direct_ok(0xcfc, 4, false));
}

static void emulated_ports(void **s)
{
    assert_int_equal(pv_port_emulated(0x42, false), PV_PORT_PIT);
    assert_int_equal(pv_port_emulated(0x43, true), PV_PORT_PIT);
    assert_int_equal(pv_port_emulated(0x40, true), PV_PORT_NONE);   /* as Xen: not channel 0 */
    assert_int_equal(pv_port_emulated(0x41, true), PV_PORT_NONE);
    assert_int_equal(pv_port_emulated(0x61, false), PV_PORT_NMI_SC);
    assert_int_equal(pv_port_emulated(0x70, true), PV_PORT_RTC_INDEX);
    assert_int_equal(pv_port_emulated(0x71, true), PV_PORT_RTC_DATA);
    assert_int_equal(pv_port_emulated(0x70, false), PV_PORT_NONE);
    assert_int_equal(pv_port_emulated(0x71, false), PV_PORT_NONE);
    assert_int_equal(pv_port_emulated(0x20, true), PV_PORT_NONE);
    assert_int_equal(pv_port_emulated(0x3f8, true), PV_PORT_NONE);
    /* Every emulated port is one the domain cannot reach directly. */
    for (unsigned int port = 0; port < 0x10000; port++)
        if (pv_port_emulated((uint16_t)port, true) != PV_PORT_NONE)
            assert_false(pv_io_direct_ok((uint16_t)port, 1, true));
}

static void cr4(void **s)
{
    const uint64_t host = 0x3606e0 | (1u << 5) | (1u << 9) | (1u << 10);  /* VMXE, PGE, ... */

    /* Visible: PAE, MCE, OSFXSR, OSXMMEXCPT of the host, nothing else. */
    assert_int_equal(pv_guest_cr4(0, host, true, true), host & 0x660);
    /* The guest's TSD and DE, as its CPUID allows. */
    assert_int_equal(pv_guest_cr4(0xc, host, true, true), (host & 0x660) | 0xc);
    assert_int_equal(pv_guest_cr4(0xc, host, false, true), (host & 0x660) | 0x8);
    assert_int_equal(pv_guest_cr4(0xc, host, true, false), (host & 0x660) | 0x4);
    /* PGE, PSE, FSGSBASE, OSXSAVE, SMEP: dropped. */
    assert_int_equal(pv_guest_cr4((1u << 7) | (1u << 4) | (1u << 16) | (1u << 18) | (1u << 20),
                                  host, true, true), host & 0x660);
    /* Clearing a visible bit changes nothing. */
    assert_int_equal(pv_guest_cr4(0, 0x620, true, true), 0x620);
}

/* ---- CPUID ------------------------------------------------------------------- */

struct host_leaf {
    uint32_t leaf, sub;
    struct cpuid_regs r;
};

/* Recorded hosts, as in test_cpuid.c: an AMD Zen 2 EPYC ... */
static const struct host_leaf amd_host[] = {
    { 0x0, 0, { 0x10, 0x68747541, 0x444d4163, 0x69746e65 } },
    { 0x1, 0, { 0x00830f10, 0x3e400800, 0x7ed8320b, 0x178bfbff } },
    { 0x7, 0, { 0x0, 0x219c91a9, 0x00400004, 0x0 } },
    { 0xd, 0, { 0x7, 0x340, 0x340, 0x0 } },
    { 0xd, 1, { 0xf, 0x340, 0x0, 0x0 } },
    { 0xd, 2, { 0x100, 0x240, 0x0, 0x0 } },
    { 0x80000000, 0, { 0x80000021, 0x68747541, 0x444d4163, 0x69746e65 } },
    { 0x80000001, 0, { 0x00830f10, 0x40000000, 0x75c237ff, 0x2fd3fbff } },
    { 0x80000008, 0, { 0x3030, 0x010eb757, 0x703f, 0x0 } },
};

/* ... and an Intel Skylake-SP. */
static const struct host_leaf intel_host[] = {
    { 0x0, 0, { 0x16, 0x756e6547, 0x6c65746e, 0x49656e69 } },
    { 0x1, 0, { 0x00050654, 0x1e400800, 0x7ffefbff, 0xbfebfbff } },
    { 0x7, 0, { 0x0, 0xd39ffffb, 0x00000018, 0xbc000400 } },
    { 0xd, 0, { 0x2ff, 0xa88, 0xa88, 0x0 } },
    { 0xd, 1, { 0xf, 0xa88, 0x0, 0x0 } },
    { 0xd, 2, { 0x100, 0x240, 0x0, 0x0 } },
    { 0x80000000, 0, { 0x80000008, 0x0, 0x0, 0x0 } },
    { 0x80000001, 0, { 0x0, 0x0, 0x121, 0x2c100800 } },
};

static const struct host_leaf *host_table;
static size_t host_len;

static void fake_host(uint32_t leaf, uint32_t sub, struct cpuid_regs *r)
{
    for (size_t i = 0; i < host_len; i++)
        if (host_table[i].leaf == leaf && host_table[i].sub == sub) {
            *r = host_table[i].r;
            return;
        }
    *r = (struct cpuid_regs){ 0, 0, 0, 0 };
}

static struct pv_cpuid_input in;

static void use_host(const struct host_leaf *t, size_t n)
{
    host_table = t;
    host_len = n;
    in = (struct pv_cpuid_input){
        .hvm = { .host = fake_host, .vcpu_id = 0, .nr_vcpus = 1, .domid = 0,
                 .apic_enabled = true, .tsc_khz = 2596131, .tsc_reliable = true,
                 .tsc_mul_frac = 0xc52a6a4a, .tsc_shift = -1 },
        .hwdom_kernel = true,
        .maddr_bits = 33,
    };
    in.hvm.guest_xcr0 = hvm_cpuid_xcr0_allowed(&in.hvm);
}
#define USE_AMD()   use_host(amd_host, sizeof(amd_host) / sizeof(amd_host[0]))
#define USE_INTEL() use_host(intel_host, sizeof(intel_host) / sizeof(intel_host[0]))

static struct cpuid_regs q(uint32_t leaf, uint32_t sub)
{
    struct cpuid_regs r;

    pv_cpuid_policy(&in, leaf, sub, &r);
    return r;
}

static void cpuid_xen_leaves(void **s)
{
    USE_INTEL();
    assert_int_equal(q(0x40000000, 0).a, 0x40000005);
    assert_int_equal(q(0x40000000, 0).b, XEN_CPUID_SIGNATURE_EBX);    /* "XenV" */
    assert_int_equal(q(0x40000000, 0).c, XEN_CPUID_SIGNATURE_ECX);
    assert_int_equal(q(0x40000000, 0).d, XEN_CPUID_SIGNATURE_EDX);
    assert_int_equal(q(0x40000001, 0).a, 4u << 16 | 17);
    assert_int_equal(q(0x40000002, 0).a, 1);                          /* one page */
    assert_int_equal(q(0x40000002, 0).b, 0x40000000);                 /* its MSR */
    assert_int_equal(q(0x40000002, 0).c, XEN_CPUID_FEAT1_MMU_PT_UPDATE_PRESERVE_AD);
    assert_int_equal(q(0x40000003, 2).a, 2596131);                    /* TSC kHz */
    assert_int_equal(q(0x40000004, 0).a, 0);                          /* HVM only */
    assert_int_equal(q(0x40000004, 0).b, 0);
    assert_int_equal(q(0x40000005, 0).b, 33);                         /* machine address bits */
    assert_int_equal(q(0x40000005, 1).b, 0);
    assert_int_equal(q(0x40000006, 0).a, 0);
}

static void cpuid_leaf1_intel(void **s)
{
    struct cpuid_regs r;

    USE_INTEL();
    r = q(1, 0);
    assert_true(r.c & F(HYPERVISOR));
    assert_true(r.c & F(SSE4_2));
    assert_false(r.c & (F(VMX) | F(SMX) | F(TM2) | F(DSCPL) | F(DTES64) | F(XTPR) | F(PDCM) |
                        F(DCA) | F(PCID) | F(X2APIC) | F(TSC_DEADLINE)));
    assert_false(r.c & F(MONITOR));                     /* forced CPUID: never */
    assert_false(r.c & (F(XSAVE) | F(OSXSAVE) | F(AVX) | F(FMA) | F(F16C)));
    assert_true(r.c & F(EIST));                         /* the dom0 kernel's leak */
    assert_true(r.d & (F(FPU) | F(TSC) | F(MSR) | F(PAE) | F(APIC) | F(SSE2)));
    assert_true(r.d & F(MTRR));                         /* dom0 kernel */
    assert_false(r.d & (F(VME) | F(PSE) | F(PGE) | F(PSE36)));
    assert_false(r.d & (F(ACPI) | F(TM1) | F(PBE) | F(DS) | F(MCE) | F(MCA)));

    in.from_gp = true;                                  /* native CPUID, faulted */
    assert_true(q(1, 0).c & F(MONITOR));
    in.hwdom_kernel = false;                            /* user mode, or a domU */
    r = q(1, 0);
    assert_false(r.c & (F(MONITOR) | F(EIST)));
    assert_false(r.d & F(MTRR));
}

static void cpuid_leaf7(void **s)
{
    struct cpuid_regs r;

    USE_INTEL();
    r = q(7, 0);
    assert_true(r.b & (F(BMI1) | F(ERMS)));
    assert_false(r.b & (F(FSGSBASE) | F(SMEP) | F(SMAP) | F(INVPCID)));
    assert_false(r.b & (F(AVX2) | F(AVX512F) | F(AVX512VL)));
    assert_false(r.b & (F(MPX) | F(PQM) | F(PQE)));
    assert_false(r.c & (F(UMIP) | F(PKU) | F(OSPKE)));
    assert_int_equal(q(0xd, 0).a, 0);                   /* no XSAVE leaf */
    assert_int_equal(q(0xd, 1).a, 0);

    /* Were XCR0 kept for PV vCPUs, AVX would be offered. */
    in.pv_xsave = true;
    assert_true(q(1, 0).c & (F(XSAVE) | F(AVX)));
    assert_true(q(7, 0).b & F(AVX2));
    assert_int_equal(q(0xd, 0).a & 7, 7);
    assert_false(q(7, 0).b & F(SMEP));
}

static void cpuid_amd(void **s)
{
    struct cpuid_regs r;

    USE_AMD();
    r = q(0x80000001, 0);
    assert_true(r.d & (F(SYSCALL) | F(NX) | F(LM)));
    assert_false(r.d & F(PAGE1GB));
    assert_true(r.d & (1u << 0));                       /* FPU mirrored */
    assert_true(r.d & (1u << 12));                      /* MTRR mirrored for dom0 */
    assert_false(r.d & ((1u << 1) | (1u << 3) | (1u << 13) | (1u << 17)));  /* VME PSE PGE PSE36 */
    assert_false(r.c & (F(SVM) | F(XOP) | F(FMA4)));
    assert_true(r.c & F(LAHF_LM));
    in.hwdom_kernel = false;
    assert_false(q(0x80000001, 0).d & (1u << 12));
    r = q(1, 0);
    assert_false(r.c & (F(MONITOR) | F(X2APIC) | F(XSAVE)));
    assert_false(q(7, 0).b & (F(FSGSBASE) | F(SMEP) | F(SMAP)));
    assert_int_equal(q(0x8000000a, 0).a, 0);            /* SVM leaf */
    assert_int_equal(q(0x80000000, 0).b, 0x68747541);   /* vendor repeated */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(forced_cpuid),
        cmocka_unit_test(port_io_forms),
        cmocka_unit_test(string_io_forms),
        cmocka_unit_test(msr_cr_forms),
        cmocka_unit_test(other_forms),
        cmocka_unit_test(refusals),
        cmocka_unit_test(decode_random),
        cmocka_unit_test(iopl),
        cmocka_unit_test(ports),
        cmocka_unit_test(emulated_ports),
        cmocka_unit_test(cr4),
        cmocka_unit_test(cpuid_xen_leaves),
        cmocka_unit_test(cpuid_leaf1_intel),
        cmocka_unit_test(cpuid_leaf7),
        cmocka_unit_test(cpuid_amd),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
