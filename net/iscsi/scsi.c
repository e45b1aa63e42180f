/* iSCSI SCSI command tasks: CmdSN window, Data-In placement, status and sense handling, retries, timeouts. */
#include "net/iscsi/iscsi_int.h"
#include "kernel/errno.h"
#include "kernel/kstring.h"
#include "kernel/log.h"
#include "kernel/time.h"

#define MS 1000000ull
#define SAM_GOOD            0x00
#define SAM_CHECK_CONDITION 0x02
#define SAM_BUSY            0x08
#define SAM_TASK_SET_FULL   0x28
#define UA_RETRIES          16

static const char *const sense_names[16] = {
    "NO SENSE", "RECOVERED ERROR", "NOT READY", "MEDIUM ERROR", "HARDWARE ERROR", "ILLEGAL REQUEST",
    "UNIT ATTENTION", "DATA PROTECT", "BLANK CHECK", "VENDOR SPECIFIC", "COPY ABORTED", "ABORTED COMMAND",
    "RESERVED", "VOLUME OVERFLOW", "MISCOMPARE", "COMPLETED",
};

static uint32_t task_itt(struct iscsi_session *s, struct iscsi_task *t)
{
    return (uint32_t)t->gen << 16 | (uint32_t)(t - s->tasks);
}

struct iscsi_task *scsi_task_by_itt(struct iscsi_session *s, uint32_t itt)
{
    uint32_t i = itt & 0xffff;
    if (i >= ISCSI_MAX_TASKS || s->tasks[i].state != TS_SENT || s->tasks[i].gen != itt >> 16)
        return NULL;
    return &s->tasks[i];
}

int iscsi_cmd_submit(struct iscsi_session *s, struct iscsi_cmd *c, uint64_t now)
{
    size_t sum = 0;
    if (!c || !c->done || c->cdb_len < 6 || c->cdb_len > 16 || c->niov < 0 || c->niov > BLK_MAX_IOV ||
        (c->niov && !c->iov))
        return -EINVAL;
    for (int i = 0; i < c->niov; i++)
        sum += c->iov[i].len;
    if (sum != c->len)
        return -EINVAL;
    if (s->state == SS_FAILED || s->state == SS_CLOSED || s->closing)
        return -EIO;
    for (int i = 0; i < ISCSI_MAX_TASKS; i++) {
        struct iscsi_task *t = &s->tasks[i];
        if (t->state != TS_FREE)
            continue;
        t->state = TS_QUEUED;
        t->cmd = c;
        t->seq = s->task_seq++;
        t->deadline = now + (c->timeout_ns ? c->timeout_ns : s->cfg.io_timeout_ns);
        t->submitted = now;
        t->not_before = 0;
        t->retries = 0;
        c->resid = 0;
        c->sense_key = c->asc = c->ascq = 0;
        s->ntasks++;
        s->stats.cmds++;
        scsi_kick(s, now);
        return 0;
    }
    return -EAGAIN;
}

static void task_finish(struct iscsi_session *s, struct iscsi_task *t, int err)
{
    struct iscsi_cmd *c = t->cmd;
    uint64_t now = time_ns();
    if (!err) {
        s->stats.completed++;
        s->stats.latency_ns += now > t->submitted ? now - t->submitted : 0;
    }
    t->state = TS_FREE;
    t->gen = (uint16_t)((t->gen + 1) & 0x7fff);   /* ITT bit 31 stays clear: engine tags use it */
    t->cmd = NULL;
    s->ntasks--;
    if (s->rx_task == t)
        s->rx_task = NULL;
    c->done(c, err);
}

/* Send the oldest eligible queued task while the CmdSN window (RFC 7143 4.2.2.1) is open. */
void scsi_kick(struct iscsi_session *s, uint64_t now)
{
    while (s->state == SS_FFP && !s->dead && sn_le(s->cmdsn, s->max_cmdsn)) {
        struct iscsi_task *best = NULL;
        struct iscsi_pdu p = { .opcode = ISCSI_OP_SCSI_CMD, .flags = ISCSI_F_FINAL | ISCSI_F_ATTR_SIMPLE };
        for (int i = 0; i < ISCSI_MAX_TASKS; i++) {
            struct iscsi_task *t = &s->tasks[i];
            if (t->state == TS_QUEUED && t->not_before <= now && (!best || t->seq < best->seq))
                best = t;
        }
        if (!best)
            return;
        if (best->cmd->len)
            p.flags |= ISCSI_F_READ;
        iscsi_lun_encode(s->cfg.lun, p.lun);
        p.itt = task_itt(s, best);
        p.w20 = best->cmd->len;            /* Expected Data Transfer Length */
        p.sn1 = s->cmdsn;
        p.sn2 = s->exp_statsn;
        memcpy(p.cdb, best->cmd->cdb, best->cmd->cdb_len);
        if (sess_send_pdu(s, &p, NULL, 0) < 0)
            return;                        /* transmit buffer full: the next poll retries */
        best->state = TS_SENT;
        best->cmdsn = s->cmdsn++;
        best->received = 0;
        best->exp_datasn = 0;
    }
}

/* A Data-In header arrived: it must name a live task, come in order and fit its buffer. */
int scsi_data_in_begin(struct iscsi_session *s, const struct iscsi_pdu *p)
{
    struct iscsi_task *t = scsi_task_by_itt(s, p->itt);
    if (!t) {
        sess_proto_error(s, "Data-In for an unknown ITT");
        return -EPROTO;
    }
    if (p->w36 != t->exp_datasn) {
        sess_proto_error(s, "Data-In DataSN out of order");
        return -EPROTO;
    }
    if (p->w40 > t->cmd->len || p->dlen > t->cmd->len - p->w40) {
        sess_proto_error(s, "Data-In outside the command's buffer");
        return -EPROTO;
    }
    /* DataPDUInOrder=Yes and DataSequenceInOrder=Yes (RFC 7143 13.19, 13.20: we offer Yes and the result
     * function is OR): each PDU starts where the last one ended, so counted bytes are placed bytes. */
    if (p->w40 != t->received) {
        sess_proto_error(s, "Data-In out of order, overlapping or leaving a gap");
        return -EPROTO;
    }
    if ((p->flags & ISCSI_F_STATUS) && !(p->flags & ISCSI_F_FINAL)) {
        sess_proto_error(s, "Data-In with S but not F");
        return -EPROTO;
    }
    s->rx_task = t;
    return 0;
}

void scsi_place(struct iscsi_task *t, uint32_t off, const uint8_t *src, uint32_t n)
{
    const struct blk_iov *v = t->cmd->iov;
    for (int i = 0; i < t->cmd->niov && n; i++) {
        if (off >= v[i].len) {
            off -= (uint32_t)v[i].len;
            continue;
        }
        uint32_t k = (uint32_t)v[i].len - off < n ? (uint32_t)v[i].len - off : n;
        memcpy((uint8_t *)v[i].base + off, src, k);
        src += k;
        n -= k;
        off = 0;
    }
}

static void task_retry(struct iscsi_session *s, struct iscsi_task *t, uint64_t delay, const char *why)
{
    uint64_t now = time_ns();
    s->stats.retries++;
    t->retries++;
    if (now + delay > t->deadline) {
        log_err("iscsi: command %#x gave up after %d retries (%s)\n", t->cmd->cdb[0], t->retries, why);
        s->stats.timeouts++;
        task_finish(s, t, -ETIMEDOUT);
        return;
    }
    log_debug("iscsi: command %#x retried (%s)\n", t->cmd->cdb[0], why);
    t->state = TS_QUEUED;
    t->not_before = now + delay;
}

static uint64_t backoff(const struct iscsi_task *t)
{
    uint64_t d = 10 * MS << (t->retries < 7 ? t->retries : 7);
    return d > 1000 * MS ? 1000 * MS : d;
}

/* CHECK CONDITION: decode fixed (0x70/0x71) or descriptor (0x72/0x73) sense (SPC-4 4.5). */
static void task_check_condition(struct iscsi_session *s, struct iscsi_task *t, const uint8_t *sense, uint32_t n)
{
    struct iscsi_cmd *c = t->cmd;
    uint8_t code = n ? sense[0] & 0x7f : 0;
    if ((code == 0x70 || code == 0x71) && n >= 14) {
        c->sense_key = sense[2] & 15; c->asc = sense[12]; c->ascq = sense[13];
    } else if ((code == 0x72 || code == 0x73) && n >= 4) {
        c->sense_key = sense[1] & 15; c->asc = sense[2]; c->ascq = sense[3];
    } else {
        c->sense_key = 0xf;                   /* unknown: not retried */
    }
    if (c->sense_key == 6 && t->retries < UA_RETRIES) {
        task_retry(s, t, 0, "unit attention");
        return;
    }
    if (c->sense_key == 2) {
        task_retry(s, t, backoff(t), "not ready");
        return;
    }
    log_err("iscsi: command %#x failed: sense key %u (%s) asc %#04x ascq %#04x\n", c->cdb[0], c->sense_key,
            sense_names[c->sense_key], c->asc, c->ascq);
    task_finish(s, t, -EIO);
}

/* The residual of a status PDU (RFC 7143 11.4.5): O and U exclusive, an underflow never more than the
 * Expected Data Transfer Length. Returns 0 with *resid, or -EPROTO after dropping the connection. */
static int status_resid(struct iscsi_session *s, const struct iscsi_task *t, const struct iscsi_pdu *p,
                        uint32_t *resid)
{
    int u = (p->flags & ISCSI_F_UNDERFLOW) != 0, o = (p->flags & ISCSI_F_OVERFLOW) != 0;
    if (u && o) {
        sess_proto_error(s, "residual both overflow and underflow");
        return -EPROTO;
    }
    if (u && p->w44 > t->cmd->len) {
        sess_proto_error(s, "residual larger than the expected transfer");
        return -EPROTO;
    }
    *resid = u ? p->w44 : 0;
    return 0;
}

static void task_status(struct iscsi_session *s, struct iscsi_task *t, uint8_t status, const uint8_t *sense,
                        uint32_t slen, uint32_t resid)
{
    struct iscsi_cmd *c = t->cmd;
    switch (status) {
    case SAM_GOOD:
        /* Bytes [0, received) were placed (in order, gapless): never report more than those. */
        c->resid = resid > c->len - t->received ? resid : c->len - t->received;
        if (!c->allow_short && (resid || t->received != c->len)) {
            log_err("iscsi: command %#x returned %u of %u bytes\n", c->cdb[0], t->received, c->len);
            task_finish(s, t, -EIO);
        } else {
            task_finish(s, t, 0);
        }
        break;
    case SAM_CHECK_CONDITION:
        task_check_condition(s, t, sense, slen);
        break;
    case SAM_BUSY:
    case SAM_TASK_SET_FULL:
        task_retry(s, t, backoff(t), status == SAM_BUSY ? "busy" : "task set full");
        break;
    default:
        log_err("iscsi: command %#x failed with SCSI status %#x\n", c->cdb[0], status);
        task_finish(s, t, -EIO);
        break;
    }
}

void scsi_data_in_end(struct iscsi_session *s, const struct iscsi_pdu *p)
{
    struct iscsi_task *t = s->rx_task;
    int st = (p->flags & ISCSI_F_STATUS) != 0;
    uint32_t resid = 0;
    s->rx_task = NULL;
    if (!t)
        return;
    t->received += p->dlen;
    t->exp_datasn++;
    if (st && status_resid(s, t, p, &resid) < 0)
        return;
    sess_update_sn(s, p, st);
    if (st)
        task_status(s, t, p->b3, NULL, 0, resid);
}

void scsi_rsp_rx(struct iscsi_session *s, const struct iscsi_pdu *p, const uint8_t *data, uint32_t len)
{
    struct iscsi_task *t = scsi_task_by_itt(s, p->itt);
    const uint8_t *sense = NULL;
    uint32_t slen = 0, resid;
    if (!t) {
        sess_proto_error(s, "SCSI Response for an unknown ITT");
        return;
    }
    if (status_resid(s, t, p, &resid) < 0)
        return;
    sess_update_sn(s, p, 1);
    if (len == 1) {                         /* RFC 7143 11.4.7: a data segment starts with SenseLength */
        sess_proto_error(s, "sense data segment shorter than its length field");
        return;
    }
    if (len >= 2) {
        slen = get_be16(data);
        if (slen + 2 > len) {
            sess_proto_error(s, "sense length past the data segment");
            return;
        }
        sense = data + 2;
    }
    if (p->b2) {                            /* iSCSI response: target failure (RFC 7143 11.4.3) */
        task_retry(s, t, backoff(t), "target failure response");
        return;
    }
    task_status(s, t, p->b3, sense, slen, resid);
}

void scsi_requeue_all(struct iscsi_session *s)
{
    for (int i = 0; i < ISCSI_MAX_TASKS; i++)
        if (s->tasks[i].state == TS_SENT) {
            s->tasks[i].state = TS_QUEUED;
            s->tasks[i].gen = (uint16_t)((s->tasks[i].gen + 1) & 0x7fff);
        }
    s->rx_task = NULL;
}

void scsi_fail_all(struct iscsi_session *s, int err)
{
    for (int i = 0; i < ISCSI_MAX_TASKS; i++)
        if (s->tasks[i].state != TS_FREE)
            task_finish(s, &s->tasks[i], err);
}

void scsi_check_timeouts(struct iscsi_session *s, uint64_t now)
{
    int sent = 0;
    for (int i = 0; i < ISCSI_MAX_TASKS; i++) {
        struct iscsi_task *t = &s->tasks[i];
        if (t->state == TS_FREE || now <= t->deadline)
            continue;
        sent |= t->state == TS_SENT;
        s->stats.timeouts++;
        log_err("iscsi: command %#x timed out\n", t->cmd->cdb[0]);
        task_finish(s, t, -ETIMEDOUT);
    }
    /* ERL 0 has no per-task recovery here: a command lost on a live connection resets it. */
    if (sent && s->state == SS_FFP)
        sess_drop(s, -ETIMEDOUT, "command timed out");
}
