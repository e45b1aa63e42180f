/* Private helpers of the emulated chips (vmm/dev/): the device lock, the guest clock, chip-to-chip calls. */
#ifndef SHOAL_VMM_DEV_H
#define SHOAL_VMM_DEV_H
#include <stdint.h>
#include "vmm/vm.h"
#include "vmm/dev/snapshot.h"
#include "kernel/irqlock.h"

/*
 * One host CPU runs the vCPUs, the shell and the timer interrupt: chip state is guarded by turning
 * interrupts off (timer callbacks already run that way). Nests.
 */
static inline uint64_t dev_lock(void) { return irq_lock(); }
static inline void dev_unlock(uint64_t f) { irq_unlock(f); }
#ifdef SHOAL_HOST
uint64_t dev_host_tsc(void);         /* the unit tests' fake TSC */
uint64_t dev_host_tsc_hz(void);
static inline uint64_t dev_tsc(void) { return dev_host_tsc(); }
static inline uint64_t dev_tsc_hz(void) { return dev_host_tsc_hz(); }
#else
#include "arch/x86/cpu.h"
#include "arch/x86/tsc.h"
static inline uint64_t dev_tsc(void) { return rdtsc(); }     /* the host's: a guest's adds vcpu->tsc_offset */
static inline uint64_t dev_tsc_hz(void) { return tsc_hz(); }
#endif

/* a * b / c, saturating at UINT64_MAX; exact while (c - 1) * b fits 64 bits (rates and ns here do). */
static inline uint64_t dev_muldiv(uint64_t a, uint64_t b, uint64_t c)
{
    uint64_t q, r;
    if (!c)
        return 0;
    q = a / c;
    r = a % c;
    if (b && q > ~0ull / b)
        return ~0ull;
    return q * b + r * b / c;
}

/* Snapshot tags, one per chip. */
#define SNAP_TAG_UART   0x55415254u  /* "UART" */
#define SNAP_TAG_LAPIC  0x4c415043u
#define SNAP_TAG_IOAPIC 0x494f4150u
#define SNAP_TAG_PIC    0x50494331u
#define SNAP_TAG_PIT    0x50495431u
#define SNAP_TAG_RTC    0x52544331u
#define SNAP_TAG_KBC    0x4b424331u
#endif
