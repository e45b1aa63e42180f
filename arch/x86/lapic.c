/* Local APIC: xAPIC registers, spurious vector, timer calibrated against the TSC (SDM 3A 11.5.4). */
#include "arch/x86/lapic.h"
#include "arch/x86/cpu.h"
#include "arch/x86/traps.h"
#include "arch/x86/tsc.h"
#include "arch/x86/smp.h"
#include "kernel/time.h"
#include "kernel/log.h"
#include "kernel/biglock.h"

#define LAPIC_ID      0x020
#define LAPIC_EOI     0x0B0
#define LAPIC_SVR     0x0F0
#define LAPIC_LVT_TMR 0x320
#define LAPIC_TMR_ICR 0x380
#define LAPIC_TMR_CCR 0x390
#define LAPIC_TMR_DCR 0x3E0
#define LAPIC_ICR_LO  0x300
#define LAPIC_ICR_HI  0x310
#define ICR_PENDING   (1u << 12)      /* delivery status: send pending (SDM 3A 11.6.1) */
#define ICR_INIT      0x00004500u     /* INIT, level assert */
#define ICR_STARTUP   0x00004600u     /* start-up, vector = page number of the entry */
#define ICR_FIXED     0x00004000u     /* fixed delivery, level assert */
#define LVT_MASKED    (1u << 16)
#define TICK_NS       10000000ull     /* longest sleep between timer interrupts: 10 ms */

static volatile uint32_t *lapic;
static uint64_t timer_hz;
static uint64_t ticks;

static uint32_t rd(uint32_t reg) { return lapic[reg / 4]; }
static void wr(uint32_t reg, uint32_t v) { lapic[reg / 4] = v; }

void lapic_eoi(void)
{
    if (lapic)
        wr(LAPIC_EOI, 0);
}

uint32_t lapic_id(void)
{
    return lapic ? rd(LAPIC_ID) >> 24 : 0;
}

uint64_t lapic_timer_hz(void) { return timer_hz; }
uint64_t lapic_timer_ticks(void) { return ticks; }

static void pic_disable(void)
{
    /* Remap the 8259s to 0x20-0x2F (away from exceptions), then mask every line. */
    static const uint8_t seq[] = { 0x11, 0x20, 0x04, 0x01 }, seq2[] = { 0x11, 0x28, 0x02, 0x01 };
    outb(0x20, seq[0]); outb(0xA0, seq2[0]);
    outb(0x21, seq[1]); outb(0xA1, seq2[1]);
    outb(0x21, seq[2]); outb(0xA1, seq2[2]);
    outb(0x21, seq[3]); outb(0xA1, seq2[3]);
    outb(0x21, 0xff);
    outb(0xA1, 0xff);
}

_Static_assert(TIMER_CPUS == SMP_MAX_CPUS, "one timer list per CPU");

int arch_timer_cpu(void)
{
    return smp_this_cpu();
}

/*
 * Fire once on the calling CPU after ns (clamped to one tick): the interrupt runs that CPU's expired timers
 * and re-arms. Every CPU's LAPIC timer is one-shot on VEC_LAPIC_TIMER with the boot CPU's calibration (one
 * bus clock for all: SDM 3A 11.5.4); at most TICK_NS apart, its interrupts also end a guest's slice there.
 */
void arch_timer_program(uint64_t ns)
{
    uint64_t count;
    if (!timer_hz)
        return;
    if (ns > TICK_NS)
        ns = TICK_NS;
    count = ns * timer_hz / 1000000000ull;
    wr(LAPIC_TMR_ICR, count ? (uint32_t)count : 1);
}

static void timer_irq(struct trap_frame *tf)
{
    (void)tf;
    __atomic_add_fetch(&ticks, 1, __ATOMIC_RELAXED);
    big_lock();                        /* timer callbacks touch device and VM state */
    timer_run_expired();
    big_unlock();
}

static void spurious_irq(struct trap_frame *tf)
{
    (void)tf;
}

void lapic_init(void)
{
    uint64_t t0, c0;
    lapic = (volatile uint32_t *)(uintptr_t)(rdmsr(MSR_APIC_BASE) & ~0xfffull);
    wrmsr(MSR_APIC_BASE, rdmsr(MSR_APIC_BASE) | (1u << 11));   /* global enable */
    pic_disable();
    irq_register(VEC_SPURIOUS, spurious_irq);
    irq_register(VEC_LAPIC_TIMER, timer_irq);
    wr(LAPIC_SVR, 0x100 | VEC_SPURIOUS);                        /* software enable */
    wr(LAPIC_TMR_DCR, 0x3);                                     /* divide by 16 */
    wr(LAPIC_LVT_TMR, LVT_MASKED | VEC_LAPIC_TIMER);
    /* Count down for 10 ms of TSC time. */
    wr(LAPIC_TMR_ICR, 0xffffffffu);
    c0 = rd(LAPIC_TMR_CCR);
    t0 = time_ns();
    while (time_ns() - t0 < 10000000ull)
        cpu_pause();
    timer_hz = (uint64_t)(c0 - rd(LAPIC_TMR_CCR)) * 1000000000ull / (time_ns() - t0);
    wr(LAPIC_TMR_ICR, 0);
    wr(LAPIC_LVT_TMR, VEC_LAPIC_TIMER);                         /* one-shot, unmasked */
    log_info("lapic: id %u, timer %llu kHz (divide 16)", lapic_id(), (unsigned long long)(timer_hz / 1000));
    arch_timer_program(TICK_NS);
}

/* Wait for the previous IPI to leave (bounded: 100 ms; a stuck ICR is reported by the caller's timeout). */
static void icr_wait(void)
{
    uint64_t t0 = time_ns();
    while ((rd(LAPIC_ICR_LO) & ICR_PENDING) && time_ns() - t0 < 100000000ull)
        cpu_pause();
}

static void send_icr(uint32_t apic_id, uint32_t lo)
{
    uint64_t f = irq_save();
    icr_wait();
    wr(LAPIC_ICR_HI, apic_id << 24);
    wr(LAPIC_ICR_LO, lo);
    icr_wait();
    irq_restore(f);
}

void lapic_send_init(uint32_t apic_id) { send_icr(apic_id, ICR_INIT); }
void lapic_send_sipi(uint32_t apic_id, uint8_t page) { send_icr(apic_id, ICR_STARTUP | page); }
void lapic_send_ipi(uint32_t apic_id, uint8_t vector) { send_icr(apic_id, ICR_FIXED | vector); }

void lapic_ap_init(void)
{
    wrmsr(MSR_APIC_BASE, rdmsr(MSR_APIC_BASE) | (1u << 11));
    wr(LAPIC_SVR, 0x100 | VEC_SPURIOUS);
    wr(LAPIC_TMR_DCR, 0x3);                                     /* divide by 16, as the boot CPU's */
    wr(LAPIC_LVT_TMR, VEC_LAPIC_TIMER);                         /* one-shot, unmasked */
    wr(LAPIC_EOI, 0);
    arch_timer_program(TICK_NS);
}
