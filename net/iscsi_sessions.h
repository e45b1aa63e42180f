/* shoal's iSCSI sessions: a small table of logged-in LUNs (shell, boot parameter) other layers stack on. */
#ifndef SHOAL_ISCSI_CMDS_H
#define SHOAL_ISCSI_CMDS_H
#include <stdint.h>
#include "net/iscsi/iscsi.h"

#define ISCSI_MAX_SESSIONS 8

enum iscsi_slot_state {
    ISL_FREE,      /* unused */
    ISL_LOGIN,     /* connecting, logging in or probing the LUN */
    ISL_READY,     /* the LUN's blk_dev is usable (the engine reconnects by itself behind it) */
    ISL_FAILED,    /* gave up (err says why); stays listed until logged out */
    ISL_CLOSED,    /* logged out, waiting to be freed */
};

/* What `iscsi list` shows of one session. */
struct iscsi_slot_info {
    enum iscsi_slot_state state;
    int err;                        /* why ISL_FAILED (negative errno) */
    const char *engine;             /* the engine's own state: "ffp", "login", "reconnect-wait", ... */
    const struct iscsi_config *cfg; /* host, port, target, lun */
    uint64_t sectors;               /* LUN size in 512-byte sectors (0 before ready) */
    uint32_t block_size;
    int inflight;                   /* SCSI commands queued or sent */
    uint64_t reconnects, bytes_in, cmds;
    uint64_t completed, latency_ns;  /* commands that succeeded; the sum of their submit-to-done times */
    int boot;                       /* opened by the iscsi= boot parameter */
    int attempts;                   /* consecutive failed attempts while the engine retries (0: none) */
    int last_err;                   /* why the last attempt failed or the connection ended */
    uint64_t retry_at;              /* time_ns() of the next attempt, while "reconnect-wait" */
};

/*
 * Start logging in to cfg (host a dotted quad) and probing cfg->lun; returns the session index
 * (>= 0) at once, or -ENOSPC (table full), -ENOMEM, -EINVAL. Progress is driven by the shell poller
 * (or by iscsi_wait_turn); watch it with iscsi_slot_info. boot: log the outcome on the console.
 */
int iscsi_slot_open(const struct iscsi_config *cfg, int boot);
/*
 * Parse "[iscsi://]PORTAL[:PORT]/TARGET[/LUN]" into cfg's host, port (default 3260), target and lun
 * (default 1); other fields untouched. PORTAL must be a dotted quad. Returns 0 or -EINVAL.
 */
int iscsi_parse_url(const char *url, struct iscsi_config *cfg);
/*
 * Parse "USER:SECRET" (a CHAP credential: chap=, mutual=) into user[ul] and secret[sl]. -EINVAL when the
 * colon is missing, either side is empty or does not fit; user and secret are then untouched.
 */
int iscsi_parse_cred(const char *v, char *user, size_t ul, char *secret, size_t sl);
/* This host's initiator name: the iscsi_initiator= boot parameter, else iqn.2026-01.org.shoal:host-MAC from
 * the host NIC (one name per machine, so hosts sharing a target never collide); "" before the network is
 * up (the engine then uses its own default). Sessions opened here take it unless cfg->initiator is set. */
const char *iscsi_host_initiator(void);
/* A session error (negative errno from the engine) in words: "authentication failed", "timed out", ... */
const char *iscsi_err_text(int err);
/* Fill *out for session idx. Returns 0, or -ENOENT for a free or invalid index. */
int iscsi_slot_info(int idx, struct iscsi_slot_info *out);
/* Identity of a ready LUN (which: 0 vendor, 1 product, 2 serial); "" when unknown. */
const char *iscsi_slot_ident(int idx, int which);
/* The engine session of idx (negotiated parameters, stats), or NULL. */
struct iscsi_session *iscsi_slot_session(int idx);
/*
 * Log out session idx (waiting up to timeout_ms for the target's answer while polling the network)
 * and free it. Outstanding requests complete with -ECANCELED. Returns 0, or -ENOENT.
 */
int iscsi_slot_close(int idx, uint32_t timeout_ms);
/* The read-only block device of session idx once its LUN is ready, else NULL. */
struct blk_dev *iscsi_find_lun(int idx);
/* One turn of the network and every session, for commands that wait (poll context only). */
void iscsi_wait_turn(void);
/*
 * `iscsi sha256 N [BYTES]` (argv[2] = N, argv[3] = BYTES): read the first BYTES (default: all) of
 * session N's LUN, 32 requests of 64 KiB in flight, and print its SHA-256 and the rate. Returns 0 or
 * a negative errno after a one-line error.
 */
int iscsi_sha256_cmd(int argc, char **argv);
#endif
