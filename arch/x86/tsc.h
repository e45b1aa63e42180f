/* TSC calibration: CPUID 0x15/0x16 when the CPU states its rate, else measured against the PIT. */
#ifndef SHOAL_ARCH_TSC_H
#define SHOAL_ARCH_TSC_H
#include <stdint.h>

/* Calibrate and start time_ns(). Returns the TSC rate in Hz. */
uint64_t tsc_init(void);
uint64_t tsc_hz(void);
/* A span of TSC cycles in nanoseconds (0 before calibration), with time_ns()'s factor. */
uint64_t tsc_cycles_to_ns(uint64_t cycles);
/* How the rate was found: "cpuid 0x15", "cpuid 0x16" or "pit". */
const char *tsc_source(void);
#endif
