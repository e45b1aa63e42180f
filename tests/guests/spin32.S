/* Test guest: pure computation forever (scheduler fairness tests measure its share of the CPU). */
#include "tests/guests/guest.h"
guest_main:
    xor %eax, %eax
1:  inc %eax
    jmp 1b
