/*
 * Domain and vCPU lifetime: creation, RAM, shutdown, crash and teardown.
 * When the last domain ends, the machine ends with it (shutdown.h), so a
 * test guest's verdict becomes the emulator's exit status.
 */
#include <proxenos/domain.h>
#include <proxenos/evtchn.h>
#include <proxenos/frame.h>
#include <proxenos/hypercall.h>
#include <proxenos/layout.h>
#include <proxenos/lib.h>
#include <proxenos/mm.h>
#include <proxenos/pirq.h>
#include <proxenos/printk.h>
#include <proxenos/sched.h>
#include <proxenos/shutdown.h>
#include <proxenos/vlapic.h>

struct domain *domain_table[MAX_DOMAINS];
static spinlock_t domlist_lock = SPINLOCK_INIT;

static const char *const shutdown_names[] = {
    [SHUTDOWN_poweroff] = "poweroff", [SHUTDOWN_reboot] = "reboot",
    [SHUTDOWN_suspend] = "suspend", [SHUTDOWN_crash] = "crash",
    [SHUTDOWN_watchdog] = "watchdog", [SHUTDOWN_soft_reset] = "soft_reset",
};

static const char *const crash_names[] = {
    [CRASH_NONE] = "none", [CRASH_GUEST_REQUEST] = "guest request",
    [CRASH_TRIPLE_FAULT] = "triple fault", [CRASH_BAD_STATE] = "invalid guest state",
    [CRASH_UNHANDLED_EXIT] = "unhandled exit", [CRASH_WATCHDOG] = "watchdog expired",
    [CRASH_HYPERVISOR] = "hypervisor check",
};

struct domain *domain_by_id(domid_t id)
{
    return id < MAX_DOMAINS ? domain_table[id] : NULL;
}

static struct vcpu *vcpu_create(struct domain *d, unsigned int id)
{
    struct vcpu *v = xzalloc(sizeof(*v));

    if (!v)
        return NULL;
    v->vcpu_id = id;
    v->domain = d;
    v->processor = sched_pick_cpu(id);
    v->hvm.hypercall_page_gfn = ~0ull;
    if (d->type != DOMTYPE_PV && (hvm_ops->vcpu_init(v) || vlapic_init(v))) {
        hvm_ops->vcpu_destroy(v);
        xfree(v);
        return NULL;
    }
    /* Until the guest registers its own, vcpu_info lives in shared info. */
    if (id < XEN_LEGACY_MAX_VCPUS)
        v->vcpu_info = &d->shared_info->vcpu_info[id];
    return v;
}

struct domain *domain_create(domid_t id, enum domain_type type, unsigned int max_vcpus,
                             const char *name)
{
    struct domain *d;

    if (id >= MAX_DOMAINS || domain_table[id] || !max_vcpus || max_vcpus > MAX_VCPUS_PER_DOM)
        return NULL;
    if (type != DOMTYPE_PV && !hvm_enabled()) {
        printk(LOG_ERR "d%u: cannot create an HVM/PVH domain: no hardware virtualization\n", id);
        return NULL;
    }
    d = xzalloc(sizeof(*d));
    if (!d)
        return NULL;
    d->domain_id = id;
    d->type = type;
    d->max_vcpus = max_vcpus;
    d->shared_info_gfn = ~0ull;
    d->ram_blocks = PAGE_LIST_NULL;
    strlcpy(d->name, name, sizeof(d->name));
    d->shared_info = alloc_pages(0);
    if (!d->shared_info)
        goto fail;
    memset(d->shared_info, 0, PAGE_SIZE);
    d->shared_info_maddr = __pa(d->shared_info);
    if (type != DOMTYPE_PV && p2m_init(&d->p2m, hvm_ops->p2m_format))
        goto fail;
    for (unsigned int i = 0; i < max_vcpus; i++)
        if (!(d->vcpu[i] = vcpu_create(d, i)))
            goto fail;
    if (evtchn_domain_init(d))
        goto fail;
    spin_lock(&domlist_lock);
    domain_table[id] = d;
    spin_unlock(&domlist_lock);
    return d;

fail:
    printk(LOG_ERR "d%u: out of memory while creating the domain\n", id);
    domain_destroy(d);
    return NULL;
}

/* Gives one block of fresh frames to the domain: owner, allocation ref,
   and a link in the domain's list of blocks, so teardown frees each block
   whole whatever the p2m later did to it (split, unmapped, moved). */
