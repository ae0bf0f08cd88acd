/* Guest time, the pure parts: pvclock stamps against 128-bit arithmetic,
   the wallclock base, CMOS RTC decoding, runstate accounting and layouts. */
/* @sources: hypervisor/common/vtime.c hypervisor/platform/rtc.c hypervisor/common/runstate.c hypervisor/platform/time_scale.c */
#include "cmocka_prelude.h"
#include <string.h>
#include <proxenos/xen_abi.h>
#include <proxenos/vtime.h>
#include <proxenos/runstate.h>

typedef unsigned __int128 u128;

/* ---- pvclock ------------------------------------------------------------------- */

/* What NOW() computes, in 128-bit arithmetic: ((d >> -shift or d << shift) * mul) >> 32. */
static uint64_t ref_scale(uint64_t d, const struct time_scale *s)
{
    u128 x = s->shift >= 0 ? (u128)d << s->shift : (u128)(d >> -s->shift);
    return (uint64_t)((x * s->mul_frac) >> 32);
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static const uint64_t tsc_rates[] = {
    2596130000ull, 2994563000ull, 1000000000ull, 999999999ull, 3600000000ull, 100000000ull,
    14318180ull, 4294967296ull, 5000000000ull, 1193182ull, 62500000ull,
};

/* For every stamp the guest's extrapolation equals the host's clock at every
   later TSC, to the nanosecond, and a stamp lags the TSC by less than its
   granule. */
static void pvclock_stamps_exact(void **state)
{
    for (size_t r = 0; r < sizeof(tsc_rates) / sizeof(tsc_rates[0]); r++) {
        struct time_scale s;
        unsigned int g;

        assert_int_equal(time_scale_init(&s, tsc_rates[r], 1000000000), 0);
        g = vtime_stamp_granule_log2(&s);
        assert_true(g <= 63);
        for (int i = 0; i < 2000; i++) {
            uint64_t base = rnd() >> 8;
            uint64_t tsc = base + (rnd() >> (20 + i % 24));
            uint64_t later = tsc + (rnd() >> (24 + i % 36));
            struct pvclock_stamp st;

            vtime_pvclock_stamp(tsc, base, &s, &st);
            assert_true(st.tsc_timestamp <= tsc);
            assert_true(tsc - st.tsc_timestamp < (g >= 63 ? ~0ull : 1ull << g));
            assert_int_equal((st.tsc_timestamp - base) & ((1ull << g) - 1), 0);
            assert_int_equal(st.system_time, ref_scale(st.tsc_timestamp - base, &s));
            if (pvclock_guest_time(&st, later, &s) != ref_scale(later - base, &s))
                fail_msg("rate %lu Hz, stamp %#lx+%#lx, tsc +%#lx: guest %lu, host %lu",
                         tsc_rates[r], base, st.tsc_timestamp - base, later - base,
                         pvclock_guest_time(&st, later, &s), ref_scale(later - base, &s));
        }
    }
}

/* Two successive stamps give the same reading at the same TSC: an update
   never moves the guest's clock. A TSC before the base stamps at the base. */
static void pvclock_updates_agree(void **state)
{
    struct time_scale s;
    struct pvclock_stamp a, b, z;
    uint64_t base = 0x123456789abull;

    assert_int_equal(time_scale_init(&s, 2596130000ull, 1000000000), 0);
    for (int i = 0; i < 1000; i++) {
        uint64_t t1 = base + (rnd() >> 24), t2 = t1 + (rnd() >> 28), t = t2 + (rnd() >> 30);

        vtime_pvclock_stamp(t1, base, &s, &a);
        vtime_pvclock_stamp(t2, base, &s, &b);
        assert_int_equal(pvclock_guest_time(&a, t, &s), pvclock_guest_time(&b, t, &s));
    }
    vtime_pvclock_stamp(base - 5, base, &s, &z);
    assert_int_equal(z.tsc_timestamp, base);
    assert_int_equal(z.system_time, 0);
    s.mul_frac = 0;                                  /* uncalibrated: granule 0 */
    assert_int_equal(vtime_stamp_granule_log2(&s), 0);
}

static void wallclock_base(void **state)
{
    struct vtime_wallclock wc;

    vtime_wallclock_base(1700000000, 500000000, 1250000000, &wc);   /* read 1.25 s after 0 */
    assert_int_equal(wc.sec, 1699999999);
    assert_int_equal(wc.nsec, 250000000);
    vtime_wallclock_base(1700000000, 0, 3000000000ll, &wc);
    assert_int_equal(wc.sec, 1699999997);
    assert_int_equal(wc.nsec, 0);
    vtime_wallclock_base(1700000000, 0, 999999999, &wc);            /* borrow */
    assert_int_equal(wc.sec, 1699999999);
    assert_int_equal(wc.nsec, 1);
    vtime_wallclock_base(0, 0, 5000000000ll, &wc);                 /* before the epoch: 0 */
    assert_int_equal(wc.sec, 0);
    assert_int_equal(wc.nsec, 0);
    vtime_wallclock_base(1, 2000000000u, -7, &wc);                 /* hostile inputs clamp */
    assert_int_equal(wc.sec, 1);
    assert_int_equal(wc.nsec, 999999999);
    vtime_wallclock_base(0x1ffffffffll, 0, 0, &wc);                /* past 2106: wc_sec_hi */
    assert_int_equal(wc.sec >> 32, 1);
}

/* ---- the RTC ----------------------------------------------------------------------- */

static int64_t decode(uint8_t sec, uint8_t min, uint8_t hour, uint8_t mday, uint8_t mon,
                      uint8_t year, uint8_t b)
{
    struct rtc_regs r = { sec, min, hour, mday, mon, year, b };
    struct rtc_time t;

    if (rtc_decode(&r, &t))
        return -1;
    return rtc_time_to_unix(&t);
}

#define BCD24 (RTC_B_24H)
#define BIN24 (RTC_B_24H | RTC_B_BINARY)

static void rtc_formats(void **state)
{
    /* 2023-11-14 22:13:20 UTC = 1700000000 */
    assert_int_equal(decode(0x20, 0x13, 0x22, 0x14, 0x11, 0x23, BCD24), 1700000000);
    assert_int_equal(decode(20, 13, 22, 14, 11, 23, BIN24), 1700000000);
    /* 12-hour: 10 PM is 0x90 | 10 */
    assert_int_equal(decode(0x20, 0x13, 0x80 | 0x10, 0x14, 0x11, 0x23, 0), 1700000000);
    assert_int_equal(decode(20, 13, 0x80 | 10, 14, 11, 23, RTC_B_BINARY), 1700000000);
    /* 12 AM is 00:xx, 12 PM is 12:xx */
    assert_int_equal(decode(0, 0, 0x12, 0x01, 0x01, 0x70, 0), 0);
    assert_int_equal(decode(0, 0, 0x92, 0x01, 0x01, 0x70, 0), 12 * 3600);
    assert_int_equal(decode(0, 0, 0x01, 0x01, 0x01, 0x70, 0), 3600);
    /* the epoch, the pivot, leap days, the last day of 2069 */
    assert_int_equal(decode(0, 0, 0, 1, 1, 70, BIN24), 0);
    assert_int_equal(decode(0, 0, 0, 1, 1, 0, BIN24), 946684800);          /* 2000-01-01 */
    assert_int_equal(decode(0, 0, 0, 29, 2, 0, BIN24), 951782400);         /* 2000-02-29 */
    assert_int_equal(decode(0, 0, 0, 29, 2, 24, BIN24), 1709164800);       /* 2024-02-29 */
    assert_int_equal(decode(59, 59, 23, 31, 12, 69, BIN24), 3155759999ll); /* 2069-12-31 */
    assert_int_equal(decode(59, 59, 23, 31, 12, 99, BIN24), 946684799);    /* 1999-12-31 */
}

static void rtc_rejects(void **state)
{
    assert_int_equal(decode(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), -1);   /* no RTC */
    assert_int_equal(decode(0x1a, 0, 0, 1, 1, 0x23, BCD24), -1);             /* bad BCD */
    assert_int_equal(decode(0, 0, 0x24, 1, 1, 0x23, BCD24), -1);             /* hour 24 */
    assert_int_equal(decode(0, 0, 0x13, 1, 1, 0x23, 0), -1);                 /* 12h: 13 */
    assert_int_equal(decode(0, 0, 0x00, 1, 1, 0x23, 0), -1);                 /* 12h: 0 */
    assert_int_equal(decode(0x60, 0, 0, 1, 1, 0x23, BCD24), -1);             /* second 60 */
    assert_int_equal(decode(0, 0x60, 0, 1, 1, 0x23, BCD24), -1);
    assert_int_equal(decode(0, 0, 0, 0, 1, 0x23, BCD24), -1);                /* day 0 */
    assert_int_equal(decode(0, 0, 0, 0x29, 2, 0x23, BCD24), -1);             /* 2023-02-29 */
    assert_int_equal(decode(0, 0, 0, 0x31, 4, 0x23, BCD24), -1);             /* April 31 */
    assert_int_equal(decode(0, 0, 0, 1, 0x13, 0x23, BCD24), -1);             /* month 13 */
    assert_int_equal(decode(0, 0, 0, 1, 0, 0x23, BCD24), -1);                /* month 0 */
    assert_int_equal(decode(0, 0, 0, 1, 1, 100, BIN24), -1);                 /* year 100 */
    assert_int_equal(decode(0, 0, 0x80 | 0x24, 1, 1, 0x23, BCD24), -1);      /* PM bit in 24h */
}

/* Every day from 1970 to 2069 against a day-by-day count. */
static void rtc_every_day(void **state)
{
    static const int mdays[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    int64_t day = 0;

    for (unsigned int y = 1970; y < 2070; y++) {
        bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        for (unsigned int m = 1; m <= 12; m++) {
            int n = mdays[m - 1] + (m == 2 && leap);
            for (int d = 1; d <= n; d++, day++)
                assert_int_equal(decode(7, 6, 5, (uint8_t)d, (uint8_t)m, (uint8_t)(y % 100), BIN24),
                                 day * 86400 + 5 * 3600 + 6 * 60 + 7);
            assert_int_equal(decode(0, 0, 0, (uint8_t)(n + 1), (uint8_t)m, (uint8_t)(y % 100),
                                    BIN24), -1);
        }
    }
}

/* ---- runstate ------------------------------------------------------------------------- */

static void runstate_accounting(void **state)
{
    struct vcpu_runstate_info rs = { .state = RUNSTATE_offline, .state_entry_time = 100 };
    struct vcpu_runstate_info snap;

    runstate_account(&rs, RUNSTATE_runnable, 150);
    assert_int_equal(rs.state, RUNSTATE_runnable);
    assert_int_equal(rs.time[RUNSTATE_offline], 50);
    assert_int_equal(rs.state_entry_time, 150);
    runstate_account(&rs, RUNSTATE_running, 1150);
    runstate_account(&rs, RUNSTATE_blocked, 4150);
    runstate_account(&rs, RUNSTATE_runnable, 4150);     /* no time: entry stays */
    assert_int_equal(rs.time[RUNSTATE_runnable], 1000);
    assert_int_equal(rs.time[RUNSTATE_running], 3000);
    assert_int_equal(rs.time[RUNSTATE_blocked], 0);
    assert_int_equal(rs.state_entry_time, 4150);
    runstate_account(&rs, RUNSTATE_running, 4000);      /* a clock behind: nothing counted */
    assert_int_equal(rs.state, RUNSTATE_running);
    assert_int_equal(rs.state_entry_time, 4150);
    assert_int_equal(rs.time[RUNSTATE_runnable], 1000);

    runstate_snapshot(&rs, 5150, &snap);
    assert_int_equal(snap.time[RUNSTATE_running], 4000);
    assert_int_equal(snap.state_entry_time, 4150);
    assert_int_equal(rs.time[RUNSTATE_running], 3000);  /* the record is unchanged */
    runstate_snapshot(&rs, 10, &snap);
    assert_memory_equal(&snap, &rs, sizeof(rs));
}

static void runstate_compat_layout(void **state)
{
    struct vcpu_runstate_info rs = {
        .state = RUNSTATE_blocked, .state_entry_time = 0x8000000011223344ull,
        .time = { 1, 0x1122334455667788ull, 3, 0xffffffffffffffffull },
    };
    uint8_t out[RUNSTATE_COMPAT_SIZE + 4];
    uint64_t v;
    uint32_t st;

    memset(out, 0xaa, sizeof(out));
    runstate_to_compat(&rs, out);
    memcpy(&st, out, 4);
    assert_int_equal(st, RUNSTATE_blocked);
    memcpy(&v, out + RUNSTATE_COMPAT_ENTRY_OFF, 8);
    assert_int_equal(v, rs.state_entry_time);
    assert_int_equal(out[RUNSTATE_COMPAT_ENTRY_OFF + 7] & 0x80, 0x80);  /* UPDATE in the top byte */
    for (int i = 0; i < 4; i++) {
        memcpy(&v, out + 12 + 8 * i, 8);
        assert_int_equal(v, rs.time[i]);
    }
    assert_int_equal(out[RUNSTATE_COMPAT_SIZE], 0xaa);                 /* 44 bytes, no more */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pvclock_stamps_exact),
        cmocka_unit_test(pvclock_updates_agree),
        cmocka_unit_test(wallclock_base),
        cmocka_unit_test(rtc_formats),
        cmocka_unit_test(rtc_rejects),
        cmocka_unit_test(rtc_every_day),
        cmocka_unit_test(runstate_accounting),
        cmocka_unit_test(runstate_compat_layout),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
