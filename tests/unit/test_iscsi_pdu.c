/* Unit tests: iSCSI BHS encode/decode against hand-written byte layouts (RFC 7143 11), text parsing, serial numbers. */
#define TEST_SUITE "iscsi_pdu"
#include "tests/unit/test.h"
#include "net/iscsi/pdu.h"
#include "net/iscsi/text.h"
#include "kernel/errno.h"

TEST(encode_scsi_read10_command)
{
    struct iscsi_pdu p = { .opcode = ISCSI_OP_SCSI_CMD, .flags = 0xc1, .itt = 0x00010002, .w20 = 4096,
                           .sn1 = 7, .sn2 = 9, .cdb = { 0x28, 0, 0, 0, 0x10, 0, 0, 0, 8, 0 } };
    uint8_t b[48];
    static const uint8_t want[48] = {
        0x01, 0xc1, 0, 0, 0, 0, 0, 0,  0, 1, 0, 0, 0, 0, 0, 0,  0, 1, 0, 2,  0, 0, 0x10, 0,
        0, 0, 0, 7,  0, 0, 0, 9,  0x28, 0, 0, 0, 0x10, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0 };
    iscsi_lun_encode(1, p.lun);
    iscsi_pdu_encode(&p, b);
    CHECK_MEM(b, want, 48);
}

TEST(encode_login_request)
{
    struct iscsi_pdu p = { .opcode = ISCSI_OP_LOGIN_REQ, .immediate = 1, .flags = 0x81, .dlen = 0x1234,
                           .lun = { 0x80, 1, 2, 3, 4, 5, 0, 0 }, .itt = 0x80000001, .sn1 = 1, .sn2 = 0 };
    uint8_t b[48];
    static const uint8_t want[48] = {
        0x43, 0x81, 0, 0, 0, 0, 0x12, 0x34,  0x80, 1, 2, 3, 4, 5, 0, 0,  0x80, 0, 0, 1,  0, 0, 0, 0,
        0, 0, 0, 1,  0, 0, 0, 0 };
    iscsi_pdu_encode(&p, b);
    CHECK_MEM(b, want, 48);
}

TEST(encode_text_nop_logout)
{
    uint8_t b[48];
    struct iscsi_pdu t = { .opcode = ISCSI_OP_TEXT_REQ, .immediate = 1, .flags = 0x80, .dlen = 16,
                           .itt = 5, .w20 = 0xffffffff, .sn1 = 3, .sn2 = 4 };
    iscsi_pdu_encode(&t, b);
    CHECK_EQ(b[0], 0x44); CHECK_EQ(b[1], 0x80); CHECK_EQ(b[7], 16);
    CHECK_EQ(get_be32(b + 16), 5); CHECK_U64(get_be32(b + 20), 0xffffffff);
    CHECK_EQ(get_be32(b + 24), 3); CHECK_EQ(get_be32(b + 28), 4);
    struct iscsi_pdu n = { .opcode = ISCSI_OP_NOP_OUT, .immediate = 1, .flags = 0x80, .itt = 0xffffffff,
                           .w20 = 0x11223344 };
    iscsi_pdu_encode(&n, b);
    CHECK_EQ(b[0], 0x40); CHECK_U64(get_be32(b + 16), 0xffffffff); CHECK_U64(get_be32(b + 20), 0x11223344);
    struct iscsi_pdu l = { .opcode = ISCSI_OP_LOGOUT_REQ, .immediate = 1, .flags = 0x80, .itt = 9, .sn1 = 2 };
    iscsi_pdu_encode(&l, b);
    CHECK_EQ(b[0], 0x46); CHECK_EQ(b[1], 0x80); CHECK_EQ(get_be32(b + 16), 9); CHECK_EQ(get_be32(b + 24), 2);
}

TEST(decode_target_pdus)
{
    struct iscsi_pdu p;
    /* Data-In: F|S, status GOOD, 512 bytes, ITT 3, StatSN 10, ExpCmdSN 11, MaxCmdSN 42, DataSN 2, offset 1024. */
    static const uint8_t din[48] = {
        0x25, 0x81, 0, 0, 0, 0, 2, 0,  0, 1, 0, 0, 0, 0, 0, 0,  0, 0, 0, 3,  0xff, 0xff, 0xff, 0xff,
        0, 0, 0, 10,  0, 0, 0, 11,  0, 0, 0, 42,  0, 0, 0, 2,  0, 0, 4, 0,  0, 0, 0, 0 };
    CHECK_EQ(iscsi_pdu_decode(din, &p), 0);
    CHECK_EQ(p.opcode, ISCSI_OP_DATA_IN); CHECK_EQ(p.flags, 0x81); CHECK_EQ(p.dlen, 512);
    CHECK_EQ(p.itt, 3); CHECK_EQ(p.sn1, 10); CHECK_EQ(p.sn2, 11); CHECK_EQ(p.sn3, 42);
    CHECK_EQ(p.w36, 2); CHECK_EQ(p.w40, 1024);
    /* SCSI Response: CHECK CONDITION, 20 bytes of sense data, underflow residual 4096. */
    static const uint8_t rsp[48] = {
        0x21, 0x82, 0x00, 0x02, 0, 0, 0, 20,  0, 0, 0, 0, 0, 0, 0, 0,  0, 0, 0, 7,  0, 0, 0, 0,
        0, 0, 0, 5,  0, 0, 0, 6,  0, 0, 0, 37,  0, 0, 0, 0,  0, 0, 0, 0,  0, 0, 0x10, 0 };
    CHECK_EQ(iscsi_pdu_decode(rsp, &p), 0);
    CHECK_EQ(p.opcode, ISCSI_OP_SCSI_RSP); CHECK_EQ(p.b2, 0); CHECK_EQ(p.b3, 2); CHECK_EQ(p.dlen, 20);
    CHECK_EQ(p.itt, 7); CHECK_EQ(p.sn1, 5); CHECK_EQ(p.sn3, 37); CHECK_EQ(p.w44, 4096);
    /* Login response: T, CSG 1, NSG 3, TSIH 0x0102, status 0x0201 (authentication failure). */
    static const uint8_t lr[48] = {
        0x23, 0x87, 0, 0, 0, 0, 0, 0,  0x80, 1, 2, 3, 4, 5, 1, 2,  0x80, 0, 0, 1,  0, 0, 0, 0,
        0, 0, 0, 1,  0, 0, 0, 1,  0, 0, 0, 8,  2, 1, 0, 0,  0, 0, 0, 0,  0, 0, 0, 0 };
    CHECK_EQ(iscsi_pdu_decode(lr, &p), 0);
    CHECK_EQ(p.flags & 3, 3); CHECK_EQ((p.flags >> 2) & 3, 1);
    CHECK_EQ(get_be16(p.lun + 6), 0x0102); CHECK_U64(p.w36 >> 16, 0x0201);
    /* R2T: ITT 4, TTT 0x99, R2TSN 0, offset 0, desired length 65536. */
    static const uint8_t r2t[48] = {
        0x31, 0x80, 0, 0, 0, 0, 0, 0,  0, 0, 0, 0, 0, 0, 0, 0,  0, 0, 0, 4,  0, 0, 0, 0x99,
        0, 0, 0, 1,  0, 0, 0, 2,  0, 0, 0, 3,  0, 0, 0, 0,  0, 0, 0, 0,  0, 1, 0, 0 };
    CHECK_EQ(iscsi_pdu_decode(r2t, &p), 0);
    CHECK_EQ(p.opcode, ISCSI_OP_R2T); CHECK_EQ(p.w20, 0x99); CHECK_EQ(p.w44, 65536);
    /* Reject (reason 0x09), Text response (F), NOP-In, Logout response. */
    uint8_t x[48] = { 0x3f, 0x80, 0x09 };
    CHECK_EQ(iscsi_pdu_decode(x, &p), 0); CHECK_EQ(p.opcode, ISCSI_OP_REJECT); CHECK_EQ(p.b2, 9);
    x[0] = 0x24; CHECK_EQ(iscsi_pdu_decode(x, &p), 0); CHECK_EQ(p.opcode, ISCSI_OP_TEXT_RSP);
    x[0] = 0x20; CHECK_EQ(iscsi_pdu_decode(x, &p), 0); CHECK_EQ(p.opcode, ISCSI_OP_NOP_IN);
    x[0] = 0x26; CHECK_EQ(iscsi_pdu_decode(x, &p), 0); CHECK_EQ(p.opcode, ISCSI_OP_LOGOUT_RSP);
    /* Opcodes a target never sends are refused. */
    x[0] = 0x01; CHECK_EQ(iscsi_pdu_decode(x, &p), -EPROTO);
    x[0] = 0x1c; CHECK_EQ(iscsi_pdu_decode(x, &p), -EPROTO);
}

TEST(lun_encoding)
{
    uint8_t l[8];
    iscsi_lun_encode(1, l);
    CHECK_EQ(l[0], 0); CHECK_EQ(l[1], 1);
    iscsi_lun_encode(300, l);
    CHECK_EQ(l[0], 0x41); CHECK_EQ(l[1], 300 & 0xff);
}

TEST(serial_number_arithmetic_wraps)
{
    CHECK(sn_lt(1, 2));
    CHECK(!sn_lt(2, 1));
    CHECK(sn_lt(0xfffffff0u, 5));          /* across the wrap */
    CHECK(!sn_lt(5, 0xfffffff0u));
    CHECK(sn_le(0xffffffffu, 0));
    CHECK(sn_le(7, 7));
    CHECK(!sn_lt(7, 7));
    CHECK(sn_lt(0x7ffffffeu, 0xfffffffdu));
    CHECK(!sn_lt(0, 0x80000000u) || !sn_lt(0x80000000u, 0));   /* never both */
    CHECK_EQ(iscsi_pad(0), 0); CHECK_EQ(iscsi_pad(1), 3); CHECK_EQ(iscsi_pad(4), 0); CHECK_EQ(iscsi_pad(6), 2);
}

TEST(text_build_and_parse)
{
    char buf[64], key[ISCSI_KEY_MAX + 1];
    const char *v;
    struct iscsi_text_buf t = { buf, sizeof(buf), 0, 0 };
    CHECK_EQ(iscsi_text_add(&t, "AuthMethod", "None"), 0);
    CHECK_EQ(iscsi_text_add(&t, "MaxBurstLength", "262144"), 0);
    CHECK_EQ(t.len, 16 + 22);
    CHECK_EQ(iscsi_text_add(&t, "TooLong", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"), -ENOSPC);
    CHECK(t.overflow);
    struct iscsi_text_iter it = { buf, t.len, 0 };
    CHECK_EQ(iscsi_text_next(&it, key, &v), 1); CHECK_STR(key, "AuthMethod"); CHECK_STR(v, "None");
    CHECK_EQ(iscsi_text_next(&it, key, &v), 1); CHECK_STR(key, "MaxBurstLength"); CHECK_STR(v, "262144");
    CHECK_EQ(iscsi_text_next(&it, key, &v), 0);
}

TEST(text_rejects_malformed)
{
    static const char nul_missing[] = { 'A', '=', 'B' };
    static const char no_eq[] = "NoEquals\0";
    static const char empty_key[] = "=value\0";
    static const char bad_key[] = "Bad Key=1\0";
    static const char padded[] = "A=1\0\0\0\0B=\0";
    char big[80 + 8];
    CHECK_EQ(iscsi_text_validate(nul_missing, sizeof(nul_missing)), -EBADMSG);
    CHECK_EQ(iscsi_text_validate(no_eq, sizeof(no_eq)), -EBADMSG);
    CHECK_EQ(iscsi_text_validate(empty_key, sizeof(empty_key)), -EBADMSG);
    CHECK_EQ(iscsi_text_validate(bad_key, sizeof(bad_key)), -EBADMSG);
    CHECK_EQ(iscsi_text_validate(padded, sizeof(padded) - 1), 0);    /* empty value is legal */
    memset(big, 'K', 80);
    memcpy(big + 80, "=v", 3);
    CHECK_EQ(iscsi_text_validate(big, 83), -EBADMSG);                /* key over 63 bytes */
    CHECK_EQ(iscsi_text_validate("", 0), 0);
}
