/* The iSCSI engine tests' shared fixture (iscsi_engine_fixture.h): a scripted in-memory target. */
#include <stdlib.h>
#include "tests/unit/test.h"
#include "tests/unit/iscsi_engine_fixture.h"
#include "kernel/crc32c.h"
#include "kernel/time.h"

struct mock_target mock;

static int mk_connect(void *c, const char *h, uint16_t p) { (void)c; (void)h; (void)p; mock.connects++; return 0; }
static int mk_send(void *c, const void *b, size_t n)
{
    (void)c;
    if (mock.len + n > sizeof(mock.out))
        n = sizeof(mock.out) - mock.len;
    memcpy(mock.out + mock.len, b, n);
    mock.len += n;
    return (int)n;
}
static void mk_close(void *c) { (void)c; mock.closes++; }
const struct iscsi_transport mock_tr = { mk_connect, mk_send, mk_close, NULL };
void on_ev(struct iscsi_session *s, enum iscsi_event e, int err, void *a) { (void)s; (void)err; (void)a; mock.events[e]++; }

int next_out(struct iscsi_pdu *p, uint8_t *data)
{
    if (mock.pos + 48 > mock.len)
        return -1;
    iscsi_pdu_decode(mock.out + mock.pos, p);
    p->opcode = mock.out[mock.pos] & 0x3f;
    memcpy(p->cdb, mock.out + mock.pos + 32, 16);
    mock.pos += 48 + (mock.hdig ? 4 : 0);
    if (data)
        memcpy(data, mock.out + mock.pos, p->dlen);
    mock.pos += p->dlen + iscsi_pad(p->dlen) + (p->dlen && mock.ddig ? 4 : 0);
    return 0;
}

size_t wire_pdu(uint8_t *b, struct iscsi_pdu *p, const void *data, uint32_t dlen, int hd, int dd)
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

void feed(struct iscsi_session *s, struct iscsi_pdu *p, const void *data, uint32_t dlen, int hd, int dd)
{
    uint8_t b[48 + 4 + 4096 + 8] = { 0 };
    size_t n = wire_pdu(b, p, data, dlen, hd, dd);
    for (size_t i = 0; i < n; i += 7)                  /* in small pieces: reassembly must cope */
        iscsi_conn_recv(s, b + i, n - i < 7 ? n - i : 7);
}

static const char oper_keys_none[] = "HeaderDigest=None\0DataDigest=None\0MaxRecvDataSegmentLength=8192\0"
                                     "ErrorRecoveryLevel=0\0MaxConnections=1\0InitialR2T=Yes\0ImmediateData=No\0"
                                     "MaxBurstLength=262144\0FirstBurstLength=65536\0DefaultTime2Wait=0\0";

void login_steps(struct iscsi_session *s, uint32_t max_cmdsn)
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

struct iscsi_session *login(uint32_t max_cmdsn)
{
    struct iscsi_config cfg = { .host = "mock", .target = "iqn.t:x", .lun = 1 };
    struct iscsi_session *s;
    memset(&mock, 0, sizeof(mock));
    s = iscsi_session_new(&cfg, &mock_tr, on_ev, NULL);
    CHECK(s != NULL);
    CHECK_EQ(iscsi_session_start(s, time_ns()), 0);
    login_steps(s, max_cmdsn);
    CHECK_EQ(mock.events[ISCSI_EV_READY], 1);
    return s;
}

int done_count, done_status;
static void cmd_done(struct iscsi_cmd *c, int st) { (void)c; done_count++; done_status = st; }

void read_cmd(struct iscsi_cmd *c, struct blk_iov *v, uint8_t *buf, uint32_t len)
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

int probe_answer_all(struct iscsi_session *s, uint8_t bad_op)
{
    static uint32_t statsn = 200;
    struct iscsi_pdu o;
    int n = 0, closes = mock.closes;
    while (mock.closes == closes && next_out(&o, NULL) == 0) {
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

struct iscsi_session *login_answering(const char *keys, uint32_t klen, uint8_t offered[4096])
{
    struct iscsi_config cfg = { .host = "mock", .target = "iqn.t:x", .lun = 1 };
    struct iscsi_session *s;
    struct iscsi_pdu o, r;
    memset(&mock, 0, sizeof(mock));
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
