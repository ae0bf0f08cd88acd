/*
 * The 64-bit PV test guest library: what pv_guest.h declares.
 */
#include "pv_guest.h"

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

long pv_hcall_raw(uint64_t nr, uint64_t a1, uint64_t a2)
{
    long rax;

    __asm__ volatile("syscall" : "=a"(rax), "+D"(a1), "+S"(a2) : "a"(nr)
                     : "memory", "rcx", "r11", "rdx", "r8", "r9", "r10");
    return rax;
}

size_t pv_strlen(const char *s)
{
    size_t n = 0;

    while (s[n])
        n++;
    return n;
}

bool pv_memeq(const void *a, const void *b, size_t n)
{
    const uint8_t *x = a, *y = b;

    for (size_t i = 0; i < n; i++)
        if (x[i] != y[i])
            return false;
    return true;
}

bool pv_contains(const char *s, const char *word)
{
    size_t n = pv_strlen(word);

    for (; *s; s++)
        if (pv_memeq(s, word, n))
            return true;
    return false;
}

bool pv_cmdline_has(const char *word)
{
    return pv_contains((const char *)pv_si->cmd_line, word);
}

void pv_write(const char *s, size_t n)
{
    pv_hcall(__HYPERVISOR_console_io, CONSOLEIO_write, n, (uint64_t)s, 0, 0);
}

void pv_puts(const char *s)
{
    pv_write(s, pv_strlen(s));
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

static void verdict(const char *tag, bool ok, const char *what, long got, long want)
{
    pv_puts(tag);
    pv_puts(what);
    if (!ok) {
        pv_puts(" (got ");
        pv_put_dec(got);
        pv_puts(", want ");
        pv_put_dec(want);
        pv_puts(")");
    }
    pv_puts("\n");
}

void pv_check(bool ok, const char *what, long got, long want)
{
    verdict(ok ? "  ok: " : "FAIL: ", ok, what, got, want);
    if (!ok)
        pv_failures++;
}

void pv_warn(bool ok, const char *what, long got, long want)
{
    verdict(ok ? "  ok: " : "WARN: ", ok, what, got, want);
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

uint64_t pv_read_pte(uint64_t maddr)
{
    return ((const uint64_t *)pv_mfn_to_va(maddr >> 12))[(maddr & 0xfff) / 8];
}

/* Entries hold machine addresses; the M2P turns them back into our
   virtual addresses. */
uint64_t pv_pte_maddr(uint64_t va, int level)
{
    uint64_t table_mfn = pv_va_to_mfn(pv_si->pt_base);

    for (int l = 4; l > level; l--)
        table_mfn = PV_PTE_MFN(pv_read_pte((table_mfn << 12) + ((va >> (12 + 9 * (l - 1))) & 511) * 8));
    return (table_mfn << 12) + ((va >> (12 + 9 * (level - 1))) & 511) * 8;
}

uint64_t pv_scratch_va(unsigned int n)
{
    return pv_si->pt_base + (pv_si->nr_pt_frames + 1 + n) * PV_PAGE_SIZE;
}

long pv_mmu_update1(uint64_t ptr, uint64_t val)
{
    struct mmu_update req = { .ptr = ptr, .val = val };
    unsigned int done = 0;

    return pv_hcall(__HYPERVISOR_mmu_update, (uint64_t)&req, 1, (uint64_t)&done, DOMID_SELF, 0);
}

long pv_mmuext1(unsigned int cmd, uint64_t mfn)
{
    struct mmuext_op op = { .cmd = cmd, .arg1.mfn = mfn };
    unsigned int done = 0;

    return pv_hcall(__HYPERVISOR_mmuext_op, (uint64_t)&op, 1, (uint64_t)&done, DOMID_SELF, 0);
}

long pv_map_shared_info(struct shared_info **out)
{
    static long rc = 1;
    uint64_t va = pv_scratch_va(PV_SCRATCH_SHINFO);

    if (rc)
        rc = pv_hcall(__HYPERVISOR_update_va_mapping, va, pv_si->shared_info | 0x67, UVMF_INVLPG,
                      0, 0);
    pv_vcpu_info = va;                       /* vcpu_info[0] is at offset 0 */
    *out = (struct shared_info *)va;
    return rc;
}

extern const uint64_t pv_trap_stubs[33];

long pv_trap_install(void)
{
    static struct trap_info t[34];

    for (unsigned int i = 0; i < 33; i++) {
        uint8_t vec = i < 32 ? (uint8_t)i : 0x80;

        t[i] = (struct trap_info){ .vector = vec, .flags = (vec == 3 || vec == 4 || vec == 0x80) ? 3 : 0,
                                   .cs = FLAT_KERNEL_CS, .address = pv_trap_stubs[i] };
    }
    return pv_hcall(__HYPERVISOR_set_trap_table, (uint64_t)t, 0, 0, 0, 0);
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
