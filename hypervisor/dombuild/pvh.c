/*
 * The PVH domain builder: turns a checked ELF kernel, its modules and its
 * command line into a domain ready to run at XEN_ELFNOTE_PHYS32_ENTRY, as
 * Xen 4.17 builds a PVH guest (xen/arch/x86/hvm/dom0_build.c for dom0,
 * libxenguest's xc_dom_x86.c for domU). The boot ABI is Xen's
 * docs/misc/pvh.pandoc; the layout is computed by pvh_layout() (dombuild.h).
 */
#include <proxenos/dombuild.h>
#include <proxenos/domain.h>
#include <proxenos/guest_access.h>
#include <proxenos/hvm.h>
#include <proxenos/io.h>
#include <proxenos/lib.h>
#include <proxenos/mm.h>
#include <xen/arch-x86/hvm/start_info.h>

#define PVH_CR0_ET (1u << 4)               /* extension type: reads as 1 (SDM vol. 3A, 2.5) */
#define X86_RFLAGS_RESERVED 0x02       /* bit 1 always reads as 1 (SDM vol. 1, 3.4.3) */

/* Flat 4 GiB segments of the PVH entry state (pvh.pandoc: "cs: 32-bit
 * read/execute code segment with a base of 0 and a limit of 0xFFFFFFFF",
 * "ds, es: 32-bit read/write data segment", "tr: 32-bit TSS (active) with a
 * base of 0 and a limit of 0x67"). Attributes in the packed VMCB form
 * (APM vol. 2, 15.5.1): type in bits 0-3, then S, DPL, P, AVL, L, D/B, G. */
#define PVH_SEL_CODE 0x08
#define PVH_SEL_DATA 0x10
#define PVH_SEL_TSS  0x18
#define PVH_ATTR_CODE (SEG_ATTR_G | SEG_ATTR_DB | SEG_ATTR_P | SEG_ATTR_S | 0xb) /* 0xc9b */
#define PVH_ATTR_DATA (SEG_ATTR_G | SEG_ATTR_DB | SEG_ATTR_P | SEG_ATTR_S | 0x3) /* 0xc93 */
#define PVH_ATTR_TSS  (SEG_ATTR_P | 0xb)          /* 0x8b: busy 32-bit TSS */
#define PVH_ATTR_LDT  (SEG_ATTR_P | 0x2)          /* 0x82: an empty LDT */

BUILD_BUG_ON(PVH_MAX_E820 > ARRAY_SIZE(((struct domain *)0)->e820));
BUILD_BUG_ON(PVH_ACPI_GPA < PVH_LOW_RAM_END || PVH_ACPI_GPA + PVH_ACPI_SIZE > PVH_HIGH_RAM_BASE);

static int fail(const char **why, const char *reason, int rc)
{
    *why = reason;
    return rc;
}

/* elf_load() callback: src NULL means zero fill. */
static int copy_segment(void *ctx, uint64_t gpa, const void *src, size_t len)
{
    struct domain *d = ctx;

    return src ? copy_to_gpa(d, gpa, src, len) : clear_gpa(d, gpa, len);
}

static int check_platform(const char **why)
{
    if (!hvm_ops)
        return fail(why, "no hardware virtualisation (SVM or VMX) is enabled", -ENODEV);
    if (!hvm_ops->hap)
        return fail(why, "PVH guests need nested paging (NPT or EPT)", -ENODEV);
    /* The PVH entry runs in protected mode with paging off, which VMX
     * allows only with unrestricted guest (SDM vol. 3C, 26.3.1.1). */
    if (!hvm_ops->unrestricted_guest)
        return fail(why, "the CPU cannot run a paging-off guest (no unrestricted guest "
                         "support), which the PVH entry needs", -ENODEV);
    return 0;
}

static int populate(struct domain *d, const struct pvh_layout *l, const char **why)
{
    for (unsigned int i = 0; i < l->nr_e820; i++) {
        const struct e820entry *e = &l->e820[i];

        if (e->type != E820_RAM)
            continue;
        if (domain_populate_ram(d, e->addr >> PAGE_SHIFT, e->size >> PAGE_SHIFT))
            return fail(why, "not enough free memory for the guest's RAM (lower dom0_mem=)",
                        -ENOMEM);
    }
    for (unsigned int i = 0; i < l->nr_e820; i++) {
        d->e820[i].addr = l->e820[i].addr;
        d->e820[i].size = l->e820[i].size;
        d->e820[i].type = l->e820[i].type;
    }
    d->nr_e820 = l->nr_e820;
    return 0;
}

static int put_string(struct domain *d, uint64_t gpa, const char *s)
{
    return copy_to_gpa(d, gpa, s, strlen(s) + 1);
}

static int load_modules(struct domain *d, const struct pvh_boot_args *a,
                        const struct pvh_layout *l)
{
    for (unsigned int i = 0; i < a->nr_modules; i++) {
        struct hvm_modlist_entry m = {
            .paddr = l->module_gpa[i],
            .size = a->mod[i].size,
            .cmdline_paddr = l->module_cmdline_gpa[i],
        };

        if (a->mod[i].size && copy_to_gpa(d, m.paddr, a->mod[i].data, a->mod[i].size))
            return -EFAULT;
        if (put_string(d, m.cmdline_paddr, a->mod[i].cmdline) ||
            copy_to_gpa(d, l->modlist_gpa + i * sizeof(m), &m, sizeof(m)))
            return -EFAULT;
    }
    return 0;
}

/*
 * The legacy hole [640 KiB, 1 MiB) stays reserved in the e820 but is backed
 * by zeroed memory, which also holds the ACPI tables. Xen maps the host's
 * first MiB 1:1 into a PVH dom0, so its scans of the BIOS areas (DMI, ROMs,
 * MP tables) are plain reads there; with nothing behind it, every 4-byte
 * read of those scans was a nested page fault and an emulated MMIO read
 * (44,600 exits per Linux boot, 18% of its instructions to /init).
 */
static int load_acpi(struct domain *d, const char **why)
{
    uint8_t *page = xzalloc(PVH_ACPI_SIZE);
    int rc;

    if (!page)
        return fail(why, "out of memory for the ACPI tables", -ENOMEM);
    rc = pvh_acpi_build(page, PVH_ACPI_GPA, d->max_vcpus, why);
    if (!rc && domain_populate_ram(d, PVH_LOW_RAM_END >> PAGE_SHIFT,
                                   (PVH_HIGH_RAM_BASE - PVH_LOW_RAM_END) >> PAGE_SHIFT))
        rc = fail(why, "not enough free memory for the legacy area and ACPI tables", -ENOMEM);
    if (!rc && copy_to_gpa(d, PVH_ACPI_GPA, page, PVH_ACPI_SIZE))
        rc = fail(why, "cannot write the ACPI tables into guest memory", -EFAULT);
    xfree(page);
    return rc;
}

/* hvm_start_info, version 1 (xen/include/public/arch-x86/hvm/start_info.h). */
static int write_start_info(struct domain *d, const struct pvh_boot_args *a,
                            const struct pvh_layout *l)
{
    struct hvm_start_info si = {
        .magic = XEN_HVM_START_MAGIC_VALUE,
        .version = 1,
        .flags = a->start_info_flags,
        .nr_modules = a->nr_modules,
        .modlist_paddr = l->modlist_gpa,
        .cmdline_paddr = l->cmdline_gpa,
        .rsdp_paddr = PVH_ACPI_GPA,      /* pvh_acpi.c, loaded by load_acpi() */
        .memmap_paddr = l->memmap_gpa,
        .memmap_entries = l->nr_e820,
    };

    for (unsigned int i = 0; i < l->nr_e820; i++) {
        struct hvm_memmap_table_entry m = {
            .addr = l->e820[i].addr,
            .size = l->e820[i].size,
            .type = l->e820[i].type,     /* E820_* equal XEN_HVM_MEMMAP_TYPE_* */
        };

        if (copy_to_gpa(d, l->memmap_gpa + i * sizeof(m), &m, sizeof(m)))
            return -EFAULT;
    }
    if (put_string(d, l->cmdline_gpa, a->cmdline))
        return -EFAULT;
    return copy_to_gpa(d, l->start_info_gpa, &si, sizeof(si));
}

static void set_seg(struct vcpu *v, enum hvm_seg s, uint16_t sel, uint16_t attr, uint32_t limit)
{
    struct segment_register r = { .sel = sel, .attr = attr, .limit = limit, .base = 0 };

    hvm_ops->set_segment(v, s, &r);
}

/* The PVH entry state (pvh.pandoc, "x86/HVM direct boot ABI"): 32-bit flat
 * protected mode, paging off, EBX = start_info, everything else clear. */
static void set_boot_state(struct vcpu *v, uint32_t entry, uint64_t start_info)
{
    struct x86emul_regs *regs = &v->hvm.regs;

    set_seg(v, HVM_SEG_CS, PVH_SEL_CODE, PVH_ATTR_CODE, 0xffffffff);
    set_seg(v, HVM_SEG_DS, PVH_SEL_DATA, PVH_ATTR_DATA, 0xffffffff);
    set_seg(v, HVM_SEG_ES, PVH_SEL_DATA, PVH_ATTR_DATA, 0xffffffff);
    set_seg(v, HVM_SEG_SS, PVH_SEL_DATA, PVH_ATTR_DATA, 0xffffffff);
    set_seg(v, HVM_SEG_FS, PVH_SEL_DATA, PVH_ATTR_DATA, 0xffffffff);
    set_seg(v, HVM_SEG_GS, PVH_SEL_DATA, PVH_ATTR_DATA, 0xffffffff);
    set_seg(v, HVM_SEG_TR, PVH_SEL_TSS, PVH_ATTR_TSS, 0x67);
    set_seg(v, HVM_SEG_LDTR, 0, PVH_ATTR_LDT, 0);
    set_seg(v, HVM_SEG_GDTR, 0, 0, 0);
    set_seg(v, HVM_SEG_IDTR, 0, 0, 0);

    hvm_ops->set_efer(v, 0);
    hvm_ops->set_cr(v, 4, 0);
    hvm_ops->set_cr(v, 3, 0);
    hvm_ops->set_cr(v, 0, X86_CR0_PE | PVH_CR0_ET);

    memset(regs, 0, sizeof(*regs));
    regs->gpr[X86_REG_RBX] = start_info;
    regs->rip = entry;
    regs->rflags = X86_RFLAGS_RESERVED;
}

static void layout_request(const struct pvh_boot_args *a, struct pvh_layout_req *r)
{
    memset(r, 0, sizeof(*r));
    r->ram_bytes = a->ram_bytes;
    r->elf = a->elf;
    r->cmdline_len = strlen(a->cmdline);
    r->nr_modules = a->nr_modules;
    for (unsigned int i = 0; i < a->nr_modules && i < PVH_MAX_MODULES; i++) {
        r->module_size[i] = a->mod[i].size;
        r->module_cmdline_len[i] = strlen(a->mod[i].cmdline);
    }
}

int pvh_build(struct domain *d, const struct pvh_boot_args *a, struct pvh_layout *l,
              const char **why)
{
    struct pvh_layout_req req;
    int rc;

    if ((rc = check_platform(why)))
        return rc;
    if (a->elf->kind != ELF_BOOT_PVH)
        return fail(why, "the kernel has no XEN_ELFNOTE_PHYS32_ENTRY note: it cannot boot "
                         "as PVH", -EINVAL);
    if (!d->vcpu[0])
        return fail(why, "the domain has no vCPU 0", -EINVAL);

    layout_request(a, &req);
    if ((rc = pvh_layout(&req, l, why)) || (rc = populate(d, l, why)))
        return rc;
    if (elf_load(a->elf, copy_segment, d))
        return fail(why, "cannot write the kernel into guest memory", -EFAULT);
    if (load_modules(d, a, l))
        return fail(why, "cannot write the modules into guest memory", -EFAULT);
    if ((rc = load_acpi(d, why)))
        return rc;
    if (write_start_info(d, a, l))
        return fail(why, "cannot write hvm_start_info into guest memory", -EFAULT);

    set_boot_state(d->vcpu[0], a->elf->xen.phys32_entry, l->start_info_gpa);
    return 0;
}
