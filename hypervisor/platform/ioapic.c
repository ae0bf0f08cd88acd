/*
 * IOAPICs from the MADT (82093AA datasheet, section 3.2; ACPI 6.5, 5.2.12.3)
 * and the legacy 8259 PICs. At boot every IOAPIC pin is masked and both
 * PICs are remapped away from the exception vectors and masked; drivers and
 * the device model later route what they need with ioapic_route().
 */
#include <proxenos/acpi.h>
#include <proxenos/apic.h>
#include <proxenos/io.h>
#include <proxenos/pagetable.h>
#include <proxenos/platform.h>
#include <proxenos/printk.h>
#include <proxenos/spinlock.h>

#define IOAPIC_REGSEL   0x00           /* index register */
#define IOAPIC_WIN      0x10           /* data window */
#define IOAPIC_REG_VER  0x01
#define IOAPIC_REG_RTE  0x10           /* RTE n: 0x10 + 2n (low), 0x11 + 2n (high) */
#define IOAPIC_MMIO_LEN 0x20

/* Redirection table entry, low dword (datasheet 3.2.4). */
#define RTE_ACTIVE_LOW  (1u << 13)
#define RTE_LEVEL       (1u << 15)
#define RTE_MASKED      (1u << 16)

struct ioapic {
    volatile uint8_t *mmio;
    uint32_t gsi_base;
    unsigned int pins;
};

static struct ioapic ioapics[ACPI_MAX_IOAPICS];
static unsigned int nr_ioapics;
/* IOREGSEL/IOWIN is a two-step access shared by every CPU. */
static spinlock_t ioapic_lock = SPINLOCK_INIT;

static uint32_t ioapic_read(const struct ioapic *io, uint8_t reg)
{
    *(volatile uint32_t *)(io->mmio + IOAPIC_REGSEL) = reg;
    return *(volatile uint32_t *)(io->mmio + IOAPIC_WIN);
}

static void ioapic_write(const struct ioapic *io, uint8_t reg, uint32_t v)
{
    *(volatile uint32_t *)(io->mmio + IOAPIC_REGSEL) = reg;
    *(volatile uint32_t *)(io->mmio + IOAPIC_WIN) = v;
}

static void rte_write(const struct ioapic *io, unsigned int pin, uint32_t lo, uint32_t hi)
{
    uint64_t flags = spin_lock_irqsave(&ioapic_lock);

    /* Mask first so the pin never fires with a half-written entry. */
    ioapic_write(io, IOAPIC_REG_RTE + 2 * pin, RTE_MASKED);
    ioapic_write(io, IOAPIC_REG_RTE + 2 * pin + 1, hi);
    ioapic_write(io, IOAPIC_REG_RTE + 2 * pin, lo);
    spin_unlock_irqrestore(&ioapic_lock, flags);
}

static bool ioapic_add(const struct acpi_ioapic *a, struct ioapic *io)
{
    io->mmio = ioremap(a->addr, IOAPIC_MMIO_LEN);
    if (!io->mmio)
        return false;
    io->gsi_base = a->gsi_base;
    /* Version register bits 23:16: the index of the last entry. */
    io->pins = ((ioapic_read(io, IOAPIC_REG_VER) >> 16) & 0xff) + 1;
    for (unsigned int pin = 0; pin < io->pins; pin++)
        rte_write(io, pin, RTE_MASKED, 0);
    return true;
}

void ioapic_init(void)
{
    for (unsigned int i = 0; i < acpi_info.nr_ioapics; i++) {
        const struct acpi_ioapic *a = &acpi_info.ioapics[i];
        struct ioapic *io = &ioapics[nr_ioapics];

        if (!ioapic_add(a, io)) {
            printk(LOG_WARN "IOAPIC %u at %#x cannot be mapped; ignored\n", a->id, a->addr);
            continue;
        }
        nr_ioapics++;
        printk("IOAPIC %u at %#x: GSIs %u-%u, all masked\n", a->id, a->addr, io->gsi_base,
               io->gsi_base + io->pins - 1);
    }
}

static struct ioapic *ioapic_for(unsigned int gsi, unsigned int *pin)
{
    for (unsigned int i = 0; i < nr_ioapics; i++) {
        if (gsi >= ioapics[i].gsi_base && gsi - ioapics[i].gsi_base < ioapics[i].pins) {
            *pin = gsi - ioapics[i].gsi_base;
            return &ioapics[i];
        }
    }
    return NULL;
}

unsigned int isa_irq_to_gsi(unsigned int irq)
{
    for (unsigned int i = 0; i < acpi_info.nr_overrides; i++)
        if (acpi_info.overrides[i].irq == irq)
            return acpi_info.overrides[i].gsi;
    return irq;                        /* identity-mapped (ACPI 5.2.12.5) */
}

/* Is `gsi` an ISA interrupt? Either an override targets it, or it is below
 * 16 and no override moved its ISA IRQ away. */
static const struct acpi_override *isa_source(unsigned int gsi, bool *isa)
{
    for (unsigned int i = 0; i < acpi_info.nr_overrides; i++) {
        if (acpi_info.overrides[i].gsi == gsi) {
            *isa = true;
            return &acpi_info.overrides[i];
        }
    }
    *isa = gsi < 16 && isa_irq_to_gsi(gsi) == gsi;
    return NULL;
}

