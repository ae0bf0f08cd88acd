/*
 * extract-vmlinux: turns a Linux x86 bzImage into the ELF vmlinux inside it,
 * which Proxenos boots as a PVH kernel (the hypervisor does not decompress:
 * host-side extraction is the chosen design, see docs/linux-boot-notes.md).
 *
 *     extract-vmlinux [--require-pvh] [--quiet] BZIMAGE OUT
 *
 * The compressed payload is found through the boot protocol header, not by
 * scanning for magic numbers (Documentation/x86/boot.rst, protocol 2.08+):
 *   0x1f1 setup_sects     real-mode setup size in 512-byte sectors (0 means 4);
 *                         the protected-mode code starts at (setup_sects+1)*512
 *   0x202 header          "HdrS"
 *   0x206 version         >= 0x0208 for the two fields below
 *   0x248 payload_offset  payload start, from the protected-mode code
 *   0x24c payload_length  payload bytes
 * The payload is the compressed vmlinux (for relocatable kernels followed by
 * its relocation table) with the uncompressed size appended as a
 * little-endian 32-bit word. Its format is told by its first bytes: xz and
 * legacy lzma go through liblzma, gzip through zlib; bzip2, lzo, lz4 and
 * zstd are named in a clear error. An input that already is an ELF image is
 * checked and copied.
 *
 * The output is the ELF image only: the relocation table after it is cut
 * off (boot loaders and QEMU read program headers, never what follows).
 * With --require-pvh the tool fails unless the image carries
 * XEN_ELFNOTE_PHYS32_ENTRY, the note a PVH boot needs (Xen's
 * public/elfnote.h). Exit status 0 on success, 1 on any error.
 */
#include <elf.h>
#include <errno.h>
#include <lzma.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define XEN_ELFNOTE_PHYS32_ENTRY 18     /* public/elfnote.h */
#define MAX_VMLINUX (1ull << 30)       /* refuse to grow past 1 GiB */

struct buf {
    uint8_t *p;
    size_t len;
};

static const char *prog = "extract-vmlinux";
static bool quiet;

static void __attribute__((format(printf, 1, 2))) die(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s: ", prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

static void __attribute__((format(printf, 1, 2))) info(const char *fmt, ...)
{
    va_list ap;

    if (quiet)
        return;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
}

static uint16_t le16(const uint8_t *p) { return p[0] | p[1] << 8; }
static uint32_t le32(const uint8_t *p) { return le16(p) | (uint32_t)le16(p + 2) << 16; }

static struct buf read_file(const char *path)
{
    struct buf b = { 0 };
    FILE *f = fopen(path, "rb");
    long n;

    if (!f)
        die("%s: %s", path, strerror(errno));
    if (fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET))
        die("%s: cannot size the file: %s", path, strerror(errno));
    b.len = (size_t)n;
    b.p = malloc(b.len ? b.len : 1);
    if (!b.p)
        die("%s: out of memory", path);
    if (fread(b.p, 1, b.len, f) != b.len)
        die("%s: short read", path);
    fclose(f);
    return b;
}

/* Writes OUT.tmp and renames it, so an interrupted run never leaves a
 * half-written vmlinux that make would take as up to date. */
static void write_file(const char *path, const uint8_t *p, size_t len)
{
    size_t n = strlen(path) + 5;
    char *tmp = malloc(n);
    FILE *f;

    if (!tmp)
        die("out of memory");
    snprintf(tmp, n, "%s.tmp", path);
    f = fopen(tmp, "wb");
    if (!f)
        die("%s: %s", tmp, strerror(errno));
    if (fwrite(p, 1, len, f) != len || fclose(f))
        die("%s: write failed: %s", tmp, strerror(errno));
    if (rename(tmp, path))
        die("%s: %s", path, strerror(errno));
    free(tmp);
}

/* ---- the bzImage header ------------------------------------------------------ */

static bool is_bzimage(const struct buf *k)
{
    return k->len >= 0x250 && !memcmp(k->p + 0x202, "HdrS", 4);
}

/* The compressed payload, located from the header fields alone. */
static struct buf bzimage_payload(const struct buf *k)
{
    unsigned int sects = k->p[0x1f1] ? k->p[0x1f1] : 4;
    uint16_t version = le16(k->p + 0x206);
    uint64_t pm_start = (uint64_t)(sects + 1) * 512;
    uint64_t off = le32(k->p + 0x248), len = le32(k->p + 0x24c);
    struct buf pl;

    if (version < 0x208)
        die("boot protocol %u.%02u is older than 2.08: the header has no payload fields",
            version >> 8, version & 0xff);
    if (!len)
        die("the header gives an empty payload");
    if (pm_start + off > k->len || len > k->len - pm_start - off)
        die("the payload (%#llx bytes at %#llx + %#llx) lies past the end of the %zu-byte "
            "file: truncated image?", (unsigned long long)len,
            (unsigned long long)pm_start, (unsigned long long)off, k->len);
    pl.p = k->p + pm_start + off;
    pl.len = len;
    info("bzImage: boot protocol %u.%02u, %u setup sectors, payload %zu bytes at %#llx\n",
         version >> 8, version & 0xff, sects, pl.len, (unsigned long long)(pm_start + off));
    return pl;
}

/* ---- decompression ---------------------------------------------------------- */

enum fmt { FMT_XZ, FMT_LZMA, FMT_GZIP, FMT_OTHER };

static enum fmt payload_format(const struct buf *pl, const char **name)
{
    static const struct { const char *magic; size_t n; const char *name; enum fmt f; } m[] = {
        { "\xfd" "7zXZ\0", 6, "xz", FMT_XZ },
        { "\x1f\x8b", 2, "gzip", FMT_GZIP },
        { "\x5d\0\0", 3, "lzma", FMT_LZMA },
        { "BZh", 3, "bzip2", FMT_OTHER },
        { "\x89LZO", 4, "lzo", FMT_OTHER },
        { "\x02\x21\x4c\x18", 4, "lz4", FMT_OTHER },
        { "\x28\xb5\x2f\xfd", 4, "zstd", FMT_OTHER },
    };

    for (size_t i = 0; i < sizeof(m) / sizeof(m[0]); i++)
        if (pl->len >= m[i].n && !memcmp(pl->p, m[i].magic, m[i].n)) {
            *name = m[i].name;
            return m[i].f;
        }
    *name = "unknown";
    return FMT_OTHER;
}

/* The output buffer starts at the size Linux appends to the payload
 * (bounded) and doubles when a decoder wants more. */
static void out_grow(struct buf *out, size_t *cap)
{
    size_t n = *cap ? *cap * 2 : 64u << 20;

    if (n > MAX_VMLINUX)
        die("the decompressed kernel exceeds %llu MiB: not a kernel?", MAX_VMLINUX >> 20);
    out->p = realloc(out->p, n);
    if (!out->p)
        die("out of memory");
    *cap = n;
}

static struct buf out_init(const struct buf *pl, size_t *cap)
{
    struct buf out = { 0 };
    uint32_t hint = pl->len >= 4 ? le32(pl->p + pl->len - 4) : 0;

    *cap = hint && hint <= MAX_VMLINUX ? hint : 0;
    if (*cap) {
        out.p = malloc(*cap);
        if (!out.p)
            die("out of memory");
    } else {
        out_grow(&out, cap);
    }
    return out;
}

static const char *lzma_error(lzma_ret r)
{
    switch (r) {
    case LZMA_MEM_ERROR: return "out of memory";
    case LZMA_FORMAT_ERROR: return "not in the expected format";
    case LZMA_OPTIONS_ERROR: return "unsupported compression options";
    case LZMA_DATA_ERROR: return "corrupt data";
    case LZMA_BUF_ERROR: return "truncated data";
    case LZMA_UNSUPPORTED_CHECK: return "unsupported integrity check";
    default: return "decoder error";
    }
}

/* xz (Linux's default on Debian) and legacy .lzma: liblzma's decoders. The
 * stream decoder stops at the end of the first stream, so the size word
 * appended after it is never read as data. */
static struct buf unxz(const struct buf *pl, enum fmt f)
{
    lzma_stream s = LZMA_STREAM_INIT;
    size_t cap;
    struct buf out = out_init(pl, &cap);
    lzma_ret r = f == FMT_XZ ? lzma_stream_decoder(&s, UINT64_MAX, 0)
                             : lzma_alone_decoder(&s, UINT64_MAX);

    if (r != LZMA_OK)
        die("liblzma: cannot start the decoder: %s", lzma_error(r));
    s.next_in = pl->p;
    s.avail_in = pl->len;
    do {
        if (s.total_out == cap)
            out_grow(&out, &cap);
        s.next_out = out.p + s.total_out;
        s.avail_out = cap - s.total_out;
        r = lzma_code(&s, LZMA_FINISH);
    } while (r == LZMA_OK || (r == LZMA_BUF_ERROR && !s.avail_out));
    if (r != LZMA_STREAM_END)
        die("%s payload: %s after %llu bytes of output", f == FMT_XZ ? "xz" : "lzma",
            lzma_error(r), (unsigned long long)s.total_out);
    out.len = s.total_out;
    lzma_end(&s);
    return out;
}

