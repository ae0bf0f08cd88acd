/* String and formatting helpers of the freestanding hypervisor (hypervisor/lib). */
#ifndef PROXENOS_LIB_H
#define PROXENOS_LIB_H
#include <proxenos/types.h>

#ifdef HOST_TEST
#include <string.h>
#else
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t max);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strchr(const char *s, int c);
#endif

/* Copies at most size-1 bytes and always terminates (when size > 0);
 * returns strlen(src) so truncation can be detected. */
size_t strlcpy(char *dst, const char *src, size_t size);

/* printf-style formatting: %d %i %u %x %X %o %c %s %p %% with flags '-', '0',
 * '+', ' ', '#', width, precision and the h/hh/l/ll/z/t length modifiers.
 * Returns the length the full output would have (C99 semantics). */
int px_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int px_snprintf(char *buf, size_t size, const char *fmt, ...) __printf(3, 4);

/* Parses an unsigned number in base 10, or 16 with 0x, or 8 with a leading 0.
 * Returns the number of characters consumed (0 if none). */
size_t parse_ulong(const char *s, uint64_t *out);
/* Parses a size with an optional K/M/G/T suffix (default unit: bytes), as
 * Xen's parse_size_and_unit. Returns characters consumed, 0 on error. */
size_t parse_size(const char *s, uint64_t *out);

#endif
