/* The command-line parser: types, negation, quoting, bad values, unknowns. */
/* @sources: hypervisor/boot/cmdline.c hypervisor/lib/format.c */
#include "cmocka_prelude.h"
#include <stdio.h>
#include <string.h>
#include <proxenos/cmdline.h>

static bool opt_flag, opt_other = true;
static uint32_t opt_num;
static uint8_t opt_small;
static uint64_t opt_mem;
static char opt_str[8];
static char custom_seen[32];
static int custom_calls;

static int custom(const char *v)
{
    custom_calls++;
    snprintf(custom_seen, sizeof(custom_seen), "%s", v ? v : "(none)");
    return v && !strcmp(v, "bad") ? -1 : 0;
}

static const struct param table[] = {
    { "flag", PARAM_BOOL, &opt_flag, sizeof(opt_flag), NULL },
    { "other", PARAM_BOOL, &opt_other, sizeof(opt_other), NULL },
    { "num", PARAM_UINT, &opt_num, sizeof(opt_num), NULL },
    { "small", PARAM_UINT, &opt_small, sizeof(opt_small), NULL },
    { "mem", PARAM_SIZE, &opt_mem, sizeof(opt_mem), NULL },
    { "str", PARAM_STRING, opt_str, sizeof(opt_str), NULL },
    { "cust", PARAM_CUSTOM, NULL, 0, custom },
};

static char reports[8][96];
static int nr_reports;

static void report(const char *opt, size_t len, const char *problem)
{
    if (nr_reports < 8)
        snprintf(reports[nr_reports], sizeof(reports[0]), "%.*s: %s", (int)len, opt, problem);
    nr_reports++;
}

static int setup(void **state)
{
    opt_flag = false; opt_other = true; opt_num = 0; opt_small = 0; opt_mem = 0;
    opt_str[0] = 0; custom_seen[0] = 0; custom_calls = 0; nr_reports = 0;
    return 0;
}

static int parse(const char *s)
{
    return cmdline_parse(s, table, sizeof(table) / sizeof(table[0]), report);
}

static void booleans(void **state)
{
    assert_int_equal(parse("flag no-other"), 0);
    assert_true(opt_flag);
    assert_false(opt_other);
    assert_int_equal(parse("flag=off other=yes"), 0);
    assert_false(opt_flag);
    assert_true(opt_other);
    assert_int_equal(parse("noflag"), 0);
    assert_false(opt_flag);
    assert_int_equal(parse("flag=maybe"), 1);
    assert_string_equal(reports[0], "flag=maybe: takes no value or one of yes/no/on/off/true/false/1/0");
}

static void numbers_and_sizes(void **state)
{
    assert_int_equal(parse("  num=0x10   mem=512M small=255 "), 0);
    assert_int_equal(opt_num, 16);
    assert_true(opt_mem == 512ull << 20);
    assert_int_equal(opt_small, 255);
    assert_int_equal(parse("small=256 num=12abc num mem=lots nonum"), 5);
    assert_string_equal(reports[0], "small=256: value out of range");
    assert_string_equal(reports[1], "num=12abc: needs a number");
    assert_string_equal(reports[2], "num: needs a value");
    assert_string_equal(reports[3], "mem=lots: needs a size like 512M");
    assert_string_equal(reports[4], "nonum: unknown option");   /* only booleans negate */
    assert_int_equal(opt_small, 255);                           /* unchanged on error */
}

static void strings_and_quotes(void **state)
{
    assert_int_equal(parse("str=\"a b\""), 0);
    assert_string_equal(opt_str, "a b");
    assert_int_equal(parse("str=toolongvalue"), 1);
    assert_string_equal(reports[0], "str=toolongvalue: value too long");
}

static void custom_options(void **state)
{
    assert_int_equal(parse("cust=abc cust cust=bad"), 1);
    assert_int_equal(custom_calls, 3);
    assert_string_equal(reports[0], "cust=bad: bad value");
}

static void unknown_and_hostile(void **state)
{
    char longname[200];
    memset(longname, 'a', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = 0;
    assert_int_equal(parse("bogus flag =x"), 2);
    assert_string_equal(reports[0], "bogus: unknown option");
    assert_string_equal(reports[1], "=x: unknown option");
    assert_true(opt_flag);
    nr_reports = 0;
    assert_int_equal(parse(longname), 1);
    assert_int_equal(parse(""), 0);
    assert_int_equal(parse("str=\"unterminated quote"), 1);   /* too long for 8 bytes */
}

static void cook_strips_image_name(void **state)
{
    assert_string_equal(cmdline_cook("/boot/proxenos.elf a=1 b", "qemu"), "a=1 b");
    assert_string_equal(cmdline_cook("  a=1 b", "GRUB 2.06-13+deb12u1"), "a=1 b");
    assert_string_equal(cmdline_cook("image", "qemu"), "");
    assert_string_equal(cmdline_cook("", ""), "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(booleans, setup),
        cmocka_unit_test_setup(numbers_and_sizes, setup),
        cmocka_unit_test_setup(strings_and_quotes, setup),
        cmocka_unit_test_setup(custom_options, setup),
        cmocka_unit_test_setup(unknown_and_hostile, setup),
        cmocka_unit_test(cook_strips_image_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
