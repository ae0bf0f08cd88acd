/*
 * Serial console input for the hypervisor and dom0
 * (hypervisor/console/console_input.c), as Xen 4.17's
 * xen/drivers/char/console.c routes it:
 *
 *  - Input goes to the debug keys until the initial domain (dom0) exists,
 *    then to dom0: "*** Serial input to DOM0 (type 'CTRL-a' three times to
 *    switch input)". Typing the switch character (Ctrl-A, `conswitch=`)
 *    three times in a row swaps between dom0 and the hypervisor's debug
 *    keys; fewer than three are passed on as ordinary input. `conswitch=Cx`
 *    sets the character (a-z: Ctrl-C; '`': no switching) and with 'x'
 *    leaves input with the hypervisor when dom0 starts.
 *  - dom0's input is a 256-byte receive ring (Xen's serial_rx_ring): bytes
 *    beyond it are dropped, VIRQ_CONSOLE is raised for every byte received
 *    (dropped or not, as Xen does, so the reader never stalls), and
 *    CONSOLEIO_read takes them out.
 *  - While dom0 has the input, its CONSOLEIO_write output is written through
 *    at once, not line-buffered, so that its prompt and its echo of what is
 *    typed show up (Xen writes the hardware domain's output directly, "as
 *    it could be interactive"). Lines still start with "(d0) ".
 *
 * console_poll() (keyhandler.c) feeds each received byte in, from CPU 0's
 * idle loop and its housekeeping timer (idle.c), never concurrently.
 */
#ifndef PROXENOS_CONSOLE_INPUT_H
#define PROXENOS_CONSOLE_INPUT_H
#include <proxenos/types.h>

struct vcpu;
struct domain;

#define CONSOLE_RX_SIZE 256

/* One received byte: the switch sequence, dom0's ring or a debug key. */
void console_input_char(char c);
/* Notices that dom0 now exists and hands it the input (once). */
void console_input_poll(void);
/* CONSOLEIO_read: up to count bytes to the guest buffer at gla (32-bit
   addresses wrap for compat callers). The count read, or -EFAULT when a
   part cannot be written (bytes copied before it are consumed, as in Xen). */
long console_input_read(struct vcpu *v, uint64_t gla, uint32_t count, bool compat);
/* The domain that has the console input, NULL for the hypervisor. */
struct domain *console_input_focus(void);
/* CONSOLEIO_write of the domain that has the input: written through. */
void console_input_guest_write(struct domain *d, const char *buf, size_t len);

/* The debug-key handler for one key (keyhandler.c). */
void handle_keypress(char c);

#endif
