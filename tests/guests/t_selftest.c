/*
 * selftest: the framework checks itself. Needs no hypervisor, so it also
 * runs under plain QEMU (-kernel build/guests/selftest.elf) where it proves
 * the PVH entry, the long-mode switch, the formatter, fault recovery, user
 * mode and the verdict path before any hypervisor is involved.
 */
#include "guest.h"

TEST_GUEST("selftest", NEEDS_NOTHING, "framework self checks: formatting, fault recovery, user mode");

static void check_fmt(const char *want, const char *fmt, ...) __printf(2, 3);
static void check_fmt(const char *want, const char *fmt, ...)
{
    char buf[64];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    check(!strcmp(buf, want) && n == (int)strlen(want),
          "format \"%s\" -> \"%s\" (%d chars), want \"%s\"", fmt, buf, n, want);
}

static void test_format(void)
{
    check_fmt("42 -7 0", "%d %i %u", 42, -7, 0U);
    check_fmt("ffffffff FFFF 0x1f", "%x %X %#x", 0xffffffffU, 0xffff, 0x1f);
    check_fmt("18446744073709551615", "%lu", ~0UL);
    check_fmt("-9223372036854775808", "%ld", (long)(1UL << 63));
    check_fmt("  12|12  |0012|-012", "%4d|%-4d|%04d|%04d", 12, 12, 12, -12);
    check_fmt("0x0000beef", "%#010x", 0xbeef);
    const char *volatile null_str = NULL;
    check_fmt("ab|abc  |(null)", "%.2s|%-5s|%s", "abc", "abc", null_str);
    check_fmt("x%y", "%c%%%c", 'x', 'y');
    check_fmt("ff 7f", "%hhx %hhx", 0x1ff, 0x7f);
    check_fmt("0x1000", "%p", (void *)0x1000);

    char small[5];
    int n = snprintf(small, sizeof(small), "%s", "truncated");
    check(n == 9 && !strcmp(small, "trun"), "snprintf truncates to the buffer and returns the full length");
}

static void touch_unmapped(void *arg)
{
    (void)arg;
    *(volatile uint64_t *)(UNMAPPED_BASE + 0x123) = 1;
    test_fail("write to an unmapped page did not fault");
}

static uint64_t user_fn(void)
{
    uint16_t cs;
    asm volatile ("mov %%cs, %0" : "=r" (cs));
    return 0x1234500 | (cs & 3);
}

static uint64_t user_priv_insn(void)
{
    asm volatile ("cli");
    return 0;
}

static void test_recovery(void)
{
    unsigned long rip;
    exinfo_clear();
    asm volatile ("lea 1f(%%rip), %0\n1: ud2\n2:\n" EXTABLE(1b, 2b) : "=r" (rip) :: "memory");
    check(last_exception.taken && last_exception.vector == X86_EXC_UD && last_exception.rip == rip,
          "extable: ud2 recorded as vector %u at %#lx (want 6 at %#lx) and resumed",
          last_exception.vector, last_exception.rip, rip);

    exinfo_clear();
    int caught = catch_call(touch_unmapped, NULL);
    check(caught == 1 && last_exception.vector == X86_EXC_PF &&
          last_exception.cr2 == UNMAPPED_BASE + 0x123 && last_exception.error_code == PFEC_WRITE,
          "catch_call: #PF unwound (caught %d, vector %u, error %#lx, cr2 %#lx)",
          caught, last_exception.vector, last_exception.error_code, last_exception.cr2);

    uint64_t r = exec_user(user_fn);
    check(r == 0x1234503, "exec_user: function ran at CPL 3 and returned %#lx", r);

    exinfo_clear();
    r = exec_user(user_priv_insn);
    check(r == EXEC_USER_FAULTED && last_exception.vector == X86_EXC_GP &&
          last_exception.from_user && last_exception.error_code == 0,
          "exec_user: CLI at CPL 3 raised #GP(0) (vector %u, error %#lx)",
          last_exception.vector, last_exception.error_code);

    /* Still a sane kernel afterwards: a second round trip. */
    check(exec_user(user_fn) == 0x1234503, "exec_user works again after a user fault");
}

static void compat_call(void *arg)
{
    *(long *)arg = hypercall_compat(__HYPERVISOR_xen_version, XENVER_version, 0, 0,
                                    cpu_vendor == VENDOR_AMD);
}

/* The trip to 32-bit compatibility mode and back. Under a hypervisor the
 * hypercall answers; without one, VMCALL/VMMCALL raise #UD, which must come
 * from the 32-bit code segment and unwind cleanly to 64-bit mode. */
static void test_compat_mode(void)
{
    long rc = -1;
    exinfo_clear();
    int caught = catch_call(compat_call, &rc);
    if (xen_present)
        check(!caught && rc == cpuid(xen_cpuid_base + 1).a,
              "xen_version from compatibility mode -> %#lx", rc);
    else
        check(caught && last_exception.vector == X86_EXC_UD && last_exception.cs == SEL_CODE32,
              "compatibility-mode VMCALL without a hypervisor: %s with CS %#x (want #UD, CS 0x18)",
              exception_name(last_exception.vector), last_exception.cs);
    uint16_t cs;
    asm volatile ("mov %%cs, %0" : "=r" (cs));
    check(cs == SEL_CODE64, "back in 64-bit mode (CS %#x)", cs);
}

static void test_environment(void)
{
    char buf[32];
    check(cpu_vendor != VENDOR_OTHER, "CPU vendor '%s' is AMD or Intel", cpu_vendor_str);
    check(start_info_valid, "hvm_start_info found (magic %#x)", start_info.magic);
    check(guest_memmap_nr > 0 && ram_region_end((uintptr_t)_end) > (uintptr_t)_end,
          "memory map has %u entries and RAM past the image end %p", guest_memmap_nr, _end);
    if (cmdline_get("selftest-arg", buf, sizeof(buf)))
        check(!strcmp(buf, "hello"), "cmdline selftest-arg=%s (want hello)", buf);
    uint64_t efer = rdmsr(MSR_EFER);
    check((efer & (EFER_LME | EFER_LMA)) == (EFER_LME | EFER_LMA), "EFER %#lx: long mode active", efer);
}

void test_main(void)
{
    test_format();
    test_recovery();
    test_compat_mode();
    test_environment();
}
