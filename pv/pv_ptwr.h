/*
 * Writable page tables for 64-bit PV guests (VMASST_TYPE_writable_pagetables,
 * Xen's ptwr): the guest kernel writes an entry of one of its L1 page
 * tables as if it were writable; the write faults on the read-only
 * mapping and the hypervisor completes it as an MMU_NORMAL_PT_UPDATE of
 * that entry, validated like any other. Linux relies on it while it builds
 * its early page tables (xen_set_pte_init writes PTEs directly) and for
 * the bit operations on PTEs of its generic mm code (clear_bit of RW when
 * fork write-protects, test_and_clear_bit of A when reclaim ages pages).
 *
 * Xen runs its whole instruction emulator; here the instructions that
 * write memory in those ways are decoded (pure, host unit-tested:
 * pv/pv_ptwr_decode.c) and their effect computed on the entry:
 *   MOV r/m,r (88/89)  MOV r/m,imm (C6/C7 /0)  XCHG (86/87)  CMPXCHG (0F B0/B1)
 *   AND/OR/XOR r/m,imm (80/81/83 /4 /1 /6)  AND/OR/XOR r/m,r (20/21 08/09 30/31)
 *   BTS/BTR/BTC r/m,imm8 (0F BA /5 /6 /7) and r/m,r (0F AB/B3/BB)
 * with LOCK, segment (not FS/GS), 66 and REX prefixes. pv/pv_ptwr.c is the
 * fault path.
 */
#ifndef PV_PTWR_H
#define PV_PTWR_H

#include <proxenos/types.h>

#define PV_PTWR_INSN_MAX 15

enum pv_ptwr_op {
    PTWR_NONE,
    PTWR_MOV,           /* operand = src */
    PTWR_XCHG,          /* operand = src, reg = old */
    PTWR_CMPXCHG,       /* operand = src if rAX == old, else rAX = old */
    PTWR_AND, PTWR_OR, PTWR_XOR,
    PTWR_BTS, PTWR_BTR, PTWR_BTC,
};

struct pv_ptwr_insn {
    enum pv_ptwr_op op;
    unsigned int len;   /* bytes, prefixes included */
    unsigned int bytes; /* operand size: 1, 2, 4 or 8 */
    bool src_imm;       /* the source is imm (sign-extended), not register reg */
    unsigned int reg;   /* source register, SDM numbering 0-15 (byte ops: 0-15 with REX) */
    bool byte_high;     /* a byte register AH/CH/DH/BH (no REX, reg 4-7) */
    uint64_t imm;
};

/* Decodes the n bytes at the faulting RIP: 0, or -1 for anything else
   (register operands, other opcodes or prefixes, cut short). */
int pv_ptwr_decode(const uint8_t *b, size_t n, struct pv_ptwr_insn *out);

/* The outcome of one instruction on its memory operand. */
struct pv_ptwr_result {
    uint64_t val;       /* the operand's new value (when write) */
    bool write;         /* false: memory unchanged (a failed CMPXCHG) */
    bool set_reg;       /* XCHG: reg = old; CMPXCHG failed: rAX = old */
    uint64_t reg_val;
    uint64_t flags_mask, flags;  /* RFLAGS bits to replace, and their values */
};

/* Applies in to the operand's old value, with src the source (the
   register's or the immediate) and rax for CMPXCHG; all truncated to the
   operand size. */
void pv_ptwr_apply(const struct pv_ptwr_insn *in, uint64_t old, uint64_t src, uint64_t rax,
                   struct pv_ptwr_result *out);

/* The 8-byte entry after writing `bytes` of val at byte `offset` of the
   entry old: 0, or -1 if the write does not lie naturally aligned within
   the entry. */
int pv_ptwr_merge(uint64_t old, uint64_t val, unsigned int offset, unsigned int bytes,
                  uint64_t *out);

struct vcpu;
struct cpu_regs;

/* A #PF the guest kernel took writing at cr2: completed as a page-table
   update (true: RIP moved on), or not one (false: bounce the fault). */
bool pv_ptwr_fault(struct vcpu *v, struct cpu_regs *r, uint64_t cr2);

#endif
