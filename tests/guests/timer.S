/* Test guest: HLT until an injected timer interrupt wakes it, ten times; counts the interrupts. guest modes: 16 32 64 */
#include "tests/guests/guest.h"
#if MODE == 16
/* Real mode: the handler goes in the IVT. */
guest_main:
    movw $on_timer, 0x40 * 4       /* IVT entry 0x40: offset, segment 0 */
    movw $0, 0x40 * 4 + 2
1:  cli
    mov $HC_TIMER, %eax
    mov $0x40, %ebx
    mov $2000, %ecx
    call hypercall
    sti
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
    mov $4, %ebx
    mov ticks, %ecx
    call hypercall
    FAIL(no, no_end - no)
on_timer:
    incl ticks
    iret
    .data
ticks: .long 0
ok: .ascii "timer ok: 10 interrupts woke 10 HLTs (real mode)\n"
ok_end:
no: .ascii "timer WRONG: extra interrupts (real mode)\n"
no_end:
#else
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
#endif
