/* The ELF kernel loader: valid ELF32/ELF64 images, Xen notes, and hostile images. */
/* @sources: hypervisor/dombuild/elf.c */
#include "cmocka_prelude.h"
#include <string.h>
#include <proxenos/elf.h>
#include <xen/elfnote.h>

#define IMG_SIZE 0x2000
static uint8_t img[IMG_SIZE];
static size_t img_len;
static struct elf_image e;
static const char *why;

static void put16(size_t off, uint16_t v) { memcpy(img + off, &v, 2); }
static void put32(size_t off, uint32_t v) { memcpy(img + off, &v, 4); }
static void put64(size_t off, uint64_t v) { memcpy(img + off, &v, 8); }

/* ---- an image builder -------------------------------------------------------- */

struct ph {
    uint32_t type, flags;
    uint64_t offset, vaddr, paddr, filesz, memsz, align;
};

static int cls = 64;

static size_t ehdr_size(void) { return cls == 64 ? 64 : 52; }
static size_t phdr_size(void) { return cls == 64 ? 56 : 32; }

static void put_ehdr(uint16_t machine, uint64_t entry, uint16_t phnum)
{
    memcpy(img, "\177ELF", 4);
    img[4] = cls == 64 ? 2 : 1;
    img[5] = 1;                        /* LSB */
    img[6] = 1;                        /* EV_CURRENT */
    put16(16, 2);                      /* ET_EXEC */
    put16(18, machine);
    put32(20, 1);
    if (cls == 64) {
        put64(24, entry);
        put64(32, 64);                 /* e_phoff */
        put16(52, 64);
        put16(54, 56);
        put16(56, phnum);
    } else {
        put32(24, (uint32_t)entry);
        put32(28, 52);
        put16(40, 52);
        put16(42, 32);
        put16(44, phnum);
    }
}

static void put_phdr(unsigned int i, const struct ph *p)
{
    size_t o = ehdr_size() + i * phdr_size();

    put32(o, p->type);
    if (cls == 64) {
        put32(o + 4, p->flags);
        put64(o + 8, p->offset);
        put64(o + 16, p->vaddr);
        put64(o + 24, p->paddr);
        put64(o + 32, p->filesz);
        put64(o + 40, p->memsz);
        put64(o + 48, p->align);
    } else {
        put32(o + 4, (uint32_t)p->offset);
        put32(o + 8, (uint32_t)p->vaddr);
        put32(o + 12, (uint32_t)p->paddr);
        put32(o + 16, (uint32_t)p->filesz);
        put32(o + 20, (uint32_t)p->memsz);
        put32(o + 24, p->flags);
        put32(o + 28, (uint32_t)p->align);
    }
}

/* Appends a note at *off (4-byte padding); returns its size. */
static size_t put_note(size_t *off, const char *name, uint32_t type, const void *desc,
                       uint32_t descsz)
{
    size_t start = *off, namesz = strlen(name) + 1;

    put32(*off, (uint32_t)namesz);
    put32(*off + 4, descsz);
    put32(*off + 8, type);
    memcpy(img + *off + 12, name, namesz);
    *off += 12 + ((namesz + 3) & ~3ul);
    memcpy(img + *off, desc, descsz);
    *off += (descsz + 3) & ~3ul;
    return *off - start;
}

#define NOTE_OFF  0x200
#define CODE_OFF  0x1000
#define CODE_SIZE 0x400
#define PADDR     0x100000ull
#define VBASE     (cls == 64 ? 0xffffffff80000000ull : 0xc0000000ull)
#define ENTRY     (PADDR + 0x10)
#define BSS       0x3000

static struct ph load_ph, note_ph;

/* The standard valid image: one executable PT_LOAD (with bss) and the
 * notes of a PVH Linux kernel. Tests tweak it and call parse(). */
static void standard_image(bool pvh)
{
    uint32_t phys32 = ENTRY;
    uint64_t hpage = VBASE + PADDR + 0x200;
    size_t off = NOTE_OFF, notes = 0;

    memset(img, 0, sizeof(img));
    put_ehdr(cls == 64 ? 62 : 3, ENTRY, 2);
    notes += put_note(&off, "Xen", XEN_ELFNOTE_GUEST_OS, "linux", 6);
    notes += put_note(&off, "Xen", XEN_ELFNOTE_FEATURES, "!writable_page_tables", 22);
    notes += put_note(&off, "GNU", 3, "buildid", 8);      /* not ours: skipped */
    notes += put_note(&off, "Xen", XEN_ELFNOTE_HYPERCALL_PAGE, &hpage, cls == 64 ? 8 : 4);
    if (pvh)
        notes += put_note(&off, "Xen", XEN_ELFNOTE_PHYS32_ENTRY, &phys32, 4);
    else
        notes += put_note(&off, "Xen", XEN_ELFNOTE_VIRT_BASE, &(uint64_t){ VBASE }, 8);
    load_ph = (struct ph){ 1, 5, CODE_OFF, VBASE + PADDR, PADDR, CODE_SIZE,
                           CODE_SIZE + BSS, 0x1000 };
    note_ph = (struct ph){ 4, 4, NOTE_OFF, 0, 0, notes, notes, 4 };
    put_phdr(0, &load_ph);
    put_phdr(1, &note_ph);
    for (size_t i = 0; i < CODE_SIZE; i++)
        img[CODE_OFF + i] = (uint8_t)(i * 7 + 1);
    img_len = CODE_OFF + CODE_SIZE;
}

static int parse(void)
{
    why = NULL;
    return elf_parse(img, img_len, &e, &why);
}

#define assert_rejected(fragment) do { \
        assert_int_equal(parse(), -EINVAL); \
        assert_non_null(why); \
        assert_non_null(strstr(why, fragment)); \
    } while (0)

static int setup64(void **state) { cls = 64; standard_image(true); return 0; }
static int setup32(void **state) { cls = 32; standard_image(true); return 0; }

/* ---- valid images --------------------------------------------------------------- */

static void valid_pvh(void **state)
{
    assert_int_equal(parse(), 0);
    assert_int_equal(e.elf_class, cls == 64 ? ELF_CLASS64 : ELF_CLASS32);
    assert_int_equal(e.machine, cls == 64 ? 62 : 3);
    assert_int_equal(e.entry, ENTRY);
    assert_int_equal(e.nr_segs, 1);
    assert_int_equal(e.seg[0].paddr, PADDR);
    assert_int_equal(e.seg[0].vaddr, VBASE + PADDR);
    assert_int_equal(e.seg[0].offset, CODE_OFF);
    assert_int_equal(e.seg[0].filesz, CODE_SIZE);
    assert_int_equal(e.seg[0].memsz, CODE_SIZE + BSS);
    assert_int_equal(e.paddr_start, PADDR);
    assert_int_equal(e.paddr_end, PADDR + CODE_SIZE + BSS);
    assert_int_equal(e.kind, ELF_BOOT_PVH);
    assert_true(e.xen.has_phys32_entry);
    assert_int_equal(e.xen.phys32_entry, ENTRY);
    assert_true(e.xen.has_hypercall_page);
    assert_int_equal(e.xen.hypercall_page, VBASE + PADDR + 0x200);
    assert_string_equal(e.xen.guest_os, "linux");
    assert_string_equal(e.xen.features, "!writable_page_tables");
    assert_int_equal(e.xen.nr_notes, 4);
    assert_string_equal(elf_boot_kind_name(e.kind), "PVH");
}

static void pv_and_plain_kinds(void **state)
{
    standard_image(false);
    assert_int_equal(parse(), 0);
    assert_int_equal(e.kind, ELF_BOOT_PV);
    assert_false(e.xen.has_phys32_entry);
    assert_true(e.xen.has_virt_base);
    assert_int_equal(e.xen.virt_base, VBASE);

    note_ph.type = 6;                  /* PT_PHDR: the notes are no longer seen */
    put_phdr(1, &note_ph);
    assert_int_equal(parse(), 0);
    assert_int_equal(e.kind, ELF_BOOT_PLAIN);
    assert_int_equal(e.xen.nr_notes, 0);
}

static uint8_t guest[0x8000];
static int copies, clears;

static int copy_cb(void *ctx, uint64_t paddr, const void *src, size_t len)
{
    assert_ptr_equal(ctx, guest);
    assert_true(paddr >= PADDR && paddr - PADDR + len <= sizeof(guest));
    if (src) {
        assert_true((const uint8_t *)src >= img && (const uint8_t *)src + len <= img + img_len);
        memcpy(guest + (paddr - PADDR), src, len);
        copies++;
    } else {
        memset(guest + (paddr - PADDR), 0, len);
        clears++;
    }
    return 0;
}

static int failing_cb(void *ctx, uint64_t paddr, const void *src, size_t len) { return -14; }

static void load_copies_and_zeroes(void **state)
{
    assert_int_equal(parse(), 0);
    memset(guest, 0xaa, sizeof(guest));
    copies = clears = 0;
    assert_int_equal(elf_load(&e, copy_cb, guest), 0);
    assert_int_equal(copies, 1);
    assert_int_equal(clears, 1);
    assert_memory_equal(guest, img + CODE_OFF, CODE_SIZE);
    for (size_t i = CODE_SIZE; i < CODE_SIZE + BSS; i++)
        assert_int_equal(guest[i], 0);
    assert_int_equal(guest[CODE_SIZE + BSS], 0xaa);      /* nothing beyond memsz */
    assert_int_equal(elf_load(&e, failing_cb, guest), -14);
}

static void two_segments_adjacent_ok(void **state)
{
    struct ph data = { 1, 6, CODE_OFF + 0x200, VBASE + PADDR + 0x4000, PADDR + CODE_SIZE + BSS,
                       0x100, 0x1000, 0x1000 };

    put16(cls == 64 ? 56 : 44, 3);
    put_phdr(2, &data);
    assert_int_equal(parse(), 0);
    assert_int_equal(e.nr_segs, 2);
    assert_int_equal(e.paddr_end, PADDR + CODE_SIZE + BSS + 0x1000);

    data.paddr -= 1;                   /* now overlaps the first segment's bss */
    put_phdr(2, &data);
    assert_rejected("overlap");
}

static void zero_size_segments_ignored(void **state)
{
    struct ph empty = { 1, 5, 0, 0, PADDR, 0, 0, 0 };   /* same paddr, but empty */

    put16(cls == 64 ? 56 : 44, 3);
    put_phdr(2, &empty);
    assert_int_equal(parse(), 0);
    assert_int_equal(e.nr_segs, 1);
}

static void eight_byte_aligned_notes(void **state)
{
    uint32_t phys32 = ENTRY;
    size_t off = NOTE_OFF;

    if (cls != 64)
        return;
    /* "Xen\0" is 4 bytes, padded to 8; the 4-byte descriptor padded to 8. */
    put32(off, 4); put32(off + 4, 4); put32(off + 8, XEN_ELFNOTE_PHYS32_ENTRY);
    memcpy(img + off + 12, "Xen", 4);
    memcpy(img + off + 20, &phys32, 4);
    note_ph.filesz = note_ph.memsz = 24;
    note_ph.align = 8;
    put_phdr(1, &note_ph);
    assert_int_equal(parse(), 0);
    assert_int_equal(e.xen.phys32_entry, ENTRY);
    assert_int_equal(e.kind, ELF_BOOT_PVH);
}

static void note_strings_sanitized_and_bounded(void **state)
{
    char longstr[300];
    size_t off = NOTE_OFF;

    memset(longstr, 'A', sizeof(longstr));
    memset(img + NOTE_OFF, 0, 0x400);
    put_note(&off, "Xen", XEN_ELFNOTE_GUEST_OS, "li\033[2Jnux\n", 11);
    put_note(&off, "Xen", XEN_ELFNOTE_LOADER, "generic", 7);  /* no NUL inside descsz */
    put_note(&off, "Xen", XEN_ELFNOTE_FEATURES, longstr, sizeof(longstr));
    put_note(&off, "Xen", XEN_ELFNOTE_PHYS32_ENTRY, &(uint32_t){ ENTRY }, 4);
    note_ph.filesz = note_ph.memsz = off - NOTE_OFF;
    put_phdr(1, &note_ph);
    assert_int_equal(parse(), 0);
    assert_string_equal(e.xen.guest_os, "li?[2Jnux?");
    assert_string_equal(e.xen.loader, "generic");
    assert_int_equal(strlen(e.xen.features), ELF_FEATURES_LEN - 1);
}

static void numeric_note_widths(void **state)
{
    size_t off = NOTE_OFF;

    memset(img + NOTE_OFF, 0, 0x400);
    put_note(&off, "Xen", XEN_ELFNOTE_PHYS32_ENTRY, &(uint64_t){ ENTRY }, 8);
    put_note(&off, "Xen", XEN_ELFNOTE_PADDR_OFFSET, &(uint16_t){ 0x1234 }, 2);
    put_note(&off, "Xen", XEN_ELFNOTE_SUPPORTED_FEATURES, &(uint64_t){ 0x500000003ull }, 8);
    put_note(&off, "Xen", XEN_ELFNOTE_BSD_SYMTAB, "yes", 4);
    put_note(&off, "Xen", 0x7777, "", 0);                  /* unknown type: counted */
    note_ph.filesz = note_ph.memsz = off - NOTE_OFF;
    put_phdr(1, &note_ph);
    assert_int_equal(parse(), 0);
    assert_int_equal(e.xen.phys32_entry, ENTRY);
    assert_int_equal(e.xen.paddr_offset, 0x1234);
    assert_int_equal(e.xen.supported_features, 3);
    assert_true(e.xen.bsd_symtab);
    assert_int_equal(e.xen.nr_notes, 5);
}

/* ---- hostile headers ------------------------------------------------------------- */

static void truncated_headers(void **state)
{
    size_t full = img_len;

    for (img_len = 0; img_len < ehdr_size(); img_len++)
        assert_int_equal(parse(), -EINVAL);
    /* Header present, program headers cut. */
    for (img_len = ehdr_size(); img_len < ehdr_size() + 2 * phdr_size(); img_len++)
        assert_rejected("program headers lie past the end");
    /* Headers present, the segment's bytes cut. */
    img_len = CODE_OFF + CODE_SIZE - 1;
    assert_rejected("PT_LOAD segment lies past the end");
    img_len = full;
    assert_int_equal(elf_parse(NULL, 100, &e, &why), -EINVAL);
}

static void bad_identification(void **state)
{
    img[0] = 0x7e;
    assert_rejected("not an ELF image");
    img[0] = 0x7f;
    img[4] = 3;
    assert_rejected("bad ELF class");
    img[4] = cls == 64 ? 2 : 1;
    img[5] = 2;
    assert_rejected("little-endian");
    img[5] = 1;
    img[6] = 0;
    assert_rejected("identification version");
    img[6] = 1;
    put32(20, 2);
    assert_rejected("bad ELF version");
    put32(20, 1);
    assert_int_equal(parse(), 0);
}

static void class_machine_type_mismatches(void **state)
{
    put16(18, 40);                     /* EM_ARM */
    assert_rejected("not an x86 ELF image");
    put16(18, cls == 64 ? 3 : 62);     /* the other x86 */
    assert_rejected("class does not match");
    put16(18, cls == 64 ? 62 : 3);
    put16(16, 3);                      /* ET_DYN */
    assert_rejected("ET_EXEC");
    put16(16, 2);
    assert_int_equal(parse(), 0);
}

static void bad_program_header_table(void **state)
{
    size_t phentsize = cls == 64 ? 54 : 42, phnum = cls == 64 ? 56 : 44;
    size_t phoff = cls == 64 ? 32 : 28;

    put16(phentsize, (uint16_t)phdr_size() + 8);
    assert_rejected("program header entry size");
    put16(phentsize, (uint16_t)phdr_size());
    put16(phnum, 0);
    assert_rejected("no program headers");
    put16(phnum, 0xffff);
    assert_rejected("too many program headers");
    put16(phnum, 2);
    if (cls == 64) {
        put64(phoff, 0xffffffffffffffc0ull);   /* phoff + size wraps */
        assert_rejected("program headers lie past the end");
        put64(phoff, 1ull << 63);
    } else {
        put32(phoff, 0xfffffff0u);
    }
    assert_rejected("program headers lie past the end");
    put32(phoff, (uint32_t)img_len - 10);
    if (cls == 64)
        put32(phoff + 4, 0);
    assert_rejected("program headers lie past the end");
}

/* ---- hostile segments -------------------------------------------------------------- */

static void reparse_load(void) { put_phdr(0, &load_ph); }

static void segment_bounds(void **state)
{
    struct ph good = load_ph;

    load_ph.filesz = load_ph.memsz + 1;
    reparse_load();
    assert_rejected("p_filesz > p_memsz");

    load_ph = good;
    load_ph.offset = img_len - 0x10;   /* runs 0x3f0 bytes past the end */
    reparse_load();
    assert_rejected("past the end of the image");

    load_ph = good;
    load_ph.memsz = ELF_MAX_SEGMENT + 0x1000;
    reparse_load();
    assert_rejected("absurdly large");

    if (cls == 64) {
        load_ph = good;
        load_ph.memsz = 1ull << 63;
        reparse_load();
        assert_rejected("absurdly large");

        load_ph = good;
        load_ph.offset = 0xfffffffffffffff0ull;   /* offset + filesz wraps */
        reparse_load();
        assert_rejected("past the end of the image");

        load_ph = good;
        load_ph.paddr = 0xfffffffffffff000ull;    /* paddr + memsz wraps */
        reparse_load();
        assert_rejected("guest-physical address space");

        load_ph = good;
        load_ph.paddr = ELF_MAX_PADDR - 0x1000;   /* ends past 2^52 */
        reparse_load();
        assert_rejected("guest-physical address space");

        load_ph = good;
        load_ph.vaddr = 0xfffffffffffff000ull;    /* vaddr + memsz wraps */
        reparse_load();
        assert_rejected("wrap");
    } else {
        load_ph = good;
        load_ph.offset = 0xfffffff0u;
        reparse_load();
        assert_rejected("past the end of the image");
    }
}

static void no_loadable_segment(void **state)
{
    load_ph.type = 0x6474e551;         /* PT_GNU_STACK */
    reparse_load();
    assert_rejected("no loadable");
}

static void too_many_segments(void **state)
{
    unsigned int n = ELF_MAX_SEGMENTS + 1;

    /* n headers run over the notes at NOTE_OFF: loads only, no notes. */
    put16(cls == 64 ? 56 : 44, (uint16_t)(n - 1));
    for (unsigned int i = 0; i < n; i++) {
        struct ph p = load_ph;
        p.paddr += (uint64_t)i * 0x10000;
        put_phdr(i, &p);
    }
    assert_int_equal(parse(), 0);      /* 16 are fine */
    assert_int_equal(e.nr_segs, ELF_MAX_SEGMENTS);
    put16(cls == 64 ? 56 : 44, (uint16_t)n);
    assert_rejected("too many PT_LOAD");
}

/* ---- entry points ---------------------------------------------------------------------- */

static void entry_points(void **state)
{
    uint64_t bad[] = { PADDR - 1, PADDR + CODE_SIZE, PADDR + CODE_SIZE + 0x10 /* bss */, 0 };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (cls == 64) put64(24, bad[i]); else put32(24, (uint32_t)bad[i]);
        assert_rejected("e_entry");
    }
    if (cls == 64) put64(24, VBASE + PADDR + 8); else put32(24, (uint32_t)(VBASE + PADDR + 8));
    assert_int_equal(parse(), 0);      /* the virtual view is fine too */

    load_ph.flags = 6;                 /* RW, not executable */
    reparse_load();
    assert_rejected("e_entry");
}

static void phys32_entry_outside(void **state)
{
    size_t off = NOTE_OFF;

    memset(img + NOTE_OFF, 0, 0x400);
    put_note(&off, "Xen", XEN_ELFNOTE_PHYS32_ENTRY, &(uint32_t){ PADDR + CODE_SIZE + 4 }, 4);
    note_ph.filesz = note_ph.memsz = off - NOTE_OFF;
    put_phdr(1, &note_ph);
    assert_rejected("PHYS32_ENTRY is not inside");

    off = NOTE_OFF;
    put_note(&off, "Xen", XEN_ELFNOTE_PHYS32_ENTRY, &(uint64_t){ (1ull << 32) + ENTRY }, 8);
    note_ph.filesz = note_ph.memsz = off - NOTE_OFF;
    put_phdr(1, &note_ph);
    assert_rejected("above 4 GiB");

    off = NOTE_OFF;
    put_note(&off, "Xen", XEN_ELFNOTE_ENTRY, &(uint64_t){ 0x1234 }, 8);   /* PV entry */
    note_ph.filesz = note_ph.memsz = off - NOTE_OFF;
    put_phdr(1, &note_ph);
    assert_rejected("XEN_ELFNOTE_ENTRY");
}

/* ---- hostile notes ------------------------------------------------------------------------ */

static void notes_with_bad_sizes(void **state)
{
    struct ph good = note_ph;

    put32(NOTE_OFF, 0xffffffffu);      /* namesz */
    assert_rejected("runs past the end of its PT_NOTE");
    put32(NOTE_OFF, 4);
    put32(NOTE_OFF + 4, 0xfffffff0u);  /* descsz */
    assert_rejected("runs past the end of its PT_NOTE");
    put32(NOTE_OFF + 4, (uint32_t)(good.filesz - 12 - 4 + 1));
    assert_rejected("runs past the end of its PT_NOTE");
    put32(NOTE_OFF + 4, 6);
    assert_int_equal(parse(), 0);

    note_ph.offset = img_len - 8;
    put_phdr(1, &note_ph);
    assert_rejected("PT_NOTE segment lies past the end");
    note_ph = good;
    note_ph.filesz = 0;                /* an empty note segment is fine */
    put_phdr(1, &note_ph);
    assert_int_equal(parse(), 0);
    note_ph.filesz = 11;               /* a trailing fragment is ignored */
    put_phdr(1, &note_ph);
    assert_int_equal(parse(), 0);
}

