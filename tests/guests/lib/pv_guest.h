/*
 * The 64-bit PV test guest environment (pv_head.asm, pv_lib.c): hypercalls
 * through the hypercall page, console output through console_io, verdicts,
 * and the end through SCHEDOP_shutdown (poweroff: PASS, crash: FAIL).
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
#define PV_RO_MPT    0xffff800000000000UL     /* xen-x86_64.h RO_MPT_VIRT_START */

extern uint8_t hypercall_page[];
extern start_info_t *pv_si;
extern unsigned int pv_failures;

long pv_hcall(unsigned int nr, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5);
void pv_puts(const char *s);
void pv_put_hex(uint64_t v);
void pv_put_dec(long v);
/* "  ok: what" or "FAIL: what (got X, want Y)". */
void pv_check(bool ok, const char *what, long got, long want);
__attribute__((noreturn)) void pv_finish(void);

/* The machine frame of one of our virtual addresses in the bootstrap
   region (through the P2M list), and the virtual address of a frame of
   ours (through the read-only M2P). */
uint64_t pv_va_to_mfn(uint64_t va);
uint64_t pv_mfn_to_va(uint64_t mfn);

void pv_test_main(void);
extern const char pv_test_name[];
#endif
