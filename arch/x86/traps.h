/* Exceptions and interrupts: IDT, the trap frame, IRQ handler registration. */
#ifndef SHOAL_ARCH_TRAPS_H
#define SHOAL_ARCH_TRAPS_H
#include <stdint.h>

#define GDT_KCODE 0x08
#define GDT_KDATA 0x10
#define GDT_TSS   0x18

/* The stack as traps.S leaves it: saved registers, vector, error code, then the CPU's frame. */
struct trap_frame {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
    uint64_t rdi, rsi, rbp, rbx, rdx, rcx, rax;
    uint64_t vector, error;
    uint64_t rip, cs, rflags, rsp, ss;
};

/* The host's own vectors. Priority class 0xE for all but the big lock's wake-up, alone in class 0xF: a CPU
 * halted waiting for the lock raises its TPR to class 0xE (SDM 3A 11.8.3.1), so that only that wake-up
 * reaches it and no handler runs inside the wait (arch/x86/biglock.c). */
#define VEC_LAPIC_TIMER 0xE0
#define VEC_SMP_CALL    0xE1
#define VEC_KICK        0xE2
#define VEC_LOCK_WAKE   0xF0
#define VEC_SPURIOUS    0xFF
#define TPR_LOCK_WAIT   0xEu              /* CR8 while halted for the lock: blocks classes 0x0-0xE */

/* Load the boot CPU's GDT with the TSS and its IST stacks. */
void gdt_init(void);
struct cpu_tables;
/* CPU cpu's GDT, TSS and IST stacks, ready to load (the boot CPU allocates them). NULL: no memory. */
struct cpu_tables *gdt_tables_alloc(int cpu);
/* The index of the CPU whose GDT is loaded (the boot GDT and the APs' trampoline GDT say 0). */
int gdt_cpu_index(void);
/* Load t on the calling CPU: GDT, segment registers, task register. */
void gdt_load(struct cpu_tables *t);
/* Load the IDT idt_init built on the calling CPU (an AP). */
void idt_load(void);
/* Build and load the IDT: exceptions print a dump and stop the CPU; vectors >= 32 go to IRQ handlers. */
void idt_init(void);
/* Route vector (32..255) to fn. Returns 0, or -EBUSY when the vector has a handler, -EINVAL if out of range. */
int irq_register(int vector, void (*fn)(struct trap_frame *tf));
/* Print vector, error code, registers, CR2 and a backtrace of tf, as an exception does. */
void trap_dump(const struct trap_frame *tf);
/* Print a frame-pointer backtrace starting at (rip, rbp). */
void backtrace_print(uint64_t rip, uint64_t rbp);
#endif
