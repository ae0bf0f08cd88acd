/*
 * start_hypervisor(): the C entry of CPU 0, called by head.asm in long mode
 * on the boot stack. Brings the machine up in dependency order and ends in
 * the idle loop.
 */
#include <proxenos/bootinfo.h>
#include <proxenos/cmdline.h>
#include <proxenos/console.h>
#include <proxenos/cpu.h>
#include <proxenos/dombuild.h>
#include <proxenos/hvm.h>
#include <proxenos/sched.h>
#include <proxenos/io.h>
#include <proxenos/lib.h>
#include <proxenos/mm.h>
#include <proxenos/platform.h>
#include <proxenos/printk.h>
#include <proxenos/selftest.h>
#include <proxenos/shutdown.h>
#include <proxenos/version.h>

struct boot_info boot_info;
struct percpu *percpu_table[MAX_CPUS];
unsigned int nr_cpus_online;
static struct percpu cpu0_percpu;

extern char cpu0_stack_bottom[], cpu0_stack_top[], cpu0_ist_stacks[];

static char opt_console[16] = "com1";
string_param("console", opt_console);

/* The first 4 GiB are mapped by head.asm; nothing above is reachable yet. */
static const void *boot_map_low(const struct boot_mem *m, paddr_t pa, size_t len)
{
    if (pa >= GiB(4) || len > GiB(4) - pa)
        return NULL;
    return __va(pa);
}

static void cpu0_early_init(void)
{
    struct percpu *pc = &cpu0_percpu;

    pc->self = pc;
    pc->cpu_id = 0;
    pc->stack_top = (uintptr_t)cpu0_stack_top;
    pc->stack_bottom = (uintptr_t)cpu0_stack_bottom;
    for (int i = 0; i < NR_IST; i++)
        pc->ist_top[i] = (uintptr_t)cpu0_ist_stacks + (i + 1) * PAGE_SIZE;
    percpu_table[0] = pc;
    traps_init();
    cpu_desc_init(pc);
    pc->online = true;
    nr_cpus_online = 1;
}

static void console_setup(void)
{
    if (!strcmp(opt_console, "com1") || !strcmp(opt_console, "vga,com1") ||
        !strcmp(opt_console, "com1,vga"))
        return;                        /* already there */
    if (!strcmp(opt_console, "com2")) {
        serial_init(0x2f8);
        return;
    }
    if (!strcmp(opt_console, "none")) {
        serial_init(0);
        return;
    }
    printk(LOG_WARN "console=%s: unknown console, keeping com1\n", opt_console);
}

static void print_boot_info(const struct boot_info *bi)
{
    printk("Proxenos %s (x86-64) booted by %s via Multiboot %d\n", PROXENOS_VERSION,
           bi->loader[0] ? bi->loader : "an unnamed loader", bi->multiboot_version);
    printk("Command line: %s\n", bi->cmdline);
    for (unsigned int i = 0; i < bi->nr_mods; i++)
        printk("Module %u: %#lx-%#lx (%lu KiB) '%s'\n", i, bi->mods[i].start,
               bi->mods[i].end, (bi->mods[i].end - bi->mods[i].start) >> 10,
               bi->mods[i].cmdline);
    if (bi->mods_truncated)
        printk(LOG_WARN "more than %d modules: the rest are ignored\n", BOOT_MAX_MODULES);
}

__noreturn void start_hypervisor(uint32_t magic, uint32_t info_pa)
{
    struct boot_mem mem = { boot_map_low, NULL };
    const char *why;

    serial_init(0x3f8);
    cpu0_early_init();
    platform_detect_emulator();

    if (multiboot_parse(magic, info_pa, &mem, &boot_info, &why))
        panic("cannot read the boot information: %s", why);
    memmove(boot_info.cmdline, cmdline_cook(boot_info.cmdline, boot_info.loader),
            strlen(cmdline_cook(boot_info.cmdline, boot_info.loader)) + 1);
    cmdline_parse_boot(boot_info.cmdline);
    console_setup();
    print_boot_info(&boot_info);

    mm_init(&boot_info);
    acpi_init(&boot_info);
    apic_init();
    time_init();
    smp_init();
    if (!hvm_init())
        dom0_create(&boot_info);

    selftest_run_requested();
    printk("Proxenos ready: %u CPU%s online. Press 'h' for debug keys.\n",
           nr_cpus_online, nr_cpus_online == 1 ? "" : "s");
    scheduler_run();
}
