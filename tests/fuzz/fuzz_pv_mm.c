/*
 * Fuzz target for the PV page-type validator (pv/): the input is a
 * sequence of guest operations on a small fake domain (tests/unit/
 * test_pv_env.h: 39 frames of its own, another domain's frames, hypervisor
 * frames shared with it or not, frames outside RAM):
 *   pin / unpin at every level, mmu_update batches (normal, preserve-A/D,
 *   M2P, unknown commands) of random entries with random flags on random
 *   slots (including the hypervisor's L4 slots), new kernel and user base
 *   pointers, update_va_mapping with every flush kind, the other mmuext
 *   commands (flushes, LDT, clear/copy, unknown), guest writes through its
 *   writable mappings, frames given back, descriptor pages taken and
 *   dropped, full teardowns, and a macro that builds a 4-level address
 *   space as a booting kernel does (so short inputs reach deep states).
 * After every operation env_audit() recomputes from scratch, from the
 * validated tables, pins, base pointers and held references alone:
 *   - every type count and general count equals the references that
 *     exist; every linear counter equals the linear entries that exist;
 *   - every present entry of a validated table has no refused bit, has the
 *     bits validation adds, names a frame of the domain, and names it with
 *     the right type: an RW L1 entry a PGT_writable_page frame, an L(n)
 *     entry an L(n-1) table or (read-only) an L(n) one; since a frame has a
 *     single type, no live table is ever writable by the guest;
 *   - live tables are validated, pinned frames are live tables, base
 *     pointers are L4s, the hypervisor L4 slots hold the hypervisor's
 *     entries, frames not the domain's are untouched;
 * and this file checks that a refused update leaves its entry as it was,
 * that a refused pin changes no count, and that every type change of a
 * frame came with a flush_stale(). The input always ends with a teardown,
 * after which nothing of the domain may be left.
 *
 * Build with libFuzzer (clang):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -DHOST_TEST -Ihypervisor/include \
 *     -Ibuild/include tests/fuzz/fuzz_pv_mm.c pv/{page_type,pt_validate,mmu_update,\
 *     mmuext_op,update_va_mapping,mm_domain,m2p}.c -o fuzz_pv_mm
 */
/* @sources: pv/page_type.c pv/pt_validate.c pv/mmu_update.c pv/mmuext_op.c pv/update_va_mapping.c pv/mm_domain.c pv/m2p.c */
#include "../unit/test_pv_env.h"

#define CHECK(c) do { if (!(c)) { fprintf(stderr, "check failed: %s\n", #c); abort(); } } while (0)

struct input {
    const uint8_t *p;
    size_t left;
};

static uint8_t next(struct input *in)
{
    if (!in->left)
        return 0;
    in->left--;
    return *in->p++;
}

/* Mostly the domain's first 16 frames, so tables meet each other. */
static mfn_t pick_frame(uint8_t b)
{
    static const mfn_t odd[] = { B_FIRST, XEN_FIRST, XEN_FIRST + 1, XEN_FIRST + 2, 0, 70 };

    b %= 22;
    return b < 16 ? (mfn_t)b + 1 : odd[b - 16];
}

static unsigned int pick_slot(uint8_t b)
{
    static const unsigned int slots[] = { 0, 1, 2, 3, 255, 256, 271, 272, 300, 511 };

    return slots[b % ARRAY_SIZE(slots)];
}

static uint64_t pick_val(uint8_t b1, uint8_t b2)
{
    static const uint64_t odd_bits[] = { PTE_PS, PTE_G, PTE_PCD, PTE_PWT, PTE_NX,
                                         PV_PTE_GNTTAB, PV_PTE_AVAIL, 1ULL << 52 };
    uint64_t v = pte(pick_frame(b1), 0);

    if (!(b2 & 0x80))
        v |= PTE_P;
    if (b2 & 1)
        v |= PTE_RW;
    if (b2 & 2)
        v |= PTE_US;
    if (b2 & 4)
        v |= PTE_A | PTE_D;
    if (b2 & 8)
        v |= odd_bits[(b2 >> 4) & 7];
    return v;
}

/* Refused updates leave their entry alone. */
static void op_mmu_update(struct input *in)
{
    struct mmu_update reqs[3];
    uint64_t before[3] = { 0 };
    unsigned int n = 1 + next(in) % 3, done = 99;
    int rc;

    for (unsigned int i = 0; i < n; i++) {
        uint8_t t = next(in), s = next(in), b1 = next(in), b2 = next(in), c = next(in);
        static const unsigned int cmds[] = { MMU_NORMAL_PT_UPDATE, MMU_NORMAL_PT_UPDATE,
                                             MMU_NORMAL_PT_UPDATE, MMU_PT_UPDATE_PRESERVE_AD,
                                             MMU_MACHPHYS_UPDATE, 5 };

        reqs[i] = upd(pick_frame(t), pick_slot(s), pick_val(b1, b2));
        reqs[i].ptr += cmds[c % ARRAY_SIZE(cmds)];
        before[i] = pick_frame(t) < ENV_FRAMES ? env_page(pick_frame(t))[pick_slot(s)] : 0;
    }
    rc = pv_mmu_update(&env_mm, 0, reqs, n, &done, DOMID_SELF);
    CHECK(done <= n && (rc == 0) == (done == n));
    /* (Only for the first request: earlier ones may validate tables,
       which adjusts their entries.) */
    if (rc && !done && (reqs[0].ptr & 7) != MMU_MACHPHYS_UPDATE) {
        mfn_t m = reqs[0].ptr >> PAGE_SHIFT;

        if (m < ENV_FRAMES)
            CHECK(env_page(m)[(reqs[0].ptr & (PAGE_SIZE - 1)) >> 3] == before[0]);
    }
}

static void op_pin(struct input *in, uint8_t b)
{
    mfn_t m = pick_frame(next(in));
    uint64_t t = m < ENV_FRAMES ? env_frames[m].type_info : 0;
    int rc = pin(m, 1 + (b & 3));

    if (rc && m < ENV_FRAMES)
        CHECK(env_frames[m].type_info == t || !(t & PGT_count_mask));
}

static void op_baseptr(struct input *in, uint8_t b)
{
    struct mmuext_op o = { .cmd = (b & 1) ? MMUEXT_NEW_USER_BASEPTR : MMUEXT_NEW_BASEPTR };
    uint8_t f = next(in);
    unsigned int done;

    o.arg1.mfn = (f & 0x80) ? 0 : pick_frame(f);
    pv_mmuext_op(&env_mm, (b >> 1) & 1, &o, 1, &done, DOMID_SELF);
}

static void op_uvm(struct input *in)
{
    static const unsigned int l4s[] = { 0, 0, 0, 0, 1, 300, 511, 256 };
    static const uint64_t flags[] = { UVMF_NONE, UVMF_INVLPG | UVMF_LOCAL, UVMF_TLB_FLUSH | UVMF_ALL,
                                      UVMF_INVLPG | 0x5000, UVMF_TLB_FLUSH | 0xbad0, 3 };
    uint8_t a = next(in), b1 = next(in), b2 = next(in), f = next(in);
    /* Mostly inside op_build's tree (index 0 at every level above L1). */
    uint64_t va = ((uint64_t)l4s[a & 7] << 39) | ((uint64_t)((a & 0x18) == 0x18) << 30) |
                  ((uint64_t)((a & 0x60) == 0x60) << 21) | ((uint64_t)pick_slot(a >> 4) << 12);

    if (va & (1ULL << 47))
        va |= 0xffff000000000000ULL;
    env_cb.vcpumask = f;
    pv_update_va_mapping(&env_mm, (f & 3) == 3, va, pick_val(b1, b2),
                         flags[(f >> 1) % ARRAY_SIZE(flags)]);
}

static void op_misc(struct input *in)
{
    struct mmuext_op o;
    uint8_t c = next(in), a = next(in), b = next(in);
    unsigned int done;

    memset(&o, 0, sizeof(o));
    o.cmd = c % 22;
    if (o.cmd <= MMUEXT_UNPIN_TABLE || o.cmd == MMUEXT_NEW_BASEPTR || o.cmd == MMUEXT_NEW_USER_BASEPTR)
        o.cmd = MMUEXT_CLEAR_PAGE;      /* those have their own operations */
    o.arg1.mfn = pick_frame(a);
    if (o.cmd == MMUEXT_INVLPG_LOCAL || o.cmd == MMUEXT_INVLPG_ALL || o.cmd == MMUEXT_SET_LDT)
        o.arg1.linear_addr = ((uint64_t)a << 40) | ((uint64_t)(b & 0xf) << 12) | (b & 0x10);
    if (o.cmd == MMUEXT_SET_LDT)
        o.arg2.nr_ents = (unsigned int)b << 6;
    else if (o.cmd == MMUEXT_COPY_PAGE)
        o.arg2.src_mfn = pick_frame(b);
    else
        o.arg2.vcpumask.p = (const void *)(uintptr_t)((b & 1) ? 0xbad0 : 0x5000);
    env_cb.vcpumask = b;
    pv_mmuext_op(&env_mm, 0, &o, 1, &done, (c & 0x80) ? DOMID_B : DOMID_SELF);
}

/* The guest writes through one of its writable mappings: only frames
   with a writable type reference are reachable. */
static void op_guest_write(struct input *in)
{
    mfn_t m = pick_frame(next(in));
    unsigned int slot = pick_slot(next(in));
    uint64_t val = pick_val(next(in), next(in));

    if (m < ENV_FRAMES && ttype(m) == PGT_writable_page && tcount(m))
        env_page(m)[slot] = val;
}

static void op_segdesc(struct input *in)
{
    mfn_t m = pick_frame(next(in));

    if (m >= ENV_FRAMES)
        return;
    if (env_extra[m]) {
        pv_put_segdesc_page(&env_mm, m);
        env_extra[m]--;
    } else if (!pv_get_segdesc_page(&env_mm, m)) {
        env_extra[m]++;
    }
}

