/* Host unit tests of the TLS channel's key parsing (net/tls/psk.c): hex keys, passphrases, identities. */
#define TEST_SUITE "tls-psk"
#include <errno.h>
#include "tests/unit/test.h"
#include "net/tls/psk.h"
#include "kernel/sha256.h"

static const char HEX[] = "000102030405060708090a0b0c0d0e0f101112131415161718191A1B1C1D1E1F";

TEST(hex_key_is_the_key)
{
    struct tls_psk p;
    CHECK_EQ(tls_psk_parse(&p, HEX, NULL), 0);
    for (int i = 0; i < 32; i++)
        CHECK_EQ(p.key[i], i);
    CHECK_STR(p.identity, "shoal-migrate");
    CHECK_EQ(p.identity_len, 13);
}

TEST(passphrase_is_hashed)
{
    static const uint8_t abc[32] = {     /* FIPS 180-2 SHA-256("abc") */
        0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
        0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad };
    struct tls_psk p;
    CHECK_EQ(tls_psk_parse(&p, "abc", "node-7"), 0);
    CHECK_MEM(p.key, abc, 32);
    CHECK_STR(p.identity, "node-7");
}

/* Text that is almost a hex key is a passphrase: its SHA-256, not a partial decode. */
static void check_passphrase(const char *text)
{
    struct tls_psk p;
    uint8_t want[32];
    sha256(text, strlen(text), want);
    CHECK_EQ(tls_psk_parse(&p, text, NULL), 0);
    CHECK_MEM(p.key, want, 32);
}

TEST(near_hex_is_a_passphrase)
{
    char s[80];
    memcpy(s, HEX, 63);                   /* 63 digits */
    s[63] = 0;
    check_passphrase(s);
    strcpy(s, HEX);                        /* 65 digits */
    strcat(s, "0");
    check_passphrase(s);
    strcpy(s, HEX);                        /* 64 characters, one not hex */
    s[40] = 'g';
    check_passphrase(s);
    strcpy(s, "0x");                       /* a 0x prefix is no hex key here */
    strncat(s, HEX, 62);
    check_passphrase(s);
}

TEST(bad_inputs_are_refused_and_zeroed)
{
    struct tls_psk p, zero;
    char longid[80];
    memset(&zero, 0, sizeof(zero));
    memset(longid, 'a', 65);
    longid[65] = 0;
    CHECK_EQ(tls_psk_parse(&p, "", NULL), -EINVAL);
    CHECK_EQ(tls_psk_parse(&p, NULL, NULL), -EINVAL);
    CHECK_EQ(tls_psk_parse(&p, "k", ""), -EINVAL);
    CHECK_EQ(tls_psk_parse(&p, "k", "has space"), -EINVAL);
    CHECK_EQ(tls_psk_parse(&p, "k", "tab\there"), -EINVAL);
    CHECK_EQ(tls_psk_parse(&p, "k", "\xc3\xa9t\xc3\xa9"), -EINVAL);
    CHECK_EQ(tls_psk_parse(&p, "k", longid), -EINVAL);
    CHECK_MEM(&p, &zero, sizeof(p));
    longid[64] = 0;                        /* 64 is the limit */
    CHECK_EQ(tls_psk_parse(&p, "k", longid), 0);
    CHECK_EQ(p.identity_len, 64);
}

TEST(wipe_clears_the_key)
{
    struct tls_psk p, zero;
    memset(&zero, 0, sizeof(zero));
    CHECK_EQ(tls_psk_parse(&p, HEX, NULL), 0);
    tls_psk_wipe(&p);
    CHECK_MEM(&p, &zero, sizeof(p));
}
