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

/* Log a session in through AuthMethod=None; MaxCmdSN = max_cmdsn. */
static struct iscsi_session *login(uint32_t max_cmdsn)
{
    struct iscsi_config cfg = { .host = "mock", .target = "iqn.t:x", .lun = 1 };
    struct iscsi_session *s;
    struct iscsi_pdu o, r;
    uint8_t data[4096];
    memset(&m, 0, sizeof(m));
    s = iscsi_session_new(&cfg, &mock_tr, on_ev, NULL);
    CHECK(s != NULL);
    CHECK_EQ(iscsi_session_start(s, time_ns()), 0);
    iscsi_conn_up(s);
    CHECK_EQ(next_out(&o, data), 0);
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
    CHECK_EQ(iscsi_cmd_submit(s, &c, time_ns()), 0);
    CHECK_EQ(next_out(&o, NULL), 0);
    CHECK_EQ(o.opcode, ISCSI_OP_SCSI_CMD);
    CHECK_EQ(o.flags, 0xc1);
    CHECK_EQ(o.w20, 1024);                              /* EDTL */
    CHECK_EQ(o.sn1, 1);                                 /* CmdSN */
    CHECK_EQ(o.sn2, 102);                               /* ExpStatSN */
    CHECK_EQ(o.cdb[0], 0x28);
    struct iscsi_pdu d = { .opcode = ISCSI_OP_DATA_IN, .itt = o.itt, .w20 = ISCSI_RSVD_TAG, .sn2 = 2, .sn3 = 65,
                           .w36 = 0, .w40 = 512 };
    feed(s, &d, src + 512, 512, 0, 0);                  /* second half first: offsets place it */
    CHECK_EQ(done_count, 0);
    d.w36 = 1; d.w40 = 0; d.flags = ISCSI_F_FINAL | ISCSI_F_STATUS; d.sn1 = 102;
    feed(s, &d, src, 512, 0, 0);
    CHECK_EQ(done_count, 1);
    CHECK_EQ(done_status, 0);
    CHECK_MEM(buf, src, 1024);
    CHECK_EQ(m.closes, 0);
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