/* Polarity and trigger: ISA defaults to edge/active high, PCI to level/
 * active low; an override's INTI flags win where they are not "conforms". */
static uint32_t rte_mode(unsigned int gsi)
{
    bool isa;
    const struct acpi_override *o = isa_source(gsi, &isa);
    uint32_t mode = isa ? 0 : RTE_LEVEL | RTE_ACTIVE_LOW;
    uint16_t fl = o ? o->flags : 0;

    if ((fl & ACPI_INTI_POLARITY_MASK) == ACPI_INTI_POLARITY_HIGH)
        mode &= ~RTE_ACTIVE_LOW;
    else if ((fl & ACPI_INTI_POLARITY_MASK) == ACPI_INTI_POLARITY_LOW)
        mode |= RTE_ACTIVE_LOW;
    if ((fl & ACPI_INTI_TRIGGER_MASK) == ACPI_INTI_TRIGGER_EDGE)
        mode &= ~RTE_LEVEL;
    else if ((fl & ACPI_INTI_TRIGGER_MASK) == ACPI_INTI_TRIGGER_LEVEL)
        mode |= RTE_LEVEL;
    return mode;
}

BUILD_BUG_ON(IOAPIC_MODE_LEVEL != RTE_LEVEL || IOAPIC_MODE_ACTIVE_LOW != RTE_ACTIVE_LOW);

uint32_t ioapic_gsi_mode(unsigned int gsi)
{
    return rte_mode(gsi);
}

int ioapic_route_mode(unsigned int gsi, uint8_t vector, uint32_t dest, uint32_t mode)
{
    unsigned int pin;
    struct ioapic *io = ioapic_for(gsi, &pin);

    if (!io)
        return -ENOENT;
    /* Physical destination mode carries an 8-bit APIC ID; larger IDs need
     * interrupt remapping, which we do not have. Vectors below 0x10 are
     * illegal (SDM 10.5.2). */
    if (dest > 0xff || vector < 0x10)
        return -EINVAL;
    mode &= RTE_LEVEL | RTE_ACTIVE_LOW;
    rte_write(io, pin, vector | mode, dest << 24);
    return 0;
}

/* GSIs the hypervisor has routed to itself with ioapic_route() (bit n:
 * GSI n). Sticky: a GSI it used once is never handed to a domain. */
static uint64_t hv_owned[(ACPI_MAX_IOAPICS * 240 + 63) / 64];

int ioapic_route(unsigned int gsi, uint8_t vector, uint32_t dest)
{
    if (gsi / 64 < ARRAY_SIZE(hv_owned))
        __atomic_or_fetch(&hv_owned[gsi / 64], 1ull << (gsi % 64), __ATOMIC_RELAXED);
    return ioapic_route_mode(gsi, vector, dest, rte_mode(gsi));
}

bool ioapic_gsi_hypervisor_owned(unsigned int gsi)
{
    return gsi / 64 < ARRAY_SIZE(hv_owned) &&
           (__atomic_load_n(&hv_owned[gsi / 64], __ATOMIC_RELAXED) >> (gsi % 64)) & 1;
}

int ioapic_set_masked(unsigned int gsi, bool masked)
{
    unsigned int pin;
    struct ioapic *io = ioapic_for(gsi, &pin);
    uint64_t flags;
    uint32_t lo;

    if (!io)
        return -ENOENT;
    flags = spin_lock_irqsave(&ioapic_lock);
    lo = ioapic_read(io, IOAPIC_REG_RTE + 2 * pin);
    lo = masked ? lo | RTE_MASKED : lo & ~RTE_MASKED;
    ioapic_write(io, IOAPIC_REG_RTE + 2 * pin, lo);
    spin_unlock_irqrestore(&ioapic_lock, flags);
    return 0;
}

unsigned int ioapic_nr_gsis(void)
{
    unsigned int n = 0;

    for (unsigned int i = 0; i < nr_ioapics; i++)
        n = MAX(n, ioapics[i].gsi_base + ioapics[i].pins);
    return n;
}

int ioapic_mask(unsigned int gsi)
{
    unsigned int pin;
    struct ioapic *io = ioapic_for(gsi, &pin);

    if (!io)
        return -ENOENT;
    rte_write(io, pin, RTE_MASKED, 0);
    return 0;
}

/* i8259A: master at 0x20/0x21, slave at 0xa0/0xa1. */
static void pic_out(uint16_t port, uint8_t v)
{
    outb(port, v);
    outb(0x80, 0);                     /* the PIC needs time between commands */
}

/*
 * Even masked, a PIC can raise a spurious IRQ 7/15 through ExtINT; the
 * BIOS leaves its vectors at 0x08-0x0f, on top of CPU exceptions. Remap it
 * to 0x20-0x2f (ICW1-4, 8259A datasheet) before masking everything.
 */
void pic_disable(void)
{
    pic_out(0x20, 0x11);               /* ICW1: init, cascade, ICW4 follows */
    pic_out(0xa0, 0x11);
    pic_out(0x21, 0x20);               /* ICW2: vector base */
    pic_out(0xa1, 0x28);
    pic_out(0x21, 0x04);               /* ICW3: slave on IR2 */
    pic_out(0xa1, 0x02);
    pic_out(0x21, 0x01);               /* ICW4: 8086 mode */
    pic_out(0xa1, 0x01);
    pic_out(0x21, 0xff);               /* OCW1: mask every line */
    pic_out(0xa1, 0xff);
}
