/* iSCSI session: connection life cycle, reconnect backoff, PDU transmit, keep-alive and logout. */
#include "net/iscsi/iscsi_int.h"
#include "kernel/crc32c.h"
#include "kernel/errno.h"
#include "kernel/heap.h"
#include "kernel/kstring.h"
#include "kernel/log.h"
#include "kernel/random.h"
#include "kernel/time.h"

#define MS 1000000ull

static void cfg_defaults(struct iscsi_config *c)
{
    if (!c->port) c->port = 3260;
    if (!c->initiator[0]) kstrlcpy(c->initiator, "iqn.2026-01.org.shoal:initiator", sizeof(c->initiator));
    if (!c->max_recv_dsl) c->max_recv_dsl = 262144;
    if (c->max_recv_dsl < 512) c->max_recv_dsl = 512;
    if (c->max_recv_dsl > (1u << 24) - 1) c->max_recv_dsl = (1u << 24) - 1;
    if (!c->io_timeout_ns) c->io_timeout_ns = 30000 * MS;
    if (!c->login_timeout_ns) c->login_timeout_ns = 10000 * MS;
    if (!c->nop_interval_ns) c->nop_interval_ns = 5000 * MS;
    if (!c->nop_timeout_ns) c->nop_timeout_ns = 10000 * MS;
    if (!c->initial_attempts) c->initial_attempts = 3;
    if (!c->reconnect_max_ns) c->reconnect_max_ns = 30000 * MS;
}

struct iscsi_session *iscsi_session_new(const struct iscsi_config *cfg, const struct iscsi_transport *tr,
                                        iscsi_event_fn event, void *arg)
{
    struct iscsi_session *s;
    if (!cfg || !tr || !cfg->host[0] || (!cfg->discovery && !cfg->target[0]))
        return NULL;
    s = kzalloc(sizeof(*s));
    if (!s)
        return NULL;
    s->cfg = *cfg;
    cfg_defaults(&s->cfg);
    s->tr = tr;
    s->event = event;
    s->event_arg = arg;
    s->rxbuf_cap = s->cfg.max_recv_dsl;
    s->rxbuf = kmalloc(s->rxbuf_cap);
    s->tx = kmalloc(ISCSI_TX_CAP);
    if (!s->rxbuf || !s->tx) {
        iscsi_session_free(s);
        return NULL;
    }
    /* ISID: T = 10b "random" format, A reserved, B C and D a random qualifier (RFC 7143 10.12.5,
     * 11.12.5). Two hosts (or sessions) to one target must never look like a reinstatement of each
     * other; the same session keeps its ISID across reconnects, so a relogin does reinstate itself. */
    s->isid[0] = 0x80;
    random_bytes(s->isid + 1, 5);
    s->next_itt = 1;
    return s;
}

void iscsi_session_free(struct iscsi_session *s)
{
    if (!s)
        return;
    kfree(s->rxbuf);
    kfree(s->tx);
    kfree(s->disc_text);
    kfree(s);
}

static void sess_set(struct iscsi_session *s, enum sess_state st)
{
    s->state = st;
    s->state_since = time_ns();
}

/* Reset the per-connection state before a new connect. */
static void conn_reset(struct iscsi_session *s)
{
    s->hdr_have = 0;
    s->hdr_need = ISCSI_BHS_LEN;
    s->rx_in_data = 0;
    s->rx_task = NULL;
    s->rx_stream = 0;
    s->tx_len = 0;
    s->ping_out = 0;
    s->dead = 0;
    s->disc_len = 0;
    memset(&s->params, 0, sizeof(s->params));
}

static int sess_connect(struct iscsi_session *s)
{
    int r;
    conn_reset(s);
    sess_set(s, SS_CONNECTING);
    r = s->tr->connect(s->tr->ctx, s->cfg.host, s->cfg.port);
    if (r < 0) {
        log_warn("iscsi: connect %s:%u failed to start (%d)\n", s->cfg.host, s->cfg.port, r);
        sess_drop(s, r, "connect");
    }
    return r;
}

int iscsi_session_start(struct iscsi_session *s, uint64_t now)
{
    (void)now;
    if (s->state != SS_IDLE)
        return -EALREADY;
    sess_connect(s);
    return s->state == SS_FAILED ? -ECONNREFUSED : 0;
}

