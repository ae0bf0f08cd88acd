/*
 * The generic HVM layer: choosing the vendor backend, guest mode and
 * paging queries, exception injection, instruction lengths, and the exits
 * whose handling does not depend on the vendor (HLT, triple fault).
 */
#include <proxenos/cmdline.h>
#include <proxenos/domain.h>
#include <proxenos/hvm.h>
#include <proxenos/io.h>
#include <proxenos/lib.h>
#include <proxenos/printk.h>
#include <proxenos/sched.h>

const struct hvm_function_table *hvm_ops;

/* Backends: each returns its table, or NULL after printing why not. A
   backend that is not built at all is a weak NULL symbol. */
extern const struct hvm_function_table *svm_probe(void) __attribute__((weak));
extern const struct hvm_function_table *vmx_probe(void) __attribute__((weak));

static char opt_hvm[8] = "auto";
string_param("hvm", opt_hvm);

int hvm_read_phys(void *priv, uint64_t gpa, void *buf, unsigned int len);

bool hvm_enabled(void)
{
    return hvm_ops != NULL;
}

static const struct hvm_function_table *try_backend(const char *name,
                                                    const struct hvm_function_table *(*probe)(void))
{
    if (strcmp(opt_hvm, "auto") && strcmp(opt_hvm, name))
        return NULL;
    if (!probe) {
        printk("HVM: the %s backend is not part of this build\n", name);
        return NULL;
    }
    return probe();
}

int hvm_init(void)
{
    const struct hvm_function_table *ops;

    if (strcmp(opt_hvm, "auto") && strcmp(opt_hvm, "svm") && strcmp(opt_hvm, "vmx") &&
        strcmp(opt_hvm, "off"))
        printk(LOG_WARN "hvm=%s: expected auto, svm, vmx or off\n", opt_hvm);
    if (!strcmp(opt_hvm, "off")) {
        printk("HVM: disabled by hvm=off\n");
        return -ENODEV;
    }
    ops = try_backend("svm", svm_probe);
    if (!ops)
        ops = try_backend("vmx", vmx_probe);
    if (!ops) {
        printk(LOG_WARN "HVM: no usable hardware virtualization: PVH and HVM guests cannot run\n");
        return -ENODEV;
    }
    if (ops->cpu_up()) {
        printk(LOG_ERR "HVM: %s could not be enabled on CPU 0\n", ops->name);
        return -ENODEV;
    }
    hvm_ops = ops;
    printk("HVM: %s backend, nested paging (%s)%s%s%s\n", ops->name, ops->p2m_format->name,
           ops->nrip ? ", next-RIP" : "", ops->tagged_tlb_flush ? ", tagged TLB flush" : "",
           ops->unrestricted_guest ? ", unrestricted guest" : "");
    return 0;
}

enum x86_mode hvm_guest_mode(struct vcpu *v)
{
    struct segment_register cs;

    hvm_ops->get_segment(v, HVM_SEG_CS, &cs);
    if ((hvm_ops->get_efer(v) & EFER_LMA) && (cs.attr & SEG_ATTR_L))
        return X86_MODE_64;
    if (!(hvm_ops->get_cr(v, 0) & X86_CR0_PE))
        return X86_MODE_16;
    return (cs.attr & SEG_ATTR_DB) ? X86_MODE_32 : X86_MODE_16;
}

unsigned int hvm_guest_cpl(struct vcpu *v)
{
    struct segment_register ss;

    if (!(hvm_ops->get_cr(v, 0) & X86_CR0_PE))
        return 0;
    hvm_ops->get_segment(v, HVM_SEG_SS, &ss);
    return SEG_ATTR_DPL(ss.attr);
}

static uint8_t guest_maxphyaddr(void)
{
    static uint8_t bits;
    uint32_t a, b, c, d;

    if (!bits) {
        cpuid(0x80000000, &a, &b, &c, &d);
        bits = 36;
        if (a >= 0x80000008) {
            cpuid(0x80000008, &a, &b, &c, &d);
            bits = a & 0xff;
        }
    }
    return bits;
}

void hvm_get_paging(struct vcpu *v, struct x86_paging *pg)
{
    uint64_t cr0 = hvm_ops->get_cr(v, 0), cr4 = hvm_ops->get_cr(v, 4);
    uint64_t efer = hvm_ops->get_efer(v);

    memset(pg, 0, sizeof(*pg));
    pg->mode = x86_paging_mode_from_regs(cr0, cr4, efer);
    pg->maxphyaddr = guest_maxphyaddr();
    pg->pse = cr4 & X86_CR4_PSE;
    pg->nxe = efer & EFER_NXE;
    pg->wp = cr0 & X86_CR0_WP;
    pg->smep = cr4 & (1u << 20);
    pg->smap = cr4 & (1u << 21);
    pg->ac = v->hvm.regs.rflags & X86_FLAGS_AC;
    pg->gbpages = true;
    pg->cr3 = hvm_ops->get_cr(v, 3);
    pg->read_phys = hvm_read_phys;
    pg->priv = v->domain;
}

void hvm_inject_exception(struct vcpu *v, uint8_t vector, bool has_ec, uint32_t ec)
{
    struct hvm_event ev = { .vector = vector, .type = HVM_EV_EXCEPTION,
                            .has_error_code = has_ec, .error_code = ec };

    if (!hvm_ops->inject_event(v, &ev))
        domain_crash(v->domain, CRASH_HYPERVISOR,
                     "exception %u while another event was pending", vector);
}

void hvm_inject_page_fault(struct vcpu *v, uint32_t ec, uint64_t cr2)
{
    hvm_ops->set_cr(v, 2, cr2);
    hvm_inject_exception(v, X86_EXC_PF, true, ec);
}

void hvm_inject_fault(struct vcpu *v, const struct x86_fault *f)
{
    if (f->vector == X86_EXC_PF)
        hvm_inject_page_fault(v, f->error_code, f->cr2);
    else
        hvm_inject_exception(v, f->vector, f->has_error_code, f->error_code);
}

/* Fetches and decodes the instruction at the guest's CS:RIP. */
int hvm_fetch_insn(struct vcpu *v, struct x86_insn *insn)
{
    struct x86_paging pg;
    struct x86_fault fault;
    struct segment_register cs;
    enum x86_mode mode = hvm_guest_mode(v);
    uint64_t la;
    int rc;

    hvm_get_paging(v, &pg);
    hvm_ops->get_segment(v, HVM_SEG_CS, &cs);
    la = mode == X86_MODE_64 ? v->hvm.regs.rip : (uint32_t)(cs.base + v->hvm.regs.rip);
    rc = x86_fetch_decode(&pg, la, mode, hvm_guest_cpl(v) == 3, insn, &fault);
    if (rc == -X86EMUL_EXCEPTION)
        hvm_inject_fault(v, &fault);
    return rc;
}

int hvm_insn_length(struct vcpu *v, unsigned int *len)
{
    struct x86_insn insn;
    int rc = hvm_fetch_insn(v, &insn);

    if (!rc)
        *len = insn.len;
    return rc;
}

enum hvm_result hvm_hlt(struct vcpu *v)
{
    struct domain *d = v->domain;

    /* HLT with interrupts off: only NMI or INIT could wake the vCPU, and
       nothing sends them, so it goes down, as on Xen (hvm_hlt ->
       hvm_vcpu_down). This is how a guest that halts all its CPUs, like
       Linux after "reboot: System halted", ends: when no vCPU is left up,
       the domain is powered off. */
    if (!(v->hvm.regs.rflags & X86_FLAGS_IF)) {
        v->is_up = false;
        printk("d%u v%u: HLT with interrupts disabled: vCPU down\n", d->domain_id, v->vcpu_id);
        for (unsigned int i = 0; i < d->max_vcpus; i++)
            if (d->vcpu[i] && d->vcpu[i]->is_up)
                return HVM_DONE;
        printk("d%u: all vCPUs offline: powering off\n", d->domain_id);
        domain_shutdown(d, SHUTDOWN_poweroff);
        return HVM_DONE;
    }
    v->is_blocked = true;
    return HVM_DONE;
}

void hvm_triple_fault(struct vcpu *v)
{
    domain_crash(v->domain, CRASH_TRIPLE_FAULT, "the guest triple-faulted at rip %016lx",
                 v->hvm.regs.rip);
}
