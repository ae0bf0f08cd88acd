/*
 * Bringing up the application processors: every enabled processor of the
 * MADT, one at a time, with INIT-SIPI-SIPI (SDM vol. 3A, 8.4.4.1 "Typical
 * BSP initialization sequence"; 10.6.1 for the ICR) through the real-mode
 * trampoline (trampoline.asm). A CPU that does not come up within a second
 * is reported, parked with another INIT, and skipped.
 *
 * Options: `nosmp` (CPU 0 only), `smp=N` / `maxcpus=N` (at most N CPUs,
 * CPU 0 included; maxcpus= as in Xen).
 */
#include <proxenos/acpi.h>
#include <proxenos/apic.h>
#include <proxenos/bootinfo.h>
#include <proxenos/cmdline.h>
#include <proxenos/cpu.h>
#include <proxenos/io.h>
#include <proxenos/layout.h>
#include <proxenos/lib.h>
#include <proxenos/mm.h>
#include <proxenos/pagetable.h>
#include <proxenos/platform.h>
#include <proxenos/printk.h>
#include <proxenos/smp.h>
#include <proxenos/time.h>

static bool opt_nosmp;
boolean_param("nosmp", opt_nosmp);
static unsigned int opt_max_cpus = MAX_CPUS;
integer_param("smp", opt_max_cpus);

static int parse_maxcpus(const char *v)
{
    uint64_t n;

    if (!v || !parse_ulong(v, &n) || n > UINT32_MAX)
        return -1;
    opt_max_cpus = (unsigned int)n;
    return 0;
}
custom_param("maxcpus", parse_maxcpus);

unsigned int smp_cpus_wanted = 1;

bool cpu_online(unsigned int cpu)
{
    return cpu < MAX_CPUS && percpu_table[cpu] && percpu_table[cpu]->online;
}

/* Mirrors the data block at the end of trampoline.asm. */
struct trampoline_data {
    uint64_t gdt[4];
    uint16_t gdt_limit;
    uint32_t gdt_base;
    uint16_t pad0;
    uint32_t pm32_off;
    uint16_t pm32_sel, pad1;
    uint32_t lm64_off;
    uint16_t lm64_sel, pad2;
    uint32_t efer, pad3;
    uint64_t entry64, cr0, cr3, cr4, stack, percpu;
    volatile uint8_t started;
} __packed;

extern const char trampoline_start[], trampoline_end[];
extern const char trampoline_data[], trampoline_data_end[];
extern const uint32_t tramp_pm32_off, tramp_lm64_off;
extern const char ap_entry64[];

/* Code and data page, then the trampoline's PML4, PDPT and PD. */
#define TRAMP_PAGES   4
#define TRAMP_SIZE    (TRAMP_PAGES * PAGE_SIZE)
#define TRAMP_LOWEST  0x1000            /* page 0: real-mode IVT and BIOS data */
#define TRAMP_PREFER  0x8000
#define TRAMP_LIMIT   0x9f000           /* below the EBDA and the VGA/BIOS hole */

#define AP_BOOT_TIMEOUT_MS 1000

static paddr_t tramp_base;
static struct trampoline_data *tramp;
static uint64_t bsp_pat;

static bool overlaps(paddr_t pa, paddr_t start, paddr_t end)
{
    return start < pa + TRAMP_SIZE && pa < end;
}

/* Is [pa, pa + TRAMP_SIZE) usable RAM in the loader's map, clear of the
 * modules and of the loader's (already parsed) information block? */
static bool tramp_fits(const struct boot_info *bi, paddr_t pa)
{
    bool ram = false;

    if (!bi->nr_mmap)
        ram = pa + TRAMP_SIZE <= bi->mem_lower_kb * 1024;
    for (unsigned int i = 0; i < bi->nr_mmap; i++) {
        const struct e820entry *e = &bi->mmap[i];
        if (e->type == E820_RAM && e->addr <= pa && pa + TRAMP_SIZE <= e->addr + e->size)
            ram = true;
        /* Anything else overlapping (reserved, ACPI) rules the range out. */
        if (e->type != E820_RAM && overlaps(pa, e->addr, e->addr + e->size))
            return false;
    }
    for (unsigned int i = 0; i < bi->nr_mods; i++)
        if (overlaps(pa, bi->mods[i].start, bi->mods[i].end))
            return false;
    return ram && !overlaps(pa, bi->info_start, bi->info_end);
}

