/*
 * Integer ALU with x86 RFLAGS semantics (private to hypervisor/x86emul).
 */
#ifndef PROXENOS_X86EMUL_ALU_H
#define PROXENOS_X86EMUL_ALU_H

#include <stdint.h>
#include <stdbool.h>

/* Group-1 order: the ModRM.reg of opcodes 80-83 and bits 5:3 of opcodes 00-3F. */
enum x86_alu_op {
    X86_ALU_ADD = 0, X86_ALU_OR, X86_ALU_ADC, X86_ALU_SBB,
    X86_ALU_AND, X86_ALU_SUB, X86_ALU_XOR, X86_ALU_CMP,
};

static inline uint64_t x86_size_mask(unsigned int size)
{
    return size >= 8 ? ~0ull : (1ull << (8 * size)) - 1;
}

/* a OP b on size-byte operands; updates the arithmetic flags in *rflags. */
uint64_t x86_alu(enum x86_alu_op op, uint64_t a, uint64_t b, unsigned int size,
                 uint64_t *rflags);

/* INC / DEC / NEG: flags as ADD/SUB, except INC and DEC keep CF. */
uint64_t x86_alu_inc(uint64_t a, unsigned int size, uint64_t *rflags);
uint64_t x86_alu_dec(uint64_t a, unsigned int size, uint64_t *rflags);
uint64_t x86_alu_neg(uint64_t a, unsigned int size, uint64_t *rflags);

/* Condition code cc (low 4 bits of Jcc/SETcc/CMOVcc, SDM vol. 1, B.1). */
bool x86_cond(unsigned int cc, uint64_t rflags);

#endif
