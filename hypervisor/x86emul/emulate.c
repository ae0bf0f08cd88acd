/*
 * Emulation of memory-operand instructions, for MMIO exits.
 *
 * The CPU told us which guest-physical address faulted (EPT violation, SDM
 * vol. 3, 28.3.3.2; nested page fault EXITINFO2, APM vol. 2, 15.25.6); the
 * instruction bytes were fetched from the guest afterwards and may have been
 * rewritten by another vCPU in between, so nothing about the instruction is
 * trusted: its memory operand is recomputed from the registers and checked
 * against the faulting address before the device sees the access.
 *
 * Routing of each memory access:
 *  - with ops->linear_to_phys, the access is translated and goes to the
 *    device if it lands on the faulting page, to read/write_linear otherwise;
 *  - without it, the one memory operand of the instruction is taken to be
 *    the faulting access, provided its page offset matches the fault (page
 *    offsets survive every translation, SDM vol. 3, 4.3-4.5); MOVS, with two
 *    memory operands, is then not emulated.
 * A device access never crosses a page: such accesses give UNHANDLED.
 *
 * Register results follow SDM vol. 1, 3.4.1.1: 32-bit destinations are
 * zero-extended to 64 bits, 8/16-bit ones merge, AH/CH/DH/BH are bytes 1 of
 * RAX..RBX when no REX prefix is present. All work is done on a copy of the
 * registers, written back only when the instruction (or one REP iteration)
 * completed, so a fault leaves the guest state as the CPU would.
 */
#include <proxenos/x86emul.h>
#include "alu.h"

/* Internal: a REP loop must stop before this iteration (never returned). */
#define E_STOP (-100)

#define PAGE_OFFSET_MASK 0xfffull

struct emul {
    struct x86emul_ctx *ctx;
    const struct x86_insn *insn;
    struct x86emul_regs *out;   /* the caller's registers */
    struct x86emul_regs r;      /* working copy */
    bool anchored;              /* sole memory operand matched the fault */
    uint64_t anchor_la;
};

/* A memory access target. */
struct memop {
    uint64_t la;
    uint8_t seg;
    bool sole;                  /* the instruction's only memory operand */
};

/* ------------------------------------------------------------------------- */
/* Registers                                                                  */
/* ------------------------------------------------------------------------- */

static uint64_t reg_get(const struct emul *e, unsigned int reg, unsigned int size)
{
    reg &= X86_NR_GPRS - 1;
    if (size == 1 && x86_insn_is_high_byte(e->insn, reg))
        return (e->r.gpr[reg - 4] >> 8) & 0xff;
    return e->r.gpr[reg] & x86_size_mask(size);
}

static void reg_set(struct emul *e, unsigned int reg, unsigned int size, uint64_t val)
{
    uint64_t *g;

    reg &= X86_NR_GPRS - 1;
    g = &e->r.gpr[reg];
    if (size == 1 && x86_insn_is_high_byte(e->insn, reg)) {
        g = &e->r.gpr[reg - 4];
        *g = (*g & ~0xff00ull) | ((val & 0xff) << 8);
    } else if (size == 1 || size == 2) {
        *g = (*g & ~x86_size_mask(size)) | (val & x86_size_mask(size));
    } else if (size == 4) {
        *g = (uint32_t)val;     /* zero-extends (SDM vol. 1, 3.4.1.1) */
    } else {
        *g = val;
    }
}

/* rSI/rDI/rCX updated at address size (SDM vol. 2, MOVS/STOS/LODS, REP). */
static void adreg_set(struct emul *e, unsigned int reg, uint64_t val)
{
    unsigned int ad = e->insn->adsize;

    e->r.gpr[reg] = ad == 2 ? (e->r.gpr[reg] & ~0xffffull) | (val & 0xffff)
                  : ad == 4 ? (uint32_t)val : val;
}

static uint64_t sign_extend(uint64_t v, unsigned int size)
{
    unsigned int shift = 64 - 8 * size;

    return size >= 8 ? v : (uint64_t)((int64_t)(v << shift) >> shift);
}

/* ------------------------------------------------------------------------- */
/* Addresses                                                                  */
/* ------------------------------------------------------------------------- */

/* Segment base applies to all segments except in 64-bit mode, where only FS
   and GS have one (SDM vol. 1, 3.4.2.1); outside it addresses wrap at 4 GiB. */
static uint64_t seg_linear(const struct x86emul_ctx *ctx, unsigned int seg, uint64_t ea)
{
    uint64_t base = seg < X86_NR_SEGS ? ctx->seg_base[seg] : 0;

    if (ctx->mode == X86_MODE_64)
        return (seg == X86_SEG_FS || seg == X86_SEG_GS) ? base + ea : ea;
    return (uint32_t)(base + ea);
}

static uint64_t insn_ea(const struct x86emul_regs *regs, const struct x86_insn *insn)
{
    const struct x86_mem *m = &insn->mem;
    uint64_t ea = (uint64_t)m->disp;

    if (m->base == X86_REG_RIP)
        ea += regs->rip + insn->len;          /* next instruction (SDM vol. 2, 2.2.1.6) */
    else if (m->base < X86_NR_GPRS)
        ea += regs->gpr[m->base];
    if (m->index < X86_NR_GPRS)
        ea += regs->gpr[m->index] * m->scale;
    return ea & x86_size_mask(insn->adsize);
}

uint64_t x86_insn_linear_address(const struct x86emul_ctx *ctx,
                                 const struct x86emul_regs *regs,
                                 const struct x86_insn *insn)
{
    return seg_linear(ctx, insn->mem.seg, insn_ea(regs, insn));
}

static struct memop modrm_op(const struct emul *e)
{
    struct memop m = {
        .la = x86_insn_linear_address(e->ctx, &e->r, e->insn),
        .seg = e->insn->mem.seg,
        .sole = true,
    };
    return m;
}

static bool canonical(uint64_t la, bool la57)
{
    unsigned int shift = la57 ? 7 : 16;

    return (uint64_t)((int64_t)(la << shift) >> shift) == la;
}

/* Non-canonical: #SS(0) for stack references, #GP(0) otherwise (SDM vol. 3, 6.15). */
static int check_canonical(struct emul *e, const struct memop *m, unsigned int size)
{
    struct x86emul_ctx *ctx = e->ctx;

    if (ctx->mode != X86_MODE_64)
        return 0;
    if (canonical(m->la, ctx->la57) && canonical(m->la + size - 1, ctx->la57))
        return 0;
    ctx->fault.vector = m->seg == X86_SEG_SS ? X86_EXC_SS : X86_EXC_GP;
    ctx->fault.has_error_code = true;
    ctx->fault.error_code = 0;
    ctx->fault.cr2 = 0;
    return -X86EMUL_EXCEPTION;
}

/* ------------------------------------------------------------------------- */
/* Memory                                                                     */
/* ------------------------------------------------------------------------- */

/* Callbacks return 0 or a negative X86EMUL_* code; anything else is a bug on
   their side, reported as a failure rather than mistaken for success (or for
   the internal E_STOP). */
static int cb_rc(int rc)
{
    return (rc > 0 || rc < -X86EMUL_ERROR) ? -X86EMUL_ERROR : rc;
}

static bool crosses_page(uint64_t la, unsigned int size)
{
    return (la & PAGE_OFFSET_MASK) + size > PAGE_OFFSET_MASK + 1;
}

static bool on_mmio_page(const struct emul *e, uint64_t gpa)
{
    return (gpa >> 12) == (e->ctx->mmio_gpa >> 12);
}

static int route_translated(struct emul *e, uint64_t la, unsigned int size, bool write,
                            bool *mmio, uint64_t *gpa)
{
    const struct x86emul_ops *ops = e->ctx->ops;
    uint32_t access = (write ? X86_PFEC_W : 0) | (e->ctx->cpl == 3 ? X86_PFEC_U : 0);
    int rc = cb_rc(ops->linear_to_phys(e->ctx, la, access, gpa));

    if (rc)
        return rc;
    *mmio = on_mmio_page(e, *gpa);
    if (crosses_page(la, size)) {
        uint64_t next_la = (la | PAGE_OFFSET_MASK) + 1, gpa2;

        if (e->ctx->mode != X86_MODE_64)
            next_la = (uint32_t)next_la;
        rc = cb_rc(ops->linear_to_phys(e->ctx, next_la, access, &gpa2));
        if (rc)
            return rc;
        if (*mmio || on_mmio_page(e, gpa2))
            return -X86EMUL_UNHANDLED;   /* a device access split over two pages */
    }
    return 0;
}

