/* Writable page tables: the decoder of the faulting write and the entry merge (pv/pv_ptwr.h). */
/* @sources: pv/pv_ptwr_decode.c */
#include "cmocka_prelude.h"
#include "../../pv/pv_ptwr.h"

static void decode_ok(const uint8_t *b, size_t n, enum pv_ptwr_op op, unsigned int len,
                      unsigned int bytes, unsigned int reg)
{
    struct pv_ptwr_insn in;

    assert_int_equal(pv_ptwr_decode(b, n, &in), 0);
    assert_int_equal(in.op, op);
    assert_int_equal(in.len, len);
    assert_int_equal(in.bytes, bytes);
    if (!in.src_imm)
        assert_int_equal(in.reg, reg);
}

/* What Linux's native_set_pte and friends compile to. */
static void test_mov_forms(void **state)
{
    (void)state;
    decode_ok((const uint8_t[]){ 0x48, 0x89, 0x2b }, 3, PTWR_MOV, 3, 8, 5);      /* mov %rbp,(%rbx) */
    decode_ok((const uint8_t[]){ 0x4c, 0x89, 0x07 }, 3, PTWR_MOV, 3, 8, 8);      /* mov %r8,(%rdi) */
    decode_ok((const uint8_t[]){ 0x89, 0x37 }, 2, PTWR_MOV, 2, 4, 6);            /* mov %esi,(%rdi) */
    decode_ok((const uint8_t[]){ 0x48, 0x89, 0x74, 0x24, 0x08 }, 5, PTWR_MOV, 5, 8, 6); /* mov %rsi,8(%rsp) */
    decode_ok((const uint8_t[]){ 0x48, 0x89, 0x84, 0xc8, 1, 2, 3, 4 }, 8, PTWR_MOV, 8, 8, 0);
    decode_ok((const uint8_t[]){ 0x48, 0x89, 0x05, 1, 2, 3, 4 }, 7, PTWR_MOV, 7, 8, 0); /* RIP-relative */
    decode_ok((const uint8_t[]){ 0x48, 0x89, 0x04, 0x25, 1, 2, 3, 4 }, 8, PTWR_MOV, 8, 8, 0); /* SIB, no base */
    decode_ok((const uint8_t[]){ 0x48, 0x89, 0x43, 0x10 }, 4, PTWR_MOV, 4, 8, 0);
}

static void test_imm_xchg_cmpxchg(void **state)
{
    struct pv_ptwr_insn in;

    (void)state;
    /* movq $0,(%rdi): pte_clear */
    assert_int_equal(pv_ptwr_decode((const uint8_t[]){ 0x48, 0xc7, 0x07, 0, 0, 0, 0 }, 7, &in), 0);
    assert_int_equal(in.op, PTWR_MOV);
    assert_true(in.src_imm);
    assert_int_equal(in.len, 7);
    assert_int_equal(in.imm, 0);
    /* movq $-1,0x8(%rax): sign-extended */
    assert_int_equal(pv_ptwr_decode((const uint8_t[]){ 0x48, 0xc7, 0x40, 0x08, 0xff, 0xff, 0xff, 0xff },
                                    8, &in), 0);
    assert_int_equal(in.len, 8);
    assert_true(in.imm == ~0ULL);
    decode_ok((const uint8_t[]){ 0x48, 0x87, 0x37 }, 3, PTWR_XCHG, 3, 8, 6);         /* xchg %rsi,(%rdi) */
    decode_ok((const uint8_t[]){ 0xf0, 0x48, 0x0f, 0xb1, 0x37 }, 5, PTWR_CMPXCHG, 5, 8, 6);
    decode_ok((const uint8_t[]){ 0x48, 0x0f, 0xb1, 0x0a }, 4, PTWR_CMPXCHG, 4, 8, 1);
}

static void test_refused(void **state)
{
    struct pv_ptwr_insn in;

    (void)state;
    /* register operand, other opcodes, prefixes we do not take, LOCK MOV */
    assert_int_equal(pv_ptwr_decode((const uint8_t[]){ 0x48, 0x89, 0xc3 }, 3, &in), -1);
    assert_int_equal(pv_ptwr_decode((const uint8_t[]){ 0x48, 0x8b, 0x07 }, 3, &in), -1);
    assert_int_equal(pv_ptwr_decode((const uint8_t[]){ 0x64, 0x48, 0x89, 0x07 }, 4, &in), -1);
    assert_int_equal(pv_ptwr_decode((const uint8_t[]){ 0xf0, 0x48, 0x89, 0x07 }, 4, &in), -1);
    assert_int_equal(pv_ptwr_decode((const uint8_t[]){ 0x48, 0xc7, 0x0f, 0, 0, 0, 0 }, 7, &in), -1); /* C7 /1 */
    assert_int_equal(pv_ptwr_decode((const uint8_t[]){ 0x48, 0x0f, 0xb2, 0x07 }, 4, &in), -1); /* LSS */
    assert_int_equal(pv_ptwr_decode((const uint8_t[]){ 0x80, 0x07, 1 }, 3, &in), -1);  /* ADD: not taken */
    assert_int_equal(pv_ptwr_decode((const uint8_t[]){ 0x0f, 0xba, 0x27, 1 }, 4, &in), -1); /* BT /4: no write */
    /* cut short: displacement or immediate missing, empty */
    assert_int_equal(pv_ptwr_decode((const uint8_t[]){ 0x48, 0x89, 0x84, 0xc8, 1, 2 }, 6, &in), -1);
    assert_int_equal(pv_ptwr_decode((const uint8_t[]){ 0x48, 0xc7, 0x07, 0, 0 }, 5, &in), -1);
    assert_int_equal(pv_ptwr_decode((const uint8_t[]){ 0x48 }, 1, &in), -1);
    assert_int_equal(pv_ptwr_decode((const uint8_t[]){ 0 }, 0, &in), -1);
}

