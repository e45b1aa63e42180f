/* The hypervisor's big lock: everything outside guest mode runs under it, on whichever CPU (arch/x86/smp.c). */
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
 * (arch/x86/smp.c).
 */
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
#endif
#endif
