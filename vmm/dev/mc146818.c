/* MC146818 real-time clock and CMOS RAM at 0x70/0x71: the host's date and time, BCD/binary, 12/24 hours. */
#include "vmm/dev/mc146818.h"
#include "vmm/dev/dev.h"
#include "vmm/dev/devices.h"
#include "drivers/cmos.h"
#include "kernel/time.h"
#include "kernel/errno.h"

#define REG_A 0x0a
#define REG_B 0x0b
#define REG_C 0x0c
#define REG_D 0x0d
#define REG_CENTURY 0x32             /* the FADT's century field */
#define B_SET  0x80
#define B_DM   0x04                  /* binary (else BCD) */
#define B_24H  0x02
#define UIP_NS 244000ull             /* UIP is set for the last 244 us of each second (datasheet) */

static uint8_t enc(const struct rtc *r, int v)
{
    return (r->s.cmos[REG_B] & B_DM) ? (uint8_t)v : (uint8_t)((v / 10) << 4 | (v % 10));
}

static int dec(const struct rtc *r, uint8_t v)
{
    return (r->s.cmos[REG_B] & B_DM) ? v : (v >> 4) * 10 + (v & 15);
}

/* Years 1970-9999 fit the registers (century and year fields): the guest's clock stays in them. */
#define RTC_MAX_SECS 253402300799ll          /* 9999-12-31 23:59:59 */
#define RTC_MAX_OFFSET (RTC_MAX_SECS + 1)

static int64_t now_secs(const struct rtc *r)
{
    int64_t t = (int64_t)cmos_epoch_now() + r->s.offset;   /* |offset| is bounded: no overflow */
    return t < 0 ? 0 : t > RTC_MAX_SECS ? RTC_MAX_SECS : t;
}

/* Fill registers 0-9 and the century from a time in seconds since 1970. */
static void fill_time(struct rtc *r, int64_t t)
{
    int y, m, d, hour = (int)((t % 86400) / 3600);
    int64_t days = t / 86400;
    uint8_t *c = r->s.cmos;
    cmos_civil_from_days(days, &y, &m, &d);
    c[0] = enc(r, (int)(t % 60));
    c[2] = enc(r, (int)((t / 60) % 60));
    if (c[REG_B] & B_24H)
        c[4] = enc(r, hour);
    else
        c[4] = (uint8_t)(enc(r, hour % 12 ? hour % 12 : 12) | (hour >= 12 ? 0x80 : 0));
    c[6] = enc(r, (int)((days + 4) % 7) + 1);   /* 1970-01-01 was a Thursday; Sunday is 1 */
    c[7] = enc(r, d);
    c[8] = enc(r, m);
    c[9] = enc(r, y % 100);
    c[REG_CENTURY] = enc(r, y / 100);
}

/* The guest wrote a time while SET was on: the clock restarts from it. */
static int64_t fields_time(const struct rtc *r)
{
    const uint8_t *c = r->s.cmos;
    int hour = dec(r, c[4] & 0x7f);
    if (!(c[REG_B] & B_24H))
        hour = (hour % 12) + ((c[4] & 0x80) ? 12 : 0);
    int y = dec(r, c[REG_CENTURY]) * 100 + dec(r, c[9]);
    return cmos_days_from_civil(y, dec(r, c[8]), dec(r, c[7])) * 86400 + hour * 3600 +
           dec(r, c[2]) * 60 + dec(r, c[0]);
}

void rtc_init(struct rtc *r)
{
    r->s.cmos[REG_A] = 0x26;        /* 32.768 kHz divider, 1024 Hz rate select */
    r->s.cmos[REG_B] = B_24H;
    r->s.cmos[REG_D] = 0x80;        /* valid RAM and time */
    r->s.cmos[0x10] = 0;            /* no floppy drives */
    r->s.cmos[0x14] = 0x06;         /* equipment: FPU, no floppy, display controller */
}

uint8_t rtc_read(struct rtc *r, uint8_t reg)
{
    uint8_t v;
    reg &= 0x7f;
    if (reg < 10 || reg == REG_CENTURY) {
        if (!(r->s.cmos[REG_B] & B_SET))
            fill_time(r, now_secs(r));
        return r->s.cmos[reg];
    }
    if (reg == REG_A) {
        uint64_t sub = time_ns() % 1000000000ull;
        return (uint8_t)((r->s.cmos[REG_A] & 0x7f) | (sub >= 1000000000ull - UIP_NS && !(r->s.cmos[REG_B] & B_SET) ? 0x80 : 0));
    }
    if (reg == REG_C) {
        v = r->s.cmos[REG_C];
        r->s.cmos[REG_C] = 0;       /* reading C clears the flags */
        return v;
    }
    return r->s.cmos[reg];
}

void rtc_write(struct rtc *r, uint8_t reg, uint8_t val)
{
    uint8_t *c = r->s.cmos;
    reg &= 0x7f;
    if (reg == REG_B) {
        if ((val & B_SET) && !(c[REG_B] & B_SET)) {
            fill_time(r, now_secs(r));           /* freeze the current time in the fields */
        } else if (!(val & B_SET) && (c[REG_B] & B_SET)) {
            r->s.offset = fields_time(r) - (int64_t)cmos_epoch_now();
        }
        c[REG_B] = val;
        return;
    }
    if (reg == REG_C || reg == REG_D)
        return;                                   /* read-only */
    if (reg == REG_A)
        val &= 0x7f;                              /* UIP is read-only */
    c[reg] = val;
}

static int rtc_in(void *dev, uint16_t off, int size, uint32_t *val)
{
    struct rtc *r = dev;
    uint64_t f = dev_lock();
    (void)size;
    *val = off == 1 ? rtc_read(r, r->s.index) : 0xff;
    dev_unlock(f);
    return 0;
}

static int rtc_out(void *dev, uint16_t off, int size, uint32_t val)
{
    struct rtc *r = dev;
    uint64_t f = dev_lock();
    (void)size;
    if (off == 0)
        r->s.index = val & 0x7f;                  /* bit 7 is the NMI mask */
    else
        rtc_write(r, r->s.index, (uint8_t)val);
    dev_unlock(f);
    return 0;
}

void rtc_snapshot(struct rtc_state *st, struct snap *s)
{
    snap_header(s, SNAP_TAG_RTC, RTC_STATE_VERSION);
    SNAP(s, *st);
    /* A record is hostile input: the index addresses cmos[], the offset feeds the date arithmetic. */
    if (!s->save && !s->err && (st->index >= sizeof(st->cmos) || st->offset > RTC_MAX_OFFSET ||
                                st->offset < -RTC_MAX_OFFSET))
        s->err = -EINVAL;
}

/* The RESET pin (datasheet "RESET"): interrupt enables and flags clear; time, mode and NVRAM stay. */
static void rtc_vm_reset(struct vm *vm, void *arg)
{
    struct rtc *r = arg;
    (void)vm;
    r->s.cmos[REG_B] &= (uint8_t)~0x78;          /* PIE, AIE, UIE, SQWE */
    r->s.cmos[REG_C] = 0;
}

static void rtc_snap(void *dev, struct snap *s)
{
    rtc_snapshot(&((struct rtc *)dev)->s, s);
}

int rtc_attach(struct vm *vm)
{
    struct vm_dev reg = { .name = "rtc", .snapshot = rtc_snap, .reset = rtc_vm_reset, .destroy = vm_dev_free };
    int rc;
    struct rtc *r = vm_dev_new(vm, sizeof(*r), &reg, &rc);
    if (!r)
        return rc;
    r->vm = vm;
    rtc_init(r);
    struct pio_range p = { 0x70, 2, rtc_in, rtc_out, r };
    return vm_register_pio(vm, &p);
}
