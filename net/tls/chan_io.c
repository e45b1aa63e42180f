/* TLS channel data path and reporting: send with backpressure, pull receive, close, tls_poll. */
#include "net/tls/chan_priv.h"
#include "lwip/tcp.h"
#include "kernel/errno.h"
#include "kernel/kstring.h"
#include "kernel/printf.h"
#include "kernel/time.h"

/* One record at most per write (altcp takes a u16_t length; mbedTLS records carry 16 KiB). */
#define TLS_WRITE_MAX 16384u

static int usable(const struct tls_chan *ch)
{
    return ch->state == TLS_OPEN && ch->pcb && ch->err == 0 && !ch->closing;
}

size_t tls_send_space(struct tls_chan *ch)
{
    if (!usable(ch))
        return 0;
    size_t n = altcp_sndbuf(ch->pcb);
    return n > TLS_WRITE_MAX ? TLS_WRITE_MAX : n;
}

size_t tls_send_unacked(struct tls_chan *ch)
{
    if (!ch->pcb || !ch->pcb->inner_conn)
        return 0;
    struct tcp_pcb *tcp = ch->pcb->inner_conn->state;
    mbedtls_ssl_context *ssl = tls_ssl(ch->pcb);
    /* snd_buf itself: tcp_sndbuf() caps it at 64 KiB, below TCP_SND_BUF with window scaling. */
    return (size_t)(TCP_SND_BUF - tcp->snd_buf) + (ssl ? ssl->out_left : 0);
}

int tls_send(struct tls_chan *ch, const void *buf, size_t len)
{
    if (!usable(ch))
        return ch->state == TLS_HANDSHAKE && !ch->err ? 0 : tls_status(ch) ? tls_status(ch) : -EPIPE;
    size_t n = tls_send_space(ch);
    if (n > len)
        n = len;
    if (n == 0)
        return 0;
    err_t e = altcp_write(ch->pcb, buf, (u16_t)n, TCP_WRITE_FLAG_COPY);
    if (e == ERR_MEM)
        return 0;                     /* mbedTLS still holds an unsent record: after the next ACK */
    if (e != ERR_OK) {
        tls_chan_fail(ch, -EIO, "send failed (lwIP error %d)", e);
        tls_chan_drop(ch, 0);
        return ch->err;
    }
    return (int)n;
}

size_t tls_recv_pending(const struct tls_chan *ch)
{
    return ch->rx ? ch->rx->tot_len - ch->rx_off : 0;
}

/* Copy from the head of the queue, freeing pbufs as they empty; returns bytes copied. */
static size_t rx_take(struct tls_chan *ch, uint8_t *dst, size_t len)
{
    size_t got = 0;
    while (ch->rx && got < len) {
        struct pbuf *p = ch->rx;
        size_t n = p->len - ch->rx_off;
        if (n > len - got)
            n = len - got;
        memcpy(dst + got, (const uint8_t *)p->payload + ch->rx_off, n);
        got += n;
        ch->rx_off += n;
        if (ch->rx_off == p->len) {
            /* Unlink by hand: pbuf_cat gave the chain the only reference to p->next. */
            ch->rx = p->next;
            ch->rx_off = 0;
            p->next = NULL;
            p->tot_len = p->len;
            pbuf_free(p);
        }
    }
    return got;
}

int tls_recv(struct tls_chan *ch, void *buf, size_t len)
{
    size_t got = rx_take(ch, buf, len);
    for (size_t left = got; left && ch->pcb; ) {
        u16_t n = left > 0xffff ? 0xffff : (u16_t)left;
        altcp_recved(ch->pcb, n);
        left -= n;
    }
    if (got)
        return (int)got;
    return tls_status(ch);
}

int tls_status(const struct tls_chan *ch)
{
    if (ch->err)
        return ch->err;
    if (ch->peer_eof && !ch->rx)
        return -EPIPE;
    return 0;
}

const char *tls_error(const struct tls_chan *ch)
{
    if (ch->why[0])
        return ch->why;
    if (ch->err == -EBADMSG)
        return "a record from the peer failed authentication (stream altered or not from the key holder)";
    if (ch->peer_eof)
        return "peer closed the connection";
    return "";
}

const char *tls_cipher(const struct tls_chan *ch)
{
    return ch->cipher[0] ? ch->cipher : "(none)";
}

const char *tls_peer(const struct tls_chan *ch)
{
    return ch->peer;
}

void tls_close(struct tls_chan *ch)
{
    mbedtls_ssl_context *ssl = tls_ssl(ch->pcb);
    ch->closing = 1;
    if (ssl && ch->state == TLS_OPEN) {
        (void)mbedtls_ssl_close_notify(ssl);   /* the peer can tell our close from a truncation */
        altcp_output(ch->pcb);
    }
    tls_chan_drop(ch, 1);
    tls_chan_free(ch);
}
