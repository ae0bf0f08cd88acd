/* The emulated i8254 PIT and port 0x61: counting from a given time, access
   modes, latches and read-back, OUT per mode, the channel 2 gate, and the
   sequences Linux's TSC calibration (arch/x86/kernel/tsc.c) runs. */
/* @sources: hypervisor/hvm/vpit.c */
#include "cmocka_prelude.h"
#include <string.h>
#include <proxenos/domain.h>
#include <proxenos/hvm.h>
#include <proxenos/vpit.h>

#define F VPIT_FREQ

static s_time_t clock_now;
s_time_t NOW(void) { return clock_now; }

static struct vpit pit;

/* The first ns at which `ticks` whole input clocks have elapsed. */
static s_time_t at(uint64_t ticks)
{
    return (s_time_t)((ticks * 1000000000ull + F - 1) / F);
}

static int setup(void **state)
{
    memset(&pit, 0, sizeof(pit));
    vpit_reset(&pit, 0);
    return 0;
}

/* Channel 2 as Linux programs it: gate high, speaker off, mode 0, LSB then
   MSB, the count loaded at t0. */
static void linux_channel2(uint16_t count, s_time_t t0)
{
    vpit_nmi_sc_write(&pit, (vpit_nmi_sc_read(&pit, t0) & ~2) | 1, t0);
    vpit_write(&pit, 3, 0xb0, t0);
    vpit_write(&pit, 2, count & 0xff, t0);
    vpit_write(&pit, 2, count >> 8, t0);
}

static unsigned int read16(unsigned int ch, s_time_t t)
{
    unsigned int lo = vpit_read(&pit, ch, t);
    return lo | vpit_read(&pit, ch, t) << 8;
}

static void power_on(void **state)
{
    /* Channel 2 gated off: held at 0x10000 (reads 0), OUT low. */
    assert_int_equal(vpit_nmi_sc_read(&pit, 0), 0);
    assert_int_equal(vpit_counter(&pit, 2, at(1000)), 0);
    assert_false(vpit_out(&pit, 2, at(1000)));
    /* Channel 0 counts from 0x10000 in mode 0, LSB access. */
    assert_int_equal(vpit_counter(&pit, 0, at(16)), 0x10000 - 16);
    assert_int_equal(vpit_read(&pit, 0, at(16)), 0xf0);
    assert_int_equal(vpit_read(&pit, 3, 0), 0xff);              /* write-only */
}

static void time_scale(void **state)
{
    linux_channel2(0xffff, 1000);
    assert_int_equal(vpit_counter(&pit, 2, 1000), 0xffff);
    assert_int_equal(vpit_counter(&pit, 2, 1000 + at(1) - 1), 0xffff);
    assert_int_equal(vpit_counter(&pit, 2, 1000 + at(1)), 0xfffe);
    /* One second is 1193182 clocks; mode 0 wraps through 0 and counts on. */
    assert_int_equal(vpit_counter(&pit, 2, 1000 + 1000000000), (0xffff - F) & 0xffff);
    /* Ten hours in mode 2: no overflow in the scaling. */
    vpit_write(&pit, 3, 0xb4, 0);
    vpit_write(&pit, 2, 0xe8, 0);
    vpit_write(&pit, 2, 0x03, 0);                                /* 1000 */
    assert_int_equal(vpit_counter(&pit, 2, 36000ll * 1000000000),
                     1000 - (36000ull * F) % 1000);
}

static void quick_calibration(void **state)
{
    /* quick_pit_calibrate: MSB 0xff for the first 256 clocks, then 0xfe... */
    linux_channel2(0xffff, 0);
    assert_int_equal(read16(2, at(0)), 0xffff);
    assert_int_equal(read16(2, at(254)), 0xff01);
    assert_int_equal(read16(2, at(255)) >> 8, 0xff);
    assert_int_equal(read16(2, at(256)) >> 8, 0xfe);
    assert_int_equal(read16(2, at(256 * 233)) >> 8, 0xff - 233);
    /* A mode 0 count does not reload: OUT2 (port 0x61 bit 5) stays low
       until terminal count and high after. */
    assert_int_equal(vpit_nmi_sc_read(&pit, at(0xfffe)) & 0x21, 0x01);
    assert_int_equal(vpit_nmi_sc_read(&pit, at(0xffff)) & 0x21, 0x21);
    assert_int_equal(vpit_nmi_sc_read(&pit, at(0x30000)) & 0x21, 0x21);
}

static void slow_calibration(void **state)
{
    /* pit_calibrate_tsc: 10 ms latch (CAL_LATCH = 11931), OUT2 polled. */
    s_time_t t0 = 5000000;

    linux_channel2(11931, t0);
    assert_false(vpit_nmi_sc_read(&pit, t0) & 0x20);
    assert_false(vpit_nmi_sc_read(&pit, t0 + at(11930)) & 0x20);
    assert_true(vpit_nmi_sc_read(&pit, t0 + at(11931)) & 0x20);
    assert_true(at(11931) > 9999000 && at(11931) < 10000000);   /* ~10 ms */
}

static void gate(void **state)
{
    linux_channel2(1000, 0);
    assert_int_equal(vpit_counter(&pit, 2, at(100)), 900);
    vpit_nmi_sc_write(&pit, 0, at(100));                         /* gate low: held */
    assert_int_equal(vpit_nmi_sc_read(&pit, at(100)) & 1, 0);
    assert_int_equal(vpit_counter(&pit, 2, at(5000)), 900);
    assert_false(vpit_out(&pit, 2, at(5000)));
    vpit_nmi_sc_write(&pit, 1, at(5000));                        /* mode 0: resumes */
    assert_int_equal(vpit_counter(&pit, 2, at(5000) + at(50)), 850);
    assert_true(vpit_out(&pit, 2, at(5000) + at(900)));
    /* Mode 2: a low gate holds the count, a rising gate reloads it. */
    s_time_t t = at(6000), t2 = t + at(50);
    vpit_write(&pit, 3, 0xb4, t);
    vpit_write(&pit, 2, 100, t);
    vpit_write(&pit, 2, 0, t);
    assert_int_equal(vpit_counter(&pit, 2, t + at(30)), 70);
    vpit_nmi_sc_write(&pit, 0, t + at(30));
    assert_int_equal(vpit_counter(&pit, 2, t2), 70);
    vpit_nmi_sc_write(&pit, 1, t2);
    assert_int_equal(vpit_counter(&pit, 2, t2), 100);
    assert_int_equal(vpit_counter(&pit, 2, t2 + at(10)), 90);
}

static void speaker_and_refresh(void **state)
{
    vpit_nmi_sc_write(&pit, 0xff, 0);                            /* only bits 0-1 stick */
    assert_int_equal(vpit_nmi_sc_read(&pit, 0) & 0xcf, 0x03);
    assert_int_equal(vpit_nmi_sc_read(&pit, 0) & 0x10, 0);
    assert_int_equal(vpit_nmi_sc_read(&pit, 1 << 14) & 0x10, 0x10);
    assert_int_equal(vpit_nmi_sc_read(&pit, 2 << 14) & 0x10, 0);
    vpit_nmi_sc_write(&pit, 0x01, 0);
    assert_int_equal(vpit_nmi_sc_read(&pit, 0) & 0x03, 0x01);
}

static void latch(void **state)
{
    linux_channel2(0x1234, 0);
    vpit_write(&pit, 3, 0x80, at(0x34));                         /* latch channel 2 */
    vpit_write(&pit, 3, 0x80, at(0x100));                        /* ignored: still latched */
    assert_int_equal(vpit_read(&pit, 2, at(0x200)), 0x00);       /* 0x1200, low byte */
    assert_int_equal(vpit_read(&pit, 2, at(0x300)), 0x12);
    assert_int_equal(read16(2, at(0x1000)), 0x0234);             /* live again */
    /* The latch follows the access mode: LSB only. */
    s_time_t t = at(0x1000), t3 = at(0x2000);
    vpit_write(&pit, 3, 0x90, t);
    vpit_write(&pit, 2, 0x80, t);                                /* count 0x80 */
    vpit_write(&pit, 3, 0x80, t + at(0x10));
    assert_int_equal(vpit_read(&pit, 2, t + at(0x20)), 0x70);
    assert_int_equal(vpit_read(&pit, 2, t + at(0x20)), 0x60);    /* live */
    /* MSB only: writes load count << 8, reads give the high byte. */
    vpit_write(&pit, 3, 0xa0, t3);
    vpit_write(&pit, 2, 0x02, t3);                               /* count 0x200 */
    assert_int_equal(vpit_read(&pit, 2, t3), 0x02);
    assert_int_equal(vpit_read(&pit, 2, t3 + at(1)), 0x01);
    assert_int_equal(vpit_counter(&pit, 2, t3 + at(1)), 0x1ff);
}

static void lohi_write_then_read(void **state)
{
    /* A latch in LSB/MSB mode between a live low and high byte: the
       latch comes first, the live read state is kept. */
    linux_channel2(0x4000, 0);
    assert_int_equal(vpit_read(&pit, 2, at(1)), 0xff);           /* live low of 0x3fff */
    vpit_write(&pit, 3, 0x80, at(2));
    assert_int_equal(read16(2, at(9)), 0x3ffe);                  /* the latched word */
    assert_int_equal(vpit_read(&pit, 2, at(10)), 0x3f);          /* live high byte */
}

static void read_back(void **state)
{
    linux_channel2(100, 0);
    /* Status and count of channel 2: status first, then the count. */
    vpit_write(&pit, 3, 0xc0 | 0x08, at(10));
    assert_int_equal(vpit_read(&pit, 2, at(20)), 0x30);          /* OUT 0, LSB/MSB, mode 0 */
    assert_int_equal(read16(2, at(30)), 90);
    /* Status only, after terminal count, with BCD set: OUT 1. */
    s_time_t t = at(40);
    vpit_write(&pit, 3, 0xb1, t);                                /* mode 0, BCD */
    vpit_write(&pit, 2, 5, t);
    vpit_write(&pit, 2, 0, t);
    vpit_write(&pit, 3, 0xc0 | 0x20 | 0x08, t + at(10));
    assert_int_equal(vpit_read(&pit, 2, t + at(10)), 0xb1);
    assert_int_equal(read16(2, t + at(10)), (5 - 10) & 0xffff);  /* live */
    /* Count only, of channels 0 and 2 at once; channel 1 untouched. */
    vpit_write(&pit, 3, 0xc0 | 0x10 | 0x02 | 0x08, t + at(20));
    assert_int_equal(vpit_read(&pit, 0, t + at(30)), (0x10000 - 60) & 0xff);  /* LSB mode */
    assert_int_equal(read16(2, t + at(40)), (5 - 20) & 0xffff);
    assert_int_equal(vpit_read(&pit, 1, at(80)), (0x10000 - 80) & 0xff);
}

