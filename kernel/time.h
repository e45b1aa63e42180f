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
};

/* Arm t to call fn(t, arg) once, ns from now. Re-arming an armed timer moves it. */
void timer_arm(struct timer *t, uint64_t ns, void (*fn)(struct timer *, void *), void *arg);
/* Disarm t; harmless when it is not armed. */
void timer_cancel(struct timer *t);
/* Run every expired timer; called from the timer interrupt and from the idle loop. */
void timer_run_expired(void);
/* Provided by the architecture: interrupt in about ns (it may fire earlier; never much later). */
void arch_timer_program(uint64_t ns);
#endif
