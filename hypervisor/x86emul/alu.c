/*
 * Integer ALU with the status flags the SDM defines for ADD, ADC, SUB, SBB,
 * CMP, AND, OR, XOR, TEST, INC, DEC and NEG (SDM vol. 1, 3.4.3.1 and each
 * instruction's "Flags Affected"). Computed from the operand bits, without
 * wider arithmetic, so 64-bit operands need no special case:
 *   carry out of the top bit  = (a & b) | ((a | b) & ~r)
 *   borrow out of the top bit = (~a & b) | ((~a | b) & r)
 *   AF: the same at bit 3, seen as (a ^ b ^ r) bit 4.
 * AF is undefined after the logical operations: we clear it, as the
 * processors we know of do.
 */
#include <proxenos/x86emul.h>
#include "alu.h"

static uint64_t top_bit(uint64_t v, unsigned int size)
{
    return (v >> (8 * size - 1)) & 1;
}

/* PF: set when the low byte of the result has an even number of 1 bits.
   Folded by hand: __builtin_popcount may become a libgcc call, and the
   hypervisor links without libgcc. */
static bool parity_even(uint64_t v)
{
    unsigned int b = (unsigned int)(v & 0xff);

    b ^= b >> 4;
    b ^= b >> 2;
    b ^= b >> 1;
    return (b & 1) == 0;
}

static uint64_t flags_szp(uint64_t r, unsigned int size)
{
    uint64_t f = 0;

    if ((r & x86_size_mask(size)) == 0)
        f |= X86_FLAGS_ZF;
    if (top_bit(r, size))
        f |= X86_FLAGS_SF;
    if (parity_even(r))
        f |= X86_FLAGS_PF;
    return f;
}

static uint64_t do_add(uint64_t a, uint64_t b, uint64_t cin, unsigned int size,
                       uint64_t *flags)
{
    uint64_t m = x86_size_mask(size);
    uint64_t r = (a + b + cin) & m;
    uint64_t f = flags_szp(r, size);

    if (top_bit((a & b) | ((a | b) & ~r), size))
        f |= X86_FLAGS_CF;
    if (top_bit((a ^ r) & (b ^ r), size))
        f |= X86_FLAGS_OF;
    if ((a ^ b ^ r) & 0x10)
        f |= X86_FLAGS_AF;
    *flags = f;
    return r;
}

static uint64_t do_sub(uint64_t a, uint64_t b, uint64_t bin, unsigned int size,
                       uint64_t *flags)
{
    uint64_t m = x86_size_mask(size);
    uint64_t r = (a - b - bin) & m;
    uint64_t f = flags_szp(r, size);

    if (top_bit((~a & b) | ((~a | b) & r), size))
        f |= X86_FLAGS_CF;
    if (top_bit((a ^ b) & (a ^ r), size))
        f |= X86_FLAGS_OF;
    if ((a ^ b ^ r) & 0x10)
        f |= X86_FLAGS_AF;
    *flags = f;
    return r;
}

uint64_t x86_alu(enum x86_alu_op op, uint64_t a, uint64_t b, unsigned int size,
                 uint64_t *rflags)
{
    uint64_t m = x86_size_mask(size), f = 0, r;
    uint64_t cf = *rflags & X86_FLAGS_CF ? 1 : 0;

    a &= m;
    b &= m;
    switch (op) {
    case X86_ALU_ADD: r = do_add(a, b, 0, size, &f); break;
    case X86_ALU_ADC: r = do_add(a, b, cf, size, &f); break;
    case X86_ALU_SUB:
    case X86_ALU_CMP: r = do_sub(a, b, 0, size, &f); break;
    case X86_ALU_SBB: r = do_sub(a, b, cf, size, &f); break;
    case X86_ALU_OR:  r = a | b; f = flags_szp(r, size); break;
    case X86_ALU_AND: r = a & b; f = flags_szp(r, size); break;
    case X86_ALU_XOR: r = a ^ b; f = flags_szp(r, size); break;
    default:          r = a; f = *rflags & X86_FLAGS_ARITH; break;
    }
    *rflags = (*rflags & ~(uint64_t)X86_FLAGS_ARITH) | f;
    return r;
}

uint64_t x86_alu_inc(uint64_t a, unsigned int size, uint64_t *rflags)
{
    uint64_t f, r = do_add(a & x86_size_mask(size), 1, 0, size, &f);
    uint64_t keep = X86_FLAGS_CF;

    *rflags = (*rflags & ~(uint64_t)(X86_FLAGS_ARITH & ~keep)) | (f & ~keep);
    return r;
}

uint64_t x86_alu_dec(uint64_t a, unsigned int size, uint64_t *rflags)
{
    uint64_t f, r = do_sub(a & x86_size_mask(size), 1, 0, size, &f);
    uint64_t keep = X86_FLAGS_CF;

    *rflags = (*rflags & ~(uint64_t)(X86_FLAGS_ARITH & ~keep)) | (f & ~keep);
    return r;
}

/* NEG: 0 - a; CF is set unless the operand was 0 (SDM vol. 2, NEG), which the
   borrow formula gives by itself. */
uint64_t x86_alu_neg(uint64_t a, unsigned int size, uint64_t *rflags)
{
    uint64_t f, r = do_sub(0, a & x86_size_mask(size), 0, size, &f);

    *rflags = (*rflags & ~(uint64_t)X86_FLAGS_ARITH) | f;
    return r;
}

bool x86_cond(unsigned int cc, uint64_t rflags)
{
    bool cf = rflags & X86_FLAGS_CF, zf = rflags & X86_FLAGS_ZF;
    bool sf = rflags & X86_FLAGS_SF, of = rflags & X86_FLAGS_OF;
    bool pf = rflags & X86_FLAGS_PF;
    bool r;

    switch ((cc >> 1) & 7) {
    case 0: r = of; break;                  /* O */
    case 1: r = cf; break;                  /* B/C */
    case 2: r = zf; break;                  /* Z/E */
    case 3: r = cf || zf; break;            /* BE */
    case 4: r = sf; break;                  /* S */
    case 5: r = pf; break;                  /* P */
    case 6: r = sf != of; break;            /* L */
    default: r = zf || (sf != of); break;   /* LE */
    }
    return (cc & 1) ? !r : r;
}
