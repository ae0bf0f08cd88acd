/*
 * Instruction fetch through the guest's page tables, then decode.
 *
 * An instruction may straddle two pages. The CPU faults on the second page
 * only if the instruction really extends into it, so the bytes of the first
 * page are decoded on their own first, and the second page is walked only
 * when the decoder asks for more (SDM vol. 3, 6.15 "#PF": fetches are
 * checked for the bytes actually fetched).
 */
#include <proxenos/x86emul.h>

#define PAGE_SIZE_4K 4096u

/* Fetch n bytes at la, which all lie in one page. */
static int fetch_chunk(const struct x86_paging *pg, uint64_t la, uint32_t access,
                       uint8_t *buf, unsigned int n, struct x86_fault *fault)
{
    struct x86_walk_result res;
    int rc = x86_walk(pg, la, access, &res, fault);

    if (rc)
        return rc;
    if (pg->read_phys == NULL)
        return -X86EMUL_BAD;
    rc = pg->read_phys(pg->priv, res.gpa, buf, n);
    return rc > 0 ? -X86EMUL_ERROR : rc;
}

int x86_fetch_decode(const struct x86_paging *pg, uint64_t la, enum x86_mode mode,
                     bool user, struct x86_insn *insn, struct x86_fault *fault)
{
    uint8_t buf[X86_MAX_INSN_LEN];
    uint32_t access = X86_PFEC_I | (user ? X86_PFEC_U : 0);
    unsigned int first;
    int rc;

    if (pg == NULL || insn == NULL || fault == NULL)
        return -X86EMUL_BAD;
    if (mode != X86_MODE_64)
        la = (uint32_t)la;              /* linear addresses wrap at 4 GiB */
    first = PAGE_SIZE_4K - (unsigned int)(la & (PAGE_SIZE_4K - 1));
    if (first > X86_MAX_INSN_LEN)
        first = X86_MAX_INSN_LEN;

    rc = fetch_chunk(pg, la, access, buf, first, fault);
    if (rc)
        return rc;
    rc = x86_decode(buf, first, mode, insn);
    if (rc != -X86EMUL_TRUNCATED || first == X86_MAX_INSN_LEN)
        return rc;

    la += first;
    if (mode != X86_MODE_64)
        la = (uint32_t)la;
    rc = fetch_chunk(pg, la, access, buf + first, X86_MAX_INSN_LEN - first, fault);
    if (rc)
        return rc;
    return x86_decode(buf, X86_MAX_INSN_LEN, mode, insn);
}
