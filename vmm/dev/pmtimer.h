/* ACPI PM timer model: the count function shared with its unit tests. */
#ifndef SHOAL_VMM_PMTIMER_H
#define SHOAL_VMM_PMTIMER_H
#include <stdint.h>

#define ACPI_PM_TMR_HZ 3579545ull    /* ACPI 6.4 4.8.3.3 */

/*
 * The timer's count at guest TSC value guest_tsc (tsc_hz ticks per second), never below *last, which it
 * raises to the result: the count only moves forward, whichever CPU's TSC is read.
 */
uint64_t pmtimer_count(uint64_t guest_tsc, uint64_t tsc_hz, uint64_t *last);
#endif
