/* The vCPU record: round trips, and every field VM entry or the VMM would refuse is refused with its reason. */
#define TEST_SUITE "vcpurec"
#include "tests/unit/test.h"
#include "vmm/vcpustate.h"
#include "arch/x86/xstate.h"
#include "tests/unit/vcpurec_sample.h"

#define lim sample_limits
#define good sample_record

static int restore(struct vcpu_record *out, const struct vcpu_record *in, const char **why)
{
    static uint8_t buf[4096];
    struct vcpu_record copy = *in;
    struct snap s = { buf, sizeof(buf), 0, 1, 0, NULL };
    vcpu_record_snapshot(&copy, &s, &lim);
    struct snap r = { buf, s.pos, 0, 0, 0, NULL };
    vcpu_record_snapshot(out, &r, &lim);
    *why = r.why;
    return r.err;
}

TEST(round_trip_same_bytes)
{
    static uint8_t a[4096], b[4096];
    struct vcpu_record r = good(), back;
    struct snap s = { a, sizeof(a), 0, 1, 0, NULL };
    vcpu_record_snapshot(&r, &s, &lim);
    CHECK_EQ(s.err, 0);
    struct snap t = { a, s.pos, 0, 0, 0, NULL };
    memset(&back, 0xee, sizeof(back));
    vcpu_record_snapshot(&back, &t, &lim);
    CHECK_EQ(t.err, 0);
    CHECK_EQ(t.pos, s.pos);
    struct snap u = { b, sizeof(b), 0, 1, 0, NULL };
    vcpu_record_snapshot(&back, &u, &lim);
    CHECK_EQ(u.pos, s.pos);
    CHECK_MEM(a, b, s.pos);
    CHECK_MEM(&back.regs, &r.regs, sizeof(r.regs));
    CHECK_U64(back.guest_tsc, 123456789);
}

TEST(truncated_and_other_version_refused)
{
    static uint8_t a[4096];
    struct vcpu_record r = good(), back;
    struct snap s = { a, sizeof(a), 0, 1, 0, NULL };
    vcpu_record_snapshot(&r, &s, &lim);
    struct snap t = { a, s.pos - 1, 0, 0, 0, NULL };
    vcpu_record_snapshot(&back, &t, &lim);
    CHECK_EQ(t.err, -22);
    a[4] = 2;                                        /* version */
    struct snap v = { a, s.pos, 0, 0, 0, NULL };
    vcpu_record_snapshot(&back, &v, &lim);
    CHECK_EQ(v.err, -71);
}

struct bad { const char *name; void (*spoil)(struct vcpu_record *r); const char *why; };

static void cr0_high(struct vcpu_record *r) { r->regs.cr0 |= 1ull << 32; }
static void cr0_pg_no_pe(struct vcpu_record *r) { r->regs.cr0 &= ~1ull; }
static void cr0_nw(struct vcpu_record *r) { r->regs.cr0 |= 1ull << 29; }
static void cr4_vmxe(struct vcpu_record *r) { r->regs.cr4 |= 1ull << 13; }
static void cr3_wide(struct vcpu_record *r) { r->regs.cr3 |= 1ull << 45; }
static void efer_rsvd(struct vcpu_record *r) { r->regs.efer |= 1ull << 2; }
static void lma_no_lme(struct vcpu_record *r) { r->regs.efer = 0x400; }
static void lm_no_pae(struct vcpu_record *r) { r->regs.cr4 &= ~0x20ull; }
static void rflags_rsvd(struct vcpu_record *r) { r->regs.rflags |= 1ull << 24; }
static void rflags_bit1(struct vcpu_record *r) { r->regs.rflags &= ~2ull; }
static void rip_noncanon(struct vcpu_record *r) { r->regs.rip = 0x0000800000000000ull; }
static void cs_l_and_d(struct vcpu_record *r) { r->regs.cs.attr |= 1u << 10; }
static void seg_granularity(struct vcpu_record *r) { r->regs.ds.limit = 0xfffff000; }
static void seg_attr_rsvd(struct vcpu_record *r) { r->regs.es.attr |= 0x1000; }
static void tr_not_tss(struct vcpu_record *r) { r->regs.tr.attr = 0x82; }
static void tr_16bit_in_lm(struct vcpu_record *r) { r->regs.tr.attr = 0x83; }
static void ldtr_not_ldt(struct vcpu_record *r) { r->regs.ldtr = (struct seg){ 0, 0x83, 0xff, 0 }; }
static void fs_noncanon(struct vcpu_record *r) { r->regs.fs.base = 1ull << 60; }
static void gdtr_limit(struct vcpu_record *r) { r->regs.gdtr_limit = 0x10000; }
static void lstar_noncanon(struct vcpu_record *r) { r->regs.lstar = 0x8000000000000000ull; }
static void pat_type(struct vcpu_record *r) { r->ev.pat = 0x0007040600070402ull; }
static void dr7_high(struct vcpu_record *r) { r->ev.dr7 |= 1ull << 40; }
static void spec_ctrl_rsvd(struct vcpu_record *r) { r->ev.spec_ctrl |= 1ull << 10; }
static void xcr0_avx_no_sse(struct vcpu_record *r) { r->regs.xcr0 = 5; }
static void xcr0_unoffered(struct vcpu_record *r) { r->regs.xcr0 = 0xe7; }
static void inj_type1(struct vcpu_record *r) { r->ev.inject = HVM_INJECT_VALID | (1u << 8) | 0x40; }
static void inj_nmi_vec(struct vcpu_record *r) { r->ev.inject = HVM_INJECT_VALID | (2u << 8) | 3; }
static void inj_exc_vec(struct vcpu_record *r) { r->ev.inject = HVM_INJECT_VALID | (3u << 8) | 40; }
static void inj_err_on_ud(struct vcpu_record *r) { r->ev.inject = HVM_INJECT_VALID | (3u << 8) | (1u << 11) | 6; }
static void inj_rsvd(struct vcpu_record *r) { r->ev.inject |= 1u << 20; }
static void inj_soft_len(struct vcpu_record *r) { r->ev.inject = HVM_INJECT_VALID | (4u << 8) | 0x80; }
static void inj_masked(struct vcpu_record *r) { r->regs.rflags &= ~0x200ull; }
static void shadow_2(struct vcpu_record *r) { r->ev.int_shadow = 2; }
static void activity(struct vcpu_record *r) { r->ev.activity = 1; }
static void sipi_running(struct vcpu_record *r) { r->wait_sipi = 1; }
static void exc_vec(struct vcpu_record *r) { r->exc_pending = 1; r->exc = (struct hvm_event){ 33, EVENT_EXCEPTION, 0, 0 }; }
static void irq_low(struct vcpu_record *r) { r->irq_pending[0] = 1u << 14; }

static const struct bad bads[] = {
    { "cr0_high", cr0_high, "CR0 reserved bits set" },
    { "cr0_pg_no_pe", cr0_pg_no_pe, "CR0.PG without CR0.PE" },
    { "cr0_nw", cr0_nw, "CR0.NW without CR0.CD" },
    { "cr4_vmxe", cr4_vmxe, "CR4 bits this host does not offer" },
    { "cr3_wide", cr3_wide, "CR3 beyond the physical address width" },
    { "efer_rsvd", efer_rsvd, "EFER reserved bits set" },
    { "lma_no_lme", lma_no_lme, "EFER.LMA disagrees with LME and CR0.PG" },
    { "lm_no_pae", lm_no_pae, "long mode without CR4.PAE" },
    { "rflags_rsvd", rflags_rsvd, "RFLAGS reserved bits wrong" },
    { "rflags_bit1", rflags_bit1, "RFLAGS reserved bits wrong" },
    { "rip_noncanon", rip_noncanon, "RIP not canonical" },
    { "cs_l_and_d", cs_l_and_d, "CS.L and CS.D both set" },
    { "seg_granularity", seg_granularity, "segment attributes or limit/granularity invalid" },
    { "seg_attr_rsvd", seg_attr_rsvd, "segment attributes or limit/granularity invalid" },
    { "tr_not_tss", tr_not_tss, "TR is not a TSS" },
    { "tr_16bit_in_lm", tr_16bit_in_lm, "TR is not a TSS" },
    { "ldtr_not_ldt", ldtr_not_ldt, "LDTR is not an LDT" },
    { "fs_noncanon", fs_noncanon, "FS/GS/TR/LDTR base not canonical" },
    { "gdtr_limit", gdtr_limit, "GDTR/IDTR limit above 64 KiB" },
    { "lstar_noncanon", lstar_noncanon, "MSR address not canonical" },
    { "pat_type", pat_type, "PAT holds a reserved memory type" },
    { "dr7_high", dr7_high, "DR6/DR7 reserved bits 63:32 set" },
    { "spec_ctrl_rsvd", spec_ctrl_rsvd, "SPEC_CTRL bits this host does not have" },
    { "xcr0_avx_no_sse", xcr0_avx_no_sse, "XCR0 not valid for this guest's CPUID" },
    { "xcr0_unoffered", xcr0_unoffered, "XCR0 not valid for this guest's CPUID" },
    { "inj_type1", inj_type1, "injected event type reserved" },
    { "inj_nmi_vec", inj_nmi_vec, "injected NMI with a vector other than 2" },
    { "inj_exc_vec", inj_exc_vec, "injected exception vector out of range" },
    { "inj_err_on_ud", inj_err_on_ud, "error code on an event that has none" },
    { "inj_rsvd", inj_rsvd, "injected event reserved bits set" },
    { "inj_soft_len", inj_soft_len, "software event length out of range" },
    { "inj_masked", inj_masked, "external interrupt injected while masked" },
    { "shadow_2", shadow_2, "blocking flags out of range" },
    { "activity", activity, "activity state other than active" },
    { "sipi_running", sipi_running, "waiting for SIPI but not halted" },
    { "exc_vec", exc_vec, "pending exception invalid" },
    { "irq_low", irq_low, "pending interrupt vector below 32" },
};

TEST(each_bad_field_refused_with_its_reason)
{
    struct vcpu_record r = good(), out;
    const char *why = NULL;
    CHECK_EQ(restore(&out, &r, &why), 0);           /* the good record itself passes */
    for (unsigned i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
        r = good();
        bads[i].spoil(&r);
        why = NULL;
        int rc = restore(&out, &r, &why);
        if (rc != -22 || !why || strcmp(why, bads[i].why))
            test_fail(__FILE__, __LINE__, "%s: rc %d, reason \"%s\", expected \"%s\"", bads[i].name, rc,
                      why ? why : "(none)", bads[i].why);
    }
}

/* An XSAVE image: legacy area, header, one AVX component (832 bytes, as QEMU's EPYC has). */
static void area(uint8_t *a)
{
    memset(a, 0, 832);
    a[24] = 0x80;
    a[25] = 0x1f;                                    /* MXCSR 0x1f80 */
    a[512] = 7;                                      /* XSTATE_BV: x87, SSE, AVX */
}

TEST(xsave_images_checked)
{
    static uint8_t a[832];
    const char *why = NULL;
    area(a);
    CHECK_EQ(xsave_check(a, 832, 832, 7, &why), 0);
    CHECK_EQ(xsave_check(a, 512, 512, 7, &why), 0);  /* FXSAVE-only host */
    CHECK_EQ(xsave_check(a, 832, 576, 7, &why), -22);
    CHECK_STR(why, "XSAVE area size differs from this host's");
    CHECK_EQ(xsave_check(a, 832, 832, 3, &why), -22);
    CHECK_STR(why, "XSTATE_BV has components XCR0 does not enable");
    area(a);
    a[520] = 1;                                      /* XCOMP_BV: compacted form */
    CHECK_EQ(xsave_check(a, 832, 832, 7, &why), -22);
    CHECK_STR(why, "XSAVE header reserved bytes are not zero");
    area(a);
    a[575] = 1;
    CHECK_EQ(xsave_check(a, 832, 832, 7, &why), -22);
    area(a);
    a[26] = 1;                                       /* MXCSR bit 16 */
    CHECK_EQ(xsave_check(a, 832, 832, 7, &why), -22);
    CHECK_STR(why, "MXCSR reserved bits set");
}
