/* TSC calibration (CPUID 0x15/0x16, else PIT channel 2) and the monotonic clock built on it. */
#include "arch/x86/tsc.h"
#include "arch/x86/cpu.h"
#include "kernel/time.h"
#include "kernel/kstring.h"

#define PIT_HZ 1193182ull

static uint64_t hz, tsc0, mult;   /* ns = ((tsc - tsc0) * mult) >> 32 */
static const char *source = "none";

/* One PIT channel-2 countdown of `count` input ticks with the gate up; returns elapsed TSC ticks. */
static uint64_t pit_measure(uint16_t count)
{
    uint64_t t0, t1;
    uint8_t ctl = (inb(0x61) & ~0x02) | 0x01;    /* speaker off, gate on */
    outb(0x61, ctl & ~0x01);
    outb(0x43, 0xB0);                             /* channel 2, lo/hi byte, mode 0 */
    outb(0x42, count & 0xff);
    outb(0x42, count >> 8);
    outb(0x61, ctl);                              /* rising gate starts the count */
    t0 = rdtsc();
    for (uint32_t spins = 0; !(inb(0x61) & 0x20) && spins < 100000000u; spins++)
        ;
    t1 = rdtsc();
    return t1 - t0;
}

static uint64_t from_cpuid(void)
{
    uint32_t max = cpuid(0, 0).eax;
    if (max >= 0x15) {
        struct cpuid_regs r = cpuid(0x15, 0);
        if (r.eax && r.ebx && r.ecx) {
            source = "cpuid 0x15";
            return (uint64_t)r.ecx * r.ebx / r.eax;
        }
    }
    if (max >= 0x16) {
        struct cpuid_regs r = cpuid(0x16, 0);
        if (r.eax) {
            source = "cpuid 0x16";
            return (uint64_t)r.eax * 1000000ull;
        }
    }
    return 0;
}

static uint64_t from_pit(void)
{
    uint64_t best = ~0ull;
    /* 10 ms, three times: the shortest is the least disturbed (emulators stall at random). */
    for (int i = 0; i < 3; i++) {
        uint64_t d = pit_measure((uint16_t)(PIT_HZ / 100));
        if (d < best)
            best = d;
    }
    return best * PIT_HZ / (PIT_HZ / 100);
}

uint64_t tsc_init(void)
{
    uint64_t stated = from_cpuid(), measured;
    /*
     * CPUID 0x15 states the exact crystal ratio: trust it. CPUID 0x16 is only the nominal base
     * frequency (SDM 2, CPUID leaf 16H), which emulators report without running at it: measure
     * against the PIT and keep the stated rate only when the two agree within 2%.
     */
    if (stated && !strcmp(source, "cpuid 0x15")) {
        hz = stated;
    } else {
        measured = from_pit();
        if (stated && measured && (stated > measured ? stated - measured : measured - stated) < stated / 50) {
            hz = stated;
        } else {
            hz = measured;
            source = "pit";
        }
    }
    if (!hz)
        hz = 1000000000ull;    /* a CPU that counts nothing: keep time_ns() defined */
    mult = (1000000000ull << 32) / hz;
    tsc0 = rdtsc();
    return hz;
}

uint64_t tsc_hz(void) { return hz; }

uint64_t tsc_cycles_to_ns(uint64_t cycles)
{
    return (uint64_t)(((unsigned __int128)cycles * mult) >> 32);
}
const char *tsc_source(void) { return source; }

uint64_t time_ns(void)
{
    if (!mult)
        return 0;
    return (uint64_t)(((unsigned __int128)(rdtsc() - tsc0) * mult) >> 32);
}

void time_delay_ns(uint64_t ns)
{
    uint64_t t0 = time_ns();
    while (time_ns() - t0 < ns)
        cpu_pause();
}
