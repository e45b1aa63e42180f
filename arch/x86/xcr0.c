/* XSAVE rules the VMM checks: which XCR0 values XSETBV accepts, what a right XSAVEC image holds; pure, for unit tests. */
#include "arch/x86/xstate.h"
#include "kernel/kstring.h"

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

/*
 * The compacted form (SDM 1 13.4.3, 13.10): XCOMP_BV is bit 63 plus the requested mask (x87, SSE, AVX
 * here), the legacy region keeps XMM0-15 at byte 160, and the first extended component, AVX's upper
 * halves, starts right after the 64-byte header at byte 576.
 */
int xsavec_image_ok(const uint8_t *img, const uint8_t *xmm, const uint8_t *ymmh)
{
    uint64_t bv, comp;
    memcpy(&bv, img + XSAVE_HDR_OFF, 8);
    memcpy(&comp, img + XSAVE_HDR_OFF + 8, 8);
    if ((bv & (SSE | AVX)) != (SSE | AVX) || comp != ((1ull << 63) | X87 | SSE | AVX))
        return 0;
    return !memcmp(img + XSAVE_XMM_OFF, xmm, XSAVE_XMM_LEN) && !memcmp(img + XSAVE_HDR_OFF + 64, ymmh, XSAVE_XMM_LEN);
}
