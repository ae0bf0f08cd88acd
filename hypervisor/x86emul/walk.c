/*
 * Guest page-table walker: linear -> guest-physical for every x86 paging mode
 * (SDM vol. 3, chapter 4), with the access-rights rules of 4.6 and the
 * page-fault error code of 4.7.
 *
 * The tables are guest memory: each entry is read once through the
 * read_phys callback (a table may point at itself, or at anything else; the
 * number of levels is fixed, so every walk ends), and every address taken
 * from an entry is masked to MAXPHYADDR after its reserved bits were checked.
 */
#include <proxenos/x86emul.h>

#define PTE_P   (1ull << 0)
#define PTE_RW  (1ull << 1)
#define PTE_US  (1ull << 2)
#define PTE_PS  (1ull << 7)
#define PTE_XD  (1ull << 63)

#define CR0_PG    (1ull << 31)
#define CR4_PSE   (1ull << 4)
#define CR4_PAE   (1ull << 5)
#define CR4_LA57  (1ull << 12)
#define EFER_LMA  (1ull << 10)

enum x86_paging_mode x86_paging_mode_from_regs(uint64_t cr0, uint64_t cr4, uint64_t efer)
{
    if (!(cr0 & CR0_PG))
        return X86_PAGING_NONE;
    if (!(cr4 & CR4_PAE))
        return X86_PAGING_32;
    if (!(efer & EFER_LMA))
        return X86_PAGING_PAE;
    return (cr4 & CR4_LA57) ? X86_PAGING_5LEVEL : X86_PAGING_4LEVEL;
}

struct walk {
    const struct x86_paging *pg;
    uint64_t la;
    uint32_t access;
    unsigned int maxphy;        /* MAXPHYADDR, 32..52 */
    struct x86_walk_result *res;
    struct x86_fault *fault;
};

/* Bits maxphy-1 .. lo of an address. */
static uint64_t bits_below(unsigned int maxphy, unsigned int lo)
{
    return ((1ull << maxphy) - 1) & ~((1ull << lo) - 1);
}

/* Bits hi .. lo inclusive. */
static uint64_t bit_range(unsigned int hi, unsigned int lo)
{
    return (hi >= 63 ? ~0ull : ((1ull << (hi + 1)) - 1)) & ~((1ull << lo) - 1);
}

static int page_fault(struct walk *w, uint32_t extra)
{
    const struct x86_paging *pg = w->pg;
    uint32_t ec = (w->access & (X86_PFEC_W | X86_PFEC_U)) | extra;

    /* I/D is reported only when NX or SMEP make fetches special (SDM vol. 3, 4.7). */
    if ((w->access & X86_PFEC_I) && ((pg->nxe && pg->mode != X86_PAGING_32) || pg->smep))
        ec |= X86_PFEC_I;
    w->fault->vector = X86_EXC_PF;
    w->fault->has_error_code = true;
    w->fault->error_code = ec;
    w->fault->cr2 = w->la;
    return -X86EMUL_EXCEPTION;
}

static int read_entry(struct walk *w, uint64_t gpa, unsigned int size, uint64_t *val)
{
    uint8_t buf[8] = { 0 };
    uint64_t v = 0;
    int rc = w->pg->read_phys(w->pg->priv, gpa, buf, size);

    if (rc)
        return rc < 0 ? rc : -X86EMUL_ERROR;
    for (unsigned int i = 0; i < size; i++)
        v |= (uint64_t)buf[i] << (8 * i);
    *val = v;
    return 0;
}

/* Fold one level's rights into the result: R/W and U/S must be 1 at every
   level, XD at any level forbids fetches (SDM vol. 3, 4.6.1). */
static void accumulate(struct walk *w, uint64_t e, bool has_xd)
{
    w->res->writable = w->res->writable && (e & PTE_RW);
    w->res->user = w->res->user && (e & PTE_US);
    if (has_xd && w->pg->nxe && (e & PTE_XD))
        w->res->nx = true;
}

/* Access rights of the final translation (SDM vol. 3, 4.6). */
static int check_rights(struct walk *w)
{
    const struct x86_paging *pg = w->pg;
    const struct x86_walk_result *r = w->res;
    bool write = w->access & X86_PFEC_W, fetch = w->access & X86_PFEC_I;

    if (w->access & X86_PFEC_U) {
        if (!r->user || (write && !r->writable) || (fetch && r->nx))
            return page_fault(w, X86_PFEC_P);
        return 0;
    }
    if (fetch) {
        if (r->nx || (pg->smep && r->user))
            return page_fault(w, X86_PFEC_P);
        return 0;
    }
    if (pg->smap && r->user && ((w->access & X86_WALK_IMPLICIT) || !pg->ac))
        return page_fault(w, X86_PFEC_P);
    if (write && !r->writable && pg->wp)
        return page_fault(w, X86_PFEC_P);
    return 0;
}

static int leaf(struct walk *w, uint64_t frame, uint64_t page_size)
{
    w->res->page_size = page_size;
    w->res->gpa = frame | (w->la & (page_size - 1));
    return check_rights(w);
}

/* 32-bit paging: 2 levels of 4-byte entries, 4 MiB pages with CR4.PSE (4.3). */
static int walk_32(struct walk *w)
{
    const struct x86_paging *pg = w->pg;
    uint64_t la, pde, pte;
    int rc;

    w->la = (uint32_t)w->la;            /* linear addresses (and CR2) are 32 bits */
    la = w->la;
    rc = read_entry(w, (pg->cr3 & 0xfffff000) | ((la >> 22) << 2), 4, &pde);
    if (rc)
        return rc;
    if (!(pde & PTE_P))
        return page_fault(w, 0);
    accumulate(w, pde, false);
    if (pg->pse && (pde & PTE_PS)) {
        /* PSE-36: PDE bits 20:13 are address bits 39:32 up to MAXPHYADDR,
           the rest of 21:13 is reserved (table 4-4). */
        unsigned int m = w->maxphy < 40 ? w->maxphy : 40;
        uint64_t rsvd = (1ull << 21) | bit_range(20, 13 + (m - 32));
        uint64_t frame;

        if (pde & rsvd)
            return page_fault(w, X86_PFEC_P | X86_PFEC_RSVD);
        frame = (pde & 0xffc00000) | (((pde >> 13) & 0xff) << 32);
        return leaf(w, frame & bits_below(m, 22), 4ull << 20);
    }
    rc = read_entry(w, (pde & 0xfffff000) | (((la >> 12) & 0x3ff) << 2), 4, &pte);
    if (rc)
        return rc;
    if (!(pte & PTE_P))
        return page_fault(w, 0);
    accumulate(w, pte, false);
    return leaf(w, pte & 0xfffff000, 4096);
}

/*
 * One 64-bit entry of PAE or IA-32e paging. level: 1 = PT ... 5 = PML5.
 * Returns 1 with *next = next table, 0 when a leaf completed the walk, or a
 * negative error / fault.
 */
static int walk_step(struct walk *w, uint64_t table, unsigned int level, uint64_t *next)
{
    const struct x86_paging *pg = w->pg;
    unsigned int shift = 12 + 9 * (level - 1);
    bool pae = pg->mode == X86_PAGING_PAE;
    uint64_t e, rsvd;
    int rc = read_entry(w, table + ((w->la >> shift) & 511) * 8, 8, &e);

    if (rc)
        return rc;
    if (!(e & PTE_P))
        return page_fault(w, 0);
    /* Tables 4-8..4-11 (PAE: 62:M reserved) and 4-14..4-20 (IA-32e: 51:M). */
    rsvd = pae ? bit_range(62, w->maxphy) : bit_range(51, w->maxphy);
    if (!pg->nxe)
        rsvd |= PTE_XD;
    if (level >= 4 || (level == 3 && !pg->gbpages))
        rsvd |= PTE_PS;                 /* no pages at PML5/PML4 (nor 1 GiB without support) */
    else if (level == 3 && (e & PTE_PS))
        rsvd |= bit_range(29, 13);      /* 1 GiB page: address bits 29:12 are 0 except PAT */
    else if (level == 2 && (e & PTE_PS))
        rsvd |= bit_range(20, 13);      /* 2 MiB page */
    if (e & rsvd)
        return page_fault(w, X86_PFEC_P | X86_PFEC_RSVD);
    accumulate(w, e, true);
    if (level == 1)
        return leaf(w, e & bits_below(w->maxphy, 12), 4096);
    if (level <= 3 && (e & PTE_PS))
        return leaf(w, e & bits_below(w->maxphy, shift), 1ull << shift);
    *next = e & bits_below(w->maxphy, 12);
    return 1;
}

