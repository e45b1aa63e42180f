/* Unit tests: the iSCSI engine's zero-copy receive, Data-In placed straight into the command's buffers. */
#define TEST_SUITE "iscsi_engine"
#include <stdlib.h>
#include "tests/unit/test.h"
#include "tests/unit/iscsi_engine_fixture.h"
#include "kernel/crc32c.h"
#include "kernel/errno.h"
#include "kernel/time.h"

/* A zero-copy transport: wire bytes go straight into the engine's window when it has one (at most step
 * at a time), else through iscsi_conn_recv one byte at a time (so every window opens before its payload is
 * read). Returns the bytes placed through the window. */
static size_t zc_feed(struct iscsi_session *s, const uint8_t *w, size_t n, size_t step)
{
    size_t pos = 0, placed = 0;
    int closes = mock.closes;
    while (pos < n && mock.closes == closes) {
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
    CHECK_EQ(mock.closes, 0);
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
    CHECK_EQ(mock.closes, 1);
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
    CHECK_EQ(mock.closes, 1);
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
    memset(&mock, 0, sizeof(mock));
    s = iscsi_session_new(&cfg, &mock_tr, on_ev, NULL);
    iscsi_session_start(s, time_ns());
    iscsi_conn_up(s);
    next_out(&o, data);
    r = (struct iscsi_pdu){ .opcode = ISCSI_OP_LOGIN_RSP, .flags = 0x81, .itt = o.itt, .sn1 = 1, .sn2 = 1, .sn3 = 8 };
    feed(s, &r, "AuthMethod=None", 16, 0, 0);
    next_out(&o, data);
    r = (struct iscsi_pdu){ .opcode = ISCSI_OP_LOGIN_RSP, .flags = 0x87, .itt = o.itt, .sn1 = 2, .sn2 = 1, .sn3 = 8 };
    feed(s, &r, keys, sizeof(keys), 0, 0);
    CHECK_EQ(mock.events[ISCSI_EV_READY], 1);
    mock.hdig = mock.ddig = 1;
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
    CHECK_EQ(mock.closes, 0);
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
    CHECK_EQ(mock.closes, 1);
    CHECK_EQ(done_count, 1);                            /* requeued for the next connection, not completed */
    CHECK_EQ(iscsi_session_stats(s)->proto_errors, 1);
    iscsi_session_close(s, time_ns());
    iscsi_session_free(s);
}
