/*
 * Test guest: XCR0 dropped while saved AVX state exists, as a VM reset does (XCR0 back to 1). Three
 * rounds of: XCR0 = x87|SSE|AVX, load YMM0-15, HLT 30 ms (a neighbour runs: the registers are saved with
 * AVX in use), XCR0 = 1, HLT again (restored under XCR0 = 1: XRSTOR once raised #GP in the host here),
 * XCR0 = 7 again and check that the upper halves are not the old values (a dropped component comes back
 * in its initial state). Reports each round (report 2=N), a stale register count (report 3) exits 1.
 * guest modes: 64
 */
#include "tests/guests/guest.h"
#include "tests/guests/plant.h"
guest_main:
    HANDLE(0x40, on_timer)
    sse_on
    avx_on have_avx
    cmpb $0, have_avx
    jne round
    PRINT(noavx, noavx_end - noavx)
    EXIT(2)
round:
    .irp r, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
    vmovdqu plant_pattern + 32 * \r, %ymm\r
    .endr
    call nap
    mov $1, %eax                   /* XCR0 = x87 only */
    call set_xcr0
    call nap
    mov $7, %eax
    call set_xcr0
    .irp r, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
    vmovdqu %ymm\r, seen + 32 * \r
    .endr
    mov $16, %esi
    call count_vec
    test %ecx, %ecx
    jnz stale
    incl rounds
    mov $HC_REPORT, %eax
    mov $2, %ebx
    mov rounds, %ecx
    call hypercall
    cmpl $3, rounds
    jb round
    PRINT(ok, ok_end - ok)
    EXIT(0)
stale:
    mov $HC_REPORT, %eax
    mov $3, %ebx
    call hypercall
    EXIT(1)

set_xcr0:
    xor %ecx, %ecx
    xor %edx, %edx
    xsetbv
    ret

/* HLT for 30 ms: whatever else is runnable runs, and this vCPU's registers are saved and restored. */
nap:
    cli
    mov $HC_TIMER, %eax
    mov $0x40, %rbx
    mov $30000, %rcx
    call hypercall
    sti
    hlt
    cli
    ret

on_timer:
    ret

    count_vec_fn

    .data
have_avx: .byte 0
    .balign 4
rounds: .long 0
    plant_pattern
seen: .fill 16 * 32, 1, 0
ok: .ascii "xsetbvdrop ok: AVX state dropped with XCR0 three times, never seen again\n"
ok_end:
noavx: .ascii "xsetbvdrop: the CPU offers no AVX\n"
noavx_end:
