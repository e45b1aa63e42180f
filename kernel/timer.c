/* One-shot timers: a deadline-sorted list, run from the timer interrupt. */
#include "kernel/time.h"
#include "kernel/irqlock.h"

static struct timer *head;

static void unlink_timer(struct timer *t)
{
    for (struct timer **pp = &head; *pp; pp = &(*pp)->next)
        if (*pp == t) {
            *pp = t->next;
            break;
        }
    t->armed = 0;
}

void timer_arm(struct timer *t, uint64_t ns, void (*fn)(struct timer *, void *), void *arg)
{
    uint64_t f = irq_lock();
    struct timer **pp = &head;
    if (t->armed)
        unlink_timer(t);
    t->deadline = time_ns() + ns;
    t->fn = fn;
    t->arg = arg;
    while (*pp && (*pp)->deadline <= t->deadline)
        pp = &(*pp)->next;
    t->next = *pp;
    *pp = t;
    t->armed = 1;
    if (head == t)
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
    while (head && head->deadline <= now) {
        struct timer *t = head;
        head = t->next;
        t->armed = 0;
        t->fn(t, t->arg);
        now = time_ns();
    }
    arch_timer_program(head ? head->deadline - now : ~0ull);
    irq_unlock(f);
}
