/* Stack high-water marks (arch/x86/stackmark.c): paint, use to a depth, measure; the bottom guard catches an overflow. */
#include "tests/unit/test.h"
#include "arch/x86/stackmark.h"

static uint64_t area[1024];     /* an 8 KiB "stack" */

static uint64_t base(void) { return (uint64_t)(uintptr_t)area; }
static uint64_t top(void) { return (uint64_t)(uintptr_t)(area + 1024); }

TEST(stackmark_fresh_stack_used_nothing)
{
    stack_mark_paint(base(), top());
    CHECK_EQ(stack_mark_used(base(), top()), 0);
    CHECK_EQ(stack_mark_check(base()), 0);
}

TEST(stackmark_measures_the_deepest_word)
{
    stack_mark_paint(base(), top());
    area[1023] = 1;                                 /* a push */
    CHECK_EQ(stack_mark_used(base(), top()), 8);
    area[1000] = 0;                                 /* deeper, then the stack came back up */
    area[1010] = 7;
    CHECK_EQ(stack_mark_used(base(), top()), (1024 - 1000) * 8);
    CHECK_EQ(stack_mark_check(base()), 0);
}

TEST(stackmark_bottom_reached_is_an_overflow)
{
    stack_mark_paint(base(), top());
    area[STACK_GUARD / 8 - 1] = 0;                  /* the guard's top word */
    CHECK_EQ(stack_mark_check(base()), -1);
    stack_mark_paint(base(), top());
    area[STACK_GUARD / 8] = 0;                      /* just above the guard: deep, not over */
    CHECK_EQ(stack_mark_check(base()), 0);
    CHECK_EQ(stack_mark_used(base(), top()), 1024 * 8 - STACK_GUARD);
    area[0] = 3;
    CHECK_EQ(stack_mark_check(base()), -1);
    CHECK_EQ(stack_mark_used(base(), top()), 1024 * 8);
}
