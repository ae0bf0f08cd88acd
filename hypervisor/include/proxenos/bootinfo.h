/*
 * What the boot loader told us, normalised from Multiboot 1 or 2 into one
 * record (hypervisor/boot/multiboot.c). Strings are copied out, because the
 * loader's structures live in memory that the allocator will hand out.
 */
#ifndef PROXENOS_BOOTINFO_H
#define PROXENOS_BOOTINFO_H
#include <proxenos/types.h>

#define E820_RAM       1
#define E820_RESERVED  2
#define E820_ACPI      3
#define E820_NVS       4
#define E820_UNUSABLE  5

struct e820entry {
    uint64_t addr;
    uint64_t size;
    uint32_t type;
};

#define BOOT_MAX_MMAP    128
#define BOOT_MAX_MODULES 16
#define BOOT_CMDLINE_LEN 1024

struct boot_module {
    paddr_t start, end;               /* [start, end) in machine memory */
    char cmdline[BOOT_CMDLINE_LEN];
};

struct boot_info {
    int multiboot_version;            /* 1 or 2 */
    char cmdline[BOOT_CMDLINE_LEN];
    char loader[64];
    struct e820entry mmap[BOOT_MAX_MMAP];
    unsigned int nr_mmap;
    bool mmap_truncated;
    uint64_t mem_lower_kb, mem_upper_kb;   /* basic memory info, when no map */
    struct boot_module mods[BOOT_MAX_MODULES];
    unsigned int nr_mods;
    bool mods_truncated;
    uint8_t rsdp[36];                 /* copy of the ACPI RSDP (Multiboot 2 tags) */
    unsigned int rsdp_len;            /* 0: none given, scan the BIOS areas */
    paddr_t info_start, info_end;     /* the loader's info block, to reserve */
};

/*
 * Access to loader memory for the parser. map() returns a pointer to len
 * bytes at physical address pa, or NULL if that range is not addressable;
 * the parser never touches memory it did not map.
 */
struct boot_mem {
    const void *(*map)(const struct boot_mem *m, paddr_t pa, size_t len);
    void *ctx;
};

#define MULTIBOOT1_BOOTLOADER_MAGIC 0x2BADB002u
#define MULTIBOOT2_BOOTLOADER_MAGIC 0x36d76289u

/* Fills *bi from the loader's info at info_pa. Returns 0, or a negative
 * errno with a reason in *why (a static string) on malformed input. */
int multiboot_parse(uint32_t magic, paddr_t info_pa, const struct boot_mem *mem,
                    struct boot_info *bi, const char **why);

extern struct boot_info boot_info;

#endif
