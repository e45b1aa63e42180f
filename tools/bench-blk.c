/* bench-blk: block-layer benchmark rows (clone creation, 4 KiB random writes vs qemu-io, sequential reads, shared cache). */
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "blk/blk.h"
#include "blk/cache.h"
#include "kernel/errno.h"
#include "kernel/time.h"
#include "tests/unit/host_shim.h"
#include "tools/iscsi/posix.h"
#ifdef BENCH_HAVE_COW
#include "blk/cow.h"
#endif

static const char usage[] =
    "usage: bench-blk create\n"
    "       bench-blk randwrite BASE.raw WORKDIR WRITES SEED\n"
    "       bench-blk seqread BASE.raw\n"
    "       bench-blk clones BASE.raw [iscsi://HOST:PORT/TARGET/LUN] CACHE_MIB\n"
    "Prints measurements and ratios; never asserts times.\n";

/* ---- bases: a sized device returning zeros, and a host file read with pread (both complete at once) ---- */

struct filedev {
    struct blk_dev dev;
    int fd;                    /* -1: a sized device of zeros */
    uint64_t reads, bytes;
};

static int file_submit(struct blk_dev *d, struct blk_req *r)
{
    struct filedev *f = d->priv;
    uint64_t off = r->lba * 512;
    if (r->op == BLK_FLUSH) {
        r->done(r, 0);
        return 0;
    }
    if (r->op != BLK_READ)
        return -EROFS;
    for (int i = 0; i < r->niov; i++) {
        if (f->fd < 0)
            memset(r->iov[i].base, 0, r->iov[i].len);
        else if (pread(f->fd, r->iov[i].base, r->iov[i].len, (off_t)off) != (ssize_t)r->iov[i].len)
            return -EIO;
        off += r->iov[i].len;
    }
    f->reads++;
    f->bytes += (uint64_t)r->nr * 512;
    r->done(r, 0);
    return 0;
}

static void file_close(struct blk_dev *d) { (void)d; }
static const struct blk_ops file_ops = { .submit = file_submit, .close = file_close };

static void filedev_init(struct filedev *f, int fd, uint64_t bytes)
{
    memset(f, 0, sizeof(*f));
    f->fd = fd;
    f->dev = (struct blk_dev){ .ops = &file_ops, .sectors = bytes / 512, .block_size = 512, .read_only = 1, .priv = f };
    snprintf(f->dev.name, sizeof(f->dev.name), fd < 0 ? "zeros" : "file");
}

static int filedev_open(struct filedev *f, const char *path)
{
    int fd = open(path, O_RDONLY);
    off_t n = fd < 0 ? -1 : lseek(fd, 0, SEEK_END);
    if (n <= 0) {
        fprintf(stderr, "bench-blk: cannot open %s\n", path);
        return -1;
    }
    filedev_init(f, fd, (uint64_t)n);
    return 0;
}

/* ---- synchronous helpers over an asynchronous device ---- */

struct waiter {
    struct blk_req req;
    int done, status;
};

static void waiter_done(struct blk_req *r, int st)
{
    struct waiter *w = r->priv;
    w->done = 1;
    w->status = st;
}

static struct posix_conn *poll_conn;   /* the iSCSI connection to drive while waiting, if any */

/* One request of len bytes at off into buf, waited for. Returns its status. */
static int io_sync(struct blk_dev *d, enum blk_op op, uint64_t off, void *buf, uint64_t len)
{
    struct waiter w = { .req = { .op = op, .lba = off / 512, .nr = (uint32_t)(len / 512), .niov = 1,
                                 .iov = { { buf, len } }, .done = waiter_done } };
    int rc;
    w.req.priv = &w;
    while ((rc = blk_submit(d, &w.req)) == -EAGAIN && poll_conn)
        posix_conn_step(poll_conn, 1);
    if (rc < 0)
        return rc;
    while (!w.done && poll_conn)
        posix_conn_step(poll_conn, 10);
    return w.done ? w.status : -ETIMEDOUT;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static uint64_t rng = 1;
static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* ---- row 1: clone creation cost against the base's size ---- */

#ifdef BENCH_HAVE_COW
static void create_one(uint64_t bytes, uint64_t *median_ns, uint64_t *alloc)
{
    enum { ITERS = 5001 };
    static uint64_t t[ITERS];
    struct filedev base;
    int err;
    filedev_init(&base, -1, bytes);
    for (int i = 0; i < ITERS; i++) {
        uint64_t t0 = time_ns();
        size_t before = i == 0 ? mallinfo2().uordblks : 0;
        struct blk_dev *d = cow_create(&base.dev, COW_QUOTA_NONE, "clone", &err);
        if (i == 0)
            *alloc = d ? mallinfo2().uordblks - before : 0;
        if (d)
            d->ops->close(d);
        t[i] = time_ns() - t0;
    }
    qsort(t, ITERS, sizeof(t[0]), cmp_u64);
    *median_ns = t[ITERS / 2];
}

static int row_create(void)
{
    uint64_t ns_s, ns_l, al_s, al_l;
    create_one(64ull << 20, &ns_s, &al_s);
    create_one(64ull << 30, &ns_l, &al_l);
    printf("create: 64 MiB base: median %llu ns per cow_create+close, %llu bytes allocated\n",
           (unsigned long long)ns_s, (unsigned long long)al_s);
    printf("create: 64 GiB base: median %llu ns per cow_create+close, %llu bytes allocated\n",
           (unsigned long long)ns_l, (unsigned long long)al_l);
    printf("create: ratio 64 GiB / 64 MiB: time %.2fx, bytes %.2fx (goal: equal within noise, under 1 ms)\n",
           ns_s ? (double)ns_l / (double)ns_s : 0.0, al_s ? (double)al_l / (double)al_s : 0.0);
    return 0;
}

/* ---- row 2: 4 KiB random writes to a fresh clone vs qemu-io on a qcow2 overlay ---- */

static double qemu_io_secs(const char *base, const char *dir, const uint64_t *offs, int n)
{
    char cmd[1024];
    FILE *p;
    uint64_t t0;
    snprintf(cmd, sizeof(cmd), "rm -f %s/ov.qcow2 && qemu-img create -q -f qcow2 -b %s -F raw %s/ov.qcow2",
             dir, base, dir);
    if (system(cmd) != 0)
        return -1;
    snprintf(cmd, sizeof(cmd), "qemu-io -f qcow2 %s/ov.qcow2 >/dev/null", dir);
    t0 = time_ns();
    if (!(p = popen(cmd, "w")))
        return -1;
    for (int i = 0; i < n; i++)
        fprintf(p, "write %llu 4k\n", (unsigned long long)offs[i]);
    if (pclose(p) != 0)
        return -1;
    return (double)(time_ns() - t0) / 1e9;
}

static int row_randwrite(const char *path, const char *dir, int n, uint64_t seed)
{
    struct filedev base;
    static uint8_t block[4096];
    uint64_t *offs = calloc((size_t)n, sizeof(*offs)), t0;
    double shoal_s, q_s, q0 = 1e9;
    int err;
    if (filedev_open(&base, path) < 0 || !offs)
        return 1;
    rng = seed ? seed : 1;
    for (int i = 0; i < n; i++)
        offs[i] = rnd() % (base.dev.sectors / 8) * 4096;
    struct blk_dev *d = cow_create(&base.dev, COW_QUOTA_NONE, "clone", &err);
    if (!d)
        return 1;
    t0 = time_ns();
    for (int i = 0; i < n; i++) {
        memset(block, i, 64);
        if (io_sync(d, BLK_WRITE, offs[i], block, 4096) != 0) {
            fprintf(stderr, "bench-blk: clone write failed\n");
            return 1;
        }
    }
    shoal_s = (double)(time_ns() - t0) / 1e9;
    d->ops->close(d);
    for (int i = 0; i < 3; i++) {                 /* qemu-io's startup and exit, best of three */
        double s = qemu_io_secs(path, dir, offs, 0);
        if (s >= 0 && s < q0)
            q0 = s;
    }
    if ((q_s = qemu_io_secs(path, dir, offs, n)) < 0) {
        fprintf(stderr, "bench-blk: qemu-io failed\n");
        return 1;
    }
    q_s = q_s - q0 > 1e-6 ? q_s - q0 : 1e-6;
    printf("randwrite: %d x 4 KiB random writes over a %llu MiB raw base\n", n,
           (unsigned long long)(base.dev.sectors >> 11));
    printf("randwrite: shoal clone %.0f IOPS; qemu-io qcow2 overlay %.0f IOPS (%.3f s minus %.3f s startup)\n",
           n / shoal_s, n / q_s, q_s + q0, q0);
    printf("randwrite: ratio shoal / qemu-io %.1fx (goal >= 3x)\n", (n / shoal_s) / (n / q_s));
    free(offs);
    close(base.fd);
    return 0;
}
#endif

/* ---- row 3: sequential read of an untouched clone vs the base itself ---- */

/* Read all of d in bs pieces; *sum gets a checksum of the bytes (both sides must agree). */
static double seq_read_secs(struct blk_dev *d, uint8_t *buf, uint64_t bs, uint64_t *sum)
{
    uint64_t total = d->sectors * 512, t0 = time_ns(), s = 0;
    for (uint64_t off = 0; off < total; off += bs) {
        uint64_t n = total - off < bs ? total - off : bs, v;
        if (io_sync(d, BLK_READ, off, buf, n) != 0)
            return -1;
        for (uint64_t i = 0; i + 8 <= n; i += 512) {   /* one word per sector: cheap, position-sensitive */
            memcpy(&v, buf + i, 8);
            s = s * 31 + v;
        }
    }
    *sum = s;
    return (double)(time_ns() - t0) / 1e9;
}

static int row_seqread(const char *path)
{
    struct filedev base;
    enum { BS = 128 * 1024 };
    static uint8_t buf[BS];
    double tb = 1e9, tc = 1e9, mib;
    uint64_t want, got = 0;
    int same = 1;
    if (filedev_open(&base, path) < 0)
        return 1;
    mib = (double)(base.dev.sectors * 512) / (1 << 20);
    seq_read_secs(&base.dev, buf, BS, &want);     /* page cache warm for both */
    for (int i = 0; i < 3; i++) {
        double s = seq_read_secs(&base.dev, buf, BS, &got);
        if (s >= 0 && s < tb)
            tb = s;
#ifdef BENCH_HAVE_COW
        int err;
        struct blk_dev *d = cow_create(&base.dev, COW_QUOTA_NONE, "clone", &err);
        s = d ? seq_read_secs(d, buf, BS, &got) : -1;
        same &= got == want;
        if (d)
            d->ops->close(d);
#else
        int err;
        struct blk_dev *d = cache_create(&base.dev, 64ull << 20, "cache", &err);
        s = d ? seq_read_secs(d, buf, BS, &got) : -1;
        same &= got == want;
        if (d)
            d->ops->close(d);
#endif
        if (s >= 0 && s < tc)
            tc = s;
    }
    printf("seqread: %.0f MiB in 128 KiB reads: base %.0f MiB/s, %s %.0f MiB/s\n", mib, mib / tb,
#ifdef BENCH_HAVE_COW
           "untouched clone",
#else
           "cold cache (no cow yet)",
#endif
           mib / tc);
    printf("seqread: ratio %.2fx of the base (goal >= 0.9x); data %s\n", tb / tc, same ? "identical" : "DIFFERS");
    close(base.fd);
    return 0;
}

/* ---- row 4: bytes fetched from the target by 1, 4, 8 clones reading one image through one cache ---- */

#define CLONES_MAX 8
#define CLONE_QD   4
#define CLONE_BS   (64 * 1024)

struct reader {
    struct blk_dev *dev;
    uint64_t next, total;
    int inflight, failed;
    struct waiter w[CLONE_QD];
    uint8_t *buf[CLONE_QD];
    uint64_t at[CLONE_QD];
};

static const uint8_t *golden;      /* the image's bytes, to check every read */
static uint64_t bad_reads;

static void reader_done(struct blk_req *r, int st)
{
    struct waiter *w = r->priv;
    w->done = 1;
    w->status = st;
}

/* Top up r's reads in flight; collect (and check) finished ones. */
static void reader_step(struct reader *r)
{
    for (int i = 0; i < CLONE_QD; i++) {
        struct waiter *w = &r->w[i];
        if (w->req.done && w->done) {
            r->inflight--;
            if (w->status != 0 || memcmp(r->buf[i], golden + r->at[i], (size_t)w->req.nr * 512))
                bad_reads++;
            w->req.done = NULL;
        }
        if (w->req.done || r->next >= r->total || rnd() % 3 == 0)
            continue;
        uint64_t n = r->total - r->next < CLONE_BS ? r->total - r->next : CLONE_BS;
        *w = (struct waiter){ .req = { .op = BLK_READ, .lba = r->next / 512, .nr = (uint32_t)(n / 512), .niov = 1,
                                       .iov = { { r->buf[i], n } }, .done = reader_done } };
        w->req.priv = w;
        if (blk_submit(r->dev, &w->req) != 0) {
            w->req.done = NULL;
            continue;
        }
        r->at[i] = r->next;
        r->next += n;
        r->inflight++;
    }
}

static int clones_run(struct blk_dev *base, int n, uint64_t cache_bytes, struct cache_stats *st)
{
    struct reader rd[CLONES_MAX];
    int err, busy = 1;
    struct blk_dev *c = cache_create(base, cache_bytes, "golden", &err);
    if (!c)
        return -1;
    memset(rd, 0, sizeof(rd));
    for (int k = 0; k < n; k++) {
#ifdef BENCH_HAVE_COW
        rd[k].dev = cow_create(c, COW_QUOTA_NONE, "clone", &err);
        if (!rd[k].dev)
            return -1;
#else
        rd[k].dev = c;
#endif
        rd[k].total = c->sectors * 512;
        for (int i = 0; i < CLONE_QD; i++)
            rd[k].buf[i] = malloc(CLONE_BS);
    }
    while (busy) {
        busy = 0;
        for (int k = 0; k < n; k++) {          /* interleaved: clones take turns in a shuffled order */
            struct reader *r = &rd[(k + (int)(rnd() % (uint64_t)n)) % n];
            reader_step(r);
        }
        for (int k = 0; k < n; k++) {
            reader_step(&rd[k]);
            busy |= rd[k].inflight > 0 || rd[k].next < rd[k].total;
        }
        if (poll_conn)
            posix_conn_step(poll_conn, 0);
    }
    cache_get_stats(c, st);
    for (int k = 0; k < n; k++) {
#ifdef BENCH_HAVE_COW
        rd[k].dev->ops->close(rd[k].dev);
#endif
        for (int i = 0; i < CLONE_QD; i++)
            free(rd[k].buf[i]);
    }
    c->ops->close(c);
    return 0;
}

static struct { int ready, failed, closed, err; } ev;

static void on_event(struct iscsi_session *s, enum iscsi_event e, int err, void *arg)
{
    (void)s;
    (void)arg;
    if (e == ISCSI_EV_LUN_READY) {
        ev.ready = err == 0;
        ev.failed |= err != 0;
    } else if (e == ISCSI_EV_FAILED) {
        ev.failed = 1;
    } else if (e == ISCSI_EV_CLOSED) {
        ev.closed = 1;
    }
    ev.err = err;
}

/* iscsi://HOST:PORT/TARGET/LUN into cfg. */
static int parse_url(const char *url, struct iscsi_config *cfg)
{
    char host[64];
    unsigned port, lun;
    const char *t, *l;
    if (sscanf(url, "iscsi://%63[^:/]:%u/", host, &port) != 2 || !(t = strchr(url + 8, '/')) ||
        !(l = strrchr(url, '/')) || l <= t || (size_t)(l - t - 1) >= sizeof(cfg->target) ||
        sscanf(l + 1, "%u", &lun) != 1)
        return -1;
    snprintf(cfg->host, sizeof(cfg->host), "%s", host);
    cfg->port = (uint16_t)port;
    memcpy(cfg->target, t + 1, (size_t)(l - t - 1));
    cfg->target[l - t - 1] = 0;
    cfg->lun = lun;
    return 0;
}

/* Log in to url's LUN over pc and wait until it is ready. Returns the LUN or NULL after a message. */
static struct iscsi_lun *lun_attach(const char *url, struct posix_conn *pc)
{
    static struct iscsi_config cfg;
    struct iscsi_lun *lun;
    if (parse_url(url, &cfg) < 0) {
        fprintf(stderr, "bench-blk: bad URL %s\n", url);
        return NULL;
    }
    posix_conn_init(pc);
    if (!(lun = iscsi_lun_new(&cfg, &pc->tr, on_event, NULL)))
        return NULL;
    pc->s = iscsi_lun_session(lun);
    iscsi_session_start(pc->s, time_ns());
    for (uint64_t t0 = time_ns(); !ev.ready && !ev.failed && time_ns() - t0 < 20000000000ull;)
        posix_conn_step(pc, 10);
    if (!ev.ready) {
        fprintf(stderr, "bench-blk: cannot attach %s (%d)\n", url, ev.err);
        return NULL;
    }
    return lun;
}

static int row_clones(const char *path, const char *url, uint64_t cache_mib)
{
    static struct posix_conn pc;
    struct iscsi_lun *lun = NULL;
    struct filedev file;
    struct blk_dev *base;
    uint64_t one = 0;
    const int counts[3] = { 1, 4, 8 };
    if (filedev_open(&file, path) < 0)
        return 1;
    golden = malloc((size_t)(file.dev.sectors * 512));
    if (!golden || pread(file.fd, (void *)golden, file.dev.sectors * 512, 0) != (ssize_t)(file.dev.sectors * 512))
        return 1;
    base = &file.dev;
    if (url) {
        if (!(lun = lun_attach(url, &pc)))
            return 1;
        poll_conn = &pc;
        base = iscsi_lun_dev(lun);
    }
    printf("clones: %llu MiB image from %s, %llu MiB cache, %s readers, %d x 64 KiB reads in flight each\n",
           (unsigned long long)(base->sectors >> 11), url ? "an iSCSI LUN (tgtd, loopback)" : "a host file",
           (unsigned long long)cache_mib,
#ifdef BENCH_HAVE_COW
           "cow clones as",
#else
           "cache users (no cow yet) as",
#endif
           CLONE_QD);
    for (int i = 0; i < 3; i++) {
        struct cache_stats st;
        uint64_t in0 = url ? iscsi_session_stats(pc.s)->bytes_in : 0, t0 = time_ns();
        bad_reads = 0;
        if (clones_run(base, counts[i], cache_mib << 20, &st) < 0)
            return 1;
        uint64_t target = url ? iscsi_session_stats(pc.s)->bytes_in - in0 : st.bytes_fetched;
        if (i == 0)
            one = target;
        printf("clones: %d: %llu bytes fetched (target sent %llu), %llu base reads, %llu hits, %llu joins, "
               "%llu read-ahead lines (%llu used), %.2f s, %llu bad reads; ratio %.3fx of one clone (goal <= 1.05x)\n",
               counts[i], (unsigned long long)st.bytes_fetched, (unsigned long long)target,
               (unsigned long long)st.base_reads, (unsigned long long)st.hits, (unsigned long long)st.joins,
               (unsigned long long)st.readahead, (unsigned long long)st.readahead_used,
               (double)(time_ns() - t0) / 1e9, (unsigned long long)bad_reads,
               one ? (double)target / (double)one : 0.0);
    }
    if (lun) {
        iscsi_session_close(pc.s, time_ns());
        for (uint64_t t = time_ns(); !ev.closed && time_ns() - t < 5000000000ull;)
            posix_conn_step(&pc, 10);
        iscsi_lun_free(lun);
    }
    free((void *)golden);
    close(file.fd);
    return 0;
}

int main(int argc, char **argv)
{
    host_console_echo(0);
    if (argc >= 2 && !strcmp(argv[1], "seqread") && argc == 3)
        return row_seqread(argv[2]);
    if (argc >= 2 && !strcmp(argv[1], "clones") && (argc == 4 || argc == 5))
        return row_clones(argv[2], argc == 5 ? argv[3] : NULL, strtoull(argv[argc - 1], NULL, 0));
#ifdef BENCH_HAVE_COW
    if (argc == 2 && !strcmp(argv[1], "create"))
        return row_create();
    if (argc == 6 && !strcmp(argv[1], "randwrite"))
        return row_randwrite(argv[2], argv[3], atoi(argv[4]), strtoull(argv[5], NULL, 0));
#else
    if (argc >= 2 && (!strcmp(argv[1], "create") || !strcmp(argv[1], "randwrite"))) {
        printf("%s: skipped (blk/cow.c not built in)\n", argv[1]);
        return 0;
    }
#endif
    fputs(usage, stderr);
    return 2;
}
