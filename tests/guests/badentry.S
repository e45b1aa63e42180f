/* Test guest: asks shoal to make its own state illegal (HC_BADSTATE); the next VM entry must fail cleanly. guest modes: 32 */
#include "tests/guests/guest.h"
guest_main:
    PRINT(msg, msg_end - msg)
    mov $7, %eax                   /* HC_BADSTATE */
    call hypercall
    FAIL(survived, survived_end - survived)
    .data
msg: .ascii "requesting an illegal guest state\n"
msg_end:
survived: .ascii "badentry WRONG: the entry did not fail\n"
survived_end:
