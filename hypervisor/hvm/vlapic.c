/*
 * Local APIC register model (vlapic.h). Register offsets and reset values
 * from SDM vol. 3A, 10.4.8 (table 10-1) and 10.12.1.2 (x2APIC MSR map).
 *
 * The timer (SDM 10.5.4) counts a 1 GHz bus clock, as Xen's vlapic does
 * (APIC_BUS_CYCLE_NS): one count is `divisor` ns, so TMCCT is computed
 * from NOW() and never needs a tick. One-shot and periodic mode arm a
 * platform timer (platform.h) for the expiry; periodic mode re-arms a
 * period after the previous expiry (missed periods are dropped, one
 * interrupt is sent) and takes no period under 100 us (Xen's floor for
 * periodic HVM timers), so a guest cannot keep the CPU in its timer
 * interrupt. TSC-deadline mode arms it for the IA32_TSC_DEADLINE value,
 * the guest TSC being the host's; a deadline in the past fires at once.
 * An expiry sets the LVT vector in IRR unless the entry is masked.
 *
 * IRR, ISR and PPR (10.8.3-10.8.5): hvm/intr.c injects the highest IRR
 * vector whose priority class is above PPR's and acknowledges it (IRR to
 * ISR); an EOI retires the highest ISR vector. Everything is edge-
 * triggered: TMR stays 0.
 */
#include <proxenos/domain.h>
#include <proxenos/hvm_mmio.h>
#include <proxenos/lib.h>
#include <proxenos/mm.h>
#include <proxenos/platform.h>
#include <proxenos/time.h>
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
#define SVR_ENABLED    (1u << 8)
#define LVTT_MODE(lvt) (((lvt) >> 17) & 3)    /* figure 10-8 */
#define TIMER_ONESHOT  0
#define TIMER_PERIODIC 1
#define TIMER_TSC_DEADLINE 2
#define APIC_BUS_NS    1                     /* 1 GHz bus clock */
#define PERIODIC_MIN_NS MICROSECS(100)

struct vlapic {
    uint32_t regs[0x400 / 4];            /* (v) the register page */
    uint64_t base;                       /* (v) IA32_APIC_BASE */
    struct vcpu *vcpu;                   /* (c) */
    struct timer timer;                  /* (v) LVT timer expiry, on the vCPU's CPU */
    s_time_t timer_start;                /* (v) NOW() when the count was TMICT */
    s_time_t timer_period;               /* (v) TMICT * divisor ns; 0: not counting */
    unsigned int timer_div;              /* (v) the divisor it counts with */
    uint64_t tsc_deadline;               /* (v) IA32_TSC_DEADLINE; 0: disarmed */
};

static uint32_t *reg(struct vlapic *l, unsigned int off) { return &l->regs[off / 4]; }
static uint32_t reg_val(const struct vlapic *l, unsigned int off) { return l->regs[off / 4]; }

/* ---- IRR, ISR, PPR (SDM 10.8) ---------------------------------------------------- */

/* ISR, TMR and IRR: eight 32-bit registers 16 bytes apart, vector v at
   register v / 32, bit v % 32. */
static void vec_set(struct vlapic *l, unsigned int base, uint8_t vec)
{
    *reg(l, base + (vec / 32) * 0x10) |= 1u << (vec % 32);
}

static void vec_clear(struct vlapic *l, unsigned int base, uint8_t vec)
{
    *reg(l, base + (vec / 32) * 0x10) &= ~(1u << (vec % 32));
}

static int vec_highest(const struct vlapic *l, unsigned int base)
{
    for (int i = 7; i >= 0; i--) {
        uint32_t w = reg_val(l, base + i * 0x10);
        if (w)
            return i * 32 + 31 - __builtin_clz(w);
    }
    return -1;
}

/* PPR is TPR when TPR's class is at least the highest in-service one's,
   else that class (10.8.3.1). */
static void update_ppr(struct vlapic *l)
{
    uint32_t tpr = reg_val(l, APIC_TPR) & 0xff;
    int isr = vec_highest(l, APIC_ISR);
    uint32_t isrv = isr < 0 ? 0 : (uint32_t)isr;

    *reg(l, APIC_PPR) = (tpr >> 4) >= (isrv >> 4) ? tpr : (isrv & 0xf0);
}

void vlapic_set_irq(struct vcpu *v, uint8_t vec)
{
    if (vec >= 16 && v->hvm.vlapic)
        vec_set(v->hvm.vlapic, APIC_IRR, vec);
}

int vlapic_pending_vector(const struct vcpu *v)
{
    const struct vlapic *l = v->hvm.vlapic;
    int irr;

    if (!l || !(l->base & APIC_BASE_ENABLE))
        return -1;
    irr = vec_highest(l, APIC_IRR);
    if (irr < 0 || (uint32_t)(irr & 0xf0) <= (reg_val(l, APIC_PPR) & 0xf0))
        return -1;
    return irr;
}

void vlapic_ack_vector(struct vcpu *v, uint8_t vec)
{
    struct vlapic *l = v->hvm.vlapic;

    vec_clear(l, APIC_IRR, vec);
    vec_set(l, APIC_ISR, vec);
    update_ppr(l);
}

static void vlapic_eoi(struct vlapic *l)
{
    int isr = vec_highest(l, APIC_ISR);

    if (isr >= 0)
        vec_clear(l, APIC_ISR, (uint8_t)isr);
    update_ppr(l);
}

/* ---- the timer (SDM 10.5.4) ----------------------------------------------------------- */

/* Divide configuration bits 0, 1, 3 (figure 10-10): 000 is 2, ..., 110 is
   128, 111 is 1. */
static unsigned int timer_divisor(const struct vlapic *l)
{
    uint32_t d = reg_val(l, APIC_TDCR);
    unsigned int code = (d & 3) | ((d >> 1) & 4);

    return 1u << ((code + 1) & 7);
}

static unsigned int timer_mode(const struct vlapic *l)
{
    return LVTT_MODE(reg_val(l, APIC_LVTT));
}

static void timer_disarm(struct vlapic *l)
{
    stop_timer(&l->timer);
    l->timer_period = 0;
    l->tsc_deadline = 0;
}

static void timer_deliver(struct vlapic *l)
{
    uint32_t lvt = reg_val(l, APIC_LVTT);

    if (!(lvt & LVT_MASKED))
        vlapic_set_irq(l->vcpu, lvt & 0xff);
}

static void timer_fn(void *data)
{
    struct vlapic *l = data;
    s_time_t now;

    if (l->vcpu->domain->is_shutting_down)
        return;
    if (timer_mode(l) == TIMER_TSC_DEADLINE) {
        if (l->tsc_deadline) {
            l->tsc_deadline = 0;
            timer_deliver(l);
        }
        return;
    }
    if (!l->timer_period)
        return;
    timer_deliver(l);
    if (timer_mode(l) != TIMER_PERIODIC) {
        l->timer_period = 0;               /* one-shot: done, TMCCT reads 0 */
        return;
    }
    now = NOW();
    l->timer_start += MAX(l->timer_period, PERIODIC_MIN_NS);
    if (l->timer_start + MAX(l->timer_period, PERIODIC_MIN_NS) <= now)
        l->timer_start = now;              /* late: the missed periods are dropped */
    set_timer(&l->timer, l->timer_start + MAX(l->timer_period, PERIODIC_MIN_NS));
}

/* A TMICT write: 0 stops the timer; TSC-deadline mode ignores it. */
static void timer_start(struct vlapic *l, uint32_t count)
{
    stop_timer(&l->timer);
    l->timer_period = 0;
    if (!count || timer_mode(l) == TIMER_TSC_DEADLINE)
        return;
    l->timer_div = timer_divisor(l);
    l->timer_start = NOW();
    l->timer_period = (s_time_t)count * l->timer_div * APIC_BUS_NS;
    set_timer(&l->timer, l->timer_start + l->timer_period);
}

static uint32_t timer_current_count(const struct vlapic *l)
{
    s_time_t elapsed;

    if (!l->timer_period || timer_mode(l) == TIMER_TSC_DEADLINE)
        return 0;
    elapsed = NOW() - l->timer_start;
    if (elapsed < 0)
        elapsed = 0;
    if (timer_mode(l) == TIMER_PERIODIC)
        elapsed %= MAX(l->timer_period, PERIODIC_MIN_NS);
    if (elapsed >= l->timer_period)
        return 0;
    return (uint32_t)((l->timer_period - elapsed) / ((s_time_t)l->timer_div * APIC_BUS_NS));
}

/* A new divisor while counting: the count goes on from where it is. */
static void timer_new_divisor(struct vlapic *l)
{
    uint32_t count = timer_current_count(l), initial = reg_val(l, APIC_TMICT);

    if (!l->timer_period || !count)
        return;
    l->timer_div = timer_divisor(l);
    l->timer_period = (s_time_t)initial * l->timer_div * APIC_BUS_NS;
    l->timer_start = NOW() - (s_time_t)(initial - count) * l->timer_div * APIC_BUS_NS;
    set_timer(&l->timer, l->timer_start + l->timer_period);
}

/* Transitions into or out of TSC-deadline mode disarm the timer (10.5.4.1). */
static void timer_lvt_written(struct vlapic *l, unsigned int old_mode)
{
    if ((old_mode == TIMER_TSC_DEADLINE) != (timer_mode(l) == TIMER_TSC_DEADLINE)) {
        timer_disarm(l);
        *reg(l, APIC_TMICT) = 0;
    }
}

