/* The vCPU scheduler: per CPU, the runnable vCPUs placed there, least time used first, one slice each. */
#ifndef SHOAL_VMM_SCHED_H
#define SHOAL_VMM_SCHED_H
#include <stdint.h>

struct vm;

#define SCHED_SLICE_NS 10000000ull

/*
 * Hold vm's vCPUs off the CPU for pct percent of the time (0: not at all, at most 99): after each slice a
 * vCPU rests (pct / (100 - pct)) times as long as it ran. Its timers keep wall time, so the guest runs
 * slower, not stopped. Migration's auto-converge uses it to slow a guest that dirties memory faster
 * than the link carries it, as QEMU's cpu-throttle does.
 */
void sched_throttle(struct vm *vm, unsigned pct);

/* On the boot CPU: run the next runnable vCPU placed on it for one slice. 1 if one ran, 0 when none could. */
int sched_poll(void);
/* The same on CPU cpu (an AP's work, under the big lock; the slice lets it go while the guest runs). */
int sched_run_cpu(int cpu);
#endif
