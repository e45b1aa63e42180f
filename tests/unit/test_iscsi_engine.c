/* Unit tests: the iSCSI engine against a scripted in-memory target (login, window, Data-In, errors, blk_dev). */
#define TEST_SUITE "iscsi_engine"
#include <stdlib.h>
#include "tests/unit/test.h"
#include "net/iscsi/iscsi.h"
#include "net/iscsi/pdu.h"
#include "kernel/crc32c.h"
#include "kernel/errno.h"
#include "kernel/time.h"

/* The mock transport keeps what the engine sent; tests parse it PDU by PDU. */
static struct mock {
    uint8_t out[1 << 16];
    size_t len, pos;
    int connects, closes, events[8];
    int hdig, ddig;               /* digests the parser expects on engine output */
} m;

static int mk_connect(void *c, const char *h, uint16_t p) { (void)c; (void)h; (void)p; m.connects++; return 0; }
static int mk_send(void *c, const void *b, size_t n)
{
    (void)c;
    if (m.len + n > sizeof(m.out))
        n = sizeof(m.out) - m.len;
    memcpy(m.out + m.len, b, n);
    m.len += n;
    return (int)n;
}
static void mk_close(void *c) { (void)c; m.closes++; }
static const struct iscsi_transport mock_tr = { mk_connect, mk_send, mk_close, NULL };
static void on_ev(struct iscsi_session *s, enum iscsi_event e, int err, void *a) { (void)s; (void)err; (void)a; m.events[e]++; }

/* Next PDU the engine sent: header into *p, data segment copied to data. Returns 0 or -1 (none). */
static int next_out(struct iscsi_pdu *p, uint8_t *data)
{
    if (m.pos + 48 > m.len)
        return -1;
    iscsi_pdu_decode(m.out + m.pos, p);
    p->opcode = m.out[m.pos] & 0x3f;
    memcpy(p->cdb, m.out + m.pos + 32, 16);
    m.pos += 48 + (m.hdig ? 4 : 0);
    if (data)
        memcpy(data, m.out + m.pos, p->dlen);
    m.pos += p->dlen + iscsi_pad(p->dlen) + (p->dlen && m.ddig ? 4 : 0);
    return 0;
}

/* Encode a target PDU (with digests when asked) into b; returns its length on the wire. */
static size_t wire_pdu(uint8_t *b, struct iscsi_pdu *p, const void *data, uint32_t dlen, int hd, int dd)
{
    size_t n = 48;
    p->dlen = dlen;
    iscsi_pdu_encode(p, b);
    b[0] = p->opcode;                                  /* target opcodes carry no I bit */
    if (hd) {
        uint32_t c = crc32c(0, b, 48);
        memcpy(b + n, &c, 4);
        n += 4;
    }
    if (dlen)
        memcpy(b + n, data, dlen);
    n += dlen + iscsi_pad(dlen);
    if (dd && dlen) {
        uint32_t c = crc32c(0, b + n - dlen - iscsi_pad(dlen), dlen + iscsi_pad(dlen));
        memcpy(b + n, &c, 4);
        n += 4;
    }
    return n;
}

/* Feed a target PDU (with digests when asked). */
static void feed(struct iscsi_session *s, struct iscsi_pdu *p, const void *data, uint32_t dlen, int hd, int dd)
{
    uint8_t b[48 + 4 + 4096 + 8] = { 0 };
    size_t n = wire_pdu(b, p, data, dlen, hd, dd);
    for (size_t i = 0; i < n; i += 7)                  /* in small pieces: reassembly must cope */
        iscsi_conn_recv(s, b + i, n - i < 7 ? n - i : 7);
}

static const char oper_keys_none[] = "HeaderDigest=None\0DataDigest=None\0MaxRecvDataSegmentLength=8192\0"
                                     "ErrorRecoveryLevel=0\0MaxConnections=1\0InitialR2T=Yes\0ImmediateData=No\0"
                                     "MaxBurstLength=262144\0FirstBurstLength=65536\0DefaultTime2Wait=0\0";

/* Answer a (re)connect's login through AuthMethod=None; MaxCmdSN = max_cmdsn. */
static void login_steps(struct iscsi_session *s, uint32_t max_cmdsn)
{
    struct iscsi_pdu o, r;
    uint8_t data[4096];
    iscsi_conn_up(s);
    if (next_out(&o, data) < 0) {                       /* no login went out: nothing to answer */
        CHECK(!"login request sent");
        return;
    }
    CHECK_EQ(o.opcode, ISCSI_OP_LOGIN_REQ);
    CHECK_EQ(o.flags, 0x81);                            /* T, CSG 0, NSG 1 */
    CHECK(memmem(data, o.dlen, "AuthMethod=None", 16) != NULL);
    r = (struct iscsi_pdu){ .opcode = ISCSI_OP_LOGIN_RSP, .flags = 0x81, .itt = o.itt, .sn1 = 100, .sn2 = 1, .sn3 = max_cmdsn };
    feed(s, &r, "AuthMethod=None", 16, 0, 0);
    CHECK_EQ(next_out(&o, data), 0);
    CHECK_EQ(o.flags, 0x87);                            /* T, CSG 1, NSG 3 */
    CHECK_EQ(o.sn2, 101);                               /* ExpStatSN */
    r = (struct iscsi_pdu){ .opcode = ISCSI_OP_LOGIN_RSP, .flags = 0x87, .itt = o.itt, .sn1 = 101, .sn2 = 1, .sn3 = max_cmdsn };
    feed(s, &r, oper_keys_none, sizeof(oper_keys_none), 0, 0);
}

/* Log a new session in through AuthMethod=None; MaxCmdSN = max_cmdsn. */
static struct iscsi_session *login(uint32_t max_cmdsn)
{
    struct iscsi_config cfg = { .host = "mock", .target = "iqn.t:x", .lun = 1 };
    struct iscsi_session *s;
    memset(&m, 0, sizeof(m));
    s = iscsi_session_new(&cfg, &mock_tr, on_ev, NULL);
    CHECK(s != NULL);
    CHECK_EQ(iscsi_session_start(s, time_ns()), 0);
    login_steps(s, max_cmdsn);
    CHECK_EQ(m.events[ISCSI_EV_READY], 1);
    return s;
}

static int done_count, done_status;
static void cmd_done(struct iscsi_cmd *c, int st) { (void)c; done_count++; done_status = st; }

static void read_cmd(struct iscsi_cmd *c, struct blk_iov *v, uint8_t *buf, uint32_t len)
{
    memset(c, 0, sizeof(*c));
    c->cdb[0] = 0x28;
    c->cdb[8] = (uint8_t)(len / 512);
    c->cdb_len = 10;
    v->base = buf;
    v->len = len;
    c->iov = v;
    c->niov = 1;
    c->len = len;
    c->done = cmd_done;
}

TEST(login_then_read_with_data_in_placement)
{
    struct iscsi_session *s = login(64);
    struct iscsi_cmd c;
    struct blk_iov v;
    static uint8_t buf[1024], src[1024];
    struct iscsi_pdu o;
    for (int i = 0; i < 1024; i++)
        src[i] = (uint8_t)(i * 13);
    read_cmd(&c, &v, buf, 1024);
    done_count = 0;
    uint64_t t0 = time_ns();
    CHECK_EQ(iscsi_cmd_submit(s, &c, t0 - 5000000), 0);   /* submitted 5 ms ago: the latency counts from then */
    CHECK_EQ(next_out(&o, NULL), 0);
    CHECK_EQ(o.opcode, ISCSI_OP_SCSI_CMD);
    CHECK_EQ(o.flags, 0xc1);
    CHECK_EQ(o.w20, 1024);                              /* EDTL */
    CHECK_EQ(o.sn1, 1);                                 /* CmdSN */
    CHECK_EQ(o.sn2, 102);                               /* ExpStatSN */
    CHECK_EQ(o.cdb[0], 0x28);
    struct iscsi_pdu d = { .opcode = ISCSI_OP_DATA_IN, .itt = o.itt, .w20 = ISCSI_RSVD_TAG, .sn2 = 2, .sn3 = 65,
                           .w36 = 0, .w40 = 0 };
    feed(s, &d, src, 512, 0, 0);                        /* in order: DataPDUInOrder=Yes (RFC 7143 13.19) */
    CHECK_EQ(done_count, 0);
    d.w36 = 1; d.w40 = 512; d.flags = ISCSI_F_FINAL | ISCSI_F_STATUS; d.sn1 = 102;
    feed(s, &d, src + 512, 512, 0, 0);
    CHECK_EQ(done_count, 1);
    CHECK_EQ(done_status, 0);
    CHECK_MEM(buf, src, 1024);
    CHECK_EQ(m.closes, 0);
    const struct iscsi_stats *st = iscsi_session_stats(s);
    CHECK_EQ(st->completed, 1);
    CHECK(st->latency_ns >= 5000000 && st->latency_ns <= 5000000 + (time_ns() - t0));
    iscsi_session_free(s);
}

TEST(data_in_outside_buffer_drops_connection)
{
    struct iscsi_session *s = login(64);
    struct iscsi_cmd c;
    struct blk_iov v;
    static uint8_t buf[1024], src[512];
    struct iscsi_pdu o;
    read_cmd(&c, &v, buf, 1024);
    done_count = 0;
    iscsi_cmd_submit(s, &c, time_ns());
    next_out(&o, NULL);
    struct iscsi_pdu d = { .opcode = ISCSI_OP_DATA_IN, .itt = o.itt, .sn2 = 2, .sn3 = 65, .w40 = 768 };
    feed(s, &d, src, 512, 0, 0);                        /* 768 + 512 > 1024 */
    CHECK_EQ(m.closes, 1);
    CHECK_EQ(done_count, 0);                            /* requeued for the next connection, not failed */
    CHECK_EQ(iscsi_session_stats(s)->proto_errors, 1);
    CHECK_MEM(buf + 768, (uint8_t[256]){ 0 }, 256);     /* nothing written past the check */
    iscsi_session_close(s, time_ns());
    CHECK_EQ(done_count, 1);
    CHECK_EQ(done_status, -ECANCELED);
    iscsi_session_free(s);
}

TEST(unknown_itt_and_bad_opcode_drop_connection)
{
    struct iscsi_session *s = login(64);
    struct iscsi_pdu d = { .opcode = ISCSI_OP_SCSI_RSP, .itt = 0x1234, .sn2 = 1, .sn3 = 64 };
    feed(s, &d, NULL, 0, 0, 0);
    CHECK_EQ(m.closes, 1);
    iscsi_session_free(s);
    s = login(64);
    struct iscsi_pdu b = { .opcode = 0x05 };
    feed(s, &b, NULL, 0, 0, 0);
    CHECK_EQ(m.closes, 1);
    iscsi_session_free(s);
}

TEST(cmdsn_window_limits_commands_in_flight)
{
    struct iscsi_session *s = login(32);               /* ExpCmdSN 1, MaxCmdSN 32: 32 may go */
    static struct iscsi_cmd c[40];
    static struct blk_iov v[40];
    static uint8_t buf[40][512];
    struct iscsi_pdu o;
    int sent = 0;
    for (int i = 0; i < 40; i++) {
        read_cmd(&c[i], &v[i], buf[i], 512);
        CHECK_EQ(iscsi_cmd_submit(s, &c[i], time_ns()), 0);
    }
    while (next_out(&o, NULL) == 0)
        sent += o.opcode == ISCSI_OP_SCSI_CMD;
    CHECK_EQ(sent, 32);
    /* A NOP-In (unsolicited) opens the window to 40. */
    struct iscsi_pdu n = { .opcode = ISCSI_OP_NOP_IN, .flags = 0x80, .itt = ISCSI_RSVD_TAG, .w20 = ISCSI_RSVD_TAG,
                           .sn1 = 102, .sn2 = 1, .sn3 = 40 };
    feed(s, &n, NULL, 0, 0, 0);
    iscsi_poll(s, time_ns());
    while (next_out(&o, NULL) == 0)
        sent += o.opcode == ISCSI_OP_SCSI_CMD;
    CHECK_EQ(sent, 40);
    iscsi_session_close(s, time_ns());
    iscsi_session_free(s);
}

TEST(nop_in_ping_is_answered_with_ttt)
{
    struct iscsi_session *s = login(64);
    struct iscsi_pdu o, n = { .opcode = ISCSI_OP_NOP_IN, .flags = 0x80, .itt = ISCSI_RSVD_TAG, .w20 = 0xabcd,
                              .sn1 = 102, .sn2 = 1, .sn3 = 64 };
    iscsi_lun_encode(1, n.lun);
    feed(s, &n, NULL, 0, 0, 0);
    CHECK_EQ(next_out(&o, NULL), 0);
    CHECK_EQ(o.opcode, ISCSI_OP_NOP_OUT);
    CHECK_U64(o.itt, ISCSI_RSVD_TAG);
    CHECK_EQ(o.w20, 0xabcd);
    CHECK_EQ(o.lun[1], 1);
    iscsi_session_free(s);
}

TEST(check_condition_fails_with_sense_and_unit_attention_retries)
{
    struct iscsi_session *s = login(64);
    struct iscsi_cmd c;
    struct blk_iov v;
    static uint8_t buf[512];
    struct iscsi_pdu o;
    uint8_t sense[2 + 18] = { 0, 18, 0x70, 0, 6, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x29, 0 };
    read_cmd(&c, &v, buf, 512);
    done_count = 0;
    iscsi_cmd_submit(s, &c, time_ns());
    next_out(&o, NULL);
    struct iscsi_pdu r = { .opcode = ISCSI_OP_SCSI_RSP, .flags = 0x80, .b3 = 2, .itt = o.itt, .sn1 = 102, .sn2 = 2, .sn3 = 65 };
    feed(s, &r, sense, sizeof(sense), 0, 0);            /* UNIT ATTENTION: reissued at once */
    CHECK_EQ(done_count, 0);
    CHECK_EQ(next_out(&o, NULL), 0);
    CHECK_EQ(o.opcode, ISCSI_OP_SCSI_CMD);
    sense[4] = 5; sense[14] = 0x24;                     /* ILLEGAL REQUEST, INVALID FIELD IN CDB */
    r.itt = o.itt; r.sn1 = 103; r.sn2 = 3;
    feed(s, &r, sense, sizeof(sense), 0, 0);
    CHECK_EQ(done_count, 1);
    CHECK_EQ(done_status, -EIO);
    CHECK_EQ(c.sense_key, 5);
    CHECK_EQ(c.asc, 0x24);
    iscsi_session_free(s);
}

TEST(digests_checked_on_receive)
{
    struct iscsi_config cfg = { .host = "mock", .target = "iqn.t:x", .header_digest = 1, .data_digest = 1 };
    static const char keys[] = "HeaderDigest=CRC32C\0DataDigest=CRC32C\0MaxRecvDataSegmentLength=8192\0";
    struct iscsi_session *s;
    struct iscsi_pdu o, r;
    uint8_t data[4096];
    memset(&m, 0, sizeof(m));
    s = iscsi_session_new(&cfg, &mock_tr, on_ev, NULL);
    iscsi_session_start(s, time_ns());
    iscsi_conn_up(s);
    next_out(&o, data);
    r = (struct iscsi_pdu){ .opcode = ISCSI_OP_LOGIN_RSP, .flags = 0x81, .itt = o.itt, .sn1 = 1, .sn2 = 1, .sn3 = 8 };
    feed(s, &r, "AuthMethod=None", 16, 0, 0);
    next_out(&o, data);
    CHECK(memmem(data, o.dlen, "HeaderDigest=CRC32C,None", 25) != NULL);
    r = (struct iscsi_pdu){ .opcode = ISCSI_OP_LOGIN_RSP, .flags = 0x87, .itt = o.itt, .sn1 = 2, .sn2 = 1, .sn3 = 8 };
    feed(s, &r, keys, sizeof(keys), 0, 0);
    CHECK_EQ(iscsi_session_params(s)->header_digest, 1);
    CHECK_EQ(iscsi_session_params(s)->data_digest, 1);
    /* A correct NOP-In with digests is accepted; one with a broken header digest drops the link. */
    struct iscsi_pdu n = { .opcode = ISCSI_OP_NOP_IN, .flags = 0x80, .itt = ISCSI_RSVD_TAG, .w20 = ISCSI_RSVD_TAG, .sn2 = 1, .sn3 = 8, .sn1 = 3 };
    feed(s, &n, NULL, 0, 1, 1);
    CHECK_EQ(m.closes, 0);
    uint8_t b[52];
    n.dlen = 0;
    iscsi_pdu_encode(&n, b);
    b[0] = ISCSI_OP_NOP_IN;
    memset(b + 48, 0x55, 4);
    iscsi_conn_recv(s, b, 52);
    CHECK_EQ(m.closes, 1);
    iscsi_session_free(s);
}

TEST(chap_wrong_login_status_is_fatal)
{
    struct iscsi_config cfg = { .host = "mock", .target = "iqn.t:x", .chap_user = "u", .chap_secret = "s" };
    struct iscsi_session *s;
    struct iscsi_pdu o, r;
    uint8_t data[4096];
    memset(&m, 0, sizeof(m));
    s = iscsi_session_new(&cfg, &mock_tr, on_ev, NULL);
    iscsi_session_start(s, time_ns());
    iscsi_conn_up(s);
    next_out(&o, data);
    CHECK(memmem(data, o.dlen, "AuthMethod=CHAP", 16) != NULL);
    r = (struct iscsi_pdu){ .opcode = ISCSI_OP_LOGIN_RSP, .flags = 0x00, .itt = o.itt, .sn1 = 1, .sn2 = 1, .sn3 = 8 };
    feed(s, &r, "AuthMethod=CHAP", 16, 0, 0);
    next_out(&o, data);
    CHECK(memmem(data, o.dlen, "CHAP_A=5", 9) != NULL);
    static const char ch[] = "CHAP_A=5\0CHAP_I=1\0CHAP_C=0x000102030405060708090a0b0c0d0e0f";
    feed(s, &r, ch, sizeof(ch), 0, 0);
    next_out(&o, data);
    CHECK(memmem(data, o.dlen, "CHAP_N=u", 9) != NULL);
    /* R = MD5(0x01 || "s" || 00..0f), checked independently with Python's hashlib. */
    CHECK(memmem(data, o.dlen, "CHAP_R=0x", 9) != NULL);
    r.w36 = 0x02010000;                                 /* authentication failure */
    feed(s, &r, NULL, 0, 0, 0);
    CHECK_EQ(m.events[ISCSI_EV_FAILED], 1);
    iscsi_session_free(s);
}

static int blk_status = 1;
static void blk_done(struct blk_req *r, int st) { (void)r; blk_status = st; }

TEST(lun_refuses_writes)
{
    struct iscsi_config cfg = { .host = "mock", .target = "iqn.t:x", .lun = 1 };
    struct iscsi_lun *l = iscsi_lun_new(&cfg, &mock_tr, NULL, NULL);
    struct blk_dev *d = iscsi_lun_dev(l);
    static uint8_t buf[512];
    struct blk_req r = { .op = BLK_WRITE, .lba = 0, .nr = 1, .niov = 1, .done = blk_done };
    r.iov[0].base = buf;
    r.iov[0].len = 512;
    d->sectors = 8;
    CHECK_EQ(blk_submit(d, &r), -EROFS);
    CHECK_EQ(d->ops->submit(d, &r), -EROFS);            /* even bypassing blk_submit's check */
    r.op = BLK_DISCARD;
    CHECK_EQ(d->ops->submit(d, &r), -EROFS);
    CHECK_EQ(blk_status, 1);                            /* done never called */
    CHECK(d->read_only);
    iscsi_lun_free(l);
}

TEST(keepalive_timeout_and_reconnect_reissue)
{
    struct iscsi_session *s = login(64);
    struct iscsi_cmd c;
    struct blk_iov v;
    static uint8_t buf[512];
    struct iscsi_pdu o;
    uint64_t t = time_ns();
    read_cmd(&c, &v, buf, 512);
    c.timeout_ns = 60ull * 1000000000;
    done_count = 0;
    iscsi_cmd_submit(s, &c, t);
    CHECK_EQ(next_out(&o, NULL), 0);
    CHECK_EQ(o.opcode, ISCSI_OP_SCSI_CMD);
    iscsi_poll(s, t + 6000000000ull);                   /* idle past nop_interval: a ping goes out */
    CHECK_EQ(next_out(&o, NULL), 0);
    CHECK_EQ(o.opcode, ISCSI_OP_NOP_OUT);
    CHECK(o.itt != ISCSI_RSVD_TAG);
    CHECK_U64(o.w20, ISCSI_RSVD_TAG);
    iscsi_poll(s, t + 17000000000ull);                  /* unanswered: connection dead */
    CHECK_EQ(m.closes, 1);
    CHECK_EQ(done_count, 0);
    iscsi_poll(s, t + 20000000000ull);                  /* after the backoff: reconnect */
    CHECK_EQ(m.connects, 2);
    iscsi_conn_up(s);                                   /* relogin, then the read is reissued */
    m.pos = m.len;
    iscsi_session_free(s);
}

TEST(request_timeout_fails_with_etimedout)
{
    struct iscsi_session *s = login(64);
    struct iscsi_cmd c;
    struct blk_iov v;
    static uint8_t buf[512];
    struct iscsi_pdu o;
    uint64_t t = time_ns();
    read_cmd(&c, &v, buf, 512);
    c.timeout_ns = 1000000000ull;
    done_count = 0;
    iscsi_cmd_submit(s, &c, t);
    next_out(&o, NULL);
    iscsi_poll(s, t + 2000000000ull);
    CHECK_EQ(done_count, 1);
    CHECK_EQ(done_status, -ETIMEDOUT);
    CHECK_EQ(m.closes, 1);                              /* ERL 0: the lost command resets the link */
    iscsi_session_free(s);
}

TEST(busy_status_is_retried)
{
    struct iscsi_session *s = login(64);
    struct iscsi_cmd c;
    struct blk_iov v;
    static uint8_t buf[512];
    struct iscsi_pdu o;
    read_cmd(&c, &v, buf, 512);
    done_count = 0;
    iscsi_cmd_submit(s, &c, time_ns());
    next_out(&o, NULL);
    struct iscsi_pdu r = { .opcode = ISCSI_OP_SCSI_RSP, .flags = 0x80, .b3 = 0x08, .itt = o.itt, .sn1 = 102, .sn2 = 2, .sn3 = 65 };
    feed(s, &r, NULL, 0, 0, 0);
    CHECK_EQ(done_count, 0);
    iscsi_poll(s, time_ns() + 50000000ull);             /* after the backoff it goes again */
    CHECK_EQ(next_out(&o, NULL), 0);
    CHECK_EQ(o.opcode, ISCSI_OP_SCSI_CMD);
    CHECK_EQ(iscsi_session_stats(s)->retries, 1);
    iscsi_session_free(s);
}

/* A zero-copy transport: wire bytes go straight into the engine's window when it has one (at most step
 * at a time), else through iscsi_conn_recv one byte at a time (so every window opens before its payload is
 * read). Returns the bytes placed through the window. */
static size_t zc_feed(struct iscsi_session *s, const uint8_t *w, size_t n, size_t step)
{
    size_t pos = 0, placed = 0;
    int closes = m.closes;
    while (pos < n && m.closes == closes) {
        void *dst;
        size_t win = iscsi_conn_rx_window(s, &dst), k;
        if (win) {
            k = win < step ? win : step;
            k = k < n - pos ? k : n - pos;
            memcpy(dst, w + pos, k);
            iscsi_conn_rx_placed(s, k);
            placed += k;
        } else {
            CHECK(dst == NULL);
            k = 1;
            iscsi_conn_recv(s, w + pos, k);
        }
        pos += k;
    }
    return placed;
}

TEST(zero_copy_places_across_iovecs_and_pdus)
{
    struct iscsi_session *s = login(64);
    struct iscsi_cmd c;
    struct blk_iov v[3];
    static uint8_t a[1000], b[3096], src[4096], w[2 * (48 + 4096 + 4)];
    struct iscsi_pdu o;
    size_t n;
    for (int i = 0; i < 4096; i++)
        src[i] = (uint8_t)(i * 7 + 3);
    read_cmd(&c, v, a, 4096);
    v[0] = (struct blk_iov){ a, 1000 };
    v[1] = (struct blk_iov){ b, 0 };                    /* empty elements are skipped */
    v[2] = (struct blk_iov){ b, 3096 };
    c.niov = 3;
    done_count = 0;
    CHECK_EQ(iscsi_cmd_submit(s, &c, time_ns()), 0);
    CHECK_EQ(next_out(&o, NULL), 0);
    /* Two Data-In PDUs back to back, odd lengths (padding), the first crossing the iovec boundary. */
    struct iscsi_pdu d = { .opcode = ISCSI_OP_DATA_IN, .itt = o.itt, .w20 = ISCSI_RSVD_TAG, .sn2 = 2, .sn3 = 65 };
    n = wire_pdu(w, &d, src, 1501, 0, 0);
    d.w36 = 1; d.w40 = 1501; d.flags = ISCSI_F_FINAL | ISCSI_F_STATUS; d.sn1 = 102;
    n += wire_pdu(w + n, &d, src + 1501, 2595, 0, 0);
    uint64_t in0 = iscsi_session_stats(s)->bytes_in;
    CHECK_EQ(zc_feed(s, w, n, 700), 4096);              /* every payload byte went through the window */
    CHECK_EQ(done_count, 1);
    CHECK_EQ(done_status, 0);
    CHECK_MEM(a, src, 1000);
    CHECK_MEM(b, src + 1000, 3096);
    CHECK_EQ(m.closes, 0);
    CHECK_EQ(iscsi_session_stats(s)->bytes_in - in0, n);
    iscsi_session_free(s);
}

TEST(zero_copy_tail_hint_stops_at_next_header)
{
    struct iscsi_session *s = login(64);
    struct iscsi_cmd c;
    struct blk_iov v;
    static uint8_t buf[40000], src[40000], w[48 + 40000];
    struct iscsi_pdu o;
    void *dst;
    for (int i = 0; i < 40000; i++)
        src[i] = (uint8_t)(i * 11);
    read_cmd(&c, &v, buf, 40000);
    done_count = 0;
    iscsi_cmd_submit(s, &c, time_ns());
    next_out(&o, NULL);
    struct iscsi_pdu d = { .opcode = ISCSI_OP_DATA_IN, .itt = o.itt, .w20 = ISCSI_RSVD_TAG, .sn2 = 2, .sn3 = 65,
                           .flags = ISCSI_F_FINAL | ISCSI_F_STATUS, .sn1 = 102 };
    size_t n = wire_pdu(w, &d, src, 40000, 0, 0);
    CHECK_EQ(iscsi_conn_rx_tail(s), SIZE_MAX);           /* no large segment seen yet: read freely */
    iscsi_conn_recv(s, w, 48);
    CHECK_EQ(iscsi_conn_rx_window(s, &dst), 40000);
    CHECK(dst == buf);
    CHECK_EQ(iscsi_conn_rx_tail(s), 48);                /* after the window: just the next BHS */
    memcpy(buf, w + 48, 30000);
    iscsi_conn_rx_placed(s, 30000);
    CHECK_EQ(iscsi_conn_rx_window(s, &dst), 10000);
    CHECK(dst == buf + 30000);
    memcpy(buf + 30000, w + 48 + 30000, 10000);
    iscsi_conn_rx_placed(s, 10000);
    CHECK_EQ(n, 48 + 40000);
    CHECK_EQ(done_count, 1);
    CHECK_EQ(done_status, 0);
    CHECK_MEM(buf, src, 40000);
    CHECK_EQ(iscsi_conn_rx_window(s, &dst), 0);
    CHECK_EQ(iscsi_conn_rx_tail(s), 48);                /* streaming: read the next header alone */
    iscsi_session_free(s);
}

TEST(zero_copy_rejects_out_of_range_data_in_before_placement)
{
    struct iscsi_session *s = login(64);
    struct iscsi_cmd c;
    struct blk_iov v;
    static uint8_t buf[1024], src[512], w[48 + 512];
    struct iscsi_pdu o;
    void *dst = buf;
    memset(src, 0xa5, sizeof(src));
    memset(buf, 0, sizeof(buf));
    read_cmd(&c, &v, buf, 1024);
    done_count = 0;
    iscsi_cmd_submit(s, &c, time_ns());
    next_out(&o, NULL);
    struct iscsi_pdu d = { .opcode = ISCSI_OP_DATA_IN, .itt = o.itt, .sn2 = 2, .sn3 = 65, .w40 = 768 };
    size_t n = wire_pdu(w, &d, src, 512, 0, 0);          /* 768 + 512 > 1024 */
    CHECK_EQ(zc_feed(s, w, n, 64), 0);
    CHECK_EQ(m.closes, 1);
    CHECK_EQ(iscsi_session_stats(s)->proto_errors, 1);
    CHECK_EQ(iscsi_conn_rx_window(s, &dst), 0);
    CHECK(dst == NULL);
    CHECK_MEM(buf, (uint8_t[1024]){ 0 }, 1024);         /* nothing placed */
    iscsi_session_close(s, time_ns());
    iscsi_session_free(s);
}

TEST(zero_copy_overrun_by_transport_drops_connection)
{
    struct iscsi_session *s = login(64);
    struct iscsi_cmd c;
    struct blk_iov v;
    static uint8_t buf[1024], src[1024], w[48 + 1024];
    struct iscsi_pdu o;
    void *dst;
    read_cmd(&c, &v, buf, 1024);
    iscsi_cmd_submit(s, &c, time_ns());
    next_out(&o, NULL);
    struct iscsi_pdu d = { .opcode = ISCSI_OP_DATA_IN, .itt = o.itt, .sn2 = 2, .sn3 = 65 };
    wire_pdu(w, &d, src, 512, 0, 0);
    iscsi_conn_recv(s, w, 48);
    CHECK_EQ(iscsi_conn_rx_window(s, &dst), 512);       /* clipped to the data segment, not the iovec */
    iscsi_conn_rx_placed(s, 513);
    CHECK_EQ(m.closes, 1);
    iscsi_session_close(s, time_ns());
    iscsi_session_free(s);
}

/* Log in with both digests on. */
static struct iscsi_session *login_digests(void)
{
    struct iscsi_config cfg = { .host = "mock", .target = "iqn.t:x", .lun = 1, .header_digest = 1, .data_digest = 1 };
    static const char keys[] = "HeaderDigest=CRC32C\0DataDigest=CRC32C\0MaxRecvDataSegmentLength=8192\0";
    struct iscsi_session *s;
    struct iscsi_pdu o, r;
    uint8_t data[4096];
    memset(&m, 0, sizeof(m));
    s = iscsi_session_new(&cfg, &mock_tr, on_ev, NULL);
    iscsi_session_start(s, time_ns());
    iscsi_conn_up(s);
    next_out(&o, data);
    r = (struct iscsi_pdu){ .opcode = ISCSI_OP_LOGIN_RSP, .flags = 0x81, .itt = o.itt, .sn1 = 1, .sn2 = 1, .sn3 = 8 };
    feed(s, &r, "AuthMethod=None", 16, 0, 0);
    next_out(&o, data);
    r = (struct iscsi_pdu){ .opcode = ISCSI_OP_LOGIN_RSP, .flags = 0x87, .itt = o.itt, .sn1 = 2, .sn2 = 1, .sn3 = 8 };
    feed(s, &r, keys, sizeof(keys), 0, 0);
    CHECK_EQ(m.events[ISCSI_EV_READY], 1);
    m.hdig = m.ddig = 1;
    return s;
}

TEST(zero_copy_data_digest_verified_on_placed_bytes)
{
    struct iscsi_session *s = login_digests();
    struct iscsi_cmd c;
    struct blk_iov v[2];
    static uint8_t a[700], b[1301], src[2001], w[2 * (52 + 2004 + 4)];
    struct iscsi_pdu o;
    size_t n;
    for (int i = 0; i < 2001; i++)
        src[i] = (uint8_t)(i * 5 + 1);
    read_cmd(&c, v, a, 2001);
    v[0] = (struct blk_iov){ a, 700 };
    v[1] = (struct blk_iov){ b, 1301 };
    c.niov = 2;
    done_count = 0;
    CHECK_EQ(iscsi_cmd_submit(s, &c, time_ns()), 0);
    CHECK_EQ(next_out(&o, NULL), 0);
    struct iscsi_pdu d = { .opcode = ISCSI_OP_DATA_IN, .itt = o.itt, .w20 = ISCSI_RSVD_TAG, .sn2 = 2, .sn3 = 9,
                           .flags = ISCSI_F_FINAL | ISCSI_F_STATUS, .sn1 = 3 };
    n = wire_pdu(w, &d, src, 2001, 1, 1);
    CHECK_EQ(zc_feed(s, w, n, 333), 2001);
    CHECK_EQ(m.closes, 0);
    CHECK_EQ(done_count, 1);
    CHECK_EQ(done_status, 0);
    CHECK_MEM(a, src, 700);
    CHECK_MEM(b, src + 700, 1301);
    /* The same again with one payload byte flipped on the wire: the digest over the placed bytes fails. */
    CHECK_EQ(iscsi_cmd_submit(s, &c, time_ns()), 0);
    CHECK_EQ(next_out(&o, NULL), 0);
    d.itt = o.itt;
    d.sn1 = 4;
    n = wire_pdu(w, &d, src, 2001, 1, 1);
    w[52 + 1000] ^= 0x40;
    CHECK(zc_feed(s, w, n, 4096) > 0);
    CHECK_EQ(m.closes, 1);
    CHECK_EQ(done_count, 1);                            /* requeued for the next connection, not completed */
    CHECK_EQ(iscsi_session_stats(s)->proto_errors, 1);
    iscsi_session_close(s, time_ns());
    iscsi_session_free(s);
}

/* ---- Hostile target answers (issue 12): each is a protocol error that drops the connection and
 * reissues the command after the relogin; none may fault, complete a read with a hole or return
 * bytes that never arrived. ---- */

/* After a drop: wait out the backoff, log in again, and return the reissued command's PDU. */
static void relogin_reissued(struct iscsi_session *s, struct iscsi_pdu *o, uint8_t op)
{
    int connects = m.connects;
    iscsi_poll(s, time_ns() + 1500000000ull);           /* past the first backoff (Time2Wait 0) */
    CHECK_EQ(m.connects, connects + 1);
    m.pos = m.len;
    login_steps(s, 64);
    CHECK_EQ(next_out(o, NULL), 0);
    CHECK_EQ(o->opcode, ISCSI_OP_SCSI_CMD);
    CHECK_EQ(o->cdb[0], op);
}

/* Submit a read of len bytes into buf (allow_short as given) and return its SCSI Command PDU. */
static void submit_read(struct iscsi_session *s, struct iscsi_cmd *c, struct blk_iov *v, uint8_t *buf,
                        uint32_t len, int allow_short, struct iscsi_pdu *o)
{
    read_cmd(c, v, buf, len);
    c->allow_short = allow_short;
    done_count = 0;
    done_status = 1;
    CHECK_EQ(iscsi_cmd_submit(s, c, time_ns()), 0);
    CHECK_EQ(next_out(o, NULL), 0);
    CHECK_EQ(o->opcode, ISCSI_OP_SCSI_CMD);
}

/* The session dropped for a protocol error with the command still pending (requeued, not completed). */
static void check_dropped(struct iscsi_session *s, uint64_t errors)
{
    CHECK_EQ(m.closes, 1);
    CHECK_EQ(done_count, 0);
    CHECK_EQ(iscsi_session_stats(s)->proto_errors, errors);
    CHECK_STR(iscsi_session_state_name(s), "reconnect-wait");
}

/* Log in, submit a 512-byte read, and answer it with the target PDU a (its ITT the command's, xor
 * itt_flip) carrying data[dlen]: the session must drop with the read pending, and (relogin) reissue it. */
static void drop_on_answer(struct iscsi_pdu a, uint32_t itt_flip, const void *data, uint32_t dlen, int relogin)
{
    struct iscsi_session *s = login(64);
    struct iscsi_cmd c;
    struct blk_iov v;
    static uint8_t buf[512];
    struct iscsi_pdu o;
    submit_read(s, &c, &v, buf, 512, 1, &o);
    a.itt = o.itt ^ itt_flip;
    feed(s, &a, data, dlen, 0, 0);
    check_dropped(s, 1);
    if (relogin)
        relogin_reissued(s, &o, 0x28);
    iscsi_session_close(s, time_ns());
    iscsi_session_free(s);
}

TEST(residual_larger_than_transfer_drops_connection)
{
    /* RFC 7143 11.4.5: the residual is what was not transferred of the EDTL: never more than it. */
    drop_on_answer((struct iscsi_pdu){ .opcode = ISCSI_OP_SCSI_RSP, .flags = 0x80 | ISCSI_F_UNDERFLOW, .sn1 = 102,
                                       .sn2 = 2, .sn3 = 65, .w44 = 0xfffff000u }, 0, NULL, 0, 1);
}


TEST(data_in_status_residual_larger_than_transfer_drops_connection)
{
    static const uint8_t src[100];
    drop_on_answer((struct iscsi_pdu){ .opcode = ISCSI_OP_DATA_IN, .flags = ISCSI_F_FINAL | ISCSI_F_STATUS |
                                       ISCSI_F_UNDERFLOW, .w20 = ISCSI_RSVD_TAG, .sn1 = 102, .sn2 = 2, .sn3 = 65,
                                       .w44 = 513 }, 0, src, sizeof(src), 0);
}

TEST(overflow_and_underflow_together_drop_connection)
{
    /* RFC 7143 11.4.5.1: O and U are mutually exclusive. */
    drop_on_answer((struct iscsi_pdu){ .opcode = ISCSI_OP_SCSI_RSP, .flags = 0x80 | ISCSI_F_UNDERFLOW |
                                       ISCSI_F_OVERFLOW, .sn1 = 102, .sn2 = 2, .sn3 = 65, .w44 = 12 }, 0, NULL, 0, 0);
}

