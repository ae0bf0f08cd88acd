/*
 * Guest memory access for hypercalls and builders: linear addresses go
 * through the vCPU's paging (x86_walk), guest-physical ones through the
 * p2m; only RAM the domain owns is ever touched (guest_access.h).
 */
#include <proxenos/domain.h>
#include <proxenos/frame.h>
#include <proxenos/guest_access.h>
#include <proxenos/layout.h>
#include <proxenos/lib.h>
#include <proxenos/pv.h>

/* Machine address of gpa if it is the domain's RAM (writable if asked). */
static int gpa_to_maddr(struct domain *d, uint64_t gpa, bool write, paddr_t *ma)
{
    mfn_t mfn;
    enum p2m_type t = p2m_lookup(&d->p2m, gpa >> PAGE_SHIFT, &mfn);

    if (!(p2m_is_ram(t) || t == p2m_reserved) || (write && !p2m_is_writable(t)))
        return -EFAULT;
    if (!mfn_valid(mfn))
        return -EFAULT;
    *ma = (mfn << PAGE_SHIFT) | (gpa & (PAGE_SIZE - 1));
    return 0;
}

/* x86_walk's reader of guest page tables. */
int hvm_read_phys(void *priv, uint64_t gpa, void *buf, unsigned int len)
{
    paddr_t ma;

    if ((gpa & (PAGE_SIZE - 1)) + len > PAGE_SIZE ||
        gpa_to_maddr(priv, gpa, false, &ma))
        return -X86EMUL_ERROR;
    memcpy(buf, __va(ma), len);
    return 0;
}

int hvm_translate_linear(struct vcpu *v, uint64_t gla, bool write, uint64_t *gpa,
                         struct x86_fault *fault)
{
    struct x86_paging pg;
    struct x86_walk_result res;
    uint32_t access = (write ? X86_PFEC_W : 0) | (hvm_guest_cpl(v) == 3 ? X86_PFEC_U : 0);
    int rc;

    hvm_get_paging(v, &pg);
    rc = x86_walk(&pg, gla, access, &res, fault);
    if (!rc)
        *gpa = res.gpa;
    return rc;
}

static int linear_to_maddr(struct vcpu *v, uint64_t gla, bool write, paddr_t *ma)
{
    if (v->domain->type == DOMTYPE_PV)        /* direct paging: the guest's own tables */
        return pv_va_to_maddr(v, gla, write, ma) ? 0 : -EFAULT;
    struct x86_fault fault;
    uint64_t gpa;

    if (hvm_translate_linear(v, gla, write, &gpa, &fault))
        return -EFAULT;
    return gpa_to_maddr(v->domain, gpa, write, ma);
}

/* Copies page by page; dir: false = from guest, true = to guest. */
static int copy_linear(struct vcpu *v, void *hv, uint64_t gla, size_t len, bool to_guest)
{
    while (len) {
        size_t chunk = MIN(len, PAGE_SIZE - (gla & (PAGE_SIZE - 1)));
        paddr_t ma;

        if (linear_to_maddr(v, gla, to_guest, &ma))
            return -EFAULT;
        if (to_guest)
            memcpy(__va(ma), hv, chunk);
        else
            memcpy(hv, __va(ma), chunk);
        hv = (uint8_t *)hv + chunk;
        gla += chunk;
        len -= chunk;
    }
    return 0;
}

int copy_from_guest(struct vcpu *v, void *dst, uint64_t gla, size_t len)
{
    return copy_linear(v, dst, gla, len, false);
}

int copy_to_guest(struct vcpu *v, uint64_t gla, const void *src, size_t len)
{
    return copy_linear(v, (void *)src, gla, len, true);
}

int copy_string_from_guest(struct vcpu *v, char *dst, uint64_t gla, size_t max)
{
    for (size_t i = 0; i < max; i++) {
        if (copy_from_guest(v, &dst[i], gla + i, 1))
            return -EFAULT;
        if (!dst[i])
            return 0;
    }
    dst[max ? max - 1 : 0] = '\0';
    return -E2BIG;
}

static int copy_phys(struct domain *d, void *hv, uint64_t gpa, size_t len, int dir)
{
    while (len) {
        size_t chunk = MIN(len, PAGE_SIZE - (gpa & (PAGE_SIZE - 1)));
        paddr_t ma;

        if (gpa_to_maddr(d, gpa, dir != 0, &ma))
            return -EFAULT;
        if (dir == 0)
            memcpy(hv, __va(ma), chunk);
        else if (dir == 1)
            memcpy(__va(ma), hv, chunk);
        else
            memset(__va(ma), 0, chunk);
        if (hv)
            hv = (uint8_t *)hv + chunk;
        gpa += chunk;
        len -= chunk;
    }
    return 0;
}

int copy_from_gpa(struct domain *d, void *dst, uint64_t gpa, size_t len)
{
    return copy_phys(d, dst, gpa, len, 0);
}

int copy_to_gpa(struct domain *d, uint64_t gpa, const void *src, size_t len)
{
    return copy_phys(d, (void *)src, gpa, len, 1);
}

int clear_gpa(struct domain *d, uint64_t gpa, size_t len)
{
    return copy_phys(d, NULL, gpa, len, 2);
}

void *gfn_to_virt(struct domain *d, uint64_t gfn, uint64_t *mfn_out)
{
    paddr_t ma;

    if (gfn >> (PADDR_BITS - PAGE_SHIFT) || gpa_to_maddr(d, gfn << PAGE_SHIFT, true, &ma))
        return NULL;
    if (mfn_out)
        *mfn_out = ma >> PAGE_SHIFT;
    return __va(ma);
}
