/*
 * printk: formatted, levelled console output. Every line of the hypervisor
 * starts with "(PXN) " so it stands apart from guest output ("(d0) ").
 */
#include <proxenos/printk.h>
#include <proxenos/console.h>
#include <proxenos/cmdline.h>
#include <proxenos/lib.h>
#include <proxenos/spinlock.h>
#include <proxenos/io.h>
#include <proxenos/cpu.h>

int log_threshold = LVL_INFO;
static spinlock_t console_lock = SPINLOCK_INIT;
static bool at_line_start = true;
/* The CPU holding console_lock, so a fault inside printk can still print. */
static volatile int console_owner = -1;

static const struct { const char *name; int lvl; } level_names[] = {
    { "none", LVL_NONE }, { "error", LVL_ERR }, { "warning", LVL_WARN },
    { "info", LVL_INFO }, { "debug", LVL_DEBUG }, { "all", LVL_DEBUG },
};

int log_level_parse(const char *s, int *lvl)
{
    for (size_t i = 0; i < ARRAY_SIZE(level_names); i++) {
        size_t n = strlen(level_names[i].name);
        /* Xen accepts "level/rate-limited-level"; the part after '/' is ignored. */
        if (!strncmp(s, level_names[i].name, n) && (s[n] == '\0' || s[n] == '/')) {
            *lvl = level_names[i].lvl;
            return 0;
        }
    }
    return -1;
}

static int parse_loglvl(const char *v)
{
    return v ? log_level_parse(v, &log_threshold) : -1;
}
custom_param("loglvl", parse_loglvl);

static void raw_putc(char c)
{
    if (c == '\n')
        serial_putc('\r');
    serial_putc(c);
}

static void emit(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (at_line_start && s[i] != '\n') {
            for (const char *p = "(PXN) "; *p; p++)
                raw_putc(*p);
        }
        raw_putc(s[i]);
        at_line_start = s[i] == '\n';
    }
}

static int current_cpu_or_zero(void)
{
    uint64_t gs = rdmsr(MSR_GS_BASE);
    return gs ? (int)((const struct percpu *)gs)->cpu_id : 0;
}

static uint64_t console_lock_take(void)
{
    uint64_t flags = local_irq_save();
    int me = current_cpu_or_zero();

    if (console_owner == me)           /* recursive: a fault while printing */
        return flags | (1ull << 63);
    spin_lock(&console_lock);
    console_owner = me;
    return flags;
}

static void console_lock_drop(uint64_t flags)
{
    if (!(flags & (1ull << 63))) {
        console_owner = -1;
        spin_unlock(&console_lock);
    }
    local_irq_restore(flags);
}

void vprintk(const char *fmt, va_list ap)
{
    char buf[512];
    int lvl = LVL_INFO, n;
    uint64_t flags;

    if (fmt[0] == '<' && fmt[1] >= '0' && fmt[1] <= '3' && fmt[2] == '>') {
        lvl = fmt[1] - '0';
        fmt += 3;
    }
    if (lvl > log_threshold)
        return;
    n = px_vsnprintf(buf, sizeof(buf), fmt, ap);
    if (n >= (int)sizeof(buf))
        n = sizeof(buf) - 1;
    flags = console_lock_take();
    emit(buf, n);
    console_lock_drop(flags);
}

void printk(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vprintk(fmt, ap);
    va_end(ap);
}

void console_write(const char *s, size_t len)
{
    uint64_t flags = console_lock_take();

    for (size_t i = 0; i < len; i++) {
        raw_putc(s[i]);
        at_line_start = s[i] == '\n';
    }
    console_lock_drop(flags);
}
