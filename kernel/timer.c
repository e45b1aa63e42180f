/* One-shot timers: a deadline-sorted list, run from the timer interrupt. */
#include "kernel/time.h"

static struct timer *head;

static uint64_t irq_off(void)
{
    uint64_t f = 0;
#ifndef SHOAL_HOST
    __asm__ volatile("pushfq; pop %0; cli" : "=r"(f) : : "memory");
#endif
    return f;
}

static void irq_back(uint64_t f)
{
#ifndef SHOAL_HOST
    if (f & (1u << 9))
        __asm__ volatile("sti" ::: "memory");
#endif
    (void)f;
}

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
    uint64_t f = irq_off();
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
    irq_back(f);
}

void timer_cancel(struct timer *t)
{
    uint64_t f = irq_off();
    if (t->armed)
        unlink_timer(t);
    irq_back(f);
}

void timer_run_expired(void)
{
    uint64_t f = irq_off(), now = time_ns();
    while (head && head->deadline <= now) {
        struct timer *t = head;
        head = t->next;
        t->armed = 0;
        t->fn(t, t->arg);
        now = time_ns();
    }
    arch_timer_program(head ? head->deadline - now : ~0ull);
    irq_back(f);
}