/* Without translation: the sole memory operand is the faulting access. */
static int route_anchored(struct emul *e, uint64_t la, unsigned int size,
                          bool *mmio, uint64_t *gpa)
{
    if (!e->anchored) {
        if ((la ^ e->ctx->mmio_gpa) & PAGE_OFFSET_MASK)
            return -X86EMUL_UNHANDLED;   /* not the access that faulted */
        e->anchored = true;
        e->anchor_la = la;
    } else if ((la >> 12) != (e->anchor_la >> 12)) {
        return E_STOP;                   /* a later REP iteration left the page */
    }
    if (crosses_page(la, size))
        return -X86EMUL_UNHANDLED;
    *mmio = true;
    *gpa = (e->ctx->mmio_gpa & ~PAGE_OFFSET_MASK) | (la & PAGE_OFFSET_MASK);
    return 0;
}

static int route(struct emul *e, const struct memop *m, unsigned int size, bool write,
                 bool *mmio, uint64_t *gpa)
{
    int rc = check_canonical(e, m, size);

    if (rc)
        return rc;
    if (e->ctx->ops->linear_to_phys)
        return route_translated(e, m->la, size, write, mmio, gpa);
    if (m->sole)
        return route_anchored(e, m->la, size, mmio, gpa);
    *mmio = false;
    *gpa = 0;
    return 0;
}

static int mem_read(struct emul *e, const struct memop *m, unsigned int size, uint64_t *val)
{
    const struct x86emul_ops *ops = e->ctx->ops;
    uint8_t buf[8] = { 0 };
    uint64_t gpa, v = 0;
    bool mmio;
    int rc;

    if (size == 0 || size > 8)
        return -X86EMUL_UNHANDLED;
    rc = route(e, m, size, false, &mmio, &gpa);
    if (rc)
        return rc;
    if (mmio) {
        if (!ops->mmio_read)
            return -X86EMUL_UNHANDLED;
        rc = cb_rc(ops->mmio_read(e->ctx, gpa, size, &v));
    } else {
        if (!ops->read_linear)
            return -X86EMUL_UNHANDLED;
        rc = cb_rc(ops->read_linear(e->ctx, m->la, buf, size));
        for (unsigned int i = 0; i < size; i++)
            v |= (uint64_t)buf[i] << (8 * i);
    }
    if (rc)
        return rc;
    *val = v & x86_size_mask(size);
    return 0;
}

static int mem_write(struct emul *e, const struct memop *m, unsigned int size, uint64_t val)
{
    const struct x86emul_ops *ops = e->ctx->ops;
    uint8_t buf[8];
    uint64_t gpa;
    bool mmio;
    int rc;

    if (size == 0 || size > 8)
        return -X86EMUL_UNHANDLED;
    rc = route(e, m, size, true, &mmio, &gpa);
    if (rc)
        return rc;
    val &= x86_size_mask(size);
    if (mmio)
        return ops->mmio_write ? cb_rc(ops->mmio_write(e->ctx, gpa, size, val))
                               : -X86EMUL_UNHANDLED;
    if (!ops->write_linear)
        return -X86EMUL_UNHANDLED;
    for (unsigned int i = 0; i < size; i++)
        buf[i] = (uint8_t)(val >> (8 * i));
    return cb_rc(ops->write_linear(e->ctx, m->la, buf, size));
}

/* ------------------------------------------------------------------------- */
/* Instructions with a ModRM or moffs memory operand                          */
/* ------------------------------------------------------------------------- */

/* ALU Ex,Gx (memory destination) and Gx,Ex (register destination). */
static int op_alu_reg(struct emul *e, enum x86_alu_op alu, bool to_reg)
{
    const struct x86_insn *insn = e->insn;
    unsigned int size = insn->opsize;
    struct memop m = modrm_op(e);
    uint64_t mv, rv = reg_get(e, insn->reg, size), res;
    int rc = mem_read(e, &m, size, &mv);

    if (rc)
        return rc;
    if (to_reg) {
        res = x86_alu(alu, rv, mv, size, &e->r.rflags);
        if (alu != X86_ALU_CMP)
            reg_set(e, insn->reg, size, res);
        return 0;
    }
    res = x86_alu(alu, mv, rv, size, &e->r.rflags);
    return alu == X86_ALU_CMP ? 0 : mem_write(e, &m, size, res);
}

/* Group 1 (80-83) Ex,imm and TEST Ex,imm (F6/F7 /0 /1). */
static int op_alu_imm(struct emul *e, enum x86_alu_op alu, bool test)
{
    unsigned int size = e->insn->opsize;
    struct memop m = modrm_op(e);
    uint64_t mv, res;
    int rc = mem_read(e, &m, size, &mv);

    if (rc)
        return rc;
    res = x86_alu(test ? X86_ALU_AND : alu, mv, e->insn->imm, size, &e->r.rflags);
    if (test || alu == X86_ALU_CMP)
        return 0;
    return mem_write(e, &m, size, res);
}

static int op_test_reg(struct emul *e)
{
    unsigned int size = e->insn->opsize;
    struct memop m = modrm_op(e);
    uint64_t mv;
    int rc = mem_read(e, &m, size, &mv);

    if (rc == 0)
        x86_alu(X86_ALU_AND, mv, reg_get(e, e->insn->reg, size), size, &e->r.rflags);
    return rc;
}

/* XCHG is implicitly locked; the device model serialises its own accesses. */
static int op_xchg(struct emul *e)
{
    unsigned int size = e->insn->opsize;
    struct memop m = modrm_op(e);
    uint64_t mv;
    int rc = mem_read(e, &m, size, &mv);

    if (rc == 0)
        rc = mem_write(e, &m, size, reg_get(e, e->insn->reg, size));
    if (rc == 0)
        reg_set(e, e->insn->reg, size, mv);
    return rc;
}

static int op_store(struct emul *e, uint64_t val)
{
    struct memop m = modrm_op(e);

    return mem_write(e, &m, e->insn->opsize, val);
}

/* Load src_size bytes into reg at operand size, zero- or sign-extended. */
static int op_load(struct emul *e, unsigned int reg, unsigned int src_size, bool sx)
{
    struct memop m = modrm_op(e);
    uint64_t v;
    int rc = mem_read(e, &m, src_size, &v);

    if (rc)
        return rc;
    reg_set(e, reg, e->insn->opsize, sx ? sign_extend(v, src_size) : v);
    return 0;
}

/* NOT, NEG, INC, DEC on memory. */
static int op_unary(struct emul *e, unsigned int which)
{
    unsigned int size = e->insn->opsize;
    struct memop m = modrm_op(e);
    uint64_t v;
    int rc = mem_read(e, &m, size, &v);

    if (rc)
        return rc;
    switch (which) {
    case 0:  v = x86_alu_inc(v, size, &e->r.rflags); break;
    case 1:  v = x86_alu_dec(v, size, &e->r.rflags); break;
    case 2:  v = ~v; break;                 /* NOT: flags unaffected */
    default: v = x86_alu_neg(v, size, &e->r.rflags); break;
    }
    return mem_write(e, &m, size, v);
}

/*
 * BT/BTS/BTR/BTC (kind 0-3). With a register bit offset the operand is a bit
 * string: the offset is signed and selects a different operand-sized word
 * (SDM vol. 2, BT, "bit base / bit offset"); with an immediate it is taken
 * modulo the operand size.
 */
static int op_bt(struct emul *e, unsigned int kind, bool imm)
{
    const struct x86_insn *insn = e->insn;
    unsigned int size = insn->opsize, bits = 8 * size, shift = size == 2 ? 4 : size == 4 ? 5 : 6;
    struct memop m = modrm_op(e);
    uint64_t v, mask;
    unsigned int bit;
    int rc;

    if (imm) {
        bit = (unsigned int)(insn->imm & (bits - 1));
    } else {
        int64_t off = (int64_t)sign_extend(reg_get(e, insn->reg, size), size);
        uint64_t ea = insn_ea(&e->r, insn) + (uint64_t)((off >> shift) * (int64_t)size);

        bit = (unsigned int)(off & (bits - 1));
        m.la = seg_linear(e->ctx, m.seg, ea & x86_size_mask(insn->adsize));
    }
    rc = mem_read(e, &m, size, &v);
    if (rc)
        return rc;
    mask = 1ull << bit;
    e->r.rflags = (e->r.rflags & ~(uint64_t)X86_FLAGS_CF) | ((v & mask) ? X86_FLAGS_CF : 0);
    switch (kind) {
    case 0: return 0;
    case 1: v |= mask; break;
    case 2: v &= ~mask; break;
    default: v ^= mask; break;
    }
    return mem_write(e, &m, size, v);
}

