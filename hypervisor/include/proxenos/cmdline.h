/*
 * Hypervisor command line options, declared next to the code that owns them:
 *
 *     static bool opt_nosmp;
 *     boolean_param("nosmp", opt_nosmp);
 *
 * Options are collected in the .data.params section and parsed once at boot;
 * unknown options are reported, never silently ignored.
 */
#ifndef PROXENOS_CMDLINE_H
#define PROXENOS_CMDLINE_H
#include <proxenos/types.h>

enum param_type { PARAM_BOOL, PARAM_UINT, PARAM_SIZE, PARAM_STRING, PARAM_CUSTOM };

struct param {
    const char *name;
    enum param_type type;
    void *var;
    size_t len;                       /* PARAM_STRING buffer size; PARAM_UINT width */
    int (*custom)(const char *value); /* PARAM_CUSTOM; value may be NULL */
};

#define __param_entry(_n, _t, _v, _l, _c) \
    static const struct param __used __section(".data.params") __aligned(8) \
    __param_##_v = { _n, _t, &_v, _l, _c }
#define boolean_param(n, v)  __param_entry(n, PARAM_BOOL, v, sizeof(v), NULL)
#define integer_param(n, v)  __param_entry(n, PARAM_UINT, v, sizeof(v), NULL)
#define size_param(n, v)     __param_entry(n, PARAM_SIZE, v, sizeof(v), NULL)
#define string_param(n, v)   __param_entry(n, PARAM_STRING, v, sizeof(v), NULL)
#define custom_param(n, fn) \
    static const struct param __used __section(".data.params") __aligned(8) \
    __param_##fn = { n, PARAM_CUSTOM, NULL, 0, fn }

/* Called for an option that no table entry knows, or whose value is bad. */
typedef void (*param_report_fn)(const char *opt, size_t len, const char *problem);

/*
 * Parses `cmdline` against the table. Boolean options accept `name`,
 * `no-name`/`noname` (as Xen), `name=yes|no|on|off|true|false|1|0`.
 * Returns the number of options that were reported.
 */
int cmdline_parse(const char *cmdline, const struct param *table, size_t n,
                  param_report_fn report);

/* Skips the image name that non-GRUB-2 Multiboot loaders put first. */
const char *cmdline_cook(const char *cmdline, const char *loader);

/* Parses the boot command line against every registered option. */
void cmdline_parse_boot(const char *cmdline);

#endif
