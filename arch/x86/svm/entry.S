/* svm_enter: VMSAVE host, VMLOAD guest, VMRUN, VMSAVE guest, VMLOAD host, with GPRs swapped around it (APM 15.5). */
/* struct layout of the gprs argument: struct guest_regs begins with gpr[16] in encoding order. */
#include "arch/x86/entry_regs.h"
#include "arch/x86/rsb.h"
#define G(n) (n*8)(%rsi)

    .text
    .global svm_enter
/* void svm_enter(uint64_t vmcb_pa, uint64_t *gprs, uint64_t host_save_pa) */
svm_enter:
    HOST_REGS_PUSH
    push %rsi                   /* gprs pointer, needed after the guest ran */
    push %rdx                   /* host save area */
    push %rdi                   /* vmcb */
    clgi                        /* hold host interrupts until the host state is back */
    mov 8(%rsp), %rax           /* host save area: FS, GS, TR, LDTR and the syscall MSRs */
    vmsave %rax
    mov (%rsp), %rax            /* vmcb */
    vmload %rax
    GUEST_GPRS load, %rsi, 1    /* all but RAX (VMRUN loads guest RAX from the VMCB), RSP and RSI... */
    mov G(6), %rsi              /* ...which goes last */
    vmrun %rax                  /* #VMEXIT restores host RAX: the VMCB address again */
    vmsave %rax
    mov 16(%rsp), %rax          /* gprs pointer */
    GUEST_GPRS store, %rax      /* all but RAX and RSP: #VMEXIT saved those to the VMCB */
    RSB_FILL %eax               /* GIF is still clear: no host interrupt in between */
    mov 8(%rsp), %rax           /* host save area */
    vmload %rax
    stgi
    add $24, %rsp
    HOST_REGS_POP
    ret