static void mode_2_and_3(void **state)
{
    /* Mode 2 (rate generator): N..1, reloading; OUT low on the reload clock. */
    vpit_write(&pit, 3, 0x34, 0);                                /* channel 0, mode 2 */
    vpit_write(&pit, 0, 10, 0);
    vpit_write(&pit, 0, 0, 0);
    assert_int_equal(vpit_counter(&pit, 0, at(3)), 7);
    assert_int_equal(vpit_counter(&pit, 0, at(10)), 10);
    assert_int_equal(vpit_counter(&pit, 0, at(13)), 7);
    assert_false(vpit_out(&pit, 0, at(0)));
    assert_true(vpit_out(&pit, 0, at(10)));
    assert_false(vpit_out(&pit, 0, at(11)));
    /* Mode 3 (square wave), also selected as 7: by two, OUT high then low. */
    vpit_write(&pit, 3, 0x3e, 0);
    assert_int_equal(pit.ch[0].mode, 3);
    vpit_write(&pit, 0, 10, 0);
    vpit_write(&pit, 0, 0, 0);
    assert_int_equal(vpit_counter(&pit, 0, at(2)), 6);
    assert_true(vpit_out(&pit, 0, at(4)));
    assert_false(vpit_out(&pit, 0, at(5)));
    assert_true(vpit_out(&pit, 0, at(10)));
    /* Mode 6 is mode 2; a count of 0 is 0x10000. */
    vpit_write(&pit, 3, 0x3c, 0);
    assert_int_equal(pit.ch[0].mode, 2);
    vpit_write(&pit, 0, 0, 0);
    vpit_write(&pit, 0, 0, 0);
    assert_int_equal(vpit_counter(&pit, 0, at(1)), 0xffff);
    /* Mode 4 strobes at terminal count only. */
    vpit_write(&pit, 3, 0x38, 0);
    vpit_write(&pit, 0, 4, 0);
    vpit_write(&pit, 0, 0, 0);
    assert_false(vpit_out(&pit, 0, at(3)));
    assert_true(vpit_out(&pit, 0, at(4)));
    assert_false(vpit_out(&pit, 0, at(5)));
}

/* The handlers hvm/io.c calls: byte accesses only, NOW() as the time. */
static void port_handlers(void **state)
{
    static struct domain dom;
    static struct vcpu vcpu;

    memset(&dom, 0, sizeof(dom));
    vcpu.domain = &dom;
    clock_now = 1 << 20;                                         /* refresh bit 0 */
    assert_int_equal(vpit_nmi_sc_portio.read(&vcpu, 0x61, 1), 0);  /* created on first use */
    assert_true(dom.vpit.init);
    vpit_nmi_sc_portio.write(&vcpu, 0x61, 1, 1);
    vpit_portio.write(&vcpu, 0x43, 1, 0xb0);
    vpit_portio.write(&vcpu, 0x42, 1, 0x00);
    vpit_portio.write(&vcpu, 0x42, 1, 0x10);
    vpit_portio.write(&vcpu, 0x42, 2, 0x5555);                   /* dropped */
    assert_int_equal(vpit_portio.read(&vcpu, 0x40, 4), 0xffffffffu);
    clock_now += at(0x100);
    assert_int_equal(vpit_portio.read(&vcpu, 0x42, 1), 0x00);
    assert_int_equal(vpit_portio.read(&vcpu, 0x42, 1), 0x0f);
    assert_int_equal(vpit_portio.read(&vcpu, 0x43, 1), 0xff);
    assert_int_equal(vpit_nmi_sc_portio.read(&vcpu, 0x61, 1) & 0x23, 0x01);
    clock_now += at(0x1000);
    assert_int_equal(vpit_nmi_sc_portio.read(&vcpu, 0x61, 1) & 0x23, 0x21);
    assert_int_equal(vpit_portio.first, 0x40);
    assert_int_equal(vpit_portio.count, 4);
    assert_int_equal(vpit_nmi_sc_portio.first, 0x61);
    assert_int_equal(vpit_nmi_sc_portio.count, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(power_on, setup),
        cmocka_unit_test_setup(time_scale, setup),
        cmocka_unit_test_setup(quick_calibration, setup),
        cmocka_unit_test_setup(slow_calibration, setup),
        cmocka_unit_test_setup(gate, setup),
        cmocka_unit_test_setup(speaker_and_refresh, setup),
        cmocka_unit_test_setup(latch, setup),
        cmocka_unit_test_setup(lohi_write_then_read, setup),
        cmocka_unit_test_setup(read_back, setup),
        cmocka_unit_test_setup(mode_2_and_3, setup),
        cmocka_unit_test_setup(port_handlers, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
