/* Stack high-water marks: a CPU's stack painted while unused, then measured by how much paint is gone. */
#ifndef SHOAL_ARCH_STACKMARK_H
#define SHOAL_ARCH_STACKMARK_H
#include <stdint.h>

#define STACK_PAINT     0x5a17c0de5a17c0deull
#define STACK_GUARD     64      /* bytes at the bottom that must keep their paint: the overflow check */

/* Paint [base, top) (8-byte aligned; nothing may use it yet). */
void stack_mark_paint(uint64_t base, uint64_t top);
/* Bytes of the stack [base, top) used at most since it was painted: top down to the lowest unpainted word. */
uint64_t stack_mark_used(uint64_t base, uint64_t top);
/* 0 while the STACK_GUARD bytes at base keep their paint; -1 once the stack reached them (overflowed). */
int stack_mark_check(uint64_t base);
#endif
