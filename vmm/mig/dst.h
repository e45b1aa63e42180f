/* The destination side of a migration: the session record shared by its lifecycle (dst.c) and its page filling (dstpages.c). */
#ifndef SHOAL_VMM_MIG_DST_H
#define SHOAL_VMM_MIG_DST_H
#include "vmm/mig/mig.h"
#include "vmm/mig/pageidx.h"
#include "vmm/vm.h"

enum dst_phase { D_HELLO, D_ROUNDS, D_FINAL, D_READY, D_CLOSING, D_ANNOUNCE, D_DONE };

struct mig_dst {
    struct mig_io io;
    struct vm *vm;                         /* the VM being filled (NULL until HELLO made it) */
    char name[VM_NAME_MAX], peer[40];
    enum dst_phase phase;
    uint64_t npages, disk_blocks;
    struct delta *delta;                   /* the new clone's delta, when a disk delta travels */
    uint64_t *have;                        /* pages written */
    uint64_t *seen;                        /* final round: delta blocks the source still has */
    struct mig_idx idx;                    /* contents held here -> where */
    uint8_t *state;
    uint32_t state_total, state_got, round;
    uint64_t t0, zero, found, recv, blocks, refound;
    uint32_t cut;                          /* test hook: drop the link at the first frame of this type */
    int scan_slot;                         /* the VM slot being indexed (VM_MAX: done; -1: never) */
    uint64_t scan_pfn, scanned;            /* next page of it; pages indexed from this host's guests */
    struct vm *running;                    /* after GO: the guest, announced MIG_ANNOUNCES times */
    int announced;
    uint64_t announce_ns;                  /* when the next announce goes */
};

/* Start a destination session on ch that drops the link (no REFUSE) at the first frame of type cut (0: never),
 * looking for contents among this host's guests unless local is 0. */
void mig_dst_start_cut(struct tls_chan *ch, uint32_t cut, int local);
/* Where contents this host's guests hold are indexed (locations of kind MIG_LOC_GUEST). */
#define MIG_LOC_GUEST 2
/* Index up to max pages of this host's guests' RAM (zero pages skipped). Returns pages looked at. */
int mig_dst_scan(struct mig_dst *d, int max);
/* Answer one HASHES frame: fill what can be found here, queue the WANT for the rest. 0 or -EPROTO/-ENOMEM
 * with d->io.why set. */
int mig_dst_hashes(struct mig_dst *d, const uint8_t *p, uint32_t len);
/* Store one DATA frame. 0 or -EPROTO/-ENOMEM with d->io.why set. */
int mig_dst_data(struct mig_dst *d, const uint8_t *p, uint32_t len);
/* Before restoring: every page written, delta blocks the source no longer has dropped. 0 or -EPROTO. */
int mig_dst_complete(struct mig_dst *d);
#endif
