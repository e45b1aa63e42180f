/* VM lifecycle: create (memory, vCPUs), find, stop with a reason, destroy. */
#include <stdarg.h>
#include "vmm/vm.h"
#include "arch/x86/xstate.h"
#include "kernel/heap.h"
#include "kernel/printf.h"
#include "kernel/kstring.h"
#include "kernel/errno.h"
#include "kernel/log.h"
#include "kernel/init.h"
#include "kernel/time.h"

static struct vm *vms[VM_MAX];
static int next_id = 1;

struct vm *vm_slot(int i)
{
    return i >= 0 && i < VM_MAX ? vms[i] : NULL;
}

struct vm *vm_find(const char *name)
{
    for (int i = 0; i < VM_MAX; i++)
        if (vms[i] && !strcmp(vms[i]->name, name))
            return vms[i];
    return NULL;
}

static int valid_name(const char *name)
{
    size_t n = strlen(name);
    if (!n || n >= VM_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
            return 0;
    }
    return 1;
}

static int free_slot(void)
{
    for (int i = 0; i < VM_MAX; i++)
        if (!vms[i])
            return i;
    return -1;
}

static int add_vcpus(struct vm *vm, int n, const struct guest_regs *regs)
{
    for (int i = 0; i < n; i++) {
        struct vcpu *v = kzalloc(sizeof(*v));
        if (!v)
            return -ENOMEM;
        v->vm = vm;
        v->id = i;
        v->regs = *regs;
        v->full_valid = 1;
        v->halted = v->wait_sipi = i > 0;   /* application processors wait for INIT/SIPI */
        vm->vcpu[vm->nvcpus++] = v;
        if (!(v->fpu = xstate_alloc()) || hvm->vcpu_init(vm->hw, regs, &v->hw))
            return -ENOMEM;
    }
    return 0;
}

struct vm *vm_create(const char *name, uint64_t mem_size, int nvcpus, const struct guest_regs *regs, int *err)
{
    struct vm *vm;
    int slot = free_slot(), rc;

    *err = -EINVAL;
    if (!hvm) {
        *err = -ENODEV;
        return NULL;
    }
    if (!valid_name(name) || nvcpus < 1 || nvcpus > VCPU_MAX || mem_size < CHUNK_SIZE || mem_size > (64ull << 30))
        return NULL;
    if (vm_find(name)) {
        *err = -EEXIST;
        return NULL;
    }
    if (slot < 0) {
        *err = -ENOSPC;
        return NULL;
    }
    if (!(vm = kzalloc(sizeof(*vm)))) {
        *err = -ENOMEM;
        return NULL;
    }
    kstrlcpy(vm->name, name, sizeof(vm->name));
    vm->id = next_id++;
    vms[slot] = vm;
    rc = hvm->vm_init(&vm->hw);
    if (!rc)
        rc = gmem_alloc(vm, mem_size);
    if (!rc)
        rc = add_vcpus(vm, nvcpus, regs);
    if (rc) {
        vm_destroy(vm);
        *err = rc;
        return NULL;
    }
    vm->state = VM_CREATED;
    return vm;
}

int vm_start(struct vm *vm)
{
    if (vm->state == VM_STOPPED)
        return -EINVAL;
    if (!vm->started_ns)
        vm->started_ns = time_ns();
    vm->state = VM_RUNNING;
    return 0;
}

void vm_destroy(struct vm *vm)
{
    vm_destroy_devices(vm);              /* devices, newest first: they may point at vCPUs and memory */
    for (int i = 0; i < VM_MAX; i++)
        if (vms[i] == vm)
            vms[i] = NULL;
    for (int i = 0; i < vm->nvcpus; i++) {
        if (vm->vcpu[i]->hw)
            hvm->vcpu_destroy(vm->vcpu[i]->hw);
        vcpu_drop_xstate(vm->vcpu[i]);
        xstate_free(vm->vcpu[i]->fpu);
        kfree(vm->vcpu[i]);
    }
    gmem_free(vm);
    if (vm->hw)
        hvm->vm_destroy(vm->hw);
    kfree(vm);
}

void vm_reset_vcpus(struct vm *vm, const struct guest_regs *regs)
{
    for (int i = 0; i < vm->nvcpus; i++) {
        struct vcpu *v = vm->vcpu[i];
        v->regs = *regs;
        v->exc_pending = 0;
        memset(v->irq_pending, 0, sizeof(v->irq_pending));
        v->halted = v->wait_sipi = i > 0;
        vcpu_put_full(v);
    }
}

void vm_stop(struct vm *vm, int dump, const char *fmt, ...)
{
    va_list ap;
    if (vm->state == VM_STOPPED)
        return;
    va_start(ap, fmt);
    kvsnprintf(vm->stop_reason, sizeof(vm->stop_reason), fmt, ap);
    va_end(ap);
    vm->state = VM_STOPPED;
    vm_console_flush(vm);                /* its last words come before the verdict (once per VM) */
    kprintf("vm %s stopped: %s\n", vm->name, vm->stop_reason);
    if (dump)
        for (int i = 0; i < vm->nvcpus; i++)
            vcpu_dump(vm->vcpu[i]);
}

void vm_irq_set(struct vm *vm, int gsi, int level)
{
    if (vm->irqchip)
        vm->irqchip->set_gsi(vm, gsi, level);
}

void vm_irq_pulse(struct vm *vm, int gsi)
{
    vm_irq_set(vm, gsi, 1);
    vm_irq_set(vm, gsi, 0);
}
