/*
 * The emulated i8254 programmable interval timer and port 0x61 (vpit.h).
 *
 * Behaviour follows Xen's vpit (xen/arch/x86/emul-i8254.c, itself QEMU's
 * i8254) for the ports it handles, with the Intel 82C54 data sheet for the
 * register formats:
 *   0x43 control word: SC (bits 7:6) selects a channel, 3 is read-back;
 *        RW (5:4) 0 latches the count, 1/2/3 set LSB/MSB/LSB-then-MSB
 *        access; M (3:1) the mode (6 and 7 alias 2 and 3); BCD (bit 0) is
 *        kept for the status byte only, counting is binary.
 *   read-back (0xc0 | !COUNT << 5 | !STATUS << 4 | CNT2..0 << 1): latches
 *        the count and/or status of each selected channel; a latched value
 *        is kept until read, later latches are ignored until then.
 *   0x40-0x42: a status byte waiting to be read comes first, then a latched
 *        count, else the live count, byte by byte as the access mode says.
 *        Writing a count loads it at once (0 means 0x10000) and restarts
 *        counting from that moment.
 * Counting is elapsed system time at 1.193182 MHz since the count was
 * loaded, minus the time the gate held it (modes 0 and 4); a rising gate
 * reloads modes 1, 2, 3 and 5. The counting element and OUT follow Xen's
 * formulas per mode (mode 3 counts down by two each half period).
 *
 * Not modelled, as in Xen: the one-clock delay before a loaded count takes
 * effect, NULL COUNT (status bit 6), OUT going low when a mode 0 control
 * word is written, BCD counting. Channel 0 raises no IRQ 0 and channel 1
 * refreshes nothing: a PVH guest has the Xen vCPU timers and event
 * channels instead (Xen gives a PVH domain no PIT at all; see SUPPORT.md).
 */
#include <proxenos/domain.h>
#include <proxenos/hvm.h>
#include <proxenos/vpit.h>

#define NS_PER_SEC 1000000000ull

/* ---- the state machine (pure: the time comes in) -------------------------------- */

/* PIT input clock periods in `ns` nanoseconds, without overflow for any
   64-bit span: whole seconds and the rest are scaled apart. */
static uint64_t ns_to_ticks(uint64_t ns)
{
    return (ns / NS_PER_SEC) * VPIT_FREQ + (ns % NS_PER_SEC) * VPIT_FREQ / NS_PER_SEC;
}

/* Input clocks counted since the count was loaded. A low gate holds modes
   0, 2, 3 and 4 at the moment it fell; modes 1 and 5 are gate-triggered
   and count on (Xen's get_count). */
static uint64_t elapsed(const struct vpit_channel *c, s_time_t now)
{
    s_time_t t = c->gate || (c->mode & 3) == 1 ? now : c->stop_time;
    s_time_t d = t - c->load_time - c->stopped;

    return d > 0 ? ns_to_ticks((uint64_t)d) : 0;
}

unsigned int vpit_counter(const struct vpit *p, unsigned int ch, s_time_t now)
{
    const struct vpit_channel *c = &p->ch[ch];
    uint64_t d = elapsed(c, now);

    switch (c->mode) {
    case 0: case 1: case 4: case 5:    /* one pass down, then wrapping */
        return (c->count - d) & 0xffff;
    case 3:                            /* square wave: by two, each half */
        return c->count - (2 * d) % c->count;
    default:                           /* 2, rate generator: N down to 1 */
        return c->count - d % c->count;
    }
}

bool vpit_out(const struct vpit *p, unsigned int ch, s_time_t now)
{
    const struct vpit_channel *c = &p->ch[ch];
    uint64_t d = elapsed(c, now);

    switch (c->mode) {
    case 1:                            /* one-shot: low while counting */
        return d < c->count;
    case 2:                            /* low for the clock of each reload */
        return d % c->count == 0 && d != 0;
    case 3:                            /* high for the first half period */
        return d % c->count < (c->count + 1) / 2;
    case 4: case 5:                    /* strobe: one clock at terminal count */
        return d == c->count;
    default:                           /* 0: high once terminal count is reached */
        return d >= c->count;
    }
}

