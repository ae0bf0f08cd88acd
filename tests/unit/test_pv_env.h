/*
 * A fake machine for the PV validator (pv/) in host tests and the fuzzer:
 * a 64-frame frame table and RAM, three owners, the glue seams
 * (pv_map_frame, pv_frame_released), callbacks that record what they are
 * asked, and env_audit(), which recomputes every reference count from the
 * validated tables, pins and base pointers alone and compares.
 *
 * Frames: 0 unused; 1-39 the test domain's (DOM_A, id 1), allocated;
 * 40-47 another domain's (DOM_B, id 2); 48-51 hypervisor heap frames
 * (PGC_xen_heap, no owner); 52-63 free.
 */
#ifndef TEST_PV_ENV_H
#define TEST_PV_ENV_H
#include <proxenos/pv_mm.h>
#include <proxenos/pagetable.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ENV_FN static inline __attribute__((unused))

#define ENV_FRAMES   64
#define A_FIRST      1
#define A_LAST       39
#define B_FIRST      40
#define B_LAST       47
#define XEN_FIRST    48
#define XEN_LAST     51
#define DOMID_A      1
#define DOMID_B      2

struct page_info *frame_table;
uint64_t max_mfn;

static struct page_info env_frames[ENV_FRAMES];
static uint8_t env_ram[ENV_FRAMES][4096] __attribute__((aligned(4096)));
static unsigned long env_m2p[ENV_FRAMES];
static int16_t env_linear[ENV_FRAMES];
static long long env_doms[3];
#define DOM_A ((struct domain *)&env_doms[0])
#define DOM_B ((struct domain *)&env_doms[1])

static struct pv_mm env_mm;
static struct page_info env_initial[ENV_FRAMES];  /* snapshot of frames not DOM_A's */
static bool env_was_a[ENV_FRAMES];
static unsigned int env_released;
/* References (general + type) a test holds itself, as the runtime would
   for a GDT page: the audit counts them as roots. */
static unsigned int env_extra[ENV_FRAMES];

/* What the callbacks saw. */
static struct {
    unsigned int load_cr3, flush_tlb, invlpg, flush_stale, set_ldt;
    unsigned int last_vcpu;
    uint64_t last_mask, last_va;
    uint64_t vcpumask;           /* what read_vcpumask returns */
    int segdesc_rc;              /* what check_segdesc_page returns */
} env_cb;

void *pv_map_frame(mfn_t mfn)
{
    if (mfn >= ENV_FRAMES)
        abort();
    return env_ram[mfn];
}

void pv_frame_released(struct page_info *pg)
{
    env_released++;
    pg->owner = NULL;
    if (!(pg->count_info & PGC_xen_heap))
        pg->type_info = 0;
}

static void env_load_cr3(struct pv_mm *mm, unsigned int v) { env_cb.load_cr3++; env_cb.last_vcpu = v; }
static void env_flush_tlb(struct pv_mm *mm, unsigned int v, uint64_t mask)
{
    env_cb.flush_tlb++;
    env_cb.last_vcpu = v;
    env_cb.last_mask = mask;
}
static void env_invlpg(struct pv_mm *mm, unsigned int v, uint64_t mask, uint64_t va)
{
    env_cb.invlpg++;
    env_cb.last_vcpu = v;
    env_cb.last_mask = mask;
    env_cb.last_va = va;
}
static void env_flush_stale(struct pv_mm *mm) { env_cb.flush_stale++; }
static int env_read_vcpumask(struct pv_mm *mm, unsigned int v, uint64_t gva, uint64_t *mask)
{
    if (gva == 0xbad0)
        return -EFAULT;
    *mask = env_cb.vcpumask;
    return 0;
}
static void env_set_ldt(struct pv_mm *mm, unsigned int v) { env_cb.set_ldt++; env_cb.last_vcpu = v; }
static int env_check_segdesc(struct pv_mm *mm, const uint64_t *d) { return env_cb.segdesc_rc; }
static bool env_domain_exists(domid_t id) { return id == DOMID_A || id == DOMID_B; }

static const struct pv_mm_ops env_ops = {
    .load_cr3 = env_load_cr3, .flush_tlb = env_flush_tlb, .invlpg = env_invlpg,
    .flush_stale = env_flush_stale, .read_vcpumask = env_read_vcpumask,
    .set_ldt = env_set_ldt, .check_segdesc_page = env_check_segdesc,
    .domain_exists = env_domain_exists,
};

/* The hypervisor L4 slots: recognisable, present, not user. */
ENV_FN uint64_t env_xen_slot(unsigned int i) { return 0x7f000000ULL + (i << 12) + (PTE_P | PTE_RW); }

ENV_FN void env_reset(void)
{
    memset(env_frames, 0, sizeof(env_frames));
    memset(env_ram, 0, sizeof(env_ram));
    memset(env_linear, 0, sizeof(env_linear));
    memset(&env_cb, 0, sizeof(env_cb));
    memset(env_was_a, 0, sizeof(env_was_a));
    memset(env_extra, 0, sizeof(env_extra));
    env_released = 0;
    pv_mm_bugs = 0;
    frame_table = env_frames;
    max_mfn = ENV_FRAMES;
    for (mfn_t m = 0; m < ENV_FRAMES; m++) {
        struct page_info *pg = &env_frames[m];

        pg->count_info = PGC_state_inuse | PGC_head;
        if (m >= A_FIRST && m <= A_LAST) {
            pg->owner = DOM_A;
            pg->count_info |= PGC_allocated | 1;
            env_was_a[m] = true;
        } else if (m >= B_FIRST && m <= B_LAST) {
            pg->owner = DOM_B;
            pg->count_info |= PGC_allocated | 1;
        } else if (m >= XEN_FIRST && m <= XEN_LAST) {
            pg->count_info |= PGC_xen_heap;
        } else if (m > XEN_LAST) {
            pg->count_info = PGC_state_free;
        }
    }
    memcpy(env_initial, env_frames, sizeof(env_frames));
    pv_m2p_init(env_m2p, ENV_FRAMES);
    pv_linear_pt_count = env_linear;
    for (unsigned int i = 0; i < PV_L4_XEN_SLOTS; i++)
        pv_xen_l4_slots[i] = env_xen_slot(i);
    if (pv_mm_init(&env_mm, DOM_A, DOMID_A, 2, &env_ops, PV_MM_NX))
        abort();
}

/* ---- shorthands ------------------------------------------------------------------- */

ENV_FN uint64_t *env_page(mfn_t m) { return (uint64_t *)env_ram[m]; }
ENV_FN uint64_t pte(mfn_t m, uint64_t flags) { return (m << PAGE_SHIFT) | flags; }
ENV_FN uint64_t tcount(mfn_t m) { return env_frames[m].type_info & PGT_count_mask; }
ENV_FN uint64_t gcount(mfn_t m) { return env_frames[m].count_info & PGC_count_mask; }
ENV_FN uint64_t ttype(mfn_t m) { return env_frames[m].type_info & PGT_type_mask; }
ENV_FN bool validated(mfn_t m) { return env_frames[m].type_info & PGT_validated; }
ENV_FN bool pinned(mfn_t m) { return env_frames[m].type_info & PGT_pinned; }

ENV_FN int ext1(unsigned int cmd, uint64_t arg1, uint64_t arg2)
{
    struct mmuext_op op;
    unsigned int done;

    memset(&op, 0, sizeof(op));
    op.cmd = cmd;
    op.arg1.mfn = arg1;
    op.arg2.src_mfn = arg2;
    return pv_mmuext_op(&env_mm, 0, &op, 1, &done, DOMID_SELF);
}
ENV_FN int pin(mfn_t m, unsigned int level) { return ext1(MMUEXT_PIN_L1_TABLE + level - 1, m, 0); }
ENV_FN int unpin(mfn_t m) { return ext1(MMUEXT_UNPIN_TABLE, m, 0); }
ENV_FN int baseptr(mfn_t m) { return ext1(MMUEXT_NEW_BASEPTR, m, 0); }
ENV_FN int user_baseptr(mfn_t m) { return ext1(MMUEXT_NEW_USER_BASEPTR, m, 0); }

ENV_FN struct mmu_update upd(mfn_t table, unsigned int slot, uint64_t val)
{
    struct mmu_update u = { (table << PAGE_SHIFT) + slot * 8 + MMU_NORMAL_PT_UPDATE, val };
    return u;
}
ENV_FN int mmu1(mfn_t table, unsigned int slot, uint64_t val)
{
    struct mmu_update u = upd(table, slot, val);
    unsigned int done;

    return pv_mmu_update(&env_mm, 0, &u, 1, &done, DOMID_SELF);
}

/* ---- the audit ---------------------------------------------------------------------- */

static char env_why[200];

#define AUDIT_FAIL(...) do { snprintf(env_why, sizeof(env_why), __VA_ARGS__); return env_why; } while (0)

/* What each frame's counts must be, from the roots that hold references. */
struct env_expect {
    uint64_t type[ENV_FRAMES], gen[ENV_FRAMES];
    int lin[ENV_FRAMES];
    unsigned int lin_holds[ENV_FRAMES], lin_named[ENV_FRAMES];
};

/* The bits a stored entry may have, written out independently of the
   validator's own masks: the address, P, RW, US, A, D, the software bits
   9-11 and 52-62 and NX; L1 entries neither G (dropped) nor bit 62. */
#define ENV_UPPER_BAD ~(0x000ffffffffff000ULL | PTE_P | PTE_RW | PTE_US | PTE_A | PTE_D | \
                        (7ULL << 9) | (0x7ffULL << 52) | PTE_NX)
#define ENV_L1_BAD    (ENV_UPPER_BAD | (1ULL << 62))

static const char *env_audit_entry(struct env_expect *x, mfn_t m, unsigned int level, unsigned int i)
{
    uint64_t e = env_page(m)[i], bad = level == 1 ? ENV_L1_BAD : ENV_UPPER_BAD;
    mfn_t f = pv_pte_mfn(e);
    unsigned int tl;

    if (!(e & PTE_P))
        return NULL;
    if ((e & bad) || !(e & PTE_US) || (level == 1 && (e & PTE_G)) || (level == 4 && !(e & PTE_A)))
        AUDIT_FAIL("L%u %lu[%u] = %#lx: bits a validated entry cannot have", level, m, i, e);
    if (f >= ENV_FRAMES || !(env_was_a[f] || env_frames[f].owner == DOM_A))
        AUDIT_FAIL("L%u %lu[%u] = %#lx names a frame not the domain's", level, m, i, e);
    if (level == 1) {
        x->gen[f]++;
        if (e & PTE_RW) {
            x->type[f]++;
            if (ttype(f) != PGT_writable_page)
                AUDIT_FAIL("L1 %lu[%u] maps %lu writable, whose type is %#lx", m, i, f, ttype(f));
        }
        return NULL;
    }
    if (f == m) {
        if (e & PTE_RW)
            AUDIT_FAIL("L%u %lu[%u] maps its own table writable", level, m, i);
        return NULL;
    }
    x->gen[f]++;
    x->type[f]++;
    tl = pv_type_level(env_frames[f].type_info);
    if (tl == level) {
        if (e & PTE_RW)
            AUDIT_FAIL("linear L%u %lu[%u] -> %lu is writable", level, m, i, f);
        x->lin[m]++;
        x->lin[f]--;
        x->lin_holds[m]++;
        x->lin_named[f]++;
    } else if (tl != level - 1) {
        AUDIT_FAIL("L%u %lu[%u] names %lu of type %#lx", level, m, i, f, ttype(f));
    }
    return NULL;
}

static const char *env_audit_table(struct env_expect *x, mfn_t m)
{
    unsigned int level = pv_type_level(env_frames[m].type_info);
    const char *why;

    if (!level || !tcount(m))
        return NULL;
    if (!validated(m))
        AUDIT_FAIL("L%u table %lu is live but not validated", level, m);
    for (unsigned int i = 0; i < PV_PT_ENTRIES; i++) {
        if (!pv_guest_slot(level, i)) {
            if (env_page(m)[i] != env_xen_slot(i - PV_L4_XEN_FIRST))
                AUDIT_FAIL("L4 %lu: hypervisor slot %u is %#lx", m, i, env_page(m)[i]);
            continue;
        }
        if ((why = env_audit_entry(x, m, level, i)))
            return why;
    }
    return NULL;
}

static const char *env_audit_roots(struct env_expect *x)
{
    for (mfn_t m = 0; m < ENV_FRAMES; m++) {
        uint64_t t = env_frames[m].type_info;

        if (env_frames[m].owner == DOM_A && (env_frames[m].count_info & PGC_allocated))
            x->gen[m]++;
        if (env_frames[m].owner == DOM_A && (env_frames[m].count_info & PGC_xen_heap))
            x->type[m]++;                     /* a shared frame's permanent type ref */
        x->type[m] += env_extra[m];
        x->gen[m] += env_extra[m];
        if (t & PGT_pinned) {
            if (!pv_type_level(t) || !validated(m) || !env_was_a[m])
                AUDIT_FAIL("frame %lu pinned with type_info %#lx", m, t);
            x->type[m]++;
            x->gen[m]++;
        }
    }
    for (unsigned int v = 0; v < env_mm.nr_vcpus; v++) {
        mfn_t k = env_mm.vcpu[v].kernel_l4, u = env_mm.vcpu[v].user_l4;

        if (k) {
            x->type[k]++;
            x->gen[k]++;
        }
        if (u) {
            x->type[u]++;
            x->gen[u]++;
        }
        if ((k && ttype(k) != PGT_l4_page_table) || (u && ttype(u) != PGT_l4_page_table))
            AUDIT_FAIL("vCPU %u base pointer is not an L4", v);
    }
    return NULL;
}

/* NULL if every count is what the tables, pins and base pointers hold. */
ENV_FN const char *env_audit(void)
{
    static struct env_expect x;
    const char *why;

    memset(&x, 0, sizeof(x));
    if (pv_mm_bugs)
        AUDIT_FAIL("pv_mm_bugs = %lu", pv_mm_bugs);
    if ((why = env_audit_roots(&x)))
        return why;
    for (mfn_t m = 0; m < ENV_FRAMES; m++)
        if ((why = env_audit_table(&x, m)))
            return why;
    for (mfn_t m = 0; m < ENV_FRAMES; m++) {
        const struct page_info *pg = &env_frames[m];

        if (!env_was_a[m] && !(pg->owner == DOM_A && (pg->count_info & PGC_xen_heap))) {
            if (pg->count_info != env_initial[m].count_info || pg->type_info != env_initial[m].type_info)
                AUDIT_FAIL("frame %lu, not the domain's, changed: %#lx/%#lx", m, pg->count_info,
                           pg->type_info);
            continue;
        }
        if ((pg->type_info & PGT_count_mask) != x.type[m])
            AUDIT_FAIL("frame %lu: type count %lu, references %lu (type_info %#lx)", m,
                       (unsigned long)(pg->type_info & PGT_count_mask), x.type[m], pg->type_info);
        if ((pg->count_info & PGC_count_mask) != x.gen[m])
            AUDIT_FAIL("frame %lu: general count %lu, references %lu", m,
                       (unsigned long)(pg->count_info & PGC_count_mask), x.gen[m]);
        if (x.lin_holds[m] && x.lin_named[m])
            AUDIT_FAIL("frame %lu holds linear entries and is named by one: a chain", m);
        if (env_linear[m] != x.lin[m])
            AUDIT_FAIL("frame %lu: linear count %d, expected %d", m, env_linear[m], x.lin[m]);
        if (!x.gen[m] && pg->owner)
            AUDIT_FAIL("frame %lu: no reference left but still owned", m);
    }
    return NULL;
}

/* After pv_mm_teardown: nothing of the domain's is left anywhere. */
ENV_FN const char *env_audit_torn_down(void)
{
    const char *why = env_audit();

    if (why)
        return why;
    for (mfn_t m = 0; m < ENV_FRAMES; m++) {
        const struct page_info *pg = &env_frames[m];

        if (pg->owner == DOM_A || (env_was_a[m] && ((pg->count_info & PGC_count_mask) ||
                                                    (pg->type_info & PGT_count_mask) ||
                                                    env_linear[m])))
            AUDIT_FAIL("frame %lu survived teardown: %#lx/%#lx", m, pg->count_info, pg->type_info);
    }
    return NULL;
}

#endif
