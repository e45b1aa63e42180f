/* Checks of an XSAVE/FXSAVE image from a record before XRSTOR/FXRSTOR may load it (SDM 1 13.8, 10.5.1): pure. */
#include "arch/x86/xstate.h"
#include "kernel/byteorder.h"

#define LEGACY_SIZE   512
#define HEADER_SIZE   64
#define MXCSR_OFF     24
#define XCOMP_BV_OFF  (LEGACY_SIZE + 8)

int xsave_check(const void *area, uint32_t size, uint32_t want_size, uint64_t xcr0, const char **why)
{
    const uint8_t *a = area;
    if (size != want_size || size < LEGACY_SIZE) {
        *why = "XSAVE area size differs from this host's";
        return -22;
    }
    if (a[MXCSR_OFF + 2] || a[MXCSR_OFF + 3]) {          /* MXCSR 31:16 reserved: #GP (SDM 1 10.2.3) */
        *why = "MXCSR reserved bits set";
        return -22;
    }
    if (size == LEGACY_SIZE)
        return 0;                                        /* FXRSTOR image: no header */
    if (size < LEGACY_SIZE + HEADER_SIZE) {
        *why = "XSAVE area too small for its header";
        return -22;
    }
    if (get_le64(a + LEGACY_SIZE) & ~(xcr0 | 3)) {      /* XSTATE_BV within XCR0 (x87/SSE always usable) */
        *why = "XSTATE_BV has components XCR0 does not enable";
        return -22;
    }
    for (uint32_t i = XCOMP_BV_OFF; i < LEGACY_SIZE + HEADER_SIZE; i++)
        if (a[i]) {                                      /* XCOMP_BV and reserved bytes: #GP (SDM 1 13.8.1) */
            *why = "XSAVE header reserved bytes are not zero";
            return -22;
        }
    return 0;
}
