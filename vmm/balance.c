/* Moving vCPUs between CPUs: the hand-over, the balancer, the stress mode, wake-up latency, and `sched`. */
#include "vmm/sched.h"
#include "vmm/vm.h"
#include "vmm/dev/virtio_mmio.h"
#include "kernel/shell.h"
#include "kernel/printf.h"
#include "kernel/kstring.h"
#include "kernel/time.h"
#include "kernel/errno.h"
#include "kernel/param.h"
#include "kernel/init.h"
#include "arch/x86/smp.h"

#define BALANCE_NS   50000000ull     /* how often the balancer looks */
#define SETTLE_NS   500000000ull     /* a vCPU the balancer moved stays this long where it went */

static int balance_on = 1;
static int stress_on;
static uint64_t moves_total;

/* Per CPU: wake-ups of halted vCPUs there, by another CPU ([0]) and by itself ([1]), and how long they took
 * to enter. */
struct wake_acct { uint64_t count, sum_ns, max_ns; };
static struct wake_acct wake[SMP_MAX_CPUS][2];

static int usable(int cpu)
{
    const struct cpu *c = smp_cpu(cpu);
    return c && c->state == CPU_ONLINE && !c->hvm_rc;
}

void sched_move(struct vcpu *v, int cpu)
{
    if (cpu == v->home)
        v->move_to = -1;                 /* stays: a move asked for before is off */
    if (cpu == v->home || !usable(cpu))
        return;
    v->move_to = cpu;
    smp_kick(v->home);                   /* nothing when that is the calling CPU */
}

void sched_hand_over(int cpu)
{
    for (int i = 0; i < VM_MAX; i++) {
        struct vm *vm = vm_slot(i);
        for (int k = 0; vm && k < vm->nvcpus; k++) {
            struct vcpu *v = vm->vcpu[k];
            int to = v->move_to;
            if (v->home != cpu || to < 0 || v->on_cpu >= 0)
                continue;
            v->move_to = -1;
            if (to == cpu || !usable(to))
                continue;
            vcpu_leave_cpu(v);
            v->home = to;
            v->moves++;
            v->moved_ns = time_ns();
            moves_total++;
            smp_kick(to);
        }
    }
}

/* The next usable CPU after cpu, round the table; cpu itself when it is the only one. */
static int next_cpu(int cpu)
{
    for (int k = 1; k <= smp_listed(); k++) {
        int c = (cpu + k) % smp_listed();
        if (usable(c))
            return c;
    }
    return cpu;
}

void sched_after_slice(struct vcpu *v, int cpu)
{
    if (stress_on && v->pin < 0 && !v->vm->held) {
        sched_move(v, next_cpu(cpu));
        sched_hand_over(cpu);
    }
}

static int runnable_here(const struct vcpu *v)
{
    return v->vm->state == VM_RUNNING && !v->halted;
}

/* Runnable vCPUs per CPU (where they are going, for those asked to move), and one movable vCPU per CPU. */
static void count_load(int *load, struct vcpu **movable, uint64_t now)
{
    for (int i = 0; i < VM_MAX; i++) {
        struct vm *vm = vm_slot(i);
        for (int k = 0; vm && k < vm->nvcpus; k++) {
            struct vcpu *v = vm->vcpu[k];
            int at = v->move_to >= 0 ? v->move_to : v->home;
            if (!runnable_here(v) || at < 0 || at >= SMP_MAX_CPUS)
                continue;
            load[at]++;
            if (v->pin < 0 && !vm->held && v->move_to < 0 && now - v->moved_ns >= SETTLE_NS)
                movable[at] = v;
        }
    }
}

void sched_balance(void)
{
    static uint64_t next;
    static int load[SMP_MAX_CPUS];
    static struct vcpu *movable[SMP_MAX_CPUS];
    uint64_t now = time_ns();
    int busy = -1, idle = -1;
    if (!balance_on || smp_online() < 2 || now < next)
        return;
    next = now + BALANCE_NS;
    memset(load, 0, sizeof(load));
    memset(movable, 0, sizeof(movable));
    count_load(load, movable, now);
    for (int c = 0; c < smp_listed(); c++) {
        if (!usable(c))
            continue;
        if (movable[c] && (busy < 0 || load[c] > load[busy]))
            busy = c;
        if (idle < 0 || load[c] < load[idle])
            idle = c;
    }
    if (busy >= 0 && idle >= 0 && load[busy] - load[idle] >= 2)
        sched_move(movable[busy], idle);
}

void sched_note_wake(int cpu, uint64_t ns, int local)
{
    struct wake_acct *w;
    if (cpu < 0 || cpu >= SMP_MAX_CPUS)
        return;
    w = &wake[cpu][!!local];
    w->count++;
    w->sum_ns += ns;
    if (ns > w->max_ns)
        w->max_ns = ns;
}

static void print_wakes(const struct wake_acct *w, const char *kind)
{
    kprintf(", %llu %s wake-ups", (unsigned long long)w->count, kind);
    if (w->count)
        kprintf(" (to entry: avg %llu us, max %llu us)", (unsigned long long)(w->sum_ns / w->count / 1000),
                (unsigned long long)(w->max_ns / 1000));
}

static void print_cpu(int cpu)
{
    int placed = 0, running = 0;
    for (int i = 0; i < VM_MAX; i++) {
        struct vm *vm = vm_slot(i);
        for (int k = 0; vm && k < vm->nvcpus; k++) {
            placed += vm->vcpu[k]->home == cpu;
            running += vm->vcpu[k]->home == cpu && runnable_here(vm->vcpu[k]);
        }
    }
    kprintf("cpu %d: %d vCPUs, %d runnable", cpu, placed, running);
    print_wakes(&wake[cpu][0], "cross-CPU");
    print_wakes(&wake[cpu][1], "local");
    kprintf("\n");
}

void sched_set_stress(int on) { stress_on = !!on; }
void sched_set_balance(int on) { balance_on = !!on; }

static int set_flag(int *flag, const char *v)
{
    if (!strcmp(v, "on"))
        *flag = 1;
    else if (!strcmp(v, "off"))
        *flag = 0;
    else
        return -EINVAL;
    return 0;
}

static int cmd_sched(int argc, char **argv)
{
    if (argc == 3 && (!strcmp(argv[1], "stress") || !strcmp(argv[1], "balance"))) {
        if (set_flag(!strcmp(argv[1], "stress") ? &stress_on : &balance_on, argv[2]))
            return shell_usage("sched");
    } else if (argc != 1) {
        return shell_usage("sched");
    }
    kprintf("sched: balance %s, stress %s, %llu vCPU moves\n", balance_on ? "on" : "off",
            stress_on ? "on" : "off", (unsigned long long)moves_total);
    kprintf("sched: %llu slices on the boot CPU ended early for I/O\n", (unsigned long long)sched_io_yields());
    kprintf("sched: %llu slices ended early for a woken vCPU that had used less time\n",
            (unsigned long long)sched_wake_preempts());
    kprintf("sched: %llu virtio notifications from other CPUs handed to the boot CPU\n",
            (unsigned long long)virtio_kick_handed());
    for (int c = 0; c < smp_listed(); c++)
        if (usable(c))
            print_cpu(c);
    return 0;
}
SHELL_COMMAND("sched", "[stress|balance on|off]",
              "vCPU placement: the balancer, the stress mode (unpinned vCPUs move after every slice), "
              "moves, slices ended early for I/O or a woken vCPU, and wake-up latency per CPU (woken by another "
              "CPU or by its own)", cmd_sched);

static int stress_param(const char *v)
{
    return set_flag(&stress_on, v);
}
BOOT_PARAM("sched_stress", "on: every unpinned vCPU moves to the next CPU after each slice (a test mode)",
           stress_param);
