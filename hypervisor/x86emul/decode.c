/*
 * x86 instruction decoder: a pure function from bytes to struct x86_insn.
 *
 * Layout of an instruction (SDM vol. 2, 2.1, figure 2-1):
 *   legacy prefixes, REX (64-bit mode), opcode (1-3 bytes), ModRM, SIB,
 *   displacement, immediate — at most 15 bytes (SDM vol. 2, 2.3.11).
 * VEX (2.3) and EVEX (2.7) encodings are decoded for length and fields only.
 *
 * The bytes are guest memory and hostile: every read goes through
 * cursor_byte(), which refuses to go past the 15-byte limit or the buffer.
 *
 * Where vendors differ, this follows Intel: a 66 prefix on a near branch in
 * 64-bit mode is ignored (SDM vol. 2, 2.2.1.3 "f64"), whereas AMD would take
 * a rel16 (APM vol. 3, 1.2.2). Guests do not take exits on branches.
 */
#include <proxenos/x86emul.h>
#include "decode_tables.h"

struct cursor {
    const uint8_t *bytes;
    size_t avail;
    size_t pos;
};

/* The 15-byte check comes first: a longer run of prefixes is #GP even when
   the caller only had 10 bytes to give us (SDM vol. 2, 2.3.11). */
static int cursor_byte(struct cursor *c, uint8_t *b)
{
    if (c->pos >= X86_MAX_INSN_LEN)
        return -X86EMUL_BAD;
    if (c->pos >= c->avail)
        return -X86EMUL_TRUNCATED;
    *b = c->bytes[c->pos++];
    return 0;
}

/* Look at the next byte without consuming it (VEX/EVEX vs LES/LDS/BOUND). */
static int cursor_peek(const struct cursor *c, uint8_t *b)
{
    if (c->pos >= X86_MAX_INSN_LEN)
        return -X86EMUL_BAD;
    if (c->pos >= c->avail)
        return -X86EMUL_TRUNCATED;
    *b = c->bytes[c->pos];
    return 0;
}

/* Little-endian field of n bytes (n <= 8), zero-extended. */
static int cursor_le(struct cursor *c, unsigned int n, uint64_t *val)
{
    uint64_t v = 0;

    for (unsigned int i = 0; i < n; i++) {
        uint8_t b;
        int rc = cursor_byte(c, &b);

        if (rc)
            return rc;
        v |= (uint64_t)b << (8 * i);
    }
    *val = v;
    return 0;
}

static uint64_t sign_extend(uint64_t v, unsigned int bytes)
{
    unsigned int shift;

    if (bytes == 0 || bytes >= 8)
        return v;
    shift = 64 - 8 * bytes;
    return (uint64_t)((int64_t)(v << shift) >> shift);
}

/* Decoder state beyond what struct x86_insn exposes. */
struct dstate {
    struct cursor c;
    struct x86_insn *insn;
    uint16_t attr;
    uint8_t rex_w, rex_r, rex_x, rex_b;   /* from REX or VEX/EVEX, 0/1 each */
};

/* ------------------------------------------------------------------------- */
/* Prefixes                                                                   */
/* ------------------------------------------------------------------------- */

static int seg_prefix(uint8_t b)
{
    switch (b) {
    case 0x26: return X86_SEG_ES;
    case 0x2e: return X86_SEG_CS;
    case 0x36: return X86_SEG_SS;
    case 0x3e: return X86_SEG_DS;
    case 0x64: return X86_SEG_FS;
    case 0x65: return X86_SEG_GS;
    default:   return -1;
    }
}

/*
 * Consume legacy prefixes and REX; leave the first opcode byte in *op.
 * A REX prefix counts only when it immediately precedes the opcode: one
 * followed by a legacy prefix is ignored (SDM vol. 2, 2.2.1), and of several
 * REX bytes in a row only the last one applies.
 */
static int decode_prefixes(struct dstate *s, uint8_t *op)
{
    struct x86_insn *insn = s->insn;

    for (;;) {
        uint8_t b;
        int seg, rc = cursor_byte(&s->c, &b);

        if (rc)
            return rc;
        seg = seg_prefix(b);
        if (seg >= 0) {
            insn->seg_override = (uint8_t)seg;
            insn->prefixes |= X86_PFX_SEG;
        } else if (b == 0x66) {
            insn->prefixes |= X86_PFX_OPSIZE;
        } else if (b == 0x67) {
            insn->prefixes |= X86_PFX_ADSIZE;
        } else if (b == 0xf0) {
            insn->prefixes |= X86_PFX_LOCK;
        } else if (b == 0xf2 || b == 0xf3) {
            insn->prefixes |= b == 0xf2 ? X86_PFX_REPNE : X86_PFX_REP;
            insn->rep = b;   /* the last of F2/F3 is the one that counts */
        } else if (insn->mode == X86_MODE_64 && (b & 0xf0) == 0x40) {
            insn->rex = b;
            continue;        /* keep it: it may be right before the opcode */
        } else {
            *op = b;
            return 0;
        }
        insn->rex = 0;       /* a legacy prefix after REX cancels the REX */
    }
}

/* ------------------------------------------------------------------------- */
/* Sizes                                                                      */
/* ------------------------------------------------------------------------- */

/* Operand size (SDM vol. 1, 3.6.1 table 3-4; vol. 2, 2.2.1.2). */
static uint8_t operand_size(const struct dstate *s)
{
    const struct x86_insn *insn = s->insn;
    bool p66 = insn->prefixes & X86_PFX_OPSIZE;
    uint8_t size;

    if (s->attr & X86A_B)
        return 1;
    if (s->attr & X86A_CRDR)   /* MOV CR/DR: 32 or 64 bits by mode, 66 ignored */
        return insn->mode == X86_MODE_64 ? 8 : 4;
    if (insn->mode == X86_MODE_64) {
        if ((s->attr & X86A_F64) || s->rex_w)
            size = 8;
        else if (p66)
            size = 2;
        else
            size = (s->attr & X86A_D64) ? 8 : 4;
    } else if (insn->mode == X86_MODE_32) {
        size = p66 ? 2 : 4;
    } else {
        size = p66 ? 4 : 2;
    }
    if ((s->attr & X86A_IO) && size > 4)   /* IN/OUT/INS/OUTS: REX.W ignored */
        size = 4;
    return size;
}

/* Address size (SDM vol. 1, 3.6.1; 67h toggles, 64-bit mode gives 32). */
static uint8_t address_size(const struct x86_insn *insn)
{
    bool p67 = insn->prefixes & X86_PFX_ADSIZE;

    switch (insn->mode) {
    case X86_MODE_64: return p67 ? 4 : 8;
    case X86_MODE_32: return p67 ? 2 : 4;
    default:          return p67 ? 4 : 2;
    }
}

/* ------------------------------------------------------------------------- */
/* ModRM / SIB / displacement                                                 */
/* ------------------------------------------------------------------------- */

static int read_disp(struct dstate *s, unsigned int n)
{
    uint64_t v;
    int rc = cursor_le(&s->c, n, &v);

    if (rc)
        return rc;
    s->insn->disp_size = (uint8_t)n;
    s->insn->mem.disp = (int64_t)sign_extend(v, n);
    return 0;
}

/* 16-bit addressing forms (SDM vol. 2, 2.1.5 table 2-1). */
static int decode_mem16(struct dstate *s)
{
    static const uint8_t base16[8] = {
        X86_REG_RBX, X86_REG_RBX, X86_REG_RBP, X86_REG_RBP,
        X86_REG_NONE, X86_REG_NONE, X86_REG_RBP, X86_REG_RBX,
    };
    static const uint8_t index16[8] = {
        X86_REG_RSI, X86_REG_RDI, X86_REG_RSI, X86_REG_RDI,
        X86_REG_RSI, X86_REG_RDI, X86_REG_NONE, X86_REG_NONE,
    };
    struct x86_insn *insn = s->insn;
    unsigned int rm = insn->modrm & 7;

    insn->mem.base = base16[rm];
    insn->mem.index = index16[rm];
    insn->mem.scale = 1;
    if (insn->mod == 0 && rm == 6) {   /* [disp16] */
        insn->mem.base = X86_REG_NONE;
        return read_disp(s, 2);
    }
    if (insn->mod == 1)
        return read_disp(s, 1);
    if (insn->mod == 2)
        return read_disp(s, 2);
    return 0;
}

/* 32/64-bit addressing forms (SDM vol. 2, 2.1.5 tables 2-2 and 2-3, 2.2.1.6). */
static int decode_mem32(struct dstate *s)
{
    struct x86_insn *insn = s->insn;
    unsigned int rm = insn->modrm & 7;
    int rc;

    insn->mem.index = X86_REG_NONE;
    insn->mem.scale = 1;
    if (rm == 4) {
        uint8_t sib;
        unsigned int index, base;

        rc = cursor_byte(&s->c, &sib);
        if (rc)
            return rc;
        insn->has_sib = true;
        insn->sib = sib;
        insn->mem.scale = (uint8_t)(1u << (sib >> 6));
        index = ((sib >> 3) & 7) | (s->rex_x << 3);
        base = (sib & 7) | (s->rex_b << 3);
        /* index 100b means none, but REX.X makes it R12 (table 2-3 note). */
        insn->mem.index = index == 4 ? X86_REG_NONE : (uint8_t)index;
        /* base 101b with mod 00 means disp32 and no base, for RBP and R13 alike. */
        if ((sib & 7) == 5 && insn->mod == 0) {
            insn->mem.base = X86_REG_NONE;
            return read_disp(s, 4);
        }
        insn->mem.base = (uint8_t)base;
    } else if (rm == 5 && insn->mod == 0) {
        /* disp32: RIP-relative in 64-bit mode (2.2.1.6), absolute otherwise. */
        insn->mem.base = insn->mode == X86_MODE_64 ? X86_REG_RIP : X86_REG_NONE;
        return read_disp(s, 4);
    } else {
        insn->mem.base = (uint8_t)(rm | (s->rex_b << 3));
    }
    if (insn->mod == 1)
        return read_disp(s, 1);
    if (insn->mod == 2)
        return read_disp(s, 4);
    return 0;
}

/* Default segment: SS for rBP/rSP-based forms, DS otherwise (SDM vol. 1, 3.7.4.1). */
static uint8_t default_segment(const struct x86_insn *insn)
{
    if (insn->mem.base == X86_REG_RBP || insn->mem.base == X86_REG_RSP)
        return X86_SEG_SS;
    return X86_SEG_DS;
}

static void apply_segment(struct x86_insn *insn)
{
    insn->mem.seg = insn->seg_override != X86_SEG_NONE ? insn->seg_override
                                                       : default_segment(insn);
}

static int decode_modrm_operand(struct dstate *s)
{
    struct x86_insn *insn = s->insn;
    int rc;

    insn->rm = insn->modrm & 7;
    if (s->attr & X86A_CRDR) {
        /* MOV CR/DR ignore mod and always name registers: no SIB, no disp
           (SDM vol. 2, MOV—Move to/from Control Registers). */
        insn->mod = 3;
        insn->flags |= X86_INSN_MODRM_REG_ONLY;
    }
    if (insn->mod == 3) {
        if (s->attr & X86A_MONLY)
            return -X86EMUL_BAD;
        insn->rm |= (uint8_t)(s->rex_b << 3);
        return 0;
    }
    insn->has_mem = true;
    rc = insn->adsize == 2 ? decode_mem16(s) : decode_mem32(s);
    if (rc)
        return rc;
    apply_segment(insn);
    return 0;
}

static int fetch_modrm(struct dstate *s)
{
    struct x86_insn *insn = s->insn;
    uint8_t modrm;
    int rc = cursor_byte(&s->c, &modrm);

    if (rc)
        return rc;
    insn->has_modrm = true;
    insn->modrm = modrm;
    insn->mod = modrm >> 6;
    insn->reg = (uint8_t)(((modrm >> 3) & 7) | (s->rex_r << 3));
    return 0;
}

/* ------------------------------------------------------------------------- */
/* Groups: attributes that depend on ModRM.reg (SDM vol. 2, table A-6)        */
/* ------------------------------------------------------------------------- */

static int refine_map1_group(struct dstate *s)
{
    struct x86_insn *insn = s->insn;
    unsigned int r = (insn->modrm >> 3) & 7;

    switch (insn->opcode) {
    case 0x80: case 0x81: case 0x82: case 0x83:
        if (r != 7)                     /* all but CMP are lockable */
            s->attr |= X86A_LK;
        return 0;
    case 0x8f:                          /* /1-/7: AMD XOP, not decoded */
        return r == 0 ? 0 : -X86EMUL_UNHANDLED;
    case 0xc6:
        if (r == 0)
            return 0;
        return insn->modrm == 0xf8 ? 0 : -X86EMUL_UNHANDLED;   /* XABORT ib */
    case 0xc7:
        if (r == 0)
            return 0;
        if (insn->modrm != 0xf8)
            return -X86EMUL_UNHANDLED;
        s->attr |= X86A_F64;            /* XBEGIN rel16/32 */
        return 0;
    case 0xf6: case 0xf7:
        if (r <= 1)                     /* TEST Ex, imm */
            s->attr |= insn->opcode == 0xf6 ? X86A_IB : X86A_IZ;
        else if (r <= 3)                /* NOT, NEG */
            s->attr |= X86A_LK;
        return 0;
    case 0xfe:
        if (r > 1)
            return -X86EMUL_UNHANDLED;
        s->attr |= X86A_LK;
        return 0;
    case 0xff:
        switch (r) {
        case 0: case 1: s->attr |= X86A_LK; return 0;         /* INC, DEC */
        case 2: case 4: s->attr |= X86A_F64; return 0;        /* near CALL, JMP */
        case 3: case 5: s->attr |= X86A_MONLY; return 0;      /* far CALL, JMP */
        case 6: s->attr |= X86A_D64; return 0;                /* PUSH */
        default: return -X86EMUL_UNHANDLED;
        }
    default:
        return 0;
    }
}

static int refine_map0f_group(struct dstate *s)
{
    struct x86_insn *insn = s->insn;
    unsigned int r = (insn->modrm >> 3) & 7;

    if (insn->opcode == 0xba) {         /* group 8: /4 BT, /5 BTS, /6 BTR, /7 BTC */
        if (r < 4)
            return -X86EMUL_UNHANDLED;
        if (r > 4)
            s->attr |= X86A_LK;
    } else if (insn->opcode == 0xc7 && r == 1) {
        s->attr |= X86A_MONLY | X86A_LK; /* CMPXCHG8B/16B */
    }
    return 0;
}

/* ------------------------------------------------------------------------- */
/* Immediates                                                                 */
/* ------------------------------------------------------------------------- */

static int read_imm(struct dstate *s, unsigned int n)
{
    uint64_t v;
    int rc = cursor_le(&s->c, n, &v);

    if (rc)
        return rc;
    s->insn->imm_size = (uint8_t)n;
    s->insn->imm = sign_extend(v, n);
    return 0;
}

static int read_imm2(struct dstate *s, unsigned int n)
{
    int rc = cursor_le(&s->c, n, &s->insn->imm2);

    if (rc == 0)
        s->insn->imm2_size = (uint8_t)n;
    return rc;
}

static int decode_immediates(struct dstate *s)
{
    struct x86_insn *insn = s->insn;
    unsigned int z = insn->opsize == 2 ? 2 : 4;
    int rc;

    switch (X86A_IMM(s->attr)) {
    case X86A_IMM_B:
        return read_imm(s, 1);
    case X86A_IMM_W:
        return read_imm(s, 2);
    case X86A_IMM_Z:
        return read_imm(s, z);
    case X86A_IMM_V:
        return read_imm(s, insn->opsize);
    case X86A_IMM_MOFFS: {
        /* An absolute offset of address size: zero-extended, no ModRM. */
        uint64_t off;

        rc = cursor_le(&s->c, insn->adsize, &off);
        if (rc)
            return rc;
        insn->has_mem = true;
        insn->disp_size = insn->adsize;
        insn->mem.base = X86_REG_NONE;
        insn->mem.index = X86_REG_NONE;
        insn->mem.scale = 1;
        insn->mem.disp = (int64_t)off;
        apply_segment(insn);
        return 0;
    }
    case X86A_IMM_WB:                   /* ENTER Iw, Ib */
        rc = read_imm(s, 2);
        return rc ? rc : read_imm2(s, 1);
    case X86A_IMM_AP:                   /* ptr16:16 / ptr16:32 */
        rc = read_imm(s, z);
        return rc ? rc : read_imm2(s, 2);
    case X86A_IMM_BB:                   /* EXTRQ/INSERTQ length, index */
        rc = read_imm(s, 1);
        return rc ? rc : read_imm2(s, 1);
    default:
        return 0;
    }
}

/* ------------------------------------------------------------------------- */
/* Opcode bytes                                                               */
/* ------------------------------------------------------------------------- */

/*
 * VEX (C4/C5, SDM vol. 2, 2.3.5) and EVEX (62, 2.7.1). Outside 64-bit mode
 * these bytes are LES/LDS/BOUND unless the next byte has mod == 11b, which
 * those instructions cannot encode. Returns 1 if the bytes are legacy.
 */
static int decode_vex_evex(struct dstate *s, uint8_t op)
{
    struct x86_insn *insn = s->insn;
    bool m64 = insn->mode == X86_MODE_64;
    uint8_t b1, b2 = 0, b3 = 0, map;
    int rc = cursor_peek(&s->c, &b1);

    if (rc)
        return rc;
    if (!m64 && (b1 & 0xc0) != 0xc0)
        return 1;
    /* VEX/EVEX after 66, F2, F3, LOCK or REX is #UD (2.3.2). */
    if ((insn->prefixes & (X86_PFX_OPSIZE | X86_PFX_REP | X86_PFX_REPNE | X86_PFX_LOCK)) ||
        insn->rex)
        return -X86EMUL_BAD;
    s->c.pos++;
    if (op != 0xc5 && (rc = cursor_byte(&s->c, &b2)) != 0)
        return rc;
    if (op == 0x62 && (rc = cursor_byte(&s->c, &b3)) != 0)
        return rc;

    if (op == 0xc5) {                   /* R vvvv L pp, map 0F */
        s->rex_r = m64 ? !(b1 & 0x80) : 0;
        map = X86_MAP_0F;
        b2 = b1 & 0x7f;                 /* same vvvv L pp layout as byte 2 of C4 */
    } else {                            /* R X B (R') mmmmm ; W vvvv L/1 pp */
        s->rex_r = m64 ? !(b1 & 0x80) : 0;
        s->rex_x = m64 ? !(b1 & 0x40) : 0;
        s->rex_b = m64 ? !(b1 & 0x20) : 0;
        map = b1 & (op == 0x62 ? 0x07 : 0x1f);
        s->rex_w = b2 >> 7;
        if (op == 0x62 && ((b1 & 0x08) || !(b2 & 0x04)))
            return -X86EMUL_BAD;        /* EVEX fixed bits (2.7.1 figure 2-11) */
    }
    if (map < X86_MAP_0F || map > X86_MAP_0F3A)
        return -X86EMUL_UNHANDLED;
    insn->encoding = op == 0x62 ? X86_ENC_EVEX : X86_ENC_VEX;
    insn->map = map;
    insn->vex_w = s->rex_w;
    insn->vex_vvvv = (uint8_t)((~b2 >> 3) & 0xf);
    insn->vex_pp = b2 & 3;
    insn->vex_l = op == 0x62 ? (uint8_t)((b3 >> 5) & 3) : (uint8_t)((b2 >> 2) & 1);
    if (op == 0x62)
        insn->flags |= X86_INSN_DISP8N;

    rc = cursor_byte(&s->c, &insn->opcode);
    if (rc)
        return rc;
    /* VZEROUPPER/VZEROALL (VEX 0F 77) are the only ones without ModRM. */
    s->attr = X86A_V | X86A_M;
    if (map == X86_MAP_0F && insn->opcode == 0x77 && op != 0x62)
        s->attr = X86A_V;
    if (map == X86_MAP_0F3A)
        s->attr |= X86A_IB;
    else if (map == X86_MAP_0F)
        s->attr |= x86_map0f_attr[insn->opcode] & X86A_IMM_MASK;
    return 0;
}

/* 0F escapes: 0F xx, 0F 38 xx, 0F 3A xx, 0F 0F (3DNow!). */
static int decode_escape(struct dstate *s)
{
    struct x86_insn *insn = s->insn;
    uint8_t b;
    int rc = cursor_byte(&s->c, &b);

    if (rc)
        return rc;
    if (b == 0x38 || b == 0x3a) {
        insn->map = b == 0x38 ? X86_MAP_0F38 : X86_MAP_0F3A;
        rc = cursor_byte(&s->c, &insn->opcode);
        if (rc)
            return rc;
        /* Every 0F 38 opcode has ModRM; every 0F 3A one also an Ib (A.3 tables ). */
        s->attr = X86A_V | X86A_M | (b == 0x3a ? X86A_IB : 0);
        return 0;
    }
    if (b == 0x0f) {
        /* 3DNow!: 0F 0F ModRM [SIB] [disp] opcode-suffix (AMD 3DNow! manual). */
        insn->map = X86_MAP_3DNOW;
        s->attr = X86A_V | X86A_M | X86A_IB;
        return 0;
    }
    insn->map = X86_MAP_0F;
    insn->opcode = b;
    s->attr = x86_map0f_attr[b];
    /* AMD SSE4a EXTRQ/INSERTQ (66 / F2 0F 78) carry two Ib where VMREAD has none. */
    if (b == 0x78 && (insn->rep == 0xf2 || (insn->prefixes & X86_PFX_OPSIZE)))
        s->attr = X86A_V | X86A_M | X86A_BB;
    return 0;
}

static int decode_opcode(struct dstate *s, uint8_t op)
{
    struct x86_insn *insn = s->insn;
    int rc;

    if (op == 0x0f)
        return decode_escape(s);
    if (op == 0xc4 || op == 0xc5 || op == 0x62) {
        rc = decode_vex_evex(s, op);
        if (rc <= 0)
            return rc;
    }
    insn->map = X86_MAP_1BYTE;
    insn->opcode = op;
    s->attr = x86_map1_attr[op];
    return 0;
}

/* LOCK needs a lockable opcode and a memory destination (SDM vol. 2, LOCK). */
static int check_lock(struct dstate *s)
{
    struct x86_insn *insn = s->insn;

    if (!(insn->prefixes & X86_PFX_LOCK))
        return 0;
    if (insn->encoding == X86_ENC_LEGACY && insn->map == X86_MAP_0F &&
        (insn->opcode == 0x20 || insn->opcode == 0x22) && insn->mode != X86_MODE_64) {
        /* AMD's alternate CR8 encoding for 32-bit code (APM vol. 3, MOV CRn). */
        insn->flags |= X86_INSN_CR8_ALT;
        return 0;
    }
    if (!(s->attr & X86A_LK) || !insn->has_mem)
        return -X86EMUL_BAD;
    return 0;
}

