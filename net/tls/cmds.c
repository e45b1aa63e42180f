/* `tls` shell command: a client test against any PSK peer (echo or line reversal) and an echo server. */
#include "net/tls/chan.h"
#include "net/tls/port.h"
#include "net/net.h"
#include "net/tools.h"
#include "kernel/console.h"
#include "kernel/errno.h"
#include "kernel/heap.h"
#include "kernel/kstring.h"
#include "kernel/printf.h"
#include "kernel/random.h"
#include "kernel/shell.h"
#include "kernel/time.h"
#include "net/tls/cmds.h"

struct tls_args {
    const char *key, *id;
    uint64_t bytes, timeout_s, idle_s;
    int sink;                     /* the peer only reads: send, and wait until all is acknowledged */
};

/* One name=value argument into *out (bounded by max); 1 when it matched name, -EINVAL when malformed. */
static int num_arg(const char *s, const char *name, uint64_t *out, uint64_t max)
{
    size_t n = strlen(name);
    if (strncmp(s, name, n) != 0)
        return 0;
    return kstrtou64(s + n, out, 1) < 0 || *out == 0 || *out > max ? -EINVAL : 1;
}

/* key=K [id=NAME] [bytes=N] [timeout=S] from argv[from..]; -EINVAL for anything else or no key. */
static int parse_args(int argc, char **argv, int from, struct tls_args *a)
{
    a->key = a->id = NULL;
    a->sink = 0;
    a->idle_s = 0;
    a->bytes = 4ull << 20;
    a->timeout_s = TLS_HANDSHAKE_MS_DEFAULT / 1000;
    for (int i = from; i < argc; i++) {
        const char *s = argv[i];
        int m;
        if (strncmp(s, "key=", 4) == 0)
            a->key = s + 4;
        else if (strcmp(s, "sink") == 0)
            a->sink = 1;
        else if (strncmp(s, "id=", 3) == 0)
            a->id = s + 3;
        else if ((m = num_arg(s, "bytes=", &a->bytes, 1ull << 32)) == 0 &&
                 (m = num_arg(s, "timeout=", &a->timeout_s, 3600)) == 0)
            m = num_arg(s, "idle=", &a->idle_s, 3600);
        if (m <= 0)
            return -EINVAL;
    }
    return a->key ? 0 : -EINVAL;
}

/* Poll the network and the channels until cond(arg) or ms pass: 0, -ETIMEDOUT, or -ECANCELED (Ctrl-C). */
int tls_wait(int (*cond)(void *), void *arg, uint64_t ms)
{
    uint64_t end = time_ns() + ms * 1000000ull;
    while (!cond(arg)) {
        if (time_ns() > end)
            return -ETIMEDOUT;
        if (console_getc() == 3)
            return -ECANCELED;
        net_poll();
        tls_poll();
        tls_echo_poll();          /* an echo server on this host may be the peer */
    }
    return 0;
}

/* Heap-held so that a connect the command gave up on (Ctrl-C) can still report into it. */
struct conn_wait {
    int done, err, abandoned;
    struct tls_chan *ch;
    char why[112];
};

static void connected(struct tls_chan *ch, int err, void *arg)
{
    struct conn_wait *w = arg;
    if (w->abandoned) {
        if (!err)
            tls_close(ch);
        kfree(w);
        return;
    }
    w->done = 1;
    w->err = err;
    if (err)
        kstrlcpy(w->why, tls_error(ch), sizeof(w->why));
    else
        w->ch = ch;
}

static int conn_done(void *arg)
{
    return ((struct conn_wait *)arg)->done;
}

/* Split "HOST:PORT"; host[size]. Returns 0 or -EINVAL. */
static int split_hostport(const char *s, char *host, size_t size, uint16_t *port)
{
    const char *colon = strrchr(s, ':');
    uint64_t p;
    if (!colon || colon == s || (size_t)(colon - s) >= size || kstrtou64(colon + 1, &p, 0) < 0 ||
        p == 0 || p > 65535)
        return -EINVAL;
    kstrlcpy(host, s, (size_t)(colon - s) + 1);
    *port = (uint16_t)p;
    return 0;
}

/* Connect and handshake, printing the outcome; *out gets the channel. */
static int test_connect(const char *host, uint16_t port, const struct tls_args *a, struct tls_chan **out)
{
    ip_addr_t ip;
    struct tls_psk psk;
    struct conn_wait *w = kzalloc(sizeof(*w));
    if (!w)
        return -ENOMEM;
    int rc = net_resolve(host, &ip);
    if (rc == 0)
        rc = tls_psk_parse(&psk, a->key, a->id);
    if (rc == 0)
        rc = tls_connect_psk(&ip, port, &psk, (uint32_t)a->timeout_s * 1000, connected, w);
    tls_psk_wipe(&psk);
    if (rc < 0) {
        kfree(w);
        return rc;
    }
    rc = tls_wait(conn_done, w, a->timeout_s * 1000 + 5000);
    if (rc < 0) {
        w->abandoned = 1;             /* connected() frees it when the handshake ends */
        return rc;
    }
    rc = w->err;
    if (rc)
        kprintf("tls: %s:%u: %s\n", host, port, w->why);
    else
        kprintf("tls: connected to %s, cipher %s\n", tls_peer(w->ch), tls_cipher(w->ch));
    *out = w->ch;
    kfree(w);
    return rc;
}

/* The bulk pattern: lines of TEST_LINE bytes, each a palindrome, so an echo and a line-reversing
 * peer (openssl s_server -rev) return the same stream. */
#define TEST_LINE 4096u

static uint8_t pattern_byte(uint64_t off)
{
    uint64_t k = off / TEST_LINE, j = off % TEST_LINE;
    if (j == TEST_LINE - 1)
        return '\n';
    uint64_t d = j < TEST_LINE - 2 - j ? j : TEST_LINE - 2 - j;
    return (uint8_t)('a' + (k + d) % 26);
}

struct pump {
    struct tls_chan *ch;
    const uint8_t *msg;           /* a fixed message to send, or NULL: the bulk pattern */
    uint64_t total, sent, got;    /* bytes to send; sent; received (and checked, for the pattern) */
    uint8_t *in;                  /* received bytes of a fixed message */
    int err;
};

static uint8_t pump_buf[16384];

static void pump_send(struct pump *p)
{
    size_t n = tls_send_space(p->ch);
    if (n > sizeof(pump_buf))
        n = sizeof(pump_buf);
    if (n > p->total - p->sent)
        n = (size_t)(p->total - p->sent);
    if (n == 0)
        return;
    for (size_t i = 0; i < n; i++)
        pump_buf[i] = p->msg ? p->msg[p->sent + i] : pattern_byte(p->sent + i);
    int r = tls_send(p->ch, pump_buf, n);
    if (r < 0)
        p->err = r;
    else
        p->sent += (uint64_t)r;
}

/* tls_wait condition that also moves the data: send what fits, check what came back. */
static int pump_step(void *arg)
{
    struct pump *p = arg;
    pump_send(p);
    size_t want = p->total - p->got < sizeof(pump_buf) ? (size_t)(p->total - p->got) : sizeof(pump_buf);
    int r = want ? tls_recv(p->ch, p->msg ? p->in + p->got : pump_buf, want) : 0;
    for (int i = 0; !p->msg && i < r; i++) {
        if (pump_buf[i] != pattern_byte(p->got + (uint64_t)i)) {
            p->err = -EBADMSG;
            kprintf("tls: byte %llu came back wrong\n", (unsigned long long)(p->got + (uint64_t)i));
            return 1;
        }
    }
    if (r < 0 && !p->err)
        p->err = r;
    p->got += r > 0 ? (uint64_t)r : 0;
    return p->err || p->got >= p->total;
}

