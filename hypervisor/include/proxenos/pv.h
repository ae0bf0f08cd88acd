/*
 * Classic 64-bit PV domains: the domain builder (hypervisor/dombuild/pv.c)
 * on top of the direct-paging validator (pv_mm.h).
 *
 * The initial virtual region follows the layout documented in Xen's
 * public xen.h ("start_info" comment) and built by Xen 4.17's
 * xen/arch/x86/pv/dom0_build.c, all 4 KiB aligned and packed from the
 * ELF's XEN_ELFNOTE_VIRT_BASE (pseudo-physical frame = (va - virt_base) >> 12):
 *
 *   a. the kernel image             [kern_start, kern_end)
 *   b. the initial ramdisk          start_info.mod_start, mod_len
 *   c. the P2M list                 start_info.mfn_list, nr_pages entries
 *   d. start_info                   RSI at entry
 *   e. the bootstrap page tables    start_info.pt_base, nr_pt_frames (mapped
 *                                   read-only; the L4 is the first frame)
 *   f. the bootstrap stack          RSP at entry = its top
 *   then at least 512 KiB of mapped padding; the region ends on a 4 MiB
 *   boundary.
 *
 * Status (docs/SUPPORT.md): the builder works (the tables are validated and
 * pinned through the validator); PV vCPUs run in ring 3 with a subset of
 * the PV hypercalls and exception bouncing (pv/pv_run.c lists what is
 * missing: user mode, event callbacks, SMP).
 */
#ifndef PROXENOS_PV_H
#define PROXENOS_PV_H
#include <proxenos/types.h>
#include <proxenos/pv_mm.h>

struct domain;
struct pvh_boot_args;

/* The initial virtual region, all addresses guest-virtual (pure). */
struct pv_layout {
    uint64_t v_start, v_end;            /* the mapped bootstrap region */
    uint64_t kern_start, kern_end;      /* a. */
    uint64_t mod_start, mod_end;        /* b. (empty without a module) */
    uint64_t p2m_start, p2m_end;        /* c. */
    uint64_t si_start;                  /* d. one page */
    uint64_t pt_start;                  /* e. */
    uint64_t nr_pt_frames;
    uint64_t stack_start, stack_end;    /* f. one page */
    uint64_t nr_pages;                  /* RAM frames of the domain */
};

#define PV_BOOT_PADDING   (512ull << 10)   /* xen.h: at least 512 KiB after f. */
#define PV_REGION_ALIGN   (4ull << 20)     /* xen.h: the region ends 4 MiB aligned */
#define PV_MAX_PAGES      (1ull << 20)     /* 4 GiB: our bound on a PV domain's RAM */

/* The state vCPU 0 starts in (Xen's dom0_build.c / arch_set_info_guest). */
struct pv_entry_state {
    uint64_t rip;                       /* XEN_ELFNOTE_ENTRY */
    uint64_t rsp;                       /* top of the bootstrap stack */
    uint64_t rsi;                       /* start_info */
    mfn_t kernel_l4;                    /* pinned, the vCPU's base pointer */
};

/* One per PV domain. (c) set by pv_build, then read-only. */
struct pv_domain {
    struct pv_mm mm;                    /* the validator's state (own lock) */
    struct domain *d;                   /* (c) */
    struct pv_layout lay;               /* (c) as built */
    struct pv_entry_state entry;        /* (c) */
    bool built;                         /* (c) pv_build succeeded */
};

/*
 * Computes the layout for a kernel of virtual span [vkern_start, vkern_end)
 * loaded from virt_base, a module of mod_len bytes and nr_pages of RAM.
 * 0, or -EINVAL / -ENOSPC with a static reason in *why: a region that is
 * not canonical, wraps, touches the hypervisor hole (L4 slots 256-271), or
 * needs more frames than the domain has.
 */
int pv_layout(uint64_t virt_base, uint64_t vkern_start, uint64_t vkern_end, uint64_t mod_len,
              uint64_t nr_pages, struct pv_layout *out, const char **why);

/*
 * Builds a 64-bit PV guest into the freshly created DOMTYPE_PV domain d
 * (no RAM yet), from a->elf (kind ELF_BOOT_PV, ELF64): RAM, M2P and P2M,
 * kernel and module, start_info, the hypercall page, the bootstrap page
 * tables (pinned as an L4 and made vCPU 0's base pointer). 0, or a
 * negative errno with *why set; on failure the caller calls
 * pv_domain_destroy() then domain_destroy().
 */
int pv_build(struct domain *d, const struct pvh_boot_args *a, const char **why);

/* The domain's PV state, NULL if none. */
struct pv_domain *pv_domain_of(const struct domain *d);

/*
 * Tears down the PV paging of d (pv_mm_teardown: every frame released) and
 * frees its PV state; call before domain_destroy(). Returns the number of
 * frames still referenced elsewhere (0 when all went back).
 */
uint64_t pv_domain_destroy(struct domain *d);
/* Drops the frame references VCPUOP_register_vcpu_info took (pv/pv_vcpu.c);
   the vCPUs' vcpu_info goes back to shared info. Before pv_mm_teardown. */
void pv_vcpu_info_release(struct domain *d);

/* ---- running PV vCPUs (pv/pv_run.c, pv/pv_entry.asm): Partial ---- */

struct vcpu;
struct cpu_regs;

/* Gives vCPU v its PV state, at the entry state e. 0 or -ENOMEM. */
int pv_vcpu_start(struct vcpu *v, const struct pv_entry_state *e);
/* Frees v's PV state and the references it holds (its GDT frames). */
void pv_vcpu_free(struct vcpu *v);
/* Runs v in ring 3 until it must stop (the scheduler's run step). */
void pv_run(struct vcpu *v);
/* An exception from ring 3: bounced to the PV guest's handler (true), or
   not a PV guest's (false). */
bool pv_trap_bounce(struct cpu_regs *r);
/* An interrupt taken in ring 3 was handled: leaves to the scheduler if the
   PV vCPU must stop, else returns (and the guest resumes). */
void pv_irq_return(struct cpu_regs *r);
/* The validator's check_segdesc_page for PV domains (pv/pv_desc.c). */
int pv_check_segdesc_page(struct pv_mm *mm, const uint64_t *descs);
/* Prints the vCPU's trap, page-table-write and emulation counters (the
   PV line of the counters printed at domain end and on debug key 'c'). */
void pv_print_counters(const struct vcpu *v);
/* Prints the vCPU's guest registers, mode, and the top of its stack (the
   crash dump and debug key 'd'). */
void pv_vcpu_dump(const struct vcpu *v);
/* The machine address of guest-virtual va through the vCPU's kernel
   tables (4 KiB mappings, user-accessible, writable if write, frames of
   the domain): false if there is none. */
bool pv_va_to_maddr(struct vcpu *v, uint64_t va, bool write, paddr_t *ma);
/* Guest-virtual copies through the vCPU's kernel L4 (guest_access.h's
   semantics: 0 or -EFAULT). */
int pv_copy_linear(struct vcpu *v, void *hv, uint64_t va, size_t len, bool to_guest);

#endif