/*
 * Conventional memory (0x500-0x9ffff) is the OS's once the BIOS has handed
 * over, and our allocator never hands out the first MiB, so the trampoline
 * only has to avoid what the memory map marks reserved (the EBDA), the
 * modules and the loader's information block: the first fitting page from
 * 0x8000 up, else from 0x1000 up (page 0 holds the real-mode IVT and BDA).
 */
static paddr_t tramp_choose(const struct boot_info *bi)
{
    for (paddr_t pa = TRAMP_PREFER; pa + TRAMP_SIZE <= TRAMP_LIMIT; pa += PAGE_SIZE)
        if (tramp_fits(bi, pa))
            return pa;
    for (paddr_t pa = TRAMP_LOWEST; pa < TRAMP_PREFER; pa += PAGE_SIZE)
        if (tramp_fits(bi, pa))
            return pa;
    return 0;
}

/* The trampoline's own page tables (see trampoline.asm). */
static void tramp_build_tables(uint8_t *va)
{
    uint64_t *pml4 = (uint64_t *)(va + PAGE_SIZE);
    uint64_t *pdpt = (uint64_t *)(va + 2 * PAGE_SIZE);
    uint64_t *pd = (uint64_t *)(va + 3 * PAGE_SIZE);
    const uint64_t *live = __va(hv_cr3);

    memset(pml4, 0, 3 * PAGE_SIZE);
    pd[0] = PTE_P | PTE_RW | PTE_PS;                 /* 0-2 MiB, identity */
    pdpt[0] = (tramp_base + 3 * PAGE_SIZE) | PTE_P | PTE_RW;
    pml4[0] = (tramp_base + 2 * PAGE_SIZE) | PTE_P | PTE_RW;
    for (int i = HV_L4_FIRST; i < 512; i++)
        pml4[i] = live[i];
}

/* Offset of a trampoline.asm symbol from trampoline_start (as integers:
 * the linker symbols are distinct objects to C). */
static uintptr_t tramp_off(const char *sym)
{
    return (uintptr_t)sym - (uintptr_t)trampoline_start;
}

static bool tramp_install(void)
{
    uint8_t *va;

    BUILD_BUG_ON(sizeof(struct trampoline_data) != 0x71);
    BUG_ON(tramp_off(trampoline_data_end) - tramp_off(trampoline_data) !=
           sizeof(struct trampoline_data));
    BUG_ON(tramp_off(trampoline_end) > PAGE_SIZE);
    tramp_base = tramp_choose(&boot_info);
    if (!tramp_base)
        return false;
    va = __va(tramp_base);
    memcpy(va, trampoline_start, tramp_off(trampoline_end));
    tramp_build_tables(va);
    tramp = (struct trampoline_data *)(va + tramp_off(trampoline_data));
    tramp->gdt_base = (uint32_t)(tramp_base + tramp_off(trampoline_data));   /* tr_gdt */
    tramp->pm32_off = (uint32_t)tramp_base + tramp_pm32_off;
    tramp->lm64_off = (uint32_t)tramp_base + tramp_lm64_off;
    tramp->efer = (uint32_t)(rdmsr(MSR_EFER) & (EFER_LME | EFER_NXE)) | EFER_LME;
    tramp->entry64 = (uint64_t)ap_entry64;
    tramp->cr0 = read_cr0();
    tramp->cr3 = hv_cr3;
    tramp->cr4 = read_cr4();
    bsp_pat = rdmsr(MSR_PAT);
    printk("SMP: AP trampoline at %#lx-%#lx\n", tramp_base, tramp_base + TRAMP_SIZE - 1);
    return true;
}

/* An AP's per-CPU block, main stack (with its guard page) and IST stacks. */
static struct percpu *ap_alloc(unsigned int cpu, uint32_t apic_id)
{
    struct percpu *pc = xzalloc(sizeof(*pc));
    uintptr_t bottom;

    if (!pc)
        return NULL;
    pc->self = pc;
    pc->cpu_id = cpu;
    pc->apic_id = apic_id;
    pc->stack_top = stack_alloc(&bottom);
    pc->stack_bottom = bottom;
    if (!pc->stack_top)
        return NULL;
    for (int i = 0; i < NR_IST; i++) {
        void *ist = alloc_pages(0);
        if (!ist)
            return NULL;
        pc->ist_top[i] = (uintptr_t)ist + PAGE_SIZE;
    }
    return pc;
}

