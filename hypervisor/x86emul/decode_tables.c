/*
 * Opcode attribute tables: SDM vol. 2, appendix A, tables A-2 (one-byte
 * opcodes) and A-3 (two-byte 0F opcodes). Zero means "not decoded". Prefix
 * bytes, REX, VEX/EVEX and the 0F 38 / 0F 3A / 0F 0F escapes are handled in
 * decode.c before these tables are consulted.
 */
#include "decode_tables.h"

#define V   X86A_V
#define M   X86A_M
#define B   X86A_B
#define D64 X86A_D64
#define F64 X86A_F64
#define I64 X86A_I64
#define LK  X86A_LK
#define GRP X86A_GRP
#define STR X86A_STR
#define MONLY X86A_MONLY
#define IB  X86A_IB
#define IW  X86A_IW
#define IZ  X86A_IZ
#define IV  X86A_IV

/* The eight ALU blocks 00-3D: Eb,Gb  Ev,Gv  Gb,Eb  Gv,Ev  AL,Ib  rAX,Iz. */
#define ALU_BLOCK(o, lk) \
    [(o) + 0] = V | M | B | (lk), [(o) + 1] = V | M | (lk), \
    [(o) + 2] = V | M | B, [(o) + 3] = V | M, \
    [(o) + 4] = V | B | IB, [(o) + 5] = V | IZ

const uint16_t x86_map1_attr[256] = {
    ALU_BLOCK(0x00, LK),                        /* ADD */
    [0x06] = V | I64, [0x07] = V | I64,         /* PUSH/POP ES */
    ALU_BLOCK(0x08, LK),                        /* OR */
    [0x0e] = V | I64,                           /* PUSH CS */
    ALU_BLOCK(0x10, LK),                        /* ADC */
    [0x16] = V | I64, [0x17] = V | I64,         /* PUSH/POP SS */
    ALU_BLOCK(0x18, LK),                        /* SBB */
    [0x1e] = V | I64, [0x1f] = V | I64,         /* PUSH/POP DS */
    ALU_BLOCK(0x20, LK),                        /* AND */
    [0x27] = V | I64,                           /* DAA */
    ALU_BLOCK(0x28, LK),                        /* SUB */
    [0x2f] = V | I64,                           /* DAS */
    ALU_BLOCK(0x30, LK),                        /* XOR */
    [0x37] = V | I64,                           /* AAA */
    ALU_BLOCK(0x38, 0),                         /* CMP: never lockable */
    [0x3f] = V | I64,                           /* AAS */
    [0x40 ... 0x4f] = V | I64,                  /* INC/DEC r32 (REX in 64-bit mode) */
    [0x50 ... 0x5f] = V | D64,                  /* PUSH/POP r */
    [0x60] = V | I64, [0x61] = V | I64,         /* PUSHA/POPA */
    [0x62] = V | M | I64 | MONLY,               /* BOUND (EVEX in 64-bit mode) */
    [0x63] = V | M,                             /* ARPL / MOVSXD in 64-bit mode */
    [0x68] = V | D64 | IZ, [0x69] = V | M | IZ, /* PUSH Iz, IMUL Gv,Ev,Iz */
    [0x6a] = V | D64 | IB, [0x6b] = V | M | IB, /* PUSH Ib, IMUL Gv,Ev,Ib */
    [0x6c] = V | B | STR | X86A_IO, [0x6d] = V | STR | X86A_IO,   /* INS */
    [0x6e] = V | B | STR | X86A_IO, [0x6f] = V | STR | X86A_IO,   /* OUTS */
    [0x70 ... 0x7f] = V | F64 | IB,             /* Jcc rel8 */
    [0x80] = V | M | B | IB | GRP,              /* group 1 Eb,Ib */
    [0x81] = V | M | IZ | GRP,                  /* group 1 Ev,Iz */
    [0x82] = V | M | B | IB | GRP | I64,        /* group 1 alias of 80 */
    [0x83] = V | M | IB | GRP,                  /* group 1 Ev,Ib (sign-extended) */
    [0x84] = V | M | B, [0x85] = V | M,         /* TEST */
    [0x86] = V | M | B | LK, [0x87] = V | M | LK, /* XCHG */
    [0x88] = V | M | B, [0x89] = V | M,         /* MOV Ex,Gx */
    [0x8a] = V | M | B, [0x8b] = V | M,         /* MOV Gx,Ex */
    [0x8c] = V | M, [0x8e] = V | M,             /* MOV Ew,Sw / Sw,Ew */
    [0x8d] = V | M | MONLY,                     /* LEA */
    [0x8f] = V | M | D64 | GRP,                 /* group 1a: POP Ev (XOP otherwise) */
    [0x90 ... 0x97] = V,                        /* XCHG r, rAX / NOP / PAUSE */
    [0x98] = V, [0x99] = V,                     /* CBW, CWD */
    [0x9a] = V | I64 | X86A_AP,                 /* CALL far ptr16:16/32 */
    [0x9b] = V,                                 /* FWAIT */
    [0x9c] = V | D64, [0x9d] = V | D64,         /* PUSHF, POPF */
    [0x9e] = V, [0x9f] = V,                     /* SAHF, LAHF */
    [0xa0] = V | B | X86A_MOFFS, [0xa1] = V | X86A_MOFFS, /* MOV rAX,moffs */
    [0xa2] = V | B | X86A_MOFFS, [0xa3] = V | X86A_MOFFS, /* MOV moffs,rAX */
    [0xa4] = V | B | STR, [0xa5] = V | STR,     /* MOVS */
    [0xa6] = V | B | STR, [0xa7] = V | STR,     /* CMPS */
    [0xa8] = V | B | IB, [0xa9] = V | IZ,       /* TEST rAX, imm */
    [0xaa] = V | B | STR, [0xab] = V | STR,     /* STOS */
    [0xac] = V | B | STR, [0xad] = V | STR,     /* LODS */
    [0xae] = V | B | STR, [0xaf] = V | STR,     /* SCAS */
    [0xb0 ... 0xb7] = V | B | IB,               /* MOV r8, Ib */
    [0xb8 ... 0xbf] = V | IV,                   /* MOV r, Iv (imm64 with REX.W) */
    [0xc0] = V | M | B | IB, [0xc1] = V | M | IB, /* group 2 shifts, Ib */
    [0xc2] = V | F64 | IW, [0xc3] = V | F64,    /* RET near */
    [0xc4] = V | M | I64 | MONLY,               /* LES (VEX3 when mod=3 or 64-bit) */
    [0xc5] = V | M | I64 | MONLY,               /* LDS (VEX2 likewise) */
    [0xc6] = V | M | B | IB | GRP,              /* group 11: MOV Eb,Ib; XABORT */
    [0xc7] = V | M | IZ | GRP,                  /* group 11: MOV Ev,Iz; XBEGIN */
    [0xc8] = V | D64 | X86A_IWB, [0xc9] = V | D64, /* ENTER, LEAVE */
    [0xca] = V | IW, [0xcb] = V,                /* RET far */
    [0xcc] = V, [0xcd] = V | IB,                /* INT3, INT n */
    [0xce] = V | I64, [0xcf] = V,               /* INTO, IRET */
    [0xd0] = V | M | B, [0xd1] = V | M,         /* group 2, 1 */
    [0xd2] = V | M | B, [0xd3] = V | M,         /* group 2, CL */
    [0xd4] = V | IB | I64, [0xd5] = V | IB | I64, /* AAM, AAD */
    [0xd7] = V,                                 /* XLAT */
    [0xd8 ... 0xdf] = V | M,                    /* x87 escapes */
    [0xe0 ... 0xe3] = V | F64 | IB,             /* LOOPcc, JrCXZ */
    [0xe4] = V | B | IB | X86A_IO, [0xe5] = V | IB | X86A_IO, /* IN imm */
    [0xe6] = V | B | IB | X86A_IO, [0xe7] = V | IB | X86A_IO, /* OUT imm */
    [0xe8] = V | F64 | IZ, [0xe9] = V | F64 | IZ, /* CALL/JMP rel */
    [0xea] = V | I64 | X86A_AP,                 /* JMP far ptr */
    [0xeb] = V | F64 | IB,                      /* JMP rel8 */
    [0xec] = V | B | X86A_IO, [0xed] = V | X86A_IO, /* IN DX */
    [0xee] = V | B | X86A_IO, [0xef] = V | X86A_IO, /* OUT DX */
    [0xf1] = V,                                 /* INT1 / ICEBP */
    [0xf4] = V, [0xf5] = V,                     /* HLT, CMC */
    [0xf6] = V | M | B | GRP, [0xf7] = V | M | GRP, /* group 3 */
    [0xf8 ... 0xfd] = V,                        /* CLC STC CLI STI CLD STD */
    [0xfe] = V | M | B | GRP,                   /* group 4: INC/DEC Eb */
    [0xff] = V | M | GRP,                       /* group 5 */
};

