/* The vCPU scheduler: round robin over runnable vCPUs of running VMs, one time slice each. */
#ifndef SHOAL_VMM_SCHED_H
#define SHOAL_VMM_SCHED_H
#include <stdint.h>

#define SCHED_SLICE_NS 10000000ull

/* Run the next runnable vCPU for one slice. Returns 1 if one ran, 0 when all are halted or stopped. */
int sched_poll(void);
#endif
