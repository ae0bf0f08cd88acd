/*
 * Formatted output for the test guests. Under a Xen-ABI hypervisor every
 * printk() becomes one HYPERVISOR_console_io(CONSOLEIO_write) (Xen's
 * xen/drivers/char/console.c prints a domain's writes on its serial line);
 * without one, the text goes to the COM1 UART at 0x3f8 so that the framework
 * itself can be tried under plain QEMU.
 */
#include "guest.h"

#define COM1 0x3f8

static void com1_write(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\n')
            com1_write("\r", 1);
        /* LSR bit 5: transmit holding register empty. Bounded: an absent
         * UART reads 0xff and must not hang us. */
        for (unsigned int spin = 0; spin < 100000 && !(inb(COM1 + 5) & 0x20); spin++)
            cpu_relax();
        outb(COM1, (uint8_t)s[i]);
    }
}

void console_write(const char *s, size_t len)
{
    if (xen_present)
        HYPERVISOR_console_io(CONSOLEIO_write, (unsigned int)len, s);
    else
        com1_write(s, len);
}

/* --- vsnprintf: %[-0#][width][.prec][hh|h|l|ll|z]{d,i,u,x,X,p,s,c,%} ---------- */
struct outbuf {
    char *buf;
    size_t size, len;       /* len counts every character, stored or not */
};

static void put(struct outbuf *o, char c)
{
    if (o->len + 1 < o->size)
        o->buf[o->len] = c;
    o->len++;
}

static void put_padded(struct outbuf *o, const char *s, size_t n, int width,
                       bool left, char pad)
{
    int fill = width > (int)n ? width - (int)n : 0;
    if (!left && pad == '0') {      /* sign or "0x" before the zeros */
        size_t pre = (n && *s == '-') ? 1 : (n >= 2 && s[0] == '0' && s[1] == 'x') ? 2 : 0;
        for (size_t i = 0; i < pre; i++)
            put(o, *s++);
        n -= pre;
        width -= (int)pre;
        fill = width > (int)n ? width - (int)n : 0;
    }
    if (!left)
        while (fill-- > 0)
            put(o, pad);
    while (n--)
        put(o, *s++);
    if (left)
        while (fill-- > 0)
            put(o, ' ');
}

static size_t utoa(char *tmp, uint64_t v, unsigned int base, bool upper)
{
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char rev[24];
    size_t n = 0, i;
    do {
        rev[n++] = digits[v % base];
        v /= base;
    } while (v);
    for (i = 0; i < n; i++)
        tmp[i] = rev[n - 1 - i];
    return n;
}

static uint64_t arg_unsigned(va_list *ap, int lng)
{
    switch (lng) {
    case -2: return (uint8_t)va_arg(*ap, unsigned int);
    case -1: return (uint16_t)va_arg(*ap, unsigned int);
    case 0: return va_arg(*ap, unsigned int);
    default: return va_arg(*ap, unsigned long long);
    }
}

static int64_t arg_signed(va_list *ap, int lng)
{
    switch (lng) {
    case -2: return (int8_t)va_arg(*ap, int);
    case -1: return (int16_t)va_arg(*ap, int);
    case 0: return va_arg(*ap, int);
    default: return va_arg(*ap, long long);
    }
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap_in)
{
    struct outbuf o = { buf, size, 0 };
    va_list ap;
    va_copy(ap, ap_in);
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            put(&o, *fmt);
            continue;
        }
        bool left = false, alt = false;
        char pad = ' ';
        int width = 0, prec = -1, lng = 0;
        for (;; fmt++) {
            if (fmt[1] == '-')
                left = true;
            else if (fmt[1] == '#')
                alt = true;
            else if (fmt[1] == '0')
                pad = '0';
            else
                break;
        }
        fmt++;
        if (*fmt == '*') {
            width = va_arg(ap, int);
            fmt++;
        }
        while (*fmt >= '0' && *fmt <= '9')
            width = width * 10 + (*fmt++ - '0');
        if (*fmt == '.') {
            fmt++;
            prec = 0;
            if (*fmt == '*') {
                prec = va_arg(ap, int);
                fmt++;
            }
            while (*fmt >= '0' && *fmt <= '9')
                prec = prec * 10 + (*fmt++ - '0');
        }
        for (;; fmt++) {
            if (*fmt == 'l' || *fmt == 'z')
                lng = lng < 0 ? 1 : lng + 1;
            else if (*fmt == 'h')
                lng--;
            else
                break;
        }
        char tmp[24];
        size_t n;
        switch (*fmt) {
        case 'd':
        case 'i': {
            int64_t v = arg_signed(&ap, lng);
            uint64_t mag = v < 0 ? -(uint64_t)v : (uint64_t)v;
            n = 0;
            if (v < 0)
                tmp[n++] = '-';
            n += utoa(tmp + n, mag, 10, false);
            put_padded(&o, tmp, n, width, left, pad);
            break;
        }
        case 'u':
            n = utoa(tmp, arg_unsigned(&ap, lng), 10, false);
            put_padded(&o, tmp, n, width, left, pad);
            break;
        case 'x':
        case 'X':
            n = 0;
            if (alt) {      /* "0x" even for zero, as Linux and Xen print it */
                tmp[n++] = '0';
                tmp[n++] = 'x';
            }
            n += utoa(tmp + n, arg_unsigned(&ap, lng), 16, *fmt == 'X');
            put_padded(&o, tmp, n, width, left, pad);
            break;
        case 'p':
            tmp[0] = '0';
            tmp[1] = 'x';
            n = 2 + utoa(tmp + 2, (uintptr_t)va_arg(ap, void *), 16, false);
            put_padded(&o, tmp, n, width, left, ' ');
            break;
        case 'c':
            tmp[0] = (char)va_arg(ap, int);
            put_padded(&o, tmp, 1, width, left, ' ');
            break;
        case 's': {
            const char *s = va_arg(ap, const char *);
            if (!s)
                s = "(null)";
            n = prec >= 0 ? strnlen(s, (size_t)prec) : strlen(s);
            put_padded(&o, s, n, width, left, ' ');
            break;
        }
        case '%':
            put(&o, '%');
            break;
        case '\0':
            fmt--;          /* lone '%' at the end: stop at the NUL */
            break;
        default:            /* unknown conversion: print it as it was */
            put(&o, '%');
            put(&o, *fmt);
            break;
        }
    }
    if (size)
        buf[o.len < size ? o.len : size - 1] = '\0';
    va_end(ap);
    return (int)o.len;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}

int vprintk(const char *fmt, va_list ap)
{
    char buf[512];
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    size_t len = (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1;
    console_write(buf, len);
    return n;
}

int printk(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vprintk(fmt, ap);
    va_end(ap);
    return n;
}
