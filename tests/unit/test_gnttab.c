/* Grant tables v1 (grant_table.c) on the host, through do_grant_table_op as
   a guest calls it: two fake domains (d0 the initial one, d1) with RAM at
   gfn 0x100-0x10f over real p2ms, frame references counted in a fake frame
   table, and every argument a hostile guest could pass. */
/* @sources: hypervisor/common/grant_table.c hypervisor/p2m/p2m.c hypervisor/lib/format.c */
#include "cmocka_prelude.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <proxenos/xen_abi.h>
#include <xen/grant_table.h>
#include <proxenos/domain.h>
#include <proxenos/frame.h>
#include <proxenos/gnttab.h>
#include <proxenos/guest_access.h>
#include <proxenos/hypercall.h>
#include <proxenos/mm.h>

/* ---- a small machine: per domain 16 RAM pages at gfn 0x100, mfn 0x1000+ ---- */

#define RAM_GFN   0x100ull
#define RAM_PAGES 16
#define D1_MFN    0x1100ull
#define G(off)    ((RAM_GFN << 12) + (off))
#define NR_MFNS   0x2000

static uint8_t machine[2][RAM_PAGES][4096] __attribute__((aligned(4096)));
static struct page_info frames[NR_MFNS];
struct page_info *frame_table = frames;
uint64_t max_mfn = NR_MFNS;

paddr_t p2m_table_alloc(void) { void *p = aligned_alloc(4096, 4096); memset(p, 0, 4096); return (uintptr_t)p; }
void p2m_table_free(paddr_t pa) { free((void *)(uintptr_t)pa); }
uint64_t *p2m_table_map(paddr_t pa) { return (uint64_t *)(uintptr_t)pa; }
static uint64_t f_leaf(paddr_t mpa, enum p2m_type t, bool large)
{
    return (mpa & P2M_ADDR_MASK) | 1 | ((uint64_t)t << P2M_TYPE_SHIFT) | (large ? P2M_LARGE : 0);
}
static uint64_t f_table(paddr_t mpa) { return (mpa & P2M_ADDR_MASK) | 3; }
static bool f_present(uint64_t pte) { return pte & 1; }
static const struct p2m_format fmt = { "test", f_leaf, f_table, f_present };

static struct domain d0, d1;
static struct vcpu v0, v1;
struct domain *domain_table[MAX_DOMAINS];

/* Shared grant frames come from alloc_pages: up to 64 of them, with fake
   mfns 0x1800 + slot so the p2m can hold them. */
static void *hv_pages[128];
static int pages_live;
void *alloc_pages(unsigned int order)
{
    for (unsigned int i = 0; i < 128; i++)
        if (!hv_pages[i]) {
            pages_live++;
            return hv_pages[i] = aligned_alloc(4096, 4096);
        }
    return NULL;
}
void free_pages(void *va, unsigned int order)
{
    for (unsigned int i = 0; i < 128; i++)
        if (hv_pages[i] == va) {
            pages_live--;
            free(va);
            hv_pages[i] = NULL;
            return;
        }
    fail_msg("free_pages of a page never allocated");
}
mfn_t gnttab_va_mfn(const void *va)
{
    for (unsigned int i = 0; i < 128; i++)
        if (hv_pages[i] == va)
            return 0x1800 + i;
    fail_msg("gnttab_va_mfn of an unknown page");
    return 0;
}
void *gnttab_frame_va(mfn_t mfn)
{
    if (mfn >= 0x1000 && mfn < 0x1000 + RAM_PAGES)
        return machine[0][mfn - 0x1000];
    if (mfn >= D1_MFN && mfn < D1_MFN + RAM_PAGES)
        return machine[1][mfn - D1_MFN];
    if (mfn >= 0x1800 && mfn < 0x1880 && hv_pages[mfn - 0x1800])
        return hv_pages[mfn - 0x1800];
    fail_msg("gnttab_frame_va of mfn %#lx", mfn);
    return NULL;
}
static int heap_live;
void *xzalloc(size_t size) { heap_live++; return calloc(1, size); }
void xfree(void *p) { if (p) heap_live--; free(p); }

static uint8_t *gpa_ptr(struct domain *d, uint64_t gpa, bool write)
{
    mfn_t mfn;
    enum p2m_type t = p2m_lookup(&d->p2m, gpa >> 12, &mfn);

    if (!(p2m_is_ram(t) || t == p2m_reserved) || (write && !p2m_is_writable(t)))
        return NULL;
    return (uint8_t *)gnttab_frame_va(mfn) + (gpa & 4095);
}
#include "fake_guest_copy.h"

/* ---- the rest of the hypervisor ---------------------------------------------------------- */

struct domain *domain_by_id(domid_t id) { return id < MAX_DOMAINS ? domain_table[id] : NULL; }
void printk(const char *fmt, ...) { }
void register_keyhandler(char key, void (*fn)(char key), const char *desc) { }

/* Frame references as domain.c keeps them: PGC_allocated + 1 for the
   allocation, one more per reference. */
bool domain_get_frame(struct domain *d, mfn_t mfn)
{
    struct page_info *pg = &frames[mfn];

    if (mfn >= NR_MFNS || pg->owner != d || !(pg->count_info & PGC_allocated))
        return false;
    pg->count_info++;
    return true;
}
void domain_put_frame(mfn_t mfn)
{
    assert_true((frames[mfn].count_info & PGC_count_mask) > 0);
    frames[mfn].count_info--;
}
static uint64_t refs(mfn_t mfn) { return frames[mfn].count_info & PGC_count_mask; }

/* memory_op.c's physmap: RAM or a special page at gfn is unhooked. */
int physmap_release_gfn(struct domain *d, uint64_t gfn, mfn_t mfn)
{
    mfn_t old;
    enum p2m_type t = p2m_lookup(&d->p2m, gfn, &old);

    if (gfn >> 36)
        return -EINVAL;
    if (t == p2m_invalid || old == mfn)
        return 0;
    if (t == p2m_reserved) {
        gnttab_forget_gfn(d, gfn);
        return p2m_remove(&d->p2m, gfn, 0);
    }
    return p2m_is_ram(t) ? p2m_remove(&d->p2m, gfn, 0) : -EBUSY;
}
static int flushes;
void physmap_changed(struct domain *d) { flushes++; }

static void domain_init(struct domain *d, struct vcpu *v, domid_t id, mfn_t mfn0)
{
    memset(d, 0, sizeof(*d));
    memset(v, 0, sizeof(*v));
    d->domain_id = id;
    d->is_initial = id == 0;
    d->max_vcpus = 1;
    d->vcpu[0] = v;
    v->domain = d;
    assert_int_equal(p2m_init(&d->p2m, &fmt), 0);
    for (unsigned int i = 0; i < RAM_PAGES; i++) {
        assert_int_equal(p2m_set_entry(&d->p2m, RAM_GFN + i, mfn0 + i, 0, p2m_ram_rw), 0);
        frames[mfn0 + i].owner = d;
        frames[mfn0 + i].count_info = PGC_allocated | 1;
    }
    domain_table[id] = d;
}

static int setup(void **state)
{
    memset(machine, 0, sizeof(machine));
    memset(frames, 0, sizeof(frames));
    memset(domain_table, 0, sizeof(domain_table));
    domain_init(&d0, &v0, 0, 0x1000);
    domain_init(&d1, &v1, 1, D1_MFN);
    pages_live = heap_live = flushes = 0;
    return 0;
}

static int teardown(void **state)
{
    gnttab_domain_destroy(&d0);
    gnttab_domain_destroy(&d1);
    assert_int_equal(pages_live, 0);
    assert_int_equal(heap_live, 0);
    for (unsigned int i = 0; i < RAM_PAGES; i++) {
        assert_int_equal(refs(0x1000 + i), 1);       /* every reference given back */
        assert_int_equal(refs(D1_MFN + i), 1);
    }
    p2m_teardown(&d0.p2m);
    p2m_teardown(&d1.p2m);
    return 0;
}

/* ---- calls ---------------------------------------------------------------------------------- */

static bool compat;
static bool preempted;

static long op(struct vcpu *v, uint64_t cmd, uint64_t arg, uint64_t count)
{
    struct hcall h = { .arg = { cmd, arg, count }, .compat = compat };
    long rc = do_grant_table_op(v, &h);

    preempted = h.preempted;
    while (h.preempted) {                            /* the guest re-executes */
        h.preempted = false;
        rc = do_grant_table_op(v, &h);
    }
    return rc;
}

static void gput(struct vcpu *v, uint64_t gla, const void *src, size_t len)
{
    assert_int_equal(copy_to_guest(v, gla, src, len), 0);
}
static void gget(struct vcpu *v, uint64_t gla, void *dst, size_t len)
{
    assert_int_equal(copy_from_guest(v, dst, gla, len), 0);
}

/* The grant entry `ref` of d, through the hypervisor's own frame. */
static grant_entry_v1_t *entry(struct domain *d, uint32_t ref)
{
    mfn_t mfn;
    gfn_t *where;

    assert_int_equal(gnttab_frame_mfn(d, ref / 512, &mfn, &where), 0);
    return (grant_entry_v1_t *)gnttab_frame_va(mfn) + ref % 512;
}

static void grant(struct domain *d, uint32_t ref, gfn_t gfn, domid_t to, uint16_t flags)
{
    grant_entry_v1_t *e = entry(d, ref);

    e->domid = to;
    e->frame = (uint32_t)gfn;
    e->flags = flags;
}

/* One map op placed at G(0x800) of the caller; returns its status. */
static int16_t map(struct vcpu *v, uint32_t ref, domid_t dom, gfn_t at, uint32_t flags,
                   uint32_t *handle)
{
    struct gnttab_map_grant_ref m = { .host_addr = at << 12, .flags = flags, .ref = ref,
                                      .dom = dom, .status = 0x55, .handle = 0x5555 };

    gput(v, G(0x800), &m, sizeof(m));
    assert_int_equal(op(v, GNTTABOP_map_grant_ref, G(0x800), 1), 0);
    gget(v, G(0x800), &m, sizeof(m));
    if (handle)
        *handle = m.handle;
    return m.status;
}

static int16_t unmap(struct vcpu *v, gfn_t at, uint32_t handle, uint64_t dev_bus_addr)
{
    struct gnttab_unmap_grant_ref u = { .host_addr = at << 12, .dev_bus_addr = dev_bus_addr,
                                        .handle = handle, .status = 0x55 };

    gput(v, G(0x840), &u, sizeof(u));
    assert_int_equal(op(v, GNTTABOP_unmap_grant_ref, G(0x840), 1), 0);
    gget(v, G(0x840), &u, sizeof(u));
    return u.status;
}

static enum p2m_type lookup(struct domain *d, gfn_t gfn, mfn_t *mfn)
{
    return p2m_lookup(&d->p2m, gfn, mfn);
}

/* ---- the simple ops -------------------------------------------------------------------------- */

static void sizes_and_versions(void **state)
{
    struct gnttab_query_size q = { .dom = DOMID_SELF, .status = 0x55 };
    gnttab_set_version_t sv = { .version = 2 };
    gnttab_get_version_t gv = { .dom = 1 };

    gput(&v1, G(0), &q, sizeof(q));
    assert_int_equal(op(&v1, GNTTABOP_query_size, G(0), 1), 0);
    gget(&v1, G(0), &q, sizeof(q));
    assert_int_equal(q.status, GNTST_okay);
    assert_int_equal(q.nr_frames, 1);
    assert_int_equal(q.max_nr_frames, GNTTAB_MAX_FRAMES);
    assert_int_equal(op(&v1, GNTTABOP_query_size, G(0), 0), -EINVAL);
    assert_int_equal(op(&v1, GNTTABOP_query_size, G(0), 2), -EINVAL);
    assert_int_equal(op(&v1, GNTTABOP_query_size, 0x5000, 1), -EFAULT);
    /* Another domain: only the initial domain may ask. */
    q.dom = 0;
    gput(&v1, G(0), &q, sizeof(q));
    assert_int_equal(op(&v1, GNTTABOP_query_size, G(0), 1), 0);
    gget(&v1, G(0), &q, sizeof(q));
    assert_int_equal(q.status, GNTST_permission_denied);
    q.dom = 1;
    gput(&v0, G(0), &q, sizeof(q));
    assert_int_equal(op(&v0, GNTTABOP_query_size, G(0), 1), 0);
    gget(&v0, G(0), &q, sizeof(q));
    assert_int_equal(q.status, GNTST_okay);
    q.dom = 9;
    gput(&v0, G(0), &q, sizeof(q));
    op(&v0, GNTTABOP_query_size, G(0), 1);
    gget(&v0, G(0), &q, sizeof(q));
    assert_int_equal(q.status, GNTST_bad_domain);

    gput(&v0, G(0x10), &sv, sizeof(sv));
    assert_int_equal(op(&v0, GNTTABOP_set_version, G(0x10), 1), -ENOSYS);
    gget(&v0, G(0x10), &sv, sizeof(sv));
    assert_int_equal(sv.version, 1);
    sv.version = 0;
    gput(&v0, G(0x10), &sv, sizeof(sv));
    assert_int_equal(op(&v0, GNTTABOP_set_version, G(0x10), 1), -EINVAL);
    sv.version = 1;
    gput(&v0, G(0x10), &sv, sizeof(sv));
    assert_int_equal(op(&v0, GNTTABOP_set_version, G(0x10), 7), 0);   /* count unused */
    gput(&v1, G(0x20), &gv, sizeof(gv));
    assert_int_equal(op(&v1, GNTTABOP_get_version, G(0x20), 1), 0);
    gget(&v1, G(0x20), &gv, sizeof(gv));
    assert_int_equal(gv.version, 1);
    gv.dom = 0;
    gput(&v1, G(0x20), &gv, sizeof(gv));
    assert_int_equal(op(&v1, GNTTABOP_get_version, G(0x20), 1), -EPERM);
    gv.dom = 12;
    gput(&v1, G(0x20), &gv, sizeof(gv));
    assert_int_equal(op(&v1, GNTTABOP_get_version, G(0x20), 1), -ESRCH);

    /* What an HVM guest may not call, and bad counts. */
    static const uint64_t refused[] = { 3, 4, 7, 9, 12, 13, 1u << 12, 0xffffffff };
    for (unsigned int i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
        assert_int_equal(op(&v0, refused[i], G(0), 1), -ENOSYS);
    assert_int_equal(op(&v0, 1ull << 32 | GNTTABOP_query_size, G(0), 1), 0);  /* cmd is 32 bits */
    assert_int_equal(op(&v0, GNTTABOP_map_grant_ref, G(0), 0x80000000), -EINVAL);
    assert_int_equal(op(&v0, GNTTABOP_copy, G(0), 0xffffffff), -EINVAL);
    assert_int_equal(op(&v0, GNTTABOP_map_grant_ref, 0x5000, 0), 0);
}

static void frames_and_setup_table(void **state)
{
    mfn_t mfn;
    gfn_t *where;
    uint64_t list[3];
    struct gnttab_setup_table st = { .dom = DOMID_SELF, .nr_frames = 3 };

    assert_int_equal(gnttab_frame_mfn(&d0, 2, &mfn, &where), 0);   /* grows to 3 */
    assert_int_equal(pages_live, 3);
    assert_int_equal(*where, ~0ull);
    *where = 0x4002;                                 /* as memory_op would */
    assert_int_equal(gnttab_frame_mfn(&d0, GNTTAB_MAX_FRAMES, &mfn, &where), -EINVAL);
    assert_int_equal(gnttab_frame_mfn(&d0, XENMAPIDX_grant_table_status, &mfn, &where), -EINVAL);
    assert_int_equal(gnttab_frame_mfn(&d0, ~0ull, &mfn, &where), -EINVAL);
    set_xen_guest_handle(st.frame_list, (xen_pfn_t *)(uintptr_t)G(0x100));
    gput(&v0, G(0), &st, sizeof(st));
    assert_int_equal(op(&v0, GNTTABOP_setup_table, G(0), 1), 0);
    gget(&v0, G(0), &st, sizeof(st));
    assert_int_equal(st.status, GNTST_okay);
    gget(&v0, G(0x100), list, sizeof(list));
    assert_int_equal(list[0], ~0ull);
    assert_int_equal(list[2], 0x4002);
    gnttab_forget_gfn(&d0, 0x4002);
    assert_int_equal(op(&v0, GNTTABOP_setup_table, G(0), 1), 0);
    gget(&v0, G(0x100), list, sizeof(list));
    assert_int_equal(list[2], ~0ull);
    /* Too many frames; a list that cannot be written; counts. */
    st.nr_frames = GNTTAB_MAX_FRAMES + 1;
    gput(&v0, G(0), &st, sizeof(st));
    assert_int_equal(op(&v0, GNTTABOP_setup_table, G(0), 1), 0);
    gget(&v0, G(0), &st, sizeof(st));
    assert_int_equal(st.status, GNTST_general_error);
    st.nr_frames = 2;
    set_xen_guest_handle(st.frame_list, (xen_pfn_t *)(uintptr_t)(G(RAM_PAGES * 4096) - 8));
    gput(&v0, G(0), &st, sizeof(st));
    assert_int_equal(op(&v0, GNTTABOP_setup_table, G(0), 1), 0);
    gget(&v0, G(0), &st, sizeof(st));
    assert_int_equal(st.status, GNTST_bad_virt_addr);
    assert_int_equal(op(&v0, GNTTABOP_setup_table, G(0), 2), -EINVAL);
    assert_int_equal(op(&v0, GNTTABOP_setup_table, 0x5000, 1), -EFAULT);
    /* 32-bit: { dom, nr_frames, status, uint32 frame_list } and 4-byte entries. */
    compat = true;
    uint32_t c[4] = { DOMID_SELF, 3, 0x55, (uint32_t)G(0x200) }, l32[3];
    gput(&v0, G(0x40), c, sizeof(c));
    assert_int_equal(op(&v0, GNTTABOP_setup_table, G(0x40), 1), 0);
    gget(&v0, G(0x40), c, sizeof(c));
    assert_int_equal((int16_t)c[2], GNTST_okay);
    gget(&v0, G(0x200), l32, sizeof(l32));
    assert_int_equal(l32[0], 0xffffffff);
    compat = false;
    /* The table grew to 3 frames only. */
    struct gnttab_query_size q = { .dom = DOMID_SELF };
    gput(&v0, G(0), &q, sizeof(q));
    op(&v0, GNTTABOP_query_size, G(0), 1);
    gget(&v0, G(0), &q, sizeof(q));
    assert_int_equal(q.nr_frames, 3);
}

/* ---- map and unmap ----------------------------------------------------------------------------- */

static void map_self(void **state)
{
    uint32_t h_rw, h_ro, h;
    mfn_t mfn;

    grant(&d0, 8, RAM_GFN + 3, 0, GTF_permit_access);
    machine[0][3][0] = 0xab;
    assert_int_equal(map(&v0, 8, 0, 0x5000, GNTMAP_host_map, &h_rw), GNTST_okay);
    assert_int_equal(lookup(&d0, 0x5000, &mfn), p2m_grant_map_rw);
    assert_int_equal(mfn, 0x1003);
    assert_int_equal(refs(0x1003), 2);
    assert_int_equal(entry(&d0, 8)->flags, GTF_permit_access | GTF_reading | GTF_writing);
    struct gnttab_map_grant_ref m;
    gget(&v0, G(0x800), &m, sizeof(m));
    assert_int_equal(m.dev_bus_addr, 0x1003ull << 12);
    /* A second, read-only mapping: same frame, its own handle. */
    assert_int_equal(map(&v0, 8, 0, 0x5001, GNTMAP_host_map | GNTMAP_readonly, &h_ro), GNTST_okay);
    assert_int_equal(lookup(&d0, 0x5001, &mfn), p2m_grant_map_ro);
    assert_int_not_equal(h_ro, h_rw);
    assert_int_equal(refs(0x1003), 3);
    /* Over a grant mapping: refused, nothing left behind. */
    assert_int_equal(map(&v0, 8, 0, 0x5001, GNTMAP_host_map, NULL), GNTST_general_error);
    assert_int_equal(refs(0x1003), 3);
    /* Onto our own RAM: the RAM page leaves that GFN. */
    assert_int_equal(map(&v0, 8, 0, RAM_GFN + 9, GNTMAP_host_map, &h), GNTST_okay);
    assert_int_equal(lookup(&d0, RAM_GFN + 9, &mfn), p2m_grant_map_rw);
    assert_int_equal(unmap(&v0, RAM_GFN + 9, h, 0), GNTST_okay);
    assert_int_equal(lookup(&d0, RAM_GFN + 9, &mfn), p2m_invalid);

    /* Unmap: wrong address, wrong bus address, no address, then properly. */
    assert_int_equal(unmap(&v0, 0x5001, h_rw, 0), GNTST_general_error);
    assert_int_equal(unmap(&v0, 0x5000, h_rw, 0x1234000), GNTST_general_error);
    assert_int_equal(unmap(&v0, 0, h_rw, 0), GNTST_okay);   /* Xen: nothing done */
    assert_int_equal(lookup(&d0, 0x5000, &mfn), p2m_grant_map_rw);
    assert_int_equal(unmap(&v0, 0x5000, h_rw, 0x1003ull << 12), GNTST_okay);
    assert_int_equal(lookup(&d0, 0x5000, &mfn), p2m_invalid);
    assert_int_equal(entry(&d0, 8)->flags, GTF_permit_access | GTF_reading);   /* ro pin left */
    assert_int_equal(unmap(&v0, 0x5000, h_rw, 0), GNTST_bad_handle);
    assert_int_equal(unmap(&v0, 0x5001, h_ro, 0), GNTST_okay);
    assert_int_equal(entry(&d0, 8)->flags, GTF_permit_access);
    assert_int_equal(refs(0x1003), 1);
    assert_int_equal(unmap(&v0, 0x5001, 0xffffffff, 0), GNTST_bad_handle);
    assert_int_equal(unmap(&v0, 0x5001, 255, 0), GNTST_bad_handle);   /* never used */
    /* Handles are reused. */
    assert_int_equal(map(&v0, 8, 0, 0x5002, GNTMAP_host_map, &h), GNTST_okay);
    assert_true(h == h_ro || h == h_rw);
    assert_true(flushes > 0);
    /* Left mapped: teardown gives the reference back. */
}

static void map_hostile(void **state)
{
    uint32_t h;

    grant(&d0, 9, RAM_GFN + 4, 0, GTF_permit_access | GTF_readonly);
    grant(&d0, 10, RAM_GFN + 4, 1, GTF_permit_access);            /* for d1 */
    grant(&d0, 11, RAM_GFN + 4, 0, GTF_accept_transfer);
    grant(&d0, 12, 0x7000, 0, GTF_permit_access);                  /* not RAM */
    grant(&d0, 13, RAM_GFN + 4, 0, GTF_permit_access | GTF_sub_page);
    grant(&d0, 14, 0xffffffff, 0, GTF_permit_access);
    assert_int_equal(map(&v0, 512, 0, 0x5000, GNTMAP_host_map, NULL), GNTST_bad_gntref);
    assert_int_equal(map(&v0, 0xffffffff, 0, 0x5000, GNTMAP_host_map, NULL), GNTST_bad_gntref);
    assert_int_equal(map(&v0, 9, 0, 0x5000, 0, NULL), GNTST_bad_gntref);
    assert_int_equal(map(&v0, 9, 0, 0x5000, GNTMAP_readonly, NULL), GNTST_bad_gntref);
    assert_int_equal(map(&v0, 9, 0, 0x5000, GNTMAP_device_map | GNTMAP_readonly, NULL),
                     GNTST_general_error);
    assert_int_equal(map(&v0, 9, 0, 0x5000, GNTMAP_host_map | GNTMAP_application_map, NULL),
                     GNTST_general_error);
    assert_int_equal(map(&v0, 9, 0, 0x5000, GNTMAP_host_map | GNTMAP_readonly | 1u << 16, NULL),
                     GNTST_general_error);
    assert_int_equal(map(&v0, 9, DOMID_SELF, 0x5000, GNTMAP_host_map, NULL), GNTST_bad_domain);
    assert_int_equal(map(&v0, 9, 5, 0x5000, GNTMAP_host_map, NULL), GNTST_bad_domain);
    assert_int_equal(map(&v0, 9, 0, 0x5000, GNTMAP_host_map, NULL), GNTST_general_error);
    assert_int_equal(map(&v0, 10, 0, 0x5000, GNTMAP_host_map, NULL), GNTST_general_error);
    assert_int_equal(map(&v0, 11, 0, 0x5000, GNTMAP_host_map, NULL), GNTST_general_error);
    assert_int_equal(map(&v0, 12, 0, 0x5000, GNTMAP_host_map, NULL), GNTST_bad_page);
    assert_int_equal(map(&v0, 13, 0, 0x5000, GNTMAP_host_map, NULL), GNTST_general_error);
    assert_int_equal(map(&v0, 14, 0, 0x5000, GNTMAP_host_map, NULL), GNTST_bad_page);
    assert_int_equal(map(&v0, 9, 0, 1ull << 40, GNTMAP_host_map | GNTMAP_readonly, NULL),
                     GNTST_general_error);
    /* None of that left a pin, a busy flag or a reference. */
    for (uint32_t r = 9; r <= 14; r++)
        assert_int_equal(entry(&d0, r)->flags & (GTF_reading | GTF_writing), 0);
    assert_int_equal(refs(0x1004), 1);
    /* The frame must be the granting domain's own RAM: a special page is not. */
    assert_int_equal(p2m_set_entry(&d0.p2m, 0x7001, 0x1800, 0, p2m_reserved), 0);
    grant(&d0, 15, 0x7001, 0, GTF_permit_access);
    assert_int_equal(map(&v0, 15, 0, 0x5000, GNTMAP_host_map, NULL), GNTST_bad_page);
    /* A frame of ours that is not allocated any more. */
    frames[0x1005].count_info &= ~PGC_allocated;
    grant(&d0, 16, RAM_GFN + 5, 0, GTF_permit_access);
    assert_int_equal(map(&v0, 16, 0, 0x5000, GNTMAP_host_map, NULL), GNTST_bad_page);
    frames[0x1005].count_info |= PGC_allocated;

    /* Pins stop before a count could overflow (Xen's 0x80808080 check). */
    unsigned int ok = 0;
    for (unsigned int i = 0; i < 200; i++) {
        if (map(&v0, 9, 0, 0x6000 + i, GNTMAP_host_map | GNTMAP_readonly, &h) != GNTST_okay)
            break;
        ok++;
    }
    assert_int_equal(ok, 128);
    assert_int_equal(refs(0x1004), 129);
    for (unsigned int i = 0; i < ok; i++) {
        mfn_t m;
        assert_int_equal(lookup(&d0, 0x6000 + i, &m), p2m_grant_map_ro);
    }
}

static void map_other_domain(void **state)
{
    uint32_t h;
    mfn_t mfn;

    grant(&d1, 8, RAM_GFN + 2, 0, GTF_permit_access);
    machine[1][2][100] = 0x5a;
    assert_int_equal(map(&v1, 8, 1, 0x5000, GNTMAP_host_map, NULL), GNTST_general_error);
    assert_int_equal(map(&v0, 8, 1, 0x5000, GNTMAP_host_map, &h), GNTST_okay);
    assert_int_equal(lookup(&d0, 0x5000, &mfn), p2m_grant_map_rw);
    assert_int_equal(mfn, D1_MFN + 2);
    assert_int_equal(refs(D1_MFN + 2), 2);
    /* Pinned for d0: d1 cannot take it over by rewriting the entry. */
    entry(&d1, 8)->domid = 1;
    assert_int_equal(map(&v1, 8, 1, 0x5001, GNTMAP_host_map, NULL), GNTST_general_error);
    entry(&d1, 8)->domid = 0;
    assert_int_equal(unmap(&v0, 0x5000, h, 0), GNTST_okay);
    assert_int_equal(refs(D1_MFN + 2), 1);
    assert_int_equal(entry(&d1, 8)->flags, GTF_permit_access);

    /* d1 goes while d0 still maps its grant: the mapping is orphaned,
       keeps its reference, and unmaps cleanly later. */
    assert_int_equal(map(&v0, 8, 1, 0x5000, GNTMAP_host_map, &h), GNTST_okay);
    gnttab_domain_destroy(&d1);
    domain_table[1] = NULL;
    assert_int_equal(refs(D1_MFN + 2), 2);
    assert_int_equal(unmap(&v0, 0x5000, h, 0), GNTST_okay);
    assert_int_equal(refs(D1_MFN + 2), 1);
    assert_int_equal(lookup(&d0, 0x5000, &mfn), p2m_invalid);
    domain_table[1] = &d1;
}

static void map_batches(void **state)
{
    struct gnttab_map_grant_ref m[100];
    uint32_t h;

    grant(&d0, 20, RAM_GFN + 6, 0, GTF_permit_access);
    for (unsigned int i = 0; i < 100; i++)
        m[i] = (struct gnttab_map_grant_ref){ .host_addr = (0x6000ull + i) << 12,
            .flags = GNTMAP_host_map | GNTMAP_readonly, .ref = i % 2 ? 20 : 0x10000, .dom = 0 };
    gput(&v0, G(0x1000), m, sizeof(m));
    struct hcall hc = { .arg = { GNTTABOP_map_grant_ref, G(0x1000), 100 } };
    do_grant_table_op(&v0, &hc);
    assert_true(hc.preempted);                        /* 64 done, the rest continues */
    assert_int_equal(hc.arg[1], G(0x1000) + 64 * sizeof(m[0]));
    assert_int_equal(hc.arg[2], 36);
    hc.preempted = false;
    assert_int_equal(do_grant_table_op(&v0, &hc), 0);
    assert_false(hc.preempted);
    gget(&v0, G(0x1000), m, sizeof(m));
    for (unsigned int i = 0; i < 100; i++)
        assert_int_equal(m[i].status, i % 2 ? GNTST_okay : GNTST_bad_gntref);
    assert_int_equal(refs(0x1006), 51);
    /* Unmap them in one batch, with a bad handle in the middle. */
    struct gnttab_unmap_grant_ref u[50];
    for (unsigned int i = 0; i < 50; i++)
        u[i] = (struct gnttab_unmap_grant_ref){ .host_addr = m[2 * i + 1].host_addr,
                                                .handle = i == 7 ? 0x4000 : m[2 * i + 1].handle };
    gput(&v0, G(0x2000), u, sizeof(u));
    assert_int_equal(op(&v0, GNTTABOP_unmap_grant_ref, G(0x2000), 50), 0);
    gget(&v0, G(0x2000), u, sizeof(u));
    assert_int_equal(u[7].status, GNTST_bad_handle);
    assert_int_equal(u[8].status, GNTST_okay);
    assert_int_equal(refs(0x1006), 2);
    /* An array running off the end of RAM: -EFAULT after the entries before. */
    struct gnttab_map_grant_ref last = { .host_addr = 0x5000ull << 12, .flags = GNTMAP_host_map,
                                         .ref = 20, .dom = 0 };
    uint64_t at = G(RAM_PAGES * 4096) - sizeof(last);
    gput(&v0, at, &last, sizeof(last));
    assert_int_equal(op(&v0, GNTTABOP_map_grant_ref, at, 0x7fffffff), -EFAULT);
    gget(&v0, at, &last, sizeof(last));
    assert_int_equal(last.status, GNTST_okay);
    h = last.handle;
    assert_int_equal(unmap(&v0, 0x5000, h, 0), GNTST_okay);
}

/* ---- copy and swap ------------------------------------------------------------------------------ */

static int16_t copy1(struct vcpu *v, const struct gnttab_copy *c)
{
    struct gnttab_copy r;

    gput(v, G(0x900), c, sizeof(*c));
    assert_int_equal(op(v, GNTTABOP_copy, G(0x900), 1), 0);
    gget(v, G(0x900), &r, sizeof(r));
    return r.status;
}

static void copy_ops(void **state)
{
    for (unsigned int i = 0; i < 4096; i++)
        machine[1][3][i] = (uint8_t)i;
    grant(&d1, 30, RAM_GFN + 3, 0, GTF_permit_access | GTF_readonly);
    grant(&d1, 31, RAM_GFN + 4, 0, GTF_permit_access);
    struct gnttab_copy c = {
        .source = { .u.ref = 30, .domid = 1, .offset = 10 },
        .dest = { .u.gmfn = RAM_GFN + 7, .domid = DOMID_SELF, .offset = 4000 },
        .len = 96, .flags = GNTCOPY_source_gref,
    };
    assert_int_equal(copy1(&v0, &c), GNTST_okay);
    assert_memory_equal(machine[0][7] + 4000, machine[1][3] + 10, 96);
    assert_int_equal(refs(D1_MFN + 3), 1);
    assert_int_equal(entry(&d1, 30)->flags, GTF_permit_access | GTF_readonly);
    /* Into d1's writable grant, from our frame. */
    struct gnttab_copy w = {
        .source = { .u.gmfn = RAM_GFN + 7, .domid = DOMID_SELF, .offset = 4000 },
        .dest = { .u.ref = 31, .domid = 1, .offset = 0 }, .len = 96, .flags = GNTCOPY_dest_gref,
    };
    assert_int_equal(copy1(&v0, &w), GNTST_okay);
    assert_memory_equal(machine[1][4], machine[1][3] + 10, 96);
    assert_int_equal(entry(&d1, 31)->flags, GTF_permit_access);

    struct gnttab_copy b = c;
    b.len = 97;                                     /* 4000 + 97 > 4096 */
    assert_int_equal(copy1(&v0, &b), GNTST_bad_copy_arg);
    b = c;
    b.source.offset = 0xffff;
    b.len = 0xffff;
    assert_int_equal(copy1(&v0, &b), GNTST_bad_copy_arg);
    b = c;
    b.dest.offset = 0;
    b.len = 4096 - 10;                              /* exactly to the source's end */
    assert_int_equal(copy1(&v0, &b), GNTST_okay);
    b = w;
    b.dest.u.ref = 30;                              /* a read-only grant */
    assert_int_equal(copy1(&v0, &b), GNTST_general_error);
    b = c;
    b.source.u.ref = 4096;
    assert_int_equal(copy1(&v0, &b), GNTST_bad_gntref);
    b = c;
    b.dest.domid = 0;                               /* a frame, not by DOMID_SELF */
    assert_int_equal(copy1(&v0, &b), GNTST_permission_denied);
    b = c;
    b.source.domid = 9;
    assert_int_equal(copy1(&v0, &b), GNTST_bad_domain);
    b = c;
    b.dest.u.gmfn = 0x7777;                         /* not our RAM */
    assert_int_equal(copy1(&v0, &b), GNTST_bad_page);
    b = c;
    b.dest.u.gmfn = RAM_GFN + 7;
    b.flags = 0;                                    /* source by frame of domain 1 */
    assert_int_equal(copy1(&v0, &b), GNTST_permission_denied);
    assert_int_equal(copy1(&v1, &c), GNTST_general_error);   /* d1's grant is for d0 */
    assert_int_equal(refs(D1_MFN + 3), 1);
    assert_int_equal(refs(D1_MFN + 4), 1);
    assert_int_equal(refs(0x1007), 1);

    /* 32-bit layout: 8-byte copy pointers, 24-byte ops. */
    compat = true;
    uint32_t cc[6] = { 30, 1 | 10u << 16, (uint32_t)(RAM_GFN + 8), DOMID_SELF | 0u << 16,
                       64 | (uint32_t)GNTCOPY_source_gref << 16, 0x55 };
    gput(&v0, G(0xa00), cc, sizeof(cc));
    assert_int_equal(op(&v0, GNTTABOP_copy, G(0xa00), 1), 0);
    gget(&v0, G(0xa00), cc, sizeof(cc));
    assert_int_equal((int16_t)cc[5], GNTST_okay);
    assert_memory_equal(machine[0][8], machine[1][3] + 10, 64);
    compat = false;
}

static void swap_ops(void **state)
{
    gnttab_swap_grant_ref_t s = { .ref_a = 40, .ref_b = 41 };
    uint32_t h;

    grant(&d0, 40, RAM_GFN + 1, 1, GTF_permit_access);
    grant(&d0, 41, RAM_GFN + 2, 0, GTF_permit_access | GTF_readonly);
    gput(&v0, G(0), &s, sizeof(s));
    assert_int_equal(op(&v0, GNTTABOP_swap_grant_ref, G(0), 1), 0);
    gget(&v0, G(0), &s, sizeof(s));
    assert_int_equal(s.status, GNTST_okay);
    assert_int_equal(entry(&d0, 40)->frame, RAM_GFN + 2);
    assert_int_equal(entry(&d0, 41)->domid, 1);
    s.ref_b = 512;
    gput(&v0, G(0), &s, sizeof(s));
    op(&v0, GNTTABOP_swap_grant_ref, G(0), 1);
    gget(&v0, G(0), &s, sizeof(s));
    assert_int_equal(s.status, GNTST_bad_gntref);
    assert_int_equal(map(&v0, 40, 0, 0x5000, GNTMAP_host_map | GNTMAP_readonly, &h), GNTST_okay);
    s.ref_b = 41;
    gput(&v0, G(0), &s, sizeof(s));
    op(&v0, GNTTABOP_swap_grant_ref, G(0), 1);
    gget(&v0, G(0), &s, sizeof(s));
    assert_int_equal(s.status, GNTST_eagain);
    s.ref_b = 40;                                   /* the same ref: nothing to do */
    gput(&v0, G(0), &s, sizeof(s));
    op(&v0, GNTTABOP_swap_grant_ref, G(0), 1);
    gget(&v0, G(0), &s, sizeof(s));
    assert_int_equal(s.status, GNTST_okay);
    assert_int_equal(unmap(&v0, 0x5000, h, 0), GNTST_okay);
}

static void helpers(void **state)
{
    assert_int_equal(gnttab_nr_entries(1), 512);
    assert_int_equal(gnttab_nr_entries(GNTTAB_MAX_FRAMES), 32768);
    assert_true(gnttab_copy_in_page(0, 4096));
    assert_true(gnttab_copy_in_page(4095, 1));
    assert_false(gnttab_copy_in_page(4095, 2));
    assert_false(gnttab_copy_in_page(0xffff, 0xffff));
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(sizes_and_versions), T(frames_and_setup_table), T(map_self), T(map_hostile),
        T(map_other_domain), T(map_batches), T(copy_ops), T(swap_ops), T(helpers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
