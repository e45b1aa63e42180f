/* The big lock (kernel/biglock.h): a ticket lock with owner recursion, optional halting, and per-CPU accounting. */
#include "kernel/biglock.h"
#include "arch/x86/smp.h"
#include "arch/x86/cpu.h"
#include "arch/x86/lapic.h"
#include "arch/x86/traps.h"
#include "arch/x86/tsc.h"
#include "kernel/kstring.h"
#include "kernel/errno.h"
#include "kernel/param.h"
#include "kernel/time.h"

/*
 * A ticket lock that remembers its owner for recursion. With lock_spins=N a waiter spins N rounds, then
 * halts until the unlock that serves its ticket sends it VEC_LOCK_WAKE: on a host that runs more emulated
 * or virtual CPUs than it has cores (shoal nested under TCG or an overcommitted hypervisor), a spinning
 * waiter would take the core from the holder it waits for. While halted, its TPR blocks every other host
 * vector (they stay pending and come once it holds the lock and enables interrupts, as before).
 * sleeper[t % SMP_MAX_CPUS] names the CPU (+1) halted for ticket t; at most one ticket per CPU is out, so
 * the slots never collide. The waiter publishes itself, then checks the ticket again; the unlocker serves,
 * then reads the slot: each is a full barrier (seq_cst), so one of the two sees the other and no wake-up
 * is lost.
 */
static uint32_t lock_spins = UINT32_MAX;    /* lock_spins=; the default never halts */
static volatile uint32_t lock_next, lock_serving;
static volatile int lock_owner = -1;
static int lock_depth;
static volatile int sleeper[SMP_MAX_CPUS];
static uint64_t lock_sleeps;

/* Each CPU's waits and holds, in TSC cycles; written by that CPU only (big_lock_stats_clear aside). */
struct lock_acct {
    uint64_t waits, wait_tsc, wait_max;
    uint64_t held_tsc, hold_max, hold_from, hold_to;
    uint64_t t0, site;                      /* the current hold: when and where it began */
};
static struct lock_acct acct[SMP_MAX_CPUS];
static uint64_t acct_since_ns;

/* Halt until ticket t is served (interrupts off on entry and on return; only VEC_LOCK_WAKE gets through). */
static void lock_sleep(uint32_t t, int me)
{
    volatile int *slot = &sleeper[t % SMP_MAX_CPUS];
    uint64_t tpr = read_cr8();
    write_cr8(TPR_LOCK_WAIT);
    __atomic_store_n(slot, me + 1, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&lock_serving, __ATOMIC_SEQ_CST) != t) {
        __atomic_fetch_add(&lock_sleeps, 1, __ATOMIC_RELAXED);
        __asm__ volatile("sti; hlt; cli" ::: "memory");
    }
    __atomic_store_n(slot, 0, __ATOMIC_SEQ_CST);
    write_cr8(tpr);
}

static void lock_wake_irq(struct trap_frame *tf)
{
    (void)tf;                                  /* the HLT in lock_sleep is over: nothing else to do */
}

void big_lock_setup(void)
{
    irq_register(VEC_LOCK_WAKE, lock_wake_irq);
}

uint64_t big_lock_sleeps(void)
{
    return __atomic_load_n(&lock_sleeps, __ATOMIC_RELAXED);
}

static int set_lock_spins(const char *v)
{
    uint64_t n;
    if (kstrtou64(v, &n, 0) || n < 1 || n > (1u << 30))
        return -EINVAL;
    lock_spins = (uint32_t)n;
    return 0;
}
BOOT_PARAM("lock_spins", "rounds (1..2^30) a CPU spins for the big lock before it halts until woken (default: "
           "it never halts); for shoal nested on a host with fewer cores than emulated CPUs", set_lock_spins);

/* Wait for ticket t (interrupts off); counts the wait when the lock was not free at once. */
static void lock_wait(uint32_t t, int me)
{
    uint64_t w0;
    if (__atomic_load_n(&lock_serving, __ATOMIC_ACQUIRE) == t)
        return;
    w0 = rdtsc();
    for (uint32_t spins = 0; __atomic_load_n(&lock_serving, __ATOMIC_ACQUIRE) != t;) {
        if (++spins < lock_spins || lock_spins == UINT32_MAX) {
            cpu_pause();
            continue;
        }
        lock_sleep(t, me);
        spins = 0;
    }
    w0 = rdtsc() - w0;
    acct[me].waits++;
    acct[me].wait_tsc += w0;
    if (w0 > acct[me].wait_max)
        acct[me].wait_max = w0;
}

/* Take the lock (or one level deeper); site: the caller's return address, kept for the accounting. */
static void lock_take(uint64_t site)
{
    int me = smp_this_cpu();
    uint64_t f;
    if (lock_owner == me) {
        lock_depth++;
        return;
    }
    f = irq_save();
    lock_wait(__atomic_fetch_add(&lock_next, 1, __ATOMIC_ACQUIRE), me);
    lock_owner = me;
    lock_depth = 1;
    acct[me].t0 = rdtsc();
    acct[me].site = site;
    irq_restore(f);
}

/* Give one level back; the last one serves the next ticket and wakes its CPU if it halted. */
static void lock_give(uint64_t site)
{
    uint64_t f = irq_save();
    if (--lock_depth == 0) {
        uint32_t next = lock_serving + 1;
        struct lock_acct *a = &acct[lock_owner >= 0 && lock_owner < SMP_MAX_CPUS ? lock_owner : 0];
        uint64_t held = rdtsc() - a->t0;
        a->held_tsc += held;
        if (held > a->hold_max) {
            a->hold_max = held;
            a->hold_from = a->site;
            a->hold_to = site;
        }
        lock_owner = -1;
        __atomic_store_n(&lock_serving, next, __ATOMIC_SEQ_CST);
        int w = __atomic_load_n(&sleeper[next % SMP_MAX_CPUS], __ATOMIC_SEQ_CST);
        if (w && smp_cpu(w - 1))
            lapic_send_ipi(smp_cpu(w - 1)->apic_id, VEC_LOCK_WAKE);
    }
    irq_restore(f);
}

void big_lock(void)
{
    lock_take((uint64_t)(uintptr_t)__builtin_return_address(0));
}

void big_unlock(void)
{
    lock_give((uint64_t)(uintptr_t)__builtin_return_address(0));
}

int big_unlock_all(void)
{
    int depth;
    if (lock_owner != smp_this_cpu())
        return 0;
    depth = lock_depth;
    lock_depth = 1;
    lock_give((uint64_t)(uintptr_t)__builtin_return_address(0));
    return depth;
}

void big_relock(int depth)
{
    if (!depth)
        return;
    lock_take((uint64_t)(uintptr_t)__builtin_return_address(0));
    lock_depth = depth;
}

void big_lock_stats(int cpu, struct big_lock_stats *s)
{
    const struct lock_acct *a = &acct[cpu >= 0 && cpu < SMP_MAX_CPUS ? cpu : 0];
    memset(s, 0, sizeof(*s));
    if (cpu < 0 || cpu >= SMP_MAX_CPUS)
        return;
    s->waits = a->waits;
    s->wait_ns = tsc_cycles_to_ns(a->wait_tsc);
    s->wait_max_ns = tsc_cycles_to_ns(a->wait_max);
    s->held_ns = tsc_cycles_to_ns(a->held_tsc);
    s->hold_max_ns = tsc_cycles_to_ns(a->hold_max);
    s->hold_from = a->hold_from;
    s->hold_to = a->hold_to;
    s->span_ns = time_ns() - acct_since_ns;
}

void big_lock_stats_clear(void)
{
    for (int i = 0; i < SMP_MAX_CPUS; i++) {
        struct lock_acct *a = &acct[i];
        a->waits = a->wait_tsc = a->wait_max = a->held_tsc = a->hold_max = a->hold_from = a->hold_to = 0;
    }
    acct_since_ns = time_ns();
}
