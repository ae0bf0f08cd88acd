/*
 * The FIFO event channel ABI (xen/include/public/event_channel.h, "FIFO
 * event channels"), after Xen 4.17's xen/common/event_fifo.c.
 *
 * Guest memory: one 32-bit event word per port, in event array pages the
 * guest adds with EVTCHNOP_expand_array (1024 words a page); per vCPU a
 * control block (EVTCHNOP_init_control) with a READY bit and a HEAD port per
 * priority queue. Event words chain the queue: LINKED and a 17-bit LINK to
 * the next port. The hypervisor keeps each queue's TAIL to itself.
 *
 * Raising a port (set_pending): set PENDING; if the word is not MASKED and
 * was not LINKED, set LINKED and append the port: write LINK into the tail's
 * word if the tail is still LINKED (the guest has not consumed it), else
 * make the port the queue's HEAD; then set the queue's READY bit and, if it
 * was clear, mark the upcall pending.
 *
 * What the guest may do to a LINKED word at any moment: set or clear MASKED,
 * clear PENDING, clear LINKED and LINK (consuming it). Writing the tail's
 * LINK is therefore a cmpxchg: after a first failure the word is marked
 * BUSY, which a well-behaved guest honours by not unmasking it, leaving at
 * most four legitimate changes; a guest that makes the cmpxchg fail more
 * often is broken, and the event is given up (Xen does the same). The
 * hypervisor never follows LINK fields, so loops a hostile guest builds in
 * its queues cost it its own events, never the hypervisor's time.
 *
 * The guest pages are reached through the hypervisor's direct map of the
 * frames behind them, checked to be the domain's writable RAM when they are
 * given, and referenced (domain_get_frame) while mapped, so that a guest
 * giving the page back (ballooning) cannot have it freed under the mapping,
 * as Xen's get_page_and_type. Everything here runs under the domain's
 * event lock, but for evtchn_fifo_put_frames().
 */
#include <proxenos/evtchn_private.h>
#include <proxenos/evtchn.h>
#include <proxenos/guest_access.h>
#include <proxenos/lib.h>
#include <proxenos/printk.h>

#define W_PENDING (1u << EVTCHN_FIFO_PENDING)
#define W_MASKED  (1u << EVTCHN_FIFO_MASKED)
#define W_LINKED  (1u << EVTCHN_FIFO_LINKED)
#define W_BUSY    (1u << EVTCHN_FIFO_BUSY)

BUILD_BUG_ON(EVTCHN_FIFO_MAX_PAGES != 128);

event_word_t *evtchn_fifo_word(struct evtchn_domain *ed, uint32_t port)
{
    if (port >= ed->fifo_words)
        return NULL;
    port = (uint32_t)evtchn_index_nospec(port, ed->fifo_words);
    return ed->event_array[port / EVTCHN_FIFO_PAGE_WORDS] + port % EVTCHN_FIFO_PAGE_WORDS;
}

/* Replaces the LINK of *word by `link` if it is still LINKED: 1 done, 0 not
   linked (the guest consumed it), -1 changed under us (*w reloaded). */
static int try_set_link(event_word_t *word, event_word_t *w, uint32_t link)
{
    event_word_t new;

    if (!(*w & W_LINKED))
        return 0;
    new = (*w & ~(W_BUSY | EVTCHN_FIFO_LINK_MASK)) | link;
    return __atomic_compare_exchange_n(word, w, new, false, __ATOMIC_SEQ_CST,
                                       __ATOMIC_SEQ_CST) ? 1 : -1;
}

/* Links `link` after the tail word: true if done, false if the tail was no
   longer linked (the queue is empty and `link` becomes its head). */
static bool set_link(struct evtchn_domain *ed, event_word_t *word, uint32_t link)
{
    event_word_t w = __atomic_load_n(word, __ATOMIC_SEQ_CST);
    int rc = try_set_link(word, &w, link);

    if (rc >= 0)
        return rc;
    /* BUSY keeps a well-behaved guest from unmasking the word meanwhile. */
    guest_set_bit32(word, EVTCHN_FIFO_BUSY);
    w = __atomic_load_n(word, __ATOMIC_SEQ_CST);
    for (unsigned int i = 0; i < EVTCHN_FIFO_LINK_TRIES; i++) {
        rc = try_set_link(word, &w, link);
        if (rc == 0)
            guest_clear_bit32(word, EVTCHN_FIFO_BUSY);
        if (rc >= 0)
            return rc;
    }
    if (ed->fifo_lost++ < EVTCHN_FIFO_LOST_LOGGED)   /* a guest could flood the log */
        printk(LOG_WARN "d%u: FIFO event word keeps changing under the hypervisor: "
               "port %u lost (%u so far)\n", ed->domain->domain_id, link, ed->fifo_lost);
    guest_clear_bit32(word, EVTCHN_FIFO_BUSY);
    return true;                       /* the guest broke its queue: give up */
}

/* Appends port to queue q (its word is LINKED already): false if the queue
   was empty, so that the caller raises READY. */
static bool queue_append(struct evtchn_domain *ed, struct evtchn_fifo_queue *q, uint32_t port)
{
    bool linked = false;

    /* A tail equal to port would link the word to itself: treat as empty. */
    if (q->tail && q->tail != port) {
        event_word_t *tail_word = evtchn_fifo_word(ed, q->tail);
        if (tail_word)
            linked = set_link(ed, tail_word, port);
    }
    if (!linked)
        __atomic_store_n(q->head, port, __ATOMIC_SEQ_CST);
    q->tail = port;
    return linked;
}

static void evtchn_fifo_set_pending(struct evtchn_domain *ed, struct vcpu *v, struct evtchn *chn)
{
    uint32_t port = chn->port;
    event_word_t *word = evtchn_fifo_word(ed, port);
    struct evtchn_vcpu *ev = &ed->vcpu[v->vcpu_id];
    struct evtchn_fifo_queue *q = &ev->queue[chn->priority];
    struct evtchn_fifo_queue *old_q = &ed->vcpu[chn->last_vcpu].queue[chn->last_priority];
    bool was_pending, linked = true;

    if (!word) {                       /* no event array page yet: remembered */
        chn->fifo_pending = true;
        return;
    }
    was_pending = guest_test_and_set_bit32(word, EVTCHN_FIFO_PENDING);
    /* Without a control block the guest may not unmask anything yet, so the
       event can stay pending unlinked (Xen). */
    if (ev->control_block && !guest_test_bit32(word, EVTCHN_FIFO_MASKED) &&
        !guest_test_and_set_bit32(word, EVTCHN_FIFO_LINKED)) {
        /* Its last queue may still end with it: that queue is empty now. */
        if (old_q->tail == port)
            old_q->tail = 0;
        chn->last_vcpu = (uint16_t)v->vcpu_id;
        chn->last_priority = chn->priority;
        linked = queue_append(ed, q, port);
    }
    if (!linked && !guest_test_and_set_bit32(&ev->control_block->ready, chn->priority))
        vcpu_mark_events_pending(v);
    if (!was_pending)
        evtchn_check_pollers(ed, port);
}

static void evtchn_fifo_clear_pending(struct evtchn_domain *ed, struct evtchn *chn)
{
    event_word_t *word = evtchn_fifo_word(ed, chn->port);

    /* Only PENDING: the guest unlinks and skips events no longer pending. */
    if (word)
        guest_clear_bit32(word, EVTCHN_FIFO_PENDING);
}

/* EVTCHNOP_unmask: Linux calls it when it finds the word PENDING or BUSY
   while unmasking; the event is linked now if it is pending. */
static void evtchn_fifo_unmask(struct evtchn_domain *ed, struct evtchn *chn)
{
    event_word_t *word = evtchn_fifo_word(ed, chn->port);
    struct vcpu *v = evtchn_vcpu_of(ed->domain, chn->notify_vcpu);

    if (!word || !v)
        return;
    guest_clear_bit32(word, EVTCHN_FIFO_MASKED);
    if (guest_test_bit32(word, EVTCHN_FIFO_PENDING))
        evtchn_fifo_set_pending(ed, v, chn);
}

static bool evtchn_fifo_is_pending(struct evtchn_domain *ed, const struct evtchn *chn)
{
    event_word_t *word = evtchn_fifo_word(ed, chn->port);

    return word && guest_test_bit32(word, EVTCHN_FIFO_PENDING);
}

static bool evtchn_fifo_is_busy(struct evtchn_domain *ed, const struct evtchn *chn)
{
    event_word_t *word = evtchn_fifo_word(ed, chn->port);

    return word && guest_test_bit32(word, EVTCHN_FIFO_LINKED);
}

/* Future raises use the new queue; an event linked already stays where it is. */
static int evtchn_fifo_set_priority(struct evtchn_domain *ed, struct evtchn *chn, uint32_t prio)
{
    if (prio > EVTCHN_FIFO_PRIORITY_MIN)
        return -EINVAL;
    chn->priority = (uint8_t)prio;
    return 0;
}

const struct evtchn_port_ops evtchn_ops_fifo = {
    .name = "FIFO",
    .max_ports = EVTCHN_FIFO_NR_CHANNELS,
    .set_pending = evtchn_fifo_set_pending,
    .clear_pending = evtchn_fifo_clear_pending,
    .unmask = evtchn_fifo_unmask,
    .is_pending = evtchn_fifo_is_pending,
    .is_busy = evtchn_fifo_is_busy,
    .set_priority = evtchn_fifo_set_priority,
};

/* ---- setting up ------------------------------------------------------------------- */

/* A guest frame the hypervisor may keep a pointer into: the domain's
   writable RAM only (not its special pages, MMIO or grant mappings), with a
   reference held on it. */
static void *map_guest_page(struct domain *d, uint64_t gfn, mfn_t *mfn)
{
    void *va;

    if (p2m_lookup(&d->p2m, gfn, mfn) != p2m_ram_rw)
        return NULL;
    va = gfn_to_virt(d, gfn, mfn);
    return va && domain_get_frame(d, *mfn) ? va : NULL;
}

/* Switching from 2-level: bound ports keep what was pending (raised when
   their event word appears) and start at the default priority (Xen). */
static void setup_ports(struct evtchn_domain *ed)
{
    for (uint32_t port = 1; port < EVTCHN_2L_PORTS && evtchn_port_valid(ed, port); port++) {
        struct evtchn *chn = evtchn_from_port(ed, port);

        if (evtchn_ops_2l.is_pending(ed, chn))
            chn->fifo_pending = true;
        chn->priority = EVTCHN_FIFO_PRIORITY_DEFAULT;
    }
}

int evtchn_fifo_init_control(struct evtchn_domain *ed, struct evtchn_init_control *ic)
{
    struct evtchn_fifo_control_block *cb;
    struct evtchn_vcpu *ev;
    uint32_t offset = ic->offset;
    uint8_t *page;

    ic->link_bits = EVTCHN_FIFO_LINK_BITS;
    if (!evtchn_vcpu_of(ed->domain, ic->vcpu))
        return -ENOENT;
    ev = &ed->vcpu[evtchn_index_nospec(ic->vcpu, MAX_VCPUS_PER_DOM)];
    /* Within one page, and 8-byte aligned. */
    if (offset > PAGE_SIZE - sizeof(*cb))
        return -EINVAL;
    offset = (uint32_t)evtchn_index_nospec(offset, PAGE_SIZE - sizeof(*cb) + 1);
    if (offset & 7)
        return -EINVAL;
    if (ev->control_block)
        return -EINVAL;                /* once per vCPU until a reset */
    page = map_guest_page(ed->domain, ic->control_gfn, &ev->control_mfn);
    if (!page)
        return -EINVAL;
    if (ed->ops != &evtchn_ops_fifo) {
        setup_ports(ed);
        ed->ops = &evtchn_ops_fifo;
    }
    cb = (struct evtchn_fifo_control_block *)(page + offset);
    for (unsigned int i = 0; i < EVTCHN_FIFO_MAX_QUEUES; i++) {
        ev->queue[i].head = &cb->head[i];
        ev->queue[i].tail = 0;
    }
    ev->control_block = cb;
    return 0;
}

int evtchn_fifo_expand_array(struct evtchn_domain *ed, uint64_t gfn)
{
    uint32_t first = ed->fifo_words, slot = first / EVTCHN_FIFO_PAGE_WORDS;
    event_word_t *page;

    if (ed->ops != &evtchn_ops_fifo)
        return -EOPNOTSUPP;
    if (slot >= EVTCHN_FIFO_MAX_PAGES)
        return -ENOSPC;
    page = map_guest_page(ed->domain, gfn, &ed->event_array_mfn[slot]);
    if (!page)
        return -EINVAL;
    ed->event_array[slot] = page;
    ed->fifo_words += EVTCHN_FIFO_PAGE_WORDS;
    /* Raise what was raised while these ports had no event word. */
    for (uint32_t port = first; port < ed->fifo_words && evtchn_port_valid(ed, port); port++) {
        struct evtchn *chn = evtchn_from_port(ed, port);

        if (chn->fifo_pending) {
            chn->fifo_pending = false;
            evtchn_set_pending(ed, chn);
        }
    }
    return 0;
}

void evtchn_fifo_destroy(struct evtchn_domain *ed, struct evtchn_fifo_frames *out)
{
    out->nr = 0;
    for (unsigned int i = 0; i < MAX_VCPUS_PER_DOM; i++) {
        if (ed->vcpu[i].control_block)
            out->mfn[out->nr++] = ed->vcpu[i].control_mfn;
        ed->vcpu[i].control_block = NULL;
        memset(ed->vcpu[i].queue, 0, sizeof(ed->vcpu[i].queue));
    }
    for (uint32_t slot = 0; slot < ed->fifo_words / EVTCHN_FIFO_PAGE_WORDS; slot++)
        out->mfn[out->nr++] = ed->event_array_mfn[slot];
    memset(ed->event_array, 0, sizeof(ed->event_array));
    ed->fifo_words = 0;
    ed->ops = &evtchn_ops_2l;
}

void evtchn_fifo_put_frames(const struct evtchn_fifo_frames *f)
{
    for (unsigned int i = 0; i < f->nr; i++)
        domain_put_frame(f->mfn[i]);
}