/* What a guest kernel does at boot, so that short inputs start from a
   real address space: L4 1 -> L3 2 -> L2 3 -> L1 4 -> frames 5 (RW) and
   6 (RO), written with mmu_update while not live, the L4 pinned and
   loaded on vCPU 0; optionally a self-map in slot 511 and a linear entry
   in slot 300 to another pinned L4, 7. Parts of it fail when earlier
   steps got in the way. */
static void op_build(uint8_t b)
{
    struct mmu_update reqs[] = {
        upd(4, 0, pte(5, PTE_P | PTE_RW)), upd(4, 1, pte(6, PTE_P)),
        upd(3, 0, pte(4, PTE_P | PTE_RW)), upd(2, 0, pte(3, PTE_P | PTE_RW)),
        upd(1, 0, pte(2, PTE_P | PTE_RW)), upd(1, 511, pte(1, PTE_P)),
        upd(1, 300, pte(7, PTE_P)),
    };
    unsigned int done, n = ARRAY_SIZE(reqs) - 2;

    if (b & 0x40) {
        pin(7, 4);
        n += 2;
    } else if (b & 0x10) {
        n++;
    }
    pv_mmu_update(&env_mm, 0, reqs, n, &done, DOMID_SELF);
    if (b & 0x20)
        pin(1, 4);
    baseptr(1);
}

static void teardown_and_check(void)
{
    const char *why;

    for (mfn_t m = 0; m < ENV_FRAMES; m++)
        while (env_extra[m]) {
            pv_put_segdesc_page(&env_mm, m);
            env_extra[m]--;
        }
    CHECK(pv_mm_teardown(&env_mm) == 0);
    why = env_audit_torn_down();
    if (why) {
        fprintf(stderr, "after teardown: %s\n", why);
        abort();
    }
    CHECK(env_mm.stats.forced == 0);
}

static void fuzz_reset(void)
{
    env_reset();
    CHECK(pv_share_xen_frame(&env_mm, XEN_FIRST, true) == 0);
    CHECK(pv_share_xen_frame(&env_mm, XEN_FIRST + 1, false) == 0);
    env_cb.segdesc_rc = 0;
}

/* A frame that had a type (other than none) and now has another one went
   through a flush_stale() in between. Frames only lose their type by
   being freed, and freed frames are never reused here. */
static uint64_t last_type[ENV_FRAMES];
static unsigned int last_flushes;

static void check_type_changes(void)
{
    bool changed = false;

    for (mfn_t m = 0; m < ENV_FRAMES; m++) {
        uint64_t t = env_frames[m].type_info & PGT_type_mask;

        if (t == PGT_none)
            continue;
        if (last_type[m] != PGT_none && t != last_type[m])
            changed = true;
        last_type[m] = t;
    }
    CHECK(!changed || env_cb.flush_stale > last_flushes);
    last_flushes = env_cb.flush_stale;
}

#ifdef FUZZ_STATS
/* -DFUZZ_STATS: what the inputs reach, to tune the decoding. */
uint64_t fz_validations, fz_ops, fz_ok[12], fz_refused[12];
#endif

static void step(struct input *in)
{
    uint8_t b = next(in);
    const char *why;
#ifdef FUZZ_STATS
    uint64_t refusals = env_mm.stats.refusals, vals = env_mm.stats.validations;
#endif

    switch (b % 12) {
    case 0: case 1: op_pin(in, b >> 4); break;
    case 2: unpin(pick_frame(next(in))); break;
    case 3: case 4: case 5: op_mmu_update(in); break;
    case 6: op_baseptr(in, b >> 4); break;
    case 7: op_uvm(in); break;
    case 8: op_misc(in); break;
    case 9: op_guest_write(in); break;
    case 10:
        if (b & 0x10)
            op_segdesc(in);
        else if ((b & 0xe0) == 0)
            pv_mm_release_frame(&env_mm, pick_frame(next(in)));
        break;
    case 11:
        if ((b & 0xf0) == 0xf0) {
            teardown_and_check();
            fuzz_reset();
            memset(last_type, 0, sizeof(last_type));
            last_flushes = 0;
        } else {
            op_build(b);
        }
        break;
    }
#ifdef FUZZ_STATS
    fz_ops++;
    if (env_mm.stats.validations > vals)
        fz_validations += env_mm.stats.validations - vals;
    if (env_mm.stats.refusals > refusals)
        fz_refused[b % 12]++;
    else
        fz_ok[b % 12]++;
#endif
    why = env_audit();
    if (why) {
        fprintf(stderr, "audit after op %u: %s (last refusal: %s)\n", b % 12, why,
                env_mm.why ? env_mm.why : "none");
        abort();
    }
    check_type_changes();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct input in = { data, size };

    fuzz_reset();
    memset(last_type, 0, sizeof(last_type));
    last_flushes = 0;
    /* Half the inputs start from a booted guest's address space. */
    if (size && (data[0] & 1))
        op_build(data[0] & 0x70);
    while (in.left)
        step(&in);
    teardown_and_check();
    return 0;
}