static void test_merge(void **state)
{
    uint64_t out;

    (void)state;
    assert_int_equal(pv_ptwr_merge(0x1111222233334444ULL, 0xaaaabbbbccccddddULL, 0, 8, &out), 0);
    assert_true(out == 0xaaaabbbbccccddddULL);
    assert_int_equal(pv_ptwr_merge(0x1111222233334444ULL, 0xffffffffccccddddULL, 0, 4, &out), 0);
    assert_true(out == 0x11112222ccccddddULL);
    assert_int_equal(pv_ptwr_merge(0x1111222233334444ULL, 0xccccddddULL, 4, 4, &out), 0);
    assert_true(out == 0xccccdddd33334444ULL);
    /* misaligned or crossing the entry */
    assert_int_equal(pv_ptwr_merge(0, 0, 4, 8, &out), -1);
    assert_int_equal(pv_ptwr_merge(0, 0, 2, 4, &out), -1);
    assert_int_equal(pv_ptwr_merge(0, 0, 1, 2, &out), -1);
    assert_int_equal(pv_ptwr_merge(0x1111222233334444ULL, 0xfd, 0, 1, &out), 0);
    assert_true(out == 0x11112222333344fdULL);
    assert_int_equal(pv_ptwr_merge(0x1111222233334444ULL, 0xabcd, 6, 2, &out), 0);
    assert_true(out == 0xabcd222233334444ULL);
}

/* Linux's bit operations on PTEs: clear_bit(RW) is "lock andb $0xfd" (or
   with a DS prefix on UP), test_and_clear_bit(A) "lock btr". */
static void test_rmw_forms(void **state)
{
    struct pv_ptwr_insn in;
    struct pv_ptwr_result res;

    (void)state;
    /* ds andb $0xfd,(%r12) */
    assert_int_equal(pv_ptwr_decode((const uint8_t[]){ 0x3e, 0x41, 0x80, 0x24, 0x24, 0xfd }, 6, &in), 0);
    assert_int_equal(in.op, PTWR_AND);
    assert_int_equal(in.bytes, 1);
    assert_int_equal(in.len, 6);
    pv_ptwr_apply(&in, 0x67, in.imm, 0, &res);
    assert_true(res.write && res.val == 0x65);
    /* lock btrq $5,(%rdi): CF = old A bit */
    assert_int_equal(pv_ptwr_decode((const uint8_t[]){ 0xf0, 0x48, 0x0f, 0xba, 0x37, 5 }, 6, &in), 0);
    assert_int_equal(in.op, PTWR_BTR);
    assert_int_equal(in.bytes, 8);
    pv_ptwr_apply(&in, 0x8000000000000067ULL, in.imm, 0, &res);
    assert_true(res.val == 0x8000000000000047ULL && res.flags == 1 && res.flags_mask == 1);
    /* lock orq %rsi,(%rdi); andl $imm32 sign-extended with 83 */
    assert_int_equal(pv_ptwr_decode((const uint8_t[]){ 0xf0, 0x48, 0x09, 0x37 }, 4, &in), 0);
    assert_int_equal(in.op, PTWR_OR);
    assert_int_equal(in.reg, 6);
    assert_int_equal(pv_ptwr_decode((const uint8_t[]){ 0x48, 0x83, 0x27, 0xfd }, 4, &in), 0);
    assert_true(in.op == PTWR_AND && in.imm == ~2ULL && in.bytes == 8);
    pv_ptwr_apply(&in, 2, in.imm, 0, &res);
    assert_true(res.val == 0 && (res.flags & (1u << 6)));     /* ZF */
    /* 66 prefix: a word; byte registers: AH without REX, SPL with it */
    assert_int_equal(pv_ptwr_decode((const uint8_t[]){ 0x66, 0x89, 0x07 }, 3, &in), 0);
    assert_int_equal(in.bytes, 2);
    assert_int_equal(pv_ptwr_decode((const uint8_t[]){ 0x88, 0x27 }, 2, &in), 0);
    assert_true(in.byte_high && in.reg == 4);
    assert_int_equal(pv_ptwr_decode((const uint8_t[]){ 0x40, 0x88, 0x27 }, 3, &in), 0);
    assert_true(!in.byte_high && in.reg == 4);
    /* cmpxchg: success writes, failure loads rAX */
    assert_int_equal(pv_ptwr_decode((const uint8_t[]){ 0xf0, 0x48, 0x0f, 0xb1, 0x37 }, 5, &in), 0);
    pv_ptwr_apply(&in, 0x1067, 0x2067, 0x1067, &res);
    assert_true(res.write && res.val == 0x2067 && res.flags == (1u << 6) && !res.set_reg);
    pv_ptwr_apply(&in, 0x1067, 0x2067, 0x9999, &res);
    assert_true(!res.write && res.set_reg && res.reg_val == 0x1067 && res.flags == 0);
    /* xchg returns the old value */
    assert_int_equal(pv_ptwr_decode((const uint8_t[]){ 0x48, 0x87, 0x37 }, 3, &in), 0);
    pv_ptwr_apply(&in, 0x1067, 0, 0, &res);
    assert_true(res.write && res.val == 0 && res.set_reg && res.reg_val == 0x1067);
    /* LOCK MOV does not exist */
    assert_int_equal(pv_ptwr_decode((const uint8_t[]){ 0xf0, 0x48, 0x89, 0x07 }, 4, &in), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mov_forms),
        cmocka_unit_test(test_imm_xchg_cmpxchg),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_merge),
        cmocka_unit_test(test_rmw_forms),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
