/* Host tests of the guest text filter (vmm/confilter.c): what reaches the operator's terminal. */
#define TEST_SUITE "vmm-confilter"
#include "tests/unit/test.h"
#include "vmm/confilter.h"

/* Filter s (n bytes) through a fresh filter into out (NUL-terminated). */
static const char *filt(const char *s, size_t n)
{
    static char out[256];
    struct con_filter f = { 0 };
    size_t o = 0;
    for (size_t i = 0; i < n && o < sizeof(out) - 1; i++) {
        int c = con_filter_byte(&f, (uint8_t)s[i]);
        if (c >= 0)
            out[o++] = (char)c;
    }
    out[o] = 0;
    return out;
}
#define F(lit) filt(lit, sizeof(lit) - 1)

TEST(plain_text_passes)
{
    CHECK_STR(F("hello, world\tok\n"), "hello, world\tok\n");
}

TEST(controls_are_dropped)
{
    CHECK_STR(F("a\rb\bc\x07" "d\x7f" "e\x0c" "f\x00g"), "abcdefg");
}

TEST(csi_sequences_are_dropped)
{
    CHECK_STR(F("\x1b[31mred\x1b[0m \x1b[2J\x1b[1;1Hx\x1b[?25l"), "red x");
}

TEST(strings_are_dropped_to_their_end)
{
    CHECK_STR(F("a\x1b]0;evil title\x07" "b"), "ab");              /* OSC ... BEL */
    CHECK_STR(F("a\x1b]52;c;ZXZpbA==\x1b\\b"), "ab");               /* OSC 52 clipboard ... ST */
    CHECK_STR(F("a\x1bPq#0;2;0;0;0\x1b\\b"), "ab");                 /* DCS */
    CHECK_STR(F("a\x1b]0;never closed\nb"), "a\nb");                /* a newline ends it */
}

TEST(two_byte_escapes_and_c1_bytes)
{
    CHECK_STR(F("a\x1b" "cb\x1b(Bc\x1b" "7d"), "abcd");             /* RIS, charset, DECSC */
    CHECK_STR(F("a\x9b" "31mb"), "a?31mb");                         /* 8-bit CSI shown, not obeyed */
    CHECK_STR(F("\xc3\xa9t\xc3\xa9"), "??t??");
}

TEST(a_broken_sequence_does_not_swallow_text)
{
    CHECK_STR(F("a\x1b[12\nb"), "a\nb");                            /* a control ends a CSI */
    CHECK_STR(F("a\x1b\x1b[1mb"), "ab");
}
