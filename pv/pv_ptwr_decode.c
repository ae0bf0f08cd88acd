/*
 * The pure half of writable page tables (pv_ptwr.h): which instruction
 * wrote to a read-only page-table entry, and what it does to the entry.
 * No CPU, no guest memory: host unit tests link it as it is
 * (tests/unit/test_pv_ptwr.c).
 *
 * Instruction formats: SDM vol. 2A 2.1 (prefixes, ModR/M, SIB,
 * displacement), 2.2.1 (REX; byte registers SPL-DIL need it, AH-BH
 * exclude it), and the opcode pages named in pv_ptwr.h. Flags: SDM vol. 1
 * 3.4.3 and each instruction's "Flags Affected".
 */
#include "pv_ptwr.h"

#define F_CF (1ULL << 0)
#define F_PF (1ULL << 2)
#define F_ZF (1ULL << 6)
#define F_SF (1ULL << 7)
#define F_OF (1ULL << 11)

/* Bytes of ModR/M + SIB + displacement for a memory operand (mod != 3);
   0 for a register operand or when cut short. */
static unsigned int modrm_len(const uint8_t *b, size_t n)
{
    unsigned int mod = b[0] >> 6, rm = b[0] & 7, len = 1;

    if (mod == 3)
        return 0;
    if (rm == 4) {                          /* SIB */
        if (n < 2)
            return 0;
        len++;
        if (mod == 0 && (b[1] & 7) == 5)
            return len + 4;                 /* no base: disp32 */
    } else if (mod == 0 && rm == 5) {
        return len + 4;                     /* RIP-relative disp32 */
    }
    return len + (mod == 1 ? 1 : mod == 2 ? 4 : 0);
}

/* What an opcode (after 0F if two_byte) does: the operation, whether its
   operand is a byte, the immediate's size (0: register source), and
   whether ModR/M.reg selects the operation (group opcodes). */
struct opinfo {
    enum pv_ptwr_op op;
    bool byte;
    unsigned int imm;
    bool group;
};

static const enum pv_ptwr_op alu_group[8] = {
    [1] = PTWR_OR, [4] = PTWR_AND, [6] = PTWR_XOR,
};
static const enum pv_ptwr_op bt_group[8] = {
    [5] = PTWR_BTS, [6] = PTWR_BTR, [7] = PTWR_BTC,
};

static bool opcode(const uint8_t *b, size_t n, bool two_byte, struct opinfo *o)
{
    *o = (struct opinfo){ PTWR_NONE, false, 0, false };
    if (two_byte) {
        switch (b[0]) {
        case 0xb0: *o = (struct opinfo){ PTWR_CMPXCHG, true, 0, false }; break;
        case 0xb1: *o = (struct opinfo){ PTWR_CMPXCHG, false, 0, false }; break;
        case 0xab: *o = (struct opinfo){ PTWR_BTS, false, 0, false }; break;
        case 0xb3: *o = (struct opinfo){ PTWR_BTR, false, 0, false }; break;
        case 0xbb: *o = (struct opinfo){ PTWR_BTC, false, 0, false }; break;
        case 0xba: *o = (struct opinfo){ PTWR_NONE, false, 1, true }; break;
        default: return false;
        }
    } else {
        switch (b[0]) {
        case 0x88: *o = (struct opinfo){ PTWR_MOV, true, 0, false }; break;
        case 0x89: *o = (struct opinfo){ PTWR_MOV, false, 0, false }; break;
        case 0xc6: *o = (struct opinfo){ PTWR_MOV, true, 1, true }; break;
        case 0xc7: *o = (struct opinfo){ PTWR_MOV, false, 4, true }; break;
        case 0x86: *o = (struct opinfo){ PTWR_XCHG, true, 0, false }; break;
        case 0x87: *o = (struct opinfo){ PTWR_XCHG, false, 0, false }; break;
        case 0x08: *o = (struct opinfo){ PTWR_OR, true, 0, false }; break;
        case 0x09: *o = (struct opinfo){ PTWR_OR, false, 0, false }; break;
        case 0x20: *o = (struct opinfo){ PTWR_AND, true, 0, false }; break;
        case 0x21: *o = (struct opinfo){ PTWR_AND, false, 0, false }; break;
        case 0x30: *o = (struct opinfo){ PTWR_XOR, true, 0, false }; break;
        case 0x31: *o = (struct opinfo){ PTWR_XOR, false, 0, false }; break;
        case 0x80: *o = (struct opinfo){ PTWR_NONE, true, 1, true }; break;
        case 0x81: *o = (struct opinfo){ PTWR_NONE, false, 4, true }; break;
        case 0x83: *o = (struct opinfo){ PTWR_NONE, false, 1, true }; break;
        default: return false;
        }
    }
    if (o->group) {
        unsigned int sub;

        if (n < 2)
            return false;
        sub = (b[1] >> 3) & 7;
        if (two_byte)
            o->op = bt_group[sub];
        else if (b[0] == 0xc6 || b[0] == 0xc7)
            o->op = sub == 0 ? PTWR_MOV : PTWR_NONE;
        else
            o->op = alu_group[sub];
    }
    return o->op != PTWR_NONE;
}

static uint64_t read_imm(const uint8_t *b, unsigned int size)
{
    uint64_t v = 0;

    for (unsigned int i = 0; i < size; i++)
        v |= (uint64_t)b[i] << (8 * i);
    if (size == 1)
        return (uint64_t)(int64_t)(int8_t)v;
    if (size == 2)
        return (uint64_t)(int64_t)(int16_t)v;
    return (uint64_t)(int64_t)(int32_t)v;  /* sign-extended, as REX.W uses it */
}

int pv_ptwr_decode(const uint8_t *b, size_t n, struct pv_ptwr_insn *out)
{
    unsigned int i = 0, rex = 0, ml, imm;
    bool lock = false, opsize16 = false, two_byte = false;
    struct opinfo o;

    *out = (struct pv_ptwr_insn){ 0 };
    if (n > PV_PTWR_INSN_MAX)
        n = PV_PTWR_INSN_MAX;
    for (;; i++) {                          /* legacy prefixes, any order */
        if (i >= n)
            return -1;
        if (b[i] == 0xf0)
            lock = true;
        else if (b[i] == 0x66)
            opsize16 = true;
        else if (b[i] != 0x2e && b[i] != 0x36 && b[i] != 0x3e && b[i] != 0x26)
            break;                          /* CS/SS/DS/ES overrides: no effect in 64-bit mode */
    }
    if ((b[i] & 0xf0) == 0x40)              /* REX, right before the opcode */
        rex = b[i++];
    if (i < n && b[i] == 0x0f) {
        two_byte = true;
        i++;
    }
    if (i >= n || !opcode(b + i, n - i, two_byte, &o) || (lock && o.op == PTWR_MOV))
        return -1;
    i++;
    ml = i < n ? modrm_len(b + i, n - i) : 0;
    if (!ml || i + ml > n)
        return -1;                          /* a register operand, or cut short */
    out->op = o.op;
    out->reg = ((b[i] >> 3) & 7) | ((rex & 4) ? 8 : 0);
    out->byte_high = o.byte && !rex && out->reg >= 4;
    out->bytes = o.byte ? 1 : (rex & 8) ? 8 : opsize16 ? 2 : 4;
    i += ml;
    imm = o.imm == 4 && out->bytes == 2 ? 2 : o.imm;
    if (imm) {
        if (i + imm > n)
            return -1;
        out->src_imm = true;
        out->imm = read_imm(b + i, imm);
        i += imm;
    }
    out->len = i;
    return 0;
}

static uint64_t size_mask(unsigned int bytes)
{
    return bytes >= 8 ? ~0ULL : (1ULL << (8 * bytes)) - 1;
}

/* PF ZF SF of a logic result (CF and OF cleared). */
static uint64_t logic_flags(uint64_t v, unsigned int bytes)
{
    uint64_t f = 0;

    if (!(__builtin_popcount((unsigned int)(v & 0xff)) & 1))
        f |= F_PF;
    if (!v)
        f |= F_ZF;
    if (v >> (8 * bytes - 1) & 1)
        f |= F_SF;
    return f;
}

void pv_ptwr_apply(const struct pv_ptwr_insn *in, uint64_t old, uint64_t src, uint64_t rax,
                   struct pv_ptwr_result *out)
{
    uint64_t m = size_mask(in->bytes), bit = 0;

    old &= m;
    src &= m;
    *out = (struct pv_ptwr_result){ .write = true, .val = old };
    if (in->op >= PTWR_BTS)
        bit = src & (8 * in->bytes - 1);
    switch (in->op) {
    case PTWR_MOV:
        out->val = src;
        break;
    case PTWR_XCHG:
        out->val = src;
        out->set_reg = true;
        out->reg_val = old;
        break;
    case PTWR_CMPXCHG:
        out->flags_mask = F_ZF;
        if ((rax & m) == old) {
            out->val = src;
            out->flags = F_ZF;
        } else {
            out->write = false;
            out->set_reg = true;
            out->reg_val = old;
        }
        break;
    case PTWR_AND:
    case PTWR_OR:
    case PTWR_XOR:
        out->val = in->op == PTWR_AND ? old & src : in->op == PTWR_OR ? old | src : old ^ src;
        out->flags_mask = F_CF | F_PF | F_ZF | F_SF | F_OF;
        out->flags = logic_flags(out->val, in->bytes);
        break;
    case PTWR_BTS:
    case PTWR_BTR:
    case PTWR_BTC:
        out->flags_mask = F_CF;
        out->flags = (old >> bit) & 1 ? F_CF : 0;
        out->val = in->op == PTWR_BTS ? old | (1ULL << bit)
                 : in->op == PTWR_BTR ? old & ~(1ULL << bit) : old ^ (1ULL << bit);
        break;
    default:
        out->write = false;
        break;
    }
}

int pv_ptwr_merge(uint64_t old, uint64_t val, unsigned int offset, unsigned int bytes,
                  uint64_t *out)
{
    uint64_t m;

    if ((bytes != 1 && bytes != 2 && bytes != 4 && bytes != 8) || offset + bytes > 8 ||
        (offset & (bytes - 1)))
        return -1;                          /* not naturally aligned within one entry */
    m = size_mask(bytes) << (offset * 8);
    *out = (old & ~m) | ((val << (offset * 8)) & m);
    return 0;
}
