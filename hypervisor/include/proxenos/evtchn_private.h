/*
 * Event channels inside: the port table, the per-vCPU state and the two
 * ABIs' port operations, shared by hypervisor/common/event_channel.c (ports
 * and EVTCHNOP_*), event_2l.c (shared_info bitmaps) and event_fifo.c (event
 * words, control blocks and queues). Nothing outside those files (and their
 * host unit tests) includes this header; the rest of the hypervisor uses
 * evtchn.h.
 *
 * Field tags, as in domain.h:
 *   (c) set once when the domain's event state is created, read-only after
 *   [E] guarded by the domain's event lock, evtchn_domain.lock
 *   [G] guarded by evtchn_global_lock
 *
 * Locking rules:
 *   - A domain's event lock guards its whole event state and is taken with
 *     interrupts off: timer callbacks raise VIRQs (send_guest_vcpu_virq) in
 *     interrupt context, possibly on a CPU that holds the lock in a hypercall.
 *   - Whoever needs the locks of two domains (interdomain bind, close and
 *     send, domain teardown) takes evtchn_global_lock first, then the two
 *     domain locks in any order. Holders of a single domain lock never wait
 *     for a second one, so there is no cycle.
 *   - Guest memory (shared_info bitmaps, vcpu_info, FIFO event words and
 *     control blocks) is changed by the guest at any time, locks or not:
 *     only atomic operations touch it, and a cmpxchg loop on it is bounded.
 */
#ifndef PROXENOS_EVTCHN_PRIVATE_H
#define PROXENOS_EVTCHN_PRIVATE_H
#include <proxenos/xen_abi.h>
#include <proxenos/types.h>
#include <proxenos/spinlock.h>
#include <proxenos/platform.h>
#include <proxenos/domain.h>
#include <xen/event_channel.h>

/* ---- limits ------------------------------------------------------------------ */

/* Xen's NR_VIRQS (not in the public headers): VIRQ_TIMER .. VIRQ_ARCH_7. */
#define EVTCHN_NR_VIRQS        24
/* 2-level ABI: 64 selector bits x 64 bits per word, for 64-bit guests
   (EVTCHN_2L_NR_CHANNELS). 32-bit shared_info layouts are not supported. */
#define EVTCHN_2L_PORTS        4096u
#define EVTCHN_2L_WORD_BITS    64u
/* The port table grows in buckets of this many ports, up to the FIFO limit. */
#define EVTCHN_BUCKET_PORTS    128u
#define EVTCHN_MAX_BUCKETS     (EVTCHN_FIFO_NR_CHANNELS / EVTCHN_BUCKET_PORTS)
/* FIFO: 1024 event words per page of the event array, 128 pages at most. */
#define EVTCHN_FIFO_PAGE_WORDS (PAGE_SIZE / sizeof(event_word_t))
#define EVTCHN_FIFO_MAX_PAGES  (EVTCHN_FIFO_NR_CHANNELS / EVTCHN_FIFO_PAGE_WORDS)
/* PIRQs a domain may bind (Xen: d->nr_pirqs, from the machine's IRQs). */
#define EVTCHN_NR_PIRQS        256u
/* SCHEDOP_poll: at most this many ports per call (Xen's "fairly arbitrary
   limit"). */
#define EVTCHN_POLL_MAX_PORTS  128u
/* FIFO: cmpxchg attempts on a guest's event word before the guest is
   treated as broken (Xen's evtchn_fifo_set_link). */
#define EVTCHN_FIFO_LINK_TRIES 4
/* ... and how many such lost events are logged per domain. */
#define EVTCHN_FIFO_LOST_LOGGED 8

/* Internal "try again with more locks" (never returned to a guest). */
#define EVTCHN_RETRY           XEN_EAGAIN
/* Xen's continuation of EVTCHNOP_reset; its public header shows it to Xen
   only, but any guest may issue it. */
#define EVTCHNOP_RESET_CONT    14

/* ---- ports --------------------------------------------------------------------- */

enum evtchn_state {
    ECS_FREE = 0,
    ECS_RESERVED,          /* port 0: never bound (Xen) */
    ECS_UNBOUND,           /* waiting for u.remote_domid to bind_interdomain */
    ECS_INTERDOMAIN,
    ECS_PIRQ,
    ECS_VIRQ,
    ECS_IPI,
};

struct evtchn {
    uint32_t port;                   /* (c) its own number */
    uint8_t state;                   /* [E] enum evtchn_state */
    uint8_t priority;                /* [E] FIFO queue 0 (highest) .. 15 */
    uint16_t notify_vcpu;            /* [E] vCPU id raised on; always valid */
    bool fifo_pending;               /* [E] raised while no event word existed */
    uint8_t last_priority;           /* [E] FIFO: queue it was last linked on ... */
    uint16_t last_vcpu;              /* [E] ... of this vCPU */
    union {
        domid_t remote_domid;        /* ECS_UNBOUND: the domain that may bind */
        struct {
            struct domain *dom;      /* valid while bound: closing either end
                                        or destroying either domain unbinds */
            uint32_t port;
        } interdomain;
        uint32_t virq;
        uint32_t pirq;
    } u;                             /* [E] */
};

/* ---- per vCPU ------------------------------------------------------------------- */

struct evtchn_fifo_queue {
    uint32_t *head;                  /* [E] in the guest's control block */
    uint32_t tail;                   /* [E] last port linked, 0 if none */
};

struct evtchn_vcpu {
    uint32_t virq_port[EVTCHN_NR_VIRQS];   /* [E] 0: VIRQ not bound here */
    /* FIFO: hypervisor mapping of the guest's control block, NULL before
       EVTCHNOP_init_control for this vCPU. */
    struct evtchn_fifo_control_block *control_block;          /* [E] */
    mfn_t control_mfn;               /* [E] its frame, referenced while mapped */
    struct evtchn_fifo_queue queue[EVTCHN_FIFO_MAX_QUEUES];   /* [E] */
    /* SCHEDOP_poll: -1 any port, 0 not polling, else the one port polled. */
    int64_t poll_port;               /* [E] */
    struct timer poll_timer;         /* [E] its timeout; runs on v->processor */
};

/* ---- per domain ---------------------------------------------------------------- */

struct evtchn_domain;

/* What differs between the 2-level and the FIFO ABI (Xen's evtchn_port_ops). */
struct evtchn_port_ops {
    const char *name;
    uint32_t max_ports;
    /* Raises chn on vCPU v: pending, then queued/selected and the upcall. */
    void (*set_pending)(struct evtchn_domain *ed, struct vcpu *v, struct evtchn *chn);
    void (*clear_pending)(struct evtchn_domain *ed, struct evtchn *chn);
    /* EVTCHNOP_unmask: unmask and re-raise if pending. */
    void (*unmask)(struct evtchn_domain *ed, struct evtchn *chn);
    bool (*is_pending)(struct evtchn_domain *ed, const struct evtchn *chn);
    /* Still on a guest queue: the port may not be reused yet. */
    bool (*is_busy)(struct evtchn_domain *ed, const struct evtchn *chn);
    /* NULL: EVTCHNOP_set_priority is -ENOSYS. */
    int (*set_priority)(struct evtchn_domain *ed, struct evtchn *chn, uint32_t prio);
};

struct evtchn_domain {
    struct domain *domain;           /* (c) */
    spinlock_t lock;                 /* the event lock */
    const struct evtchn_port_ops *ops;     /* [E] 2-level until init_control */
    uint32_t valid_ports;            /* [E] ports with a bucket: multiple of
                                        EVTCHN_BUCKET_PORTS, never shrinks */
    uint32_t free_hint;              /* [E] no free port below this one (free
                                        ports still on a FIFO queue count) */
    struct evtchn *bucket[EVTCHN_MAX_BUCKETS];   /* [E] allocated on demand */
    uint32_t pirq_port[EVTCHN_NR_PIRQS];          /* [E] 0: PIRQ not bound */
    uint32_t poll_mask;              /* [E] bit i: vCPU i is in SCHEDOP_poll */
    /* FIFO ABI: event array pages mapped by EVTCHNOP_expand_array. */
    uint32_t fifo_words;             /* [E] event words mapped (pages * 1024) */
    uint32_t fifo_lost;              /* [E] events given up on a broken queue */
    event_word_t *event_array[EVTCHN_FIFO_MAX_PAGES];   /* [E] */
    mfn_t event_array_mfn[EVTCHN_FIFO_MAX_PAGES];       /* [E] referenced frames */
    struct evtchn_vcpu vcpu[MAX_VCPUS_PER_DOM];         /* [E] by vCPU id */
};
BUILD_BUG_ON(MAX_VCPUS_PER_DOM > 32);      /* poll_mask */

extern spinlock_t evtchn_global_lock;
extern const struct evtchn_port_ops evtchn_ops_2l;
extern const struct evtchn_port_ops evtchn_ops_fifo;

/* ---- helpers shared by the three files -------------------------------------------- */

/* idx if idx < size, else 0, also under speculation (Xen's
   array_index_nospec): CMP sets CF for idx < size, SBB turns it into a mask. */
static inline uint64_t evtchn_index_nospec(uint64_t idx, uint64_t size)
{
    uint64_t mask;

    __asm__ ("cmp %2, %1; sbb %0, %0" : "=r"(mask) : "r"(idx), "r"(size) : "cc");
    return idx & mask;
}

/* The event lock, with interrupts off (see above). */
#ifdef HOST_TEST
static inline uint64_t evtchn_lock(spinlock_t *l) { spin_lock(l); return 0; }
static inline void evtchn_unlock(spinlock_t *l, uint64_t f) { (void)f; spin_unlock(l); }
#else
static inline uint64_t evtchn_lock(spinlock_t *l) { return spin_lock_irqsave(l); }
static inline void evtchn_unlock(spinlock_t *l, uint64_t f) { spin_unlock_irqrestore(l, f); }
#endif

/* The event state of d, NULL before evtchn_domain_init or after destroy. */
struct evtchn_domain *evtchn_domain_of(const struct domain *d);

static inline bool evtchn_port_valid(const struct evtchn_domain *ed, uint32_t port)
{
    return port < ed->valid_ports;
}

/* The channel of a port known valid (checked under the event lock). */
static inline struct evtchn *evtchn_from_port(struct evtchn_domain *ed, uint32_t port)
{
    port = (uint32_t)evtchn_index_nospec(port, ed->valid_ports);
    return &ed->bucket[port / EVTCHN_BUCKET_PORTS][port % EVTCHN_BUCKET_PORTS];
}

/* vCPU `id` of the domain, NULL if it has none (id is guest-controlled). */
static inline struct vcpu *evtchn_vcpu_of(const struct domain *d, uint32_t id)
{
    if (id >= d->max_vcpus || id >= MAX_VCPUS_PER_DOM)
        return NULL;
    return d->vcpu[evtchn_index_nospec(id, MAX_VCPUS_PER_DOM)];
}

/* Raises chn on its notify vCPU (under ed's event lock). */
void evtchn_set_pending(struct evtchn_domain *ed, struct evtchn *chn);
/* SCHEDOP_poll: wakes the vCPUs polling `port` (or any port). Called by the
   ABIs when a port newly becomes pending, masked or not. */
void evtchn_check_pollers(struct evtchn_domain *ed, uint32_t port);

/* Atomic bit operations on guest-shared words (the guest changes them
   concurrently; on x86 the locked forms are full barriers). */
static inline bool guest_test_and_set_bit64(uint64_t *w, unsigned int bit)
{
    return __atomic_fetch_or(w, 1ull << bit, __ATOMIC_SEQ_CST) & (1ull << bit);
}
static inline bool guest_test_and_clear_bit64(uint64_t *w, unsigned int bit)
{
    return __atomic_fetch_and(w, ~(1ull << bit), __ATOMIC_SEQ_CST) & (1ull << bit);
}
static inline bool guest_test_bit64(const uint64_t *w, unsigned int bit)
{
    return __atomic_load_n(w, __ATOMIC_SEQ_CST) & (1ull << bit);
}
static inline bool guest_test_and_set_bit32(uint32_t *w, unsigned int bit)
{
    return __atomic_fetch_or(w, 1u << bit, __ATOMIC_SEQ_CST) & (1u << bit);
}
static inline void guest_set_bit32(uint32_t *w, unsigned int bit)
{
    __atomic_fetch_or(w, 1u << bit, __ATOMIC_SEQ_CST);
}
static inline void guest_clear_bit32(uint32_t *w, unsigned int bit)
{
    __atomic_fetch_and(w, ~(1u << bit), __ATOMIC_SEQ_CST);
}
static inline bool guest_test_bit32(const uint32_t *w, unsigned int bit)
{
    return __atomic_load_n(w, __ATOMIC_SEQ_CST) & (1u << bit);
}

/* ---- FIFO ABI (event_fifo.c) --------------------------------------------------------- */

/* EVTCHNOP_init_control / EVTCHNOP_expand_array with the caller's arguments
   (copied in); 0 or a negative errno. */
int evtchn_fifo_init_control(struct evtchn_domain *ed, struct evtchn_init_control *ic);
int evtchn_fifo_expand_array(struct evtchn_domain *ed, uint64_t gfn);
/* Guest frames the FIFO ABI let go of, to be released once the event lock
   is dropped (releasing the last reference takes the domain's lock). */
struct evtchn_fifo_frames {
    mfn_t mfn[EVTCHN_FIFO_MAX_PAGES + MAX_VCPUS_PER_DOM];
    unsigned int nr;
};
/* Back to 2-level (EVTCHNOP_reset, teardown): forgets every guest mapping
   (under the event lock), then evtchn_fifo_put_frames() (without it). */
void evtchn_fifo_destroy(struct evtchn_domain *ed, struct evtchn_fifo_frames *out);
void evtchn_fifo_put_frames(const struct evtchn_fifo_frames *f);
/* The event word of a port, NULL if no event array page holds it. */
event_word_t *evtchn_fifo_word(struct evtchn_domain *ed, uint32_t port);

#endif