TEST(short_read_residual_never_claims_bytes_not_received)
{
    struct iscsi_session *s = login(64);
    struct iscsi_cmd c;
    struct blk_iov v;
    static uint8_t buf[96], src[36];
    struct iscsi_pdu o;
    submit_read(s, &c, &v, buf, 96, 1, &o);
    /* 36 bytes sent, but the status claims a residual of 10 (86 bytes): the caller may use only 36. */
    struct iscsi_pdu d = { .opcode = ISCSI_OP_DATA_IN, .flags = ISCSI_F_FINAL | ISCSI_F_STATUS | ISCSI_F_UNDERFLOW,
                           .itt = o.itt, .w20 = ISCSI_RSVD_TAG, .sn1 = 102, .sn2 = 2, .sn3 = 65, .w44 = 10 };
    feed(s, &d, src, 36, 0, 0);
    CHECK_EQ(done_count, 1);
    CHECK_EQ(done_status, 0);
    CHECK_EQ(c.resid, 60);
    iscsi_session_free(s);
}

/* Answer the LUN probe's commands as a disk of 1024 blocks would, except that the command with opcode
 * bad_op gets a residual larger than its transfer (READ CAPACITY: a block size of 520; 0xff: none). Returns the number of commands answered. */
static int probe_answer_all(struct iscsi_session *s, uint8_t bad_op)
{
    static uint32_t statsn = 200;
    struct iscsi_pdu o;
    int n = 0, closes = m.closes;
    while (m.closes == closes && next_out(&o, NULL) == 0) {
        uint8_t d[64] = { 0 };
        uint32_t len = 0, resid;
        if (o.opcode != ISCSI_OP_SCSI_CMD)
            continue;
        switch (o.cdb[0]) {
        case 0x12:
            if (o.cdb[1] & 1) { d[1] = o.cdb[2]; len = 4; }
            else { memcpy(d + 8, "VENDOR  PRODUCT         ", 24); len = 36; }
            break;
        case 0xa0:                                       /* a hostile list length: only got bounds it */
            put_be32(d, bad_op == 0xa0 ? 0xfffffff0u : 8);
            iscsi_lun_encode(1, d + 8);
            len = 16;
            break;
        case 0x25: put_be32(d, 1023); put_be32(d + 4, bad_op == 0x25 ? 520 : 512); len = 8; break;
        }
        resid = o.cdb[0] == bad_op && bad_op != 0x25 ? 0x7ffffff0u : o.w20 - len;
        struct iscsi_pdu a = { .opcode = ISCSI_OP_DATA_IN, .flags = ISCSI_F_FINAL | ISCSI_F_STATUS,
                               .itt = o.itt, .w20 = ISCSI_RSVD_TAG, .sn1 = statsn++, .sn2 = 2, .sn3 = 65, .w44 = resid };
        a.flags |= resid ? ISCSI_F_UNDERFLOW : 0;
        feed(s, &a, d, len, 0, 0);
        n++;
    }
    return n;
}

TEST(lun_probe_survives_report_luns_residual_overflow)
{
    struct iscsi_config cfg = { .host = "mock", .target = "iqn.t:x", .lun = 1 };
    struct iscsi_lun *l;
    struct iscsi_session *s;
    memset(&m, 0, sizeof(m));
    l = iscsi_lun_new(&cfg, &mock_tr, on_ev, NULL);
    s = iscsi_lun_session(l);
    iscsi_session_start(s, time_ns());
    login_steps(s, 64);
    CHECK(probe_answer_all(s, 0xa0) >= 5);               /* TUR, INQUIRY, 2 VPD, REPORT LUNS */
    CHECK_EQ(m.closes, 1);                               /* a protocol error, not a walk past pbuf */
    CHECK_EQ(m.events[ISCSI_EV_LUN_READY], 0);
    CHECK_EQ(iscsi_session_stats(s)->proto_errors, 1);
    iscsi_poll(s, time_ns() + 1500000000ull);            /* reconnect: the probe resumes and completes */
    m.pos = m.len;
    login_steps(s, 64);
    probe_answer_all(s, 0xff);
    CHECK_EQ(m.events[ISCSI_EV_LUN_READY], 1);
    CHECK_EQ(iscsi_lun_dev(l)->sectors, 1024);
    CHECK_STR(iscsi_lun_ident(l, 0), "VENDOR");
    iscsi_session_close(s, time_ns());
    iscsi_lun_free(l);
}

/* A 1024-byte read answered by two Data-In PDUs, DataSN 0 and 1: [0, first) then [off, off + len) with
 * status. Anything but off == first is out of order, overlapping or gapped: the session must drop. */
static void two_data_in(uint32_t first, uint32_t off, uint32_t len, int relogin)
{
    struct iscsi_session *s = login(64);
    struct iscsi_cmd c;
    struct blk_iov v;
    static uint8_t buf[1024], src[1024];
    struct iscsi_pdu o;
    memset(src, 0x5a, sizeof(src));
    submit_read(s, &c, &v, buf, 1024, 1, &o);
    struct iscsi_pdu d = { .opcode = ISCSI_OP_DATA_IN, .itt = o.itt, .w20 = ISCSI_RSVD_TAG, .sn2 = 2, .sn3 = 65 };
    feed(s, &d, src, first, 0, 0);
    d.w36 = 1;
    d.w40 = off;
    d.flags = ISCSI_F_FINAL | ISCSI_F_STATUS | (first + len < 1024 ? ISCSI_F_UNDERFLOW : 0);
    d.w44 = 1024 - first - len < 1024 ? 1024 - first - len : 0;
    d.sn1 = 102;
    feed(s, &d, src, len, 0, 0);
    check_dropped(s, 1);
    if (relogin)
        relogin_reissued(s, &o, 0x28);
    iscsi_session_close(s, time_ns());
    iscsi_session_free(s);
}

TEST(data_in_same_offset_twice_drops_connection)
{
    two_data_in(512, 0, 512, 1);        /* counted 1024 bytes, but 512..1023 would be a hole */
}

TEST(data_in_gap_drops_connection)
{
    two_data_in(256, 512, 512, 0);      /* 256..511 skipped */
}

TEST(data_in_unknown_itt_drops_connection)
{
    static const uint8_t src[512];
    drop_on_answer((struct iscsi_pdu){ .opcode = ISCSI_OP_DATA_IN, .w20 = ISCSI_RSVD_TAG, .sn2 = 2, .sn3 = 65 },
                   0x10000, src, sizeof(src), 0);       /* a stale generation of the same slot */
}

TEST(data_segment_beyond_max_recv_dsl_drops_connection)
{
    struct iscsi_session *s = login(64);
    struct iscsi_cmd c;
    struct blk_iov v;
    static uint8_t buf[512];
    struct iscsi_pdu o;
    uint8_t b[48];
    submit_read(s, &c, &v, buf, 512, 0, &o);
    struct iscsi_pdu d = { .opcode = ISCSI_OP_NOP_IN, .itt = ISCSI_RSVD_TAG, .w20 = ISCSI_RSVD_TAG, .sn2 = 2, .sn3 = 65,
                           .dlen = 262145 };            /* one byte over our MaxRecvDataSegmentLength */
    iscsi_pdu_encode(&d, b);
    b[0] = ISCSI_OP_NOP_IN;
    iscsi_conn_recv(s, b, 48);
    check_dropped(s, 1);
    iscsi_session_close(s, time_ns());
    iscsi_session_free(s);
}

TEST(bad_sense_lengths_drop_connection)
{
    static const uint8_t one[1] = { 0 }, past[20] = { 0, 40, 0x70, 0, 5 };
    const struct iscsi_pdu r = { .opcode = ISCSI_OP_SCSI_RSP, .flags = 0x80, .b3 = 2, .sn1 = 102, .sn2 = 2, .sn3 = 65 };
    drop_on_answer(r, 0, one, sizeof(one), 0);           /* no room for SenseLength */
    drop_on_answer(r, 0, past, sizeof(past), 0);         /* SenseLength 40 in 18 bytes */
}

