/* Guests' extended register state: XCR0 and XSAVE/FXSAVE areas (SDM Vol. 1 ch. 13, APM Vol. 2 11.5). */
#include "arch/x86/xstate.h"
#include "arch/x86/cpu.h"
#include "kernel/heap.h"
#include "kernel/kstring.h"
#include "kernel/log.h"

#define CR0_MP (1ull << 1)
#define CR0_EM (1ull << 2)
#define CR0_TS (1ull << 3)
#define CR0_NE (1ull << 5)
#define CR4_OSFXSR     (1ull << 9)
#define CR4_OSXMMEXCPT (1ull << 10)
#define CR4_OSXSAVE    (1ull << 18)
#define LEGACY_SIZE 512                  /* the FXSAVE image; XSAVE adds a 64-byte header and components */
#define FCW_RESET   0x37f
#define MXCSR_RESET 0x1f80

struct xstate {
    void *raw;                           /* what kmalloc returned: the area itself is aligned inside it */
    uint8_t area[] __attribute__((aligned(64)));
};

static int have_xsave;
static uint32_t area_size = LEGACY_SIZE;

/*
 * The host itself uses no extended state (-mgeneral-regs-only), so these registers belong to
 * whichever guest ran last; the VMM saves and restores them when it switches vCPUs.
 */
void xstate_init(void)
{
    write_cr0((read_cr0() | CR0_MP | CR0_NE) & ~(CR0_EM | CR0_TS));   /* FXSAVE/XSAVE raise #NM with EM or TS */
    write_cr4(read_cr4() | CR4_OSFXSR | CR4_OSXMMEXCPT);
    if (!((cpuid(1, 0).ecx >> 26) & 1))
        return;
    write_cr4(read_cr4() | CR4_OSXSAVE);                /* so XSETBV and XSAVE are legal for the host */
    have_xsave = 1;
    area_size = cpuid(0xd, 0).ecx;                      /* every component the CPU supports (SDM 13.2) */
    log_info("xstate: XSAVE, %u-byte save area per vCPU", area_size);
}

struct xstate *xstate_alloc(void)
{
    void *raw = kmalloc(sizeof(struct xstate) + area_size + 63);
    if (!raw)
        return NULL;
    struct xstate *x = (struct xstate *)(((uintptr_t)raw + 63) & ~(uintptr_t)63);   /* XSAVE needs 64 */
    memset(x->area, 0, area_size);                      /* XSTATE_BV 0: every component in its init state */
    x->raw = raw;
    *(uint16_t *)&x->area[0] = FCW_RESET;
    *(uint32_t *)&x->area[24] = MXCSR_RESET;
    return x;
}

void xstate_free(struct xstate *x)
{
    if (x)
        kfree(x->raw);
}

void xstate_save(struct xstate *x)
{
    if (have_xsave)
        __asm__ volatile("xsave64 %0" : "+m"(*(uint8_t (*)[LEGACY_SIZE])x->area) : "a"(~0u), "d"(~0u) : "memory");
    else
        __asm__ volatile("fxsave64 %0" : "+m"(*(uint8_t (*)[LEGACY_SIZE])x->area) : : "memory");
}

void xstate_restore(struct xstate *x, uint64_t xcr0)
{
    /*
     * XRSTOR raises #GP for a component in XSTATE_BV that XCR0 does not enable (SDM 13.8.1). The area
     * may hold one the owner has since dropped (a VM reset puts XCR0 back to 1): such state is gone.
     */
    if (have_xsave) {
        *(uint64_t *)&x->area[LEGACY_SIZE] &= xcr0 | 1;           /* XSTATE_BV: the header's first word */
        __asm__ volatile("xrstor64 %0" : : "m"(*(const uint8_t (*)[LEGACY_SIZE])x->area), "a"(~0u), "d"(~0u) : "memory");
    } else {
        __asm__ volatile("fxrstor64 %0" : : "m"(*(const uint8_t (*)[LEGACY_SIZE])x->area) : "memory");
    }
}

/*
 * No cached "current" value: where the CPU does not honour the XSETBV intercept (QEMU TCG's SVM),
 * a guest changes XCR0 behind the VMM's back, so the hardware register is the only truth.
 */
void xstate_load_xcr0(uint64_t xcr0)
{
    if (have_xsave)
        __asm__ volatile("xsetbv" : : "c"(0), "a"((uint32_t)xcr0 | 1u), "d"((uint32_t)(xcr0 >> 32)));  /* x87 is never off */
}

uint64_t xstate_read_xcr0(uint64_t fallback)
{
    uint32_t lo, hi;
    if (!have_xsave)
        return fallback;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return lo | ((uint64_t)hi << 32);
}