static void assign_frames(struct domain *d, paddr_t pa, unsigned int order)
{
    mfn_t head = pa >> PAGE_SHIFT;

    for (uint64_t i = 0; i < (1ull << order); i++) {
        struct page_info *pg = mfn_to_page(head + i);
        pg->owner = d;
        pg->count_info = (pg->count_info & ~PGC_count_mask) | PGC_allocated | 1;
    }
    mfn_to_page(head)->list.next = (uint32_t)d->ram_blocks;
    mfn_to_page(head)->list.prev = order;
    d->ram_blocks = head;
    memset(__va(pa), 0, PAGE_SIZE << order);
    d->tot_pages += 1ull << order;
}

/* Takes back the block assign_frames() just gave (the head of the list). */
static void unassign_block(struct domain *d, mfn_t head, unsigned int order)
{
    d->ram_blocks = mfn_to_page(head)->list.next;
    for (uint64_t i = 0; i < (1ull << order); i++) {
        mfn_to_page(head + i)->owner = NULL;
        mfn_to_page(head + i)->count_info &= ~(PGC_allocated | PGC_count_mask);
    }
    d->tot_pages -= 1ull << order;
}

int domain_populate_ram(struct domain *d, gfn_t gfn, uint64_t nr_pages)
{
    while (nr_pages) {
        unsigned int order = (!(gfn & 511) && nr_pages >= 512) ? 9 : 0;
        paddr_t pa = alloc_frames(order);

        if (!pa && order) {
            order = 0;                 /* fragmented: fall back to 4 KiB */
            pa = alloc_frames(0);
        }
        if (!pa)
            return -ENOMEM;
        assign_frames(d, pa, order);
        int rc = p2m_set_entry(&d->p2m, gfn, pa >> PAGE_SHIFT, order, p2m_ram_rw);
        if (rc) {
            unassign_block(d, pa >> PAGE_SHIFT, order);   /* the list's head */
            free_frames(pa, order);
            return rc;
        }
        gfn += 1ull << order;
        nr_pages -= 1ull << order;
    }
    if (d->tot_pages > d->max_pages)
        d->max_pages = d->tot_pages;
    return 0;
}

/* ---- frame references and ballooning ------------------------------------------------- */

static bool count_cas(struct page_info *pg, uint64_t *old, uint64_t new)
{
    return __atomic_compare_exchange_n(&pg->count_info, old, new, false, __ATOMIC_ACQ_REL,
                                       __ATOMIC_ACQUIRE);
}

/* The allocated buddy block holding mfn (domain RAM comes in orders 0 and 9). */
static bool block_of(mfn_t mfn, mfn_t *head, unsigned int *order)
{
    for (unsigned int o = 0; o <= 9; o++) {
        mfn_t h = mfn & ~((1ull << o) - 1);
        uint64_t c = mfn_to_page(h)->count_info;

        if ((c & PGC_head) && pgc_order(c) == o && pgc_state(c) == PGC_state_inuse) {
            *head = h;
            *order = o;
            return true;
        }
    }
    return false;
}

/* d->lock held: is every frame of the block d's and released, unreferenced? */
static bool block_unused(struct domain *d, mfn_t head, unsigned int order)
{
    for (uint64_t i = 0; i < (1ull << order); i++) {
        const struct page_info *pg = mfn_to_page(head + i);
        if (pg->owner != d || (pg->count_info & (PGC_allocated | PGC_count_mask)))
            return false;
    }
    return true;
}

/* d->lock held: takes the block off the domain's list (false if not on it). */
static bool unlink_block(struct domain *d, mfn_t head)
{
    mfn_t prev = PAGE_LIST_NULL;

    for (mfn_t b = d->ram_blocks; b != PAGE_LIST_NULL; prev = b, b = mfn_to_page(b)->list.next) {
        if (b != head)
            continue;
        if (prev == PAGE_LIST_NULL)
            d->ram_blocks = mfn_to_page(b)->list.next;
        else
            mfn_to_page(prev)->list.next = mfn_to_page(b)->list.next;
        return true;
    }
    return false;
}

/* The last reference of a frame the domain gave back went: its block
   returns to the allocator when all of its frames have. */
static void frame_released(struct page_info *pg)
{
    struct domain *d = __atomic_load_n(&pg->owner, __ATOMIC_ACQUIRE);
    mfn_t head;
    unsigned int order;
    bool free = false;

    if (!d)
        return;                        /* orphaned at its domain's teardown: leaked */
    spin_lock(&d->lock);
    if (block_of(page_to_mfn(pg), &head, &order) && block_unused(d, head, order) &&
        unlink_block(d, head)) {
        for (uint64_t i = 0; i < (1ull << order); i++)
            mfn_to_page(head + i)->owner = NULL;
        free = true;
    }
    spin_unlock(&d->lock);
    if (free)
        free_frames(head << PAGE_SHIFT, order);
}

bool domain_get_frame(struct domain *d, mfn_t mfn)
{
    struct page_info *pg;
    uint64_t x;

    if (!mfn_valid(mfn))
        return false;
    pg = mfn_to_page(mfn);
    x = __atomic_load_n(&pg->count_info, __ATOMIC_ACQUIRE);
    do {
        /* Only a frame still allocated; the top count is never reached. */
        if (!(x & PGC_allocated) || (x & PGC_count_mask) >= PGC_count_mask - 1)
            return false;
    } while (!count_cas(pg, &x, x + 1));
    if (__atomic_load_n(&pg->owner, __ATOMIC_ACQUIRE) != d) {
        domain_put_frame(mfn);
        return false;
    }
    return true;
}

void domain_put_frame(mfn_t mfn)
{
    struct page_info *pg;
    uint64_t x;

    if (!mfn_valid(mfn))
        return;
    pg = mfn_to_page(mfn);
    x = __atomic_load_n(&pg->count_info, __ATOMIC_ACQUIRE);
    do {
        if (!(x & PGC_count_mask)) {
            printk(LOG_ERR "mfn %#lx: reference dropped twice\n", mfn);
            return;
        }
    } while (!count_cas(pg, &x, x - 1));
    if (!((x - 1) & (PGC_allocated | PGC_count_mask)))
        frame_released(pg);
}

/* The hypervisor writes a vCPU's registered vcpu_info without holding a
   reference on its frame (vcpu_op.c): such a frame is not given back. */
static bool frame_has_vcpu_info(struct domain *d, mfn_t mfn)
{
    for (unsigned int i = 0; i < d->max_vcpus; i++)
        if (d->vcpu[i] && d->vcpu[i]->vcpu_info_maddr &&
            d->vcpu[i]->vcpu_info_maddr >> PAGE_SHIFT == mfn)
            return true;
    return false;
}

int domain_release_gfn(struct domain *d, gfn_t gfn)
{
    struct page_info *pg = NULL;
    enum p2m_type t;
    mfn_t mfn;
    uint64_t x;
    int rc = 0;

    spin_lock(&d->lock);
    t = p2m_lookup(&d->p2m, gfn, &mfn);
    if (t == p2m_invalid)
        rc = -ENOENT;
    else if (!p2m_is_ram(t) || !mfn_valid(mfn) || (pg = mfn_to_page(mfn))->owner != d ||
             !(pg->count_info & PGC_allocated))
        rc = -ENXIO;
    else if (frame_has_vcpu_info(d, mfn))
        rc = -EBUSY;
    else
        rc = p2m_remove(&d->p2m, gfn, 0);
    if (!rc) {
        x = __atomic_load_n(&pg->count_info, __ATOMIC_ACQUIRE);
        while (!count_cas(pg, &x, x & ~PGC_allocated))
            ;
        d->tot_pages--;
        for (unsigned int i = 0; i < d->max_vcpus; i++)
            if (d->vcpu[i])
                d->vcpu[i]->needs_flush = true;
    }
    spin_unlock(&d->lock);
    if (!rc)
        domain_put_frame(mfn);         /* the allocation's own count */
    return rc;
}

/* Frees the domain's RAM block by block, as it was allocated. A block with
   a frame still referenced (another domain's grant mapping) is left
   allocated, without owner, rather than freed under the mapping. */
static void release_ram(struct domain *d)
{
    uint64_t leaked = 0;

    while (d->ram_blocks != PAGE_LIST_NULL) {
        mfn_t head = d->ram_blocks;
        unsigned int order = mfn_to_page(head)->list.prev;
        bool busy = false;

        d->ram_blocks = mfn_to_page(head)->list.next;
        for (uint64_t i = 0; i < (1ull << order); i++) {
            uint64_t c = mfn_to_page(head + i)->count_info;
            if (c & PGC_allocated)
                d->tot_pages--;
            if ((c & PGC_count_mask) > !!(c & PGC_allocated))
                busy = true;
        }
        for (uint64_t i = 0; i < (1ull << order); i++) {
            struct page_info *pg = mfn_to_page(head + i);
            pg->owner = NULL;
            pg->count_info &= busy ? ~PGC_allocated : ~(PGC_allocated | PGC_count_mask);
        }
        if (busy)
            leaked += 1ull << order;
        else
            free_frames(head << PAGE_SHIFT, order);
    }
    if (leaked)
        printk(LOG_WARN "d%u: %lu pages still mapped elsewhere are not freed\n",
               d->domain_id, leaked);
}

void domain_destroy(struct domain *d)
{
    if (!d)
        return;
    spin_lock(&domlist_lock);
    if (domain_table[d->domain_id] == d)
        domain_table[d->domain_id] = NULL;
    spin_unlock(&domlist_lock);
    pirq_domain_release(d);            /* no interrupt raises a port any more */
    evtchn_domain_destroy(d);          /* before the vCPUs its ports name */
    for (unsigned int i = 0; i < d->max_vcpus; i++) {
        struct vcpu *v = d->vcpu[i];
        if (!v)
            continue;
        sched_remove_vcpu(v);
        if (d->type != DOMTYPE_PV) {
            vlapic_destroy(v);
            hvm_ops->vcpu_destroy(v);
        }
        xfree(v);
    }
    domain_xen_teardown(d);
    if (d->p2m.root)
        p2m_teardown(&d->p2m);
    release_ram(d);
    if (d->shared_info)
        free_pages(d->shared_info, 0);
    if (d->tot_pages)
        printk(LOG_WARN "d%u: %lu pages not returned at teardown\n", d->domain_id, d->tot_pages);
    xfree(d);
}

static bool any_domain_alive(void)
{
    for (unsigned int i = 0; i < MAX_DOMAINS; i++)
        if (domain_table[i] && !domain_table[i]->is_shutting_down)
            return true;
    return false;
}

void domain_shutdown(struct domain *d, unsigned int reason)
{
    const char *why = reason < ARRAY_SIZE(shutdown_names) && shutdown_names[reason]
                      ? shutdown_names[reason] : "unknown";

    if (__atomic_exchange_n(&d->is_shutting_down, true, __ATOMIC_SEQ_CST))
        return;                        /* already going down */
    /* A code set with SCHEDOP_shutdown_code wins, even over a crash (Xen). */
    if (d->shutdown_code_set)
        reason = d->shutdown_code_req;
    why = reason < ARRAY_SIZE(shutdown_names) && shutdown_names[reason] ? shutdown_names[reason] : "unknown";
    d->shutdown_code = reason;
    domain_console_flush(d);
    printk("d%u: shut down: %s%s%s\n", d->domain_id, why,
           d->crash_cause ? ", " : "", d->crash_cause ? crash_names[d->crash_cause] : "");
    domain_print_counters(d);
    for (unsigned int i = 0; i < d->max_vcpus; i++)
        if (d->vcpu[i])
            d->vcpu[i]->is_up = false;
    if (d->watchdog_timeout)
        stop_timer(&d->watchdog);
    if (any_domain_alive())
        return;
    printk("Proxenos: the last domain has ended (d%u: %s)\n", d->domain_id, why);
    if (reason == SHUTDOWN_poweroff)
        machine_exit(EXIT_POWEROFF);
    if (reason == SHUTDOWN_reboot)
        machine_restart();
    machine_exit(EXIT_FAIL);
}

void domain_crash(struct domain *d, enum crash_cause cause, const char *fmt, ...)
{
    char msg[160];
    va_list ap;
    struct vcpu *v = current_vcpu();

    if (d->is_shutting_down)
        return;
    va_start(ap, fmt);
    px_vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    d->crash_cause = cause;
    printk(LOG_ERR "d%u crashed: %s: %s\n", d->domain_id, crash_names[cause], msg);
    if (v && v->domain == d)
        vcpu_dump(v);
    domain_shutdown(d, cause == CRASH_WATCHDOG ? SHUTDOWN_watchdog : SHUTDOWN_crash);
}

void domain_unpause(struct domain *d)
{
    struct vcpu *v = d->vcpu[0];

    v->is_up = true;
    sched_add_vcpu(v);
}
