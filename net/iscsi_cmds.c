/* The `iscsi` shell command: discover, login, list, logout, and a whole-LUN sha256 read through blk_dev. */
#include "net/iscsi_sessions.h"
#include "net/iscsi_tcp.h"
#include "net/net.h"
#include "net/tools.h"
#include "kernel/console.h"
#include "kernel/errno.h"
#include "kernel/kstring.h"
#include "kernel/printf.h"
#include "kernel/random.h"
#include "kernel/shell.h"
#include "kernel/time.h"

#define MS 1000000ull

/* Ctrl-C on the console while a command waits. */
static int interrupted(void)
{
    return console_getc() == 3;
}

/* PORTAL[:PORT] into cfg->host (a dotted quad, resolved when a name) and cfg->port. */
static int parse_portal(const char *arg, struct iscsi_config *cfg)
{
    char host[64];
    const char *c = strchr(arg, ':');
    size_t hl = c ? (size_t)(c - arg) : strlen(arg);
    uint64_t port = 3260;
    ip_addr_t a;
    if (!hl || hl >= sizeof(host))
        return -EINVAL;
    memcpy(host, arg, hl);
    host[hl] = 0;
    if (c && (kstrtou64(c + 1, &port, 0) < 0 || !port || port > 65535))
        return -EINVAL;
    if (net_resolve(host, &a) < 0) {
        kprintf("error: iscsi: cannot resolve '%s'\n", host);
        return -ENOENT;
    }
    kstrlcpy(cfg->host, ipaddr_ntoa(&a), sizeof(cfg->host));
    cfg->port = (uint16_t)port;
    return 0;
}

/* One optional login word: lun=N chap=U:S mutual=U:S digest=crc32c|none. */
static int parse_option(const char *a, struct iscsi_config *cfg)
{
    uint64_t n;
    if (!strncmp(a, "lun=", 4))
        return kstrtou64(a + 4, &n, 0) < 0 || n > 0xffff ? -EINVAL : (cfg->lun = (uint32_t)n, 0);
    if (!strncmp(a, "chap=", 5))
        return iscsi_parse_cred(a + 5, cfg->chap_user, sizeof(cfg->chap_user), cfg->chap_secret,
                                sizeof(cfg->chap_secret));
    if (!strncmp(a, "mutual=", 7))
        return iscsi_parse_cred(a + 7, cfg->mutual_user, sizeof(cfg->mutual_user), cfg->mutual_secret,
                                sizeof(cfg->mutual_secret));
    if (!strcmp(a, "digest=crc32c") || !strcmp(a, "digest=none")) {
        cfg->header_digest = cfg->data_digest = a[7] == 'c';
        return 0;
    }
    return -EINVAL;
}

struct disc_wait {
    int done, err, found;
};

static void disc_event(struct iscsi_session *s, enum iscsi_event ev, int err, void *arg)
{
    struct disc_wait *w = arg;
    if (ev == ISCSI_EV_DISCOVERED) {
        w->found = iscsi_discovered(s);
        for (int i = 0; i < w->found; i++)
            kprintf("  %s  %s\n", iscsi_discovered_name(s, i), iscsi_discovered_addr(s, i));
    } else if (ev == ISCSI_EV_FAILED || ev == ISCSI_EV_CLOSED) {
        w->done = 1;
        w->err = ev == ISCSI_EV_FAILED ? err : 0;
    }
}

static int iscsi_discover(const char *portal)
{
    static struct iscsi_config cfg;
    struct iscsi_tcp t;
    struct disc_wait w = { 0 };
    struct iscsi_session *s;
    uint64_t end = time_ns() + 60000 * MS;
    memset(&cfg, 0, sizeof(cfg));
    if (parse_portal(portal, &cfg) < 0)
        return shell_usage("iscsi");
    cfg.discovery = 1;
    kstrlcpy(cfg.initiator, iscsi_host_initiator(), sizeof(cfg.initiator));
    iscsi_tcp_init(&t);
    s = iscsi_session_new(&cfg, &t.tr, disc_event, &w);
    if (!s)
        return -ENOMEM;
    t.s = s;
    kprintf("targets at %s:%u:\n", cfg.host, cfg.port);
    iscsi_session_start(s, time_ns());
    while (!w.done && time_ns() < end && !interrupted()) {
        net_poll();
        iscsi_tcp_step(&t, time_ns());
    }
    if (!w.done)
        iscsi_session_close(s, time_ns());
    t.tr.close(t.tr.ctx);
    iscsi_session_free(s);
    if (w.found)
        return 0;
    kprintf("error: iscsi discovery at %s:%u: %s\n", cfg.host, cfg.port,
            !w.done ? "timed out" : w.err ? iscsi_err_text(w.err) : "no targets");
    return w.done && w.err ? w.err : -ENOENT;
}

static void print_size(uint64_t bytes)
{
    if (bytes >= (1ull << 30))
        kprintf("%llu bytes (%llu GiB)", (unsigned long long)bytes, (unsigned long long)(bytes >> 30));
    else
        kprintf("%llu bytes (%llu MiB)", (unsigned long long)bytes, (unsigned long long)(bytes >> 20));
}

static int iscsi_login(int argc, char **argv)
{
    static struct iscsi_config cfg;
    struct iscsi_slot_info in;
    uint64_t end = time_ns() + 90000 * MS;   /* three login attempts with backoff, then the probe */
    int idx, r;
    memset(&cfg, 0, sizeof(cfg));
    cfg.lun = 1;                              /* tgtd and most targets number data LUNs from 1 */
    if (argc < 4 || strlen(argv[3]) >= sizeof(cfg.target))
        return shell_usage("iscsi");
    for (int i = 4; i < argc; i++)
        if (parse_option(argv[i], &cfg) < 0)
            return shell_usage("iscsi");
    if (cfg.mutual_user[0] && !cfg.chap_user[0]) {
        kprintf("error: iscsi: mutual= needs chap=\n");
        return -EINVAL;
    }
    if ((r = parse_portal(argv[2], &cfg)) < 0)
        return r == -EINVAL ? shell_usage("iscsi") : r;
    kstrlcpy(cfg.target, argv[3], sizeof(cfg.target));
    idx = iscsi_slot_open(&cfg, 0);
    if (idx < 0)
        return idx;
    while (iscsi_slot_info(idx, &in) == 0 && in.state == ISL_LOGIN && time_ns() < end && !interrupted())
        iscsi_wait_turn();
    if (in.state != ISL_READY) {
        r = in.state == ISL_FAILED ? in.err : -ETIMEDOUT;
        kprintf("error: iscsi login to %s lun %u at %s:%u: %s\n", cfg.target, cfg.lun, cfg.host, cfg.port,
                iscsi_err_text(r));
        iscsi_slot_close(idx, 5000);
        return r;
    }
    const struct iscsi_params *p = iscsi_session_params(iscsi_slot_session(idx));
    kprintf("session %d: %s lun %u at %s:%u: ", idx, cfg.target, cfg.lun, cfg.host, cfg.port);
    print_size(in.sectors * BLK_SECTOR_SIZE);
    kprintf(", %u-byte blocks, %s %s, digests %s/%s\n", in.block_size, iscsi_slot_ident(idx, 0),
            iscsi_slot_ident(idx, 1), p->header_digest ? "crc32c" : "none", p->data_digest ? "crc32c" : "none");
    return 0;
}

static const char *state_name(const struct iscsi_slot_info *in)
{
    static const char *const names[] = { "free", "login", "ready", "failed", "closed" };
    return names[in->state];
}

