/* TLS channel lifecycle: allocation, lwIP/mbedTLS callbacks, client connect, and the poll that reports. */
#include <stdarg.h>
#include "net/tls/chan_priv.h"
#include "lwip/altcp_tcp.h"
#include "lwip/tcp.h"
#include "kernel/errno.h"
#include "kernel/heap.h"
#include "kernel/kstring.h"
#include "kernel/log.h"
#include "kernel/printf.h"
#include "kernel/shell.h"
#include "kernel/time.h"

static struct tls_chan *chans;

mbedtls_ssl_context *tls_ssl(struct altcp_pcb *pcb)
{
    return pcb ? altcp_tls_context(pcb) : NULL;
}

static int poller_hook(void)
{
    return tls_poll();
}

struct tls_chan *tls_chan_new(uint32_t timeout_ms)
{
    static int hooked;
    if (!hooked && !(hooked = shell_add_poller(poller_hook) == 0))
        log_err("tls: no shell poller slot: channels progress only inside waiting commands");
    struct tls_chan *ch = kzalloc(sizeof(*ch));
    if (!ch)
        return NULL;
    ch->alert_out = -1;
    ch->deadline = time_ns() + (uint64_t)(timeout_ms ? timeout_ms : TLS_HANDSHAKE_MS_DEFAULT) * 1000000ull;
    ch->next = chans;
    chans = ch;
    return ch;
}

void tls_chan_free(struct tls_chan *ch)
{
    for (struct tls_chan **pp = &chans; *pp; pp = &(*pp)->next) {
        if (*pp == ch) {
            *pp = ch->next;
            break;
        }
    }
    if (ch->rx)
        pbuf_free(ch->rx);
    if (ch->lsn)
        tls_lsn_put(ch->lsn);
    else
        tls_conf_free(ch->conf, ch->ssl_conf);
    kfree(ch);
}

/* Detach our callbacks, then close (abort when lwIP cannot queue the FIN). The pcb is ours no more. */
void tls_chan_drop(struct tls_chan *ch, int graceful)
{
    struct altcp_pcb *pcb = ch->pcb;
    if (!pcb)
        return;
    ch->pcb = NULL;
    altcp_arg(pcb, NULL);
    altcp_recv(pcb, NULL);
    altcp_err(pcb, NULL);
    if (!graceful || altcp_close(pcb) != ERR_OK)
        altcp_abort(pcb);
}

void tls_chan_fail(struct tls_chan *ch, int err, const char *fmt, ...)
{
    if (ch->state != TLS_DEAD) {
        va_list ap;
        va_start(ap, fmt);
        kvsnprintf(ch->why, sizeof(ch->why), fmt, ap);
        va_end(ap);
        ch->err = err;
        ch->state = TLS_DEAD;
    }
}

/*
 * The BIO wrapper sees every record mbedTLS sends. An alert outside our own close means mbedTLS
 * rejected what the peer sent (after the handshake: a record that failed authentication, i.e. an
 * altered stream). It is noted here and acted on in tls_poll, outside mbedTLS and lwIP.
 */
static int bio_send(void *ctx, const unsigned char *buf, size_t len)
{
    struct tls_chan *ch = ctx;
    mbedtls_ssl_context *ssl = tls_ssl(ch->pcb);
    if (ssl && ssl->out_msgtype == MBEDTLS_SSL_MSG_ALERT && !ch->closing) {
        /* A plaintext alert record is 7 bytes: type 21, version, length 2, level, description. */
        if (ch->state == TLS_HANDSHAKE && len == 7 && buf[0] == MBEDTLS_SSL_MSG_ALERT)
            ch->alert_out = buf[6];
        else if (ch->state == TLS_OPEN && ch->err == 0)
            ch->err = -EBADMSG;
    }
    return ch->lwip_send(ch->lwip_bio, buf, len);
}

static int bio_recv(void *ctx, unsigned char *buf, size_t len)
{
    struct tls_chan *ch = ctx;
    return ch->lwip_recv(ch->lwip_bio, buf, len);
}

