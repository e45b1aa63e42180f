/* Unit tests: the iSCSI engine against hostile target answers (residuals, Data-In offsets, lengths). */
#define TEST_SUITE "iscsi_engine"
#include <stdlib.h>
#include "tests/unit/test.h"
#include "tests/unit/iscsi_engine_fixture.h"
#include "kernel/crc32c.h"
#include "kernel/errno.h"
#include "kernel/time.h"

/* ---- Hostile target answers (issue 12): each is a protocol error that drops the connection and
 * reissues the command after the relogin; none may fault, complete a read with a hole or return
 * bytes that never arrived. ---- */

/* After a drop: wait out the backoff, log in again, and return the reissued command's PDU. */
static void relogin_reissued(struct iscsi_session *s, struct iscsi_pdu *o, uint8_t op)
{
    int connects = mock.connects;
    iscsi_poll(s, time_ns() + 1500000000ull);           /* past the first backoff (Time2Wait 0) */
    CHECK_EQ(mock.connects, connects + 1);
    mock.pos = mock.len;
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
    CHECK_EQ(mock.closes, 1);
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

TEST(lun_probe_survives_report_luns_residual_overflow)
{
    struct iscsi_config cfg = { .host = "mock", .target = "iqn.t:x", .lun = 1 };
    struct iscsi_lun *l;
    struct iscsi_session *s;
    memset(&mock, 0, sizeof(mock));
    l = iscsi_lun_new(&cfg, &mock_tr, on_ev, NULL);
    s = iscsi_lun_session(l);
    iscsi_session_start(s, time_ns());
    login_steps(s, 64);
    CHECK(probe_answer_all(s, 0xa0) >= 5);               /* TUR, INQUIRY, 2 VPD, REPORT LUNS */
    CHECK_EQ(mock.closes, 1);                               /* a protocol error, not a walk past pbuf */
    CHECK_EQ(mock.events[ISCSI_EV_LUN_READY], 0);
    CHECK_EQ(iscsi_session_stats(s)->proto_errors, 1);
    iscsi_poll(s, time_ns() + 1500000000ull);            /* reconnect: the probe resumes and completes */
    mock.pos = mock.len;
    login_steps(s, 64);
    probe_answer_all(s, 0xff);
    CHECK_EQ(mock.events[ISCSI_EV_LUN_READY], 1);
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

TEST(login_refuses_data_out_of_order)
{
    static const char keys[] = "MaxRecvDataSegmentLength=8192\0DataPDUInOrder=No\0";
    uint8_t data[4096];
    struct iscsi_session *s = login_answering(keys, sizeof(keys), data);   /* the OR of Yes and No is Yes */
    CHECK(memmem(data, 4096, "DataPDUInOrder=Yes", 19) != NULL);
    CHECK(memmem(data, 4096, "DataSequenceInOrder=Yes", 24) != NULL);
    CHECK_EQ(mock.events[ISCSI_EV_READY], 0);
    CHECK_EQ(mock.closes, 1);
    iscsi_session_free(s);
}
