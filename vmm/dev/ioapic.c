/* IOAPIC (Intel 82093AA datasheet): IOREGSEL/IOWIN, 24 redirection entries, edge and level with Remote IRR. */
#include "vmm/dev/apic.h"
#include "vmm/dev/dev.h"
#include "kernel/kstring.h"
#include "vmm/dev/devices.h"
#include "kernel/heap.h"
#include "kernel/errno.h"

#define RTE_MASK     (1ull << 16)
#define RTE_LEVEL    (1ull << 15)
#define RTE_RIRR     (1ull << 14)
#define RTE_POLARITY (1ull << 13)
#define RTE_DELIVS   (1ull << 12)
#define RTE_LOGICAL  (1ull << 11)
#define RTE_WRITABLE 0xff0000000001afffull  /* dest, mask, trigger, polarity, dest mode, delivery, vector */

static void deliver(struct ioapic *io, int pin)
{
    uint64_t e = io->s.redir[pin];
    struct apic_msg m = { (uint32_t)(e >> 56), (uint8_t)e, (uint8_t)((e >> 8) & 7),
                          (uint8_t)((e & RTE_LOGICAL) != 0), (uint8_t)((e & RTE_LEVEL) != 0), 0 };
    if (e & RTE_LEVEL)
        io->s.redir[pin] |= RTE_RIRR;        /* until the LAPIC's EOI (datasheet 3.2.4, bit 14) */
    lapic_send(io->vm, &m, NULL);
}

/* A pin whose level is asserted, unmasked and (level mode) not awaiting EOI delivers. */
static void pin_check(struct ioapic *io, int pin)
{
    uint64_t e = io->s.redir[pin];
    if ((io->s.level >> pin & 1) && !(e & RTE_MASK) && (e & RTE_LEVEL) && !(e & RTE_RIRR))
        deliver(io, pin);
}

void ioapic_set_pin(struct ioapic *io, int pin, int level)
{
    uint32_t bit = 1u << pin, old = io->s.level & bit;
    uint64_t e;
    if (pin < 0 || pin >= IOAPIC_PINS)
        return;
    e = io->s.redir[pin];
    if (e & RTE_POLARITY)
        level = !level;                       /* active low: the wire is inverted for us */
    io->s.level = level ? io->s.level | bit : io->s.level & ~bit;
    if (e & RTE_LEVEL)
        pin_check(io, pin);
    else if (level && !old && !(e & RTE_MASK))
        deliver(io, pin);                     /* edge: the rising edge */
}

void ioapic_eoi(struct ioapic *io, uint8_t vector)
{
    for (int pin = 0; pin < IOAPIC_PINS; pin++) {
        uint64_t e = io->s.redir[pin];
        if ((e & RTE_LEVEL) && (e & RTE_RIRR) && (uint8_t)e == vector) {
            io->s.redir[pin] &= ~RTE_RIRR;
            pin_check(io, pin);
        }
    }
}

static uint32_t reg_read(struct ioapic *io)
{
    uint32_t sel = io->s.sel;
    if (sel == 0)
        return io->s.id << 24;
    if (sel == 1)
        return 0x11u | ((IOAPIC_PINS - 1u) << 16);     /* version 0x11, max redirection entry 23 */
    if (sel == 2)
        return io->s.id << 24;                           /* arbitration ID */
    if (sel >= 0x10 && sel < 0x10 + 2 * IOAPIC_PINS) {
        uint64_t e = io->s.redir[(sel - 0x10) / 2];
        return (sel & 1) ? (uint32_t)(e >> 32) : (uint32_t)e;
    }
    return 0xffffffffu;
}

static void reg_write(struct ioapic *io, uint32_t val)
{
    uint32_t sel = io->s.sel;
    int pin;
    uint64_t e;
    if (sel == 0) {
        io->s.id = (val >> 24) & 0xf;
        return;
    }
    if (sel < 0x10 || sel >= 0x10 + 2 * IOAPIC_PINS)
        return;
    pin = (int)(sel - 0x10) / 2;
    e = io->s.redir[pin];
    if (sel & 1)
        e = (e & 0xffffffffull) | ((uint64_t)val << 32);
    else
        e = (e & ~0xffffffffull) | val;
    io->s.redir[pin] = (e & RTE_WRITABLE) | (io->s.redir[pin] & RTE_RIRR);
    if (!(io->s.redir[pin] & RTE_LEVEL))
        io->s.redir[pin] &= ~RTE_RIRR;
    pin_check(io, pin);                       /* an unmasked, asserted level pin delivers now */
}

int ioapic_mmio_read(void *dev, uint64_t off, int size, uint64_t *val)
{
    struct ioapic *io = dev;
    uint64_t f = dev_lock();
    (void)size;
    *val = off == 0 ? io->s.sel : off == 0x10 ? reg_read(io) : 0;
    dev_unlock(f);
    return 0;
}

int ioapic_mmio_write(void *dev, uint64_t off, int size, uint64_t val)
{
    struct ioapic *io = dev;
    uint64_t f = dev_lock();
    (void)size;
    if (off == 0)
        io->s.sel = (uint32_t)val & 0xff;
    else if (off == 0x10)
        reg_write(io, (uint32_t)val);
    else if (off == 0x40)
        ioapic_eoi(io, (uint8_t)val);          /* version 0x20 EOI register: harmless to accept */
    dev_unlock(f);
    return 0;
}

void ioapic_snapshot(struct ioapic_state *st, struct snap *s)
{
    snap_header(s, SNAP_TAG_IOAPIC, IOAPIC_STATE_VERSION);
    SNAP(s, *st);
}

static void ioapic_detach(struct vm *vm, void *arg)
{
    struct vm_irqchip *c = irqchip_of(vm);
    if (c)
        c->ioapic = NULL;
    kfree(arg);
}

/* Power-on: every pin masked (82093AA datasheet 3.2.4); the MADT names ID 0 (LAPIC IDs are 0..3). */
static void ioapic_power_on(struct ioapic *io)
{
    memset(&io->s, 0, sizeof(io->s));
    for (int i = 0; i < IOAPIC_PINS; i++)
        io->s.redir[i] = RTE_MASK;
}

static void ioapic_vm_reset(struct vm *vm, void *arg)
{
    uint64_t f = dev_lock();
    (void)vm;
    ioapic_power_on(arg);
    dev_unlock(f);
}

static void ioapic_snap(void *dev, struct snap *s)
{
    ioapic_snapshot(&((struct ioapic *)dev)->s, s);
}

int ioapic_attach(struct vm *vm)
{
    struct vm_irqchip *c = irqchip_get(vm);
    struct ioapic *io;
    struct mmio_range r = { PLAT_IOAPIC_BASE, 0x1000, ioapic_mmio_read, ioapic_mmio_write, NULL };
    struct vm_dev reg = {
        .name = "ioapic", .snapshot = ioapic_snap, .reset = ioapic_vm_reset, .destroy = ioapic_detach
    };
    int rc;
    if (!c)
        return -ENOMEM;
    if (!(io = vm_dev_new(vm, sizeof(*io), &reg, &rc)))
        return rc;
    io->vm = vm;
    ioapic_power_on(io);
    r.dev = io;
    c->ioapic = io;
    return vm_register_mmio(vm, &r);
}
