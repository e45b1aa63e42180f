/* Exit dispatch: one handler per normalised exit code, one table, per-reason counters kept by the caller. */
#include "vmm/vm.h"
#include "vmm/exits.h"
#include "kernel/printf.h"
#include "kernel/errno.h"
#include "arch/x86/cpu.h"


static const char *const names[EXIT_CODE_COUNT] = {
    [EXIT_NONE] = "interrupt", [EXIT_CPUID] = "cpuid", [EXIT_MSR_READ] = "rdmsr", [EXIT_MSR_WRITE] = "wrmsr",
    [EXIT_IO] = "io", [EXIT_NPF] = "npf/ept", [EXIT_HLT] = "hlt", [EXIT_INTR_WINDOW] = "irq-window",
    [EXIT_XSETBV] = "xsetbv", [EXIT_INVD] = "invd/wbinvd", [EXIT_SHUTDOWN] = "shutdown",
    [EXIT_HYPERCALL] = "hypercall", [EXIT_VMINSN] = "vm-insn", [EXIT_EXCEPTION] = "exception",
    [EXIT_CR_ACCESS] = "cr-access", [EXIT_FAIL_ENTRY] = "entry-failure", [EXIT_UNKNOWN] = "unknown",
};

const char *exit_name(int code)
{
    return code >= 0 && code < EXIT_CODE_COUNT && names[code] ? names[code] : "?";
}

void vcpu_skip(struct vcpu *v, const struct vm_exit *ex)
{
    v->regs.rip += ex->inst_len;
}

/*
 * A host interrupt: its handler has run (a timer's callback, a kick). The slice goes on unless the vCPU must
 * leave this CPU (a move, registers another CPU set); whether a woken vCPU or waiting I/O ends it is the
 * run loop's question (sched_wake_preempt, sched_io_yield), asked after every exit.
 */
static int on_none(struct vcpu *v, struct vm_exit *ex)
{
    (void)ex;
    return v->move_to >= 0 || v->put_pending || v->sipi_pending;
}

/*
 * Host interrupts are off from the check to the halt: a device timer firing in between (its callback
 * runs in the host's timer interrupt and wakes a halted vCPU) would otherwise find the vCPU not yet
 * halted, and the vCPU would then sleep past the interrupt meant to wake it.
 */
static int on_hlt(struct vcpu *v, struct vm_exit *ex)
{
    vcpu_skip(v, ex);
    uint64_t f = irq_save();
    int waiting = vcpu_irq_waiting(v) && (v->regs.rflags & RFLAGS_IF);
    if (!waiting)
        v->halted = 1;
    irq_restore(f);
    return !waiting;     /* an interrupt already waiting: HLT falls through */
}

static int on_window(struct vcpu *v, struct vm_exit *ex)
{
    (void)ex;
    hvm->irq_window(v->hw, 0);   /* the next entry injects */
    return 0;
}

static int on_invd(struct vcpu *v, struct vm_exit *ex)
{
    vcpu_skip(v, ex);    /* guest RAM is ordinary write-back memory: nothing to write back or drop */
    return 0;
}

/* A triple fault makes the processor shut down; the chipset turns that into a reset (SDM 3A 6.15, #DF):
 * a platform that can reboot its guest (Linux falls back to a triple fault to reboot) does so, others stop. */
static int on_shutdown(struct vcpu *v, struct vm_exit *ex)
{
    (void)ex;
    if (vm_platform_reset(v->vm))
        return 1;
    vm_stop(v->vm, 1, "triple fault (shutdown) on vCPU %d", v->id);
    return -EFAULT;
}

static int on_vminsn(struct vcpu *v, struct vm_exit *ex)
{
    (void)ex;
    vcpu_queue_exception(v, 6, 0, 0);   /* VMX/SVM are hidden: the instruction is #UD to the guest */
    return 0;
}

static int on_fail(struct vcpu *v, struct vm_exit *ex)
{
    vm_stop(v->vm, 1, "VM entry failed: %s (raw %#llx, qualification %#llx)", ex->fail.why ? ex->fail.why : "?",
            (unsigned long long)ex->raw, (unsigned long long)ex->fail.qual);
    return -EINVAL;
}

static int on_unknown(struct vcpu *v, struct vm_exit *ex)
{
    if (ex->code == EXIT_EXCEPTION)
        vm_stop(v->vm, 1, "unexpected guest exception %u (error %#x)", ex->exc.vector, ex->exc.error);
    else
        vm_stop(v->vm, 1, "unhandled exit %s (vendor reason %#llx)", exit_name(ex->code), (unsigned long long)ex->raw);
    return -EINVAL;
}

/*
 * Only the built-in test guests' platform has hypercalls (vmm/hypercall.c). Any other guest's VMCALL/VMMCALL
 * is #UD, RAX and RIP untouched: what the instruction does outside a hypervisor (SDM 3C 30.3 VMCALL, APM 3
 * VMMCALL), and shoal advertises no hypervisor interface that a guest could take it for.
 */
static int on_hypercall(struct vcpu *v, struct vm_exit *ex)
{
    const struct vm_platform *p = v->vm->platform;
    if (p && p->hypercall)
        return p->hypercall(v, ex);
    vcpu_queue_exception(v, 6, 0, 0);
    return 0;
}

static int (*const handlers[EXIT_CODE_COUNT])(struct vcpu *, struct vm_exit *) = {
    [EXIT_NONE] = on_none,
    [EXIT_CPUID] = exit_cpuid,
    [EXIT_MSR_READ] = exit_msr,
    [EXIT_MSR_WRITE] = exit_msr,
    [EXIT_IO] = exit_io,
    [EXIT_NPF] = exit_npf,
    [EXIT_HLT] = on_hlt,
    [EXIT_INTR_WINDOW] = on_window,
    [EXIT_XSETBV] = exit_xsetbv,
    [EXIT_INVD] = on_invd,
    [EXIT_SHUTDOWN] = on_shutdown,
    [EXIT_HYPERCALL] = on_hypercall,
    [EXIT_VMINSN] = on_vminsn,
    [EXIT_EXCEPTION] = on_unknown,
    [EXIT_CR_ACCESS] = on_unknown,
    [EXIT_FAIL_ENTRY] = on_fail,
    [EXIT_UNKNOWN] = on_unknown,
};

int exit_dispatch(struct vcpu *v, struct vm_exit *ex)
{
    if (ex->code >= EXIT_CODE_COUNT || !handlers[ex->code])
        return on_unknown(v, ex);
    return handlers[ex->code](v, ex);
}
