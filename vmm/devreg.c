/* A VM's device registry: one table entry per device, walked for reset, quiesce and destroy. */
#include "vmm/vm.h"
#include "kernel/errno.h"
#include "kernel/heap.h"
#include "kernel/kstring.h"

/* Room for one more entry: the table doubles from 16 (a Linux VM registers about a dozen). */
static int devs_grow(struct vm *vm)
{
    int cap = vm->devs_cap ? vm->devs_cap * 2 : 16;
    struct vm_dev *n;
    if (vm->ndevs < vm->devs_cap)
        return 0;
    if (!(n = kmalloc((size_t)cap * sizeof(*n))))
        return -ENOMEM;
    if (vm->ndevs)
        memcpy(n, vm->devs, (size_t)vm->ndevs * sizeof(*n));
    kfree(vm->devs);
    vm->devs = n;
    vm->devs_cap = cap;
    return 0;
}

int vm_dev_register(struct vm *vm, const struct vm_dev *d)
{
    if (!d->name)
        return -EINVAL;
    if (devs_grow(vm))
        return -ENOMEM;
    vm->devs[vm->ndevs++] = *d;
    return 0;
}

void *vm_dev_new(struct vm *vm, size_t size, const struct vm_dev *reg, int *rc)
{
    struct vm_dev d = *reg;
    if (!(d.dev = kmalloc(size))) {
        *rc = -ENOMEM;
        return NULL;
    }
    memset(d.dev, 0, size);
    if ((*rc = vm_dev_register(vm, &d)) < 0) {
        kfree(d.dev);
        return NULL;
    }
    return d.dev;
}

void vm_dev_free(struct vm *vm, void *dev)
{
    (void)vm;
    kfree(dev);
}

int vm_on_destroy(struct vm *vm, void (*fn)(struct vm *vm, void *arg), void *arg)
{
    struct vm_dev d = { .name = "cleanup", .destroy = fn, .dev = arg };
    return vm_dev_register(vm, &d);
}

/* Reset in registration order (interrupt chips come before the devices that raise their lines), then
 * count what is still in flight. */
int vm_reset_devices(struct vm *vm)
{
    int busy = 0;
    for (int i = 0; i < vm->ndevs; i++)
        if (vm->devs[i].reset)
            vm->devs[i].reset(vm, vm->devs[i].dev);
    for (int i = 0; i < vm->ndevs; i++)
        if (vm->devs[i].quiesce)
            busy += vm->devs[i].quiesce(vm, vm->devs[i].dev);
    return busy;
}

/* Newest first: a device may point at what was registered before it (its interrupt chip, its disk). */
void vm_destroy_devices(struct vm *vm)
{
    while (vm->ndevs > 0) {
        struct vm_dev *d = &vm->devs[--vm->ndevs];
        if (d->destroy)
            d->destroy(vm, d->dev);
    }
    kfree(vm->devs);
    vm->devs = NULL;
    vm->devs_cap = 0;
}
