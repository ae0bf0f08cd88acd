/*
 * bench_pv: a benchmark, not a test (tools/bench.sh runs it with dom0=pv;
 * no tests/system case does). What a 64-bit PV guest's hypercalls cost, in
 * instructions: under QEMU -icount shift=0 and under Bochs (one CPU, clock
 * sync=none) the TSC counts every instruction, guest and hypervisor alike.
 *   - pv_null_hypercall: xen_version(XENVER_version, NULL) through the
 *     hypercall page's stub (SYSCALL), as a PV kernel makes it, minus the
 *     same loop without the call;
 *   - pv_mmu_update_per_pte: one mmu_update of BATCH MMU_NORMAL_PT_UPDATE
 *     requests on an L1 table we own and have pinned (not hooked into the
 *     tables), each request moving one entry between two frames (a reference
 *     dropped, one taken), divided by BATCH;
 *   - pv_mmu_update_1: one such request alone, the whole call (no Xen
 *     figure: it shows what the batch spreads).
 * Each figure is the smallest of ROUNDS rounds (a host timer interrupt
 * makes a round longer; rounds are short for Bochs, whose virtual clock
 * runs at 50 M instructions a second). Prints
 *     BENCH <name> <instructions per op> <Xen 4.17's, or ->
 */
#include "pv_guest.h"
#include <xen/version.h>

const char pv_test_name[] = "bench_pv";

#define OPS    250
#define ROUNDS 20
#define BATCH  64
#define RO_PTE (PV_PTE_P | PV_PTE_US | PV_PTE_A)

static inline uint64_t tsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi) :: "memory");
    return ((uint64_t)hi << 32) | lo;
}

static void bench_line(const char *name, uint64_t per_op, const char *xen)
{
    pv_puts("BENCH ");
    pv_puts(name);
    pv_puts(" ");
    pv_put_dec((long)per_op);
    pv_puts(" ");
    pv_puts(xen);
    pv_puts("\n");
}

static void detail(const char *name, uint64_t t, unsigned int ops, uint64_t base)
{
    pv_puts("  ");
    pv_puts(name);
    pv_puts(": ");
    pv_put_dec((long)t);
    pv_puts(" TSC for ");
    pv_put_dec(ops);
    pv_puts(" ops, ");
    pv_put_dec((long)base);
    pv_puts(" without them (best of ");
    pv_put_dec(ROUNDS);
    pv_puts(" rounds)\n");
}

/* The page's stub for xen_version; RCX and R11 are the SYSCALL's, and the
   argument registers are the hypervisor's to clobber as a debug Xen does. */
#define HCALL_CLOBBERS "rax", "rcx", "r11", "rdi", "rsi", "rdx", "r10", "r8", "memory"

static uint64_t null_op(unsigned int n)
{
    void *stub = hypercall_page + __HYPERVISOR_xen_version * 32;
    uint64_t t0 = tsc();

    for (unsigned int i = 0; i < n; i++)
        __asm__ volatile("xor %%edi, %%edi\n xor %%esi, %%esi\n call *%0" :: "r"(stub)
                         : HCALL_CLOBBERS);
    return tsc() - t0;
}

static uint64_t null_base(unsigned int n)
{
    void *stub = hypercall_page + __HYPERVISOR_xen_version * 32;
    uint64_t t0 = tsc();

    for (unsigned int i = 0; i < n; i++)
        __asm__ volatile("xor %%edi, %%edi\n xor %%esi, %%esi\n" :: "r"(stub) : HCALL_CLOBBERS);
    return tsc() - t0;
}

static uint64_t min_of(uint64_t (*fn)(unsigned int), unsigned int n)
{
    uint64_t best = ~0ULL;

    fn(n);                                  /* warm up */
    for (int r = 0; r < ROUNDS; r++) {
        uint64_t t = fn(n);
        if (t < best)
            best = t;
    }
    return best;
}

static void bench_null(void)
{
    uint64_t t_op = min_of(null_op, OPS), t_base = min_of(null_base, OPS);

    detail("pv_null_hypercall", t_op, OPS, t_base);
    bench_line("pv_null_hypercall", t_op > t_base ? (t_op - t_base + OPS / 2) / OPS : 0, "337");
}

