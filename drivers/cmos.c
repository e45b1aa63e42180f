/* Host CMOS RTC reader: the date and time once at boot (update-in-progress protocol), then time_ns() on top. */
#include "drivers/cmos.h"
#include "kernel/time.h"
#ifndef SHOAL_HOST
#include "arch/x86/cpu.h"
#include "kernel/init.h"
#include "kernel/log.h"
#endif

static uint64_t boot_epoch, boot_ns;

/* H. Hinnant's days_from_civil algorithm (public description of the proleptic Gregorian calendar). */
int64_t cmos_days_from_civil(int y, int m, int d)
{
    int64_t era, yoe, doy, doe;
    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void cmos_civil_from_days(int64_t z, int *y, int *m, int *d)
{
    int64_t era, doe, yoe, doy, mp;
    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

uint64_t cmos_epoch_now(void)
{
    return boot_epoch ? boot_epoch + (time_ns() - boot_ns) / 1000000000ull : 0;
}

#ifndef SHOAL_HOST
static uint8_t rd(uint8_t reg)
{
    outb(0x70, reg);                 /* bit 7 clear: NMIs stay enabled */
    return inb(0x71);
}

static int bin(uint8_t v, int bcd) { return bcd ? (v >> 4) * 10 + (v & 15) : v; }

/* Read all fields twice between update cycles until two reads agree (MC146818 datasheet, "UIP"). */
static int cmos_init(void)
{
    uint8_t a[7], b[7], regb;
    int y, bcd, hour, tries = 0;
    do {
        for (int spin = 0; (rd(0x0a) & 0x80) && spin < 1000000; spin++)
            cpu_pause();
        for (int i = 0; i < 7; i++)
            a[i] = rd((uint8_t[]){ 0, 2, 4, 7, 8, 9, 0x32 }[i]);
        for (int i = 0; i < 7; i++)
            b[i] = rd((uint8_t[]){ 0, 2, 4, 7, 8, 9, 0x32 }[i]);
    } while ((a[0] != b[0] || a[1] != b[1] || a[2] != b[2]) && ++tries < 10);
    regb = rd(0x0b);
    bcd = !(regb & 4);
    hour = bin(a[2] & 0x7f, bcd);
    if (!(regb & 2) && (a[2] & 0x80))
        hour = hour % 12 + 12;                /* 12-hour mode, PM */
    else if (!(regb & 2) && hour == 12)
        hour = 0;
    y = bin(a[5], bcd);
    y += a[6] && a[6] != 0xff ? bin(a[6], bcd) * 100 : (y < 70 ? 2000 : 1900);
    boot_ns = time_ns();
    boot_epoch = (uint64_t)cmos_days_from_civil(y, bin(a[4], bcd), bin(a[3], bcd)) * 86400 +
                 (uint64_t)hour * 3600 + (uint64_t)bin(a[1], bcd) * 60 + (uint64_t)bin(a[0], bcd);
    log_info("cmos: host date %04d-%02d-%02d %02d:%02d:%02d UTC", y, bin(a[4], bcd), bin(a[3], bcd),
             hour, bin(a[1], bcd), bin(a[0], bcd));
    return 0;
}
INIT_HOOK(INIT_DRIVERS, cmos_init);
#endif
