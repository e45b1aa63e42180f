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
/* An application processor's LAPIC: enabled, spurious vector set, its timer one-shot on VEC_LAPIC_TIMER and
 * armed (it keeps the timers armed on that CPU: kernel/timer.c). */
void lapic_ap_init(void);
/* Send INIT, a start-up IPI (the AP starts at page << 12 in real mode), or a fixed-vector IPI to apic_id
 * (SDM 3A 11.6.1); each waits for the ICR to be free before and after (at most 100 ms each). */
void lapic_send_init(uint32_t apic_id);
void lapic_send_sipi(uint32_t apic_id, uint8_t page);
void lapic_send_ipi(uint32_t apic_id, uint8_t vector);
#endif
