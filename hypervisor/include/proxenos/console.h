/* The physical console: a 16550 UART (COM1 by default, `console=com1|com2|none`). */
#ifndef PROXENOS_CONSOLE_H
#define PROXENOS_CONSOLE_H
#include <proxenos/types.h>

void serial_init(uint16_t base);
void serial_putc(char c);
/* Returns a received byte, or -1 if none is waiting. */
int serial_getc(void);
bool serial_present(void);

/* Polls console input and runs debug-key handlers; called from idle and ticks. */
void console_poll(void);
/* Registers a debug key ('h' lists them), Xen's keyhandler idea. */
void register_keyhandler(char key, void (*fn)(char key), const char *desc);

#endif
