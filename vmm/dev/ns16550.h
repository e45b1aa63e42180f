/* 16550A UART model: state record and entry points shared with its unit tests. */
#ifndef SHOAL_VMM_NS16550_H
#define SHOAL_VMM_NS16550_H
#include <stdint.h>
#include "vmm/dev/snapshot.h"

struct vm;

#define UART_FIFO 16
#define UART_STATE_VERSION 1

struct ns16550_state {
    uint8_t rx[UART_FIFO];           /* receive FIFO (one entry used when FIFOs are off) */
    uint8_t rx_head, rx_count;
    uint8_t ier, lcr, mcr, lsr, msr, scr, fcr, dll, dlm;
    uint8_t thr_int;                 /* THRE interrupt pending (cleared by reading IIR or writing THR) */
    uint8_t irq_level;               /* what the GSI was last set to */
};

#define UART_BACKLOG 4096           /* bytes typed or pasted ahead of the guest (a power of two) */

struct ns16550 {
    struct ns16550_state s;
    struct vm *vm;
    int gsi;
    /* The serial line's sender, not the chip: bytes wait here while the RX FIFO is full and move in
     * as the guest drains it, so a pasted line is not lost (a real terminal would be flow-controlled). */
    uint8_t backlog[UART_BACKLOG];
    uint32_t bl_head, bl_count;
};

/* Register access at offset off (0-7) of the UART. Always 0 (the UART never stops the VM). */
int ns16550_in(void *dev, uint16_t off, int size, uint32_t *val);
int ns16550_out(void *dev, uint16_t off, int size, uint32_t val);
/* A byte arriving on the serial line (the host's `vm console`): into the RX FIFO, or behind it in the
 * backlog while the FIFO is full (dropped only when the backlog is full too). */
void ns16550_rx(void *dev, char c);
/* Save or restore the UART's state (see vmm/dev/snapshot.h). */
void ns16550_snapshot(struct ns16550_state *st, struct snap *s);
#endif
