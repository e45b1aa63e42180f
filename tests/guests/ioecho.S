/* Test guest: port I/O to the echo device at 0x500 in every width; unclaimed ports read all ones. guest modes: 16 32 */
#include "tests/guests/guest.h"
guest_main:
    mov $0x500, %dx
    mov $0x12345678, %eax
    out %eax, %dx
    xor %eax, %eax
    in %dx, %eax
    cmp $0x12345678, %eax
    jne bad
    mov $0xbeef, %ax
    out %ax, %dx
    xor %eax, %eax
    in %dx, %ax
    cmp $0xbeef, %eax
    jne bad
    mov $0x502, %dx                /* byte 2 of the register */
    mov $0xaa, %al
    out %al, %dx
    mov $0x500, %dx
    in %dx, %eax
    cmp $0x12aabeef, %eax
    jne bad
    mov $0x504, %dx                /* write counter: 3 writes */
    in %dx, %eax
    cmp $3, %eax
    jne bad
    mov $0x600, %dx                /* nobody there */
    xor %eax, %eax
    in %dx, %al
    cmp $0xff, %eax
    jne bad
    mov $0x1234, %eax
    in %dx, %eax
    cmp $0xffffffff, %eax
    jne bad
    out %eax, %dx                  /* dropped */
    PRINT(ok, ok_end - ok)
    EXIT(0)
bad:
    FAIL(no, no_end - no)
    .data
ok: .ascii "port io ok: echo in 8/16/32 bits, write count, unclaimed reads all ones\n"
ok_end:
no: .ascii "port io WRONG\n"
no_end:
