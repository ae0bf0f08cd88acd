/*
 * Domains and virtual CPUs (hypervisor/common/domain.c, vcpu.c).
 *
 * Field tags say who sets a field and what guards it:
 *   (c) set once at creation, read-only afterwards
 *   (d) guarded by domain->lock
 *   (v) touched only by the physical CPU that runs the vCPU
 *   (a) atomic / single-writer flag read without a lock
 */
#ifndef PROXENOS_DOMAIN_H
#define PROXENOS_DOMAIN_H
#include <proxenos/types.h>
#include <proxenos/spinlock.h>
#include <proxenos/p2m.h>
#include <proxenos/hvm.h>
#include <proxenos/platform.h>
#include <proxenos/vpit.h>
#include <proxenos/xen_abi.h>    /* before any <xen/...>: sets the 4.17 interface */
#include <xen/xen.h>
#include <xen/sched.h>

#define MAX_DOMAINS       16
#define MAX_VCPUS_PER_DOM 8
#define NR_HYPERCALLS     64
#define DOMAIN_NAME_LEN   16

enum domain_type { DOMTYPE_PVH, DOMTYPE_HVM, DOMTYPE_PV };

/* Why a domain stopped, beyond Xen's SHUTDOWN_* reasons. */
enum crash_cause {
    CRASH_NONE = 0,
    CRASH_GUEST_REQUEST,     /* SCHEDOP_shutdown(SHUTDOWN_crash) */
    CRASH_TRIPLE_FAULT,
    CRASH_BAD_STATE,         /* VM entry refused the guest state */
    CRASH_UNHANDLED_EXIT,
    CRASH_WATCHDOG,
    CRASH_HYPERVISOR,        /* the hypervisor found the domain inconsistent */
};

struct vcpu {
    unsigned int vcpu_id;            /* (c) */
    struct domain *domain;           /* (c) */
    unsigned int processor;          /* (d) physical CPU it runs on */
    bool is_up;                      /* (a) VCPUOP_up / boot vCPU */
    bool is_blocked;                 /* (a) SCHEDOP_block / HLT: waits for an event */
    bool is_running;                 /* (a) currently in guest mode on `processor` */
    bool needs_flush;                /* (v) TLB/ASID flush before the next entry */
    struct hvm_vcpu hvm;             /* (v) generic HVM state, hvm.h */
    void *vendor;                    /* (v) backend state: struct svm_vcpu / vmx_vcpu */
    struct vcpu_info *vcpu_info;     /* (d) where the guest registered it */
    paddr_t vcpu_info_maddr;         /* (d) its machine address, 0 if in shared info */
    uint64_t exit_counts[HVM_NR_EXIT_STATS];     /* (v) hvm.h exit classes */
    uint64_t hypercall_counts[NR_HYPERCALLS];    /* (v) */
    uint64_t hypercall_unknown;                  /* (v) numbers >= NR_HYPERCALLS */
    struct timer watchdog_timer;     /* unused by vCPUs >0 */
};

struct domain {
    domid_t domain_id;               /* (c) */
    char name[DOMAIN_NAME_LEN];      /* (c) */
    enum domain_type type;           /* (c) */
    spinlock_t lock;
    unsigned int max_vcpus;          /* (c) */
    struct vcpu *vcpu[MAX_VCPUS_PER_DOM]; /* (c) */
    struct p2m p2m;                  /* own lock */
    uint64_t tot_pages;              /* (d) RAM pages owned */
    mfn_t ram_blocks;                /* (d) first block of RAM given to the domain:
                                        head frames chained through page_info.list.next
                                        (MFNs), each block of its buddy order */
    uint64_t max_pages;              /* (d) */
    struct shared_info *shared_info; /* (c) hypervisor-side mapping */
    paddr_t shared_info_maddr;       /* (c) */
    gfn_t shared_info_gfn;           /* (d) where the guest mapped it, ~0 if not */
    uint64_t hvm_params[64];         /* (d) HVM_PARAM_* */
    bool is_initial;                 /* (c) the boot-time domain (dom0) */
    bool is_shutting_down;           /* (a) */
    unsigned int shutdown_code;      /* (d) SHUTDOWN_* */
    enum crash_cause crash_cause;    /* (d) */
    bool is_dead;                    /* (a) torn down, slot free */
    /* Guest console output, line-buffered so lines from domains don't mix. */
    char console_line[160];          /* (d) */
    unsigned int console_len;        /* (d) */
    struct timer watchdog;           /* (d) SCHEDOP_watchdog */
    s_time_t watchdog_timeout;       /* (d) 0: not armed */
    /* Guest memory layout as built: the e820 handed to the guest. */
    struct xen_e820 {
        uint64_t addr, size;
        uint32_t type;
    } e820[16];                      /* (c) */
    unsigned int nr_e820;            /* (c) */

