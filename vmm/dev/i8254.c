/* i8254 programmable interval timer (Intel 82C54 datasheet): modes 0-3, latch, read-back, ch2 gate on 0x61. */
#include "vmm/dev/i8254.h"
#include "vmm/dev/dev.h"
#include "kernel/kstring.h"
#include "vmm/dev/devices.h"
#include "kernel/heap.h"
#include "kernel/errno.h"

#define MIN_PERIOD_NS 50000ull       /* faster periodic rates are slowed: a guest could otherwise spin the host */

static uint64_t ticks(const struct pit_channel *c)
{
    uint64_t now = time_ns();
    return now > c->load_ns ? dev_muldiv(now - c->load_ns, PIT_HZ, 1000000000ull) : 0;
}

static int counting(const struct pit *p, int ch)
{
    return ch != 2 || (p->s.port61 & 1);
}

uint16_t pit_count(const struct pit *p, int ch)
{
    const struct pit_channel *c = &p->s.ch[ch];
    uint64_t t = counting(p, ch) ? ticks(c) : 0;
    switch (c->mode) {
    case 2: return (uint16_t)(c->reload - t % c->reload);
    case 3: return (uint16_t)((c->reload - (2 * t) % c->reload) & ~1u);
    default: return (uint16_t)(c->reload - t);           /* modes 0, 1, 4, 5: wraps after 0 */
    }
}

int pit_out(const struct pit *p, int ch)
{
    const struct pit_channel *c = &p->s.ch[ch];
    uint64_t t = counting(p, ch) ? ticks(c) : 0;
    switch (c->mode) {
    case 2: return t % c->reload != c->reload - 1;
    case 3: return t % c->reload < (c->reload + 1) / 2;
    case 0: return t >= c->reload;
    default: return t >= c->reload;
    }
}

static uint64_t period_ns(const struct pit_channel *c)
{
    return dev_muldiv(c->reload, 1000000000ull, PIT_HZ);
}

static void ch0_fired(struct timer *t, void *arg);

/* Channel 0 raises GSI 0 at each terminal count (edge). */
static void ch0_arm(struct pit *p)
{
    struct pit_channel *c = &p->s.ch[0];
    uint64_t now = time_ns(), next, per = period_ns(c);
    if (!c->armed) {
        timer_cancel(&p->timer);
        return;
    }
    if (c->mode == 2 || c->mode == 3) {
        if (per < MIN_PERIOD_NS)
            per = MIN_PERIOD_NS;
        next = c->load_ns + ((now - c->load_ns) / per + 1) * per;
    } else {
        next = c->load_ns + per;
    }
    timer_arm(&p->timer, next > now ? next - now : 0, ch0_fired, p);
}

static void ch0_fired(struct timer *t, void *arg)
{
    struct pit *p = arg;
    (void)t;
    vm_irq_pulse(p->vm, 0);
    if (p->s.ch[0].mode != 2 && p->s.ch[0].mode != 3)
        p->s.ch[0].armed = 0;                 /* one-shot modes fire once */
    ch0_arm(p);
}

static void load(struct pit *p, int ch, uint32_t v)
{
    struct pit_channel *c = &p->s.ch[ch];
    c->reload = v ? v : 65536;
    c->load_ns = time_ns();
    if (ch == 0) {
        c->armed = 1;
        ch0_arm(p);
    }
}

static void write_count(struct pit *p, int ch, uint8_t v)
{
    struct pit_channel *c = &p->s.ch[ch];
    if (c->rw == 1) {
        load(p, ch, v);
    } else if (c->rw == 2) {
        load(p, ch, (uint32_t)v << 8);
    } else if (!c->write_hi) {
        c->write_lsb = v;
        c->write_hi = 1;
        if (ch == 0 && c->mode == 0) {
            c->armed = 0;                      /* mode 0: writing the LSB stops the count */
            timer_cancel(&p->timer);
        }
    } else {
        c->write_hi = 0;
        load(p, ch, c->write_lsb | (uint32_t)v << 8);
    }
}

static void latch(struct pit *p, int ch)
{
    struct pit_channel *c = &p->s.ch[ch];
    if (!c->latched) {
        c->latch = pit_count(p, ch);
        c->latched = c->rw == 3 ? 2 : 1;
    }
}

static void control(struct pit *p, uint8_t v)
{
    int ch = v >> 6;
    if (ch == 3) {                             /* read-back (82C54 datasheet, "Read-Back Command") */
        for (int i = 0; i < 3; i++) {
            struct pit_channel *c = &p->s.ch[i];
            if (!(v & (2u << i)))
                continue;
            if (!(v & 0x10) && !c->status_latched) {
                c->status = (uint8_t)((pit_out(p, i) << 7) | (c->rw << 4) | (c->mode << 1) | c->bcd);
                c->status_latched = 1;
            }
            if (!(v & 0x20))
                latch(p, i);
        }
        return;
    }
    if (((v >> 4) & 3) == 0) {
        latch(p, ch);
        return;
    }
    struct pit_channel *c = &p->s.ch[ch];
    c->rw = (v >> 4) & 3;
    c->mode = (v >> 1) & 7;
    if (c->mode > 5)
        c->mode -= 4;                          /* 6 and 7 are modes 2 and 3 */
    c->bcd = v & 1;
    c->latched = c->status_latched = c->read_hi = c->write_hi = 0;
    if (ch == 0) {
        c->armed = 0;                          /* a control word stops the channel until a count */
        timer_cancel(&p->timer);
    }
}

