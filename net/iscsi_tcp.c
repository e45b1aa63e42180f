/* iSCSI transport over lwIP raw TCP: non-blocking connect/send/close, lwIP callbacks fed to the engine. */
#include "net/iscsi_tcp.h"
#include "lwip/tcp.h"
#include "lwip/ip_addr.h"
#include "kernel/errno.h"
#include "kernel/kstring.h"

/*
 * lwIP callbacks run inside net_poll(), never inside our connect/send/close, so they may call
 * iscsi_conn_* directly. The engine may close the connection from within such a callback (a bad
 * PDU, a logout answer): close() then aborts the pcb and the callback returns ERR_ABRT, as lwIP
 * requires of a callback that aborted its own pcb (lwIP rawapi.txt, "tcp_abort").
 */
static void cb_enter(struct iscsi_tcp *c, struct tcp_pcb *pcb)
{
    c->cb_pcb = pcb;
    c->cb_aborted = 0;
}

static err_t cb_leave(struct iscsi_tcp *c)
{
    int aborted = c->cb_aborted;
    c->cb_pcb = NULL;
    c->cb_aborted = 0;
    return aborted ? ERR_ABRT : ERR_OK;
}

static int lwip_errno(err_t e)
{
    switch (e) {
    case ERR_RST: return -ECONNRESET;
    case ERR_ABRT: return -ECANCELED;
    case ERR_TIMEOUT: return -ETIMEDOUT;
    case ERR_RTE: return -ENODEV;
    case ERR_MEM: case ERR_BUF: return -ENOMEM;
    default: return -ECONNREFUSED;
    }
}

static err_t tcpx_connected(void *arg, struct tcp_pcb *pcb, err_t err)
{
    struct iscsi_tcp *c = arg;
    if (!c)
        return ERR_OK;
    cb_enter(c, pcb);
    if (err == ERR_OK) {
        c->connected = 1;
        iscsi_conn_up(c->s);
    } else {
        iscsi_conn_down(c->s, lwip_errno(err));
    }
    return cb_leave(c);
}

static err_t tcpx_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
    struct iscsi_tcp *c = arg;
    if (!c) {                     /* closed by us: drop what still arrives */
        if (p) {
            tcp_recved(pcb, p->tot_len);
            pbuf_free(p);
        }
        return ERR_OK;
    }
    cb_enter(c, pcb);
    if (!p || err != ERR_OK) {    /* the peer closed (FIN), or an error reported through recv */
        if (p)
            pbuf_free(p);
        iscsi_conn_down(c->s, -ECONNRESET);
        return cb_leave(c);
    }
    for (struct pbuf *q = p; q && !c->cb_aborted; q = q->next)
        iscsi_conn_recv(c->s, q->payload, q->len);
    if (!c->cb_aborted)
        tcp_recved(pcb, p->tot_len);
    pbuf_free(p);
    return cb_leave(c);
}

static err_t tcpx_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
    struct iscsi_tcp *c = arg;
    (void)len;
    if (!c)
        return ERR_OK;
    cb_enter(c, pcb);
    iscsi_conn_writable(c->s);
    return cb_leave(c);
}

/* lwIP has freed the pcb already (RST, retransmission timeout, abort): forget it first. */
static void tcpx_err(void *arg, err_t err)
{
    struct iscsi_tcp *c = arg;
    if (!c)
        return;
    int was_up = c->connected;
    c->pcb = NULL;
    c->connected = 0;
    /* A RST answering our SYN is a refusal (RFC 9293 3.10.7.3), not a reset of a live connection. */
    iscsi_conn_down(c->s, !was_up && err == ERR_RST ? -ECONNREFUSED : lwip_errno(err));
}

static void tcpx_forget(struct tcp_pcb *pcb)
{
    tcp_arg(pcb, NULL);
    tcp_recv(pcb, NULL);
    tcp_sent(pcb, NULL);
    tcp_err(pcb, NULL);
}

static void tcpx_close(void *ctx)
{
    struct iscsi_tcp *c = ctx;
    struct tcp_pcb *pcb = c->pcb;
    c->pcb = NULL;
    c->connected = 0;
    c->down_pending = 0;
    if (!pcb)
        return;
    tcpx_forget(pcb);
    if (pcb == c->cb_pcb) {       /* inside this pcb's own callback: abort, callback returns ERR_ABRT */
        tcp_abort(pcb);
        c->cb_aborted = 1;
    } else if (tcp_close(pcb) != ERR_OK) {
        tcp_abort(pcb);
    }
}

static int tcpx_connect(void *ctx, const char *host, uint16_t port)
{
    struct iscsi_tcp *c = ctx;
    ip_addr_t dst;
    struct tcp_pcb *pcb;
    err_t e;
    if (c->pcb)
        tcpx_close(c);
    if (!ipaddr_aton(host, &dst) || !IP_IS_V4(&dst))
        return -EINVAL;           /* names are resolved by the caller (net_resolve) */
    pcb = tcp_new_ip_type(IPADDR_TYPE_V4);
    if (!pcb)
        return -ENOMEM;
    tcp_arg(pcb, c);
    tcp_recv(pcb, tcpx_recv);
    tcp_sent(pcb, tcpx_sent);
    tcp_err(pcb, tcpx_err);
    tcp_nagle_disable(pcb);       /* SCSI commands are small PDUs: send them at once */
    c->connected = 0;
    c->down_pending = 0;
    e = tcp_connect(pcb, &dst, port, tcpx_connected);
    if (e != ERR_OK) {
        tcpx_forget(pcb);
        tcp_abort(pcb);
        return lwip_errno(e);
    }
    c->pcb = pcb;
    return 0;
}

/* Take as much as the send buffer and segment queue hold; a failed write is reported later. */
static int tcpx_send(void *ctx, const void *buf, size_t len)
{
    struct iscsi_tcp *c = ctx;
    size_t n;
    err_t e;
    if (!c->pcb)
        return c->down_pending ? 0 : -ECONNRESET;
    if (!c->connected)
        return 0;
    n = tcp_sndbuf(c->pcb);
    if (n > len)
        n = len;
    if (n > 0xffff)
        n = 0xffff;               /* tcp_write takes a u16_t length */
    while (n) {
        e = tcp_write(c->pcb, buf, (u16_t)n, TCP_WRITE_FLAG_COPY);
        if (e == ERR_OK)
            break;
        if (e != ERR_MEM) {
            c->down_pending = 1;
            c->down_err = lwip_errno(e);
            return 0;
        }
        n /= 2;                   /* segment queue full: try a smaller piece, or wait for tcp_sent */
    }
    e = tcp_output(c->pcb);
    if (e != ERR_OK && e != ERR_MEM && e != ERR_RTE) {
        c->down_pending = 1;
        c->down_err = lwip_errno(e);
    }
    return (int)n;
}

void iscsi_tcp_init(struct iscsi_tcp *c)
{
    memset(c, 0, sizeof(*c));
    c->tr.connect = tcpx_connect;
    c->tr.send = tcpx_send;
    c->tr.close = tcpx_close;
    c->tr.ctx = c;
}

uint64_t iscsi_tcp_step(struct iscsi_tcp *c, uint64_t now)
{
    if (c->down_pending) {
        c->down_pending = 0;
        iscsi_conn_down(c->s, c->down_err ? c->down_err : -EIO);
    }
    return iscsi_poll(c->s, now);
}
