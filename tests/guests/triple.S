/* Test guest: a triple fault (empty IDT, then an exception): the VM must stop, the host must not. guest modes: 32 */
#include "tests/guests/guest.h"
guest_main:
    PRINT(msg, msg_end - msg)
    lidt empty_idt
    int3
1:  jmp 1b
    .data
    .balign 8
    .short 0
empty_idt:
    .short 0
    .long 0
msg: .ascii "about to triple fault\n"
msg_end:
