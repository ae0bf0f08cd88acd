/*
 * ELF kernel images (hypervisor/dombuild/elf.c): ELF32 and ELF64 x86
 * executables checked and loaded from a byte buffer, with the Xen ELF notes
 * that tell a domain builder how to boot them (xen/include/public/elfnote.h).
 *
 * Every field of the image is hostile: the parser never reads outside
 * [img, img + len), never lets an addition wrap, and rejects anything it
 * does not understand with a static reason string. The code is pure (no
 * hypervisor state), so it runs on the host under cmocka and a fuzzer.
 *
 * References: System V ABI (ELF gABI) ch. 4 "Object Files" and 5 "Program
 * Loading"; Xen's docs/misc/pvh.pandoc for XEN_ELFNOTE_PHYS32_ENTRY.
 */
#ifndef PROXENOS_ELF_H
#define PROXENOS_ELF_H
#include <proxenos/types.h>

/* Limits. A kernel has a handful of PT_LOAD segments; 16 is generous. */
#define ELF_MAX_SEGMENTS   16
#define ELF_MAX_PHNUM      256          /* program headers we are willing to scan */
#define ELF_MAX_SEGMENT    GiB(1)       /* p_memsz/p_filesz of one segment */
#define ELF_MAX_PADDR      (1ull << 52) /* guest-physical address width */
#define ELF_NOTE_STR_LEN   64           /* GUEST_OS, LOADER, ... as kept */
#define ELF_FEATURES_LEN   256          /* XEN_ELFNOTE_FEATURES as kept */

/* e_ident[EI_CLASS] */
#define ELF_CLASS32 1
#define ELF_CLASS64 2

/* p_flags */
#define ELF_PF_X 1
#define ELF_PF_W 2
#define ELF_PF_R 4

/* One PT_LOAD segment, as checked: offset + filesz lies inside the image,
 * filesz <= memsz <= ELF_MAX_SEGMENT, paddr + memsz and vaddr + memsz do
 * not wrap, and paddr + memsz <= ELF_MAX_PADDR. */
struct elf_segment {
    uint64_t paddr;
    uint64_t vaddr;
    uint64_t offset;
    uint64_t filesz;
    uint64_t memsz;
    uint32_t flags;                 /* ELF_PF_* */
};

/* How the image wants to be booted (drives `dom0=` selection). */
enum elf_boot_kind {
    ELF_BOOT_PLAIN,   /* no Xen notes at all: not a Xen guest kernel */
    ELF_BOOT_PV,      /* Xen notes (ENTRY, VIRT_BASE, ...) but no PHYS32_ENTRY */
    ELF_BOOT_PVH,     /* XEN_ELFNOTE_PHYS32_ENTRY: the PVH direct boot ABI */
};

/*
 * The Xen notes found (name "Xen", types of xen/elfnote.h). The has_* flags
 * say a numeric note was present; strings are NUL-terminated, empty when
 * absent, and have non-printable bytes replaced by '?' (they get printed).
 */
struct elf_xen_notes {
    unsigned int nr_notes;            /* Xen notes seen, of any type */
    bool has_phys32_entry, has_entry, has_virt_base, has_hypercall_page;
    bool has_paddr_offset, has_supported_features;
    uint32_t phys32_entry;            /* XEN_ELFNOTE_PHYS32_ENTRY (guest-physical) */
    uint64_t entry;                   /* XEN_ELFNOTE_ENTRY (PV, virtual) */
    uint64_t virt_base;               /* XEN_ELFNOTE_VIRT_BASE */
    uint64_t hypercall_page;          /* XEN_ELFNOTE_HYPERCALL_PAGE (virtual) */
    uint64_t paddr_offset;            /* XEN_ELFNOTE_PADDR_OFFSET */
    uint32_t supported_features;      /* XEN_ELFNOTE_SUPPORTED_FEATURES, first word */
    bool bsd_symtab;                  /* XEN_ELFNOTE_BSD_SYMTAB "yes" */
    char guest_os[ELF_NOTE_STR_LEN];      /* XEN_ELFNOTE_GUEST_OS */
    char guest_version[ELF_NOTE_STR_LEN]; /* XEN_ELFNOTE_GUEST_VERSION */
    char xen_version[ELF_NOTE_STR_LEN];   /* XEN_ELFNOTE_XEN_VERSION */
    char loader[ELF_NOTE_STR_LEN];        /* XEN_ELFNOTE_LOADER */
    char pae_mode[ELF_NOTE_STR_LEN];      /* XEN_ELFNOTE_PAE_MODE */
    char features[ELF_FEATURES_LEN];      /* XEN_ELFNOTE_FEATURES */
};

/* A checked image. Points into the caller's buffer, which must outlive it. */
struct elf_image {
    const uint8_t *img;
    size_t len;
    unsigned int elf_class;           /* ELF_CLASS32 / ELF_CLASS64 */
    uint16_t machine;                 /* EM_386 (3) / EM_X86_64 (62) */
    uint64_t entry;                   /* e_entry */
    unsigned int nr_segs;             /* PT_LOAD segments with memsz > 0 */
    struct elf_segment seg[ELF_MAX_SEGMENTS];
    uint64_t paddr_start, paddr_end;  /* [lowest paddr, highest paddr + memsz) */
    uint64_t vaddr_start, vaddr_end;  /* the same by virtual address */
    struct elf_xen_notes xen;
    enum elf_boot_kind kind;
};

/*
 * Checks the image in img[0..len) and fills *out. Returns 0, or -EINVAL
 * with the reason in *why (a static string) for any malformed, unsupported
 * or absurd image: bad magic/class/data/version/machine/type, program
 * headers out of bounds or too many, a PT_LOAD segment out of the image or
 * too large or wrapping, two PT_LOAD segments overlapping (by physical or
 * virtual address), no loadable segment, malformed Xen notes, an entry
 * point (e_entry, XEN_ELFNOTE_PHYS32_ENTRY, XEN_ELFNOTE_ENTRY) outside the
 * file-backed part of every executable PT_LOAD segment.
 */
int elf_parse(const void *img, size_t len, struct elf_image *out, const char **why);

/*
 * Writes the loadable segments: for each, filesz bytes from the image at
 * p_paddr, then memsz - filesz zero bytes. `copy` is called with src NULL
 * for the zero fill. Stops at, and returns, the first non-zero result.
 */
typedef int (*elf_copy_fn)(void *ctx, uint64_t paddr, const void *src, size_t len);
int elf_load(const struct elf_image *e, elf_copy_fn copy, void *ctx);

/* "PVH", "PV" or "plain ELF". */
const char *elf_boot_kind_name(enum elf_boot_kind k);

#endif
