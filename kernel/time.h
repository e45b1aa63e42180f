/* Monotonic time and one-shot timers. */
#ifndef SHOAL_TIME_H
#define SHOAL_TIME_H
#include <stdint.h>

/* Nanoseconds since the TSC was calibrated (0 before that). */
uint64_t time_ns(void);
/* Busy-wait for ns nanoseconds (needs a calibrated clock). */
void time_delay_ns(uint64_t ns);

struct timer {
    uint64_t deadline;                       /* time_ns() at which fn runs */
    void (*fn)(struct timer *t, void *arg);  /* runs with interrupts off: keep it short */
    void *arg;
    struct timer *next;
    int armed;
    int cpu;                                 /* the CPU whose list holds it (kernel/timer.c) */
};

#define TIMER_CPUS 128                       /* one list per CPU: SMP_MAX_CPUS (arch/x86/smp.h) */

/* Arm t to call fn(t, arg) once, ns from now, on the calling CPU (its timer interrupt runs it). Re-arming an
 * armed timer moves it, to this CPU's list. Callers hold the big lock. */
void timer_arm(struct timer *t, uint64_t ns, void (*fn)(struct timer *, void *), void *arg);
/* Disarm t, on whichever CPU's list it is; harmless when it is not armed. */
void timer_cancel(struct timer *t);
/* Run every expired timer of the calling CPU's list; called from its timer interrupt. */
void timer_run_expired(void);
/* Provided by the architecture: interrupt the calling CPU in about ns (it may fire earlier; never much later). */
void arch_timer_program(uint64_t ns);
#ifdef SHOAL_HOST
static inline int arch_timer_cpu(void) { return 0; }
#else
/* Provided by the architecture: the calling CPU's index (0 for the boot CPU). */
int arch_timer_cpu(void);
#endif
#endif
