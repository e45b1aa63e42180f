/* 16550 UART driver: the host serial console (polled, no interrupts). */
#include "drivers/uart.h"
#include "arch/x86/cpu.h"
#include "kernel/errno.h"

enum { THR = 0, RBR = 0, DLL = 0, IER = 1, DLM = 1, FCR = 2, LCR = 3, MCR = 4, LSR = 5 };
#define LSR_DR   0x01
#define LSR_THRE 0x20
#define UART_CLOCK 115200

int uart_init(uint16_t port, uint32_t baud)
{
    uint32_t div;
    if (!baud || UART_CLOCK % baud)
        return -EINVAL;
    div = UART_CLOCK / baud;
    outb(port + IER, 0x00);
    outb(port + LCR, 0x80);             /* DLAB on */
    outb(port + DLL, div & 0xff);
    outb(port + DLM, (div >> 8) & 0xff);
    outb(port + LCR, 0x03);             /* 8N1, DLAB off */
    outb(port + FCR, 0xC7);             /* FIFOs on, cleared, 14-byte threshold */
    outb(port + MCR, 0x03);             /* DTR, RTS */
    return 0;
}

void uart_putc(uint16_t port, char c)
{
    for (int spins = 0; spins < 100000 && !(inb(port + LSR) & LSR_THRE); spins++)
        ;
    outb(port + THR, (uint8_t)c);
}

int uart_getc(uint16_t port)
{
    uint8_t lsr = inb(port + LSR);
    if (lsr == 0xff || !(lsr & LSR_DR))
        return -1;
    return inb(port + RBR);
}
