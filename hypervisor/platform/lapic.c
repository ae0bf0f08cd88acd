/*
 * The local APIC of each CPU (SDM vol. 3A, chapter 10): xAPIC through its
 * MMIO page, or x2APIC through MSRs when the CPU has it (CPUID.1:ECX[21])
 * and `x2apic=no` does not refuse it. CPU 0 chooses the mode once in
 * apic_init(); every other CPU follows in lapic_cpu_init(), since IPIs are
 * addressed differently in the two modes.
 */
#include <proxenos/acpi.h>
#include <proxenos/apic.h>
#include <proxenos/cmdline.h>
#include <proxenos/cpu.h>
#include <proxenos/io.h>
#include <proxenos/pagetable.h>
#include <proxenos/platform.h>
#include <proxenos/printk.h>

/* Register offsets in the xAPIC page (SDM 10.4.1, table 10-1). */
#define APIC_ID       0x020
#define APIC_VERSION  0x030
#define APIC_TPR      0x080
#define APIC_EOI      0x0b0
#define APIC_DFR      0x0e0
#define APIC_SVR      0x0f0
#define APIC_ESR      0x280
#define APIC_LVT_CMCI 0x2f0
#define APIC_ICR_LO   0x300
#define APIC_ICR_HI   0x310
#define APIC_LVT_TIMER   0x320
#define APIC_LVT_THERMAL 0x330
#define APIC_LVT_PMC     0x340
#define APIC_LVT_LINT0   0x350
#define APIC_LVT_LINT1   0x360
#define APIC_LVT_ERROR   0x370

#define MSR_X2APIC_FIRST 0x800          /* SDM 10.12.1.2, table 10-6 */
#define MSR_X2APIC_ICR   0x830

#define APIC_BASE_BSP    (1u << 8)      /* IA32_APIC_BASE, SDM 10.4.4 */
#define APIC_BASE_EXTD   (1u << 10)
#define APIC_BASE_EN     (1u << 11)
#define APIC_BASE_ADDR   0x000ffffffffff000ul

#define SVR_ENABLE       (1u << 8)
#define LVT_MASKED       (1u << 16)
#define LVT_LEVEL        (1u << 15)
#define LVT_ACTIVE_LOW   (1u << 13)
#define LVT_DM_NMI       (4u << 8)

/* ICR fields (SDM 10.6.1, figure 10-12). */
#define ICR_DM_FIXED     (0u << 8)
#define ICR_DM_NMI       (4u << 8)
#define ICR_DM_INIT      (5u << 8)
#define ICR_DM_STARTUP   (6u << 8)
#define ICR_BUSY         (1u << 12)     /* xAPIC only */
#define ICR_ASSERT       (1u << 14)
#define ICR_LEVEL        (1u << 15)
#define ICR_ALLBUT       (3u << 18)

#define CPUID1_ECX_X2APIC (1u << 21)

static bool opt_x2apic = true;
boolean_param("x2apic", opt_x2apic);

static bool x2apic;                    /* chosen once by CPU 0 */
static volatile uint8_t *lapic_mmio;   /* xAPIC page, when !x2apic */

bool lapic_x2apic_mode(void)
{
    return x2apic;
}

uint32_t lapic_read(unsigned int reg)
{
    if (x2apic)
        return (uint32_t)rdmsr(MSR_X2APIC_FIRST + (reg >> 4));
    return *(volatile uint32_t *)(lapic_mmio + reg);
}

void lapic_write(unsigned int reg, uint32_t v)
{
    if (x2apic)
        wrmsr(MSR_X2APIC_FIRST + (reg >> 4), v);
    else
        *(volatile uint32_t *)(lapic_mmio + reg) = v;
}

uint32_t lapic_id(void)
{
    return x2apic ? lapic_read(APIC_ID) : lapic_read(APIC_ID) >> 24;
}

void lapic_eoi(void)
{
    lapic_write(APIC_EOI, 0);
}

/*
 * One ICR write. x2APIC: one 64-bit MSR with the destination in bits 63:32;
 * WRMSR to it is not serialising (SDM 10.12.3), so fence first to make the
 * data the IPI announces visible. xAPIC: destination in ICR_HI bits 31:24,
 * the write to ICR_LO sends, and the delivery-status bit says when the
 * previous IPI was accepted (SDM 10.6.1).
 */
static void icr_send(uint32_t dest, uint32_t low)
{
    uint64_t flags = local_irq_save();

    if (x2apic) {
        __asm__ volatile("mfence; lfence" ::: "memory");
        wrmsr(MSR_X2APIC_ICR, (uint64_t)dest << 32 | low);
    } else {
        for (int i = 0; i < 1000000 && (lapic_read(APIC_ICR_LO) & ICR_BUSY); i++)
            cpu_relax();
        lapic_write(APIC_ICR_HI, dest << 24);
        lapic_write(APIC_ICR_LO, low);
    }
    local_irq_restore(flags);
}

void lapic_send_fixed(uint32_t apic_id, uint8_t vector)
{
    icr_send(apic_id, ICR_DM_FIXED | ICR_ASSERT | vector);
}

void lapic_send_fixed_allbutself(uint8_t vector)
{
    icr_send(0, ICR_ALLBUT | ICR_DM_FIXED | ICR_ASSERT | vector);
}

void lapic_send_nmi(uint32_t apic_id)
{
    icr_send(apic_id, ICR_DM_NMI | ICR_ASSERT);
}

/* INIT, level-triggered assert (SDM 8.4.4.1 step 13, 10.6.1). */
void lapic_send_init(uint32_t apic_id)
{
    icr_send(apic_id, ICR_DM_INIT | ICR_LEVEL | ICR_ASSERT);
}

/* Start-up IPI: the AP begins in real mode at page * 4 KiB (SDM 8.4.4.1). */
void lapic_send_sipi(uint32_t apic_id, uint8_t page)
{
    icr_send(apic_id, ICR_DM_STARTUP | ICR_ASSERT | page);
}

/* This CPU's ACPI UID, to match the MADT's local APIC NMI entries. */
static bool cpu_uid(uint32_t apic_id, uint32_t *uid)
{
    for (unsigned int i = 0; i < acpi_info.nr_cpus; i++) {
        if (acpi_info.cpus[i].apic_id == apic_id) {
            *uid = acpi_info.cpus[i].uid;
            return true;
        }
    }
    return false;
}

/* LINT0/1: masked, unless the MADT wires them to NMI for this CPU
 * (ACPI 5.2.12.7). The 8259 behind LINT0 (ExtINT) stays cut off. */
static void setup_lint(void)
{
    uint32_t lvt[2] = { LVT_MASKED, LVT_MASKED };
    uint32_t uid = 0;
    bool have_uid = cpu_uid(lapic_id(), &uid);

    for (unsigned int i = 0; i < acpi_info.nr_lapic_nmis; i++) {
        const struct acpi_lapic_nmi *n = &acpi_info.lapic_nmis[i];
        if (n->uid != ACPI_UID_ALL && (!have_uid || n->uid != uid))
            continue;
        /* NMI delivery is edge triggered; only the polarity is honoured. */
        lvt[n->lint] = LVT_DM_NMI |
            ((n->flags & ACPI_INTI_POLARITY_MASK) == ACPI_INTI_POLARITY_LOW ? LVT_ACTIVE_LOW : 0);
    }
    lapic_write(APIC_LVT_LINT0, lvt[0]);
    lapic_write(APIC_LVT_LINT1, lvt[1]);
}

/* Global enable in IA32_APIC_BASE; x2APIC is entered from xAPIC mode, one
 * of the legal transitions of SDM 10.12.5 (figure 10-27). */
