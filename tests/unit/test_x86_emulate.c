/*
 * Host unit tests for the memory-operand emulator: a fake device page and a
 * fake RAM window stand in for the guest. Expected registers and flags were
 * worked out by hand from the SDM instruction pages.
 */
/* @sources: hypervisor/x86emul/decode.c hypervisor/x86emul/decode_tables.c hypervisor/x86emul/emulate.c hypervisor/x86emul/alu.c */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include <proxenos/x86emul.h>

#define MMIO_GPA 0xfee00000ull   /* guest-physical page of the fake device */
#define MMIO_LA  0x7000ull       /* its linear address */
#define RAM_LA   0x10000ull      /* an 8 KiB linear window of ordinary RAM */
#define RAM_GPA  0x200000ull
#define RAM_SIZE 8192

#define CF X86_FLAGS_CF
#define PF X86_FLAGS_PF
#define AF X86_FLAGS_AF
#define ZF X86_FLAGS_ZF
#define SF X86_FLAGS_SF
#define OF X86_FLAGS_OF
#define DF X86_FLAGS_DF

static struct fake {
    uint8_t dev[4096];
    uint8_t ram[RAM_SIZE];
    int nreads, nwrites;
    uint64_t last_gpa;
    unsigned int last_size;
    uint64_t last_val;
    int mmio_fail;          /* 1: fail properly; 2: return a bogus positive code */
} F;

static struct x86emul_ctx C;

static void page_fault(struct x86emul_ctx *ctx, uint64_t la)
{
    ctx->fault.vector = X86_EXC_PF;
    ctx->fault.has_error_code = true;
    ctx->fault.error_code = 0;
    ctx->fault.cr2 = la;
}

static int f_read_linear(struct x86emul_ctx *ctx, uint64_t la, void *buf, unsigned int len)
{
    if (la < RAM_LA || la + len > RAM_LA + RAM_SIZE) {
        page_fault(ctx, la);
        return -X86EMUL_EXCEPTION;
    }
    memcpy(buf, &F.ram[la - RAM_LA], len);
    return 0;
}

static int f_write_linear(struct x86emul_ctx *ctx, uint64_t la, const void *buf,
                          unsigned int len)
{
    if (la < RAM_LA || la + len > RAM_LA + RAM_SIZE) {
        page_fault(ctx, la);
        return -X86EMUL_EXCEPTION;
    }
    memcpy(&F.ram[la - RAM_LA], buf, len);
    return 0;
}

static int f_linear_to_phys(struct x86emul_ctx *ctx, uint64_t la, uint32_t access,
                            uint64_t *gpa)
{
    (void)access;
    if (la >= MMIO_LA && la < MMIO_LA + 4096) {
        *gpa = MMIO_GPA + (la - MMIO_LA);
        return 0;
    }
    if (la >= RAM_LA && la < RAM_LA + RAM_SIZE) {
        *gpa = RAM_GPA + (la - RAM_LA);
        return 0;
    }
    if (la >= MMIO_LA + 4096 && la < MMIO_LA + 8192) {   /* RAM right after the device */
        *gpa = 0x300000 + (la - MMIO_LA - 4096);
        return 0;
    }
    page_fault(ctx, la);
    return -X86EMUL_EXCEPTION;
}

/* The emulator promises device accesses of 1/2/4/8 bytes inside the page. */
static void check_dev_access(uint64_t gpa, unsigned int size)
{
    assert_true(size == 1 || size == 2 || size == 4 || size == 8);
    assert_true(gpa >= MMIO_GPA && gpa + size <= MMIO_GPA + 4096);
}

static int f_mmio_read(struct x86emul_ctx *ctx, uint64_t gpa, unsigned int size, uint64_t *val)
{
    uint64_t v = 0;

    (void)ctx;
    check_dev_access(gpa, size);
    if (F.mmio_fail)
        return F.mmio_fail == 1 ? -X86EMUL_ERROR : 7;
    for (unsigned int i = 0; i < size; i++)
        v |= (uint64_t)F.dev[gpa - MMIO_GPA + i] << (8 * i);
    F.nreads++;
    F.last_gpa = gpa;
    F.last_size = size;
    *val = v;
    return 0;
}

static int f_mmio_write(struct x86emul_ctx *ctx, uint64_t gpa, unsigned int size, uint64_t val)
{
    (void)ctx;
    check_dev_access(gpa, size);
    if (F.mmio_fail)
        return -X86EMUL_ERROR;
    for (unsigned int i = 0; i < size; i++)
        F.dev[gpa - MMIO_GPA + i] = (uint8_t)(val >> (8 * i));
    F.nwrites++;
    F.last_gpa = gpa;
    F.last_size = size;
    F.last_val = val;
    return 0;
}

static const struct x86emul_ops plain_ops = {
    .read_linear = f_read_linear,
    .write_linear = f_write_linear,
    .mmio_read = f_mmio_read,
    .mmio_write = f_mmio_write,
};

static const struct x86emul_ops xlate_ops = {
    .read_linear = f_read_linear,
    .write_linear = f_write_linear,
    .linear_to_phys = f_linear_to_phys,
    .mmio_read = f_mmio_read,
    .mmio_write = f_mmio_write,
};

static void reset(enum x86_mode mode, uint64_t fault_off)
{
    memset(&F, 0, sizeof(F));
    memset(&C, 0, sizeof(C));
    C.ops = &plain_ops;
    C.priv = &F;
    C.mode = (uint8_t)mode;
    C.mmio_gpa = MMIO_GPA + fault_off;
}

static struct x86emul_regs regs0(void)
{
    struct x86emul_regs r;

    memset(&r, 0, sizeof(r));
    r.rip = 0x1000;
    r.rflags = 0x2;
    return r;
}

static void dev_put(unsigned int off, uint64_t v, unsigned int size)
{
    for (unsigned int i = 0; i < size; i++)
        F.dev[off + i] = (uint8_t)(v >> (8 * i));
}

static uint64_t dev_get(unsigned int off, unsigned int size)
{
    uint64_t v = 0;

    for (unsigned int i = 0; i < size; i++)
        v |= (uint64_t)F.dev[off + i] << (8 * i);
    return v;
}

static int emu(const uint8_t *bytes, size_t n, struct x86emul_regs *r)
{
    struct x86_insn insn;
    int rc = x86_decode(bytes, n, (enum x86_mode)C.mode, &insn);

    assert_int_equal(rc, 0);
    assert_int_equal(insn.len, n);
    return x86_emulate(&C, r, &insn);
}

#define EMU(r, ...) \
    emu((const uint8_t[]){ __VA_ARGS__ }, sizeof((const uint8_t[]){ __VA_ARGS__ }), (r))

#define assert_u64(a, b) assert_true((uint64_t)(a) == (uint64_t)(b))

/* ------------------------------------------------------------------------- */
/* MOV                                                                        */
/* ------------------------------------------------------------------------- */

static void test_mov_store_dword(void **state)
{
    struct x86emul_regs r;

    (void)state;
    reset(X86_MODE_64, 0x10);
    r = regs0();
    r.gpr[X86_REG_RBX] = MMIO_LA + 0x10;
    r.gpr[X86_REG_RAX] = 0x11223344deadbeefull;
    assert_int_equal(EMU(&r, 0x89, 0x03), 0);
    assert_int_equal(F.nwrites, 1);
    assert_int_equal(F.nreads, 0);
    assert_u64(F.last_gpa, MMIO_GPA + 0x10);
    assert_int_equal(F.last_size, 4);
    assert_u64(dev_get(0x10, 8), 0xdeadbeefull);
    assert_u64(r.rip, 0x1002);
    assert_u64(r.gpr[X86_REG_RAX], 0x11223344deadbeefull);
}

static void test_mov_load_widths(void **state)
{
    struct x86emul_regs r;

    (void)state;
    reset(X86_MODE_64, 0x20);
    dev_put(0x20, 0x0123456789abcdefull, 8);
    r = regs0();
    r.gpr[X86_REG_RBX] = MMIO_LA + 0x20;

    r.gpr[X86_REG_RAX] = ~0ull;                    /* mov eax,[rbx]: zero-extends */
    assert_int_equal(EMU(&r, 0x8b, 0x03), 0);
    assert_u64(r.gpr[X86_REG_RAX], 0x89abcdefull);

    r.gpr[X86_REG_RAX] = ~0ull;                    /* mov ax,[rbx]: merges */
    assert_int_equal(EMU(&r, 0x66, 0x8b, 0x03), 0);
    assert_u64(r.gpr[X86_REG_RAX], 0xffffffffffffcdefull);

    r.gpr[X86_REG_RAX] = ~0ull;                    /* mov al,[rbx] */
    assert_int_equal(EMU(&r, 0x8a, 0x03), 0);
    assert_u64(r.gpr[X86_REG_RAX], 0xffffffffffffffefull);

    r.gpr[X86_REG_RAX] = 0;                        /* mov ah,[rbx]: byte 1 of RAX */
    assert_int_equal(EMU(&r, 0x8a, 0x23), 0);
    assert_u64(r.gpr[X86_REG_RAX], 0xef00ull);

    r.gpr[X86_REG_RSP] = 0x1111111111111111ull;    /* REX: mov spl,[rbx] */
    assert_int_equal(EMU(&r, 0x40, 0x8a, 0x23), 0);
    assert_u64(r.gpr[X86_REG_RSP], 0x11111111111111efull);
    assert_u64(r.gpr[X86_REG_RAX], 0xef00ull);

    assert_int_equal(EMU(&r, 0x4c, 0x8b, 0x0b), 0); /* mov r9,[rbx] */
    assert_u64(r.gpr[X86_REG_R9], 0x0123456789abcdefull);
    assert_int_equal(F.nwrites, 0);
    assert_int_equal(F.nreads, 6);
    assert_u64(r.rip, 0x1000 + 2 + 3 + 2 + 2 + 3 + 3);
}

static void test_mov_store_byte_regs(void **state)
{
    struct x86emul_regs r;

    (void)state;
    reset(X86_MODE_64, 0x10);
    r = regs0();
    r.gpr[X86_REG_RBX] = MMIO_LA + 0x10;           /* BH = 0x70 */
    r.gpr[X86_REG_RDI] = 0x55;
    r.gpr[X86_REG_R8] = 0x66;
    assert_int_equal(EMU(&r, 0x88, 0x3b), 0);      /* mov [rbx],bh */
    assert_int_equal(F.dev[0x10], 0x70);
    assert_int_equal(EMU(&r, 0x40, 0x88, 0x3b), 0); /* mov [rbx],dil */
    assert_int_equal(F.dev[0x10], 0x55);
    assert_int_equal(EMU(&r, 0x44, 0x88, 0x03), 0); /* mov [rbx],r8b */
    assert_int_equal(F.dev[0x10], 0x66);
    assert_int_equal(F.dev[0x11], 0);
    assert_int_equal(F.last_size, 1);
}

static void test_mov_imm(void **state)
{
    struct x86emul_regs r;

    (void)state;
    reset(X86_MODE_64, 0x40);
    r = regs0();
    r.gpr[X86_REG_RBX] = MMIO_LA + 0x40;
    assert_int_equal(EMU(&r, 0xc7, 0x03, 0x78, 0x56, 0x34, 0x12), 0);
    assert_u64(dev_get(0x40, 8), 0x12345678);
    assert_int_equal(EMU(&r, 0x48, 0xc7, 0x03, 0xfe, 0xff, 0xff, 0xff), 0);
    assert_u64(dev_get(0x40, 8), 0xfffffffffffffffeull);
    assert_int_equal(F.last_size, 8);
    assert_int_equal(EMU(&r, 0x66, 0xc7, 0x03, 0x34, 0x12), 0);
    assert_u64(dev_get(0x40, 8), 0xffffffffffff1234ull);
    assert_int_equal(EMU(&r, 0xc6, 0x03, 0x5a), 0);
    assert_u64(dev_get(0x40, 8), 0xffffffffffff125aull);
    assert_int_equal(F.nreads, 0);
}

static void test_moffs(void **state)
{
    struct x86emul_regs r;

    (void)state;
    reset(X86_MODE_64, 0x88);
    dev_put(0x88, 0x8877665544332211ull, 8);
    r = regs0();
    /* mov rax,[0x7088] (moffs64) */
    assert_int_equal(EMU(&r, 0x48, 0xa1, 0x88, 0x70, 0, 0, 0, 0, 0, 0), 0);
    assert_u64(r.gpr[X86_REG_RAX], 0x8877665544332211ull);
    assert_u64(r.rip, 0x100a);
    /* 67 mov eax,[moffs32] */
    assert_int_equal(EMU(&r, 0x67, 0xa1, 0x88, 0x70, 0, 0), 0);
    assert_u64(r.gpr[X86_REG_RAX], 0x44332211ull);
    /* mov [moffs64],al */
    r.gpr[X86_REG_RAX] = 0xab;
    assert_int_equal(EMU(&r, 0xa2, 0x88, 0x70, 0, 0, 0, 0, 0, 0), 0);
    assert_u64(dev_get(0x88, 8), 0x88776655443322abull);
    /* gs: mov eax,[gs:0x8] with GS base at the page */
    C.seg_base[X86_SEG_GS] = MMIO_LA + 0x80;
    assert_int_equal(EMU(&r, 0x65, 0xa1, 0x08, 0, 0, 0, 0, 0, 0, 0), 0);
    assert_u64(r.gpr[X86_REG_RAX], 0x443322abull);
}

