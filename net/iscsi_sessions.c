/* The iSCSI session table: LUN sessions over lwIP, their shell poller, and the iscsi= boot login. */
#include "net/iscsi_sessions.h"
#include "net/iscsi_tcp.h"
#include "net/net.h"
#include "net/tools.h"
#include "kernel/errno.h"
#include "kernel/init.h"
#include "kernel/kstring.h"
#include "kernel/log.h"
#include "kernel/param.h"
#include "kernel/printf.h"
#include "kernel/random.h"
#include "kernel/shell.h"
#include "kernel/time.h"

struct iscsi_slot {
    enum iscsi_slot_state state;
    int err;
    int boot;
    int close_pending;             /* the LUN probe failed inside a callback: close from the poller */
    struct iscsi_config cfg;
    struct iscsi_tcp tcp;
    struct iscsi_lun *lun;
};

static struct iscsi_slot slots[ISCSI_MAX_SESSIONS];
static struct iscsi_config boot_cfg;
static int boot_pending, polling;
static char host_iqn[224];              /* iscsi_initiator=, else derived from the host NIC's MAC */

/* An iSCSI qualified name (RFC 3720 3.2.6.3.1, RFC 3722): "iqn." then lower-case letters, digits, '-', '.',
 * ':' only (the stringprep'd form), so that it prints and compares plainly. */
static int valid_iqn(const char *v)
{
    size_t n = strlen(v);
    if (n < 5 || n >= sizeof(host_iqn) || strncmp(v, "iqn.", 4))
        return 0;
    for (; *v; v++)
        if (!((*v >= 'a' && *v <= 'z') || (*v >= '0' && *v <= '9') || *v == '-' || *v == '.' || *v == ':'))
            return 0;
    return 1;
}

static int param_iscsi_initiator(const char *v)
{
    if (!valid_iqn(v))
        return -EINVAL;
    kstrlcpy(host_iqn, v, sizeof(host_iqn));
    return 0;
}
BOOT_PARAM("iscsi_initiator", "IQN: this host's iSCSI initiator name (default iqn.2026-01.org.shoal:host-MAC)",
           param_iscsi_initiator);

const char *iscsi_host_initiator(void)
{
    uint8_t mac[6];
    uint32_t gw;
    int prefix;
    if (host_iqn[0])
        return host_iqn;
    if (net_host_addr(mac, &gw, &prefix) < 0)
        return "";                      /* no NIC yet: the engine's default */
    /* One name per machine, as open-iscsi makes one at install time: the host NIC's MAC is unique. */
    ksnprintf(host_iqn, sizeof(host_iqn), "iqn.2026-01.org.shoal:host-%02x%02x%02x%02x%02x%02x", mac[0], mac[1],
              mac[2], mac[3], mac[4], mac[5]);
    random_mix(mac, sizeof(mac));       /* hosts without RDRAND still draw different ISIDs */
    return host_iqn;
}

const char *iscsi_err_text(int err)
{
    switch (err) {
    case -EPERM: return "authentication failed";
    case -ENOENT: return "target not found";
    case -ETIMEDOUT: return "timed out";
    case -ECONNREFUSED: return "connection refused";
    case -ECONNRESET: return "connection reset";
    case -ECANCELED: return "cancelled";
    case -EPROTO: return "protocol error";
    default: return "failed";
    }
}

static void slot_event(struct iscsi_session *s, enum iscsi_event ev, int err, void *arg)
{
    struct iscsi_slot *sl = arg;
    int idx = (int)(sl - slots);
    (void)s;
    if (ev == ISCSI_EV_LUN_READY && err == 0 && sl->state == ISL_LOGIN) {
        sl->state = ISL_READY;
        if (sl->boot)
            log_info("iscsi: session %d ready: %s lun %u at %s:%u, %llu bytes", idx, sl->cfg.target,
                     sl->cfg.lun, sl->cfg.host, sl->cfg.port,
                     (unsigned long long)(iscsi_lun_dev(sl->lun)->sectors * BLK_SECTOR_SIZE));
    } else if ((ev == ISCSI_EV_LUN_READY && err) || ev == ISCSI_EV_FAILED) {
        if (sl->state == ISL_LOGIN || sl->state == ISL_READY) {
            sl->state = ISL_FAILED;
            sl->err = err ? err : -EIO;
            sl->close_pending = ev == ISCSI_EV_LUN_READY;   /* still logged in: log out */
            if (sl->boot)
                log_err("iscsi: session %d (%s at %s:%u) %s (%d)", idx, sl->cfg.target, sl->cfg.host,
                        sl->cfg.port, iscsi_err_text(sl->err), sl->err);
        }
    } else if (ev == ISCSI_EV_CLOSED && sl->state != ISL_FAILED) {
        sl->state = ISL_CLOSED;
    }
}

int iscsi_slot_open(const struct iscsi_config *cfg, int boot)
{
    struct iscsi_slot *sl = NULL;
    for (int i = 0; i < ISCSI_MAX_SESSIONS && !sl; i++)
        if (slots[i].state == ISL_FREE)
            sl = &slots[i];
    if (!sl)
        return -ENOSPC;
    memset(sl, 0, sizeof(*sl));
    sl->cfg = *cfg;
    if (!sl->cfg.initiator[0])
        kstrlcpy(sl->cfg.initiator, iscsi_host_initiator(), sizeof(sl->cfg.initiator));
    sl->boot = boot;
    iscsi_tcp_init(&sl->tcp);
    sl->lun = iscsi_lun_new(&sl->cfg, &sl->tcp.tr, slot_event, sl);
    if (!sl->lun)
        return cfg->host[0] && cfg->target[0] ? -ENOMEM : -EINVAL;
    sl->tcp.s = iscsi_lun_session(sl->lun);
    sl->state = ISL_LOGIN;
    iscsi_session_start(sl->tcp.s, time_ns());   /* a failure shows up as ISCSI_EV_FAILED */
    return (int)(sl - slots);
}

static struct iscsi_slot *slot_get(int idx)
{
    if (idx < 0 || idx >= ISCSI_MAX_SESSIONS || slots[idx].state == ISL_FREE)
        return NULL;
    return &slots[idx];
}

/* The engine has stopped for good: logged out, closed, or given up. */
static int engine_stopped(const struct iscsi_session *s)
{
    const char *st = iscsi_session_state_name(s);
    return !strcmp(st, "closed") || !strcmp(st, "failed");
}

int iscsi_slot_info(int idx, struct iscsi_slot_info *out)
{
    struct iscsi_slot *sl = slot_get(idx);
    const struct iscsi_stats *st;
    if (!sl)
        return -ENOENT;
    st = iscsi_session_stats(sl->tcp.s);
    memset(out, 0, sizeof(*out));
    out->state = sl->state;
    out->err = sl->err;
    out->engine = iscsi_session_state_name(sl->tcp.s);
    out->cfg = &sl->cfg;
    if (sl->state == ISL_READY) {
        out->sectors = iscsi_lun_dev(sl->lun)->sectors;
        out->block_size = iscsi_lun_dev(sl->lun)->block_size;
    }
    out->inflight = iscsi_session_inflight(sl->tcp.s);
    out->reconnects = st->reconnects;
    out->bytes_in = st->bytes_in;
    out->cmds = st->cmds;
    out->completed = st->completed;
    out->latency_ns = st->latency_ns;
    out->boot = sl->boot;
    out->attempts = st->attempts;
    out->last_err = st->last_err;
    out->retry_at = st->retry_at;
    return 0;
}

const char *iscsi_slot_ident(int idx, int which)
{
    struct iscsi_slot *sl = slot_get(idx);
    return sl && sl->state == ISL_READY ? iscsi_lun_ident(sl->lun, which) : "";
}

struct iscsi_session *iscsi_slot_session(int idx)
{
    struct iscsi_slot *sl = slot_get(idx);
    return sl ? sl->tcp.s : NULL;
}

struct blk_dev *iscsi_find_lun(int idx)
{
    struct iscsi_slot *sl = slot_get(idx);
    return sl && sl->state == ISL_READY ? iscsi_lun_dev(sl->lun) : NULL;
}

static void slot_free(struct iscsi_slot *sl)
{
    sl->tcp.tr.close(sl->tcp.tr.ctx);   /* harmless when the engine closed it already */
    iscsi_lun_free(sl->lun);
    memset(sl, 0, sizeof(*sl));
}

int iscsi_slot_close(int idx, uint32_t timeout_ms)
{
    struct iscsi_slot *sl = slot_get(idx);
    uint64_t end;
    if (!sl)
        return -ENOENT;
    end = time_ns() + (uint64_t)timeout_ms * 1000000ull;
    sl->close_pending = 0;          /* this close replaces a pending one: never cut the logout short */
    iscsi_session_close(sl->tcp.s, time_ns());
    while (!engine_stopped(sl->tcp.s) && time_ns() < end)
        iscsi_wait_turn();
    slot_free(sl);
    return 0;
}

static void boot_start(void)
{
    int idx;
    boot_pending = 0;
    boot_cfg.persistent = 1;               /* the host may boot before its target: keep trying */
    idx = iscsi_slot_open(&boot_cfg, 1);
    if (idx < 0)
        log_err("iscsi: boot login to %s at %s:%u not started (%d)", boot_cfg.target, boot_cfg.host,
                boot_cfg.port, idx);
    else
        log_info("iscsi: boot login to %s lun %u at %s:%u (session %d)", boot_cfg.target, boot_cfg.lun,
                 boot_cfg.host, boot_cfg.port, idx);
}

