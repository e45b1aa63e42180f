/* 16550A UART (National Semiconductor PC16550D datasheet): 16-byte RX FIFO, THRE/RX/line/modem interrupts. */
#include "vmm/dev/ns16550.h"
#include "vmm/dev/dev.h"
#include "kernel/kstring.h"
#include "vmm/dev/devices.h"
#include "kernel/heap.h"
#include "kernel/errno.h"

#define IER_RDI   0x01
#define IER_THRI  0x02
#define IER_RLSI  0x04
#define IER_MSI   0x08
#define LCR_DLAB  0x80
#define MCR_DTR   0x01
#define MCR_RTS   0x02
#define MCR_OUT1  0x04
#define MCR_OUT2  0x08
#define MCR_LOOP  0x10
#define LSR_DR    0x01
#define LSR_OE    0x02
#define LSR_ERR   0x1e               /* OE, PE, FE, BI */
#define LSR_THRE  0x20
#define LSR_TEMT  0x40
#define FCR_EN    0x01
#define IIR_NONE  0x01

/* The pending interrupt of highest priority (datasheet table 4): line status, RX data, THRE, modem. */
static uint8_t uart_iir(const struct ns16550_state *s)
{
    uint8_t fifo = (s->fcr & FCR_EN) ? 0xc0 : 0;
    if ((s->ier & IER_RLSI) && (s->lsr & LSR_ERR))
        return fifo | 0x06;
    if ((s->ier & IER_RDI) && (s->lsr & LSR_DR))
        return fifo | 0x04;
    if ((s->ier & IER_THRI) && s->thr_int)
        return fifo | 0x02;
    if ((s->ier & IER_MSI) && (s->msr & 0x0f))
        return fifo | 0x00;
    return fifo | IIR_NONE;
}

/* The interrupt line follows the IIR (level semantics through vm_irq_set). */
static void uart_update(struct ns16550 *u)
{
    uint8_t level = !(uart_iir(&u->s) & IIR_NONE);
    if (level != u->s.irq_level) {
        u->s.irq_level = level;
        vm_irq_set(u->vm, u->gsi, level);
    }
}

/* In loopback the modem inputs are wired to the outputs: CTS=RTS, DSR=DTR, RI=OUT1, DCD=OUT2. */
static uint8_t modem_inputs(const struct ns16550_state *s)
{
    if (!(s->mcr & MCR_LOOP))
        return 0xb0;                 /* DCD, DSR, CTS: a terminal is always there */
    return (uint8_t)(((s->mcr & MCR_RTS) ? 0x10 : 0) | ((s->mcr & MCR_DTR) ? 0x20 : 0) |
                     ((s->mcr & MCR_OUT1) ? 0x40 : 0) | ((s->mcr & MCR_OUT2) ? 0x80 : 0));
}

static void set_modem(struct ns16550_state *s, uint8_t in)
{
    uint8_t old = s->msr & 0xf0, chg = old ^ in;
    uint8_t delta = (uint8_t)(((chg & 0x10) ? 0x01 : 0) | ((chg & 0x20) ? 0x02 : 0) |
                              ((old & 0x40) && !(in & 0x40) ? 0x04 : 0) | ((chg & 0x80) ? 0x08 : 0));
    s->msr = (uint8_t)(in | (s->msr & 0x0f) | delta);
}

static void rx_push(struct ns16550_state *s, uint8_t c)
{
    int cap = (s->fcr & FCR_EN) ? UART_FIFO : 1;
    if (s->rx_count >= cap) {
        s->lsr |= LSR_OE;
        return;
    }
    s->rx[(s->rx_head + s->rx_count) % UART_FIFO] = c;
    s->rx_count++;
    s->lsr |= LSR_DR;
}

static uint8_t rx_pop(struct ns16550_state *s)
{
    uint8_t c;
    if (!s->rx_count)
        return 0;
    c = s->rx[s->rx_head];
    s->rx_head = (uint8_t)((s->rx_head + 1) % UART_FIFO);
    if (--s->rx_count == 0)
        s->lsr &= (uint8_t)~LSR_DR;
    return c;
}

/* Move backlogged bytes into the RX FIFO while it has room (the FIFO's depth, or 1 without FIFOs). */
static void uart_refill(struct ns16550 *u)
{
    int cap = (u->s.fcr & FCR_EN) ? UART_FIFO : 1;
    while (u->bl_count && u->s.rx_count < cap && !(u->s.mcr & MCR_LOOP)) {
        rx_push(&u->s, u->backlog[u->bl_head]);
        u->bl_head = (u->bl_head + 1) % UART_BACKLOG;
        u->bl_count--;
    }
}

static void uart_transmit(struct ns16550 *u, uint8_t c)
{
    if (u->s.mcr & MCR_LOOP)
        rx_push(&u->s, c);
    else
        vm_console_out(u->vm, (char)c);
    u->s.lsr |= LSR_THRE | LSR_TEMT; /* sent at once: the transmitter is empty again */
    u->s.thr_int = 1;
}

static uint8_t uart_read(struct ns16550 *u, uint16_t off)
{
    struct ns16550_state *s = &u->s;
    uint8_t v;
    switch (off) {
    case 0: return (s->lcr & LCR_DLAB) ? s->dll : rx_pop(s);
    case 1: return (s->lcr & LCR_DLAB) ? s->dlm : s->ier;
    case 2:
        v = uart_iir(s);
        if ((v & 0x0f) == 0x02)
            s->thr_int = 0;          /* reading the IIR that reports THRE clears it */
        return v;
    case 3: return s->lcr;
    case 4: return s->mcr;
    case 5: v = s->lsr; s->lsr &= (uint8_t)~LSR_ERR; return v;
    case 6: v = s->msr; s->msr &= 0xf0; return v;
    default: return s->scr;
    }
}

