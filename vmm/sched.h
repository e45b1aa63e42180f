/* The vCPU scheduler: round robin over runnable vCPUs of running VMs, one time slice each. */
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

/* Run the next runnable vCPU for one slice. Returns 1 if one ran, 0 when all are halted or stopped. */
int sched_poll(void);
#endif
