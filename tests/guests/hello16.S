/* Test guest: print a greeting in real mode and exit with code 0. */
#include "tests/guests/guest.h"
guest_main:
    PRINT(msg, msg_end - msg)
    EXIT(0)
1:  hlt
    jmp 1b
    .data
msg: .ascii "hello from real mode\n"
msg_end:
