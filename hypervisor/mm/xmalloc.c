/*
 * xmalloc(): the hypervisor heap (heap.c) fed with pages from the buddy
 * allocator through the direct map, whose blocks are naturally aligned as
 * the slab layout needs. Interrupts are off around the heap's lock, as for
 * the frame allocator.
 */
#include <proxenos/buddy.h>
#include <proxenos/heap.h>
#include <proxenos/io.h>
#include <proxenos/lib.h>
#include <proxenos/mm.h>
#include <proxenos/printk.h>

static struct heap heap;
static bool heap_ready;               /* set once by xmalloc_init at boot */

static void *heap_get_pages(void *ctx, unsigned int order) { return alloc_pages(order); }
static void heap_put_pages(void *ctx, void *va, unsigned int order) { free_pages(va, order); }

static void heap_misuse(void *ctx, enum heap_error err, const void *p)
{
    panic("xfree(%p): %s", p, err == HEAP_ERR_DOUBLE_FREE ? "double free"
                                                        : "not a pointer from xmalloc()");
}

static const struct heap_ops heap_ops = {
    .alloc_pages = heap_get_pages,
    .free_pages = heap_put_pages,
    .error = heap_misuse,
};

void xmalloc_init(void)
{
    heap_init(&heap, &heap_ops, NULL, MAX_ORDER);
    heap_ready = true;
}

void *xmalloc(size_t size)
{
    uint64_t irq;
    void *p;

    if (!heap_ready)
        return NULL;
    irq = local_irq_save();
    p = heap_alloc(&heap, size);
    local_irq_restore(irq);
    return p;
}

void *xzalloc(size_t size)
{
    void *p = xmalloc(size);

    if (p)
        memset(p, 0, size);
    return p;
}

void xfree(void *p)
{
    uint64_t irq;

    if (!p)
        return;
    BUG_ON(!heap_ready);
    irq = local_irq_save();
    heap_free(&heap, p);
    local_irq_restore(irq);
}

void xmalloc_get_stats(struct heap_stats *st)
{
    uint64_t irq = local_irq_save();

    heap_get_stats(&heap, st);
    local_irq_restore(irq);
}

void mm_dump_stats(void)
{
    struct heap_stats st;

    page_alloc_dump();
    xmalloc_get_stats(&st);
    printk("Heap: %lu objects, %lu bytes; %lu slab pages, %lu large-object pages; "
           "%lu allocations, %lu frees, %lu failures\n", st.live_objects, st.live_bytes,
           st.slab_pages, st.large_pages, st.allocs, st.frees, st.failures);
    for (unsigned int i = 0; i < HEAP_NR_CLASSES; i++)
        if (st.class_live[i])
            printk("  %4u-byte class: %lu objects\n", heap_class_size(&heap, i),
                   st.class_live[i]);
}
