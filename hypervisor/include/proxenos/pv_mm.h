/*
 * Direct paging for 64-bit PV guests (pv/): the page-type validator and the
 * MMU hypercalls on top of it, with the semantics of Xen 4.17's
 * xen/arch/x86/mm.c that PV Linux relies on.
 *
 *   pv/page_type.c         general references and page types (get_page,
 *                          get_page_type, the linear page-table counters)
 *   pv/pt_validate.c       the rules for one entry of each level, and the
 *                          validation / devalidation of whole tables
 *   pv/mmu_update.c        HYPERVISOR_mmu_update, and the entry update that
 *                          update_va_mapping shares
 *   pv/mmuext_op.c         HYPERVISOR_mmuext_op
 *   pv/update_va_mapping.c HYPERVISOR_update_va_mapping
 *   pv/mm_domain.c         per-domain state, frames shared by the hypervisor,
 *                          teardown
 *   pv/m2p.c               the machine-to-physical table and its read-only
 *                          guest mapping
 *   pv/multicall.c         HYPERVISOR_multicall's batch semantics
 *   pv/mm_glue.c           the hypervisor side of the seams below (never in
 *                          host tests)
 *
 * The core (everything but mm_glue.c) is pure: frame contents are reached
 * through pv_map_frame(), a freed frame goes to pv_frame_released(), and
 * everything that touches a CPU (CR3 loads, TLB flushes, the LDT) is a
 * callback in struct pv_mm_ops. Host unit tests and the fuzzer link it with
 * a fake frame table and fake RAM (tests/unit/test_pv_env.h).
 *
 * The rules, as Xen's (SDM vol. 3A 4.5 for the entry formats):
 *  - A frame has an owner, a general reference count (count_info &
 *    PGC_count_mask, PGC_allocated being the owner's allocation reference)
 *    and one type with a type count (frame.h). Only the owner's frames can
 *    be referenced; hypervisor frames (PGC_xen_heap) only once shared with
 *    the domain (pv_share_xen_frame).
 *  - A type changes only while its type count is zero, and a change away
 *    from any type but PGT_none first calls ops->flush_stale (Xen's flush
 *    on type change, without its timestamp filter). The first reference
 *    of L1..L4 validates the frame's entries, taking one reference per
 *    present entry; dropping the last one devalidates it, dropping exactly
 *    what validation took. A failed validation drops what it took and
 *    leaves the type with a zero count (so the next change still flushes).
 *  - A present L(n) entry takes a general and an L(n-1) type reference on
 *    the frame it names. An L1 entry with RW takes a PGT_writable_page type
 *    reference: no frame is ever a live page table and guest-writable. A
 *    read-only L1 entry takes a general reference only.
 *  - Linear (recursive) entries: an L(n) entry, n >= 2, may name an L(n)
 *    table read-only. Naming its own table takes nothing; naming another
 *    takes a general and a type reference, only on an already validated
 *    table that has no linear entries itself, from a table that is not
 *    itself named linearly (so linear references never chain or loop).
 *  - Superpages (PS in L2/L3), PWT/PCD/PAT, and bit 62 of L1 entries are
 *    refused; G is refused in L2-L4 and stripped from L1 entries. Present
 *    entries are stored with US set (the guest kernel runs in ring 3, as in
 *    Xen's adjust_guest_l*e) and L4 entries with A set.
 *  - L4 slots 256-271 (layout.h, the ABI's hypervisor hole) are never the
 *    guest's: validation ignores and overwrites them with pv_xen_l4_slots,
 *    updates to them are refused.
 *  - Counts that would overflow are refused, never wrapped.
 *
 * Locking. Each PV domain has one struct pv_mm whose `lock` serialises
 * every page-table operation of the domain: the hypercalls below, the
 * helpers, and teardown. All validation and devalidation of the domain's
 * frames, all writes of its page-table entries and the per-vCPU base
 * pointers happen under it (Xen uses per-page locks instead; one lock per
 * domain is simpler and enough for our vCPU counts). count_info and
 * type_info are nevertheless only changed with cmpxchg loops (frame.h's
 * [A]), so code outside the lock (grant tables, memory_op) may take and
 * drop references concurrently. The linear counters are atomic too.
 *
 * Not implemented yet: 32-bit PV guests, foreign page-table or page owners
 * (only DOMID_SELF), DOMID_IO mappings of MMIO and cache attributes for
 * privileged domains, superpages, preemption of long validations (one
 * hypercall validates a whole tree without a continuation), GDT/LDT
 * descriptor checking (a callback), VM assists (m2p_strict), grant
 * mappings (bit 62 is reserved for them).
 */
#ifndef PROXENOS_PV_MM_H
#define PROXENOS_PV_MM_H
#include <proxenos/xen_abi.h>
#include <proxenos/frame.h>
#include <proxenos/spinlock.h>

#define PV_MM_MAX_VCPUS   8        /* = MAX_VCPUS_PER_DOM (checked in mm_glue.c) */
#define PV_L4_XEN_FIRST   256      /* = HV_L4_FIRST */
#define PV_L4_XEN_LAST    271      /* = HV_L4_LAST */
#define PV_L4_XEN_SLOTS   (PV_L4_XEN_LAST - PV_L4_XEN_FIRST + 1)
#define PV_PT_ENTRIES     512

/* PTE bits beyond pagetable.h's (SDM vol. 3A, tables 4-15 to 4-20). */
#define PV_PTE_PAT        (1ULL << 7)           /* in an L1 entry */
#define PV_PTE_AVAIL      (7ULL << 9)           /* bits 9-11: the guest's */
#define PV_PTE_AVAIL_HIGH (0x7ffULL << 52)      /* bits 52-62: the guest's */
#define PV_PTE_GNTTAB     (1ULL << 62)          /* reserved for grant mappings */

struct domain;
struct pv_mm;

/*
 * What the PV runtime does for the validator. Every callback is called with
 * mm->lock held and must not call back into pv_*. `vcpu` is the calling
 * vCPU's index; vCPU masks have bit i for vCPU i.
 */
struct pv_mm_ops {
    /* The vCPU's kernel or user L4 changed (mm->vcpu[vcpu]): reload CR3 if
       it is running. Required. */
    void (*load_cr3)(struct pv_mm *mm, unsigned int vcpu);
    /* Flush the whole TLB of the vCPUs in the mask (MMUEXT_TLB_FLUSH_*,
       UVMF_TLB_FLUSH). Required. */
    void (*flush_tlb)(struct pv_mm *mm, unsigned int vcpu, uint64_t vcpu_mask);
    /* Flush one page (MMUEXT_INVLPG_*, UVMF_INVLPG); va is canonical and
       outside the hypervisor hole. Required. */
    void (*invlpg)(struct pv_mm *mm, unsigned int vcpu, uint64_t vcpu_mask, uint64_t va);
    /* A frame of the domain is about to change type: before the guest runs
       again, and before this returns for CPUs running it, no TLB may hold a
       translation made before the call (Xen's flush on type change, which
       keeps a stale writable TLB entry from reaching a new page table).
       Required. */
    void (*flush_stale)(struct pv_mm *mm);
    /* Copies the vCPU bitmap at guest address gva (MMUEXT_*_MULTI,
       UVMF_MULTI): 0 or -EFAULT. NULL: every *_MULTI request fails. */
    int (*read_vcpumask)(struct pv_mm *mm, unsigned int vcpu, uint64_t gva, uint64_t *mask);
    /* MMUEXT_SET_LDT changed mm->vcpu[vcpu].ldt_*: drop the old LDT
       mappings (their PGT_seg_desc_page references) and load the new one.
       Optional. */
    void (*set_ldt)(struct pv_mm *mm, unsigned int vcpu);
    /* Checks the 512 descriptors of a page about to become a GDT/LDT page
       (Xen's check_descriptor): 0 or -EINVAL. NULL: refused. */
    int (*check_segdesc_page)(struct pv_mm *mm, const uint64_t *descs);
    /* Whether a domain id names an existing domain (foreign domid checks:
       -EPERM for one that exists, -ESRCH otherwise). NULL: none exists. */
    bool (*domain_exists)(domid_t id);
    /* Whether mfn is I/O memory the domain may map (Xen's dom_io frames
       and iomem_access_permitted): outside the frame table, or a frame no
       allocator hands out (firmware, the first MiB, holes). Such mappings
       take no references, so the answer for a frame must never change.
       NULL: no I/O memory. */
    bool (*iomem_ok)(struct pv_mm *mm, mfn_t mfn);
};

/* Per-vCPU state, all [L]. A base pointer holds a general and an L4 type
   reference on its frame; 0 means none (frame 0 is never a domain's). */
struct pv_vcpu_mm {
    mfn_t kernel_l4;            /* MMUEXT_NEW_BASEPTR (Xen's guest_table) */
    mfn_t user_l4;              /* MMUEXT_NEW_USER_BASEPTR (guest_table_user) */
    uint64_t ldt_base;          /* MMUEXT_SET_LDT: page-aligned, 0 if none */
    unsigned int ldt_ents;      /* ... number of 8-byte descriptors, <= 8192 */
};

struct pv_mm_stats {            /* all [L]; for the debug keys and tests */
    uint64_t validations;       /* tables validated */
    uint64_t devalidations;     /* tables devalidated */
    uint64_t type_changes;      /* flush_stale calls */
    uint64_t refusals;          /* operations refused (see `why`) */
    uint64_t forced;            /* tables devalidated by force at teardown */
};

/*
 * One per PV domain. Tags: (c) set by pv_mm_init, read-only afterwards;
 * [L] guarded by `lock`.
 */
struct pv_mm {
    struct domain *d;                  /* (c) frames must be owned by it */
    domid_t domid;                     /* (c) */
    unsigned int nr_vcpus;             /* (c) <= PV_MM_MAX_VCPUS */
    const struct pv_mm_ops *ops;       /* (c) */
    uint64_t base_disallow;            /* (c) bits refused in L2-L4 entries */
    uint64_t l1_disallow;              /* (c) bits refused in L1 entries */
    spinlock_t lock;
    bool dying;                        /* [L] torn down: everything refused */
    struct pv_vcpu_mm vcpu[PV_MM_MAX_VCPUS]; /* [L] */
    const char *why;                   /* [L] the last refusal, a static string */
    struct pv_mm_stats stats;          /* [L] */
};

/* pv_mm_init flags */
#define PV_MM_NX  (1u << 0)   /* the CPU has NX (EFER.NXE set): guests may use bit 63 */
#define PV_MM_IO  (1u << 1)   /* I/O privileges: L1 entries may carry PAT/PCD/PWT */

/* ---- per-domain state (mm_domain.c) -------------------------------------- */

/* Prepares mm for domain d (id `domid`, nr_vcpus vCPUs): 0 or -EINVAL. */
int pv_mm_init(struct pv_mm *mm, struct domain *d, domid_t domid, unsigned int nr_vcpus,
               const struct pv_mm_ops *ops, unsigned int flags);

/*
 * Tears the domain's paging down once its vCPUs no longer run: drops every
 * vCPU's base pointers and LDT, unpins every pinned table, devalidates what
 * is left (by force if something still holds a type reference, as Xen's
 * relinquish_memory does), unshares the hypervisor frames it was given, and
 * drops the allocation reference of each of its frames (which frees those
 * nobody else references, through pv_frame_released). Frames are found by
 * scanning the frame table for owner == mm->d. Calls flush_stale first.
 * Returns the number of the domain's frames still referenced afterwards
 * (by other domains, grants in flight...): 0 when everything is released.
 */
uint64_t pv_mm_teardown(struct pv_mm *mm);

/* The guest gives a frame back (XENMEM_decrease_reservation): drops its
   allocation reference; the frame is freed when the last reference goes.
   The caller must flush the domain's TLBs before the frame can be reused
   (flush_stale). 0, or -EINVAL if not the domain's or already released. */
int pv_mm_release_frame(struct pv_mm *mm, mfn_t mfn);

/* Lets the domain map a hypervisor frame (PGC_xen_heap, no owner), as
   Xen's share_xen_page_with_guest: owner = d, the allocation reference, and
   a permanent writable (or none, if !writable) type reference, so the frame
   can never become a page table. For shared info and the like. 0, -EBUSY
   (owned or referenced) or -EINVAL (not a hypervisor frame). */
int pv_share_xen_frame(struct pv_mm *mm, mfn_t mfn, bool writable);
/* Takes it back once the guest no longer maps it: 0, or -EBUSY while
   mapped, -EINVAL if not shared with this domain. */
int pv_unshare_xen_frame(struct pv_mm *mm, mfn_t mfn);

/* GDT/LDT frames (for set_gdt and the LDT fault path of the runtime): a
   general and a PGT_seg_desc_page type reference, validated by
   ops->check_segdesc_page when the type is new. 0 or a negative errno. */
int pv_get_segdesc_page(struct pv_mm *mm, mfn_t mfn);
void pv_put_segdesc_page(struct pv_mm *mm, mfn_t mfn);

/* ---- the hypercalls, on hypervisor-side copies of the guest's arrays -------- */

/*
 * HYPERVISOR_mmu_update: processes reqs[0..count) in order and stops at the
 * first failure, whose error it returns; *done gets the number of requests
 * completed by this call (the glue adds them up across chunks and copies
 * the total to the guest's pdone). foreigndom as in xen.h: bits 15:0 the
 * data-page owner, bits 31:16 the page-table owner + 1; only the domain
 * itself is supported (other existing domains: -EPERM, unknown: -ESRCH).
 *   MMU_NORMAL_PT_UPDATE, MMU_PT_UPDATE_NO_TRANSLATE: ptr is the machine
 *     address of an entry of a validated page table of the domain; the new
 *     value is validated for its level, its references taken, then the old
 *     entry's dropped. Entries of ordinary (writable or untyped) frames are
 *     written as they are.
 *   MMU_PT_UPDATE_PRESERVE_AD: the same, keeping the A/D bits in memory.
 *   MMU_MACHPHYS_UPDATE: M2P[ptr >> 12] = val, for a frame of the domain.
 */
int pv_mmu_update(struct pv_mm *mm, unsigned int vcpu, const struct mmu_update *reqs,
                  unsigned int count, unsigned int *done, unsigned int foreigndom);

/*
 * HYPERVISOR_mmuext_op, same count/done/foreigndom semantics. PIN_L1..L4
 * (validate, type reference, PGT_pinned; pinned twice: -EINVAL), UNPIN
 * (-EINVAL if not pinned), NEW_BASEPTR / NEW_USER_BASEPTR (user 0: none),
 * TLB_FLUSH_* and INVLPG_* (callbacks), SET_LDT (bounds checked, then the
 * callback), CLEAR_PAGE / COPY_PAGE, FLUSH_CACHE(_GLOBAL) (refused without
 * I/O privileges), [UN]MARK_SUPER (-EOPNOTSUPP), others -ENOSYS.
 */
int pv_mmuext_op(struct pv_mm *mm, unsigned int vcpu, const struct mmuext_op *ops,
                 unsigned int count, unsigned int *done, unsigned int foreigndom);

/*
 * HYPERVISOR_update_va_mapping: walks the vCPU's kernel L4 to the L1 entry
 * of va (which must exist, in a validated L1 of the domain), updates it as
 * MMU_NORMAL_PT_UPDATE, then flushes as `flags` say: UVMF_NONE, UVMF_INVLPG
 * or UVMF_TLB_FLUSH, with UVMF_LOCAL, UVMF_ALL or a vCPU bitmap address
 * (UVMF_MULTI: flags & ~3). Nothing is flushed when the update fails.
 */
int pv_update_va_mapping(struct pv_mm *mm, unsigned int vcpu, uint64_t va, uint64_t val,
                         uint64_t flags);

/* ---- the machine-to-physical table (m2p.c) ----------------------------------- */

#define PV_M2P_INVALID    (~0UL)          /* Xen's INVALID_M2P_ENTRY */
#define PV_RO_MPT_START   0xffff800000000000ULL   /* xen-x86_64.h RO_MPT_VIRT_START */
#define PV_RO_MPT_END     0xffff804000000000ULL   /* ... MACH2PHYS_VIRT_END */

/* The table: one unsigned long per machine frame, [0, nr). Set once at boot
   (mm_glue.c; a test's array on the host); every entry starts invalid. */
void pv_m2p_init(unsigned long *table, uint64_t nr);
unsigned long pv_m2p_get(mfn_t mfn);            /* PV_M2P_INVALID beyond the table */
bool pv_m2p_set(mfn_t mfn, unsigned long pfn);  /* false beyond the table */
uint64_t pv_m2p_entries(void);

/*
 * Maps nr_frames frames from table_pa at PV_RO_MPT_START in the 4-level
 * tables rooted at l4 (idle_pg_table), read-only and user-accessible at
 * every level below the L4 entry (a PV kernel runs in ring 3), with 4 KiB
 * pages (no NX: the bit is reserved on CPUs without it).
 * alloc_table returns a zeroed table page or 0; map_table gives a pointer
 * to one. Missing intermediate tables are created; an existing L4 entry is
 * kept (its US bit is added in the guests' copies, pv_xen_l4_slots).
 * 0, -EINVAL (does not fit) or -ENOMEM (partially mapped).
 */
int pv_m2p_build_ro_map(uint64_t *l4, paddr_t table_pa, uint64_t nr_frames,
                        paddr_t (*alloc_table)(void), uint64_t *(*map_table)(paddr_t));

/* ---- multicall (multicall.c) ---------------------------------------------------- */

enum pv_mc_disp {
    PV_MC_CONTINUE,     /* go on with the next call */
    PV_MC_EXIT,         /* stop: the call changed the guest's context (iret) */
    PV_MC_PREEMPT,      /* stop, continue later (e.g. the guest left kernel mode) */
};

/* The guest-facing half of a multicall, supplied by the hypercall glue. */
struct pv_multicall_ops {
    /* Copies call i in: 0 or -EFAULT. */
    int (*fetch)(void *ctx, uint32_t i, struct multicall_entry *call);
    /* Copies call i's result field out: 0 or -EFAULT. */
    int (*store_result)(void *ctx, uint32_t i, const struct multicall_entry *call);
    /* Runs one call, setting call->result. If the call itself asked for a
       continuation it rewrites call->args, sets *preempted, and the whole
       entry is copied back with store_entry. */
    enum pv_mc_disp (*dispatch)(void *ctx, struct multicall_entry *call, bool *preempted);
    /* Copies a whole (continued) entry back: 0 or -EFAULT. */
    int (*store_entry)(void *ctx, uint32_t i, const struct multicall_entry *call);
    /* Pending work that should interrupt the batch (Xen's
       hypercall_preempt_check); NULL: never. */
    bool (*preempt_check)(void *ctx);
};

#define PV_MC_PREEMPTED  1   /* pv_multicall's "continue from *next" */

/*
 * Xen's do_multicall loop: every call runs whatever the previous ones
 * returned (each result goes to its entry); the batch stops only on a
 * copy fault (-EFAULT), after an iret-like call (returns that call's
 * result), or to be continued (returns PV_MC_PREEMPTED with *next the
 * first call not yet done: the glue re-issues multicall(list + *next,
 * nr - *next)). Otherwise returns 0 with *next = nr_calls.
 */
long pv_multicall(const struct pv_multicall_ops *ops, void *ctx, uint32_t nr_calls,
                  uint32_t *next);

/* ---- seams provided by the glue (mm_glue.c, or the test's fakes) -------------- */

/* Direct pointer to a frame's 4 KiB (the direct map). */
void *pv_map_frame(mfn_t mfn);
/* A frame's general count reached zero: nothing references it, not even
   its owner's allocation. mm_glue.c clears the owner, lowers the owner's
   tot_pages, invalidates the M2P entry and gives the frame back to the
   allocator (PV domains' frames must be allocated one by one, order 0:
   free_frames cannot split a block). Hypervisor frames only lose their
   owner. Stale TLB entries are the caller's to flush before reuse. */
void pv_frame_released(struct page_info *pg);

/* Boot-time setup (mm_glue.c): the linear counters, the M2P and its
   read-only mapping, pv_xen_l4_slots. Returns 0 or -ENOMEM. */
int pv_mm_boot_init(void);

/* ---- between the files of pv/ only ------------------------------------------- */

/* Signed per-frame counter of linear page-table references (Xen's
   linear_pt_count): > 0 linear entries this table holds, < 0 linear
   references to it. NULL: only self-referencing linear entries allowed. */
extern int16_t *pv_linear_pt_count;
/* What validation writes into L4 slots 256-271 of every guest L4. */
extern uint64_t pv_xen_l4_slots[PV_L4_XEN_SLOTS];

static inline mfn_t pv_pte_mfn(uint64_t e) { return (e & 0x000ffffffffff000ULL) >> PAGE_SHIFT; }
static inline unsigned int pv_type_level(uint64_t type_info)
{
    uint64_t t = type_info & PGT_type_mask;
    return t >= PGT_l1_page_table && t <= PGT_l4_page_table ? (unsigned int)(t >> PGT_type_shift) : 0;
}
static inline uint64_t pv_level_type(unsigned int level)
{
    return (uint64_t)level << PGT_type_shift;
}
/* Canonical and outside the hypervisor hole (Xen's __addr_ok). */
static inline bool pv_addr_ok(uint64_t va)
{
    bool canonical = (uint64_t)((int64_t)(va << 16) >> 16) == va;
    return canonical && !(va >= 0xffff800000000000ULL && va < 0xffff880000000000ULL);
}
static inline bool pv_guest_slot(unsigned int level, unsigned int slot)
{
    return level != 4 || slot < PV_L4_XEN_FIRST || slot > PV_L4_XEN_LAST;
}
static inline int pv_refuse(struct pv_mm *mm, int rc, const char *why)
{
    mm->why = why;
    mm->stats.refusals++;
    return rc;
}

/* page_type.c: references (see the rules above). pv_mm_bugs counts misuse
   a correct caller never causes (a reference dropped twice): the tests
   check it stays 0; the hypervisor's debug keys may print it. */
extern uint64_t pv_mm_bugs;
bool pv_get_page(struct page_info *pg, const struct domain *d);
void pv_put_page(struct page_info *pg);
int pv_get_page_type(struct pv_mm *mm, struct page_info *pg, uint64_t type);
void pv_put_page_type(struct pv_mm *mm, struct page_info *pg);
/* General then type reference on a frame of mm->d; -EINVAL if the frame is
   not the domain's, else get_page_type's error. */
int pv_get_page_and_type(struct pv_mm *mm, mfn_t mfn, uint64_t type);
void pv_put_page_and_type(struct pv_mm *mm, struct page_info *pg);
/* Linear reference of table `from` on same-level table `to`. */
int pv_get_linear(struct pv_mm *mm, uint64_t e, unsigned int level, mfn_t from);
void pv_put_linear(struct pv_mm *mm, struct page_info *to, mfn_t from);

/* pt_validate.c: entries and tables. */
int pv_check_entry(struct pv_mm *mm, unsigned int level, uint64_t e);
uint64_t pv_adjust_entry(unsigned int level, uint64_t e);
/* References of a present, checked entry of `table` (level `level`). */
int pv_get_entry_refs(struct pv_mm *mm, unsigned int level, mfn_t table, uint64_t e);
void pv_put_entry_refs(struct pv_mm *mm, unsigned int level, mfn_t table, uint64_t e);
int pv_validate_table(struct pv_mm *mm, struct page_info *pg, unsigned int level);
void pv_devalidate_table(struct pv_mm *mm, struct page_info *pg, unsigned int level);

/* mmu_update.c: replaces entry `slot` of the validated table `table`
   (level `level`, typed and referenced by the caller) with `val`. */
int pv_mod_entry(struct pv_mm *mm, mfn_t table, unsigned int level, unsigned int slot,
                 uint64_t val, bool preserve_ad);
/* foreigndom's data-page owner: 0 if the domain itself, else the error. */
int pv_check_foreign(const struct pv_mm *mm, unsigned int domid);

/* mmuext_op.c: base pointers, for teardown. */
void pv_drop_baseptrs(struct pv_mm *mm, unsigned int vcpu);

#endif
