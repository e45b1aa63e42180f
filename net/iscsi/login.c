/* iSCSI login: security stage (AuthMethod None or CHAP, one-way or mutual) and operational negotiation (RFC 7143 6, 12, 13). */
#include "net/iscsi/iscsi_int.h"
#include "net/iscsi/text.h"
#include "net/iscsi/chap.h"
#include "net/iscsi/printable.h"
#include "kernel/errno.h"
#include "kernel/kstring.h"
#include "kernel/log.h"
#include "kernel/printf.h"
#include "kernel/random.h"

#define LOGIN_TEXT_CAP 4096
#define CHAP_MAX_CHAL  1024

static int login_send(struct iscsi_session *s, int transit, int csg, int nsg, const struct iscsi_text_buf *t)
{
    struct iscsi_pdu p = { .opcode = ISCSI_OP_LOGIN_REQ, .immediate = 1 };
    p.flags = (uint8_t)((transit ? ISCSI_F_LOGIN_TRANSIT : 0) | csg << 2 | (transit ? nsg : 0));
    memcpy(p.lun, s->isid, 6);
    put_be16(p.lun + 6, s->tsih);
    p.itt = s->login_itt;
    p.w20 = 0;                               /* CID 0 */
    p.sn1 = s->cmdsn;
    p.sn2 = s->exp_statsn;
    if (t && t->overflow)
        return -ENOSPC;
    return sess_send_pdu(s, &p, t ? t->buf : NULL, t ? (uint32_t)t->len : 0);
}

int login_start(struct iscsi_session *s)
{
    char buf[LOGIN_TEXT_CAP];
    struct iscsi_text_buf t = { buf, sizeof(buf), 0, 0 };
    s->login_itt = sess_tag(s);
    s->tsih = 0;                              /* ERL 0: every (re)login is a new session */
    s->cmdsn = s->exp_cmdsn = s->max_cmdsn = 1;
    s->exp_statsn = 0;
    s->login_fatal = 0;
    iscsi_text_add(&t, "InitiatorName", s->cfg.initiator);
    iscsi_text_add(&t, "SessionType", s->cfg.discovery ? "Discovery" : "Normal");
    if (!s->cfg.discovery)
        iscsi_text_add(&t, "TargetName", s->cfg.target);
    if (s->cfg.chap_user[0]) {
        s->lstep = LS_CHAP_A;
        iscsi_text_add(&t, "AuthMethod", "CHAP");
        return login_send(s, 0, ISCSI_STAGE_SECURITY, 0, &t);
    }
    s->lstep = LS_SEC;
    iscsi_text_add(&t, "AuthMethod", "None");
    return login_send(s, 1, ISCSI_STAGE_SECURITY, ISCSI_STAGE_OPER, &t);
}

static int login_send_oper(struct iscsi_session *s, int with_keys)
{
    char buf[LOGIN_TEXT_CAP], num[16];
    struct iscsi_text_buf t = { buf, sizeof(buf), 0, 0 };
    s->lstep = LS_OPER;
    if (with_keys) {
        iscsi_text_add(&t, "HeaderDigest", s->cfg.header_digest ? "CRC32C,None" : "None");
        iscsi_text_add(&t, "DataDigest", s->cfg.data_digest ? "CRC32C,None" : "None");
        ksnprintf(num, sizeof(num), "%u", s->cfg.max_recv_dsl);
        iscsi_text_add(&t, "MaxRecvDataSegmentLength", num);
        iscsi_text_add(&t, "ErrorRecoveryLevel", "0");
        if (!s->cfg.discovery) {
            iscsi_text_add(&t, "MaxConnections", "1");
            iscsi_text_add(&t, "InitialR2T", "Yes");
            iscsi_text_add(&t, "ImmediateData", "No");
            iscsi_text_add(&t, "MaxBurstLength", "262144");
            iscsi_text_add(&t, "FirstBurstLength", "65536");
            iscsi_text_add(&t, "DefaultTime2Wait", "2");
            iscsi_text_add(&t, "DefaultTime2Retain", "0");
            iscsi_text_add(&t, "MaxOutstandingR2T", "1");
            iscsi_text_add(&t, "DataPDUInOrder", "Yes");
            iscsi_text_add(&t, "DataSequenceInOrder", "Yes");
        }
    }
    return login_send(s, 1, ISCSI_STAGE_OPER, ISCSI_STAGE_FFP, &t);
}

/* Our mutual-CHAP challenge and identifier, fresh from the entropy source, never equal to the target's. */
static void chap_make_challenge(struct iscsi_session *s, const uint8_t *theirs, int tlen)
{
    do {
        random_bytes(s->chap_chal, sizeof(s->chap_chal));
        random_bytes(&s->chap_id, 1);
    } while (tlen == (int)sizeof(s->chap_chal) && !memcmp(theirs, s->chap_chal, sizeof(s->chap_chal)));
    s->chap_sent = 1;
}

/* RFC 7143 12.1.3: a challenge equal to one we sent is a reflection attack (a rogue target replays our
 * challenge so that we compute the answer for it): refuse it as an authentication failure. */
static int chap_reflected(struct iscsi_session *s, const uint8_t *chal, int clen)
{
    if (!s->chap_sent || clen != (int)sizeof(s->chap_chal) || memcmp(chal, s->chap_chal, sizeof(s->chap_chal)))
        return 0;
    log_err("iscsi: target at %s:%u sent our own CHAP challenge back (reflection): refused\n", s->cfg.host,
            s->cfg.port);
    s->login_fatal = -EPERM;
    return 1;
}

/* CHAP_A/CHAP_I/CHAP_C arrived: answer with CHAP_N/CHAP_R (+ our CHAP_I/CHAP_C when mutual). */
static int login_chap_answer(struct iscsi_session *s, const uint8_t *data, uint32_t len)
{
    struct iscsi_text_iter it = { (const char *)data, len, 0 };
    char key[ISCSI_KEY_MAX + 1], buf[LOGIN_TEXT_CAP], hex[2 * CHAP_MAX_CHAL + 3];
    uint8_t chal[CHAP_MAX_CHAL], resp[16];
    struct iscsi_text_buf t = { buf, sizeof(buf), 0, 0 };
    const char *v;
    int clen = -1, alg = -1, r;
    uint64_t id = 256;
    while ((r = iscsi_text_next(&it, key, &v)) > 0) {
        uint64_t x;
        if (!strcmp(key, "CHAP_A") && kstrtou64(v, &x, 0) == 0)
            alg = (int)x;
        else if (!strcmp(key, "CHAP_I") && kstrtou64(v, &x, 0) == 0)
            id = x;
        else if (!strcmp(key, "CHAP_C"))
            clen = chap_hex_decode(v, chal, sizeof(chal));
    }
    if (r < 0 || alg != 5 || id > 255 || clen <= 0) {
        log_err("iscsi: bad CHAP challenge from target (CHAP_A=%d, CHAP_I=%u, CHAP_C %d bytes)\n",
                alg, (unsigned)id, clen);
        return -EPROTO;
    }
    if (chap_reflected(s, chal, clen))
        return -EPERM;
    chap_response((uint8_t)id, s->cfg.chap_secret, chal, (size_t)clen, resp);
    chap_hex_encode(resp, 16, hex);
    iscsi_text_add(&t, "CHAP_N", s->cfg.chap_user);
    iscsi_text_add(&t, "CHAP_R", hex);
    if (s->cfg.mutual_user[0]) {
        char num[8];
        chap_make_challenge(s, chal, clen);
        ksnprintf(num, sizeof(num), "%u", s->chap_id);
        chap_hex_encode(s->chap_chal, sizeof(s->chap_chal), hex);
        iscsi_text_add(&t, "CHAP_I", num);
        iscsi_text_add(&t, "CHAP_C", hex);
    }
    s->lstep = LS_CHAP_R;
    return login_send(s, 1, ISCSI_STAGE_SECURITY, ISCSI_STAGE_OPER, &t);
}

/* Mutual CHAP: the target's CHAP_N/CHAP_R must prove it knows mutual_secret (RFC 7143 12.1.3). */
static int login_chap_verify(struct iscsi_session *s, const uint8_t *data, uint32_t len)
{
    struct iscsi_text_iter it = { (const char *)data, len, 0 };
    char key[ISCSI_KEY_MAX + 1];
    uint8_t got[16], want[16];
    const char *v, *name = NULL;
    int glen = -1, r;
    if (!s->cfg.mutual_user[0])
        return 0;
    while ((r = iscsi_text_next(&it, key, &v)) > 0) {
        if (!strcmp(key, "CHAP_N"))
            name = v;
        else if (!strcmp(key, "CHAP_R"))
            glen = chap_hex_decode(v, got, sizeof(got));
    }
    chap_response(s->chap_id, s->cfg.mutual_secret, s->chap_chal, sizeof(s->chap_chal), want);
    if (r < 0 || !name || strcmp(name, s->cfg.mutual_user) || glen != 16 || memcmp(got, want, 16)) {
        char shown[96];
        log_err("iscsi: target failed mutual CHAP authentication (name %s)\n",
                name ? iscsi_printable(shown, sizeof(shown), name, ISCSI_VALUE_MAX) : "(none)");
        return -EPERM;
    }
    return 0;
}

static int parse_bool(const char *v) { return !strcmp(v, "Yes") ? 1 : !strcmp(v, "No") ? 0 : -1; }

/* Apply one operational answer to the pending parameters (RFC 7143 13). Returns 0 or -EPROTO. */
static int login_apply_key(struct iscsi_session *s, struct iscsi_params *n, const char *k, const char *v)
{
    uint64_t x = 0;
    int isnum = kstrtou64(v, &x, 0) == 0;
    if (!strcmp(k, "HeaderDigest") || !strcmp(k, "DataDigest")) {
        int want = !strcmp(k, "HeaderDigest") ? s->cfg.header_digest : s->cfg.data_digest;
        int got = !strcmp(v, "CRC32C") ? 1 : !strcmp(v, "None") ? 0 : -1;
        if (got < 0 || (got && !want))
            return -EPROTO;              /* an answer must be one of the values offered */
        if (want && !got)
            log_warn("iscsi: target declined %s=CRC32C: running without it\n", k);
        *(!strcmp(k, "HeaderDigest") ? &n->header_digest : &n->data_digest) = got;
    } else if (!strcmp(k, "MaxRecvDataSegmentLength")) {
        if (!isnum || x < 512 || x > 16777215)
            return -EPROTO;
        n->max_xmit_dsl = (uint32_t)x;
    } else if (!strcmp(k, "MaxBurstLength") || !strcmp(k, "FirstBurstLength")) {
        if (!isnum || x < 512 || x > 16777215)
            return -EPROTO;
        *(!strcmp(k, "MaxBurstLength") ? &n->max_burst : &n->first_burst) = (uint32_t)x;
    } else if (!strcmp(k, "ImmediateData") || !strcmp(k, "InitialR2T")) {
        int b = parse_bool(v);
        if (b < 0)
            return -EPROTO;
        *(!strcmp(k, "ImmediateData") ? &n->immediate_data : &n->initial_r2t) = b;
    } else if (!strcmp(k, "DefaultTime2Wait") || !strcmp(k, "DefaultTime2Retain")) {
        if (!isnum || x > 3600)
            return -EPROTO;
        *(!strcmp(k, "DefaultTime2Wait") ? &n->time2wait : &n->time2retain) = (uint32_t)x;
    } else if (!strcmp(k, "DataPDUInOrder") || !strcmp(k, "DataSequenceInOrder")) {
        if (parse_bool(v) != 1)
            return -EPROTO;              /* RFC 7143 13.19, 13.20: OR with our Yes is Yes; Data-In relies on it */
    } else if (!strcmp(k, "ErrorRecoveryLevel") || !strcmp(k, "MaxConnections")) {
        if (!isnum || x != (uint64_t)(k[0] == 'M'))
            return -EPROTO;              /* ERL 0 and one connection only */
    }
    return 0;                            /* declarations (TargetAlias, TPGT, ...) are ignored */
}

static int login_oper(struct iscsi_session *s, const uint8_t *data, uint32_t len, struct iscsi_params *n)
{
    struct iscsi_text_iter it = { (const char *)data, len, 0 };
    char key[ISCSI_KEY_MAX + 1];
    const char *v;
    int r;
    while ((r = iscsi_text_next(&it, key, &v)) > 0) {
        if (login_apply_key(s, n, key, v) < 0) {
            char shown[96];
            log_err("iscsi: target answered %s=%s, which was not offered or is out of range\n", key,
                    iscsi_printable(shown, sizeof(shown), v, ISCSI_VALUE_MAX));
            return -EPROTO;
        }
    }
    return r;
}

static void login_status_error(struct iscsi_session *s, const struct iscsi_pdu *p)
{
    uint8_t cls = (uint8_t)(p->w36 >> 24), det = (uint8_t)(p->w36 >> 16);
    const char *what = cls == 1 ? "redirected (not supported)" : cls == 3 ? "target error" :
                       det == 1 ? "authentication failed" : det == 2 ? "authorization failed" :
                       det == 3 ? "target not found" : det == 4 ? "target removed" : "initiator error";
    log_err("iscsi: login to %s at %s:%u rejected: %s (status %u/%u)\n",
            s->cfg.discovery ? "discovery" : s->cfg.target, s->cfg.host, s->cfg.port, what, cls, det);
    if (cls == 2 || cls == 1)
        s->login_fatal = (det == 1 || det == 2) ? -EPERM : -ENOENT;
    sess_drop(s, -EIO, what);
}

void login_rx(struct iscsi_session *s, const struct iscsi_pdu *p, const uint8_t *data, uint32_t len)
{
    int transit = (p->flags & ISCSI_F_LOGIN_TRANSIT) != 0, nsg = p->flags & 3, r = 0;
    if (p->itt != s->login_itt || (p->flags & ISCSI_F_CONT) || iscsi_text_validate((const char *)data, len) < 0) {
        log_err("iscsi: malformed login response\n");
        sess_drop(s, -EPROTO, "malformed login response");
        return;
    }
    s->exp_statsn = p->sn1 + 1;
    s->exp_cmdsn = p->sn2;
    s->max_cmdsn = p->sn3;
    if (p->w36 >> 24) {
        login_status_error(s, p);
        return;
    }
    switch (s->lstep) {
    case LS_CHAP_A: {
        char buf[64];
        struct iscsi_text_buf t = { buf, sizeof(buf), 0, 0 };
        struct iscsi_text_iter it = { (const char *)data, len, 0 };
        char key[ISCSI_KEY_MAX + 1];
        const char *v, *am = "";
        while (iscsi_text_next(&it, key, &v) > 0)
            if (!strcmp(key, "AuthMethod"))
                am = v;
        if (strcmp(am, "CHAP")) {
            char shown[96];
            log_err("iscsi: target refused CHAP (AuthMethod=%s)\n", iscsi_printable(shown, sizeof(shown), am, 64));
            s->login_fatal = -EPERM;
            sess_drop(s, -EPERM, "CHAP refused");
            return;
        }
        iscsi_text_add(&t, "CHAP_A", "5");
        s->lstep = LS_CHAP_C;            /* the next response carries the challenge */
        r = login_send(s, 0, ISCSI_STAGE_SECURITY, 0, &t);
        break;
    }
    case LS_CHAP_C:
        r = login_chap_answer(s, data, len);
        break;
    case LS_CHAP_R:
        if ((r = login_chap_verify(s, data, len)) < 0) {
            s->login_fatal = r;
            sess_drop(s, r, "mutual CHAP failed");
            return;
        }
        /* fall through */
    case LS_SEC:
        if (!transit)
            r = login_send(s, 1, ISCSI_STAGE_SECURITY, ISCSI_STAGE_OPER, NULL);
        else if (nsg == ISCSI_STAGE_OPER)
            r = login_send_oper(s, 1);
        else
            r = -EPROTO;
        memset(&s->pend, 0, sizeof(s->pend));
        s->pend.max_xmit_dsl = 8192;
        s->pend.max_burst = 262144;
        s->pend.first_burst = 65536;
        s->pend.initial_r2t = 1;
        s->pend.time2wait = 2;
        s->pend.time2retain = 20;
        break;
    case LS_OPER:
        if ((r = login_oper(s, data, len, &s->pend)) < 0)
            break;
        if (!transit) {
            r = login_send_oper(s, 0);
            break;
        }
        if (nsg != ISCSI_STAGE_FFP) {
            r = -EPROTO;
            break;
        }
        s->tsih = get_be16(p->lun + 6);
        s->pend.max_recv_dsl = s->cfg.max_recv_dsl;
        s->params = s->pend;
        sess_enter_ffp(s);
        return;
    }
    if (r < 0)
        sess_drop(s, r, "login negotiation");
}