/*
 * CMPXCHG: on a mismatch the CPU also writes the old value back (SDM vol. 2,
 * CMPXCHG); we do not, since a write cycle to a device register can have
 * side effects the guest did not ask for.
 */
static int op_cmpxchg(struct emul *e)
{
    unsigned int size = e->insn->opsize;
    struct memop m = modrm_op(e);
    uint64_t mv, acc = reg_get(e, X86_REG_RAX, size);
    int rc = mem_read(e, &m, size, &mv);

    if (rc)
        return rc;
    x86_alu(X86_ALU_CMP, acc, mv, size, &e->r.rflags);
    if (acc == mv)
        return mem_write(e, &m, size, reg_get(e, e->insn->reg, size));
    reg_set(e, X86_REG_RAX, size, mv);
    return 0;
}

static int op_xadd(struct emul *e)
{
    unsigned int size = e->insn->opsize;
    struct memop m = modrm_op(e);
    uint64_t mv, sum;
    int rc = mem_read(e, &m, size, &mv);

    if (rc)
        return rc;
    sum = x86_alu(X86_ALU_ADD, mv, reg_get(e, e->insn->reg, size), size, &e->r.rflags);
    rc = mem_write(e, &m, size, sum);
    if (rc == 0)
        reg_set(e, e->insn->reg, size, mv);
    return rc;
}

/* CMOVcc reads its source whatever the condition, and a 32-bit destination is
   zero-extended even when nothing moves (SDM vol. 2, CMOVcc). */
static int op_cmov(struct emul *e)
{
    unsigned int size = e->insn->opsize;
    struct memop m = modrm_op(e);
    uint64_t v;
    int rc = mem_read(e, &m, size, &v);

    if (rc)
        return rc;
    if (!x86_cond(e->insn->opcode & 0xf, e->r.rflags))
        v = reg_get(e, e->insn->reg, size);
    reg_set(e, e->insn->reg, size, v);
    return 0;
}

static int op_moffs(struct emul *e)
{
    unsigned int size = e->insn->opsize;
    struct memop m = modrm_op(e);
    uint64_t v;
    int rc;

    if (e->insn->opcode >= 0xa2)
        return mem_write(e, &m, size, reg_get(e, X86_REG_RAX, size));
    rc = mem_read(e, &m, size, &v);
    if (rc == 0)
        reg_set(e, X86_REG_RAX, size, v);
    return rc;
}

static int emulate_map1(struct emul *e)
{
    const struct x86_insn *insn = e->insn;
    uint8_t op = insn->opcode;
    unsigned int r = insn->reg & 7;

    if (op < 0x40 && (op & 7) < 4)      /* ADD..CMP, forms Ex,Gx and Gx,Ex */
        return op_alu_reg(e, (enum x86_alu_op)(op >> 3), op & 2);
    switch (op) {
    case 0x80: case 0x81: case 0x82: case 0x83:
        return op_alu_imm(e, (enum x86_alu_op)r, false);
    case 0x84: case 0x85:
        return op_test_reg(e);
    case 0x86: case 0x87:
        return op_xchg(e);
    case 0x88: case 0x89:
        return op_store(e, reg_get(e, insn->reg, insn->opsize));
    case 0x8a: case 0x8b:
        return op_load(e, insn->reg, insn->opsize, false);
    case 0x63:                          /* MOVSXD; ARPL outside 64-bit mode */
        if (insn->mode != X86_MODE_64)
            return -X86EMUL_UNHANDLED;
        return op_load(e, insn->reg, insn->opsize > 4 ? 4 : insn->opsize, true);
    case 0xa0: case 0xa1: case 0xa2: case 0xa3:
        return op_moffs(e);
    case 0xc6: case 0xc7:
        return r == 0 ? op_store(e, insn->imm) : -X86EMUL_UNHANDLED;
    case 0xf6: case 0xf7:
        if (r <= 1)
            return op_alu_imm(e, X86_ALU_AND, true);
        return r <= 3 ? op_unary(e, r) : -X86EMUL_UNHANDLED;
    case 0xfe: case 0xff:
        return r <= 1 ? op_unary(e, r) : -X86EMUL_UNHANDLED;
    default:
        return -X86EMUL_UNHANDLED;
    }
}

