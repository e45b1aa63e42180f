/* Intel VT-x backend: capabilities, VMXON, VMCS per vCPU, guest entry and event injection (SDM vol. 3C). */
#include "arch/x86/vmx/vmx.h"
#include "arch/x86/vmx/vmcs.h"
#include "arch/x86/vmx/vmxcap.h"
#include "arch/x86/cpu.h"
#include "arch/x86/tsc.h"
#include "arch/x86/spec.h"
#include "arch/x86/smp.h"
#include "kernel/pmm.h"
#include "kernel/heap.h"
#include "kernel/kstring.h"
#include "kernel/errno.h"
#include "kernel/log.h"

#define FC_LOCK         (1ull << 0)
#define FC_VMXON_OUTSIDE_SMX (1ull << 2)

/* Wanted controls (SDM 3C 25.6): the must-have ones fail the probe when the CPU cannot set them. */
#define PIN_EXTINT      (1u << 0)
#define PIN_NMI         (1u << 3)
#define PIN_PREEMPT     (1u << 6)
#define PROC_INTWIN     (1u << 2)
#define PROC_TSC_OFFSET (1u << 3)       /* guest TSC = host TSC + TSC_OFFSET (SDM 3C 26.6.5) */
#define PROC_HLT        (1u << 7)
#define PROC_UNCOND_IO  (1u << 24)
#define PROC_MSR_BITMAP (1u << 28)
#define PROC_SECONDARY  (1u << 31)
#define PROC2_EPT       (1u << 1)
#define PROC2_VPID      (1u << 5)
#define PROC2_WBINVD    (1u << 6)
#define PROC2_UNRESTRICTED (1u << 7)
#define PROC2_INVPCID   (1u << 12)      /* else INVPCID is #UD in the guest (SDM 3C 25.6.2) */
#define PROC2_VMFUNC    (1u << 13)
#define EXIT_SAVE_DEBUG (1u << 2)      /* DR7 and DEBUGCTL into the VMCS: else a guest's DR7 is lost at exit */
#define EXIT_HOST_64    (1u << 9)
#define EXIT_SAVE_PAT   (1u << 18)
#define EXIT_LOAD_PAT   (1u << 19)
#define EXIT_SAVE_EFER  (1u << 20)
#define EXIT_LOAD_EFER  (1u << 21)
#define ENTRY_LOAD_DEBUG (1u << 2)     /* and loaded from it at entry (SDM 3C 25.7.1, 25.8.1) */
#define ENTRY_LOAD_PAT  (1u << 14)
#define ENTRY_LOAD_EFER (1u << 15)

struct vmx_caps vmx_caps;
static uint64_t msr_bitmap_pa;                   /* shared by every CPU */
static uint64_t vmxon_pa[SMP_MAX_CPUS];          /* each CPU's VMXON region (SDM 3C 24.11.5) */
#define VPID_COUNT      65536           /* VPIDs 1..65535 (SDM 3C 28.1) */
static struct asid_cpu vpid_cpus[SMP_MAX_CPUS];   /* each CPU hands out its own VPIDs */
static uint64_t current_vmcs[SMP_MAX_CPUS];   /* the VMCS VMPTRLD made current on each CPU */

/*
 * Each capability MSR is read only when an earlier one says it exists: BASIC always; the TRUE controls
 * when BASIC bit 55; secondary controls when the processor-based controls allow bit 31; EPT/VPID caps
 * when secondary allows EPT or VPID; VMFUNC when secondary allows it (0x491 raises #GP on models without it).
 */
void vmx_report(struct vmx_report *r)
{
    uint32_t proc2 = 0;
    uint64_t fc = rdmsr(MSR_FEATURE_CONTROL);
    memset(r, 0, sizeof(*r));
    r->feature_locked = fc & FC_LOCK;
    r->locked_off = (fc & FC_LOCK) && !(fc & FC_VMXON_OUTSIDE_SMX);
    r->basic = rdmsr(MSR_VMX_BASIC);
    r->true_ctls = (r->basic >> 55) & 1;
    r->pinbased = rdmsr(r->true_ctls ? MSR_VMX_TRUE_PIN : MSR_VMX_PINBASED);
    r->procbased = rdmsr(r->true_ctls ? MSR_VMX_TRUE_PROC : MSR_VMX_PROCBASED);
    r->preempt_timer = !!((r->pinbased >> 32) & PIN_PREEMPT);       /* allowed-1 half */
    r->secondary = !!((r->procbased >> 32) & PROC_SECONDARY);
    if (r->secondary) {
        r->procbased2 = rdmsr(MSR_VMX_PROCBASED2);
        proc2 = (uint32_t)(r->procbased2 >> 32);
    }
    r->ept = !!(proc2 & PROC2_EPT);
    r->vpid = !!(proc2 & PROC2_VPID);
    r->unrestricted = !!(proc2 & PROC2_UNRESTRICTED);
    r->vmfunc = !!(proc2 & PROC2_VMFUNC);
    if (r->ept || r->vpid) {
        r->ept_vpid_cap = rdmsr(MSR_VMX_EPT_VPID_CAP);                /* SDM 3D A.10 */
        r->ept_2m = r->ept && ((r->ept_vpid_cap >> 16) & 1);
        r->ept_1g = r->ept && ((r->ept_vpid_cap >> 17) & 1);
        r->ept_ad = r->ept && ((r->ept_vpid_cap >> 21) & 1);
    }
    if (r->vmfunc)
        r->vmfunc_ctls = rdmsr(MSR_VMX_VMFUNC);
}

/* Allowed-0 bits (low half) of cap must be 1, allowed-1 bits (high half) may be 1 (SDM 3D A.3.1). */
static int adjust(uint64_t cap, uint32_t want, uint32_t optional, uint32_t *out)
{
    uint32_t must = (uint32_t)cap, may = (uint32_t)(cap >> 32);
    *out = (must | want | (optional & may)) & may;
    return (*out & want) == want ? 0 : -ENODEV;
}

static int compute_caps(void)
{
    struct vmx_report r;
    struct vmx_caps *c = &vmx_caps;
    int tr;
    vmx_report(&r);
    tr = r.true_ctls;               /* TRUE capability MSRs exist */
    c->revision = (uint32_t)r.basic & 0x7fffffff;
    if (adjust(r.pinbased, PIN_EXTINT | PIN_NMI, PIN_PREEMPT, &c->pin) ||
        adjust(r.procbased, PROC_HLT | PROC_UNCOND_IO | PROC_MSR_BITMAP | PROC_SECONDARY, PROC_TSC_OFFSET, &c->proc))
        return -ENODEV;
    c->proc &= ~(PROC_INTWIN | (1u << 12));   /* no window exits yet; RDTSC runs natively, offset */
    if (adjust(r.procbased2, PROC2_EPT | PROC2_UNRESTRICTED, PROC2_VPID | PROC2_WBINVD | PROC2_INVPCID,
               &c->proc2) ||
        adjust(rdmsr(tr ? MSR_VMX_TRUE_EXIT : MSR_VMX_EXIT), EXIT_HOST_64, EXIT_SAVE_EFER | EXIT_LOAD_EFER |
               EXIT_SAVE_PAT | EXIT_LOAD_PAT | EXIT_SAVE_DEBUG, &c->exit) ||
        adjust(rdmsr(tr ? MSR_VMX_TRUE_ENTRY : MSR_VMX_ENTRY), 0, ENTRY_LOAD_EFER | ENTRY_LOAD_PAT |
               ENTRY_LOAD_DEBUG, &c->entry))
        return -ENODEV;
    c->entry &= ~(1u << 9);         /* IA-32e mode guest: set per guest state */
    c->has_vpid = !!(c->proc2 & PROC2_VPID);
    c->cr0_fixed0 = rdmsr(MSR_VMX_CR0_FIXED0);
    c->cr0_fixed1 = rdmsr(MSR_VMX_CR0_FIXED1);
    c->cr4_fixed0 = rdmsr(MSR_VMX_CR4_FIXED0);
    c->cr4_fixed1 = rdmsr(MSR_VMX_CR4_FIXED1);
    c->preempt_shift = rdmsr(MSR_VMX_MISC) & 0x1f;
    return 0;
}

/* IA32_FEATURE_CONTROL must allow VMXON outside SMX and be locked, on every CPU (SDM 3C 24.7). Firmware
 * that locked it without VMX wins; else shoal sets and locks it. 0 or -ENODEV. */
static int feature_control_ok(void)
{
    uint64_t fc = rdmsr(MSR_FEATURE_CONTROL);
    if ((fc & FC_LOCK) && !(fc & FC_VMXON_OUTSIDE_SMX)) {
        log_warn("vmx: disabled by firmware (IA32_FEATURE_CONTROL locked)");
        return -ENODEV;
    }
    if (!(fc & FC_LOCK))
        wrmsr(MSR_FEATURE_CONTROL, fc | FC_LOCK | FC_VMXON_OUTSIDE_SMX);
    return 0;
}

static int vmx_probe(void)
{
    if (!((cpuid(1, 0).ecx >> 5) & 1))
        return -ENODEV;
    if (feature_control_ok())
        return -ENODEV;
    if (compute_caps()) {
        log_warn("vmx: CPU lacks a required control (EPT, unrestricted guest, HLT/I/O exiting)");
        return -ENODEV;
    }
    return 0;
}

static uint64_t page_with_revision(void)
{
    uint64_t pa = pmm_alloc(1, 1);
    if (pa) {
        memset((void *)(uintptr_t)pa, 0, PAGE_SIZE);
        *(uint32_t *)(uintptr_t)pa = vmx_caps.revision;
    }
    return pa;
}

static int vmx_cpu_prepare(int cpu)
{
    if (cpu < 0 || cpu >= SMP_MAX_CPUS)
        return -EINVAL;
    if (cpu == 0) {
        msr_bitmap_pa = pmm_alloc(1, 1);
        if (!msr_bitmap_pa)
            return -ENOMEM;
        memset((void *)(uintptr_t)msr_bitmap_pa, 0xff, PAGE_SIZE);   /* every MSR access exits... */
        vmx_msr_pass_through((uint8_t *)(uintptr_t)msr_bitmap_pa);  /* ...but those the guest owns */
    }
    if (!vmxon_pa[cpu])
        vmxon_pa[cpu] = page_with_revision();
    return vmxon_pa[cpu] ? 0 : -ENOMEM;
}

static int vmx_cpu_enable(int cpu)
{
    if (cpu < 0 || cpu >= SMP_MAX_CPUS || !vmxon_pa[cpu])
        return -EINVAL;
    if (cpu && feature_control_ok())
        return -ENODEV;
    write_cr0((read_cr0() | vmx_caps.cr0_fixed0) & vmx_caps.cr0_fixed1);
    write_cr4((read_cr4() | CR4_VMXE | vmx_caps.cr4_fixed0) & vmx_caps.cr4_fixed1);
    if (vmxon(vmxon_pa[cpu])) {
        log_err("vmx: VMXON failed on CPU %d", cpu);
        return -EIO;
    }
    if (cpu == 0)
        log_info("vmx: on (VMCS revision %#x, VPID %s, preemption timer %s, INVPCID %s)", vmx_caps.revision,
                 vmx_caps.has_vpid ? "yes" : "no", (vmx_caps.pin & PIN_PREEMPT) ? "yes" : "no",
                 (vmx_caps.proc2 & PROC2_INVPCID) ? "yes" : "no");
    return 0;
}

uint64_t vmx_msr_bitmap(void);
uint64_t vmx_msr_bitmap(void) { return msr_bitmap_pa; }

static int vmx_vm_init(struct hvm_vm **out)
{
    struct hvm_vm *vm = kzalloc(sizeof(*vm));
    if (!vm)
        return -ENOMEM;
    if (slpt_init(&vm->ept, &ept_fmt)) {
        kfree(vm);
        return -ENOMEM;
    }
    vm->eptp = vm->ept.root | (3ull << 3) | 6;     /* 4-level walk, write-back (SDM 3C 25.6.11) */
    *out = vm;
    return 0;
}

static void vmx_vm_destroy(struct hvm_vm *vm)
{
    invept(1, vm->eptp);
    slpt_destroy(&vm->ept);
    kfree(vm);
}

static int vmx_map(struct hvm_vm *vm, uint64_t gpa, uint64_t hpa, uint64_t len, int prot)
{
    int rc = slpt_map(&vm->ept, gpa, hpa, len, prot);
    invept(1, vm->eptp);
    return rc;
}

/*
 * Protecting needs the VM's cached EPT translations gone: single-context INVEPT (SDM 3C 29.4.3.4) here, and
 * on every other CPU before the VM's next entry there (flush_before_entry; vm_tlb_shootdown makes running
 * vCPUs exit). Lifting the protection needs nothing: an EPT violation drops the translations of the
 * faulting address (29.4.3.1).
 */
static int vmx_write_protect(struct hvm_vm *vm, uint64_t gpa, uint64_t len, int on)
{
    int rc = slpt_write_protect(&vm->ept, gpa, len, on);
    if (on) {
        __atomic_add_fetch(&vm->wp_gen, 1, __ATOMIC_SEQ_CST);
        invept(1, vm->eptp);
    }
    return rc;
}

/*
 * Before an entry: a vCPU arriving from another CPU drops what this CPU still caches of its EPTP from an
 * earlier stay (guest-physical and combined mappings: SDM 3C 29.4.3.1, its guest's INVLPGs since then ran
 * elsewhere), and a vCPU that has not flushed since protection was added drops its EPTP's mappings. A vCPU
 * new to this CPU gets a VPID nobody else has here (asid.h: two vCPUs of a guest with one VPID and one
 * EPTP would share linear translations), flushed first: in an earlier generation another vCPU had it.
 * wp_gen is read once (another CPU may add protection now).
 */
static void flush_before_entry(struct hvm_vcpu *v)
{
    int me = smp_this_cpu();
    uint32_t gen = __atomic_load_n(&v->vm->wp_gen, __ATOMIC_SEQ_CST);
    if (v->tlb_cpu != me || v->wp_seen != gen)
        invept(1, v->vm->eptp);
    if (vmx_caps.has_vpid && asid_enter(&vpid_cpus[me], &v->tag, me, VPID_COUNT) != ASID_KEPT) {
        v->vpid = (uint16_t)v->tag.asid;
        vmwrite(VPID, v->vpid);
        invvpid(1, v->vpid);
    }
    v->tlb_cpu = me;
    v->wp_seen = gen;
}

static int vmx_vcpu_init(struct hvm_vm *vm, const struct guest_regs *regs, struct hvm_vcpu **out)
{
    struct hvm_vcpu *v = kzalloc(sizeof(*v));
    if (!v || !(v->vmcs_pa = page_with_revision())) {
        kfree(v);
        return -ENOMEM;
    }
    if (!(v->msr_page_pa = pmm_alloc(1, 1))) {
        pmm_free(v->vmcs_pa, 1);
        kfree(v);
        return -ENOMEM;
    }
    memset((void *)(uintptr_t)v->msr_page_pa, 0, PAGE_SIZE);
    v->vm = vm;
    v->spec_ctrl = spec_get()->host_spec_ctrl;
    v->tag.cpu = -1;                /* its VPID comes at its first entry (flush_before_entry) */
    if (vmclear(v->vmcs_pa) || vmptrld(v->vmcs_pa)) {
        pmm_free(v->msr_page_pa, 1);
        pmm_free(v->vmcs_pa, 1);
        kfree(v);
        return -EIO;
    }
    current_vmcs[smp_this_cpu()] = v->vmcs_pa;
    v->cpu = smp_this_cpu();
    v->tlb_cpu = -1;                /* its EPTP's old translations are flushed at its first entry */
    vmx_vmcs_setup(v, regs);
    *out = v;
    return 0;
}

static void vmx_vcpu_destroy(struct hvm_vcpu *v)
{
    vmclear(v->vmcs_pa);
    if (current_vmcs[smp_this_cpu()] == v->vmcs_pa)
        current_vmcs[smp_this_cpu()] = 0;
    pmm_free(v->vmcs_pa, 1);
    pmm_free(v->msr_page_pa, 1);
    kfree(v);
}

/*
 * Make v's VMCS current here. A VMCS is active on one CPU at a time (SDM 3C 24.1): one that last ran
 * elsewhere was released there (vmx_vcpu_release: VMCLEAR) and gets this CPU's host state (TR, GDTR bases).
 */
static void load(struct hvm_vcpu *v)
{
    int me = smp_this_cpu();
    if (current_vmcs[me] == v->vmcs_pa)
        return;
    vmptrld(v->vmcs_pa);
    current_vmcs[me] = v->vmcs_pa;
    if (v->cpu != me) {
        vmx_vmcs_host_state();
        v->cpu = me;
    }
}

/* VMCLEAR on this CPU: the VMCS is written back, inactive and not launched; another CPU may load it. */
static void vmx_vcpu_release(struct hvm_vcpu *v)
{
    int me = smp_this_cpu();
    vmclear(v->vmcs_pa);
    if (current_vmcs[me] == v->vmcs_pa)
        current_vmcs[me] = 0;
    v->launched = 0;
    v->cpu = -1;
}

static void vmx_set(struct hvm_vcpu *v, const struct guest_regs *r) { load(v); vmx_set_state(v, r); }
static void vmx_get(struct hvm_vcpu *v, struct guest_regs *r) { load(v); vmx_get_state(v, r); }

static int vmx_inject_event(struct hvm_vcpu *v, const struct hvm_event *ev)
{
    load(v);
    if (vmread(ENTRY_INTR_INFO) & (1u << 31))
        return -EBUSY;
    vmwrite(ENTRY_EXC_ERR, ev->error);
    vmwrite(ENTRY_INTR_INFO, ev->vector | ((uint32_t)ev->type << 8) | (ev->has_error ? 1u << 11 : 0) | (1u << 31));
    return 0;
}

static int vmx_irq_ready(struct hvm_vcpu *v)
{
    load(v);
    return (vmread(GUEST_RFLAGS) & RFLAGS_IF) && !(vmread(GUEST_INTERRUPTIBILITY) & 3) &&
           !(vmread(ENTRY_INTR_INFO) & (1u << 31));
}

static void vmx_irq_window(struct hvm_vcpu *v, int on)
{
    load(v);
    vmwrite(PROC_CTLS, on ? (vmx_caps.proc | PROC_INTWIN) : vmx_caps.proc);
}

static int vmx_vcpu_run(struct hvm_vcpu *v, struct guest_regs *r, struct vm_exit *ex, uint64_t slice_ns)
{
    uint64_t ticks = (slice_ns * (tsc_hz() / 1000000ull) / 1000ull) >> vmx_caps.preempt_shift;
    load(v);
    /* The VMM completed the exiting instruction: an STI or MOV SS shadow covered only that one
     * (SDM 3C 25.4.2), so it must not block interrupts at the next instruction. Not v->launched: VMCLEAR
     * (a move to another CPU) resets that, and a stale shadow there let `sti; hlt` take its wake-up
     * interrupt one instruction late. */
    if (v->exited && r->rip != v->exit_rip)
        vmwrite(GUEST_INTERRUPTIBILITY, vmread(GUEST_INTERRUPTIBILITY) & ~3ull);
    vmwrite(GUEST_RSP, r->gpr[GPR_RSP]);
    vmwrite(GUEST_RIP, r->rip);
    vmwrite(GUEST_RFLAGS, r->rflags);
    if (vmx_caps.pin & PIN_PREEMPT)
        vmwrite(PREEMPT_TIMER, ticks > 0xffffffffull ? 0xffffffffu : (uint32_t)ticks);
    flush_before_entry(v);
    if (read_cr2() != v->cr2)       /* CR2 is no VMCS field: the guest's lives in the register (3C 27.3) */
        write_cr2(v->cr2);
    if (v->cr8)                     /* the guest's TPR while it runs: it may block the host's vectors then */
        write_cr8(v->cr8);
    spec_enter(v->spec_ctrl, 1);
    int failed = vmx_enter(r->gpr, v->launched);
    v->spec_ctrl = spec_exit(v->spec_ctrl);
    if ((v->cr8 = read_cr8()) != 0)  /* the host's TPR is 0: a guest's MOV to CR8 must not outlive its run */
        write_cr8(0);
    if (failed) {
        memset(ex, 0, sizeof(*ex));
        ex->code = EXIT_FAIL_ENTRY;
        ex->raw = vmread(VM_INSN_ERROR);
        ex->fail.why = vmx_insn_error((uint32_t)ex->raw);
        return 0;
    }
    v->launched = v->exited = 1;
    v->cr2 = read_cr2();
    r->gpr[GPR_RSP] = vmread(GUEST_RSP);
    r->rip = v->exit_rip = vmread(GUEST_RIP);
    r->rflags = vmread(GUEST_RFLAGS);
    vmx_normalise_exit(ex);
    /* An event whose delivery this exit interrupted goes again (SDM 3C 28.2.4); not after a triple
     * fault (the VM stops or is reset). */
    uint64_t idt = ex->code == EXIT_SHUTDOWN ? 0 : vmread(IDT_VECT_INFO);
    if (idt & (1u << 31)) {
        vmwrite(ENTRY_EXC_ERR, vmread(IDT_VECT_ERR));
        vmwrite(ENTRY_INTR_INFO, idt & ~(1u << 12));
        if (((idt >> 8) & 7) >= 4)
            vmwrite(ENTRY_INSN_LEN, vmread(EXIT_INSN_LEN));
    }
    return 0;
}

static void vmx_get_events(struct hvm_vcpu *v, struct hvm_events *ev)
{
    uint64_t intr;
    load(v);
    intr = vmread(GUEST_INTERRUPTIBILITY);
    memset(ev, 0, sizeof(*ev));
    ev->inject = (uint32_t)vmread(ENTRY_INTR_INFO);
    if (ev->inject & HVM_INJECT_VALID) {
        ev->inject_error = (uint32_t)vmread(ENTRY_EXC_ERR);
        ev->inject_len = (uint32_t)vmread(ENTRY_INSN_LEN);
    }
    ev->int_shadow = (intr & 3) ? 1 : 0;          /* bit 0 STI, bit 1 MOV SS (SDM 3C 25.4.2) */
    ev->nmi_blocked = (intr >> 3) & 1;
    ev->activity = (uint8_t)vmread(GUEST_ACTIVITY);
    ev->tsc_offset = (vmx_caps.proc & PROC_TSC_OFFSET) ? vmread(TSC_OFFSET) : 0;
    ev->dr7 = vmread(GUEST_DR7);
    ev->pat = vmread(GUEST_PAT);
    ev->spec_ctrl = v->spec_ctrl;
}

/* The shadow comes back as STI blocking where RFLAGS.IF is set, else as MOV SS blocking: STI blocking
 * with IF clear fails VM entry (SDM 3C 27.3.1.5). Load the registers (set_state) first. */
static int vmx_set_events(struct hvm_vcpu *v, const struct hvm_events *ev)
{
    uint32_t shadow;
    if (ev->tsc_offset && !(vmx_caps.proc & PROC_TSC_OFFSET))
        return -EINVAL;
    load(v);
    shadow = !ev->int_shadow ? 0 : (vmread(GUEST_RFLAGS) & RFLAGS_IF) ? 1u : 2u;
    vmwrite(ENTRY_INTR_INFO, ev->inject);
    vmwrite(ENTRY_EXC_ERR, ev->inject_error);
    vmwrite(ENTRY_INSN_LEN, ev->inject_len);
    vmwrite(GUEST_INTERRUPTIBILITY, shadow | (ev->nmi_blocked ? 8u : 0));
    vmwrite(GUEST_ACTIVITY, ev->activity);
    if (vmx_caps.proc & PROC_TSC_OFFSET)
        vmwrite(TSC_OFFSET, ev->tsc_offset);
    vmwrite(GUEST_DR7, ev->dr7);
    vmwrite(GUEST_PAT, ev->pat);
    v->spec_ctrl = ev->spec_ctrl;
    return 0;
}

const struct hvm_ops vmx_ops = {
    .name = "VMX+EPT",
    .probe = vmx_probe,
    .cpu_prepare = vmx_cpu_prepare,
    .cpu_enable = vmx_cpu_enable,
    .vm_init = vmx_vm_init,
    .vm_destroy = vmx_vm_destroy,
    .map = vmx_map,
    .vcpu_init = vmx_vcpu_init,
    .vcpu_destroy = vmx_vcpu_destroy,
    .vcpu_release = vmx_vcpu_release,
    .vcpu_run = vmx_vcpu_run,
    .get_state = vmx_get,
    .set_state = vmx_set,
    .inject_event = vmx_inject_event,
    .irq_ready = vmx_irq_ready,
    .irq_window = vmx_irq_window,
    .get_events = vmx_get_events,
    .set_events = vmx_set_events,
    .write_protect = vmx_write_protect,
};
