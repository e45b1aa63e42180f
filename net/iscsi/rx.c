/* iSCSI receive path: PDU reassembly from a byte stream, digest checks, and dispatch by opcode. */
#include "net/iscsi/iscsi_int.h"
#include "net/iscsi/text.h"
#include "net/iscsi/printable.h"
#include "kernel/crc32c.h"
#include "kernel/errno.h"
#include "kernel/heap.h"
#include "kernel/kstring.h"
#include "kernel/log.h"
#include "kernel/time.h"

#define ISCSI_RX_STREAM_MIN (32 * 1024)   /* Data-In segments this large are worth a read of their own */

void sess_proto_error(struct iscsi_session *s, const char *why)
{
    s->stats.proto_errors++;
    log_err("iscsi: protocol error from %s:%u: %s (opcode %#x itt %#x)\n", s->cfg.host, s->cfg.port, why,
            s->rx.opcode, s->rx.itt);
    sess_drop(s, -EPROTO, why);
}

/* RFC 7143 4.2.2.1: take ExpCmdSN/MaxCmdSN when the window they describe is sane; advance ExpStatSN. */
void sess_update_sn(struct iscsi_session *s, const struct iscsi_pdu *p, int advance)
{
    uint32_t exp = p->sn2, max = p->sn3;
    if (sn_le(exp - 1, max) && sn_le(s->exp_cmdsn, exp)) {
        s->exp_cmdsn = exp;
        s->max_cmdsn = max;
    } else if (sn_le(exp - 1, max) && exp == s->exp_cmdsn) {
        s->max_cmdsn = max;
    }
    if (advance && sn_lt(s->exp_statsn, p->sn1 + 1))
        s->exp_statsn = p->sn1 + 1;
}

static void nop_rx(struct iscsi_session *s, const struct iscsi_pdu *p, const uint8_t *data, uint32_t len)
{
    if (p->itt != ISCSI_RSVD_TAG) {
        if (!s->ping_out || p->itt != s->ping_itt) {
            sess_proto_error(s, "NOP-In with an unknown ITT");
            return;
        }
        s->ping_out = 0;
        s->stats.nops_answered++;
        sess_update_sn(s, p, 1);
        return;
    }
    sess_update_sn(s, p, 0);       /* RFC 7143 11.19.2: StatSN not advanced for ITT 0xffffffff */
    if (p->w20 != ISCSI_RSVD_TAG) {
        /* The target pings us: answer with a NOP-Out echoing TTT, LUN and data (RFC 7143 11.18). */
        struct iscsi_pdu o = { .opcode = ISCSI_OP_NOP_OUT, .immediate = 1, .flags = ISCSI_F_FINAL };
        memcpy(o.lun, p->lun, 8);
        o.itt = ISCSI_RSVD_TAG;
        o.w20 = p->w20;
        o.sn1 = s->cmdsn;
        o.sn2 = s->exp_statsn;
        if (s->params.max_xmit_dsl && len > s->params.max_xmit_dsl)
            len = s->params.max_xmit_dsl;
        if (sess_send_pdu(s, &o, data, len) < 0)
            sess_drop(s, -EIO, "NOP-Out reply");
    }
}

/* SendTargets answer: TargetName starts an entry, its first TargetAddress is kept (RFC 7143 C). */
static int disc_parse(struct iscsi_session *s)
{
    struct iscsi_text_iter it = { s->disc_text, s->disc_len, 0 };
    char key[ISCSI_KEY_MAX + 1];
    const char *v;
    int r;
    s->ndisc = 0;
    while ((r = iscsi_text_next(&it, key, &v)) > 0) {
        /* Kept printable: the shell shows them (a real IQN or address has no byte this changes). */
        if (!strcmp(key, "TargetName") && s->ndisc < ISCSI_MAX_DISC) {
            iscsi_printable(s->disc_name[s->ndisc], sizeof(s->disc_name[0]), v, ISCSI_VALUE_MAX);
            s->disc_addr[s->ndisc++][0] = 0;
        } else if (!strcmp(key, "TargetAddress") && s->ndisc > 0 && !s->disc_addr[s->ndisc - 1][0]) {
            iscsi_printable(s->disc_addr[s->ndisc - 1], sizeof(s->disc_addr[0]), v, ISCSI_VALUE_MAX);
        }
    }
    return r;
}

static void text_rx(struct iscsi_session *s, const struct iscsi_pdu *p, const uint8_t *data, uint32_t len)
{
    if (!s->cfg.discovery || p->itt != s->text_itt) {
        sess_proto_error(s, "unexpected Text response");
        return;
    }
    sess_update_sn(s, p, 1);
    if (s->disc_len + len > 65536) {
        sess_proto_error(s, "SendTargets answer too long");
        return;
    }
    if (s->disc_len + len > s->disc_cap) {
        char *n = kmalloc(65536);
        if (!n) {
            sess_fail(s, -ENOMEM);
            return;
        }
        if (s->disc_text)
            memcpy(n, s->disc_text, s->disc_len);
        kfree(s->disc_text);
        s->disc_text = n;
        s->disc_cap = 65536;
    }
    memcpy(s->disc_text + s->disc_len, data, len);
    s->disc_len += len;
    if (!(p->flags & ISCSI_F_FINAL) || (p->flags & ISCSI_F_CONT)) {
        disc_send_text(s, p->w20, 0);     /* ask for the rest (RFC 7143 11.11.1) */
        return;
    }
    if (disc_parse(s) < 0) {
        sess_proto_error(s, "malformed SendTargets answer");
        return;
    }
    if (s->event)
        s->event(s, ISCSI_EV_DISCOVERED, 0, s->event_arg);
    if (s->state == SS_FFP) {
        s->closing = 1;
        sess_logout(s);
    }
}

static void logout_rx(struct iscsi_session *s, const struct iscsi_pdu *p)
{
    if (s->state != SS_LOGOUT || p->itt != s->logout_itt) {
        sess_proto_error(s, "unexpected Logout response");
        return;
    }
    if (p->b2)
        log_warn("iscsi: logout response %u\n", p->b2);
    s->closing = 1;
    sess_drop(s, 0, "logout");
}

static void async_rx(struct iscsi_session *s, const struct iscsi_pdu *p)
{
    uint8_t ev = (uint8_t)(p->w36 >> 24);
    sess_update_sn(s, p, 1);
    log_warn("iscsi: async event %u from target\n", ev);
    if (ev >= 1 && ev <= 4)           /* logout requested / connection or session dropped */
        sess_drop(s, -ECONNRESET, "target asked for logout");
}

static void rx_dispatch(struct iscsi_session *s)
{
    struct iscsi_pdu *p = &s->rx;
    uint32_t len = p->dlen;
    if (s->state == SS_LOGIN) {
        if (p->opcode != ISCSI_OP_LOGIN_RSP)
            sess_proto_error(s, "non-login PDU during login");
        else
            login_rx(s, p, s->rxbuf, len);
        return;
    }
    switch (p->opcode) {
    case ISCSI_OP_DATA_IN: scsi_data_in_end(s, p); break;
    case ISCSI_OP_SCSI_RSP: scsi_rsp_rx(s, p, s->rxbuf, len); break;
    case ISCSI_OP_NOP_IN: nop_rx(s, p, s->rxbuf, len); break;
    case ISCSI_OP_TEXT_RSP: text_rx(s, p, s->rxbuf, len); break;
    case ISCSI_OP_LOGOUT_RSP: logout_rx(s, p); break;
    case ISCSI_OP_ASYNC: async_rx(s, p); break;
    case ISCSI_OP_REJECT:
        log_err("iscsi: target rejected a PDU, reason %#x\n", p->b2);
        sess_proto_error(s, "Reject");
        break;
    case ISCSI_OP_R2T: sess_proto_error(s, "R2T on a read-only session"); break;
    default: sess_proto_error(s, "unexpected opcode"); break;
    }    if (s->state == SS_FFP && !s->dead)
        scsi_kick(s, time_ns());          /* the window may have opened, or a retry is due */
}

/* The whole header is in s->hdr: check its digest, decode, and set up the data segment. */
static void rx_header(struct iscsi_session *s)
{
    uint32_t max = s->state == SS_LOGIN ? s->rxbuf_cap : s->params.max_recv_dsl;
    if (s->params.header_digest) {
        uint32_t n = s->hdr_need - 4;
        if (crc32c(0, s->hdr, n) != get_le32(s->hdr + n)) {
            sess_proto_error(s, "header digest mismatch");
            return;
        }
    }
    if (iscsi_pdu_decode(s->hdr, &s->rx) < 0) {
        sess_proto_error(s, "bad opcode");
        return;
    }
    if (s->rx.dlen > max || s->rx.dlen > s->rxbuf_cap) {
        sess_proto_error(s, "data segment longer than MaxRecvDataSegmentLength");
        return;
    }
    s->rx_task = NULL;
    if (s->rx.opcode == ISCSI_OP_DATA_IN && s->state != SS_LOGIN && scsi_data_in_begin(s, &s->rx) < 0)
        return;                              /* scsi_data_in_begin dropped the connection */
    if (s->rx.opcode == ISCSI_OP_DATA_IN)    /* see iscsi_conn_rx_tail */
        s->rx_stream = s->rx.dlen >= ISCSI_RX_STREAM_MIN;
    s->data_have = 0;
    s->data_crc = 0;
    s->data_need = s->rx.dlen ? s->rx.dlen + iscsi_pad(s->rx.dlen) + (s->params.data_digest ? 4 : 0) : 0;
    s->rx_in_data = 1;
}

/* Take up to len bytes of the current data segment; returns the count taken. */
static uint32_t rx_data(struct iscsi_session *s, const uint8_t *p, uint32_t len)
{
    uint32_t dlen = s->rx.dlen, padded = dlen + iscsi_pad(dlen);
    uint32_t n = s->data_need - s->data_have < len ? s->data_need - s->data_have : len;
    uint32_t at = s->data_have;
    if (at < dlen) {
        uint32_t k = n < dlen - at ? n : dlen - at;
        if (s->rx_task)
            scsi_place(s->rx_task, s->rx.w40 + at, p, k);
        else
            memcpy(s->rxbuf + at, p, k);
    }
    if (s->params.data_digest && at < padded) {
        uint32_t k = n < padded - at ? n : padded - at;
        s->data_crc = crc32c(s->data_crc, p, k);
    }
    if (at + n > padded) {                   /* the trailing data digest */
        uint32_t from = at > padded ? at : padded;
        memcpy(s->digest_buf + (from - padded), p + (from - at), at + n - from);
    }
    s->data_have += n;
    return n;
}

static void rx_complete(struct iscsi_session *s)
{
    s->rx_in_data = 0;
    s->hdr_have = 0;
    s->hdr_need = ISCSI_BHS_LEN;
    if (s->rx.dlen && s->params.data_digest && s->data_crc != get_le32(s->digest_buf)) {
        sess_proto_error(s, "data digest mismatch");
        return;
    }
    rx_dispatch(s);
}

/* Common prologue of the receive entry points: returns 0 when the session takes no bytes now. */
static int rx_enter(struct iscsi_session *s, size_t len)
{
    if (s->state < SS_LOGIN || s->state > SS_LOGOUT)
        return 0;
    s->last_rx = time_ns();
    s->stats.bytes_in += len;
    s->dead = 0;
    s->in_rx = 1;
    return 1;
}

static void rx_leave(struct iscsi_session *s)
{
    s->in_rx = 0;
    iscsi_conn_writable(s);                /* commands and answers queued by this batch's callbacks */
}

