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
#include "kernel/biglock.h"
#include "arch/x86/smp.h"
#include "arch/x86/cpu.h"
#include "vmm/sched.h"

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
        v->on_cpu = v->last_cpu = v->pin = v->move_to = -1;
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
    vm->slot = slot;
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

int vm_runs_elsewhere(const struct vm *vm)
{
    for (int i = 0; i < vm->nvcpus; i++)
        if (vm->vcpu[i]->home != smp_this_cpu())
            return 1;
    return 0;
}

int vm_place(struct vm *vm, const int *cpus, int n)
{
    for (int i = 0; i < n; i++) {
        const struct cpu *c = smp_cpu(cpus[i]);
        if (!c || c->state != CPU_ONLINE || c->hvm_rc)
            return -EINVAL;
    }
    for (int i = 0; i < vm->nvcpus; i++)
        if (vm->vcpu[i]->last_cpu >= 0)
            return -EBUSY;
    for (int i = 0; n > 0 && i < vm->nvcpus; i++) {
        struct vcpu *v = vm->vcpu[i];
        if (cpus[i % n] != v->home)
            vcpu_leave_cpu(v);                 /* created here: its state goes back to memory for the other CPU */
        v->home = v->pin = cpus[i % n];
    }
    return 0;
}

int vm_pin(struct vm *vm, const int *cpus, int n)
{
    for (int i = 0; i < n; i++) {
        const struct cpu *c = smp_cpu(cpus[i]);
        if (!c || c->state != CPU_ONLINE || c->hvm_rc)
            return -EINVAL;
    }
    if (vm->held)
        return -EBUSY;
    for (int i = 0; i < vm->nvcpus; i++) {
        struct vcpu *v = vm->vcpu[i];
        v->pin = n ? cpus[i % n] : -1;
        if (n)
            sched_move(v, v->pin);
    }
    return 0;
}

/* vm_gather's refusal: -EBUSY with an error line naming what (a command) and the vCPU not here. */
static int refuse_elsewhere(struct vm *vm, const char *what)
{
    for (int i = 0; i < vm->nvcpus; i++) {
        struct vcpu *v = vm->vcpu[i];
        if (v->home == smp_this_cpu())
            continue;
        if (v->pin >= 0)
            kprintf("error: %s %s: its vCPU %d is pinned to CPU %d (cpus=); %s needs it on CPU %d\n", what,
                    vm->name, i, v->pin, what, smp_this_cpu());
        else
            kprintf("error: %s %s: its vCPU %d did not come from CPU %d in time\n", what, vm->name, i, v->home);
        return -EBUSY;
    }
    return -EBUSY;
}

int vm_gather(struct vm *vm, const char *what)
{
    int me = smp_this_cpu();
    uint64_t t0 = time_ns();
    for (int i = 0; i < vm->nvcpus; i++)
        if (vm->vcpu[i]->pin >= 0 && vm->vcpu[i]->pin != me)
            return refuse_elsewhere(vm, what);
    vm->held = 1;
    for (int i = 0; i < vm->nvcpus; i++)
        sched_move(vm->vcpu[i], me);
    for (int i = 0; i < vm->nvcpus; i++)
        while (vm->vcpu[i]->home != me) {
            int depth;
            if (time_ns() - t0 > 2000000000ull) {
                vm->held = 0;
                return refuse_elsewhere(vm, what);
            }
            depth = big_unlock_all();        /* its CPU hands it over under the lock */
            for (uint64_t w = time_ns(); time_ns() - w < 100000ull;)
                cpu_pause();
            big_relock(depth);
        }
    return 0;
}

/* Whether v may still run on a translation cached before the caller's change: in guest mode elsewhere,
 * on the entry it was in when the change was made. */
static int may_hold_stale(const struct vcpu *v, int cpu, uint32_t entry, int me)
{
    return cpu >= 0 && cpu != me && __atomic_load_n(&v->in_guest, __ATOMIC_SEQ_CST) &&
           v->on_cpu == cpu && v->entries == entry;
}

int vm_tlb_shootdown(struct vm *vm)
{
    int me = smp_this_cpu(), cpu[VCPU_MAX], released = 0, depth = 0, rc = 0;
    uint32_t entry[VCPU_MAX];
    uint64_t t0 = time_ns();
    __atomic_thread_fence(__ATOMIC_SEQ_CST);  /* the backend's wp_gen bump before the reads below */
    for (int i = 0; i < vm->nvcpus; i++) {
        struct vcpu *v = vm->vcpu[i];
        cpu[i] = v->on_cpu;
        entry[i] = v->entries;
        if (may_hold_stale(v, cpu[i], entry[i], me))
            smp_kick(cpu[i]);                 /* the IPI makes it exit */
    }
    for (int i = 0; i < vm->nvcpus && !rc; i++)
        while (may_hold_stale(vm->vcpu[i], cpu[i], entry[i], me)) {
            if (time_ns() - t0 > 1000000000ull) {
                log_err("vm %s: CPU %d does not leave vCPU %d's guest mode", vm->name, cpu[i], i);
                rc = -ETIMEDOUT;
                break;
            }
            if (!released++)
                depth = big_unlock_all();     /* its exit may need the lock (a timer interrupt takes it) */
            cpu_pause();
        }
    if (released)
        big_relock(depth);
    return rc;
}

static void release_here(void *arg)
{
    vcpu_leave_cpu(arg);
}

/* The big lock is let go while waiting: the other CPU needs it to finish its slice. */
int vm_wait_off_cpus(struct vm *vm)
{
    uint64_t t0 = time_ns();
    for (int i = 0; i < vm->nvcpus; i++) {
        struct vcpu *v = vm->vcpu[i];
        while (v->on_cpu >= 0 && v->on_cpu != smp_this_cpu() && time_ns() - t0 < 10000000000ull) {
            int depth = big_unlock_all();
            smp_kick(v->on_cpu);
            for (uint64_t w = time_ns(); time_ns() - w < 100000ull;)
                __asm__ volatile("pause");
            big_relock(depth);
        }
        if (v->on_cpu >= 0 && v->on_cpu != smp_this_cpu())
            return -EBUSY;
    }
    return 0;
}

/*
 * Before a VM placed on other CPUs is freed: no slice of it may still run there (the VM is stopped first, so
 * none starts; the CPU is kicked out of the guest), and each vCPU's state goes back to memory on its CPU.
 */
static int recall(struct vm *vm)
{
    if (!vm_runs_elsewhere(vm))
        return 0;
    vm->state = VM_STOPPED;
    for (int i = 0, busy = vm_wait_off_cpus(vm); i < vm->nvcpus; i++) {
        struct vcpu *v = vm->vcpu[i];
        if (busy || (v->last_cpu >= 0 && v->last_cpu != smp_this_cpu() &&
                     smp_call(v->last_cpu, release_here, v, 1000000000ull))) {
            log_err("vm %s: CPU %d does not give vCPU %d back: the VM is kept (its memory is not freed)",
                    vm->name, v->on_cpu >= 0 ? v->on_cpu : v->last_cpu, i);
            return -EBUSY;
        }
    }
    return 0;
}

void vm_destroy(struct vm *vm)
{
    if (recall(vm))
        return;
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
        v->sipi_pending = 0;
        vcpu_put_later(v);
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