static int emulate_map0f(struct emul *e)
{
    const struct x86_insn *insn = e->insn;
    uint8_t op = insn->opcode;

    if (op >= 0x40 && op <= 0x4f)
        return op_cmov(e);
    if (op >= 0x90 && op <= 0x9f) {     /* SETcc Eb */
        struct memop m = modrm_op(e);

        return mem_write(e, &m, 1, x86_cond(op & 0xf, e->r.rflags) ? 1 : 0);
    }
    switch (op) {
    case 0xb6: case 0xb7:               /* MOVZX Gv, Eb/Ew */
        return op_load(e, insn->reg, op == 0xb6 ? 1 : 2, false);
    case 0xbe: case 0xbf:               /* MOVSX Gv, Eb/Ew */
        return op_load(e, insn->reg, op == 0xbe ? 1 : 2, true);
    case 0xa3: return op_bt(e, 0, false);
    case 0xab: return op_bt(e, 1, false);
    case 0xb3: return op_bt(e, 2, false);
    case 0xbb: return op_bt(e, 3, false);
    case 0xba:                          /* group 8: /4 BT ... /7 BTC */
        if ((insn->reg & 7) < 4)
            return -X86EMUL_UNHANDLED;
        return op_bt(e, (insn->reg & 7) - 4, true);
    case 0xb0: case 0xb1:
        return op_cmpxchg(e);
    case 0xc0: case 0xc1:
        return op_xadd(e);
    case 0xc3:                          /* MOVNTI My, Gy: a plain store here */
        if (insn->opsize < 4)
            return -X86EMUL_BAD;        /* 66 0F C3 is #UD */
        return op_store(e, reg_get(e, insn->reg, insn->opsize));
    default:
        return -X86EMUL_UNHANDLED;
    }
}

/* ------------------------------------------------------------------------- */
/* String instructions                                                        */
/* ------------------------------------------------------------------------- */

/* One iteration of MOVS (A4/A5), STOS (AA/AB) or LODS (AC/AD). */
static int string_step(struct emul *e, uint8_t op)
{
    const struct x86_insn *insn = e->insn;
    unsigned int size = insn->opsize;
    uint64_t admask = x86_size_mask(insn->adsize);
    uint64_t rsi = e->r.gpr[X86_REG_RSI] & admask, rdi = e->r.gpr[X86_REG_RDI] & admask;
    uint64_t delta = (e->r.rflags & X86_FLAGS_DF) ? (uint64_t)-(int64_t)size : size;
    /* Source DS:rSI may be overridden; destination ES:rDI may not (SDM vol. 2, MOVS). */
    uint8_t sseg = insn->seg_override != X86_SEG_NONE ? insn->seg_override : X86_SEG_DS;
    struct memop src = { seg_linear(e->ctx, sseg, rsi), sseg, op != 0xa4 };
    struct memop dst = { seg_linear(e->ctx, X86_SEG_ES, rdi), X86_SEG_ES, op != 0xa4 };
    uint64_t v;
    int rc;

    if (op == 0xaa) {
        rc = mem_write(e, &dst, size, reg_get(e, X86_REG_RAX, size));
    } else {
        rc = mem_read(e, &src, size, &v);
        if (rc == 0 && op == 0xa4)
            rc = mem_write(e, &dst, size, v);
        else if (rc == 0)
            reg_set(e, X86_REG_RAX, size, v);
    }
    if (rc)
        return rc;
    if (op != 0xaa)
        adreg_set(e, X86_REG_RSI, rsi + delta);
    if (op != 0xac)
        adreg_set(e, X86_REG_RDI, rdi + delta);
    if (insn->rep)
        adreg_set(e, X86_REG_RCX, (e->r.gpr[X86_REG_RCX] & admask) - 1);
    return 0;
}

static void finish(struct emul *e)
{
    uint64_t rip = e->r.rip + e->insn->len;

    if (e->insn->mode == X86_MODE_32)
        rip = (uint32_t)rip;
    else if (e->insn->mode == X86_MODE_16)
        rip &= 0xffff;
    e->r.rip = rip;
    /* RF is cleared once an instruction completes (SDM vol. 3, 18.3.1.1). */
    e->r.rflags &= ~(uint64_t)X86_FLAGS_RF;
    *e->out = e->r;
}

/*
 * REP: up to ctx->max_reps iterations per call, each committed as it
 * completes. If rCX is not exhausted RIP stays put and the guest re-executes
 * the instruction, exactly as after an interrupt between iterations (SDM
 * vol. 2, REP): a hostile rCX costs bounded work per exit.
 */
static int emulate_string(struct emul *e)
{
    const struct x86_insn *insn = e->insn;
    uint8_t op = insn->opcode & 0xfe;
    uint64_t admask = x86_size_mask(insn->adsize);
    uint32_t budget = e->ctx->max_reps ? e->ctx->max_reps : 1;

    if (op != 0xa4 && op != 0xaa && op != 0xac)
        return -X86EMUL_UNHANDLED;      /* CMPS, SCAS, INS, OUTS */
    if (op == 0xa4 && !e->ctx->ops->linear_to_phys)
        return -X86EMUL_UNHANDLED;
    for (;;) {
        int rc;

        if (insn->rep && (e->r.gpr[X86_REG_RCX] & admask) == 0)
            break;
        rc = string_step(e, op);
        if (rc == E_STOP)
            return 0;                   /* next iteration is off the page */
        if (rc)
            return rc;
        *e->out = e->r;
        if (!insn->rep)
            break;
        if ((e->r.gpr[X86_REG_RCX] & admask) == 0)
            break;
        if (--budget == 0)
            return 0;
    }
    finish(e);
    return 0;
}

/* The decoder produced insn, but it may come from elsewhere: recheck what
   indexes arrays or sizes accesses. */
static bool insn_sane(const struct x86emul_ctx *ctx, const struct x86_insn *insn)
{
    unsigned int os = insn->opsize, as = insn->adsize;

    return insn->mode == ctx->mode && insn->len >= 1 && insn->len <= X86_MAX_INSN_LEN &&
           (os == 1 || os == 2 || os == 4 || os == 8) &&
           (as == 2 || as == 4 || as == 8) && insn->reg < X86_NR_GPRS &&
           insn->mem.scale >= 1 && insn->mem.scale <= 8 &&
           (insn->mem.seg < X86_NR_SEGS || !insn->has_mem);
}

int x86_emulate(struct x86emul_ctx *ctx, struct x86emul_regs *regs,
                const struct x86_insn *insn)
{
    struct emul e;
    int rc;

    if (ctx == NULL || ctx->ops == NULL || regs == NULL || insn == NULL)
        return -X86EMUL_BAD;
    if (insn->encoding != X86_ENC_LEGACY)
        return -X86EMUL_UNHANDLED;      /* VEX/EVEX: no vector registers here */
    if (!insn_sane(ctx, insn))
        return -X86EMUL_BAD;
    e.ctx = ctx;
    e.insn = insn;
    e.out = regs;
    e.r = *regs;
    e.anchored = false;
    e.anchor_la = 0;

    if (insn->flags & X86_INSN_STRING)
        return emulate_string(&e);
    if (!insn->has_mem)
        return -X86EMUL_UNHANDLED;      /* MMIO never faults on a register form */
    if (insn->map == X86_MAP_1BYTE)
        rc = emulate_map1(&e);
    else if (insn->map == X86_MAP_0F)
        rc = emulate_map0f(&e);
    else
        rc = -X86EMUL_UNHANDLED;
    if (rc == E_STOP)
        rc = -X86EMUL_UNHANDLED;
    if (rc)
        return rc;
    finish(&e);
    return 0;
}
