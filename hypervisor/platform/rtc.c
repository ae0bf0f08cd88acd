/*
 * The CMOS real-time clock (Motorola MC146818 and its PC descendants:
 * index port 0x70, data port 0x71), read once for the guests' wallclock
 * (common/vtime.c). Only reading: Proxenos never sets it.
 *
 *   - Status A bit 7 (UIP) is set from 244 us before an update until it
 *     ends: registers are read while it is clear, twice, until two
 *     readings agree, so an update between two register reads is caught.
 *   - Status B says BCD or binary (bit 2) and 12- or 24-hour (bit 1; in
 *     12-hour mode bit 7 of the hour is PM, hours run 12, 1, ..., 11).
 *   - The year has two digits; 70-99 are 19xx, 00-69 20xx (as Xen and
 *     Linux assume). The ACPI FADT century register is not consulted.
 *   - The clock is taken to hold UTC, as Xen takes it.
 *
 * The RTC counts whole seconds. Without `rtc_sync` the reading is taken
 * to be in the middle of its second (the error is then within +-0.5 s and
 * costs no boot time); `rtc_sync` waits up to 1.1 s for the next second to
 * begin, as Xen's get_cmos_time() always does, for a reading within a few
 * milliseconds.
 *
 * rtc_decode() and rtc_time_to_unix() are pure (tests/unit/test_vtime.c).
 */
#include <proxenos/vtime.h>

#define NS_PER_SEC 1000000000u

static int from_bcd(uint8_t v, unsigned int *out)
{
    if ((v & 0xf) > 9 || (v >> 4) > 9)
        return -EINVAL;
    *out = (v >> 4) * 10 + (v & 0xf);
    return 0;
}

static int field(uint8_t v, bool binary, unsigned int *out)
{
    if (binary) {
        *out = v;
        return 0;
    }
    return from_bcd(v, out);
}

static bool leap(unsigned int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned int days_in_month(unsigned int y, unsigned int m)
{
    static const uint8_t days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

    return days[m - 1] + (m == 2 && leap(y));
}

/* 12-hour mode: 12 AM is 0, 1-11 AM as they are, 12 PM is 12, PM adds 12. */
static int decode_hour(uint8_t raw, uint8_t status_b, unsigned int *hour)
{
    bool h24 = status_b & RTC_B_24H, pm = !h24 && (raw & 0x80);

    if (field(h24 ? raw : raw & 0x7f, status_b & RTC_B_BINARY, hour))
        return -EINVAL;
    if (h24)
        return *hour < 24 ? 0 : -EINVAL;
    if (*hour < 1 || *hour > 12)
        return -EINVAL;
    *hour = *hour % 12 + (pm ? 12 : 0);
    return 0;
}

int rtc_decode(const struct rtc_regs *r, struct rtc_time *t)
{
    bool bin = r->status_b & RTC_B_BINARY;
    unsigned int year;

    if (field(r->sec, bin, &t->sec) || field(r->min, bin, &t->min) ||
        field(r->mday, bin, &t->mday) || field(r->mon, bin, &t->mon) ||
        field(r->year, bin, &year) || decode_hour(r->hour, r->status_b, &t->hour))
        return -EINVAL;
    if (year > 99 || t->sec > 59 || t->min > 59 || t->mon < 1 || t->mon > 12)
        return -EINVAL;
    t->year = year < 70 ? 2000 + year : 1900 + year;
    if (t->mday < 1 || t->mday > days_in_month(t->year, t->mon))
        return -EINVAL;
    return 0;
}

int64_t rtc_time_to_unix(const struct rtc_time *t)
{
    int64_t days = 0;

    /* At most a century of years to walk: plain counting is clearest. */
    for (unsigned int y = 1970; y < t->year; y++)
        days += leap(y) ? 366 : 365;
    for (unsigned int m = 1; m < t->mon; m++)
        days += days_in_month(t->year, m);
    days += t->mday - 1;
    return ((days * 24 + t->hour) * 60 + t->min) * 60 + t->sec;
}

#ifndef HOST_TEST
#include <proxenos/cmdline.h>
#include <proxenos/io.h>
#include <proxenos/lib.h>
#include <proxenos/platform.h>
#include <proxenos/printk.h>

#define RTC_INDEX     0x70
#define RTC_DATA      0x71
#define RTC_SECONDS   0x00
#define RTC_MINUTES   0x02
#define RTC_HOURS     0x04
#define RTC_MDAY      0x07
#define RTC_MONTH     0x08
#define RTC_YEAR      0x09
#define RTC_STATUS_A  0x0a
#define  RTC_A_UIP    (1u << 7)
#define RTC_STATUS_B  0x0b
#define RTC_TRIES     10

static bool opt_rtc_sync;
boolean_param("rtc_sync", opt_rtc_sync);

/* Bit 7 of the index is NMI-disable on PCs: left clear. Interrupts are off
   in our callers, so index and data accesses stay paired. */
static uint8_t cmos_read(uint8_t reg)
{
    outb(RTC_INDEX, reg);
    return inb(RTC_DATA);
}

/* UIP clears within 2 ms of being set (244 us setup + ~2 ms update). */
static bool wait_uip_clear(void)
{
    s_time_t end = NOW() + MILLISECS(5);

    while (cmos_read(RTC_STATUS_A) & RTC_A_UIP)
        if (NOW() > end)
            return false;
    return true;
}

static void read_regs(struct rtc_regs *r)
{
    r->sec = cmos_read(RTC_SECONDS);
    r->min = cmos_read(RTC_MINUTES);
    r->hour = cmos_read(RTC_HOURS);
    r->mday = cmos_read(RTC_MDAY);
    r->mon = cmos_read(RTC_MONTH);
    r->year = cmos_read(RTC_YEAR);
    r->status_b = cmos_read(RTC_STATUS_B);
}

/* Two consecutive readings with UIP clear before each that agree. */
static int read_stable(struct rtc_regs *r)
{
    struct rtc_regs again;

    for (int i = 0; i < RTC_TRIES; i++) {
        if (!wait_uip_clear())
            continue;
        read_regs(r);
        if (!wait_uip_clear())
            continue;
        read_regs(&again);
        if (!memcmp(r, &again, sizeof(again)))
            return 0;
    }
    return -EIO;
}

/* Waits for the seconds register to change: the new second has just begun. */
static bool wait_second_edge(const struct rtc_regs *first)
{
    s_time_t end = NOW() + MILLISECS(1100);

    while (NOW() < end) {
        if (wait_uip_clear() && cmos_read(RTC_SECONDS) != first->sec)
            return true;
    }
    return false;
}

int rtc_read_utc(int64_t *unix_sec, uint32_t *sub_ns, s_time_t *at)
{
    struct rtc_regs r = { 0 };
    struct rtc_time t;
    bool synced = false;

    if (read_stable(&r))
        goto bad;
    if (opt_rtc_sync && wait_second_edge(&r)) {
        synced = true;
        if (read_stable(&r))
            goto bad;
    }
    *at = NOW();
    if (rtc_decode(&r, &t))
        goto bad;
    *unix_sec = rtc_time_to_unix(&t);
    *sub_ns = synced ? 0 : NS_PER_SEC / 2;
    printk("RTC: %04u-%02u-%02u %02u:%02u:%02u UTC at %lu ms (%s)\n", t.year, t.mon, t.mday,
           t.hour, t.min, t.sec, *at / 1000000,
           synced ? "at the start of the second" : "within 0.5 s; rtc_sync for better");
    return 0;
bad:
    printk(LOG_WARN "RTC: no usable reading (status B %#x, %02x:%02x:%02x %02x/%02x/%02x)\n",
           r.status_b, r.hour, r.min, r.sec, r.mday, r.mon, r.year);
    return -EIO;
}
#endif
