/*
 * Test guest: reboot by triple fault. shoal gives guests named reboot* a platform reset (the image
 * reloaded, devices and vCPU back to their first state, RAM otherwise kept, as a warm reset keeps it):
 * the first boot counts itself in RAM shoal does not reload and triple-faults; the second says so and
 * exits 0.
 * guest modes: 64
 */
#include "tests/guests/guest.h"
#define BOOTS 0x200000                 /* above the image, stack and page tables */
guest_main:
    incl BOOTS
    cmpl $1, BOOTS
    jne 1f
    PRINT(first, first_end - first)
    lidt null_idt                      /* no IDT: #UD -> #GP -> #DF -> shutdown */
    ud2
1:  cmpl $2, BOOTS
    jne bad
    PRINT(again, again_end - again)
    EXIT(0)
bad:
    FAIL(no, no_end - no)
    .data
    .balign 8
null_idt:
    .short 0
    .quad 0
first: .ascii "reboot: first boot, triple-faulting\n"
first_end:
again: .ascii "reboot: booted again after the triple fault\n"
again_end:
no: .ascii "reboot: WRONG boot count\n"
no_end:
