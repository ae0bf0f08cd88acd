/*
 * ELF kernel images: header and program header checks, the Xen ELF notes,
 * and loading through a copy callback. See elf.h for the contract.
 *
 * Every value comes from the image and is treated as hostile. Offsets and
 * sizes are compared against what remains (`len - off >= size`) rather than
 * added (`off + size <= len`), so no check can be defeated by wrapping.
 * Fields are read byte-wise through rd16/rd32/rd64, which cannot fault on
 * misaligned headers and only ever read inside checked bounds.
 */
#include <proxenos/elf.h>
#include <proxenos/lib.h>
#include <xen/elfnote.h>

/* gABI constants (System V ABI, ch. 4 "ELF Header", "Program Header"). */
#define EI_NIDENT   16
#define EI_CLASS    4
#define EI_DATA     5
#define EI_VERSION  6
#define ELFDATA2LSB 1
#define EV_CURRENT  1
#define ET_EXEC     2
#define EM_386      3
#define EM_X86_64   62
#define PT_LOAD     1
#define PT_NOTE     4
#define PN_XNUM     0xffff

#define EHDR32_SIZE 52
#define EHDR64_SIZE 64
#define PHDR32_SIZE 32
#define PHDR64_SIZE 56
#define NOTE_HDR_SIZE 12    /* namesz, descsz, type */

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t rd32(const uint8_t *p) { return rd16(p) | (uint32_t)rd16(p + 2) << 16; }
static uint64_t rd64(const uint8_t *p) { return rd32(p) | (uint64_t)rd32(p + 4) << 32; }

/* The class-independent fields of the ELF header. */
struct ehdr {
    uint16_t type, machine;
    uint32_t version;
    uint64_t entry, phoff;
    uint16_t phentsize, phnum;
};

/* The class-independent fields of one program header. */
struct phdr {
    uint32_t type, flags;
    uint64_t offset, vaddr, paddr, filesz, memsz, align;
};

static bool fits(size_t len, uint64_t off, uint64_t size)
{
    return off <= len && size <= len - off;
}

static int reject(const char **why, const char *reason)
{
    *why = reason;
    return -EINVAL;
}

/* e_ident and the ELF header: checks what does not depend on the class. */
static int read_ehdr(const uint8_t *p, size_t len, unsigned int *cls, struct ehdr *h,
                     const char **why)
{
    if (len < EI_NIDENT || memcmp(p, "\177ELF", 4))
        return reject(why, "not an ELF image (no \\177ELF magic)");
    *cls = p[EI_CLASS];
    if (*cls != ELF_CLASS32 && *cls != ELF_CLASS64)
        return reject(why, "bad ELF class (neither ELF32 nor ELF64)");
    if (p[EI_DATA] != ELFDATA2LSB)
        return reject(why, "not a little-endian ELF image");
    if (p[EI_VERSION] != EV_CURRENT)
        return reject(why, "bad ELF identification version");
    if (len < (*cls == ELF_CLASS64 ? EHDR64_SIZE : EHDR32_SIZE))
        return reject(why, "truncated ELF header");

    h->type = rd16(p + 16);
    h->machine = rd16(p + 18);
    h->version = rd32(p + 20);
    if (*cls == ELF_CLASS64) {
        h->entry = rd64(p + 24);
        h->phoff = rd64(p + 32);
        h->phentsize = rd16(p + 54);
        h->phnum = rd16(p + 56);
    } else {
        h->entry = rd32(p + 24);
        h->phoff = rd32(p + 28);
        h->phentsize = rd16(p + 42);
        h->phnum = rd16(p + 44);
    }
    return 0;
}

static int check_ehdr(unsigned int cls, const struct ehdr *h, size_t len, const char **why)
{
    if (h->version != EV_CURRENT)
        return reject(why, "bad ELF version");
    if (h->machine != EM_386 && h->machine != EM_X86_64)
        return reject(why, "not an x86 ELF image (machine is neither EM_386 nor EM_X86_64)");
    if ((cls == ELF_CLASS64) != (h->machine == EM_X86_64))
        return reject(why, "ELF class does not match the machine (ELF32 must be EM_386, "
                           "ELF64 must be EM_X86_64)");
    if (h->type != ET_EXEC)
        return reject(why, "not an executable (ELF type is not ET_EXEC)");
    if (h->phentsize != (cls == ELF_CLASS64 ? PHDR64_SIZE : PHDR32_SIZE))
        return reject(why, "bad program header entry size");
    if (h->phnum == 0)
        return reject(why, "no program headers");
    if (h->phnum == PN_XNUM || h->phnum > ELF_MAX_PHNUM)
        return reject(why, "too many program headers");
    if (!fits(len, h->phoff, (uint64_t)h->phnum * h->phentsize))
        return reject(why, "program headers lie past the end of the image");
    return 0;
}

static void read_phdr(const uint8_t *p, unsigned int cls, struct phdr *ph)
{
    ph->type = rd32(p);
    if (cls == ELF_CLASS64) {
        ph->flags = rd32(p + 4);
        ph->offset = rd64(p + 8);
        ph->vaddr = rd64(p + 16);
        ph->paddr = rd64(p + 24);
        ph->filesz = rd64(p + 32);
        ph->memsz = rd64(p + 40);
        ph->align = rd64(p + 48);
    } else {
        ph->offset = rd32(p + 4);
        ph->vaddr = rd32(p + 8);
        ph->paddr = rd32(p + 12);
        ph->filesz = rd32(p + 16);
        ph->memsz = rd32(p + 20);
        ph->flags = rd32(p + 24);
        ph->align = rd32(p + 28);
    }
}

/* ---- PT_LOAD ------------------------------------------------------------- */

static int check_load(const struct phdr *ph, size_t len, const char **why)
{
    if (ph->filesz > ph->memsz)
        return reject(why, "a PT_LOAD segment has p_filesz > p_memsz");
    if (ph->memsz > ELF_MAX_SEGMENT)
        return reject(why, "a PT_LOAD segment is absurdly large (over 1 GiB)");
    if (!fits(len, ph->offset, ph->filesz))
        return reject(why, "a PT_LOAD segment lies past the end of the image");
    if (ph->paddr > ELF_MAX_PADDR - ph->memsz)
        return reject(why, "a PT_LOAD segment lies beyond the guest-physical address space");
    if (ph->vaddr > UINT64_MAX - ph->memsz)
        return reject(why, "a PT_LOAD segment's virtual addresses wrap around");
    return 0;
}

static bool ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    /* Both ends are known not to wrap (check_load). */
    return a < b + blen && b < a + alen;
}

static int add_load(struct elf_image *e, const struct phdr *ph, const char **why)
{
    struct elf_segment *s;

    if (ph->memsz == 0)
        return 0;                        /* nothing to load */
    if (e->nr_segs == ELF_MAX_SEGMENTS)
        return reject(why, "too many PT_LOAD segments (more than 16)");
    for (unsigned int i = 0; i < e->nr_segs; i++)
        if (ranges_overlap(e->seg[i].paddr, e->seg[i].memsz, ph->paddr, ph->memsz))
            return reject(why, "two PT_LOAD segments overlap in physical memory");

    s = &e->seg[e->nr_segs++];
    s->paddr = ph->paddr;
    s->vaddr = ph->vaddr;
    s->offset = ph->offset;
    s->filesz = ph->filesz;
    s->memsz = ph->memsz;
    s->flags = ph->flags;
    if (e->nr_segs == 1) {
        e->paddr_start = s->paddr;
        e->paddr_end = s->paddr + s->memsz;
        e->vaddr_start = s->vaddr;
        e->vaddr_end = s->vaddr + s->memsz;
    } else {
        e->paddr_start = MIN(e->paddr_start, s->paddr);
        e->paddr_end = MAX(e->paddr_end, s->paddr + s->memsz);
        e->vaddr_start = MIN(e->vaddr_start, s->vaddr);
        e->vaddr_end = MAX(e->vaddr_end, s->vaddr + s->memsz);
    }
    return 0;
}

/* ---- Xen notes (xen/include/public/elfnote.h) ------------------------------- */

/* Copies a note string, stopping at its NUL, keeping it printable. */
static void note_string(char *dst, size_t size, const uint8_t *src, uint64_t len)
{
    size_t i;

    for (i = 0; i + 1 < size && i < len && src[i]; i++)
        dst[i] = (src[i] >= 0x20 && src[i] < 0x7f) ? (char)src[i] : '?';
    dst[i] = '\0';
}

static int note_number(const uint8_t *desc, uint32_t descsz, uint64_t *val, const char **why)
{
    switch (descsz) {
    case 1: *val = desc[0]; return 0;
    case 2: *val = rd16(desc); return 0;
    case 4: *val = rd32(desc); return 0;
    case 8: *val = rd64(desc); return 0;
    }
    return reject(why, "a numeric Xen ELF note is not 1, 2, 4 or 8 bytes long");
}

static bool is_numeric_note(uint32_t type)
{
    return type == XEN_ELFNOTE_ENTRY || type == XEN_ELFNOTE_HYPERCALL_PAGE ||
           type == XEN_ELFNOTE_VIRT_BASE || type == XEN_ELFNOTE_PADDR_OFFSET ||
           type == XEN_ELFNOTE_PHYS32_ENTRY;
}

static int xen_numeric_note(struct elf_xen_notes *x, uint32_t type, const uint8_t *desc,
                            uint32_t descsz, const char **why)
{
    uint64_t v;

    if (note_number(desc, descsz, &v, why))
        return -EINVAL;
    switch (type) {
    case XEN_ELFNOTE_PHYS32_ENTRY:
        if (v > UINT32_MAX)
            return reject(why, "XEN_ELFNOTE_PHYS32_ENTRY lies above 4 GiB");
        x->phys32_entry = (uint32_t)v;
        x->has_phys32_entry = true;
        break;
    case XEN_ELFNOTE_ENTRY:          x->entry = v;          x->has_entry = true;          break;
    case XEN_ELFNOTE_HYPERCALL_PAGE: x->hypercall_page = v; x->has_hypercall_page = true; break;
    case XEN_ELFNOTE_VIRT_BASE:      x->virt_base = v;      x->has_virt_base = true;      break;
    case XEN_ELFNOTE_PADDR_OFFSET:   x->paddr_offset = v;   x->has_paddr_offset = true;   break;
    }
    return 0;
}

/* One note named "Xen". Unknown types are counted and otherwise ignored, as
 * Xen's libelf does. */
static int xen_note(struct elf_xen_notes *x, uint32_t type, const uint8_t *desc,
                    uint32_t descsz, const char **why)
{
    x->nr_notes++;
    if (is_numeric_note(type))
        return xen_numeric_note(x, type, desc, descsz, why);

    switch (type) {
    case XEN_ELFNOTE_GUEST_OS:
        note_string(x->guest_os, sizeof(x->guest_os), desc, descsz);
        break;
    case XEN_ELFNOTE_GUEST_VERSION:
        note_string(x->guest_version, sizeof(x->guest_version), desc, descsz);
        break;
    case XEN_ELFNOTE_XEN_VERSION:
        note_string(x->xen_version, sizeof(x->xen_version), desc, descsz);
        break;
    case XEN_ELFNOTE_LOADER:
        note_string(x->loader, sizeof(x->loader), desc, descsz);
        break;
    case XEN_ELFNOTE_PAE_MODE:
        note_string(x->pae_mode, sizeof(x->pae_mode), desc, descsz);
        break;
    case XEN_ELFNOTE_FEATURES:
        note_string(x->features, sizeof(x->features), desc, descsz);
        break;
    case XEN_ELFNOTE_BSD_SYMTAB: {
        char v[8];
        note_string(v, sizeof(v), desc, descsz);
        x->bsd_symtab = !strcmp(v, "yes");
        break;
    }
    case XEN_ELFNOTE_SUPPORTED_FEATURES:
        if (descsz < 4 || descsz % 4)
            return reject(why, "XEN_ELFNOTE_SUPPORTED_FEATURES is not a whole number of "
                               "32-bit words");
        x->supported_features = rd32(desc);
        x->has_supported_features = true;
        break;
    }
    return 0;
}

static bool is_xen_name(const uint8_t *name, uint32_t namesz)
{
    return (namesz == 4 && !memcmp(name, "Xen", 4)) || (namesz == 3 && !memcmp(name, "Xen", 3));
}

/*
 * Walks the notes of one PT_NOTE segment: each is namesz, descsz, type,
 * then the name and the descriptor, each padded to the segment's alignment
 * (4, or 8 for 8-aligned note segments; gABI "Note Section").
 */
static int parse_notes(struct elf_image *e, const struct phdr *ph, const char **why)
{
    const uint8_t *p = e->img + ph->offset;
    uint64_t left = ph->filesz, align = ph->align == 8 ? 8 : 4;

    while (left >= NOTE_HDR_SIZE) {
        uint32_t namesz = rd32(p), descsz = rd32(p + 4), type = rd32(p + 8);
        /* 32-bit sizes padded in 64-bit arithmetic cannot wrap. */
        uint64_t name_pad = ALIGN_UP((uint64_t)namesz, align);
        uint64_t desc_pad = ALIGN_UP((uint64_t)descsz, align);
        uint64_t size = NOTE_HDR_SIZE + name_pad + desc_pad;

        if (NOTE_HDR_SIZE + name_pad + descsz > left)
            return reject(why, "an ELF note runs past the end of its PT_NOTE segment");
        if (is_xen_name(p + NOTE_HDR_SIZE, namesz) &&
            xen_note(&e->xen, type, p + NOTE_HDR_SIZE + name_pad, descsz, why))
            return -EINVAL;
        if (size >= left)
            break;                       /* the last note may omit its padding */
        p += size;
        left -= size;
    }
    return 0;
}

/* ---- entry points ----------------------------------------------------------- */

static bool in_code(const struct elf_image *e, uint64_t addr, bool physical)
{
    for (unsigned int i = 0; i < e->nr_segs; i++) {
        const struct elf_segment *s = &e->seg[i];
        uint64_t base = physical ? s->paddr : s->vaddr;

        if ((s->flags & ELF_PF_X) && addr >= base && addr - base < s->filesz)
            return true;
    }
    return false;
}

static int check_entries(const struct elf_image *e, const char **why)
{
    /* e_entry is virtual by the gABI, but Linux's vmlinux puts a physical
     * address there (phys_startup_64): accept either view. */
    if (!in_code(e, e->entry, false) && !in_code(e, e->entry, true))
        return reject(why, "the entry point (e_entry) is not inside an executable PT_LOAD "
                           "segment");
    if (e->xen.has_phys32_entry && !in_code(e, e->xen.phys32_entry, true))
        return reject(why, "XEN_ELFNOTE_PHYS32_ENTRY is not inside an executable PT_LOAD "
                           "segment");
    if (e->xen.has_entry && !in_code(e, e->xen.entry, false))
        return reject(why, "XEN_ELFNOTE_ENTRY is not inside an executable PT_LOAD segment");
    return 0;
}

/* ---- public ----------------------------------------------------------------- */

static int parse_phdrs(struct elf_image *e, const struct ehdr *h, const char **why)
{
    for (unsigned int i = 0; i < h->phnum; i++) {
        struct phdr ph;

        read_phdr(e->img + h->phoff + (uint64_t)i * h->phentsize, e->elf_class, &ph);
        if (ph.type == PT_LOAD) {
            if (check_load(&ph, e->len, why) || add_load(e, &ph, why))
                return -EINVAL;
        } else if (ph.type == PT_NOTE) {
            if (!fits(e->len, ph.offset, ph.filesz))
                return reject(why, "a PT_NOTE segment lies past the end of the image");
            if (parse_notes(e, &ph, why))
                return -EINVAL;
        }
    }
    if (e->nr_segs == 0)
        return reject(why, "no loadable (PT_LOAD) segment");
    return 0;
}

int elf_parse(const void *img, size_t len, struct elf_image *out, const char **why)
{
    struct ehdr h;
    unsigned int cls;

    memset(out, 0, sizeof(*out));
    if (!img)
        return reject(why, "no image");
    if (read_ehdr(img, len, &cls, &h, why) || check_ehdr(cls, &h, len, why))
        return -EINVAL;

    out->img = img;
    out->len = len;
    out->elf_class = cls;
    out->machine = h.machine;
    out->entry = h.entry;
    if (parse_phdrs(out, &h, why) || check_entries(out, why))
        return -EINVAL;

    if (out->xen.has_phys32_entry)
        out->kind = ELF_BOOT_PVH;
    else if (out->xen.nr_notes)
        out->kind = ELF_BOOT_PV;
    else
        out->kind = ELF_BOOT_PLAIN;
    return 0;
}

int elf_load(const struct elf_image *e, elf_copy_fn copy, void *ctx)
{
    for (unsigned int i = 0; i < e->nr_segs; i++) {
        const struct elf_segment *s = &e->seg[i];
        int rc;

        if (s->filesz && (rc = copy(ctx, s->paddr, e->img + s->offset, s->filesz)))
            return rc;
        if (s->memsz > s->filesz &&
            (rc = copy(ctx, s->paddr + s->filesz, NULL, s->memsz - s->filesz)))
            return rc;
    }
    return 0;
}

const char *elf_boot_kind_name(enum elf_boot_kind k)
{
    switch (k) {
    case ELF_BOOT_PVH: return "PVH";
    case ELF_BOOT_PV:  return "PV";
    default:           return "plain ELF";
    }
}