static void uart_write(struct ns16550 *u, uint16_t off, uint8_t v)
{
    struct ns16550_state *s = &u->s;
    switch (off) {
    case 0:
        if (s->lcr & LCR_DLAB)
            s->dll = v;
        else
            uart_transmit(u, v);
        break;
    case 1:
        if (s->lcr & LCR_DLAB) {
            s->dlm = v;
            break;
        }
        /* Enabling THRE interrupts while the holding register is empty raises one (Linux relies on it). */
        if ((v & IER_THRI) && !(s->ier & IER_THRI) && (s->lsr & LSR_THRE))
            s->thr_int = 1;
        s->ier = v & 0x0f;
        break;
    case 2:
        if ((v ^ s->fcr) & FCR_EN)
            v |= 0x06;               /* switching FIFO mode clears both FIFOs */
        if (v & 0x02) {
            s->rx_count = 0;
            s->lsr &= (uint8_t)~LSR_DR;
        }
        s->fcr = v & 0xc9;
        break;
    case 3: s->lcr = v; break;
    case 4: s->mcr = v & 0x1f; set_modem(s, modem_inputs(s)); break;
    case 5: break;                   /* LSR is read-only (factory test only) */
    case 6: break;
    default: s->scr = v; break;
    }
}

int ns16550_in(void *dev, uint16_t off, int size, uint32_t *val)
{
    struct ns16550 *u = dev;
    uint64_t f = dev_lock();
    (void)size;
    *val = uart_read(u, off & 7);
    uart_refill(u);                  /* the guest drained a byte: the next one arrives */
    uart_update(u);
    dev_unlock(f);
    return 0;
}

int ns16550_out(void *dev, uint16_t off, int size, uint32_t val)
{
    struct ns16550 *u = dev;
    uint64_t f = dev_lock();
    (void)size;
    uart_write(u, off & 7, (uint8_t)val);
    uart_refill(u);                  /* a FIFO reset or enable makes room */
    uart_update(u);
    dev_unlock(f);
    return 0;
}

void ns16550_rx(void *dev, char c)
{
    struct ns16550 *u = dev;
    uint64_t f = dev_lock();
    if (!(u->s.mcr & MCR_LOOP)) {    /* in loopback the serial input is disconnected */
        if (u->bl_count < UART_BACKLOG) {
            u->backlog[(u->bl_head + u->bl_count) % UART_BACKLOG] = (uint8_t)c;
            u->bl_count++;
        }
        uart_refill(u);
    }
    uart_update(u);
    dev_unlock(f);
}

void ns16550_snapshot(struct ns16550_state *st, struct snap *s)
{
    snap_header(s, SNAP_TAG_UART, UART_STATE_VERSION);
    SNAP(s, *st);                    /* plain bytes only: one record */
    if (!s->save && !s->err && (st->rx_head >= UART_FIFO || st->rx_count > UART_FIFO))
        s->err = -EINVAL;
}

static void uart_detach(struct vm *vm, void *arg)
{
    struct ns16550 *u = arg;
    if (vm->console_in.dev == u) {
        vm->console_in.rx = NULL;
        vm->console_in.dev = NULL;
    }
    kfree(u);
}

/* Master reset (datasheet table 9): registers to their reset values; the operator's backlog stays. */
static void uart_power_on(struct ns16550 *u)
{
    memset(&u->s, 0, sizeof(u->s));
    u->s.lsr = LSR_THRE | LSR_TEMT;
    u->s.msr = 0xb0;
    u->s.dll = 12;                   /* 9600 baud, the usual firmware default */
}

static void uart_vm_reset(struct vm *vm, void *arg)
{
    struct ns16550 *u = arg;
    uint64_t f = dev_lock();
    uart_power_on(u);
    vm_irq_set(vm, u->gsi, 0);
    dev_unlock(f);
}

static void uart_snap(void *dev, struct snap *s)
{
    ns16550_snapshot(&((struct ns16550 *)dev)->s, s);
}

/* Its interrupt line raised again as the restored state has it (the chips' records keep the rest). */
static void uart_post_restore(struct vm *vm, void *dev)
{
    struct ns16550 *u = dev;
    vm_irq_set(vm, u->gsi, u->s.irq_level);
}

int ns16550_attach(struct vm *vm, uint16_t port, int gsi)
{
    struct ns16550 *u = kzalloc(sizeof(*u));
    struct pio_range r = { port, 8, ns16550_in, ns16550_out, u };
    struct vm_dev reg = { .name = "uart",
                          .snapshot = uart_snap,
                          .post_restore = uart_post_restore,
                          .reset = uart_vm_reset,
                          .destroy = uart_detach,
                          .dev = u };
    int rc;
    if (!u)
        return -ENOMEM;
    u->vm = vm;
    u->gsi = gsi;
    uart_power_on(u);
    if ((rc = vm_dev_register(vm, &reg)) < 0) {
        kfree(u);
        return rc;
    }
    if ((rc = vm_register_pio(vm, &r)) < 0)
        return rc;
    if (!vm->console_in.rx) {           /* the first UART is the console */
        vm->console_in.rx = ns16550_rx;
        vm->console_in.dev = u;
    }
    return 0;
}
