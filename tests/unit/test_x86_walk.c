/*
 * Host unit tests for the guest page walker and the instruction fetcher.
 * Page tables are built by hand in a 256 KiB fake guest-physical memory;
 * expected addresses and error codes follow SDM vol. 3, chapter 4.
 */
/* @sources: hypervisor/x86emul/walk.c hypervisor/x86emul/fetch.c hypervisor/x86emul/decode.c hypervisor/x86emul/decode_tables.c */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include <proxenos/x86emul.h>

#define MEM_SIZE (64 * 4096)

#define P   0x001ull
#define RW  0x002ull
#define US  0x004ull
#define PS  0x080ull
#define XD  (1ull << 63)
#define PRU (P | RW | US)

#define EC_P    X86_PFEC_P
#define EC_W    X86_PFEC_W
#define EC_U    X86_PFEC_U
#define EC_RSVD X86_PFEC_RSVD
#define EC_I    X86_PFEC_I

static uint8_t mem[MEM_SIZE];
static int nreads;

static int fake_read_phys(void *priv, uint64_t gpa, void *buf, unsigned int len)
{
    (void)priv;
    if (gpa >= MEM_SIZE || len > MEM_SIZE - gpa)
        return -X86EMUL_ERROR;
    memcpy(buf, &mem[gpa], len);
    nreads++;
    return 0;
}

static void put32(uint64_t gpa, uint32_t v) { memcpy(&mem[gpa], &v, 4); }
static void put64(uint64_t gpa, uint64_t v) { memcpy(&mem[gpa], &v, 8); }

static struct x86_paging pg_new(enum x86_paging_mode mode, uint64_t cr3)
{
    struct x86_paging pg;

    memset(mem, 0, sizeof(mem));
    nreads = 0;
    memset(&pg, 0, sizeof(pg));
    pg.mode = (uint8_t)mode;
    pg.cr3 = cr3;
    pg.read_phys = fake_read_phys;
    return pg;
}

#define assert_u64(a, b) assert_true((uint64_t)(a) == (uint64_t)(b))

/* Walk expected to succeed: returns the gpa. */
static uint64_t ok(const struct x86_paging *pg, uint64_t la, uint32_t access)
{
    struct x86_walk_result res;
    struct x86_fault f;
    int rc = x86_walk(pg, la, access, &res, &f);

    if (rc != 0)
        fail_msg("walk of %#llx failed: rc %d ec %#x", (unsigned long long)la, rc,
                 rc == -X86EMUL_EXCEPTION ? f.error_code : 0);
    return res.gpa;
}

static uint64_t page_size(const struct x86_paging *pg, uint64_t la)
{
    struct x86_walk_result res;
    struct x86_fault f;

    assert_int_equal(x86_walk(pg, la, 0, &res, &f), 0);
    return res.page_size;
}

/* Walk expected to #PF with this error code. */
static void pf(const struct x86_paging *pg, uint64_t la, uint32_t access, uint32_t ec)
{
    struct x86_walk_result res;
    struct x86_fault f;

    memset(&f, 0xee, sizeof(f));
    assert_int_equal(x86_walk(pg, la, access, &res, &f), -X86EMUL_EXCEPTION);
    assert_int_equal(f.vector, X86_EXC_PF);
    assert_true(f.has_error_code);
    assert_int_equal(f.error_code, ec);
    assert_u64(f.cr2, la);
}

static void gp(const struct x86_paging *pg, uint64_t la)
{
    struct x86_walk_result res;
    struct x86_fault f;

    assert_int_equal(x86_walk(pg, la, 0, &res, &f), -X86EMUL_EXCEPTION);
    assert_int_equal(f.vector, X86_EXC_GP);
    assert_int_equal(f.error_code, 0);
}

static void test_mode_from_regs(void **state)
{
    const uint64_t pg = 1ull << 31, pae = 1 << 5, la57 = 1 << 12, lma = 1 << 10;

    (void)state;
    assert_int_equal(x86_paging_mode_from_regs(0, pae, lma), X86_PAGING_NONE);
    assert_int_equal(x86_paging_mode_from_regs(pg | 1, 0, 0), X86_PAGING_32);
    assert_int_equal(x86_paging_mode_from_regs(pg, pae, 0), X86_PAGING_PAE);
    assert_int_equal(x86_paging_mode_from_regs(pg, pae, lma), X86_PAGING_4LEVEL);
    assert_int_equal(x86_paging_mode_from_regs(pg, pae | la57, lma), X86_PAGING_5LEVEL);
}

static void test_paging_off(void **state)
{
    struct x86_paging pg = pg_new(X86_PAGING_NONE, 0);

    (void)state;
    assert_u64(ok(&pg, 0x12345678, EC_W | EC_U | EC_I), 0x12345678);
    assert_u64(ok(&pg, 0x100001000ull, 0), 0x1000);
    assert_int_equal(nreads, 0);
}

/* ------------------------------------------------------------------------- */
/* 32-bit paging                                                              */
/* ------------------------------------------------------------------------- */

#define LA32 0x00403123u   /* PDE 1, PTE 3, offset 0x123 */

static struct x86_paging setup32(void)
{
    struct x86_paging pg = pg_new(X86_PAGING_32, 0x1000);

    put32(0x1000 + 1 * 4, 0x2000 | PRU);
    put32(0x2000 + 3 * 4, 0x5000 | PRU);
    return pg;
}

static void test_32bit_basic(void **state)
{
    struct x86_paging pg = setup32();

    (void)state;
    assert_u64(ok(&pg, LA32, 0), 0x5123);
    assert_u64(ok(&pg, LA32, EC_W | EC_U), 0x5123);
    assert_u64(ok(&pg, 0xffffffff00000000ull | LA32, 0), 0x5123);   /* 32-bit linear */
    assert_u64(page_size(&pg, LA32), 4096);
    assert_int_equal(nreads, 2 * 4);
    put32(0x2000 + 3 * 4, 0xfffff000 | PRU);              /* top frame of 4 GiB */
    assert_u64(ok(&pg, LA32, 0), 0xfffff123);
}

static void test_32bit_rights(void **state)
{
    struct x86_paging pg = setup32();

    (void)state;
    put32(0x2000 + 3 * 4, 0x5000 | P | US);              /* read-only */
    assert_u64(ok(&pg, LA32, EC_W), 0x5123);              /* CR0.WP=0: supervisor may */
    pg.wp = true;
    pf(&pg, LA32, EC_W, EC_P | EC_W);
    pf(&pg, LA32, EC_W | EC_U, EC_P | EC_W | EC_U);
    put32(0x1000 + 1 * 4, 0x2000 | P | RW);              /* supervisor-only PDE */
    pf(&pg, LA32, EC_U, EC_P | EC_U);
    assert_u64(ok(&pg, LA32, 0), 0x5123);
    put32(0x2000 + 3 * 4, 0);                             /* PTE not present */
    pf(&pg, LA32, EC_W | EC_U, EC_W | EC_U);
    put32(0x1000 + 1 * 4, 0);                             /* PDE not present */
    pf(&pg, LA32, 0, 0);
}

static void test_32bit_fetch_error_code(void **state)
{
    struct x86_paging pg = setup32();

    (void)state;
    put32(0x2000 + 3 * 4, 0);
    pg.nxe = true;                  /* no NX in 32-bit paging: I/D stays 0 */
    pf(&pg, LA32, EC_I, 0);
    pg.smep = true;                 /* SMEP makes fetches report I/D */
    pf(&pg, LA32, EC_I, EC_I);
}

static void test_32bit_pse(void **state)
{
    struct x86_paging pg = setup32();

    (void)state;
    put32(0x1000 + 3 * 4, 0x00800000 | PS | P | RW);     /* la 0x00c00000-0x00ffffff */
    pg.pse = true;
    assert_u64(ok(&pg, 0x00c12345, 0), 0x00812345);
    assert_u64(page_size(&pg, 0x00c12345), 4u << 20);
    pg.pse = false;                 /* PS ignored: 0x800000 is a page table, off RAM */
    {
        struct x86_walk_result res;
        struct x86_fault f;

        assert_int_equal(x86_walk(&pg, 0x00c12345, 0, &res, &f), -X86EMUL_ERROR);
    }
}

static void test_32bit_pse36(void **state)
{
    struct x86_paging pg = setup32();

    (void)state;
    pg.pse = true;
    pg.maxphyaddr = 40;
    put32(0x1000 + 3 * 4, 0x00800000 | (1u << 13) | PS | P);        /* PA bit 32 */
    assert_u64(ok(&pg, 0x00c12345, 0), 0x100812345ull);
    put32(0x1000 + 3 * 4, 0x00800000 | (1u << 17) | PS | P);        /* PA bit 36 */
    assert_u64(ok(&pg, 0x00c12345, 0), 0x1000812345ull);
    pg.maxphyaddr = 36;                                             /* now reserved */
    pf(&pg, 0x00c12345, 0, EC_P | EC_RSVD);
    put32(0x1000 + 3 * 4, 0x00800000 | (1u << 21) | PS | P);        /* bit 21 always */
    pg.maxphyaddr = 40;
    pf(&pg, 0x00c12345, EC_W, EC_P | EC_W | EC_RSVD);
}

static void test_32bit_self_map(void **state)
{
    struct x86_paging pg = setup32();

    (void)state;
    put32(0x1000, 0x1000 | PRU);        /* PDE 0 points at the directory itself */
    assert_u64(ok(&pg, 0x00001010, 0), 0x2010);   /* PTE 1 = PDE 1 = 0x2000 */
    assert_u64(ok(&pg, 0x00000ffc, 0), 0x1ffc);   /* PTE 0 = PDE 0 = the PD */
}

/* ------------------------------------------------------------------------- */
/* PAE                                                                        */
/* ------------------------------------------------------------------------- */

#define LAPAE 0x40405678u  /* PDPTE 1, PDE 2, PTE 5, offset 0x678 */

static struct x86_paging setup_pae(void)
{
    struct x86_paging pg = pg_new(X86_PAGING_PAE, 0x1000);

    put64(0x1000 + 1 * 8, 0x2000 | P);
    put64(0x2000 + 2 * 8, 0x3000 | PRU);
    put64(0x3000 + 5 * 8, 0x6000 | PRU);
    return pg;
}

static void test_pae_basic(void **state)
{
    struct x86_paging pg = setup_pae();

    (void)state;
    assert_u64(ok(&pg, LAPAE, EC_W | EC_U), 0x6678);
    put64(0x2000 + 3 * 8, 0x00200000 | PS | PRU);        /* 2 MiB page */
    assert_u64(ok(&pg, 0x40612345, 0), 0x212345);
    assert_u64(page_size(&pg, 0x40612345), 2u << 20);
    put64(0x2000 + 3 * 8, 0x00200000 | (1u << 13) | PS | PRU);
    pf(&pg, 0x40612345, 0, EC_P | EC_RSVD);
}

static void test_pae_nx(void **state)
{
    struct x86_paging pg = setup_pae();

    (void)state;
    put64(0x3000 + 5 * 8, 0x6000 | PRU | XD);
    pg.nxe = true;
    assert_u64(ok(&pg, LAPAE, 0), 0x6678);
    pf(&pg, LAPAE, EC_I, EC_P | EC_I);
    pg.nxe = false;                 /* XD is a reserved bit without EFER.NXE */
    pf(&pg, LAPAE, 0, EC_P | EC_RSVD);
}

static void test_pae_pdpte(void **state)
{
    struct x86_paging pg = setup_pae();

    (void)state;
    put64(0x1000 + 1 * 8, 0x2000 | P | RW);              /* R/W is reserved in a PDPTE */
    pf(&pg, LAPAE, 0, EC_P | EC_RSVD);
    put64(0x1000 + 1 * 8, 0x2000 | P | XD);              /* so is bit 63 */
    pg.nxe = true;
    pf(&pg, LAPAE, 0, EC_P | EC_RSVD);
    put64(0x1000 + 1 * 8, 0);
    pf(&pg, LAPAE, EC_W, EC_W);

    /* PDPTE registers win over memory (loaded at MOV CR3, SDM vol. 3, 4.4.1) */
    pg.pdptrs_valid = true;
    pg.pdptr[1] = 0x4000 | P;
    put64(0x4000 + 2 * 8, 0x3000 | PRU);
    assert_u64(ok(&pg, LAPAE, 0), 0x6678);
}