/* Two batches over entries 0..BATCH-1 of the L1: all to frame A, all to B. */
static struct mmu_update req[2][BATCH];
static unsigned int batch_failures;

static uint64_t mmu_batch(unsigned int n)
{
    static unsigned int which;
    unsigned int done = 0;
    uint64_t t0 = tsc();
    long rc = pv_hcall(__HYPERVISOR_mmu_update, (uint64_t)req[which], n, (uint64_t)&done,
                       DOMID_SELF, 0);
    uint64_t t = tsc() - t0;

    if (rc != 0 || done != n)
        batch_failures++;
    which ^= 1;
    return t;
}

static uint64_t empty(unsigned int n)
{
    uint64_t t0 = tsc();
    return tsc() - t0;
}

static void bench_mmu_update(void)
{
    uint64_t l1_va = pv_scratch_va(PV_SCRATCH_FREE);
    uint64_t l1_mfn = pv_va_to_mfn(l1_va);
    uint64_t a = pv_va_to_mfn(pv_scratch_va(PV_SCRATCH_FREE + 1));
    uint64_t b = pv_va_to_mfn(pv_scratch_va(PV_SCRATCH_FREE + 2));
    volatile uint64_t *l1 = (volatile uint64_t *)l1_va;
    long rc;

    for (int i = 0; i < 512; i++)
        l1[i] = 0;
    rc = pv_hcall(__HYPERVISOR_update_va_mapping, l1_va, (l1_mfn << 12) | RO_PTE, UVMF_INVLPG, 0, 0);
    pv_check_eq("the L1's page mapped read-only", rc, 0);
    rc = pv_mmuext1(MMUEXT_PIN_L1_TABLE, l1_mfn);
    pv_check_eq("the L1 pinned", rc, 0);
    if (pv_failures)
        return;
    for (int i = 0; i < BATCH; i++) {
        uint64_t ptr = ((l1_mfn << 12) + i * 8) | MMU_NORMAL_PT_UPDATE;
        req[0][i] = (struct mmu_update){ .ptr = ptr, .val = (a << 12) | RO_PTE };
        req[1][i] = (struct mmu_update){ .ptr = ptr, .val = (b << 12) | RO_PTE };
    }

    uint64_t t_base = min_of(empty, 0);
    uint64_t t_batch = min_of(mmu_batch, BATCH);
    uint64_t t_one = min_of(mmu_batch, 1);

    pv_check_eq("every mmu_update accepted in full", batch_failures, 0);
    pv_check(l1[0] == ((a << 12) | RO_PTE) || l1[0] == ((b << 12) | RO_PTE),
             "the L1's entry 0 maps one of the two frames", (long)l1[0], (long)((a << 12) | RO_PTE));
    detail("pv_mmu_update_per_pte", t_batch, BATCH, t_base);
    bench_line("pv_mmu_update_per_pte", (t_batch - t_base + BATCH / 2) / BATCH, "724");
    detail("pv_mmu_update_1", t_one, 1, t_base);
    bench_line("pv_mmu_update_1", t_one - t_base, "-");

    for (int i = 0; i < BATCH; i++)
        req[0][i].val = 0;
    unsigned int done = 0;
    rc = pv_hcall(__HYPERVISOR_mmu_update, (uint64_t)req[0], BATCH, (uint64_t)&done, DOMID_SELF, 0);
    pv_check_eq("the L1's entries cleared", rc, 0);
    pv_check_eq("the L1 unpinned", pv_mmuext1(MMUEXT_UNPIN_TABLE, l1_mfn), 0);
}

void pv_test_main(void)
{
    pv_check_eq("xen_version(XENVER_version) is 4.17",
                pv_hcall(__HYPERVISOR_xen_version, XENVER_version, 0, 0, 0, 0), 0x40011);
    uint64_t t0 = tsc(), t1 = tsc();
    pv_check(t1 > t0, "RDTSC counts in the PV guest", (long)(t1 - t0), 1);
    if (pv_failures)
        return;
    bench_null();
    bench_mmu_update();
}
