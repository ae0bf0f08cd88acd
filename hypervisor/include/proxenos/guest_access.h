/*
 * Copying to and from guest memory (hypervisor/hvm/guest_access.c).
 * Hypercall arguments are guest *linear* addresses: they are translated
 * through the vCPU's own page tables, then the p2m, page by page. Only the
 * domain's RAM (p2m_ram_*, and writes only to writable types) is reachable;
 * anything else is -EFAULT, never a fault in the hypervisor.
 */
#ifndef PROXENOS_GUEST_ACCESS_H
#define PROXENOS_GUEST_ACCESS_H
#include <proxenos/types.h>

struct vcpu;
struct domain;

/* Return 0, or -EFAULT if any byte is unreachable (nothing is undone). */
int copy_from_guest(struct vcpu *v, void *dst, uint64_t gla, size_t len);
int copy_to_guest(struct vcpu *v, uint64_t gla, const void *src, size_t len);
/* Copies a NUL-terminated string of at most max-1 bytes; -EFAULT, or
   -ENAMETOOLONG-like -E2BIG when no NUL is found within max. */
int copy_string_from_guest(struct vcpu *v, char *dst, uint64_t gla, size_t max);

/* The same by guest-physical address (domain builders, device models). */
int copy_from_gpa(struct domain *d, void *dst, uint64_t gpa, size_t len);
int copy_to_gpa(struct domain *d, uint64_t gpa, const void *src, size_t len);
int clear_gpa(struct domain *d, uint64_t gpa, size_t len);

/* Hypervisor pointer to one guest page of RAM (for shared info, vcpu_info,
   the hypercall page): NULL unless gfn is the domain's writable RAM. The
   mapping stays valid while the page stays in the p2m. */
void *gfn_to_virt(struct domain *d, uint64_t gfn, uint64_t *mfn_out);

#endif
