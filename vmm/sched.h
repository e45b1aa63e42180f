/* The vCPU scheduler: per CPU, the runnable vCPUs placed there, least time used first, one slice each. */
#ifndef SHOAL_VMM_SCHED_H
#define SHOAL_VMM_SCHED_H
#include <stdint.h>

struct vm;

#define SCHED_SLICE_NS 10000000ull

/*
 * Hold vm's vCPUs off the CPU for pct percent of the time (0: not at all, at most 99): after each slice a
 * vCPU rests (pct / (100 - pct)) times as long as it ran. Its timers keep wall time, so the guest runs
 * slower, not stopped. Migration's auto-converge uses it to slow a guest that dirties memory faster
 * than the link carries it, as QEMU's cpu-throttle does.
 */
void sched_throttle(struct vm *vm, unsigned pct);

struct vcpu;

/*
 * Moving vCPUs between CPUs (vmm/balance.c). A vCPU's hardware state lives on its CPU (v->home): a move is
 * asked for (sched_move) and done by that CPU once the vCPU is between slices (sched_hand_over: VMCLEAR on
 * Intel, x87/SSE state to memory), then the new CPU is kicked; its first entry there flushes what that CPU
 * may still cache of the vCPU (the backends). Unpinned vCPUs (no cpus=) are spread by the balancer; the
 * stress mode (`sched stress on`) moves each unpinned vCPU on after every slice.
 */
/* Ask v's CPU to hand v to cpu (nothing when cpu is v's own or not usable). */
void sched_move(struct vcpu *v, int cpu);
/* On cpu, under the big lock: hand over every vCPU of cpu that is asked to move. */
void sched_hand_over(int cpu);
/* On cpu, after v's slice there: where the stress mode sends it next. */
void sched_after_slice(struct vcpu *v, int cpu);
/* On the boot CPU, often: every 50 ms, move an unpinned runnable vCPU from the busiest CPU to the idlest
 * when they differ by 2 runnable vCPUs or more. */
void sched_balance(void);
/* The stress mode and the balancer on (1) or off (0); `sched stress|balance on|off`. */
void sched_set_stress(int on);
void sched_set_balance(int on);
/* A vCPU woken from HLT, by another CPU or (local) by cpu itself, entered on cpu ns after the wake-up (for
 * `sched`). */
void sched_note_wake(int cpu, uint64_t ns, int local);

/*
 * Asked by v's slice after each exit: 1 (and counted) when v runs on the boot CPU and work waits for its
 * poll loop (shell_io_waiting): work another CPU handed over (virtio notifications), or a frame from the
 * host NIC while a vCPU there is halted or v runs alone; the slice ends there. Else 0 (also for a frame
 * when only busy vCPUs share the CPU).
 */
int sched_io_yield(const struct vcpu *v);
/* Slices ended that way since boot (for `sched`). */
uint64_t sched_io_yields(void);

/*
 * Wake-up preemption. An event (an interrupt, an IPI, a SIPI), raised on any CPU, woke v from HLT (or its
 * wait for a SIPI), maybe while another vCPU's slice runs on v's CPU (vcpu_kick, vcpu_raise_irq, vcpu_sipi;
 * from another CPU the kick makes that slice exit): noted here, for that slice's next exit. Events for a
 * vCPU that was runnable anyway are not noted: busy vCPUs keep their whole slices. A host interrupt alone
 * does not end a slice (vmm/exit.c).
 */
void sched_note_woken(const struct vcpu *v);
/*
 * Asked by v's slice after each exit, ran_ns into it: 1 (and counted) when a vCPU noted by sched_note_woken
 * since the slice began is still runnable there and has used at least SCHED_WAKE_GRAN_NS less time than v
 * (with this slice so far): the slice ends and the scheduler runs the one that used least, so a sleeper
 * woken by its timer, a disk completion or a sibling's IPI need not wait out a neighbour's slice. Else 0.
 */
#define SCHED_WAKE_GRAN_NS 1000000ull
int sched_wake_preempt(const struct vcpu *v, uint64_t ran_ns);
/* Slices ended that way since boot (for `sched`). */
uint64_t sched_wake_preempts(void);

/* On the boot CPU: run the next runnable vCPU placed on it for one slice. 1 if one ran, 0 when none could. */
int sched_poll(void);
/* The same on CPU cpu (an AP's work, under the big lock; the slice lets it go while the guest runs). */
int sched_run_cpu(int cpu);
#endif
