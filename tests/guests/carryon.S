/*
 * Test guest for `vm move`: a 1 ms timer re-armed by its own handler counts ticks; the main loop wakes
 * on each and counts its rounds in memory, in R12 and in XMM1 (GPRs and the XSAVE area must move with
 * the guest). Every 25 ticks it reports ticks (report 1=N) and rounds (report 2=N). A register that
 * lost its round count reports 3=1, a TSC that went backwards 3=2; both exit 1. guest modes: 64
 */
#include "tests/guests/guest.h"
#define CR4_OSFXSR (1 << 9)
#define CR4_OSXMMEXCPT (1 << 10)
guest_main:
    mov %cr4, %rax
    or $(CR4_OSFXSR | CR4_OSXMMEXCPT), %rax
    mov %rax, %cr4
    HANDLE(0x40, on_timer)
    call arm
    xor %r12, %r12
    pxor %xmm1, %xmm1
    mov $1, %eax
    movq %rax, %xmm2
    call read_tsc
    mov %rax, last_tsc
1:  sti                            /* STI's shadow covers HLT: no lost wake-up */
    hlt
    cli
    inc %r12
    incq rounds
    paddq %xmm2, %xmm1
    cmp rounds, %r12
    jne lost
    movq %xmm1, %rax
    cmp %r12, %rax
    jne lost
    call read_tsc
    cmp last_tsc, %rax
    jb backwards
    mov %rax, last_tsc
    mov ticks, %eax
    cmp next_report, %eax
    jb 1b
    addl $25, next_report
    mov $HC_REPORT, %eax
    mov $1, %rbx
    mov ticks, %ecx
    call hypercall
    mov $HC_REPORT, %eax
    mov $2, %rbx
    mov rounds, %rcx
    call hypercall
    jmp 1b
lost:
    mov $1, %ecx
    jmp 2f
backwards:
    mov $2, %ecx
2:  mov $HC_REPORT, %eax
    mov $3, %rbx
    call hypercall
    EXIT(1)

/* rax = the TSC (EDX:EAX joined). */
read_tsc:
    rdtsc
    shl $32, %rdx
    or %rdx, %rax
    ret

on_timer:
    incl ticks
    call arm
    ret

arm:
    mov $HC_TIMER, %eax
    mov $0x40, %rbx
    mov $1000, %rcx                /* 1 ms */
    call hypercall
    ret

    .data
    .balign 8
ticks: .long 0
next_report: .long 25
rounds: .quad 0
last_tsc: .quad 0
