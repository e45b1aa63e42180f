/* VMCS contents: host state, controls, and guest state transfer in both directions (SDM 3C 25). */
#include "arch/x86/vmx/vmx.h"
#include "arch/x86/vmx/vmcs.h"
#include "arch/x86/cpu.h"
#include "arch/x86/traps.h"

#define ENTRY_IA32E (1u << 9)

uint64_t vmx_msr_bitmap(void);

static const uint32_t auto_msrs[VMX_NR_AUTO_MSRS] = {
    [VMX_KERNEL_GS_BASE] = MSR_KERNEL_GS_BASE, [VMX_STAR] = MSR_STAR, [VMX_LSTAR] = MSR_LSTAR,
    [VMX_CSTAR] = MSR_CSTAR, [VMX_SFMASK] = MSR_SFMASK,
};

/*
 * MSR bitmap (SDM 3C 25.6.9): read bitmaps for 0-0x1FFF at byte 0 and 0xC0000000-0xC0001FFF at 0x400,
 * write bitmaps at 0x800 and 0xC00. A clear bit lets RDMSR/WRMSR reach the real MSR: SYSENTER_* and
 * FS/GS base are loaded from the guest-state area at entry and saved there at exit (27.3.2, 28.3.1),
 * the rest travel through the MSR areas (vmx_msr_areas_setup).
 */
static void pass_msr(uint8_t *bitmap, uint32_t m)
{
    uint32_t off = m >= 0xC0000000u ? 0x400 : 0, bit = m & 0x1FFF;
    bitmap[off + bit / 8] &= (uint8_t)~(1u << (bit % 8));
    bitmap[0x800 + off + bit / 8] &= (uint8_t)~(1u << (bit % 8));
}

void vmx_msr_pass_through(uint8_t *bitmap)
{
    hvm_msr_pass_through(bitmap, pass_msr);
}

/*
 * One array serves as the VM-exit MSR-store area and the VM-entry MSR-load area (the guest's values
 * survive in it between runs); a second one, the VM-exit MSR-load area, puts the host's back (27.4, 28.6).
 */
static void msr_areas_setup(struct hvm_vcpu *v)
{
    struct vmx_msr_entry *g = vmx_guest_msrs(v);
    struct vmx_msr_entry *h = (struct vmx_msr_entry *)(uintptr_t)(v->msr_page_pa + VMX_HOST_MSR_OFF);
    for (int i = 0; i < VMX_NR_AUTO_MSRS; i++) {
        g[i].index = h[i].index = auto_msrs[i];
        h[i].value = rdmsr(auto_msrs[i]);
    }
    vmwrite(EXIT_MSR_STORE_ADDR, v->msr_page_pa);
    vmwrite(ENTRY_MSR_LOAD_ADDR, v->msr_page_pa);
    vmwrite(EXIT_MSR_LOAD_ADDR, v->msr_page_pa + VMX_HOST_MSR_OFF);
    vmwrite(EXIT_MSR_STORE_CNT, VMX_NR_AUTO_MSRS);
    vmwrite(ENTRY_MSR_LOAD_CNT, VMX_NR_AUTO_MSRS);
    vmwrite(EXIT_MSR_LOAD_CNT, VMX_NR_AUTO_MSRS);
}

/* SVM-packed attributes (guest_regs.h) to VMX access rights and back (SDM 3C 25.4.1, table 25-2). */
static uint32_t to_ar(uint16_t attr)
{
    uint32_t ar = (attr & 0xffu) | ((uint32_t)(attr & 0xf00u) << 4);
    return (attr & 0x80u) ? ar : (ar | (1u << 16));    /* not present: unusable */
}

static uint16_t from_ar(uint32_t ar)
{
    if (ar & (1u << 16))
        return 0;
    return (uint16_t)((ar & 0xffu) | ((ar >> 4) & 0xf00u));
}

struct seg_fields { uint32_t sel, limit, ar, base; };
static const struct seg_fields seg_es = { GUEST_ES_SEL, GUEST_ES_LIMIT, GUEST_ES_AR, GUEST_ES_BASE },
    seg_cs = { GUEST_CS_SEL, GUEST_CS_LIMIT, GUEST_CS_AR, GUEST_CS_BASE },
    seg_ss = { GUEST_SS_SEL, GUEST_SS_LIMIT, GUEST_SS_AR, GUEST_SS_BASE },
    seg_ds = { GUEST_DS_SEL, GUEST_DS_LIMIT, GUEST_DS_AR, GUEST_DS_BASE },
    seg_fs = { GUEST_FS_SEL, GUEST_FS_LIMIT, GUEST_FS_AR, GUEST_FS_BASE },
    seg_gs = { GUEST_GS_SEL, GUEST_GS_LIMIT, GUEST_GS_AR, GUEST_GS_BASE },
    seg_tr = { GUEST_TR_SEL, GUEST_TR_LIMIT, GUEST_TR_AR, GUEST_TR_BASE },
    seg_ldtr = { GUEST_LDTR_SEL, GUEST_LDTR_LIMIT, GUEST_LDTR_AR, GUEST_LDTR_BASE };

static void put_seg(const struct seg_fields *f, const struct seg *s)
{
    vmwrite(f->sel, s->sel);
    vmwrite(f->limit, s->limit);
    vmwrite(f->ar, to_ar(s->attr));
    vmwrite(f->base, s->base);
}

static void get_seg(const struct seg_fields *f, struct seg *s)
{
    s->sel = (uint16_t)vmread(f->sel);
    s->limit = (uint32_t)vmread(f->limit);
    s->attr = from_ar((uint32_t)vmread(f->ar));
    s->base = vmread(f->base);
}

void vmx_set_state(struct hvm_vcpu *v, const struct guest_regs *r)
{
    uint32_t entry = vmx_caps.entry;
    put_seg(&seg_es, &r->es);
    put_seg(&seg_cs, &r->cs);
    put_seg(&seg_ss, &r->ss);
    put_seg(&seg_ds, &r->ds);
    put_seg(&seg_fs, &r->fs);
    put_seg(&seg_gs, &r->gs);
    struct seg tr = r->tr;
    tr.attr |= 2;                        /* TR busy, as VM entry demands (SDM 3C 27.3.1.2); SVM keeps either */
    put_seg(&seg_tr, &tr);
    put_seg(&seg_ldtr, &r->ldtr);
    vmwrite(GUEST_GDTR_BASE, r->gdtr_base);
    vmwrite(GUEST_GDTR_LIMIT, r->gdtr_limit);
    vmwrite(GUEST_IDTR_BASE, r->idtr_base);
    vmwrite(GUEST_IDTR_LIMIT, r->idtr_limit);
    /* Unrestricted guest lifts the PE/PG requirement; NE and the rest of FIXED0 still apply (25.8). */
    vmwrite(GUEST_CR0, (r->cr0 | (vmx_caps.cr0_fixed0 & ~0x80000001ull)) & vmx_caps.cr0_fixed1);
    vmwrite(CR0_SHADOW, r->cr0);
    vmwrite(GUEST_CR3, r->cr3);
    v->cr4_guest = r->cr4 & ~CR4_VMXE;
    vmwrite(GUEST_CR4, (r->cr4 | vmx_caps.cr4_fixed0) & vmx_caps.cr4_fixed1);
    vmwrite(CR4_SHADOW, v->cr4_guest);
    vmwrite(GUEST_EFER, r->efer);
    vmwrite(ENTRY_CTLS, (r->efer & EFER_LMA) ? entry | ENTRY_IA32E : entry);
    vmwrite(GUEST_RSP, r->gpr[GPR_RSP]);
    vmwrite(GUEST_RIP, r->rip);
    vmwrite(GUEST_RFLAGS, r->rflags);
    vmwrite(GUEST_SYSENTER_CS, r->sysenter_cs);
    vmwrite(GUEST_SYSENTER_ESP, r->sysenter_esp);
    vmwrite(GUEST_SYSENTER_EIP, r->sysenter_eip);
    struct vmx_msr_entry *g = vmx_guest_msrs(v);
    g[VMX_KERNEL_GS_BASE].value = r->kernel_gs_base;
    g[VMX_STAR].value = r->star;
    g[VMX_LSTAR].value = r->lstar;
    g[VMX_CSTAR].value = r->cstar;
    g[VMX_SFMASK].value = r->sfmask;
    v->cr2 = r->cr2;
}

void vmx_get_state(struct hvm_vcpu *v, struct guest_regs *r)
{
    uint64_t mask4 = vmread(CR4_MASK), mask0 = vmread(CR0_MASK);
    const struct vmx_msr_entry *g = vmx_guest_msrs(v);
    get_seg(&seg_es, &r->es);
    get_seg(&seg_cs, &r->cs);
    get_seg(&seg_ss, &r->ss);
    get_seg(&seg_ds, &r->ds);
    get_seg(&seg_fs, &r->fs);
    get_seg(&seg_gs, &r->gs);
    get_seg(&seg_tr, &r->tr);
    get_seg(&seg_ldtr, &r->ldtr);
    r->gdtr_base = vmread(GUEST_GDTR_BASE);
    r->gdtr_limit = (uint32_t)vmread(GUEST_GDTR_LIMIT);
    r->idtr_base = vmread(GUEST_IDTR_BASE);
    r->idtr_limit = (uint32_t)vmread(GUEST_IDTR_LIMIT);
    r->cr0 = (vmread(GUEST_CR0) & ~mask0) | (vmread(CR0_SHADOW) & mask0);
    r->cr3 = vmread(GUEST_CR3);
    r->cr4 = (vmread(GUEST_CR4) & ~mask4) | (vmread(CR4_SHADOW) & mask4);
    r->efer = vmread(GUEST_EFER);
    if (vmread(ENTRY_CTLS) & ENTRY_IA32E)
        r->efer |= EFER_LMA;
    r->cr2 = v->cr2;
    r->sysenter_cs = vmread(GUEST_SYSENTER_CS);
    r->sysenter_esp = vmread(GUEST_SYSENTER_ESP);
    r->sysenter_eip = vmread(GUEST_SYSENTER_EIP);
    r->kernel_gs_base = g[VMX_KERNEL_GS_BASE].value;
    r->star = g[VMX_STAR].value;
    r->lstar = g[VMX_LSTAR].value;
    r->cstar = g[VMX_CSTAR].value;
    r->sfmask = g[VMX_SFMASK].value;
}

void vmx_vmcs_host_state(void)
{
    struct { uint16_t limit; uint64_t base; } __attribute__((packed)) gdtr, idtr;
    uint64_t *gdt;
    __asm__ volatile("sgdt %0; sidt %1" : "=m"(gdtr), "=m"(idtr));
    gdt = (uint64_t *)(uintptr_t)gdtr.base;
    vmwrite(HOST_CR0, read_cr0());
    vmwrite(HOST_CR3, read_cr3());
    vmwrite(HOST_CR4, read_cr4());
    vmwrite(HOST_CS_SEL, GDT_KCODE);
    vmwrite(HOST_SS_SEL, GDT_KDATA);
    vmwrite(HOST_DS_SEL, GDT_KDATA);
    vmwrite(HOST_ES_SEL, GDT_KDATA);
    vmwrite(HOST_FS_SEL, 0);
    vmwrite(HOST_GS_SEL, 0);
    vmwrite(HOST_TR_SEL, GDT_TSS);
    /* TSS base from its descriptor: bits 16-39 and 56-63 of the low quad, the high quad above (SDM 3A 8.2.3). */
    uint64_t lo = gdt[GDT_TSS / 8], hi = gdt[GDT_TSS / 8 + 1];
    vmwrite(HOST_TR_BASE, ((lo >> 16) & 0xffffff) | (((lo >> 56) & 0xff) << 24) | (hi << 32));
    vmwrite(HOST_GDTR_BASE, gdtr.base);
    vmwrite(HOST_IDTR_BASE, idtr.base);
    vmwrite(HOST_FS_BASE, 0);
    vmwrite(HOST_GS_BASE, 0);
    vmwrite(HOST_SYSENTER_CS, 0);
    vmwrite(HOST_SYSENTER_ESP, 0);
    vmwrite(HOST_SYSENTER_EIP, 0);
    vmwrite(HOST_EFER, rdmsr(MSR_EFER));
    vmwrite(HOST_PAT, rdmsr(MSR_PAT));
    vmwrite(HOST_RIP, (uint64_t)(uintptr_t)vmx_exit_stub);
}

void vmx_vmcs_setup(struct hvm_vcpu *v, const struct guest_regs *regs)
{
    vmx_vmcs_host_state();
    vmwrite(PIN_CTLS, vmx_caps.pin);
    vmwrite(PROC_CTLS, vmx_caps.proc);
    vmwrite(PROC_CTLS2, vmx_caps.proc2);
    vmwrite(EXIT_CTLS, vmx_caps.exit);
    vmwrite(ENTRY_CTLS, vmx_caps.entry);
    vmwrite(EXC_BITMAP, 0);
    vmwrite(PF_MASK, 0);
    vmwrite(PF_MATCH, 0);
    vmwrite(CR3_TARGETS, 0);
    msr_areas_setup(v);
    vmwrite(ENTRY_INTR_INFO, 0);
    vmwrite(MSR_BITMAP, vmx_msr_bitmap());
    vmwrite(EPT_POINTER, v->vm->eptp);
    if (v->vpid)
        vmwrite(VPID, v->vpid);
    vmwrite(CR0_MASK, 0);
    vmwrite(CR4_MASK, CR4_VMXE);            /* the guest sees CR4.VMXE clear (read shadow) */
    vmwrite(VMCS_LINK, ~0ull);
    vmwrite(GUEST_DEBUGCTL, 0);
    vmwrite(GUEST_PAT, PAT_POWER_ON);
    vmwrite(GUEST_DR7, 0x400);
    vmwrite(GUEST_PENDING_DBG, 0);
    vmwrite(GUEST_INTERRUPTIBILITY, 0);
    vmwrite(GUEST_ACTIVITY, 0);
    vmwrite(TSC_OFFSET, 0);
    vmx_set_state(v, regs);
}
