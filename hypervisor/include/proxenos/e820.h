/*
 * The machine's physical memory map and the ranges carved out of it
 * (hypervisor/mm/e820.c, hypervisor/mm/reserve.c).
 *
 * The loader's map is raw firmware output (ACPI 6.5, 15.1 "INT 15H E820H"):
 * unsorted, overlapping, not page-aligned, and sometimes plain wrong. It is
 * sanitized once at boot into `e820`; everything else in the hypervisor reads
 * only the sanitized map. Both modules are pure code, built on the host for
 * the unit tests.
 */
#ifndef PROXENOS_E820_H
#define PROXENOS_E820_H
#include <proxenos/types.h>
#include <proxenos/bootinfo.h>

/* n raw entries yield at most 2n - 1 sanitized ones (one per boundary). */
#define E820_MAX_ENTRIES (2 * BOOT_MAX_MMAP)

struct e820map {
    unsigned int nr;
    bool truncated;                   /* more ranges than fit: the highest were dropped */
    struct e820entry map[E820_MAX_ENTRIES];
};

/*
 * Sanitizes in[0..n) into *out: sorted, non-overlapping, every range
 * page-aligned, adjacent ranges of one type merged. RAM shrinks inward to
 * whole pages; every other type grows outward, so a page holding any
 * firmware byte is never RAM. Where ranges overlap, anything that is not RAM
 * wins over RAM, and among the others the larger type number wins (as
 * Linux's sanitize_e820_map). Entries of size 0 and entries whose end wraps
 * past 2^64 are dropped. Returns the number of dropped entries.
 */
unsigned int e820_sanitize(const struct e820entry *in, unsigned int n, struct e820map *out);

/* The map to use when the loader gave none: Multiboot's mem_lower/mem_upper
 * (KiB below 640 KiB and KiB from 1 MiB up to the first hole). Fills out[2];
 * returns how many entries it wrote (0 when both are zero). */
unsigned int e820_from_basic(uint64_t lower_kb, uint64_t upper_kb, struct e820entry out[2]);

/* Drops RAM at or above `limit` (rounded down to a page), splitting the range
 * that straddles it: Xen's `mem=`. Other types are kept. Returns the bytes of
 * RAM removed. */
uint64_t e820_clip_ram(struct e820map *m, uint64_t limit);

uint64_t e820_ram_bytes(const struct e820map *m);   /* total RAM */
paddr_t e820_ram_end(const struct e820map *m);      /* end of the highest RAM range, 0 if none */
/* True when all of [start, end) lies in ranges of `type`. */
bool e820_all_of_type(const struct e820map *m, paddr_t start, paddr_t end, uint32_t type);
const char *e820_type_name(uint32_t type);

/* ------------------------------------------------------------------------ */
/*
 * Reserved ranges: machine memory the allocators must never hand out (the
 * image, the boot modules, the first MiB, the loader's info block, and what
 * the boot-time allocator gave away). Kept sorted and merged, page-aligned
 * outward, so a lookup is a short walk.
 */
#define RESV_MAX 64

struct resv_range {
    paddr_t start, end;               /* [start, end), page-aligned */
};

struct resv_list {
    unsigned int nr;
    struct resv_range r[RESV_MAX];
};

/* Adds [start, end), rounded outward to pages. Returns 0; -EINVAL if the
 * range is empty or wraps; -ENOSPC if the list is full. */
int resv_add(struct resv_list *l, paddr_t start, paddr_t end);
/* True if any byte of [start, end) is reserved. */
bool resv_overlaps(const struct resv_list *l, paddr_t start, paddr_t end);

/* Calls fn for each maximal piece of [start, end) that no reservation covers,
 * lowest first. */
typedef void (*resv_piece_fn)(paddr_t start, paddr_t end, void *ctx);
void resv_subtract(const struct resv_list *l, paddr_t start, paddr_t end,
                   resv_piece_fn fn, void *ctx);

/*
 * The boot-time allocator, used before the frame table exists: takes `size`
 * bytes (a page multiple) aligned to `align` from the highest RAM of map `m`
 * that lies below `limit` and is not reserved, and reserves it in `l` so no
 * later user sees it free. Taking from the top keeps low memory (DMA, the AP
 * trampoline) for the allocator proper. Returns the address, or 0.
 */
paddr_t resv_alloc_top(const struct e820map *m, struct resv_list *l, uint64_t size,
                       uint64_t align, paddr_t limit);

/* The sanitized map and the reservations of this boot (hypervisor/mm/init.c). */
extern struct e820map e820;
extern struct resv_list mm_reserved;

#endif
