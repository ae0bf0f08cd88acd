/*
 * printf-style formatting (C99 subset) and number parsing. Pure code: it is
 * also compiled into the host unit tests (tests/unit/test_format.c).
 */
#include <proxenos/lib.h>

struct out {
    char *buf;
    size_t size, len;
};

static void put(struct out *o, char c)
{
    if (o->len + 1 < o->size)
        o->buf[o->len] = c;
    o->len++;
}

static void put_n(struct out *o, char c, int n)
{
    while (n-- > 0)
        put(o, c);
}

struct spec {
    bool left, zero, plus, space, alt;
    int width, prec;                   /* prec < 0: none */
};

static void put_str(struct out *o, const struct spec *sp, const char *s)
{
    int n = 0;

    if (!s)
        s = "(null)";
    while (s[n] && (sp->prec < 0 || n < sp->prec))
        n++;
    if (!sp->left)
        put_n(o, ' ', sp->width - n);
    for (int i = 0; i < n; i++)
        put(o, s[i]);
    if (sp->left)
        put_n(o, ' ', sp->width - n);
}

static void put_num(struct out *o, const struct spec *sp, uint64_t v, bool neg,
                    unsigned int base, bool upper)
{
    const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    char tmp[24];
    int n = 0, prefix_len = 0, zeros;
    const char *prefix = "";

    do {
        tmp[n++] = digits[v % base];
        v /= base;
    } while (v);
    if (sp->prec == 0 && n == 1 && tmp[0] == '0')
        n = 0;                         /* "%.0d" of 0 prints nothing */

    if (neg)
        prefix = "-";
    else if (sp->plus && base == 10)
        prefix = "+";
    else if (sp->space && base == 10)
        prefix = " ";
    else if (sp->alt && base == 16 && n)
        prefix = upper ? "0X" : "0x";
    else if (sp->alt && base == 8 && (n == 0 || tmp[n - 1] != '0'))
        prefix = "0";
    while (prefix[prefix_len])
        prefix_len++;

    zeros = sp->prec > n ? sp->prec - n : 0;
    if (sp->zero && !sp->left && sp->prec < 0 && sp->width > prefix_len + n)
        zeros = sp->width - prefix_len - n;
    if (!sp->left)
        put_n(o, ' ', sp->width - prefix_len - zeros - n);
    for (int i = 0; i < prefix_len; i++)
        put(o, prefix[i]);
    put_n(o, '0', zeros);
    for (int i = n; i > 0; i--)
        put(o, tmp[i - 1]);
    if (sp->left)
        put_n(o, ' ', sp->width - prefix_len - zeros - n);
}

static const char *parse_spec(const char *f, struct spec *sp, va_list *ap)
{
    *sp = (struct spec){ .prec = -1 };
    for (;; f++) {
        if (*f == '-') sp->left = true;
        else if (*f == '0') sp->zero = true;
        else if (*f == '+') sp->plus = true;
        else if (*f == ' ') sp->space = true;
        else if (*f == '#') sp->alt = true;
        else break;
    }
    if (*f == '*') {
        sp->width = va_arg(*ap, int);
        if (sp->width < 0) {
            sp->left = true;
            sp->width = -sp->width;
        }
        f++;
    } else {
        while (*f >= '0' && *f <= '9')
            sp->width = sp->width * 10 + (*f++ - '0');
    }
    if (*f == '.') {
        f++;
        sp->prec = 0;
        if (*f == '*') {
            sp->prec = va_arg(*ap, int);
            f++;
        } else {
            while (*f >= '0' && *f <= '9')
                sp->prec = sp->prec * 10 + (*f++ - '0');
        }
    }
    return f;
}

/* Length modifiers: 0 int, 1 long, 2 long long, -1 short, -2 char, 3 size_t. */
static const char *parse_length(const char *f, int *len)
{
    *len = 0;
    if (f[0] == 'h' && f[1] == 'h') { *len = -2; return f + 2; }
    if (f[0] == 'h') { *len = -1; return f + 1; }
    if (f[0] == 'l' && f[1] == 'l') { *len = 2; return f + 2; }
    if (f[0] == 'l') { *len = 1; return f + 1; }
    if (f[0] == 'z' || f[0] == 't' || f[0] == 'j') { *len = 3; return f + 1; }
    return f;
}

static int64_t arg_signed(va_list *ap, int len)
{
    switch (len) {
    case -2: return (signed char)va_arg(*ap, int);
    case -1: return (short)va_arg(*ap, int);
    case 0:  return va_arg(*ap, int);
    case 1:  return va_arg(*ap, long);
    default: return va_arg(*ap, long long);
    }
}

static uint64_t arg_unsigned(va_list *ap, int len)
{
    switch (len) {
    case -2: return (unsigned char)va_arg(*ap, unsigned int);
    case -1: return (unsigned short)va_arg(*ap, unsigned int);
    case 0:  return va_arg(*ap, unsigned int);
    case 1:  return va_arg(*ap, unsigned long);
    default: return va_arg(*ap, unsigned long long);
    }
}

int px_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap_in)
{
    struct out o = { buf, size, 0 };
    struct spec sp;
    va_list ap;
    int len;

    va_copy(ap, ap_in);
    for (const char *f = fmt; *f; f++) {
        if (*f != '%') {
            put(&o, *f);
            continue;
        }
        f = parse_spec(f + 1, &sp, &ap);
        f = parse_length(f, &len);
        switch (*f) {
        case 'd': case 'i': {
            int64_t v = arg_signed(&ap, len);
            put_num(&o, &sp, v < 0 ? -(uint64_t)v : (uint64_t)v, v < 0, 10, false);
            break;
        }
        case 'u': put_num(&o, &sp, arg_unsigned(&ap, len), false, 10, false); break;
        case 'x': put_num(&o, &sp, arg_unsigned(&ap, len), false, 16, false); break;
        case 'X': put_num(&o, &sp, arg_unsigned(&ap, len), false, 16, true); break;
        case 'o': put_num(&o, &sp, arg_unsigned(&ap, len), false, 8, false); break;
        case 'p':
            sp.alt = true;
            put_num(&o, &sp, (uintptr_t)va_arg(ap, void *), false, 16, false);
            break;
        case 'c': {
            char c[2] = { (char)va_arg(ap, int), 0 };
            sp.prec = 1;
            put_str(&o, &sp, c);
            break;
        }
        case 's': put_str(&o, &sp, va_arg(ap, const char *)); break;
        case '%': put(&o, '%'); break;
        case '\0':
            f--;                       /* lone '%' at the end: stop */
            break;
        default:                       /* unknown conversion: print it as is */
            put(&o, '%');
            put(&o, *f);
            break;
        }
    }
    va_end(ap);
    if (size)
        buf[o.len < size ? o.len : size - 1] = '\0';
    return (int)o.len;
}

int px_snprintf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = px_vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}

size_t strlcpy(char *dst, const char *src, size_t size)
{
    size_t n = 0;

    while (src[n]) {
        if (n + 1 < size)
            dst[n] = src[n];
        n++;
    }
    if (size)
        dst[n < size ? n : size - 1] = '\0';
    return n;
}

static int digit_value(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return 99;
}

size_t parse_ulong(const char *s, uint64_t *out)
{
    unsigned int base = 10;
    size_t i = 0, start;
    uint64_t v = 0;

    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && digit_value(s[2]) < 16) {
        base = 16;
        i = 2;
    } else if (s[0] == '0' && digit_value(s[1]) < 8) {
        base = 8;
        i = 1;
    }
    start = i;
    for (; digit_value(s[i]) < (int)base; i++) {
        uint64_t d = digit_value(s[i]);
        if (v > (UINT64_MAX - d) / base)
            return 0;                  /* overflow: reject rather than wrap */
        v = v * base + d;
    }
    if (i == start && base != 8)
        return 0;
    *out = v;
    return i;
}

size_t parse_size(const char *s, uint64_t *out)
{
    uint64_t v;
    size_t n = parse_ulong(s, &v);
    unsigned int shift = 0;

    if (!n)
        return 0;
    switch (s[n]) {
    case 'T': case 't': shift = 40; break;
    case 'G': case 'g': shift = 30; break;
    case 'M': case 'm': shift = 20; break;
    case 'K': case 'k': shift = 10; break;
    case 'B': case 'b': shift = 0; break;
    default: *out = v; return n;
    }
    if (shift && v > (UINT64_MAX >> shift))
        return 0;
    *out = v << shift;
    return n + 1;
}
