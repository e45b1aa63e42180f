/*
 * Test guest: hostile. With interrupts off it sweeps every I/O port (but the i8042 command port, whose
 * reset command stops a test guest) with seeded random values and widths, reads and writes every MSR of
 * the architectural, hypervisor and AMD ranges (#GP skipped), writes and reads random values over every
 * device window (the LAPIC's ICR excepted: an INIT to itself would park it for good) and over
 * unassigned space, then triple-faults. shoal gives it the full Linux device set (testguest.c). First it
 * raises its CR8 (TPR) to 15: without a TPR shadow that is the CPU's own TPR, which must not stay that way
 * in the host after its exits (the host's timer would never interrupt again).
 * Progress lines: "hostile: ports done", "msrs done", "mmio done".
 * guest modes: 64
 */
#include "tests/guests/guest.h"
guest_main:
    cli
    mov $15, %eax
    mov %rax, %cr8                     /* every interrupt class blocked, as far as the CPU's TPR goes */
    lea handlers, %rdi
    mov $256, %ecx
1:  movq $ignore, (%rdi)               /* every vector: ignored (NMIs, stray exceptions) ... */
    add $8, %rdi
    loop 1b
    HANDLE(13, skip_insn)              /* ... but #GP, from RDMSR/WRMSR: skip the 2-byte instruction */
    mov $0x2545f491, %r15d             /* the random stream's seed */
    call sweep_ports
    PRINT(ports, ports_end - ports)
    call sweep_msrs
    PRINT(msrs, msrs_end - msrs)
    call sweep_mmio
    PRINT(mmio, mmio_end - mmio)
    lidt null_idt                      /* no IDT: #UD -> #GP -> #DF -> shutdown */
    ud2
    jmp .

ignore:
    ret
skip_insn:
    mov cur_frame, %rax
    addq $2, FRAME_IP(%rax)
    ret

/* xorshift32 in r15d; the value in eax. */
rand:
    mov %r15d, %eax
    shl $13, %eax
    xor %eax, %r15d
    mov %r15d, %eax
    shr $17, %eax
    xor %eax, %r15d
    mov %r15d, %eax
    shl $5, %eax
    xor %eax, %r15d
    mov %r15d, %eax
    ret

/* Every port: one OUT and one IN, each of a random width. */
sweep_ports:
    xor %r13d, %r13d
1:  cmp $0x64, %r13d
    je 5f
    call rand
    mov %r13d, %edx
    test $0x30000, %eax
    jz 2f
    test $0x40000, %eax
    jz 3f
    out %eax, %dx
    jmp 4f
2:  out %al, %dx
    jmp 4f
3:  out %ax, %dx
4:  test $0x80000, %eax
    jz 6f
    in %dx, %eax
    jmp 5f
6:  in %dx, %al
5:  inc %r13d
    cmp $0x10000, %r13d
    jb 1b
    ret

/* MSRs [ecx, ecx + r14d): RDMSR, then WRMSR of a random value (not EFER or APIC_BASE: those would
 * only end the test early, the guest's own business). */
msr_range:
1:  mov %r12d, %ecx
    rdmsr
    cmp $0xc0000080, %r12d
    je 2f
    cmp $0x1b, %r12d
    je 2f
    call rand
    mov %eax, %edx
    call rand
    mov %r12d, %ecx
    wrmsr
2:  inc %r12d
    dec %r14d
    jnz 1b
    ret

sweep_msrs:
    xor %r12d, %r12d
    mov $0x2000, %r14d
    call msr_range
    mov $0x40000000, %r12d
    mov $0x100, %r14d
    call msr_range
    mov $0xc0000000, %r12d
    mov $0x200, %r14d
    call msr_range
    mov $0xc0010000, %r12d
    mov $0x200, %r14d
    call msr_range
    ret

/* One 4 KiB page at rbx: a random dword written at every offset, then read back. */
mmio_page:
    xor %r13d, %r13d
1:  cmp $0xfee00000, %ebx              /* the LAPIC's ICR is spared */
    jne 2f
    cmp $0x300, %r13d
    je 3f
2:  call rand
    mov %eax, (%rbx,%r13)
    mov (%rbx,%r13), %eax
3:  add $4, %r13d
    cmp $0x1000, %r13d
    jb 1b
    ret

sweep_mmio:
    lea pages, %rsi
1:  mov (%rsi), %rbx
    test %rbx, %rbx
    jz 2f
    call mmio_page
    add $8, %rsi
    jmp 1b
2:  ret

    .data
    .balign 8
pages:
    .quad 0xfee00000, 0xfec00000, 0xd0000000, 0xd0001000, 0xfe000000   /* LAPIC, IOAPIC, virtio, testdev */
    .quad 0xd0002000, 0xe0000000, 0xfeb00000, 0x80000000               /* unassigned */
    .quad 0
    .balign 8
null_idt:
    .short 0
    .quad 0
ports: .ascii "hostile: ports done\n"
ports_end:
msrs: .ascii "hostile: msrs done\n"
msrs_end:
mmio: .ascii "hostile: mmio done\n"
mmio_end:
