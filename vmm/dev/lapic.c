/* Local APIC (SDM 3A ch. 11): IRR/ISR/TMR, TPR/PPR, EOI, LVTs, timer (one-shot, periodic, TSC-deadline), ICR. */
#include "vmm/dev/apic.h"
#include "vmm/dev/dev.h"
#include "vmm/dev/devices.h"
#include "arch/x86/msr.h"
#include "kernel/errno.h"

#define REG_ID      0x20
#define REG_VER     0x30
#define REG_TPR     0x80
#define REG_APR     0x90
#define REG_PPR     0xa0
#define REG_EOI     0xb0
#define REG_LDR     0xd0
#define REG_DFR     0xe0
#define REG_SVR     0xf0
#define REG_ISR     0x100
#define REG_TMR     0x180
#define REG_IRR     0x200
#define REG_ESR     0x280
#define REG_ICR     0x300
#define REG_ICR2    0x310
#define REG_LVT     0x320
#define REG_TICR    0x380
#define REG_TCCR    0x390
#define REG_TDCR    0x3e0
#define REG_SELF    0x3f0            /* x2APIC only */
#define SVR_ENABLE  (1u << 8)
#define LVT_MASKED  (1u << 16)
#define BASE_BSP    (1ull << 8)
#define BASE_X2     (1ull << 10)
#define BASE_EN     (1ull << 11)
#define TIMER_MODE(l) (((l)->s.lvt[LVT_TIMER] >> 17) & 3)   /* 0 one-shot, 1 periodic, 2 TSC-deadline */
/*
 * No timer fires sooner than this after its previous firing, in any mode: 5 kHz at most per LAPIC, as
 * KVM's min_timer_period_us (200) bounds periodic timers. A guest programming the smallest count would
 * otherwise make the host take a timer interrupt every few microseconds, even while other guests run.
 */
#define MIN_PERIOD_NS 200000ull

static const uint32_t lvt_bits[LAPIC_NLVT] = { 0x700ff, 0x107ff, 0x107ff, 0x1a7ff, 0x1a7ff, 0x100ff };

static int x2(const struct lapic *l) { return (l->s.apic_base & BASE_X2) != 0; }
static int enabled(const struct lapic *l) { return (l->s.apic_base & BASE_EN) && (l->s.svr & SVR_ENABLE); }

static int highest(const uint32_t *bits)
{
    for (int w = 7; w >= 0; w--)
        if (bits[w])
            return w * 32 + 31 - __builtin_clz(bits[w]);
    return -1;
}

static void bit_set(uint32_t *b, int v) { b[v / 32] |= 1u << (v % 32); }
static void bit_clr(uint32_t *b, int v) { b[v / 32] &= ~(1u << (v % 32)); }
static int bit_get(const uint32_t *b, int v) { return (b[v / 32] >> (v % 32)) & 1; }

/* SDM 3A 11.8.3.1: PPR is the TPR or the highest in-service class, whichever is higher. */
static uint32_t ppr(const struct lapic *l)
{
    int isrv = highest(l->s.isr);
    uint32_t isrc = isrv < 0 ? 0 : (uint32_t)isrv & 0xf0;
    return (l->s.tpr & 0xf0) >= isrc ? l->s.tpr & 0xff : isrc;
}

/* Reset to the power-up/INIT state (SDM 3A 11.4.7.1), keeping the ID and the base MSR. */
static void lapic_reset(struct lapic *l)
{
    struct lapic_state *s = &l->s;
    uint64_t base = s->apic_base;
    uint32_t id = s->id;
    timer_cancel(&l->timer);
    for (unsigned i = 0; i < sizeof(*s); i++)
        ((uint8_t *)s)[i] = 0;
    s->apic_base = base;
    s->id = id;
    s->dfr = 0xffffffffu;
    s->svr = 0xff;
    for (int i = 0; i < LAPIC_NLVT; i++)
        s->lvt[i] = LVT_MASKED;
    l->extint = 0;
}

void lapic_vcpu_init(struct lapic *l, struct vcpu *v, int bsp)
{
    l->v = v;
    l->s.id = (uint32_t)v->id;
    l->s.apic_base = PLAT_LAPIC_BASE | BASE_EN | (bsp ? BASE_BSP : 0);
    lapic_reset(l);
}

/* Accept a fixed interrupt into the IRR (SDM 3A 11.5.1) and wake the CPU. */
static void lapic_set_irr(struct lapic *l, int vector, int level_trig)
{
    if (vector < 16) {
        l->s.esr_pending |= 1u << 6;            /* received illegal vector */
        return;
    }
    if (!enabled(l))
        return;                                  /* a software-disabled APIC drops fixed interrupts */
    bit_set(l->s.irr, vector);
    if (level_trig)
        bit_set(l->s.tmr, vector);
    else
        bit_clr(l->s.tmr, vector);
    vcpu_kick(l->v);
}

static void lvt_fire(struct lapic *l, int idx)
{
    uint32_t lvt = l->s.lvt[idx];
    if (!(lvt & LVT_MASKED))
        lapic_set_irr(l, lvt & 0xff, 0);
}

/* Divide configuration (SDM 3A 11.5.4): bits 0, 1, 3; 0b111 is divide by 1. */
static uint64_t timer_div(const struct lapic *l)
{
    uint32_t d = l->s.timer_dcr, code = (d & 3) | ((d >> 1) & 4);
    return code == 7 ? 1 : 2ull << code;
}

/* With a 1 GHz bus a tick is 1 ns: the period is the count times the divider. */
static uint64_t timer_period_ns(const struct lapic *l)
{
    return (uint64_t)l->s.timer_icr * timer_div(l);
}

/* The period a periodic timer runs at: the programmed one, but never under MIN_PERIOD_NS. */
static uint64_t timer_period_bounded(const struct lapic *l)
{
    uint64_t period = timer_period_ns(l);
    return period < MIN_PERIOD_NS ? MIN_PERIOD_NS : period;
}

static void timer_fired(struct timer *t, void *arg);

/* Arm the timer to fire at time_ns() == at, or MIN_PERIOD_NS after it last fired if that is later. */
static void timer_arm_at(struct lapic *l, uint64_t at, uint64_t now)
{
    uint64_t floor = l->timer_fired_ns + MIN_PERIOD_NS;
    if (at < floor)
        at = floor;
    timer_arm(&l->timer, at > now ? at - now : 0, timer_fired, l);
}

static void timer_program(struct lapic *l)
{
    uint64_t now = time_ns(), end;
    timer_cancel(&l->timer);
    if (TIMER_MODE(l) == 2) {
        uint64_t tsc = dev_tsc() + l->v->tsc_offset, hz = dev_tsc_hz();   /* the guest's TSC */
        if (!l->s.tsc_deadline)
            return;
        end = l->s.tsc_deadline > tsc ? dev_muldiv(l->s.tsc_deadline - tsc, 1000000000ull, hz) : 0;
        timer_arm_at(l, now + end, now);
        return;
    }
    if (!l->s.timer_icr)
        return;
    end = l->s.timer_start + (TIMER_MODE(l) == 1 ? timer_period_bounded(l) : timer_period_ns(l));
    timer_arm_at(l, end, now);
}

static void timer_fired(struct timer *t, void *arg)
{
    struct lapic *l = arg;
    uint64_t now = time_ns(), period;
    (void)t;
    l->timer_fired_ns = now;
    lvt_fire(l, LVT_TIMER);
    if (TIMER_MODE(l) == 2) {
        l->s.tsc_deadline = 0;                   /* SDM 3A 11.5.4.1: the MSR reads 0 once it fired */
        return;
    }
    if (TIMER_MODE(l) != 1) {
        return;                                   /* one-shot: the count stays at 0 */
    }
    period = timer_period_bounded(l);
    l->s.timer_start += period;
    if (l->s.timer_start + period <= now)        /* fell behind: skip the missed periods */
        l->s.timer_start = now - (now - l->s.timer_start) % period;
    timer_arm(&l->timer, l->s.timer_start + period - now, timer_fired, l);
}

uint32_t lapic_current_count(const struct lapic *l)
{
    uint64_t period = timer_period_ns(l), el;
    if (!l->s.timer_icr || TIMER_MODE(l) == 2 || !period)
        return 0;
    el = time_ns() - l->s.timer_start;
    if (TIMER_MODE(l) == 0 && el >= period)
        return 0;
    el %= period;
    return (uint32_t)(l->s.timer_icr - el / timer_div(l));
}

static void set_svr(struct lapic *l, uint32_t v)
{
    l->s.svr = v & 0x1ff;
    if (!(v & SVR_ENABLE))
        for (int i = 0; i < LAPIC_NLVT; i++)
            l->s.lvt[i] |= LVT_MASKED;          /* SDM 3A 11.4.7.2 */
}

static void do_eoi(struct lapic *l)
{
    int v = highest(l->s.isr);
    if (v < 0)
        return;
    bit_clr(l->s.isr, v);
    if (bit_get(l->s.tmr, v)) {
        bit_clr(l->s.tmr, v);
        irqchip_eoi(l->v->vm, (uint8_t)v);      /* level-triggered: broadcast to the IOAPIC */
    }
    if (lapic_pending(l) >= 0)
        vcpu_kick(l->v);
}

/* ICR write (SDM 3A 11.6.1): send the IPI it describes. */
static void send_icr(struct lapic *l, uint32_t lo, uint32_t dest)
{
    struct apic_msg m = { dest, (uint8_t)lo, (uint8_t)((lo >> 8) & 7), (uint8_t)((lo >> 11) & 1),
                          (uint8_t)((lo >> 15) & 1), (uint8_t)x2(l) };
    int sh = (lo >> 18) & 3;
    struct vm *vm = l->v->vm;
    if (m.mode == DM_INIT && m.level_trig && !(lo & (1u << 14)))
        return;                                   /* INIT level de-assert: no effect on modern CPUs */
    if (sh == 1) {
        if (m.mode == DM_FIXED)
            lapic_set_irr(l, m.vector, 0);
        return;
    }
    if (sh == 0) {
        lapic_send(vm, &m, NULL);
        return;
    }
    for (int i = 0; i < vm->nvcpus; i++) {
        struct lapic *o = vm->vcpu[i]->lapic;
        if (o && (sh == 2 || o != l)) {
            struct apic_msg one = m;
            one.dest = o->s.id;
            one.logical = 0;
            one.x2 = 1;
            lapic_send(vm, &one, NULL);
        }
    }
}

/* Register read at xAPIC offset off (x2APIC MSRs map to the same offsets). -EINVAL: no such register. */
static int reg_read(struct lapic *l, uint32_t off, uint32_t *val)
{
    struct lapic_state *s = &l->s;
    if (off >= REG_ISR && off < REG_ISR + 0x180) {
        const uint32_t *b = off < REG_TMR ? s->isr : off < REG_IRR ? s->tmr : s->irr;
        *val = b[((off - REG_ISR) % 0x80) / 0x10];
        return 0;
    }
    if (off >= REG_LVT && off < REG_LVT + LAPIC_NLVT * 0x10) {
        *val = s->lvt[(off - REG_LVT) / 0x10];
        return 0;
    }
    switch (off) {
    case REG_ID: *val = x2(l) ? s->id : s->id << 24; return 0;
    case REG_VER: *val = 0x14u | ((LAPIC_NLVT - 1u) << 16); return 0;
    case REG_TPR: *val = s->tpr; return 0;
    case REG_APR: *val = 0; return 0;
    case REG_PPR: *val = ppr(l); return 0;
    case REG_EOI: *val = 0; return 0;
    case REG_LDR: *val = s->ldr; return 0;
    case REG_DFR: if (x2(l)) return -EINVAL; *val = s->dfr; return 0;
    case REG_SVR: *val = s->svr; return 0;
    case REG_ESR: *val = s->esr; return 0;
    case REG_ICR: *val = s->icr_lo & ~(1u << 12); return 0;
    case REG_ICR2: *val = s->icr_hi; return 0;
    case REG_TICR: *val = s->timer_icr; return 0;
    case REG_TCCR: *val = lapic_current_count(l); return 0;
    case REG_TDCR: *val = s->timer_dcr; return 0;
    default: *val = 0; return x2(l) ? -EINVAL : 0;
    }
}

static void write_lvt(struct lapic *l, int idx, uint32_t val)
{
    uint32_t old = l->s.lvt[idx];
    if (!(l->s.svr & SVR_ENABLE))
        val |= LVT_MASKED;
    l->s.lvt[idx] = val & lvt_bits[idx];
    if (idx == LVT_TIMER && ((old ^ l->s.lvt[idx]) & (3u << 17))) {
        l->s.timer_icr = 0;                       /* a mode change stops the timer (SDM 3A 11.5.4.1) */
        l->s.tsc_deadline = 0;
        timer_cancel(&l->timer);
    }
}

static int reg_write(struct lapic *l, uint32_t off, uint32_t val)
{
    struct lapic_state *s = &l->s;
    if (off >= REG_LVT && off < REG_LVT + LAPIC_NLVT * 0x10) {
        write_lvt(l, (int)(off - REG_LVT) / 0x10, val);
        return 0;
    }
    switch (off) {
    case REG_ID: if (!x2(l)) s->id = val >> 24; return x2(l) ? -EINVAL : 0;
    case REG_TPR: s->tpr = val & 0xff; if (lapic_pending(l) >= 0) vcpu_kick(l->v); return 0;
    case REG_EOI: do_eoi(l); return 0;
    case REG_LDR: if (x2(l)) return -EINVAL; s->ldr = val & 0xff000000u; return 0;
    case REG_DFR: if (x2(l)) return -EINVAL; s->dfr = val | 0x0fffffffu; return 0;
    case REG_SVR: set_svr(l, val); return 0;
    case REG_ESR: s->esr = s->esr_pending; s->esr_pending = 0; return 0;
    case REG_ICR:
        s->icr_lo = val & 0xfffcdfffu;
        send_icr(l, val, x2(l) ? s->icr_hi : s->icr_hi >> 24);
        return 0;
    case REG_ICR2: s->icr_hi = x2(l) ? val : val & 0xff000000u; return 0;
    case REG_TICR:
        if (TIMER_MODE(l) == 2)
            return 0;                             /* ignored in TSC-deadline mode */
        s->timer_icr = val;
        s->timer_start = time_ns();
        timer_program(l);
        return 0;
    case REG_TDCR: s->timer_dcr = val & 0xb; return 0;
    case REG_SELF: if (!x2(l)) return 0; lapic_set_irr(l, val & 0xff, 0); return 0;
    default: return x2(l) ? -EINVAL : 0;         /* xAPIC: writes to read-only registers are ignored */
    }
}

int lapic_mmio_read(struct lapic *l, uint32_t off, uint32_t *val)
{
    uint64_t f = dev_lock();
    if (x2(l) || !(l->s.apic_base & BASE_EN))
        *val = 0xffffffffu;                       /* the MMIO page is gone in x2APIC or disabled mode */
    else
        reg_read(l, off & 0xff0, val);
    dev_unlock(f);
    return 0;
}

int lapic_mmio_write(struct lapic *l, uint32_t off, uint32_t val)
{
    uint64_t f = dev_lock();
    if (!x2(l) && (l->s.apic_base & BASE_EN))
        reg_write(l, off & 0xff0, val);
    dev_unlock(f);
    return 0;
}

static int set_base(struct lapic *l, uint64_t val)
{
    uint64_t old = l->s.apic_base;
    if ((val & ~(0xfffff000ull | BASE_BSP | BASE_X2 | BASE_EN)) || (val & BASE_BSP) != (old & BASE_BSP))
        return -EINVAL;
    if ((val & (BASE_X2 | BASE_EN)) == BASE_X2)
        return -EINVAL;                           /* x2APIC without enable is invalid (SDM 3A 11.12.5) */
    if ((old & BASE_X2) && (val & BASE_EN) && !(val & BASE_X2))
        return -EINVAL;                           /* x2APIC -> xAPIC must go through disabled */
    l->s.apic_base = val;
    if (!(val & BASE_EN)) {
        lapic_reset(l);
        l->s.apic_base = val;
    } else if ((val & BASE_X2) && !(old & BASE_X2)) {
        /* x2APIC: logical ID derived from the APIC ID (SDM 3A 11.12.10.2) */
        l->s.ldr = ((l->s.id >> 4) << 16) | (1u << (l->s.id & 0xf));
    }
    return 0;
}

int lapic_msr_read(struct lapic *l, uint32_t msr, uint64_t *val)
{
    uint32_t v32;
    int rc = 0;
    uint64_t f = dev_lock();
    if (msr == MSR_APIC_BASE) {
        *val = l->s.apic_base;
    } else if (msr == MSR_TSC_DEADLINE) {
        *val = TIMER_MODE(l) == 2 ? l->s.tsc_deadline : 0;
    } else if (msr >= 0x800 && msr <= 0x8ff) {
        if (!x2(l) || msr == 0x831 || msr == 0x80b || msr == 0x83f) {
            rc = -EINVAL;                          /* ICR2, EOI and SELF IPI are not readable */
        } else if (msr == 0x830) {
            *val = l->s.icr_lo | ((uint64_t)l->s.icr_hi << 32);
        } else if ((rc = reg_read(l, (msr - 0x800) << 4, &v32)) == 0) {
            *val = v32;
        }
    } else {
        rc = -ENOENT;
    }
    dev_unlock(f);
    return rc;
}

int lapic_msr_write(struct lapic *l, uint32_t msr, uint64_t val)
{
    int rc = 0;
    uint64_t f = dev_lock();
    if (msr == MSR_APIC_BASE) {
        rc = set_base(l, val);
    } else if (msr == MSR_TSC_DEADLINE) {
        if (TIMER_MODE(l) == 2) {
            l->s.tsc_deadline = val;
            timer_program(l);
        }
    } else if (msr >= 0x800 && msr <= 0x8ff) {
        if (!x2(l) || msr == 0x831 || (val >> 32 && msr != 0x830)) {
            rc = -EINVAL;
        } else if (msr == 0x830) {
            l->s.icr_hi = (uint32_t)(val >> 32);
            rc = reg_write(l, 0x300, (uint32_t)val);
        } else {
            rc = reg_write(l, (msr - 0x800) << 4, (uint32_t)val);
        }
    } else {
        rc = -ENOENT;
    }
    dev_unlock(f);
    return rc;
}

/* Does l accept a message for dest (SDM 3A 11.6.2)? */
static int lapic_match(const struct lapic *l, const struct apic_msg *m)
{
    if (!m->logical) {
        if (m->x2 || x2(l))
            return m->dest == l->s.id || m->dest == (m->x2 ? 0xffffffffu : 0xffu);
        return (m->dest & 0xff) == l->s.id || (m->dest & 0xff) == 0xff;
    }
    if (x2(l)) {
        if (m->dest == 0xffffffffu || (!m->x2 && m->dest == 0xff))
            return 1;
        return (m->dest >> 16) == (l->s.ldr >> 16) && (m->dest & l->s.ldr & 0xffff);
    }
    if ((m->dest & 0xff) == 0xff)
        return 1;
    if ((l->s.dfr >> 28) == 0xf)                  /* flat model */
        return (m->dest & (l->s.ldr >> 24)) != 0;
    return ((m->dest >> 4) & 0xf) == (l->s.ldr >> 28) && (m->dest & (l->s.ldr >> 24) & 0xf);
}

static void lapic_take(struct lapic *l, const struct apic_msg *m)
{
    switch (m->mode) {
    case DM_FIXED: case DM_LOWEST: lapic_set_irr(l, m->vector, m->level_trig); break;
    case DM_INIT:
        lapic_reset(l);
        vcpu_init_signal(l->v);
        break;
    case DM_SIPI: vcpu_sipi(l->v, m->vector); break;
    case DM_EXTINT: vcpu_kick(l->v); break;   /* the PIC's vector is fetched by pending() */
    default: break;                             /* SMI and NMI are not modelled */
    }
}

void lapic_send(struct vm *vm, const struct apic_msg *m, struct lapic *self)
{
    struct lapic *best = NULL;
    (void)self;
    for (int i = 0; i < vm->nvcpus; i++) {
        struct lapic *l = vm->vcpu[i]->lapic;
        if (!l || !lapic_match(l, m))
            continue;
        if (m->mode != DM_LOWEST) {
            lapic_take(l, m);
        } else if (!best || (l->s.tpr & 0xf0) < (best->s.tpr & 0xf0)) {
            best = l;                               /* lowest priority: the lowest TPR wins */
        }
    }
    if (best)
        lapic_take(best, m);
}

int lapic_pending(struct lapic *l)
{
    int v = highest(l->s.irr);
    if (v < 0 || (uint32_t)(v & 0xf0) <= (ppr(l) & 0xf0))
        return -1;
    return v;
}

void lapic_accept(struct lapic *l, int vector)
{
    bit_clr(l->s.irr, vector);
    bit_set(l->s.isr, vector);
}

int lapic_takes_extint(const struct lapic *l)
{
    uint32_t lint0 = l->s.lvt[LVT_LINT0];
    if (!enabled(l))
        return l->s.apic_base & BASE_BSP ? 1 : 0;  /* a disabled APIC passes INTR straight through */
    return !(lint0 & LVT_MASKED) && ((lint0 >> 8) & 7) == DM_EXTINT;
}

void lapic_snapshot(struct lapic_state *st, struct snap *s)
{
    snap_header(s, SNAP_TAG_LAPIC, LAPIC_STATE_VERSION);
    SNAP(s, *st);
}

void lapic_record(struct lapic *l, struct snap *s)
{
    struct lapic_state st = l->s;
    uint64_t now = time_ns();
    uint8_t armed = (uint8_t)(l->timer.armed || l->restored_armed);   /* restored, not yet re-armed: as saved */
    st.timer_start = now - st.timer_start;
    lapic_snapshot(&st, s);
    SNAP(s, armed);
    if (s->save || s->err)
        return;
    if (armed > 1)
        snap_fail(s, "LAPIC timer flag out of range");
    st.timer_start = now - st.timer_start;
    l->s = st;
    l->restored_armed = armed;
}

/* A timer that was not armed when saved (a one-shot that fired, none programmed) stays quiet. */
void lapic_post_restore(struct lapic *l)
{
    uint64_t f = dev_lock();
    if (l->restored_armed)
        timer_program(l);
    l->restored_armed = 0;
    dev_unlock(f);
}

void lapic_stop(struct lapic *l)
{
    timer_cancel(&l->timer);
}
