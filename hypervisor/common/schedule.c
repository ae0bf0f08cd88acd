/*
 * A small round-robin scheduler: per physical CPU, a fixed array of the
 * vCPUs placed there. A vCPU runs entry after entry (hvm_ops->run) until it
 * blocks, its domain shuts down, or its slice ends; a CPU with nothing
 * runnable waits for an interrupt with HLT.
 */
#include <proxenos/cpu.h>
#include <proxenos/console.h>
#include <proxenos/domain.h>
#include <proxenos/hvm_intr.h>
#include <proxenos/io.h>
#include <proxenos/printk.h>
#include <proxenos/pv.h>
#include <proxenos/runstate.h>
#include <proxenos/sched.h>
#include <proxenos/vtime.h>

#define MAX_VCPUS_PER_CPU 16

struct sched_cpu {
    spinlock_t lock;
    struct vcpu *vcpus[MAX_VCPUS_PER_CPU];   /* guarded by lock */
    unsigned int nr, next;
    struct vcpu *current;                    /* only this CPU writes */
    volatile bool slice_over;                /* set by the slice timer */
    struct timer slice_timer;
    bool timer_ready;
};

static struct sched_cpu sched_cpus[MAX_CPUS];

unsigned int sched_pick_cpu(unsigned int vcpu_id)
{
    /* vCPUs go to CPU 0 for now: APs idle (one emulated core per guest
       is also what the emulator benchmarks measure). */
    return 0;
}

static bool placed(const struct sched_cpu *sc, const struct vcpu *v)
{
    for (unsigned int i = 0; i < sc->nr; i++)
        if (sc->vcpus[i] == v)
            return true;
    return false;
}

void sched_add_vcpu(struct vcpu *v)
{
    struct sched_cpu *sc = &sched_cpus[v->processor];
    bool added = false;

    spin_lock(&sc->lock);
    if (placed(sc, v)) {
        added = true;                  /* up again after VCPUOP_down */
    } else if (sc->nr < MAX_VCPUS_PER_CPU) {
        sc->vcpus[sc->nr++] = v;
        added = true;
    } else {
        printk(LOG_ERR "d%u v%u: CPU %u has no room for another vCPU\n",
               v->domain->domain_id, v->vcpu_id, v->processor);
    }
    spin_unlock(&sc->lock);
    if (added)
        runstate_change(v, RUNSTATE_runnable);
}

void sched_remove_vcpu(struct vcpu *v)
{
    struct sched_cpu *sc = &sched_cpus[v->processor];

    spin_lock(&sc->lock);
    for (unsigned int i = 0; i < sc->nr; i++) {
        if (sc->vcpus[i] == v) {
            sc->vcpus[i] = sc->vcpus[--sc->nr];
            break;
        }
    }
    if (sc->current == v)
        sc->current = NULL;
    spin_unlock(&sc->lock);
}

/*
 * A PV vCPU woken while a sibling of its domain runs on its CPU (an IPI
 * event, its timer) ends the sibling's slice, so that it runs at the
 * sibling's next exit instead of up to a slice later: the sibling may be
 * spinning on it (Linux's smp_call_function waits so). HVM vCPUs keep the
 * plain round robin.
 */
static void wake_kick(struct vcpu *v)
{
    struct sched_cpu *sc = &sched_cpus[v->processor];
    struct vcpu *cur = __atomic_load_n(&sc->current, __ATOMIC_ACQUIRE);

    if (v->domain->type == DOMTYPE_PV && cur && cur != v && cur->domain == v->domain)
        sc->slice_over = true;
}

void vcpu_wake(struct vcpu *v)
{
    if (__atomic_exchange_n(&v->is_blocked, false, __ATOMIC_ACQ_REL)) {
        runstate_wake(v);              /* blocked -> runnable, unless it still runs */
        wake_kick(v);
    }
}

void sched_yield_slice(void)
{
    struct sched_cpu *sc = &sched_cpus[smp_processor_id()];
    struct vcpu *cur = sc->current;
    bool other = false;

    spin_lock(&sc->lock);
    for (unsigned int i = 0; i < sc->nr && !other; i++) {
        struct vcpu *w = sc->vcpus[i];
        other = w != cur && w->is_up && !w->is_blocked && !w->domain->is_shutting_down;
    }
    spin_unlock(&sc->lock);
    if (other)
        sc->slice_over = true;
}

struct vcpu *current_vcpu(void)
{
    return sched_cpus[smp_processor_id()].current;
}

bool sched_should_yield(void)
{
    struct sched_cpu *sc = &sched_cpus[smp_processor_id()];
    struct vcpu *v = sc->current;

    if (v && v->is_blocked && v->domain->type != DOMTYPE_PV && hvm_vcpu_has_work(v))
        vcpu_wake(v);
    return sc->slice_over || !v || v->is_blocked || !v->is_up || v->domain->is_shutting_down;
}

static void slice_end(void *data)
{
    ((struct sched_cpu *)data)->slice_over = true;
}

/* A blocked vCPU with something to deliver wakes up here. */
static bool runnable(struct vcpu *v)
{
    if (v->is_blocked && v->domain->type != DOMTYPE_PV && hvm_vcpu_has_work(v))
        vcpu_wake(v);
    return v->is_up && !v->is_blocked && !v->domain->is_shutting_down;
}

static struct vcpu *pick_next(struct sched_cpu *sc)
{
    struct vcpu *v = NULL;

    spin_lock(&sc->lock);
    for (unsigned int n = 0; n < sc->nr; n++) {
        struct vcpu *cand = sc->vcpus[(sc->next + n) % sc->nr];
        if (runnable(cand)) {
            v = cand;
            sc->next = (sc->next + n + 1) % sc->nr;
            break;
        }
    }
    spin_unlock(&sc->lock);
    return v;
}

__noreturn void scheduler_run(void)
{
    unsigned int cpu = smp_processor_id();
    struct sched_cpu *sc = &sched_cpus[cpu];

    init_timer(&sc->slice_timer, slice_end, sc, cpu);
    if (cpu == 0)
        domain_debug_keys_init();
    for (;;) {
        struct vcpu *v = pick_next(sc);

        if (!v) {
            /* Nothing to run: wait for an interrupt (timer, IPI, console). */
            if (cpu == 0)
                console_poll();
            __asm__ volatile("sti; hlt; cli" ::: "memory");
            continue;
        }
        sc->current = v;
        runstate_change(v, RUNSTATE_running);
        vtime_update_vcpu_time(v, false);   /* pvclock (and wallclock) before it runs */
        sc->slice_over = false;
        set_timer(&sc->slice_timer, NOW() + MILLISECS(SCHED_SLICE_MS));
        do {
            local_irq_disable();
            if (v->domain->type == DOMTYPE_PV) {
                pv_run(v);             /* pv/pv_run.c: ring 3 until it must stop */
            } else {
                hvm_intr_assist(v);
                hvm_ops->run(v);
            }
            /* Host interrupts that arrived in guest mode are taken here. */
            local_irq_enable();
            __asm__ volatile("nop" ::: "memory");
        } while (!sched_should_yield());
        local_irq_disable();
        stop_timer(&sc->slice_timer);
        runstate_change(v, runstate_after_run(v));
        sc->current = NULL;
        if (cpu == 0)
            console_poll();
    }
}
