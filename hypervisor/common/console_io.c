/*
 * __HYPERVISOR_console_io (xen/include/public/xen.h CONSOLEIO_*), as Xen
 * 4.17's xen/drivers/char/console.c do_console_io:
 *
 * CONSOLEIO_write(count, buffer): the bytes go to the domain's console
 * line buffer (domain_console_write: "(dN) " per line, control characters
 * neutralised). Copied in CONSOLEIO_CHUNK-byte pieces; the first piece
 * that cannot be read ends the call with -EFAULT (what came before it was
 * written, as in Xen). A large count is not done in one exit: after
 * CONSOLEIO_PER_CALL bytes the call continues (hcall_continue) with count
 * and buffer advanced, as Xen's hypercall continuation does, so a guest
 * asking for 4 GiB costs the CPU nothing it could not preempt. Returns 0.
 * Xen lets every domain write here only in debug builds (release builds
 * restrict console_io to the privileged domain through XSM); Proxenos
 * keeps it open, because its test guests and early consoles rely on it.
 *
 * While the domain has the serial console's input (dom0, console_input.h)
 * its output is written through at once rather than line-buffered, as Xen
 * writes the hardware domain's, so a prompt and the echo of typed
 * characters appear. Other domains' output is shown only while
 * `guest_loglvl=` (Xen's option; default all) includes debug messages,
 * the level Xen gives guests' console_io lines.
 *
 * CONSOLEIO_read: the initial domain gets what the serial console received
 * for it (console_input_read: at most count bytes, -EFAULT for a buffer
 * that cannot be written), after Xen's check that the count fits an int
 * (-E2BIG); other domains get -EPERM, as under Xen.
 */
#include <proxenos/xen_abi.h>
#include <proxenos/cmdline.h>
#include <proxenos/console_input.h>
#include <proxenos/domain.h>
#include <proxenos/guest_access.h>
#include <proxenos/hypercall.h>
#include <proxenos/printk.h>

static int guest_log_threshold = LVL_DEBUG;

static int parse_guest_loglvl(const char *v)
{
    return v ? log_level_parse(v, &guest_log_threshold) : -1;
}
custom_param("guest_loglvl", parse_guest_loglvl);

static void guest_output(struct domain *d, const char *buf, size_t len)
{
    if (console_input_focus() == d)
        console_input_guest_write(d, buf, len);
    else if (d->is_initial || guest_log_threshold >= LVL_DEBUG)
        domain_console_write(d, buf, len);
}

static long console_write_op(struct vcpu *v, struct hcall *h)
{
    uint32_t count = (uint32_t)h->arg[1];
    uint64_t buf = h->arg[2];
    unsigned int done = 0;
    char kbuf[CONSOLEIO_CHUNK];

    while (count) {
        unsigned int n = MIN(count, (uint32_t)sizeof(kbuf));

        if (done >= CONSOLEIO_PER_CALL) {
            h->arg[1] = count;
            h->arg[2] = buf;
            hcall_continue(h);
            return 0;
        }
        if (copy_from_guest(v, kbuf, buf, n))
            return -EFAULT;
        guest_output(v->domain, kbuf, n);
        buf += n;
        if (h->compat)
            buf = (uint32_t)buf;
        count -= n;
        done += n;
    }
    return 0;
}

long do_console_io(struct vcpu *v, struct hcall *h)
{
    switch ((int)h->arg[0]) {
    case CONSOLEIO_write:
        return console_write_op(v, h);
    case CONSOLEIO_read:
        if (!v->domain->is_initial)
            return -EPERM;
        if ((int32_t)h->arg[1] < 0)
            return -E2BIG;
        return console_input_read(v, h->arg[2], (uint32_t)h->arg[1], h->compat);
    default:
        return -ENOSYS;
    }
}
