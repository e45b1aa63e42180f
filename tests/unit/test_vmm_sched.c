/* Host unit tests of the vCPU scheduler (vmm/sched.c) and mover (vmm/balance.c) over fake VMs whose slices cost
 * what each test says, on fake CPUs. */
#define TEST_SUITE "vmm_sched"
#include <stdlib.h>
#include "tests/unit/test.h"
#include "vmm/sched.h"
#include "vmm/vm.h"
#include "kernel/time.h"
#include "kernel/shell.h"
#include "arch/x86/smp.h"

#define MS 1000000ull

/* Stand-ins for what sched.c calls: the VM table, the shell, the clock and one slice of a vCPU. */
static struct vm *fake_vms[VM_MAX];
static uint64_t now_ns = 1000 * MS, slice_cost[VM_MAX], held[VM_MAX];

struct vm *vm_slot(int i) { return i >= 0 && i < VM_MAX ? fake_vms[i] : NULL; }
int shell_add_poller(int (*fn)(void)) { (void)fn; return 0; }
void smp_set_work(int (*fn)(int cpu)) { (void)fn; }
void smp_set_load_fn(void (*fn)(int cpu, int *vcpus, uint64_t *exits_per_sec)) { (void)fn; }
uint64_t time_ns(void) { return now_ns; }
uint64_t virtio_kick_handed(void) { return 0; }

/* The I/O hooks: whether work waits for the poll loop, and the I/O tick's timer (armed or not). */
static int io_waiting, tick_armed, tick_during[VM_MAX];
int shell_io_waiting(void) { return io_waiting; }
void timer_arm(struct timer *t, uint64_t ns, void (*fn)(struct timer *, void *), void *arg)
{
    t->deadline = now_ns + ns;
    t->fn = fn;
    t->arg = arg;
    t->armed = tick_armed = 1;
}
void timer_cancel(struct timer *t) { t->armed = tick_armed = 0; }

/* Fake CPUs 0..ncpus-1, all online with the extension on; kicks and hand-overs are recorded. */
static int ncpus = 1, kicks[4], left[VM_MAX];
static struct cpu fake_cpus[4] = { { .index = 0 }, { .index = 1 }, { .index = 2 }, { .index = 3 } };
const struct cpu *smp_cpu(int i) { return i >= 0 && i < ncpus ? &fake_cpus[i] : NULL; }
int smp_listed(void) { return ncpus; }
int smp_online(void) { return ncpus; }
int smp_this_cpu(void) { return 0; }
void smp_kick(int i) { if (i >= 0 && i < 4) kicks[i]++; }
static int stack_checks;
void smp_stack_check(void) { stack_checks++; }
void vcpu_leave_cpu(struct vcpu *v) { left[v->vm->id]++; }
int shell_usage(const char *name) { (void)name; return -1; }
void console_write(const char *s, size_t n);
void console_write(const char *s, size_t n) { (void)s; (void)n; }

/* A slice of VM i's vCPU lasts slice_cost[i]: shorter when it stops early, longer when an exit overran. */
void vcpu_run_slice(struct vcpu *v, uint64_t slice_ns)
{
    (void)slice_ns;
    now_ns += slice_cost[v->vm->id];
    held[v->vm->id] += slice_cost[v->vm->id];
    tick_during[v->vm->id] = tick_armed;
}

static struct vm *add_vm(int i, uint64_t cost)
{
    struct vm *vm = calloc(1, sizeof(*vm));
    vm->id = vm->slot = i;
    vm->state = VM_RUNNING;
    vm->nvcpus = 1;
    vm->vcpu[0] = calloc(1, sizeof(struct vcpu));
    vm->vcpu[0]->vm = vm;
    vm->vcpu[0]->pin = vm->vcpu[0]->move_to = vm->vcpu[0]->last_cpu = vm->vcpu[0]->on_cpu = -1;
    fake_vms[i] = vm;
    slice_cost[i] = cost;
    held[i] = 0;
    return vm;
}

static void drop_vms(void)
{
    for (int i = 0; i < VM_MAX; i++) {
        if (fake_vms[i])
            free(fake_vms[i]->vcpu[0]);
        free(fake_vms[i]);
        fake_vms[i] = NULL;
    }
}

/* Run for total_ns of the fake clock; VM a's share of the time the two held the CPU, in percent. */
static int share_of(int a, int b, uint64_t total_ns)
{
    uint64_t end = now_ns + total_ns;
    held[a] = held[b] = 0;
    while (now_ns < end)
        CHECK(sched_poll() == 1);
    return (int)(held[a] * 100 / (held[a] + held[b]));
}

/* A vCPU whose slices overrun (slow exits) gets no more than its half; one whose slices end early no less. */
TEST(sched_shares_time_not_turns)
{
    add_vm(0, 15 * MS);
    add_vm(1, SCHED_SLICE_NS);
    int s = share_of(0, 1, 3000 * MS);
    CHECK(s >= 48 && s <= 52);
    drop_vms();
    add_vm(2, 1 * MS);
    add_vm(3, SCHED_SLICE_NS);
    s = share_of(2, 3, 3000 * MS);
    CHECK(s >= 48 && s <= 52);
    drop_vms();
}

/* A vCPU that slept does not bank the time: once awake it shares, it does not run alone to catch up. */
TEST(sched_sleeper_does_not_bank)
{
    add_vm(4, SCHED_SLICE_NS);
    add_vm(5, SCHED_SLICE_NS);
    share_of(4, 5, 100 * MS);                          /* both run, then 5 sleeps a second */
    fake_vms[5]->vcpu[0]->halted = 1;
    share_of(4, 5, 1000 * MS);
    fake_vms[5]->vcpu[0]->halted = 0;
    int s = share_of(5, 4, 200 * MS);
    CHECK(s >= 45 && s <= 60);
    drop_vms();
}

/* Run for total_ns of the fake clock, idling 1 ms whenever nothing may run; VM a's share of all that time. */
static int share_of_time(int a, uint64_t total_ns)
{
    uint64_t start = now_ns, end = now_ns + total_ns;
    held[a] = 0;
    while (now_ns < end)
        if (!sched_poll())
            now_ns += MS;
    return (int)(held[a] * 100 / (now_ns - start));
}

/* A throttled guest alone on the CPU gets about (100 - pct)% of the time, and all of it again unthrottled. */
TEST(sched_throttle_caps_a_lone_guest)
{
    add_vm(6, SCHED_SLICE_NS);
    CHECK(share_of_time(6, 1000 * MS) >= 99);
    sched_throttle(fake_vms[6], 75);
    int s = share_of_time(6, 3000 * MS);
    CHECK(s >= 23 && s <= 27);
    sched_throttle(fake_vms[6], 250);                  /* clamped: never stopped outright */
    CHECK(fake_vms[6]->throttle_pct == 99);
    s = share_of_time(6, 3000 * MS);
    CHECK(s >= 1 && s <= 2);
    sched_throttle(fake_vms[6], 0);
    share_of_time(6, 100 * MS);                        /* the last rest ends */
    CHECK(share_of_time(6, 1000 * MS) >= 99);
    drop_vms();
}

/* The time a throttled guest gives up goes to the others; it still gets its capped share. */
TEST(sched_throttle_gives_time_to_others)
{
    add_vm(7, SCHED_SLICE_NS);
    add_vm(8, SCHED_SLICE_NS);
    sched_throttle(fake_vms[7], 80);
    int s = share_of_time(7, 3000 * MS);
    CHECK(s >= 17 && s <= 20);
    CHECK(held[8] * 100 / (3000 * MS) >= 79);
    drop_vms();
}

/* A vCPU placed on another CPU runs only there: the boot CPU's poll never picks it, that CPU's work does. */
TEST(placed_vcpus_run_only_on_their_cpu)
{
    struct vm *a, *b;
    int runs = 0;
    a = add_vm(0, 10 * MS);
    b = add_vm(1, 10 * MS);
    b->vcpu[0]->home = 1;
    for (int i = 0; i < 20; i++)
        runs += sched_poll();
    CHECK_EQ(runs, 20);
    CHECK(held[0] > 0);
    CHECK_EQ(held[1], 0);
    held[0] = 0;
    stack_checks = 0;
    for (int i = 0; i < 5; i++)
        runs += sched_run_cpu(1);
    CHECK_EQ(stack_checks, 5);                      /* the CPU's stack is checked after every slice */
    CHECK_EQ(held[0], 0);
    CHECK(held[1] == 5 * 10 * MS);
    CHECK_EQ(b->vcpu[0]->last_cpu, 1);
    CHECK_EQ(a->vcpu[0]->last_cpu, 0);
    CHECK_EQ(sched_run_cpu(2), 0);                  /* nothing placed there */
    drop_vms();
}

/* A move asked for is done by the vCPU's own CPU between slices: its state goes back to memory there (once),
 * its home changes, the new CPU is kicked and runs it from then on; the old one no longer does. */
TEST(a_moved_vcpu_is_handed_over_by_its_cpu)
{
    struct vm *a;
    ncpus = 2;
    memset(kicks, 0, sizeof(kicks));
    memset(left, 0, sizeof(left));
    a = add_vm(0, 10 * MS);
    CHECK_EQ(sched_run_cpu(0), 1);
    sched_move(a->vcpu[0], 1);
    CHECK_EQ(a->vcpu[0]->home, 0);                     /* not before its CPU hands it over */
    CHECK_EQ(sched_run_cpu(1), 0);
    CHECK_EQ(sched_run_cpu(0), 0);                     /* hands over, runs nothing */
    CHECK_EQ(a->vcpu[0]->home, 1);
    CHECK_EQ(left[0], 1);
    CHECK_EQ(kicks[1], 1);
    CHECK_EQ(a->vcpu[0]->moves, 1);
    CHECK_EQ(sched_run_cpu(1), 1);
    CHECK_EQ(a->vcpu[0]->last_cpu, 1);
    sched_move(a->vcpu[0], 3);                         /* no such CPU: stays */
    sched_move(a->vcpu[0], 1);                         /* where it is: nothing */
    CHECK_EQ(sched_run_cpu(1), 1);
    CHECK_EQ(left[0], 1);
    drop_vms();
    ncpus = 1;
}

/* Three runnable unpinned vCPUs on CPU 0 of two: the balancer moves one (not more: 2 against 1 is as even as
 * it gets), never a pinned one, never a halted one's load; with four CPUs, one each. */
TEST(the_balancer_spreads_unpinned_runnable_vcpus)
{
    struct vm *v[4];
    ncpus = 2;
    for (int i = 0; i < 3; i++)
        v[i] = add_vm(i, 10 * MS);
    v[0]->vcpu[0]->pin = 0;
    for (int k = 0; k < 40; k++) {                     /* 2 s of the fake clock */
        sched_run_cpu(0);
        sched_run_cpu(1);
        now_ns += 40 * MS;
        sched_balance();
    }
    CHECK_EQ(v[0]->vcpu[0]->home, 0);
    CHECK_EQ((v[1]->vcpu[0]->home == 1) + (v[2]->vcpu[0]->home == 1), 1);
    v[3] = add_vm(3, 10 * MS);
    v[3]->vcpu[0]->halted = 1;                         /* asleep: no load, not moved */
    ncpus = 4;
    v[0]->vcpu[0]->pin = -1;
    for (int k = 0; k < 80; k++) {
        for (int c = 0; c < 4; c++)
            sched_run_cpu(c);
        now_ns += 40 * MS;
        sched_balance();
    }
    int on[4] = { 0 };
    for (int i = 0; i < 3; i++)
        on[v[i]->vcpu[0]->home]++;
    CHECK(on[0] <= 1 && on[1] <= 1 && on[2] + on[3] >= 1);
    CHECK_EQ(v[3]->vcpu[0]->home, 0);
    CHECK_EQ(v[3]->vcpu[0]->moves, 0);
    drop_vms();
    ncpus = 1;
}

/* The stress mode moves an unpinned vCPU on after every slice, round the CPUs; a pinned one stays. */
TEST(the_stress_mode_moves_after_every_slice)
{
    struct vm *a, *b;
    ncpus = 3;
    a = add_vm(0, 10 * MS);
    b = add_vm(1, 10 * MS);
    b->vcpu[0]->pin = 0;
    sched_set_stress(1);
    for (int k = 0; k < 12; k++)
        for (int c = 0; c < 3; c++)
            sched_run_cpu(c);
    CHECK(a->vcpu[0]->moves >= 6);
    CHECK_EQ(a->vcpu[0]->moves, held[0] / (10 * MS));  /* one move per slice */
    CHECK_EQ(b->vcpu[0]->home, 0);
    CHECK_EQ(b->vcpu[0]->moves, 0);
    sched_set_stress(0);
    int cpu = a->vcpu[0]->home;
    CHECK_EQ(sched_run_cpu(cpu), 1);
    CHECK_EQ(a->vcpu[0]->home, cpu);
    drop_vms();
    ncpus = 1;
}

/* Slices on the boot CPU run with the I/O tick while a halted vCPU there waits for I/O, and only then. */
TEST(the_io_tick_runs_only_while_a_halted_vcpu_waits)
{
    add_vm(7, SCHED_SLICE_NS);
    CHECK(sched_poll() == 1);
    CHECK(!tick_during[7]);
    add_vm(8, SCHED_SLICE_NS);
    fake_vms[8]->vcpu[0]->halted = 1;
    CHECK(sched_poll() == 1);
    CHECK(tick_during[7]);
    CHECK(!tick_armed);                                /* cancelled when the slice ended */
    fake_vms[8]->vcpu[0]->home = 1;                    /* halted elsewhere: not the boot CPU's to wake */
    CHECK(sched_poll() == 1);
    CHECK(!tick_during[7]);
    drop_vms();
}

/* I/O waiting ends slices on the boot CPU (which runs the poll loop) only, and each is counted; not when
 * only busy vCPUs share it. */
