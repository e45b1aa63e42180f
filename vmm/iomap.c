/* Port and MMIO registration tables of a VM: built once per device, overlaps rejected. */
#include "vmm/vm.h"
#include "kernel/errno.h"

int vm_register_pio(struct vm *vm, const struct pio_range *r)
{
    if (!r->count || (uint32_t)r->base + r->count > 0x10000)
        return -EINVAL;
    for (int i = 0; i < vm->npio; i++) {
        const struct pio_range *o = &vm->pio[i];
        if (r->base < o->base + o->count && o->base < r->base + r->count)
            return -EEXIST;
    }
    if (vm->npio == VM_PIO_MAX)
        return -ENOSPC;
    vm->pio[vm->npio++] = *r;
    return 0;
}

int vm_register_mmio(struct vm *vm, const struct mmio_range *r)
{
    if (!r->len || r->base + r->len < r->base)
        return -EINVAL;
    for (int i = 0; i < vm->nmmio; i++) {
        const struct mmio_range *o = &vm->mmio[i];
        if (r->base < o->base + o->len && o->base < r->base + r->len)
            return -EEXIST;
    }
    if (r->base < vm->mem_size)
        return -EEXIST;                  /* RAM is not MMIO */
    if (vm->nmmio == VM_MMIO_MAX)
        return -ENOSPC;
    vm->mmio[vm->nmmio++] = *r;
    return 0;
}

struct pio_range *vm_find_pio(struct vm *vm, uint16_t port)
{
    for (int i = 0; i < vm->npio; i++)
        if (port >= vm->pio[i].base && port - vm->pio[i].base < vm->pio[i].count)
            return &vm->pio[i];
    return NULL;
}

struct mmio_range *vm_find_mmio(struct vm *vm, uint64_t gpa)
{
    for (int i = 0; i < vm->nmmio; i++)
        if (gpa >= vm->mmio[i].base && gpa - vm->mmio[i].base < vm->mmio[i].len)
            return &vm->mmio[i];
    return NULL;
}
