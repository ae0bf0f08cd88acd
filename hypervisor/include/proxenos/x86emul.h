/*
 * x86 instruction decoder, memory-operand emulator and guest page walker.
 *
 * Used by the HVM exit handlers to emulate MMIO accesses (EPT violation /
 * nested page fault on an emulated region), by the SVM backend to compute the
 * next RIP when NRIP save is missing (APM vol. 2, 15.7.1), and later by the PV
 * path and the device model.
 *
 * Everything here is pure code over buffers and callbacks: no hypervisor
 * globals, no allocation, no locks. It builds freestanding (only the compiler's
 * <stdint.h> <stddef.h> <stdbool.h>) and on the host for unit tests and fuzzing.
 * Every byte of an instruction and every page-table entry is guest-controlled
 * and treated as hostile: malformed input yields an error code, never an out
 * of bounds access.
 *
 * Return convention: 0 on success, or the negative of one X86EMUL_* code.
 */
#ifndef PROXENOS_X86EMUL_H
#define PROXENOS_X86EMUL_H

#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>

/* Architectural limit on instruction length (SDM vol. 2, 2.3.11): #GP beyond. */
#define X86_MAX_INSN_LEN 15

/* Error codes (returned negated). */
#define X86EMUL_TRUNCATED 1 /* byte buffer ends before the instruction does */
#define X86EMUL_UNHANDLED 2 /* well-formed maybe, but not something we decode/emulate */
#define X86EMUL_BAD       3 /* invalid encoding: >15 bytes, bad LOCK, ... (#UD/#GP) */
#define X86EMUL_EXCEPTION 4 /* architectural fault to inject, see struct x86_fault */
#define X86EMUL_ERROR     5 /* a callback failed for a non-architectural reason */

/* Default operand/address size of the code segment (SDM vol. 1, 3.6). */
enum x86_mode {
    X86_MODE_16 = 0,  /* real mode, virtual-8086, 16-bit protected (CS.D=0) */
    X86_MODE_32 = 1,  /* 32-bit protected or compatibility mode (CS.D=1) */
    X86_MODE_64 = 2,  /* 64-bit mode (EFER.LMA=1, CS.L=1) */
};

/* General-purpose registers in ModRM/REX encoding order (SDM vol. 2, 2.1.5). */
enum x86_reg {
    X86_REG_RAX = 0, X86_REG_RCX, X86_REG_RDX, X86_REG_RBX,
    X86_REG_RSP, X86_REG_RBP, X86_REG_RSI, X86_REG_RDI,
    X86_REG_R8, X86_REG_R9, X86_REG_R10, X86_REG_R11,
    X86_REG_R12, X86_REG_R13, X86_REG_R14, X86_REG_R15,
    X86_REG_RIP = 16,     /* only as a memory base: RIP-relative addressing */
    X86_REG_NONE = 0xff,
};
#define X86_NR_GPRS 16

/* Segment registers in Sreg encoding order (SDM vol. 2, 3.1.1.3 table 3-1). */
enum x86_seg {
    X86_SEG_ES = 0, X86_SEG_CS, X86_SEG_SS, X86_SEG_DS, X86_SEG_FS, X86_SEG_GS,
    X86_SEG_NONE = 0xff,
};
#define X86_NR_SEGS 6

/* RFLAGS bits (SDM vol. 1, 3.4.3). */
#define X86_FLAGS_CF (1u << 0)
#define X86_FLAGS_PF (1u << 2)
#define X86_FLAGS_AF (1u << 4)
#define X86_FLAGS_ZF (1u << 6)
#define X86_FLAGS_SF (1u << 7)
#define X86_FLAGS_TF (1u << 8)
#define X86_FLAGS_DF (1u << 10)
#define X86_FLAGS_OF (1u << 11)
#define X86_FLAGS_RF (1u << 16)
#define X86_FLAGS_AC (1u << 18)
#define X86_FLAGS_ARITH (X86_FLAGS_CF | X86_FLAGS_PF | X86_FLAGS_AF | \
                         X86_FLAGS_ZF | X86_FLAGS_SF | X86_FLAGS_OF)

/* ------------------------------------------------------------------------- */
/* Decoder                                                                   */
/* ------------------------------------------------------------------------- */

/* Opcode maps (SDM vol. 2, appendix A.3). */
enum x86_map {
    X86_MAP_1BYTE = 0,
    X86_MAP_0F = 1,
    X86_MAP_0F38 = 2,
    X86_MAP_0F3A = 3,
    X86_MAP_3DNOW = 4,    /* 0F 0F modrm ib: opcode is the trailing byte */
};

/* How the opcode was introduced. */
enum x86_encoding {
    X86_ENC_LEGACY = 0,
    X86_ENC_VEX = 1,      /* C4/C5 (SDM vol. 2, 2.3) */
    X86_ENC_EVEX = 2,     /* 62 (SDM vol. 2, 2.7) */
};

/* Legacy prefixes seen (SDM vol. 2, 2.1.1), in insn->prefixes. */
#define X86_PFX_LOCK   (1u << 0)
#define X86_PFX_REPNE  (1u << 1)   /* F2 seen */
#define X86_PFX_REP    (1u << 2)   /* F3 seen */
#define X86_PFX_OPSIZE (1u << 3)   /* 66 seen */
#define X86_PFX_ADSIZE (1u << 4)   /* 67 seen */
#define X86_PFX_SEG    (1u << 5)   /* at least one segment override seen */

/* insn->flags */
#define X86_INSN_STRING   (1u << 0)  /* string instruction: implicit rSI/rDI operands */
#define X86_INSN_LOCKABLE (1u << 1)  /* LOCK is legal with a memory destination */
#define X86_INSN_DISP8N   (1u << 2)  /* EVEX: disp8 is scaled by N, not decoded */
#define X86_INSN_CR8_ALT  (1u << 3)  /* AMD: LOCK MOV CR0 means CR8 (APM vol. 3, MOV CRn) */
#define X86_INSN_MODRM_REG_ONLY (1u << 4) /* MOV CR/DR: mod ignored (SDM MOV-Control Regs) */
#define X86_INSN_INV64    (1u << 5)  /* not valid in 64-bit mode (never set on success there) */

/*
 * A memory operand from ModRM/SIB/displacement or a moffs. The effective
 * address is (base + index * scale + disp) truncated to the address size;
 * for base == X86_REG_RIP the base is the address of the next instruction.
 */
struct x86_mem {
    uint8_t seg;    /* enum x86_seg actually used: override or SS/DS default */
    uint8_t base;   /* enum x86_reg, X86_REG_RIP or X86_REG_NONE */
    uint8_t index;  /* enum x86_reg or X86_REG_NONE */
    uint8_t scale;  /* 1, 2, 4 or 8 */
    int64_t disp;   /* sign-extended displacement; zero-extended moffs */
};

struct x86_insn {
    uint8_t len;          /* total length, 1..15 */
    uint8_t mode;         /* enum x86_mode decoded for */
    uint8_t encoding;     /* enum x86_encoding */
    uint8_t map;          /* enum x86_map */
    uint8_t opcode;       /* opcode byte within map */
    uint8_t prefixes;     /* X86_PFX_* */
    uint8_t rep;          /* last of F2/F3 seen, or 0 (the one that counts) */
    uint8_t seg_override; /* last segment override seen, or X86_SEG_NONE */
    uint8_t rex;          /* REX byte in effect (64-bit mode), 0 if none */
    uint8_t flags;        /* X86_INSN_* */

    bool has_modrm;
    bool has_sib;
    bool has_mem;         /* mem describes a ModRM memory operand or moffs */
    uint8_t modrm, sib;
    uint8_t mod;          /* ModRM.mod (3 for register forms) */
    uint8_t reg;          /* ModRM.reg extended by REX.R / VEX.R */
    uint8_t rm;           /* ModRM.rm, extended by REX.B when mod == 3 */

    uint8_t opsize;       /* operand size in bytes: 1, 2, 4 or 8 */
    uint8_t adsize;       /* address size in bytes: 2, 4 or 8 */
    uint8_t disp_size;    /* displacement bytes: 0, 1, 2 or 4 (8 for moffs64) */
    uint8_t imm_size;     /* first immediate bytes: 0, 1, 2, 4 or 8 */
    uint8_t imm2_size;    /* second immediate (ENTER ib, far pointer selector) */

    uint64_t imm;         /* first immediate, sign-extended from imm_size */
    uint64_t imm2;        /* second immediate, zero-extended */
    struct x86_mem mem;

    /* VEX/EVEX payload (vvvv and L already un-inverted). */
    uint8_t vex_vvvv, vex_l, vex_w, vex_pp;
};

/*
 * Decode one instruction from bytes[0..avail) as code of the given mode.
 * Never reads past bytes[min(avail, 15) - 1]. Returns 0 with *out filled,
 * -X86EMUL_TRUNCATED if avail ends early (fetch more and retry),
 * -X86EMUL_BAD for invalid encodings (inject #UD, or #GP for > 15 bytes),
 * -X86EMUL_UNHANDLED for opcodes this decoder does not know.
 */
