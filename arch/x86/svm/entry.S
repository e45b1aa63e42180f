/* svm_enter: VMSAVE host, VMLOAD guest, VMRUN, VMSAVE guest, VMLOAD host, with GPRs swapped around it (APM 15.5). */
/* struct layout of the gprs argument: struct guest_regs begins with gpr[16] in encoding order. */
#include "arch/x86/rsb.h"
#define G(n) (n*8)(%rsi)

    .text
    .global svm_enter
/* void svm_enter(uint64_t vmcb_pa, uint64_t *gprs, uint64_t host_save_pa) */
svm_enter:
    push %rbp
    mov %rsp, %rbp
    push %rbx
    push %r12
    push %r13
    push %r14
    push %r15
    push %rsi                   /* gprs pointer, needed after the guest ran */
    push %rdx                   /* host save area */
    push %rdi                   /* vmcb */
    clgi                        /* hold host interrupts until the host state is back */
    mov 8(%rsp), %rax           /* host save area: FS, GS, TR, LDTR and the syscall MSRs */
    vmsave %rax
    mov (%rsp), %rax            /* vmcb */
    vmload %rax
    mov G(1), %rcx
    mov G(2), %rdx
    mov G(3), %rbx
    mov G(5), %rbp
    mov G(7), %rdi
    mov G(8), %r8
    mov G(9), %r9
    mov G(10), %r10
    mov G(11), %r11
    mov G(12), %r12
    mov G(13), %r13
    mov G(14), %r14
    mov G(15), %r15
    mov G(6), %rsi
    vmrun %rax                  /* #VMEXIT restores host RAX: the VMCB address again */
    vmsave %rax
    mov 16(%rsp), %rax          /* gprs pointer */
    mov %rcx, 8(%rax)
    mov %rdx, 16(%rax)
    mov %rbx, 24(%rax)
    mov %rbp, 40(%rax)
    mov %rsi, 48(%rax)
    mov %rdi, 56(%rax)
    mov %r8, 64(%rax)
    mov %r9, 72(%rax)
    mov %r10, 80(%rax)
    mov %r11, 88(%rax)
    mov %r12, 96(%rax)
    mov %r13, 104(%rax)
    mov %r14, 112(%rax)
    mov %r15, 120(%rax)
    RSB_FILL %eax               /* GIF is still clear: no host interrupt in between */
    mov 8(%rsp), %rax           /* host save area */
    vmload %rax
    stgi
    add $24, %rsp
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %rbx
    pop %rbp
    ret
