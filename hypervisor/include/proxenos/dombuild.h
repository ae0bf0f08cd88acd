/*
 * Domain builders (hypervisor/dombuild/): the PVH builder and the boot-time
 * creation of the initial domain from the Multiboot modules, following
 * Xen's convention (module 0 = kernel with its command line, module 1 =
 * ramdisk; options dom0=, dom0_mem=).
 *
 * The guest memory layout and dom0_mem= arithmetic are pure functions
 * (pvh_layout.c), unit-tested on the host; pvh.c and dom0.c do the work
 * against the domain, p2m and guest-access interfaces.
 *
 * PVH boot ABI: Xen's docs/misc/pvh.pandoc and
 * xen/include/public/arch-x86/hvm/start_info.h.
 */
#ifndef PROXENOS_DOMBUILD_H
#define PROXENOS_DOMBUILD_H
#include <proxenos/types.h>
#include <proxenos/bootinfo.h>
#include <proxenos/elf.h>

/* ---- guest memory layout (pure) ------------------------------------------ */

/*
 * Guest-physical map of a PVH domain of N bytes of RAM:
 *
 *   [0, 0xA0000)               RAM (the first 640 KiB)
 *   [0xA0000, 0x100000)        reserved (legacy VGA/ROM hole, left unmapped)
 *   [0x100000, PVH_HOLE_START) RAM, the rest up to the MMIO hole
 *   [PVH_HOLE_START, 4 GiB)    MMIO hole (not in the e820)
 *   [4 GiB, ...)               RAM above the hole, if any is left
 *
 * Boot data follows the kernel's highest physical byte, page-aligned, in
 * this order: each module, then one block holding hvm_start_info, the
 * module list, the memory map and the command lines. Everything the guest
 * is pointed at stays below 4 GiB (EBX is 32 bits at the PVH entry) and
 * never at guest-physical 0 (which start_info.h reserves for "absent").
 */
#define PVH_LOW_RAM_END   0xA0000ull
#define PVH_HIGH_RAM_BASE 0x100000ull
#define PVH_HOLE_START    0xF0000000ull
#define PVH_HOLE_END      GiB(4)
#define PVH_MAX_E820      4
#define PVH_MAX_MODULES   4

struct pvh_layout_req {
    uint64_t ram_bytes;                    /* RAM to give (rounded down to pages) */
    const struct elf_image *elf;           /* the checked kernel image */
    size_t cmdline_len;                    /* kernel command line, without NUL */
    unsigned int nr_modules;               /* <= PVH_MAX_MODULES */
    uint64_t module_size[PVH_MAX_MODULES];
    size_t module_cmdline_len[PVH_MAX_MODULES]; /* without NUL */
};

struct pvh_layout {
    struct e820entry e820[PVH_MAX_E820];   /* what the guest is told */
    unsigned int nr_e820;
    uint64_t ram_pages;                    /* pages of RAM in the e820 */
    uint64_t kernel_start, kernel_end;     /* the ELF's physical span */
    uint64_t module_gpa[PVH_MAX_MODULES];
    uint64_t module_cmdline_gpa[PVH_MAX_MODULES];
    uint64_t start_info_gpa;               /* struct hvm_start_info */
    uint64_t modlist_gpa;                  /* struct hvm_modlist_entry[nr_modules] */
    uint64_t memmap_gpa;                   /* struct hvm_memmap_table_entry[nr_e820] */
    uint64_t cmdline_gpa;
    uint64_t info_end;                     /* first byte after the boot data */
};

/* Computes the layout. Returns 0, or -EINVAL/-ENOSPC with a static reason
 * in *why: a kernel segment outside the guest's RAM (in the 640K-1M hole,
 * the MMIO hole, or beyond the end of RAM), boot data that does not fit
 * below 4 GiB, too many modules. */
int pvh_layout(const struct pvh_layout_req *req, struct pvh_layout *out, const char **why);

/* ---- dom0_mem= (pure) ------------------------------------------------------ */

/*
 * Xen's syntax: dom0_mem=[min:<sz>,][max:<sz>,][<sz>] where <sz> is a size
 * (512M), a negative size meaning "all but" (-256M), or a percentage of the
 * available memory (25%). Units as parse_size (K, M, G, T; bytes without).
 */
struct dom0_mem_amount {
    bool set;
    bool negative;                         /* all available but `bytes` */
    bool percent;                          /* `bytes` is a percentage 1..100 */
    uint64_t bytes;
};
struct dom0_mem_opt {
    struct dom0_mem_amount amount, min, max;
};

#define DOM0_MEM_DEFAULT_MAX GiB(1)        /* default when no amount is given */
#define DOM0_MEM_RESERVE     MiB(64)       /* kept back for the hypervisor */

/* Returns 0, or -EINVAL with *why on a malformed value (opt unchanged). */
int dom0_mem_parse(const char *s, struct dom0_mem_opt *opt, const char **why);
/* Bytes of RAM for dom0 given `avail` free bytes: the amount (default
 * min(avail - DOM0_MEM_RESERVE, DOM0_MEM_DEFAULT_MAX)), clamped to [min,
 * max], never above avail - DOM0_MEM_RESERVE, page-aligned. 0 if nothing
 * is available. */
uint64_t dom0_mem_compute(const struct dom0_mem_opt *opt, uint64_t avail);

/* ---- ACPI tables for a PVH domain (pvh_acpi.c) ------------------------------ */

/* One page in the legacy BIOS area, which the e820 reserves (never RAM to
 * the guest), populated by the builder and named by rsdp_paddr. */
#define PVH_ACPI_GPA  0xE0000ull
#define PVH_ACPI_SIZE 4096

/* Writes RSDP, XSDT, FADT (hardware-reduced), DSDT and MADT (nr_vcpus local
 * APICs) into page, as they will be seen at guest-physical gpa. Returns 0,
 * or a negative errno with *why set. */
int pvh_acpi_build(uint8_t *page, uint64_t gpa, unsigned int nr_vcpus, const char **why);

/* ---- building (hypervisor only) --------------------------------------------- */

struct domain;

struct pvh_module {
    const void *data;                      /* hypervisor pointer to the bytes */
    uint64_t size;
    const char *cmdline;                   /* never NULL */
};

struct pvh_boot_args {
    const struct elf_image *elf;           /* kind ELF_BOOT_PVH */
    uint64_t ram_bytes;
    const char *cmdline;                   /* never NULL */
    unsigned int nr_modules;
    struct pvh_module mod[PVH_MAX_MODULES];
    uint32_t start_info_flags;             /* SIF_* (SIF_INITDOMAIN for dom0) */
};

/*
 * Builds a PVH guest into the freshly created domain d (no RAM yet): lays
 * it out, populates its RAM, fills d->e820, loads the kernel, the modules,
 * the command lines and hvm_start_info, and sets vCPU 0 to the PVH entry
 * state. On failure returns a negative errno with *why set; d is left for
 * the caller to destroy.
 */
int pvh_build(struct domain *d, const struct pvh_boot_args *a, struct pvh_layout *lay,
              const char **why);

/* Creates and starts dom0 from the boot modules, or explains at the
 * console why not and returns (Proxenos then idles). Called once by
 * start_hypervisor() after hvm_init(). */
void dom0_create(const struct boot_info *bi);

#endif
