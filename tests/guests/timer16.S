/* Test guest (real mode): HLT until an injected timer interrupt (through the IVT) wakes it, ten times. */
#include "tests/guests/guest.h"
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
