/*
 * Debug keys on the serial console, in the spirit of Xen's keyhandlers:
 * 'h' lists them. Input is polled from the idle loop and timer ticks, and
 * reaches the keys only while the hypervisor has the console input
 * (console_input.h: dom0 gets it once it exists; Ctrl-A three times swaps).
 */
#include <proxenos/console.h>
#include <proxenos/console_input.h>
#include <proxenos/printk.h>
#include <proxenos/shutdown.h>

struct keyhandler {
    void (*fn)(char key);
    const char *desc;
};

static struct keyhandler handlers[128];

void register_keyhandler(char key, void (*fn)(char key), const char *desc)
{
    if ((unsigned char)key < 128)
        handlers[(unsigned char)key] = (struct keyhandler){ fn, desc };
}

static void key_help(char key)
{
    printk("Debug keys:\n");
    for (int k = 0; k < 128; k++)
        if (handlers[k].fn)
            printk("  '%c'  %s\n", k, handlers[k].desc);
}

static void key_reboot(char key) { machine_restart(); }
static void key_poweroff(char key) { machine_exit(EXIT_POWEROFF); }

static bool keys_registered;

void console_poll(void)
{
    int c;

    if (!keys_registered) {
        keys_registered = true;
        register_keyhandler('h', key_help, "list the debug keys");
        register_keyhandler('R', key_reboot, "reboot the machine");
        register_keyhandler('P', key_poweroff, "power the machine off");
    }
    console_input_poll();
    /* Each byte goes to dom0 or to handle_keypress (console_input.c). */
    while ((c = serial_getc()) >= 0)
        console_input_char((char)c);
}

void handle_keypress(char key)
{
    unsigned char c = (unsigned char)key;

    if (c < 128 && handlers[c].fn)
        handlers[c].fn(key);
    else if (c != '\r' && c != '\n')
        printk("'%c' (0x%02x) is not a debug key; 'h' lists them\n",
               c >= 32 && c < 127 ? c : '?', c);
}
