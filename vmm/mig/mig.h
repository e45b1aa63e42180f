/* Live migration's sessions: the framed stream over a TLS channel, the source and destination state machines. */
#ifndef SHOAL_VMM_MIG_MIG_H
#define SHOAL_VMM_MIG_MIG_H
#include <stddef.h>
#include <stdint.h>
#include "vmm/mig/wire.h"

/*
 * How it runs. Everything is driven by mig_poll(), a shell poller, between the scheduler's vCPU slices:
 * a source session hashes a bounded number of pages per call and the guest runs on in between (pre-copy),
 * until the remainder fits the downtime budget; then it pauses the guest for the final copy. A
 * destination session is created by the listener for each source that passes the TLS handshake. Neither
 * ever waits inside a call; a failure anywhere ends that session alone (mig_src_fail / mig_dst_fail),
 * with the source guest running as before and the destination's VM destroyed.
 */

struct tls_chan;
struct vm;

/* One direction each of a channel, framed: a frame being sent, a frame being received. */
struct mig_io {
    struct tls_chan *ch;
    uint8_t out[MIG_HDR + MIG_MAX_PAYLOAD];
    size_t out_len, out_off;                   /* out_len 0: free for the next frame */
    uint8_t in[MIG_HDR + MIG_MAX_PAYLOAD];
    size_t in_len;                             /* bytes of the frame being received */
    uint32_t in_type, in_payload;              /* after the header arrived */
    uint64_t bytes_out, bytes_in, frames_out;
    const char *why;                           /* a protocol error's reason */
};

/* Send what is pending of the current frame. 0: all sent (out free), 1: more to send later, <0: failed. */
int mig_io_flush(struct mig_io *io);
/* The payload buffer of a new frame of type (out must be free); mig_io_send(io, len) then queues it. */
uint8_t *mig_io_begin(struct mig_io *io, uint32_t type);
int mig_io_send(struct mig_io *io, uint32_t len);
/* Queue a frame with payload p[len] (out must be free). Returns what mig_io_flush returns. */
int mig_io_frame(struct mig_io *io, uint32_t type, const void *p, uint32_t len);
/* Queue a REFUSE with reason (waits for out to drain first if needed; best effort). */
void mig_io_refuse(struct mig_io *io, const char *reason);
/*
 * Receive: 1 with *type, *p and *len when a whole, header-checked frame is in (valid until
 * mig_io_next), 0 when more bytes are needed, -EPROTO (io->why says why) or the channel's error.
 */
int mig_io_recv(struct mig_io *io, uint32_t *type, const uint8_t **p, uint32_t *len);
/* Done with the frame mig_io_recv returned. */
void mig_io_next(struct mig_io *io);
/* The channel's failure in words (or the protocol error's). */
const char *mig_io_error(struct mig_io *io, int err);

/* Source options of `vm migrate`. */
struct mig_src_opts {
    const char *as;                            /* name at the destination (NULL: the same) */
    const char *key;
    uint32_t downtime_ms;                      /* budget of the final pause (default 300) */
    uint64_t bandwidth;                        /* bytes/s cap (0: none) */
    int hold;                                  /* leave both paused after the hand-over */
    uint32_t max_rounds;                       /* give up converging after this many (default 30) */
    int no_throttle;                           /* throttle=off: never slow the guest to converge */
    int no_compress;                           /* compress=off: every page travels as it is */
};

/* Start migrating vm to host:port. 0 (progress and outcome go to the console), or <0 after a one-line error. */
int mig_src_start(struct vm *vm, const char *host, uint16_t port, const struct mig_src_opts *o);
/* `vm migrate NAME HOST[:PORT] [key=K] [downtime=MS] [bandwidth=MB/s] [rounds=N] [throttle=off] [compress=off]
 * [as=NEWNAME] [hold]`. */
int vm_migrate_cmd(int argc, char **argv);
/* Start a destination session on a channel a listener accepted (takes ch). */
void mig_dst_start(struct tls_chan *ch);
/* Advance every session; nonzero if any did work. */
int mig_src_poll(void);
int mig_dst_poll(void);
/* Print every session's progress (`migrate status`). */
void mig_src_status(void);
void mig_dst_status(void);
/* Cancel every session (`migrate cancel`): sources keep their guests, destinations free theirs. Count. */
int mig_src_cancel(const char *why);
int mig_dst_cancel(const char *why);
#endif
