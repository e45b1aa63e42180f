/* 8259A programmable interrupt controller pair (Intel 8259A datasheet): ICW1-4, OCW1-3, cascade, ELCR. */
#include "vmm/dev/apic.h"
#include "vmm/dev/dev.h"
#include "kernel/kstring.h"
#include "vmm/dev/devices.h"
#include "kernel/heap.h"
#include "kernel/errno.h"

static const uint8_t elcr_mask[2] = { 0xf8, 0xde };   /* IRQ 0, 1, 2, 8, 13 are always edge */

/* The IRQ (0-7) the chip would request now, by fixed priority (IR0 highest), or -1. */
static int chip_irq(const struct pic_chip *c)
{
    uint8_t pend = c->irr & ~c->imr;
    for (int i = 0; i < 8; i++) {
        if ((c->isr >> i & 1) && !c->special_mask)
            return -1;                         /* an equal or higher priority one is in service */
        if (pend >> i & 1)
            return i;
    }
    return -1;
}

/* Recompute the slave's INT on master IR2, then tell the CPU side. */
static void pic_update(struct pic *p)
{
    struct pic_chip *m = &p->s.c[0];
    if (chip_irq(&p->s.c[1]) >= 0)
        m->irr |= 1u << 2;
    else
        m->irr &= (uint8_t)~(1u << 2);
    irqchip_pic_changed(p->vm);
}

static void chip_line(struct pic_chip *c, int irq, int level)
{
    uint8_t bit = (uint8_t)(1u << irq);
    if (c->elcr & bit) {                       /* level: IRR follows the line */
        c->irr = level ? c->irr | bit : c->irr & (uint8_t)~bit;
    } else if (level && !(c->lines & bit)) {
        c->irr |= bit;                         /* edge: the rising edge */
    }
    c->lines = level ? c->lines | bit : c->lines & (uint8_t)~bit;
}

void pic_set_irq(struct pic *p, int irq, int level)
{
    if (irq < 0 || irq >= 16 || irq == 2)
        return;
    chip_line(&p->s.c[irq >> 3], irq & 7, level);
    pic_update(p);
}

int pic_output(struct pic *p)
{
    int irq = chip_irq(&p->s.c[0]), sirq;
    if (irq < 0)
        return -1;
    if (irq != 2)
        return p->s.c[0].vbase + irq;
    sirq = chip_irq(&p->s.c[1]);
    return sirq < 0 ? -1 : p->s.c[1].vbase + sirq;
}

/* INTA for one chip: IRR -> ISR (unless auto-EOI); nothing pending is the spurious IRQ 7. */
static int chip_ack(struct pic_chip *c)
{
    int irq = chip_irq(c);
    if (irq < 0)
        return 7;
    if (!(c->elcr >> irq & 1))
        c->irr &= (uint8_t)~(1u << irq);
    if (!c->auto_eoi)
        c->isr |= (uint8_t)(1u << irq);
    return irq;
}

int pic_ack(struct pic *p)
{
    int irq = chip_ack(&p->s.c[0]), vec;
    vec = p->s.c[0].vbase + irq;
    if (irq == 2)
        vec = p->s.c[1].vbase + chip_ack(&p->s.c[1]);
    pic_update(p);
    return vec;
}

static void write_cmd(struct pic_chip *c, uint8_t v)
{
    if (v & 0x10) {                            /* ICW1: start the init sequence */
        c->imr = c->isr = 0;
        c->irr &= c->elcr;
        c->icw_step = 1;
        c->icw4 = v & 1;
        c->single = (v >> 1) & 1;
        c->auto_eoi = c->read_isr = c->special_mask = c->poll = 0;
    } else if (v & 0x08) {                     /* OCW3 */
        if (v & 0x02)
            c->read_isr = v & 1;
        if (v & 0x40)
            c->special_mask = (v >> 5) & 1;
        c->poll = (v >> 2) & 1;
    } else {                                   /* OCW2: EOIs; rotation is treated as its EOI */
        int cmd = v >> 5, irq = -1;
        if (cmd == 1 || cmd == 5) {
            for (int i = 0; i < 8 && irq < 0; i++)
                if (c->isr >> i & 1)
                    irq = i;
        } else if (cmd == 3 || cmd == 7) {
            irq = v & 7;
        }
        if (irq >= 0)
            c->isr &= (uint8_t)~(1u << irq);
    }
}

static void write_data(struct pic_chip *c, uint8_t v)
{
    switch (c->icw_step) {
    case 1: c->vbase = v & 0xf8; c->icw_step = c->single ? (c->icw4 ? 4 : 0) : 3; break;
    case 3: c->icw_step = c->icw4 ? 4 : 0; break;   /* ICW3: the cascade wiring is fixed (IR2) */
    case 4: c->auto_eoi = (v >> 1) & 1; c->icw_step = 0; break;
    default: c->imr = v; break;                     /* OCW1 */
    }
}

uint8_t pic_read(struct pic *p, int chip, int off)
{
    struct pic_chip *c = &p->s.c[chip];
    if (c->poll) {                             /* poll command: the next read acknowledges */
        int irq = chip_irq(c);
        c->poll = 0;
        if (irq < 0)
            return 0;
        chip_ack(c);
        pic_update(p);
        return (uint8_t)(0x80 | irq);
    }
    if (off)
        return c->imr;
    return c->read_isr ? c->isr : c->irr;
}

void pic_write(struct pic *p, int chip, int off, uint8_t val)
{
    if (off)
        write_data(&p->s.c[chip], val);
    else
        write_cmd(&p->s.c[chip], val);
    pic_update(p);
}

static int port_in(void *dev, uint16_t off, int size, uint32_t *val)
{
    struct pic *p = dev;
    uint64_t f = dev_lock();
    (void)size;
    *val = pic_read(p, off >= 0x80, off & 1);
    dev_unlock(f);
    return 0;
}

static int port_out(void *dev, uint16_t off, int size, uint32_t val)
{
    struct pic *p = dev;
    uint64_t f = dev_lock();
    (void)size;
    pic_write(p, off >= 0x80, off & 1, (uint8_t)val);
    dev_unlock(f);
    return 0;
}

static int slave_in(void *dev, uint16_t off, int size, uint32_t *val) { return port_in(dev, (uint16_t)(off + 0x80), size, val); }
static int slave_out(void *dev, uint16_t off, int size, uint32_t val) { return port_out(dev, (uint16_t)(off + 0x80), size, val); }

static int elcr_in(void *dev, uint16_t off, int size, uint32_t *val)
{
    struct pic *p = dev;
    (void)size;
    *val = p->s.c[off & 1].elcr;
    return 0;
}

static int elcr_out(void *dev, uint16_t off, int size, uint32_t val)
{
    struct pic *p = dev;
    uint64_t f = dev_lock();
    (void)size;
    p->s.c[off & 1].elcr = (uint8_t)val & elcr_mask[off & 1];
    pic_update(p);
    dev_unlock(f);
    return 0;
}

void pic_snapshot(struct pic_state *st, struct snap *s)
{
    snap_header(s, SNAP_TAG_PIC, PIC_STATE_VERSION);
    SNAP(s, *st);
}

static void pic_detach(struct vm *vm, void *arg)
{
    struct vm_irqchip *c = irqchip_of(vm);
    if (c)
        c->pic = NULL;
    kfree(arg);
}

static void pic_power_on(struct pic *p)
{
    memset(&p->s, 0, sizeof(p->s));
    p->s.c[0].imr = p->s.c[1].imr = 0xff;      /* masked until the guest programs it */
    p->s.c[0].vbase = 0x08;
    p->s.c[1].vbase = 0x70;
}

static void pic_vm_reset(struct vm *vm, void *arg)
{
    uint64_t f = dev_lock();
    (void)vm;
    pic_power_on(arg);
    dev_unlock(f);
}

static void pic_snap(void *dev, struct snap *s)
{
    pic_snapshot(&((struct pic *)dev)->s, s);
}

int pic_attach(struct vm *vm)
{
    struct vm_irqchip *c = irqchip_get(vm);
    struct vm_dev reg = { .name = "pic", .snapshot = pic_snap, .reset = pic_vm_reset, .destroy = pic_detach };
    struct pic *p;
    int rc;
    if (!c)
        return -ENOMEM;
    if (!(p = vm_dev_new(vm, sizeof(*p), &reg, &rc)))
        return rc;
    p->vm = vm;
    pic_power_on(p);
    c->pic = p;
    struct pio_range m = { 0x20, 2, port_in, port_out, p }, sl = { 0xa0, 2, slave_in, slave_out, p },
                     e = { 0x4d0, 2, elcr_in, elcr_out, p };
    if ((rc = vm_register_pio(vm, &m)) < 0 || (rc = vm_register_pio(vm, &sl)) < 0)
        return rc;
    return vm_register_pio(vm, &e);
}
