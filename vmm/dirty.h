/* Dirty-page log of a VM's RAM for live migration: second-level write protection, one bit per 4 KiB page. */
#ifndef SHOAL_VMM_DIRTY_H
#define SHOAL_VMM_DIRTY_H
#include <stddef.h>
#include <stdint.h>

struct vm;

/* Start tracking: an empty log, every RAM page write-protected. 0, -EBUSY (already tracking), -ENODEV
 * (no RAM or no backend support), -ENOMEM (nothing stays changed). */
int dirty_start(struct vm *vm);
/*
 * Copy the log into bits (bit p of word p/64 = guest page p, words past the log zeroed), empty it and
 * write-protect the collected pages again; the stale translations are invalidated before this returns
 * (or, on SVM, before any vCPU runs again). Returns the number of pages collected, -EINVAL when not
 * tracking, -ENOSPC when nwords < dirty_words(vm) (nothing changes).
 */
int dirty_collect(struct vm *vm, uint64_t *bits, size_t nwords);
/* Stop tracking: every page writable again, the log freed. Nothing when not tracking. */
void dirty_stop(struct vm *vm);
/* Words dirty_collect needs for vm's RAM (0 when not tracking). */
size_t dirty_words(const struct vm *vm);
/* Write faults taken since dirty_start (the cost of tracking); 0 when not tracking. */
uint64_t dirty_faults(const struct vm *vm);
/* Collects since dirty_start (0 when not tracking): test guests read it to pace their rounds. */
uint64_t dirty_collects(const struct vm *vm);
/* Where vmm/dirtycheck.c keeps its per-page checksums: owned by the log, freed with it; NULL when not
 * tracking. */
uint32_t **dirty_sums(struct vm *vm);
/*
 * The exit path: the guest wrote gpa and second-level paging refused it. A tracked RAM page gets its bit
 * and its write permission back, and the guest retries the write; returns 1. 0 when gpa is no tracked
 * page (the caller goes on with MMIO or unassigned handling). Never allocates.
 */
int dirty_fault(struct vm *vm, uint64_t gpa);

/*
 * Checking the log (vmm/dirtycheck.c, `vm dirty NAME start check`): dirty_check_start takes a CRC32C of
 * every RAM page (0, -EINVAL when not tracking, -ENOMEM); dirty_check, given what dirty_collect just
 * returned, counts the pages whose content changed since the last check without being in bits (writes
 * the log missed: the first max of them go to missed[]) and takes the new sums. Needs a guest that is
 * not running and no disk request in flight into its RAM. -EINVAL when no sums are kept.
 */
int dirty_check_start(struct vm *vm);
long dirty_check(struct vm *vm, const uint64_t *bits, uint64_t *missed, size_t max);
#endif
