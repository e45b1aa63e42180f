/* `net tcptest`: a raw-API TCP client that reads a stream and reports its rate (sanity check for iSCSI). */
#include "net/net.h"
#include "net/tools.h"
#include "lwip/tcp.h"
#include "kernel/console.h"
#include "kernel/errno.h"
#include "kernel/printf.h"
#include "kernel/time.h"

struct tcptest {
    struct tcp_pcb *pcb;      /* NULL once lwIP freed it (error callback) or we closed it */
    int connected, done, err;
    uint64_t got, want, t_conn;
};

static err_t tt_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p, err_t err)
{
    struct tcptest *t = arg;
    if (!p) {                 /* the peer closed */
        t->done = 1;
        return ERR_OK;
    }
    if (err == ERR_OK) {
        t->got += p->tot_len;
        tcp_recved(pcb, p->tot_len);
    }
    pbuf_free(p);
    if (t->got >= t->want)
        t->done = 1;
    return ERR_OK;
}

static void tt_err(void *arg, err_t err)
{
    struct tcptest *t = arg;
    t->pcb = NULL;            /* lwIP has freed the pcb (tcp_err contract) */
    t->err = err == ERR_RST ? -ECONNRESET : err == ERR_ABRT ? -ECANCELED : -EIO;
    t->done = 1;
}

static err_t tt_connected(void *arg, struct tcp_pcb *pcb, err_t err)
{
    struct tcptest *t = arg;
    (void)pcb;
    t->connected = err == ERR_OK;
    t->t_conn = time_ns();
    return ERR_OK;
}

/* Close our side when the pcb still exists; abort when close cannot queue its FIN. */
static void tt_close(struct tcptest *t)
{
    if (!t->pcb)
        return;
    tcp_arg(t->pcb, NULL);
    tcp_recv(t->pcb, NULL);
    tcp_err(t->pcb, NULL);
    if (tcp_close(t->pcb) != ERR_OK)
        tcp_abort(t->pcb);
    t->pcb = NULL;
}

int net_tcptest(const char *host, uint16_t port, uint64_t bytes)
{
    struct tcptest t = { .want = bytes };
    ip_addr_t dst;
    int rc = net_resolve(host, &dst);
    if (rc < 0)
        return rc;
    t.pcb = tcp_new_ip_type(IPADDR_TYPE_V4);
    if (!t.pcb)
        return -ENOMEM;
    tcp_arg(t.pcb, &t);
    tcp_recv(t.pcb, tt_recv);
    tcp_err(t.pcb, tt_err);
    if (tcp_connect(t.pcb, &dst, port, tt_connected) != ERR_OK) {
        tt_close(&t);
        return -EIO;
    }
    uint64_t start = time_ns(), end = start + 60000000000ull;
    while (!t.done && time_ns() < end) {
        net_poll();
        if (console_getc() == 3) {
            t.err = -ECANCELED;
            break;
        }
    }
    uint64_t stop = time_ns();
    tt_close(&t);
    if (!t.connected) {
        kprintf("tcptest: could not connect to %s:%u (%d)\n", ipaddr_ntoa(&dst), port, t.err ? t.err : -ETIMEDOUT);
        return t.err ? t.err : -ETIMEDOUT;
    }
    uint64_t us = (stop - t.t_conn) / 1000 + 1;
    uint64_t rate100 = t.got * 100 / us;   /* bytes per microsecond = MB/s, times 100 */
    kprintf("tcptest: received %llu bytes in %llu ms: %llu.%02llu MB/s\n", (unsigned long long)t.got,
            (unsigned long long)(us / 1000), (unsigned long long)(rate100 / 100), (unsigned long long)(rate100 % 100));
    if (t.got >= t.want)
        return 0;
    return t.err ? t.err : -ETIMEDOUT;
}
