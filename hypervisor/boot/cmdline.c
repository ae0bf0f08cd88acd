/*
 * Hypervisor command line parsing. Syntax as Xen's: space-separated
 * `name`, `name=value`, `no-name`/`noname` for booleans; values may be
 * quoted "like this". Anything unknown is reported.
 */
#include <proxenos/cmdline.h>
#include <proxenos/lib.h>

#define OPT_NAME_MAX 64

static const char *skip_spaces(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return s;
}

static bool parse_bool(const char *v, bool *out)
{
    static const char *const yes[] = { "1", "yes", "on", "true", "enable" };
    static const char *const no[] = { "0", "no", "off", "false", "disable" };

    for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
        if (!strcmp(v, yes[i])) { *out = true; return true; }
        if (!strcmp(v, no[i])) { *out = false; return true; }
    }
    return false;
}

static bool store_uint(const struct param *p, uint64_t v)
{
    switch (p->len) {
    case 1: if (v > UINT8_MAX) return false; *(uint8_t *)p->var = v; return true;
    case 2: if (v > UINT16_MAX) return false; *(uint16_t *)p->var = v; return true;
    case 4: if (v > UINT32_MAX) return false; *(uint32_t *)p->var = v; return true;
    case 8: *(uint64_t *)p->var = v; return true;
    default: return false;
    }
}

/* Applies one option; returns NULL on success or the problem to report. */
static const char *apply(const struct param *p, const char *value, bool negated)
{
    uint64_t v;
    bool b;

    switch (p->type) {
    case PARAM_BOOL:
        if (!value) {
            b = !negated;
        } else if (negated || !parse_bool(value, &b)) {
            return "takes no value or one of yes/no/on/off/true/false/1/0";
        }
        *(bool *)p->var = b;
        return NULL;
    case PARAM_UINT:
    case PARAM_SIZE:
        if (negated || !value)
            return "needs a value";
        {
            size_t n = p->type == PARAM_SIZE ? parse_size(value, &v) : parse_ulong(value, &v);
            if (!n || value[n] != '\0')
                return p->type == PARAM_SIZE ? "needs a size like 512M" : "needs a number";
        }
        return store_uint(p, v) ? NULL : "value out of range";
    case PARAM_STRING:
        if (negated || !value)
            return "needs a value";
        if (strlcpy(p->var, value, p->len) >= p->len)
            return "value too long";
        return NULL;
    case PARAM_CUSTOM:
        if (negated)
            return "cannot be negated";
        return p->custom(value) ? "bad value" : NULL;
    }
    return "unknown option type";
}

static const struct param *lookup(const struct param *table, size_t n, const char *name,
                                  bool *negated)
{
    *negated = false;
    for (size_t i = 0; i < n; i++)
        if (!strcmp(table[i].name, name))
            return &table[i];
    /* Booleans may be negated as no-name or noname. */
    const char *base = !strncmp(name, "no-", 3) ? name + 3 : !strncmp(name, "no", 2) ? name + 2 : NULL;
    if (!base)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (table[i].type == PARAM_BOOL && !strcmp(table[i].name, base)) {
            *negated = true;
            return &table[i];
        }
    }
    return NULL;
}

int cmdline_parse(const char *cmdline, const struct param *table, size_t n,
                  param_report_fn report)
{
    char name[OPT_NAME_MAX], value[256];
    int reported = 0;
    const char *s = cmdline;

    for (s = skip_spaces(s); *s; s = skip_spaces(s)) {
        const char *opt = s;
        size_t nl = 0, vl = 0;
        bool has_value = false, quoted = false, too_long = false, negated;

        while (*s && *s != ' ' && *s != '\t' && *s != '=') {
            if (nl + 1 < sizeof(name)) name[nl++] = *s; else too_long = true;
            s++;
        }
        name[nl] = '\0';
        if (*s == '=') {
            has_value = true;
            s++;
            while (*s && (quoted || (*s != ' ' && *s != '\t'))) {
                if (*s == '"') quoted = !quoted;
                else if (vl + 1 < sizeof(value)) value[vl++] = *s;
                else too_long = true;
                s++;
            }
        }
        value[vl] = '\0';

        const struct param *p = too_long ? NULL : lookup(table, n, name, &negated);
        const char *problem = too_long ? "too long" : !p ? "unknown option"
                              : apply(p, has_value ? value : NULL, negated);
        if (problem) {
            report(opt, (size_t)(s - opt), problem);
            reported++;
        }
    }
    return reported;
}

const char *cmdline_cook(const char *cmdline, const char *loader)
{
    const char *p = skip_spaces(cmdline);

    /* GRUB 2 passes only the options; other Multiboot loaders (QEMU, GRUB
     * legacy) put the image's name first, which is not an option. */
    if (!strncmp(loader, "GRUB 2", 6))
        return p;
    while (*p && *p != ' ' && *p != '\t')
        p++;
    return skip_spaces(p);
}

#ifndef HOST_TEST
#include <proxenos/printk.h>

extern const struct param __param_start[], __param_end[];

static void report_boot(const char *opt, size_t len, const char *problem)
{
    printk(LOG_WARN "command line: '%.*s': %s\n", (int)len, opt, problem);
}

void cmdline_parse_boot(const char *cmdline)
{
    cmdline_parse(cmdline, __param_start, __param_end - __param_start, report_boot);
}
#endif