static void load_count(struct vpit_channel *c, uint32_t val, s_time_t now)
{
    c->count = val ? val : 0x10000;
    c->load_time = now;
    c->stop_time = now;
    c->stopped = 0;
}

static void set_gate(struct vpit_channel *c, bool gate, s_time_t now)
{
    if (c->gate && !gate && c->mode != 1 && c->mode != 5)
        c->stop_time = now;                          /* counting held */
    if (!c->gate && gate) {
        if (c->mode == 0 || c->mode == 4)
            c->stopped += now - c->stop_time;        /* counting resumes */
        else
            load_count(c, c->count, now);            /* rising edge triggers */
    }
    c->gate = gate;
}

static void latch_count(const struct vpit *p, struct vpit_channel *c, unsigned int ch,
                        s_time_t now)
{
    if (c->count_latched)
        return;                                      /* the first latch holds */
    c->latched_count = vpit_counter(p, ch, now);
    c->count_latched = c->rw_mode;
}

static void latch_status(const struct vpit *p, struct vpit_channel *c, unsigned int ch,
                         s_time_t now)
{
    if (c->status_latched)
        return;
    c->status = vpit_out(p, ch, now) << 7 | c->rw_mode << 4 | c->mode << 1 | c->bcd;
    c->status_latched = true;
}

void vpit_reset(struct vpit *p, s_time_t now)
{
    p->speaker_data = false;
    for (unsigned int i = 0; i < 3; i++) {
        struct vpit_channel *c = &p->ch[i];

        *c = (struct vpit_channel){ .rw_mode = VPIT_RW_LSB, .read_state = VPIT_RW_LSB,
                                    .write_state = VPIT_RW_LSB, .gate = i != 2 };
        load_count(c, 0, now);
    }
    p->init = true;
}

static void control_word(struct vpit *p, uint8_t val, s_time_t now)
{
    unsigned int ch = val >> 6, access = (val >> 4) & 3;
    struct vpit_channel *c;

    if (ch == 3) {                                   /* read-back */
        for (ch = 0; ch < 3; ch++) {
            if (!(val & (2u << ch)))
                continue;
            if (!(val & 0x20))
                latch_count(p, &p->ch[ch], ch, now);
            if (!(val & 0x10))
                latch_status(p, &p->ch[ch], ch, now);
        }
        return;
    }
    c = &p->ch[ch];
    if (access == 0) {                               /* counter latch command */
        latch_count(p, c, ch, now);
        return;
    }
    c->rw_mode = c->read_state = c->write_state = access;
    c->mode = (val >> 1) & 7;
    if (c->mode > 5)
        c->mode -= 4;
    c->bcd = val & 1;
}

void vpit_write(struct vpit *p, unsigned int reg, uint8_t val, s_time_t now)
{
    struct vpit_channel *c;

    if (reg == 3) {
        control_word(p, val, now);
        return;
    }
    c = &p->ch[reg];
    switch (c->write_state) {
    case VPIT_RW_MSB:
        load_count(c, (uint32_t)val << 8, now);
        break;
    case VPIT_RW_WORD0:
        c->write_latch = val;
        c->write_state = VPIT_RW_WORD1;
        break;
    case VPIT_RW_WORD1:
        load_count(c, c->write_latch | (uint32_t)val << 8, now);
        c->write_state = VPIT_RW_WORD0;
        break;
    default:                                         /* VPIT_RW_LSB */
        load_count(c, val, now);
        break;
    }
}

static uint8_t read_latched(struct vpit_channel *c)
{
    switch (c->count_latched) {
    case VPIT_RW_MSB:
        c->count_latched = 0;
        return c->latched_count >> 8;
    case VPIT_RW_WORD0:                              /* low byte now, high next */
        c->count_latched = VPIT_RW_MSB;
        return c->latched_count & 0xff;
    default:                                         /* VPIT_RW_LSB */
        c->count_latched = 0;
        return c->latched_count & 0xff;
    }
}

uint8_t vpit_read(struct vpit *p, unsigned int reg, s_time_t now)
{
    struct vpit_channel *c;
    unsigned int count;

    if (reg == 3)
        return 0xff;                                 /* write-only */
    c = &p->ch[reg];
    if (c->status_latched) {
        c->status_latched = false;
        return c->status;
    }
    if (c->count_latched)
        return read_latched(c);
    count = vpit_counter(p, reg, now);
    switch (c->read_state) {
    case VPIT_RW_MSB:
        return count >> 8;
    case VPIT_RW_WORD0:
        c->read_state = VPIT_RW_WORD1;
        return count & 0xff;
    case VPIT_RW_WORD1:
        c->read_state = VPIT_RW_WORD0;
        return count >> 8;
    default:                                         /* VPIT_RW_LSB */
        return count & 0xff;
    }
}

uint8_t vpit_nmi_sc_read(struct vpit *p, s_time_t now)
{
    bool refresh = ((uint64_t)now >> 14) & 1;

    return p->ch[2].gate | p->speaker_data << 1 | refresh << 4 | vpit_out(p, 2, now) << 5;
}

void vpit_nmi_sc_write(struct vpit *p, uint8_t val, s_time_t now)
{
    p->speaker_data = (val >> 1) & 1;
    set_gate(&p->ch[2], val & 1, now);
}

/* ---- the domain's device: hvm/io.c's port handlers -------------------------------- */

/* The domain's PIT, locked; created at power-on state on first use (a
   domain starts zeroed). The time is taken under the lock so that every
   access sees it move forward. */
static struct vpit *vpit_get(struct vcpu *v, s_time_t *now)
{
    struct vpit *p = &v->domain->vpit;

    spin_lock(&p->lock);
    *now = NOW();
    if (!p->init)
        vpit_reset(p, *now);
    return p;
}

/* Only byte accesses reach the PIT: wider ones read all-ones and are
   dropped (Xen's handle_pit_io, "PIT bad access"). */
static uint32_t pit_port_read(struct vcpu *v, uint16_t port, unsigned int size)
{
    struct vpit *p;
    s_time_t now;
    uint8_t val;

    if (size != 1)
        return ~0u;
    p = vpit_get(v, &now);
    val = vpit_read(p, port - VPIT_PORT_BASE, now);
    spin_unlock(&p->lock);
    return val;
}

static void pit_port_write(struct vcpu *v, uint16_t port, unsigned int size, uint32_t val)
{
    struct vpit *p;
    s_time_t now;

    if (size != 1)
        return;
    p = vpit_get(v, &now);
    vpit_write(p, port - VPIT_PORT_BASE, val, now);
    spin_unlock(&p->lock);
}

static uint32_t nmi_sc_port_read(struct vcpu *v, uint16_t port, unsigned int size)
{
    s_time_t now;
    struct vpit *p = vpit_get(v, &now);
    uint8_t val = vpit_nmi_sc_read(p, now);

    spin_unlock(&p->lock);
    return val;
}

static void nmi_sc_port_write(struct vcpu *v, uint16_t port, unsigned int size, uint32_t val)
{
    s_time_t now;
    struct vpit *p = vpit_get(v, &now);

    vpit_nmi_sc_write(p, val, now);
    spin_unlock(&p->lock);
}

const struct hvm_portio_handler vpit_portio = {
    .name = "i8254 PIT", .first = VPIT_PORT_BASE, .count = 4,
    .read = pit_port_read, .write = pit_port_write,
};

/* One port: a wider access that covers 0x61 is not the device's (Xen
   registers it with size 1) and reads all-ones. */
const struct hvm_portio_handler vpit_nmi_sc_portio = {
    .name = "NMI status/control", .first = VPIT_PORT_NMI_SC, .count = 1,
    .read = nmi_sc_port_read, .write = nmi_sc_port_write,
};
