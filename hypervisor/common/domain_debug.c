/*
 * What a user sees of a domain: its console output (line-buffered, each
 * line prefixed "(dN) "), its counters, and the dump of a vCPU's state.
 */
#include <proxenos/console.h>
#include <proxenos/domain.h>
#include <proxenos/pv.h>
#include <proxenos/hypercall.h>
#include <proxenos/lib.h>
#include <proxenos/printk.h>

const char *const hvm_exit_stat_names[HVM_NR_EXIT_STATS] = {
    [HVM_EXIT_CPUID] = "cpuid", [HVM_EXIT_MSR_READ] = "rdmsr", [HVM_EXIT_MSR_WRITE] = "wrmsr",
    [HVM_EXIT_IO] = "io", [HVM_EXIT_NPF] = "npf/mmio", [HVM_EXIT_HLT] = "hlt",
    [HVM_EXIT_HYPERCALL] = "hypercall", [HVM_EXIT_INTR] = "intr", [HVM_EXIT_NMI] = "nmi",
    [HVM_EXIT_EXCEPTION] = "exception", [HVM_EXIT_TRIPLE_FAULT] = "triple-fault",
    [HVM_EXIT_VINTR] = "vintr", [HVM_EXIT_PAUSE] = "pause", [HVM_EXIT_PREEMPT] = "preempt",
    [HVM_EXIT_OTHER] = "other",
};

static void flush_line(struct domain *d)
{
    char prefix[12];
    int n = px_snprintf(prefix, sizeof(prefix), "(d%u) ", d->domain_id);

    console_write(prefix, n);
    console_write(d->console_line, d->console_len);
    console_write("\n", 1);
    d->console_len = 0;
}

void domain_console_write(struct domain *d, const char *buf, size_t len)
{
    spin_lock(&d->lock);
    for (size_t i = 0; i < len; i++) {
        char c = buf[i];
        if (c == '\n') {
            flush_line(d);
            continue;
        }
        if (c == '\r')
            continue;
        /* Control characters could drive the user's terminal: show them. */
        if ((unsigned char)c < 32 && c != '\t')
            c = '.';
        d->console_line[d->console_len++] = c;
        if (d->console_len == sizeof(d->console_line))
            flush_line(d);
    }
    spin_unlock(&d->lock);
}

void domain_console_flush(struct domain *d)
{
    spin_lock(&d->lock);
    if (d->console_len)
        flush_line(d);
    spin_unlock(&d->lock);
}

static void print_vcpu_counters(const struct vcpu *v)
{
    char line[160];
    int n = 0;

    if (v->domain->type == DOMTYPE_PV)
        pv_print_counters(v);
    for (int i = 0; i < HVM_NR_EXIT_STATS && v->domain->type != DOMTYPE_PV; i++)
        if (v->exit_counts[i] && n < (int)sizeof(line))
            n += px_snprintf(line + n, sizeof(line) - n, " %s=%lu", hvm_exit_stat_names[i],
                             v->exit_counts[i]);
    if (v->domain->type != DOMTYPE_PV)
        printk("d%u v%u exits:%s\n", v->domain->domain_id, v->vcpu_id, n ? line : " none");
    n = 0;
    for (int i = 0; i < NR_HYPERCALLS; i++) {
        if (!v->hypercall_counts[i])
            continue;
        if (n > (int)sizeof(line) - 32) {
            printk("d%u v%u hypercalls:%s\n", v->domain->domain_id, v->vcpu_id, line);
            n = 0;
        }
        n += px_snprintf(line + n, sizeof(line) - n, " %s=%lu", hypercall_name(i),
                         v->hypercall_counts[i]);
    }
    if (v->hypercall_unknown)
        n += px_snprintf(line + n, sizeof(line) - n, " unknown=%lu", v->hypercall_unknown);
    printk("d%u v%u hypercalls:%s\n", v->domain->domain_id, v->vcpu_id, n ? line : " none");
}

void domain_print_counters(const struct domain *d)
{
    for (unsigned int i = 0; i < d->max_vcpus; i++)
        if (d->vcpu[i])
            print_vcpu_counters(d->vcpu[i]);
}

void vcpu_dump(const struct vcpu *v)
{
    const uint64_t *g = v->hvm.regs.gpr;

    if (v->domain->type == DOMTYPE_PV) {
        pv_vcpu_dump(v);
        return;
    }
    printk(LOG_ERR "d%u v%u state:\n", v->domain->domain_id, v->vcpu_id);
    printk(LOG_ERR "  rip: %016lx  rflags: %016lx\n", v->hvm.regs.rip, v->hvm.regs.rflags);
    printk(LOG_ERR "  rax: %016lx  rbx: %016lx  rcx: %016lx\n", g[X86_REG_RAX], g[X86_REG_RBX], g[X86_REG_RCX]);
    printk(LOG_ERR "  rdx: %016lx  rsi: %016lx  rdi: %016lx\n", g[X86_REG_RDX], g[X86_REG_RSI], g[X86_REG_RDI]);
    printk(LOG_ERR "  rbp: %016lx  rsp: %016lx  r8:  %016lx\n", g[X86_REG_RBP], g[X86_REG_RSP], g[X86_REG_R8]);
    printk(LOG_ERR "  r9:  %016lx  r10: %016lx  r11: %016lx\n", g[X86_REG_R9], g[X86_REG_R10], g[X86_REG_R11]);
    printk(LOG_ERR "  r12: %016lx  r13: %016lx  r14: %016lx\n", g[X86_REG_R12], g[X86_REG_R13], g[X86_REG_R14]);
    printk(LOG_ERR "  r15: %016lx\n", g[X86_REG_R15]);
    if (v->domain->type != DOMTYPE_PV && hvm_ops)
        hvm_ops->dump(v);
}

/* Debug key 'c': the counters of every live domain. */
static void key_counters(char key)
{
    unsigned int n = 0;

    for (unsigned int i = 0; i < MAX_DOMAINS; i++) {
        if (domain_table[i]) {
            domain_print_counters(domain_table[i]);
            n++;
        }
    }
    if (!n)
        printk("no domains\n");
}

/* Debug key 'd': the state of every vCPU. */
static void key_vcpus(char key)
{
    for (unsigned int i = 0; i < MAX_DOMAINS; i++) {
        struct domain *d = domain_table[i];
        for (unsigned int j = 0; d && j < d->max_vcpus; j++)
            if (d->vcpu[j])
                vcpu_dump(d->vcpu[j]);
    }
}

void domain_debug_keys_init(void)
{
    register_keyhandler('c', key_counters, "print exit and hypercall counters of every domain");
    register_keyhandler('d', key_vcpus, "dump the registers of every vCPU");
}