/* A session the engine is logging in again: why the last attempt ended, and when the next one is. */
static void list_retry(const struct iscsi_slot_info *in)
{
    uint64_t now = time_ns(), left = in->retry_at > now ? in->retry_at - now : 0;
    if (!in->last_err)
        return;
    kprintf("     retrying: %s (%d), %d failed attempt%s", iscsi_err_text(in->last_err), in->last_err,
            in->attempts, in->attempts == 1 ? "" : "s");
    if (!strcmp(in->engine, "reconnect-wait"))
        kprintf(", next in %llu s", (unsigned long long)((left + 999 * MS) / (1000 * MS)));
    kprintf("\n");
}

static int iscsi_list(void)
{
    struct iscsi_slot_info in;
    int n = 0;
    for (int i = 0; i < ISCSI_MAX_SESSIONS; i++) {
        if (iscsi_slot_info(i, &in) < 0)
            continue;
        if (!n++)
            kprintf("initiator %s (nonces from %s)\n", in.cfg->initiator, random_source());
        if (n == 1)
            kprintf("  #  portal                 lun  size(MiB)  state   engine          inflight  reconnects  bytes-read  target\n");
        char portal[80];
        ksnprintf(portal, sizeof(portal), "%s:%u", in.cfg->host, in.cfg->port);
        kprintf("  %d  %-21s  %3u  %9llu  %-6s  %-14s  %8d  %10llu  %10llu  %s%s\n", i, portal, in.cfg->lun,
                (unsigned long long)(in.sectors * BLK_SECTOR_SIZE >> 20), state_name(&in), in.engine, in.inflight,
                (unsigned long long)in.reconnects, (unsigned long long)in.bytes_in, in.cfg->target,
                in.boot ? " (boot)" : "");
        if (in.state == ISL_FAILED)
            kprintf("     failed: %s (%d)\n", iscsi_err_text(in.err), in.err);
        else if (in.attempts || strcmp(in.engine, "ffp"))
            list_retry(&in);
        if (iscsi_slot_ident(i, 3)[0])
            kprintf("     id: %s\n", iscsi_slot_ident(i, 3));
        kprintf("     commands: %llu done, mean latency %llu us\n", (unsigned long long)in.completed,
                (unsigned long long)(in.completed ? in.latency_ns / in.completed / 1000 : 0));
    }
    if (!n)
        kprintf("no iSCSI sessions\n");
    return 0;
}

static int iscsi_logout(int argc, char **argv)
{
    uint64_t n;
    struct iscsi_slot_info in;
    if (argc == 3) {
        if (kstrtou64(argv[2], &n, 0) < 0 || n >= ISCSI_MAX_SESSIONS)
            return shell_usage("iscsi");
        if (iscsi_slot_close((int)n, 5000) < 0) {
            kprintf("error: iscsi: no session %llu\n", (unsigned long long)n);
            return -ENOENT;
        }
        kprintf("session %llu logged out\n", (unsigned long long)n);
        return 0;
    }
    for (int i = 0; i < ISCSI_MAX_SESSIONS; i++)
        if (iscsi_slot_info(i, &in) == 0 && iscsi_slot_close(i, 5000) == 0)
            kprintf("session %d logged out\n", i);
    return 0;
}

static int cmd_iscsi(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "discover"))
        return iscsi_discover(argv[2]);
    if (argc >= 4 && !strcmp(argv[1], "login"))
        return iscsi_login(argc, argv);
    if (argc == 2 && !strcmp(argv[1], "list"))
        return iscsi_list();
    if ((argc == 2 || argc == 3) && !strcmp(argv[1], "logout"))
        return iscsi_logout(argc, argv);
    if ((argc == 3 || argc == 4) && !strcmp(argv[1], "sha256"))
        return iscsi_sha256_cmd(argc, argv);
    return shell_usage("iscsi");
}
SHELL_COMMAND("iscsi",
              "discover PORTAL[:PORT] | login PORTAL[:PORT] TARGET [lun=N] [chap=USER:SECRET] "
              "[mutual=USER:SECRET] [digest=crc32c|none] | list | logout [N] | sha256 N [BYTES]",
              "iSCSI initiator: find targets, attach read-only LUNs, list them, hash a LUN", cmd_iscsi);
