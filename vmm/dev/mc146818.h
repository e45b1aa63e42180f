/* MC146818 RTC model: state record and entry points shared with its unit tests. */
#ifndef SHOAL_VMM_MC146818_H
#define SHOAL_VMM_MC146818_H
#include <stdint.h>
#include "vmm/dev/snapshot.h"

#define RTC_STATE_VERSION 1

struct rtc_state {
    uint8_t cmos[128];               /* registers A-D and NVRAM; time fields while SET holds them */
    uint8_t index;
    int64_t offset;                  /* guest clock minus host clock, seconds (the guest may set its clock) */
};

struct rtc {
    struct rtc_state s;
    struct vm *vm;
};

void rtc_init(struct rtc *r);
uint8_t rtc_read(struct rtc *r, uint8_t reg);
void rtc_write(struct rtc *r, uint8_t reg, uint8_t val);
void rtc_snapshot(struct rtc_state *st, struct snap *s);
#endif
