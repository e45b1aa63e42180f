/* XSAVE rules: every XCR0 value the SDM's XSETBV refuses, and what a right XSAVEC image holds (the boot probe). */
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

/* An XSAVEC image of x87, SSE and AVX laid out as SDM 1 13.4.3 says, or with AVX where skew puts it. */
static void xsavec_image(uint8_t *img, uint8_t *xmm, uint8_t *ymmh, int skew)
{
    uint64_t bv = SSE | AVX, comp = (1ull << 63) | X87 | SSE | AVX;
    memset(img, 0, 1024);
    for (int i = 0; i < XSAVE_XMM_LEN; i++) {
        xmm[i] = (uint8_t)(i * 7 + 1);
        ymmh[i] = (uint8_t)(i * 13 + 5);
    }
    memcpy(img + XSAVE_XMM_OFF, xmm, XSAVE_XMM_LEN);
    memcpy(img + XSAVE_HDR_OFF + 64 - skew, ymmh, XSAVE_XMM_LEN);
    memcpy(img + XSAVE_HDR_OFF, &bv, 8);        /* the header last, as the CPU writes it */
    memcpy(img + XSAVE_HDR_OFF + 8, &comp, 8);
}

TEST(xsavec_image_as_the_sdm_lays_it_out)
{
    uint8_t img[1024], xmm[XSAVE_XMM_LEN], ymmh[XSAVE_XMM_LEN];
    xsavec_image(img, xmm, ymmh, 0);
    CHECK(xsavec_image_ok(img, xmm, ymmh));
}

TEST(xsavec_image_with_avx_after_the_xmm_area_is_refused)
{
    /* Bochs 2.7: AVX's upper halves at byte 416 (160 + 256), under the header, instead of 576. */
    uint8_t img[1024], xmm[XSAVE_XMM_LEN], ymmh[XSAVE_XMM_LEN];
    xsavec_image(img, xmm, ymmh, 160);
    CHECK(!xsavec_image_ok(img, xmm, ymmh));
}

TEST(xsavec_image_without_compaction_or_avx_in_use_is_refused)
{
    uint8_t img[1024], xmm[XSAVE_XMM_LEN], ymmh[XSAVE_XMM_LEN];
    uint64_t v = X87 | SSE | AVX;                /* XCOMP_BV without bit 63: the standard form */
    xsavec_image(img, xmm, ymmh, 0);
    memcpy(img + XSAVE_HDR_OFF + 8, &v, 8);
    CHECK(!xsavec_image_ok(img, xmm, ymmh));
    xsavec_image(img, xmm, ymmh, 0);
    v = SSE;                                     /* XSTATE_BV says AVX is in its initial state */
    memcpy(img + XSAVE_HDR_OFF, &v, 8);
    CHECK(!xsavec_image_ok(img, xmm, ymmh));
    xsavec_image(img, xmm, ymmh, 0);
    img[XSAVE_XMM_OFF + 17] ^= 1;                /* one XMM byte wrong */
    CHECK(!xsavec_image_ok(img, xmm, ymmh));
}

/* This machine's CPU, in user mode (XRSTOR and XSAVEC need only CR4.OSXSAVE): the check accepts what real
 * hardware writes. Where the CPU has no XSAVEC the hand-built images above are the whole test. */
TEST(xsavec_image_of_this_cpu_is_accepted)
{
    static uint8_t std_img[1024] __attribute__((aligned(64))), img[1024] __attribute__((aligned(64)));
    uint8_t xmm[XSAVE_XMM_LEN], ymmh[XSAVE_XMM_LEN];
    unsigned a, b, c, d;
    __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0xd), "c"(1));
    if (!(a & 2)) {
        printf("    (no XSAVEC on this CPU)\n");
        return;
    }
    xsavec_image(std_img, xmm, ymmh, 0);
    uint64_t comp = 0;                              /* XRSTOR reads the standard form: XCOMP_BV 0 */
    memcpy(std_img + XSAVE_HDR_OFF + 8, &comp, 8);
    *(uint32_t *)&std_img[24] = 0x1f80;
    __asm__ volatile("xrstor64 %0" : : "m"(std_img), "a"(7), "d"(0) : "memory");
    __asm__ volatile("xsavec64 %0" : "+m"(img) : "a"(7), "d"(0) : "memory");
    CHECK(xsavec_image_ok(img, xmm, ymmh));
}