static uint8_t read_count(struct pit *p, int ch)
{
    struct pit_channel *c = &p->s.ch[ch];
    uint16_t v;
    if (c->status_latched) {
        c->status_latched = 0;
        return c->status;
    }
    if (c->latched) {
        v = c->latch;
        if (c->rw == 3 && c->latched == 2) {
            c->latched = 1;
            return (uint8_t)v;
        }
        c->latched = 0;
        return (uint8_t)(c->rw == 2 || c->rw == 3 ? v >> 8 : v);
    }
    v = pit_count(p, ch);
    if (c->rw == 1)
        return (uint8_t)v;
    if (c->rw == 2)
        return (uint8_t)(v >> 8);
    c->read_hi ^= 1;
    return (uint8_t)(c->read_hi ? v : v >> 8);
}

uint8_t pit_read(struct pit *p, int off)
{
    return off < 3 ? read_count(p, off) : 0xff;
}

void pit_write(struct pit *p, int off, uint8_t val)
{
    if (off < 3)
        write_count(p, off, val);
    else
        control(p, val);
}

uint8_t pit_port61_read(struct pit *p)
{
    p->s.refresh ^= 0x10;                      /* the refresh toggle some delay loops watch */
    return (uint8_t)((p->s.port61 & 3) | p->s.refresh | (pit_out(p, 2) ? 0x20 : 0));
}

void pit_port61_write(struct pit *p, uint8_t val)
{
    if ((val & 1) && !(p->s.port61 & 1))
        p->s.ch[2].load_ns = time_ns();        /* a rising gate (re)starts channel 2 */
    p->s.port61 = val & 3;
}

static int pit_in(void *dev, uint16_t off, int size, uint32_t *val)
{
    uint64_t f = dev_lock();
    (void)size;
    *val = pit_read(dev, off & 3);
    dev_unlock(f);
    return 0;
}

static int pit_outp(void *dev, uint16_t off, int size, uint32_t val)
{
    uint64_t f = dev_lock();
    (void)size;
    pit_write(dev, off & 3, (uint8_t)val);
    dev_unlock(f);
    return 0;
}

static int p61_in(void *dev, uint16_t off, int size, uint32_t *val)
{
    uint64_t f = dev_lock();
    (void)off; (void)size;
    *val = pit_port61_read(dev);
    dev_unlock(f);
    return 0;
}

static int p61_out(void *dev, uint16_t off, int size, uint32_t val)
{
    uint64_t f = dev_lock();
    (void)off; (void)size;
    pit_port61_write(dev, (uint8_t)val);
    dev_unlock(f);
    return 0;
}

void pit_snapshot(struct pit_state *st, struct snap *s)
{
    snap_header(s, SNAP_TAG_PIT, PIT_STATE_VERSION);
    SNAP(s, *st);
    for (int i = 0; i < 3 && !s->save && !s->err; i++)
        if (st->ch[i].reload == 0 || st->ch[i].reload > 65536 || st->ch[i].mode > 5)
            s->err = -EINVAL;
}

static void pit_detach(struct vm *vm, void *arg)
{
    struct pit *p = arg;
    (void)vm;
    timer_cancel(&p->timer);
    kfree(p);
}

/* Power-on state: every channel stopped with a full count, lo/hi access. */
static void pit_power_on(struct pit *p)
{
    memset(&p->s, 0, sizeof(p->s));
    for (int i = 0; i < 3; i++) {
        p->s.ch[i].reload = 65536;
        p->s.ch[i].rw = 3;
    }
}

static void pit_vm_reset(struct vm *vm, void *arg)
{
    struct pit *p = arg;
    uint64_t f = dev_lock();
    (void)vm;
    timer_cancel(&p->timer);
    pit_power_on(p);
    dev_unlock(f);
}

/* The registry's record: each channel's load time as its age (now - load_ns), so that a restored
 * count goes on from where it was on another clock; wrapping arithmetic keeps a hostile age harmless. */
static void pit_snap(void *dev, struct snap *s)
{
    struct pit *p = dev;
    struct pit_state st = p->s;
    uint64_t now = time_ns();
    for (int i = 0; i < 3; i++)
        st.ch[i].load_ns = now - st.ch[i].load_ns;
    pit_snapshot(&st, s);
    if (s->save || s->err)
        return;
    for (int i = 0; i < 3; i++)
        st.ch[i].load_ns = now - st.ch[i].load_ns;
    p->s = st;
}

/* Channel 0's timer re-armed relative to now (its next terminal count after the restored load time). */
static void pit_post_restore(struct vm *vm, void *dev)
{
    uint64_t f = dev_lock();
    (void)vm;
    ch0_arm(dev);
    dev_unlock(f);
}

int pit_attach(struct vm *vm)
{
    struct vm_dev reg = { .name = "pit",
                          .snapshot = pit_snap,
                          .post_restore = pit_post_restore,
                          .reset = pit_vm_reset,
                          .destroy = pit_detach };
    int rc;
    struct pit *p = vm_dev_new(vm, sizeof(*p), &reg, &rc);
    if (!p)
        return rc;
    p->vm = vm;
    pit_power_on(p);
    struct pio_range r = { 0x40, 4, pit_in, pit_outp, p }, g = { 0x61, 1, p61_in, p61_out, p };
    if ((rc = vm_register_pio(vm, &r)) < 0)
        return rc;
    return vm_register_pio(vm, &g);
}
