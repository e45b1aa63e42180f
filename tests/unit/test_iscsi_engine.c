/* Unit tests: the iSCSI engine against a scripted in-memory target (login, window, Data-In, errors, blk_dev). */
#define TEST_SUITE "iscsi_engine"
#include <stdlib.h>
#include "tests/unit/test.h"
#include "tests/unit/iscsi_engine_fixture.h"
#include "kernel/crc32c.h"
#include "kernel/errno.h"
#include "kernel/time.h"

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
    CHECK_EQ(mock.closes, 0);
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
    CHECK_EQ(mock.closes, 1);
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
    CHECK_EQ(mock.closes, 1);
    iscsi_session_free(s);
    s = login(64);
    struct iscsi_pdu b = { .opcode = 0x05 };
    feed(s, &b, NULL, 0, 0, 0);
    CHECK_EQ(mock.closes, 1);
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
    memset(&mock, 0, sizeof(mock));
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
    CHECK_EQ(mock.closes, 0);
    uint8_t b[52];
    n.dlen = 0;
    iscsi_pdu_encode(&n, b);
    b[0] = ISCSI_OP_NOP_IN;
    memset(b + 48, 0x55, 4);
    iscsi_conn_recv(s, b, 52);
    CHECK_EQ(mock.closes, 1);
    iscsi_session_free(s);
}

TEST(chap_wrong_login_status_is_fatal)
{
    struct iscsi_config cfg = { .host = "mock", .target = "iqn.t:x", .chap_user = "u", .chap_secret = "s" };
    struct iscsi_session *s;
    struct iscsi_pdu o, r;
    uint8_t data[4096];
    memset(&mock, 0, sizeof(mock));
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
    CHECK_EQ(mock.events[ISCSI_EV_FAILED], 1);
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
    CHECK_EQ(mock.closes, 1);
    CHECK_EQ(done_count, 0);
    iscsi_poll(s, t + 20000000000ull);                  /* after the backoff: reconnect */
    CHECK_EQ(mock.connects, 2);
    iscsi_conn_up(s);                                   /* relogin, then the read is reissued */
    mock.pos = mock.len;
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
    CHECK_EQ(mock.closes, 1);                              /* ERL 0: the lost command resets the link */
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
