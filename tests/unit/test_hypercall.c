/* Hypercall dispatch and the sub-ops, through hvm_hypercall() as a guest
   makes them, with hostile arguments: a fake guest (identity-mapped RAM at
   gfn 0x100-0x13f over a real p2m), fake console, timers and shutdown. */
/* @sources: hypervisor/common/hypercall.c hypervisor/common/xen_version.c hypervisor/common/console_io.c hypervisor/common/sched_op.c hypervisor/common/memory_op.c hypervisor/common/hvm_op.c hypervisor/common/vcpu_op.c hypervisor/common/grant_table.c hypervisor/common/physdev_op.c hypervisor/p2m/p2m.c hypervisor/lib/format.c */
#include "cmocka_prelude.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <proxenos/xen_abi.h>
#include <xen/grant_table.h>
#include <proxenos/bootinfo.h>
#include <proxenos/domain.h>
#include <proxenos/frame.h>
#include <proxenos/gnttab.h>
#include <proxenos/guest_access.h>
#include <proxenos/hypercall.h>
#include <proxenos/mm.h>

/* ---- a small machine --------------------------------------------------------------- */

#define RAM_GFN   0x100ull          /* guest RAM: gfn 0x100-0x13f ... */
#define RAM_MFN   0x1000ull         /* ... on mfn 0x1000-0x103f */
#define RAM_PAGES 64
#define SHINFO_MFN 0x1f00ull
#define G(off)    ((RAM_GFN << 12) + (off))    /* guest address (linear = physical) */
#define G_END     G(RAM_PAGES * 4096ull)

static uint8_t machine[RAM_PAGES][4096] __attribute__((aligned(4096)));
static uint8_t shinfo_page[4096] __attribute__((aligned(4096)));
static struct page_info frames[0x2000];
struct page_info *frame_table = frames;
uint64_t max_mfn = 0x2000;
struct boot_info boot_info;

paddr_t p2m_table_alloc(void) { void *p = aligned_alloc(4096, 4096); memset(p, 0, 4096); return (uintptr_t)p; }
void p2m_table_free(paddr_t pa) { free((void *)(uintptr_t)pa); }
uint64_t *p2m_table_map(paddr_t pa) { return (uint64_t *)(uintptr_t)pa; }
static uint64_t f_leaf(paddr_t mpa, enum p2m_type t, bool large)
{
    return (mpa & P2M_ADDR_MASK) | 1 | ((uint64_t)t << P2M_TYPE_SHIFT) | (large ? P2M_LARGE : 0);
}
static uint64_t f_table(paddr_t mpa) { return (mpa & P2M_ADDR_MASK) | 3; }
static bool f_present(uint64_t pte) { return pte & 1; }
static const struct p2m_format fmt = { "test", f_leaf, f_table, f_present };

static struct domain dom, other;
static struct vcpu vcpus[2];
static struct vcpu *v = &vcpus[0];

/* The host page behind a guest frame, or NULL. */
static uint8_t *frame_ptr(mfn_t mfn)
{
    if (mfn >= RAM_MFN && mfn < RAM_MFN + RAM_PAGES)
        return machine[mfn - RAM_MFN];
    return mfn == SHINFO_MFN ? shinfo_page : NULL;
}

static uint8_t *gpa_ptr(struct domain *d, uint64_t gpa, bool write)
{
    mfn_t mfn;
    enum p2m_type t = p2m_lookup(&d->p2m, gpa >> 12, &mfn);
    uint8_t *p;

    if (!(p2m_is_ram(t) || t == p2m_reserved) || (write && !p2m_is_writable(t)))
        return NULL;
    p = frame_ptr(mfn);
    return p ? p + (gpa & 4095) : NULL;
}

#include "fake_guest_copy.h"

void *gfn_to_virt(struct domain *d, uint64_t gfn, uint64_t *mfn_out)
{
    mfn_t mfn;
    enum p2m_type t = p2m_lookup(&d->p2m, gfn, &mfn);

    if (!(p2m_is_ram(t) || t == p2m_reserved) || !p2m_is_writable(t) || !frame_ptr(mfn))
        return NULL;
    if (mfn_out)
        *mfn_out = mfn;
    return frame_ptr(mfn);
}

/* ---- the rest of the hypervisor ------------------------------------------------------ */

static enum x86_mode guest_mode = X86_MODE_64;
static unsigned int guest_cpl;
enum x86_mode hvm_guest_mode(struct vcpu *vc) { return guest_mode; }
unsigned int hvm_guest_cpl(struct vcpu *vc) { return guest_cpl; }

static char console[1 << 19];
static size_t console_len;
void domain_console_write(struct domain *d, const char *buf, size_t len)
{
    assert_true(console_len + len <= sizeof(console));
    memcpy(console + console_len, buf, len);
    console_len += len;
}

static int shutdowns, last_shutdown = -1, crashes;
static enum crash_cause last_crash;
void domain_shutdown(struct domain *d, unsigned int reason)
{
    shutdowns++;
    last_shutdown = reason;
    d->is_shutting_down = true;
}
void domain_crash(struct domain *d, enum crash_cause cause, const char *fmt, ...)
{
    crashes++;
    last_crash = cause;
}
struct domain *domain_by_id(domid_t id)
{
    return id == dom.domain_id ? &dom : id == other.domain_id ? &other : NULL;
}

static s_time_t now = 1000;
s_time_t NOW(void) { return now; }
void init_timer(struct timer *t, void (*fn)(void *), void *data, unsigned int cpu)
{
    memset(t, 0, sizeof(*t));
    t->fn = fn;
    t->data = data;
    t->cpu = cpu;
}
void set_timer(struct timer *t, s_time_t expires) { t->expires = expires; t->active = true; }
void stop_timer(struct timer *t) { t->active = false; }

static int pages_live;
void *alloc_pages(unsigned int order) { pages_live++; return aligned_alloc(4096, 4096); }
void free_pages(void *va, unsigned int order) { pages_live--; free(va); }

static struct msr_platform platform = { .amd = true, .maxphyaddr = 40 };
const struct msr_platform *msr_platform_get(void) { return &platform; }

void printk(const char *fmt, ...) { }

/* Event channels have their own host test (test_evtchn.c): here only that
   dispatch and SCHEDOP_poll's argument decoding reach them. */
static int evtchn_calls;
static uint64_t evtchn_last[3];
long do_event_channel_hcall(struct vcpu *vc, struct hcall *h)
{
    evtchn_calls++;
    evtchn_last[0] = h->arg[0];
    evtchn_last[1] = h->arg[1];
    return -ENOSYS;
}
long evtchn_poll(struct vcpu *vc, uint64_t ports, uint32_t nr, uint64_t timeout)
{
    evtchn_calls++;
    evtchn_last[0] = ports;
    evtchn_last[1] = nr;
    evtchn_last[2] = timeout;
    return 0;
}

/* The time interface has its own host test (test_vtime.c): here only that
   vcpu_op, set_timer_op and vm_assist reach it. */
static int time_calls, time_last_cmd = -1;
static long time_stub(int cmd)
{
    time_calls++;
    time_last_cmd = cmd;
    return -ENODATA;
}
long runstate_vcpu_op(struct vcpu *c, struct vcpu *t, int cmd, struct hcall *h) { return time_stub(cmd); }
long vcpu_timer_op(struct vcpu *c, struct vcpu *t, int cmd, struct hcall *h) { return time_stub(cmd); }
long vtime_register_time_area(struct vcpu *c, struct vcpu *t, struct hcall *h)
{
    return time_stub(VCPUOP_register_vcpu_time_memory_area);
}
long do_set_timer_op(struct vcpu *vc, struct hcall *h) { return time_stub(1000); }
long do_vm_assist(struct vcpu *vc, struct hcall *h) { return time_stub(1001); }
void vtime_update_vcpu_time(struct vcpu *vc, bool force) { }
void vtime_domain_teardown(struct domain *d) { }

/* Grant tables (grant_table.c is linked: XENMAPSPACE_grant_table goes
   through it) have their own host test, test_gnttab.c; these are its seams. */
void *gnttab_frame_va(mfn_t mfn) { return NULL; }
mfn_t gnttab_va_mfn(const void *va) { return (uintptr_t)va >> 12; }
void register_keyhandler(char key, void (*fn)(char key), const char *desc) { }
void sched_yield_slice(void) { }
void *xzalloc(size_t size) { return calloc(1, size); }
void xfree(void *p) { free(p); }
bool domain_get_frame(struct domain *d, mfn_t mfn) { return false; }
void domain_put_frame(mfn_t mfn) { }
struct domain *domain_table[MAX_DOMAINS];

/* Ballooning: what memory_op.c asks domain.c to do, recorded. */
static gfn_t released[8];
static unsigned int nr_released;
static int release_rc;
static uint64_t populated;
int domain_release_gfn(struct domain *d, gfn_t gfn)
{
    if (release_rc)
        return release_rc;
    released[nr_released++ % 8] = gfn;
    return 0;
}
int domain_populate_ram(struct domain *d, gfn_t gfn, uint64_t nr)
{
    populated += nr;
    d->tot_pages += nr;
    return 0;
}

/* platform_op, sysctl, domctl and the serial console's input are the
   hypervisor's (platform_op.c, console_input.c), with no host test here. */
long do_platform_op(struct vcpu *vc, struct hcall *h) { return -ENOSYS; }
long do_sysctl(struct vcpu *vc, struct hcall *h) { return -ENOSYS; }
long do_domctl(struct vcpu *vc, struct hcall *h) { return -ENOSYS; }
struct domain *console_input_focus(void) { return NULL; }
void console_input_guest_write(struct domain *d, const char *buf, size_t len) { }
long console_input_read(struct vcpu *vc, uint64_t gla, uint32_t count, bool compat) { return 0; }
int log_level_parse(const char *s, int *lvl) { return -1; }

static int setup(void **state)
{
    memset(&dom, 0, sizeof(dom));
    memset(&other, 0, sizeof(other));
    memset(vcpus, 0, sizeof(vcpus));
    memset(machine, 0, sizeof(machine));
    memset(shinfo_page, 0, sizeof(shinfo_page));
    memset(frames, 0, sizeof(frames));
    dom.domain_id = 0;
    dom.is_initial = true;
    dom.max_vcpus = 2;
    dom.shared_info = (struct shared_info *)shinfo_page;
    dom.shared_info_maddr = SHINFO_MFN << 12;
    dom.shared_info_gfn = ~0ull;
    dom.tot_pages = dom.max_pages = RAM_PAGES;
    other.domain_id = 3;
    assert_int_equal(p2m_init(&dom.p2m, &fmt), 0);
    for (unsigned int i = 0; i < RAM_PAGES; i++) {
        assert_int_equal(p2m_set_entry(&dom.p2m, RAM_GFN + i, RAM_MFN + i, 0, p2m_ram_rw), 0);
        frames[RAM_MFN + i].owner = &dom;
    }
    for (unsigned int i = 0; i < 2; i++) {
        vcpus[i].vcpu_id = i;
        vcpus[i].domain = &dom;
        vcpus[i].vcpu_info = &dom.shared_info->vcpu_info[i];
        dom.vcpu[i] = &vcpus[i];
    }
    vcpus[0].is_up = true;
    guest_mode = X86_MODE_64;
    guest_cpl = 0;
    console_len = 0;
    shutdowns = crashes = 0;
    last_shutdown = -1;
    pages_live = 0;
    nr_released = 0;
    release_rc = 0;
    populated = 0;
    strcpy(boot_info.cmdline, "console=com1 dom0=pvh");
    return 0;
}

static int teardown(void **state)
{
    domain_xen_teardown(&dom);
    assert_int_equal(pages_live, 0);
    p2m_teardown(&dom.p2m);
    return 0;
}

/* ---- making calls ------------------------------------------------------------------------ */

static enum hvm_result raw_call(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2)
{
    uint64_t *g = v->hvm.regs.gpr;

    g[X86_REG_RAX] = nr;
    if (guest_mode == X86_MODE_64) {
        g[X86_REG_RDI] = a0; g[X86_REG_RSI] = a1; g[X86_REG_RDX] = a2;
    } else {
        g[X86_REG_RBX] = a0; g[X86_REG_RCX] = a1; g[X86_REG_RDX] = a2;
    }
    return hvm_hypercall(v);
}

static long call(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2)
{
    assert_int_equal(raw_call(nr, a0, a1, a2), HVM_DONE);
    return (long)v->hvm.regs.gpr[X86_REG_RAX];
}

static void gput(uint64_t gla, const void *src, size_t len) { assert_int_equal(copy_to_guest(v, gla, src, len), 0); }
static void gget(uint64_t gla, void *dst, size_t len) { assert_int_equal(copy_from_guest(v, dst, gla, len), 0); }

#define XV(cmd, arg)        call(__HYPERVISOR_xen_version, cmd, arg, 0)
#define SCHED(cmd, arg)     call(__HYPERVISOR_sched_op, cmd, arg, 0)
#define MEM(cmd, arg)       call(__HYPERVISOR_memory_op, cmd, arg, 0)
#define HVMOP(op, arg)      call(__HYPERVISOR_hvm_op, op, arg, 0)
#define VCPU(cmd, id, arg)  call(__HYPERVISOR_vcpu_op, cmd, id, arg)

/* ---- dispatch ------------------------------------------------------------------------------ */

static void dispatch(void **state)
{
    assert_int_equal(XV(XENVER_version, 0), 0x40011);
    assert_int_equal(v->hypercall_counts[__HYPERVISOR_xen_version], 1);
    /* 64-bit: the whole RAX is the number. */
    assert_int_equal(call(1ull << 32 | __HYPERVISOR_xen_version, 0, 0, 0), -ENOSYS);
    assert_int_equal(v->hypercall_unknown, 1);
    assert_int_equal(call(64, 0, 0, 0), -ENOSYS);
    assert_int_equal(call(~0ull, 0, 0, 0), -ENOSYS);
    assert_int_equal(v->hypercall_unknown, 3);
    /* Known numbers without a handler: PV-only and not yet implemented. */
    assert_int_equal(call(__HYPERVISOR_mmu_update, 0, 0, 0), -ENOSYS);
    assert_int_equal(call(__HYPERVISOR_iret, 0, 0, 0), -ENOSYS);
    evtchn_calls = 0;
    assert_int_equal(call(__HYPERVISOR_event_channel_op, 4, G(8), 0), -ENOSYS);  /* the stub's */
    assert_int_equal(evtchn_calls, 1);
    assert_int_equal(evtchn_last[0], 4);
    assert_int_equal(evtchn_last[1], G(8));
    assert_int_equal(call(__HYPERVISOR_sched_op_compat, 0, 0, 0), -ENOSYS);
    assert_int_equal(v->hypercall_counts[__HYPERVISOR_mmu_update], 1);
    /* 32-bit: EAX only, arguments in EBX, ECX, EDX, ESI, EDI. */
    guest_mode = X86_MODE_32;
    assert_int_equal(call(0xdead00000000ull | __HYPERVISOR_xen_version, 0, 0, 0), 0x40011);
    assert_int_equal(call(__HYPERVISOR_xen_version, 1ull << 32 | XENVER_pagesize, 0, 0), 4096);
    guest_mode = X86_MODE_16;                            /* real mode: as 32-bit */
    assert_int_equal(XV(XENVER_version, 0), 0x40011);
    /* Only the guest kernel may call. */
    guest_mode = X86_MODE_64;
    guest_cpl = 3;
    assert_int_equal(XV(XENVER_version, 0), -EPERM);
    guest_cpl = 1;
    assert_int_equal(XV(XENVER_version, 0), -EPERM);
    guest_cpl = 0;
    v->hvm.regs.rflags = 1u << 17;                       /* virtual-8086 */
    assert_int_equal(XV(XENVER_version, 0), -EPERM);
    v->hvm.regs.rflags = 0;
    /* Results are sign-extended into RAX. */
    assert_int_equal(v->hvm.regs.gpr[X86_REG_RAX], (uint64_t)-EPERM);

    assert_string_equal(hypercall_name(__HYPERVISOR_xen_version), "xen_version");
    assert_string_equal(hypercall_name(__HYPERVISOR_hvm_op), "hvm_op");
    assert_string_equal(hypercall_name(__HYPERVISOR_arch_7), "arch_7");
    assert_string_equal(hypercall_name(11), "?");
    assert_string_equal(hypercall_name(63), "?");
    assert_string_equal(hypercall_name(1u << 31), "?");
}

/* ---- xen_version ---------------------------------------------------------------------------- */

static void xen_version(void **state)
{
    char buf[1024];
    xen_feature_info_t fi = { .submap_idx = 0 };

    assert_int_equal(XV(XENVER_extraversion, G(0)), 0);
    gget(G(0), buf, 16);
    assert_memory_equal(buf, ".0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 16);
    assert_int_equal(XV(XENVER_capabilities, G(0)), 0);
    gget(G(0), buf, 1024);
    assert_string_equal(buf, "xen-3.0-x86_64 hvm-3.0-x86_32 hvm-3.0-x86_32p hvm-3.0-x86_64 ");
    assert_int_equal(XV(XENVER_changeset, G(0)), 0);
    assert_int_equal(XV(XENVER_compile_info, G(0)), 0);
    gget(G(0), buf, sizeof(xen_compile_info_t));
    assert_memory_equal(buf, "gcc ", 4);
    assert_int_equal(XV(XENVER_pagesize, 0), 4096);
    assert_int_equal(XV(XENVER_pagesize, G(0)), -EINVAL);
    assert_int_equal(XV(XENVER_guest_handle, G(0)), 0);

    gput(G(0x100), &fi, sizeof(fi));
    assert_int_equal(XV(XENVER_get_features, G(0x100)), 0);
    gget(G(0x100), &fi, sizeof(fi));
    assert_int_equal(fi.submap, 1u << XENFEAT_writable_page_tables |
                     1u << XENFEAT_auto_translated_physmap | 1u << XENFEAT_hvm_callback_vector |
                     1u << XENFEAT_dom0 | 1u << XENFEAT_memory_op_vnode_supported |
                     1u << XENFEAT_not_direct_mapped | 1u << XENFEAT_hvm_safe_pvclock);
    dom.is_initial = false;
    assert_false(xenver_features(&dom) & (1u << XENFEAT_dom0));
    fi.submap_idx = 1;
    gput(G(0x100), &fi, sizeof(fi));
    assert_int_equal(XV(XENVER_get_features, G(0x100)), -EINVAL);
    /* The struct straddling the end of RAM, and nowhere at all. */
    assert_int_equal(XV(XENVER_get_features, G_END - 4), -EFAULT);
    assert_int_equal(XV(XENVER_get_features, 0), -EFAULT);
    assert_int_equal(XV(XENVER_capabilities, G_END - 100), -EFAULT);

    /* platform_parameters: 64-bit HYPERVISOR_VIRT_START, 32-bit 0 (4 bytes). */
    uint64_t vs = 0x5555555555555555ull;
    gput(G(0x200), &vs, 8);
    assert_int_equal(XV(XENVER_platform_parameters, G(0x200)), 0);
    gget(G(0x200), &vs, 8);
    assert_int_equal(vs, 0xffff800000000000ull);
    vs = 0x5555555555555555ull;
    gput(G(0x200), &vs, 8);
    guest_mode = X86_MODE_32;
    assert_int_equal(XV(XENVER_platform_parameters, G(0x200)), 0);
    gget(G(0x200), &vs, 8);
    assert_int_equal(vs, 0x5555555500000000ull);
    guest_mode = X86_MODE_64;

    /* commandline and build_id: the initial domain only. */
    assert_int_equal(XV(XENVER_commandline, G(0)), 0);
    gget(G(0), buf, 16);
    assert_string_equal(buf, "<denied>");
    assert_int_equal(XV(XENVER_build_id, 0), -EPERM);
    dom.is_initial = true;
    memset(buf, 'x', sizeof(buf));
    gput(G(0), buf, sizeof(buf));
    assert_int_equal(XV(XENVER_commandline, G(0)), 0);
    gget(G(0), buf, sizeof(buf));
    assert_string_equal(buf, "console=com1 dom0=pvh");
    assert_int_equal(buf[1023], 0);                      /* zero-padded to 1024 */
    assert_int_equal(XV(XENVER_commandline, G_END - 512), -EFAULT);
    uint32_t len = 0;
    gput(G(0), &len, 4);
    assert_int_equal(XV(XENVER_build_id, G(0)), -EINVAL);
    len = 64;
    gput(G(0), &len, 4);
    assert_int_equal(XV(XENVER_build_id, G(0)), -ENODATA);
    assert_int_equal(XV(XENVER_build_id, 0), -ENODATA);
    assert_int_equal(XV(11, 0), -ENOSYS);
    assert_int_equal(XV(-1, 0), -ENOSYS);
}

/* ---- console_io ------------------------------------------------------------------------------ */

static void console_io(void **state)
{
    static uint8_t text[RAM_PAGES * 4096];

    gput(G(0), "hello, world\n", 13);
    assert_int_equal(call(__HYPERVISOR_console_io, CONSOLEIO_write, 13, G(0)), 0);
    assert_int_equal(console_len, 13);
    assert_memory_equal(console, "hello, world\n", 13);
    assert_int_equal(call(__HYPERVISOR_console_io, CONSOLEIO_write, 0, 0), 0);

    /* A bad buffer: -EFAULT at the first chunk that cannot be read, after
       writing the whole chunks before it. */
    console_len = 0;
    assert_int_equal(call(__HYPERVISOR_console_io, CONSOLEIO_write, 10, 0), -EFAULT);
    assert_int_equal(console_len, 0);
    assert_int_equal(call(__HYPERVISOR_console_io, CONSOLEIO_write, 300, G_END - 200), -EFAULT);
    assert_int_equal(console_len, CONSOLEIO_CHUNK);

    /* Large counts continue: RIP is not advanced, arguments move on. */
    for (size_t i = 0; i < sizeof(text); i++)
        text[i] = 'a' + i % 26;
    gput(G(0), text, sizeof(text));
    console_len = 0;
    uint32_t count = 10000;
    assert_int_equal(raw_call(__HYPERVISOR_console_io, CONSOLEIO_write, count, G(0)),
                     HVM_NO_ADVANCE);
    assert_int_equal(v->hvm.regs.gpr[X86_REG_RAX], __HYPERVISOR_console_io);
    assert_int_equal(v->hvm.regs.gpr[X86_REG_RSI], count - CONSOLEIO_PER_CALL);
    assert_int_equal(v->hvm.regs.gpr[X86_REG_RDX], G(CONSOLEIO_PER_CALL));
    int calls = 2;
    while (hvm_hypercall(v) == HVM_NO_ADVANCE)           /* the guest re-executes */
        calls++;
    assert_int_equal(calls, 3);                          /* 4096 + 4096 + 1808 */
    assert_int_equal(v->hvm.regs.gpr[X86_REG_RAX], 0);
    assert_int_equal(console_len, count);
    assert_memory_equal(console, text, count);

    /* 4 GiB asked: bounded work per exit, -EFAULT at the end of RAM. */
    console_len = 0;
    int rounds = 0;
    raw_call(__HYPERVISOR_console_io, CONSOLEIO_write, 0xffffffff, G(0));
    while (v->hvm.regs.gpr[X86_REG_RAX] == __HYPERVISOR_console_io && rounds < 1000) {
        rounds++;
        hvm_hypercall(v);
    }
    assert_int_equal((long)v->hvm.regs.gpr[X86_REG_RAX], -EFAULT);
    assert_int_equal(console_len, sizeof(text));
    assert_int_equal(rounds, sizeof(text) / CONSOLEIO_PER_CALL);

    /* 32-bit: EBX cmd, ECX count, EDX buffer, written back as 32 bits. */
    guest_mode = X86_MODE_32;
    console_len = 0;
    v->hvm.regs.gpr[X86_REG_RCX] = 0xffffffff00000000ull | 5000;
    v->hvm.regs.gpr[X86_REG_RBX] = CONSOLEIO_write;
    v->hvm.regs.gpr[X86_REG_RDX] = 0xffffffff00000000ull | G(0);
    v->hvm.regs.gpr[X86_REG_RAX] = __HYPERVISOR_console_io;
    assert_int_equal(hvm_hypercall(v), HVM_NO_ADVANCE);
    assert_int_equal(v->hvm.regs.gpr[X86_REG_RCX], 5000 - CONSOLEIO_PER_CALL);
    assert_int_equal(v->hvm.regs.gpr[X86_REG_RDX], G(CONSOLEIO_PER_CALL));
    assert_int_equal(hvm_hypercall(v), HVM_DONE);
    assert_int_equal(console_len, 5000);
    guest_mode = X86_MODE_64;

    /* Reading: the initial domain gets nothing yet; others may not. */
    assert_int_equal(call(__HYPERVISOR_console_io, CONSOLEIO_read, 16, G(0)), 0);
    assert_int_equal(call(__HYPERVISOR_console_io, CONSOLEIO_read, 0x80000000, G(0)), -E2BIG);
    dom.is_initial = false;
    assert_int_equal(call(__HYPERVISOR_console_io, CONSOLEIO_read, 16, G(0)), -EPERM);
    assert_int_equal(call(__HYPERVISOR_console_io, 2, 16, G(0)), -ENOSYS);
}

/* ---- sched_op ------------------------------------------------------------------------------------ */

static void sched_basic(void **state)
{
    struct sched_shutdown s = { .reason = SHUTDOWN_reboot };

    assert_int_equal(SCHED(SCHEDOP_yield, 0), 0);
    v->vcpu_info->evtchn_upcall_mask = 1;
    assert_int_equal(SCHED(SCHEDOP_block, 0), 0);
    assert_true(v->is_blocked);
    assert_int_equal(v->vcpu_info->evtchn_upcall_mask, 0);   /* events enabled */
    v->is_blocked = false;
    v->vcpu_info->evtchn_upcall_pending = 1;             /* an event is waiting */
    assert_int_equal(SCHED(SCHEDOP_block, 0), 0);
    assert_false(v->is_blocked);
    /* SCHEDOP_poll: the 24-byte struct of 64-bit callers, 16 of 32-bit ones. */
    uint64_t poll64[3] = { G(0x80), 0x100000003ull, 0x123456789ull };
    uint32_t poll32[4] = { (uint32_t)G(0x90), 2, 0x9abcdef0u, 0x12u };
    gput(G(0x40), poll64, sizeof(poll64));
    evtchn_calls = 0;
    assert_int_equal(SCHED(SCHEDOP_poll, G(0x40)), 0);
    assert_int_equal(evtchn_calls, 1);
    assert_int_equal(evtchn_last[0], G(0x80));
    assert_int_equal(evtchn_last[1], 3);                 /* nr_ports is 32 bits */
    assert_int_equal(evtchn_last[2], 0x123456789ull);
    guest_mode = X86_MODE_32;
    gput(G(0x40), poll32, sizeof(poll32));
    assert_int_equal(SCHED(SCHEDOP_poll, G(0x40)), 0);
    assert_int_equal(evtchn_last[0], G(0x90));
    assert_int_equal(evtchn_last[1], 2);
    assert_int_equal(evtchn_last[2], 0x129abcdef0ull);
    assert_int_equal(SCHED(SCHEDOP_poll, G_END - 8), -EFAULT);
    guest_mode = X86_MODE_64;
    assert_int_equal(SCHED(SCHEDOP_poll, G_END - 16), -EFAULT);
    assert_int_equal(evtchn_calls, 2);
    assert_int_equal(SCHED(SCHEDOP_pin_override, G(0)), -ENOSYS);
    assert_int_equal(SCHED(99, G(0)), -ENOSYS);

    assert_int_equal(SCHED(SCHEDOP_shutdown, G_END - 2), -EFAULT);
    s.reason = 5;                                        /* soft_reset */
    gput(G(0), &s, sizeof(s));
    assert_int_equal(SCHED(SCHEDOP_shutdown, G(0)), -EINVAL);
    s.reason = 0xffffffff;
    gput(G(0), &s, sizeof(s));
    assert_int_equal(SCHED(SCHEDOP_shutdown, G(0)), -EINVAL);
    assert_int_equal(shutdowns, 0);
    s.reason = SHUTDOWN_crash;
    gput(G(0), &s, sizeof(s));
    assert_int_equal(SCHED(SCHEDOP_shutdown, G(0)), 0);
    assert_int_equal(shutdowns, 1);
    assert_int_equal(last_shutdown, SHUTDOWN_crash);
    assert_int_equal(dom.crash_cause, CRASH_GUEST_REQUEST);

    struct sched_remote_shutdown r = { .domain_id = 9, .reason = 0 };
    gput(G(0), &r, sizeof(r));
    assert_int_equal(SCHED(SCHEDOP_remote_shutdown, G(0)), -ESRCH);
    r.domain_id = other.domain_id;
    gput(G(0), &r, sizeof(r));
    assert_int_equal(SCHED(SCHEDOP_remote_shutdown, G(0)), -EPERM);
}

static void sched_shutdown_code(void **state)
{
    struct sched_shutdown s = { .reason = SHUTDOWN_crash };

    gput(G(0), &s, sizeof(s));
    assert_int_equal(SCHED(SCHEDOP_shutdown_code, G(0)), 0);
    s.reason = SHUTDOWN_reboot;                          /* the first code stays */
    gput(G(0), &s, sizeof(s));
    assert_int_equal(SCHED(SCHEDOP_shutdown_code, G(0)), 0);
    assert_int_equal(shutdowns, 0);
    s.reason = SHUTDOWN_poweroff;
    gput(G(0), &s, sizeof(s));
    assert_int_equal(SCHED(SCHEDOP_shutdown, G(0)), 0);
    assert_int_equal(last_shutdown, SHUTDOWN_crash);
    s.reason = 9;
    gput(G(0), &s, sizeof(s));
    assert_int_equal(SCHED(SCHEDOP_shutdown_code, G(0)), -EINVAL);
}

static long watchdog(uint32_t id, uint32_t timeout)
{
    struct sched_watchdog w = { .id = id, .timeout = timeout };

    gput(G(0x40), &w, sizeof(w));
    return SCHED(SCHEDOP_watchdog, G(0x40));
}

static void sched_watchdogs(void **state)
{
    assert_int_equal(watchdog(0, 10), 1);
    assert_true(dom.watchdog.active);
    assert_int_equal(dom.watchdog.expires, now + 10000000000ll);
    assert_int_equal(watchdog(0, 20), 2);
    assert_true(dom.watchdog2.active);
    assert_int_equal(watchdog(0, 30), -ENOSPC);
    assert_int_equal(watchdog(3, 30), -EINVAL);
    assert_int_equal(watchdog(0xffffffff, 30), -EINVAL);
    assert_int_equal(watchdog(1, 0), 0);                 /* freed */
    assert_false(dom.watchdog.active);
    assert_int_equal(dom.watchdog_timeout, 0);
    assert_int_equal(watchdog(1, 5), -EINVAL);           /* no longer held */
    now += 1000;
    assert_int_equal(watchdog(2, 0xffffffff), 0);        /* re-armed, no overflow */
    assert_int_equal(dom.watchdog2.expires, now + 0xffffffffll * 1000000000ll);
    assert_int_equal(watchdog(0, 1), 1);                 /* slot 1 is free again */
    assert_int_equal(SCHED(SCHEDOP_watchdog, G_END), -EFAULT);

    /* Expiry crashes the domain with CRASH_WATCHDOG (SHUTDOWN_watchdog). */
    dom.watchdog2.fn(dom.watchdog2.data);
    assert_int_equal(crashes, 1);
    assert_int_equal(last_crash, CRASH_WATCHDOG);

    domain_xen_teardown(&dom);
    assert_false(dom.watchdog.active);
    assert_false(dom.watchdog2.active);
    assert_int_equal(dom.watchdog_inuse, 0);
}

/* ---- memory_op ------------------------------------------------------------------------------------ */

static void memory_reservation(void **state)
{
    domid_t id = DOMID_SELF;

    assert_int_equal(MEM(XENMEM_maximum_ram_page, 0), 0x2000);
    assert_int_equal(MEM(XENMEM_maximum_ram_page | 1 << MEMOP_EXTENT_SHIFT, 0), -EINVAL);
    gput(G(0), &id, 2);
    assert_int_equal(MEM(XENMEM_current_reservation, G(0)), RAM_PAGES);
    dom.max_pages = 100;
    assert_int_equal(MEM(XENMEM_maximum_reservation, G(0)), 100);
    assert_int_equal(MEM(XENMEM_maximum_gpfn, G(0)), RAM_GFN + RAM_PAGES - 1);
    id = dom.domain_id;
    gput(G(0), &id, 2);
    assert_int_equal(MEM(XENMEM_current_reservation, G(0)), RAM_PAGES);
    id = other.domain_id;
    gput(G(0), &id, 2);
    assert_int_equal(MEM(XENMEM_current_reservation, G(0)), -EPERM);
    id = 12;
    gput(G(0), &id, 2);
    assert_int_equal(MEM(XENMEM_maximum_reservation, G(0)), -ESRCH);
    assert_int_equal(MEM(XENMEM_current_reservation, G_END - 1), -EFAULT);
    assert_int_equal(MEM(XENMEM_machine_memory_map, G(0)), -ENOSYS);
    assert_int_equal(MEM(XENMEM_machphys_mapping, G(0)), -ENOSYS);
    assert_int_equal(MEM(XENMEM_increase_reservation, G(0)), -ENOSYS);
    assert_int_equal(MEM(63, G(0)), -ENOSYS);
}

static void memory_map(void **state)
{
    struct xen_memory_map map = { .nr_entries = 0xffffffff };
    struct xen_abi_e820_entry e[4];

    dom.nr_e820 = 3;
    dom.e820[0] = (struct xen_e820){ 0, 0xa0000, 1 };
    dom.e820[1] = (struct xen_e820){ 0xa0000, 0x60000, 2 };
    dom.e820[2] = (struct xen_e820){ 0x100000, 0x7f00000, 1 };
    set_xen_guest_handle(map.buffer, (void *)(uintptr_t)G(0x1000));
    memset(e, 0x77, sizeof(e));
    gput(G(0x1000), e, sizeof(e));
    gput(G(0), &map, sizeof(map));
    assert_int_equal(MEM(XENMEM_memory_map, G(0)), 0);   /* hostile count: capped */
    gget(G(0), &map, sizeof(map));
    assert_int_equal(map.nr_entries, 3);
    gget(G(0x1000), e, sizeof(e));
    assert_int_equal(e[2].addr, 0x100000);
    assert_int_equal(e[2].size, 0x7f00000);
    assert_int_equal(e[1].type, 2);
    assert_int_equal(((uint8_t *)e)[60], 0x77);          /* 3 * 20 bytes, no more */

    map.nr_entries = 1;
    gput(G(0), &map, sizeof(map));
    assert_int_equal(MEM(XENMEM_memory_map, G(0)), 0);
    gget(G(0), &map, sizeof(map));
    assert_int_equal(map.nr_entries, 1);
    map.nr_entries = 0;
    gput(G(0), &map, sizeof(map));
    assert_int_equal(MEM(XENMEM_memory_map, G(0)), 0);
    /* A buffer running off the end of RAM; the structure itself unreadable. */
    map.nr_entries = 3;
    set_xen_guest_handle(map.buffer, (void *)(uintptr_t)(G_END - 30));
    gput(G(0), &map, sizeof(map));
    assert_int_equal(MEM(XENMEM_memory_map, G(0)), -EFAULT);
    assert_int_equal(MEM(XENMEM_memory_map, G_END - 8), -EFAULT);
    /* Extent bits miss the arch op, as in Xen. */
    assert_int_equal(MEM(XENMEM_memory_map | 1 << MEMOP_EXTENT_SHIFT, G(0)), -ENOSYS);

    /* 32-bit: { uint32 nr_entries; uint32 buffer; } */
    guest_mode = X86_MODE_32;
    struct compat_memory_map cm = { .nr_entries = 2, .buffer = G(0x2000) };
    gput(G(0), &cm, sizeof(cm));
    assert_int_equal(MEM(XENMEM_memory_map, G(0)), 0);
    gget(G(0), &cm, sizeof(cm));
    assert_int_equal(cm.nr_entries, 2);
    gget(G(0x2000), e, 2 * sizeof(e[0]));
    assert_int_equal(e[1].addr, 0xa0000);
    guest_mode = X86_MODE_64;

    dom.nr_e820 = 0;
    assert_int_equal(MEM(XENMEM_memory_map, G(0)), -ENOSYS);
}

static long xatp(domid_t domid, unsigned int space, uint64_t idx, uint64_t gpfn)
{
    struct xen_add_to_physmap x = { .domid = domid, .space = space, .idx = idx, .gpfn = gpfn };

    gput(G(0), &x, sizeof(x));
    return MEM(XENMEM_add_to_physmap, G(0));
}

static enum p2m_type lookup(gfn_t gfn, mfn_t *mfn)
{
    return p2m_lookup(&dom.p2m, gfn, mfn);
}

static void add_to_physmap_shared_info(void **state)
{
    mfn_t mfn;

    assert_int_equal(xatp(DOMID_SELF, XENMAPSPACE_shared_info, 0, RAM_GFN + 10), 0);
    assert_int_equal(lookup(RAM_GFN + 10, &mfn), p2m_reserved);
    assert_int_equal(mfn, SHINFO_MFN);
    assert_int_equal(dom.shared_info_gfn, RAM_GFN + 10);
    assert_int_equal(dom.tot_pages, RAM_PAGES);          /* the RAM frame stays ours */
    assert_true(vcpus[0].needs_flush && vcpus[1].needs_flush);
    /* The guest sees the hypervisor's shared info there. */
    dom.shared_info->wc_sec = 0x12345678;
    uint32_t sec;
    gget(G(10 * 4096 + offsetof(struct shared_info, wc_sec)), &sec, 4);
    assert_int_equal(sec, 0x12345678);
    /* Moving it leaves a hole behind; mapping it again in place is fine. */
    assert_int_equal(xatp(dom.domain_id, XENMAPSPACE_shared_info, 0, 0x5000), 0);
    assert_int_equal(lookup(RAM_GFN + 10, &mfn), p2m_invalid);
    assert_int_equal(lookup(0x5000, &mfn), p2m_reserved);
    assert_int_equal(xatp(DOMID_SELF, XENMAPSPACE_shared_info, 0, 0x5000), 0);
    assert_int_equal(dom.shared_info_gfn, 0x5000);

    assert_int_equal(xatp(DOMID_SELF, XENMAPSPACE_shared_info, 1, 0x5001), -EINVAL);
    assert_int_equal(xatp(DOMID_SELF, XENMAPSPACE_shared_info, 0, 1ull << 28), -EINVAL);
    assert_int_equal(xatp(DOMID_SELF, XENMAPSPACE_shared_info, 0, ~0ull), -EINVAL);
    assert_int_equal(xatp(other.domain_id, XENMAPSPACE_shared_info, 0, 0x5001), -EPERM);
    assert_int_equal(xatp(77, XENMAPSPACE_shared_info, 0, 0x5001), -ESRCH);
    assert_int_equal(xatp(DOMID_SELF, XENMAPSPACE_gmfn_foreign, 0, 0x5001), -ENOSYS);
    assert_int_equal(xatp(DOMID_SELF, XENMAPSPACE_gmfn_range, 0, 0x5001), -ENOSYS);
    assert_int_equal(xatp(DOMID_SELF, XENMAPSPACE_dev_mmio, 0, 0x5001), -EINVAL);
    assert_int_equal(xatp(DOMID_SELF, 0xffffffff, 0, 0x5001), -EINVAL);
    assert_int_equal(MEM(XENMEM_add_to_physmap, G_END - 8), -EFAULT);
    assert_int_equal(MEM(XENMEM_add_to_physmap | 0x10000 << MEMOP_EXTENT_SHIFT, G(0)), -EDOM);

    /* 32-bit layout. */
    guest_mode = X86_MODE_32;
    struct compat_add_to_physmap c = { DOMID_SELF, 0, XENMAPSPACE_shared_info, 0, RAM_GFN + 20 };
    gput(G(0), &c, sizeof(c));
    assert_int_equal(MEM(XENMEM_add_to_physmap, G(0)), 0);
    assert_int_equal(dom.shared_info_gfn, RAM_GFN + 20);
    assert_int_equal(lookup(0x5000, &mfn), p2m_invalid);
}

/* Where grant frame i is mapped, as GNTTABOP_setup_table reports it. */
static uint64_t grant_frame_gfn(unsigned int i)
{
    struct gnttab_setup_table st = { .dom = DOMID_SELF, .nr_frames = i + 1 };
    uint64_t gfn;

    set_xen_guest_handle(st.frame_list, (xen_pfn_t *)(uintptr_t)G(0x800));
    gput(G(0x700), &st, sizeof(st));
    assert_int_equal(call(__HYPERVISOR_grant_table_op, GNTTABOP_setup_table, G(0x700), 1), 0);
    gget(G(0x700), &st, sizeof(st));
    assert_int_equal(st.status, GNTST_okay);
    gget(G(0x800) + i * 8, &gfn, 8);
    return gfn;
}

static void add_to_physmap_grant_table(void **state)
{
    mfn_t mfn, first;

    assert_int_equal(xatp(DOMID_SELF, XENMAPSPACE_grant_table, 0, RAM_GFN + 1), 0);
    assert_int_equal(lookup(RAM_GFN + 1, &first), p2m_reserved);
    assert_int_equal(pages_live, 1);
    for (unsigned int i = 1; i < GNTTAB_MAX_FRAMES; i++)
        assert_int_equal(xatp(DOMID_SELF, XENMAPSPACE_grant_table, i, RAM_GFN + 1 + i), 0);
    assert_int_equal(pages_live, GNTTAB_MAX_FRAMES);
    assert_int_equal(xatp(DOMID_SELF, XENMAPSPACE_grant_table, GNTTAB_MAX_FRAMES, 0x6000), -EINVAL);
    assert_int_equal(xatp(DOMID_SELF, XENMAPSPACE_grant_table,
                          XENMAPIDX_grant_table_status | 0, 0x6000), -EINVAL);
    /* Frame 0 moves: same frame, new place, old place empty. */
    assert_int_equal(xatp(DOMID_SELF, XENMAPSPACE_grant_table, 0, 0x6000), 0);
    assert_int_equal(lookup(0x6000, &mfn), p2m_reserved);
    assert_int_equal(mfn, first);
    assert_int_equal(lookup(RAM_GFN + 1, &mfn), p2m_invalid);
    assert_int_equal(pages_live, GNTTAB_MAX_FRAMES);
    /* Shared info over grant frame 1: frame 1 is unmapped (setup_table
       reports INVALID_GFN for it), not lost. */
    assert_int_equal(grant_frame_gfn(1), RAM_GFN + 2);
    assert_int_equal(xatp(DOMID_SELF, XENMAPSPACE_shared_info, 0, RAM_GFN + 2), 0);
    assert_int_equal(grant_frame_gfn(1), ~0ull);
    assert_int_equal(xatp(DOMID_SELF, XENMAPSPACE_grant_table, 1, 0x6001), 0);
    assert_int_equal(grant_frame_gfn(1), 0x6001);
    assert_int_equal(lookup(RAM_GFN + 2, &mfn), p2m_reserved);
    assert_int_equal(mfn, SHINFO_MFN);
    domain_xen_teardown(&dom);
    assert_int_equal(pages_live, 0);
}

static void add_to_physmap_gmfn(void **state)
{
    mfn_t mfn;

    assert_int_equal(xatp(DOMID_SELF, XENMAPSPACE_gmfn, RAM_GFN + 5, 0x7000), 0);
    assert_int_equal(lookup(0x7000, &mfn), p2m_ram_rw);
    assert_int_equal(mfn, RAM_MFN + 5);
    assert_int_equal(lookup(RAM_GFN + 5, &mfn), p2m_invalid);
    assert_int_equal(xatp(DOMID_SELF, XENMAPSPACE_gmfn, RAM_GFN + 5, 0x7001), -EINVAL);
    assert_int_equal(xatp(DOMID_SELF, XENMAPSPACE_gmfn, 0x7000, 0x7000), 0);
    /* Onto other RAM: that frame is unmapped, ours takes the place. */
    assert_int_equal(xatp(DOMID_SELF, XENMAPSPACE_gmfn, 0x7000, RAM_GFN + 6), 0);
    assert_int_equal(lookup(RAM_GFN + 6, &mfn), p2m_ram_rw);
    assert_int_equal(mfn, RAM_MFN + 5);
    /* Special pages are not RAM to move. */
    assert_int_equal(xatp(DOMID_SELF, XENMAPSPACE_shared_info, 0, 0x7100), 0);
    assert_int_equal(xatp(DOMID_SELF, XENMAPSPACE_gmfn, 0x7100, 0x7101), -EINVAL);
    /* A frame the domain does not own. */
    frames[RAM_MFN + 7].owner = &other;
    assert_int_equal(xatp(DOMID_SELF, XENMAPSPACE_gmfn, RAM_GFN + 7, 0x7200), -EINVAL);
    assert_int_equal(xatp(DOMID_SELF, XENMAPSPACE_shared_info, 0, RAM_GFN + 7), -EINVAL);
}

/* decrease_reservation / populate_physmap: the reservation's layouts, the
   extent count returned, Xen's "return start_extent" cases, continuation. */
static long reserve(unsigned int op, uint64_t list, uint64_t nr, unsigned int order,
                    unsigned int flags, domid_t domid)
{
    if (guest_mode == X86_MODE_64) {
        struct xen_memory_reservation r = { .nr_extents = nr, .extent_order = order,
                                            .mem_flags = flags, .domid = domid };
        set_xen_guest_handle(r.extent_start, (xen_pfn_t *)(uintptr_t)list);
        gput(G(0x600), &r, sizeof(r));
    } else {
        uint32_t r[5] = { (uint32_t)list, (uint32_t)nr, order, flags, domid };
        gput(G(0x600), r, 18);
    }
    return MEM(op, G(0x600));
}

static void memory_balloon(void **state)
{
    uint64_t gfns[3] = { RAM_GFN + 3, RAM_GFN + 4, 0x9000 };
    uint32_t gfns32[2] = { RAM_GFN + 6, RAM_GFN + 7 };

    gput(G(0x500), gfns, sizeof(gfns));
    assert_int_equal(reserve(XENMEM_decrease_reservation, G(0x500), 2, 0, 0, DOMID_SELF), 2);
    assert_int_equal(nr_released, 2);
    assert_int_equal(released[1], RAM_GFN + 4);
    nr_released = 0;
    assert_int_equal(reserve(XENMEM_decrease_reservation, G(0x500), 1, 1, 0, dom.domain_id), 1);
    assert_int_equal(nr_released, 2);                    /* order 1: two pages */
    assert_int_equal(released[1], RAM_GFN + 4);
    release_rc = -ENOENT;                                /* the first page is not there */
    assert_int_equal(reserve(XENMEM_decrease_reservation, G(0x500), 2, 0, 0, DOMID_SELF), 0);
    release_rc = 0;
    /* Xen's "return start_extent" cases. */
    assert_int_equal(reserve(XENMEM_decrease_reservation, G(0x500), 2, 0, 0, other.domain_id), 0);
    assert_int_equal(reserve(XENMEM_decrease_reservation, G(0x500), 2, 13, 0, DOMID_SELF), 0);
    assert_int_equal(reserve(XENMEM_decrease_reservation, G(0x500), 1ull << 26, 0, 0, DOMID_SELF), 0);
    assert_int_equal(reserve(XENMEM_decrease_reservation, G_END - 8, 2, 0, 0, DOMID_SELF), 1);
    assert_int_equal(MEM(XENMEM_decrease_reservation | 5 << MEMOP_EXTENT_SHIFT, G(0x600)), 5);
    assert_int_equal(MEM(XENMEM_decrease_reservation, G_END - 4), 0);
    assert_int_equal(MEM(XENMEM_decrease_reservation | 2 << MEMOP_EXTENT_SHIFT, G_END - 4), 2);

    /* populate: within max_pages, GFNs inside the address width, no PoD
       or address restriction. */
    populated = 0;
    dom.max_pages = dom.tot_pages + 1;
    assert_int_equal(reserve(XENMEM_populate_physmap, G(0x500) + 16, 1, 0, 0, DOMID_SELF), 1);
    assert_int_equal(populated, 1);
    assert_int_equal(reserve(XENMEM_populate_physmap, G(0x500) + 16, 1, 0, 0, DOMID_SELF), 0);
    dom.max_pages += 100;
    assert_int_equal(reserve(XENMEM_populate_physmap, G(0x500) + 16, 1, 0,
                             XENMEMF_populate_on_demand, DOMID_SELF), 0);
    assert_int_equal(reserve(XENMEM_populate_physmap, G(0x500) + 16, 1, 0,
                             XENMEMF_address_bits(12), DOMID_SELF), 0);
    gfns[2] = 1ull << 40;
    gput(G(0x500), gfns, sizeof(gfns));
    assert_int_equal(reserve(XENMEM_populate_physmap, G(0x500) + 16, 1, 0, 0, DOMID_SELF), 0);
    /* Populating over our own RAM gives the old page back first. */
    nr_released = 0;
    assert_int_equal(reserve(XENMEM_populate_physmap, G(0x500), 1, 0, 0, DOMID_SELF), 1);
    assert_int_equal(nr_released, 1);
    assert_int_equal(released[0], RAM_GFN + 3);

    /* 32-bit: 20-byte reservation, 4-byte list entries. */
    guest_mode = X86_MODE_32;
    gput(G(0x540), gfns32, sizeof(gfns32));
    nr_released = 0;
    assert_int_equal(reserve(XENMEM_decrease_reservation, G(0x540), 2, 0, 0, DOMID_SELF), 2);
    assert_int_equal(released[1], RAM_GFN + 7);
    guest_mode = X86_MODE_64;

    /* 5000 extents: 4096 pages per exit, the rest continued. */
    for (unsigned int i = 0; i < 5000; i++) {
        uint64_t g = RAM_GFN + 8;
        gput(G(0x10000) + i * 8ull, &g, 8);
    }
    nr_released = 0;
    struct xen_memory_reservation r = { .nr_extents = 5000, .domid = DOMID_SELF };
    set_xen_guest_handle(r.extent_start, (xen_pfn_t *)(uintptr_t)G(0x10000));
    gput(G(0x600), &r, sizeof(r));
    assert_int_equal(raw_call(__HYPERVISOR_memory_op, XENMEM_decrease_reservation, G(0x600), 0),
                     HVM_NO_ADVANCE);
    assert_int_equal(v->hvm.regs.gpr[X86_REG_RDI],
                     XENMEM_decrease_reservation | 4096ull << MEMOP_EXTENT_SHIFT);
    assert_int_equal(hvm_hypercall(v), HVM_DONE);
    assert_int_equal(v->hvm.regs.gpr[X86_REG_RAX], 5000);
    assert_int_equal(nr_released, 5000);
}

/* ---- hvm_op ---------------------------------------------------------------------------------------- */

static long param(bool set, domid_t domid, uint32_t index, uint64_t *value)
{
    struct xen_hvm_param p = { .domid = domid, .index = index, .value = *value };
    long rc;

    gput(G(0), &p, sizeof(p));
    rc = HVMOP(set ? HVMOP_set_param : HVMOP_get_param, G(0));
    gget(G(0), &p, sizeof(p));
    *value = p.value;
    return rc;
}

static void hvm_op(void **state)
{
    uint64_t val = 2ull << 56 | 0xf3;                    /* vector callback */

    assert_int_equal(param(true, DOMID_SELF, HVM_PARAM_CALLBACK_IRQ, &val), 0);
    assert_int_equal(dom.hvm_params[HVM_PARAM_CALLBACK_IRQ], 2ull << 56 | 0xf3);
    val = 0;
    assert_int_equal(param(false, dom.domain_id, HVM_PARAM_CALLBACK_IRQ, &val), 0);
    assert_int_equal(val, 2ull << 56 | 0xf3);
    /* Toolstack parameters: readable where Xen lets guests read them. */
    dom.hvm_params[HVM_PARAM_STORE_PFN] = 0xfeffe;
    val = 1;
    assert_int_equal(param(true, DOMID_SELF, HVM_PARAM_STORE_PFN, &val), -EPERM);
    assert_int_equal(param(false, DOMID_SELF, HVM_PARAM_STORE_PFN, &val), 0);
    assert_int_equal(val, 0xfeffe);
    assert_int_equal(param(false, DOMID_SELF, HVM_PARAM_IDENT_PT, &val), -EPERM);
    assert_int_equal(param(true, DOMID_SELF, HVM_PARAM_VIRIDIAN, &val), -EPERM);
    assert_int_equal(param(true, DOMID_SELF, 4 /* PAE_ENABLED */, &val), -EPERM);
    assert_int_equal(param(false, DOMID_SELF, 4, &val), -ENODATA);
    assert_int_equal(param(false, DOMID_SELF, HVM_NR_PARAMS, &val), -EINVAL);
    assert_int_equal(param(true, DOMID_SELF, 0xffffffff, &val), -EINVAL);
    assert_int_equal(param(false, other.domain_id, HVM_PARAM_CALLBACK_IRQ, &val), -EPERM);
    assert_int_equal(param(false, 99, HVM_PARAM_CALLBACK_IRQ, &val), -ESRCH);
    assert_int_equal(param(false, 99, HVM_NR_PARAMS, &val), -EINVAL);   /* index first */
    /* Value checks. */
    val = 3;
    assert_int_equal(param(true, DOMID_SELF, HVM_PARAM_X87_FIP_WIDTH, &val), -EINVAL);
    val = 8;
    assert_int_equal(param(true, DOMID_SELF, HVM_PARAM_X87_FIP_WIDTH, &val), 0);
    val = 2;
    assert_int_equal(param(true, DOMID_SELF, HVM_PARAM_ACPI_IOPORTS_LOCATION, &val), -EINVAL);
    val = 1ull << 32;
    assert_int_equal(param(true, DOMID_SELF, HVM_PARAM_VM86_TSS, &val), -EINVAL);
    val = 50ull << 32 | 0x1000;
    assert_int_equal(param(true, DOMID_SELF, HVM_PARAM_VM86_TSS_SIZED, &val), -EINVAL);
    val = 7;
    assert_int_equal(param(true, DOMID_SELF, HVM_PARAM_STORE_EVTCHN, &val), 0);

    assert_int_equal(HVMOP(HVMOP_set_param, G_END - 4), -EFAULT);
    assert_int_equal(HVMOP(HVMOP_get_param, 0), -EFAULT);
    /* Per-vCPU upcall vector: vector >= 0x10 first, then the vCPU. */
    xen_hvm_evtchn_upcall_vector_t uv = { .vcpu = 1, .vector = 0xf4 };
    gput(G(0), &uv, sizeof(uv));
    assert_int_equal(HVMOP(HVMOP_set_evtchn_upcall_vector, G(0)), 0);
    assert_int_equal(vcpus[1].hvm.upcall_vector, 0xf4);
    assert_int_equal(vcpus[0].hvm.upcall_vector, 0);
    uv.vector = 0x0f;
    uv.vcpu = 2;
    gput(G(0), &uv, sizeof(uv));
    assert_int_equal(HVMOP(HVMOP_set_evtchn_upcall_vector, G(0)), -EINVAL);
    uv.vector = 0x10;
    gput(G(0), &uv, sizeof(uv));
    assert_int_equal(HVMOP(HVMOP_set_evtchn_upcall_vector, G(0)), -ENOENT);
    uv.vcpu = 0xffffffff;
    gput(G(0), &uv, sizeof(uv));
    assert_int_equal(HVMOP(HVMOP_set_evtchn_upcall_vector, G(0)), -ENOENT);
    assert_int_equal(HVMOP(HVMOP_set_evtchn_upcall_vector, G_END - 4), -EFAULT);
    now = 123456789;
    assert_int_equal(HVMOP(10 /* get_time */, G(0x300)), 0);
    gget(G(0x300), &val, 8);
    assert_int_equal(val, 123456789);
    assert_int_equal(HVMOP(10, G_END - 4), -EFAULT);
    assert_int_equal(HVMOP(HVMOP_flush_tlbs, 0), -ENOSYS);
    assert_int_equal(HVMOP(1ull << 32 | HVMOP_get_param, G(0)), -ENOSYS);   /* unsigned long op */
}

/* ---- vcpu_op ----------------------------------------------------------------------------------------- */

static long register_vcpu_info(unsigned int id, uint64_t gfn, uint32_t offset)
{
    struct vcpu_register_vcpu_info r = { .mfn = gfn, .offset = offset };

    gput(G(0x800), &r, sizeof(r));
    return VCPU(VCPUOP_register_vcpu_info, id, G(0x800));
}

static void vcpu_op(void **state)
{
    assert_int_equal(VCPU(VCPUOP_is_up, 0, 0), 1);
    assert_int_equal(VCPU(VCPUOP_is_up, 1, 0), 0);
    assert_int_equal(VCPU(VCPUOP_is_up, 2, 0), -ENOENT);
    assert_int_equal(VCPU(VCPUOP_is_up, 8, 0), -ENOENT);
    assert_int_equal(VCPU(VCPUOP_is_up, 0xffffffff, 0), -ENOENT);
    assert_int_equal(VCPU(VCPUOP_is_up, 1ull << 32, 0), 1);   /* an unsigned int: vCPU 0 */
    /* The time ops go to runstate.c, vcpu_timer.c and vtime.c. */
    static const int time_ops[] = {
        VCPUOP_get_runstate_info, VCPUOP_register_runstate_memory_area,
        VCPUOP_set_periodic_timer, VCPUOP_stop_periodic_timer, VCPUOP_set_singleshot_timer,
        VCPUOP_stop_singleshot_timer, VCPUOP_register_vcpu_time_memory_area,
    };
    for (size_t i = 0; i < sizeof(time_ops) / sizeof(time_ops[0]); i++) {
        time_calls = 0;
        assert_int_equal(VCPU(time_ops[i], 1, G(0)), -ENODATA);
        assert_int_equal(time_calls, 1);
        assert_int_equal(time_last_cmd, time_ops[i]);
    }
    assert_int_equal(call(__HYPERVISOR_set_timer_op, 0, 0, 0), -ENODATA);
    assert_int_equal(call(__HYPERVISOR_vm_assist, 0, 5, 0), -ENODATA);
    assert_int_equal(time_last_cmd, 1001);
    time_calls = 0;
    assert_int_equal(VCPU(VCPUOP_get_runstate_info, 5, G(0)), -ENOENT);
    assert_int_equal(time_calls, 0);
    assert_int_equal(VCPU(0x100, 0, G(0)), -ENOSYS);
}

static void vcpu_info_offsets(void **state)
{
    assert_int_equal(vcpu_info_offset_check(0, 64, 8), 0);
    assert_int_equal(vcpu_info_offset_check(4032, 64, 8), 0);
    assert_int_equal(vcpu_info_offset_check(4033, 64, 1), -ENXIO);
    assert_int_equal(vcpu_info_offset_check(4040, 64, 8), -ENXIO);
    assert_int_equal(vcpu_info_offset_check(4096, 64, 8), -ENXIO);
    assert_int_equal(vcpu_info_offset_check(~0ull, 64, 8), -ENXIO);
    assert_int_equal(vcpu_info_offset_check(1ull << 32, 64, 8), -ENXIO);
    assert_int_equal(vcpu_info_offset_check(4, 64, 8), -ENXIO);
    assert_int_equal(vcpu_info_offset_check(4, 64, 4), 0);
    assert_int_equal(memory_map_count(0xffffffff, 3), 3);
    assert_int_equal(memory_map_count(2, 3), 2);
    assert_int_equal(memory_map_count(0, 3), 0);
}

static void vcpu_register_info(void **state)
{
    struct vcpu_info seen;

    v->vcpu_info->evtchn_upcall_mask = 1;
    v->vcpu_info->time.version = 42;
    assert_int_equal(register_vcpu_info(0, RAM_GFN + 3, 4040), -ENXIO);
    assert_int_equal(register_vcpu_info(0, RAM_GFN + 3, 12), -ENXIO);
    assert_int_equal(register_vcpu_info(0, 0x9999, 64), -EINVAL);        /* not RAM */
    assert_int_equal(register_vcpu_info(0, ~0ull, 64), -EINVAL);
    assert_int_equal(register_vcpu_info(0, RAM_GFN + 3, 4032), 0);
    assert_ptr_equal(v->vcpu_info, machine[3] + 4032);
    assert_int_equal(v->vcpu_info_maddr, ((RAM_MFN + 3) << 12) + 4032);
    gget(G(3 * 4096 + 4032), &seen, sizeof(seen));
    assert_int_equal(seen.evtchn_upcall_mask, 1);        /* contents moved */
    assert_int_equal(seen.time.version, 42);
    assert_int_equal(seen.evtchn_upcall_pending, 1);     /* all marked pending */
    assert_int_equal(seen.evtchn_pending_sel, ~(xen_ulong_t)0);
    assert_int_equal(register_vcpu_info(0, RAM_GFN + 4, 0), -EINVAL);    /* only once */
    /* Another vCPU: only while it is down. */
    vcpus[1].is_up = true;
    assert_int_equal(register_vcpu_info(1, RAM_GFN + 4, 0), -EINVAL);
    vcpus[1].is_up = false;
    assert_int_equal(register_vcpu_info(1, RAM_GFN + 4, 0), 0);
    assert_int_equal(register_vcpu_info(2, RAM_GFN + 4, 64), -ENOENT);
    assert_int_equal(VCPU(VCPUOP_register_vcpu_info, 0, G_END - 8), -EFAULT);
    /* A registered page displaced by shared info stays valid for us. */
    assert_int_equal(xatp(DOMID_SELF, XENMAPSPACE_shared_info, 0, RAM_GFN + 3), 0);
    assert_ptr_equal(v->vcpu_info, machine[3] + 4032);
}

static void vcpu_register_info_compat(void **state)
{
    guest_mode = X86_MODE_32;
    assert_int_equal(register_vcpu_info(0, RAM_GFN + 3, 4028), 0);   /* 4-byte aligned */
    assert_int_equal(*(uint32_t *)(machine[3] + 4028 + 4), 0xffffffff);
    assert_int_equal(machine[3][4028], 1);                           /* upcall pending */
    assert_int_equal(register_vcpu_info(1, RAM_GFN + 3, 4030), -ENXIO);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(dispatch), T(xen_version), T(console_io), T(sched_basic), T(sched_shutdown_code),
        T(sched_watchdogs), T(memory_reservation), T(memory_map),
        T(add_to_physmap_shared_info), T(add_to_physmap_grant_table), T(add_to_physmap_gmfn),
        T(memory_balloon),
        T(hvm_op), T(vcpu_op), T(vcpu_info_offsets), T(vcpu_register_info),
        T(vcpu_register_info_compat),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
