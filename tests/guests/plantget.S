/*
 * Test guest, register planting (the looker): leaves XCR0 at 1 (x87 only; SSE still runs with CR4.OSFXSR,
 * SDM 1 13.1) and looks in XMM0-15, DR0-3 and DR6 for plantset64's values, then enables AVX and looks in
 * the upper halves of YMM0-15, and with AVX-512 in opmask k1-k7 and YMM16-31. Reports how many it found
 * (report 5 = XMM, 6 = YMM upper halves, 7 = debug registers, 8 = opmask, 9 = YMM16-31) and exits 0
 * when it found none, 1 otherwise.
 * guest modes: 64
 */
#include "tests/guests/guest.h"
#include "tests/guests/plant.h"
guest_main:
    sse_on
    .irp r, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
    movdqu %xmm\r, seen + 32 * \r
    .endr
    save_drs dr
    xor %esi, %esi                 /* offset of the half compared: 0 */
    call count_vec
    mov %ecx, xmm_found
    call count_dr
    avx_on have_avx
    cmpb $0, have_avx
    je 1f
    .irp r, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
    vmovdqu %ymm\r, seen + 32 * \r
    .endr
    mov $16, %esi                  /* the upper halves */
    call count_vec
    mov %ecx, ymm_found
    mov $HC_REPORT, %eax
    mov $6, %ebx
    call hypercall
    avx512_on have_512
    cmpb $0, have_512
    je 1f
    count_k
    mov %ecx, k_found
    mov $HC_REPORT, %eax
    mov $8, %ebx
    call hypercall
    store_hi16
    xor %esi, %esi
    call count_vec
    mov %ecx, hi16_found
    mov $HC_REPORT, %eax
    mov $9, %ebx
    call hypercall
1:  mov $HC_REPORT, %eax
    mov $5, %ebx
    mov xmm_found, %ecx
    call hypercall
    mov $HC_REPORT, %eax
    mov $7, %ebx
    mov dr_found, %ecx
    call hypercall
    mov xmm_found, %eax
    add ymm_found, %eax
    add dr_found, %eax
    add k_found, %eax
    add hi16_found, %eax
    jnz leak
    PRINT(ok, ok_end - ok)
    EXIT(0)
leak:
    PRINT(no, no_end - no)
    EXIT(1)

    count_vec_fn

/* dr_found = how many of DR0-3 hold the planted addresses, plus 1 when DR6 has B0-B3 set, 1 for DR7. */
count_dr:
    xor %ecx, %ecx
    xor %ebx, %ebx
    mov $PLANT_DR(0), %rdx
1:  cmp %rdx, dr(,%rbx,8)
    jne 2f
    inc %ecx
2:  add $8, %rdx
    inc %ebx
    cmp $4, %ebx
    jb 1b
    mov dr + 32, %rax
    and $PLANT_DR6_BITS, %eax
    cmp $PLANT_DR6_BITS, %eax
    jne 3f
    inc %ecx
3:  mov %dr7, %rax
    cmp $PLANT_DR7, %eax
    jne 4f
    inc %ecx
4:  mov %ecx, dr_found
    ret

    .data
have_avx: .byte 0
have_512: .byte 0
    .balign 8
k_found: .long 0
hi16_found: .long 0
xmm_found: .long 0
ymm_found: .long 0
dr_found: .long 0
    .balign 8
dr: .fill 5, 8, 0
    plant_pattern
seen: .fill 16 * 32, 1, 0
ok: .ascii "plant: none of the other guest's values visible\n"
ok_end:
no: .ascii "plant: LEAK: the other guest's register values are visible\n"
no_end:
