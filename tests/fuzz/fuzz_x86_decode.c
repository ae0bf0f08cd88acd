/*
 * Fuzz target for hypervisor/x86emul: decodes random bytes in all three
 * modes, emulates what decodes against a fake device and fake memory, walks
 * random page tables and fetches through them, checking invariants:
 *   - decode: 1 <= len <= 15, len <= avail, a proper prefix is TRUNCATED,
 *     sizes and register numbers in range, never a read past avail (the
 *     bytes sit in an exactly-sized heap buffer for ASan);
 *   - emulate: only documented return codes; device accesses are 1/2/4/8
 *     bytes inside the faulting page; RIP moves by exactly len (or stays,
 *     for an unfinished REP); a refused instruction changes no register;
 *   - walk: only documented return codes; the gpa fits MAXPHYADDR and keeps
 *     the page offset; fault error codes use only the defined bits.
 *
 * Build with libFuzzer (clang):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Ihypervisor/include \
 *     tests/fuzz/fuzz_x86_decode.c hypervisor/x86emul/{decode,decode_tables,emulate,alu,walk,fetch}.c \
 *     -o fuzz_x86_decode && ./fuzz_x86_decode -max_len=64
 * Build without it (gcc; what `make test` does):
 *   gcc -std=gnu11 -g -O1 -fsanitize=address,undefined -Ihypervisor/include \
 *     tests/fuzz/fuzz_x86_decode.c tests/fuzz/standalone_main.c hypervisor/x86emul/{decode,decode_tables,emulate,alu,walk,fetch}.c \
 *     -o fuzz_x86_decode && ./fuzz_x86_decode -runs=200000
 */
/* @sources: hypervisor/x86emul/decode.c hypervisor/x86emul/decode_tables.c hypervisor/x86emul/emulate.c hypervisor/x86emul/alu.c hypervisor/x86emul/walk.c hypervisor/x86emul/fetch.c */
#include <stdint.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <proxenos/x86emul.h>

#define MMIO_GPA 0xfebc0000ull
#define MMIO_LA  0x7000ull
#define RAM_SIZE 0x10000u
#define PHYS_SIZE 0x4000u

#define CHECK(c) do { \
        if (!(c)) { \
            fprintf(stderr, "fuzz_x86_decode: %s:%d: check failed: %s\n", \
                    __FILE__, __LINE__, #c); \
            abort(); \
        } \
    } while (0)

struct input {
    const uint8_t *data;
    size_t size;
    size_t pos;
};

static uint8_t in_byte(struct input *in)
{
    uint8_t b = in->size ? in->data[in->pos % in->size] : 0;

    in->pos++;
    return b;
}

static uint64_t in_u64(struct input *in)
{
    uint64_t v = 0;

    for (int i = 0; i < 8; i++)
        v |= (uint64_t)in_byte(in) << (8 * i);
    return v;
}

/* ------------------------------------------------------------------------- */
/* Decoder                                                                    */
/* ------------------------------------------------------------------------- */

static int decode_exact(const uint8_t *bytes, size_t n, enum x86_mode mode,
                        struct x86_insn *insn)
{
    uint8_t *copy = malloc(n ? n : 1);
    int rc;

    CHECK(copy != NULL);
    if (n)
        memcpy(copy, bytes, n);
    rc = x86_decode(copy, n, mode, insn);
    free(copy);
    return rc;
}

static void check_insn(const struct x86_insn *insn, size_t avail)
{
    CHECK(insn->len >= 1 && insn->len <= X86_MAX_INSN_LEN && insn->len <= avail);
    CHECK(insn->opsize == 1 || insn->opsize == 2 || insn->opsize == 4 ||
          insn->opsize == 8 || insn->opsize == 16);
    CHECK(insn->adsize == 2 || insn->adsize == 4 || insn->adsize == 8);
    CHECK(insn->reg < 32 && insn->rm < 16);
    if (insn->has_mem) {
        CHECK(insn->mem.base < X86_NR_GPRS || insn->mem.base == X86_REG_RIP ||
              insn->mem.base == X86_REG_NONE);
        CHECK(insn->mem.index < X86_NR_GPRS || insn->mem.index == X86_REG_NONE);
        CHECK(insn->mem.scale == 1 || insn->mem.scale == 2 || insn->mem.scale == 4 ||
              insn->mem.scale == 8);
        CHECK(insn->mem.seg < X86_NR_SEGS);
    }
    CHECK(insn->rex == 0 || insn->mode == X86_MODE_64);
}

static void fuzz_decode(const uint8_t *bytes, size_t n, enum x86_mode mode)
{
    struct x86_insn insn, again;
    int rc = decode_exact(bytes, n, mode, &insn);

    CHECK(rc == 0 || rc == -X86EMUL_TRUNCATED || rc == -X86EMUL_UNHANDLED ||
          rc == -X86EMUL_BAD);
    if (rc == -X86EMUL_TRUNCATED)
        CHECK(n < X86_MAX_INSN_LEN);
    if (rc != 0)
        return;
    check_insn(&insn, n);
    /* No lookahead: exactly len bytes decode the same, one fewer truncates. */
    CHECK(decode_exact(bytes, insn.len, mode, &again) == 0);
    CHECK(memcmp(&insn, &again, sizeof(insn)) == 0);
    CHECK(decode_exact(bytes, insn.len - 1u, mode, &again) == -X86EMUL_TRUNCATED);
}

/* ------------------------------------------------------------------------- */
/* Emulator against fakes                                                     */
/* ------------------------------------------------------------------------- */

static struct fake {
    struct input *in;
    uint8_t ram[RAM_SIZE];
} fk;

static int fault_pf(struct x86emul_ctx *ctx, uint64_t la)
{
    ctx->fault.vector = X86_EXC_PF;
    ctx->fault.has_error_code = true;
    ctx->fault.error_code = 0;
    ctx->fault.cr2 = la;
    return -X86EMUL_EXCEPTION;
}

static int f_read_linear(struct x86emul_ctx *ctx, uint64_t la, void *buf, unsigned int len)
{
    CHECK(len >= 1 && len <= 8);
    if (la & (1ull << 40))
        return fault_pf(ctx, la);
    for (unsigned int i = 0; i < len; i++)
        ((uint8_t *)buf)[i] = fk.ram[(la + i) % RAM_SIZE];
    return 0;
}

static int f_write_linear(struct x86emul_ctx *ctx, uint64_t la, const void *buf,
                          unsigned int len)
{
    CHECK(len >= 1 && len <= 8);
    if (la & (1ull << 40))
        return fault_pf(ctx, la);
    for (unsigned int i = 0; i < len; i++)
        fk.ram[(la + i) % RAM_SIZE] = ((const uint8_t *)buf)[i];
    return 0;
}

static int f_linear_to_phys(struct x86emul_ctx *ctx, uint64_t la, uint32_t access,
                            uint64_t *gpa)
{
    CHECK((access & ~(uint32_t)(X86_PFEC_W | X86_PFEC_U)) == 0);
    if ((la & ~0xfffull) == MMIO_LA) {
        *gpa = MMIO_GPA | (la & 0xfff);
        return 0;
    }
    if (la & (1ull << 40))
        return fault_pf(ctx, la);
    *gpa = 0x100000 + (la % RAM_SIZE);
    return 0;
}

static void check_mmio(const struct x86emul_ctx *ctx, uint64_t gpa, unsigned int size)
{
    CHECK(size == 1 || size == 2 || size == 4 || size == 8);
    CHECK((gpa >> 12) == (ctx->mmio_gpa >> 12));
    CHECK((gpa & 0xfff) + size <= 0x1000);
}

static int f_mmio_read(struct x86emul_ctx *ctx, uint64_t gpa, unsigned int size, uint64_t *val)
{
    check_mmio(ctx, gpa, size);
    *val = in_u64(fk.in);
    return 0;
}

static int f_mmio_write(struct x86emul_ctx *ctx, uint64_t gpa, unsigned int size, uint64_t val)
{
    check_mmio(ctx, gpa, size);
    CHECK(size == 8 || (val >> (8 * size)) == 0);
    return 0;
}

static const struct x86emul_ops plain_ops = {
    f_read_linear, f_write_linear, NULL, f_mmio_read, f_mmio_write,
};
static const struct x86emul_ops xlate_ops = {
    f_read_linear, f_write_linear, f_linear_to_phys, f_mmio_read, f_mmio_write,
};

static uint64_t ip_mask(enum x86_mode mode)
{
    return mode == X86_MODE_64 ? ~0ull : mode == X86_MODE_32 ? 0xffffffffull : 0xffffull;
}

static void fuzz_emulate(const struct x86_insn *insn, enum x86_mode mode, uint8_t ctl,
                         struct input *in)
{
    struct x86emul_ctx ctx;
    struct x86emul_regs regs, before;
    int rc;

    memset(&ctx, 0, sizeof(ctx));
    ctx.ops = (ctl & 4) ? &xlate_ops : &plain_ops;
    ctx.mode = (uint8_t)mode;
    ctx.max_reps = ctl >> 4;
    ctx.cpl = (ctl & 8) ? 3 : 0;
    for (int s = 0; s < X86_NR_SEGS; s++)
        ctx.seg_base[s] = (in_byte(in) & 1) ? in_u64(in) : 0;
    regs.rip = in_u64(in) & ip_mask(mode);
    regs.rflags = in_u64(in);
    /* Mostly point registers at the device page so emulation gets going. */
    for (int r = 0; r < X86_NR_GPRS; r++) {
        uint8_t sel = in_byte(in);

        regs.gpr[r] = (sel & 3) ? (sel & 0xc) : in_u64(in);
        if ((sel & 3) == 1 && r != X86_REG_RCX)
            regs.gpr[r] += MMIO_LA;
    }
    ctx.mmio_gpa = MMIO_GPA | (in_byte(in) & 0xfffu);
    if (insn->has_mem && (in_byte(in) & 1))   /* make the fault match the operand */
        ctx.mmio_gpa = MMIO_GPA | (x86_insn_linear_address(&ctx, &regs, insn) & 0xfff);
    before = regs;

    rc = x86_emulate(&ctx, &regs, insn);
    CHECK(rc == 0 || rc == -X86EMUL_UNHANDLED || rc == -X86EMUL_BAD ||
          rc == -X86EMUL_EXCEPTION || rc == -X86EMUL_ERROR);
    if (rc == -X86EMUL_EXCEPTION)
        CHECK(ctx.fault.vector == X86_EXC_PF || ctx.fault.vector == X86_EXC_GP ||
              ctx.fault.vector == X86_EXC_SS);
    if (insn->flags & X86_INSN_STRING) {
        CHECK(regs.rip == before.rip ||
              (rc == 0 && regs.rip == ((before.rip + insn->len) & ip_mask(mode))));
        return;
    }
    if (rc == 0) {
        CHECK(regs.rip == ((before.rip + insn->len) & ip_mask(mode)));
        CHECK(!(regs.rflags & X86_FLAGS_RF));
    } else {
        CHECK(memcmp(&regs, &before, sizeof(regs)) == 0);
    }
}

/* ------------------------------------------------------------------------- */
/* Page walker and fetch                                                      */
/* ------------------------------------------------------------------------- */

static uint8_t phys[PHYS_SIZE];
static bool phys_wrap;

static int f_read_phys(void *priv, uint64_t gpa, void *buf, unsigned int len)
{
    (void)priv;
    CHECK(len >= 1 && len <= 4096);
    if (!phys_wrap && (gpa >= PHYS_SIZE || len > PHYS_SIZE - gpa))
        return -X86EMUL_ERROR;
    for (unsigned int i = 0; i < len; i++)
        ((uint8_t *)buf)[i] = phys[(gpa + i) % PHYS_SIZE];
    return 0;
}

/* Write present entries along la's path, so that random inputs reach the
   leaf and rights checks instead of stopping at the first entry. */
static void build_path(const struct x86_paging *pg, uint64_t la, struct input *in)
{
    unsigned int levels = pg->mode == X86_PAGING_32 ? 2 : pg->mode == X86_PAGING_PAE ? 3 :
                          pg->mode == X86_PAGING_4LEVEL ? 4 : 5;
    uint64_t table = pg->cr3 % PHYS_SIZE;

    for (unsigned int l = levels; l >= 1; l--) {
        unsigned int esz = pg->mode == X86_PAGING_32 ? 4 : 8;
        unsigned int shift = pg->mode == X86_PAGING_32 ? 12 + 10 * (l - 1) : 12 + 9 * (l - 1);
        unsigned int idx = (unsigned int)(la >> shift) &
                           (pg->mode == X86_PAGING_32 ? 1023 : pg->mode == X86_PAGING_PAE &&
                            l == 3 ? 3 : 511);
        uint64_t next = (uint64_t)(in_byte(in) % (PHYS_SIZE / 4096)) << 12;
        uint64_t e = next | in_byte(in) | 1;
        uint64_t at;

        if (pg->mode == X86_PAGING_PAE && l == 3)
            table &= ~0x1full;
        else
            table &= ~0xfffull;
        if (in_byte(in) < 32)
            e |= (uint64_t)in_byte(in) << 56;   /* now and then, high bits */
        at = (table + (uint64_t)idx * esz) % PHYS_SIZE;
        if (at + esz <= PHYS_SIZE)
            memcpy(&phys[at], &e, esz);
        table = next;
    }
}

static void fill_phys(const uint8_t *data, size_t size)
{
    if (size == 0) {
        memset(phys, 0, sizeof(phys));
        return;
    }
    for (size_t i = 0; i < PHYS_SIZE; i += size)
        memcpy(&phys[i], data, size < PHYS_SIZE - i ? size : PHYS_SIZE - i);
}

static void fuzz_walk(struct input *in)
{
    struct x86_paging pg;
    struct x86_walk_result res;
    struct x86_fault f;
    struct x86_insn insn;
    uint8_t c1 = in_byte(in), c2 = in_byte(in);
    uint64_t la;
    uint32_t access;
    unsigned int maxphy;
    int rc;

    fill_phys(in->data, in->size);
    phys_wrap = c2 & 0x80;
    memset(&pg, 0, sizeof(pg));
    pg.mode = c1 % 5;
    pg.nxe = c1 & 0x08;
    pg.wp = c1 & 0x10;
    pg.smep = c1 & 0x20;
    pg.smap = c1 & 0x40;
    pg.pse = pg.gbpages = c1 & 0x80;
    pg.ac = c2 & 1;
    pg.pdptrs_valid = c2 & 2;
    pg.maxphyaddr = (c2 & 4) ? (uint8_t)(32 + in_byte(in) % 21) : 0;
    maxphy = pg.maxphyaddr ? pg.maxphyaddr : 52;
    pg.cr3 = in_u64(in) & ((c2 & 8) ? ~0ull : (PHYS_SIZE - 1));
    for (int i = 0; i < 4; i++)
        pg.pdptr[i] = in_u64(in);
    pg.read_phys = f_read_phys;
    la = in_u64(in);
    if ((c2 & 0x40) && pg.mode != X86_PAGING_NONE) {
        if (pg.mode >= X86_PAGING_4LEVEL && (c1 & 4))   /* mostly canonical */
            la = (uint64_t)((int64_t)(la << 16) >> 16);
        build_path(&pg, la, in);
    }
    access = in_byte(in) & (X86_PFEC_W | X86_PFEC_U | X86_PFEC_I);
    if (c2 & 0x10)
        access |= X86_WALK_IMPLICIT;

    rc = x86_walk(&pg, la, access, &res, &f);
    CHECK(rc == 0 || rc == -X86EMUL_EXCEPTION || rc == -X86EMUL_ERROR);
    if (rc == 0) {
        CHECK(res.page_size == 4096 || res.page_size == (2u << 20) ||
              res.page_size == (4u << 20) || res.page_size == (1u << 30));
        CHECK((res.gpa & (res.page_size - 1)) == (la & (res.page_size - 1)));
        if (pg.mode != X86_PAGING_NONE)
            CHECK(res.gpa < (1ull << maxphy));
        else
            CHECK(res.gpa == (uint32_t)la);
    } else if (rc == -X86EMUL_EXCEPTION) {
        CHECK(f.vector == X86_EXC_PF || f.vector == X86_EXC_GP);
        if (f.vector == X86_EXC_PF) {
            CHECK((f.error_code & ~0x1fu) == 0);
            CHECK((f.error_code & (X86_PFEC_W | X86_PFEC_U)) ==
                  (access & (X86_PFEC_W | X86_PFEC_U)));
            CHECK(f.cr2 == la || f.cr2 == (uint32_t)la);
        } else {
            CHECK(pg.mode == X86_PAGING_4LEVEL || pg.mode == X86_PAGING_5LEVEL);
        }
    }

    rc = x86_fetch_decode(&pg, la, (enum x86_mode)(c2 >> 5) % 3, c2 & 0x20, &insn, &f);
    CHECK(rc == 0 || rc == -X86EMUL_EXCEPTION || rc == -X86EMUL_ERROR ||
          rc == -X86EMUL_UNHANDLED || rc == -X86EMUL_BAD);
    if (rc == 0)
        check_insn(&insn, X86_MAX_INSN_LEN);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct input in = { data, size, 0 };
    const uint8_t *bytes = size > 2 ? data + 2 : data;
    size_t n = size > 2 ? size - 2 : 0;
    enum x86_mode mode;
    struct x86_insn insn;

    if (n > 20)
        n = 20;
    for (int m = X86_MODE_16; m <= X86_MODE_64; m++)
        fuzz_decode(bytes, n, (enum x86_mode)m);

    mode = (enum x86_mode)((size ? data[0] : 0) % 3);
    if (decode_exact(bytes, n, mode, &insn) == 0) {
        in.pos = 2 + insn.len;
        fk.in = &in;
        fuzz_emulate(&insn, mode, size > 1 ? data[1] : 0, &in);
    }
    in.pos = 1;
    fuzz_walk(&in);
    return 0;
}
