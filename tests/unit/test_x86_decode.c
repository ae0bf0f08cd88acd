/*
 * Host unit tests for the x86 decoder. Every expected value below was worked
 * out by hand from the SDM vol. 2 encoding tables (2-1..2-3, appendix A), not
 * produced by running the decoder. One cmocka test per vector, named after it.
 */
/* @sources: hypervisor/x86emul/decode.c hypervisor/x86emul/decode_tables.c */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <proxenos/x86emul.h>

#define M16 X86_MODE_16
#define M32 X86_MODE_32
#define M64 X86_MODE_64

#define rAX X86_REG_RAX
#define rCX X86_REG_RCX
#define rDX X86_REG_RDX
#define rBX X86_REG_RBX
#define rSP X86_REG_RSP
#define rBP X86_REG_RBP
#define rSI X86_REG_RSI
#define rDI X86_REG_RDI
#define R8  X86_REG_R8
#define R11 X86_REG_R11
#define R12 X86_REG_R12
#define R13 X86_REG_R13
#define RIP X86_REG_RIP
#define NOREG X86_REG_NONE

#define sES X86_SEG_ES
#define sCS X86_SEG_CS
#define sSS X86_SEG_SS
#define sDS X86_SEG_DS
#define sFS X86_SEG_FS
#define sGS X86_SEG_GS

#define TRUNC (-X86EMUL_TRUNCATED)
#define UNH   (-X86EMUL_UNHANDLED)
#define BAD   (-X86EMUL_BAD)

struct dvec {
    const char *name;
    uint8_t mode;
    uint8_t b[16];
    uint8_t n;             /* bytes available to the decoder (after b: see BYTES) */
    int rc;
    uint8_t len;
    uint8_t os, as;        /* 0: not checked */
    bool ck_op;
    uint8_t map, op;
    bool ck_mem;
    uint8_t base, index, scale, seg;
    int64_t disp;
    bool ck_imm;
    uint64_t imm;
    uint8_t imm_size;
    bool ck_reg;
    uint8_t reg;
    bool ck_rex;
    uint8_t rex;
    uint8_t flags;         /* X86_INSN_* bits that must be set */
};

#define BYTES(...) .b = { __VA_ARGS__ }, .n = sizeof((uint8_t[]){ __VA_ARGS__ })
#define MEM(bs, ix, sc, sg, d) \
    .ck_mem = true, .base = (bs), .index = (ix), .scale = (sc), .seg = (sg), .disp = (d)
#define IMM(v, sz) .ck_imm = true, .imm = (uint64_t)(v), .imm_size = (sz)
#define REG(r) .ck_reg = true, .reg = (r)
#define OP(m, o) .ck_op = true, .map = (m), .op = (o)
#define REX(r) .ck_rex = true, .rex = (r)
#define M1 X86_MAP_1BYTE
#define M0F X86_MAP_0F

static const struct dvec vecs[] = {
    /* ---- 64-bit mode: MOV and operand sizes ---- */
    { "64 mov [rbx],eax", M64, BYTES(0x89, 0x03), 0, 2, 4, 8, OP(M1, 0x89),
      MEM(rBX, NOREG, 1, sDS, 0), REG(0), REX(0) },
    { "64 REX.W mov [rbx],rax", M64, BYTES(0x48, 0x89, 0x03), 0, 3, 8, 8, REX(0x48) },
    { "64 66 mov [rbx],ax", M64, BYTES(0x66, 0x89, 0x03), 0, 3, 2, 8 },
    { "64 mov [rbx],ah (no REX)", M64, BYTES(0x88, 0x23), 0, 2, 1, 8, REG(4), REX(0) },
    { "64 REX mov [rbx],spl", M64, BYTES(0x40, 0x88, 0x23), 0, 3, 1, 8, REG(4), REX(0x40) },
    { "64 REX.R mov [rbx],r8d", M64, BYTES(0x44, 0x89, 0x03), 0, 3, 4, 8, REG(8),
      MEM(rBX, NOREG, 1, sDS, 0) },
    { "64 REX.B mov [r11],eax", M64, BYTES(0x41, 0x89, 0x03), 0, 3, 4, 8,
      MEM(R11, NOREG, 1, sDS, 0) },
    { "64 mov eax,[rbx] 8B", M64, BYTES(0x8b, 0x03), 0, 2, 4, 8, OP(M1, 0x8b) },
    { "64 mov cl,[rbx] 8A", M64, BYTES(0x8a, 0x0b), 0, 2, 1, 8, REG(1) },
    { "64 REX.WR mov r9,[rbx]", M64, BYTES(0x4c, 0x8b, 0x0b), 0, 3, 8, 8, REG(9) },
    /* ---- 64-bit mode: addressing ---- */
    { "64 rip-relative", M64, BYTES(0x8b, 0x05, 0x10, 0x00, 0x00, 0x00), 0, 6, 4, 8,
      MEM(RIP, NOREG, 1, sDS, 0x10) },
    { "64 rip-relative negative", M64, BYTES(0x8b, 0x05, 0xf0, 0xff, 0xff, 0xff), 0, 6,
      MEM(RIP, NOREG, 1, sDS, -16) },
    { "64 67 eip-relative", M64, BYTES(0x67, 0x8b, 0x05, 0x10, 0x00, 0x00, 0x00), 0, 7, 4, 4,
      MEM(RIP, NOREG, 1, sDS, 0x10) },
    { "64 SIB no base no index disp32", M64, BYTES(0x8b, 0x04, 0x25, 0x00, 0x10, 0x00, 0x00),
      0, 7, 4, 8, MEM(NOREG, NOREG, 1, sDS, 0x1000) },
    { "64 SIB [rsp+8] defaults to SS", M64, BYTES(0x8b, 0x44, 0x24, 0x08), 0, 4,
      MEM(rSP, NOREG, 1, sSS, 8) },
    { "64 SIB [rbp+rcx*4-16]", M64, BYTES(0x8b, 0x44, 0x8d, 0xf0), 0, 4,
      MEM(rBP, rCX, 4, sSS, -16) },
    { "64 SIB REX.X index r12, no base", M64,
      BYTES(0x42, 0x8b, 0x04, 0xa5, 0x00, 0x00, 0x00, 0x00), 0, 8,
      MEM(NOREG, R12, 4, sDS, 0) },
    { "64 SIB REX.XB [r13+r12*4+8]", M64, BYTES(0x43, 0x8b, 0x44, 0xa5, 0x08), 0, 5,
      MEM(R13, R12, 4, sDS, 8) },
    { "64 SIB mod00 base r13 is disp32", M64,
      BYTES(0x41, 0x8b, 0x04, 0x25, 0x78, 0x56, 0x34, 0x12), 0, 8,
      MEM(NOREG, NOREG, 1, sDS, 0x12345678) },
    { "64 [r13+0] needs disp8", M64, BYTES(0x41, 0x8b, 0x45, 0x00), 0, 4,
      MEM(R13, NOREG, 1, sDS, 0) },
    { "64 [r12] needs SIB", M64, BYTES(0x41, 0x8b, 0x04, 0x24), 0, 4,
      MEM(R12, NOREG, 1, sDS, 0) },
    { "64 disp32 mod10", M64, BYTES(0x8b, 0x83, 0x00, 0x00, 0x00, 0x80), 0, 6,
      MEM(rBX, NOREG, 1, sDS, -0x80000000ll) },
    { "64 SIB scale 8 disp32", M64, BYTES(0x8b, 0x84, 0xc3, 0x44, 0x33, 0x22, 0x11), 0, 7,
      MEM(rBX, rAX, 8, sDS, 0x11223344) },
    { "64 67 [ebx]", M64, BYTES(0x67, 0x8b, 0x03), 0, 3, 4, 4, MEM(rBX, NOREG, 1, sDS, 0) },
    /* ---- 64-bit mode: prefixes ---- */
    { "64 REX before 66 is ignored", M64, BYTES(0x48, 0x66, 0x89, 0x03), 0, 4, 2, 8, REX(0) },
    { "64 66 then REX.W: W wins", M64, BYTES(0x66, 0x48, 0x89, 0x03), 0, 4, 8, 8, REX(0x48) },
    { "64 two REX: last applies", M64, BYTES(0x41, 0x48, 0x89, 0x03), 0, 4, 8, 8,
      REX(0x48), MEM(rBX, NOREG, 1, sDS, 0) },
    { "64 fs override", M64, BYTES(0x64, 0x8b, 0x03), 0, 3, MEM(rBX, NOREG, 1, sFS, 0) },
    { "64 gs:[0x28]", M64, BYTES(0x65, 0x48, 0x8b, 0x04, 0x25, 0x28, 0x00, 0x00, 0x00),
      0, 9, 8, 8, MEM(NOREG, NOREG, 1, sGS, 0x28) },
    { "64 last segment override wins", M64, BYTES(0x2e, 0x65, 0x3e, 0x8b, 0x03), 0, 5,
      MEM(rBX, NOREG, 1, sDS, 0) },
    { "64 ss override on rbx", M64, BYTES(0x36, 0x8b, 0x03), 0, 3,
      MEM(rBX, NOREG, 1, sSS, 0) },
    { "64 14 prefixes + nop = 15", M64,
      BYTES(0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
            0x66, 0x90), 0, 15 },
    { "64 15 prefixes + nop = 16: #GP", M64,
      BYTES(0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
            0x66, 0x66, 0x90), BAD },
    { "64 15 bytes ending in an imm32 is fine", M64,
      BYTES(0x2e, 0x2e, 0x2e, 0x2e, 0x66, 0x67, 0x48, 0xc7, 0x44, 0x24, 0x01, 0x02, 0x00,
            0x00, 0x00), 0, 15, 8, 4, MEM(rSP, NOREG, 1, sCS, 1), IMM(2, 4) },
    { "64 16 bytes ending in an imm32: #GP", M64,
      BYTES(0x2e, 0x2e, 0x2e, 0x2e, 0x2e, 0x66, 0x67, 0x48, 0xc7, 0x44, 0x24, 0x01, 0x02,
            0x00, 0x00, 0x00), BAD },
    /* ---- immediates ---- */
    { "64 mov dword [rax],imm32", M64, BYTES(0xc7, 0x00, 0x78, 0x56, 0x34, 0x12), 0, 6, 4, 8,
      IMM(0x12345678, 4) },
    { "64 mov qword [rax],-1 (imm32 sx)", M64, BYTES(0x48, 0xc7, 0x00, 0xff, 0xff, 0xff, 0xff),
      0, 7, 8, 8, IMM(~0ull, 4) },
    { "64 mov word [rax],imm16", M64, BYTES(0x66, 0xc7, 0x00, 0x34, 0x12), 0, 5, 2, 8,
      IMM(0x1234, 2) },
    { "64 mov byte [rax],0xff", M64, BYTES(0xc6, 0x00, 0xff), 0, 3, 1, 8, IMM(~0ull, 1) },
    { "64 mov byte [rax+disp32],imm8", M64, BYTES(0xc6, 0x80, 0x00, 0x01, 0x00, 0x00, 0x7f),
      0, 7, IMM(0x7f, 1), MEM(rAX, NOREG, 1, sDS, 0x100) },
    { "64 mov eax,imm32", M64, BYTES(0xb8, 0x78, 0x56, 0x34, 0x12), 0, 5, 4, IMM(0x12345678, 4) },
    { "64 movabs rax,imm64", M64,
      BYTES(0x48, 0xb8, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11), 0, 10, 8,
      IMM(0x1122334455667788ull, 8) },
    { "64 mov ax,imm16", M64, BYTES(0x66, 0xb8, 0x34, 0x12), 0, 4, 2, IMM(0x1234, 2) },
    { "64 REX.B mov r8b,imm8", M64, BYTES(0x41, 0xb0, 0x01), 0, 3, 1, IMM(1, 1) },
    { "64 enter 16,1", M64, BYTES(0xc8, 0x10, 0x00, 0x01), 0, 4, IMM(16, 2) },
    { "64 ret imm16", M64, BYTES(0xc2, 0x08, 0x00), 0, 3, IMM(8, 2) },
    { "64 push imm32 (d64)", M64, BYTES(0x68, 0x00, 0x00, 0x00, 0x80), 0, 5, 8,
      IMM(0xffffffff80000000ull, 4) },
    { "64 66 push imm16", M64, BYTES(0x66, 0x68, 0x34, 0x12), 0, 4, 2, IMM(0x1234, 2) },
    { "64 imul r,m,imm8", M64, BYTES(0x6b, 0x03, 0x10), 0, 3, IMM(0x10, 1) },
    /* ---- moffs ---- */
    { "64 mov eax,[moffs64]", M64, BYTES(0xa1, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11),
      0, 9, 4, 8, MEM(NOREG, NOREG, 1, sDS, 0x1122334455667788ll) },
    { "64 67 mov eax,[moffs32]", M64, BYTES(0x67, 0xa1, 0x44, 0x33, 0x22, 0x11), 0, 6, 4, 4,
      MEM(NOREG, NOREG, 1, sDS, 0x11223344) },
    { "64 REX.W mov [moffs64],rax", M64,
      BYTES(0x48, 0xa3, 0, 0, 0, 0, 0, 0, 0, 0x80), 0, 10, 8, 8,
      MEM(NOREG, NOREG, 1, sDS, (int64_t)0x8000000000000000ull) },
    { "64 mov [moffs64],al", M64, BYTES(0xa2, 1, 2, 3, 4, 5, 6, 7, 8), 0, 9, 1 },
    { "64 gs mov al,[moffs64]", M64, BYTES(0x65, 0xa0, 1, 0, 0, 0, 0, 0, 0, 0), 0, 10, 1, 8,
      MEM(NOREG, NOREG, 1, sGS, 1) },
    /* ---- MOVZX/MOVSX/MOVSXD ---- */
    { "64 movzx eax,byte [rbx]", M64, BYTES(0x0f, 0xb6, 0x03), 0, 3, 4, OP(M0F, 0xb6) },
    { "64 movsx rax,word [rbx]", M64, BYTES(0x48, 0x0f, 0xbf, 0x03), 0, 4, 8, OP(M0F, 0xbf) },
    { "64 movsxd rax,[rbx]", M64, BYTES(0x48, 0x63, 0x03), 0, 3, 8, OP(M1, 0x63) },
    /* ---- ALU ---- */
    { "64 or dword [rax],imm32", M64, BYTES(0x81, 0x08, 0x00, 0x01, 0x00, 0x00), 0, 6, 4,
      IMM(0x100, 4) },
    { "64 and dword [rax],imm8 sx", M64, BYTES(0x83, 0x20, 0xf0), 0, 3, 4,
      IMM(0xfffffffffffffff0ull, 1) },
    { "64 cmp byte [rax],5", M64, BYTES(0x80, 0x38, 0x05), 0, 3, 1, IMM(5, 1) },
    { "64 add [rbx+disp8],ecx", M64, BYTES(0x01, 0x4b, 0x7f), 0, 3, REG(1),
      MEM(rBX, NOREG, 1, sDS, 0x7f) },
    { "64 sub eax,[rbx]", M64, BYTES(0x2b, 0x03), 0, 2 },
    { "64 xor [rbx],al", M64, BYTES(0x30, 0x03), 0, 2, 1 },
    { "64 test [rbx],eax", M64, BYTES(0x85, 0x03), 0, 2, 4 },
    { "64 test dword [rbx],imm32", M64, BYTES(0xf7, 0x03, 0x01, 0x00, 0x00, 0x00), 0, 6,
      IMM(1, 4) },
    { "64 test byte [rbx],imm8", M64, BYTES(0xf6, 0x03, 0x80), 0, 3, 1, IMM(~0ull << 7, 1) },
    { "64 not dword [rbx]: no imm", M64, BYTES(0xf7, 0x13), 0, 2 },
    { "64 neg qword [rbx]", M64, BYTES(0x48, 0xf7, 0x1b), 0, 3, 8 },
    { "64 inc byte [rbx]", M64, BYTES(0xfe, 0x03), 0, 2, 1 },
    { "64 fe /2 undefined", M64, BYTES(0xfe, 0x13), UNH },
    /* ---- LOCK ---- */
    { "64 lock add [rax],1", M64, BYTES(0xf0, 0x83, 0x00, 0x01), 0, 4,
      .flags = X86_INSN_LOCKABLE },
    { "64 lock add eax,eax: #UD", M64, BYTES(0xf0, 0x01, 0xc0), BAD },
    { "64 lock mov: #UD", M64, BYTES(0xf0, 0x89, 0x03), BAD },
    { "64 lock cmp [rax],1: #UD", M64, BYTES(0xf0, 0x83, 0x38, 0x01), BAD },
    { "64 lock add eax,[rbx] (reg dest): #UD", M64, BYTES(0xf0, 0x03, 0x03), BAD },
    { "64 lock xchg [rbx],eax", M64, BYTES(0xf0, 0x87, 0x03), 0, 3 },
    { "64 lock cmpxchg [rbx],ecx", M64, BYTES(0xf0, 0x0f, 0xb1, 0x0b), 0, 4, REG(1),
      OP(M0F, 0xb1) },
    { "64 lock cmpxchg16b", M64, BYTES(0xf0, 0x48, 0x0f, 0xc7, 0x0e), 0, 5, 16 },
    { "64 lock bts [rbx],5", M64, BYTES(0xf0, 0x0f, 0xba, 0x2b, 0x05), 0, 5 },
    { "64 lock bt [rbx],5: #UD", M64, BYTES(0xf0, 0x0f, 0xba, 0x23, 0x05), BAD },
    /* ---- XCHG, BT, string, MOVNTI ---- */
    { "64 xchg [rbx],eax", M64, BYTES(0x87, 0x03), 0, 2 },
    { "64 bt [rbx],eax", M64, BYTES(0x0f, 0xa3, 0x03), 0, 3, OP(M0F, 0xa3) },
    { "64 bt dword [rbx],5", M64, BYTES(0x0f, 0xba, 0x23, 0x05), 0, 4, IMM(5, 1) },
    { "64 0f ba /0 undefined", M64, BYTES(0x0f, 0xba, 0x03, 0x05), UNH },
    { "64 rep stosq", M64, BYTES(0xf3, 0x48, 0xab), 0, 3, 8, 8, .flags = X86_INSN_STRING },
    { "64 rep movsb", M64, BYTES(0xf3, 0xa4), 0, 2, 1, .flags = X86_INSN_STRING },
    { "64 movnti [rbx],eax", M64, BYTES(0x0f, 0xc3, 0x03), 0, 3, 4 },
    { "64 movnti reg form: #UD", M64, BYTES(0x0f, 0xc3, 0xc0), BAD },
    /* ---- exits the SVM backend must skip ---- */
    { "cpuid", M64, BYTES(0x0f, 0xa2), 0, 2, OP(M0F, 0xa2) },
    { "rdmsr", M64, BYTES(0x0f, 0x32), 0, 2 },
    { "wrmsr", M64, BYTES(0x0f, 0x30), 0, 2 },
    { "rdtsc", M64, BYTES(0x0f, 0x31), 0, 2 },
    { "in al,imm8", M64, BYTES(0xe4, 0x60), 0, 2, 1, IMM(0x60, 1) },
    { "in eax,imm8", M64, BYTES(0xe5, 0x60), 0, 2, 4 },
    { "66 in ax,imm8", M64, BYTES(0x66, 0xe5, 0x60), 0, 3, 2 },
    { "REX.W in: still 32-bit", M64, BYTES(0x48, 0xe5, 0x60), 0, 3, 4 },
    { "out imm8,al", M64, BYTES(0xe6, 0x80), 0, 2, 1 },
    { "in al,dx", M64, BYTES(0xec), 0, 1, 1 },
    { "out dx,eax", M64, BYTES(0xef), 0, 1, 4 },
    { "rep insb", M64, BYTES(0xf3, 0x6c), 0, 2, 1, .flags = X86_INSN_STRING },
    { "outsw", M64, BYTES(0x66, 0x6f), 0, 2, 2 },
    { "hlt", M64, BYTES(0xf4), 0, 1 },
    { "vmcall", M64, BYTES(0x0f, 0x01, 0xc1), 0, 3 },
    { "vmmcall", M64, BYTES(0x0f, 0x01, 0xd9), 0, 3 },
    { "xsetbv", M64, BYTES(0x0f, 0x01, 0xd1), 0, 3 },
    { "int3", M64, BYTES(0xcc), 0, 1 },
    { "int 0x80", M64, BYTES(0xcd, 0x80), 0, 2, IMM(~0ull << 7, 1) },
    { "mov rax,cr0", M64, BYTES(0x0f, 0x20, 0xc0), 0, 3, 8 },
    { "mov cr3,rax", M64, BYTES(0x0f, 0x22, 0xd8), 0, 3, 8, REG(3) },
    { "mov cr: mod 00 rm 100 has no SIB", M64, BYTES(0x0f, 0x20, 0x04), 0, 3,
      .flags = X86_INSN_MODRM_REG_ONLY },
    { "mov cr: mod 01 has no disp", M64, BYTES(0x0f, 0x22, 0x45), 0, 3 },
    { "REX.R mov rax,cr8", M64, BYTES(0x44, 0x0f, 0x20, 0xc0), 0, 4, REG(8) },
    { "mov rax,dr7", M64, BYTES(0x0f, 0x21, 0xf8), 0, 3, REG(7) },
    { "lgdt [rip+0]", M64, BYTES(0x0f, 0x01, 0x15, 0x00, 0x00, 0x00, 0x00), 0, 7,
      MEM(RIP, NOREG, 1, sDS, 0) },
    { "lidt [rax]", M64, BYTES(0x0f, 0x01, 0x18), 0, 3 },
    { "invlpg [rax+rbx*2]", M64, BYTES(0x0f, 0x01, 0x3c, 0x58), 0, 4,
      MEM(rAX, rBX, 2, sDS, 0) },
    { "pause", M64, BYTES(0xf3, 0x90), 0, 2 },
    { "syscall", M64, BYTES(0x0f, 0x05), 0, 2 },
    { "ud2", M64, BYTES(0x0f, 0x0b), 0, 2 },
    { "endbr64", M64, BYTES(0xf3, 0x0f, 0x1e, 0xfa), 0, 4 },
    { "mfence", M64, BYTES(0x0f, 0xae, 0xf0), 0, 3 },
    { "clflush [rax]", M64, BYTES(0x0f, 0xae, 0x38), 0, 3 },
    /* ---- branches (Intel: 66 ignored in 64-bit mode) ---- */
    { "call rel32", M64, BYTES(0xe8, 0, 0, 0, 0), 0, 5, 8 },
    { "66 call rel32 (Intel)", M64, BYTES(0x66, 0xe8, 0, 0, 0, 0), 0, 6, 8 },
    { "je rel32", M64, BYTES(0x0f, 0x84, 0, 0, 0, 0), 0, 6 },
    { "jne rel8", M64, BYTES(0x75, 0xfe), 0, 2, IMM(~0ull - 1, 1) },
    { "call [rip]", M64, BYTES(0xff, 0x15, 0, 0, 0, 0), 0, 6, 8 },
    { "push qword [rax]", M64, BYTES(0xff, 0x30), 0, 2, 8 },
    { "66 push word [rax]", M64, BYTES(0x66, 0xff, 0x30), 0, 3, 2 },
    { "ff /7 undefined", M64, BYTES(0xff, 0x38), UNH },
    { "pop [rax]", M64, BYTES(0x8f, 0x00), 0, 2, 8 },
    { "8f /1 is XOP: not decoded", M64, BYTES(0x8f, 0x08), UNH },
    { "xbegin rel32", M64, BYTES(0xc7, 0xf8, 0, 0, 0, 0), 0, 6 },
    { "xabort imm8", M64, BYTES(0xc6, 0xf8, 0x01), 0, 3 },
    /* ---- invalid in 64-bit mode / undefined ---- */
    { "push es in 64-bit: #UD", M64, BYTES(0x06), BAD },
    { "call far in 64-bit: #UD", M64, BYTES(0x9a, 0, 0, 0, 0, 0, 0), BAD },
    { "salc undefined", M64, BYTES(0xd6), UNH },
    { "0f 04 undefined", M64, BYTES(0x0f, 0x04), UNH },
    { "lea", M64, BYTES(0x8d, 0x03), 0, 2 },
    { "lea reg,reg: #UD", M64, BYTES(0x8d, 0xc0), BAD },
    /* ---- escapes, VEX, EVEX, 3DNow! ---- */
    { "movbe eax,[rbx] 0f38", M64, BYTES(0x0f, 0x38, 0xf0, 0x03), 0, 4,
      OP(X86_MAP_0F38, 0xf0) },
    { "palignr 0f3a ib", M64, BYTES(0x66, 0x0f, 0x3a, 0x0f, 0xc1, 0x08), 0, 6,
      OP(X86_MAP_0F3A, 0x0f), IMM(8, 1) },
    { "pshufd ib", M64, BYTES(0x66, 0x0f, 0x70, 0xc1, 0x1b), 0, 5 },
    { "vex2 vmovdqa xmm0,[rbx]", M64, BYTES(0xc5, 0xf9, 0x6f, 0x03), 0, 4, OP(M0F, 0x6f),
      MEM(rBX, NOREG, 1, sDS, 0) },
    { "vex3 vpalignr map 0f3a", M64, BYTES(0xc4, 0xe3, 0x79, 0x0f, 0xc1, 0x08), 0, 6,
      OP(X86_MAP_0F3A, 0x0f), IMM(8, 1) },
    { "vex3 B extends base", M64, BYTES(0xc4, 0xc1, 0x79, 0x6f, 0x03), 0, 5,
      MEM(R11, NOREG, 1, sDS, 0) },
    { "vzeroupper: no modrm", M64, BYTES(0xc5, 0xf8, 0x77), 0, 3 },
    { "REX before VEX: #UD", M64, BYTES(0x48, 0xc5, 0xf8, 0x77), BAD },
    { "66 before VEX: #UD", M64, BYTES(0x66, 0xc5, 0xf8, 0x77), BAD },
    { "vex3 map 4: not decoded", M64, BYTES(0xc4, 0xe4, 0x79, 0x0f, 0xc1), UNH },
    { "evex vmovups zmm0,[rbx]", M64, BYTES(0x62, 0xf1, 0x7c, 0x48, 0x10, 0x03), 0, 6,
      OP(M0F, 0x10), .flags = X86_INSN_DISP8N },
    { "evex disp8 length", M64, BYTES(0x62, 0xf1, 0x7c, 0x48, 0x10, 0x43, 0x01), 0, 7 },
    { "evex fixed bit clear: #UD", M64, BYTES(0x62, 0xf1, 0x78, 0x48, 0x10, 0x03), BAD },
    { "3dnow pfmul mm0,[rbx]", M64, BYTES(0x0f, 0x0f, 0x03, 0xb4), 0, 4,
      OP(X86_MAP_3DNOW, 0xb4) },
    { "3dnow with disp8", M64, BYTES(0x0f, 0x0f, 0x43, 0x10, 0xb4), 0, 5 },
    { "extrq (66 0f 78) has two ib", M64, BYTES(0x66, 0x0f, 0x78, 0xc0, 0x08, 0x10), 0, 6 },
    { "vmread rax,rbx", M64, BYTES(0x0f, 0x78, 0xd8), 0, 3, 8 },
    /* ---- truncation ---- */
    { "trunc: nothing", M64, .n = 0, .rc = TRUNC },
    { "trunc: lone REX", M64, BYTES(0x48), TRUNC },
    { "trunc: prefixes only", M64, BYTES(0x66, 0x67, 0xf0), TRUNC },
    { "trunc: missing disp32 byte", M64, BYTES(0x8b, 0x05, 0x10, 0x00, 0x00), TRUNC },
    { "trunc: missing SIB", M64, BYTES(0x8b, 0x04), TRUNC },
    { "trunc: missing imm", M64, BYTES(0xc7, 0x00, 0x78, 0x56, 0x34), TRUNC },
    { "trunc: escape only", M64, BYTES(0x0f), TRUNC },
    { "trunc: 0f 38 only", M64, BYTES(0x0f, 0x38), TRUNC },
    { "trunc: evex head", M64, BYTES(0x62), TRUNC },

    /* ---- 32-bit mode ---- */
    { "32 mov [ebx],eax", M32, BYTES(0x89, 0x03), 0, 2, 4, 4, MEM(rBX, NOREG, 1, sDS, 0) },
    { "32 disp32 is absolute, not rip", M32, BYTES(0x8b, 0x05, 0x00, 0x10, 0x00, 0x00), 0, 6,
      MEM(NOREG, NOREG, 1, sDS, 0x1000) },
    { "32 66 mov [ebx],ax", M32, BYTES(0x66, 0x89, 0x03), 0, 3, 2, 4 },
    { "32 67 [bx]", M32, BYTES(0x67, 0x89, 0x07), 0, 3, 4, 2, MEM(rBX, NOREG, 1, sDS, 0) },
    { "32 67 [bp+2] is SS", M32, BYTES(0x67, 0x8b, 0x46, 0x02), 0, 4,
      MEM(rBP, NOREG, 1, sSS, 2) },
    { "32 67 [disp16]", M32, BYTES(0x67, 0x8b, 0x06, 0x34, 0x12), 0, 5,
      MEM(NOREG, NOREG, 1, sDS, 0x1234) },
    { "32 0x48 is DEC eax, not REX", M32, BYTES(0x48, 0x89, 0x03), 0, 1, REX(0) },
    { "32 les (mod != 11)", M32, BYTES(0xc4, 0x03), 0, 2 },
    { "32 vex2 when mod == 11", M32, BYTES(0xc5, 0xf8, 0x77), 0, 3 },
    { "32 bound", M32, BYTES(0x62, 0x03), 0, 2 },
    { "32 push es", M32, BYTES(0x06), 0, 1 },
    { "32 mov eax,[moffs32]", M32, BYTES(0xa1, 0x44, 0x33, 0x22, 0x11), 0, 5, 4, 4,
      MEM(NOREG, NOREG, 1, sDS, 0x11223344) },
    { "32 67 mov eax,[moffs16]", M32, BYTES(0x67, 0xa1, 0x34, 0x12), 0, 4, 4, 2,
      MEM(NOREG, NOREG, 1, sDS, 0x1234) },
    { "32 call far ptr16:32", M32, BYTES(0x9a, 0x78, 0x56, 0x34, 0x12, 0x08, 0x00), 0, 7,
      IMM(0x12345678, 4) },
    { "32 lock mov eax,cr0 = AMD cr8", M32, BYTES(0xf0, 0x0f, 0x20, 0xc0), 0, 4, 4,
      .flags = X86_INSN_CR8_ALT },
    { "32 call rel32", M32, BYTES(0xe8, 0, 0, 0, 0), 0, 5, 4 },
    { "32 66 call rel16", M32, BYTES(0x66, 0xe8, 0, 0), 0, 4, 2 },
    { "32 mov dword [disp32],imm32", M32,
      BYTES(0xc7, 0x05, 0x00, 0x10, 0x00, 0x00, 0x78, 0x56, 0x34, 0x12), 0, 10,
      MEM(NOREG, NOREG, 1, sDS, 0x1000), IMM(0x12345678, 4) },
    { "32 [ecx*4+disp32]", M32, BYTES(0x8b, 0x04, 0x8d, 0x00, 0x10, 0x00, 0x00), 0, 7,
      MEM(NOREG, rCX, 4, sDS, 0x1000) },
    { "32 es override", M32, BYTES(0x26, 0x8b, 0x03), 0, 3, MEM(rBX, NOREG, 1, sES, 0) },
    { "32 cs override", M32, BYTES(0x2e, 0x8b, 0x03), 0, 3, MEM(rBX, NOREG, 1, sCS, 0) },
    { "32 mov eax,cr0 is 32-bit", M32, BYTES(0x0f, 0x20, 0xc0), 0, 3, 4 },
    { "32 push imm32", M32, BYTES(0x68, 1, 2, 3, 4), 0, 5, 4 },
    { "32 aam", M32, BYTES(0xd4, 0x0a), 0, 2 },

    /* ---- 16-bit mode ---- */
    { "16 mov [bx],ax", M16, BYTES(0x89, 0x07), 0, 2, 2, 2, MEM(rBX, NOREG, 1, sDS, 0) },
    { "16 [bx+si]", M16, BYTES(0x8b, 0x00), 0, 2, MEM(rBX, rSI, 1, sDS, 0) },
    { "16 [bx+di]", M16, BYTES(0x8b, 0x01), 0, 2, MEM(rBX, rDI, 1, sDS, 0) },
    { "16 [bp+si] is SS", M16, BYTES(0x8b, 0x02), 0, 2, MEM(rBP, rSI, 1, sSS, 0) },
    { "16 [bp+di] is SS", M16, BYTES(0x8b, 0x03), 0, 2, MEM(rBP, rDI, 1, sSS, 0) },
    { "16 [si]", M16, BYTES(0x8b, 0x04), 0, 2, MEM(NOREG, rSI, 1, sDS, 0) },
    { "16 [di]", M16, BYTES(0x8b, 0x05), 0, 2, MEM(NOREG, rDI, 1, sDS, 0) },
    { "16 [bp-2]", M16, BYTES(0x8b, 0x46, 0xfe), 0, 3, MEM(rBP, NOREG, 1, sSS, -2) },
    { "16 [bx+disp16]", M16, BYTES(0x8b, 0x87, 0x34, 0x12), 0, 4,
      MEM(rBX, NOREG, 1, sDS, 0x1234) },
    { "16 [disp16] sign-extended", M16, BYTES(0x8b, 0x06, 0x00, 0x80), 0, 4,
      MEM(NOREG, NOREG, 1, sDS, -0x8000) },
    { "16 ds override on [bp]", M16, BYTES(0x3e, 0x8b, 0x46, 0x00), 0, 4,
      MEM(rBP, NOREG, 1, sDS, 0) },
    { "16 66 mov eax,[bx]", M16, BYTES(0x66, 0x8b, 0x07), 0, 3, 4, 2 },
    { "16 67 mov ax,[ebx]", M16, BYTES(0x67, 0x8b, 0x03), 0, 3, 2, 4,
      MEM(rBX, NOREG, 1, sDS, 0) },
    { "16 67 [esp+4] SIB", M16, BYTES(0x67, 0x8b, 0x44, 0x24, 0x04), 0, 5,
      MEM(rSP, NOREG, 1, sSS, 4) },
    { "16 mov ax,[moffs16]", M16, BYTES(0xa1, 0x34, 0x12), 0, 3, 2, 2 },
    { "16 call rel16", M16, BYTES(0xe8, 0x34, 0x12), 0, 3 },
    { "16 66 call rel32", M16, BYTES(0x66, 0xe8, 1, 2, 3, 4), 0, 6 },
    { "16 mov word [disp16],imm16", M16, BYTES(0xc7, 0x06, 0x00, 0x10, 0x34, 0x12), 0, 6,
      IMM(0x1234, 2) },
    { "16 int 0x10", M16, BYTES(0xcd, 0x10), 0, 2 },
    { "16 jmp far ffff:0000", M16, BYTES(0xea, 0x00, 0x00, 0xff, 0xff), 0, 5, IMM(0, 2) },
    { "16 66 mov dword [bx],imm32", M16, BYTES(0x66, 0xc7, 0x07, 1, 2, 3, 4), 0, 7, 4 },
    { "16 trunc disp16", M16, BYTES(0x8b, 0x87, 0x34), TRUNC },
};

static void check_vector(void **state)
{
    const struct dvec *v = *state;
    struct x86_insn insn;
    /* Exactly n bytes on the heap: ASan flags any read past avail. */
    uint8_t *buf = malloc(v->n ? v->n : 1);
    int rc;

    assert_non_null(buf);
    memcpy(buf, v->b, v->n);
    rc = x86_decode(buf, v->n, v->mode, &insn);
    free(buf);
    assert_int_equal(rc, v->rc);
    if (rc)
        return;
    assert_int_equal(insn.len, v->len);
    if (v->os)
        assert_int_equal(insn.opsize, v->os);
    if (v->as)
        assert_int_equal(insn.adsize, v->as);
    if (v->ck_op) {
        assert_int_equal(insn.map, v->map);
        assert_int_equal(insn.opcode, v->op);
    }
    if (v->ck_mem) {
        assert_true(insn.has_mem);
        assert_int_equal(insn.mem.base, v->base);
        assert_int_equal(insn.mem.index, v->index);
        assert_int_equal(insn.mem.scale, v->scale);
        assert_int_equal(insn.mem.seg, v->seg);
        assert_true(insn.mem.disp == v->disp);
    }
    if (v->ck_imm) {
        assert_int_equal(insn.imm_size, v->imm_size);
        assert_true(insn.imm == v->imm);
    }
    if (v->ck_reg)
        assert_int_equal(insn.reg, v->reg);
    if (v->ck_rex)
        assert_int_equal(insn.rex, v->rex);
    assert_int_equal(insn.flags & v->flags, v->flags);
}

/* Every proper prefix of a valid instruction is TRUNCATED, and trailing
   bytes beyond the instruction change nothing. */
static void test_prefixes_truncate(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(vecs) / sizeof(vecs[0]); i++) {
        const struct dvec *v = &vecs[i];
        struct x86_insn a, b;
        uint8_t longer[32];

        if (v->rc != 0)
            continue;
        for (unsigned int k = 0; k < v->len; k++) {
            uint8_t *buf = malloc(k ? k : 1);

            int rc;

            memcpy(buf, v->b, k);
            rc = x86_decode(buf, k, v->mode, &a);
            free(buf);
            if (rc != TRUNC)
                fail_msg("%s: %u of %u bytes did not truncate", v->name, k, v->len);
        }
        memset(longer, 0xcc, sizeof(longer));
        memcpy(longer, v->b, v->n);
        assert_int_equal(x86_decode(v->b, v->n, v->mode, &a), 0);
        assert_int_equal(x86_decode(longer, sizeof(longer), v->mode, &b), 0);
        assert_int_equal(a.len, b.len);
    }
}

static void test_null_and_bad_mode(void **state)
{
    struct x86_insn insn;
    uint8_t nop = 0x90;

    (void)state;
    assert_int_equal(x86_decode(&nop, 1, M64, NULL), BAD);
    assert_int_equal(x86_decode(NULL, 1, M64, &insn), BAD);
    assert_int_equal(x86_decode(&nop, 1, (enum x86_mode)7, &insn), BAD);
    assert_int_equal(x86_decode(&nop, 1, M64, &insn), 0);
    assert_int_equal(insn.len, 1);
}

/* Every single opcode byte after enough zero bytes decodes, or fails cleanly,
   with a length within the buffer; 64 KiB two-byte combinations likewise. */
static void test_all_two_byte_heads(void **state)
{
    (void)state;
    for (int mode = M16; mode <= M64; mode++) {
        for (unsigned int a = 0; a < 256; a++) {
            for (unsigned int b = 0; b < 256; b++) {
                uint8_t buf[15] = { (uint8_t)a, (uint8_t)b };
                struct x86_insn insn;
                int rc = x86_decode(buf, sizeof(buf), (enum x86_mode)mode, &insn);

                if (rc == 0) {
                    assert_true(insn.len >= 1 && insn.len <= 15);
                } else {
                    assert_true(rc == UNH || rc == BAD || rc == TRUNC);
                }
            }
        }
    }
}

int main(void)
{
    enum { N = sizeof(vecs) / sizeof(vecs[0]) };
    static struct CMUnitTest tests[N + 3];

    for (size_t i = 0; i < N; i++) {
        tests[i].name = vecs[i].name;
        tests[i].test_func = check_vector;
        tests[i].initial_state = (void *)&vecs[i];
    }
    tests[N].name = "every prefix of a vector truncates";
    tests[N].test_func = test_prefixes_truncate;
    tests[N + 1].name = "NULL arguments and bad mode";
    tests[N + 1].test_func = test_null_and_bad_mode;
    tests[N + 2].name = "all two-byte heads in all modes";
    tests[N + 2].test_func = test_all_two_byte_heads;
    return _cmocka_run_group_tests("x86_decode", tests, N + 3, NULL, NULL);
}
