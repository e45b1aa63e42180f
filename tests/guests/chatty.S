/*
 * Test guest: a console flood. Prints 50 blocks of 40 lines (200 KB) as fast as it can, waits half a
 * second, then prints a last line carrying a terminal title escape (OSC) and exits 0. shoal must drop
 * what its buffer cannot hold (saying how much), keep answering its shell, and never pass the escape on.
 * guest modes: 64
 */
#include "tests/guests/guest.h"
guest_main:
    HANDLE(0x40, on_timer)
    mov $50, %r12d
1:  PRINT(block, block_end - block)
    dec %r12d
    jnz 1b
    cli
    mov $HC_TIMER, %eax
    mov $0x40, %ebx
    mov $500000, %ecx
    call hypercall
    sti
    hlt
    PRINT(last, last_end - last)
    EXIT(0)
on_timer:
    ret
    .data
block:
    .rept 40
    .ascii "chatty: the quick brown fox jumps over the lazy dog 0123456789 0123456789 0123456789 01234\n"
    .endr
block_end:
last: .ascii "chatty: \033]0;pwned\007done\n"
last_end:
