/*
 * The 64-bit PV domain builder: what Xen 4.17's xen/arch/x86/pv/dom0_build.c
 * does for a 64-bit kernel, on top of the direct-paging validator (pv_mm.h).
 * The layout of the initial virtual region is in pv.h, as Xen's public
 * xen.h documents it next to struct start_info.
 *
 * Every value from the image is hostile: the ELF is checked by elf_parse();
 * here every virtual address is checked to be canonical, outside the
 * hypervisor hole, inside the region, and every sum for wrapping. The
 * bootstrap page tables are built by the hypervisor but then go through the
 * validator like any guest table (MMUEXT_PIN_L4_TABLE, NEW_BASEPTR), so a
 * builder bug cannot hand the guest a writable page table.
 *
 * Frames are given one by one (order 0), the granularity at which the
 * validator frees them (pv_frame_released): they are not on the domain's
 * ram_blocks list, and pv_domain_destroy() gives them back.
 */
#include <proxenos/pv.h>
#include <proxenos/dombuild.h>
#include <proxenos/domain.h>
#include <proxenos/e820.h>
#include <proxenos/io.h>
#include <proxenos/layout.h>
#include <proxenos/lib.h>
#include <proxenos/mm.h>
#include <proxenos/pagetable.h>
#include <proxenos/printk.h>

#define PT_SHIFT(l)   (PAGE_SHIFT + 9 * ((l) - 1))     /* 12, 21, 30, 39 */
#define PT_INDEX(va, l) (((va) >> PT_SHIFT(l)) & 511)
/* Entries of the bootstrap tables (Xen's L1_PROT / L2_PROT ...): the
   validator adds US and A as it stores them. */
#define BOOT_TABLE_FLAGS (PTE_P | PTE_RW | PTE_US | PTE_A | PTE_D)
#define BOOT_PAGE_FLAGS  (PTE_P | PTE_RW | PTE_US | PTE_A | PTE_D)

static struct pv_domain *pv_domains[MAX_DOMAINS];

struct pv_domain *pv_domain_of(const struct domain *d)
{
    return d && d->domain_id < MAX_DOMAINS ? pv_domains[d->domain_id] : NULL;
}

/* ---- the validator's callbacks ------------------------------------------------------ */

static bool vcpu_here(struct pv_mm *mm, unsigned int vcpu)
{
    struct vcpu *cur = current_vcpu();

    return cur && cur->domain == mm->d && cur->vcpu_id == vcpu;
}

/* PV vCPUs do not run yet (pv.h): a base pointer change is taken when the
   vCPU is next loaded. Should one be running here, load it now. */
static void cb_load_cr3(struct pv_mm *mm, unsigned int vcpu)
{
    if (vcpu_here(mm, vcpu) && mm->vcpu[vcpu].kernel_l4)
        __asm__ volatile("mov %0, %%cr3" :: "r"(mm->vcpu[vcpu].kernel_l4 << PAGE_SHIFT) : "memory");
}

static void cb_flush_all(struct pv_mm *mm)
{
    (void)mm;
    flush_tlb_local();
    flush_tlb_others();
}

static void cb_flush_tlb(struct pv_mm *mm, unsigned int vcpu, uint64_t mask)
{
    (void)vcpu;
    (void)mask;
    cb_flush_all(mm);
}

static void cb_invlpg(struct pv_mm *mm, unsigned int vcpu, uint64_t mask, uint64_t va)
{
    /* Another CPU may run a vCPU of the mask: a full flush there. */
    invlpg((const void *)va);
    (void)vcpu;
    (void)mask;
    (void)mm;
    flush_tlb_others();
}

static bool cb_domain_exists(domid_t id)
{
    return domain_by_id(id) != NULL;
}

/*
 * I/O memory of the initial domain, as Xen's dom_io frames and dom0 iomem
 * permissions: the first MiB and everything the e820 does not call RAM
 * (firmware tables, device memory, holes) may be mapped; RAM above 1 MiB
 * is the allocator's and never is. The local APIC and IO-APIC pages stay
 * the hypervisor's (PV Linux reaches them through hypercalls). Both facts
 * are fixed at boot, so a frame's answer never changes (pv_mm.h).
 */
static bool cb_iomem_ok(struct pv_mm *mm, mfn_t mfn)
{
    paddr_t pa = (paddr_t)mfn << PAGE_SHIFT;

    if (!mm->d->is_initial || mfn >> (52 - PAGE_SHIFT))
        return false;
    if (mfn_valid(mfn) && __atomic_load_n(&mfn_to_page(mfn)->owner, __ATOMIC_RELAXED))
        return false;                      /* somebody's RAM: never I/O (and no e820 scan) */
    if (pa >> PAGE_SHIFT == 0xfee00 || pa >> PAGE_SHIFT == 0xfec00)
        return false;
    return pa < 0x100000 || !e820_all_of_type(&e820, pa, pa + PAGE_SIZE, E820_RAM);
}

/* MMUEXT_*_MULTI and UVMF_MULTI: the guest's vCPU bitmap (an unsigned
   long; bits past the domain's vCPUs are ignored by the flushes). */
static int cb_read_vcpumask(struct pv_mm *mm, unsigned int vcpu, uint64_t gva, uint64_t *mask)
{
    struct vcpu *v = vcpu < mm->d->max_vcpus ? mm->d->vcpu[vcpu] : NULL;

    return v && !pv_copy_linear(v, mask, gva, sizeof(*mask), false) ? 0 : -EFAULT;
}

static const struct pv_mm_ops pv_builder_ops = {
    .iomem_ok = cb_iomem_ok,
    .read_vcpumask = cb_read_vcpumask,
    .check_segdesc_page = pv_check_segdesc_page,
    .load_cr3 = cb_load_cr3,
    .flush_tlb = cb_flush_tlb,
    .invlpg = cb_invlpg,
    .flush_stale = cb_flush_all,
    .domain_exists = cb_domain_exists,
};

/* ---- frames -------------------------------------------------------------------------- */

struct builder {
    struct pv_domain *pd;
    struct pv_layout *l;
    mfn_t *p2m_frames;                  /* the frames of the P2M list, in order */
    uint64_t nr_p2m_frames;
};

static unsigned long *p2m_slot(struct builder *b, uint64_t pfn)
{
    return (unsigned long *)pv_map_frame(b->p2m_frames[pfn / 512]) + pfn % 512;
}

static mfn_t pfn_to_mfn(struct builder *b, uint64_t pfn)
{
    return *p2m_slot(b, pfn);
}

static mfn_t va_to_mfn(struct builder *b, uint64_t va)
{
    return pfn_to_mfn(b, (va - b->l->v_start) >> PAGE_SHIFT);
}

/* One fresh zeroed frame owned by d with its allocation reference. */
static mfn_t give_frame(struct domain *d)
{
    paddr_t pa = alloc_frames(0);
    struct page_info *pg;

    if (!pa)
        return 0;
    memset(__va(pa), 0, PAGE_SIZE);
    pg = mfn_to_page(pa >> PAGE_SHIFT);
    pg->type_info = 0;
    __atomic_store_n(&pg->owner, d, __ATOMIC_RELEASE);
    __atomic_fetch_or(&pg->count_info, PGC_allocated | 1, __ATOMIC_ACQ_REL);
    d->tot_pages++;
    return pa >> PAGE_SHIFT;
}

/* RAM: the P2M list's own frames first (so every entry has a home), then
   one frame per pseudo-physical page; M2P and P2M both recorded. */
static int populate(struct builder *b, const char **why)
{
    struct domain *d = b->pd->d;
    uint64_t p2m_pfn = (b->l->p2m_start - b->l->v_start) >> PAGE_SHIFT;

    b->nr_p2m_frames = (b->l->p2m_end - b->l->p2m_start) >> PAGE_SHIFT;
    b->p2m_frames = xzalloc(b->nr_p2m_frames * sizeof(mfn_t));
    *why = "out of memory for the domain's RAM";
    if (!b->p2m_frames)
        return -ENOMEM;
    for (uint64_t i = 0; i < b->nr_p2m_frames; i++)
        if (!(b->p2m_frames[i] = give_frame(d)))
            return -ENOMEM;
    for (uint64_t pfn = 0; pfn < b->l->nr_pages; pfn++) {
        mfn_t mfn;

        if (pfn >= p2m_pfn && pfn < p2m_pfn + b->nr_p2m_frames)
            mfn = b->p2m_frames[pfn - p2m_pfn];
        else if (!(mfn = give_frame(d)))
            return -ENOMEM;
        *p2m_slot(b, pfn) = mfn;
        pv_m2p_set(mfn, pfn);
    }
    d->max_pages = d->tot_pages;
    return 0;
}

/* Copies len bytes to guest-virtual va inside the region (NULL: zeros). */
static void copy_to_region(struct builder *b, uint64_t va, const uint8_t *src, uint64_t len)
{
    while (len) {
        uint64_t off = va & (PAGE_SIZE - 1), n = PAGE_SIZE - off;
        uint8_t *dst = (uint8_t *)pv_map_frame(va_to_mfn(b, va)) + off;

        if (n > len)
            n = len;
        if (src) {
            memcpy(dst, src, n);
            src += n;
        } else {
            memset(dst, 0, n);
        }
        va += n;
        len -= n;
    }
}

/*
 * Where the kernel goes, as Xen's libelf computes it: segments are placed by
 * p_paddr, moved by virt_base - PADDR_OFFSET (0 when the note is absent),
 * so Linux's per-CPU segment (p_vaddr 0) lands after its data.
 */
static uint64_t virt_offset(const struct elf_image *e)
{
    return e->xen.virt_base - (e->xen.has_paddr_offset ? e->xen.paddr_offset : 0);
}

static void load_kernel(struct builder *b, const struct elf_image *e)
{
    /* elf_parse checked offset + filesz inside the image and paddr + memsz
       not wrapping; check_image that the moved span does not wrap, and
       pv_layout that it lies inside [v_start, kern_end). */
    for (unsigned int i = 0; i < e->nr_segs; i++)
        copy_to_region(b, e->seg[i].paddr + virt_offset(e), e->img + e->seg[i].offset,
                       e->seg[i].filesz);
}

/* ---- bootstrap page tables -------------------------------------------------------------- */

static mfn_t next_table(struct builder *b, uint64_t *used)
{
    if (*used >= b->l->nr_pt_frames)
        return 0;
    return va_to_mfn(b, b->l->pt_start + ((*used)++ << PAGE_SHIFT));
}

/* Maps every page of [v_start, v_end) to its pseudo-physical frame; the
   tables' own pages read-only (xen.h point 6). Entries hold machine
   addresses: this is direct paging. */
static int build_tables(struct builder *b, mfn_t *l4_out, const char **why)
{
    const struct pv_layout *l = b->l;
    uint64_t used = 0, pt_end = l->pt_start + (l->nr_pt_frames << PAGE_SHIFT);
    mfn_t l4 = next_table(b, &used);

    *why = "the bootstrap page tables do not fit (layout bug)";
    for (uint64_t va = l->v_start; va < l->v_end; va += PAGE_SIZE) {
        uint64_t *t = pv_map_frame(l4);

        for (unsigned int lvl = 4; lvl > 1; lvl--) {
            uint64_t *e = &t[PT_INDEX(va, lvl)];

            if (!(*e & PTE_P)) {
                mfn_t n = next_table(b, &used);
                if (!n)
                    return -EINVAL;
                *e = (n << PAGE_SHIFT) | BOOT_TABLE_FLAGS;
            }
            t = pv_map_frame(pv_pte_mfn(*e));
        }
        t[PT_INDEX(va, 1)] = (va_to_mfn(b, va) << PAGE_SHIFT) | BOOT_PAGE_FLAGS;
        if (va >= l->pt_start && va < pt_end)
            t[PT_INDEX(va, 1)] &= ~PTE_RW;
    }
    *l4_out = l4;
    return 0;
}

/* MMUEXT_PIN_L4_TABLE then MMUEXT_NEW_BASEPTR, as a PV kernel would issue
   them (xen.h's comment on the bootstrap), through the validator. */
static int pin_tables(struct pv_domain *pd, mfn_t l4, const char **why)
{
    struct mmuext_op op[2];
    unsigned int done = 0;
    int rc;

    memset(op, 0, sizeof(op));
    op[0].cmd = MMUEXT_PIN_L4_TABLE;
    op[0].arg1.mfn = l4;
    op[1].cmd = MMUEXT_NEW_BASEPTR;
    op[1].arg1.mfn = l4;
    rc = pv_mmuext_op(&pd->mm, 0, op, 2, &done, DOMID_SELF);
    if (rc)
        *why = pd->mm.why ? pd->mm.why : "the validator refused the bootstrap page tables";
    return rc;
}

/* ---- start_info and the hypercall page ---------------------------------------------------- */

static void write_start_info(struct builder *b, const struct pvh_boot_args *a)
{
    struct start_info *si = pv_map_frame(va_to_mfn(b, b->l->si_start));
    const struct pv_layout *l = b->l;

    memset(si, 0, PAGE_SIZE);
    strlcpy(si->magic, "xen-3.0-x86_64", sizeof(si->magic));
    si->nr_pages = l->nr_pages;
    si->shared_info = b->pd->d->shared_info_maddr;
    si->flags = a->start_info_flags;
    /* dom0 has neither xenstore nor a PV console ring: both 0 (dom0_build.c). */
    si->pt_base = l->pt_start;
    si->nr_pt_frames = l->nr_pt_frames;
    si->mfn_list = l->p2m_start;
    if (a->nr_modules && a->mod[0].size) {
        si->mod_start = l->mod_start;
        si->mod_len = a->mod[0].size;
    }
    strlcpy((char *)si->cmd_line, a->cmdline, sizeof(si->cmd_line));
}

/*
 * 64-bit PV stubs, 32 bytes each, as Xen's pv_ring3_init_hypercall_page
 * writes them: push %rcx; push %r11; mov $nr,%eax; syscall; pop %r11;
 * pop %rcx; ret (SYSCALL clobbers RCX and R11, which the guest's callers
 * expect preserved). __HYPERVISOR_iret is jumped to, never returns:
 * push %rcx; push %r11; push %rax; mov $23,%eax; syscall, so the guest
 * stack holds struct iret_context (rax, r11, rcx, flags, rip, cs, rflags,
 * rsp, ss: xen-x86_64.h) once the guest has pushed `flags` on its iret
 * frame. The rest of the page is int3.
 */
static void write_hypercall_page(uint8_t *p)
{
    static const uint8_t stub[] = { 0x51, 0x41, 0x53, 0xb8, 0, 0, 0, 0,
                                    0x0f, 0x05, 0x41, 0x5b, 0x59, 0xc3 };
    static const uint8_t iret[] = { 0x51, 0x41, 0x53, 0x50, 0xb8, 0, 0, 0, 0, 0x0f, 0x05 };

    memset(p, 0xcc, PAGE_SIZE);
    for (uint32_t i = 0; i < PAGE_SIZE / 32; i++, p += 32) {
        if (i == __HYPERVISOR_iret) {
            memcpy(p, iret, sizeof(iret));
            memcpy(p + 5, &i, 4);
        } else {
            memcpy(p, stub, sizeof(stub));
            memcpy(p + 4, &i, 4);
        }
    }
}

static int place_hypercall_page(struct builder *b, const struct elf_image *e, const char **why)
{
    uint64_t va = e->xen.hypercall_page;

    if (!e->xen.has_hypercall_page)
        return 0;
    if ((va & (PAGE_SIZE - 1)) || va < b->l->kern_start || va >= b->l->kern_end) {
        *why = "XEN_ELFNOTE_HYPERCALL_PAGE is not a page of the kernel image";
        return -EINVAL;
    }
    write_hypercall_page(pv_map_frame(va_to_mfn(b, va)));
    return 0;
}

/* ---- the build ------------------------------------------------------------------------------ */

static int check_image(const struct elf_image *e, const char **why)
{
    uint64_t ks = e->paddr_start + virt_offset(e), ke = e->paddr_end + virt_offset(e);

    /* A kernel with both entry points (Linux) boots PV through XEN_ELFNOTE_ENTRY. */
    if (e->kind == ELF_BOOT_PLAIN || e->elf_class != ELF_CLASS64) {
        *why = "not a 64-bit PV kernel (32-bit PV guests are not supported)";
        return -EINVAL;
    }
    if (!e->xen.has_entry || !e->xen.has_virt_base) {
        *why = "XEN_ELFNOTE_ENTRY and XEN_ELFNOTE_VIRT_BASE are both required";
        return -EINVAL;
    }
    if (ke <= ks) {
        *why = "the kernel's span (p_paddr + VIRT_BASE - PADDR_OFFSET) wraps";
        return -EINVAL;
    }
    if (e->xen.entry < ks || e->xen.entry >= ke) {
        *why = "XEN_ELFNOTE_ENTRY is outside the kernel";
        return -EINVAL;
    }
    return 0;
}

static bool boot_once(void)
{
    static int state;                  /* 0 not tried, 1 ready, -1 failed */

    if (!state)
        state = pv_mm_boot_init() ? -1 : 1;
    return state > 0;
}

static int build(struct builder *b, const struct pvh_boot_args *a, const char **why)
{
    const struct elf_image *e = a->elf;
    struct pv_domain *pd = b->pd;
    mfn_t l4;
    int rc;

    rc = pv_layout(e->xen.virt_base, e->paddr_start + virt_offset(e), e->paddr_end + virt_offset(e),
                   a->nr_modules ? a->mod[0].size : 0, a->ram_bytes >> PAGE_SHIFT, b->l, why);
    if (rc || (rc = populate(b, why)))
        return rc;
    load_kernel(b, e);
    if (a->nr_modules && a->mod[0].size)
        copy_to_region(b, b->l->mod_start, a->mod[0].data, a->mod[0].size);
    write_start_info(b, a);
    if ((rc = place_hypercall_page(b, e, why)) || (rc = build_tables(b, &l4, why)))
        return rc;
    rc = pv_share_xen_frame(&pd->mm, pd->d->shared_info_maddr >> PAGE_SHIFT, true);
    if (rc) {
        *why = "cannot share the shared info page with the guest";
        return rc;
    }
    if ((rc = pin_tables(pd, l4, why)))
        return rc;
    pd->entry.rip = e->xen.entry;
    pd->entry.rsp = b->l->stack_end;
    pd->entry.rsi = b->l->si_start;
    pd->entry.kernel_l4 = l4;
    return 0;
}

int pv_build(struct domain *d, const struct pvh_boot_args *a, const char **why)
{
    struct builder b = { 0 };
    struct pv_domain *pd;
    bool nx = rdmsr(MSR_EFER) & EFER_NXE;
    int rc;

    if (d->type != DOMTYPE_PV || d->domain_id >= MAX_DOMAINS || pv_domains[d->domain_id]) {
        *why = "not a fresh PV domain";
        return -EINVAL;
    }
    if ((rc = check_image(a->elf, why)))
        return rc;
    if (!boot_once()) {
        *why = "no M2P table (out of memory at its first use)";
        return -ENOMEM;
    }
    pd = xzalloc(sizeof(*pd));
    if (!pd) {
        *why = "out of memory";
        return -ENOMEM;
    }
    pd->d = d;
    rc = pv_mm_init(&pd->mm, d, d->domain_id, d->max_vcpus, &pv_builder_ops,
                    (nx ? PV_MM_NX : 0) | (d->is_initial ? PV_MM_IO : 0));
    if (rc) {
        xfree(pd);
        *why = "cannot set up the domain's paging state";
        return rc;
    }
    pv_domains[d->domain_id] = pd;
    b.pd = pd;
    b.l = &pd->lay;
    rc = build(&b, a, why);
    xfree(b.p2m_frames);
    pd->built = !rc;
    return rc;
}

uint64_t pv_domain_destroy(struct domain *d)
{
    struct pv_domain *pd = pv_domain_of(d);
    uint64_t left;

    if (!pd)
        return 0;
    pv_vcpu_info_release(d);
    for (unsigned int i = 0; i < d->max_vcpus; i++)
        if (d->vcpu[i])
            pv_vcpu_free(d->vcpu[i]);      /* its GDT frames' references */
    left = pv_mm_teardown(&pd->mm);
    pv_domains[d->domain_id] = NULL;
    xfree(pd);
    return left;
}
