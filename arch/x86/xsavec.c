/* XSAVEC self-test at boot: guests are offered the compacted save format only where the CPU writes it right. */
#include "arch/x86/xstate.h"
#include "arch/x86/cpu.h"
#include "kernel/kstring.h"
#include "kernel/log.h"

#define RFBM        7u                      /* x87, SSE, AVX */
#define AREA        (XSAVE_HDR_OFF + 64 + XSAVE_XMM_LEN)
#define FCW_RESET   0x37f
#define MXCSR_RESET 0x1f80

static int usable = 1;
static uint8_t std_img[AREA] __attribute__((aligned(64)));
static uint8_t cmp_img[AREA] __attribute__((aligned(64)));

/* A standard-format image whose XMM and YMM-upper registers hold distinct bytes (or, blank, nothing). */
static void make_image(uint8_t *img, int blank)
{
    memset(img, 0, AREA);
    *(uint16_t *)&img[0] = FCW_RESET;
    *(uint32_t *)&img[24] = MXCSR_RESET;
    if (blank)
        return;
    for (int i = 0; i < XSAVE_XMM_LEN; i++) {
        img[XSAVE_XMM_OFF + i] = (uint8_t)(i * 7 + 1);
        img[XSAVE_HDR_OFF + 64 + i] = (uint8_t)(i * 13 + 5);
    }
    *(uint64_t *)&img[XSAVE_HDR_OFF] = 6;   /* XSTATE_BV: SSE and AVX hold values */
}

static void xrstor(const uint8_t *img)
{
    __asm__ volatile("xrstor64 %0" : : "m"(*(const uint8_t (*)[AREA])img), "a"(RFBM), "d"(0) : "memory");
}

/* The probe needs XSAVEC (CPUID 0xD.1 EAX bit 1), AVX enabled for the host, and AVX's standard slot at 576. */
static int can_probe(void)
{
    if (!(read_cr4() & CR4_OSXSAVE) || !(cpuid(0xd, 1).eax & 2) || !(xstate_host_xcr0() & 4))
        return 0;
    return cpuid(0xd, 2).ebx == XSAVE_HDR_OFF + 64;
}

int xsavec_probe(void)
{
    if (!can_probe())
        return usable = 1;
    make_image(std_img, 0);
    memset(cmp_img, 0, AREA);
    xstate_load_xcr0(xstate_host_xcr0());
    xrstor(std_img);
    __asm__ volatile("xsavec64 %0" : "+m"(*(uint8_t (*)[AREA])cmp_img) : "a"(RFBM), "d"(0) : "memory");
    usable = xsavec_image_ok(cmp_img, std_img + XSAVE_XMM_OFF, std_img + XSAVE_HDR_OFF + 64);
    make_image(std_img, 1);
    xrstor(std_img);                        /* back to the initial state: no pattern reaches a guest */
    if (!usable)
        log_warn("xstate: this CPU's XSAVEC misplaces AVX state (an emulator bug): guests are not offered "
                 "XSAVEC and save in the standard format");
    return usable;
}

int xsavec_usable(void)
{
    return usable;
}
