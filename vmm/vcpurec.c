/* The vCPU record walked both ways and checked as VM entry would check it (SDM 3C 27.3.1, APM 15.5.1): pure. */
#include "vmm/vcpustate.h"
#include "arch/x86/xstate.h"
#include "arch/x86/cpu.h"

#define CR0_KNOWN 0xe005003full          /* PE MP EM TS ET NE WP AM NW CD PG (SDM 3A 2.5) */
#define RFLAGS_FIXED1 (1ull << 1)
#define RFLAGS_RSVD (~0x3f7fd7ull)       /* bits 3, 5, 15, 22-63 (SDM 1 3.4.3) */
#define RFLAGS_VM (1ull << 17)

#define CHECK(cond, reason) do { if (!(cond)) { *why = (reason); return -22; } } while (0)

/* Limit and granularity agree (SDM 3C 27.3.1.2): G=1 needs the low 12 bits set, G=0 a limit below 1 MiB. */
static int seg_ok(const struct seg *s)
{
    if (s->attr & ~0xfffu)
        return 0;
    if (!(s->attr & SEG_ATTR_P))
        return 1;                                /* unusable: the CPU ignores the rest */
    if (s->attr & SEG_ATTR_G)
        return (s->limit & 0xfff) == 0xfff;
    return s->limit <= 0xfffff;
}

static int check_segs(const struct guest_regs *r, int lma, const char **why)
{
    const struct seg *all[] = { &r->cs, &r->ds, &r->es, &r->fs, &r->gs, &r->ss, &r->tr, &r->ldtr };
    for (unsigned i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        CHECK(seg_ok(all[i]), "segment attributes or limit/granularity invalid");
    CHECK(r->tr.attr & SEG_ATTR_P, "TR not usable");
    /* A TSS, available or busy: the VMCB keeps what LTR loaded (QEMU: available); VMX marks it busy. */
    CHECK(!(r->tr.attr & SEG_ATTR_S) && ((r->tr.attr & 0xd) == 9 || (!lma && (r->tr.attr & 0xd) == 1)),
          "TR is not a TSS");
    CHECK(!(r->ldtr.attr & SEG_ATTR_P) || (!(r->ldtr.attr & SEG_ATTR_S) && (r->ldtr.attr & 0xf) == 2),
          "LDTR is not an LDT");
    CHECK(r->cs.attr & SEG_ATTR_P, "CS not usable");
    CHECK(!lma || !((r->cs.attr & SEG_ATTR_L) && (r->cs.attr & SEG_ATTR_DB)), "CS.L and CS.D both set");
    CHECK(lma || !(r->cs.attr & SEG_ATTR_L), "CS.L set outside long mode");
    CHECK(canonical(r->fs.base) && canonical(r->gs.base) && canonical(r->tr.base) && canonical(r->ldtr.base),
          "FS/GS/TR/LDTR base not canonical");
    CHECK(!(r->cs.base >> 32) && !(r->ss.base >> 32) && !(r->ds.base >> 32) && !(r->es.base >> 32),
          "CS/SS/DS/ES base above 4 GiB");
    CHECK(canonical(r->gdtr_base) && canonical(r->idtr_base), "GDTR/IDTR base not canonical");
    CHECK(r->gdtr_limit <= 0xffff && r->idtr_limit <= 0xffff, "GDTR/IDTR limit above 64 KiB");
    return 0;
}

static int check_control(const struct guest_regs *r, const struct vcpu_limits *lim, const char **why)
{
    int lma = !!(r->efer & EFER_LMA);
    CHECK(!(r->cr0 & ~CR0_KNOWN), "CR0 reserved bits set");
    CHECK(!(r->cr0 & CR0_PG) || (r->cr0 & CR0_PE), "CR0.PG without CR0.PE");
    CHECK(!(r->cr0 & CR0_NW) || (r->cr0 & CR0_CD), "CR0.NW without CR0.CD");
    CHECK(!(r->cr4 & ~lim->cr4_allowed), "CR4 bits this host does not offer");
    CHECK(lim->maxphyaddr >= 64 || !(r->cr3 >> lim->maxphyaddr), "CR3 beyond the physical address width");
    CHECK(!(r->efer & ~EFER_GUEST_ALLOWED), "EFER reserved bits set");
    CHECK((r->cr0 & CR0_PG) ? lma == !!(r->efer & EFER_LME) : !lma, "EFER.LMA disagrees with LME and CR0.PG");
    CHECK(!lma || (r->cr4 & CR4_PAE), "long mode without CR4.PAE");
    CHECK((r->rflags & RFLAGS_FIXED1) && !(r->rflags & RFLAGS_RSVD), "RFLAGS reserved bits wrong");
    CHECK(!lma || !(r->rflags & RFLAGS_VM), "RFLAGS.VM in long mode");
    CHECK((lma && (r->cs.attr & SEG_ATTR_L)) ? canonical(r->rip) : !(r->rip >> 32), "RIP not canonical");
    return check_segs(r, lma, why);
}

/* The MSRs: WRMSR would #GP on a non-canonical address (SDM 4 table 2-2); PAT types 2 and 3 are reserved. */
static int check_msrs(const struct guest_regs *r, const struct hvm_events *ev, uint64_t spec_ctrl_allowed,
                      const char **why)
{
    CHECK(canonical(r->kernel_gs_base) && canonical(r->lstar) && canonical(r->cstar) &&
          canonical(r->sysenter_esp) && canonical(r->sysenter_eip), "MSR address not canonical");
    CHECK(!(r->sfmask >> 32) && !(r->sysenter_cs >> 32), "SFMASK/SYSENTER_CS reserved bits set");
    for (int i = 0; i < 8; i++) {
        uint8_t t = (uint8_t)(ev->pat >> (i * 8));
        CHECK(t < 8 && t != 2 && t != 3, "PAT holds a reserved memory type");
    }
    CHECK(!(ev->dr7 >> 32) && !(ev->dr6 >> 32), "DR6/DR7 reserved bits 63:32 set");
    CHECK(!(ev->spec_ctrl & ~spec_ctrl_allowed), "SPEC_CTRL bits this host does not have");
    return 0;
}

/* The event for the next entry (SDM 3C 27.2.1.3, APM 15.20). */
static int check_inject(const struct vcpu_record *r, const char **why)
{
    uint32_t e = r->ev.inject, type = (e >> 8) & 7, vec = e & 0xff;
    if (!(e & HVM_INJECT_VALID))
        return 0;
    CHECK(!(e & 0x7ffff000u), "injected event reserved bits set");
    CHECK(type != 1 && type != 7, "injected event type reserved");
    CHECK(type != 2 || vec == 2, "injected NMI with a vector other than 2");
    CHECK(type != 3 || (vec <= 31 && vec != 2), "injected exception vector out of range");
    CHECK(!(e & (1u << 11)) || (type == 3 && (r->regs.cr0 & CR0_PE) &&
          (vec == 8 || (vec >= 10 && vec <= 14) || vec == 17)), "error code on an event that has none");
    CHECK(!(e & (1u << 11)) || !(r->ev.inject_error >> 16), "injected error code bits 31:16 set");
    CHECK(type < 4 || (r->ev.inject_len >= 1 && r->ev.inject_len <= 15), "software event length out of range");
    CHECK(type != 0 || ((r->regs.rflags & RFLAGS_IF) && !r->ev.int_shadow), "external interrupt injected while masked");
    return 0;
}

static int check_events(const struct vcpu_record *r, const char **why)
{
    CHECK(r->ev.int_shadow <= 1 && r->ev.nmi_blocked <= 1 && !r->ev.pad, "blocking flags out of range");
    CHECK(r->ev.activity == 0, "activity state other than active");
    CHECK(r->ev.inject_len <= 15, "event instruction length out of range");
    CHECK(r->halted <= 1 && r->wait_sipi <= 1 && r->exc_pending <= 1, "vCPU flags out of range");
    CHECK(!r->wait_sipi || r->halted, "waiting for SIPI but not halted");
    CHECK(!r->exc_pending || (r->exc.type == EVENT_EXCEPTION && r->exc.vector <= 31 && r->exc.vector != 2 &&
                              r->exc.has_error <= 1), "pending exception invalid");
    CHECK(!(r->irq_pending[0] & 0xffffffffu), "pending interrupt vector below 32");
    return check_inject(r, why);
}

int vcpu_record_check(const struct vcpu_record *r, const struct vcpu_limits *lim, const char **why)
{
    int rc = check_control(&r->regs, lim, why);
    if (!rc)
        rc = check_msrs(&r->regs, &r->ev, lim->spec_ctrl_allowed, why);
    if (!rc && !xcr0_valid(r->regs.xcr0, lim->xcr0_allowed)) {
        *why = "XCR0 not valid for this guest's CPUID";
        rc = -22;
    }
    return rc ? rc : check_events(r, why);
}

void vcpu_record_snapshot(struct vcpu_record *r, struct snap *s, const struct vcpu_limits *lim)
{
    const char *why = "";
    snap_header(s, SNAP_TAG_VCPU, VCPU_RECORD_VERSION);
    SNAP(s, r->regs);
    SNAP(s, r->ev);
    SNAP(s, r->guest_tsc);
    SNAP(s, r->irq_pending);
    SNAP(s, r->exc.vector);
    SNAP(s, r->exc.type);
    SNAP(s, r->exc.has_error);
    SNAP(s, r->exc.error);
    SNAP(s, r->exc_pending);
    SNAP(s, r->halted);
    SNAP(s, r->wait_sipi);
    if (!s->save && !s->err && vcpu_record_check(r, lim, &why))
        snap_fail(s, why);
}
