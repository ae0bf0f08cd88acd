/* Ticket spinlocks: FIFO-fair, so a busy CPU cannot starve another. */
#ifndef PROXENOS_SPINLOCK_H
#define PROXENOS_SPINLOCK_H
#include <proxenos/types.h>

typedef struct { volatile uint16_t next, owner; } spinlock_t;
#define SPINLOCK_INIT { 0, 0 }

static inline void spin_lock(spinlock_t *l)
{
    uint16_t me = __atomic_fetch_add(&l->next, 1, __ATOMIC_ACQUIRE);
    while (__atomic_load_n(&l->owner, __ATOMIC_ACQUIRE) != me)
        __asm__ volatile("pause" ::: "memory");
}
static inline void spin_unlock(spinlock_t *l)
{
    __atomic_store_n(&l->owner, (uint16_t)(l->owner + 1), __ATOMIC_RELEASE);
}
static inline bool spin_is_locked(spinlock_t *l) { return l->next != l->owner; }

#ifndef HOST_TEST
#include <proxenos/io.h>
static inline uint64_t spin_lock_irqsave(spinlock_t *l) { uint64_t f = local_irq_save(); spin_lock(l); return f; }
static inline void spin_unlock_irqrestore(spinlock_t *l, uint64_t f) { spin_unlock(l); local_irq_restore(f); }
#endif
#endif
