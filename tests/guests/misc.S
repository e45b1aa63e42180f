/* Test guest: WBINVD and INVD complete; XSETBV accepts a valid XCR0 (read back by XGETBV) and #GPs bad ones. guest modes: 32 */
#include "tests/guests/guest.h"
guest_main:
    HANDLE(13, on_gp)
    wbinvd
    invd
    mov $1, %eax
    cpuid
    bt $26, %ecx                   /* XSAVE offered? */
    jnc no_xsave
    mov %cr4, %eax
    or $(1 << 18), %eax            /* CR4.OSXSAVE */
    mov %eax, %cr4
    xor %ecx, %ecx
    mov $3, %eax                   /* x87 | SSE */
    xor %edx, %edx
    xsetbv
    xor %ecx, %ecx
    xgetbv
    cmp $3, %eax
    jne bad
    movl $0, gp_seen
    xor %ecx, %ecx
    xor %eax, %eax                 /* x87 off: illegal */
    xor %edx, %edx
    xsetbv                         /* 3 bytes: the #GP handler skips it */
    mov $1, %ecx                   /* XCR1 does not exist for XSETBV */
    mov $3, %eax
    xsetbv
    cmpl $2, gp_seen
    jne bad
    PRINT(ok, ok_end - ok)
    EXIT(0)
no_xsave:
    PRINT(ok2, ok2_end - ok2)
    EXIT(0)
bad:
    FAIL(no, no_end - no)
on_gp:
    incl gp_seen
    mov cur_frame, %eax
    addl $3, FRAME_IP(%eax)
    ret
    .data
gp_seen: .long 0
ok: .ascii "misc ok: wbinvd, invd, xsetbv valid and invalid\n"
ok_end:
ok2: .ascii "misc ok: wbinvd, invd (the CPU offers no XSAVE)\n"
ok2_end:
no: .ascii "misc WRONG\n"
no_end:
