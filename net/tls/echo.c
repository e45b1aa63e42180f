/* `tls listen`: an echo server over the TLS channel, for operators and tests (one poller, few peers). */
#include "net/tls/chan.h"
#include "net/tls/cmds.h"
#include "kernel/errno.h"
#include "kernel/heap.h"
#include "kernel/printf.h"
#include "kernel/shell.h"

#define ECHO_MAX 4

struct echo {
    struct tls_chan *ch;
    size_t have, off;         /* buf[off..have) still to send back */
    uint64_t total;
    uint8_t buf[4096];
};

static struct echo *echoes[ECHO_MAX];

static void echo_end(int i)
{
    struct echo *e = echoes[i];
    int st = tls_status(e->ch);
    kprintf("tls: %s: %s after %llu bytes echoed\n", tls_peer(e->ch),
            st == -EPIPE ? "peer closed" : tls_error(e->ch), (unsigned long long)e->total);
    tls_close(e->ch);
    kfree(e);
    echoes[i] = NULL;
}

/* Move one echo channel along; returns nonzero when it did something. */
static int echo_step(int i)
{
    struct echo *e = echoes[i];
    int r = 0;
    if (e->off == e->have) {
        r = tls_recv(e->ch, e->buf, sizeof(e->buf));
        if (r > 0) {
            e->have = (size_t)r;
            e->off = 0;
        }
    }
    if (r >= 0 && e->off < e->have) {
        r = tls_send(e->ch, e->buf + e->off, e->have - e->off);
        if (r > 0) {
            e->off += (size_t)r;
            e->total += (uint64_t)r;
        }
    }
    if (r < 0 || (e->off == e->have && tls_status(e->ch) < 0)) {
        echo_end(i);
        return 1;
    }
    return r > 0;
}

int tls_echo_poll(void)
{
    int work = 0;
    for (int i = 0; i < ECHO_MAX; i++)
        if (echoes[i])
            work |= echo_step(i);
    return work;
}

static void echo_accept(struct tls_chan *ch, void *arg)
{
    (void)arg;
    for (int i = 0; i < ECHO_MAX; i++) {
        if (!echoes[i] && (echoes[i] = kzalloc(sizeof(struct echo))) != NULL) {
            echoes[i]->ch = ch;
            kprintf("tls: accepted %s, cipher %s\n", tls_peer(ch), tls_cipher(ch));
            return;
        }
    }
    kprintf("tls: %s: echo server full, closing\n", tls_peer(ch));
    tls_close(ch);
}

int tls_echo_listen(uint16_t port, const char *key, const char *id)
{
    static int hooked;
    struct tls_psk psk;
    int rc = tls_psk_parse(&psk, key, id);
    if (rc == 0 && !hooked)
        rc = shell_add_poller(tls_echo_poll);
    hooked |= rc == 0;
    if (rc == 0)
        rc = tls_listen_psk(port, &psk, echo_accept, NULL);
    tls_psk_wipe(&psk);
    if (rc == 0)
        kprintf("tls: echo server listening on port %u\n", port);
    return rc;
}

int tls_echo_stop(uint16_t port)
{
    return tls_unlisten(port);
}
