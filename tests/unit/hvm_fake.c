/* The scripted backend: exits come from a per-vCPU list, injected events are recorded as delivered at the
 * next entry, guest RAM comes from the host heap; plus stand-ins for the FPU and speculation hooks. */
#include "tests/unit/hvm_fake.h"
#include "kernel/pmm.h"
#include "kernel/errno.h"
#include "arch/x86/xstate.h"
#include "arch/x86/spec.h"
#include <stdlib.h>
#include <string.h>

struct hvm_vm { int unused; };
long hvm_fake_pages;

uint64_t pmm_alloc(size_t npages, size_t align_pages)
{
    void *p = aligned_alloc(align_pages * PAGE_SIZE, npages * PAGE_SIZE);
    if (p)
        hvm_fake_pages += (long)npages;
    return (uint64_t)(uintptr_t)p;
}

void pmm_free(uint64_t pa, size_t npages)
{
    hvm_fake_pages -= (long)npages;
    free((void *)(uintptr_t)pa);
}

static int vm_init(struct hvm_vm **out)
{
    *out = calloc(1, sizeof(**out));
    return *out ? 0 : -ENOMEM;
}

static void vm_destroy(struct hvm_vm *vm) { free(vm); }

static int map(struct hvm_vm *vm, uint64_t gpa, uint64_t hpa, uint64_t len, int prot)
{
    (void)vm; (void)gpa; (void)hpa; (void)len; (void)prot;
    return 0;
}

static int vcpu_init(struct hvm_vm *vm, const struct guest_regs *regs, struct hvm_vcpu **out)
{
    (void)vm;
    if (!(*out = calloc(1, sizeof(**out))))
        return -ENOMEM;
    (*out)->state = *regs;
    return 0;
}

static void vcpu_destroy(struct hvm_vcpu *v) { free(v); }
static void vcpu_release(struct hvm_vcpu *v) { (void)v; }

void hvm_fake_exit(struct hvm_vcpu *hw, struct vm_exit ex)
{
    if (hw->nexits < FAKE_EXITS_MAX)
        hw->exits[hw->nexits++] = ex;
}

/* An entry delivers what was queued, then the next scripted exit happens (EXIT_NONE when none is left). */
static int vcpu_run(struct hvm_vcpu *v, struct guest_regs *regs, struct vm_exit *ex, uint64_t slice_ns)
{
    (void)slice_ns;
    memcpy(v->state.gpr, regs->gpr, sizeof(regs->gpr));
    v->state.rip = regs->rip;
    v->state.rflags = regs->rflags;
    v->runs++;
    if (v->has_queued && v->ndelivered < FAKE_EVENTS_MAX)
        v->delivered[v->ndelivered++] = v->queued;
    v->has_queued = 0;
    *ex = v->next_exit < v->nexits ? v->exits[v->next_exit++] : (struct vm_exit){ .code = EXIT_NONE };
    return 0;
}

static void get_state(struct hvm_vcpu *v, struct guest_regs *regs)
{
    uint64_t gpr[GPR_COUNT], rip = regs->rip, rflags = regs->rflags;
    memcpy(gpr, regs->gpr, sizeof(gpr));
    *regs = v->state;
    memcpy(regs->gpr, gpr, sizeof(gpr));                /* GPRs, RIP, RFLAGS: the caller's are current */
    regs->rip = rip;
    regs->rflags = rflags;
}

static void set_state(struct hvm_vcpu *v, const struct guest_regs *regs) { v->state = *regs; }

static int inject_event(struct hvm_vcpu *v, const struct hvm_event *ev)
{
    if (v->has_queued)
        return -EBUSY;
    v->queued = *ev;
    v->has_queued = 1;
    return 0;
}

static int irq_ready(struct hvm_vcpu *v) { return v->irq_ready && !v->has_queued; }
static void irq_window(struct hvm_vcpu *v, int on) { v->window = on; }

const struct hvm_ops hvm_fake_ops = {
    .name = "fake", .vm_init = vm_init, .vm_destroy = vm_destroy, .map = map, .vcpu_init = vcpu_init,
    .vcpu_destroy = vcpu_destroy, .vcpu_release = vcpu_release, .vcpu_run = vcpu_run, .get_state = get_state, .set_state = set_state,
    .inject_event = inject_event, .irq_ready = irq_ready, .irq_window = irq_window,
};
const struct hvm_ops *hvm = &hvm_fake_ops;

/* The FPU and speculation hooks the run loop calls: nothing to switch in a host process. */
struct xstate *xstate_alloc(void) { return calloc(1, 64); }
void xstate_free(struct xstate *x) { free(x); }
void xstate_save(struct xstate *x) { (void)x; }
void xstate_restore(struct xstate *x, uint64_t xcr0) { (void)x; (void)xcr0; }
void xstate_load_xcr0(uint64_t xcr0) { (void)xcr0; }
uint64_t xstate_read_xcr0(uint64_t fallback) { return fallback; }
void spec_vm_switch(void) { }

/* One CPU: the host process. */
#include "arch/x86/smp.h"
static const struct cpu only_cpu = { .index = 0, .state = CPU_ONLINE, .up = 1 };
int smp_this_cpu(void) { return 0; }
const struct cpu *smp_cpu(int i) { return i == 0 ? &only_cpu : NULL; }
void (*hvm_fake_on_kick)(int cpu);
void smp_kick(int i)
{
    if (hvm_fake_on_kick)
        hvm_fake_on_kick(i);
}
#include "vmm/sched.h"
/* What vcpu.c tells the mover (vmm/balance.c, tested in test-unit-vmm-sched); sched_move is the test's own. */
void sched_note_wake(int cpu, uint64_t ns, int local) { (void)cpu; (void)ns; (void)local; }
int hvm_fake_io_waiting;
int sched_io_yield(const struct vcpu *v) { (void)v; return hvm_fake_io_waiting; }
const struct vcpu *hvm_fake_noted;
int hvm_fake_preempt;
void sched_note_woken(const struct vcpu *v) { hvm_fake_noted = v; }
int sched_wake_preempt(const struct vcpu *v, uint64_t ran_ns) { (void)v; (void)ran_ns; return hvm_fake_preempt; }
int smp_call(int i, void (*fn)(void *arg), void *arg, uint64_t timeout_ns)
{
    (void)timeout_ns;
    if (i != 0)
        return -ENODEV;
    fn(arg);
    return 0;
}
