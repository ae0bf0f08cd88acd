/*
 * Console output with log levels. A message may start with a level marker
 * (LOG_ERR ...); lines above the `loglvl=` threshold are dropped. Levels and
 * option syntax follow Xen's: loglvl=none|error|warning|info|debug|all.
 */
#ifndef PROXENOS_PRINTK_H
#define PROXENOS_PRINTK_H
#include <proxenos/types.h>

#define LOG_ERR   "<0>"
#define LOG_WARN  "<1>"
#define LOG_INFO  "<2>"
#define LOG_DEBUG "<3>"

enum log_level { LVL_ERR = 0, LVL_WARN = 1, LVL_INFO = 2, LVL_DEBUG = 3, LVL_NONE = -1 };

void printk(const char *fmt, ...) __printf(1, 2);
void vprintk(const char *fmt, va_list ap);
/* Raw text on the console, no prefix or level (used by guest consoles). */
void console_write(const char *s, size_t len);
/* Parses a level name; returns 0 and sets *lvl, or -1. */
int log_level_parse(const char *s, int *lvl);
extern int log_threshold;

__noreturn void panic(const char *fmt, ...) __printf(1, 2);

#define BUG_ON(c) do { if (unlikely(c)) panic("BUG at %s:%d: %s", __FILE__, __LINE__, #c); } while (0)
#define ASSERT(c) BUG_ON(!(c))

#endif