static void enable_mode(void)
{
    uint64_t base = rdmsr(MSR_APIC_BASE);

    if (!x2apic && (base & APIC_BASE_EXTD)) {
        /* Firmware left x2APIC on: back to xAPIC goes through disabled. */
        wrmsr(MSR_APIC_BASE, base & ~(uint64_t)(APIC_BASE_EN | APIC_BASE_EXTD));
        base &= ~(uint64_t)(APIC_BASE_EN | APIC_BASE_EXTD);
    }
    if (!(base & APIC_BASE_EN)) {
        base |= APIC_BASE_EN;
        wrmsr(MSR_APIC_BASE, base);
    }
    if (x2apic && !(base & APIC_BASE_EXTD))
        wrmsr(MSR_APIC_BASE, base | APIC_BASE_EXTD);
}

static unsigned int max_lvt(void)
{
    return (lapic_read(APIC_VERSION) >> 16) & 0xff;
}

void lapic_cpu_init(void)
{
    unsigned int lvts;

    enable_mode();
    lvts = max_lvt();
    if (!x2apic)
        lapic_write(APIC_DFR, 0xffffffff);     /* flat model; we only use physical */
    lapic_write(APIC_TPR, 0);                  /* accept every priority class */
    lapic_write(APIC_LVT_TIMER, LVT_MASKED);
    if (lvts >= 4)
        lapic_write(APIC_LVT_PMC, LVT_MASKED);
    if (lvts >= 5)
        lapic_write(APIC_LVT_THERMAL, LVT_MASKED);
    if (lvts >= 6)
        lapic_write(APIC_LVT_CMCI, LVT_MASKED);
    setup_lint();
    lapic_write(APIC_LVT_ERROR, LAPIC_ERROR_VECTOR);
    /* A write latches the errors seen since the previous one into the ESR
     * (SDM 10.5.3): two writes leave it clear. */
    lapic_write(APIC_ESR, 0);
    lapic_write(APIC_ESR, 0);
    lapic_write(APIC_SVR, SVR_ENABLE | SPURIOUS_VECTOR);
    lapic_eoi();                               /* nothing may stay in service */
}

/* SDM 10.9: a spurious interrupt is not in service, so no EOI. */
static void spurious_interrupt(struct cpu_regs *regs) { }

static void error_interrupt(struct cpu_regs *regs)
{
    uint32_t esr;

    lapic_write(APIC_ESR, 0);
    esr = lapic_read(APIC_ESR);
    lapic_eoi();
    printk(LOG_WARN "APIC error on CPU %u: ESR %#x\n", smp_processor_id(), esr);
}

static void choose_mode(void)
{
    uint32_t a, b, c, d;
    uint64_t base = rdmsr(MSR_APIC_BASE);

    cpuid(1, &a, &b, &c, &d);
    x2apic = (c & CPUID1_ECX_X2APIC) && opt_x2apic;
    if (x2apic)
        return;
    if ((c & CPUID1_ECX_X2APIC) && (base & APIC_BASE_EXTD))
        printk(LOG_WARN "APIC: firmware enabled x2APIC; x2apic=no switches it back\n");
    lapic_mmio = ioremap(base & APIC_BASE_ADDR, PAGE_SIZE);
    if (!lapic_mmio)
        panic("APIC: the xAPIC page at %#lx cannot be mapped", base & APIC_BASE_ADDR);
}

void apic_init(void)
{
    uint64_t base = rdmsr(MSR_APIC_BASE) & APIC_BASE_ADDR;

    choose_mode();
    irq_set_handler(SPURIOUS_VECTOR, spurious_interrupt);
    irq_set_handler(LAPIC_ERROR_VECTOR, error_interrupt);
    lapic_cpu_init();
    this_cpu()->apic_id = lapic_id();
    if (acpi_info.have_madt && acpi_info.lapic_addr != base)
        printk(LOG_WARN "APIC: MADT says the local APIC is at %#lx, the MSR %#lx\n",
               acpi_info.lapic_addr, base);
    printk("APIC: %s mode, CPU 0 has APIC ID %u, version %#x, %u LVT entries\n",
           x2apic ? "x2APIC" : "xAPIC", this_cpu()->apic_id,
           lapic_read(APIC_VERSION) & 0xff, max_lvt() + 1);
    pic_disable();
    ioapic_init();
}
