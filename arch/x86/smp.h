/* The machine's CPUs: application processor bring-up, the per-CPU table, cross-CPU calls by IPI. */
#ifndef SHOAL_ARCH_SMP_H
#define SHOAL_ARCH_SMP_H
#include <stdint.h>
#include "arch/x86/smpcall.h"

#define SMP_MAX_CPUS 128

/*
 * How it runs: the boot CPU (index 0) starts every CPU the ACPI MADT lists as enabled, one at a time
 * (INIT, SIPI, SIPI through the trampoline boot/ap.S), up to maxcpus=. Each AP loads its own GDT and TSS
 * (IST stacks), the shared IDT, enables its local APIC and the virtualization extension, says it is online,
 * then sleeps in HLT and wakes for IPIs: smp_call runs a function there. A CPU that does not come up in
 * time is reported and left out (sent INIT again so that it cannot run the trampoline later).
 * The shell and the I/O context run on the boot CPU; vCPUs run where they were placed (smp_set_work: the
 * scheduler's per-CPU half), each AP ticking every 10 ms so that a guest that never exits still yields.
 */
enum cpu_state {
    CPU_ONLINE,
    CPU_NOT_PRESENT,      /* the MADT lists it disabled (a hot-plug slot) */
    CPU_LEFT_OUT,         /* past maxcpus= */
    CPU_FAILED,           /* did not answer its startup IPIs in time */
    CPU_UNSUPPORTED,      /* an x2APIC ID above 254: xAPIC IPIs cannot reach it */
};

struct cpu_tables;

struct cpu {
    int index;                        /* 0: the boot CPU */
    uint32_t apic_id;
    enum cpu_state state;
    int hvm_rc;                       /* its virtualization extension: 0 on, else negative errno */
    uint64_t stack_base, stack_top;   /* its stack [base, top), painted for the high-water mark */
    struct cpu_tables *tables;        /* its GDT, TSS and IST stacks (arch/x86/gdt.c) */
    uint64_t online_ns;               /* time_ns() when it came up */
    volatile int up;                  /* set by the AP itself */
    volatile uint64_t idle_ns;        /* time spent halted */
    volatile uint64_t wakeups;
    struct smp_mailbox call;          /* smp_call's (arch/x86/smpcall.h) */
    volatile int kicked;              /* a kick arrived since it last looked for work */
};

/* Start every CPU the MADT lists (boot CPU: after lapic_init and hvm_init). Returns CPUs online. */
int smp_init(void);
/* The most bytes of CPU i's stack ever used since smp_init (its size in *size), 0 for a CPU not started. */
uint64_t smp_stack_used(int i, uint64_t *size);
/* Stop the calling CPU with a panic if its stack ever reached its bottom (memory below may be damaged). */
void smp_stack_check(void);
/* Online CPUs (1 before smp_init). */
int smp_online(void);
/* The i-th entry of the CPU table (i < smp_listed()), or NULL. */
const struct cpu *smp_cpu(int i);
/* Entries in the CPU table: the boot CPU and every CPU the MADT listed. */
int smp_listed(void);
/* The calling CPU's index (kept in its GDT: gdt_cpu_index; 0 before smp_init). */
int smp_this_cpu(void);
/*
 * Run fn(arg) on online CPU i (at once when i is the caller) and wait for it to finish. 0; -ENODEV for a CPU
 * that is not online; -ETIMEDOUT when that CPU did not take the call within timeout_ns, which is then
 * withdrawn: fn never runs after smp_call returned, so arg may be on the caller's stack. A call the CPU took
 * is waited for to its end (fn must be short).
 */
int smp_call(int i, void (*fn)(void *arg), void *arg, uint64_t timeout_ns);
/* Make CPU i look for work now: an IPI that makes a guest running there exit, or wakes it from HLT. Nothing
 * for the calling CPU itself or a CPU that is not online. */
void smp_kick(int i);
/* What every application processor does when woken: fn(cpu) runs under the big lock and returns nonzero
 * while it found work (a vCPU slice); 0 lets the CPU halt until the next kick or tick. */
void smp_set_work(int (*fn)(int cpu));
/* Who reports, for `cpus`, how many vCPUs are placed on a CPU and the exits per second they cause there
 * (the scheduler: arch/ knows no VMs). */
void smp_set_load_fn(void (*fn)(int cpu, int *vcpus, uint64_t *exits_per_sec));
/* That report for CPU i: 0 and 0 before a reporter is set. */
void smp_load(int i, int *vcpus, uint64_t *exits_per_sec);
/* One line for `info`: "N online of M listed" and what was left out. */
void smp_describe(char *buf, int size);
#endif
