/*
 * Test guest, register planting (the planter): loads its pattern into XMM0-15 (YMM0-15 with AVX; with
 * AVX-512 also YMM16-31 and opmask k1-k7), DR0-3 and DR6, says so, then every 100 ms wakes from HLT and
 * checks they are still its own (report 2=N). A changed one reports its number (report 3: 0-15 vector,
 * 16-19 DR0-3, 20 DR6, 21 opmask, 22 YMM16-31, 23 DR7) and exits 1.
 * guest modes: 64
 */
#include "tests/guests/guest.h"
#include "tests/guests/plant.h"
guest_main:
    HANDLE(0x40, on_timer)
    sse_on
    avx_on have_avx
    call load_vec
    cmpb $0, have_avx
    je 2f
    avx512_on have_512
    cmpb $0, have_512
    je 2f
    .irp i, 1, 2, 3, 4, 5, 6, 7
    mov $PLANT_K(\i), %eax
    kmovw %eax, %k\i
    .endr
    load_hi16
    PRINT(zmm, zmm_end - zmm)
2:  mov $PLANT_DR(0), %rax
    mov %rax, %dr0
    mov $PLANT_DR(1), %rax
    mov %rax, %dr1
    mov $PLANT_DR(2), %rax
    mov %rax, %dr2
    mov $PLANT_DR(3), %rax
    mov %rax, %dr3
    mov $PLANT_DR6, %eax
    mov %rax, %dr6
    mov $PLANT_DR7, %eax
    mov %rax, %dr7
    cmpb $0, have_avx
    je 1f
    PRINT(avx, avx_end - avx)
    jmp round
1:  PRINT(sse, sse_end - sse)
round:
    cli
    mov $HC_TIMER, %eax
    mov $0x40, %rbx
    mov $100000, %rcx              /* 100 ms */
    call hypercall
    sti
    hlt
    cli
    call check
    incl rounds
    mov $HC_REPORT, %eax
    mov $2, %ebx
    mov rounds, %ecx
    call hypercall
    jmp round

on_timer:
    ret

/* Every planted register still holds the pattern, else report 3=its number and exit 1. */
check:
    call store_vec
    mov $16, %edx                  /* bytes per register: 32 with AVX */
    cmpb $0, have_avx
    je 1f
    mov $32, %edx
1:  xor %ebx, %ebx
2:  mov %ebx, %eax
    shl $5, %eax
    lea plant_pattern(%rax), %rsi
    lea seen(%rax), %rdi
    mov %edx, %ecx
    cld
    repe cmpsb
    jne bad
    inc %ebx
    cmp $16, %ebx
    jb 2b
    save_drs dr
    mov $PLANT_DR(0), %rcx
3:  cmp %rcx, dr - 128(,%rbx,8)   /* ebx = 16 + i for DR i */
    jne bad
    add $8, %rcx
    inc %ebx
    cmp $20, %ebx
    jb 3b
    mov dr + 32, %rax
    and $PLANT_DR6_BITS, %eax
    cmp $PLANT_DR6_BITS, %eax
    jne bad
    mov %dr7, %rax
    mov $23, %ebx
    cmp $PLANT_DR7, %eax
    jne bad
    cmpb $0, have_512
    je 4f
    count_k
    mov $21, %ebx
    cmp $7, %ecx
    jne bad
    store_hi16
    xor %esi, %esi
    call count_vec
    mov $22, %ebx
    cmp $16, %ecx
    jne bad
4:  ret
bad:
    mov %ebx, %ecx
    mov $HC_REPORT, %eax
    mov $3, %ebx
    call hypercall
    EXIT(1)

load_vec:
    cmpb $0, have_avx
    je 1f
    .irp r, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
    vmovdqu plant_pattern + 32 * \r, %ymm\r
    .endr
    ret
1:  .irp r, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
    movdqu plant_pattern + 32 * \r, %xmm\r
    .endr
    ret

store_vec:
    cmpb $0, have_avx
    je 1f
    .irp r, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
    vmovdqu %ymm\r, seen + 32 * \r
    .endr
    ret
1:  .irp r, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
    movdqu %xmm\r, seen + 32 * \r
    .endr
    ret

    count_vec_fn

    .data
have_avx: .byte 0
have_512: .byte 0
    .balign 4
rounds: .long 0
    .balign 8
dr: .fill 5, 8, 0
    plant_pattern
seen: .fill 16 * 32, 1, 0
avx: .ascii "plant: YMM0-15, DR0-3 and DR6 planted (and DR7)\n"
avx_end:
sse: .ascii "plant: XMM0-15, DR0-3 and DR6 planted (and DR7)\n"
sse_end:
zmm: .ascii "plant: also YMM16-31 and k1-7 (AVX-512)\n"
zmm_end:
