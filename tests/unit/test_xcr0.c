/* XCR0 validation: every combination the SDM's XSETBV refuses, on a CPU that supports every component. */
#define TEST_SUITE "xcr0"
#include "tests/unit/test.h"
#include "arch/x86/xstate.h"

#define X87 (1ull << 0)
#define SSE (1ull << 1)
#define AVX (1ull << 2)
#define BNDREGS (1ull << 3)
#define BNDCSR (1ull << 4)
#define OPMASK (1ull << 5)
#define ZMM_HI256 (1ull << 6)
#define HI16_ZMM (1ull << 7)
#define PT (1ull << 8)                 /* supervisor state: IA32_XSS, never XCR0 */
#define PKRU (1ull << 9)
#define TILECFG (1ull << 17)
#define TILEDATA (1ull << 18)
#define AVX512 (OPMASK | ZMM_HI256 | HI16_ZMM)
#define MPX (BNDREGS | BNDCSR)
#define AMX (TILECFG | TILEDATA)
/* What CPUID 0xD.0 EDX:EAX reports on a CPU with every user component (no bit 8: supervisor). */
#define ALL (X87 | SSE | AVX | MPX | AVX512 | PKRU | AMX)

TEST(accepts_the_valid_combinations)
{
    static const uint64_t ok[] = { X87, X87 | SSE, X87 | SSE | AVX, X87 | MPX, X87 | SSE | AVX | AVX512,
                                   X87 | PKRU, X87 | SSE | AVX | AMX, ALL, X87 | SSE | AVX | MPX | PKRU };
    for (unsigned i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        if (!xcr0_valid(ok[i], ALL))
            test_fail(__FILE__, __LINE__, "refused %#llx", (unsigned long long)ok[i]);
}

TEST(refuses_what_xsetbv_refuses)
{
    static const struct { uint64_t v; const char *why; } bad[] = {
        { 0, "x87 off" }, { SSE, "x87 off" }, { SSE | AVX, "x87 off" },
        { X87 | AVX, "AVX without SSE" },
        { X87 | SSE | AVX | OPMASK, "opmask without the ZMM components" },
        { X87 | SSE | AVX | ZMM_HI256, "ZMM_Hi256 alone" },
        { X87 | SSE | AVX | HI16_ZMM, "Hi16_ZMM alone" },
        { X87 | SSE | AVX | ZMM_HI256 | HI16_ZMM, "ZMM without opmask" },
        { X87 | SSE | AVX | OPMASK | ZMM_HI256, "Hi16_ZMM missing" },
        { X87 | SSE | AVX512, "AVX-512 without AVX" },
        { X87 | AVX512, "AVX-512 without AVX or SSE" },
        { X87 | BNDREGS, "BNDREGS without BNDCSR" }, { X87 | BNDCSR, "BNDCSR without BNDREGS" },
        { X87 | SSE | AVX | TILECFG, "TILECFG without TILEDATA" },
        { X87 | SSE | AVX | TILEDATA, "TILEDATA without TILECFG" },
        { X87 | PT, "a supervisor component" }, { X87 | (1ull << 63), "a reserved bit" },
        { ALL | PT, "everything plus a supervisor component" },
    };
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (xcr0_valid(bad[i].v, ALL))
            test_fail(__FILE__, __LINE__, "accepted %#llx (%s)", (unsigned long long)bad[i].v, bad[i].why);
}

TEST(refuses_components_not_allowed)
{
    CHECK(!xcr0_valid(X87 | SSE | AVX, X87 | SSE));                 /* a CPU (or guest CPUID) without AVX */
    CHECK(!xcr0_valid(X87 | SSE | AVX | AVX512, X87 | SSE | AVX));
    CHECK(!xcr0_valid(X87 | PKRU, X87 | SSE | AVX));
    CHECK(xcr0_valid(X87 | SSE | AVX, X87 | SSE | AVX));
    CHECK(!xcr0_valid(X87, 0));                                       /* no XSAVE at all */
    CHECK(!xcr0_valid(X87 | PT, ALL | PT));                           /* supervisor states never, whatever */
    CHECK(!xcr0_valid(X87 | (1ull << 12), ALL | (1ull << 12)));       /* the mask says (CET_S) */
}
