/* Which XCR0 values XSETBV accepts (SDM 1 13.3, SDM 2 "XSETBV"): pure, so the host unit tests run it. */
#include "arch/x86/xstate.h"

#define X87      (1ull << 0)
#define SSE      (1ull << 1)
#define AVX      (1ull << 2)
#define MPX      (3ull << 3)            /* BNDREGS, BNDCSR */
#define AVX512   (7ull << 5)            /* opmask, ZMM_Hi256, Hi16_ZMM */
#define AMX      (3ull << 17)           /* TILECFG, TILEDATA */
#define XSS_ONLY (1ull << 8 | 0x7full << 10)   /* supervisor components (PT, PASID, CET, HDC, UINTR, LBR, HWP) */

/* Components that only exist together: none or all of them. */
static int all_or_none(uint64_t val, uint64_t group)
{
    return (val & group) == 0 || (val & group) == group;
}

int xcr0_valid(uint64_t val, uint64_t allowed)
{
    if (!(val & X87) || (val & ~allowed) || (val & XSS_ONLY))
        return 0;
    if ((val & AVX) && !(val & SSE))
        return 0;
    if (!all_or_none(val, AVX512) || ((val & AVX512) && !(val & AVX)))
        return 0;
    return all_or_none(val, MPX) && all_or_none(val, AMX);
}
