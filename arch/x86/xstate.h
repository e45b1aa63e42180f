/* Guests' registers the VMM leaves in hardware (x87/SSE/AVX..., DR0-3, DR6): switched between vCPUs. */
#ifndef SHOAL_ARCH_XSTATE_H
#define SHOAL_ARCH_XSTATE_H
#include <stdint.h>

struct xstate;                  /* one vCPU's saved x87/SSE/AVX... and debug registers (opaque, 64-byte aligned) */

/* Once at boot, before any backend: CR0/CR4 bits that make the save instructions legal; sizes the area. */
/* The calling CPU's control bits for x87/SSE/XSAVE (every CPU; xstate_init does the boot CPU's). */
void xstate_cpu_init(void);
void xstate_init(void);
/* A save area in the architectural reset state (FCW 0x37F, MXCSR 0x1F80, DR6 0xFFFF0FF0, all else zero), or NULL. */
struct xstate *xstate_alloc(void);
void xstate_free(struct xstate *x);
/* Save every component the CPU has, and DR0-3/DR6, into x. Leaves XCR0 at the host's full mask. */
void xstate_save(struct xstate *x);
/*
 * Load every component and DR0-3/DR6 from x, whose owner's XCR0 is xcr0: components it does not enable
 * (beyond x87 and SSE) get their initial state. Leaves XCR0 at the host's full mask: load the owner's
 * with xstate_load_xcr0 before entering it.
 */
void xstate_restore(struct xstate *x, uint64_t xcr0);
/* The XCR0 bits this CPU supports (CPUID 0xD.0 EDX:EAX); 1 without XSAVE. */
uint64_t xstate_host_xcr0(void);
/* Bytes of a vCPU's save area on this host (a migration source's must be the same). */
uint32_t xstate_area_size(void);
/* Load a guest's XCR0 (validated by the XSETBV exit) before entering it; a no-op without XSAVE. */
void xstate_load_xcr0(uint64_t xcr0);
/* XCR0 as the hardware holds it right after an exit (the guest's), or fallback without XSAVE. */
uint64_t xstate_read_xcr0(uint64_t fallback);
/*
 * 1 when XSETBV would accept val for XCR0 on a CPU whose supported (and, for a guest, advertised) XCR0
 * bits are allowed; 0 when it raises #GP.
 */
int xcr0_valid(uint64_t val, uint64_t allowed);

#define XSAVE_XMM_OFF 160               /* XMM0-15 in the legacy region */
#define XSAVE_XMM_LEN 256               /* 16 registers of 16 bytes, also AVX's 16 upper halves */
#define XSAVE_HDR_OFF 512               /* XSTATE_BV, then XCOMP_BV */
/*
 * 1 when img, written by XSAVEC with x87, SSE and AVX requested, holds xmm (XMM0-15) and ymmh (the
 * upper halves of YMM0-15) where the compacted format places them (SDM 1 13.4.3); 0 otherwise.
 */
int xsavec_image_ok(const uint8_t *img, const uint8_t *xmm, const uint8_t *ymmh);
/*
 * Once at boot, after xstate_init: 1 when the CPU lacks XSAVEC or writes its compacted format right
 * (loads a register pattern, stores it with XSAVEC, checks the image), 0 when it does not (Bochs 2.7
 * puts AVX's state at byte 416): then guests are not offered XSAVEC and save in the standard format.
 * Leaves the vector registers in their initial state.
 */
int xsavec_probe(void);
/* What xsavec_probe found: 1 when guests may be offered XSAVEC (CPUID 0xD.1 EAX bit 1). */
int xsavec_usable(void);
/*
 * Check an FXSAVE/XSAVE (standard form) image of size bytes from a record before anything loads it:
 * size must be want_size (this host's area), MXCSR reserved bits clear, and with a header XSTATE_BV
 * within xcr0 | 3 and XCOMP_BV and the reserved header bytes zero (else XRSTOR raises #GP in the host).
 * 0, or -EINVAL with *why set.
 */
int xsave_check(const void *area, uint32_t size, uint32_t want_size, uint64_t xcr0, const char **why);
struct snap;
/*
 * The vCPU record's part held here: DR0-3, DR6, the area's size and bytes (x must hold the owner's current
 * registers: vcpu_flush_xstate). Restoring checks the image with xsave_check against xcr0 and leaves x in
 * the reset state when it is refused (s->err -EINVAL, s->why), so a bad record never reaches XRSTOR.
 */
void xstate_snapshot(struct xstate *x, struct snap *s, uint64_t xcr0);
#endif