static void numeric_notes_with_bad_sizes(void **state)
{
    size_t off = NOTE_OFF;

    memset(img + NOTE_OFF, 0, 0x400);
    put_note(&off, "Xen", XEN_ELFNOTE_PHYS32_ENTRY, "\x10\x00\x10", 3);
    note_ph.filesz = note_ph.memsz = off - NOTE_OFF;
    put_phdr(1, &note_ph);
    assert_rejected("1, 2, 4 or 8 bytes");

    off = NOTE_OFF;
    put_note(&off, "Xen", XEN_ELFNOTE_VIRT_BASE, "0123456789abcdef", 16);
    note_ph.filesz = note_ph.memsz = off - NOTE_OFF;
    put_phdr(1, &note_ph);
    assert_rejected("1, 2, 4 or 8 bytes");

    off = NOTE_OFF;
    put_note(&off, "Xen", XEN_ELFNOTE_SUPPORTED_FEATURES, "abcdef", 6);
    note_ph.filesz = note_ph.memsz = off - NOTE_OFF;
    put_phdr(1, &note_ph);
    assert_rejected("SUPPORTED_FEATURES");
}

static void missing_phys32_entry(void **state)
{
    size_t off = NOTE_OFF;

    memset(img + NOTE_OFF, 0, 0x400);
    put_note(&off, "Xen", XEN_ELFNOTE_GUEST_OS, "linux", 6);
    /* The right type under another name is not a Xen note. */
    put_note(&off, "Xenx", XEN_ELFNOTE_PHYS32_ENTRY, &(uint32_t){ ENTRY }, 4);
    note_ph.filesz = note_ph.memsz = off - NOTE_OFF;
    put_phdr(1, &note_ph);
    assert_int_equal(parse(), 0);
    assert_false(e.xen.has_phys32_entry);
    assert_int_equal(e.kind, ELF_BOOT_PV);
}

/* Every prefix and many single-byte corruptions of a valid image: parse
 * either rejects with a reason or accepts something self-consistent. */
static void mutations_stay_consistent(void **state)
{
    uint8_t orig[IMG_SIZE];
    size_t len = img_len;

    memcpy(orig, img, sizeof(img));
    for (size_t i = 0; i < 0x300; i++) {
        for (unsigned int bit = 0; bit < 8; bit++) {
            memcpy(img, orig, sizeof(img));
            img[i] ^= (uint8_t)(1u << bit);
            img_len = len;
            if (parse()) {
                assert_non_null(why);
                continue;
            }
            for (unsigned int s = 0; s < e.nr_segs; s++) {
                assert_true(e.seg[s].filesz <= e.seg[s].memsz);
                assert_true(e.seg[s].offset + e.seg[s].filesz <= img_len);
            }
        }
    }
}

#define BOTH(t) cmocka_unit_test_setup(t, setup64), cmocka_unit_test_setup(t, setup32)

int main(void)
{
    const struct CMUnitTest tests[] = {
        BOTH(valid_pvh),
        BOTH(pv_and_plain_kinds),
        BOTH(load_copies_and_zeroes),
        BOTH(two_segments_adjacent_ok),
        BOTH(zero_size_segments_ignored),
        BOTH(eight_byte_aligned_notes),
        BOTH(note_strings_sanitized_and_bounded),
        BOTH(numeric_note_widths),
        BOTH(truncated_headers),
        BOTH(bad_identification),
        BOTH(class_machine_type_mismatches),
        BOTH(bad_program_header_table),
        BOTH(segment_bounds),
        BOTH(no_loadable_segment),
        BOTH(too_many_segments),
        BOTH(entry_points),
        BOTH(phys32_entry_outside),
        BOTH(notes_with_bad_sizes),
        BOTH(numeric_notes_with_bad_sizes),
        BOTH(missing_phys32_entry),
        BOTH(mutations_stay_consistent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
