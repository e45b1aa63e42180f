/* VM-exit normalisation: basic exit reasons and qualifications to struct vm_exit (SDM 3C 28.2, appendix C). */
#include "arch/x86/vmx/vmx.h"
#include "arch/x86/vmx/vmcs.h"
#include "kernel/kstring.h"

enum {
    VMX_EXC_NMI = 0, VMX_EXTINT = 1, VMX_TRIPLE = 2, VMX_INTWIN = 7, VMX_CPUID = 10, VMX_HLT = 12,
    VMX_INVD = 13, VMX_VMCALL = 18, VMX_VMCLEAR = 19, VMX_VMXON = 27, VMX_CR = 28, VMX_IO = 30,
    VMX_RDMSR = 31, VMX_WRMSR = 32, VMX_BAD_GUEST = 33, VMX_BAD_MSR_LOAD = 34, VMX_MCE_ENTRY = 41,
    VMX_EPT_VIOLATION = 48, VMX_EPT_MISCONFIG = 49, VMX_INVEPT = 50, VMX_PREEMPT = 52, VMX_INVVPID = 53,
    VMX_WBINVD = 54, VMX_XSETBV = 55, VMX_VMFUNC = 59,
};

static const char *const insn_errors[] = {
    [1] = "VMCALL in VMX root operation", [2] = "VMCLEAR with invalid address",
    [3] = "VMCLEAR with VMXON pointer", [4] = "VMLAUNCH with non-clear VMCS",
    [5] = "VMRESUME with non-launched VMCS", [6] = "VMRESUME after VMXOFF",
    [7] = "VM entry with invalid control field(s)", [8] = "VM entry with invalid host-state field(s)",
    [9] = "VMPTRLD with invalid address", [10] = "VMPTRLD with VMXON pointer",
    [11] = "VMPTRLD with incorrect VMCS revision", [12] = "VMREAD/VMWRITE to unsupported field",
    [13] = "VMWRITE to read-only field", [15] = "VMXON in VMX root operation",
    [16] = "VM entry with invalid executive-VMCS pointer", [17] = "VM entry with non-launched executive VMCS",
    [26] = "VM entry with events blocked by MOV SS", [28] = "invalid operand to INVEPT/INVVPID",
};

const char *vmx_insn_error(uint32_t err)
{
    if (err < sizeof(insn_errors) / sizeof(insn_errors[0]) && insn_errors[err])
        return insn_errors[err];
    return "VM-instruction error (see SDM 3C 31.4)";
}

static void io(struct vm_exit *ex, uint64_t q)
{
    ex->code = EXIT_IO;
    ex->io.size = (uint8_t)((q & 7) + 1);
    ex->io.in = (q >> 3) & 1;
    ex->io.string = (q >> 4) & 1;
    ex->io.rep = (q >> 5) & 1;
    ex->io.port = (uint16_t)(q >> 16);
}

static void ept(struct vm_exit *ex, uint64_t q)
{
    ex->code = EXIT_NPF;
    ex->npf.gpa = vmread(GUEST_PHYS_ADDR);
    ex->npf.write = (q >> 1) & 1;
    ex->npf.fetch = (q >> 2) & 1;
    ex->npf.present = ((q >> 3) & 7) != 0;
    ex->inst_len = 0;
}

static void entry_failure(struct vm_exit *ex, uint32_t basic, uint64_t q)
{
    ex->code = EXIT_FAIL_ENTRY;
    ex->fail.qual = q;
    if (basic == VMX_BAD_GUEST)
        ex->fail.why = q == 2 ? "invalid guest state: PDPTE load failed" :
                       q == 3 ? "invalid guest state: NMI injection" :
                       q == 4 ? "invalid guest state: VMCS link pointer" :
                                "invalid guest state (SDM 3C 27.3.1 checks)";
    else if (basic == VMX_BAD_MSR_LOAD)
        ex->fail.why = "MSR loading failed";
    else
        ex->fail.why = "machine check during VM entry";
}

void vmx_normalise_exit(struct vm_exit *ex)
{
    uint32_t reason = (uint32_t)vmread(EXIT_REASON), basic = reason & 0xffff;
    uint64_t q = vmread(EXIT_QUAL);

    memset(ex, 0, sizeof(*ex));
    ex->raw = reason;
    ex->inst_len = (uint32_t)vmread(EXIT_INSN_LEN);
    if (reason & (1u << 31)) {
        entry_failure(ex, basic, q);
        return;
    }
    switch (basic) {
    case VMX_EXTINT: case VMX_PREEMPT: ex->code = EXIT_NONE; break;
    case VMX_EXC_NMI: {
        uint32_t info = (uint32_t)vmread(EXIT_INTR_INFO);
        ex->code = ((info >> 8) & 7) == 2 ? EXIT_NONE : EXIT_EXCEPTION;   /* a host NMI: nothing to do */
        ex->exc.vector = info & 0xff;
        ex->exc.error = (uint32_t)vmread(EXIT_INTR_ERR);
        break;
    }
    case VMX_TRIPLE: ex->code = EXIT_SHUTDOWN; break;
    case VMX_INTWIN: ex->code = EXIT_INTR_WINDOW; break;
    case VMX_CPUID: ex->code = EXIT_CPUID; break;
    case VMX_HLT: ex->code = EXIT_HLT; break;
    case VMX_INVD: case VMX_WBINVD: ex->code = EXIT_INVD; break;
    case VMX_VMCALL: ex->code = EXIT_HYPERCALL; break;
    case VMX_RDMSR: ex->code = EXIT_MSR_READ; break;
    case VMX_WRMSR: ex->code = EXIT_MSR_WRITE; break;
    case VMX_XSETBV: ex->code = EXIT_XSETBV; break;
    case VMX_CR: ex->code = EXIT_CR_ACCESS; break;
    case VMX_IO: io(ex, q); break;
    case VMX_EPT_VIOLATION: ept(ex, q); break;
    default:
        if ((basic >= VMX_VMCLEAR && basic <= VMX_VMXON) || basic == VMX_INVEPT || basic == VMX_INVVPID ||
            basic == VMX_VMFUNC)
            ex->code = EXIT_VMINSN;
        else
            ex->code = EXIT_UNKNOWN;
    }
}