/* The shell poller: runs every session's timers and deferred events; 1 while any session lives. */
static int iscsi_poll_all(void)
{
    int busy = 0;
    uint64_t now = time_ns();
    if (polling)
        return 1;
    polling = 1;
    if (boot_pending && net_is_up())
        boot_start();
    for (int i = 0; i < ISCSI_MAX_SESSIONS; i++) {
        struct iscsi_slot *sl = &slots[i];
        if (sl->state == ISL_FREE)
            continue;
        /* Keep the host awake while commands are out or a login is under way; an idle ready
         * session may let it sleep (keep-alive and timeouts run on the timer tick). */
        if (sl->state != ISL_READY || !sl->tcp.s || iscsi_session_inflight(sl->tcp.s) > 0)
            busy = 1;
        if (sl->close_pending) {
            sl->close_pending = 0;
            iscsi_session_close(sl->tcp.s, now);
        }
        iscsi_tcp_step(&sl->tcp, now);
    }
    polling = 0;
    return busy || boot_pending;
}

void iscsi_wait_turn(void)
{
    net_poll();
    iscsi_poll_all();
}

int iscsi_parse_cred(const char *v, char *user, size_t ul, char *secret, size_t sl)
{
    const char *c = strchr(v, ':');
    if (!c || c == v || !c[1] || (size_t)(c - v) >= ul || strlen(c + 1) >= sl)
        return -EINVAL;
    memcpy(user, v, (size_t)(c - v));
    user[c - v] = 0;
    kstrlcpy(secret, c + 1, sl);
    return 0;
}

int iscsi_parse_url(const char *v, struct iscsi_config *cfg)
{
    const char *t, *l, *c;
    size_t hl, tl;
    uint64_t n;
    if (!strncmp(v, "iscsi://", 8))
        v += 8;
    if (!(t = strchr(v, '/')))
        return -EINVAL;
    c = strchr(v, ':');
    hl = (size_t)((c && c < t ? c : t) - v);
    if (!hl || hl >= sizeof(cfg->host))
        return -EINVAL;
    memcpy(cfg->host, v, hl);
    cfg->host[hl] = 0;
    cfg->port = 3260;
    if (c && c < t) {
        char ps[8] = { 0 };
        if ((size_t)(t - c - 1) >= sizeof(ps) || t == c + 1)
            return -EINVAL;
        memcpy(ps, c + 1, (size_t)(t - c - 1));
        if (kstrtou64(ps, &n, 0) < 0 || !n || n > 65535)
            return -EINVAL;
        cfg->port = (uint16_t)n;
    }
    cfg->lun = 1;                           /* tgtd and most targets number data LUNs from 1 */
    l = strrchr(t + 1, '/');
    tl = l ? (size_t)(l - t - 1) : strlen(t + 1);
    if (l && (kstrtou64(l + 1, &n, 0) < 0 || n > 0xffff))
        return -EINVAL;
    if (l)
        cfg->lun = (uint32_t)n;
    if (!tl || tl >= sizeof(cfg->target))
        return -EINVAL;
    memcpy(cfg->target, t + 1, tl);
    cfg->target[tl] = 0;
    return 0;
}

/* iscsi=PORTAL[:PORT]/TARGET[/LUN]: the portal must be a dotted quad (no DNS before the network). */
static int param_iscsi(const char *v)
{
    int err = iscsi_parse_url(v, &boot_cfg);
    if (!err)
        boot_pending = 1;
    return err;
}
BOOT_PARAM("iscsi", "log in to PORTAL[:PORT]/TARGET[/LUN] once the network is up", param_iscsi);

static int param_iscsi_chap(const char *v)
{
    const char *c = strchr(v, ':');
    if (!c || c == v || !c[1] || (size_t)(c - v) >= sizeof(boot_cfg.chap_user) ||
        strlen(c + 1) >= sizeof(boot_cfg.chap_secret))
        return -EINVAL;
    memcpy(boot_cfg.chap_user, v, (size_t)(c - v));
    boot_cfg.chap_user[c - v] = 0;
    kstrlcpy(boot_cfg.chap_secret, c + 1, sizeof(boot_cfg.chap_secret));
    return 0;
}
BOOT_PARAM("iscsi_chap", "USER:SECRET for the iscsi= boot login (one-way CHAP)", param_iscsi_chap);

static int iscsi_init(void)
{
    if (boot_pending && !net_netif()) {
        log_err("iscsi: boot login to %s needs a network interface (none attached)", boot_cfg.target);
        boot_pending = 0;
    }
    return shell_add_poller(iscsi_poll_all);
}
INIT_HOOK(INIT_LATE, iscsi_init);
