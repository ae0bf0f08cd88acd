/*
 * The 64-bit PV test guest library: what pv_guest.h declares.
 */
#include "pv_guest.h"

#define PV_VIRT_BASE 0x400000UL   /* pv_head.asm */

start_info_t *pv_si;
unsigned int pv_failures;

/* The 64-bit PV hypercall ABI: number in the page's stub, arguments in
   RDI, RSI, RDX, R10, R8; the stub preserves RCX and R11 itself. */
long pv_hcall(unsigned int nr, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5)
{
    register uint64_t r10 __asm__("r10") = a4;
    register uint64_t r8 __asm__("r8") = a5;
    long rax;

    __asm__ volatile("call *%[fn]"
                     : "=a"(rax), "+D"(a1), "+S"(a2), "+d"(a3), "+r"(r10), "+r"(r8)
                     : [fn] "r"(hypercall_page + nr * 32)
                     : "memory", "r9", "r11", "rcx");
    return rax;
}

static size_t len(const char *s)
{
    size_t n = 0;

    while (s[n])
        n++;
    return n;
}

void pv_puts(const char *s)
{
    pv_hcall(__HYPERVISOR_console_io, CONSOLEIO_write, len(s), (uint64_t)s, 0, 0);
}

void pv_put_hex(uint64_t v)
{
    char b[19];
    int i = 18;

    b[i] = 0;
    do {
        b[--i] = "0123456789abcdef"[v & 15];
        v >>= 4;
    } while (v);
    b[--i] = 'x';
    b[--i] = '0';
    pv_puts(b + i);
}

void pv_put_dec(long v)
{
    char b[24];
    int i = 23;
    unsigned long u = v < 0 ? -(unsigned long)v : (unsigned long)v;

    b[i] = 0;
    do {
        b[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        b[--i] = '-';
    pv_puts(b + i);
}

void pv_check(bool ok, const char *what, long got, long want)
{
    pv_puts(ok ? "  ok: " : "FAIL: ");
    pv_puts(what);
    if (!ok) {
        pv_puts(" (got ");
        pv_put_dec(got);
        pv_puts(", want ");
        pv_put_dec(want);
        pv_puts(")");
        pv_failures++;
    }
    pv_puts("\n");
}

void pv_finish(void)
{
    struct sched_shutdown sd = { .reason = pv_failures ? SHUTDOWN_crash : SHUTDOWN_poweroff };

    pv_puts(pv_failures ? "Test result: FAIL\n" : "Test result: PASS\n");
    for (;;)
        pv_hcall(__HYPERVISOR_sched_op, SCHEDOP_shutdown, (uint64_t)&sd, 0, 0, 0);
}

uint64_t pv_va_to_mfn(uint64_t va)
{
    const unsigned long *p2m = (const unsigned long *)pv_si->mfn_list;

    return p2m[(va - PV_VIRT_BASE) / PV_PAGE_SIZE];
}

uint64_t pv_mfn_to_va(uint64_t mfn)
{
    const unsigned long *m2p = (const unsigned long *)PV_RO_MPT;

    return PV_VIRT_BASE + m2p[mfn] * PV_PAGE_SIZE;
}

void pv_main(start_info_t *si)
{
    pv_si = si;
    pv_puts("PV test guest '");
    pv_puts(pv_test_name);
    pv_puts("' starting\n");
    pv_test_main();
    pv_finish();
}