    /* --- Xen guest interface (hypercall.h): zero at creation, released by
       domain_xen_teardown() --- */
    struct hvm_msrs {                /* hvm/msr.c: emulated MSRs of vCPU [i] */
        bool init;                   /*   reset values applied */
        uint64_t pat;                /*   IA32_PAT, if a backend intercepts it */
        uint64_t mtrr_def_type;
        uint64_t mtrr_fixed[11];     /*   FIX64K_00000, FIX16K_*, FIX4K_* */
        uint64_t mtrr_var[16];       /*   PHYSBASE0, PHYSMASK0, ... */
    } msr[MAX_VCPUS_PER_DOM];        /* (v) */
    uint64_t msr_refused;            /* (a) MSR accesses answered with #GP */
    uint8_t shutdown_code_req;       /* (d) SCHEDOP_shutdown_code's reason ... */
    bool shutdown_code_set;          /* (d) ... if one was given */
    uint8_t watchdog_inuse;          /* (d) bit i: SCHEDOP_watchdog id i+1 held */
    struct timer watchdog2;          /* (d) id 2 (Xen has two); id 1 is `watchdog` */
    struct grant_table *grant_table; /* (a) grant_table.c (gnttab.h): NULL until first used */
    struct vpit vpit;                /* own lock: hvm/vpit.c, the i8254 PIT and port 0x61 */
};

extern struct domain *domain_table[MAX_DOMAINS];

/* Creates an empty domain with max_vcpus vCPUs (not yet runnable). */
struct domain *domain_create(domid_t id, enum domain_type type, unsigned int max_vcpus,
                             const char *name);
/* Gives the domain nr_pages of fresh zeroed RAM at gfn (2 MiB pages where possible). */
int domain_populate_ram(struct domain *d, gfn_t gfn, uint64_t nr_pages);
void domain_destroy(struct domain *d);
/* Shuts the domain down with a SHUTDOWN_* reason; the last one ends the machine. */
void domain_shutdown(struct domain *d, unsigned int reason);
/* Crashes the domain alone, with a readable dump of the offending vCPU. */
void domain_crash(struct domain *d, enum crash_cause cause, const char *fmt, ...) __printf(3, 4);
/* Starts vCPU 0 at its prepared initial state. */
void domain_unpause(struct domain *d);
struct domain *domain_by_id(domid_t id);
/* The vCPU the current physical CPU is running (NULL in the idle context). */
struct vcpu *current_vcpu(void);
void vcpu_dump(const struct vcpu *v);
/* Prints per-exit and per-hypercall counters for a domain. */
void domain_print_counters(const struct domain *d);
/* Registers the debug keys 'c' (counters) and 'd' (vCPU dumps). */
void domain_debug_keys_init(void);

/*
 * General references on the domain's RAM frames (frame.h count_info), for
 * whatever keeps using a frame after a hypercall returns (grant mappings and
 * copies). domain_get_frame() fails unless mfn is d's RAM with its
 * allocation reference; domain_put_frame() drops one, and the last one of a
 * frame the domain gave back (domain_release_gfn) frees it, once its whole
 * buddy block is free. Neither takes a lock the caller may hold, except
 * that the free takes d->lock: call domain_put_frame() without it.
 */
bool domain_get_frame(struct domain *d, mfn_t mfn);
void domain_put_frame(mfn_t mfn);
/* XENMEM_decrease_reservation's guest_remove_page: unmaps the RAM page at
   gfn and drops the domain's allocation reference (tot_pages shrinks).
   -ENOENT if nothing is mapped there, -ENXIO if it is not the domain's
   RAM, -EBUSY if the hypervisor keeps a vcpu_info in it. */
int domain_release_gfn(struct domain *d, gfn_t gfn);

/* Writes a domain's console output, prefixed "(dN) " per line. */
void domain_console_write(struct domain *d, const char *buf, size_t len);
/* Prints what is buffered of an unfinished line. */
void domain_console_flush(struct domain *d);

#endif
