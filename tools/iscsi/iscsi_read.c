/* iscsi-read: read a whole iSCSI LUN (or list targets, or time reads) with shoal's initiator engine over POSIX sockets. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "tools/iscsi/posix.h"
#include "tools/iscsi/perf.h"
#include "tests/unit/host_shim.h"
#include "kernel/sha256.h"
#include "kernel/time.h"

static const char usage[] =
    "usage: iscsi-read [--chap USER:SECRET] [--mutual USER:SECRET] [--digest crc32c|none] [--qd N]\n"
    "                  [--bs BYTES] [--timeout SECS] [--read16] [--quiet] [--no-sha]\n"
    "                  [--time SECS [--random] [--seed N]]\n"
    "                  iscsi://HOST[:PORT]/TARGET/LUN [OUTFILE|-]\n"
    "       iscsi-read --discover HOST[:PORT]\n";

struct slot {
    struct blk_req req;
    unsigned char *buf;
    int state;                 /* 0 free, 1 in flight, 2 done */
    int status;
};

static struct {
    int ready, failed, closed, err, discovered;
} ev;

static void on_event(struct iscsi_session *s, enum iscsi_event e, int err, void *arg)
{
    (void)arg;
    if (e == ISCSI_EV_LUN_READY) {
        ev.ready = err == 0;
        ev.failed |= err != 0;
        ev.err = err;
    } else if (e == ISCSI_EV_FAILED) {
        ev.failed = 1;
        ev.err = err;
    } else if (e == ISCSI_EV_CLOSED) {
        ev.closed = 1;
    } else if (e == ISCSI_EV_DISCOVERED) {
        ev.discovered = 1;
        for (int i = 0; i < iscsi_discovered(s); i++)
            printf("%s %s\n", iscsi_discovered_addr(s, i), iscsi_discovered_name(s, i));
        fflush(stdout);
    }
}

static int die(const char *fmt, const char *a)
{
    fprintf(stderr, "iscsi-read: error: ");
    fprintf(stderr, fmt, a);
    fprintf(stderr, "\n");
    return 1;
}

static int split_cred(const char *arg, char *user, size_t ul, char *secret, size_t sl)
{
    const char *c = strchr(arg, ':');
    if (!c || c == arg || (size_t)(c - arg) >= ul || strlen(c + 1) >= sl || !c[1])
        return -1;
    memcpy(user, arg, (size_t)(c - arg));
    user[c - arg] = 0;
    strcpy(secret, c + 1);
    return 0;
}

/* HOST[:PORT] into cfg. */
static int parse_hostport(const char *s, size_t n, struct iscsi_config *cfg)
{
    const char *c = memchr(s, ':', n);
    size_t hl = c ? (size_t)(c - s) : n;
    if (!hl || hl >= sizeof(cfg->host))
        return -1;
    memcpy(cfg->host, s, hl);
    cfg->host[hl] = 0;
    cfg->port = 3260;
    if (c) {
        char *end;
        long p = strtol(c + 1, &end, 10);
        if (end != s + n || p <= 0 || p > 65535)
            return -1;
        cfg->port = (uint16_t)p;
    }
    return 0;
}

static int parse_url(const char *url, struct iscsi_config *cfg)
{
    const char *h, *t, *l;
    char *end;
    if (strncmp(url, "iscsi://", 8))
        return -1;
    h = url + 8;
    t = strchr(h, '/');
    if (!t || parse_hostport(h, (size_t)(t - h), cfg) < 0)
        return -1;
    l = strrchr(t + 1, '/');
    if (!l || l == t + 1 || (size_t)(l - t - 1) >= sizeof(cfg->target))
        return -1;
    memcpy(cfg->target, t + 1, (size_t)(l - t - 1));
    cfg->target[l - t - 1] = 0;
    cfg->lun = (uint32_t)strtoul(l + 1, &end, 10);
    return (*end || !l[1]) ? -1 : 0;
}

static int run_discovery(struct iscsi_config *cfg)
{
    struct posix_conn pc;
    struct iscsi_session *s;
    posix_conn_init(&pc);
    cfg->discovery = 1;
    s = iscsi_session_new(cfg, &pc.tr, on_event, NULL);
    if (!s)
        return die("%s", "cannot create session");
    pc.s = s;
    iscsi_session_start(s, time_ns());
    while (!ev.closed && !ev.failed)
        posix_conn_step(&pc, 10);
    if (!ev.discovered)
        return die("discovery on %s failed (see messages above)", cfg->host);
    iscsi_session_free(s);
    return 0;
}

static void slot_done(struct blk_req *req, int status)
{
    struct slot *sl = req->priv;
    sl->status = status;
    sl->state = 2;
}

static int read_lun(struct posix_conn *pc, struct blk_dev *dev, int out, int qd, uint32_t bs, int nosha)
{
    uint64_t total = dev->sectors * 512, nchunks = (total + bs - 1) / bs, next_sub = 0, next_wr = 0;
    uint64_t t0 = time_ns();
    struct slot *slots = calloc((size_t)qd, sizeof(*slots));
    struct sha256_ctx sha;
    uint8_t dig[32];
    sha256_init(&sha);
    for (int i = 0; i < qd; i++)
        slots[i].buf = malloc(bs);
    while (next_wr < nchunks) {
        while (next_sub < nchunks && next_sub - next_wr < (uint64_t)qd) {
            struct slot *sl = &slots[next_sub % (uint64_t)qd];
            uint64_t off = next_sub * bs, len = total - off < bs ? total - off : bs;
            memset(&sl->req, 0, sizeof(sl->req));
            sl->req.op = BLK_READ;
            sl->req.lba = off / 512;
            sl->req.nr = (uint32_t)(len / 512);
            sl->req.iov[0].base = sl->buf;
            sl->req.iov[0].len = len;
            sl->req.niov = 1;
            sl->req.done = slot_done;
            sl->req.priv = sl;
            sl->state = 1;
            int r = blk_submit(dev, &sl->req);
            if (r < 0) {
                fprintf(stderr, "iscsi-read: error: submit failed (%s)\n", strerror(-r));
                return 1;
            }
            next_sub++;
        }
        posix_conn_step(pc, 10);
        while (next_wr < nchunks && slots[next_wr % (uint64_t)qd].state == 2) {
            struct slot *sl = &slots[next_wr % (uint64_t)qd];
            if (sl->status < 0) {
                fprintf(stderr, "iscsi-read: error: read at byte %llu failed: %s\n",
                        (unsigned long long)(next_wr * bs), strerror(-sl->status));
                return 1;
            }
            if (out >= 0 && write(out, sl->buf, sl->req.nr * 512ull) != (ssize_t)(sl->req.nr * 512ull)) {
                fprintf(stderr, "iscsi-read: error: write: %s\n", strerror(errno));
                return 1;
            }
            if (!nosha)
                sha256_update(&sha, sl->buf, sl->req.nr * 512ull);
            sl->state = 0;
            next_wr++;
        }
    }
    sha256_final(&sha, dig);
    double secs = (double)(time_ns() - t0) / 1e9;
    fprintf(stderr, "iscsi-read: read %llu bytes in %.3f s (%.1f MB/s)\nsha256 ",
            (unsigned long long)total, secs, secs > 0 ? (double)total / secs / 1e6 : 0.0);
    for (int i = 0; i < 32; i++)
        fprintf(stderr, "%02x", dig[i]);
    fprintf(stderr, "\n");
    for (int i = 0; i < qd; i++)
        free(slots[i].buf);
    free(slots);
    return 0;
}

static void print_ident(const struct iscsi_lun *l)
{
    fprintf(stderr, "iscsi-read: LUN: vendor '%s' product '%s' serial '%s' id '%s'\n", iscsi_lun_ident(l, 0),
            iscsi_lun_ident(l, 1), iscsi_lun_ident(l, 2), iscsi_lun_ident(l, 3));
}

int main(int argc, char **argv)
{
    static struct iscsi_config cfg;
    const char *url = NULL, *outpath = NULL, *disc = NULL;
    int qd = 32, quiet = 0, nosha = 0, read16 = 0, out = -1, rc;
    long bs = 65536;
    struct perf_opts perf = { .seed = 1 };
    struct posix_conn pc;
    struct iscsi_lun *lun;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--chap") && v && !split_cred(v, cfg.chap_user, sizeof(cfg.chap_user), cfg.chap_secret, sizeof(cfg.chap_secret))) i++;
        else if (!strcmp(a, "--mutual") && v && !split_cred(v, cfg.mutual_user, sizeof(cfg.mutual_user), cfg.mutual_secret, sizeof(cfg.mutual_secret))) i++;
        else if (!strcmp(a, "--digest") && v && (!strcmp(v, "crc32c") || !strcmp(v, "none"))) { cfg.header_digest = cfg.data_digest = !strcmp(v, "crc32c"); i++; }
        else if (!strcmp(a, "--qd") && v) { qd = atoi(v); i++; }
        else if (!strcmp(a, "--bs") && v) { bs = atol(v); i++; }
        else if (!strcmp(a, "--timeout") && v) { cfg.io_timeout_ns = (uint64_t)(atof(v) * 1e9); cfg.login_timeout_ns = cfg.io_timeout_ns; i++; }
        else if (!strcmp(a, "--discover") && v) { disc = v; i++; }
        else if (!strcmp(a, "--time") && v) { perf.secs = atof(v); i++; }
        else if (!strcmp(a, "--seed") && v) { perf.seed = strtoull(v, NULL, 0); i++; }
        else if (!strcmp(a, "--random")) perf.random = 1;
        else if (!strcmp(a, "--read16")) read16 = 1;
        else if (!strcmp(a, "--quiet")) quiet = 1;
        else if (!strcmp(a, "--no-sha")) nosha = 1;
        else if (a[0] == '-' && a[1] == '-') { fputs(usage, stderr); return die("bad option %s", a); }
        else if (!url) url = a;
        else if (!outpath) outpath = a;
        else { fputs(usage, stderr); return 2; }
    }
    host_console_echo(!quiet);
    if (cfg.mutual_user[0] && !cfg.chap_user[0])
        return die("%s", "--mutual needs --chap");
    if (disc) {
        if (parse_hostport(disc, strlen(disc), &cfg) < 0)
            return die("bad address %s", disc);
        return run_discovery(&cfg);
    }
    if (!url || parse_url(url, &cfg) < 0) {
        fputs(usage, stderr);
        return die("bad or missing URL %s", url ? url : "");
    }
    if (qd < 1 || qd > ISCSI_MAX_TASKS - 1 || bs < 512 || bs % 512 || bs > 16 * 1024 * 1024)
        return die("%s", "--qd must be 1..127 and --bs a multiple of 512 up to 16 MiB");
    if (outpath && strcmp(outpath, "-")) {
        out = open(outpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (out < 0)
            return die("cannot open %s", outpath);
    } else if (outpath) {
        out = 1;
    }
    posix_conn_init(&pc);
    lun = iscsi_lun_new(&cfg, &pc.tr, on_event, NULL);
    if (!lun)
        return die("%s", "cannot create session");
    iscsi_lun_force_read16(lun, read16);
    pc.s = iscsi_lun_session(lun);
    iscsi_session_start(pc.s, time_ns());
    while (!ev.ready && !ev.failed)
        posix_conn_step(&pc, 10);
    if (!ev.ready) {
        fprintf(stderr, "iscsi-read: error: cannot attach %s: %s\n", url,
                ev.err == -EPERM ? "authentication failed" : ev.err == -ETIMEDOUT ? "timed out" :
                ev.err == -ENOENT ? "target not found" : strerror(-ev.err));
        return 1;
    }
    if (!quiet)
        print_ident(lun);
    if (perf.secs > 0) {
        perf.qd = qd;
        perf.bs = (uint32_t)bs;
        rc = perf_run(&pc, iscsi_lun_dev(lun), &perf);
    } else {
        rc = read_lun(&pc, iscsi_lun_dev(lun), out, qd, (uint32_t)bs, nosha);
    }
    iscsi_session_close(pc.s, time_ns());
    for (uint64_t t = time_ns(); !ev.closed && time_ns() - t < 5000000000ull;)
        posix_conn_step(&pc, 10);
    if (!quiet) {
        const struct iscsi_stats *st = iscsi_session_stats(pc.s);
        fprintf(stderr, "iscsi-read: %llu commands, %llu logins, %llu reconnects, %llu retries, %llu NOPs\n",
                (unsigned long long)st->cmds, (unsigned long long)st->logins, (unsigned long long)st->reconnects,
                (unsigned long long)st->retries, (unsigned long long)st->nops_sent);
    }
    if (out > 1 && close(out) < 0)
        return die("%s", "close failed");
    iscsi_lun_free(lun);
    return rc;
}
