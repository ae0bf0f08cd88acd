/*
 * The initial virtual region of a 64-bit PV domain (pv.h): a pure function
 * of the kernel's span, the module size and the RAM, unit-tested on the
 * host (tests/unit/test_pv_layout.c). Every input is hostile: sums are
 * checked for wrapping, the region must be canonical and keep out of the
 * hypervisor hole (xen-x86_64.h HYPERVISOR_VIRT_START..END).
 */
#include <proxenos/pv.h>
#include <proxenos/lib.h>

#define PT_SHIFT(l)   (PAGE_SHIFT + 9 * ((l) - 1))     /* 12, 21, 30, 39 */
#define HOLE_START    0xffff800000000000ULL
#define HOLE_END      0xffff880000000000ULL

/* Tables needed to map [start, end) with 4 KiB pages: one per distinct
   2 MiB (L1), 1 GiB (L2), 512 GiB (L3) span, and the L4. */
static uint64_t tables_for(uint64_t start, uint64_t end)
{
    uint64_t n = 1;

    for (unsigned int l = 2; l <= 4; l++)
        n += ((end - 1) >> PT_SHIFT(l)) - (start >> PT_SHIFT(l)) + 1;
    return n;
}

static bool region_ok(uint64_t start, uint64_t end)
{
    if (end <= start || !pv_addr_ok(start) || !pv_addr_ok(end - 1))
        return false;
    /* Both ends canonical: the region must not straddle the non-canonical
       gap or the hypervisor hole between them. */
    if ((start >> 63) != ((end - 1) >> 63))
        return false;
    return !(start < HOLE_END && end > HOLE_START);
}

/* a + b rounded up to a page, or false if it wraps. */
static bool add_pages(uint64_t a, uint64_t b, uint64_t *out)
{
    uint64_t s;

    if (__builtin_add_overflow(a, b, &s) || __builtin_add_overflow(s, PAGE_SIZE - 1, &s))
        return false;
    *out = s & ~(uint64_t)(PAGE_SIZE - 1);
    return true;
}

int pv_layout(uint64_t virt_base, uint64_t vkern_start, uint64_t vkern_end, uint64_t mod_len,
              uint64_t nr_pages, struct pv_layout *l, const char **why)
{
    uint64_t p2m_bytes, tail;

    memset(l, 0, sizeof(*l));
    *why = "the kernel's virtual span is not canonical, wraps, or touches the hypervisor hole";
    if (virt_base & (PAGE_SIZE - 1)) {
        *why = "XEN_ELFNOTE_VIRT_BASE is not page-aligned";
        return -EINVAL;
    }
    if (vkern_start < virt_base || vkern_end <= vkern_start) {
        *why = "a kernel segment lies below XEN_ELFNOTE_VIRT_BASE";
        return -EINVAL;
    }
    if (!nr_pages || nr_pages > PV_MAX_PAGES) {
        *why = "the RAM size is out of range for a PV domain (1 page to 4 GiB)";
        return -EINVAL;
    }
    l->nr_pages = nr_pages;
    l->v_start = virt_base;
    l->kern_start = vkern_start;
    p2m_bytes = nr_pages * sizeof(unsigned long);
    if (!add_pages(vkern_end, 0, &l->kern_end) || !add_pages(l->kern_end, mod_len, &l->mod_end) ||
        !add_pages(l->mod_end, p2m_bytes, &l->p2m_end) ||
        !add_pages(l->p2m_end, PAGE_SIZE, &l->pt_start))
        return -EINVAL;
    l->mod_start = l->kern_end;
    l->p2m_start = l->mod_end;
    l->si_start = l->p2m_end;
    /* The tables map the region, which ends after them: iterate to the
       fixed point, as dom0_build.c does. */
    for (l->nr_pt_frames = 1;; l->nr_pt_frames++) {
        if (l->nr_pt_frames > 4096 ||
            !add_pages(l->pt_start, l->nr_pt_frames << PAGE_SHIFT, &l->stack_start) ||
            !add_pages(l->stack_start, PAGE_SIZE, &l->stack_end) ||
            !add_pages(l->stack_end, PV_BOOT_PADDING + PV_REGION_ALIGN - PAGE_SIZE, &tail))
            return -EINVAL;
        l->v_end = tail & ~(PV_REGION_ALIGN - 1);
        if (l->v_end <= l->stack_end)
            return -EINVAL;                    /* wrapped to 0 */
        if (tables_for(l->v_start, l->v_end) <= l->nr_pt_frames)
            break;
    }
    if (!region_ok(l->v_start, l->v_end))
        return -EINVAL;
    if ((l->v_end - l->v_start) >> PAGE_SHIFT > nr_pages) {
        *why = "the RAM is smaller than the initial virtual region";
        return -ENOSPC;
    }
    return 0;
}

