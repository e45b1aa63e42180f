/* The host's CMOS real-time clock (MC146818-compatible at ports 0x70/0x71): the date and time at boot. */
#ifndef SHOAL_DRIVERS_CMOS_H
#define SHOAL_DRIVERS_CMOS_H
#include <stdint.h>

/* Seconds since 1970-01-01 00:00 UTC read from the host RTC at boot plus the time since (0 if unread). */
uint64_t cmos_epoch_now(void);
/* Days since 1970-01-01 for a civil date (proleptic Gregorian), and back. */
int64_t cmos_days_from_civil(int y, int m, int d);
void cmos_civil_from_days(int64_t z, int *y, int *m, int *d);
#endif
