/* One-shot timers: a deadline-sorted list per CPU, each run from that CPU's own timer interrupt. */
#include "kernel/time.h"
#include "kernel/irqlock.h"

/*
 * A timer joins the list of the CPU that arms it, and that CPU's timer interrupt runs it: a guest's timer
 * armed while its vCPU's exit is handled on CPU 1 fires on CPU 1, which wakes the vCPU there without an
 * IPI or the boot CPU. Callers hold the big lock (kernel/biglock.h), so any CPU may move or cancel a timer
 * on another's list; the interrupt lock only keeps this CPU's own timer interrupt out of a list it edits.
 */
static struct timer *heads[TIMER_CPUS];

static void unlink_timer(struct timer *t)
{
    for (struct timer **pp = &heads[t->cpu]; *pp; pp = &(*pp)->next)
        if (*pp == t) {
            *pp = t->next;
            break;
        }
    t->armed = 0;
}

/* The calling CPU's list (the first one for a CPU out of range: it still runs, from the boot CPU's). */
static int this_list(void)
{
    int cpu = arch_timer_cpu();
    return cpu >= 0 && cpu < TIMER_CPUS ? cpu : 0;
}

void timer_arm(struct timer *t, uint64_t ns, void (*fn)(struct timer *, void *), void *arg)
{
    uint64_t f = irq_lock();
    int cpu = this_list();
    struct timer **pp = &heads[cpu];
    if (t->armed)
        unlink_timer(t);
    t->deadline = time_ns() + ns;
    t->fn = fn;
    t->arg = arg;
    t->cpu = cpu;
    while (*pp && (*pp)->deadline <= t->deadline)
        pp = &(*pp)->next;
    t->next = *pp;
    *pp = t;
    t->armed = 1;
    if (heads[cpu] == t)
        arch_timer_program(ns);
    irq_unlock(f);
}

void timer_cancel(struct timer *t)
{
    uint64_t f = irq_lock();
    if (t->armed)
        unlink_timer(t);
    irq_unlock(f);
}

void timer_run_expired(void)
{
    uint64_t f = irq_lock(), now = time_ns();
    struct timer **head = &heads[this_list()];
    while (*head && (*head)->deadline <= now) {
        struct timer *t = *head;
        *head = t->next;
        t->armed = 0;
        t->fn(t, t->arg);
        now = time_ns();
    }
    arch_timer_program(*head ? ((*head)->deadline > now ? (*head)->deadline - now : 0) : ~0ull);
    irq_unlock(f);
}
