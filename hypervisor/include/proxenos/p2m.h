/*
 * The p2m: each HVM/PVH domain's guest-physical to machine map, kept
 * directly in the nested-paging format of the CPU's backend (NPT or EPT).
 * The formats share their layout (4 levels, address bits 12-51, bit 7 =
 * large page), so the walker is generic and the backend supplies only the
 * permission and memory-type bits through struct p2m_format.
 * Entry types live in software bits 52-55, which both formats ignore
 * (APM vol. 2, 15.25.5; SDM vol. 3C, 29.3.2).
 */
#ifndef PROXENOS_P2M_H
#define PROXENOS_P2M_H
#include <proxenos/types.h>
#include <proxenos/spinlock.h>

typedef uint64_t gfn_t;

enum p2m_type {
    p2m_invalid = 0,      /* nothing: accesses fault to the hypervisor */
    p2m_ram_rw,           /* the domain's own RAM */
    p2m_ram_ro,           /* RAM the guest may read only (writes fault) */
    p2m_mmio_direct,      /* machine MMIO passed through */
    p2m_grant_map_rw,     /* another domain's frame, granted */
    p2m_grant_map_ro,
    p2m_reserved,         /* special pages (shared info, grant table frames) */
    p2m_nr_types
};

/* How the backend writes entries; filled by svm/ or vmx/. */
struct p2m_format {
    const char *name;
    uint64_t (*leaf)(paddr_t mpa, enum p2m_type t, bool large);
    uint64_t (*table)(paddr_t mpa);           /* non-leaf pointing at a table */
    bool (*present)(uint64_t pte);
};

#define P2M_TYPE_SHIFT 52
#define P2M_TYPE_MASK  (0xfull << P2M_TYPE_SHIFT)
#define P2M_ADDR_MASK  0x000ffffffffff000ull
#define P2M_LARGE      (1ull << 7)

struct p2m {
    spinlock_t lock;
    paddr_t root;                  /* PML4 (NPT nCR3 / EPTP base); set once at creation */
    const struct p2m_format *fmt;  /* set once at creation */
    gfn_t max_mapped_gfn;          /* guarded by lock */
    uint64_t nr_table_pages;       /* guarded by lock */
    uint64_t nr_entries[p2m_nr_types]; /* 4 KiB pages per type; guarded by lock */
};

int p2m_init(struct p2m *p2m, const struct p2m_format *fmt);
/* Frees every table page (not the frames they map). */
void p2m_teardown(struct p2m *p2m);

/* Maps 2^order frames at gfn (order 0 or 9). Replaces what was there. */
int p2m_set_entry(struct p2m *p2m, gfn_t gfn, mfn_t mfn, unsigned int order, enum p2m_type t);
int p2m_remove(struct p2m *p2m, gfn_t gfn, unsigned int order);
/* Looks a gfn up: returns its type and sets *mfn (INVALID_MFN if none). */
enum p2m_type p2m_lookup(struct p2m *p2m, gfn_t gfn, mfn_t *mfn);
/* Calls fn for every mapped 4 KiB or 2 MiB range, in gfn order. */
void p2m_for_each(struct p2m *p2m, void (*fn)(gfn_t gfn, mfn_t mfn, unsigned int order,
                                              enum p2m_type t, void *arg), void *arg);
const char *p2m_type_name(enum p2m_type t);

#define INVALID_MFN (~0ull)
#define PADDR_BITS  52

static inline bool p2m_is_ram(enum p2m_type t) { return t == p2m_ram_rw || t == p2m_ram_ro; }
static inline bool p2m_is_writable(enum p2m_type t)
{
    return t == p2m_ram_rw || t == p2m_grant_map_rw || t == p2m_mmio_direct || t == p2m_reserved;
}

#endif
