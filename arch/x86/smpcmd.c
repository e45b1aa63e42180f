/* The `cpus` shell command: every CPU the MADT listed, its state, and a live answer from each online one. */
#include "arch/x86/smp.h"
#include "arch/x86/cpu.h"
#include "arch/x86/lapic.h"
#include "kernel/biglock.h"
#include "kernel/shell.h"
#include "kernel/printf.h"
#include "kernel/time.h"
#include "kernel/errno.h"
#include "kernel/kstring.h"
#include "kernel/ksyms.h"

#define ANSWER_NS  1000000000ull

/* What a CPU says about itself, filled in on that CPU by smp_call. */
struct cpu_answer {
    uint32_t apic_id;
    int index;                 /* smp_this_cpu() there */
    int vmx, svm;
    uint64_t cr0;
};

static void answer(void *arg)
{
    struct cpu_answer *a = arg;
    a->apic_id = lapic_id();
    a->index = smp_this_cpu();
    a->vmx = !!(read_cr4() & CR4_VMXE);
    a->svm = !!(rdmsr(MSR_EFER) & EFER_SVME);
    a->cr0 = read_cr0();
}

static const char *state_name(enum cpu_state s)
{
    switch (s) {
    case CPU_ONLINE: return "online";
    case CPU_NOT_PRESENT: return "not present (MADT: disabled)";
    case CPU_LEFT_OUT: return "left out (maxcpus=)";
    case CPU_FAILED: return "failed to come up";
    case CPU_UNSUPPORTED: return "left out (x2APIC ID above 254)";
    }
    return "?";
}

/* Online CPUs answer an IPI: the APIC ID they read from their own LAPIC, the index they take themselves
 * for (smp_this_cpu), their extension's enable bit and whether their caches are on (CR0.CD and NW clear). */
static void print_online(const struct cpu *c)
{
    struct cpu_answer a = { 0 };
    uint64_t t0 = time_ns(), up = t0 - c->online_ns, eps, size, used = smp_stack_used(c->index, &size);
    int vcpus;
    int rc = smp_call(c->index, answer, &a, ANSWER_NS);
    uint64_t us = (time_ns() - t0) / 1000;
    if (rc) {
        kprintf("cpu %d apic-id %u: online, no answer to an IPI (%d)\n", c->index, c->apic_id, rc);
        return;
    }
    kprintf("cpu %d apic-id %u: online, %s, answered in %llu us (apic-id %u, cpu %d), virtualization %s",
            c->index, c->apic_id, c->index ? "runs the vCPUs placed on it" : "boot CPU: shell, I/O and the vCPUs placed on it",
            (unsigned long long)us, a.apic_id, a.index, a.vmx ? "on (VMX)" : a.svm ? "on (SVM)" : "off");
    if (a.cr0 & (CR0_CD | CR0_NW))
        kprintf(", caches off (CR0 %#llx)", (unsigned long long)a.cr0);
    else
        kprintf(", caches on");
    if (c->index && up)
        kprintf(", idle %llu%%, %llu wakeups", (unsigned long long)(c->idle_ns * 100 / up),
                (unsigned long long)c->wakeups);
    else if (up)
        kprintf(", idle %llu%%", (unsigned long long)(shell_idle_ns() * 100 / time_ns()));
    smp_load(c->index, &vcpus, &eps);
    kprintf(", %d vCPUs, %llu exits/s, stack %llu of %llu KiB used at most\n", vcpus, (unsigned long long)eps,
            (unsigned long long)(used + 1023) / 1024, (unsigned long long)size / 1024);
}

/* "name+0xoff" for a code address, or the address itself. */
static void site_name(uint64_t addr, char *buf, size_t size)
{
    uint64_t off;
    const char *name = addr ? ksyms_lookup(addr, &off) : NULL;
    if (name)
        ksnprintf(buf, size, "%s+0x%llx", name, (unsigned long long)off);
    else
        ksnprintf(buf, size, "%#llx", (unsigned long long)addr);
}

/* The CPU's waits for the big lock and its holds of it: the longest hold names where it began and ended. */
static void print_lock(int cpu)
{
    struct big_lock_stats s;
    char from[64], to[64];
    big_lock_stats(cpu, &s);
    site_name(s.hold_from, from, sizeof(from));
    site_name(s.hold_to, to, sizeof(to));
    kprintf("cpu %d big lock: %llu waits, %llu us on average, longest %llu us; held %llu%% of %llu ms, longest "
            "%llu us (from %s to %s)\n", cpu, (unsigned long long)s.waits,
            (unsigned long long)(s.waits ? s.wait_ns / s.waits / 1000 : 0), (unsigned long long)s.wait_max_ns / 1000,
            (unsigned long long)(s.span_ns ? s.held_ns * 100 / s.span_ns : 0), (unsigned long long)s.span_ns / 1000000,
            (unsigned long long)s.hold_max_ns / 1000, from, to);
}

static int cmd_cpus(int argc, char **argv)
{
    char line[128];
    if (argc == 2 && !strcmp(argv[1], "clear")) {
        big_lock_stats_clear();
        kprintf("cpus: big lock figures cleared\n");
        return 0;
    }
    if (argc > 1)
        return shell_usage("cpus");
    smp_describe(line, sizeof(line));
    kprintf("cpus: %s\n", line);
    kprintf("cpus: %llu waits for the big lock ended in a halt until woken\n", (unsigned long long)big_lock_sleeps());
    for (int i = 0; i < smp_listed(); i++) {
        const struct cpu *c = smp_cpu(i);
        if (c->state == CPU_ONLINE) {
            print_online(c);
            print_lock(i);
        } else
            kprintf("cpu %d apic-id %u: %s\n", c->index, c->apic_id, state_name(c->state));
    }
    return 0;
}
SHELL_COMMAND("cpus", "[clear]", "every CPU: online or why not, its answer to an IPI, its waits for and holds of the "
              "big lock (clear: count those from zero again)", cmd_cpus);
