/* Test guest: print a greeting naming the CPU mode it runs in and exit with code 0. guest modes: 16 32 64 */
#include "tests/guests/guest.h"
guest_main:
    PRINT(msg, msg_end - msg)
    EXIT(0)
1:  hlt
    jmp 1b
    .data
#if MODE == 16
msg: .ascii "hello from real mode\n"
#elif MODE == 32
msg: .ascii "hello from 32-bit protected mode\n"
#else
msg: .ascii "hello from 64-bit long mode\n"
#endif
msg_end:
