/* #VMEXIT normalisation: EXITCODE/EXITINFO to struct vm_exit (APM vol. 2, 15.7 and appendix C). */
#include "arch/x86/svm/svm.h"
#include "arch/x86/svm/vmcb.h"
#include "arch/x86/hvm.h"
#include "arch/x86/cpu.h"
#include "kernel/kstring.h"

/* Fixed lengths for when the CPU lacks nRIP save (QEMU TCG): these opcodes take no prefixes in practice. */
static uint32_t insn_len(void *vmcb, uint64_t rip, uint32_t fixed)
{
    static int nrip = -1;
    if (nrip < 0)
        nrip = (cpuid(0x8000000A, 0).edx >> 3) & 1;
    if (nrip) {
        uint64_t next = *vmcb64(vmcb, VMCB_NRIP);
        if (next > rip && next - rip <= 15)
            return (uint32_t)(next - rip);
    }
    return fixed;
}

static void ioio(void *vmcb, uint64_t rip, struct vm_exit *ex)
{
    uint64_t info = *vmcb64(vmcb, VMCB_EXITINFO1);
    uint64_t next = *vmcb64(vmcb, VMCB_EXITINFO2);     /* 15.10.2: EXITINFO2 holds the next RIP */
    ex->code = EXIT_IO;
    ex->io.in = info & 1;
    ex->io.string = (info >> 2) & 1;
    ex->io.rep = (info >> 3) & 1;
    ex->io.size = (info & (1 << 4)) ? 1 : (info & (1 << 5)) ? 2 : 4;
    ex->io.port = (uint16_t)(info >> 16);
    ex->inst_len = (next > rip && next - rip <= 15) ? (uint32_t)(next - rip) : 0;
}

static void npf(void *vmcb, struct vm_exit *ex)
{
    uint64_t err = *vmcb64(vmcb, VMCB_EXITINFO1);
    ex->code = EXIT_NPF;
    ex->npf.gpa = *vmcb64(vmcb, VMCB_EXITINFO2);
    ex->npf.present = err & 1;
    ex->npf.write = (err >> 1) & 1;
    ex->npf.fetch = (err >> 4) & 1;
    ex->inst_len = 0;                                    /* decoded by the core */
}

void svm_normalise_exit(void *vmcb, uint64_t rip, struct vm_exit *ex)
{
    uint64_t code = *vmcb64(vmcb, VMCB_EXITCODE);
    memset(ex, 0, sizeof(*ex));
    ex->raw = code;
    if ((uint32_t)code == 0xffffffffu)      /* VMEXIT_INVALID is -1; some CPUs store only 32 bits of it */
        code = SVM_EXIT_INVALID;
    switch (code) {
    case SVM_EXIT_INTR: case SVM_EXIT_NMI: ex->code = EXIT_NONE; break;
    case SVM_EXIT_VINTR: ex->code = EXIT_INTR_WINDOW; break;
    case SVM_EXIT_CPUID: ex->code = EXIT_CPUID; ex->inst_len = insn_len(vmcb, rip, 2); break;
    case SVM_EXIT_HLT: ex->code = EXIT_HLT; ex->inst_len = insn_len(vmcb, rip, 1); break;
    case SVM_EXIT_INVD: case SVM_EXIT_WBINVD: ex->code = EXIT_INVD; ex->inst_len = insn_len(vmcb, rip, 2); break;
    case SVM_EXIT_XSETBV: ex->code = EXIT_XSETBV; ex->inst_len = insn_len(vmcb, rip, 3); break;
    case SVM_EXIT_VMMCALL: ex->code = EXIT_HYPERCALL; ex->inst_len = insn_len(vmcb, rip, 3); break;
    case SVM_EXIT_SHUTDOWN: ex->code = EXIT_SHUTDOWN; break;
    case SVM_EXIT_MSR:
        ex->code = *vmcb64(vmcb, VMCB_EXITINFO1) ? EXIT_MSR_WRITE : EXIT_MSR_READ;
        ex->inst_len = insn_len(vmcb, rip, 2);
        break;
    case SVM_EXIT_IOIO: ioio(vmcb, rip, ex); break;
    case SVM_EXIT_NPF: npf(vmcb, ex); break;
    case SVM_EXIT_VMRUN: case SVM_EXIT_VMLOAD: case SVM_EXIT_VMSAVE: case SVM_EXIT_STGI:
    case SVM_EXIT_CLGI: case SVM_EXIT_SKINIT:
    case SVM_EXIT_RDTSCP:                   /* hidden by CPUID: #UD like the VM instructions */
        ex->code = EXIT_VMINSN;
        break;
    case SVM_EXIT_INVALID:
        ex->code = EXIT_FAIL_ENTRY;
        ex->fail.why = "VMEXIT_INVALID: the VMCB's guest state is illegal (APM 15.5.1 consistency checks)";
        break;
    default:
        if (code >= SVM_EXIT_EXC_BASE && code < SVM_EXIT_EXC_BASE + 32) {
            ex->code = EXIT_EXCEPTION;
            ex->exc.vector = (uint32_t)(code - SVM_EXIT_EXC_BASE);
            ex->exc.error = (uint32_t)*vmcb64(vmcb, VMCB_EXITINFO1);
        } else {
            ex->code = EXIT_UNKNOWN;
        }
    }
}