const uint16_t x86_map0f_attr[256] = {
    [0x00] = V | M, [0x01] = V | M,             /* groups 6, 7 (LGDT, VMCALL, ...) */
    [0x02] = V | M, [0x03] = V | M,             /* LAR, LSL */
    [0x05] = V, [0x06] = V, [0x07] = V,         /* SYSCALL, CLTS, SYSRET */
    [0x08] = V, [0x09] = V, [0x0b] = V,         /* INVD, WBINVD, UD2 */
    [0x0d] = V | M, [0x0e] = V,                 /* PREFETCHW group, FEMMS */
    [0x10 ... 0x17] = V | M,                    /* SSE moves */
    [0x18 ... 0x1f] = V | M,                    /* prefetch hints, NOP Ev, ENDBR */
    [0x20 ... 0x23] = V | M | X86A_CRDR,        /* MOV to/from CR, DR */
    [0x28 ... 0x2f] = V | M,                    /* SSE */
    [0x30 ... 0x35] = V,                        /* WRMSR RDTSC RDMSR RDPMC SYSENTER SYSEXIT */
    [0x37] = V,                                 /* GETSEC */
    [0x40 ... 0x4f] = V | M,                    /* CMOVcc */
    [0x50 ... 0x6f] = V | M,                    /* SSE/MMX */
    [0x70 ... 0x73] = V | M | IB,               /* PSHUF, shift groups 12-14 */
    [0x74 ... 0x76] = V | M, [0x77] = V,        /* PCMPEQ, EMMS */
    [0x78] = V | M | F64, [0x79] = V | M | F64, /* VMREAD, VMWRITE */
    [0x7c ... 0x7f] = V | M,                    /* SSE3, MOVD/MOVQ */
    [0x80 ... 0x8f] = V | F64 | IZ,             /* Jcc rel16/32 */
    [0x90 ... 0x9f] = V | M | B,                /* SETcc Eb */
    [0xa0] = V | D64, [0xa1] = V | D64,         /* PUSH/POP FS */
    [0xa2] = V,                                 /* CPUID */
    [0xa3] = V | M,                             /* BT Ev,Gv */
    [0xa4] = V | M | IB, [0xa5] = V | M,        /* SHLD */
    [0xa8] = V | D64, [0xa9] = V | D64,         /* PUSH/POP GS */
    [0xaa] = V,                                 /* RSM */
    [0xab] = V | M | LK,                        /* BTS */
    [0xac] = V | M | IB, [0xad] = V | M,        /* SHRD */
    [0xae] = V | M,                             /* group 15: FXSAVE, fences, ... */
    [0xaf] = V | M,                             /* IMUL Gv,Ev */
    [0xb0] = V | M | B | LK, [0xb1] = V | M | LK, /* CMPXCHG */
    [0xb2] = V | M | MONLY,                     /* LSS */
    [0xb3] = V | M | LK,                        /* BTR */
    [0xb4] = V | M | MONLY, [0xb5] = V | M | MONLY, /* LFS, LGS */
    [0xb6] = V | M, [0xb7] = V | M,             /* MOVZX */
    [0xb8] = V | M, [0xb9] = V | M,             /* POPCNT, UD1 */
    [0xba] = V | M | IB | GRP,                  /* group 8: BT* Ev,Ib */
    [0xbb] = V | M | LK,                        /* BTC */
    [0xbc ... 0xbd] = V | M,                    /* BSF/TZCNT, BSR/LZCNT */
    [0xbe] = V | M, [0xbf] = V | M,             /* MOVSX */
    [0xc0] = V | M | B | LK, [0xc1] = V | M | LK, /* XADD */
    [0xc2] = V | M | IB,                        /* CMPPS */
    [0xc3] = V | M | MONLY,                     /* MOVNTI */
    [0xc4 ... 0xc6] = V | M | IB,               /* PINSRW, PEXTRW, SHUFPS */
    [0xc7] = V | M | GRP,                       /* group 9: CMPXCHG8B/16B, RDRAND, ... */
    [0xc8 ... 0xcf] = V,                        /* BSWAP */
    [0xd0 ... 0xff] = V | M,                    /* SSE/MMX, UD0 */
};
