/* A scripted stand-in for a vendor backend (struct hvm_ops) so the VMM core runs as a host process. */
#ifndef SHOAL_TESTS_HVM_FAKE_H
#define SHOAL_TESTS_HVM_FAKE_H
#include "arch/x86/hvm.h"

#define FAKE_EXITS_MAX  16
#define FAKE_EVENTS_MAX 16

/* One fake vCPU: the state the backend holds, the exits it will report, the events it was handed. */
struct hvm_vcpu {
    struct guest_regs state;                  /* what get_state/set_state move */
    struct vm_exit exits[FAKE_EXITS_MAX];     /* reported one per vcpu_run, in order; then EXIT_NONE */
    int nexits, next_exit;
    struct hvm_event queued;                  /* injected, not yet "delivered" by a vcpu_run */
    int has_queued;
    struct hvm_event delivered[FAKE_EVENTS_MAX];
    int ndelivered;
    int irq_ready;                            /* what irq_ready answers */
    int window;                               /* the last irq_window request */
    int runs;
};

/* The fake backend (installed as `hvm` by hvm_fake.c). */
extern const struct hvm_ops hvm_fake_ops;
/* Queue ex as the next exit v's backend reports. */
void hvm_fake_exit(struct hvm_vcpu *hw, struct vm_exit ex);
/* Called by smp_kick (the fake has one CPU; a test plays the others). */
extern void (*hvm_fake_on_kick)(int cpu);
/* What sched_io_yield answers the run loop after each exit (0 by default: no I/O waits). */
extern int hvm_fake_io_waiting;
/* The last vCPU vcpu.c noted for wake-up preemption (sched_note_woken), and what sched_wake_preempt answers
 * the run loop after each exit (0 by default). */
extern const struct vcpu *hvm_fake_noted;
extern int hvm_fake_preempt;
/* Live fake page allocations (guest RAM): 0 after every VM is destroyed. */
extern long hvm_fake_pages;
#endif
