/* The hypervisor's big lock: everything outside guest mode runs under it, on whichever CPU (arch/x86/biglock.c). */
#ifndef SHOAL_KERNEL_BIGLOCK_H
#define SHOAL_KERNEL_BIGLOCK_H
#include <stdint.h>

/*
 * How it runs: the boot CPU holds it while its poll loop works (shell, network, iSCSI, block layers,
 * timers) and lets go while it halts and between rounds; a CPU running vCPUs holds it from a VM exit to the
 * next entry, so guest code runs in parallel and exit handling does not. Recursive on one CPU (the timer
 * interrupt takes it inside the poll loop). Fair: a ticket lock, CPUs are served in arrival order.
 * Interrupts are off while a CPU waits for it (a handler that takes it cannot queue behind itself); with
 * lock_spins=N a wait that outlasts N spins halts the CPU until the unlock that serves it wakes it
 * (arch/x86/biglock.c). Each CPU's waits for it and holds of it are counted (big_lock_stats).
 */

/* One CPU's waits for the lock and holds of it since boot or the last big_lock_stats_clear. */
struct big_lock_stats {
    uint64_t waits;                 /* acquisitions that found it taken */
    uint64_t wait_ns, wait_max_ns;  /* their total and longest wait */
    uint64_t held_ns, hold_max_ns;  /* time held (outermost level) in all, and the longest hold */
    uint64_t hold_from, hold_to;    /* where the longest hold began and ended (return addresses) */
    uint64_t span_ns;               /* the time these figures cover */
};
#ifdef SHOAL_HOST
static inline void big_lock(void) { }
static inline void big_unlock(void) { }
static inline int big_unlock_all(void) { return 0; }
static inline void big_relock(int depth) { (void)depth; }
static inline uint64_t big_lock_sleeps(void) { return 0; }
#else
void big_lock(void);
void big_unlock(void);
/* Let go entirely (however deep the caller holds it), to wait for another CPU; returns the depth to give
 * back to big_relock. 0 when the caller did not hold it. */
int big_unlock_all(void);
void big_relock(int depth);
/* Waits for the lock that ended in a halt until woken, since boot (for `cpus`). */
uint64_t big_lock_sleeps(void);
/* Register the wake-up vector of halted waiters (smp_init, before another CPU starts). */
void big_lock_setup(void);
/* Fill s with cpu's figures (zeros for a CPU out of range). */
void big_lock_stats(int cpu, struct big_lock_stats *s);
/* Start every CPU's figures again from zero (`cpus clear`). */
void big_lock_stats_clear(void);
#endif
#endif
