/*
 * Per-CPU one-shot software timers (platform.h), on the LAPIC timer. Each
 * CPU has a queue sorted by expiry; its LAPIC timer is always armed for the
 * head. A timer belongs to one CPU for life (init_timer) and its callback
 * runs there, in the timer interrupt with interrupts off. set_timer() from
 * another CPU inserts under the queue's lock and, when the new timer is the
 * earliest, kicks the owner with the timer vector so it re-arms.
 *
 * A sorted list is O(n) to insert; the hypervisor has a handful of timers
 * per CPU (housekeeping, a scheduler tick per vCPU), so it beats a heap.
 */
#include <proxenos/apic.h>
#include <proxenos/cpu.h>
#include <proxenos/io.h>
#include <proxenos/lib.h>
#include <proxenos/platform.h>
#include <proxenos/printk.h>
#include <proxenos/smp.h>
#include <proxenos/spinlock.h>
#include <proxenos/time.h>

/* Timers this close to due are run now rather than re-armed for. */
#define TIMER_SLOP_NS 10000

struct timer_queue {
    spinlock_t lock;                   /* guards head and every t->next/active */
    struct timer *head;
};

static struct timer_queue queues[MAX_CPUS];

void init_timer(struct timer *t, void (*fn)(void *), void *data, unsigned int cpu)
{
    BUG_ON(cpu >= MAX_CPUS);
    memset(t, 0, sizeof(*t));
    t->fn = fn;
    t->data = data;
    t->cpu = cpu;
}

static void queue_remove(struct timer_queue *q, struct timer *t)
{
    struct timer **pp = &q->head;

    while (*pp && *pp != t)
        pp = &(*pp)->next;
    if (*pp)
        *pp = t->next;
    t->next = NULL;
    t->active = false;
}

/* Inserts after every timer with the same expiry; true if t is the head. */
static bool queue_insert(struct timer_queue *q, struct timer *t)
{
    struct timer **pp = &q->head;

    while (*pp && (*pp)->expires <= t->expires)
        pp = &(*pp)->next;
    t->next = *pp;
    *pp = t;
    t->active = true;
    return q->head == t;
}

void set_timer(struct timer *t, s_time_t expires)
{
    struct timer_queue *q = &queues[t->cpu];
    uint64_t flags = spin_lock_irqsave(&q->lock);
    bool first, local = smp_processor_id() == t->cpu;

    if (t->active)
        queue_remove(q, t);
    t->expires = expires;
    first = queue_insert(q, t);
    if (first && local)
        lapic_timer_program(MAX(expires, 1));   /* 0 would disarm */
    spin_unlock_irqrestore(&q->lock, flags);
    /* The owner re-arms its own LAPIC timer from the interrupt handler. */
    if (first && !local && cpu_online(t->cpu))
        lapic_send_fixed(percpu_table[t->cpu]->apic_id, LAPIC_TIMER_VECTOR);
}

/* Does not wait for a callback already running on another CPU. */
void stop_timer(struct timer *t)
{
    struct timer_queue *q = &queues[t->cpu];
    uint64_t flags = spin_lock_irqsave(&q->lock);

    if (t->active)
        queue_remove(q, t);
    spin_unlock_irqrestore(&q->lock, flags);
}

/* LAPIC_TIMER_VECTOR: the deadline passed, or another CPU queued an
 * earlier timer. Runs every due timer, then re-arms for the next. */
static void timer_interrupt(struct cpu_regs *regs)
{
    struct percpu *pc = this_cpu();
    struct timer_queue *q = &queues[pc->cpu_id];
    struct timer *t;

    lapic_eoi();
    pc->ticks++;
    spin_lock(&q->lock);
    while ((t = q->head) && t->expires <= NOW() + TIMER_SLOP_NS) {
        q->head = t->next;
        t->next = NULL;
        t->active = false;
        /* Unlocked, so the callback may set_timer() itself or others. */
        spin_unlock(&q->lock);
        t->fn(t->data);
        spin_lock(&q->lock);
    }
    lapic_timer_program(q->head ? MAX(q->head->expires, 1) : 0);
    spin_unlock(&q->lock);
}

void timer_cpu_init(void)
{
    struct percpu *pc = this_cpu();

    pc->timer_state = &queues[pc->cpu_id];
    irq_set_handler(LAPIC_TIMER_VECTOR, timer_interrupt);
    lapic_timer_cpu_init();
}
