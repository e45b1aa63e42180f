/* shoal's iSCSI initiator: one event-driven, non-blocking protocol engine over a pluggable transport. */
#ifndef SHOAL_ISCSI_H
#define SHOAL_ISCSI_H
#include <stddef.h>
#include <stdint.h>
#include "blk/blk.h"

/*
 * How the engine runs
 * -------------------
 * The engine never blocks, never sleeps and reads the clock only through the `now` its callers pass
 * (which they take from time_ns()). It is driven from ONE context (shoal: the shell's poll loop; host:
 * tools/iscsi/posix.c's poll() loop) by four kinds of calls:
 *
 *   iscsi_conn_up(s)            the transport's connect() finished: TCP is established
 *   iscsi_conn_recv(s, buf, n)  bytes arrived (any split: the engine reassembles PDUs itself)
 *   iscsi_conn_down(s, err)     the connection failed or the peer closed it
 *   iscsi_poll(s, now)          periodically (every 10-100 ms is plenty): timeouts, keep-alive
 *                               NOP-Outs, retry backoff, reconnects, flushing queued output
 *
 * The engine calls the transport (struct iscsi_transport) to connect, send and close. A transport
 * MUST NOT call any iscsi_conn_* function from inside connect(), send() or close(): it reports those
 * events later, from its own event loop. All callbacks the engine makes to its user (event(),
 * task done(), blk done()) happen inside one of the four calls above or inside a submit; a callback
 * may submit new requests but must not destroy the session.
 *
 * Writing a transport (e.g. lwIP raw TCP):
 *   connect(ctx, host, port): start a non-blocking connect (tcp_new + tcp_connect); return 0 or a
 *       negative errno. Later call iscsi_conn_up() from the connected callback, or iscsi_conn_down()
 *       on error (tcp_err) or refusal.
 *   send(ctx, buf, len): copy as much of buf as fits (tcp_write with TCP_WRITE_FLAG_COPY, then
 *       tcp_output) and return the count taken (0 is fine when the send buffer is full); a negative
 *       errno means the connection is broken. Bytes not taken stay queued in the engine, which calls
 *       send() again from iscsi_conn_writable() (call it from tcp_sent) or from iscsi_poll().
 *   close(ctx): abort/close the connection now and forget it: no callback for it may reach the
 *       engine afterwards (tcp_arg(pcb, NULL) / tcp_abort). A later connect() starts a new one.
 *   recv: from tcp_recv, feed every pbuf segment to iscsi_conn_recv(), then tcp_recved(); a NULL
 *       pbuf (peer closed) is iscsi_conn_down(s, -ECONNRESET).
 *
 * Zero-copy receive (optional; a transport that reads into its own buffer can skip it):
 *   n = iscsi_conn_rx_window(s, &dst) says where the next incoming bytes belong: while the engine is
 *       inside a Data-In data segment whose header has been checked (known task, DataSN in order,
 *       offset + length inside the command's buffer), dst is the spot in the command's iovec and n
 *       (> 0) how many bytes may go straight there: the rest of the current iovec element, clipped to
 *       the data segment. Otherwise (headers, padding, digests, other PDUs) it returns 0.
 *   The transport reads at most n bytes into dst itself (e.g. readv(fd, {dst, n}, {buf, small})) and
 *       reports them with iscsi_conn_rx_placed(s, k), k <= n; bytes read beyond the window go through
 *       iscsi_conn_recv() as usual, in stream order, after the iscsi_conn_rx_placed() call.
 *   iscsi_conn_rx_tail(s) says how many bytes to read into the transport's own buffer behind the window:
 *       while large Data-In segments stream in, only up to the end of the next PDU header (pad, digest,
 *       BHS, header digest), so the next segment's window opens before its payload is read; 0 when the
 *       segment continues in the next iovec element (read the window alone); SIZE_MAX when PDUs are small
 *       (read as much as fits: one read for many PDUs beats zero-copy for a few KiB each).
 *   The window is valid only until the next call into the engine (any callback may finish or drop the
 *       command): ask again before every read. iscsi_conn_rx_placed() makes the same state changes as
 *       iscsi_conn_recv() would for those bytes (DataDigest, when negotiated, is computed over the bytes
 *       in place and checked with the trailing digest; the PDU completes when its segment ends);
 *       placing more than the window is a transport bug that drops the connection with -EINVAL.
 */
struct iscsi_transport {
    int (*connect)(void *ctx, const char *host, uint16_t port);
    int (*send)(void *ctx, const void *buf, size_t len);
    void (*close)(void *ctx);
    void *ctx;
};

enum iscsi_event {
    ISCSI_EV_READY,       /* logged in, full feature phase (after every successful (re)login) */
    ISCSI_EV_DISCOVERED,  /* discovery session: target list complete (see iscsi_discovered) */
    ISCSI_EV_LUN_READY,   /* iscsi_lun: probe done, blk_dev usable (err = 0) or failed (err < 0) */
    ISCSI_EV_FAILED,      /* gave up: err says why (-EPERM auth, -ETIMEDOUT, -ECONNREFUSED, ...) */
    ISCSI_EV_CLOSED,      /* logout finished (or the connection dropped during close) */
};

/* Session settings; zero fields take the defaults noted. */
struct iscsi_config {
    char host[64];
    uint16_t port;                      /* default 3260 */
    char target[224];                   /* TargetName (IQN); empty for a discovery session */
    char initiator[224];                /* default iqn.2026-01.org.shoal:initiator */
    uint32_t lun;                       /* the LUN an iscsi_lun attaches */
    char chap_user[64], chap_secret[128];       /* one-way CHAP when chap_user is set */
    char mutual_user[64], mutual_secret[128];   /* mutual CHAP: what the target must prove */
    int header_digest, data_digest;     /* 1: ask for CRC32C only; 0: None only */
    int discovery;                      /* SessionType=Discovery, SendTargets=All */
    uint32_t max_recv_dsl;              /* our MaxRecvDataSegmentLength, default 262144 */
    uint64_t io_timeout_ns;             /* per request, default 30 s */
    uint64_t login_timeout_ns;          /* per connect+login attempt, default 10 s */
    uint64_t nop_interval_ns;           /* idle time before a NOP-Out ping, default 5 s */
    uint64_t nop_timeout_ns;            /* ping unanswered this long: connection dead, default 10 s */
    int initial_attempts;               /* login attempts before the first success, default 3 */
    int persistent;                     /* never give up, even before the first success (boot images) */
    uint64_t reconnect_max_ns;          /* backoff cap between reconnects (1 s doubling), default 30 s */
};

/* What a (re)login settled on (RFC 7143 13). */
struct iscsi_params {
    int header_digest, data_digest;     /* 1 = CRC32C */
    uint32_t max_recv_dsl;              /* ours: the most the target may send in one PDU */
    uint32_t max_xmit_dsl;              /* the target's MaxRecvDataSegmentLength */
    uint32_t max_burst, first_burst;
    int immediate_data, initial_r2t;
    uint32_t time2wait, time2retain;
};

struct iscsi_session;
typedef void (*iscsi_event_fn)(struct iscsi_session *s, enum iscsi_event ev, int err, void *arg);

/* Counters, readable any time. */
struct iscsi_stats {
    uint64_t logins, reconnects, cmds, retries, timeouts, nops_sent, nops_answered, proto_errors;
    uint64_t bytes_in;
    uint64_t completed, latency_ns;     /* commands that succeeded; the sum of their submit-to-done times */
    uint64_t failed_attempts;           /* connects or logins that failed, in all */
    int attempts;                       /* consecutive failed attempts now (0 once logged in) */
    int last_err;                       /* why the last connection ended or attempt failed (negative errno) */
    uint64_t retry_at;                  /* time_ns() of the next attempt while in "reconnect-wait" */
};

/*
 * Create a session (no I/O yet). Copies cfg; tr must outlive the session. event(s, ev, err, arg) is
 * called on the events above. Returns NULL when out of memory or when cfg is unusable (no host, no
 * target for a normal session).
 */
struct iscsi_session *iscsi_session_new(const struct iscsi_config *cfg, const struct iscsi_transport *tr,
                                        iscsi_event_fn event, void *arg);
/* Start connecting and logging in (returns 0, or a negative errno from the transport's connect). */
int iscsi_session_start(struct iscsi_session *s, uint64_t now);
/* Log out (when logged in) and close; outstanding commands complete with -ECANCELED first.
 * ISCSI_EV_CLOSED follows (possibly before this returns). */
void iscsi_session_close(struct iscsi_session *s, uint64_t now);
/* Free the session; the transport must be closed (it is, after ISCSI_EV_CLOSED or _FAILED). */
void iscsi_session_free(struct iscsi_session *s);

/* Transport event entry points (see above). */
void iscsi_conn_up(struct iscsi_session *s);
void iscsi_conn_recv(struct iscsi_session *s, const void *buf, size_t len);
void iscsi_conn_down(struct iscsi_session *s, int err);
void iscsi_conn_writable(struct iscsi_session *s);
/* Zero-copy receive (see above): the next bytes' place in a command's buffer and how many fit (0: none,
 * *dst = NULL); and the count the transport wrote there itself. */
size_t iscsi_conn_rx_window(struct iscsi_session *s, void **dst);
void iscsi_conn_rx_placed(struct iscsi_session *s, size_t n);
size_t iscsi_conn_rx_tail(struct iscsi_session *s);
/* Periodic work; returns the ns until it next needs calling (a hint, at most 100 ms). */
uint64_t iscsi_poll(struct iscsi_session *s, uint64_t now);

/* Negotiated parameters of the current login (valid after ISCSI_EV_READY). */
const struct iscsi_params *iscsi_session_params(const struct iscsi_session *s);
const struct iscsi_stats *iscsi_session_stats(const struct iscsi_session *s);
/* The engine's state as a short static word: "idle", "reconnect-wait", "connecting", "login", "ffp",
 * "logout", "closed", "failed" ("?" for a corrupt state). */
const char *iscsi_session_state_name(const struct iscsi_session *s);
/* SCSI commands accepted and not yet completed (queued or sent), 0..ISCSI_MAX_TASKS. */
int iscsi_session_inflight(const struct iscsi_session *s);
/* Discovery results: number of targets; name/address of target i (NULL past the end). */
int iscsi_discovered(const struct iscsi_session *s);
const char *iscsi_discovered_name(const struct iscsi_session *s, int i);
const char *iscsi_discovered_addr(const struct iscsi_session *s, int i);

/*
 * A SCSI command (data-in or no data). cdb[cdb_len <= 16]; the target's data is placed straight into
 * iov[niov] (lengths add up to len, the Expected Data Transfer Length). done(status, arg) runs once:
 * 0 = GOOD (with *resid = bytes not transferred when allow_short), -EIO for a CHECK CONDITION that is
 * not retried (sense logged), -ETIMEDOUT after timeout_ns (0: the session's io_timeout), -ECANCELED on
 * close. UNIT ATTENTION, NOT READY, BUSY and TASK SET FULL are retried with backoff; connection loss
 * reissues the command after relogin. Returns 0 or -EAGAIN (all task slots busy), -EINVAL.
 * There is deliberately no data-out path: the engine never sends a WRITE.
 */
struct iscsi_cmd {
    uint8_t cdb[16];
    uint8_t cdb_len;
    const struct blk_iov *iov;
    int niov;
    uint32_t len;
    int allow_short;
    uint64_t timeout_ns;
    void (*done)(struct iscsi_cmd *c, int status);
    void *arg;
    uint32_t resid;                   /* out: residual count */
    uint8_t sense_key, asc, ascq;     /* out: the last CHECK CONDITION */
};
int iscsi_cmd_submit(struct iscsi_session *s, struct iscsi_cmd *c, uint64_t now);

#define ISCSI_MAX_TASKS 128

/*
 * A LUN as a read-only struct blk_dev. iscsi_lun_new creates the session for cfg (cfg->lun) over tr;
 * after login it probes the LUN (TEST UNIT READY, INQUIRY std + VPD 0x80/0x83, REPORT LUNS, READ
 * CAPACITY(10), and (16) when needed) and raises ISCSI_EV_LUN_READY. Reads become READ(10), or READ(16)
 * past 2^32 blocks or 65535 blocks (or always, with force_read16). Writes and discards: -EROFS.
 */
struct iscsi_lun;
struct iscsi_lun *iscsi_lun_new(const struct iscsi_config *cfg, const struct iscsi_transport *tr,
                                iscsi_event_fn event, void *arg);
struct blk_dev *iscsi_lun_dev(struct iscsi_lun *l);
struct iscsi_session *iscsi_lun_session(struct iscsi_lun *l);
void iscsi_lun_force_read16(struct iscsi_lun *l, int on);
/* Identity from the probe: which 0 vendor, 1 product, 2 unit serial (VPD 0x80), 3 device id (VPD 0x83:
 * the first NAA designator, else the first one, e.g. "naa.60000000..."); "" when absent. */
const char *iscsi_lun_ident(const struct iscsi_lun *l, int which);
/* Free the LUN and its session (close the session first). */
void iscsi_lun_free(struct iscsi_lun *l);
#endif
