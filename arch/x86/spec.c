/* Side-channel mitigations between guests, KVM's defaults where the CPU has them (SDM 2 "IBPB", Intel's MDS/L1TF guidance). */
#include "arch/x86/spec.h"
#include "arch/x86/cpu.h"
#include "arch/x86/traps.h"
#include "kernel/printf.h"
#include "kernel/kstring.h"
#include "kernel/log.h"

#define ARCH_RDCL_NO            (1ull << 0)   /* not affected by L1TF (nor Meltdown) */
#define ARCH_SKIP_L1DFL_VMENTRY (1ull << 3)   /* no L1D flush needed at VM entry */
#define ARCH_MDS_NO             (1ull << 5)

static struct spec_caps sc;

static int is_intel(void)
{
    struct cpuid_regs r = cpuid(0, 0);
    return !memcmp(&r.ebx, "Genu", 4) && !memcmp(&r.edx, "ineI", 4) && !memcmp(&r.ecx, "ntel", 4);
}

/* Intel: CPUID 7.0 EDX; AMD: CPUID 0x80000008 EBX (AMD's "Speculation Control" white paper). */
static void read_caps(void)
{
    struct cpuid_regs l7 = { 0, 0, 0, 0 }, e8 = { 0, 0, 0, 0 };
    if (cpuid(0, 0).eax >= 7)
        l7 = cpuid(7, 0);
    if (cpuid(0x80000000, 0).eax >= 0x80000008)
        e8 = cpuid(0x80000008, 0);
    sc.spec_ctrl = ((l7.edx >> 26) & 1) || ((l7.edx >> 27) & 1) || ((l7.edx >> 31) & 1) ||
                   ((e8.ebx >> 14) & 1) || ((e8.ebx >> 15) & 1) || ((e8.ebx >> 24) & 1);
    sc.ibpb = ((l7.edx >> 26) & 1) || ((e8.ebx >> 12) & 1);
    sc.md_clear = (l7.edx >> 10) & 1;
    sc.l1d_flush = (l7.edx >> 28) & 1;
    if ((l7.edx >> 29) & 1)
        sc.arch_caps = rdmsr(MSR_ARCH_CAPS);
}

void spec_init(void)
{
    int intel = is_intel();
    memset(&sc, 0, sizeof(sc));
    read_caps();
    if (sc.spec_ctrl)
        sc.host_spec_ctrl = rdmsr(MSR_SPEC_CTRL);
    /*
     * RDTSCP is hidden from guests and intercepted, but an emulator may run it anyway (QEMU TCG checks
     * only the RDTSC intercept) and RDPID has no intercept on SVM: TSC_AUX holds 0 for everyone, and no
     * guest can write it (WRMSR exits), so it tells a guest nothing of the host or another guest.
     */
    if ((cpuid(0x80000001, 0).edx >> 27) & 1)
        wrmsr(MSR_TSC_AUX, 0);
    /* Only Intel parts are affected by L1TF and MDS; ARCH_CAPABILITIES names the ones that are not. */
    sc.l1d_entry = intel && sc.l1d_flush && !(sc.arch_caps & (ARCH_RDCL_NO | ARCH_SKIP_L1DFL_VMENTRY));
    sc.verw_entry = intel && sc.md_clear && !sc.l1d_entry && !(sc.arch_caps & ARCH_MDS_NO);
    log_info("spec: IBPB %s, SPEC_CTRL %s, L1D flush on entry %s, VERW on entry %s",
             sc.ibpb ? "on VM switch" : "not available", sc.spec_ctrl ? "per vCPU" : "not available",
             sc.l1d_entry ? "yes" : "no", sc.verw_entry ? "yes" : "no");
}

const struct spec_caps *spec_get(void)
{
    return &sc;
}

void spec_vm_switch(void)
{
    if (!sc.ibpb)
        return;
    wrmsr(MSR_PRED_CMD, 1);
    sc.ibpbs++;
}

void spec_enter(uint64_t guest_spec_ctrl, int vmx)
{
    static const uint16_t ds = GDT_KDATA;        /* VERW clears the buffers whatever the selector */
    if (sc.spec_ctrl && guest_spec_ctrl != sc.host_spec_ctrl)
        wrmsr(MSR_SPEC_CTRL, guest_spec_ctrl);
    if (vmx && sc.l1d_entry)
        wrmsr(MSR_FLUSH_CMD, 1);                 /* also clears the buffers VERW would */
    else if (sc.verw_entry)
        __asm__ volatile("verw %0" : : "m"(ds) : "cc");
}

uint64_t spec_exit(uint64_t guest_spec_ctrl)
{
    if (!sc.spec_ctrl)
        return guest_spec_ctrl;
    guest_spec_ctrl = rdmsr(MSR_SPEC_CTRL);
    if (guest_spec_ctrl != sc.host_spec_ctrl)
        wrmsr(MSR_SPEC_CTRL, sc.host_spec_ctrl);
    return guest_spec_ctrl;
}

static const char *avail(int have, const char *on)
{
    return have ? on : "not available";
}

void spec_print(void)
{
    kprintf("mitigations: ibpb-on-vm-switch %s (%llu issued), spec-ctrl %s, l1d-flush-on-entry %s, "
            "verw-on-entry %s, rsb-fill-on-exit yes, rdtscp hidden and intercepted (TSC_AUX 0)\n", avail(sc.ibpb, "yes"),
            (unsigned long long)sc.ibpbs, avail(sc.spec_ctrl, "per vCPU"),
            sc.l1d_entry ? "yes" : (sc.l1d_flush ? "not needed" : "not available"),
            sc.verw_entry ? "yes" : (sc.md_clear ? "not needed" : "not available"));
}