void iscsi_conn_recv(struct iscsi_session *s, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    if (!rx_enter(s, len))
        return;
    while (len && !s->dead) {
        uint32_t n;
        if (s->rx_in_data) {
            n = rx_data(s, p, len > 0x40000000 ? 0x40000000 : (uint32_t)len);
        } else {
            n = s->hdr_need - s->hdr_have < len ? s->hdr_need - s->hdr_have : (uint32_t)len;
            memcpy(s->hdr + s->hdr_have, p, n);
            s->hdr_have += n;
        }
        p += n;
        len -= n;
        if (!s->rx_in_data && s->hdr_have == s->hdr_need) {
            uint32_t extra = s->hdr_need == ISCSI_BHS_LEN ? s->hdr[4] * 4u + (s->params.header_digest ? 4 : 0) : 0;
            if (extra) {
                s->hdr_need += extra;          /* AHS and header digest follow the BHS */
                continue;
            }
            rx_header(s);
        }
        if (!s->dead && s->rx_in_data && s->data_have == s->data_need)
            rx_complete(s);
    }
    rx_leave(s);
}

/* The contiguous span of the current Data-In segment's next bytes in its task's iovec (0: none). The
 * header was validated by scsi_data_in_begin (offset + length inside the command's buffer). */
static uint32_t rx_span(const struct iscsi_session *s, uint8_t **dst)
{
    const struct iscsi_cmd *c;
    uint32_t at = s->data_have, left, off;
    if (s->state < SS_LOGIN || s->state > SS_LOGOUT || !s->rx_in_data || !s->rx_task || at >= s->rx.dlen)
        return 0;
    c = s->rx_task->cmd;
    left = s->rx.dlen - at;
    off = s->rx.w40 + at;
    for (int i = 0; i < c->niov; i++) {
        if (off >= c->iov[i].len) {
            off -= (uint32_t)c->iov[i].len;
            continue;
        }
        *dst = (uint8_t *)c->iov[i].base + off;
        return c->iov[i].len - off < left ? (uint32_t)(c->iov[i].len - off) : left;
    }
    return 0;
}

size_t iscsi_conn_rx_window(struct iscsi_session *s, void **dst)
{
    uint8_t *d = NULL;
    uint32_t n = rx_span(s, &d);
    *dst = n ? d : NULL;
    return n;
}

size_t iscsi_conn_rx_tail(struct iscsi_session *s)
{
    uint32_t hd = s->params.header_digest ? 4 : 0, at, win;
    uint8_t *d;
    if (s->state < SS_LOGIN || s->state > SS_LOGOUT || !s->rx_stream)
        return SIZE_MAX;
    if (!s->rx_in_data)                      /* the rest of this header */
        return s->hdr_need - s->hdr_have + (s->hdr_need == ISCSI_BHS_LEN ? hd : 0);
    win = rx_span(s, &d);
    at = s->data_have + win;
    if (at < s->rx.dlen)                     /* the segment goes on in the next iovec element */
        return 0;
    return s->data_need - at + ISCSI_BHS_LEN + hd;    /* pad + digest + the next BHS */
}

void iscsi_conn_rx_placed(struct iscsi_session *s, size_t n)
{
    uint8_t *d = NULL;
    size_t room = rx_span(s, &d);
    if (!n)
        return;
    if (n > room) {                          /* a transport bug: the bytes went somewhere we did not say */
        log_err("iscsi: transport placed %zu bytes into a %zu byte window\n", n, room);
        sess_drop(s, -EINVAL, "bytes placed outside the receive window");
        return;
    }
    if (!rx_enter(s, n))
        return;
    if (s->params.data_digest)              /* RFC 7143 12.1: the digest covers the data as placed */
        s->data_crc = crc32c(s->data_crc, d, n);
    s->data_have += (uint32_t)n;
    if (s->data_have == s->data_need)       /* no pad and no digest follow: the PDU is complete */
        rx_complete(s);
    rx_leave(s);
}