static void test_pae_reserved_high_bits(void **state)
{
    struct x86_paging pg = setup_pae();

    (void)state;
    put64(0x3000 + 5 * 8, 0x6000 | PRU | (1ull << 52));  /* 62:52 reserved in PAE */
    pf(&pg, LAPAE, 0, EC_P | EC_RSVD);
    put64(0x3000 + 5 * 8, 0x6000 | PRU | (1ull << 36));
    assert_u64(ok(&pg, LAPAE, 0), 0x1000006678ull);
    pg.maxphyaddr = 36;
    pf(&pg, LAPAE, 0, EC_P | EC_RSVD);
}

/* ------------------------------------------------------------------------- */
/* 4-level and 5-level                                                        */
/* ------------------------------------------------------------------------- */

#define LA4 0x8080604567ull  /* PML4 1, PDPT 2, PD 3, PT 4, offset 0x567 */

static struct x86_paging setup4(void)
{
    struct x86_paging pg = pg_new(X86_PAGING_4LEVEL, 0x1000);

    put64(0x1000 + 1 * 8, 0x2000 | PRU);
    put64(0x2000 + 2 * 8, 0x3000 | PRU);
    put64(0x3000 + 3 * 8, 0x4000 | PRU);
    put64(0x4000 + 4 * 8, 0x9000 | PRU);
    return pg;
}

static void test_4level_basic(void **state)
{
    struct x86_paging pg = setup4();

    (void)state;
    assert_u64(ok(&pg, LA4, EC_W | EC_U), 0x9567);
    assert_int_equal(nreads, 4);
    pg.cr3 = 0x1000 | 0xfff;        /* PCID bits are not part of the address */
    assert_u64(ok(&pg, LA4, 0), 0x9567);
}

static void test_4level_large_pages(void **state)
{
    struct x86_paging pg = setup4();

    (void)state;
    put64(0x3000 + 3 * 8, 0x00400000 | PS | PRU);        /* 2 MiB */
    assert_u64(ok(&pg, LA4, 0), 0x404567);
    assert_u64(page_size(&pg, LA4), 2u << 20);
    put64(0x3000 + 3 * 8, 0x00400000 | (1ull << 20) | PS | PRU);
    pf(&pg, LA4, 0, EC_P | EC_RSVD);

    put64(0x2000 + 2 * 8, 0x40000000 | PS | PRU);        /* 1 GiB */
    pf(&pg, LA4, 0, EC_P | EC_RSVD);                     /* not without gbpages */
    pg.gbpages = true;
    assert_u64(ok(&pg, LA4, 0), 0x40604567);
    assert_u64(page_size(&pg, LA4), 1u << 30);
    put64(0x2000 + 2 * 8, 0x40000000 | (1ull << 13) | PS | PRU);
    pf(&pg, LA4, EC_U, EC_P | EC_U | EC_RSVD);
    put64(0x2000 + 2 * 8, 0x40000000 | (1ull << 12) | PS | PRU);   /* PAT bit is fine */
    assert_u64(ok(&pg, LA4, 0), 0x40604567);

    put64(0x1000 + 1 * 8, 0x2000 | PS | PRU);            /* no pages at PML4 */
    pf(&pg, LA4, 0, EC_P | EC_RSVD);
}

static void test_4level_reserved(void **state)
{
    struct x86_paging pg = setup4();

    (void)state;
    put64(0x4000 + 4 * 8, 0x9000 | PRU | (0x7ffull << 52));  /* 62:52 ignored */
    assert_u64(ok(&pg, LA4, 0), 0x9567);
    put64(0x4000 + 4 * 8, 0x9000 | PRU | (1ull << 40));
    assert_u64(ok(&pg, LA4, 0), 0x10000009567ull);
    pg.maxphyaddr = 36;
    pf(&pg, LA4, 0, EC_P | EC_RSVD);
    pg.maxphyaddr = 0;
    put64(0x1000 + 1 * 8, 0x2000 | PRU | XD);              /* XD without NXE */
    pf(&pg, LA4, 0, EC_P | EC_RSVD);
}

static void test_4level_rights(void **state)
{
    struct x86_paging pg = setup4();

    (void)state;
    put64(0x3000 + 3 * 8, 0x4000 | PRU | XD);             /* NX at the PD */
    pg.nxe = true;
    assert_u64(ok(&pg, LA4, EC_U), 0x9567);
    pf(&pg, LA4, EC_I, EC_P | EC_I);
    pf(&pg, LA4, EC_I | EC_U, EC_P | EC_U | EC_I);
    put64(0x3000 + 3 * 8, 0x4000 | PRU);

    put64(0x1000 + 1 * 8, 0x2000 | P | RW);               /* supervisor PML4E */
    pf(&pg, LA4, EC_U, EC_P | EC_U);
    put64(0x1000 + 1 * 8, 0x2000 | PRU);
    put64(0x2000 + 2 * 8, 0x3000 | P | US);               /* read-only PDPTE */
    pf(&pg, LA4, EC_W | EC_U, EC_P | EC_W | EC_U);
    assert_u64(ok(&pg, LA4, EC_W), 0x9567);               /* WP=0 */
    pg.wp = true;
    pf(&pg, LA4, EC_W, EC_P | EC_W);
    put64(0x4000 + 4 * 8, 0);                              /* not present */
    pf(&pg, LA4, EC_I, EC_I);                              /* I/D reported with NXE */
}

static void test_4level_smep_smap(void **state)
{
    struct x86_paging pg = setup4();

    (void)state;
    assert_u64(ok(&pg, LA4, EC_I), 0x9567);               /* user page, no SMEP */
    pg.smep = true;
    pf(&pg, LA4, EC_I, EC_P | EC_I);
    assert_u64(ok(&pg, LA4, EC_I | EC_U), 0x9567);
    pg.smap = true;
    pf(&pg, LA4, 0, EC_P);                                 /* AC=0 */
    pf(&pg, LA4, EC_W, EC_P | EC_W);
    pg.ac = true;
    assert_u64(ok(&pg, LA4, EC_W), 0x9567);
    pf(&pg, LA4, X86_WALK_IMPLICIT, EC_P);                 /* implicit: AC ignored */
    assert_u64(ok(&pg, LA4, EC_U), 0x9567);               /* user access unaffected */
    put64(0x4000 + 4 * 8, 0x9000 | P | RW);                /* supervisor page */
    pg.ac = false;
    assert_u64(ok(&pg, LA4, X86_WALK_IMPLICIT), 0x9567);
}

static void test_4level_canonical(void **state)
{
    struct x86_paging pg = setup4();

    (void)state;
    gp(&pg, 0x0000800000000000ull);
    gp(&pg, 0xfff0000000000000ull);
    pf(&pg, 0xffff800000000000ull, 0, 0);                 /* canonical, not mapped */
    assert_int_equal(nreads, 1);
}

static void test_4level_self_map_and_bad_pointer(void **state)
{
    struct x86_paging pg = setup4();

    (void)state;
    put64(0x1000 + 511 * 8, 0x1000 | P | RW);             /* recursive slot */
    /* 511/511/511/1: the "page" is the PDPT that PML4[1] names */
    assert_u64(ok(&pg, 0xffffffffffe01018ull, EC_W), 0x2018);
    put64(0x3000 + 3 * 8, 0x7fff000 | PRU);               /* table outside RAM */
    {
        struct x86_walk_result res;
        struct x86_fault f;

        assert_int_equal(x86_walk(&pg, LA4, 0, &res, &f), -X86EMUL_ERROR);
    }
}

static void test_5level(void **state)
{
    struct x86_paging pg = pg_new(X86_PAGING_5LEVEL, 0x1000);
    const uint64_t la = 0x10100c0805089ull;   /* 1/2/3/4/5 + 0x89, bit 48 set */

    (void)state;
    put64(0x1000 + 1 * 8, 0x2000 | PRU);
    put64(0x2000 + 2 * 8, 0x3000 | PRU);
    put64(0x3000 + 3 * 8, 0x4000 | PRU);
    put64(0x4000 + 4 * 8, 0x5000 | PRU);
    put64(0x5000 + 5 * 8, 0xa000 | PRU);
    assert_u64(ok(&pg, la, EC_U), 0xa089);
    assert_int_equal(nreads, 5);
    gp(&pg, 1ull << 57);
    put64(0x1000 + 1 * 8, 0x2000 | PRU | PS);
    pf(&pg, la, 0, EC_P | EC_RSVD);
    pg.mode = X86_PAGING_4LEVEL;               /* the same address is not canonical */
    gp(&pg, la);
}

static void test_walk_args(void **state)
{
    struct x86_paging pg = setup4();
    struct x86_walk_result res;
    struct x86_fault f;

    (void)state;
    assert_int_equal(x86_walk(NULL, 0, 0, &res, &f), -X86EMUL_BAD);
    assert_int_equal(x86_walk(&pg, 0, 0, NULL, &f), -X86EMUL_BAD);
    pg.maxphyaddr = 60;
    assert_int_equal(x86_walk(&pg, LA4, 0, &res, &f), -X86EMUL_BAD);
    pg.maxphyaddr = 0;
    pg.read_phys = NULL;
    assert_int_equal(x86_walk(&pg, LA4, 0, &res, &f), -X86EMUL_BAD);
    pg.mode = 9;
    pg.read_phys = fake_read_phys;
    assert_int_equal(x86_walk(&pg, LA4, 0, &res, &f), -X86EMUL_BAD);
}

/* ------------------------------------------------------------------------- */
/* Instruction fetch                                                          */
/* ------------------------------------------------------------------------- */

/* Code at la 0x400000 -> 0xb000 and 0x401000 -> 0xc000 (4-level). */
static struct x86_paging setup_code(void)
{
    struct x86_paging pg = setup4();

    put64(0x1000, 0x12000 | PRU);
    put64(0x12000, 0x13000 | PRU);
    put64(0x13000 + 2 * 8, 0x14000 | PRU);                /* 0x400000 >> 21 = 2 */
    put64(0x14000 + 0 * 8, 0xb000 | PRU);
    put64(0x14000 + 1 * 8, 0xc000 | PRU);
    pg.nxe = true;
    return pg;
}

static void test_fetch_simple(void **state)
{
    struct x86_paging pg = setup_code();
    struct x86_insn insn;
    struct x86_fault f;

    (void)state;
    mem[0xb010] = 0x0f;
    mem[0xb011] = 0xa2;
    assert_int_equal(x86_fetch_decode(&pg, 0x400010, X86_MODE_64, false, &insn, &f), 0);
    assert_int_equal(insn.len, 2);
    assert_int_equal(insn.opcode, 0xa2);
    /* compatibility mode under 4-level paging: the linear address is 32 bits */
    assert_int_equal(x86_fetch_decode(&pg, 0x100400010ull, X86_MODE_32, false, &insn, &f), 0);
    assert_int_equal(insn.opcode, 0xa2);
}

static void test_fetch_straddle(void **state)
{
    struct x86_paging pg = setup_code();
    struct x86_insn insn;
    struct x86_fault f;
    const uint8_t code[] = { 0x48, 0xc7, 0x00, 0x78, 0x56, 0x34, 0x12 };

    (void)state;
    memcpy(&mem[0xbffd], code, 3);
    memcpy(&mem[0xc000], code + 3, 4);
    assert_int_equal(x86_fetch_decode(&pg, 0x400ffd, X86_MODE_64, true, &insn, &f), 0);
    assert_int_equal(insn.len, 7);
    assert_u64(insn.imm, 0x12345678);

    put64(0x14000 + 1 * 8, 0);                            /* second page gone */
    assert_int_equal(x86_fetch_decode(&pg, 0x400ffd, X86_MODE_64, true, &insn, &f),
                     -X86EMUL_EXCEPTION);
    assert_int_equal(f.vector, X86_EXC_PF);
    assert_int_equal(f.error_code, EC_U | EC_I);
    assert_u64(f.cr2, 0x401000);

    mem[0xbfff] = 0x90;                                   /* ends on the page: fine */
    assert_int_equal(x86_fetch_decode(&pg, 0x400fff, X86_MODE_64, true, &insn, &f), 0);
    assert_int_equal(insn.len, 1);
}

static void test_fetch_rights(void **state)
{
    struct x86_paging pg = setup_code();
    struct x86_insn insn;
    struct x86_fault f;

    (void)state;
    put64(0x14000, 0xb000 | PRU | XD);
    assert_int_equal(x86_fetch_decode(&pg, 0x400000, X86_MODE_64, false, &insn, &f),
                     -X86EMUL_EXCEPTION);
    assert_int_equal(f.error_code, EC_P | EC_I);
    put64(0x14000, 0xb000 | P | RW);
    assert_int_equal(x86_fetch_decode(&pg, 0x400000, X86_MODE_64, true, &insn, &f),
                     -X86EMUL_EXCEPTION);
    assert_int_equal(f.error_code, EC_P | EC_U | EC_I);
    mem[0xb000] = 0xf4;
    assert_int_equal(x86_fetch_decode(&pg, 0x400000, X86_MODE_64, false, &insn, &f), 0);
    assert_int_equal(insn.len, 1);
}

static void test_fetch_32bit_wrap(void **state)
{
    struct x86_paging pg = pg_new(X86_PAGING_32, 0x1000);
    struct x86_insn insn;
    struct x86_fault f;

    (void)state;
    put32(0x1000 + 1023 * 4, 0x2000 | PRU);
    put32(0x2000 + 1023 * 4, 0xd000 | PRU);              /* 0xfffff000 */
    put32(0x1000 + 0 * 4, 0x3000 | PRU);
    put32(0x3000 + 0 * 4, 0xe000 | PRU);                 /* 0x00000000 */
    mem[0xdfff] = 0x0f;
    mem[0xe000] = 0xa2;
    assert_int_equal(x86_fetch_decode(&pg, 0xffffffff, X86_MODE_32, false, &insn, &f), 0);
    assert_int_equal(insn.len, 2);
    assert_int_equal(insn.opcode, 0xa2);
    /* and a 15-byte-limit violation is still reported through the fetcher */
    memset(&mem[0xe000], 0x66, 4096);
    assert_int_equal(x86_fetch_decode(&pg, 0, X86_MODE_32, false, &insn, &f), -X86EMUL_BAD);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mode_from_regs),
        cmocka_unit_test(test_paging_off),
        cmocka_unit_test(test_32bit_basic),
        cmocka_unit_test(test_32bit_rights),
        cmocka_unit_test(test_32bit_fetch_error_code),
        cmocka_unit_test(test_32bit_pse),
        cmocka_unit_test(test_32bit_pse36),
        cmocka_unit_test(test_32bit_self_map),
        cmocka_unit_test(test_pae_basic),
        cmocka_unit_test(test_pae_nx),
        cmocka_unit_test(test_pae_pdpte),
        cmocka_unit_test(test_pae_reserved_high_bits),
        cmocka_unit_test(test_4level_basic),
        cmocka_unit_test(test_4level_large_pages),
        cmocka_unit_test(test_4level_reserved),
        cmocka_unit_test(test_4level_rights),
        cmocka_unit_test(test_4level_smep_smap),
        cmocka_unit_test(test_4level_canonical),
        cmocka_unit_test(test_4level_self_map_and_bad_pointer),
        cmocka_unit_test(test_5level),
        cmocka_unit_test(test_walk_args),
        cmocka_unit_test(test_fetch_simple),
        cmocka_unit_test(test_fetch_straddle),
        cmocka_unit_test(test_fetch_rights),
        cmocka_unit_test(test_fetch_32bit_wrap),
    };

    return cmocka_run_group_tests_name("x86_walk", tests, NULL, NULL);
}
