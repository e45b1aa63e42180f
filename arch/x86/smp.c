/* Application processor bring-up (SDM 3A 9.4 INIT-SIPI-SIPI) and the per-CPU table; see smp.h. */
#include "arch/x86/smp.h"
#include "arch/x86/cpu.h"
#include "arch/x86/lapic.h"
#include "arch/x86/traps.h"
#include "arch/x86/hvm.h"
#include "arch/x86/stackmark.h"
#include "drivers/acpi.h"
#include "kernel/kernel.h"
#include "kernel/bootinfo.h"
#include "kernel/pmm.h"
#include "kernel/kstring.h"
#include "kernel/printf.h"
#include "kernel/errno.h"
#include "kernel/log.h"
#include "kernel/time.h"
#include "kernel/param.h"
#include "kernel/biglock.h"

#define AP_STACK_PAGES   8               /* 32 KiB, as the boot CPU's */
#define BOOT_STACK_SIZE  32768           /* boot/entry.S */
#define AP_UP_WAIT_NS    2000000000ull   /* emulated CPUs on a busy host start slowly: generous */
#define EFER_KEEP        (EFER_SCE | EFER_LME | EFER_NXE)

/* The trampoline (boot/ap.S) and its parameter block, filled before each start-up IPI. */
extern const char ap_tramp_start[], ap_tramp_end[], ap_tramp_params[], ap_tramp_gdt_ptr[], ap_tramp_gdt[];
extern const char ap_tramp_pm32[], ap_tramp_lm64[];
struct ap_params {
    uint32_t far32_off, far32_sel;
    uint32_t far64_off, far64_sel;
    uint64_t cr3, efer, stack, arg, entry;
};

static struct cpu cpus[SMP_MAX_CPUS];
static int nlisted = 1, nonline = 1;
static int max_cpus = SMP_MAX_CPUS;
static uint64_t tramp_pa;
static int (*ap_work)(int cpu);
static void (*load_fn)(int cpu, int *vcpus, uint64_t *exits_per_sec);

void smp_set_load_fn(void (*fn)(int cpu, int *vcpus, uint64_t *exits_per_sec))
{
    load_fn = fn;
}

void smp_load(int i, int *vcpus, uint64_t *exits_per_sec)
{
    *vcpus = 0;
    *exits_per_sec = 0;
    if (load_fn)
        load_fn(i, vcpus, exits_per_sec);
}

void smp_set_work(int (*fn)(int cpu))
{
    ap_work = fn;
}

void smp_kick(int i)
{
    if (i < 0 || i >= nlisted || cpus[i].state != CPU_ONLINE || i == smp_this_cpu())
        return;
    lapic_send_ipi(cpus[i].apic_id, VEC_KICK);
}

static void kick_irq(struct trap_frame *tf)
{
    (void)tf;
    cpus[smp_this_cpu()].kicked = 1;
}

static int set_maxcpus(const char *v)
{
    uint64_t n;
    if (kstrtou64(v, &n, 0) || n < 1 || n > SMP_MAX_CPUS)
        return -EINVAL;
    max_cpus = (int)n;
    return 0;
}
BOOT_PARAM("maxcpus", "start at most N CPUs, the boot CPU included (1: the boot CPU alone)", set_maxcpus);

int smp_online(void) { return nonline; }
int smp_listed(void) { return nlisted; }
const struct cpu *smp_cpu(int i) { return i >= 0 && i < nlisted ? &cpus[i] : NULL; }

int smp_this_cpu(void)
{
    int i = gdt_cpu_index();
    return i > 0 && i < nlisted ? i : 0;
}

/* An IPI with VEC_SMP_CALL: run the call in the mailbox, if the caller has not withdrawn it, then say done. */
static void call_irq(struct trap_frame *tf)
{
    struct cpu *c = &cpus[smp_this_cpu()];
    void *arg;
    void (*fn)(void *) = mailbox_take(&c->call, &arg);
    (void)tf;
    if (!fn)
        return;
    fn(arg);
    mailbox_done(&c->call);
}

/* smp_call's deadline: the time_ns() past which it gives up. */
static int call_expired(void *deadline)
{
    return time_ns() > *(uint64_t *)deadline;
}

int smp_call(int i, void (*fn)(void *arg), void *arg, uint64_t timeout_ns)
{
    struct cpu *c;
    uint64_t deadline;
    int depth, rc;
    if (i < 0 || i >= nlisted || cpus[i].state != CPU_ONLINE)
        return -ENODEV;
    if (i == smp_this_cpu()) {
        fn(arg);
        return 0;
    }
    c = &cpus[i];
    mailbox_post(&c->call, fn, arg);
    depth = big_unlock_all();                  /* it may be waiting for the lock, interrupts off */
    lapic_send_ipi(c->apic_id, VEC_SMP_CALL);
    deadline = time_ns() + timeout_ns;
    rc = mailbox_wait(&c->call, call_expired, &deadline) ? -ETIMEDOUT : 0;
    big_relock(depth);
    return rc;
}

/* An AP's life after the trampoline: its tables, LAPIC and extension, then sleep until an IPI. */
static void ap_main(struct cpu *c) __attribute__((noreturn));
static void ap_main(struct cpu *c)
{
    gdt_load(c->tables);
    idt_load();
    lapic_ap_init();
    c->hvm_rc = hvm_cpu_start(c->index);
    c->online_ns = time_ns();
    __atomic_store_n(&c->up, 1, __ATOMIC_RELEASE);
    for (;;) {
        uint64_t t0;
        int busy = 0;
        c->kicked = 0;
        if (ap_work) {
            irq_enable();                /* kicks and ticks reach a guest this CPU runs */
            big_lock();
            busy = ap_work(c->index);
            big_unlock();
            irq_disable();
        }
        if (busy || c->kicked)
            continue;
        t0 = time_ns();
        __asm__ volatile("sti; hlt; cli" ::: "memory");   /* IPI handlers run at the HLT */
        c->idle_ns += time_ns() - t0;
        c->wakeups++;
    }
}

/* Whether [pa, pa + 4 KiB) holds the boot information or a module (the loader may put them low). */
static int loader_data(uint64_t pa)
{
    if (pa < boot_info.info_end && boot_info.info_start < pa + PAGE_SIZE)
        return 1;
    for (int m = 0; m < boot_info.nmod; m++)
        if (pa < boot_info.mod[m].end && boot_info.mod[m].start < pa + PAGE_SIZE)
            return 1;
    return 0;
}

/* A free page below 1 MiB (not page 0: the real-mode IVT and BIOS data) for the trampoline. */
static uint64_t find_tramp_page(void)
{
    for (int i = 0; i < boot_info.nmem; i++) {
        const struct mem_range *r = &boot_info.mem[i];
        uint64_t pa = (r->base + PAGE_SIZE - 1) & ~(uint64_t)(PAGE_SIZE - 1);
        if (r->type != MEM_AVAILABLE)
            continue;
        if (pa < PAGE_SIZE)
            pa = PAGE_SIZE;
        for (; pa + PAGE_SIZE <= r->base + r->len && pa + PAGE_SIZE <= 0x9F000; pa += PAGE_SIZE)
            if (!loader_data(pa))
                return pa;
    }
    return 0;
}

static void tramp_install(void)
{
    size_t len = (size_t)(ap_tramp_end - ap_tramp_start);
    uint8_t *page = (uint8_t *)(uintptr_t)tramp_pa;
    uint32_t base = (uint32_t)tramp_pa;
    memcpy(page, ap_tramp_start, len);
    /* The GDT pointer's base (after its 2-byte limit) and the two far jumps hold linear addresses. */
    uint32_t gdt = base + (uint32_t)(ap_tramp_gdt - ap_tramp_start);
    memcpy(page + (ap_tramp_gdt_ptr - ap_tramp_start) + 2, &gdt, sizeof(gdt));
}

static struct ap_params *tramp_params(void)
{
    return (struct ap_params *)(uintptr_t)(tramp_pa + (uint64_t)(ap_tramp_params - ap_tramp_start));
}

/* The AP's stacks, tables and backend areas, allocated here on the boot CPU. */
static int ap_prepare(struct cpu *c)
{
    uint64_t stack = pmm_alloc(AP_STACK_PAGES, 1);
    struct ap_params *p = tramp_params();
    int rc = hvm_cpu_prepare(c->index);
    if (!stack || !(c->tables = gdt_tables_alloc(c->index)) || rc)
        return rc ? rc : -ENOMEM;
    c->stack_base = stack;
    c->stack_top = stack + AP_STACK_PAGES * PAGE_SIZE;
    stack_mark_paint(c->stack_base, c->stack_top);
    p->far32_off = (uint32_t)tramp_pa + (uint32_t)(ap_tramp_pm32 - ap_tramp_start);
    p->far32_sel = 0x08;
    p->far64_off = (uint32_t)tramp_pa + (uint32_t)(ap_tramp_lm64 - ap_tramp_start);
    p->far64_sel = 0x18;
    p->cr3 = read_cr3();
    p->efer = rdmsr(MSR_EFER) & EFER_KEEP;
    p->stack = c->stack_top;
    p->arg = (uint64_t)(uintptr_t)c;
    p->entry = (uint64_t)(uintptr_t)ap_main;
    return 0;
}

static int wait_up(struct cpu *c, uint64_t ns)
{
    for (uint64_t t0 = time_ns(); time_ns() - t0 < ns; cpu_pause())
        if (__atomic_load_n(&c->up, __ATOMIC_ACQUIRE))
            return 1;
    return 0;
}

/* INIT, 10 ms, SIPI, 200 us, a second SIPI if it is not up yet (SDM 3A 9.4.4.1). */
static void ap_start(struct cpu *c)
{
    uint8_t vector = (uint8_t)(tramp_pa >> 12);
    int rc = ap_prepare(c);
    if (rc) {
        c->state = CPU_FAILED;
        log_warn("smp: cpu %d (apic id %u): no memory for its stacks (%d): left out", c->index, c->apic_id, rc);
        return;
    }
    lapic_send_init(c->apic_id);
    wait_up(c, 10000000ull);
    lapic_send_sipi(c->apic_id, vector);
    if (!wait_up(c, 200000ull))
        lapic_send_sipi(c->apic_id, vector);
    if (!wait_up(c, AP_UP_WAIT_NS)) {
        lapic_send_init(c->apic_id);            /* parked: it must not run the trampoline later */
        c->state = CPU_FAILED;
        log_warn("smp: cpu %d (apic id %u) did not come up: left out", c->index, c->apic_id);
        return;
    }
    c->state = CPU_ONLINE;
    nonline++;
    if (c->hvm_rc)
        log_warn("smp: cpu %d (apic id %u): virtualization not enabled (%d)", c->index, c->apic_id, c->hvm_rc);
}

extern char boot_stack_top[];

/* The boot CPU's stack: painted below what the calls up to here use (a red margin under RSP kept). */
static void boot_stack_mark(struct cpu *c)
{
    uint64_t rsp;
    __asm__ volatile("mov %%rsp, %0" : "=r"(rsp));
    c->stack_top = (uint64_t)(uintptr_t)boot_stack_top;
    c->stack_base = c->stack_top - BOOT_STACK_SIZE;
    stack_mark_paint(c->stack_base, (rsp - 512) & ~7ull);
}

uint64_t smp_stack_used(int i, uint64_t *size)
{
    const struct cpu *c = smp_cpu(i);
    *size = c && c->stack_base ? c->stack_top - c->stack_base : 0;
    return *size ? stack_mark_used(c->stack_base, c->stack_top) : 0;
}

void smp_stack_check(void)
{
    const struct cpu *c = &cpus[smp_this_cpu()];
    if (c->stack_base && stack_mark_check(c->stack_base))
        panic("cpu %d: its stack [%#llx, %#llx) overflowed", c->index, (unsigned long long)c->stack_base,
              (unsigned long long)c->stack_top);
}

/* The table: the boot CPU first, then every other MADT entry in MADT order. */
static void list_cpus(const struct acpi_info *ai)
{
    uint32_t bsp = lapic_id();
    cpus[0] = (struct cpu){ .index = 0, .apic_id = bsp, .state = CPU_ONLINE, .up = 1, .online_ns = time_ns() };
    boot_stack_mark(&cpus[0]);
    for (int i = 0; ai && i < ai->ncpus && nlisted < SMP_MAX_CPUS; i++) {
        const struct acpi_cpu *a = &ai->cpus[i];
        struct cpu *c = &cpus[nlisted];
        if (a->apic_id == bsp)
            continue;
        *c = (struct cpu){ .index = nlisted, .apic_id = a->apic_id, .state = CPU_LEFT_OUT };
        if (!a->enabled)
            c->state = CPU_NOT_PRESENT;
        else if (a->apic_id > 254)
            c->state = CPU_UNSUPPORTED;
        nlisted++;
    }
}

int smp_init(void)
{
    const struct acpi_info *ai = acpi_get();
    list_cpus(ai);
    irq_register(VEC_SMP_CALL, call_irq);
    irq_register(VEC_KICK, kick_irq);
    big_lock_setup();
    if (!ai || ai->ncpus <= 1)
        return nonline;
    if (!(tramp_pa = find_tramp_page())) {
        log_warn("smp: no free page below 1 MiB for the startup code: the boot CPU runs alone");
        return nonline;
    }
    tramp_install();
    for (int i = 1; i < nlisted; i++)
        if (cpus[i].state == CPU_LEFT_OUT && nonline < max_cpus)
            ap_start(&cpus[i]);
    log_info("smp: %d of %d CPUs online%s", nonline, nlisted, nonline < nlisted ? " (see `cpus`)" : "");
    return nonline;
}

void smp_describe(char *buf, int size)
{
    int absent = 0, left = 0, failed = 0;
    for (int i = 0; i < nlisted; i++) {
        absent += cpus[i].state == CPU_NOT_PRESENT;
        left += cpus[i].state == CPU_LEFT_OUT || cpus[i].state == CPU_UNSUPPORTED;
        failed += cpus[i].state == CPU_FAILED;
    }
    ksnprintf(buf, (size_t)size, "%d online of %d listed (%d not present, %d left out by maxcpus=%d, %d failed)",
              nonline, nlisted, absent, left, max_cpus, failed);
}
