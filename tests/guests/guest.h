/* Shared assembly for test guests: entry, vendor detection, hypercalls, and (32/64-bit) GDT+IDT setup. */
/* Hypercall numbers: vmm/hypercall.h. MODE is 16, 32 or 64 (from the file name). */
#define HC_PRINT  1
#define HC_EXIT   2
#define HC_TIMER  3
#define HC_TIME   4
#define HC_PEER   5
#define HC_REPORT 6

#if MODE == 16
    .code16
#define BX %ebx
#define CX %ecx
#define WORD .long
#define PTRSZ 4
#elif MODE == 32
    .code32
#define BX %ebx
#define CX %ecx
#define WORD .long
#define PTRSZ 4
#else
    .code64
#define BX %rbx
#define CX %rcx
#define WORD .quad
#define PTRSZ 8
#endif

    .text
    .global _start
_start:
    xor %eax, %eax
    cpuid
    xor %eax, %eax
    cmp $0x68747541, %ebx          /* "Auth"enticAMD: VMMCALL, else VMCALL */
    sete %al
    mov %al, is_amd
#if MODE != 16
    call setup_tables
#endif
    jmp guest_main

/* hypercall: function in eax, arguments in ebx/ecx (rbx/rcx); result in eax/rax. Clobbers nothing else. */
hypercall:
    cmpb $0, is_amd
    jne 1f
    vmcall
    ret
1:  vmmcall
    ret

#define PRINT(label, len) mov $HC_PRINT, %eax; mov $label, BX; mov $len, CX; call hypercall
#define EXIT(code) mov $HC_EXIT, %eax; mov $code, BX; call hypercall
#define FAIL(label, len) PRINT(label, len); EXIT(1)
/* Set handlers[vec] = fn: the IDT stub for vec calls it with the frame at cur_frame. */
#define HANDLE(vec, fn) movl $fn, handlers + (vec) * PTRSZ

#if MODE != 16
/* Interrupt stubs: push the vector (and a zero where the CPU pushes no error code), then common. */
.macro STUB vec
stub_\vec:
    .if (\vec == 8 || (\vec >= 10 && \vec <= 14) || \vec == 17)
    .else
    push $0
    .endif
    push $\vec
    jmp int_common
.endm
.altmacro
.set i, 0
.rept 256
    STUB %i
    .set i, i + 1
.endr

#if MODE == 32
/* frame at cur_frame: edi esi edx ecx ebx eax, vec, err, eip, cs, eflags: EIP at +32 */
#define FRAME_IP 32
int_common:
    push %eax
    push %ebx
    push %ecx
    push %edx
    push %esi
    push %edi
    mov %esp, cur_frame
    mov 24(%esp), %eax
    call *handlers(,%eax,4)
    pop %edi
    pop %esi
    pop %edx
    pop %ecx
    pop %ebx
    pop %eax
    add $8, %esp
    iret

setup_tables:
    lgdt gdt_desc
    ljmp $0x08, $1f
1:  mov $0x10, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    xor %ecx, %ecx
2:  mov stub_table(,%ecx,4), %eax
    mov %ax, idt(,%ecx,8)
    movw $0x08, idt+2(,%ecx,8)
    movw $0x8E00, idt+4(,%ecx,8)
    shr $16, %eax
    mov %ax, idt+6(,%ecx,8)
    movl $unexpected, handlers(,%ecx,4)
    inc %ecx
    cmp $256, %ecx
    jb 2b
    lidt idt_desc
    ret
#else
/* frame at cur_frame: rdi rsi rdx rcx rbx rax, vec, err, rip: RIP at +64 */
#define FRAME_IP 64
int_common:
    push %rax
    push %rbx
    push %rcx
    push %rdx
    push %rsi
    push %rdi
    mov %rsp, cur_frame
    mov 48(%rsp), %rax
    call *handlers(,%rax,8)
    pop %rdi
    pop %rsi
    pop %rdx
    pop %rcx
    pop %rbx
    pop %rax
    add $16, %rsp
    iretq

setup_tables:
    lgdt gdt_desc
    pushq $0x08
    pushq $1f
    lretq
1:  mov $0x10, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    xor %ecx, %ecx
2:  mov stub_table(,%rcx,8), %rax
    mov %rcx, %rdx
    shl $4, %rdx
    mov %ax, idt(%rdx)
    movw $0x08, idt+2(%rdx)
    movw $0x8E00, idt+4(%rdx)
    shr $16, %rax
    mov %ax, idt+6(%rdx)
    movl $0, idt+8(%rdx)
    movl $0, idt+12(%rdx)
    movq $unexpected, handlers(,%rcx,8)
    inc %ecx
    cmp $256, %ecx
    jb 2b
    lidt idt_desc
    ret
#endif

/* Default handler: report the vector and stop with code 99. */
unexpected:
    mov cur_frame, %eax
#if MODE == 32
    mov 24(%eax), %ecx
#else
    mov cur_frame, %rax
    mov 48(%rax), %rcx
#endif
    mov $HC_REPORT, %eax
    mov $999, BX
    call hypercall
    EXIT(99)
3:  hlt
    jmp 3b

.macro STUBADDR vec
    WORD stub_\vec
.endm
    .section .rodata
    .balign 8
stub_table:
.set i, 0
.rept 256
    STUBADDR %i
    .set i, i + 1
.endr
    .balign 8
gdt:
    .quad 0
#if MODE == 32
    .quad 0x00CF9A000000FFFF
#else
    .quad 0x00AF9A000000FFFF
#endif
    .quad 0x00CF92000000FFFF
gdt_end:
    .balign 8
    .short 0
gdt_desc:
    .short gdt_end - gdt - 1
    WORD gdt
    .short 0
idt_desc:
#if MODE == 32
    .short 256 * 8 - 1
#else
    .short 256 * 16 - 1
#endif
    WORD idt

    .bss
    .balign 16
idt:
    .skip 256 * 16
handlers:
    .skip 256 * PTRSZ
cur_frame:
    .skip PTRSZ
#endif /* MODE != 16 */

    .data
is_amd: .byte 0
    .text
