/* AMD-V backend: enable SVM, build VMCBs, run guests and normalise #VMEXITs (APM vol. 2, chapter 15). */
#include "arch/x86/svm/svm.h"
#include "arch/x86/asid.h"
#include "arch/x86/svm/vmcb.h"
#include "arch/x86/hvm.h"
#include "arch/x86/cpu.h"
#include "arch/x86/spec.h"
#include "arch/x86/smp.h"
#include "kernel/pmm.h"
#include "kernel/heap.h"
#include "kernel/kstring.h"
#include "kernel/errno.h"
#include "kernel/log.h"

#define VM_CR_SVMDIS     (1ull << 4)
/* Save-area MSRs that VMLOAD/VMSAVE carry (APM vol. 2, table B-2). */
#define VMCB_STAR        0x600
#define VMCB_LSTAR       0x608
#define VMCB_CSTAR       0x610
#define VMCB_SFMASK      0x618
#define VMCB_KGS_BASE    0x620
#define VMCB_SYSENTER_CS 0x628
#define VMCB_SYSENTER_ESP 0x630
#define VMCB_SYSENTER_EIP 0x638

struct hvm_vm {
    struct slpt npt;
    uint32_t wp_gen;           /* bumped when write protection is added: every vCPU flushes once */
};

struct hvm_vcpu {
    struct hvm_vm *vm;
    void *vmcb;                /* identity mapped: virtual == physical */
    int first_run;
    struct asid_vcpu tag;      /* its ASID, given by the CPU it runs on (arch/x86/asid.h, APM 15.16) */
    uint64_t exit_rip;         /* guest RIP at the last exit */
    uint64_t spec_ctrl;        /* the guest's IA32_SPEC_CTRL while it does not run */
    uint32_t wp_seen;          /* the VM's wp_gen this vCPU's TLB has flushed for */
};

static uint64_t iopm_pa, msrpm_pa;                 /* shared by every CPU */
static uint64_t hsave_pa[SMP_MAX_CPUS], host_area_pa[SMP_MAX_CPUS];   /* one pair per CPU (APM 15.30.4) */
static uint32_t max_asid;
static struct asid_cpu asid_cpus[SMP_MAX_CPUS];    /* each CPU's ASID generation */
static uint32_t last_asid[SMP_MAX_CPUS];           /* the ASID each CPU entered last: unique there */

static int svm_probe(void)
{
    if (!((cpuid(0x80000001, 0).ecx >> 2) & 1))
        return -ENODEV;
    if (cpuid(0x80000000, 0).eax < 0x8000000A || !(cpuid(0x8000000A, 0).edx & 1)) {
        log_warn("svm: no nested paging (NPT): not usable");
        return -ENODEV;
    }
    if (rdmsr(MSR_VM_CR) & VM_CR_SVMDIS) {
        log_warn("svm: disabled by firmware (VM_CR.SVMDIS)");
        return -ENODEV;
    }
    return 0;
}

static uint64_t zeroed_pages(int n, uint8_t fill)
{
    uint64_t pa = pmm_alloc((size_t)n, 1);
    if (pa)
        memset((void *)(uintptr_t)pa, fill, (size_t)n * PAGE_SIZE);
    return pa;
}

/*
 * MSRs that VMSAVE/VMLOAD carry with the guest's state (SYSENTER_*, STAR/LSTAR/CSTAR/SFMASK, FS/GS base,
 * KernelGSBase) need no intercept: the guest owns them while it runs (APM 15.11: two bits per MSR,
 * read then write; 0xC0000000-0xC0001FFF start at byte 0x800 of the map).
 */
static void msrpm_pass(uint8_t *pm, uint32_t m)
{
    uint32_t off = m >= 0xC0000000u ? 0x800 : 0, bit = (m & 0x1FFF) * 2;
    pm[off + bit / 8] &= (uint8_t)~(3u << (bit % 8));
}

static int svm_cpu_prepare(int cpu)
{
    if (cpu < 0 || cpu >= SMP_MAX_CPUS)
        return -EINVAL;
    if (cpu == 0) {
        iopm_pa = zeroed_pages(3, 0xff);     /* intercept every port (APM 15.10.1) */
        msrpm_pa = zeroed_pages(2, 0xff);    /* and every MSR (15.11) */
        if (!iopm_pa || !msrpm_pa)
            return -ENOMEM;
        hvm_msr_pass_through((uint8_t *)(uintptr_t)msrpm_pa, msrpm_pass);
        max_asid = cpuid(0x8000000A, 0).ebx;
        if (max_asid < 2)
            return -ENODEV;                  /* no ASID a guest could run under (ASID 0 is the host's) */
    }
    if (!hsave_pa[cpu])
        hsave_pa[cpu] = zeroed_pages(1, 0);
    if (!host_area_pa[cpu])
        host_area_pa[cpu] = zeroed_pages(1, 0);
    return hsave_pa[cpu] && host_area_pa[cpu] ? 0 : -ENOMEM;
}

static int svm_cpu_enable(int cpu)
{
    if (cpu < 0 || cpu >= SMP_MAX_CPUS || !hsave_pa[cpu])
        return -EINVAL;
    wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SVME);
    wrmsr(MSR_VM_HSAVE_PA, hsave_pa[cpu]);
    if (cpu == 0)
        log_info("svm: enabled, %u ASIDs", max_asid);
    return 0;
}

/* The VMCB is plain memory, cached by no CPU between runs (APM 15.5) and no clean bits are set (15.15.3):
 * nothing to hand over. The next CPU flushes the vCPU's ASID before its first VMRUN there (tlb_control). */
static void svm_vcpu_release(struct hvm_vcpu *v)
{
    (void)v;
}

static int svm_vm_init(struct hvm_vm **out)
{
    struct hvm_vm *vm = kzalloc(sizeof(*vm));
    if (!vm)
        return -ENOMEM;
    if (slpt_init(&vm->npt, &npt_fmt)) {
        kfree(vm);
        return -ENOMEM;
    }
    *out = vm;
    return 0;
}

static void svm_vm_destroy(struct hvm_vm *vm)
{
    slpt_destroy(&vm->npt);
    kfree(vm);
}

static int svm_map(struct hvm_vm *vm, uint64_t gpa, uint64_t hpa, uint64_t len, int prot)
{
    return slpt_map(&vm->npt, gpa, hpa, len, prot);
}

/* Protection added: each vCPU flushes its ASID's translations at its next VMRUN (APM 15.16.1), before
 * the guest can write through a stale writable one. Lifting it needs no flush: a nested fault is not
 * kept, the retried access walks the tables again. */
static int svm_write_protect(struct hvm_vm *vm, uint64_t gpa, uint64_t len, int on)
{
    int rc = slpt_write_protect(&vm->npt, gpa, len, on);
    if (on)
        __atomic_add_fetch(&vm->wp_gen, 1, __ATOMIC_SEQ_CST);
    return rc;
}

/*
 * The vCPU's ASID on this CPU and TLB_CONTROL for this entry: 1 flushes every ASID, 3 only this vCPU's where
 * the CPU can (FlushByAsid), once after protection was added. ASIDs are unique per CPU (asid.h): a vCPU
 * arriving from another CPU gets one unused here since the last full flush. Every ASID is flushed when this
 * CPU begins a new generation of them, and whenever it last ran another vCPU: ASID tagging is what makes
 * that unnecessary, but emulators (QEMU TCG) do not tag, so two vCPUs' identical virtual addresses (global
 * kernel pages survive the CR3 load) would share translations.
 */
static uint8_t tlb_control(struct hvm_vcpu *v, uint32_t wp_gen)
{
    static int by_asid = -1;
    int me = smp_this_cpu();
    if (by_asid < 0)
        by_asid = (cpuid(0x8000000A, 0).edx >> 6) & 1;
    if (asid_enter(&asid_cpus[me], &v->tag, me, max_asid) == ASID_FLUSH_ALL || last_asid[me] != v->tag.asid)
        return 1;
    if (v->wp_seen != wp_gen)
        return by_asid ? 3 : 1;
    return 0;
}

static void put_seg(void *vmcb, unsigned off, const struct seg *s)
{
    *vmcb16(vmcb, off) = s->sel;
    *vmcb16(vmcb, off + 2) = s->attr;
    *vmcb32(vmcb, off + 4) = s->limit;
    *vmcb64(vmcb, off + 8) = s->base;
}