/* The system time at which the (host = guest) TSC reads `tsc`. */
static s_time_t tsc_to_stime(uint64_t tsc)
{
    uint64_t ns;

    if (tsc <= tsc_at_boot)
        return 0;
    ns = time_scale_apply(tsc - tsc_at_boot, &tsc_to_ns);
    return ns > (uint64_t)INT64_MAX ? INT64_MAX : (s_time_t)ns;
}

static void tsc_deadline_write(struct vlapic *l, uint64_t val)
{
    if (timer_mode(l) != TIMER_TSC_DEADLINE)
        return;                            /* ignored in the other modes */
    stop_timer(&l->timer);
    l->tsc_deadline = val;
    if (val)
        set_timer(&l->timer, MAX(tsc_to_stime(val), 1));
}

/* Register reads, with the computed ones. */
static uint32_t read_reg(struct vlapic *l, unsigned int off)
{
    return off == APIC_TMCCT ? timer_current_count(l) : reg_val(l, off);
}

static void vlapic_reset(struct vcpu *v)
{
    struct vlapic *l = v->hvm.vlapic;

    timer_disarm(l);
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
    unsigned int mode = timer_mode(l);

    switch (off) {
    case APIC_TPR:    *reg(l, off) = val & 0xff; update_ppr(l); return 0;
    case APIC_EOI:    if (x2 && val) return -1; vlapic_eoi(l); return 0;   /* 10.12.1.2 */
    case APIC_LDR:    if (x2) return -1; *reg(l, off) = val & 0xff000000u; return 0;
    case APIC_DFR:    if (x2) return -1; *reg(l, off) = val | 0x0fffffffu; return 0;
    case APIC_SVR:
        *reg(l, off) = val & 0x13ff;
        if (!(val & SVR_ENABLED)) {        /* software disable masks every LVT (10.4.7.2) */
            for (unsigned int lvt = APIC_LVTT; lvt <= APIC_LVTERR; lvt += 0x10)
                *reg(l, lvt) |= LVT_MASKED;
            *reg(l, APIC_CMCI) |= LVT_MASKED;
        }
        return 0;
    case APIC_ESR:    *reg(l, off) = 0; return 0;
    case APIC_ICR:    *reg(l, off) = val & ~(1u << 12); return 0;   /* never busy */
    case APIC_ICR2:   if (x2) return -1; *reg(l, off) = val & 0xff000000u; return 0;
    case APIC_CMCI: case APIC_LVTT: case APIC_LVTTHMR: case APIC_LVTPC:
    case APIC_LVT0: case APIC_LVT1: case APIC_LVTERR:
        /* While the software-enable bit is clear, LVTs stay masked. */
        if (!(*reg(l, APIC_SVR) & SVR_ENABLED))
            val |= LVT_MASKED;
        *reg(l, off) = val & 0x000717ffu;
        if (off == APIC_LVTT)
            timer_lvt_written(l, mode);
        return 0;
    case APIC_TMICT:
        if (mode == TIMER_TSC_DEADLINE)
            return 0;                      /* ignored in TSC-deadline mode */
        *reg(l, off) = val;
        timer_start(l, val);
        return 0;
    case APIC_TDCR:   *reg(l, off) = val & 0xb; timer_new_divisor(l); return 0;
    case APIC_SELF_IPI: return x2 ? 0 : -1;
    default:
        return x2 ? -1 : 0;              /* read-only or reserved: xAPIC drops it */
    }
}

int vlapic_msr_read(struct vcpu *v, uint32_t msr, uint64_t *val)
{
    unsigned int off = (msr - 0x800) << 4;
    struct vlapic *l = v->hvm.vlapic;

    if (msr == MSR_IA32_TSC_DEADLINE) {
        *val = timer_mode(l) == TIMER_TSC_DEADLINE ? l->tsc_deadline : 0;
        return 0;
    }
    if (msr < 0x800 || msr > 0x8ff || !x2apic_mode(v) || !readable(off, true))
        return -1;
    *val = read_reg(l, off);
    if (off == APIC_ICR)
        *val |= (uint64_t)*reg(v->hvm.vlapic, APIC_ICR2) << 32;
    return 0;
}

int vlapic_msr_write(struct vcpu *v, uint32_t msr, uint64_t val)
{
    unsigned int off = (msr - 0x800) << 4;

    if (msr == MSR_IA32_TSC_DEADLINE) {
        tsc_deadline_write(v->hvm.vlapic, val);
        return 0;
    }
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
        uint32_t r = read_reg(v->hvm.vlapic, off);
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
    v->hvm.vlapic->vcpu = v;
    init_timer(&v->hvm.vlapic->timer, timer_fn, v->hvm.vlapic, v->processor);
    vlapic_reset(v);
    return 0;
}

void vlapic_destroy(struct vcpu *v)
{
    if (v->hvm.vlapic)
        stop_timer(&v->hvm.vlapic->timer);
    xfree(v->hvm.vlapic);
    v->hvm.vlapic = NULL;
}
