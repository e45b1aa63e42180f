/* The vCPU scheduler: round robin over runnable vCPUs, polled from the shell's idle loop. */
#include "vmm/sched.h"
#include "vmm/vm.h"
#include "kernel/shell.h"
#include "kernel/init.h"
#include "kernel/time.h"

#define SLOTS (VM_MAX * VCPU_MAX)

static int cursor;

static void update_rate(struct vm *vm, uint64_t now)
{
    uint64_t run = 0;
    if (now - vm->rate_ns < 1000000000ull)
        return;
    for (int i = 0; i < vm->nvcpus; i++)
        run += vm->vcpu[i]->run_ns;
    vm->exits_per_sec = (vm->exits_total - vm->rate_exits) * 1000000000ull / (now - vm->rate_ns);
    vm->cpu_permille = (run - vm->rate_run_ns) * 1000 / (now - vm->rate_ns);
    vm->rate_exits = vm->exits_total;
    vm->rate_run_ns = run;
    vm->rate_ns = now;
}

int sched_poll(void)
{
    for (int k = 0; k < SLOTS; k++) {
        int idx = (cursor + k) % SLOTS;
        struct vm *vm = vm_slot(idx / VCPU_MAX);
        struct vcpu *v;
        if (!vm || vm->state != VM_RUNNING || idx % VCPU_MAX >= vm->nvcpus)
            continue;
        v = vm->vcpu[idx % VCPU_MAX];
        if (v->halted)
            continue;
        cursor = idx + 1;
        vcpu_run_slice(v, SCHED_SLICE_NS);
        update_rate(vm, time_ns());
        return 1;
    }
    return 0;
}

static int sched_init(void)
{
    return shell_add_poller(sched_poll);
}
INIT_HOOK(INIT_VMM, sched_init);
