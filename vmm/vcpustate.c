/* A vCPU's record gathered from the VMM and the backend, and loaded back into a vCPU that has not run since. */
#include "vmm/vcpustate.h"
#include "vmm/vm.h"
#include "vmm/exits.h"
#include "arch/x86/xstate.h"
#include "arch/x86/cpu.h"
#include "arch/x86/spec.h"
#include "kernel/kstring.h"

#define CR4_OFFERED 0x770fffull          /* VME..UMIP, FSGSBASE, PCIDE, OSXSAVE, SMEP, SMAP, PKE; never VMXE/SMXE/LA57 */

/* IBRS, STIBP, SSBD as CPUID names them: Intel leaf 7 EDX 26/27/31, AMD 0x80000008 EBX 14/15/24 (the
 * host's SPEC_CTRL value is always allowed: a vCPU starts with it). */
static uint64_t spec_ctrl_bits(void)
{
    uint32_t d = cpuid(0, 0).eax >= 7 ? cpuid(7, 0).edx : 0;
    uint32_t b = cpuid(0x80000000, 0).eax >= 0x80000008 ? cpuid(0x80000008, 0).ebx : 0;
    if (!spec_get()->spec_ctrl)
        return spec_get()->host_spec_ctrl;
    return spec_get()->host_spec_ctrl | ((d >> 26) & 1 || (b >> 14) & 1 ? 1 : 0) |
           ((d >> 27) & 1 || (b >> 15) & 1 ? 2 : 0) | ((d >> 31) & 1 || (b >> 24) & 1 ? 4 : 0);
}

static void limits(struct vcpu *v, struct vcpu_limits *lim)
{
    lim->xcr0_allowed = cpuid_guest_xcr0(v);
    lim->cr4_allowed = CR4_OFFERED;
    lim->maxphyaddr = cpuid(0x80000000, 0).eax >= 0x80000008 ? (int)(cpuid(0x80000008, 0).eax & 0xff) : 36;
    lim->spec_ctrl_allowed = spec_ctrl_bits();
}

static void gather(struct vcpu *v, struct vcpu_record *r)
{
    memset(r, 0, sizeof(*r));
    vcpu_sync_full(v);
    r->regs = v->regs;
    hvm->get_events(v->hw, &r->ev);
    r->guest_tsc = rdtsc() + r->ev.tsc_offset;
    for (int i = 0; i < 4; i++)
        r->irq_pending[i] = __atomic_load_n(&v->irq_pending[i], __ATOMIC_SEQ_CST);
    r->exc = v->exc;
    r->exc_pending = (uint8_t)v->exc_pending;
    r->halted = (uint8_t)v->halted;
    r->wait_sipi = (uint8_t)v->wait_sipi;
}

/* The guest's TSC goes on from where it was saved: the offset is taken against this host's TSC now. */
static int apply(struct vcpu *v, struct vcpu_record *r)
{
    int rc;
    r->ev.tsc_offset = r->guest_tsc - rdtsc();
    v->regs = r->regs;
    vcpu_put_full(v);
    if ((rc = hvm->set_events(v->hw, &r->ev)))
        return rc;
    v->tsc_offset = r->ev.tsc_offset;
    memcpy(v->irq_pending, r->irq_pending, sizeof(v->irq_pending));
    v->exc = r->exc;
    v->exc_pending = r->exc_pending;
    v->halted = r->halted;
    v->wait_sipi = r->wait_sipi;
    vcpu_drop_xstate(v);                 /* the hardware's registers are not the restored ones */
    return 0;
}

int vcpu_snapshot(struct vcpu *v, struct snap *s)
{
    struct vcpu_record r;
    struct vcpu_limits lim;
    limits(v, &lim);
    if (s->save) {
        gather(v, &r);
        vcpu_flush_xstate(v);
    }
    vcpu_record_snapshot(&r, s, &lim);
    if (!s->err)
        xstate_snapshot(v->fpu, s, r.regs.xcr0);
    if (!s->save && !s->err && apply(v, &r))
        snap_fail(s, "the backend cannot load this vCPU state (NMI blocking or event type)");
    return s->err;
}