static void get_seg(void *vmcb, unsigned off, struct seg *s)
{
    s->sel = *vmcb16(vmcb, off);
    s->attr = *vmcb16(vmcb, off + 2);
    s->limit = *vmcb32(vmcb, off + 4);
    s->base = *vmcb64(vmcb, off + 8);
}

static void svm_set_state(struct hvm_vcpu *v, const struct guest_regs *r)
{
    void *vmcb = v->vmcb;
    put_seg(vmcb, VMCB_ES, &r->es);
    put_seg(vmcb, VMCB_CS, &r->cs);
    put_seg(vmcb, VMCB_SS, &r->ss);
    put_seg(vmcb, VMCB_DS, &r->ds);
    put_seg(vmcb, VMCB_FS, &r->fs);
    put_seg(vmcb, VMCB_GS, &r->gs);
    put_seg(vmcb, VMCB_TR, &r->tr);
    put_seg(vmcb, VMCB_LDTR, &r->ldtr);
    *vmcb32(vmcb, VMCB_GDTR + 4) = r->gdtr_limit;
    *vmcb64(vmcb, VMCB_GDTR + 8) = r->gdtr_base;
    *vmcb32(vmcb, VMCB_IDTR + 4) = r->idtr_limit;
    *vmcb64(vmcb, VMCB_IDTR + 8) = r->idtr_base;
    *vmcb8(vmcb, VMCB_CPL) = (uint8_t)((r->ss.attr >> 5) & 3);
    *vmcb64(vmcb, VMCB_EFER) = r->efer | EFER_SVME;   /* SVME must be set in the guest's EFER image */
    *vmcb64(vmcb, VMCB_CR0) = r->cr0;
    *vmcb64(vmcb, VMCB_CR2) = r->cr2;
    *vmcb64(vmcb, VMCB_CR3) = r->cr3;
    *vmcb64(vmcb, VMCB_CR4) = r->cr4;
    *vmcb64(vmcb, VMCB_RSP) = r->gpr[GPR_RSP];
    *vmcb64(vmcb, VMCB_RAX) = r->gpr[GPR_RAX];
    *vmcb64(vmcb, VMCB_RIP) = r->rip;
    *vmcb64(vmcb, VMCB_RFLAGS) = r->rflags;
    *vmcb64(vmcb, VMCB_STAR) = r->star;
    *vmcb64(vmcb, VMCB_LSTAR) = r->lstar;
    *vmcb64(vmcb, VMCB_CSTAR) = r->cstar;
    *vmcb64(vmcb, VMCB_SFMASK) = r->sfmask;
    *vmcb64(vmcb, VMCB_KGS_BASE) = r->kernel_gs_base;
    *vmcb64(vmcb, VMCB_SYSENTER_CS) = r->sysenter_cs;
    *vmcb64(vmcb, VMCB_SYSENTER_ESP) = r->sysenter_esp;
    *vmcb64(vmcb, VMCB_SYSENTER_EIP) = r->sysenter_eip;
}

static void svm_get_state(struct hvm_vcpu *v, struct guest_regs *r)
{
    void *vmcb = v->vmcb;
    get_seg(vmcb, VMCB_ES, &r->es);
    get_seg(vmcb, VMCB_CS, &r->cs);
    get_seg(vmcb, VMCB_SS, &r->ss);
    get_seg(vmcb, VMCB_DS, &r->ds);
    get_seg(vmcb, VMCB_FS, &r->fs);
    get_seg(vmcb, VMCB_GS, &r->gs);
    get_seg(vmcb, VMCB_TR, &r->tr);
    get_seg(vmcb, VMCB_LDTR, &r->ldtr);
    r->gdtr_limit = *vmcb32(vmcb, VMCB_GDTR + 4);
    r->gdtr_base = *vmcb64(vmcb, VMCB_GDTR + 8);
    r->idtr_limit = *vmcb32(vmcb, VMCB_IDTR + 4);
    r->idtr_base = *vmcb64(vmcb, VMCB_IDTR + 8);
    r->efer = *vmcb64(vmcb, VMCB_EFER) & ~EFER_SVME;
    r->cr0 = *vmcb64(vmcb, VMCB_CR0);
    r->cr2 = *vmcb64(vmcb, VMCB_CR2);
    r->cr3 = *vmcb64(vmcb, VMCB_CR3);
    r->cr4 = *vmcb64(vmcb, VMCB_CR4);
    r->star = *vmcb64(vmcb, VMCB_STAR);
    r->lstar = *vmcb64(vmcb, VMCB_LSTAR);
    r->cstar = *vmcb64(vmcb, VMCB_CSTAR);
    r->sfmask = *vmcb64(vmcb, VMCB_SFMASK);
    r->kernel_gs_base = *vmcb64(vmcb, VMCB_KGS_BASE);
    r->sysenter_cs = *vmcb64(vmcb, VMCB_SYSENTER_CS);
    r->sysenter_esp = *vmcb64(vmcb, VMCB_SYSENTER_ESP);
    r->sysenter_eip = *vmcb64(vmcb, VMCB_SYSENTER_EIP);
}

static void setup_controls(struct hvm_vcpu *v)
{
    void *vmcb = v->vmcb;
    *vmcb32(vmcb, VMCB_INTERCEPT_MISC1) = INTERCEPT_INTR | INTERCEPT_NMI | INTERCEPT_CPUID |
        INTERCEPT_INVD | INTERCEPT_HLT | INTERCEPT_IOIO | INTERCEPT_MSR | INTERCEPT_SHUTDOWN;
    *vmcb32(vmcb, VMCB_INTERCEPT_MISC2) = INTERCEPT_VMRUN | INTERCEPT_VMMCALL | INTERCEPT_VMLOAD |
        INTERCEPT_VMSAVE | INTERCEPT_STGI | INTERCEPT_CLGI | INTERCEPT_SKINIT | INTERCEPT_WBINVD |
        INTERCEPT_XSETBV | INTERCEPT_RDTSCP;    /* RDTSCP: TSC_AUX is the host's, CPUID hides it */
    *vmcb64(vmcb, VMCB_IOPM_BASE) = iopm_pa;
    *vmcb64(vmcb, VMCB_MSRPM_BASE) = msrpm_pa;
    *vmcb64(vmcb, VMCB_VINTR) = 1ull << 24;           /* V_INTR_MASKING: host IF stays the host's */
    *vmcb64(vmcb, VMCB_NP_ENABLE) = 1;
    *vmcb64(vmcb, VMCB_N_CR3) = v->vm->npt.root;
    *vmcb64(vmcb, VMCB_G_PAT) = PAT_POWER_ON;
    *vmcb64(vmcb, VMCB_DR6) = 0xffff0ff0;
    *vmcb64(vmcb, VMCB_DR7) = 0x400;
}

static int svm_vcpu_init(struct hvm_vm *vm, const struct guest_regs *regs, struct hvm_vcpu **out)
{
    struct hvm_vcpu *v = kzalloc(sizeof(*v));
    uint64_t pa = zeroed_pages(1, 0);
    if (!v || !pa) {
        kfree(v);
        if (pa)
            pmm_free(pa, 1);
        return -ENOMEM;
    }
    v->vm = vm;
    v->vmcb = (void *)(uintptr_t)pa;
    v->first_run = 1;
    v->tag.cpu = -1;
    v->spec_ctrl = spec_get()->host_spec_ctrl;
    setup_controls(v);
    svm_set_state(v, regs);
    *out = v;
    return 0;
}

static void svm_vcpu_destroy(struct hvm_vcpu *v)
{
    pmm_free((uint64_t)(uintptr_t)v->vmcb, 1);
    kfree(v);
}

static int svm_inject_event(struct hvm_vcpu *v, const struct hvm_event *ev)
{
    uint64_t *inj = vmcb64(v->vmcb, VMCB_EVENTINJ);
    if (*inj & (1ull << 31))
        return -EBUSY;
    *inj = ev->vector | ((uint64_t)ev->type << 8) | (ev->has_error ? 1ull << 11 : 0) | (1ull << 31) |
           ((uint64_t)ev->error << 32);
    return 0;
}

static int svm_irq_ready(struct hvm_vcpu *v)
{
    return (*vmcb64(v->vmcb, VMCB_RFLAGS) & RFLAGS_IF) && !(*vmcb64(v->vmcb, VMCB_INT_SHADOW) & 1) &&
           !(*vmcb64(v->vmcb, VMCB_EVENTINJ) & (1ull << 31));
}