/* Send one line; the peer must echo it or return it reversed (openssl s_server -rev). */
static int test_line(struct tls_chan *ch, const struct tls_args *a)
{
    uint8_t rnd[8], line[32], back[32], rev[32];
    random_bytes(rnd, sizeof(rnd));
    int n = ksnprintf((char *)line, sizeof(line), "shoal-tls-%02x%02x%02x%02x%02x%02x%02x%02x\n",
                      rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
    struct pump p = { .ch = ch, .msg = line, .total = (uint64_t)n, .in = back };
    int rc = tls_wait(pump_step, &p, a->timeout_s * 1000);
    if (rc == 0 && p.err)
        rc = p.err;
    if (rc < 0) {
        kprintf("tls: line test: %s\n", rc == -ETIMEDOUT ? "no reply" : tls_error(ch));
        return rc;
    }
    for (int i = 0; i < n - 1; i++)
        rev[i] = line[n - 2 - i];
    rev[n - 1] = '\n';
    const char *how = memcmp(back, line, (size_t)n) == 0 ? "echoed" : memcmp(back, rev, (size_t)n) == 0 ? "reversed" : NULL;
    kprintf("tls: line %s\n", how ? how : "came back altered");
    return how ? 0 : -EBADMSG;
}

static int sink_step(void *arg)
{
    struct pump *p = arg;
    pump_send(p);
    if (!p->err && tls_status(p->ch) < 0)
        p->err = tls_status(p->ch);
    return p->err || (p->sent == p->total && tls_send_unacked(p->ch) == 0);
}

/*
 * Stream a.bytes of the pattern through the peer and back, checked (or with a.sink only to it, until
 * the last byte is acknowledged); print the rate.
 */
static int test_stream(struct tls_chan *ch, const struct tls_args *a)
{
    struct pump p = { .ch = ch, .total = a->bytes };
    uint64_t t0 = time_ns();
    int rc = tls_wait(a->sink ? sink_step : pump_step, &p, 120000 + a->bytes / 10000);
    uint64_t us = (time_ns() - t0) / 1000 + 1, done = a->sink ? p.sent : p.got;
    if (rc == 0 && p.err)
        rc = p.err;
    if (rc < 0) {
        kprintf("tls: %s stopped after %llu of %llu bytes: %s\n", a->sink ? "sending" : "bulk",
                (unsigned long long)done, (unsigned long long)p.total,
                tls_error(ch)[0] ? tls_error(ch) : rc == -ETIMEDOUT ? "timeout" : "data altered");
        return rc;
    }
    uint64_t rate100 = done * 100 / us;   /* bytes per microsecond = MB/s, times 100 */
    kprintf("tls: %s %llu bytes%s in %llu ms: %llu.%02llu MB/s\n", a->sink ? "sent" : "bulk",
            (unsigned long long)done, a->sink ? ", all acknowledged," : " each way", (unsigned long long)(us / 1000),
            (unsigned long long)(rate100 / 100), (unsigned long long)(rate100 % 100));
    return 0;
}

static void print_heap(void)
{
    struct tls_heap_stats st;
    int chans, lsns;
    tls_heap_get_stats(&st);
    tls_counts(&chans, &lsns);
    kprintf("tls: %d channels, %d listeners; mbedTLS heap %zu bytes in use, peak %zu\n", chans, lsns,
            st.in_use, st.peak);
}

static int cmd_test(int argc, char **argv)
{
    struct tls_args a;
    char host[64];
    uint16_t port;
    struct tls_chan *ch = NULL;
    if (argc < 3 || split_hostport(argv[2], host, sizeof(host), &port) < 0 || parse_args(argc, argv, 3, &a) < 0)
        return shell_usage("tls");
    tls_heap_reset_peak();
    int rc = test_connect(host, port, &a, &ch);
    if (rc == 0 && a.idle_s)
        tls_set_idle_timeout(ch, (uint32_t)a.idle_s * 1000);
    if (rc == 0 && !a.sink)
        rc = test_line(ch, &a);
    if (rc == 0)
        rc = test_stream(ch, &a);
    if (ch)
        tls_close(ch);
    print_heap();
    return rc;
}

static int cmd_tls(int argc, char **argv)
{
    uint64_t port;
    struct tls_args a;
    if (argc == 1) {
        print_heap();
        return 0;
    }
    if (strcmp(argv[1], "test") == 0)
        return cmd_test(argc, argv);
    if (argc < 3 || kstrtou64(argv[2], &port, 0) < 0 || port == 0 || port > 65535)
        return shell_usage("tls");
    if (strcmp(argv[1], "listen") == 0 && parse_args(argc, argv, 3, &a) == 0)
        return tls_echo_listen((uint16_t)port, a.key, a.id);
    if (strcmp(argv[1], "stop") == 0 && argc == 3)
        return tls_echo_stop((uint16_t)port);
    return shell_usage("tls");
}
SHELL_COMMAND("tls", "[test HOST:PORT key=K [id=NAME] [bytes=N] [timeout=S] [idle=S] [sink] | listen PORT key=K [id=NAME] | stop PORT]",
              "TLS-PSK channel: test a peer (line + bulk), run an echo server, or show channels and heap", cmd_tls);
