/* Unit tests: the iSCSI engine's nonces (ISIDs, CHAP challenges) and the peer text it lets through. */
#define TEST_SUITE "iscsi_engine"
#include <stdlib.h>
#include "tests/unit/test.h"
#include "tests/unit/iscsi_engine_fixture.h"
#include "tests/unit/host_shim.h"
#include "kernel/crc32c.h"
#include "kernel/errno.h"
#include "kernel/time.h"

/* ---- Nonces (issue 12): ISIDs and CHAP challenges from the entropy source; no CHAP reflection. ---- */

TEST(isid_is_random_format_with_random_qualifier)
{
    struct iscsi_config cfg = { .host = "mock", .target = "iqn.t:x", .lun = 1 };
    uint8_t first[6];
    int differ = 0;
    for (int i = 0; i < 16; i++) {
        struct iscsi_session *s;
        struct iscsi_pdu o;
        memset(&mock, 0, sizeof(mock));
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
    mock.pos = mock.len;
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
    memset(&mock, 0, sizeof(mock));
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
    CHECK_EQ(mock.closes, 2);
    CHECK_EQ(mock.events[ISCSI_EV_FAILED], 1);              /* an authentication failure: an operator's login stops */
    iscsi_session_free(s);
}

/* ---- Peer text (issue 12): what a target says reaches the console only filtered. ---- */

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
    CHECK_EQ(mock.closes, 1);
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
    memset(&mock, 0, sizeof(mock));
    host_console_clear();
    l = iscsi_lun_new(&cfg, &mock_tr, on_ev, NULL);
    s = iscsi_lun_session(l);
    iscsi_session_start(s, time_ns());
    login_steps(s, 64);
    closes = mock.closes;
    while (mock.closes == closes && next_out(&o, NULL) == 0) {
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
    CHECK_EQ(mock.events[ISCSI_EV_LUN_READY], 1);
    for (int i = 0; i < 3; i++)
        CHECK(console_clean(iscsi_lun_ident(l, i)));
    CHECK(strstr(iscsi_lun_ident(l, 2), "\\x1b[31mSN") != NULL);
    CHECK(console_clean(host_console_text()));
    iscsi_session_close(s, time_ns());
    iscsi_lun_free(l);
}