void sess_fail(struct iscsi_session *s, int err)
{
    if (s->state == SS_FAILED || s->state == SS_CLOSED)
        return;
    sess_set(s, SS_FAILED);
    scsi_fail_all(s, err);
    if (s->event)
        s->event(s, ISCSI_EV_FAILED, err, s->event_arg);
}

/* Backoff before the next attempt: 1 s doubling per consecutive failure to the cap, never below the
 * target's Time2Wait (RFC 7143 13.15). */
static uint64_t backoff_ns(struct iscsi_session *s)
{
    uint64_t d = 1000 * MS << (s->attempts < 5 ? s->attempts : 5);
    if (d > s->cfg.reconnect_max_ns)
        d = s->cfg.reconnect_max_ns;
    if (s->ever_ready && s->params.time2wait * 1000 * MS > d)
        d = s->params.time2wait * 1000 * MS;
    return d;
}

/* Whether a failed attempt ends the session for good. A session that was ready once, or a persistent
 * one, keeps retrying whatever the target said: its LUN has users (clones, a boot image) and the target
 * may just be restarting. Only an operator's first login (and discovery) gives up, so the shell answers. */
static int sess_gives_up(const struct iscsi_session *s)
{
    if ((s->ever_ready && !s->cfg.discovery) || s->cfg.persistent)
        return 0;
    return s->login_fatal || s->attempts >= s->cfg.initial_attempts;
}

void sess_drop(struct iscsi_session *s, int err, const char *why)
{
    int was_ffp = s->state == SS_FFP;
    uint64_t wait;
    if (s->state == SS_FAILED || s->state == SS_CLOSED || s->state == SS_IDLE)
        return;
    if (s->state != SS_WAIT)
        s->tr->close(s->tr->ctx);
    s->dead = 1;
    if (s->closing || s->state == SS_LOGOUT) {
        sess_set(s, SS_CLOSED);
        scsi_fail_all(s, -ECANCELED);
        if (s->event)
            s->event(s, ISCSI_EV_CLOSED, 0, s->event_arg);
        return;
    }
    s->stats.last_err = s->login_fatal ? s->login_fatal : (err ? err : -EIO);
    if (!was_ffp || s->drop_counts) {
        s->drop_counts = 0;
        s->attempts++;
        s->stats.failed_attempts++;
    }
    s->stats.attempts = s->attempts;
    if (sess_gives_up(s)) {
        log_warn("iscsi: %s:%u connection lost (%s, %d)\n", s->cfg.host, s->cfg.port, why, err);
        sess_fail(s, s->stats.last_err);
        return;
    }
    scsi_requeue_all(s);
    wait = backoff_ns(s);
    s->wait_until = s->stats.retry_at = time_ns() + wait;
    s->params.time2wait = 0;
    log_warn("iscsi: %s:%u %s (%s, %d): retrying in %llu s (attempt %d)\n", s->cfg.host, s->cfg.port,
             was_ffp ? "connection lost" : "attempt failed", why, err, (unsigned long long)(wait / (1000 * MS)),
             s->attempts + 1);
    sess_set(s, SS_WAIT);
}

uint32_t sess_tag(struct iscsi_session *s)
{
    uint32_t t = 0x80000000u | (s->next_itt++ & 0x7fffffffu);   /* task ITTs have bit 31 clear */
    return t == ISCSI_RSVD_TAG ? sess_tag(s) : t;
}

int sess_send_pdu(struct iscsi_session *s, struct iscsi_pdu *p, const void *data, uint32_t dlen)
{
    uint32_t need = ISCSI_BHS_LEN + dlen + iscsi_pad(dlen) + (s->params.header_digest ? 4 : 0) +
                    (dlen && s->params.data_digest ? 4 : 0);
    uint8_t *o;
    static const uint8_t zero[4];
    if (need > ISCSI_TX_CAP)
        return -E2BIG;
    if (s->tx_len + need > ISCSI_TX_CAP)
        iscsi_conn_writable(s);            /* a batch held back by iscsi_conn_recv: push it out first */
    if (s->tx_len + need > ISCSI_TX_CAP)
        return -EAGAIN;
    o = s->tx + s->tx_len;
    p->dlen = dlen;
    iscsi_pdu_encode(p, o);
    o += ISCSI_BHS_LEN;
    if (s->params.header_digest) {
        uint32_t c = crc32c(0, o - ISCSI_BHS_LEN, ISCSI_BHS_LEN);
        put_le32(o, c);
        o += 4;
    }
    if (dlen) {
        memcpy(o, data, dlen);
        memcpy(o + dlen, zero, iscsi_pad(dlen));
        o += dlen + iscsi_pad(dlen);
        if (s->params.data_digest) {
            uint32_t c = crc32c(0, o - dlen - iscsi_pad(dlen), dlen + iscsi_pad(dlen));
            put_le32(o, c);
        }
    }
    s->tx_len += need;
    if (!s->in_rx)                         /* inside iscsi_conn_recv: one send() for the whole batch */
        iscsi_conn_writable(s);
    return 0;
}

void iscsi_conn_writable(struct iscsi_session *s)
{
    int n;
    if (!s->tx_len || s->state < SS_LOGIN || s->state > SS_LOGOUT || s->dead)
        return;
    n = s->tr->send(s->tr->ctx, s->tx, s->tx_len);
    if (n < 0) {
        sess_drop(s, n, "send");
        return;
    }
    if ((uint32_t)n > s->tx_len)
        n = (int)s->tx_len;
    memmove(s->tx, s->tx + n, s->tx_len - (uint32_t)n);
    s->tx_len -= (uint32_t)n;
}

void iscsi_conn_up(struct iscsi_session *s)
{
    if (s->state != SS_CONNECTING)
        return;
    sess_set(s, SS_LOGIN);
    s->last_rx = time_ns();
    if (login_start(s) < 0)
        sess_drop(s, -EIO, "login start");
}

void iscsi_conn_down(struct iscsi_session *s, int err)
{
    if (s->state >= SS_CONNECTING && s->state <= SS_LOGOUT)
        sess_drop(s, err ? err : -ECONNRESET, "transport");
}

/* SendTargets=All on a discovery session (RFC 7143 12.3, Appendix C). */
void disc_send_text(struct iscsi_session *s, uint32_t ttt, int initial)
{
    struct iscsi_pdu p = { .opcode = ISCSI_OP_TEXT_REQ, .immediate = 1, .flags = ISCSI_F_FINAL };
    static const char q[] = "SendTargets=All";
    if (initial)
        s->text_itt = sess_tag(s);
    p.itt = s->text_itt;
    p.w20 = ttt;
    p.sn1 = s->cmdsn;
    p.sn2 = s->exp_statsn;
    if (sess_send_pdu(s, &p, initial ? q : NULL, initial ? sizeof(q) : 0) < 0)
        sess_drop(s, -EIO, "text send");
}

void sess_enter_ffp(struct iscsi_session *s)
{
    sess_set(s, SS_FFP);
    if (!s->hold_attempts)
        sess_attempt_ok(s);
    if (s->ever_ready)
        s->stats.reconnects++;
    s->ever_ready = 1;
    s->stats.logins++;
    s->last_rx = time_ns();
    log_info("iscsi: logged in to %s at %s:%u (digests header=%s data=%s, MaxRecvDSL %u/%u, burst %u)\n",
             s->cfg.discovery ? "discovery" : s->cfg.target, s->cfg.host, s->cfg.port,
             s->params.header_digest ? "CRC32C" : "None", s->params.data_digest ? "CRC32C" : "None",
             s->params.max_recv_dsl, s->params.max_xmit_dsl, s->params.max_burst);
    if (s->cfg.discovery) {
        disc_send_text(s, ISCSI_RSVD_TAG, 1);
        return;
    }
    if (s->event)
        s->event(s, ISCSI_EV_READY, 0, s->event_arg);
    scsi_kick(s, time_ns());
}

void sess_attempt_ok(struct iscsi_session *s)
{
    s->attempts = s->stats.attempts = 0;
}

void sess_logout(struct iscsi_session *s)
{
    struct iscsi_pdu p = { .opcode = ISCSI_OP_LOGOUT_REQ, .immediate = 1, .flags = ISCSI_F_FINAL | 0 };
    s->logout_itt = sess_tag(s);
    p.itt = s->logout_itt;
    p.sn1 = s->cmdsn;
    p.sn2 = s->exp_statsn;
    sess_set(s, SS_LOGOUT);
    if (sess_send_pdu(s, &p, NULL, 0) < 0)
        sess_drop(s, -EIO, "logout");
}

void iscsi_session_close(struct iscsi_session *s, uint64_t now)
{
    (void)now;
    s->closing = 1;
    scsi_fail_all(s, -ECANCELED);
    if (s->state == SS_FFP) {
        sess_logout(s);
        return;
    }
    if (s->state == SS_CLOSED || s->state == SS_FAILED)
        return;
    if (s->state >= SS_CONNECTING && s->state <= SS_LOGOUT)
        s->tr->close(s->tr->ctx);
    sess_set(s, SS_CLOSED);
    if (s->event)
        s->event(s, ISCSI_EV_CLOSED, 0, s->event_arg);
}

static void ping_send(struct iscsi_session *s, uint64_t now)
{
    struct iscsi_pdu p = { .opcode = ISCSI_OP_NOP_OUT, .immediate = 1, .flags = ISCSI_F_FINAL };
    s->ping_itt = sess_tag(s);
    p.itt = s->ping_itt;
    p.w20 = ISCSI_RSVD_TAG;
    p.sn1 = s->cmdsn;
    p.sn2 = s->exp_statsn;
    if (sess_send_pdu(s, &p, NULL, 0) == 0) {
        s->ping_out = 1;
        s->ping_sent = now;
        s->stats.nops_sent++;
    }
}

/* ns from since to now; 0 when since is later (a caller's `now` may predate a state change made since). */
static uint64_t elapsed(uint64_t now, uint64_t since)
{
    return now > since ? now - since : 0;
}

uint64_t iscsi_poll(struct iscsi_session *s, uint64_t now)
{
    switch (s->state) {
    case SS_WAIT:
        if (now >= s->wait_until) {
            log_info("iscsi: reconnecting to %s:%u\n", s->cfg.host, s->cfg.port);
            sess_connect(s);
        }
        break;
    case SS_CONNECTING: case SS_LOGIN: case SS_LOGOUT:
        if (elapsed(now, s->state_since) > s->cfg.login_timeout_ns)
            sess_drop(s, -ETIMEDOUT, s->state == SS_LOGOUT ? "logout timed out" :
                      s->state == SS_LOGIN ? "login timed out" : "connect timed out");
        break;
    case SS_FFP:
        if (s->ping_out && elapsed(now, s->ping_sent) > s->cfg.nop_timeout_ns &&
            elapsed(now, s->last_rx) > s->cfg.nop_timeout_ns) {
            sess_drop(s, -ETIMEDOUT, "NOP-In ping unanswered");
            break;
        }
        if (!s->ping_out && elapsed(now, s->last_rx) > s->cfg.nop_interval_ns)
            ping_send(s, now);
        break;
    default:
        break;
    }
    if (s->state != SS_FAILED && s->state != SS_CLOSED)
        scsi_check_timeouts(s, now);
    if (s->state == SS_FFP)
        scsi_kick(s, now);
    iscsi_conn_writable(s);
    return 100 * MS;
}

const struct iscsi_params *iscsi_session_params(const struct iscsi_session *s) { return &s->params; }
const struct iscsi_stats *iscsi_session_stats(const struct iscsi_session *s) { return &s->stats; }
int iscsi_session_inflight(const struct iscsi_session *s) { return s->ntasks; }

const char *iscsi_session_state_name(const struct iscsi_session *s)
{
    /* Indexed by enum sess_state (iscsi_int.h). */
    static const char *const names[] = { "idle", "reconnect-wait", "connecting", "login", "ffp",
                                         "logout", "closed", "failed" };
    return (unsigned)s->state < sizeof(names) / sizeof(names[0]) ? names[s->state] : "?";
}
int iscsi_discovered(const struct iscsi_session *s) { return s->ndisc; }
const char *iscsi_discovered_name(const struct iscsi_session *s, int i)
{
    return i >= 0 && i < s->ndisc ? s->disc_name[i] : NULL;
}
const char *iscsi_discovered_addr(const struct iscsi_session *s, int i)
{
    return i >= 0 && i < s->ndisc ? s->disc_addr[i] : NULL;
}
