/* printk's formatter and the number parsers, checked against C99 printf. */
/* @sources: hypervisor/lib/format.c */
#include "cmocka_prelude.h"
#include <stdio.h>
#include <proxenos/lib.h>

/* Formats with ours and with the C library and compares both results. */
#define SAME(fmt, ...) do { \
    char ours[128], libc[128]; \
    int n1 = px_snprintf(ours, sizeof(ours), fmt, __VA_ARGS__); \
    int n2 = snprintf(libc, sizeof(libc), fmt, __VA_ARGS__); \
    assert_string_equal(ours, libc); \
    assert_int_equal(n1, n2); \
} while (0)

static void integers(void **state)
{
    SAME("%d|%i|%u", 0, -1, 4000000000u);
    SAME("%d", -2147483647 - 1);
    SAME("%ld|%lu", -9223372036854775807L - 1, 18446744073709551615UL);
    SAME("%lld|%llx", -5LL, 0xdeadbeefcafeULL);
    SAME("%hd|%hhu|%hx", 70000, 300, 0x12345);
    SAME("%zu|%zx", (size_t)12345, (size_t)0xabc);
    SAME("%x|%X|%o|%#x|%#X|%#o|%#o", 255u, 255u, 8u, 255u, 255u, 8u, 0u);
}

static void widths_and_flags(void **state)
{
    SAME("[%5d][%-5d][%05d][%+d][% d]", 42, 42, 42, 42, 42);
    SAME("[%08lx][%-8x][%#010x]", 0xabcUL, 0xabcu, 0xabcu);
    SAME("[%.3d][%8.3d][%-8.3d][%.0d]", 7, 7, 7, 0);
    SAME("[%*d][%-*d][%.*d]", 6, 1, 6, 1, 4, 1);
    SAME("[%05d][%+05d][%-+5d]", -42, 42, 42);
    SAME("[%016lx]", 0xffff82d040200000UL);
}

static void strings_and_chars(void **state)
{
    SAME("[%s][%10s][%-10s][%.2s]", "abc", "abc", "abc", "abc");
    SAME("[%c][%3c][%-3c]", 'x', 'y', 'z');
    SAME("%s%%%s", "a", "b");
    SAME("%p", (void *)0x1234);
}

/* Deliberately malformed formats, hidden from the compiler's format checks. */
static int fmt_unchecked(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = px_vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}

static void null_string_and_unknown(void **state)
{
    char buf[64];
    const char *null_str = NULL;
    fmt_unchecked(buf, sizeof(buf), "%s", null_str);
    assert_string_equal(buf, "(null)");
    fmt_unchecked(buf, sizeof(buf), "a%qb");
    assert_string_equal(buf, "a%qb");
    fmt_unchecked(buf, sizeof(buf), "end%");
    assert_string_equal(buf, "end");
}

static void truncation(void **state)
{
    char buf[8];
    memset(buf, 'X', sizeof(buf));
    assert_int_equal(px_snprintf(buf, 5, "%s", "abcdefgh"), 8);
    assert_string_equal(buf, "abcd");
    assert_int_equal(buf[5], 'X');     /* nothing written past size */
    assert_int_equal(px_snprintf(buf, 0, "%d", 12345), 5);
    assert_int_equal(buf[0], 'a');     /* size 0 writes nothing */
    assert_int_equal(px_snprintf(buf, 1, "%d", 1), 1);
    assert_string_equal(buf, "");
}

static void strlcpy_truncates(void **state)
{
    char buf[4];
    assert_int_equal(strlcpy(buf, "hello", sizeof(buf)), 5);
    assert_string_equal(buf, "hel");
    assert_int_equal(strlcpy(buf, "hi", sizeof(buf)), 2);
    assert_string_equal(buf, "hi");
}

static void parse_numbers(void **state)
{
    uint64_t v;
    assert_int_equal(parse_ulong("1234x", &v), 4);
    assert_int_equal(v, 1234);
    assert_int_equal(parse_ulong("0x1F", &v), 4);
    assert_int_equal(v, 31);
    assert_int_equal(parse_ulong("017", &v), 3);
    assert_int_equal(v, 15);
    assert_int_equal(parse_ulong("0", &v), 1);
    assert_int_equal(v, 0);
    assert_int_equal(parse_ulong("", &v), 0);
    assert_int_equal(parse_ulong("x", &v), 0);
    assert_int_equal(parse_ulong("18446744073709551615", &v), 20);
    assert_true(v == UINT64_MAX);
    assert_int_equal(parse_ulong("18446744073709551616", &v), 0);   /* overflow */
}

static void parse_sizes(void **state)
{
    uint64_t v;
    assert_int_equal(parse_size("512M", &v), 4);
    assert_true(v == 512ull << 20);
    assert_int_equal(parse_size("4g", &v), 2);
    assert_true(v == 4ull << 30);
    assert_int_equal(parse_size("64K", &v), 3);
    assert_true(v == 65536);
    assert_int_equal(parse_size("1234", &v), 4);
    assert_true(v == 1234);
    assert_int_equal(parse_size("0x1000000T", &v), 0);   /* overflow after the unit */
    assert_int_equal(parse_size("M", &v), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(integers), cmocka_unit_test(widths_and_flags),
        cmocka_unit_test(strings_and_chars), cmocka_unit_test(null_string_and_unknown),
        cmocka_unit_test(truncation), cmocka_unit_test(strlcpy_truncates),
        cmocka_unit_test(parse_numbers), cmocka_unit_test(parse_sizes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
