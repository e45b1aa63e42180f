/* Interrupts off around a short critical section, in the kernel and as a no-op in host-compiled unit tests. */
#ifndef SHOAL_KERNEL_IRQLOCK_H
#define SHOAL_KERNEL_IRQLOCK_H
#include <stdint.h>

/*
 * irq_lock turns interrupts off and returns what irq_unlock needs to put them back as they were; pairs
 * nest. One host CPU runs everything, so this is the lock between the timer interrupt and the rest.
 * Host builds (SHOAL_HOST) have no interrupts: both do nothing there.
 */
#ifdef SHOAL_HOST
static inline uint64_t irq_lock(void) { return 0; }
static inline void irq_unlock(uint64_t f) { (void)f; }
#else
#include "arch/x86/cpu.h"
static inline uint64_t irq_lock(void) { return irq_save(); }
static inline void irq_unlock(uint64_t f) { irq_restore(f); }
#endif
#endif
