/* The p2m's table pages, from the frame allocator via the direct map. */
#include <proxenos/layout.h>
#include <proxenos/lib.h>
#include <proxenos/mm.h>

paddr_t p2m_table_alloc(void)
{
    paddr_t pa = alloc_frames(0);

    if (pa)
        memset(__va(pa), 0, PAGE_SIZE);
    return pa;
}

void p2m_table_free(paddr_t pa)
{
    free_frames(pa, 0);
}

uint64_t *p2m_table_map(paddr_t pa)
{
    return __va(pa);
}
