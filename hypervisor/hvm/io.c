/*
 * Guest port I/O. The only port devices are the i8254 PIT and port 0x61
 * (hvm/vpit.c); every other port reads as all-ones and drops writes (as on
 * Xen without a device model), like an unclaimed ISA port on real hardware. String forms (INS/OUTS, with
 * REP) are carried out element by element against guest memory, so guests
 * see the architectural effects on RDI/RSI/RCX and on their buffers.
 */
#include <proxenos/domain.h>
#include <proxenos/guest_access.h>
#include <proxenos/hvm.h>
#include <proxenos/lib.h>
#include <proxenos/vpit.h>

/* REP iterations per exit; the rest re-executes, so the guest stays
   preemptible whatever RCX it asks for. */
#define IO_MAX_REPS 256

static uint64_t size_mask(unsigned int bytes)
{
    return bytes >= 8 ? ~0ull : (1ull << (bytes * 8)) - 1;
}

/* Writes an IN result to RAX as a 1/2/4-byte register write would. */
static void set_rax_in(struct vcpu *v, unsigned int size, uint64_t val)
{
    uint64_t *rax = &v->hvm.regs.gpr[X86_REG_RAX];

    if (size == 4)
        *rax = (uint32_t)val;            /* 32-bit writes zero-extend */
    else
        *rax = (*rax & ~size_mask(size)) | (val & size_mask(size));
}

/* The port devices. An access must lie wholly inside a device's range to
   reach it (Xen's portio accept), else it is unclaimed. */
static const struct hvm_portio_handler *const port_devices[] = {
    &vpit_portio, &vpit_nmi_sc_portio,
};

static const struct hvm_portio_handler *port_device(uint16_t port, unsigned int size)
{
    for (unsigned int i = 0; i < ARRAY_SIZE(port_devices); i++) {
        const struct hvm_portio_handler *h = port_devices[i];

        if (port >= h->first && port + size <= (unsigned int)h->first + h->count)
            return h;
    }
    return NULL;
}

static uint64_t port_read(struct vcpu *v, uint16_t port, unsigned int size)
{
    const struct hvm_portio_handler *h = port_device(port, size);

    return h ? h->read(v, port, size) & size_mask(size) : size_mask(size);
}

static void port_write(struct vcpu *v, uint16_t port, unsigned int size, uint64_t val)
{
    const struct hvm_portio_handler *h = port_device(port, size);

    if (h)
        h->write(v, port, size, (uint32_t)val);
}

/* One element of INS/OUTS at seg:(R|E)DI/SI; returns an hvm_result. */
static enum hvm_result string_element(struct vcpu *v, const struct hvm_io *io,
                                      const struct x86_insn *insn, uint64_t amask)
{
    uint64_t *gpr = v->hvm.regs.gpr;
    unsigned int idx = io->in ? X86_REG_RDI : X86_REG_RSI;
    unsigned int seg = io->in ? HVM_SEG_ES : (insn->seg_override != X86_SEG_NONE ? insn->seg_override : HVM_SEG_DS);
    struct segment_register sr;
    struct x86_fault fault;
    uint64_t la, gpa, val = 0;
    int step = (v->hvm.regs.rflags & X86_FLAGS_DF) ? -(int)io->size : (int)io->size;

    hvm_ops->get_segment(v, seg, &sr);
    la = (hvm_guest_mode(v) == X86_MODE_64 && seg < HVM_SEG_FS ? 0 : sr.base) + (gpr[idx] & amask);
    if (hvm_guest_mode(v) != X86_MODE_64)
        la = (uint32_t)la;
    if (hvm_translate_linear(v, la, io->in, &gpa, &fault) == -X86EMUL_EXCEPTION) {
        hvm_inject_fault(v, &fault);
        return HVM_EXCEPTION;
    }
    if (io->in) {
        val = port_read(v, io->port, io->size);
        /* A destination that is not RAM (MMIO) takes the write as unbacked
           memory does: it is dropped. */
        copy_to_gpa(v->domain, gpa, &val, io->size);
    } else {
        copy_from_gpa(v->domain, &val, gpa, io->size);
        port_write(v, io->port, io->size, val);
    }
    gpr[idx] = (gpr[idx] & ~amask) | ((gpr[idx] + step) & amask);
    return HVM_DONE;
}

static enum hvm_result portio_string(struct vcpu *v, const struct hvm_io *io)
{
    struct x86_insn insn;
    uint64_t *rcx = &v->hvm.regs.gpr[X86_REG_RCX];
    uint64_t amask;
    int rc = hvm_fetch_insn(v, &insn);

    if (rc == -X86EMUL_EXCEPTION)
        return HVM_EXCEPTION;
    if (rc) {
        domain_crash(v->domain, CRASH_UNHANDLED_EXIT, "string I/O at port %#x: cannot decode", io->port);
        return HVM_CRASHED;
    }
    amask = size_mask(insn.adsize);
    if (!io->rep) {
        enum hvm_result r = string_element(v, io, &insn, amask);
        if (r == HVM_DONE)
            v->hvm.regs.rip += insn.len;
        return r == HVM_DONE ? HVM_NO_ADVANCE : r;
    }
    for (unsigned int n = 0; n < IO_MAX_REPS && (*rcx & amask); n++) {
        enum hvm_result r = string_element(v, io, &insn, amask);
        if (r != HVM_DONE)
            return r;
        *rcx = (*rcx & ~amask) | ((*rcx - 1) & amask);
    }
    if (!(*rcx & amask))
        v->hvm.regs.rip += insn.len;   /* done; otherwise re-execute the rest */
    return HVM_NO_ADVANCE;
}

enum hvm_result hvm_portio(struct vcpu *v, const struct hvm_io *io)
{
    if (io->size != 1 && io->size != 2 && io->size != 4) {
        domain_crash(v->domain, CRASH_HYPERVISOR, "I/O exit with size %u", io->size);
        return HVM_CRASHED;
    }
    if (io->string)
        return portio_string(v, io);
    if (io->in)
        set_rax_in(v, io->size, port_read(v, io->port, io->size));
    else
        port_write(v, io->port, io->size, v->hvm.regs.gpr[X86_REG_RAX] & size_mask(io->size));
    return HVM_DONE;
}
