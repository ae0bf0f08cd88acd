/*
 * Serial input switching and dom0's console receive ring, after Xen 4.17's
 * xen/drivers/char/console.c (serial_rx, __serial_rx, switch_serial_input,
 * do_console_io's CONSOLEIO_read). What it does is in console_input.h.
 *
 * Concurrency: the producer (console_input_char, console_input_poll) runs
 * only on CPU 0 with interrupts off (idle loop, timer callback). Readers are
 * hypercalls on any CPU: they serialise on read_lock and touch the ring
 * indices under ring_lock with interrupts off, so the producer never waits
 * for a reader that its own CPU interrupted.
 */
#include <proxenos/xen_abi.h>
#include <proxenos/cmdline.h>
#include <proxenos/console.h>
#include <proxenos/console_input.h>
#include <proxenos/domain.h>
#include <proxenos/evtchn.h>
#include <proxenos/guest_access.h>
#include <proxenos/lib.h>
#include <proxenos/printk.h>
#include <proxenos/spinlock.h>

BUILD_BUG_ON(CONSOLE_RX_SIZE & (CONSOLE_RX_SIZE - 1));

/* ---- conswitch= ---------------------------------------------------------------------- */

static char switch_char = 'a';              /* Ctrl-A; 0: switching disabled */
static bool start_with_hypervisor;          /* conswitch=?x */

static int parse_conswitch(const char *v)
{
    if (!v || !v[0] || (v[1] && (v[1] != 'x' || v[2])))
        return -1;
    if (v[0] != '`' && (v[0] < 'a' || v[0] > 'z'))
        return -1;
    switch_char = v[0] == '`' ? 0 : v[0];
    start_with_hypervisor = v[1] == 'x';
    return 0;
}
custom_param("conswitch", parse_conswitch);

static char switch_code(void)
{
    return switch_char ? (char)(switch_char - 'a' + 1) : 0;
}

/* ---- who gets the input ------------------------------------------------------------- */

enum focus { FOCUS_BOOT, FOCUS_HYPERVISOR, FOCUS_DOM0 };
static enum focus focus = FOCUS_BOOT;       /* written on CPU 0 only */

static struct domain *live_dom0(void)
{
    struct domain *d = domain_by_id(0);

    return d && d->is_initial && !d->is_shutting_down ? d : NULL;
}

struct domain *console_input_focus(void)
{
    return __atomic_load_n(&focus, __ATOMIC_ACQUIRE) == FOCUS_DOM0 ? live_dom0() : NULL;
}

/* dom0's output line written through and not ended yet. */
static spinlock_t out_lock = SPINLOCK_INIT;
static bool line_open;                      /* guarded by out_lock */

/* Ends an open dom0 line, so the hypervisor's next line starts on its own. */
static void close_guest_line(void)
{
    uint64_t f = spin_lock_irqsave(&out_lock);

    if (line_open)
        console_write("\n", 1);
    line_open = false;
    spin_unlock_irqrestore(&out_lock, f);
}

/* Xen's switch_serial_input and its message. */
static void set_focus(enum focus to)
{
    struct domain *d = to == FOCUS_DOM0 ? live_dom0() : NULL;

    if (to == FOCUS_DOM0 && !d)
        to = FOCUS_HYPERVISOR;               /* nobody to give it to */
    if (to != FOCUS_DOM0)
        close_guest_line();
    __atomic_store_n(&focus, to, __ATOMIC_RELEASE);
    if (switch_char)
        printk("*** Serial input to %s (type 'CTRL-%c' three times to switch input)\n",
               to == FOCUS_DOM0 ? "DOM0" : "Proxenos", switch_char);
    else
        printk("*** Serial input to %s\n", to == FOCUS_DOM0 ? "DOM0" : "Proxenos");
}

void console_input_poll(void)
{
    if (focus == FOCUS_BOOT && live_dom0())
        set_focus(start_with_hypervisor ? FOCUS_HYPERVISOR : FOCUS_DOM0);
}

/* ---- dom0's receive ring ------------------------------------------------------------------ */

static char rx_ring[CONSOLE_RX_SIZE];
static uint32_t rx_prod, rx_cons;           /* free-running; guarded by ring_lock */
static spinlock_t ring_lock = SPINLOCK_INIT;
static spinlock_t read_lock = SPINLOCK_INIT;

/* Xen's __serial_rx for the hardware domain. */
static void deliver(char c)
{
    struct domain *d = console_input_focus();
    uint64_t f;

    if (!d) {
        handle_keypress(c);
        return;
    }
    f = spin_lock_irqsave(&ring_lock);
    if (rx_prod - rx_cons != CONSOLE_RX_SIZE)
        rx_ring[rx_prod++ % CONSOLE_RX_SIZE] = c;
    spin_unlock_irqrestore(&ring_lock, f);
    /* Always, even when the byte was dropped: the reader must not stall. */
    send_guest_global_virq(d, VIRQ_CONSOLE);
}

/* Xen's serial_rx: the switch character is held back in threes. */
void console_input_char(char c)
{
    static unsigned int held;               /* switch characters seen in a row */
    char sw = switch_code();

    console_input_poll();
    if (sw && c == sw) {
        if (++held == 3) {
            held = 0;
            set_focus(focus == FOCUS_DOM0 ? FOCUS_HYPERVISOR : FOCUS_DOM0);
        }
        return;
    }
    for (; held; held--)
        deliver(sw);
    deliver(c);
}

/* Up to n bytes from the ring, not yet consumed. */
static size_t ring_peek(char *buf, size_t n)
{
    uint64_t f = spin_lock_irqsave(&ring_lock);
    size_t avail = rx_prod - rx_cons, i;

    for (i = 0; i < n && i < avail; i++)
        buf[i] = rx_ring[(rx_cons + i) % CONSOLE_RX_SIZE];
    spin_unlock_irqrestore(&ring_lock, f);
    return i;
}

static void ring_consume(size_t n)
{
    uint64_t f = spin_lock_irqsave(&ring_lock);

    rx_cons += (uint32_t)n;
    spin_unlock_irqrestore(&ring_lock, f);
}

long console_input_read(struct vcpu *v, uint64_t gla, uint32_t count, bool compat)
{
    char buf[64];
    long done = 0;

    spin_lock(&read_lock);
    while ((uint32_t)done < count) {
        uint64_t at = compat ? (uint32_t)(gla + done) : gla + done;
        size_t n = ring_peek(buf, MIN(sizeof(buf), count - (uint32_t)done));

        if (!n)
            break;
        if (copy_to_guest(v, at, buf, n)) {
            done = -EFAULT;                   /* these bytes stay for the next read */
            break;
        }
        ring_consume(n);
        done += (long)n;
    }
    spin_unlock(&read_lock);
    return done;
}

/* ---- dom0's output while it has the input ----------------------------------------------------- */

void console_input_guest_write(struct domain *d, const char *buf, size_t len)
{
    char out[192];
    size_t n = 0;
    uint64_t f;

    /* A line begun while the hypervisor had the input (line-buffered then)
       is printed first; not from set_focus(), which may run in an
       interrupt that came while d->lock was held. */
    if (__atomic_load_n(&d->console_len, __ATOMIC_RELAXED))
        domain_console_flush(d);
    f = spin_lock_irqsave(&out_lock);

    for (size_t i = 0; i < len; i++) {
        if (n > sizeof(out) - 16) {
            console_write(out, n);
            n = 0;
        }
        if (buf[i] == '\r' && i + 1 < len && buf[i + 1] == '\n')
            continue;                        /* the console adds its own CR */
        if (!line_open) {
            n += px_snprintf(out + n, sizeof(out) - n, "(d%u) ", d->domain_id);
            line_open = true;
        }
        out[n++] = buf[i];
        if (buf[i] == '\n')
            line_open = false;
    }
    if (n)
        console_write(out, n);
    spin_unlock_irqrestore(&out_lock, f);
}
