/*
 * ACPI poweroff (S5) and reset through the fixed hardware the FADT
 * describes. These override the weak defaults in shutdown.c and are the
 * last resort after the emulators' exit ports. No AML runs: SLP_TYP comes
 * from the DSDT's \_S5 package (acpi_s5.c), and \_PTS / \_GTS are skipped,
 * which firmware written for real OSes tolerates for S5.
 */
#include <proxenos/acpi.h>
#include <proxenos/io.h>
#include <proxenos/pagetable.h>
#include <proxenos/platform.h>
#include <proxenos/printk.h>
#include <proxenos/shutdown.h>
#include <proxenos/time.h>

/* PM1 control register bits (ACPI 6.5, 4.8.3.2.1, table 4.13). */
#define PM1_SCI_EN        (1u << 0)
#define PM1_SLP_TYP_SHIFT 10
#define PM1_SLP_TYP_MASK  (7u << PM1_SLP_TYP_SHIFT)
#define PM1_SLP_EN        (1u << 13)
/* Sleep control register of hardware-reduced ACPI (4.8.3.7, table 4.19). */
#define SLEEP_TYP_SHIFT   2
#define SLEEP_EN          (1u << 5)

#define PCI_CONF_ADDR 0xcf8
#define PCI_CONF_DATA 0xcfc

/* A fixed-hardware register with its MMIO mapping, made once at boot:
 * poweroff and reset run from panic paths, where mapping (which takes the
 * page-table lock) is no longer safe. */
struct acpi_reg {
    struct acpi_gas gas;
    volatile void *mmio;               /* ACPI_GAS_MEMORY only */
};

static struct acpi_reg pm1a_cnt, pm1b_cnt, sleep_control, reset_reg;

/* Access width in bytes: the GAS access size (5.2.3.2) or its bit width. */
static unsigned int gas_bytes(const struct acpi_gas *g)
{
    if (g->access_size >= 1 && g->access_size <= 3)
        return 1u << (g->access_size - 1);
    return g->bit_width >= 32 ? 4 : g->bit_width >= 16 ? 2 : 1;
}

static void reg_init(struct acpi_reg *r, const struct acpi_gas *g)
{
    r->gas = *g;
    if (g->space == ACPI_GAS_MEMORY && g->address)
        r->mmio = ioremap(g->address, gas_bytes(g));
}

void acpi_power_init(void)
{
    const struct acpi_fadt_info *f = &acpi_info.fadt;

    if (!acpi_info.have_fadt)
        return;
    reg_init(&pm1a_cnt, &f->pm1a_cnt);
    reg_init(&pm1b_cnt, &f->pm1b_cnt);
    reg_init(&sleep_control, &f->sleep_control);
    if (f->reset_supported)
        reg_init(&reset_reg, &f->reset_reg);
}

static uint16_t pci_conf_port(const struct acpi_gas *g)
{
    /* PCI configuration space GAS (5.2.3.2): device in bits 47:32,
     * function in 31:16, register offset in 15:0, bus 0. Mechanism #1. */
    uint32_t dev = (g->address >> 32) & 0x1f, fn = (g->address >> 16) & 7;
    uint32_t reg = g->address & 0xff;

    outl(PCI_CONF_ADDR, 0x80000000u | dev << 11 | fn << 8 | (reg & 0xfc));
    return PCI_CONF_DATA + (reg & 3);
}

static void port_write(uint16_t port, unsigned int bytes, uint32_t v)
{
    if (bytes == 4)
        outl(port, v);
    else if (bytes == 2)
        outw(port, (uint16_t)v);
    else
        outb(port, (uint8_t)v);
}

static uint32_t port_read(uint16_t port, unsigned int bytes)
{
    return bytes == 4 ? inl(port) : bytes == 2 ? inw(port) : inb(port);
}

static void mmio_write(volatile void *p, unsigned int bytes, uint32_t v)
{
    if (bytes == 4)
        *(volatile uint32_t *)p = v;
    else if (bytes == 2)
        *(volatile uint16_t *)p = (uint16_t)v;
    else
        *(volatile uint8_t *)p = (uint8_t)v;
}

static uint32_t mmio_read(const volatile void *p, unsigned int bytes)
{
    return bytes == 4 ? *(const volatile uint32_t *)p :
           bytes == 2 ? *(const volatile uint16_t *)p : *(const volatile uint8_t *)p;
}

static void reg_write(const struct acpi_reg *r, uint32_t v)
{
    unsigned int bytes = gas_bytes(&r->gas);

    if (r->gas.space == ACPI_GAS_IO)
        port_write((uint16_t)r->gas.address, bytes, v);
    else if (r->gas.space == ACPI_GAS_PCI)
        port_write(pci_conf_port(&r->gas), bytes, v);
    else if (r->gas.space == ACPI_GAS_MEMORY && r->mmio)
        mmio_write(r->mmio, bytes, v);
}

static uint32_t reg_read(const struct acpi_reg *r)
{
    unsigned int bytes = gas_bytes(&r->gas);

    if (r->gas.space == ACPI_GAS_IO)
        return port_read((uint16_t)r->gas.address, bytes);
    if (r->gas.space == ACPI_GAS_MEMORY && r->mmio)
        return mmio_read(r->mmio, bytes);
    return 0;
}

/*
 * SCI_EN clear means the firmware still owns the fixed hardware (legacy
 * mode); ACPI 4.8.2.1.1 / 16.3: write ACPI_ENABLE to SMI_CMD and wait for
 * SCI_EN. Some firmware ignores a sleep request until then.
 */
static void acpi_enable_mode(const struct acpi_fadt_info *f)
{
    if (f->hw_reduced || (reg_read(&pm1a_cnt) & PM1_SCI_EN) || !f->smi_cmd || !f->acpi_enable)
        return;
    outb((uint16_t)f->smi_cmd, f->acpi_enable);
    for (int i = 0; i < 300 && !(reg_read(&pm1a_cnt) & PM1_SCI_EN); i++)
        mdelay(10);
}

/* Writes SLP_TYP into a PM1 control register, keeping its other bits;
 * returns the value to write again with SLP_EN. */
static uint32_t pm1_set_type(const struct acpi_reg *cnt, uint8_t slp_typ)
{
    uint32_t v;

    if (!cnt->gas.address)
        return 0;
    v = reg_read(cnt) & ~(PM1_SLP_TYP_MASK | PM1_SLP_EN);
    v |= (uint32_t)slp_typ << PM1_SLP_TYP_SHIFT;
    reg_write(cnt, v);
    return v;
}

/* 7.4.2.5 / 4.8.3.2.1: both SLP_TYPx first, then SLP_EN in each register. */
static void pm1_sleep(uint8_t typa, uint8_t typb)
{
    uint32_t a = pm1_set_type(&pm1a_cnt, typa);
    uint32_t b = pm1_set_type(&pm1b_cnt, typb);

    if (pm1b_cnt.gas.address)
        reg_write(&pm1b_cnt, b | PM1_SLP_EN);
    reg_write(&pm1a_cnt, a | PM1_SLP_EN);
}

int acpi_enter_s5(void)
{
    const struct acpi_fadt_info *f = &acpi_info.fadt;

    if (!acpi_present || !acpi_info.have_fadt || !acpi_info.have_s5)
        return -ENOSYS;
    printk("ACPI: entering S5 (SLP_TYP %u/%u)\n", acpi_info.slp_typa, acpi_info.slp_typb);
    if (f->hw_reduced) {
        if (!sleep_control.gas.address)
            return -ENOSYS;
        reg_write(&sleep_control, (uint32_t)acpi_info.slp_typa << SLEEP_TYP_SHIFT | SLEEP_EN);
    } else {
        if (!pm1a_cnt.gas.address)
            return -ENOSYS;
        acpi_enable_mode(f);
        pm1_sleep(acpi_info.slp_typa, acpi_info.slp_typb);
    }
    mdelay(100);
    printk(LOG_WARN "ACPI: still running after the S5 request\n");
    return -EIO;
}

/* ACPI 4.8.3.6: writing RESET_VALUE to RESET_REG resets the machine. */
void acpi_reset(void)
{
    const struct acpi_fadt_info *f = &acpi_info.fadt;

    if (!acpi_present || !f->reset_supported)
        return;
    reg_write(&reset_reg, f->reset_value);
    mdelay(50);
}
