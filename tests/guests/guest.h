/* Shared assembly for test guests: entry, vendor detection and the hypercall subroutine. */
/* Hypercall numbers: vmm/hypercall.h. MODE is 16, 32 or 64 (from the file name). */
#define HC_PRINT  1
#define HC_EXIT   2
#define HC_TIMER  3
#define HC_TIME   4
#define HC_PEER   5
#define HC_REPORT 6

#if MODE == 16
    .code16
#define AX %eax
#define BX %ebx
#define CX %ecx
#define DX %edx
#elif MODE == 32
    .code32
#define AX %eax
#define BX %ebx
#define CX %ecx
#define DX %edx
#else
    .code64
#define AX %rax
#define BX %rbx
#define CX %rcx
#define DX %rdx
#endif

/* Every guest starts at guest_main after vendor detection. */
    .text
    .global _start
_start:
    xor %eax, %eax
    cpuid
    xor %eax, %eax
    cmp $0x68747541, %ebx          /* "Auth"enticAMD: VMMCALL, else VMCALL */
    sete %al
    mov %al, is_amd
    jmp guest_main

/* hypercall: function in eax, arguments in ebx/ecx (rbx/rcx); result in eax/rax. */
hypercall:
    cmpb $0, is_amd
    jne 1f
    vmcall
    ret
1:  vmmcall
    ret

/* print(ebx = string, ecx = length) */
#define PRINT(label, len) mov $HC_PRINT, %eax; mov $label, BX; mov $len, CX; call hypercall
#define EXIT(code) mov $HC_EXIT, %eax; mov $code, BX; call hypercall
#define REPORT(key, val) mov $HC_REPORT, %eax; mov $key, BX; mov val, CX; call hypercall

    .data
is_amd: .byte 0
    .text
