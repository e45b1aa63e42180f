/* The source side of a migration: the session record shared by its lifecycle (src.c) and its page rounds (srcpages.c). */
#ifndef SHOAL_VMM_MIG_SRC_H
#define SHOAL_VMM_MIG_SRC_H
#include "vmm/mig/mig.h"
#include "vmm/vm.h"

struct zpage;

#define MIG_WINDOW      8                  /* HASHES batches awaiting their WANT */
#define MIG_STEP        256                /* entries per batch: hashed in one poll call */

enum src_phase {
    S_CONNECT, S_HELLO, S_ROUNDS, S_QUIESCE, S_FINAL, S_STATE, S_COMMIT, S_GO, S_DONE
};

struct mig_batch {
    uint32_t seq, kind, n, next;           /* next: the entry whose DATA goes next */
    int answered;
    uint64_t idx[MIG_STEP];
    uint8_t want[MIG_BATCH / 8];
    uint8_t zero[MIG_BATCH / 8];           /* entries sent as zero pages: never data */
};

struct mig_src {
    struct mig_io io;
    struct vm *vm;
    char name[VM_NAME_MAX], as[VM_NAME_MAX], peer[40];
    struct mig_src_opts o;
    enum src_phase phase;
    enum vm_state was;                     /* the guest's state before we paused it */
    int paused, tracking, connecting;     /* connecting: tls_connect's callback is still to come */
    char cwhy[112];                        /* the handshake's failure, from that callback */
    uint64_t npages, *todo;                /* this round's pages, then as many words of scratch (2 x dirty_words) */
    size_t nwords;
    uint64_t cursor;                       /* next page of todo to look at */
    struct delta *delta;                   /* the clone's disk delta, or NULL */
    uint64_t disk_blocks, blk_cursor;      /* next delta block to look at; UINT64_MAX: none left */
    struct mig_batch b[MIG_WINDOW];
    unsigned head, count;                  /* batches outstanding, oldest at head */
    uint32_t seq, round;
    uint64_t t0, round_t0, round_bytes0, round_hashed0, pause_t0, quiesce_end;
    uint64_t final_t, commit_t, ready_t;   /* the downtime's steps: last pages sent, COMMIT queued, READY in */
    uint64_t hashed, zero, found, sent, blocks, dirty_prev, stalled;
    struct zpage *z;                       /* deflates DATA pages (NULL: compress=off, or no memory for it) */
    uint64_t zpages, zin, zout;            /* pages and blocks sent deflated, their bytes before and after */
    uint32_t zprobe, zrest;                /* pages in this probe; pages still to send raw (compression paused) */
    uint64_t zprobe_in, zprobe_out;
    uint8_t *state;
    size_t state_len, state_off;
};

/* Start a round over s->todo (and the delta blocks when with_blocks). */
void mig_src_round_begin(struct mig_src *s, int with_blocks);
/* Take in one WANT. 0, or -EPROTO when it answers no outstanding batch. */
int mig_src_want(struct mig_src *s, const uint8_t *p, uint32_t len);
/* Put the next frame of the round in flight. 1: one was queued, 0: nothing to send until a WANT comes,
 * 2: the round is over (every batch answered and its data sent), <0: the channel failed. */
int mig_src_round_step(struct mig_src *s);
#endif
