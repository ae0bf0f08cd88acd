/*
 * The i8254 PIT (Intel 8254 datasheet). Channel 2 is the one channel with
 * no interrupt and a gate the CPU controls (port 0x61, the PC/AT system
 * control port B: bit 0 gate 2, bit 1 speaker), so using it disturbs
 * nothing: it runs free as a counter for TSC calibration when there is no
 * HPET and as the timer self test's reference. The counter is read next to
 * the TSC (time.c), which unlike waiting for OUT2 cannot be skewed by the
 * CPU being interrupted at the wrong moment. Channel 0 (ISA IRQ 0) is only
 * used by self tests, as an interrupt source they can trigger on demand.
 */
#include <proxenos/io.h>
#include <proxenos/time.h>

#define PIT_CH0       0x40
#define PIT_CH2       0x42
#define PIT_MODE      0x43
#define PORT_B        0x61
#define  PORTB_GATE2  0x01
#define  PORTB_SPKR   0x02

/* Mode/command byte: channel 2 (10), lobyte/hibyte (11), mode, binary. */
#define CMD_CH2_MODE2 0xb4             /* rate generator */
#define CMD_CH2_LATCH 0x80
#define CMD_CH0_MODE0 0x30             /* channel 0, lobyte/hibyte, mode 0 */
#define CMD_CH0_MODE2 0x34             /* channel 0, lobyte/hibyte, mode 2 */

static void gate2(bool on)
{
    uint8_t b = inb(PORT_B) & ~(PORTB_GATE2 | PORTB_SPKR);   /* speaker always off */

    outb(PORT_B, b | (on ? PORTB_GATE2 : 0));
}

/* Mode 2 with count 0 (= 65536): counts down at PIT_HZ and reloads, forever. */
void pit_counter_start(void)
{
    gate2(false);
    outb(PIT_MODE, CMD_CH2_MODE2);
    outb(PIT_CH2, 0);
    outb(PIT_CH2, 0);
    gate2(true);
}

uint16_t pit_counter_read(void)
{
    uint8_t lo, hi;

    outb(PIT_MODE, CMD_CH2_LATCH);     /* latch: lo and hi come from one instant */
    lo = inb(PIT_CH2);
    hi = inb(PIT_CH2);
    return (uint16_t)(hi << 8 | lo);
}

/* Mode 0 on channel 0: OUT0, wired to ISA IRQ 0, rises once after `count`
 * PIT ticks, an edge the IOAPIC turns into one interrupt. */
void pit_channel0_oneshot(uint16_t count)
{
    outb(PIT_MODE, CMD_CH0_MODE0);
    outb(PIT_CH0, count & 0xff);
    outb(PIT_CH0, count >> 8);
}

/* Mode 2 on channel 0: an IRQ 0 edge every `count` ticks until stopped by
 * reprogramming (pit_channel0_oneshot with a long count). */
void pit_channel0_periodic(uint16_t count)
{
    outb(PIT_MODE, CMD_CH0_MODE2);
    outb(PIT_CH0, count & 0xff);
    outb(PIT_CH0, count >> 8);
}
