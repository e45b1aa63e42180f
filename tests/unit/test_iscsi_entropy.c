/* Unit tests: the entropy source (kernel/random.c) and where the iSCSI engine uses it (ISIDs, CHAP). */
#define TEST_SUITE "iscsi_entropy"
#include <stdlib.h>
#include "tests/unit/test.h"
#include "kernel/random.h"

TEST(random_blocks_differ_and_are_balanced)
{
    static uint8_t b[4096][16];
    unsigned ones = 0;
    random_bytes(b, sizeof(b));
    for (int i = 0; i < 4096; i++)
        for (int j = 0; j < i; j += 97)                  /* a sample of pairs: 16-byte blocks never repeat */
            CHECK(memcmp(b[i], b[j], 16) != 0);
    for (size_t i = 0; i < sizeof(b); i++)
        ones += (unsigned)__builtin_popcount(((uint8_t *)b)[i]);
    /* 524288 bits: a fair source lands within 0.5 % of half (about 7 standard deviations). */
    CHECK(ones > 524288 / 2 - 2621 && ones < 524288 / 2 + 2621);
}

TEST(random_odd_lengths_fill_every_byte)
{
    uint8_t a[67], zero[67] = { 0 };
    int hits = 0;
    for (int k = 0; k < 8; k++) {
        memset(a, 0, sizeof(a));
        random_bytes(a, sizeof(a));
        hits += a[66] != 0;                              /* the tail block is filled too */
        CHECK(memcmp(a, zero, 32) != 0);
    }
    CHECK(hits >= 5);
    random_mix("mac", 3);
    random_bytes(a, 1);                                  /* a one-byte request and a mix do not break it */
    CHECK_STR(random_source(), "getrandom");
}

/* ---- Peer text on the operator's terminal (issue 12). ---- */
#include "net/iscsi/printable.h"

TEST(printable_escapes_controls_and_escape_sequences)
{
    char out[64];
    static const char evil[] = "ab\x1b]0;pwned\x07\x9b" "2J\x7f\\z\n";
    CHECK_STR(iscsi_printable(out, sizeof(out), evil, sizeof(evil) - 1),
              "ab\\x1b]0;pwned\\x07\\x9b2J\\x7f\\x5cz\\x0a");
    CHECK_STR(iscsi_printable(out, sizeof(out), "plain text", 99), "plain text");   /* stops at the NUL */
    CHECK_STR(iscsi_printable(out, 5, "a\x1b" "bc", 4), "a");                      /* no half escape */
    CHECK_STR(iscsi_printable(out, 4, "abcdef", 6), "abc");
    CHECK_STR(iscsi_printable(out, 1, "abc", 3), "");
}