TEST(io_waiting_ends_slices_on_the_boot_cpu_only)
{
    struct vcpu *v = add_vm(9, SCHED_SLICE_NS)->vcpu[0];
    uint64_t n0 = sched_io_yields();
    CHECK(sched_poll() == 1);                          /* 9 alone on the boot CPU */
    v->on_cpu = 0;                                     /* as inside its slice */
    io_waiting = 0;
    CHECK(sched_io_yield(v) == 0);
    io_waiting = SHELL_WAIT_FRAME;
    CHECK(sched_io_yield(v) == 1);
    v->on_cpu = 1;
    CHECK(sched_io_yield(v) == 0);
    CHECK_U64(sched_io_yields(), n0 + 1);
    add_vm(12, SCHED_SLICE_NS);
    CHECK(sched_poll() == 1);                          /* two busy vCPUs, none halted */
    v->on_cpu = 0;                                     /* (sched_poll's slice ended with -1) */
    CHECK(sched_io_yield(v) == 0);
    io_waiting = SHELL_WAIT_HANDED;                    /* but work another CPU handed over: always */
    CHECK(sched_io_yield(v) == 1);
    io_waiting = SHELL_WAIT_FRAME;
    fake_vms[12]->vcpu[0]->halted = 1;
    CHECK(sched_poll() == 1);                          /* one halted: the frame may be its */
    v->on_cpu = 0;
    CHECK(sched_io_yield(v) == 1);
    io_waiting = 0;
    drop_vms();
}

/* The vCPU the I/O woke runs next, before the neighbour whose slice it cut short. */
TEST(a_vcpu_woken_by_io_runs_before_the_one_that_yielded)
{
    add_vm(10, SCHED_SLICE_NS);
    add_vm(11, SCHED_SLICE_NS);
    share_of(10, 11, 100 * MS);
    fake_vms[11]->vcpu[0]->halted = 1;
    for (int i = 0; i < 50; i++)
        CHECK(sched_poll() == 1);                      /* 10 computes alone while 11 waits */
    slice_cost[10] = MS / 3;                           /* a frame came: 10's slice ends early */
    CHECK(sched_poll() == 1);
    fake_vms[11]->vcpu[0]->halted = 0;                 /* the poll loop delivered it to 11 */
    held[10] = held[11] = 0;
    CHECK(sched_poll() == 1);
    CHECK(held[11] > 0 && held[10] == 0);
    drop_vms();
}

/* Wake-up preemption: a sleeper an event made runnable ends the running slice at its next exit; one that has
 * used as much as the running vCPU only once that one is SCHED_WAKE_GRAN_NS past it; none for a vCPU of
 * another CPU or one that halted again, and none once the slice that noted it is over. */
TEST(a_woken_vcpu_that_used_less_ends_the_running_slice)
{
    struct vcpu *a = add_vm(13, SCHED_SLICE_NS)->vcpu[0], *b = add_vm(14, SCHED_SLICE_NS)->vcpu[0];
    uint64_t n0 = sched_wake_preempts();
    b->halted = 1;
    for (int i = 0; i < 50; i++)
        CHECK(sched_poll() == 1);                      /* a computes alone while b sleeps */
    a->on_cpu = 0;                                     /* as inside a's slice */
    CHECK(sched_wake_preempt(a, 0) == 0);              /* nothing noted */
    b->halted = 0;                                     /* its timer fired */
    sched_note_woken(b);
    CHECK(sched_wake_preempt(a, 0) == 1);              /* at once: b is a slice behind */
    CHECK(sched_wake_preempt(a, 0) == 0);              /* noted once, taken once */
    CHECK_U64(sched_wake_preempts(), n0 + 1);
    sched_note_woken(b);
    b->halted = 1;                                     /* it halted again before the next exit */
    CHECK(sched_wake_preempt(a, 0) == 0);

    for (int i = 0; i < 50; i++)
        CHECK(sched_poll() == 1);                      /* a alone again: a has used the most */
    b->halted = 0;
    CHECK(sched_poll() == 1);                          /* b runs: it comes back one slice behind */
    CHECK(held[14] > 0);
    b->on_cpu = 0;                                     /* inside b's slice, a noted: a is not behind b */
    sched_note_woken(a);
    CHECK(sched_wake_preempt(b, 0) == 0);
    CHECK(sched_wake_preempt(b, SCHED_WAKE_GRAN_NS / 2) == 0);
    CHECK(sched_wake_preempt(b, 2 * SCHED_WAKE_GRAN_NS) == 1);   /* b ran on past it */

    sched_note_woken(a);
    b->on_cpu = -1;
    CHECK(sched_poll() == 1);                          /* a new slice: what was noted before is void */
    a->on_cpu = b->on_cpu = 0;
    CHECK(sched_wake_preempt(b, 10 * SCHED_SLICE_NS) == 0);
    a->home = 1;                                       /* another CPU's vCPU: not this slice's business */
    sched_note_woken(a);
    CHECK(sched_wake_preempt(b, 10 * SCHED_SLICE_NS) == 0);
    drop_vms();
}
