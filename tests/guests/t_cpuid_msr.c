/*
 * cpuid_msr: what the guest sees of the CPU.
 *  - CPUID: the host's vendor (the system test passes it as vendor=...),
 *    the hypervisor-present bit, and no SVM or VMX for the guest (Xen
 *    without nested virtualisation hides both).
 *  - MSRs: an unknown MSR #GPs on read and write; EFER reads with long mode
 *    active and without the hypervisor's SVME, and setting SVME (no SVM in
 *    CPUID) or a reserved bit #GPs; IA32_APIC_BASE is enabled at 0xfee00000
 *    with BSP set and takes its own value back; PAT starts at its reset
 *    value, keeps what is written, and #GPs on a reserved memory type.
 */
#include "guest.h"

TEST_GUEST("cpuid_msr", NEEDS_XEN, "CPUID as the guest sees it, MSR reads and writes, #GP on bad MSRs");

#define MSR_PAT 0x277
#define PAT_RESET 0x0007040600070406ULL

static void test_cpuid(void)
{
    char want[16];
    if (cmdline_get("vendor", want, sizeof(want)))
        check(!strcmp(cpu_vendor_str, want), "CPUID leaf 0 vendor '%s' is the host's '%s'",
              cpu_vendor_str, want);
    else
        test_skip("no vendor= on the command line: host vendor not compared ('%s')", cpu_vendor_str);

    struct cpuid_res l1 = cpuid(1);
    check(l1.c & (1U << 31), "leaf 1 ECX[31] hypervisor present (ECX %#x)", l1.c);
    check(!(l1.c & (1U << 5)), "leaf 1 ECX[5] VMX hidden from the guest (ECX %#x)", l1.c);

    uint32_t max_ext = cpuid(0x80000000).a;
    if (max_ext >= 0x80000001) {
        uint32_t ecx = cpuid(0x80000001).c;
        check(!(ecx & (1U << 2)), "leaf 0x80000001 ECX[2] SVM hidden from the guest (ECX %#x)", ecx);
    }
    if (max_ext >= 0x80000008) {
        uint8_t pa = (uint8_t)cpuid(0x80000008).a;
        check(pa >= 32 && pa <= 52, "leaf 0x80000008: %u physical address bits", pa);
    }
    /* The same leaf twice gives the same answer (no per-exit garbage). */
    struct cpuid_res again = cpuid(1);
    check(again.a == l1.a && again.c == l1.c && again.d == l1.d, "leaf 1 is stable across calls");
}

static void test_unknown_msrs(void)
{
    uint64_t v = 0;
    unsigned long rip;
    exinfo_clear();
    asm volatile ("lea 1f(%%rip), %0\n1: rdmsr\n2:\n" EXTABLE(1b, 2b)
                  : "=&r" (rip) : "c" (0x12345678) : "rax", "rdx", "memory");
    check(last_exception.count == 1 && last_exception.vector == X86_EXC_GP &&
          last_exception.error_code == 0 && last_exception.rip == rip,
          "rdmsr 0x12345678 -> #GP(0) at the rdmsr (%u exception(s), %s(%#lx) at %#lx)",
          last_exception.count, exception_name(last_exception.vector),
          last_exception.error_code, last_exception.rip);
    exinfo_clear();
    check(!wrmsr_safe(0x12345678, 0) && last_exception.vector == X86_EXC_GP,
          "wrmsr 0x12345678 -> #GP");
    exinfo_clear();
    check(!rdmsr_safe(0xc0012345, &v) && last_exception.vector == X86_EXC_GP,
          "rdmsr 0xc0012345 -> #GP");
}

static void test_efer(void)
{
    uint64_t efer;
    if (!check(rdmsr_safe(MSR_EFER, &efer), "rdmsr EFER does not fault"))
        return;
    check((efer & (EFER_LME | EFER_LMA)) == (EFER_LME | EFER_LMA),
          "EFER %#lx: LME and LMA set", efer);
    check(!(efer & EFER_SVME), "EFER.SVME clear: the hypervisor's own SVM is not visible");
    bool nx = cpuid(0x80000000).a >= 0x80000001 && (cpuid(0x80000001).d & (1U << 20));
    check(!!(efer & EFER_NXE) == nx, "EFER.NXE %s as head.asm set it", nx ? "set" : "clear");

    exinfo_clear();
    bool ok = wrmsr_safe(MSR_EFER, efer | EFER_SVME);
    check(!ok && last_exception.vector == X86_EXC_GP,
          "setting EFER.SVME without SVM in CPUID -> #GP");
    if (ok)
        wrmsr(MSR_EFER, efer);
    exinfo_clear();
    ok = wrmsr_safe(MSR_EFER, efer | (1ULL << 63));
    check(!ok && last_exception.vector == X86_EXC_GP, "setting reserved EFER bit 63 -> #GP");
    if (ok)
        wrmsr(MSR_EFER, efer);
    check_eq("EFER unchanged after the rejected writes", rdmsr(MSR_EFER), efer);
}

static void test_apic_base(void)
{
    uint64_t base;
    if (!check(rdmsr_safe(MSR_APIC_BASE, &base), "rdmsr IA32_APIC_BASE does not fault"))
        return;
    check((base & ~0xfffULL) == 0xfee00000ULL && (base & (1ULL << 11)) && (base & (1ULL << 8)),
          "IA32_APIC_BASE %#lx: at 0xfee00000, enabled, BSP", base);
    check(wrmsr_safe(MSR_APIC_BASE, base), "wrmsr IA32_APIC_BASE with its own value");
    check_eq("IA32_APIC_BASE after the write", rdmsr(MSR_APIC_BASE), base);
}

static void test_pat(void)
{
    uint64_t pat;
    if (!check(rdmsr_safe(MSR_PAT, &pat), "rdmsr PAT does not fault"))
        return;
    check_eq("PAT at boot (the architectural reset value)", pat, PAT_RESET);
    uint64_t alt = 0x0007010600070106ULL;     /* WC in PA2 and PA6 */
    if (check(wrmsr_safe(MSR_PAT, alt), "wrmsr PAT with valid memory types"))
        check_eq("PAT after the write", rdmsr(MSR_PAT), alt);
    /* With nested paging the PAT MSR is usually the guest's own (Xen lets
     * SVM handle it), so the CPU checks the types: QEMU's TCG does not. */
    exinfo_clear();
    bool ok = wrmsr_safe(MSR_PAT, (PAT_RESET & ~0xffULL) | 0x02);   /* PA0: type 2 is reserved */
    if (ok && emu_tcg)
        test_skip("wrmsr PAT with reserved type 2 accepted: TCG does not check PAT types");
    else
        check(!ok && last_exception.vector == X86_EXC_GP, "wrmsr PAT with reserved type 2 -> #GP");
    wrmsr(MSR_PAT, pat);
    check_eq("PAT restored", rdmsr(MSR_PAT), pat);
}

void test_main(void)
{
    test_cpuid();
    test_unknown_msrs();
    test_efer();
    test_apic_base();
    test_pat();
}
