/*
 * Test guest: the HLT wake-up race. 64000 times: arm a one-shot timer of 2-17 us, spin a varying short
 * while, STI; HLT. The interrupt lands at every point of the host's HLT handling, also between its check
 * for a waiting interrupt and its marking the vCPU halted: a wake-up lost there leaves this guest
 * asleep for good. Reports every 8192 wake-ups (report 2=N), then prints its line and exits 0.
 * guest modes: 64
 */
#include "tests/guests/guest.h"
#define ROUNDS 64000
guest_main:
    HANDLE(0x40, on_timer)
    xor %r12d, %r12d               /* iteration */
1:  cli
    mov %r12d, %ecx
    and $15, %ecx
    add $2, %ecx                   /* 2..17 us */
    mov $HC_TIMER, %eax
    mov $0x40, %ebx
    call hypercall
    imul $37, %r12d, %ecx          /* 0..127 spins: shifts the HLT against the timer by a few cycles */
    and $127, %ecx
2:  dec %ecx
    jns 2b
    mov ticks, %r13d
    sti
    hlt                            /* STI's shadow covers HLT: the interrupt cannot slip in before it */
    cli
    cmp ticks, %r13d
    je 1b                          /* woken by something else: wait for the timer again */
    inc %r12d
    test $8191, %r12d
    jnz 3f
    mov $HC_REPORT, %eax
    mov $2, %ebx
    mov %r12, %rcx
    call hypercall
3:  cmp $ROUNDS, %r12d
    jb 1b
    PRINT(ok, ok_end - ok)
    EXIT(0)

on_timer:
    incl ticks
    ret

    .data
ticks: .long 0
ok: .ascii "hltwake ok: 64000 timer interrupts woke 64000 HLTs\n"
ok_end:
