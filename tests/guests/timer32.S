/* Test guest: HLT until an injected timer interrupt wakes it, ten times; counts the interrupts. */
#include "tests/guests/guest.h"
guest_main:
    HANDLE(0x40, on_timer)
1:  cli
    mov $HC_TIMER, %eax
    mov $0x40, BX
    mov $2000, CX                  /* 2 ms */
    call hypercall
    sti                            /* STI's shadow covers HLT: no lost wake-up */
    hlt
    cmpl $10, ticks
    jb 1b
    cli
    cmpl $10, ticks
    jne bad
    PRINT(ok, ok_end - ok)
    EXIT(0)
bad:
    mov $HC_REPORT, %eax
    mov $4, BX                     /* report 4 = the interrupt count seen */
    mov ticks, %ecx
    call hypercall
    FAIL(no, no_end - no)
on_timer:
    incl ticks
    ret
    .data
ticks: .long 0
ok: .ascii "timer ok: 10 interrupts woke 10 HLTs\n"
ok_end:
no: .ascii "timer WRONG: extra interrupts\n"
no_end:
