/* 16550 UART driver: the host serial console (polled, no interrupts). */
#ifndef SHOAL_DRIVERS_UART_H
#define SHOAL_DRIVERS_UART_H
#include <stdint.h>

/* Program the UART at I/O base port for baud 8N1, FIFOs on. Returns 0, or -EINVAL for a baud the divisor cannot express. */
int uart_init(uint16_t port, uint32_t baud);
/* Send one byte, waiting for the transmitter (bounded wait: a missing UART does not hang the host). */
void uart_putc(uint16_t port, char c);
/* Return the next received byte, or -1 when none is waiting. */
int uart_getc(uint16_t port);
#endif