static void fill_defaults(struct x86_insn *insn, enum x86_mode mode)
{
    __builtin_memset(insn, 0, sizeof(*insn));
    insn->mode = (uint8_t)mode;
    insn->seg_override = X86_SEG_NONE;
    insn->mem.seg = X86_SEG_NONE;
    insn->mem.base = X86_REG_NONE;
    insn->mem.index = X86_REG_NONE;
    insn->mem.scale = 1;
}

static int decode_body(struct dstate *s)
{
    struct x86_insn *insn = s->insn;
    uint8_t op;
    int rc;

    rc = decode_prefixes(s, &op);
    if (rc)
        return rc;
    s->rex_w = (insn->rex >> 3) & 1;
    s->rex_r = (insn->rex >> 2) & 1;
    s->rex_x = (insn->rex >> 1) & 1;
    s->rex_b = insn->rex & 1;
    rc = decode_opcode(s, op);
    if (rc)
        return rc;
    if (!(s->attr & X86A_V))
        return -X86EMUL_UNHANDLED;
    if ((s->attr & X86A_I64) && insn->mode == X86_MODE_64)
        return -X86EMUL_BAD;
    if (s->attr & X86A_I64)
        insn->flags |= X86_INSN_INV64;

    insn->adsize = address_size(insn);
    if (s->attr & X86A_M) {
        rc = fetch_modrm(s);
        if (rc)
            return rc;
        if (s->attr & X86A_GRP) {
            rc = insn->map == X86_MAP_1BYTE ? refine_map1_group(s) : refine_map0f_group(s);
            if (rc)
                return rc;
        }
    }
    insn->opsize = operand_size(s);
    if (insn->map == X86_MAP_0F && insn->opcode == 0xc7 && (s->attr & X86A_LK))
        insn->opsize = s->rex_w ? 16 : 8;         /* CMPXCHG8B / CMPXCHG16B */
    if (insn->map == X86_MAP_1BYTE && insn->encoding == X86_ENC_LEGACY &&
        ((insn->opcode == 0x63 && insn->mode != X86_MODE_64) || insn->opcode == 0x8e ||
         (insn->opcode == 0x8c && insn->mod != 3)))
        insn->opsize = 2;                          /* ARPL Ew,Gw; MOV Sw,Ew; MOV Mw,Sw */
    if (s->attr & X86A_STR)
        insn->flags |= X86_INSN_STRING;
    if (s->attr & X86A_LK)
        insn->flags |= X86_INSN_LOCKABLE;

    if (s->attr & X86A_M) {
        rc = decode_modrm_operand(s);
        if (rc)
            return rc;
    }
    rc = decode_immediates(s);
    if (rc)
        return rc;
    if (insn->map == X86_MAP_3DNOW)
        insn->opcode = (uint8_t)insn->imm;
    return check_lock(s);
}

int x86_decode(const uint8_t *bytes, size_t avail, enum x86_mode mode,
               struct x86_insn *out)
{
    struct dstate s;
    int rc;

    if (out == NULL)
        return -X86EMUL_BAD;
    fill_defaults(out, mode);
    if (bytes == NULL || mode > X86_MODE_64)
        return -X86EMUL_BAD;
    s.c.bytes = bytes;
    s.c.avail = avail;
    s.c.pos = 0;
    s.insn = out;
    s.attr = 0;
    s.rex_w = s.rex_r = s.rex_x = s.rex_b = 0;

    rc = decode_body(&s);
    if (rc)
        return rc;
    out->len = (uint8_t)s.c.pos;
    return 0;
}
