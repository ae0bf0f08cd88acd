/*
 * Nested page faults: accesses to guest-physical addresses that have no RAM
 * behind them. The faulting instruction is fetched, decoded and emulated
 * (x86emul) against the registered MMIO device models; addresses no device
 * claims read as all-ones and drop writes, as unclaimed bus cycles do on
 * real hardware and as Xen does for a domain without a device model.
 */
#include <proxenos/domain.h>
#include <proxenos/hvm.h>
#include <proxenos/guest_access.h>
#include <proxenos/hvm_mmio.h>
#include <proxenos/lib.h>
#include <proxenos/printk.h>

#define MAX_MMIO_HANDLERS 8
/* The same fault on a page the p2m says is RAM, again and again, means the
   tables disagree with the hardware: stop instead of looping forever. */
#define MAX_SPURIOUS_NPF 64

static const struct hvm_mmio_handler *handlers[MAX_MMIO_HANDLERS];
static unsigned int nr_handlers;

void hvm_register_mmio(const struct hvm_mmio_handler *h)
{
    BUG_ON(nr_handlers == MAX_MMIO_HANDLERS);
    handlers[nr_handlers++] = h;
}

static const struct hvm_mmio_handler *find_handler(struct vcpu *v, uint64_t gpa)
{
    for (unsigned int i = 0; i < nr_handlers; i++) {
        const struct hvm_mmio_handler *h = handlers[i];
        if (h->accepts(v, gpa))
            return h;
    }
    return NULL;
}

struct mmio_ctx {
    struct x86emul_ctx emul;
    struct vcpu *v;
};

static struct vcpu *ctx_vcpu(struct x86emul_ctx *c)
{
    return ((struct mmio_ctx *)c)->v;
}

static int mmio_read(struct x86emul_ctx *c, uint64_t gpa, unsigned int size, uint64_t *val)
{
    struct vcpu *v = ctx_vcpu(c);
    const struct hvm_mmio_handler *h = find_handler(v, gpa);

    if (h)
        return h->read(v, gpa, size, val);
    *val = size >= 8 ? ~0ull : (1ull << (size * 8)) - 1;
    return 0;
}

static int mmio_write(struct x86emul_ctx *c, uint64_t gpa, unsigned int size, uint64_t val)
{
    struct vcpu *v = ctx_vcpu(c);
    const struct hvm_mmio_handler *h = find_handler(v, gpa);

    return h ? h->write(v, gpa, size, val) : 0;
}

static int linear_to_phys(struct x86emul_ctx *c, uint64_t la, uint32_t access, uint64_t *gpa)
{
    return hvm_translate_linear(ctx_vcpu(c), la, access & X86_PFEC_W, gpa, &c->fault);
}

/* Operands in RAM (the other side of a MOVS, say): through the p2m. */
static int read_linear(struct x86emul_ctx *c, uint64_t la, void *buf, unsigned int len)
{
    uint64_t gpa;
    int rc = linear_to_phys(c, la, 0, &gpa);

    if (rc)
        return rc;
    if (copy_from_gpa(ctx_vcpu(c)->domain, buf, gpa, len)) {
        uint64_t val;
        if (len > 8 || (rc = mmio_read(c, gpa, len, &val)))
            return rc ? rc : -X86EMUL_UNHANDLED;
        memcpy(buf, &val, len);
    }
    return 0;
}

static int write_linear(struct x86emul_ctx *c, uint64_t la, const void *buf, unsigned int len)
{
    uint64_t gpa, val = 0;
    int rc = linear_to_phys(c, la, X86_PFEC_W, &gpa);

    if (rc)
        return rc;
    if (copy_to_gpa(ctx_vcpu(c)->domain, gpa, buf, len)) {
        if (len > 8)
            return -X86EMUL_UNHANDLED;
        memcpy(&val, buf, len);
        return mmio_write(c, gpa, len, val);
    }
    return 0;
}

static const struct x86emul_ops mmio_ops = {
    .read_linear = read_linear, .write_linear = write_linear,
    .linear_to_phys = linear_to_phys, .mmio_read = mmio_read, .mmio_write = mmio_write,
};

static enum hvm_result emulate(struct vcpu *v, uint64_t gpa)
{
    struct mmio_ctx ctx = { .v = v };
    struct x86_insn insn;
    int rc = hvm_fetch_insn(v, &insn);

    if (rc == -X86EMUL_EXCEPTION)
        return HVM_EXCEPTION;
    if (!rc) {
        ctx.emul.ops = &mmio_ops;
        ctx.emul.mode = hvm_guest_mode(v);
        ctx.emul.cpl = hvm_guest_cpl(v);
        ctx.emul.mmio_gpa = gpa;
        ctx.emul.max_reps = 256;
        for (unsigned int s = 0; s < X86_NR_SEGS; s++) {
            struct segment_register sr;
            hvm_ops->get_segment(v, s, &sr);
            ctx.emul.seg_base[s] = sr.base;
        }
        rc = x86_emulate(&ctx.emul, &v->hvm.regs, &insn);
        if (!rc)
            return HVM_NO_ADVANCE;       /* the emulator moved RIP */
        if (rc == -X86EMUL_EXCEPTION) {
            hvm_inject_fault(v, &ctx.emul.fault);
            return HVM_EXCEPTION;
        }
    }
    domain_crash(v->domain, CRASH_UNHANDLED_EXIT,
                 "cannot emulate the access to %#lx at rip %016lx (error %d)",
                 gpa, v->hvm.regs.rip, rc);
    return HVM_CRASHED;
}

enum hvm_result hvm_npf(struct vcpu *v, uint64_t gpa, bool write, bool fetch)
{
    mfn_t mfn;
    enum p2m_type t = p2m_lookup(&v->domain->p2m, gpa >> PAGE_SHIFT, &mfn);

    if (fetch) {
        domain_crash(v->domain, CRASH_UNHANDLED_EXIT,
                     "instruction fetch from %#lx, which is not RAM (%s)", gpa, p2m_type_name(t));
        return HVM_CRASHED;
    }
    if (p2m_is_ram(t) && !(write && t == p2m_ram_ro)) {
        if (++v->hvm.spurious_npf > MAX_SPURIOUS_NPF) {
            domain_crash(v->domain, CRASH_HYPERVISOR,
                         "repeated nested page faults on RAM at %#lx", gpa);
            return HVM_CRASHED;
        }
        return HVM_NO_ADVANCE;           /* raced with a p2m update: retry */
    }
    v->hvm.spurious_npf = 0;
    return emulate(v, gpa);
}
