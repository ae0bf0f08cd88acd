/*
 * discovery: how a guest finds and calls the hypervisor.
 *  - CPUID leaves base+0..4 (xen/arch-x86/cpuid.h): signature, version 4.17,
 *    hypercall page count and MSR, TSC leaf, HVM feature leaf.
 *  - The hypercall page: writing its GPA to the MSR fills it with 32-byte
 *    stubs "mov $nr,%eax; vmcall|vmmcall; ret" (Xen's {svm,vmx}_init_hypercall_page);
 *    the same xen_version call made through the page, directly, and from
 *    32-bit compatibility mode must agree.
 *  - Hostile: bad hypercall-page MSR writes #GP (the MSR itself reads as 0,
 *    its neighbours #GP: Xen's guest_{rd,wr}msr_xen), unknown and PV-only
 *    hypercall numbers give -ENOSYS, a hypercall from CPL 3 gives -EPERM
 *    (Xen's hvm_hypercall()).
 */
#include "guest.h"

TEST_GUEST("discovery", NEEDS_XEN, "Xen CPUID leaves, hypercall page, hypercall dispatch");

#define XEN_417 ((4U << 16) | 17)

static uint32_t hcall_msr;

static void test_cpuid_leaves(void)
{
    uint32_t base = xen_cpuid_base;
    struct cpuid_res r = cpuid(base);

    check(r.b == XEN_CPUID_SIGNATURE_EBX && r.c == XEN_CPUID_SIGNATURE_ECX &&
          r.d == XEN_CPUID_SIGNATURE_EDX, "leaf %#x: signature XenVMMXenVMM", base);
    check(base == 0x40000000, "Xen leaves at 0x40000000 (no Viridian shift), found at %#x", base);
    check(r.a >= base + 4 && r.a < base + 0x100,
          "leaf %#x: max leaf %#x covers the HVM leaf %#x", base, r.a, base + 4);

    r = cpuid(base + 1);
    check_eq("leaf base+1 EAX (version, major << 16 | minor)", r.a, XEN_417);
    check(r.b == 0 && r.c == 0 && r.d == 0, "leaf base+1 EBX-EDX reserved, zero (%#x %#x %#x)",
          r.b, r.c, r.d);

    r = cpuid(base + 2);
    check_eq("leaf base+2 EAX (hypercall pages)", r.a, 1);
    check_eq("leaf base+2 EBX (hypercall page MSR)", r.b, 0x40000000);
    hcall_msr = r.b;

    r = cpuid_count(base + 3, 0);
    check(r.b <= 3, "leaf base+3: tsc_mode %u is one of 0-3", r.b);
    if (!r.c)
        test_warn("leaf base+3: guest TSC frequency is 0 kHz (time leaf not filled in?)");
    else
        printk("leaf base+3: tsc flags %#x, mode %u, %u kHz\n", r.a, r.b, r.c);

    r = cpuid_count(base + 4, 0);
    printk("leaf base+4: HVM features %#x, vcpu id %u, domid %u\n", r.a, r.b, r.c);
    check((r.a & ~0x7fU) == 0, "leaf base+4 EAX %#x: only defined XEN_HVM_CPUID_* bits", r.a);
    check((r.a & XEN_HVM_CPUID_VCPU_ID_PRESENT) && r.b == 0,
          "leaf base+4: vcpu id present and 0 on the boot vCPU (flags %#x, id %u)", r.a, r.b);
    check((r.a & XEN_HVM_CPUID_DOMID_PRESENT) && r.c == 0,
          "leaf base+4: domid present and 0 for dom0 (flags %#x, domid %u)", r.a, r.c);
}

/* Decodes one 32-byte stub: b8 <nr> / 0f 01 c1|d9 / c3. */
static bool stub_ok(const uint8_t *s, uint32_t nr, const uint8_t insn[3])
{
    uint32_t imm;
    memcpy(&imm, s + 1, 4);
    return s[0] == 0xb8 && imm == nr && !memcmp(s + 5, insn, 3) && s[8] == 0xc3;
}

static void test_hypercall_page(void)
{
    static const uint8_t vmcall[3] = { 0x0f, 0x01, 0xc1 }, vmmcall[3] = { 0x0f, 0x01, 0xd9 };
    const uint8_t *want = cpu_vendor == VENDOR_AMD ? vmmcall : vmcall;

    memset(hypercall_page, 0xcc, sizeof(hypercall_page));
    if (!check(hypercall_page_init(), "wrmsr(%#x, %p): hypercall page accepted", hcall_msr,
               hypercall_page))
        return;

    unsigned int bad = 0;
    for (uint32_t nr = 0; nr < 128; nr++) {
        const uint8_t *s = hypercall_page + nr * 32;
        /* Xen puts ud2 at __HYPERVISOR_iret: HVM guests have no use for it. */
        if (nr == __HYPERVISOR_iret && s[0] == 0x0f && s[1] == 0x0b)
            continue;
        if (!stub_ok(s, nr, want) && bad++ < 4)
            printk("  stub %u: %02x %02x %02x %02x %02x %02x %02x %02x %02x\n", nr,
                   s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7], s[8]);
    }
    check(bad == 0, "all 128 stubs are mov $nr,%%eax; %s; ret (%u wrong)",
          cpu_vendor == VENDOR_AMD ? "vmmcall" : "vmcall", bad);

    hcall_method = HCALL_PAGE;
    long via_page = HYPERVISOR_xen_version(XENVER_version, NULL);
    hcall_method = hcall_direct_method();
    long direct = HYPERVISOR_xen_version(XENVER_version, NULL);
    long compat = hypercall_compat(__HYPERVISOR_xen_version, XENVER_version, 0, 0,
                                   cpu_vendor == VENDOR_AMD);
    check_eq("xen_version(XENVER_version) through the hypercall page", via_page, XEN_417);
    check_eq("xen_version(XENVER_version) by direct VMCALL/VMMCALL", direct, XEN_417);
    check_eq("xen_version(XENVER_version) from 32-bit compatibility mode", compat, XEN_417);

    /* Hostile MSR writes (Xen's guest_wrmsr_xen / guest_rdmsr): each #GPs and
     * leaves the page as it was. */
    uint64_t pa = (uintptr_t)hypercall_page, v;
    exinfo_clear();
    check(!wrmsr_safe(hcall_msr, pa | 1) && last_exception.vector == X86_EXC_GP,
          "hypercall page MSR with page index 1 -> #GP");
    uint64_t ram_end = ram_region_end((uintptr_t)_start_image);
    if (ram_end && !ram_region_end(ram_end)) {
        exinfo_clear();
        check(!wrmsr_safe(hcall_msr, ram_end) && last_exception.vector == X86_EXC_GP,
              "hypercall page MSR with a non-RAM GPA %#lx -> #GP", ram_end);
    }
    /* Xen's guest_rdmsr_xen: the page MSR reads as zero, its neighbours #GP. */
    v = 0xdead;
    check(rdmsr_safe(hcall_msr, &v) && v == 0, "rdmsr of the hypercall page MSR reads 0 (%#lx)", v);
    exinfo_clear();
    check(!rdmsr_safe(hcall_msr + 1, &v) && last_exception.vector == X86_EXC_GP,
          "rdmsr of MSR %#x (base + 1) -> #GP", hcall_msr + 1);
    exinfo_clear();
    check(!wrmsr_safe(hcall_msr + 1, pa) && last_exception.vector == X86_EXC_GP,
          "wrmsr of MSR %#x (base + 1) -> #GP", hcall_msr + 1);
    check(stub_ok(hypercall_page + __HYPERVISOR_xen_version * 32, __HYPERVISOR_xen_version, want),
          "hypercall page intact after the rejected writes");
}

static uint64_t user_hypercall(void)
{
    return (uint64_t)HYPERVISOR_xen_version(XENVER_version, NULL);
}

static void test_dispatch(void)
{
    check_rc("hypercall 64 (beyond the table)", hypercall_raw(64, 0, 0, 0, 0, 0), -XEN_ENOSYS);
    check_rc("hypercall 0xffffffff", hypercall_raw(0xffffffffUL, 0, 0, 0, 0, 0), -XEN_ENOSYS);
    /* 64-bit callers pass all of RAX: xen_version with bit 32 set is not xen_version. */
    check_rc("hypercall (1 << 32) | __HYPERVISOR_xen_version",
             hypercall_raw((1UL << 32) | __HYPERVISOR_xen_version, XENVER_version, 0, 0, 0, 0),
             -XEN_ENOSYS);
    check_rc("PV-only mmu_update from HVM", hypercall_raw(__HYPERVISOR_mmu_update, 0, 0, 0, 0, 0),
             -XEN_ENOSYS);
    check_rc("PV-only set_trap_table from HVM",
             hypercall_raw(__HYPERVISOR_set_trap_table, 0, 0, 0, 0, 0), -XEN_ENOSYS);
    check_rc("PV-only iret from HVM", hypercall_raw(__HYPERVISOR_iret, 0, 0, 0, 0, 0), -XEN_ENOSYS);

    uint64_t r = exec_user(user_hypercall);
    check(r != EXEC_USER_FAULTED, "hypercall instruction at CPL 3 does not fault (exception %s)",
          r == EXEC_USER_FAULTED ? exception_name(last_exception.vector) : "none");
    if (r != EXEC_USER_FAULTED)
        check_rc("xen_version from CPL 3", (long)r, -XEN_EPERM);
}

void test_main(void)
{
    check(cpu_vendor != VENDOR_OTHER, "CPU vendor %s selects %s", cpu_vendor_str,
          cpu_vendor == VENDOR_AMD ? "VMMCALL" : "VMCALL");
    test_cpuid_leaves();
    test_hypercall_page();
    test_dispatch();
}
