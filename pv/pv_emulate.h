/*
 * The pure half of PV instruction emulation (pv/pv_emulate_decode.c): what
 * a faulting guest-kernel instruction is, whether a port is the domain's,
 * and the CPUID a PV guest sees. No hypervisor state: the unit test
 * (tests/unit/test_pv_emulate.c) runs it on the host. pv/pv_emulate.c
 * does the emulation with it.
 */
#ifndef PV_EMULATE_H
#define PV_EMULATE_H

#include <proxenos/types.h>
#include <proxenos/xen_abi.h>
#include <proxenos/hypercall.h>

/* Longest x86 instruction (SDM vol. 2, 2.3.11). */
#define PV_INSN_MAX 15

/* Xen's forced-emulation prefix (public/arch-x86/xen.h XEN_EMULATE_PREFIX:
   ud2a; .ascii "xen"), followed by the instruction to emulate. */
#define PV_FORCED_PREFIX_LEN 5

enum pv_insn_kind {
    PV_INSN_NONE,           /* not one the hypervisor completes */
    PV_INSN_IN,             /* IN AL/AX/EAX, imm8 or DX */
    PV_INSN_OUT,            /* OUT imm8 or DX, AL/AX/EAX */
    PV_INSN_INS,            /* [REP] INSB/W/D */
    PV_INSN_OUTS,           /* [REP] OUTSB/W/D */
    PV_INSN_CLI,
    PV_INSN_STI,
    PV_INSN_RDMSR,
    PV_INSN_WRMSR,
    PV_INSN_MOV_FROM_CR,    /* 0F 20 /r */
    PV_INSN_MOV_TO_CR,      /* 0F 22 /r */
    PV_INSN_CLTS,
    PV_INSN_WBINVD,         /* WBINVD, and WBNOINVD (F3 0F 09) */
    PV_INSN_RDTSC,          /* only faults with CR4.TSD */
    PV_INSN_CPUID,          /* only faults with CPUID faulting */
    PV_INSN_XSETBV,
    PV_INSN_HLT,            /* decoded to be counted; Xen does not emulate it */
    PV_INSN_FORCED_CPUID,   /* ud2a "xen" cpuid: the #UD path */
    PV_INSN_KINDS
};

struct pv_insn {
    enum pv_insn_kind kind;
    unsigned int len;       /* bytes, prefixes included: RIP moves on by this */
    unsigned int bytes;     /* I/O: 1, 2 or 4 */
    bool port_in_dx;        /* I/O: port in DX, else `port` */
    uint8_t port;           /* I/O: the imm8 form's port */
    bool rep;               /* INS/OUTS: F3 (F2 too: both repeat string I/O) */
    bool addr32;            /* INS/OUTS: 67 prefix, RSI/RDI/RCX used as 32-bit */
    uint8_t seg;            /* OUTS: segment override prefix byte, 0 if none (DS) */
    unsigned int cr;        /* MOV CR: the control register (REX.R included) */
    unsigned int gpr;       /* MOV CR: the general register, SDM numbering 0-15 */
};

/* Decodes the 64-bit-mode instruction at b[0..n) (n <= PV_INSN_MAX; fewer
   bytes if the rest was not readable). Returns 0 with *out filled, or -1:
   not an instruction the PV emulation handles (kind PV_INSN_NONE), or cut
   short. Lock prefixes, VEX and anything else unknown are refused. */
int pv_insn_decode(const uint8_t *b, size_t n, struct pv_insn *out);

/* The #UD path: b[0..n) starts with XEN_EMULATE_PREFIX then CPUID. */
bool pv_insn_forced_cpuid(const uint8_t *b, size_t n);

/* Xen's iopl_ok: a 64-bit PV kernel runs at (virtual) CPL 1, or 0 with
   VMASST_TYPE_architectural_iopl, user mode at CPL 3, and port I/O, CLI
   and STI need virtual IOPL >= CPL. */
bool pv_iopl_ok(unsigned int iopl, bool kernel_mode, bool architectural_iopl);

/* Xen's admin_io_okay: may the domain touch ports [port, port + bytes)
   directly? Only the hardware domain has ports, and not the ones the
   hypervisor drives (see pv_emulate_decode.c). False: reads give all-ones
   (or the emulated value for the RTC), writes are dropped. */
bool pv_io_direct_ok(uint16_t port, unsigned int bytes, bool hwdom);

/* The RTC/CMOS index and data ports, which Xen always emulates (the
   hypervisor keeps the index, so its own RTC reads are not disturbed). */
#define PV_RTC_INDEX 0x70
#define PV_RTC_DATA  0x71

/* What a byte at a port the domain may not touch directly becomes (Xen's
   guest_io_read/guest_io_write loop). */
enum pv_port_emul {
    PV_PORT_NONE,           /* reads 0xff, writes dropped */
    PV_PORT_PIT,            /* 0x42, 0x43: the domain's emulated PIT (Xen's pv_pit_handler) */
    PV_PORT_NMI_SC,         /* 0x61: its channel 2 gate and speaker bits */
    PV_PORT_RTC_INDEX,      /* 0x70: the index the hypervisor keeps (hardware domain) */
    PV_PORT_RTC_DATA,       /* 0x71: the real RTC at that index (hardware domain) */
};
enum pv_port_emul pv_port_emulated(uint16_t port, bool hwdom);

/* What the PV CPUID policy needs besides the HVM policy's input. */
struct pv_cpuid_input {
    struct hvm_cpuid_input hvm; /* host CPUID, vCPU, domain, TSC (apic_enabled: true) */
    bool hwdom_kernel;          /* hardware domain, guest kernel mode */
    bool from_gp;               /* a CPUID that faulted (#GP), not the forced one */
    bool pv_xsave;              /* XCR0 is kept for PV vCPUs: XSAVE may be offered */
    unsigned int maddr_bits;    /* bits of the highest machine address (leaf 0x40000005) */
};

/* The CPUID a 64-bit PV guest sees (Xen 4.17 guest_cpuid for a PV domain). */
void pv_cpuid_policy(const struct pv_cpuid_input *in, uint32_t leaf, uint32_t subleaf,
                     struct cpuid_regs *out);

/* Xen's pv_fixup_guest_cr4: the guest may toggle TSD and DE (its policy
   allowing), sees PAE/MCE/OSFXSR/OSXMMEXCPT of the host CR4, nothing else
   (FSGSBASE and OSXSAVE are not offered: no FSGSBASE or XSAVE in the PV
   CPUID). */
uint64_t pv_guest_cr4(uint64_t wanted, uint64_t host_cr4, bool has_tsc, bool has_de);

/* The name of an instruction kind, for counters ("?" if out of range). */
const char *pv_insn_name(enum pv_insn_kind kind);

/* pv_emulate.c: prints the vCPU's emulation counts on one line (nothing if
   none), for vCPU dumps and the end-of-domain counters. */
struct vcpu;
void pv_emulate_show_counts(struct vcpu *v);

#endif
