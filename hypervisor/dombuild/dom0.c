/*
 * The initial domain, built at boot from the Multiboot modules as Xen does:
 * module 0 is the kernel (its command line, less the image name that
 * non-GRUB-2 loaders put first, is the guest's), module 1 the ramdisk.
 * Options (docs/misc/xen-command-line.pandoc):
 *   dom0=pvh|pv                 how to build it (default: from the ELF notes;
 *                               PV: 64-bit kernels only, see pv.h)
 *   dom0_mem=[min:X,][max:X,][X] its RAM (see dombuild.h)
 *   dom0_max_vcpus=N|min-max    a PV dom0's vCPUs: as Xen, the number of
 *                               CPUs within [min, max], never more than
 *                               MAX_VCPUS_PER_DOM; without the option 1
 *                               (Xen: every CPU), since a domain's vCPUs
 *                               share CPU 0 here (schedule.c). PVH: 1.
 * A kernel that cannot be booted is explained at the console and Proxenos
 * idles: a bad boot image never crashes the hypervisor.
 */
#include <proxenos/cmdline.h>
#include <proxenos/cpu.h>
#include <proxenos/dombuild.h>
#include <proxenos/domain.h>
#include <proxenos/layout.h>
#include <proxenos/lib.h>
#include <proxenos/mm.h>
#include <proxenos/printk.h>
#include <proxenos/pv.h>

enum dom0_mode { DOM0_AUTO, DOM0_PVH, DOM0_PV };

static enum dom0_mode opt_dom0_mode = DOM0_AUTO;
static struct dom0_mem_opt opt_dom0_mem;

/* dom0=: Xen's is a list (dom0=pvh,verbose,...); we know the mode only. */
static int parse_dom0(const char *v)
{
    int bad = 0;

    for (const char *s = v ? v : ""; *s; ) {
        size_t n = 0;

        while (s[n] && s[n] != ',')
            n++;
        if (n == 3 && !strncmp(s, "pvh", 3)) {
            opt_dom0_mode = DOM0_PVH;
        } else if (n == 2 && !strncmp(s, "pv", 2)) {
            opt_dom0_mode = DOM0_PV;
        } else {
            printk(LOG_WARN "dom0=: unknown choice '%.*s' (known: pvh, pv)\n", (int)n, s);
            bad = -1;
        }
        s += n + (s[n] == ',');
    }
    return v && *v ? bad : -1;
}
custom_param("dom0", parse_dom0);

static int parse_dom0_mem(const char *v)
{
    const char *why;

    if (dom0_mem_parse(v, &opt_dom0_mem, &why)) {
        printk(LOG_WARN "dom0_mem=%s: %s\n", v ? v : "", why);
        return -1;
    }
    return 0;
}
custom_param("dom0_mem", parse_dom0_mem);

static unsigned int opt_vcpus_min = 1, opt_vcpus_max = 1;

static const char *parse_uint(const char *s, unsigned int *out)
{
    unsigned int n = 0;
    const char *p = s;

    while (*p >= '0' && *p <= '9' && n < 100000)
        n = n * 10 + (unsigned int)(*p++ - '0');
    *out = n;
    return p == s ? NULL : p;
}

/* Xen's parse_dom0_max_vcpus: "N" (min = max = N) or "min-max" (either
   side may be left out). */
static int parse_dom0_max_vcpus(const char *v)
{
    unsigned int lo = 1, hi = ~0u;
    const char *s = v ? v : "";

    if (*s != '-' && !(s = parse_uint(s, &lo)))
        goto bad;
    if (*s == '-') {
        s++;
        if (*s && !(s = parse_uint(s, &hi)))
            goto bad;
    } else {
        hi = lo;
    }
    if (*s || !lo || lo > hi)
        goto bad;
    opt_vcpus_min = lo;
    opt_vcpus_max = hi;
    return 0;
bad:
    printk(LOG_WARN "dom0_max_vcpus=%s: expected N or min-max\n", v ? v : "");
    return -1;
}
custom_param("dom0_max_vcpus", parse_dom0_max_vcpus);

/* Xen's dom0_max_vcpus(): the CPUs, raised to min, lowered to max. */
static unsigned int pv_dom0_vcpus(void)
{
    unsigned int n = nr_cpus_online;

    if (n < opt_vcpus_min)
        n = opt_vcpus_min;
    if (n > opt_vcpus_max)
        n = opt_vcpus_max;
    return MIN(n, (unsigned int)MAX_VCPUS_PER_DOM);
}

static void __printf(1, 2) dom0_fail(const char *fmt, ...)
{
    char msg[256];
    va_list ap;

    va_start(ap, fmt);
    px_vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    printk(LOG_ERR "d0: %s\n", msg);
    printk(LOG_ERR "d0: no dom0 was built: Proxenos idles\n");
}

/* Free memory for dom0: what the allocator holds now. DOM0_MEM_RESERVE is
 * kept back from it for the hypervisor (p2m tables, vCPU state, heap). */
static uint64_t dom0_avail_bytes(void)
{
    return mm_free_pages() << PAGE_SHIFT;
}

/* Recognises what is not an ELF kernel, for a useful message. */
static const char *non_elf_kind(const uint8_t *p, uint64_t len)
{
    /* Linux boot protocol: "HdrS" at 0x202 (Documentation/x86/boot.rst). */
    /* Decompression is a host-side step by design (docs/linux-boot-notes.md). */
    if (len >= 0x206 && !memcmp(p + 0x202, "HdrS", 4))
        return "a bzImage is not booted directly: boot the ELF vmlinux inside it "
               "(tools/extract-vmlinux BZIMAGE vmlinux; 'make linux' does it)";
    if (len >= 2 && p[0] == 0x1f && p[1] == 0x8b)
        return "a gzip-compressed kernel: decompress it to the ELF vmlinux first";
    if (len >= 6 && !memcmp(p, "\3757zXZ", 6))
        return "an xz-compressed kernel: decompress it to the ELF vmlinux first";
    return NULL;
}

static bool module_bytes(const struct boot_module *m, const uint8_t **p, uint64_t *len)
{
    if (m->end <= m->start)
        return false;
    *p = __va(m->start);
    *len = m->end - m->start;
    return true;
}

static bool parse_kernel(const struct boot_info *bi, struct elf_image *elf)
{
    const uint8_t *p;
    uint64_t len;
    const char *why;

    if (!module_bytes(&bi->mods[0], &p, &len)) {
        dom0_fail("the kernel (module 0) is empty");
        return false;
    }
    if (elf_parse(p, len, elf, &why)) {
        const char *kind = non_elf_kind(p, len);

        dom0_fail("kernel (module 0, %lu bytes) rejected: %s", len, kind ? kind : why);
        return false;
    }
    printk("d0: %s ELF%u kernel, guest OS '%s', loader '%s', features '%s'\n",
           elf_boot_kind_name(elf->kind), elf->elf_class == ELF_CLASS64 ? 64 : 32,
           elf->xen.guest_os, elf->xen.loader, elf->xen.features);
    return true;
}

/* Applies dom0= to what the image offers: which builder, or none. */
static enum dom0_mode choose_mode(const struct elf_image *elf)
{
    switch (opt_dom0_mode) {
    case DOM0_PV:
        if (elf->kind == ELF_BOOT_PV || elf->kind == ELF_BOOT_PVH)
            return DOM0_PV;
        dom0_fail("dom0=pv: the kernel has no Xen ELF notes: it is not a Xen guest kernel");
        return DOM0_AUTO;
    case DOM0_PVH:
        if (elf->kind == ELF_BOOT_PVH)
            return DOM0_PVH;
        dom0_fail("dom0=pvh: the kernel has no XEN_ELFNOTE_PHYS32_ENTRY note, "
                  "so it cannot boot as PVH");
        return DOM0_AUTO;
    case DOM0_AUTO:
        break;
    }
    if (elf->kind == ELF_BOOT_PVH)
        return DOM0_PVH;
    if (elf->kind == ELF_BOOT_PV)
        return DOM0_PV;              /* Xen notes (ENTRY, VIRT_BASE), no PHYS32_ENTRY */
    dom0_fail("the kernel has no Xen ELF notes: it is not a Xen guest kernel");
    return DOM0_AUTO;
}

static void boot_args(const struct boot_info *bi, const struct elf_image *elf,
                      struct pvh_boot_args *a)
{
    memset(a, 0, sizeof(*a));
    a->elf = elf;
    a->ram_bytes = dom0_mem_compute(&opt_dom0_mem, dom0_avail_bytes());
    a->cmdline = cmdline_cook(bi->mods[0].cmdline, bi->loader);
    a->start_info_flags = SIF_PRIVILEGED | SIF_INITDOMAIN;
    if (bi->nr_mods > 1) {
        const uint8_t *p = NULL;
        uint64_t len = 0;

        module_bytes(&bi->mods[1], &p, &len);    /* an empty ramdisk stays empty */
        a->nr_modules = 1;
        a->mod[0].data = p;
        a->mod[0].size = len;
        a->mod[0].cmdline = cmdline_cook(bi->mods[1].cmdline, bi->loader);
    }
    for (unsigned int i = 2; i < bi->nr_mods; i++)
        printk(LOG_WARN "d0: module %u ignored (dom0 takes a kernel and a ramdisk)\n", i);
}

static void print_layout(const struct domain *d, const struct pvh_boot_args *a,
                         const struct pvh_layout *l)
{
    printk("d0: PVH kernel entry %#x, %lu KiB at %#lx-%#lx, %lu MiB RAM, "
           "start_info at %#lx, cmdline '%s'\n",
           a->elf->xen.phys32_entry, (l->kernel_end - l->kernel_start) >> 10,
           l->kernel_start, l->kernel_end, l->ram_pages >> (20 - PAGE_SHIFT),
           l->start_info_gpa, a->cmdline);
    if (a->nr_modules)
        printk("d0: ramdisk %lu KiB at %#lx, cmdline '%s'\n", a->mod[0].size >> 10,
               l->module_gpa[0], a->mod[0].cmdline);
    for (unsigned int i = 0; i < d->nr_e820; i++)
        printk(LOG_INFO "d0: e820 %#014lx-%#014lx %s\n", d->e820[i].addr,
               d->e820[i].addr + d->e820[i].size,
               d->e820[i].type == E820_RAM ? "RAM" : "reserved");
}

static struct domain *build_pvh_dom0(const struct boot_info *bi, const struct elf_image *elf)
{
    struct pvh_boot_args args;
    struct pvh_layout lay;
    struct domain *d;
    const char *why;
    int rc;

    boot_args(bi, elf, &args);
    if (!args.ram_bytes) {
        dom0_fail("no memory is left for dom0");
        return NULL;
    }
    if (opt_vcpus_min > 1)
        printk(LOG_WARN "dom0_max_vcpus: a PVH dom0 has one vCPU (no HVM VCPUOP_up yet)\n");
    d = domain_create(0, DOMTYPE_PVH, 1, "d0");
    if (!d) {
        dom0_fail("cannot create the domain");
        return NULL;
    }
    d->is_initial = true;
    rc = pvh_build(d, &args, &lay, &why);
    if (rc) {
        dom0_fail("cannot build the PVH domain with %lu MiB of RAM: %s (error %d)",
                  args.ram_bytes >> 20, why, rc);
        domain_destroy(d);
        return NULL;
    }
    print_layout(d, &args, &lay);
    return d;
}

/*
 * A 64-bit PV dom0 (hypervisor/dombuild/pv.c), run by pv/pv_run.c. A
 * kernel that cannot be built is explained, its domain torn down (every
 * frame released through the validator), and Proxenos idles.
 */
static void build_pv_dom0(const struct boot_info *bi, const struct elf_image *elf)
{
    struct pvh_boot_args args;
    const struct pv_layout *l;
    struct domain *d;
    const char *why;
    uint64_t left;
    int rc;

    boot_args(bi, elf, &args);
    if (args.ram_bytes > (PV_MAX_PAGES << PAGE_SHIFT))
        args.ram_bytes = PV_MAX_PAGES << PAGE_SHIFT;
    if (!args.ram_bytes) {
        dom0_fail("no memory is left for dom0");
        return;
    }
    d = domain_create(0, DOMTYPE_PV, pv_dom0_vcpus(), "d0");
    if (!d) {
        dom0_fail("cannot create the domain");
        return;
    }
    d->is_initial = true;
    rc = pv_build(d, &args, &why);
    if (!rc) {
        l = &pv_domain_of(d)->lay;
        printk("d0: PV kernel entry %#lx, virt_base %#lx, %lu MiB RAM, region %#lx-%#lx, "
               "%u vCPU%s\n", elf->xen.entry, l->v_start, l->nr_pages >> (20 - PAGE_SHIFT),
               l->v_start, l->v_end, d->max_vcpus, d->max_vcpus == 1 ? "" : "s");
        printk("d0: PV start_info %#lx, P2M list %#lx, %lu page-table frames at %#lx (pinned), "
               "stack top %#lx, cmdline '%s'\n", l->si_start, l->p2m_start, l->nr_pt_frames,
               l->pt_start, l->stack_end, args.cmdline);
        if (args.nr_modules)
            printk("d0: PV ramdisk %lu KiB at %#lx\n", args.mod[0].size >> 10, l->mod_start);
    }
    if (!rc) {
        rc = pv_vcpu_start(d->vcpu[0], &pv_domain_of(d)->entry);
        why = "out of memory for the vCPU";
    }
    if (!rc) {
        domain_unpause(d);
        return;
    }
    left = pv_domain_destroy(d);
    domain_destroy(d);
    dom0_fail("dom0=pv: cannot build the PV domain with %lu MiB of RAM: %s (error %d; "
              "torn down, %lu frames left referenced)", args.ram_bytes >> 20, why, rc, left);
}

void dom0_create(const struct boot_info *bi)
{
    struct elf_image *elf;
    struct domain *d;

    if (!bi->nr_mods) {
        printk("no dom0 kernel given: Proxenos idles\n");
        return;
    }
    /* struct elf_image is ~2 KiB: keep it off the boot stack. */
    elf = xzalloc(sizeof(*elf));
    if (!elf) {
        dom0_fail("out of memory");
        return;
    }
    if (parse_kernel(bi, elf)) {
        switch (choose_mode(elf)) {
        case DOM0_PVH:
            d = build_pvh_dom0(bi, elf);
            if (d)
                domain_unpause(d);
            break;
        case DOM0_PV:
            build_pv_dom0(bi, elf);
            break;
        case DOM0_AUTO:
            break;
        }
    }
    xfree(elf);
}