/* PAE: the 4 PDPTEs come from registers loaded at MOV CR3 (4.4.1). */
static int walk_pae(struct walk *w)
{
    const struct x86_paging *pg = w->pg;
    unsigned int idx = (unsigned int)((uint32_t)w->la >> 30);
    uint64_t pdpte, table;
    int rc;

    w->la = (uint32_t)w->la;
    if (pg->pdptrs_valid) {
        pdpte = pg->pdptr[idx];
    } else {
        rc = read_entry(w, (pg->cr3 & 0xffffffe0) + idx * 8, 8, &pdpte);
        if (rc)
            return rc;
    }
    if (!(pdpte & PTE_P))
        return page_fault(w, 0);
    /* PDPTE bits 2:1, 8:5 and 63:M are reserved (table 4-8); no rights bits. */
    if (pdpte & (bit_range(63, w->maxphy) | 0x1e6))
        return page_fault(w, X86_PFEC_P | X86_PFEC_RSVD);
    table = pdpte & bits_below(w->maxphy, 12);
    for (unsigned int level = 2; level >= 1; level--) {
        rc = walk_step(w, table, level, &table);
        if (rc <= 0)
            return rc;
    }
    return -X86EMUL_BAD;                /* unreachable: level 1 is always a leaf */
}

static int walk_long(struct walk *w, unsigned int levels)
{
    unsigned int va_bits = levels == 5 ? 57 : 48, shift = 64 - va_bits;
    uint64_t table = w->pg->cr3 & bits_below(w->maxphy, 12);
    int rc;

    /* A non-canonical address is #GP(0), not #PF (SDM vol. 3, 4.5). */
    if ((uint64_t)((int64_t)(w->la << shift) >> shift) != w->la) {
        w->fault->vector = X86_EXC_GP;
        w->fault->has_error_code = true;
        w->fault->error_code = 0;
        w->fault->cr2 = 0;
        return -X86EMUL_EXCEPTION;
    }
    for (unsigned int level = levels; level >= 1; level--) {
        rc = walk_step(w, table, level, &table);
        if (rc <= 0)
            return rc;
    }
    return -X86EMUL_BAD;
}

int x86_walk(const struct x86_paging *pg, uint64_t la, uint32_t access,
             struct x86_walk_result *res, struct x86_fault *fault)
{
    struct walk w;
    unsigned int maxphy;

    if (pg == NULL || res == NULL || fault == NULL)
        return -X86EMUL_BAD;
    maxphy = pg->maxphyaddr ? pg->maxphyaddr : 52;
    if (maxphy < 32 || maxphy > 52)
        return -X86EMUL_BAD;
    res->gpa = 0;
    res->page_size = 4096;
    res->writable = true;
    res->user = true;
    res->nx = false;
    if (pg->mode == X86_PAGING_NONE) {
        res->gpa = (uint32_t)la;        /* linear == physical, 32-bit (4.1.1) */
        return 0;
    }
    if (pg->read_phys == NULL)
        return -X86EMUL_BAD;
    w.pg = pg;
    w.la = la;
    w.access = access;
    w.maxphy = maxphy;
    w.res = res;
    w.fault = fault;
    switch (pg->mode) {
    case X86_PAGING_32:     return walk_32(&w);
    case X86_PAGING_PAE:    return walk_pae(&w);
    case X86_PAGING_4LEVEL: return walk_long(&w, 4);
    case X86_PAGING_5LEVEL: return walk_long(&w, 5);
    default:                return -X86EMUL_BAD;
    }
}
