/* Local APICs of a VM: one per vCPU, their shared xAPIC MMIO page, registered with the device table. */
#include "vmm/dev/apic.h"
#include "vmm/dev/dev.h"
#include "vmm/dev/devices.h"
#include "kernel/heap.h"
#include "kernel/errno.h"

/* xAPIC MMIO: one page for every vCPU; the register file is the accessing vCPU's (SDM 3A 11.4.1). */
static struct lapic *mmio_lapic(struct vm *vm)
{
    struct vcpu *v = vm->running ? vm->running : vm->vcpu[0];
    return v->lapic;
}

static int lapic_mmio_in(void *dev, uint64_t off, int size, uint64_t *val)
{
    uint32_t v = 0;
    (void)size;
    lapic_mmio_read(mmio_lapic(dev), (uint32_t)off, &v);
    *val = v;
    return 0;
}

static int lapic_mmio_out(void *dev, uint64_t off, int size, uint64_t val)
{
    (void)size;
    return lapic_mmio_write(mmio_lapic(dev), (uint32_t)off, (uint32_t)val);
}

static void lapic_detach(struct vm *vm, void *arg)
{
    (void)arg;
    for (int i = 0; i < vm->nvcpus; i++) {
        struct lapic *l = vm->vcpu[i]->lapic;
        if (l)
            lapic_stop(l);
        kfree(l);
        vm->vcpu[i]->lapic = NULL;
    }
}

/* Every LAPIC back to its power-on state (SDM 3A 11.4.7.1): timers cancelled, IRR/ISR empty. */
static void lapic_vm_reset(struct vm *vm, void *arg)
{
    uint64_t f = dev_lock();
    (void)arg;
    for (int i = 0; i < vm->nvcpus; i++)
        if (vm->vcpu[i]->lapic)
            lapic_vcpu_init(vm->vcpu[i]->lapic, vm->vcpu[i], i == 0);
    dev_unlock(f);
}

/* Every vCPU's LAPIC in vCPU order (dev is the VM). */
static void lapic_snap(void *dev, struct snap *s)
{
    struct vm *vm = dev;
    for (int i = 0; i < vm->nvcpus && !s->err; i++)
        lapic_record(vm->vcpu[i]->lapic, s);
}

static void lapic_post(struct vm *vm, void *arg)
{
    (void)arg;
    for (int i = 0; i < vm->nvcpus; i++)
        lapic_post_restore(vm->vcpu[i]->lapic);
}

int lapic_attach(struct vm *vm)
{
    struct vm_irqchip *c = irqchip_get(vm);
    struct mmio_range r = { PLAT_LAPIC_BASE, 0x1000, lapic_mmio_in, lapic_mmio_out, vm };
    struct vm_dev reg = { .name = "lapic",
                          .snapshot = lapic_snap,
                          .post_restore = lapic_post,
                          .reset = lapic_vm_reset,
                          .destroy = lapic_detach,
                          .dev = vm };
    int rc;
    if (!c)
        return -ENOMEM;
    if ((rc = vm_dev_register(vm, &reg)) < 0)
        return rc;
    for (int i = 0; i < vm->nvcpus; i++) {
        struct lapic *l = kzalloc(sizeof(*l));
        if (!l)
            return -ENOMEM;
        lapic_vcpu_init(l, vm->vcpu[i], i == 0);
        vm->vcpu[i]->lapic = l;
        c->lapic[i] = l;
    }
    return vm_register_mmio(vm, &r);
}
