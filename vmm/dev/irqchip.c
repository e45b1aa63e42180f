/* The VM's interrupt routing (struct irq_chip): GSIs to the IOAPIC and the 8259 pair, on to the LAPICs. */
#include "vmm/dev/apic.h"
#include "vmm/dev/dev.h"
#include "vmm/dev/devices.h"
#include "kernel/heap.h"
#include "kernel/errno.h"

struct irqchip_rec {
    struct irq_chip ops;
    struct vm_irqchip chips;
};

struct vm_irqchip *irqchip_of(struct vm *vm)
{
    return vm->irqchip ? vm->irqchip->ctx : NULL;
}

static struct lapic *lapic_of(struct vcpu *v)
{
    return v->lapic;
}

/* ISA IRQs 0-15 reach the PIC pair (IRQ 2 is its cascade); every GSI reaches the IOAPIC pin of that number. */
static void chip_set_gsi(struct vm *vm, int gsi, int level)
{
    struct vm_irqchip *c = irqchip_of(vm);
    uint64_t f = dev_lock();
    if (c->ioapic && gsi >= 0 && gsi < IOAPIC_PINS)
        ioapic_set_pin(c->ioapic, gsi, level);
    if (c->pic && gsi >= 0 && gsi < 16 && gsi != 2)
        pic_set_irq(c->pic, gsi, level);
    dev_unlock(f);
}

/* The BSP takes the PIC's vector through LINT0 in ExtINT mode (virtual wire, MP spec 3.6.2.2). */
static int extint_ok(struct vm_irqchip *c, struct vcpu *v)
{
    struct lapic *l = lapic_of(v);
    if (!c->pic || v->id != 0)
        return 0;
    return l ? lapic_takes_extint(l) : 1;
}

static int chip_pending(struct vcpu *v)
{
    struct vm_irqchip *c = irqchip_of(v->vm);
    struct lapic *l = lapic_of(v);
    int vec = -1;
    uint64_t f = dev_lock();
    if (l) {
        l->extint = 0;
        vec = lapic_pending(l);
    }
    if (vec < 0 && extint_ok(c, v) && (vec = pic_output(c->pic)) >= 0 && l)
        l->extint = vec + 1;
    dev_unlock(f);
    return vec;
}

static void chip_accept(struct vcpu *v, int vector)
{
    struct vm_irqchip *c = irqchip_of(v->vm);
    struct lapic *l = lapic_of(v);
    uint64_t f = dev_lock();
    if (!l || l->extint == vector + 1) {
        if (c->pic)
            pic_ack(c->pic);                      /* the INTA cycle */
        if (l)
            l->extint = 0;
    } else {
        lapic_accept(l, vector);
    }
    dev_unlock(f);
}

static int chip_msr_read(struct vcpu *v, uint32_t msr, uint64_t *val)
{
    return v->lapic ? lapic_msr_read(v->lapic, msr, val) : -ENOENT;
}

static int chip_msr_write(struct vcpu *v, uint32_t msr, uint64_t val)
{
    return v->lapic ? lapic_msr_write(v->lapic, msr, val) : -ENOENT;
}

void irqchip_pic_changed(struct vm *vm)
{
    struct vm_irqchip *c = irqchip_of(vm);
    if (c && vm->nvcpus > 0 && extint_ok(c, vm->vcpu[0]) && pic_output(c->pic) >= 0)
        vcpu_kick(vm->vcpu[0]);
}

void irqchip_eoi(struct vm *vm, uint8_t vector)
{
    struct vm_irqchip *c = irqchip_of(vm);
    if (c && c->ioapic)
        ioapic_eoi(c->ioapic, vector);
}

static void irqchip_free(struct vm *vm, void *arg)
{
    if (vm->irqchip == arg)
        vm->irqchip = NULL;
    kfree(arg);
}

struct vm_irqchip *irqchip_get(struct vm *vm)
{
    struct irqchip_rec *r;
    if (vm->irqchip)
        return vm->irqchip->ctx;
    if (!(r = kzalloc(sizeof(*r))))
        return NULL;
    if (vm_on_destroy(vm, irqchip_free, r) < 0) {
        kfree(r);
        return NULL;
    }
    r->ops = (struct irq_chip){ chip_set_gsi, chip_pending, chip_accept, chip_msr_read, chip_msr_write, &r->chips };
    vm->irqchip = &r->ops;
    return &r->chips;
}
