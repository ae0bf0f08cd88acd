/*
 * Local APIC register model (vlapic.h). Register offsets and reset values
 * from SDM vol. 3A, 10.4.8 (table 10-1) and 10.12.1.2 (x2APIC MSR map).
 */
#include <proxenos/domain.h>
#include <proxenos/hvm_mmio.h>
#include <proxenos/lib.h>
#include <proxenos/mm.h>
#include <proxenos/vlapic.h>

#define APIC_ID      0x020
#define APIC_LVR     0x030
#define APIC_TPR     0x080
#define APIC_APR     0x090
#define APIC_PPR     0x0a0
#define APIC_EOI     0x0b0
#define APIC_RRD     0x0c0
#define APIC_LDR     0x0d0
#define APIC_DFR     0x0e0
#define APIC_SVR     0x0f0
#define APIC_ISR     0x100
#define APIC_TMR     0x180
#define APIC_IRR     0x200
#define APIC_ESR     0x280
#define APIC_CMCI    0x2f0
#define APIC_ICR     0x300
#define APIC_ICR2    0x310
#define APIC_LVTT    0x320
#define APIC_LVTTHMR 0x330
#define APIC_LVTPC   0x340
#define APIC_LVT0    0x350
#define APIC_LVT1    0x360
#define APIC_LVTERR  0x370
#define APIC_TMICT   0x380
#define APIC_TMCCT   0x390
#define APIC_TDCR    0x3e0
#define APIC_SELF_IPI 0x3f0              /* x2APIC only */

/* Version 0x14 (integrated APIC), 6 LVT entries (max LVT index 5). */
#define VLAPIC_VERSION 0x00050014u
#define LVT_MASKED     (1u << 16)

struct vlapic {
    uint32_t regs[0x400 / 4];            /* (v) the register page */
    uint64_t base;                       /* (v) IA32_APIC_BASE */
};

static uint32_t *reg(struct vlapic *l, unsigned int off) { return &l->regs[off / 4]; }

static void vlapic_reset(struct vcpu *v)
{
    struct vlapic *l = v->hvm.vlapic;

    memset(l->regs, 0, sizeof(l->regs));
    l->base = VLAPIC_DEFAULT_BASE | APIC_BASE_ENABLE | (v->vcpu_id == 0 ? APIC_BASE_BSP : 0);
    /* APIC IDs are vcpu_id * 2, as the guest's CPUID leaf 1 reports (Xen). */
    *reg(l, APIC_ID) = (v->vcpu_id * 2) << 24;
    *reg(l, APIC_LVR) = VLAPIC_VERSION;
    *reg(l, APIC_DFR) = 0xffffffffu;
    *reg(l, APIC_SVR) = 0xff;
    for (unsigned int off = APIC_LVTT; off <= APIC_LVTERR; off += 0x10)
        *reg(l, off) = LVT_MASKED;
    *reg(l, APIC_CMCI) = LVT_MASKED;
}

uint64_t vlapic_get_base(const struct vcpu *v)
{
    return v->hvm.vlapic->base;
}

static bool x2apic_mode(const struct vcpu *v)
{
    uint64_t b = v->hvm.vlapic->base;
    return (b & APIC_BASE_ENABLE) && (b & APIC_BASE_EXTD);
}

static bool xapic_mode(const struct vcpu *v)
{
    uint64_t b = v->hvm.vlapic->base;
    return (b & APIC_BASE_ENABLE) && !(b & APIC_BASE_EXTD);
}

int vlapic_set_base(struct vcpu *v, uint64_t val)
{
    struct vlapic *l = v->hvm.vlapic;
    uint64_t old = l->base;
    bool en = val & APIC_BASE_ENABLE, extd = val & APIC_BASE_EXTD;

    /* Reserved bits, the BSP flag (read-only) and relocation are refused. */
    if ((val & ~(VLAPIC_DEFAULT_BASE | APIC_BASE_BSP | APIC_BASE_ENABLE | APIC_BASE_EXTD)) ||
        (val & APIC_BASE_BSP) != (old & APIC_BASE_BSP) ||
        (val & ~0xfffull) != VLAPIC_DEFAULT_BASE)
        return -1;
    /* SDM 10.12.5, figure 10-27: EXTD without EN is invalid; x2APIC may
       only leave for disabled, not go back to xAPIC directly. */
    if (extd && !en)
        return -1;
    if ((old & APIC_BASE_EXTD) && (old & APIC_BASE_ENABLE) && en && !extd)
        return -1;
    l->base = val;
    if (!en)
        vlapic_reset(v), l->base = val;  /* disabling resets the state */
    else if (extd)
        *reg(l, APIC_ID) = v->vcpu_id * 2;   /* x2APIC ID: 32 bits, not shifted */
    else
        *reg(l, APIC_ID) = (v->vcpu_id * 2) << 24;
    if (extd)
        *reg(l, APIC_LDR) = ((v->vcpu_id * 2) & ~0xfu) << 12 | 1u << ((v->vcpu_id * 2) & 0xf);
    return 0;
}

static bool readable(unsigned int off, bool x2)
{
    if (off >= APIC_ISR && off < APIC_ISR + 0x180)   /* ISR, TMR, IRR */
        return true;
    switch (off) {
    case APIC_ID: case APIC_LVR: case APIC_TPR: case APIC_PPR: case APIC_LDR:
    case APIC_SVR: case APIC_ESR: case APIC_CMCI: case APIC_ICR: case APIC_LVTT:
    case APIC_LVTTHMR: case APIC_LVTPC: case APIC_LVT0: case APIC_LVT1: case APIC_LVTERR:
    case APIC_TMICT: case APIC_TMCCT: case APIC_TDCR:
        return true;
    case APIC_APR: case APIC_DFR: case APIC_ICR2:
        return !x2;
    default:
        return false;
    }
}

/* Register writes; returns -1 for a write x2APIC mode refuses with #GP. */
static int write_reg(struct vcpu *v, unsigned int off, uint32_t val, bool x2)
{
    struct vlapic *l = v->hvm.vlapic;

    switch (off) {
    case APIC_TPR:    *reg(l, off) = val & 0xff; return 0;
    case APIC_EOI:    return 0;          /* nothing in service yet */
    case APIC_LDR:    if (x2) return -1; *reg(l, off) = val & 0xff000000u; return 0;
    case APIC_DFR:    if (x2) return -1; *reg(l, off) = val | 0x0fffffffu; return 0;
    case APIC_SVR:    *reg(l, off) = val & 0x13ff; return 0;
    case APIC_ESR:    *reg(l, off) = 0; return 0;
    case APIC_ICR:    *reg(l, off) = val & ~(1u << 12); return 0;   /* never busy */
    case APIC_ICR2:   if (x2) return -1; *reg(l, off) = val & 0xff000000u; return 0;
    case APIC_CMCI: case APIC_LVTT: case APIC_LVTTHMR: case APIC_LVTPC:
    case APIC_LVT0: case APIC_LVT1: case APIC_LVTERR:
        /* While the software-enable bit is clear, LVTs stay masked. */
        if (!(*reg(l, APIC_SVR) & 0x100))
            val |= LVT_MASKED;
        *reg(l, off) = val & 0x000717ffu;
        return 0;
    case APIC_TMICT:  *reg(l, off) = val; return 0;
    case APIC_TDCR:   *reg(l, off) = val & 0xb; return 0;
    case APIC_SELF_IPI: return x2 ? 0 : -1;
    default:
        return x2 ? -1 : 0;              /* read-only or reserved: xAPIC drops it */
    }
}

int vlapic_msr_read(struct vcpu *v, uint32_t msr, uint64_t *val)
{
    unsigned int off = (msr - 0x800) << 4;

    if (msr < 0x800 || msr > 0x8ff || !x2apic_mode(v) || !readable(off, true))
        return -1;
    *val = *reg(v->hvm.vlapic, off);
    if (off == APIC_ICR)
        *val |= (uint64_t)*reg(v->hvm.vlapic, APIC_ICR2) << 32;
    return 0;
}

int vlapic_msr_write(struct vcpu *v, uint32_t msr, uint64_t val)
{
    unsigned int off = (msr - 0x800) << 4;

    if (msr < 0x800 || msr > 0x8ff || !x2apic_mode(v))
        return -1;
    /* Only ICR is 64 bits wide; other registers have reserved high halves. */
    if (off == APIC_ICR) {
        *reg(v->hvm.vlapic, APIC_ICR2) = val >> 32;
        return write_reg(v, off, (uint32_t)val, true);
    }
    if (val >> 32)
        return -1;
    return write_reg(v, off, (uint32_t)val, true);
}

/* xAPIC MMIO: aligned 32-bit accesses to a register; others read 0. */
static bool mmio_accepts(struct vcpu *v, uint64_t gpa)
{
    return xapic_mode(v) && (gpa & ~0xfffull) == VLAPIC_DEFAULT_BASE;
}

static int mmio_read(struct vcpu *v, uint64_t gpa, unsigned int size, uint64_t *val)
{
    unsigned int off = gpa & 0xff0, byte = gpa & 0xf;

    *val = 0;
    if (readable(off, false) && byte + size <= 4) {
        uint32_t r = *reg(v->hvm.vlapic, off);
        *val = (r >> (byte * 8)) & (size == 4 ? 0xffffffffu : (1u << (size * 8)) - 1);
    }
    return 0;
}

static int mmio_write(struct vcpu *v, uint64_t gpa, unsigned int size, uint64_t val)
{
    /* SDM 10.4.1: registers are written with 32-bit aligned accesses only. */
    if (size == 4 && !(gpa & 0xf))
        write_reg(v, gpa & 0xff0, (uint32_t)val, false);
    return 0;
}

static const struct hvm_mmio_handler vlapic_mmio = {
    .name = "vlapic", .accepts = mmio_accepts, .read = mmio_read, .write = mmio_write,
};

int vlapic_init(struct vcpu *v)
{
    static bool registered;

    if (!registered) {
        hvm_register_mmio(&vlapic_mmio);
        registered = true;
    }
    v->hvm.vlapic = xzalloc(sizeof(struct vlapic));
    if (!v->hvm.vlapic)
        return -ENOMEM;
    vlapic_reset(v);
    return 0;
}

void vlapic_destroy(struct vcpu *v)
{
    xfree(v->hvm.vlapic);
    v->hvm.vlapic = NULL;
}
