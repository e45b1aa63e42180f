/* The TLS channel's internals shared by net/tls/chan*.c and listen.c (not for other users). */
#ifndef SHOAL_TLS_CHAN_PRIV_H
#define SHOAL_TLS_CHAN_PRIV_H
#include "net/tls/chan.h"
#include "lwip/altcp.h"
#include "lwip/altcp_tls.h"
#include "mbedtls/ssl.h"

enum tls_state { TLS_HANDSHAKE, TLS_OPEN, TLS_DEAD };

struct tls_lsn {
    struct tls_lsn *next;
    uint16_t port;
    struct altcp_pcb *pcb;             /* NULL once unlistened */
    struct altcp_tls_config *conf;     /* freed when pcb is gone and no channel uses it */
    mbedtls_ssl_config *ssl_conf;      /* inside conf: holds a copy of the key */
    int refs;                          /* accepted channels still using conf */
    tls_accept_fn accepted;
    void *arg;
};

struct tls_chan {
    struct tls_chan *next;
    struct altcp_pcb *pcb;             /* NULL once lwIP freed it or we closed it */
    struct altcp_tls_config *conf;     /* client: its own config; server: lsn->conf */
    mbedtls_ssl_config *ssl_conf;      /* client: inside conf, holds a copy of the key */
    struct tls_lsn *lsn;               /* server side: the listener, else NULL */
    enum tls_state state;
    int err;                           /* negative errno once failed, -EPIPE after the peer closed */
    int announced;                     /* done/accepted delivered (or the refusal printed) */
    int closing;                       /* our close_notify: alerts we send from now on are ours */
    int alert_out;                     /* alert we sent during the handshake (-1: none) */
    int peer_eof;                      /* the peer closed its side */
    uint64_t deadline;                 /* handshake timeout (time_ns) */
    uint64_t idle_ns, last_rx;         /* open channel: fail when nothing arrived for idle_ns (0: never) */
    tls_done_fn done;
    void *arg;
    mbedtls_ssl_send_t *lwip_send;     /* lwIP's BIO, wrapped to watch outgoing alerts */
    mbedtls_ssl_recv_t *lwip_recv;
    void *lwip_bio;
    struct pbuf *rx;                   /* decrypted bytes not yet read, rx_off into the first pbuf */
    size_t rx_off;
    char why[112];
    char cipher[48];
    char peer[24];
};

/* The mbedTLS context of an altcp TLS pcb (NULL when none). */
mbedtls_ssl_context *tls_ssl(struct altcp_pcb *pcb);
/* Allocate a channel on the poll list, in the handshake, deadline timeout_ms from now. NULL: no memory. */
struct tls_chan *tls_chan_new(uint32_t timeout_ms);
/* Hook ch to pcb: callbacks, the BIO wrapper. Returns 0 or -ENOMEM. */
int tls_chan_attach(struct tls_chan *ch, struct altcp_pcb *pcb);
/* Free ch (its pcb must already be gone) and release its config. */
void tls_chan_free(struct tls_chan *ch);
/* Detach our callbacks and close ch's pcb (abort unless graceful or when close fails). */
void tls_chan_drop(struct tls_chan *ch, int graceful);
/*
 * Mark ch failed with err and a reason (printf format); the first failure wins. The pcb is left
 * alone (inside lwIP's callbacks lwIP frees it): callers outside them drop it with tls_chan_drop.
 */
void tls_chan_fail(struct tls_chan *ch, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/*
 * Restrict pcb's fresh config to ECDHE-PSK ChaCha20-Poly1305, TLS 1.2, with psk; *out gets the
 * mbedTLS config for tls_conf_free. Returns 0 or -ENOMEM.
 */
int tls_conf_setup(struct altcp_pcb *pcb, const struct tls_psk *psk, mbedtls_ssl_config **out);
/* Free an altcp TLS config and the key mbedTLS copied into it (altcp_tls_free_config alone leaks it). */
void tls_conf_free(struct altcp_tls_config *conf, mbedtls_ssl_config *ssl_conf);
/* The handshake failed inside lwIP (err callback): set ch's error from the alerts seen. */
void tls_why_handshake(struct tls_chan *ch, err_t err);
/* The peer closed after the handshake: a fatal alert it sent before fails ch, else it is end of stream. */
void tls_why_peer_close(struct tls_chan *ch);
/* An alert's name ("bad_record_mac"), "other" for codes shoal does not name. */
const char *tls_alert_name(int code);
/* A TCP-level error (RST, retransmission timeout) as errno and words. */
int tls_why_tcp(err_t err, const char **words);
/* Listeners alive (listening, or unlistened with channels still using their config). */
int tls_lsn_count(void);
/* Release a listener's config once it is unlistened and unused. */
void tls_lsn_put(struct tls_lsn *l);
#endif
