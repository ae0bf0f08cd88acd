/*
 * Domain and vCPU lifetime: creation, RAM, shutdown, crash and teardown.
 * When the last domain ends, the machine ends with it (shutdown.h), so a
 * test guest's verdict becomes the emulator's exit status.
 */
#include <proxenos/domain.h>
#include <proxenos/frame.h>
#include <proxenos/hypercall.h>
#include <proxenos/layout.h>
#include <proxenos/lib.h>
#include <proxenos/mm.h>
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
    [CRASH_HYPERVISOR] = "hypervisor check", [CRASH_DEAD_HALT] = "halted forever",
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

/* Frees the domain's RAM block by block, as it was allocated. */
static void release_ram(struct domain *d)
{
    while (d->ram_blocks != PAGE_LIST_NULL && d->tot_pages) {
        mfn_t head = d->ram_blocks;
        struct page_info *hp = mfn_to_page(head);
        unsigned int order = hp->list.prev;

        d->ram_blocks = hp->list.next;
        for (uint64_t i = 0; i < (1ull << order); i++) {
            struct page_info *pg = mfn_to_page(head + i);
            pg->owner = NULL;
            pg->count_info &= ~(PGC_allocated | PGC_count_mask);
        }
        free_frames(head << PAGE_SHIFT, order);
        d->tot_pages -= 1ull << order;
    }
}

void domain_destroy(struct domain *d)
{
    if (!d)
        return;
    spin_lock(&domlist_lock);
    if (domain_table[d->domain_id] == d)
        domain_table[d->domain_id] = NULL;
    spin_unlock(&domlist_lock);
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
