/* The vCPU scheduler: per CPU, the runnable vCPU placed there that has used the least time runs next (the
 * boot CPU polls it from the shell loop, the others from their idle loop through smp_set_work). */
#include "vmm/sched.h"
#include "vmm/vm.h"
#include "kernel/shell.h"
#include "kernel/init.h"
#include "kernel/time.h"
#include "arch/x86/smp.h"

#define SLOTS (VM_MAX * VCPU_MAX)

/*
 * Per slot (VM slot * VCPU_MAX + vCPU): the vCPU that holds it and the wall time it was charged,
 * measured around its whole slice: guest time, exit handling and the host interrupts taken meanwhile.
 * A vCPU that exits often, or whose timer interrupts the host often, pays for it in its own share.
 */
static struct vcpu *owner[SLOTS];
static uint64_t used[SLOTS];
static uint64_t rest_until[SLOTS];  /* a throttled vCPU does not run before this (sched_throttle) */
static uint64_t floor_ns[SMP_MAX_CPUS];   /* per CPU: least time charged to a runnable vCPU at its last pick */
static int cursor[SMP_MAX_CPUS];          /* per CPU: ties go round robin from here */
static int halted_here[SMP_MAX_CPUS];     /* per CPU: its halted vCPUs at its last pick */
static int runnable_here[SMP_MAX_CPUS];   /* per CPU: its runnable vCPUs at its last pick */
static int running_idx[SMP_MAX_CPUS];     /* per CPU: the slot of the vCPU whose slice runs (or ran last) */
static int woken_idx[SMP_MAX_CPUS];       /* per CPU: 1 + the slot of a vCPU an event woke from HLT during
                                             the running slice, or 0 (sched_note_woken) */
static uint64_t wake_preempts;

/*
 * I/O arriving while a vCPU runs on the boot CPU. The poll loop there (host NIC, lwIP, the switch) runs
 * only between slices, so a frame for a halted guest would wait until the running vCPU's slice ends, up to
 * SCHED_SLICE_NS. Instead the slice ends at the first exit after a frame arrived (sched_io_yield) when that
 * may help: a halted vCPU there may be the frame's, or the running one is alone (its own frame, at the
 * cost of a poll round); not when only busy vCPUs share the CPU (a frame for one of them would only cut
 * the running slice short and switch to another, whose turn it was anyway). Work another CPU handed over
 * (vmm/dev/virtio_kick.c) always ends the slice: that CPU kicked this one for it. And while a halted vCPU
 * waits on the boot CPU a timer forces an exit at least every IO_TICK_NS, so that a neighbour that seldom
 * exits (a compute loop) cannot hold the frame back. The woken vCPU then runs first: it has
 * used less time than the one that yielded (charge_floor).
 */
#define IO_TICK_NS 1000000ull
static struct timer io_tick;
static int io_tick_on;
static uint64_t io_yields;

static void io_tick_fn(struct timer *t, void *arg)
{
    if (io_tick_on)
        timer_arm(t, IO_TICK_NS, io_tick_fn, arg);
}

int sched_io_yield(const struct vcpu *v)
{
    int w = v->on_cpu == 0 ? shell_io_waiting() : 0;
    if (!w || (w == SHELL_WAIT_FRAME && runnable_here[0] > 1 && !halted_here[0]))
        return 0;
    io_yields++;
    return 1;
}

uint64_t sched_io_yields(void)
{
    return io_yields;
}

static uint64_t slot_used(int idx, const struct vcpu *v)
{
    return owner[idx] == v ? used[idx] : floor_ns[v->home];
}

static void update_rate(struct vm *vm, int base, uint64_t now)
{
    uint64_t run = 0;
    if (vm->rate_ns && now - vm->rate_ns < 1000000000ull)
        return;
    for (int i = 0; i < vm->nvcpus; i++)
        run += slot_used(base + i, vm->vcpu[i]);
    if (vm->rate_ns) {                 /* the first call only sets the baseline */
        vm->exits_per_sec = (vm->exits_total - vm->rate_exits) * 1000000000ull / (now - vm->rate_ns);
        vm->cpu_permille = run > vm->rate_run_ns ? (run - vm->rate_run_ns) * 1000 / (now - vm->rate_ns) : 0;
    }
    vm->rate_exits = vm->exits_total;
    vm->rate_run_ns = run;
    vm->rate_ns = now;
}

/* The vCPU in slot idx if it can run on cpu at now, else NULL. */
static struct vcpu *runnable(int idx, int cpu, uint64_t now)
{
    struct vm *vm = vm_slot(idx / VCPU_MAX);
    struct vcpu *v;
    if (!vm || vm->state != VM_RUNNING || idx % VCPU_MAX >= vm->nvcpus)
        return NULL;
    v = vm->vcpu[idx % VCPU_MAX];
    if (v->home != cpu || v->halted || v->move_to >= 0 || (vm->throttle_pct && owner[idx] == v && now < rest_until[idx]))
        return NULL;
    return v;
}

/* 1 when slot idx holds a vCPU of a running VM halted on cpu (one that I/O may wake). */
static int halted_on(int idx, int cpu)
{
    struct vm *vm = vm_slot(idx / VCPU_MAX);
    struct vcpu *v;
    if (!vm || vm->state != VM_RUNNING || idx % VCPU_MAX >= vm->nvcpus)
        return 0;
    v = vm->vcpu[idx % VCPU_MAX];
    return v->home == cpu && v->halted;
}

/* A vCPU that was halted or stopped restarts at most one slice behind the least charged (fl). */
static uint64_t sleeper_charge(uint64_t u, uint64_t fl)
{
    return u + SCHED_SLICE_NS < fl ? fl - SCHED_SLICE_NS : u;
}

/*
 * Take over a slot for a new vCPU, and keep a vCPU that was halted or stopped from banking time: it
 * restarts at most one slice behind the others, so a waking vCPU runs soon but cannot then hold the
 * CPU for as long as it slept.
 */
static void charge_floor(int idx, struct vcpu *v)
{
    uint64_t fl = floor_ns[v->home];
    if (owner[idx] != v) {
        owner[idx] = v;
        used[idx] = fl;
    }
    used[idx] = sleeper_charge(used[idx], fl);
    if (used[idx] > fl + 2 * SCHED_SLICE_NS)
        used[idx] = fl + 2 * SCHED_SLICE_NS;   /* a stale count (a new vCPU at a freed one's address) */
}

void sched_note_woken(const struct vcpu *v)
{
    if (v->home >= 0 && v->home < SMP_MAX_CPUS && v->vm->slot >= 0 && v->vm->slot < VM_MAX)
        woken_idx[v->home] = v->vm->slot * VCPU_MAX + v->id + 1;
}

int sched_wake_preempt(const struct vcpu *v, uint64_t ran_ns)
{
    int cpu = v->on_cpu, idx;
    struct vcpu *w;
    uint64_t wu;
    if (cpu < 0 || cpu >= SMP_MAX_CPUS || !woken_idx[cpu])
        return 0;
    idx = woken_idx[cpu] - 1;
    if (!(w = runnable(idx, cpu, time_ns())) || w == v) {
        woken_idx[cpu] = 0;                      /* gone, halted again, moved away, or v itself */
        return 0;
    }
    wu = sleeper_charge(slot_used(idx, w), floor_ns[cpu]);   /* as charge_floor will count it */
    if (wu + SCHED_WAKE_GRAN_NS > slot_used(running_idx[cpu], v) + ran_ns)
        return 0;                                /* not far enough behind yet: asked again next exit */
    woken_idx[cpu] = 0;
    wake_preempts++;
    return 1;
}

uint64_t sched_wake_preempts(void)
{
    return wake_preempts;
}

/* The runnable slot on cpu charged least (round robin among equals), or -1. */
static int pick(int cpu)
{
    int best = -1, halted = 0, ready = 0;
    uint64_t now = time_ns();
    for (int k = 0; k < SLOTS; k++) {
        int idx = (cursor[cpu] + k) % SLOTS;
        struct vcpu *v = runnable(idx, cpu, now);
        if (!v) {
            halted += halted_on(idx, cpu);
            continue;
        }
        ready++;
        charge_floor(idx, v);
        if (best < 0 || used[idx] < used[best])
            best = idx;
    }
    if (best >= 0 && used[best] > floor_ns[cpu])
        floor_ns[cpu] = used[best];
    halted_here[cpu] = halted;
    runnable_here[cpu] = ready;
    return best;
}

int sched_run_cpu(int cpu)
{
    int idx;
    uint64_t t0, now;
    struct vcpu *v;
    sched_hand_over(cpu);
    if ((idx = pick(cpu)) < 0)
        return 0;
    v = owner[idx];
    cursor[cpu] = idx + 1;
    t0 = time_ns();
    v->on_cpu = cpu;
    v->last_cpu = cpu;
    running_idx[cpu] = idx;
    woken_idx[cpu] = 0;                 /* a wake-up before the pick counted in it */
    if ((io_tick_on = cpu == 0 && halted_here[0] > 0))
        timer_arm(&io_tick, IO_TICK_NS, io_tick_fn, NULL);
    vcpu_run_slice(v, SCHED_SLICE_NS);
    if (io_tick_on) {
        io_tick_on = 0;
        timer_cancel(&io_tick);
    }
    v->on_cpu = -1;
    smp_stack_check();                  /* exit handling is the deepest the host goes */
    now = time_ns();
    used[idx] += now - t0;
    if (v->vm->throttle_pct)
        rest_until[idx] = now + (now - t0) * v->vm->throttle_pct / (100 - v->vm->throttle_pct);
    update_rate(v->vm, idx - idx % VCPU_MAX, now);
    sched_after_slice(v, cpu);
    return 1;
}

void sched_throttle(struct vm *vm, unsigned pct)
{
    vm->throttle_pct = pct > 99 ? 99 : pct;
}

int sched_poll(void)
{
    sched_balance();
    return sched_run_cpu(0);
}

/* For `cpus`: vCPUs placed on cpu, and their VMs' exit rates shared out by the VMs' vCPUs there. */
static void cpu_load(int cpu, int *vcpus, uint64_t *exits_per_sec)
{
    for (int i = 0; i < VM_MAX; i++) {
        struct vm *vm = vm_slot(i);
        int here = 0;
        for (int k = 0; vm && k < vm->nvcpus; k++)
            here += vm->vcpu[k]->home == cpu;
        if (!here)
            continue;
        *vcpus += here;
        if (vm->state == VM_RUNNING)
            *exits_per_sec += vm->exits_per_sec * (uint64_t)here / (uint64_t)vm->nvcpus;
    }
}

static int sched_init(void)
{
    smp_set_work(sched_run_cpu);
    smp_set_load_fn(cpu_load);
    return shell_add_poller(sched_poll);
}
INIT_HOOK(INIT_VMM, sched_init);
