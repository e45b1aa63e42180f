/* vCPU execution: event delivery, the run loop of one time slice, full-state sync, register dumps. */
#include "vmm/vm.h"
#include "kernel/printf.h"
#include "kernel/time.h"
#include "kernel/log.h"
#include "arch/x86/xstate.h"
#include "arch/x86/spec.h"
#include "arch/x86/smp.h"
#include "kernel/biglock.h"
#include "vmm/sched.h"


static int bitmap_highest(const struct vcpu *v)
{
    for (int w = 3; w >= 0; w--)
        if (v->irq_pending[w])
            return w * 64 + 63 - __builtin_clzll(v->irq_pending[w]);
    return -1;
}

/* The highest vector waiting for v: from its VM's interrupt chip, or the direct bitmap. */
static int highest_irq(struct vcpu *v)
{
    const struct irq_chip *c = v->vm->irqchip;
    return c ? c->pending(v) : bitmap_highest(v);
}

static void irq_taken(struct vcpu *v, int vec)
{
    const struct irq_chip *c = v->vm->irqchip;
    if (c)
        c->accept(v, vec);
    else
        __atomic_fetch_and(&v->irq_pending[vec / 64], ~(1ull << (vec % 64)), __ATOMIC_SEQ_CST);
}

int vcpu_irq_waiting(struct vcpu *v)
{
    return highest_irq(v) >= 0;
}

/* A vCPU another CPU runs learns of a new event at once: the IPI makes it exit (or wakes that CPU). One
 * woken from HLT notes when and whether by its own CPU, for the wake-up latency (sched_note_wake); woke says
 * the event ended its HLT (or its wait for a SIPI): the slice running on its CPU may end for it. */
static void notify(struct vcpu *v, int woke)
{
    int local = v->home == smp_this_cpu();
    if (!v->halted && v->on_cpu < 0 && !v->wake_ns) {
        v->wake_ns = time_ns();
        v->wake_local = local;
    }
    if (woke && v->on_cpu < 0)
        sched_note_woken(v);             /* wake-up preemption, on its CPU */
    if (!local)
        smp_kick(v->home);
}

void vcpu_kick(struct vcpu *v)
{
    int woke = v->halted && (v->regs.rflags & RFLAGS_IF) && !v->wait_sipi;
    if (woke)
        v->halted = 0;
    notify(v, woke);
}

void vcpu_init_signal(struct vcpu *v)
{
    v->wait_sipi = 1;
    v->halted = 1;
}

/* The SIPI's effect on v's registers, on v's own CPU (its hardware state is only reachable there). */
static void sipi_here(struct vcpu *v, uint8_t vector)
{
    struct guest_regs *r = &v->regs;
    vcpu_sync_full(v);
    for (int i = 0; i < GPR_COUNT; i++)
        r->gpr[i] = 0;
    r->cs = (struct seg){ (uint16_t)(vector << 8), 0x9B, 0xffff, (uint64_t)vector << 12 };
    r->ds = r->es = r->fs = r->gs = r->ss = (struct seg){ 0, 0x93, 0xffff, 0 };
    r->tr = (struct seg){ 0, 0x8B, 0xffff, 0 };
    r->ldtr = (struct seg){ 0, 0x82, 0xffff, 0 };
    r->gdtr_base = r->idtr_base = 0;
    r->gdtr_limit = r->idtr_limit = 0xffff;
    r->rip = 0;
    r->rflags = 0x2;
    r->cr0 = 0x60000010;                 /* reset value: CD, NW, ET */
    r->cr2 = r->cr3 = r->cr4 = r->efer = 0;
    r->xcr0 = 1;
    vcpu_put_full(v);
}

void vcpu_sipi(struct vcpu *v, uint8_t vector)
{
    if (!v->wait_sipi)
        return;                          /* only a CPU waiting after INIT takes a SIPI */
    if (v->home == smp_this_cpu()) {
        sipi_here(v, vector);
    } else {
        v->sipi_vector = vector;         /* its CPU applies it before the vCPU's next entry */
        v->sipi_pending = 1;
    }
    v->exc_pending = 0;
    v->wait_sipi = 0;
    v->halted = 0;
    notify(v, 1);
}

void vcpu_put_later(struct vcpu *v)
{
    v->full_valid = 1;
    if (v->home == smp_this_cpu())
        vcpu_put_full(v);
    else
        v->put_pending = 1;
}

/* What another CPU left for v (a reset's registers, a SIPI), applied here, on v's own CPU. */
static void apply_pending(struct vcpu *v)
{
    if (v->put_pending) {
        v->put_pending = 0;
        vcpu_put_full(v);
    }
    if (v->sipi_pending) {
        v->sipi_pending = 0;
        sipi_here(v, v->sipi_vector);
    }
}

void vcpu_raise_irq(struct vcpu *v, uint8_t vector)
{
    int woke = v->halted && (v->regs.rflags & RFLAGS_IF);
    __atomic_fetch_or(&v->irq_pending[vector / 64], 1ull << (vector % 64), __ATOMIC_SEQ_CST);
    if (woke)
        v->halted = 0;                   /* HLT ends when an unmasked interrupt arrives */
    notify(v, woke);
}

void vcpu_queue_exception(struct vcpu *v, uint8_t vector, int has_error, uint32_t error)
{
    v->exc = (struct hvm_event){ vector, EVENT_EXCEPTION, (uint8_t)has_error, error };
    v->exc_pending = 1;
}

static void deliver_events(struct vcpu *v)
{
    int vec;
    if (v->exc_pending) {
        if (hvm->inject_event(v->hw, &v->exc) == 0)
            v->exc_pending = 0;
        return;
    }
    if ((vec = highest_irq(v)) < 0)
        return;
    if (hvm->irq_ready(v->hw)) {
        struct hvm_event ev = { (uint8_t)vec, EVENT_EXTINT, 0, 0 };
        if (hvm->inject_event(v->hw, &ev) == 0)
            irq_taken(v, vec);
        hvm->irq_window(v->hw, 0);
    } else {
        hvm->irq_window(v->hw, 1);       /* exit as soon as the guest can take it */
    }
}

void vcpu_sync_full(struct vcpu *v)
{
    if (!v->full_valid) {
        hvm->get_state(v->hw, &v->regs);
        v->full_valid = 1;
    }
}

void vcpu_put_full(struct vcpu *v)
{
    hvm->set_state(v->hw, &v->regs);
    v->full_valid = 1;
}

/*
 * The x87/SSE/AVX and debug registers stay in hardware between a vCPU's exits and entries (the host uses
 * none); they are swapped only when a different vCPU is about to run, every component whatever either
 * guest's XCR0 (a guest with XCR0 = 1 still uses XMM; one that enables AVX later must not find another's
 * YMM). The run loop loads the guest's own XCR0 before each entry.
 */
static struct vcpu *xstate_owner[SMP_MAX_CPUS];
static struct vm *last_vm[SMP_MAX_CPUS];   /* whose vCPU each CPU ran last: another VM's gets an IBPB first */

static void take_xstate(struct vcpu *v)
{
    int me = smp_this_cpu();
    if (last_vm[me] != v->vm) {
        spec_vm_switch();
        last_vm[me] = v->vm;
    }
    if (xstate_owner[me] == v)
        return;
    if (xstate_owner[me])
        xstate_save(xstate_owner[me]->fpu);
    xstate_restore(v->fpu, v->regs.xcr0);
    xstate_owner[me] = v;
}

void vcpu_flush_xstate(struct vcpu *v)
{
    if (xstate_owner[smp_this_cpu()] == v)
        xstate_save(v->fpu);
}

void vcpu_leave_cpu(struct vcpu *v)
{
    int me = smp_this_cpu();
    if (xstate_owner[me] == v) {
        xstate_save(v->fpu);
        xstate_owner[me] = NULL;
    }
    hvm->vcpu_release(v->hw);
}

void vcpu_drop_xstate(struct vcpu *v)
{
    for (int i = 0; i < SMP_MAX_CPUS; i++) {
        if (xstate_owner[i] == v)
            xstate_owner[i] = NULL;
        if (last_vm[i] == v->vm)
            last_vm[i] = NULL;           /* a new VM may get the same address */
    }
}

void vcpu_run_slice(struct vcpu *v, uint64_t slice_ns)
{
    struct vm *vm = v->vm;
    uint64_t end = time_ns() + slice_ns, now;
    struct vm_exit ex;
    int depth, rc;

    take_xstate(v);
    apply_pending(v);
    if (v->wake_ns) {
        sched_note_wake(smp_this_cpu(), time_ns() - v->wake_ns, v->wake_local);
        v->wake_ns = 0;
    }
    while (vm->state == VM_RUNNING && !v->halted) {
        uint64_t t0 = time_ns();
        vm->running = v;
        deliver_events(v);
        xstate_load_xcr0(v->regs.xcr0);
        depth = big_unlock_all();        /* guest code runs beside the other CPUs' exit handling */
        v->in_guest = 1;                 /* then a full barrier, then the backend reads wp_gen */
        __atomic_add_fetch(&v->entries, 1, __ATOMIC_SEQ_CST);
        rc = hvm->vcpu_run(v->hw, &v->regs, &ex, end > t0 ? end - t0 : 0);
        __atomic_store_n(&v->in_guest, 0, __ATOMIC_SEQ_CST);
        big_relock(depth);
        vm->running = v;                 /* another CPU's vCPU of this VM may have set it meanwhile */
        if (rc < 0) {
            vm_stop(vm, 1, "vCPU %d: the backend failed to run it", v->id);
            break;
        }
        v->regs.xcr0 = xstate_read_xcr0(v->regs.xcr0);   /* the guest's, even if it bypassed the intercept */
        v->run_ns += time_ns() - t0;
        v->full_valid = 0;
        v->exits[ex.code < EXIT_CODE_COUNT ? ex.code : EXIT_UNKNOWN]++;
        vm->exits_total++;
        if (exit_dispatch(v, &ex) != 0 || (now = time_ns()) >= end || sched_io_yield(v) ||
            sched_wake_preempt(v, now + slice_ns - end))
            break;
    }
}

static void dump_seg(const char *name, const struct seg *s)
{
    kprintf("  %-4s sel %04x base %016llx limit %08x attr %03x\n", name, s->sel,
            (unsigned long long)s->base, s->limit, s->attr);
}

void vcpu_dump(struct vcpu *v)
{
    const struct guest_regs *r = &v->regs;
    static const char *const names[16] = { "RAX", "RCX", "RDX", "RBX", "RSP", "RBP", "RSI", "RDI",
                                            "R8", "R9", "R10", "R11", "R12", "R13", "R14", "R15" };
    if (v->home != smp_this_cpu()) {
        kprintf("vm %s vcpu %d: runs on CPU %d: registers not shown here\n", v->vm->name, v->id, v->home);
        return;
    }
    vcpu_sync_full(v);
    kprintf("vm %s vcpu %d: RIP %016llx RFLAGS %016llx\n", v->vm->name, v->id,
            (unsigned long long)r->rip, (unsigned long long)r->rflags);
    for (int i = 0; i < 16; i += 4)
        kprintf("  %-3s %016llx %-3s %016llx %-3s %016llx %-3s %016llx\n",
                names[i], (unsigned long long)r->gpr[i], names[i + 1], (unsigned long long)r->gpr[i + 1],
                names[i + 2], (unsigned long long)r->gpr[i + 2], names[i + 3], (unsigned long long)r->gpr[i + 3]);
    kprintf("  CR0 %016llx CR2 %016llx CR3 %016llx CR4 %016llx EFER %llx\n",
            (unsigned long long)r->cr0, (unsigned long long)r->cr2, (unsigned long long)r->cr3,
            (unsigned long long)r->cr4, (unsigned long long)r->efer);
    dump_seg("CS", &r->cs);
    dump_seg("SS", &r->ss);
    dump_seg("DS", &r->ds);
    dump_seg("TR", &r->tr);
}
