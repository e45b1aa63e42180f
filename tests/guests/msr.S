/* Test guest: MSRs: EFER reads back LME|LMA, PAT writes are accepted, an unknown MSR raises #GP. guest modes: 64 */
#include "tests/guests/guest.h"
guest_main:
    HANDLE(13, on_gp)
    mov $0xC0000080, %ecx
    rdmsr
    and $0x500, %eax
    cmp $0x500, %eax
    jne bad
    mov $0x277, %ecx
    mov $0x00070406, %eax
    mov $0x00070406, %edx
    wrmsr
    movl $0, gp_seen
    mov $0xdeadbeef, %ecx
    rdmsr                          /* 2 bytes: the #GP handler skips it */
    cmpl $1, gp_seen
    jne bad
    movl $0, gp_seen
    mov $0x12345, %ecx
    wrmsr
    cmpl $1, gp_seen
    jne bad
    PRINT(ok, ok_end - ok)
    EXIT(0)
bad:
    FAIL(no, no_end - no)

on_gp:
    incl gp_seen
    mov cur_frame, %rax
    addq $2, FRAME_IP(%rax)        /* skip the RDMSR/WRMSR */
    ret
    .data
gp_seen: .long 0
ok: .ascii "msr ok: EFER=LME|LMA, PAT written, unknown MSR read and write -> #GP\n"
ok_end:
no: .ascii "msr WRONG\n"
no_end:
