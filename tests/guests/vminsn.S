/* Test guest: VMX and SVM instructions are invisible to guests: VMXON and VMRUN both raise #UD. guest modes: 32 */
#include "tests/guests/guest.h"
guest_main:
    HANDLE(6, on_ud)
    vmxon vmxon_area               /* F3 0F C7 /6 + modrm/disp32: 8 bytes */
    mov $0x100000, %eax            /* a valid, aligned VMCB address: only the intercept can stop it */
    vmrun                          /* 0F 01 D8: 3 bytes */
    cmpl $2, ud_seen
    jne bad
    PRINT(ok, ok_end - ok)
    EXIT(0)
bad:
    FAIL(no, no_end - no)

on_ud:
    incl ud_seen
    mov cur_frame, %eax
    mov FRAME_IP(%eax), %ecx
    cmpb $0xF3, (%ecx)             /* VMXON is 8 bytes here, VMRUN 3 */
    je 1f
    addl $3, FRAME_IP(%eax)
    ret
1:  addl $8, FRAME_IP(%eax)
    ret
    .data
ud_seen: .long 0
vmxon_area: .quad 0
ok: .ascii "vm instructions: VMXON -> #UD, VMRUN -> #UD\n"
ok_end:
no: .ascii "vm instructions WRONG: expected two #UD\n"
no_end:
