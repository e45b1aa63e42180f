/*
 * The migration channel: TLS 1.2 (ECDHE-PSK, ChaCha20-Poly1305) over lwIP's altcp TLS layer and
 * mbedTLS, authenticated by a pre-shared key. Everything runs in shoal's one network poll context:
 * call these only from a shell command or poller (never from a timer or interrupt), and keep
 * net_poll() and tls_poll() running while waiting. Callbacks (accepted, done) run inside tls_poll(),
 * outside lwIP's callbacks, so they may call any function here. Bytes received are the peer's: a
 * verified peer (it holds the key) can still send anything, so framing above must check them.
 */
#ifndef SHOAL_TLS_CHAN_H
#define SHOAL_TLS_CHAN_H
#include <stddef.h>
#include <stdint.h>
#include "lwip/ip_addr.h"
#include "net/tls/psk.h"

struct tls_chan;

/* A handshake that has not finished after this long fails with "timeout". */
#define TLS_HANDSHAKE_MS_DEFAULT 20000

/* Server side: a peer that completed the handshake with the listener's key. The callee owns ch. */
typedef void (*tls_accept_fn)(struct tls_chan *ch, void *arg);
/*
 * Client side: the handshake finished (err 0: the callee owns ch and closes it with tls_close) or
 * failed (err < 0: tls_error(ch) says why; ch is freed when the callback returns).
 */
typedef void (*tls_done_fn)(struct tls_chan *ch, int err, void *arg);

/*
 * Listen on TCP port (all addresses) for peers holding key (64 hex digits, or a passphrase whose
 * SHA-256 is the key; identity "shoal-migrate"). accepted(ch, arg) gets each authenticated peer;
 * peers that fail the handshake are refused with a one-line console message naming the reason.
 * Returns 0, -EINVAL (bad key), -EEXIST (port already listened on here), -ENOMEM, -EIO (lwIP refused).
 */
int tls_listen(uint16_t port, const char *key, tls_accept_fn accepted, void *arg);
/* tls_listen with a parsed key and identity. */
int tls_listen_psk(uint16_t port, const struct tls_psk *psk, tls_accept_fn accepted, void *arg);
/* Stop listening on port; channels already accepted go on. Returns 0 or -ENOENT. */
int tls_unlisten(uint16_t port);

/*
 * Connect to ip:port and run the handshake with key; done(ch, err, arg) reports the outcome from
 * tls_poll() (also a timeout after TLS_HANDSHAKE_MS_DEFAULT). Returns 0 (done will be called),
 * or -EINVAL / -ENOMEM / -EIO with nothing started.
 */
int tls_connect(const ip_addr_t *ip, uint16_t port, const char *key, tls_done_fn done, void *arg);
/* tls_connect with a parsed key and identity, and a handshake timeout in ms (0: the default). */
int tls_connect_psk(const ip_addr_t *ip, uint16_t port, const struct tls_psk *psk, uint32_t timeout_ms,
                    tls_done_fn done, void *arg);

/*
 * Queue up to len bytes for sending (encrypted at once, copied). Returns how many were taken: 0 when
 * the send buffer is full (try again after polling), or a negative errno once the channel failed.
 */
int tls_send(struct tls_chan *ch, const void *buf, size_t len);
/* How many bytes tls_send would take now (0 while full or failed). */
size_t tls_send_space(struct tls_chan *ch);
/* Bytes queued but not yet acknowledged by the peer's TCP (0: everything sent has arrived). */
size_t tls_send_unacked(struct tls_chan *ch);
/*
 * Copy up to len received bytes into buf and open the TCP window by as much. Returns the count,
 * 0 when nothing is queued yet, -EPIPE when the peer closed and everything was read, or the
 * channel's negative errno once it failed (queued bytes are still returned first).
 */
int tls_recv(struct tls_chan *ch, void *buf, size_t len);
/* Received bytes queued for tls_recv. */
size_t tls_recv_pending(const struct tls_chan *ch);
/* 0 while usable, -EPIPE after the peer closed, else the failure's negative errno. */
int tls_status(const struct tls_chan *ch);
/* The failure in words ("key mismatch or not a shoal peer (peer sent alert bad_record_mac)"), or "". */
const char *tls_error(const struct tls_chan *ch);
/* The negotiated cipher suite's name, e.g. "TLS-ECDHE-PSK-WITH-CHACHA20-POLY1305-SHA256". */
const char *tls_cipher(const struct tls_chan *ch);
/* The peer's address and port as "A.B.C.D:P" (for messages). */
const char *tls_peer(const struct tls_chan *ch);
/*
 * Fail the open channel with "timeout" when nothing arrives from the peer for ms milliseconds (0, the
 * default: never). A cut link otherwise shows only once TCP gives up retransmitting what we send.
 */
void tls_set_idle_timeout(struct tls_chan *ch, uint32_t ms);
/* Send close_notify, close the connection (queued data still goes out) and free ch. */
void tls_close(struct tls_chan *ch);

/* Deliver handshake outcomes, enforce timeouts, reap failed channels. Returns nonzero if it did work. */
int tls_poll(void);
/* Channels and listeners alive (for leak checks in tests). */
void tls_counts(int *channels, int *listeners);
#endif