/* A new session's login answered with the operational keys[klen]; offered[] receives what we offered. */
static struct iscsi_session *login_answering(const char *keys, uint32_t klen, uint8_t offered[4096])
{
    struct iscsi_config cfg = { .host = "mock", .target = "iqn.t:x", .lun = 1 };
    struct iscsi_session *s;
    struct iscsi_pdu o, r;
    memset(&m, 0, sizeof(m));
    s = iscsi_session_new(&cfg, &mock_tr, on_ev, NULL);
    iscsi_session_start(s, time_ns());
    iscsi_conn_up(s);
    next_out(&o, offered);
    r = (struct iscsi_pdu){ .opcode = ISCSI_OP_LOGIN_RSP, .flags = 0x81, .itt = o.itt, .sn1 = 1, .sn2 = 1, .sn3 = 8 };
    feed(s, &r, "AuthMethod=None", 16, 0, 0);
    memset(offered, 0, 4096);
    next_out(&o, offered);
    r = (struct iscsi_pdu){ .opcode = ISCSI_OP_LOGIN_RSP, .flags = 0x87, .itt = o.itt, .sn1 = 2, .sn2 = 1, .sn3 = 8 };
    feed(s, &r, keys, klen, 0, 0);
    return s;
}

TEST(login_refuses_data_out_of_order)
{
    static const char keys[] = "MaxRecvDataSegmentLength=8192\0DataPDUInOrder=No\0";
    uint8_t data[4096];
    struct iscsi_session *s = login_answering(keys, sizeof(keys), data);   /* the OR of Yes and No is Yes */
    CHECK(memmem(data, 4096, "DataPDUInOrder=Yes", 19) != NULL);
    CHECK(memmem(data, 4096, "DataSequenceInOrder=Yes", 24) != NULL);
    CHECK_EQ(m.events[ISCSI_EV_READY], 0);
    CHECK_EQ(m.closes, 1);
    iscsi_session_free(s);
}

/* ---- A session that was ready once never gives up (issue 12): one failed relogin used to mark the
 * golden LUN failed for good. ---- */

/* Run one reconnect attempt that the target refuses at login with status class/detail; returns the
 * backoff the engine chose (ns from now, to 100 ms). */
static uint64_t refused_relogin(struct iscsi_session *s, uint32_t status)
{
    const struct iscsi_stats *st = iscsi_session_stats(s);
    struct iscsi_pdu o, r;
    int connects = m.connects;
    uint64_t now = time_ns(), wait = st->retry_at - now;
    iscsi_poll(s, st->retry_at - 50000000ull);          /* not yet */
    CHECK_EQ(m.connects, connects);
    iscsi_poll(s, st->retry_at);
    CHECK_EQ(m.connects, connects + 1);
    iscsi_conn_up(s);
    while (next_out(&o, NULL) == 0 && o.opcode != ISCSI_OP_LOGIN_REQ)
        ;
    r = (struct iscsi_pdu){ .opcode = ISCSI_OP_LOGIN_RSP, .flags = 0x81, .itt = o.itt, .sn1 = 1, .sn2 = 1, .sn3 = 8,
                            .w36 = status };
    feed(s, &r, NULL, 0, 0, 0);
    CHECK_STR(iscsi_session_state_name(s), "reconnect-wait");
    m.pos = m.len;
    return (wait + 50000000ull) / 100000000ull * 100000000ull;
}

TEST(ready_session_keeps_retrying_with_capped_backoff)
{
    struct iscsi_session *s = login(64);
    static const uint64_t want[] = { 1, 2, 4, 8, 16, 30, 30 };   /* seconds before each attempt */
    const struct iscsi_stats *st = iscsi_session_stats(s);
    m.pos = m.len;
    iscsi_conn_down(s, -ECONNRESET);                   /* tgtd went away */
    for (int i = 0; i < 7; i++) {
        /* "target not found" (2/3): tgtd restarted before its target was set up again */
        uint64_t got = refused_relogin(s, 0x02030000);
        CHECK_U64(got, want[i] * 1000000000ull);
        CHECK_EQ(st->attempts, i + 1);
    }
    CHECK_EQ(st->last_err, -ENOENT);
    CHECK_EQ(m.events[ISCSI_EV_FAILED], 0);
    iscsi_poll(s, st->retry_at);                        /* the target is back: logged in again */
    m.pos = m.len;
    login_steps(s, 64);
    CHECK_STR(iscsi_session_state_name(s), "ffp");
    CHECK_EQ(st->attempts, 0);
    CHECK_EQ(st->reconnects, 1);
    iscsi_session_close(s, time_ns());
    iscsi_session_free(s);
}

TEST(persistent_session_retries_before_first_login)
{
    struct iscsi_config cfg = { .host = "mock", .target = "iqn.t:x", .lun = 1, .persistent = 1 };
    struct iscsi_session *s;
    const struct iscsi_stats *st;
    memset(&m, 0, sizeof(m));
    s = iscsi_session_new(&cfg, &mock_tr, on_ev, NULL);
    st = iscsi_session_stats(s);
    iscsi_session_start(s, time_ns());
    for (int i = 0; i < 6; i++) {                       /* the target is not up yet */
        iscsi_conn_down(s, -ECONNREFUSED);
        CHECK_STR(iscsi_session_state_name(s), "reconnect-wait");
        iscsi_poll(s, st->retry_at);
    }
    CHECK_EQ(m.connects, 7);
    CHECK_EQ(st->attempts, 6);
    CHECK_EQ(st->last_err, -ECONNREFUSED);
    CHECK_EQ(m.events[ISCSI_EV_FAILED], 0);
    login_steps(s, 64);                                 /* it came up */
    CHECK_EQ(m.events[ISCSI_EV_READY], 1);
    iscsi_session_close(s, time_ns());
    iscsi_session_free(s);
}

TEST(operator_login_still_gives_up)
{
    struct iscsi_config cfg = { .host = "mock", .target = "iqn.t:x", .lun = 1 };
    struct iscsi_session *s;
    memset(&m, 0, sizeof(m));
    s = iscsi_session_new(&cfg, &mock_tr, on_ev, NULL);
    iscsi_session_start(s, time_ns());
    for (int i = 0; i < 3; i++) {
        iscsi_conn_down(s, -ECONNREFUSED);
        iscsi_poll(s, iscsi_session_stats(s)->retry_at);
    }
    CHECK_STR(iscsi_session_state_name(s), "failed");
    CHECK_EQ(m.events[ISCSI_EV_FAILED], 1);
    iscsi_session_free(s);
}

TEST(persistent_lun_probes_again_after_a_failed_probe)
{
    struct iscsi_config cfg = { .host = "mock", .target = "iqn.t:x", .lun = 1, .persistent = 1 };
    struct iscsi_lun *l;
    struct iscsi_session *s;
    memset(&m, 0, sizeof(m));
    l = iscsi_lun_new(&cfg, &mock_tr, on_ev, NULL);
    s = iscsi_lun_session(l);
    iscsi_session_start(s, time_ns());
    for (int i = 0; i < 2; i++) {                        /* a block size shoal cannot use, twice */
        login_steps(s, 64);
        probe_answer_all(s, 0x25);
        CHECK_EQ(m.closes, i + 1);
        CHECK_EQ(iscsi_session_stats(s)->attempts, i + 1);   /* backs off as a failed attempt */
        CHECK_EQ(m.events[ISCSI_EV_LUN_READY], 0);
        iscsi_poll(s, iscsi_session_stats(s)->retry_at);
        m.pos = m.len;
    }
    login_steps(s, 64);                                  /* fixed on the target: the probe starts over */
    probe_answer_all(s, 0xff);
    CHECK_EQ(m.events[ISCSI_EV_LUN_READY], 1);
    CHECK_EQ(iscsi_session_stats(s)->attempts, 0);
    iscsi_session_close(s, time_ns());
    iscsi_lun_free(l);
}

/* ---- Nonces (issue 12): ISIDs and CHAP challenges from the entropy source; no CHAP reflection. ---- */

TEST(isid_is_random_format_with_random_qualifier)
{
    struct iscsi_config cfg = { .host = "mock", .target = "iqn.t:x", .lun = 1 };
    uint8_t first[6];
    int differ = 0;
    for (int i = 0; i < 16; i++) {
        struct iscsi_session *s;
        struct iscsi_pdu o;
        memset(&m, 0, sizeof(m));
        s = iscsi_session_new(&cfg, &mock_tr, on_ev, NULL);
        iscsi_session_start(s, time_ns());
        iscsi_conn_up(s);
        CHECK_EQ(next_out(&o, NULL), 0);
        CHECK_EQ(o.lun[0], 0x80);                        /* T = 10b random, A reserved (RFC 7143 10.12.5) */
        if (!i)
            memcpy(first, o.lun, 6);
        differ += memcmp(first + 1, o.lun + 1, 2) != 0;  /* B of the 24-bit B+C qualifier */
        iscsi_session_free(s);
    }
    CHECK(differ >= 14);
}

/* Drive a mutual-CHAP login up to the target's challenge (CHAP_I=id, CHAP_C=chal); return the data the
 * engine answered with in out[len]. */
static uint32_t chap_to_challenge(struct iscsi_session *s, const char *id, const char *chal, char *out)
{
    char ch[160];
    int n = snprintf(ch, sizeof(ch), "CHAP_A=5%cCHAP_I=%s%cCHAP_C=%s", 0, id, 0, chal);
    struct iscsi_pdu o, r;
    m.pos = m.len;
    iscsi_conn_up(s);
    CHECK_EQ(next_out(&o, (uint8_t *)out), 0);            /* AuthMethod=CHAP */
    r = (struct iscsi_pdu){ .opcode = ISCSI_OP_LOGIN_RSP, .itt = o.itt, .sn1 = 1, .sn2 = 1, .sn3 = 8 };
    feed(s, &r, "AuthMethod=CHAP", 16, 0, 0);
    CHECK_EQ(next_out(&o, (uint8_t *)out), 0);           /* CHAP_A=5 */
    feed(s, &r, ch, (uint32_t)n + 1, 0, 0);
    memset(out, 0, 512);
    return next_out(&o, (uint8_t *)out) == 0 ? o.dlen : 0;
}

TEST(chap_refuses_a_reflected_challenge)
{
    struct iscsi_config cfg = { .host = "mock", .target = "iqn.t:x", .chap_user = "u", .chap_secret = "s",
                                .mutual_user = "t", .mutual_secret = "m" };
    struct iscsi_session *s;
    char out[4096], ours_c[64] = "", ours_i[8] = "";
    const char *c, *i;
    uint32_t n;
    memset(&m, 0, sizeof(m));
    s = iscsi_session_new(&cfg, &mock_tr, on_ev, NULL);
    iscsi_session_start(s, time_ns());
    n = chap_to_challenge(s, "1", "0x000102030405060708090a0b0c0d0e0f", out);
    c = memmem(out, n, "CHAP_C=", 7);
    i = memmem(out, n, "CHAP_I=", 7);
    CHECK(c && i && memmem(out, n, "CHAP_R=", 7));
    snprintf(ours_c, sizeof(ours_c), "%s", c ? c + 7 : "0x00");
    snprintf(ours_i, sizeof(ours_i), "%s", i ? i + 7 : "0");
    CHECK_EQ(strlen(ours_c), 2 + 32);
    /* A rogue target reflects our challenge on the next connection, hoping we answer it for it. */
    iscsi_conn_down(s, -ECONNRESET);
    iscsi_poll(s, iscsi_session_stats(s)->retry_at);
    n = chap_to_challenge(s, ours_i, ours_c, out);
    CHECK(n == 0 || !memmem(out, n, "CHAP_R=", 7));
    CHECK_EQ(m.closes, 2);
    CHECK_EQ(m.events[ISCSI_EV_FAILED], 1);              /* an authentication failure: an operator's login stops */
    iscsi_session_free(s);
}

/* ---- Peer text (issue 12): what a target says reaches the console only filtered. ---- */
#include "tests/unit/host_shim.h"

/* No control character other than newline in s. */
static int console_clean(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 && *s != '\n')
            return 0;
    return 1;
}

TEST(peer_text_never_reaches_the_console_raw)
{
    static const char keys[] = "MaxRecvDataSegmentLength=8192\0HeaderDigest=\x1b[2J\x1b]0;owned\x07";
    uint8_t data[4096];
    struct iscsi_session *s;
    host_console_clear();
    s = login_answering(keys, sizeof(keys), data);     /* refused, and the value is logged */
    CHECK_EQ(m.closes, 1);
    CHECK(strstr(host_console_text(), "HeaderDigest=\\x1b[2J") != NULL);
    CHECK(console_clean(host_console_text()));
    iscsi_session_free(s);
}

TEST(lun_identity_from_a_peer_is_filtered)
{
    struct iscsi_config cfg = { .host = "mock", .target = "iqn.t:x", .lun = 1 };
    struct iscsi_lun *l;
    struct iscsi_session *s;
    struct iscsi_pdu o;
    int closes;
    memset(&m, 0, sizeof(m));
    host_console_clear();
    l = iscsi_lun_new(&cfg, &mock_tr, on_ev, NULL);
    s = iscsi_lun_session(l);
    iscsi_session_start(s, time_ns());
    login_steps(s, 64);
    closes = m.closes;
    while (m.closes == closes && next_out(&o, NULL) == 0) {
        uint8_t d[96] = { 0 };
        uint32_t len = 0;
        switch (o.cdb[0]) {
        case 0x12:
            if (o.cdb[1] & 1) {
                d[1] = o.cdb[2];
                d[3] = 10;
                memcpy(d + 4, "\x1b[31mSN\x07\x9b" "1", 10);   /* the unit serial number page */
                len = o.cdb[2] == 0x80 ? 14 : 4;
            } else {
                memcpy(d + 8, "\x1b]0;x\x07 \r\x1b[2JPRODUCT\x08\x08", 21);
                len = 36;
            }
            break;
        case 0xa0: put_be32(d, 8); iscsi_lun_encode(1, d + 8); len = 16; break;
        case 0x25: put_be32(d, 1023); put_be32(d + 4, 512); len = 8; break;
        }
        struct iscsi_pdu a = { .opcode = ISCSI_OP_DATA_IN, .flags = ISCSI_F_FINAL | ISCSI_F_STATUS | ISCSI_F_UNDERFLOW,
                               .itt = o.itt, .w20 = ISCSI_RSVD_TAG, .sn1 = 300, .sn2 = 2, .sn3 = 65, .w44 = o.w20 - len };
        feed(s, &a, d, len, 0, 0);
    }
    CHECK_EQ(m.events[ISCSI_EV_LUN_READY], 1);
    for (int i = 0; i < 3; i++)
        CHECK(console_clean(iscsi_lun_ident(l, i)));
    CHECK(strstr(iscsi_lun_ident(l, 2), "\\x1b[31mSN") != NULL);
    CHECK(console_clean(host_console_text()));
    iscsi_session_close(s, time_ns());
    iscsi_lun_free(l);
}

TEST(poll_with_a_time_taken_before_the_connect_is_no_timeout)
{
    struct iscsi_config cfg = { .host = "mock", .target = "iqn.t:x", .lun = 1 };
    struct iscsi_session *s;
    uint64_t before = time_ns();                        /* a poller's `now`, taken before the connect */
    memset(&m, 0, sizeof(m));
    s = iscsi_session_new(&cfg, &mock_tr, on_ev, NULL);
    iscsi_session_start(s, time_ns());
    iscsi_poll(s, before);                              /* now - state_since must not wrap to "ages" */
    CHECK_EQ(m.closes, 0);
    CHECK_STR(iscsi_session_state_name(s), "connecting");
    iscsi_conn_up(s);
    iscsi_poll(s, before);
    CHECK_EQ(m.closes, 0);
    iscsi_session_free(s);
}
