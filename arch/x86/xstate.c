/* Guests' registers left in hardware between exits: XCR0, XSAVE/FXSAVE areas (SDM 1 ch. 13), DR0-3 and DR6. */
#include "arch/x86/xstate.h"
#include "arch/x86/cpu.h"
#include "kernel/heap.h"
#include "kernel/kstring.h"
#include "kernel/log.h"
#include "vmm/dev/snapshot.h"

#define LEGACY_SIZE 512                  /* the FXSAVE image; XSAVE adds a 64-byte header and components */
#define FCW_RESET   0x37f
#define MXCSR_RESET 0x1f80
#define DR6_RESET   0xffff0ff0ull
#define XCR0_X87_SSE 3ull                /* usable whatever XCR0 says: SSE needs only CR4.OSFXSR (SDM 1 13.1) */

struct xstate {
    void *raw;                           /* what kmalloc returned: the area itself is aligned inside it */
    uint64_t dr[5];                      /* DR0-3 and DR6 (DR7 lives in the VMCS/VMCB) */
    uint8_t area[] __attribute__((aligned(64)));
};

static int have_xsave;
static uint32_t area_size = LEGACY_SIZE;
static uint64_t host_xcr0 = 1;           /* every component this CPU supports */

/*
 * The host itself uses no extended state (-mgeneral-regs-only), so these registers belong to
 * whichever guest ran last; the VMM saves and restores them when it switches vCPUs.
 */
void xstate_cpu_init(void)
{
    write_cr0((read_cr0() | CR0_MP | CR0_NE) & ~(CR0_EM | CR0_TS));   /* FXSAVE/XSAVE raise #NM with EM or TS */
    write_cr4(read_cr4() | CR4_OSFXSR | CR4_OSXMMEXCPT);
    if ((cpuid(1, 0).ecx >> 26) & 1)
        write_cr4(read_cr4() | CR4_OSXSAVE);            /* so XSETBV and XSAVE are legal for the host */
}

void xstate_init(void)
{
    xstate_cpu_init();
    if (!((cpuid(1, 0).ecx >> 26) & 1))
        return;
    have_xsave = 1;
    struct cpuid_regs d = cpuid(0xd, 0);
    host_xcr0 = d.eax | ((uint64_t)d.edx << 32);
    area_size = d.ecx;                                  /* every component the CPU supports (SDM 13.2) */
    log_info("xstate: XSAVE, %u-byte save area per vCPU", area_size);
}

/* XSTATE_BV 0: every component in its initial state; FCW, MXCSR and DR6 at their reset values. */
static void reset_area(struct xstate *x)
{
    memset(x->area, 0, area_size);
    memset(x->dr, 0, sizeof(x->dr));
    x->dr[4] = DR6_RESET;
    *(uint16_t *)&x->area[0] = FCW_RESET;
    *(uint32_t *)&x->area[24] = MXCSR_RESET;
}

struct xstate *xstate_alloc(void)
{
    void *raw = kmalloc(sizeof(struct xstate) + area_size + 63);
    if (!raw)
        return NULL;
    struct xstate *x = (struct xstate *)(((uintptr_t)raw + 63) & ~(uintptr_t)63);   /* XSAVE needs 64 */
    x->raw = raw;
    reset_area(x);
    return x;
}

void xstate_free(struct xstate *x)
{
    if (x)
        kfree(x->raw);
}

uint32_t xstate_area_size(void)
{
    return area_size;
}

uint64_t xstate_host_xcr0(void)
{
    return host_xcr0;
}

static void xsetbv0(uint64_t v)
{
    __asm__ volatile("xsetbv" : : "c"(0), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

/*
 * No VM entry or exit switches DR0-3, and VMX none switches DR6 (SVM keeps DR6 and DR7 in the VMCB, VMX
 * DR7 in the VMCS; SDM 3C 27.5.1 and APM 15.7.2 disable the host's breakpoints at exit).
 */
static void debug_save(uint64_t *dr)
{
    __asm__ volatile("mov %%dr0, %0" : "=r"(dr[0]));
    __asm__ volatile("mov %%dr1, %0" : "=r"(dr[1]));
    __asm__ volatile("mov %%dr2, %0" : "=r"(dr[2]));
    __asm__ volatile("mov %%dr3, %0" : "=r"(dr[3]));
    __asm__ volatile("mov %%dr6, %0" : "=r"(dr[4]));
}

static void debug_restore(const uint64_t *dr)
{
    __asm__ volatile("mov %0, %%dr0" : : "r"(dr[0]));
    __asm__ volatile("mov %0, %%dr1" : : "r"(dr[1]));
    __asm__ volatile("mov %0, %%dr2" : : "r"(dr[2]));
    __asm__ volatile("mov %0, %%dr3" : : "r"(dr[3]));
    __asm__ volatile("mov %0, %%dr6" : : "r"(dr[4]));
}

/*
 * XSAVE saves the components in XCR0 AND EDX:EAX (SDM 1 13.7): with the guest's XCR0 a component it has
 * not enabled (XMM under XCR0 = 1) would stay in the registers for the next vCPU. So the host's full
 * mask is loaded around the save and the restore; the caller loads the guest's XCR0 before entry.
 */
void xstate_save(struct xstate *x)
{
    debug_save(x->dr);
    if (have_xsave) {
        xsetbv0(host_xcr0);
        __asm__ volatile("xsave64 %0" : "+m"(*(uint8_t (*)[LEGACY_SIZE])x->area) : "a"(~0u), "d"(~0u) : "memory");
    } else {
        __asm__ volatile("fxsave64 %0" : "+m"(*(uint8_t (*)[LEGACY_SIZE])x->area) : : "memory");
    }
}

void xstate_restore(struct xstate *x, uint64_t xcr0)
{
    debug_restore(x->dr);
    /*
     * XRSTOR with every component requested loads each one: from the area where XSTATE_BV has its bit,
     * else its initial state (SDM 1 13.8.1), so nothing of the previous vCPU survives. Components the
     * owner's XCR0 no longer enables (a VM reset puts XCR0 back to 1) go back to their initial state.
     */
    if (have_xsave) {
        *(uint64_t *)&x->area[LEGACY_SIZE] &= xcr0 | XCR0_X87_SSE;   /* XSTATE_BV: the header's first word */
        xsetbv0(host_xcr0);
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
        xsetbv0(xcr0 | 1);                                /* x87 is never off */
}

uint64_t xstate_read_xcr0(uint64_t fallback)
{
    uint32_t lo, hi;
    if (!have_xsave)
        return fallback;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return lo | ((uint64_t)hi << 32);
}

void xstate_snapshot(struct xstate *x, struct snap *s, uint64_t xcr0)
{
    uint32_t size = area_size;
    const char *why = NULL;
    /* Components the owner's XCR0 does not enable are in their initial state for it (xstate_restore
     * masks them the same way): a CPU that sets XSTATE_BV for every saved component (QEMU TCG) must
     * not put them into the record. */
    if (s->save && have_xsave)
        *(uint64_t *)&x->area[LEGACY_SIZE] &= xcr0 | XCR0_X87_SSE;
    snap_bytes(s, x->dr, sizeof(x->dr));
    SNAP(s, size);
    if (!s->save && !s->err && size != area_size) {
        snap_fail(s, "XSAVE area size differs from this host's");
        return;
    }
    snap_bytes(s, x->area, area_size);
    if (s->save || s->err)
        return;
    if (x->dr[4] >> 32)                                  /* MOV to DR6 with bits 63:32 set: #GP */
        snap_fail(s, "DR6 reserved bits 63:32 set");
    else if (xsave_check(x->area, size, area_size, have_xsave ? xcr0 : 3, &why))
        snap_fail(s, why);
    if (s->err)
        reset_area(x);
}
