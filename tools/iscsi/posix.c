/* POSIX socket transport for the iSCSI engine: non-blocking connect/send/recv, events fed from poll(). */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#include "tools/iscsi/posix.h"
#include "kernel/time.h"

#define RX_CHUNK (256 * 1024)   /* bounce buffer: headers, small PDUs, bytes past a window */

static int px_connect(void *ctx, const char *host, uint16_t port)
{
    struct posix_conn *c = ctx;
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *ai;
    char ps[8];
    int one = 1, r;
    snprintf(ps, sizeof(ps), "%u", port);
    if (getaddrinfo(host, ps, &hints, &ai) != 0)
        return -ENOENT;
    c->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0) {
        freeaddrinfo(ai);
        return -EIO;
    }
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    r = connect(c->fd, ai->ai_addr, ai->ai_addrlen);
    freeaddrinfo(ai);
    if (r == 0) {
        c->up_pending = 1;
    } else if (errno == EINPROGRESS) {
        c->connecting = 1;
    } else {
        r = -errno;
        close(c->fd);
        c->fd = -1;
        return r;
    }
    return 0;
}

static int px_send(void *ctx, const void *buf, size_t len)
{
    struct posix_conn *c = ctx;
    ssize_t n;
    if (c->fd < 0 || c->connecting)
        return 0;
    n = send(c->fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n >= 0)
        return (int)n;
    return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -ECONNRESET;
}

static void px_close(void *ctx)
{
    struct posix_conn *c = ctx;
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->connecting = 0;
    c->up_pending = 0;
    c->more = 0;
}

void posix_conn_init(struct posix_conn *c)
{
    memset(c, 0, sizeof(*c));
    c->fd = -1;
    c->tr.connect = px_connect;
    c->tr.send = px_send;
    c->tr.close = px_close;
    c->tr.ctx = c;
}

static void px_connected(struct posix_conn *c)
{
    int err = 0;
    socklen_t l = sizeof(err);
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l);
    c->connecting = 0;
    if (err) {
        iscsi_conn_down(c->s, -err);
        return;
    }
    iscsi_conn_up(c->s);
}

/*
 * One read: with a zero-copy window, scatter straight into the command's buffer, then into the bounce buffer
 * only as much as the engine's tail hint says (up to the next header while large Data-In segments stream, so
 * their payload never lands in the bounce buffer; everything that fits while PDUs are small). Returns the
 * recvmsg result; *full says the read filled everything offered (more may be queued).
 */
static ssize_t px_read_once(struct posix_conn *c, unsigned char *buf, int *full)
{
    void *dst = NULL;
    size_t win = iscsi_conn_rx_window(c->s, &dst), tail = iscsi_conn_rx_tail(c->s), want;
    struct iovec v[2];
    struct msghdr m = { .msg_iov = v };
    ssize_t n;
    if (win) {
        v[m.msg_iovlen].iov_base = dst;
        v[m.msg_iovlen++].iov_len = win;
    }
    if (tail || !win) {
        v[m.msg_iovlen].iov_base = buf;
        v[m.msg_iovlen++].iov_len = tail && tail < RX_CHUNK ? tail : RX_CHUNK;
    }
    want = 0;
    for (size_t i = 0; i < m.msg_iovlen; i++)
        want += v[i].iov_len;
    n = recvmsg(c->fd, &m, MSG_DONTWAIT);
    if (n <= 0)
        return n;
    *full = (size_t)n == want;
    if (win)
        iscsi_conn_rx_placed(c->s, (size_t)n < win ? (size_t)n : win);
    if ((size_t)n > win && c->fd >= 0)
        iscsi_conn_recv(c->s, buf, (size_t)n - win);
    return n;
}

/* Drain the socket until a short read (bounded, so iscsi_poll still runs); c->more says data may still be
 * queued, so the next step reads before it polls. */
static void px_readable(struct posix_conn *c)
{
    static unsigned char buf[RX_CHUNK];
    c->more = 0;
    for (int i = 0; i < 64 && c->fd >= 0; i++) {
        int full = 0;
        ssize_t n = px_read_once(c, buf, &full);
        if (n > 0 && full) {
            c->more = 1;
            continue;
        }
        c->more = 0;
        if (n > 0)
            return;                            /* a short read emptied the socket: poll() next */
        if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
            iscsi_conn_down(c->s, n == 0 ? -ECONNRESET : -errno);
        return;
    }
}

void posix_conn_step(struct posix_conn *c, int timeout_ms)
{
    if (c->up_pending) {
        c->up_pending = 0;
        iscsi_conn_up(c->s);
    }
    if (c->fd >= 0 && c->more && !c->connecting) {
        px_readable(c);                        /* the last drain stopped early: read before sleeping */
    } else if (c->fd >= 0) {
        struct pollfd p = { .fd = c->fd, .events = (short)(c->connecting ? POLLOUT : POLLIN) };
        if (poll(&p, 1, timeout_ms) > 0) {
            if (c->connecting && (p.revents & (POLLOUT | POLLERR | POLLHUP)))
                px_connected(c);
            else if (!c->connecting && (p.revents & (POLLIN | POLLERR | POLLHUP)))
                px_readable(c);
        }
    } else if (timeout_ms > 0) {
        poll(NULL, 0, timeout_ms);
    }
    iscsi_poll(c->s, time_ns());
}