static void test_movzx_movsx(void **state)
{
    struct x86emul_regs r;

    (void)state;
    reset(X86_MODE_64, 0x30);
    dev_put(0x30, 0x80000080ull, 4);               /* byte 0x80, word 0x0080 */
    r = regs0();
    r.gpr[X86_REG_RBX] = MMIO_LA + 0x30;
    r.gpr[X86_REG_RAX] = ~0ull;
    assert_int_equal(EMU(&r, 0x0f, 0xb6, 0x03), 0);          /* movzx eax,byte */
    assert_u64(r.gpr[X86_REG_RAX], 0x80);
    assert_int_equal(EMU(&r, 0x0f, 0xbe, 0x03), 0);          /* movsx eax,byte */
    assert_u64(r.gpr[X86_REG_RAX], 0xffffff80ull);
    assert_int_equal(EMU(&r, 0x48, 0x0f, 0xbe, 0x03), 0);    /* movsx rax,byte */
    assert_u64(r.gpr[X86_REG_RAX], 0xffffffffffffff80ull);
    r.gpr[X86_REG_RAX] = 0x1234567800000000ull;
    assert_int_equal(EMU(&r, 0x66, 0x0f, 0xbe, 0x03), 0);    /* movsx ax,byte: merge */
    assert_u64(r.gpr[X86_REG_RAX], 0x123456780000ff80ull);
    dev_put(0x30, 0x8000ff80ull, 4);
    assert_int_equal(EMU(&r, 0x0f, 0xb7, 0x03), 0);          /* movzx eax,word */
    assert_u64(r.gpr[X86_REG_RAX], 0xff80);
    assert_int_equal(EMU(&r, 0x0f, 0xbf, 0x03), 0);          /* movsx eax,word */
    assert_u64(r.gpr[X86_REG_RAX], 0xffffff80ull);
    assert_int_equal(EMU(&r, 0x48, 0x63, 0x03), 0);          /* movsxd rax,dword */
    assert_u64(r.gpr[X86_REG_RAX], 0xffffffff8000ff80ull);
    r.gpr[X86_REG_RAX] = ~0ull;
    assert_int_equal(EMU(&r, 0x63, 0x03), 0);                /* movsxd eax: plain */
    assert_u64(r.gpr[X86_REG_RAX], 0x8000ff80ull);
    assert_int_equal(F.last_size, 4);
}

/* ------------------------------------------------------------------------- */
/* ALU forms with flags                                                       */
/* ------------------------------------------------------------------------- */

struct alu_case {
    const char *name;
    uint8_t b[8];
    uint8_t n;
    unsigned int size;     /* bytes of the memory operand to compare */
    uint64_t mem, rax, flags_in;
    uint64_t mem_out, rax_out, flags_out;  /* arithmetic flags only */
    bool writes;
};

#define B(...) .b = { __VA_ARGS__ }, .n = sizeof((uint8_t[]){ __VA_ARGS__ })

static const struct alu_case alu_cases[] = {
    { "add [rbx],eax carries to zero", B(0x01, 0x03), 4, 0xffffffff, 1, 0,
      0, 1, CF | PF | AF | ZF, true },
    { "add byte [rbx],al overflows", B(0x00, 0x03), 1, 0x7f, 1, 0,
      0x80, 1, OF | SF | AF, true },
    { "cmp dword [rbx],1 borrows, no write", B(0x83, 0x3b, 0x01), 4, 0, 0, 0,
      0, 0, CF | PF | AF | SF, false },
    { "sub eax,[rbx] zero-extends rax", B(0x2b, 0x03), 4, 7, 0xaaaaaaaa00000005ull, 0,
      7, 0xfffffffeull, CF | AF | SF, false },
    { "or dword [rbx],imm32 clears CF/OF", B(0x81, 0x0b, 0x00, 0x01, 0x00, 0x00), 4, 1, 0,
      CF | OF | AF | ZF | SF | PF, 0x101, 0, 0, true },
    { "and dword [rbx],imm8 sign-extended", B(0x83, 0x23, 0xf0), 4, 0x1234567f, 0, 0,
      0x12345670, 0, 0, true },
    { "xor eax,[rbx] to zero", B(0x33, 0x03), 4, 0xff00ff00, 0xff00ff00, 0,
      0xff00ff00, 0, ZF | PF, false },
    { "adc [rbx],eax with CF", B(0x11, 0x03), 4, 1, 1, CF, 3, 1, PF, true },
    { "sbb [rbx],eax with CF", B(0x19, 0x03), 4, 5, 2, CF, 2, 2, 0, true },
    { "add qword overflow", B(0x48, 0x01, 0x03), 8, 0x7fffffffffffffffull, 1, 0,
      0x8000000000000000ull, 1, OF | SF | AF | PF, true },
    { "sub qword 0-1", B(0x48, 0x29, 0x03), 8, 0, 1, 0, ~0ull, 1, CF | SF | AF | PF, true },
    { "sub word overflow", B(0x66, 0x29, 0x03), 2, 0x8000, 1, 0, 0x7fff, 1, OF | AF | PF, true },
    { "cmp byte equal", B(0x38, 0x03), 1, 0x10, 0x10, CF, 0x10, 0x10, ZF | PF, false },
    { "xor byte [rbx],0xff", B(0x80, 0x33, 0xff), 1, 0x0f, 0, 0, 0xf0, 0, SF | PF, true },
    { "test [rbx],eax", B(0x85, 0x03), 4, 0x80000000, 0x80000001, 0,
      0x80000000, 0x80000001, SF | PF, false },
    { "test byte [rbx],1", B(0xf6, 0x03, 0x01), 1, 0x02, 0, 0, 0x02, 0, ZF | PF, false },
    { "not keeps flags", B(0xf7, 0x13), 4, 0x0f0f0f0f, 0, CF | ZF, 0xf0f0f0f0, 0, CF | ZF, true },
    { "neg 5", B(0xf7, 0x1b), 4, 5, 0, 0, 0xfffffffb, 0, CF | SF | AF, true },
    { "neg 0", B(0xf7, 0x1b), 4, 0, 0, CF, 0, 0, ZF | PF, true },
    { "inc keeps CF", B(0xff, 0x03), 4, 0x7fffffff, 0, CF, 0x80000000, 0,
      CF | OF | SF | AF | PF, true },
    { "dec byte to zero", B(0xfe, 0x0b), 1, 1, 0, 0, 0, 0, ZF | PF, true },
    { "add byte imm wraps", B(0x80, 0x03, 0x80), 1, 0x80, 0, 0, 0, 0, CF | OF | ZF | PF, true },
    { "sub dword imm8 overflow", B(0x83, 0x2b, 0x01), 4, 0x80000000, 0, 0,
      0x7fffffff, 0, OF | AF | PF, true },
    { "lock add", B(0xf0, 0x01, 0x03), 4, 2, 3, 0, 5, 3, PF, true },
    { "add byte: bit-4 operands, no AF", B(0x00, 0x03), 1, 0x10, 0x10, AF, 0x20, 0x10, 0, true },
    { "sub byte: bit-4 operands, no AF", B(0x28, 0x03), 1, 0x30, 0x10, AF, 0x20, 0x10, 0, true },
};

static void run_alu_case(void **state)
{
    const struct alu_case *c = *state;
    struct x86emul_regs r;

    reset(X86_MODE_64, 0x18);
    dev_put(0x18, c->mem, c->size);
    dev_put(0x18 + c->size, 0xa5a5a5a5a5a5a5a5ull, 8);   /* must stay untouched */
    r = regs0();
    r.gpr[X86_REG_RBX] = MMIO_LA + 0x18;
    r.gpr[X86_REG_RAX] = c->rax;
    r.rflags = 0x2 | c->flags_in;
    assert_int_equal(emu(c->b, c->n, &r), 0);
    assert_u64(dev_get(0x18, c->size), c->mem_out);
    assert_u64(dev_get(0x18 + c->size, 8), 0xa5a5a5a5a5a5a5a5ull);
    assert_u64(r.gpr[X86_REG_RAX], c->rax_out);
    assert_u64(r.rflags & X86_FLAGS_ARITH, c->flags_out);
    assert_u64(r.rflags & ~(uint64_t)X86_FLAGS_ARITH, 0x2);
    assert_int_equal(F.nwrites, c->writes ? 1 : 0);
    assert_int_equal(F.nreads, 1);
    assert_u64(r.rip, 0x1000 + c->n);
}

/* ------------------------------------------------------------------------- */
/* XCHG, BT family, CMPXCHG, XADD, MOVNTI, CMOVcc, SETcc                      */
/* ------------------------------------------------------------------------- */

static void test_xchg(void **state)
{
    struct x86emul_regs r;

    (void)state;
    reset(X86_MODE_64, 0x10);
    dev_put(0x10, 0x11111111, 4);
    r = regs0();
    r.gpr[X86_REG_RBX] = MMIO_LA + 0x10;
    r.gpr[X86_REG_RCX] = 0xffffffff22222222ull;
    assert_int_equal(EMU(&r, 0x87, 0x0b), 0);
    assert_u64(dev_get(0x10, 4), 0x22222222);
    assert_u64(r.gpr[X86_REG_RCX], 0x11111111);
}

static void test_bt_family(void **state)
{
    struct x86emul_regs r;

    (void)state;
    /* bt [rbx],eax with eax=35: dword at +4, bit 3 */
    reset(X86_MODE_64, 0x14);
    F.dev[0x14] = 0x08;
    r = regs0();
    r.gpr[X86_REG_RBX] = MMIO_LA + 0x10;
    r.gpr[X86_REG_RAX] = 35;
    assert_int_equal(EMU(&r, 0x0f, 0xa3, 0x03), 0);
    assert_true(r.rflags & CF);
    assert_u64(F.last_gpa, MMIO_GPA + 0x14);
    assert_int_equal(F.nwrites, 0);

    /* bt with eax=-1: dword at -4, bit 31 */
    reset(X86_MODE_64, 0x0c);
    r.gpr[X86_REG_RAX] = 0xffffffff;
    assert_int_equal(EMU(&r, 0x0f, 0xa3, 0x03), 0);
    assert_false(r.rflags & CF);
    assert_u64(F.last_gpa, MMIO_GPA + 0x0c);

    /* btc [rbx],rax with rax=64+5: qword at +8, bit 5 */
    reset(X86_MODE_64, 0x18);
    r.gpr[X86_REG_RAX] = 69;
    dev_put(0x18, 0xff, 8);
    assert_int_equal(EMU(&r, 0x48, 0x0f, 0xbb, 0x03), 0);
    assert_true(r.rflags & CF);
    assert_u64(dev_get(0x18, 8), 0xdf);
    assert_int_equal(F.last_size, 8);

    /* 16-bit operand, bit offset -1: word at -2, bit 15 */
    reset(X86_MODE_64, 0x0e);
    r.gpr[X86_REG_RAX] = 0xffff;
    assert_int_equal(EMU(&r, 0x66, 0x0f, 0xab, 0x03), 0);   /* bts */
    assert_false(r.rflags & CF);
    assert_u64(dev_get(0x0e, 2), 0x8000);
    assert_int_equal(F.last_size, 2);

    /* immediate forms: offset taken modulo 32, no address adjustment */
    reset(X86_MODE_64, 0x10);
    r.gpr[X86_REG_RBX] = MMIO_LA + 0x10;
    assert_int_equal(EMU(&r, 0x0f, 0xba, 0x2b, 0x25), 0);   /* bts [rbx],37 -> bit 5 */
    assert_u64(dev_get(0x10, 4), 0x20);
    assert_false(r.rflags & CF);
    assert_int_equal(EMU(&r, 0x0f, 0xba, 0x33, 0x05), 0);   /* btr [rbx],5 */
    assert_true(r.rflags & CF);
    assert_u64(dev_get(0x10, 4), 0);
    assert_int_equal(EMU(&r, 0x0f, 0xba, 0x3b, 0x00), 0);   /* btc [rbx],0 */
    assert_u64(dev_get(0x10, 4), 1);
    assert_int_equal(EMU(&r, 0x0f, 0xba, 0x23, 0x00), 0);   /* bt [rbx],0 */
    assert_true(r.rflags & CF);
    assert_int_equal(EMU(&r, 0x0f, 0xb3, 0x03), -X86EMUL_UNHANDLED); /* eax=0xffff: off page */
}

static void test_cmpxchg(void **state)
{
    struct x86emul_regs r;

    (void)state;
    reset(X86_MODE_64, 0x10);
    dev_put(0x10, 0x1234, 4);
    r = regs0();
    r.gpr[X86_REG_RBX] = MMIO_LA + 0x10;
    r.gpr[X86_REG_RAX] = 0x1234;
    r.gpr[X86_REG_RCX] = 0x5678;
    assert_int_equal(EMU(&r, 0xf0, 0x0f, 0xb1, 0x0b), 0);   /* equal: store ecx */
    assert_u64(dev_get(0x10, 4), 0x5678);
    assert_true(r.rflags & ZF);
    assert_int_equal(F.nwrites, 1);

    r.gpr[X86_REG_RAX] = 0xffffffff00001111ull;
    assert_int_equal(EMU(&r, 0x0f, 0xb1, 0x0b), 0);         /* differ: load eax */
    assert_u64(r.gpr[X86_REG_RAX], 0x5678);
    assert_false(r.rflags & ZF);
    assert_int_equal(F.nwrites, 1);                           /* no write-back */

    F.dev[0x10] = 0x42;                                       /* byte form */
    r.gpr[X86_REG_RAX] = 0x42;
    r.gpr[X86_REG_RCX] = 0x99;
    assert_int_equal(EMU(&r, 0x0f, 0xb0, 0x0b), 0);
    assert_int_equal(F.dev[0x10], 0x99);
}

static void test_xadd_movnti(void **state)
{
    struct x86emul_regs r;

    (void)state;
    reset(X86_MODE_64, 0x10);
    dev_put(0x10, 5, 4);
    r = regs0();
    r.gpr[X86_REG_RBX] = MMIO_LA + 0x10;
    r.gpr[X86_REG_RCX] = 3;
    assert_int_equal(EMU(&r, 0x0f, 0xc1, 0x0b), 0);
    assert_u64(dev_get(0x10, 4), 8);
    assert_u64(r.gpr[X86_REG_RCX], 5);

    r.gpr[X86_REG_RAX] = 0xcafef00dcafef00dull;
    assert_int_equal(EMU(&r, 0x48, 0x0f, 0xc3, 0x03), 0);   /* movnti [rbx],rax */
    assert_u64(dev_get(0x10, 8), 0xcafef00dcafef00dull);
    assert_int_equal(F.last_size, 8);
}

static void test_cmov_setcc(void **state)
{
    struct x86emul_regs r;

    (void)state;
    reset(X86_MODE_64, 0x10);
    dev_put(0x10, 0x77, 4);
    r = regs0();
    r.gpr[X86_REG_RBX] = MMIO_LA + 0x10;
    r.gpr[X86_REG_RAX] = 0xffffffff00000001ull;
    assert_int_equal(EMU(&r, 0x0f, 0x44, 0x03), 0);     /* cmove, ZF=0: no move */
    assert_u64(r.gpr[X86_REG_RAX], 1);                   /* but upper half cleared */
    assert_int_equal(F.nreads, 1);                        /* source read anyway */
    r.rflags |= ZF;
    assert_int_equal(EMU(&r, 0x0f, 0x44, 0x03), 0);
    assert_u64(r.gpr[X86_REG_RAX], 0x77);

    assert_int_equal(EMU(&r, 0x0f, 0x94, 0x03), 0);     /* sete [rbx] */
    assert_u64(dev_get(0x10, 4), 0x01);
    r.rflags = 0x2 | SF;                                  /* SF != OF: less */
    assert_int_equal(EMU(&r, 0x0f, 0x9d, 0x03), 0);     /* setge */
    assert_u64(dev_get(0x10, 4), 0x00);
    assert_int_equal(EMU(&r, 0x0f, 0x9c, 0x03), 0);     /* setl */
    assert_u64(dev_get(0x10, 4), 0x01);
    assert_int_equal(EMU(&r, 0x0f, 0x9a, 0x03), 0);     /* setp, PF=0 */
    assert_u64(dev_get(0x10, 4), 0x00);
    r.rflags |= PF;
    assert_int_equal(EMU(&r, 0x0f, 0x9a, 0x03), 0);     /* setp, PF=1 */
    assert_u64(dev_get(0x10, 4), 0x01);
    r.rflags = 0x2 | CF;
    assert_int_equal(EMU(&r, 0x0f, 0x96, 0x03), 0);     /* setbe */
    assert_u64(dev_get(0x10, 4), 0x01);
    assert_int_equal(EMU(&r, 0x0f, 0x97, 0x03), 0);     /* seta */
    assert_u64(dev_get(0x10, 4), 0x00);
    r.rflags = 0x2 | OF;
    assert_int_equal(EMU(&r, 0x0f, 0x90, 0x03), 0);     /* seto */
    assert_u64(dev_get(0x10, 4), 0x01);
    assert_int_equal(EMU(&r, 0x0f, 0x9e, 0x03), 0);     /* setle: SF != OF */
    assert_u64(dev_get(0x10, 4), 0x01);
    assert_int_equal(F.last_size, 1);
}

/* ------------------------------------------------------------------------- */
/* String instructions                                                        */
/* ------------------------------------------------------------------------- */

static void test_rep_stos(void **state)
{
    struct x86emul_regs r;

    (void)state;
    reset(X86_MODE_64, 0x100);
    C.max_reps = 16;
    r = regs0();
    r.gpr[X86_REG_RDI] = MMIO_LA + 0x100;
    r.gpr[X86_REG_RCX] = 4;
    r.gpr[X86_REG_RAX] = 0x0102030405060708ull;
    assert_int_equal(EMU(&r, 0xf3, 0x48, 0xab), 0);
    assert_int_equal(F.nwrites, 4);
    for (unsigned int i = 0; i < 4; i++)
        assert_u64(dev_get(0x100 + 8 * i, 8), 0x0102030405060708ull);
    assert_u64(r.gpr[X86_REG_RDI], MMIO_LA + 0x120);
    assert_u64(r.gpr[X86_REG_RCX], 0);
    assert_u64(r.rip, 0x1003);
}

static void test_rep_stos_down_and_budget(void **state)
{
    struct x86emul_regs r;

    (void)state;
    reset(X86_MODE_64, 0x200);
    C.max_reps = 16;
    r = regs0();
    r.rflags |= DF;
    r.gpr[X86_REG_RDI] = MMIO_LA + 0x200;
    r.gpr[X86_REG_RCX] = 3;
    r.gpr[X86_REG_RAX] = 0xaabbccdd;
    assert_int_equal(EMU(&r, 0xf3, 0xab), 0);
    assert_u64(dev_get(0x200, 4), 0xaabbccdd);
    assert_u64(dev_get(0x1fc, 4), 0xaabbccdd);
    assert_u64(dev_get(0x1f8, 4), 0xaabbccdd);
    assert_u64(dev_get(0x1f4, 4), 0);
    assert_u64(r.gpr[X86_REG_RDI], MMIO_LA + 0x1f4);
    assert_u64(r.rip, 0x1002);

    /* budget of 2 out of 5: RIP stays for re-execution */
    reset(X86_MODE_64, 0x300);
    C.max_reps = 2;
    r = regs0();
    r.gpr[X86_REG_RDI] = MMIO_LA + 0x300;
    r.gpr[X86_REG_RCX] = 5;
    assert_int_equal(EMU(&r, 0xf3, 0xaa), 0);
    assert_int_equal(F.nwrites, 2);
    assert_u64(r.gpr[X86_REG_RCX], 3);
    assert_u64(r.gpr[X86_REG_RDI], MMIO_LA + 0x302);
    assert_u64(r.rip, 0x1000);

    /* rcx = 0: nothing happens but RIP moves on */
    reset(X86_MODE_64, 0x300);
    r = regs0();
    r.gpr[X86_REG_RDI] = MMIO_LA + 0x300;
    assert_int_equal(EMU(&r, 0xf3, 0xaa), 0);
    assert_int_equal(F.nwrites, 0);
    assert_u64(r.rip, 0x1002);

    /* no REP: rcx untouched */
    r.gpr[X86_REG_RCX] = 7;
    assert_int_equal(EMU(&r, 0xaa), 0);
    assert_int_equal(F.nwrites, 1);
    assert_u64(r.gpr[X86_REG_RCX], 7);
    assert_u64(r.gpr[X86_REG_RDI], MMIO_LA + 0x301);
}

static void test_rep_stos_stops_at_page_end(void **state)
{
    struct x86emul_regs r;

    (void)state;
    reset(X86_MODE_64, 0xff8);
    C.max_reps = 16;
    r = regs0();
    r.gpr[X86_REG_RDI] = MMIO_LA + 0xff8;
    r.gpr[X86_REG_RCX] = 4;
    assert_int_equal(EMU(&r, 0xf3, 0x48, 0xab), 0);
    assert_int_equal(F.nwrites, 1);
    assert_u64(r.gpr[X86_REG_RCX], 3);
    assert_u64(r.gpr[X86_REG_RDI], MMIO_LA + 0x1000);
    assert_u64(r.rip, 0x1000);
}

static void test_rep_stos_addr32(void **state)
{
    struct x86emul_regs r;

    (void)state;
    reset(X86_MODE_64, 0x10);
    C.max_reps = 16;
    r = regs0();
    r.gpr[X86_REG_RDI] = 0xdead000000000000ull | (MMIO_LA + 0x10);
    r.gpr[X86_REG_RCX] = 0xffffffff00000002ull;             /* ECX = 2 */
    assert_int_equal(EMU(&r, 0x67, 0xf3, 0xaa), 0);
    assert_int_equal(F.nwrites, 2);
    assert_u64(r.gpr[X86_REG_RCX], 0);
    assert_u64(r.gpr[X86_REG_RDI], MMIO_LA + 0x12);
}

static void test_lods(void **state)
{
    struct x86emul_regs r;

    (void)state;
    reset(X86_MODE_64, 0x40);
    dev_put(0x40, 0x1122334455667788ull, 8);
    r = regs0();
    r.gpr[X86_REG_RSI] = MMIO_LA + 0x40;
    r.gpr[X86_REG_RAX] = ~0ull;
    assert_int_equal(EMU(&r, 0xac), 0);
    assert_u64(r.gpr[X86_REG_RAX], 0xffffffffffffff88ull);
    assert_u64(r.gpr[X86_REG_RSI], MMIO_LA + 0x41);
    reset(X86_MODE_64, 0x40);
    dev_put(0x40, 0x1122334455667788ull, 8);
    r.gpr[X86_REG_RSI] = MMIO_LA + 0x40;
    assert_int_equal(EMU(&r, 0x48, 0xad), 0);
    assert_u64(r.gpr[X86_REG_RAX], 0x1122334455667788ull);
}

static void test_movs(void **state)
{
    struct x86emul_regs r;

    (void)state;
    /* RAM -> device, 3 dwords */
    reset(X86_MODE_64, 0x40);
    C.ops = &xlate_ops;
    C.max_reps = 8;
    for (unsigned int i = 0; i < 12; i++)
        F.ram[0x10 + i] = (uint8_t)(0xa0 + i);
    r = regs0();
    r.gpr[X86_REG_RSI] = RAM_LA + 0x10;
    r.gpr[X86_REG_RDI] = MMIO_LA + 0x40;
    r.gpr[X86_REG_RCX] = 3;
    assert_int_equal(EMU(&r, 0xf3, 0xa5), 0);
    assert_int_equal(F.nwrites, 3);
    assert_int_equal(F.nreads, 0);
    assert_memory_equal(&F.dev[0x40], &F.ram[0x10], 12);
    assert_u64(r.gpr[X86_REG_RSI], RAM_LA + 0x1c);
    assert_u64(r.gpr[X86_REG_RDI], MMIO_LA + 0x4c);
    assert_u64(r.rip, 0x1002);

    /* device -> RAM, with an FS override on the source */
    F.dev[0x50] = 0x5a;
    C.seg_base[X86_SEG_FS] = MMIO_LA;
    r.gpr[X86_REG_RSI] = 0x50;
    r.gpr[X86_REG_RDI] = RAM_LA + 0x20;
    assert_int_equal(EMU(&r, 0x64, 0xa4), 0);
    assert_int_equal(F.ram[0x20], 0x5a);
    assert_int_equal(F.nreads, 1);

    /* without translation MOVS cannot be routed */
    C.ops = &plain_ops;
    r.gpr[X86_REG_RSI] = RAM_LA;
    r.gpr[X86_REG_RDI] = MMIO_LA;
    {
        struct x86emul_regs before = r;

        assert_int_equal(EMU(&r, 0xa4), -X86EMUL_UNHANDLED);
        assert_memory_equal(&before, &r, sizeof(r));
    }
}

/* ------------------------------------------------------------------------- */
/* Addressing: segments, RIP-relative, 16/32-bit code, wrap-around            */
/* ------------------------------------------------------------------------- */