/* Interrupt window: a virtual interrupt with V_IGN_TPR exits (VINTR) once the guest can take it (15.21.4). */
static void svm_irq_window_set(void *vmcb, int on)
{
    uint64_t *vintr = vmcb64(vmcb, VMCB_VINTR);
    uint32_t *misc1 = vmcb32(vmcb, VMCB_INTERCEPT_MISC1);
    if (on) {
        *vintr |= (1ull << 8) | (1ull << 20) | (0xfull << 16);
        *misc1 |= INTERCEPT_VINTR;
    } else {
        *vintr &= ~((1ull << 8) | (1ull << 20) | (0xfull << 16));
        *misc1 &= ~INTERCEPT_VINTR;
    }
}

static void svm_irq_window(struct hvm_vcpu *v, int on)
{
    svm_irq_window_set(v->vmcb, on);
}

/*
 * An exit inside an STI or MOV SS shadow resumes at the shadowed instruction with INT_SHADOW set, which
 * must keep a virtual interrupt out until it has run (APM 15.21.5). QEMU TCG does not honour INT_SHADOW
 * at VMRUN: it takes the pending V_IRQ (a VINTR exit) before the instruction, the VMM injects there, and
 * for STI; HLT the handler returns to the HLT and the guest sleeps through the interrupt meant to wake
 * it. So V_IRQ waits for the next exit; an HLT exits at once and the interrupt goes in after it.
 */
static void hold_window_in_shadow(void *vmcb)
{
    if (*vmcb64(vmcb, VMCB_INT_SHADOW) & 1)
        svm_irq_window_set(vmcb, 0);
}

/*
 * What of EXITINTINFO goes again at the next VMRUN (APM 15.7.2, 15.20). Not a software interrupt (INTn,
 * type 4) nor a software exception (INT3 or INTO: #BP, #OF): RIP still points at that instruction, so it
 * runs again and raises its event anew. Re-injected, it would push RIP itself as the return address and
 * the instruction would run twice (a nested fault on the guest's stack, e.g. a page write-protected for
 * dirty tracking, cut INT3's delivery short and Linux's int3 self-test saw its handler run twice).
 */
static uint64_t redelivery(uint64_t intinfo)
{
    uint32_t type = (intinfo >> 8) & 7, vector = intinfo & 0xff;
    if (!(intinfo & (1ull << 31)) || type == 4 || (type == 3 && (vector == 3 || vector == 4)))
        return 0;
    return intinfo;
}

static int svm_vcpu_run(struct hvm_vcpu *v, struct guest_regs *r, struct vm_exit *ex, uint64_t slice_ns)
{
    void *vmcb = v->vmcb;
    (void)slice_ns;      /* the host LAPIC timer (intercepted INTR) ends slices on SVM */
    /* The VMM completed the exiting instruction: its interrupt shadow is over (APM 15.21.5). */
    if (!v->first_run && r->rip != v->exit_rip)
        *vmcb64(vmcb, VMCB_INT_SHADOW) &= ~1ull;
    hold_window_in_shadow(vmcb);
    *vmcb64(vmcb, VMCB_RAX) = r->gpr[GPR_RAX];
    *vmcb64(vmcb, VMCB_RSP) = r->gpr[GPR_RSP];
    *vmcb64(vmcb, VMCB_RIP) = r->rip;
    *vmcb64(vmcb, VMCB_RFLAGS) = r->rflags;
    /* wp_gen is read once (another CPU may add protection now: vm_tlb_shootdown waits for this entry). */
    uint32_t wp_gen = __atomic_load_n(&v->vm->wp_gen, __ATOMIC_SEQ_CST);
    *vmcb8(vmcb, VMCB_TLB_CONTROL) = tlb_control(v, wp_gen);
    *vmcb32(vmcb, VMCB_ASID) = v->tag.asid;
    v->wp_seen = wp_gen;
    last_asid[smp_this_cpu()] = v->tag.asid;
    v->first_run = 0;
    spec_enter(v->spec_ctrl, 0);
    svm_enter((uint64_t)(uintptr_t)vmcb, r->gpr, host_area_pa[smp_this_cpu()]);
    v->spec_ctrl = spec_exit(v->spec_ctrl);
    r->gpr[GPR_RAX] = *vmcb64(vmcb, VMCB_RAX);
    r->gpr[GPR_RSP] = *vmcb64(vmcb, VMCB_RSP);
    r->rip = v->exit_rip = *vmcb64(vmcb, VMCB_RIP);
    r->rflags = *vmcb64(vmcb, VMCB_RFLAGS);
    svm_normalise_exit(vmcb, r->rip, ex);
    /* An event whose delivery was cut short by this exit goes again at the next entry (15.7.2); after a
     * shutdown there is none to finish (the VM stops or is reset: a #DF injected into it looped). */
    *vmcb64(vmcb, VMCB_EVENTINJ) = ex->code == EXIT_SHUTDOWN ? 0 : redelivery(*vmcb64(vmcb, VMCB_EXITINTINFO));
    return 0;
}

static void svm_get_events(struct hvm_vcpu *v, struct hvm_events *ev)
{
    uint64_t inj = *vmcb64(v->vmcb, VMCB_EVENTINJ);
    memset(ev, 0, sizeof(*ev));
    ev->inject = (uint32_t)inj & (0x7ffu | HVM_INJECT_VALID);   /* vector, type, EV, V (APM 15.20) */
    ev->inject_error = (inj & HVM_INJECT_VALID) ? (uint32_t)(inj >> 32) : 0;
    ev->int_shadow = *vmcb64(v->vmcb, VMCB_INT_SHADOW) & 1;
    /* NMI blocking is CPU-internal on SVM without vNMI; shoal injects no NMI, so none is ever blocked. */
    ev->tsc_offset = *vmcb64(v->vmcb, VMCB_TSC_OFFSET);
    ev->dr7 = *vmcb64(v->vmcb, VMCB_DR7);
    ev->dr6 = *vmcb64(v->vmcb, VMCB_DR6);
    ev->pat = *vmcb64(v->vmcb, VMCB_G_PAT);
    ev->spec_ctrl = v->spec_ctrl;
}

/* Types 5 and 6 (VMX's software exceptions) and NMI blocking have no VMCB form here. */
static int svm_set_events(struct hvm_vcpu *v, const struct hvm_events *ev)
{
    uint32_t type = (ev->inject >> 8) & 7;
    if (ev->nmi_blocked || ev->activity || ((ev->inject & HVM_INJECT_VALID) && type > 4))
        return -EINVAL;
    *vmcb64(v->vmcb, VMCB_EVENTINJ) = (ev->inject & HVM_INJECT_VALID) ?
        (ev->inject | ((uint64_t)ev->inject_error << 32)) : 0;
    *vmcb64(v->vmcb, VMCB_INT_SHADOW) = (*vmcb64(v->vmcb, VMCB_INT_SHADOW) & ~1ull) | (ev->int_shadow & 1);
    *vmcb64(v->vmcb, VMCB_TSC_OFFSET) = ev->tsc_offset;
    *vmcb64(v->vmcb, VMCB_DR7) = ev->dr7;
    *vmcb64(v->vmcb, VMCB_DR6) = ev->dr6;
    *vmcb64(v->vmcb, VMCB_G_PAT) = ev->pat;
    v->spec_ctrl = ev->spec_ctrl;
    return 0;
}

const struct hvm_ops svm_ops = {
    .name = "SVM+NPT",
    .probe = svm_probe,
    .cpu_prepare = svm_cpu_prepare,
    .cpu_enable = svm_cpu_enable,
    .vm_init = svm_vm_init,
    .vm_destroy = svm_vm_destroy,
    .map = svm_map,
    .vcpu_init = svm_vcpu_init,
    .vcpu_destroy = svm_vcpu_destroy,
    .vcpu_release = svm_vcpu_release,
    .vcpu_run = svm_vcpu_run,
    .get_state = svm_get_state,
    .set_state = svm_set_state,
    .inject_event = svm_inject_event,
    .irq_ready = svm_irq_ready,
    .irq_window = svm_irq_window,
    .get_events = svm_get_events,
    .set_events = svm_set_events,
    .write_protect = svm_write_protect,
};
