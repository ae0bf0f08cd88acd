/*
 * The 64-bit PV test guest environment (pv_head.asm, pv_lib.c): hypercalls
 * through the hypercall page, console output through console_io, verdicts,
 * the end through SCHEDOP_shutdown (poweroff: PASS, crash: FAIL), and what
 * several guests share: page-table walks and single updates, free pages of
 * the bootstrap region, shared info, exception handlers that record Xen's
 * frame, the trip to user mode and back.
 */
#ifndef PV_GUEST_H
#define PV_GUEST_H
#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>
#include <xen/xen.h>
#include <xen/sched.h>
#include <xen/errno.h>

#define PV_PAGE_SIZE 4096UL
#define PV_VIRT_BASE 0x400000UL                 /* pv_head.asm, pv_guest.lds */
#define PV_RO_MPT    0xffff800000000000UL     /* xen-x86_64.h RO_MPT_VIRT_START */
#define PV_FLAT_KERNEL_CS 0xe030                /* FLAT_RING3_CS64 with RPL 0 */
#define PV_FLAT_USER_CS   0xe033
#define PV_FLAT_SS        0xe02b
/* PTE bits */
#define PV_PTE_P  0x001UL
#define PV_PTE_RW 0x002UL
#define PV_PTE_US 0x004UL
#define PV_PTE_A  0x020UL
#define PV_PTE_D  0x040UL
#define PV_PTE_PS 0x080UL
#define PV_PTE_MFN(e) (((e) & 0x000ffffffffff000UL) >> 12)

extern uint8_t hypercall_page[];
extern start_info_t *pv_si;
extern unsigned int pv_failures;

long pv_hcall(unsigned int nr, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5);
/* SYSCALL with any number in RAX (not only the page's 128 stubs). */
long pv_hcall_raw(uint64_t nr, uint64_t a1, uint64_t a2);
void pv_puts(const char *s);
void pv_write(const char *s, size_t n);
void pv_put_hex(uint64_t v);
void pv_put_dec(long v);
size_t pv_strlen(const char *s);
bool pv_memeq(const void *a, const void *b, size_t n);
/* s holds `word` as a substring. */
bool pv_contains(const char *s, const char *word);
/* "  ok: what" or "FAIL: what (got X, want Y)". */
void pv_check(bool ok, const char *what, long got, long want);
static inline void pv_check_eq(const char *what, long got, long want)
{
    pv_check(got == want, what, got, want);
}
/* "WARN: what (got X, want Y)": a known divergence, not a failure. */
void pv_warn(bool ok, const char *what, long got, long want);
__attribute__((noreturn)) void pv_finish(void);
/* The guest command line (start_info) holds `word`. */
bool pv_cmdline_has(const char *word);

/* The machine frame of one of our virtual addresses in the bootstrap
   region (through the P2M list), and the virtual address of a frame of
   ours (through the read-only M2P). */
uint64_t pv_va_to_mfn(uint64_t va);
uint64_t pv_mfn_to_va(uint64_t mfn);
/* The machine address of the L1 entry that maps va, by a walk of the
   bootstrap tables (level 1), or of the entry of another level. */
uint64_t pv_pte_maddr(uint64_t va, int level);
static inline uint64_t pv_l1e_maddr(uint64_t va) { return pv_pte_maddr(va, 1); }
/* The entry at a machine address (the tables are mapped read-only). */
uint64_t pv_read_pte(uint64_t maddr);
/* Free pages of the bootstrap region after its stack, by number:
   0 the user L4 (pv_usermode), 1 the shared info mapping, 2 and up free
   for the tests. */
#define PV_SCRATCH_USER_L4 0
#define PV_SCRATCH_SHINFO  1
#define PV_SCRATCH_FREE    2
uint64_t pv_scratch_va(unsigned int n);
long pv_mmu_update1(uint64_t ptr, uint64_t val);
long pv_mmuext1(unsigned int cmd, uint64_t mfn);
/* Maps shared info at PV_SCRATCH_SHINFO (once): update_va_mapping's result. */
long pv_map_shared_info(struct shared_info **out);

/* Exception handlers (pv_head.asm): pv_trap_install registers a recording
   handler for vectors 0-31 and 0x80 (INT3, INTO and INT 0x80 allowed from
   user mode, DPL 3). Each exception is recorded in pv_trap_rec and returns
   with HYPERVISOR_iret to pv_trap_resume if set (then cleared), or to the
   frame's RIP. */
struct pv_trap_record {
    uint64_t count, vector, has_ec, entry_rsp;
    uint64_t frame[8];          /* RCX, R11, [EC], RIP, CS, RFLAGS, RSP, SS */
};
extern volatile struct pv_trap_record pv_trap_rec;
extern volatile uint64_t pv_trap_resume;
long pv_trap_install(void);
/* The frame's words after RCX, R11 and the error code. */
static inline uint64_t pv_trap_word(unsigned int i)
{
    return pv_trap_rec.frame[2 + pv_trap_rec.has_ec + i];
}
enum { PV_F_RIP, PV_F_CS, PV_F_RFLAGS, PV_F_RSP, PV_F_SS };

/* User mode (pv_head.asm): pv_run_user(rip, rsp) enters user mode by
   HYPERVISOR_iret and returns when the user code's SYSCALL reached
   pv_syscall_callback (which pv_user_setup registers), with its RAX, entry
   RSP and frame (RCX, R11, RIP, CS, RFLAGS, RSP, SS). */
void pv_run_user(uint64_t rip, uint64_t rsp);
extern char pv_syscall_callback[], pv_user_syscall[], pv_user_read_gs[], pv_user_ud2[],
    pv_user_ud2_resume[], pv_user_int80[], pv_user_pf[], pv_user_pf_resume[];
extern volatile uint64_t pv_cb_rax, pv_cb_rsp, pv_cb_frame[7];
extern char pv_event_callback[];
extern volatile uint64_t pv_event_count;
extern uint64_t pv_vcpu_info;

/* A guest's main: PV_TEST_MAIN(discovery) { ... } is pv_discovery's
   pv_test_main; built with PV_COMBINED (pv_all), it is pv_main_discovery,
   one part of the combined guest. */
#ifdef PV_COMBINED
#define PV_TEST_MAIN(n) void pv_main_##n(void)
#else
#define PV_TEST_MAIN(n) const char pv_test_name[] = "pv_" #n; void pv_test_main(void)
#endif
void pv_test_main(void);
extern const char pv_test_name[];
#endif
