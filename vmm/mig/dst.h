/* The destination side of a migration: the session record shared by its lifecycle (dst.c) and its page filling (dstpages.c). */
#ifndef SHOAL_VMM_MIG_DST_H
#define SHOAL_VMM_MIG_DST_H
#include "vmm/mig/mig.h"
#include "vmm/mig/pageidx.h"
#include "vmm/vm.h"

struct zpage;

#define MIG_BOOT_PIECES 2                  /* kernel and initrd, as the loader copied them (linux_vm_boot_pieces) */

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
    uint64_t t0, zero, found, recv, blocks, refound, golden, expanded;   /* expanded: DATA that came deflated */
    struct zpage *z;                       /* expands deflated DATA (made at the first one) */
    uint8_t zbuf[MIG_PAGE];                /* a page expanded, before it is stored */
    struct mig_gold *gold;                 /* reads of golden blocks (dstgold.c), when the image is indexed */
    int want_pending;                      /* a WANT waits for golden reads (want_hdr, want_bits) */
    struct mig_want_hdr want_hdr;
    uint8_t want_bits[MIG_BATCH / 8];
    uint32_t cut;                          /* test hook: drop the link at the first frame of this type */
    int scan_slot;                         /* the VM slot being indexed (VM_MAX: done; -1: never) */
    uint64_t scan_pfn, scanned;            /* next page of it; pages indexed from this host's guests */
    const uint8_t *disk;                   /* the new VM's read-only RAM disk (module disk=), or NULL */
    uint64_t disk_bytes, disk_scan;        /* its size; the next block to index */
    const uint8_t *boot[MIG_BOOT_PIECES];  /* what the new VM's loader copied in (kernel, initrd: modules) */
    uint64_t boot_len[MIG_BOOT_PIECES];
    int nboot, boot_piece;                 /* pieces; the one being indexed */
    uint64_t boot_scan;                    /* its next page to index */
    struct vm *running;                    /* after GO: the guest, announced MIG_ANNOUNCES times */
    int announced;
    uint64_t announce_ns;                  /* when the next announce goes */
};

/* Start a destination session on ch that drops the link (no REFUSE) at the first frame of type cut (0: never),
 * looking for contents among this host's guests unless local is 0. */
void mig_dst_start_cut(struct tls_chan *ch, uint32_t cut, int local);
/* Where contents this host's guests hold are indexed (locations of kind MIG_LOC_GUEST). */
#define MIG_LOC_GUEST 2
#define MIG_LOC_DISK  3                    /* a 4 KiB block of the new VM's read-only RAM disk */
#define MIG_LOC_BOOT  4                    /* piece << 32 | page of what the new VM's loader copied in */
/* Index up to max pages: first of what the new VM's loader copied in (the boot modules themselves, which
 * stay as they are: a freshly booted guest keeps much of its compressed kernel in RAM), then this host's
 * guests' RAM, then the new VM's read-only RAM disk (zero pages skipped). Returns pages looked at. */
int mig_dst_scan(struct mig_dst *d, int max);
/* Answer one HASHES frame: fill what can be found here, queue the WANT for the rest (at once, or once the
 * golden reads it started are back: want_pending). 0 or -EPROTO/-ENOMEM with d->io.why set. */
int mig_dst_hashes(struct mig_dst *d, const uint8_t *p, uint32_t len);
/* Send the WANT held in want_hdr / want_bits. 0 or the channel's error. */
int mig_dst_send_want(struct mig_dst *d);
/* Where index of kind is written (NULL: the delta has no room); record that it now holds content hash. */
uint8_t *mig_dst_at_w(struct mig_dst *d, uint32_t kind, uint64_t index);
void mig_dst_written(struct mig_dst *d, uint32_t kind, uint64_t index, const uint8_t hash[32]);

/*
 * Golden blocks (dstgold.c): a clone's pages that hold blocks of its pool image are read from this host's
 * own target (through the image's cache) instead of crossing the link, when the image was indexed here
 * (`pool index`, `pool share`). open: attach image's index (0, or -ENOENT: not indexed, nothing to do).
 * queue: the entry's hash is a golden block: a read is queued (1), or not (0: not golden, or no room).
 * poll: submit what is queued; once every read came back, apply them (content checked against its hash;
 * a failed or wrong one sets its bit in bits) and return 1; 0 while reads are out. inflight: reads a
 * device still holds (the session waits for them before it is freed). free: drop the rest.
 */
int mig_gold_open(struct mig_dst *d, const char *image);
int mig_gold_queue(struct mig_dst *d, uint32_t entry, uint32_t kind, uint64_t index, const uint8_t hash[32]);
int mig_gold_poll(struct mig_dst *d, uint8_t *bits);
int mig_gold_inflight(const struct mig_dst *d);
void mig_gold_free(struct mig_dst *d);
/* Store one DATA frame. 0 or -EPROTO/-ENOMEM with d->io.why set. */
int mig_dst_data(struct mig_dst *d, const uint8_t *p, uint32_t len);
/* Before restoring: every page written, delta blocks the source no longer has dropped. 0 or -EPROTO. */
int mig_dst_complete(struct mig_dst *d);
#endif
