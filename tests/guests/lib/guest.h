/*
 * Proxenos test-guest framework: what a test guest (tests/guests/t_*.c) sees.
 *
 * A test defines its descriptor with TEST_GUEST() and a test_main(). The
 * framework boots it (PVH entry, long mode, IDT), finds the hypervisor by its
 * Xen CPUID leaves, picks the console (HYPERVISOR_console_io under a Xen-ABI
 * hypervisor, COM1 otherwise), calls test_main() and reports:
 *     "Test result: PASS|FAIL|SKIP", then SCHEDOP_shutdown(poweroff) for PASS
 *     and SKIP, SCHEDOP_shutdown(crash) for FAIL.
 * Without a hypervisor (plain QEMU -kernel), the verdict goes to QEMU's
 * isa-debug-exit port 0xf4 instead: 0x10 PASS (exit 33), 0x11 FAIL (35),
 * 0x13 SKIP (39).
 */
#ifndef GUEST_H
#define GUEST_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#include <xen/xen.h>
#include <xen/errno.h>
#include <xen/event_channel.h>
#include <xen/features.h>
#include <xen/grant_table.h>
#include <xen/memory.h>
#include <xen/sched.h>
#include <xen/vcpu.h>
#include <xen/version.h>
#include <xen/hvm/hvm_op.h>
#include <xen/hvm/params.h>
#include <xen/arch-x86/cpuid.h>
#include <xen/arch-x86/hvm/start_info.h>

#include "arch.h"
#include "layout.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define PAGE_SIZE 4096UL
#define __aligned(n) __attribute__((aligned(n)))
#define __printf(a, b) __attribute__((format(printf, a, b)))

/* --- test descriptor ------------------------------------------------------- */
enum test_needs {
    NEEDS_NOTHING,      /* also runs without a hypervisor (framework self checks) */
    NEEDS_XEN,          /* needs a Xen-ABI hypervisor: SKIP without one */
};
struct test_desc {
    const char *name;
    enum test_needs needs;
    const char *summary;
};
#define TEST_GUEST(name_, needs_, summary_) \
    const struct test_desc test_desc = { .name = (name_), .needs = (needs_), .summary = (summary_) }
extern const struct test_desc test_desc;
void test_main(void);

/* --- console --------------------------------------------------------------- */
int printk(const char *fmt, ...) __printf(1, 2);
int vprintk(const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...) __printf(3, 4);
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
void console_write(const char *s, size_t len);

/* --- verdicts -------------------------------------------------------------- */
void test_pass(const char *fmt, ...) __printf(1, 2);   /* one passed check: "  ok: ..." */
void test_fail(const char *fmt, ...) __printf(1, 2);   /* "FAIL: ...", the test goes on */
void test_skip(const char *fmt, ...) __printf(1, 2);   /* "SKIP: ..." */
void test_warn(const char *fmt, ...) __printf(1, 2);   /* "WARN: ...", not a failure */
__attribute__((noreturn)) void test_finish(void);       /* report and shut down */
bool check(bool ok, const char *fmt, ...) __printf(2, 3);
bool check_eq(const char *what, uint64_t got, uint64_t want);
bool check_rc(const char *what, long got, long want);  /* names errno values */
const char *errno_name(long rc);
unsigned int test_failures(void);

/* --- environment (filled before test_main) ----------------------------------- */
enum cpu_vendor { VENDOR_OTHER, VENDOR_INTEL, VENDOR_AMD };
extern enum cpu_vendor cpu_vendor;
extern char cpu_vendor_str[13];
extern bool xen_present;            /* Xen CPUID signature found */
extern uint32_t xen_cpuid_base;     /* 0x40000000 + n * 0x100 */
extern struct entry_state entry_state;
extern bool start_info_valid;
extern struct hvm_start_info start_info;        /* copy of the builder's */
#define MAX_MEMMAP 64
extern struct hvm_memmap_table_entry guest_memmap[MAX_MEMMAP];
extern unsigned int guest_memmap_nr;
extern char guest_cmdline[512];
/* Command-line flag "tcg": the CPU underneath is QEMU's TCG, whose known
 * deviations from the SDM/APM (no #AC, #GP for non-canonical SS accesses,
 * RSVD page faults without P, INT n #GP codes of vector*16+2, no PAT type
 * checks) tests then accept. Elsewhere (Bochs, hardware) they are failures. */
extern bool emu_tcg;
/* "key=value" from the command line into buf; false when absent. */
bool cmdline_get(const char *key, char *buf, size_t size);
/* End of the RAM region holding gpa (memmap type 1), 0 if gpa is not RAM. */
uint64_t ram_region_end(uint64_t gpa);
extern char _start_image[], _end[];

/* --- hypercalls ---------------------------------------------------------------- */
extern uint8_t hcall_method;                    /* HCALL_VMCALL / _VMMCALL / _PAGE */
extern uint8_t hypercall_page[4096];
long hypercall_raw(unsigned long nr, unsigned long a1, unsigned long a2,
                   unsigned long a3, unsigned long a4, unsigned long a5);
long hypercall_compat(uint32_t nr, uint32_t a1, uint32_t a2, uint32_t a3, int amd);
/* Writes the hypercall page MSR (leaf base+2 EBX); false if that #GPs. */
bool hypercall_page_init(void);
uint8_t hcall_direct_method(void);              /* VMCALL or VMMCALL by vendor */

static inline long HYPERVISOR_xen_version(int cmd, void *arg)
{ return hypercall_raw(__HYPERVISOR_xen_version, (unsigned int)cmd, (uintptr_t)arg, 0, 0, 0); }
static inline long HYPERVISOR_console_io(int cmd, unsigned int count, const void *buf)
{ return hypercall_raw(__HYPERVISOR_console_io, (unsigned int)cmd, count, (uintptr_t)buf, 0, 0); }
static inline long HYPERVISOR_sched_op(int cmd, void *arg)
{ return hypercall_raw(__HYPERVISOR_sched_op, (unsigned int)cmd, (uintptr_t)arg, 0, 0, 0); }
static inline long HYPERVISOR_memory_op(unsigned int cmd, void *arg)
{ return hypercall_raw(__HYPERVISOR_memory_op, cmd, (uintptr_t)arg, 0, 0, 0); }
static inline long HYPERVISOR_hvm_op(unsigned int op, void *arg)
{ return hypercall_raw(__HYPERVISOR_hvm_op, op, (uintptr_t)arg, 0, 0, 0); }
static inline long HYPERVISOR_vcpu_op(int cmd, unsigned int vcpu, void *arg)
{ return hypercall_raw(__HYPERVISOR_vcpu_op, (unsigned int)cmd, vcpu, (uintptr_t)arg, 0, 0); }
static inline long HYPERVISOR_event_channel_op(int cmd, void *arg)
{ return hypercall_raw(__HYPERVISOR_event_channel_op, (unsigned int)cmd, (uintptr_t)arg, 0, 0, 0); }
static inline long HYPERVISOR_grant_table_op(unsigned int cmd, void *arg, unsigned int count)
{ return hypercall_raw(__HYPERVISOR_grant_table_op, cmd, (uintptr_t)arg, count, 0, 0); }

/* --- exceptions -------------------------------------------------------------------- */
/* The last exception taken (any vector), for tests to inspect. */
struct exinfo {
    bool taken;
    unsigned int count;         /* exceptions since exinfo_clear() */
    uint8_t vector;
    uint64_t error_code, rip, cr2, rflags;
    uint16_t cs;                /* code segment interrupted */
    bool from_user;
};
extern volatile struct exinfo last_exception;
void exinfo_clear(void);
const char *exception_name(unsigned int vector);

/*
 * An extable entry resumes a fault at `fixup`: for an instruction at label 1
 * that may fault, and label 2 after it, put EXTABLE(1b, 2b) in the asm. Traps
 * (#BP, #DB, INT n) report the RIP after the instruction: key those on 2b.
 */
#define EXTABLE(fault, fixup) \
    ".pushsection .extable, \"a\"\n .balign 8\n .quad " #fault ", " #fixup "\n .popsection\n"

/* Runs fn(arg): 0 if it returned, 1 if an exception unwound it (see exinfo). */
int catch_call(void (*fn)(void *), void *arg);
/* Runs fn at CPL 3; returns its result, or EXEC_USER_FAULTED on an exception. */
uint64_t exec_user(uint64_t (*fn)(void));
#define EXEC_USER_FAULTED 0xdead0000fa017ed0ULL
typedef void (*trap_handler_t)(struct cpu_regs *regs);
void set_trap_handler(unsigned int vector, trap_handler_t fn);
void set_gate_present(unsigned int vector, bool present);  /* IDT P bit */
void load_empty_idt(void);      /* for the triple-fault guest */

bool rdmsr_safe(uint32_t msr, uint64_t *val);   /* false (and exinfo) on a fault */
bool wrmsr_safe(uint32_t msr, uint64_t val);

/* --- memory ------------------------------------------------------------------------ */
/* Maps the 2 MiB-aligned physical range at pa into scratch slot n (0-511). */
void *map_scratch(unsigned int slot, uint64_t pa, uint64_t flags);
/* The 2 MiB page-directory entry mapping linear va (va < 4 GiB or scratch). */
volatile uint64_t *pd_entry(uint64_t va);

void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
void *memmove(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t max);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strstr(const char *hay, const char *needle);

#endif
