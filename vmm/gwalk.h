/* Guest linear addresses and the guest page-table walker (no paging, 32-bit, PAE, 4-level). */
#ifndef SHOAL_VMM_GWALK_H
#define SHOAL_VMM_GWALK_H
#include <stddef.h>
#include <stdint.h>
#include "vmm/regs.h"

/* Segment registers in their x86 encoding order (also the order of the override prefixes' meaning). */
enum seg_reg { SEG_ES, SEG_CS, SEG_SS, SEG_DS, SEG_FS, SEG_GS, SEG_NONE = 0xff };

/* Access kinds for guest_walk; the bit positions are those of the #PF error code (SDM 3A 4.7). */
#define GWALK_READ   0x00
#define GWALK_WRITE  0x02
#define GWALK_USER   0x04
#define GWALK_FETCH  0x10

/* #PF error code bits (SDM 3A 4.7). */
#define PFERR_P      0x01
#define PFERR_W      0x02
#define PFERR_U      0x04
#define PFERR_RSVD   0x08
#define PFERR_I      0x10

/* Physical-address width the walker assumes for the guest: entry bits from here to 51 are reserved. */
#define GWALK_PHYS_BITS 48

/* Reads len bytes of guest-physical memory at gpa into buf; returns 0 or a negative errno. */
typedef int (*gwalk_read_fn)(void *ctx, uint64_t gpa, void *buf, size_t len);

/*
 * Linear address of seg:offset for r's current mode: in 64-bit mode only FS and GS add their base and the
 * offset is used whole; otherwise base + offset truncated to 32 bits (the caller masks a 16-bit offset).
 * seg is an enum seg_reg; an unknown one counts as DS.
 */
uint64_t guest_linear(const struct guest_regs *r, int seg, uint64_t offset);

/*
 * Translate the linear address gva through the guest's page tables as selected by CR0.PG, CR4.PAE and
 * EFER.LMA, for an access made of GWALK_* bits. Enforces present, R/W (with CR0.WP), U/S, NX (EFER.NXE),
 * SMEP and SMAP (RFLAGS.AC) and reserved bits. Does not set accessed/dirty bits (the exits that need a
 * walk come after the hardware already walked). PAE PDPTEs are read from memory at CR3 rather than a cache.
 * Returns 0 with *gpa_out set; -EFAULT for a not-present or protection fault; -EINVAL for a reserved-bit
 * violation (both with the #PF error code in *pf_err when pf_err is not NULL); -ERANGE for a
 * non-canonical address (#GP); -ENOTSUP for 5-level paging; or read_gpa's error for unreadable tables.
 */
int guest_walk(const struct guest_regs *r, uint64_t gva, int access, gwalk_read_fn read_gpa, void *ctx,
               uint64_t *gpa_out, uint32_t *pf_err);

/*
 * Fetch up to 15 instruction bytes at CS:RIP into buf, crossing into the next page through the walker.
 * Stops short (returns 0 with *got < 15) when the second page is unmapped or unreadable, leaving the
 * decoder to answer -EAGAIN if it needed more. Returns guest_walk's error (pf_err set as there) when
 * not even the first byte can be fetched.
 */
int guest_read_insn(const struct guest_regs *r, gwalk_read_fn read_gpa, void *ctx, uint8_t buf[15],
                    size_t *got, uint32_t *pf_err);
#endif