static struct buf gunzip(const struct buf *pl)
{
    z_stream z;
    size_t cap;
    struct buf out = out_init(pl, &cap);
    int r;

    memset(&z, 0, sizeof(z));
    if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)     /* 16+: gzip wrapper */
        die("zlib: cannot start the decoder");
    z.next_in = (Bytef *)pl->p;
    z.avail_in = (uInt)pl->len;
    do {
        if (z.total_out == cap)
            out_grow(&out, &cap);
        z.next_out = out.p + z.total_out;
        z.avail_out = (uInt)(cap - z.total_out);
        r = inflate(&z, Z_FINISH);
    } while (r == Z_OK || (r == Z_BUF_ERROR && !z.avail_out));
    if (r != Z_STREAM_END)
        die("gzip payload: %s after %lu bytes of output", z.msg ? z.msg : "truncated data",
            z.total_out);
    out.len = z.total_out;
    inflateEnd(&z);
    return out;
}

static struct buf decompress(const struct buf *pl)
{
    const char *name;
    enum fmt f = payload_format(pl, &name);
    struct buf out;
    uint32_t hint = pl->len >= 4 ? le32(pl->p + pl->len - 4) : 0;

    switch (f) {
    case FMT_XZ:
    case FMT_LZMA:
        out = unxz(pl, f);
        break;
    case FMT_GZIP:
        out = gunzip(pl);
        break;
    default:
        die("the payload is %s-compressed: only xz, lzma and gzip are supported "
            "(Debian's kernels use xz)", name);
    }
    info("payload: %s, %zu bytes decompressed", name, out.len);
    if (hint && hint != out.len)
        info(" (the size recorded after the payload says %u)", hint);
    info("\n");
    return out;
}

/* ---- the ELF image ------------------------------------------------------------- */

static bool in_file(const struct buf *b, uint64_t off, uint64_t len)
{
    return off <= b->len && len <= b->len - off;
}

/* Finds XEN_ELFNOTE_PHYS32_ENTRY in one PT_NOTE segment (Elf64_Nhdr
 * entries, name and descriptor each padded to 4 bytes). */
static bool find_pvh_note(const struct buf *b, const Elf64_Phdr *ph, uint32_t *entry)
{
    uint64_t off = ph->p_offset, end = ph->p_offset + ph->p_filesz;

    while (off + sizeof(Elf64_Nhdr) <= end) {
        const Elf64_Nhdr *n = (const void *)(b->p + off);
        uint64_t name = off + sizeof(*n);
        uint64_t desc = name + ((n->n_namesz + 3ull) & ~3ull);

        off = desc + ((n->n_descsz + 3ull) & ~3ull);
        if (off > end)
            break;
        if (n->n_namesz == 4 && !memcmp(b->p + name, "Xen", 4) &&
            n->n_type == XEN_ELFNOTE_PHYS32_ENTRY && n->n_descsz >= 4) {
            *entry = le32(b->p + desc);
            return true;
        }
    }
    return false;
}

struct elf_summary {
    uint64_t file_end;        /* last byte the headers, segments and sections name */
    unsigned int nr_load;
    uint64_t paddr_lo, paddr_hi;
    bool pvh;
    uint32_t pvh_entry;
};

static void check_ehdr(const struct buf *b, const Elf64_Ehdr *eh)
{
    if (b->len < sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG))
        die("the decompressed payload is not an ELF image");
    if (eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_ident[EI_DATA] != ELFDATA2LSB ||
        eh->e_machine != EM_X86_64)
        die("the ELF image is not a 64-bit little-endian x86-64 one");
    if (eh->e_type != ET_EXEC)
        die("the ELF image is not an executable (e_type %u)", eh->e_type);
    if (eh->e_phentsize != sizeof(Elf64_Phdr) || !eh->e_phnum ||
        !in_file(b, eh->e_phoff, (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr)))
        die("the ELF program headers are missing or lie outside the image");
}

