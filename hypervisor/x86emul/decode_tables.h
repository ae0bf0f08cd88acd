/*
 * Opcode attribute tables for the x86 decoder (private to hypervisor/x86emul).
 *
 * One 16-bit word per opcode says what follows the opcode byte (ModRM,
 * immediate kind) and how the operand size is chosen. Transcribed by hand
 * from the opcode maps of SDM vol. 2, appendix A (tables ), with
 * the superscripts d64/f64/i64 of those tables as X86A_D64/F64/I64.
 */
#ifndef PROXENOS_X86EMUL_DECODE_TABLES_H
#define PROXENOS_X86EMUL_DECODE_TABLES_H

#include <stdint.h>

#define X86A_V     0x0001u  /* defined opcode */
#define X86A_M     0x0002u  /* ModRM follows */
#define X86A_B     0x0004u  /* byte operand size */
#define X86A_D64   0x0008u  /* 64-bit default operand size in 64-bit mode */
#define X86A_F64   0x0010u  /* operand size forced to 64 in 64-bit mode */
#define X86A_I64   0x0020u  /* invalid in 64-bit mode */
#define X86A_LK    0x0040u  /* LOCK allowed (with a memory destination) */
#define X86A_GRP   0x0080u  /* attributes refined by ModRM.reg */
#define X86A_STR   0x0100u  /* string instruction */
#define X86A_MONLY 0x0200u  /* ModRM must name memory (mod != 3) */
#define X86A_CRDR  0x0400u  /* MOV CR/DR: ModRM.mod ignored, always registers */
#define X86A_IO    0x0800u  /* port I/O: operand size at most 32 bits */

/* Immediate kinds in bits 15:12 (SDM vol. 2, A.2.2 operand type codes). */
#define X86A_IMM_SHIFT 12
#define X86A_IMM_MASK  (0xfu << X86A_IMM_SHIFT)
#define X86A_IMM(a)    (((a) & X86A_IMM_MASK) >> X86A_IMM_SHIFT)
enum x86a_imm {
    X86A_IMM_NONE = 0,
    X86A_IMM_B,      /* Ib */
    X86A_IMM_W,      /* Iw */
    X86A_IMM_Z,      /* Iz: 16 or 32 bits by operand size */
    X86A_IMM_V,      /* Iv: 16, 32 or 64 bits (MOV r, imm only) */
    X86A_IMM_MOFFS,  /* Ob/Ov: offset of address size */
    X86A_IMM_WB,     /* ENTER Iw, Ib */
    X86A_IMM_AP,     /* far pointer: Iz offset then 16-bit selector */
    X86A_IMM_BB,     /* two Ib (AMD EXTRQ/INSERTQ) */
};
#define X86A_IB (X86A_IMM_B << X86A_IMM_SHIFT)
#define X86A_IW (X86A_IMM_W << X86A_IMM_SHIFT)
#define X86A_IZ (X86A_IMM_Z << X86A_IMM_SHIFT)
#define X86A_IV (X86A_IMM_V << X86A_IMM_SHIFT)
#define X86A_MOFFS (X86A_IMM_MOFFS << X86A_IMM_SHIFT)
#define X86A_IWB (X86A_IMM_WB << X86A_IMM_SHIFT)
#define X86A_AP (X86A_IMM_AP << X86A_IMM_SHIFT)
#define X86A_BB (X86A_IMM_BB << X86A_IMM_SHIFT)

extern const uint16_t x86_map1_attr[256];
extern const uint16_t x86_map0f_attr[256];

#endif
