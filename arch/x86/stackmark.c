/* Stack high-water marks and the overflow check (see stackmark.h). */
#include "arch/x86/stackmark.h"

void stack_mark_paint(uint64_t base, uint64_t top)
{
    for (volatile uint64_t *w = (uint64_t *)(uintptr_t)base; (uint64_t)(uintptr_t)w < top; w++)
        *w = STACK_PAINT;
}

uint64_t stack_mark_used(uint64_t base, uint64_t top)
{
    const volatile uint64_t *w = (const uint64_t *)(uintptr_t)base;
    while ((uint64_t)(uintptr_t)w < top && *w == STACK_PAINT)
        w++;
    return top - (uint64_t)(uintptr_t)w;
}

int stack_mark_check(uint64_t base)
{
    return stack_mark_used(base, base + STACK_GUARD) ? -1 : 0;
}
