/*
 * 16550 UART driver, polled. The console is the one thing that must work
 * when everything else has failed, so it takes no locks of its own and
 * never sleeps; printk serialises callers.
 */
#include <proxenos/console.h>
#include <proxenos/io.h>

#define UART_THR 0   /* transmit holding (write) */
#define UART_RBR 0   /* receive buffer (read) */
#define UART_IER 1
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_SCR 7
#define  LSR_DR   0x01   /* data ready */
#define  LSR_THRE 0x20   /* transmit holding register empty */

static uint16_t uart_base;

bool serial_present(void)
{
    return uart_base != 0;
}

void serial_init(uint16_t base)
{
    /* A missing UART reads back all-ones; the scratch register tells. */
    outb(base + UART_SCR, 0x5a);
    if (inb(base + UART_SCR) != 0x5a) {
        uart_base = 0;
        return;
    }
    outb(base + UART_IER, 0x00);       /* polled: no interrupts */
    outb(base + UART_LCR, 0x80);       /* DLAB to set the divisor */
    outb(base + 0, 1);                 /* 115200 baud */
    outb(base + 1, 0);
    outb(base + UART_LCR, 0x03);       /* 8N1 */
    outb(base + UART_FCR, 0x07);       /* FIFOs on and cleared */
    outb(base + UART_MCR, 0x03);       /* DTR, RTS */
    uart_base = base;
}

void serial_putc(char c)
{
    if (!uart_base)
        return;
    for (unsigned int spins = 0; spins < 100000; spins++)
        if (inb(uart_base + UART_LSR) & LSR_THRE)
            break;
    outb(uart_base + UART_THR, (uint8_t)c);
}

int serial_getc(void)
{
    if (!uart_base || !(inb(uart_base + UART_LSR) & LSR_DR))
        return -1;
    return inb(uart_base + UART_RBR);
}
