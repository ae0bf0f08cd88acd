/*
 * The emulated i8254 PIT (ports 0x40-0x43) and the NMI status and control
 * port 0x61 of HVM/PVH domains (hypervisor/hvm/vpit.c), after Xen's vpit
 * (xen/arch/x86/emul-i8254.c) and the Intel 82C54 data sheet. Counting is
 * derived from system time (NOW()) at 1.193182 MHz; nothing ticks in the
 * background. Channel 0 raises no interrupt (IRQ 0): PVH guests take their
 * timer from the Xen vCPU timers.
 *
 * The state machine is pure: every function takes the time in ns, so the
 * host unit test (tests/unit/test_vpit.c) drives it with a clock of its own.
 */
#ifndef PROXENOS_VPIT_H
#define PROXENOS_VPIT_H
#include <proxenos/types.h>
#include <proxenos/spinlock.h>

#define VPIT_FREQ        1193182u      /* Hz: 14.31818 MHz / 12 */
#define VPIT_PORT_BASE   0x40          /* channels 0-2, then the mode/command register */
#define VPIT_PORT_NMI_SC 0x61          /* NMI status and control ("port B") */

/* Access states of a channel's count register (control word bits 5:4). */
enum vpit_rw {
    VPIT_RW_LSB = 1,                   /* low byte only */
    VPIT_RW_MSB = 2,                   /* high byte only */
    VPIT_RW_WORD0 = 3,                 /* low byte then high byte: low next */
    VPIT_RW_WORD1 = 4,                 /*   ... high byte next */
};

struct vpit_channel {
    uint32_t count;                    /* reload value, 1-0x10000 (0 written = 0x10000) */
    uint8_t mode;                      /* 0-5 (control word 6 and 7 are 2 and 3) */
    uint8_t bcd;                       /* kept for the status byte; counting is binary */
    uint8_t rw_mode;                   /* enum vpit_rw of the last control word (1-3) */
    uint8_t read_state, write_state;   /* enum vpit_rw: next byte of a live read / a count */
    uint8_t write_latch;               /* low byte of a count being written in WORD mode */
    uint8_t count_latched;             /* enum vpit_rw of a latched count still to read, 0: none */
    bool status_latched;               /* a read-back status byte waits to be read */
    uint8_t status;
    uint16_t latched_count;
    bool gate;                         /* channel 2: port 0x61 bit 0; channels 0, 1: high */
    s_time_t load_time;                /* ns: the count was loaded (counting starts) */
    s_time_t stop_time;                /* ns: the gate last fell */
    s_time_t stopped;                  /* ns spent gated off since load_time (modes 0, 4) */
};

struct vpit {
    spinlock_t lock;                   /* guards everything below */
    bool init;                         /* vpit_reset() done (the domain starts zeroed) */
    bool speaker_data;                 /* port 0x61 bit 1 */
    struct vpit_channel ch[3];
};

/* Power-on state: each channel mode 0 with count 0x10000 loaded at `now`,
   gates of channels 0 and 1 high, channel 2's low, speaker off. */
void vpit_reset(struct vpit *p, s_time_t now);
/* Byte accesses to 0x40 + `reg` (reg 0-3). Reading reg 3 (the write-only
   control register) gives 0xff, as Xen leaves it. */
uint8_t vpit_read(struct vpit *p, unsigned int reg, s_time_t now);
void vpit_write(struct vpit *p, unsigned int reg, uint8_t val, s_time_t now);
/* Port 0x61: bit 0 gate of channel 2, bit 1 speaker data (both read
   back), bit 4 refresh toggle (flips every 2^14 ns, Xen's approximation of
   the ~15 us DRAM refresh), bit 5 OUT of channel 2. Bits 2-3 and 6-7 (NMI
   enables, IOCHK/SERR status) read 0 and writes to them are dropped. */
uint8_t vpit_nmi_sc_read(struct vpit *p, s_time_t now);
void vpit_nmi_sc_write(struct vpit *p, uint8_t val, s_time_t now);
/* The counting element and OUT of a channel at `now` (read-back status bit 7). */
unsigned int vpit_counter(const struct vpit *p, unsigned int ch, s_time_t now);
bool vpit_out(const struct vpit *p, unsigned int ch, s_time_t now);

/* The port handlers hvm/io.c claims 0x40-0x43 and 0x61 with. */
struct hvm_portio_handler;
extern const struct hvm_portio_handler vpit_portio, vpit_nmi_sc_portio;

#endif