static void test_segments(void **state)
{
    struct x86emul_regs r;

    (void)state;
    /* 32-bit: DS base applies and upper register halves are ignored */
    reset(X86_MODE_32, 0x10);
    C.seg_base[X86_SEG_DS] = 0x1000;
    r = regs0();
    r.gpr[X86_REG_RBX] = 0xdead000000000000ull | (MMIO_LA - 0x1000 + 0x10);
    r.gpr[X86_REG_RAX] = 0x42;
    assert_int_equal(EMU(&r, 0x89, 0x03), 0);
    assert_u64(F.last_gpa, MMIO_GPA + 0x10);

    /* 32-bit: base + offset wraps at 4 GiB (translation sees the linear address) */
    reset(X86_MODE_32, 0x10);
    C.ops = &xlate_ops;
    C.seg_base[X86_SEG_DS] = 0xffffffff;
    r.gpr[X86_REG_RBX] = MMIO_LA + 0x11;
    assert_int_equal(EMU(&r, 0x89, 0x03), 0);
    assert_int_equal(F.nwrites, 1);

    /* 32-bit: ES override */
    reset(X86_MODE_32, 0x10);
    C.seg_base[X86_SEG_ES] = MMIO_LA;
    r.gpr[X86_REG_RBX] = 0x10;
    assert_int_equal(EMU(&r, 0x26, 0x89, 0x03), 0);
    assert_int_equal(F.nwrites, 1);

    /* 64-bit: DS base ignored, FS base applied */
    reset(X86_MODE_64, 0x18);
    C.seg_base[X86_SEG_DS] = 0x100000;
    C.seg_base[X86_SEG_FS] = MMIO_LA;
    r = regs0();
    r.gpr[X86_REG_RBX] = MMIO_LA + 0x18;
    assert_int_equal(EMU(&r, 0x89, 0x03), 0);
    r.gpr[X86_REG_RBX] = 0x18;
    assert_int_equal(EMU(&r, 0x64, 0x89, 0x03), 0);
    assert_int_equal(F.nwrites, 2);
}

static void test_rip_relative(void **state)
{
    struct x86emul_regs r;

    (void)state;
    reset(X86_MODE_64, 0x30);
    dev_put(0x30, 0x600d, 4);
    r = regs0();
    r.rip = 0x5000;                       /* 0x5006 + 0x202a = 0x7030 */
    assert_int_equal(EMU(&r, 0x8b, 0x05, 0x2a, 0x20, 0x00, 0x00), 0);
    assert_u64(r.gpr[X86_REG_RAX], 0x600d);
    assert_u64(r.rip, 0x5006);

    r.rip = 0x100005000ull;               /* 67: EIP-relative, truncated */
    r.gpr[X86_REG_RAX] = 0;
    assert_int_equal(EMU(&r, 0x67, 0x8b, 0x05, 0x29, 0x20, 0x00, 0x00), 0);
    assert_u64(r.gpr[X86_REG_RAX], 0x600d);
}

static void test_16bit(void **state)
{
    struct x86emul_regs r;

    (void)state;
    /* mov [bp-2],ax: SS-relative */
    reset(X86_MODE_16, 0x10);
    C.seg_base[X86_SEG_SS] = 0x6000;
    r = regs0();
    r.gpr[X86_REG_RBP] = 0x1012;
    r.gpr[X86_REG_RAX] = 0xffff1234;
    assert_int_equal(EMU(&r, 0x89, 0x46, 0xfe), 0);
    assert_int_equal(F.last_size, 2);
    assert_u64(dev_get(0x10, 4), 0x1234);

    /* bp=1: offset wraps to 0xffff within the segment */
    reset(X86_MODE_16, 0x20);
    C.seg_base[X86_SEG_SS] = 0xffff7021;
    r.gpr[X86_REG_RBP] = 1;
    r.rip = 0xfffe;                       /* IP wraps too */
    assert_int_equal(EMU(&r, 0x89, 0x46, 0xfe), 0);
    assert_u64(F.last_gpa, MMIO_GPA + 0x20);
    assert_u64(r.rip, 0x0001);

    /* mov ax,[bx+si] merges into eax */
    reset(X86_MODE_16, 0x20);
    dev_put(0x20, 0xbeef, 2);
    r.gpr[X86_REG_RBX] = MMIO_LA;
    r.gpr[X86_REG_RSI] = 0x20;
    r.gpr[X86_REG_RAX] = 0x12345678;
    assert_int_equal(EMU(&r, 0x8b, 0x00), 0);
    assert_u64(r.gpr[X86_REG_RAX], 0x1234beef);

    /* 66: mov eax,[bx] in 16-bit code */
    reset(X86_MODE_16, 0x0);
    dev_put(0x0, 0xcafebabe, 4);
    r.gpr[X86_REG_RBX] = MMIO_LA;
    assert_int_equal(EMU(&r, 0x66, 0x8b, 0x07), 0);
    assert_u64(r.gpr[X86_REG_RAX], 0xcafebabe);
}

static void test_32bit_rip_wraps(void **state)
{
    struct x86emul_regs r;

    (void)state;
    reset(X86_MODE_32, 0x10);
    r = regs0();
    r.rip = 0xffffffff;
    r.gpr[X86_REG_RBX] = MMIO_LA + 0x10;
    assert_int_equal(EMU(&r, 0x89, 0x03), 0);
    assert_u64(r.rip, 1);
}

/* ------------------------------------------------------------------------- */
/* Refusals and faults leave the registers alone                              */
/* ------------------------------------------------------------------------- */

static void test_noncanonical(void **state)
{
    struct x86emul_regs r, before;

    (void)state;
    reset(X86_MODE_64, 0);
    r = regs0();
    r.gpr[X86_REG_RBX] = 0x0000800000000000ull;
    before = r;
    assert_int_equal(EMU(&r, 0x89, 0x03), -X86EMUL_EXCEPTION);
    assert_int_equal(C.fault.vector, X86_EXC_GP);
    assert_true(C.fault.has_error_code);
    assert_int_equal(C.fault.error_code, 0);
    assert_memory_equal(&before, &r, sizeof(r));

    r.gpr[X86_REG_RBP] = 0xfff0000000000000ull;          /* [rbp+0]: #SS */
    assert_int_equal(EMU(&r, 0x89, 0x45, 0x00), -X86EMUL_EXCEPTION);
    assert_int_equal(C.fault.vector, X86_EXC_SS);

    reset(X86_MODE_64, 0);                                 /* canonical with LA57 */
    r.gpr[X86_REG_RBX] = 0x0000800000000000ull;
    C.la57 = true;
    assert_int_equal(EMU(&r, 0x89, 0x03), 0);             /* offset 0 matches */
    assert_int_equal(F.nwrites, 1);
}

static void test_refusals(void **state)
{
    struct x86emul_regs r, before;
    struct x86_insn insn;
    const uint8_t mov[] = { 0x89, 0x03 };

    (void)state;
    reset(X86_MODE_64, 0x10);
    r = regs0();
    r.gpr[X86_REG_RBX] = MMIO_LA + 0x20;                  /* offset != fault */
    before = r;
    assert_int_equal(EMU(&r, 0x89, 0x03), -X86EMUL_UNHANDLED);
    assert_int_equal(F.nwrites + F.nreads, 0);
    assert_memory_equal(&before, &r, sizeof(r));

    assert_int_equal(EMU(&r, 0x89, 0xc3), -X86EMUL_UNHANDLED);   /* register form */
    assert_int_equal(EMU(&r, 0xf7, 0x23), -X86EMUL_UNHANDLED);   /* mul [rbx] */
    assert_int_equal(EMU(&r, 0x0f, 0xa2), -X86EMUL_UNHANDLED);   /* cpuid */
    assert_int_equal(EMU(&r, 0xc5, 0xf9, 0x6f, 0x03), -X86EMUL_UNHANDLED); /* VEX */

    reset(X86_MODE_64, 0xffe);                            /* dword across the page */
    r.gpr[X86_REG_RBX] = MMIO_LA + 0xffe;
    assert_int_equal(EMU(&r, 0x89, 0x03), -X86EMUL_UNHANDLED);
    assert_int_equal(F.nwrites, 0);

    reset(X86_MODE_64, 0x10);                             /* device error */
    F.mmio_fail = 1;
    r = regs0();
    r.gpr[X86_REG_RBX] = MMIO_LA + 0x10;
    r.rflags = 0x2 | CF;
    before = r;
    assert_int_equal(EMU(&r, 0x01, 0x03), -X86EMUL_ERROR);
    assert_memory_equal(&before, &r, sizeof(r));
    F.mmio_fail = 2;                                      /* bogus code: still an error */
    assert_int_equal(EMU(&r, 0x8b, 0x03), -X86EMUL_ERROR);
    assert_memory_equal(&before, &r, sizeof(r));

    reset(X86_MODE_32, 0x10);                             /* insn decoded for another mode */
    assert_int_equal(x86_decode(mov, sizeof(mov), X86_MODE_64, &insn), 0);
    assert_int_equal(x86_emulate(&C, &r, &insn), -X86EMUL_BAD);
    assert_int_equal(x86_emulate(NULL, &r, &insn), -X86EMUL_BAD);
    assert_int_equal(x86_emulate(&C, NULL, &insn), -X86EMUL_BAD);
}

static void test_translated(void **state)
{
    struct x86emul_regs r, before;

    (void)state;
    reset(X86_MODE_64, 0x0);
    C.ops = &xlate_ops;
    r = regs0();
    r.gpr[X86_REG_RBX] = MMIO_LA + 0x10;                  /* routed by translation */
    r.gpr[X86_REG_RAX] = 0x33;
    assert_int_equal(EMU(&r, 0x89, 0x03), 0);
    assert_u64(F.last_gpa, MMIO_GPA + 0x10);

    r.gpr[X86_REG_RBX] = RAM_LA + 0x8;                    /* now plain RAM */
    assert_int_equal(EMU(&r, 0x89, 0x03), 0);
    assert_int_equal(F.ram[0x8], 0x33);
    assert_int_equal(F.nwrites, 1);

    r.gpr[X86_REG_RBX] = 0x50000;                         /* unmapped: #PF */
    before = r;
    assert_int_equal(EMU(&r, 0x89, 0x03), -X86EMUL_EXCEPTION);
    assert_int_equal(C.fault.vector, X86_EXC_PF);
    assert_u64(C.fault.cr2, 0x50000);
    assert_memory_equal(&before, &r, sizeof(r));

    r.gpr[X86_REG_RBX] = MMIO_LA + 0xffc;                 /* qword across the page */
    assert_int_equal(EMU(&r, 0x48, 0x89, 0x03), -X86EMUL_UNHANDLED);
    r.gpr[X86_REG_RBX] = MMIO_LA + 0x1ffc;                /* from RAM into a hole: #PF */
    assert_int_equal(EMU(&r, 0x48, 0x89, 0x03), -X86EMUL_EXCEPTION);
    assert_u64(C.fault.cr2, MMIO_LA + 0x2000);
    assert_int_equal(F.nwrites, 1);
}

static void test_rf_cleared(void **state)
{
    struct x86emul_regs r;

    (void)state;
    reset(X86_MODE_64, 0x10);
    r = regs0();
    r.rflags |= X86_FLAGS_RF | X86_FLAGS_AC;
    r.gpr[X86_REG_RBX] = MMIO_LA + 0x10;
    assert_int_equal(EMU(&r, 0x89, 0x03), 0);
    assert_u64(r.rflags, 0x2 | X86_FLAGS_AC);
}

int main(void)
{
    enum { NA = sizeof(alu_cases) / sizeof(alu_cases[0]) };
    static const struct CMUnitTest fixed[] = {
        cmocka_unit_test(test_mov_store_dword),
        cmocka_unit_test(test_mov_load_widths),
        cmocka_unit_test(test_mov_store_byte_regs),
        cmocka_unit_test(test_mov_imm),
        cmocka_unit_test(test_moffs),
        cmocka_unit_test(test_movzx_movsx),
        cmocka_unit_test(test_xchg),
        cmocka_unit_test(test_bt_family),
        cmocka_unit_test(test_cmpxchg),
        cmocka_unit_test(test_xadd_movnti),
        cmocka_unit_test(test_cmov_setcc),
        cmocka_unit_test(test_rep_stos),
        cmocka_unit_test(test_rep_stos_down_and_budget),
        cmocka_unit_test(test_rep_stos_stops_at_page_end),
        cmocka_unit_test(test_rep_stos_addr32),
        cmocka_unit_test(test_lods),
        cmocka_unit_test(test_movs),
        cmocka_unit_test(test_segments),
        cmocka_unit_test(test_rip_relative),
        cmocka_unit_test(test_16bit),
        cmocka_unit_test(test_32bit_rip_wraps),
        cmocka_unit_test(test_noncanonical),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_translated),
        cmocka_unit_test(test_rf_cleared),
    };
    enum { NF = sizeof(fixed) / sizeof(fixed[0]) };
    static struct CMUnitTest tests[NF + NA];

    memcpy(tests, fixed, sizeof(fixed));
    for (size_t i = 0; i < NA; i++) {
        tests[NF + i].name = alu_cases[i].name;
        tests[NF + i].test_func = run_alu_case;
        tests[NF + i].initial_state = (void *)&alu_cases[i];
    }
    return _cmocka_run_group_tests("x86_emulate", tests, NF + NA, NULL, NULL);
}
