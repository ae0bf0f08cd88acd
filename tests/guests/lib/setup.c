/*
 * From the PVH entry to test_main() and back: hypervisor discovery, the
 * hvm_start_info the builder passed (xen/arch-x86/hvm/start_info.h), the
 * checks of the PVH boot ABI that every guest makes, and the final verdict.
 */
#include "guest.h"

void traps_init(void);

enum cpu_vendor cpu_vendor;
char cpu_vendor_str[13];
bool xen_present;
uint32_t xen_cpuid_base;
bool start_info_valid;
struct hvm_start_info start_info;
struct hvm_memmap_table_entry guest_memmap[MAX_MEMMAP];
unsigned int guest_memmap_nr;
char guest_cmdline[512];
bool emu_tcg;

static unsigned int n_pass, n_fail, n_skip;
extern uint64_t pd0[], scratch_pd[];

/* --- verdicts ------------------------------------------------------------------ */
static void report_line(const char *tag, const char *fmt, va_list ap)
{
    char buf[400];
    vsnprintf(buf, sizeof(buf), fmt, ap);
    printk("%s%s\n", tag, buf);
}

void test_pass(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report_line("  ok: ", fmt, ap);
    va_end(ap);
    n_pass++;
}

void test_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report_line("FAIL: ", fmt, ap);
    va_end(ap);
    n_fail++;
}

void test_skip(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report_line("SKIP: ", fmt, ap);
    va_end(ap);
    n_skip++;
}

void test_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report_line("WARN: ", fmt, ap);
    va_end(ap);
}

unsigned int test_failures(void)
{
    return n_fail;
}

bool check(bool ok, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report_line(ok ? "  ok: " : "FAIL: ", fmt, ap);
    va_end(ap);
    if (ok)
        n_pass++;
    else
        n_fail++;
    return ok;
}

bool check_eq(const char *what, uint64_t got, uint64_t want)
{
    if (got == want)
        return check(true, "%s = %#lx", what, got);
    return check(false, "%s = %#lx, expected %#lx", what, got, want);
}

bool check_rc(const char *what, long got, long want)
{
    if (got == want)
        return check(true, "%s -> %ld (%s)", what, got, errno_name(got));
    return check(false, "%s -> %ld (%s), expected %ld (%s)", what, got,
                 errno_name(got), want, errno_name(want));
}

static void native_exit(uint8_t code)
{
    outb(0xf4, code);           /* QEMU isa-debug-exit: exits (code << 1) | 1 */
    for (;;)
        asm volatile ("cli; hlt");
}

void test_finish(void)
{
    static bool finishing;
    if (finishing)              /* an exception while reporting: just stop */
        native_exit(0x11);
    finishing = true;

    const char *verdict = n_fail ? "FAIL" : n_pass ? "PASS" : n_skip ? "SKIP" : "FAIL";
    if (!n_fail && !n_pass && !n_skip)
        printk("FAIL: the test checked nothing\n");
    printk("Summary: %u checks passed, %u failed, %u skipped\n", n_pass, n_fail, n_skip);
    printk("Test result: %s\n", verdict);

    if (!xen_present)
        native_exit(verdict[0] == 'P' ? 0x10 : verdict[0] == 'S' ? 0x13 : 0x11);

    struct sched_shutdown sd = {
        .reason = verdict[0] == 'F' ? SHUTDOWN_crash : SHUTDOWN_poweroff,
    };
    long rc = HYPERVISOR_sched_op(SCHEDOP_shutdown, &sd);
    /* Still running: the hypervisor ignored the shutdown. End in a way it
     * cannot mistake for a pass. */
    printk("FAIL: SCHEDOP_shutdown returned %ld (%s); triple-faulting\n", rc, errno_name(rc));
    load_empty_idt();
    asm volatile ("ud2");
    for (;;)
        ;
}

/* --- environment ----------------------------------------------------------------- */
static void detect_vendor(void)
{
    struct cpuid_res r = cpuid(0);
    memcpy(cpu_vendor_str + 0, &r.b, 4);
    memcpy(cpu_vendor_str + 4, &r.d, 4);
    memcpy(cpu_vendor_str + 8, &r.c, 4);
    cpu_vendor_str[12] = '\0';
    if (!strcmp(cpu_vendor_str, "AuthenticAMD") || !strcmp(cpu_vendor_str, "HygonGenuine"))
        cpu_vendor = VENDOR_AMD;
    else if (!strcmp(cpu_vendor_str, "GenuineIntel"))
        cpu_vendor = VENDOR_INTEL;
}

/* Xen's leaves sit at 0x40000000 or, under Viridian, 0x40000100: scan the
 * range the way Linux and XTF do (xen/arch-x86/cpuid.h). */
static void detect_xen(void)
{
    if (!(cpuid(1).c & (1U << 31)))
        return;                 /* no hypervisor-present bit: nothing to scan */
    for (uint32_t base = 0x40000000; base < 0x40010000; base += 0x100) {
        struct cpuid_res r = cpuid(base);
        if (r.b == XEN_CPUID_SIGNATURE_EBX && r.c == XEN_CPUID_SIGNATURE_ECX &&
            r.d == XEN_CPUID_SIGNATURE_EDX && r.a - base >= 2) {
            xen_present = true;
            xen_cpuid_base = base;
            return;
        }
    }
}

bool cmdline_get(const char *key, char *buf, size_t size)
{
    size_t klen = strlen(key);
    for (const char *p = guest_cmdline; *p;) {
        while (*p == ' ')
            p++;
        const char *end = p;
        while (*end && *end != ' ')
            end++;
        if (!strncmp(p, key, klen) && (p + klen == end || p[klen] == '=')) {
            const char *v = p + klen + (p + klen < end);
            size_t n = (size_t)(end - v);
            if (size) {
                n = n < size - 1 ? n : size - 1;
                memcpy(buf, v, n);
                buf[n] = '\0';
            }
            return true;
        }
        p = end;
    }
    return false;
}

uint64_t ram_region_end(uint64_t gpa)
{
    for (unsigned int i = 0; i < guest_memmap_nr; i++) {
        const struct hvm_memmap_table_entry *e = &guest_memmap[i];
        if (e->type == XEN_HVM_MEMMAP_TYPE_RAM && gpa >= e->addr && gpa - e->addr < e->size)
            return e->addr + e->size;
    }
    return 0;
}

static const char *memmap_type(uint32_t t)
{
    switch (t) {
    case XEN_HVM_MEMMAP_TYPE_RAM: return "RAM";
    case XEN_HVM_MEMMAP_TYPE_RESERVED: return "reserved";
    case XEN_HVM_MEMMAP_TYPE_ACPI: return "ACPI";
    case XEN_HVM_MEMMAP_TYPE_NVS: return "NVS";
    case XEN_HVM_MEMMAP_TYPE_UNUSABLE: return "unusable";
    case XEN_HVM_MEMMAP_TYPE_DISABLED: return "disabled";
    case XEN_HVM_MEMMAP_TYPE_PMEM: return "pmem";
    default: return "?";
    }
}

static bool overlaps_image(uint64_t addr, uint64_t len)
{
    uint64_t lo = (uintptr_t)_start_image, hi = (uintptr_t)_end;
    return len && addr < hi && addr + len > lo;
}

/* Checks that are the PVH builder's business are failures under a
 * hypervisor; natively, QEMU's own loader is the builder: notes only. */
static void boot_check(bool ok, const char *what)
{
    if (xen_present)
        check(ok, "PVH boot ABI: %s", what);
    else if (!ok)
        printk("note: PVH boot ABI (QEMU loader): not true: %s\n", what);
}

static void read_start_info(uint32_t pa)
{
    const struct hvm_start_info *si = (const void *)(uintptr_t)pa;
    boot_check(pa != 0 && !overlaps_image(pa, sizeof(*si)),
               "EBX points to hvm_start_info outside the loaded image");
    if (!pa || si->magic != XEN_HVM_START_MAGIC_VALUE) {
        boot_check(false, "hvm_start_info magic is 0x336ec578");
        return;
    }
    start_info = *si;
    start_info_valid = true;
    boot_check(si->version >= 1, "hvm_start_info version >= 1 (has the memory map)");

    if (si->cmdline_paddr) {
        const char *c = (const char *)(uintptr_t)si->cmdline_paddr;
        size_t n = strnlen(c, sizeof(guest_cmdline) - 1);
        memcpy(guest_cmdline, c, n);
        guest_cmdline[n] = '\0';
    }
    printk("start_info: version %u, flags %#x, %u module(s), rsdp %#lx, cmdline '%s'\n",
           si->version, si->flags, si->nr_modules, si->rsdp_paddr, guest_cmdline);

    if (si->version >= 1 && si->memmap_paddr) {
        const struct hvm_memmap_table_entry *m = (const void *)(uintptr_t)si->memmap_paddr;
        guest_memmap_nr = si->memmap_entries < MAX_MEMMAP ? si->memmap_entries : MAX_MEMMAP;
        for (unsigned int i = 0; i < guest_memmap_nr; i++) {
            guest_memmap[i] = m[i];
            printk("  memmap[%u]: %#014lx-%#014lx %s\n", i, m[i].addr,
                   m[i].addr + m[i].size - 1, memmap_type(m[i].type));
        }
        boot_check(!overlaps_image(si->memmap_paddr, si->memmap_entries * sizeof(*m)),
                   "memory map outside the loaded image");
        uint64_t end = ram_region_end((uintptr_t)_start_image);
        boot_check(end >= (uintptr_t)_end, "memory map has RAM under the whole image");
    }
}

static void check_entry_state(void)
{
    const struct entry_state *es = &entry_state;
    /* pvh.pandoc: CR0.PE set, all other writable bits clear (ET is fixed). */
    boot_check((es->cr0 & X86_CR0_PE) && !(es->cr0 & ~(uint32_t)(X86_CR0_PE | X86_CR0_ET)),
               "CR0 has PE set and every other writable bit clear");
    boot_check(es->cr4 == 0, "CR4 is 0");
    boot_check(!(es->eflags & (X86_EFLAGS_VM | X86_EFLAGS_IF | X86_EFLAGS_TF)),
               "EFLAGS.VM, IF and TF clear");
    boot_check(es->ds_probe == ENTRY_PROBE_VALUE && es->es_probe == ENTRY_PROBE_VALUE,
               "DS and ES are flat (base 0)");
    if (!xen_present || test_failures())
        printk("entry: cr0 %#x cr4 %#x eflags %#x\n", es->cr0, es->cr4, es->eflags);
}

/* --- memory ---------------------------------------------------------------------- */
volatile uint64_t *pd_entry(uint64_t va)
{
    if (va < UNMAPPED_BASE)
        return &pd0[va >> 21];
    if (va >= SCRATCH_BASE && va < SCRATCH_BASE + (1ULL << 30))
        return &scratch_pd[(va - SCRATCH_BASE) >> 21];
    return NULL;
}

void *map_scratch(unsigned int slot, uint64_t pa, uint64_t flags)
{
    uint64_t va = SCRATCH_BASE + ((uint64_t)(slot & 511) << 21);
    scratch_pd[slot & 511] = (pa & ~0x1fffffULL) | flags | PTE_P | PTE_PS;
    invlpg((void *)va);
    return (void *)(va + (pa & 0x1fffff));
}

/* --- entry from head.asm -------------------------------------------------------- */
void lib_main(void)
{
    traps_init();
    detect_vendor();
    detect_xen();
    hcall_method = hcall_direct_method();

    printk("--- Proxenos test guest '%s': %s\n", test_desc.name, test_desc.summary);
    if (xen_present) {
        uint32_t v = cpuid(xen_cpuid_base + 1).a;
        printk("Hypervisor: Xen ABI %u.%u (CPUID base %#x), CPU vendor %s\n",
               v >> 16, v & 0xffff, xen_cpuid_base, cpu_vendor_str);
    } else {
        printk("no Xen-compatible hypervisor found (no XenVMMXenVMM signature in "
               "CPUID 0x40000000-0x4000ff00), CPU vendor %s\n", cpu_vendor_str);
    }
    read_start_info(entry_state.ebx);
    check_entry_state();
    emu_tcg = cmdline_get("tcg", NULL, 0);
    if (emu_tcg)
        printk("tcg: accepting QEMU TCG's known deviations from the architecture\n");

    char opt[16];
    if (xen_present && cmdline_get("hcall", opt, sizeof(opt)) && !strcmp(opt, "page")) {
        if (hypercall_page_init()) {
            hcall_method = HCALL_PAGE;
            printk("hypercalls go through the hypercall page\n");
        } else {
            test_fail("hcall=page: writing the hypercall page MSR faulted");
        }
    }

    /* force-native: run a NEEDS_XEN test anyway, to debug its non-hypercall
     * parts under plain QEMU (hypercalls then #UD). */
    if (!xen_present && test_desc.needs == NEEDS_XEN && cmdline_get("force-native", NULL, 0))
        printk("force-native: running without a hypervisor\n");
    else if (!xen_present && test_desc.needs == NEEDS_XEN) {
        test_skip("'%s' needs a Xen-ABI hypervisor", test_desc.name);
        test_finish();
    }
    test_main();
    test_finish();
}