int x86_decode(const uint8_t *bytes, size_t avail, enum x86_mode mode,
               struct x86_insn *out);

/* Register number of a byte operand: AH/CH/DH/BH are encoded as 4..7 without REX. */
static inline bool x86_insn_is_high_byte(const struct x86_insn *insn, unsigned int reg)
{
    return insn->rex == 0 && reg >= 4 && reg < 8;
}

/* ------------------------------------------------------------------------- */
/* Faults                                                                    */
/* ------------------------------------------------------------------------- */

#define X86_EXC_UD 6
#define X86_EXC_SS 12
#define X86_EXC_GP 13
#define X86_EXC_PF 14

/* Page-fault error code bits (SDM vol. 3, 4.7). */
#define X86_PFEC_P    (1u << 0)  /* 0: not present; 1: protection violation */
#define X86_PFEC_W    (1u << 1)  /* access was a write */
#define X86_PFEC_U    (1u << 2)  /* access was a user-mode (CPL 3) access */
#define X86_PFEC_RSVD (1u << 3)  /* reserved bit set in a paging structure */
#define X86_PFEC_I    (1u << 4)  /* instruction fetch (only if NX or SMEP on) */

/* An exception the caller should inject into the guest. */
struct x86_fault {
    uint8_t vector;        /* X86_EXC_* */
    bool has_error_code;
    uint32_t error_code;
    uint64_t cr2;          /* faulting linear address for #PF */
};

/* ------------------------------------------------------------------------- */
/* Guest page walk (walk.c)                                                  */
/* ------------------------------------------------------------------------- */

/* Paging modes (SDM vol. 3, 4.1.1 table 4-1). */
enum x86_paging_mode {
    X86_PAGING_NONE = 0,  /* CR0.PG=0: linear == physical (32 bits) */
    X86_PAGING_32,        /* 2-level, 4 KiB and (CR4.PSE) 4 MiB pages */
    X86_PAGING_PAE,       /* 3-level, 4 KiB and 2 MiB pages */
    X86_PAGING_4LEVEL,    /* IA-32e 4-level, + 1 GiB pages */
    X86_PAGING_5LEVEL,    /* CR4.LA57 */
};

/* Extra access attribute for x86_walk() beyond the W/U/I PFEC bits. */
#define X86_WALK_IMPLICIT (1u << 31) /* implicit supervisor access (GDT, ...): SMAP applies
                                        regardless of RFLAGS.AC (SDM vol. 3, 4.6) */

/*
 * Reads guest-physical memory for the walker: len is 4 or 8 for paging
 * entries (must be a single-copy-atomic load: another vCPU may be writing the
 * table), anything up to 4096 within one page for instruction fetch.
 * Returns 0, or a negative X86EMUL_* code (e.g. -X86EMUL_ERROR: not RAM).
 */
typedef int (*x86_read_phys_fn)(void *priv, uint64_t gpa, void *buf, unsigned int len);

struct x86_paging {
    uint8_t mode;         /* enum x86_paging_mode */
    uint8_t maxphyaddr;   /* CPUID 80000008h EAX[7:0]; 0 means 52 */
    bool pse;             /* CR4.PSE (only for X86_PAGING_32) */
    bool nxe;             /* EFER.NXE */
    bool wp;              /* CR0.WP */
    bool smep;            /* CR4.SMEP */
    bool smap;            /* CR4.SMAP */
    bool ac;              /* RFLAGS.AC at the time of the access */
    bool gbpages;         /* CPUID 80000001h EDX[26]: 1 GiB pages exist */
    bool pdptrs_valid;    /* PAE: use pdptr[] (loaded at MOV CR3) instead of memory */
    uint64_t cr3;
    uint64_t pdptr[4];    /* PAE PDPTE registers (SDM vol. 3, 4.4.1) */
    x86_read_phys_fn read_phys;
    void *priv;           /* passed to read_phys */
};

struct x86_walk_result {
    uint64_t gpa;         /* translated guest-physical address */
    uint64_t page_size;   /* 4 KiB, 2 MiB, 4 MiB or 1 GiB */
    bool writable;        /* R/W=1 at every level */
    bool user;            /* U/S=1 at every level */
    bool nx;              /* XD=1 at some level (and EFER.NXE) */
};

/* Mode from control registers (SDM vol. 3, 4.1.1). */
enum x86_paging_mode x86_paging_mode_from_regs(uint64_t cr0, uint64_t cr4, uint64_t efer);

/*
 * Translate linear address la for an access described by X86_PFEC_W/U/I
 * (and X86_WALK_IMPLICIT). Returns 0 and *res; -X86EMUL_EXCEPTION with
 * *fault set (#PF with error code and cr2, or #GP(0) for a non-canonical
 * address); or the read_phys error when a table cannot be read. Accessed and
 * dirty bits are not updated: the caller emulates an access the CPU already
 * translated once (which set them), or is only fetching instruction bytes.
 */
int x86_walk(const struct x86_paging *pg, uint64_t la, uint32_t access,
             struct x86_walk_result *res, struct x86_fault *fault);

/*
 * Fetch up to 15 instruction bytes at linear address la (CS base + RIP,
 * wrapping at 4 GiB outside 64-bit mode) and decode them. A fault on the
 * second page is reported only if the instruction really extends into it.
 * user: CPL 3. Returns as x86_decode, or -X86EMUL_EXCEPTION with *fault.
 */
int x86_fetch_decode(const struct x86_paging *pg, uint64_t la, enum x86_mode mode,
                     bool user, struct x86_insn *insn, struct x86_fault *fault);

/* ------------------------------------------------------------------------- */
/* Emulator (emulate.c)                                                      */
/* ------------------------------------------------------------------------- */

/* Guest register file; gpr[] in enum x86_reg order. */
struct x86emul_regs {
    uint64_t gpr[X86_NR_GPRS];
    uint64_t rip;
    uint64_t rflags;
};

struct x86emul_ctx;

/*
 * Callbacks. Each returns 0 or a negative X86EMUL_* code; one that wants an
 * exception injected fills ctx->fault and returns -X86EMUL_EXCEPTION.
 * An emulated instruction either completes or leaves regs untouched, except
 * for completed iterations of a REP string instruction.
 */
struct x86emul_ops {
    /* Guest memory by linear address (the caller walks the guest page tables).
       Used for operands that are not on the faulting MMIO page. May be NULL. */
    int (*read_linear)(struct x86emul_ctx *ctx, uint64_t la, void *buf, unsigned int len);
    int (*write_linear)(struct x86emul_ctx *ctx, uint64_t la, const void *buf,
                        unsigned int len);
    /* Linear -> guest-physical for access (X86_PFEC_W/U). Optional: without it,
       the single memory operand of an instruction is taken to be the MMIO
       access the CPU reported, and MOVS is not emulated. */
    int (*linear_to_phys)(struct x86emul_ctx *ctx, uint64_t la, uint32_t access,
                          uint64_t *gpa);
    /* The emulated device: size is 1, 2, 4 or 8, never crossing a page. */
    int (*mmio_read)(struct x86emul_ctx *ctx, uint64_t gpa, unsigned int size,
                     uint64_t *val);
    int (*mmio_write)(struct x86emul_ctx *ctx, uint64_t gpa, unsigned int size,
                      uint64_t val);
};

struct x86emul_ctx {
    /* Filled by the caller. */
    const struct x86emul_ops *ops;
    void *priv;                       /* for the callbacks */
    uint8_t mode;                     /* enum x86_mode of the guest's CS */
    uint8_t cpl;                      /* 3 makes accesses user-mode (X86_PFEC_U) */
    bool la57;                        /* 57-bit canonical addresses (CR4.LA57) */
    uint64_t seg_base[X86_NR_SEGS];   /* in 64-bit mode only FS and GS are used */
    uint64_t mmio_gpa;                /* guest-physical address the CPU faulted on */
    uint32_t max_reps;                /* REP iterations per call; 0 means 1 */
    /* Filled by the emulator on -X86EMUL_EXCEPTION. */
    struct x86_fault fault;
};

/*
 * Emulate insn (decoded for ctx->mode) on regs. On success RIP is advanced
 * past the instruction, except when a REP string instruction still has
 * iterations left (the guest re-executes it, as after an interrupt).
 * Only memory-operand forms are emulated: register-only forms and opcodes
 * outside the supported list give -X86EMUL_UNHANDLED.
 */
int x86_emulate(struct x86emul_ctx *ctx, struct x86emul_regs *regs,
                const struct x86_insn *insn);

/* Linear address of insn's ModRM/moffs memory operand with regs (segment base
   applied, truncated to 32 bits outside 64-bit mode). */
uint64_t x86_insn_linear_address(const struct x86emul_ctx *ctx,
                                 const struct x86emul_regs *regs,
                                 const struct x86_insn *insn);

#endif /* PROXENOS_X86EMUL_H */
