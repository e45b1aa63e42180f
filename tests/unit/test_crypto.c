/* Unit tests: CRC32C (RFC 3720 B.4), MD5 (RFC 1321 A.5), SHA-256 (FIPS 180 examples), both hashes fed in
   pieces, CHAP responses. */
#define TEST_SUITE "crypto"
#include "tests/unit/test.h"
#include "kernel/crc32c.h"
#include "kernel/md5.h"
#include "kernel/sha256.h"
#include "net/iscsi/chap.h"

static void hex(const uint8_t *d, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", d[i]);
}

TEST(crc32c_rfc3720_vectors)
{
    uint8_t b[48];
    memset(b, 0, 32);
    CHECK_U64(crc32c(0, b, 32), 0x8a9136aa);
    memset(b, 0xff, 32);
    CHECK_U64(crc32c(0, b, 32), 0x62a8ab43);
    for (int i = 0; i < 32; i++)
        b[i] = (uint8_t)i;
    CHECK_U64(crc32c(0, b, 32), 0x46dd794e);
    for (int i = 0; i < 32; i++)
        b[i] = (uint8_t)(31 - i);
    CHECK_U64(crc32c(0, b, 32), 0x113fdb5c);
    /* RFC 3720 B.4: an iSCSI SCSI Read (10) command PDU. */
    static const uint8_t pdu[48] = {
        0x01, 0xc0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x14, 0, 0, 0, 0, 0, 0x04, 0,
        0, 0, 0, 0x14, 0, 0, 0, 0x18, 0x28, 0, 0, 0, 0, 0, 0, 0, 0x02, 0, 0, 0, 0, 0, 0, 0 };
    CHECK_U64(crc32c(0, pdu, 48), 0xd9963a56);
    CHECK_U64(crc32c(0, "123456789", 9), 0xe3069283);
}

TEST(crc32c_chains_and_unaligned)
{
    uint8_t b[100];
    for (int i = 0; i < 100; i++)
        b[i] = (uint8_t)(i * 7 + 3);
    uint32_t whole = crc32c(0, b, 100);
    for (int cut = 0; cut <= 100; cut += 13)
        CHECK_U64(crc32c(crc32c(0, b, (size_t)cut), b + cut, (size_t)(100 - cut)), whole);
    CHECK_U64(crc32c(0, b + 1, 50), crc32c(crc32c(0, b + 1, 3), b + 4, 47));
}

TEST(md5_rfc1321_vectors)
{
    static const struct { const char *in, *out; } v[] = {
        { "", "d41d8cd98f00b204e9800998ecf8427e" },
        { "a", "0cc175b9c0f1b6a831c399e269772661" },
        { "abc", "900150983cd24fb0d6963f7d28e17f72" },
        { "message digest", "f96b697d7cb7938d525a2f31aaf161d0" },
        { "abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b" },
        { "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", "d174ab98d277d9f5a5611c2c9f419d9f" },
        { "12345678901234567890123456789012345678901234567890123456789012345678901234567890",
          "57edf4a22be3c955ac49da2e2107b67a" },
    };
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        uint8_t d[16];
        char h[33];
        md5(v[i].in, strlen(v[i].in), d);
        hex(d, 16, h);
        CHECK_STR(h, v[i].out);
    }
}

TEST(sha256_fips180_vectors)
{
    uint8_t d[32];
    char h[65];
    sha256("abc", 3, d);
    hex(d, 32, h);
    CHECK_STR(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    sha256("", 0, d);
    hex(d, 32, h);
    CHECK_STR(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    sha256(m, strlen(m), d);
    hex(d, 32, h);
    CHECK_STR(h, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    m = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrst"
        "nopqrstu";
    sha256(m, strlen(m), d);
    hex(d, 32, h);
    CHECK_STR(h, "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

/* One million 'a' (FIPS 180 and the usual MD5 extension of RFC 1321's suite), fed in uneven pieces. */
TEST(hash_million_a)
{
    struct sha256_ctx s;
    struct md5_ctx m;
    uint8_t d[32];
    char h[65], a[997];
    memset(a, 'a', sizeof(a));
    sha256_init(&s);
    md5_init(&m);
    for (size_t left = 1000000; left;) {
        size_t n = left < sizeof(a) ? left : sizeof(a);
        sha256_update(&s, a, n);
        md5_update(&m, a, n);
        left -= n;
    }
    sha256_final(&s, d);
    hex(d, 32, h);
    CHECK_STR(h, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    md5_final(&m, d);
    hex(d, 16, h);
    CHECK_STR(h, "7707d6ae4e027c70eea2a935c2296f21");
}

/* Fed in two pieces cut at every byte, and in pieces of sizes around the 64-byte block (a context used again
   after its final), both hashes equal their one-shot digest. */
TEST(hash_pieces_match_one_shot)
{
    uint8_t msg[300], want_s[32], want_m[16], d[32];
    for (size_t i = 0; i < sizeof(msg); i++)
        msg[i] = (uint8_t)(i * 131 + 7);
    sha256(msg, sizeof(msg), want_s);
    md5(msg, sizeof(msg), want_m);
    struct sha256_ctx s;
    struct md5_ctx m;
    for (size_t cut = 0; cut <= sizeof(msg); cut++) {
        sha256_init(&s);
        sha256_update(&s, msg, cut);
        sha256_update(&s, msg + cut, sizeof(msg) - cut);
        sha256_final(&s, d);
        CHECK_MEM(d, want_s, 32);
        md5_init(&m);
        md5_update(&m, msg, cut);
        md5_update(&m, msg + cut, sizeof(msg) - cut);
        md5_final(&m, d);
        CHECK_MEM(d, want_m, 16);
    }
    static const size_t piece[] = { 1, 3, 7, 13, 55, 56, 57, 63, 64, 65, 127, 128, 129, 299 };
    for (size_t k = 0; k < sizeof(piece) / sizeof(piece[0]); k++) {
        sha256_init(&s);
        md5_init(&m);
        for (size_t at = 0; at < sizeof(msg); at += piece[k]) {
            size_t n = sizeof(msg) - at < piece[k] ? sizeof(msg) - at : piece[k];
            sha256_update(&s, msg + at, n);
            md5_update(&m, msg + at, n);
        }
        sha256_final(&s, d);
        CHECK_MEM(d, want_s, 32);
        md5_final(&m, d);
        CHECK_MEM(d, want_m, 16);
    }
}

TEST(chap_response_vector)
{
    /* MD5(id 0x01 || "secret" || 16 bytes 0x00..0x0f), checked with an independent MD5. */
    uint8_t chal[16], r[16];
    char h[33];
    for (int i = 0; i < 16; i++)
        chal[i] = (uint8_t)i;
    chap_response(1, "secret", chal, 16, r);
    hex(r, 16, h);
    uint8_t buf[1 + 6 + 16];
    buf[0] = 1;
    memcpy(buf + 1, "secret", 6);
    memcpy(buf + 7, chal, 16);
    uint8_t want[16];
    char wh[33];
    md5(buf, sizeof(buf), want);
    hex(want, 16, wh);
    CHECK_STR(h, wh);
    CHECK_STR(h, "740e86463bda3a4d7017d6e0fba0699d");   /* Python hashlib */
}

TEST(chap_hex_codec)
{
    uint8_t b[4];
    char s[16];
    CHECK_EQ(chap_hex_decode("0xA1b2", b, sizeof(b)), 2);
    CHECK_EQ(b[0], 0xa1);
    CHECK_EQ(b[1], 0xb2);
    chap_hex_encode(b, 2, s);
    CHECK_STR(s, "0xa1b2");
    CHECK(chap_hex_decode("a1b2", b, 4) < 0);
    CHECK(chap_hex_decode("0x", b, 4) < 0);
    CHECK(chap_hex_decode("0xabc", b, 4) < 0);
    CHECK(chap_hex_decode("0xzz", b, 4) < 0);
    CHECK(chap_hex_decode("0x0102030405", b, 4) < 0);
}