static err_t on_recv(void *arg, struct altcp_pcb *pcb, struct pbuf *p, err_t err)
{
    struct tls_chan *ch = arg;
    (void)pcb;
    if (!ch) {
        if (p)
            pbuf_free(p);
        return ERR_OK;
    }
    if (!p || err != ERR_OK) {        /* the peer closed its side (FIN after the handshake) */
        if (p)
            pbuf_free(p);
        tls_why_peer_close(ch);
        return ERR_OK;
    }
    ch->last_rx = time_ns();
    if (ch->rx)
        pbuf_cat(ch->rx, p);          /* the TCP window (opened by tls_recv) bounds this queue */
    else
        ch->rx = p;
    return ERR_OK;
}

static void note_open(struct tls_chan *ch);

/* lwIP frees the pcb after this returns (TCP error, or a handshake failure it closes itself). */
static void on_err(void *arg, err_t err)
{
    struct tls_chan *ch = arg;
    if (!ch)
        return;
    mbedtls_ssl_context *ssl = tls_ssl(ch->pcb);
    if (ch->state == TLS_HANDSHAKE && ssl && ssl->state == MBEDTLS_SSL_HANDSHAKE_OVER)
        note_open(ch);                /* a server whose handshake tls_poll had not seen finish yet */
    if (ch->state == TLS_HANDSHAKE) {
        tls_why_handshake(ch, err);
    } else if (ch->state == TLS_OPEN && err == ERR_CLSD) {
        tls_why_peer_close(ch);       /* closed before any data reached us */
    } else if (ch->state == TLS_OPEN) {
        const char *words;
        int e = tls_why_tcp(err, &words);
        tls_chan_fail(ch, e, "%s", words);
    }
    ch->pcb = NULL;
}

static void note_open(struct tls_chan *ch)
{
    mbedtls_ssl_context *ssl = tls_ssl(ch->pcb);
    kstrlcpy(ch->cipher, ssl ? mbedtls_ssl_get_ciphersuite(ssl) : "?", sizeof(ch->cipher));
    ch->state = TLS_OPEN;
    ch->last_rx = time_ns();
}

static err_t on_connected(void *arg, struct altcp_pcb *pcb, err_t err)
{
    struct tls_chan *ch = arg;
    (void)pcb;
    if (ch && err == ERR_OK && ch->state == TLS_HANDSHAKE)
        note_open(ch);
    return ERR_OK;
}

int tls_chan_attach(struct tls_chan *ch, struct altcp_pcb *pcb)
{
    mbedtls_ssl_context *ssl = tls_ssl(pcb);
    if (!ssl)
        return -ENOMEM;
    ch->pcb = pcb;
    ch->lwip_send = ssl->f_send;
    ch->lwip_recv = ssl->f_recv;
    ch->lwip_bio = ssl->p_bio;
    mbedtls_ssl_set_bio(ssl, ch, bio_send, bio_recv, NULL);
    altcp_arg(pcb, ch);
    altcp_recv(pcb, on_recv);
    altcp_err(pcb, on_err);
    altcp_nagle_disable(pcb);
    ip_addr_t *ip = altcp_get_ip(pcb, 0);
    ksnprintf(ch->peer, sizeof(ch->peer), "%s:%u", ip ? ipaddr_ntoa(ip) : "?", altcp_get_port(pcb, 0));
    return 0;
}

int tls_connect_psk(const ip_addr_t *ip, uint16_t port, const struct tls_psk *psk, uint32_t timeout_ms,
                    tls_done_fn done, void *arg)
{
    if (!ip || !IP_IS_V4(ip) || port == 0 || !psk || !done)
        return -EINVAL;
    struct tls_chan *ch = tls_chan_new(timeout_ms);
    if (!ch)
        return -ENOMEM;
    ch->done = done;
    ch->arg = arg;
    ch->conf = altcp_tls_create_config_client(NULL, 0);
    struct altcp_pcb *pcb = ch->conf ? altcp_tls_new(ch->conf, IPADDR_TYPE_V4) : NULL;
    int rc = pcb ? tls_conf_setup(pcb, psk, &ch->ssl_conf) : -ENOMEM;
    if (rc == 0)
        rc = tls_chan_attach(ch, pcb);
    if (rc == 0 && altcp_connect(pcb, ip, port, on_connected) != ERR_OK)
        rc = -EIO;
    if (rc < 0) {
        if (ch->pcb)
            tls_chan_drop(ch, 0);
        else if (pcb)
            altcp_abort(pcb);
        tls_chan_free(ch);
        return rc;
    }
    ksnprintf(ch->peer, sizeof(ch->peer), "%s:%u", ipaddr_ntoa(ip), port);
    return 0;
}

int tls_connect(const ip_addr_t *ip, uint16_t port, const char *key, tls_done_fn done, void *arg)
{
    struct tls_psk psk;
    int rc = tls_psk_parse(&psk, key, NULL);
    if (rc == 0)
        rc = tls_connect_psk(ip, port, &psk, 0, done, arg);
    tls_psk_wipe(&psk);
    return rc;
}

/* Report a finished handshake to its owner; a failed one is freed (client: after done returns). */
static void announce(struct tls_chan *ch)
{
    ch->announced = 1;
    if (ch->done) {
        int ok = ch->state == TLS_OPEN;   /* done may close ch when ok: look before calling */
        ch->done(ch, ok ? 0 : ch->err, ch->arg);
        if (!ok)
            tls_chan_free(ch);
    } else if (ch->state == TLS_OPEN) {
        ch->lsn->accepted(ch, ch->lsn->arg);
    } else {
        kprintf("tls: refused %s on port %u: %s\n", ch->peer, ch->lsn->port, ch->why);
        tls_chan_free(ch);
    }
}

/* Handshake progress and timeouts, and a record that failed authentication after it. */
static void check(struct tls_chan *ch, uint64_t now)
{
    mbedtls_ssl_context *ssl = tls_ssl(ch->pcb);
    if (ch->state == TLS_HANDSHAKE && ssl && ssl->state == MBEDTLS_SSL_HANDSHAKE_OVER)
        note_open(ch);
    if (ch->state == TLS_HANDSHAKE && now > ch->deadline) {
        tls_chan_fail(ch, -ETIMEDOUT, "timeout: the TLS handshake did not finish in time");
        tls_chan_drop(ch, 0);
    }
    if (ch->state == TLS_OPEN && ch->err == -EBADMSG && ch->pcb)
        tls_chan_drop(ch, 0);         /* mbedTLS sent its fatal alert; nothing more is trusted */
    if (ch->state == TLS_OPEN && ch->idle_ns && !ch->peer_eof && now - ch->last_rx > ch->idle_ns) {
        tls_chan_fail(ch, -ETIMEDOUT, "timeout: nothing from the peer for %llu ms",
                      (unsigned long long)(ch->idle_ns / 1000000));
        tls_chan_drop(ch, 0);
    }
}

int tls_poll(void)
{
    int work = 0;
    uint64_t now = time_ns();
    for (struct tls_chan *ch = chans; ch; ch = ch->next)
        check(ch, now);
    /* A callback may close or open channels: start over after each one. */
    for (int again = 1; again; ) {
        again = 0;
        for (struct tls_chan *ch = chans; ch; ch = ch->next) {
            if (!ch->announced && ch->state != TLS_HANDSHAKE) {
                announce(ch);
                work = again = 1;
                break;
            }
        }
    }
    return work;
}

void tls_counts(int *channels, int *listeners)
{
    int n = 0;
    for (struct tls_chan *ch = chans; ch; ch = ch->next)
        n++;
    *channels = n;
    *listeners = tls_lsn_count();
}

void tls_set_idle_timeout(struct tls_chan *ch, uint32_t ms)
{
    ch->idle_ns = (uint64_t)ms * 1000000ull;
    ch->last_rx = time_ns();
}
