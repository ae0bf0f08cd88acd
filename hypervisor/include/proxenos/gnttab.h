/*
 * Grant tables, version 1 (hypervisor/common/grant_table.c): Xen 4.17's
 * xen/include/public/grant_table.h as an HVM/PVH domain sees it.
 *
 * A domain's grant table is created on first use (a GNTTABOP_* call or
 * XENMEM_add_to_physmap of XENMAPSPACE_grant_table) with one shared frame,
 * and grows frame by frame up to GNTTAB_MAX_FRAMES as the guest maps
 * frames further out, as Xen's gnttab_grow_table does. Each shared frame
 * holds 512 grant_entry_v1_t; the hypervisor keeps beside it an "active"
 * entry per grant (who pinned it, how often, which machine frame) and a
 * table of the mappings the domain itself made (its grant handles).
 *
 * Mapping or copying a grant takes a general reference on the granted
 * frame (domain_get_frame) for as long as the mapping or copy lasts, so a
 * frame the granting domain balloons out stays allocated until the last
 * mapping of it goes.
 *
 * Locking: each table has one spinlock; no code holds two tables' locks at
 * once, nor takes a domain's d->lock while holding a table lock (so
 * domain_put_frame() is called with none held). Callers of
 * gnttab_frame_mfn() and gnttab_forget_gfn() hold d->lock, which guards
 * where the guest mapped each frame. The debug key 'g' (print the tables)
 * is registered when the first table is created.
 */
#ifndef PROXENOS_GNTTAB_H
#define PROXENOS_GNTTAB_H
#include <proxenos/types.h>
#include <proxenos/p2m.h>

struct vcpu;
struct domain;
struct hcall;

/* Xen's default gnttab_max_frames (opt_max_grant_frames). */
#define GNTTAB_MAX_FRAMES   64
/* Grant entries of version 1 per shared frame. */
#define GNTTAB_PER_FRAME    512
/* Mappings a domain may hold at once (its grant handles), in chunks of
   GNTTAB_MAPS_PER_CHUNK (Xen: 1024 maptrack frames of 256). */
#define GNTTAB_MAPS_PER_CHUNK 256
#define GNTTAB_MAX_MAP_CHUNKS 128
/* Operations of one map/unmap/copy call done per exit before it continues
   (Xen checks hypercall_preempt_check() between entries). */
#define GNTTAB_OPS_PER_EXIT 64

/* __HYPERVISOR_grant_table_op(cmd, uop, count). */
long do_grant_table_op(struct vcpu *v, struct hcall *h);

/*
 * XENMAPSPACE_grant_table (memory_op.c, with d->lock held): the machine
 * frame of shared frame `idx`, the table grown to idx + 1 frames if needed
 * (Xen's gnttab_get_shared_frame_mfn), and where the guest has it mapped
 * now (*where, ~0 if nowhere; the caller updates it). -EINVAL for a status
 * frame (version 2 only) or idx >= GNTTAB_MAX_FRAMES, -ENOMEM.
 */
int gnttab_frame_mfn(struct domain *d, uint64_t idx, mfn_t *mfn, gfn_t **where);
/* A special page at gfn was unmapped: a grant frame there is no longer mapped. */
void gnttab_forget_gfn(struct domain *d, gfn_t gfn);
/* Releases the domain's mappings of grants (its own and other domains'),
   its table and its frames. Called from domain_xen_teardown(). */
void gnttab_domain_destroy(struct domain *d);

/* Seams the unit tests replace (grant_table.c defines them on the direct
   map): a machine frame's contents, and the frame of a hypervisor page. */
void *gnttab_frame_va(mfn_t mfn);
mfn_t gnttab_va_mfn(const void *va);

/* ---- pure helpers, unit-tested on the host -------------------------------------------- */

/* Grant entries a table of nr_frames version-1 frames holds. */
static inline uint32_t gnttab_nr_entries(unsigned int nr_frames)
{
    return nr_frames * GNTTAB_PER_FRAME;
}

/* A GNTTABOP_copy segment stays inside its page (else GNTST_bad_copy_arg,
   Xen's gnttab_copy_buf). */
static inline bool gnttab_copy_in_page(uint16_t offset, uint16_t len)
{
    return (uint32_t)offset + len <= PAGE_SIZE;
}

#endif
