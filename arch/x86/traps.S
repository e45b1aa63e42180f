/* Trap entry stubs: one per vector, a common path that saves registers and calls trap_dispatch. */
    .text
.macro STUB vec
    .align 16
stub_\vec:
    .if (\vec == 8 || (\vec >= 10 && \vec <= 14) || \vec == 17 || \vec == 21 || \vec == 29 || \vec == 30)
    .else
    pushq $0                    /* no CPU error code: keep the frame shape */
    .endif
    pushq $\vec
    jmp trap_common
.endm

.altmacro
.set i, 0
.rept 256
    STUB %i
    .set i, i + 1
.endr

trap_common:
    push %rax
    push %rcx
    push %rdx
    push %rbx
    push %rbp
    push %rsi
    push %rdi
    push %r8
    push %r9
    push %r10
    push %r11
    push %r12
    push %r13
    push %r14
    push %r15
    cld
    mov %rsp, %rdi
    /* Make the interrupted frame look like a call frame so backtraces cross the trap. */
    mov 10*8(%rsp), %rbp
    call trap_dispatch
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %r11
    pop %r10
    pop %r9
    pop %r8
    pop %rdi
    pop %rsi
    pop %rbp
    pop %rbx
    pop %rdx
    pop %rcx
    pop %rax
    add $16, %rsp
    iretq

.macro STUBADDR vec
    .quad stub_\vec
.endm
    .section .rodata
    .align 8
    .global trap_stubs
trap_stubs:
.set i, 0
.rept 256
    STUBADDR %i
    .set i, i + 1
.endr