__noreturn void ap_start(struct percpu *pc)
{
    cpu_desc_init(pc);
    wrmsr(MSR_PAT, bsp_pat);
    lapic_cpu_init();
    timer_cpu_init();
    __atomic_store_n(&pc->online, true, __ATOMIC_RELEASE);
    idle_loop();
}

static bool wait_online(const struct percpu *pc, unsigned int ms)
{
    s_time_t end = NOW() + MILLISECS(ms);

    while (NOW() < end) {
        if (__atomic_load_n(&pc->online, __ATOMIC_ACQUIRE))
            return true;
        cpu_relax();
    }
    return pc->online;
}

/*
 * SDM 8.4.4.1: INIT, 10 ms, SIPI, 200 us, and a second SIPI only if the
 * first was not taken (a second one to a running AP is ignored anyway, but
 * the flag saves the wait). Returns 0, or a reason.
 */
static const char *ap_boot(struct percpu *pc)
{
    uint8_t vector = (uint8_t)(tramp_base >> PAGE_SHIFT);

    tramp->stack = pc->stack_top;
    tramp->percpu = (uint64_t)pc;
    tramp->started = 0;
    __asm__ volatile("mfence" ::: "memory");
    lapic_send_init(pc->apic_id);
    mdelay(10);
    for (int sipi = 0; sipi < 2 && !tramp->started; sipi++) {
        lapic_send_sipi(pc->apic_id, vector);
        udelay(200);
    }
    if (wait_online(pc, AP_BOOT_TIMEOUT_MS))
        return NULL;
    /* Park it in wait-for-SIPI so it cannot run a trampoline reused later. */
    lapic_send_init(pc->apic_id);
    return tramp->started ? "started but did not finish bring-up" :
                            "did not answer INIT-SIPI-SIPI";
}

static unsigned int max_cpus(void)
{
    unsigned int n = opt_nosmp ? 1 : MIN(opt_max_cpus, (unsigned int)MAX_CPUS);

    return MAX(n, 1u);
}

/* Brings up one MADT processor as CPU `cpu`; true when it is online. */
static bool ap_bring_up(unsigned int cpu, uint32_t apic_id)
{
    struct percpu *pc;
    const char *why;

    if (!lapic_x2apic_mode() && apic_id > 0xfe) {
        printk(LOG_WARN "SMP: APIC ID %u needs x2APIC mode; skipped\n", apic_id);
        return false;
    }
    pc = ap_alloc(cpu, apic_id);
    if (!pc) {
        printk(LOG_WARN "SMP: out of memory for CPU %u (APIC ID %u)\n", cpu, apic_id);
        return false;
    }
    percpu_table[cpu] = pc;
    why = ap_boot(pc);
    if (why) {
        /* Its memory is leaked on purpose: a late AP might still touch it. */
        percpu_table[cpu] = NULL;
        printk(LOG_ERR "SMP: CPU with APIC ID %u %s within %u ms\n", apic_id, why,
               AP_BOOT_TIMEOUT_MS);
        return false;
    }
    nr_cpus_online++;
    return true;
}

static void start_aps(void)
{
    uint32_t me = this_cpu()->apic_id;
    unsigned int limit = max_cpus(), skipped = 0;

    for (unsigned int i = 0; i < acpi_info.nr_cpus; i++) {
        const struct acpi_cpu *c = &acpi_info.cpus[i];
        if (!c->enabled || c->apic_id == me)
            continue;
        if (smp_cpus_wanted >= limit) {
            skipped++;
            continue;
        }
        smp_cpus_wanted++;
        ap_bring_up(nr_cpus_online, c->apic_id);
    }
    if (skipped)
        printk("SMP: %u more CPU%s left offline (limit %u)\n", skipped, skipped == 1 ? "" : "s",
               limit);
}

void smp_init(void)
{
    smp_call_init();
    if (max_cpus() > 1 && acpi_info.have_madt && tramp_install())
        start_aps();
    else if (max_cpus() > 1)
        printk(LOG_WARN "SMP: %s; CPU 0 only\n",
               !acpi_info.have_madt ? "no MADT" : "no free low memory for the AP trampoline");
    printk("SMP: %u CPU%s online\n", nr_cpus_online, nr_cpus_online == 1 ? "" : "s");
    /* Every AP runs on hv_cr3 now; nothing needs low memory mapped at 0.
     * (The trampoline has its own identity map, for CPUs started later.) */
    mm_drop_identity_map();
}