static void scan_phdrs(const struct buf *b, const Elf64_Ehdr *eh, struct elf_summary *s)
{
    const Elf64_Phdr *ph = (const void *)(b->p + eh->e_phoff);

    s->paddr_lo = UINT64_MAX;
    for (unsigned int i = 0; i < eh->e_phnum; i++) {
        if (!in_file(b, ph[i].p_offset, ph[i].p_filesz))
            die("ELF segment %u lies outside the image", i);
        if (ph[i].p_offset + ph[i].p_filesz > s->file_end)
            s->file_end = ph[i].p_offset + ph[i].p_filesz;
        if (ph[i].p_type == PT_LOAD) {
            s->nr_load++;
            if (ph[i].p_paddr < s->paddr_lo)
                s->paddr_lo = ph[i].p_paddr;
            if (ph[i].p_paddr + ph[i].p_memsz > s->paddr_hi)
                s->paddr_hi = ph[i].p_paddr + ph[i].p_memsz;
        } else if (ph[i].p_type == PT_NOTE && !s->pvh) {
            s->pvh = find_pvh_note(b, &ph[i], &s->pvh_entry);
        }
    }
    if (!s->nr_load)
        die("the ELF image has no loadable segment");
}

/* Sections count toward the image's end too (a stripped vmlinux keeps its
 * section table after the last section). */
static void scan_shdrs(const struct buf *b, const Elf64_Ehdr *eh, struct elf_summary *s)
{
    const Elf64_Shdr *sh;
    uint64_t tab = (uint64_t)eh->e_shnum * eh->e_shentsize;

    if (!eh->e_shoff || !eh->e_shnum)
        return;
    if (eh->e_shentsize != sizeof(Elf64_Shdr) || !in_file(b, eh->e_shoff, tab))
        die("the ELF section headers lie outside the image");
    if (eh->e_shoff + tab > s->file_end)
        s->file_end = eh->e_shoff + tab;
    sh = (const void *)(b->p + eh->e_shoff);
    for (unsigned int i = 0; i < eh->e_shnum; i++) {
        if (sh[i].sh_type == SHT_NOBITS)
            continue;
        if (!in_file(b, sh[i].sh_offset, sh[i].sh_size))
            die("ELF section %u lies outside the image", i);
        if (sh[i].sh_offset + sh[i].sh_size > s->file_end)
            s->file_end = sh[i].sh_offset + sh[i].sh_size;
    }
}

static struct elf_summary check_elf(const struct buf *b)
{
    const Elf64_Ehdr *eh = (const void *)b->p;
    struct elf_summary s = { .file_end = sizeof(*eh) };

    check_ehdr(b, eh);
    if (eh->e_phoff + (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr) > s.file_end)
        s.file_end = eh->e_phoff + (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr);
    scan_phdrs(b, eh, &s);
    scan_shdrs(b, eh, &s);
    return s;
}

int main(int argc, char **argv)
{
    bool require_pvh = false;
    struct buf in, elf;
    struct elf_summary s;
    int i = 1;

    for (; i < argc && argv[i][0] == '-' && argv[i][1] == '-'; i++) {
        if (!strcmp(argv[i], "--require-pvh"))
            require_pvh = true;
        else if (!strcmp(argv[i], "--quiet"))
            quiet = true;
        else
            die("unknown option %s", argv[i]);
    }
    if (argc - i != 2) {
        fprintf(stderr, "usage: %s [--require-pvh] [--quiet] BZIMAGE OUT\n", prog);
        return 1;
    }
    in = read_file(argv[i]);
    if (is_bzimage(&in)) {
        struct buf pl = bzimage_payload(&in);

        elf = decompress(&pl);
    } else if (in.len >= SELFMAG && !memcmp(in.p, ELFMAG, SELFMAG)) {
        info("%s is already an ELF image: checked and copied\n", argv[i]);
        elf = in;
    } else {
        die("%s is neither a bzImage (no \"HdrS\" at 0x202) nor an ELF image", argv[i]);
    }
    s = check_elf(&elf);
    info("vmlinux: ELF64 x86-64, %u PT_LOAD, physical %#llx-%#llx, ", s.nr_load,
         (unsigned long long)s.paddr_lo, (unsigned long long)s.paddr_hi);
    if (s.pvh)
        info("PVH entry %#x", s.pvh_entry);
    else
        info("no PVH entry note");
    info(", %llu bytes (%zu bytes after the image dropped)\n",
         (unsigned long long)s.file_end, elf.len - (size_t)s.file_end);
    if (require_pvh && !s.pvh)
        die("the kernel has no XEN_ELFNOTE_PHYS32_ENTRY note: it cannot boot as PVH "
            "(built without CONFIG_PVH?)");
    write_file(argv[i + 1], elf.p, (size_t)s.file_end);
    return 0;
}
