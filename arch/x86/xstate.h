/* Guests' extended register state (x87, SSE, AVX, ...): XCR0 and the save areas switched between vCPUs. */
#ifndef SHOAL_ARCH_XSTATE_H
#define SHOAL_ARCH_XSTATE_H
#include <stdint.h>

struct xstate;                  /* one vCPU's saved x87/SSE/AVX registers (opaque, 64-byte aligned) */

/* Once at boot, before any backend: CR0/CR4 bits that make the save instructions legal; sizes the area. */
void xstate_init(void);
/* A save area in the architectural reset state (FCW 0x37F, MXCSR 0x1F80, all else zero), or NULL. */
struct xstate *xstate_alloc(void);
void xstate_free(struct xstate *x);
/* Save the registers into x. The hardware XCR0 must be the owner's: it selects what is saved. */
void xstate_save(struct xstate *x);
/* Load the registers from x. The hardware XCR0 must be xcr0, the owner's, loaded first. */
void xstate_restore(struct xstate *x, uint64_t xcr0);
/* Load a guest's XCR0 (validated by the XSETBV exit) before entering it; a no-op without XSAVE. */
void xstate_load_xcr0(uint64_t xcr0);
/* XCR0 as the hardware holds it right after an exit (the guest's), or fallback without XSAVE. */
uint64_t xstate_read_xcr0(uint64_t fallback);
#endif
