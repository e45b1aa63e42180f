/* Local APIC (xAPIC MMIO): EOI, ID, and the timer that drives shoal's one-shot timers. */
#ifndef SHOAL_ARCH_LAPIC_H
#define SHOAL_ARCH_LAPIC_H
#include <stdint.h>

/* Enable the LAPIC, mask the legacy PICs, calibrate the timer against the TSC and start it. */
void lapic_init(void);
/* Signal end of interrupt. */
void lapic_eoi(void);
/* This CPU's APIC ID. */
uint32_t lapic_id(void);
/* Timer input frequency after the divider (Hz); 0 before lapic_init. */
uint64_t lapic_timer_hz(void);
/* Count of timer interrupts taken. */
uint64_t lapic_timer_ticks(void);
#endif
