/* Unit tests: the printf formatter and the string helpers. */
#define TEST_SUITE "printf"
#include "tests/unit/test.h"
#include "kernel/printf.h"
#include "kernel/kstring.h"
#include "kernel/errno.h"
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
#pragma GCC diagnostic ignored "-Wformat-security"

static const char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static const char *fmt(const char *f, ...)
{
    static char buf[256];
    va_list ap;
    va_start(ap, f);
    kvsnprintf(buf, sizeof(buf), f, ap);
    va_end(ap);
    return buf;
}

TEST(integers)
{
    CHECK_STR(fmt("%d", 0), "0");
    CHECK_STR(fmt("%d %i", -42, 17), "-42 17");
    CHECK_STR(fmt("%u", 4294967295u), "4294967295");
    CHECK_STR(fmt("%ld", -9223372036854775807L - 1), "-9223372036854775808");
    CHECK_STR(fmt("%llu", 18446744073709551615ull), "18446744073709551615");
    CHECK_STR(fmt("%zu %zx", (size_t)123, (size_t)255), "123 ff");
    CHECK_STR(fmt("%hhd %hd", 300, 70000), "44 4464");
    CHECK_STR(fmt("%o", 8), "10");
}

TEST(hex_and_pointers)
{
    CHECK_STR(fmt("%x %X", 0xdeadbeefu, 0xabcu), "deadbeef ABC");
    CHECK_STR(fmt("%#x %#X %#x", 255u, 255u, 0u), "0xff 0XFF 0");
    CHECK_STR(fmt("%016llx", 0x1234ull), "0000000000001234");
    CHECK_STR(fmt("%p", (void *)0x1000), "0x1000");
    CHECK_STR(fmt("%#llx", 0xdead0000000ull), "0xdead0000000");
}

TEST(width_precision_flags)
{
    CHECK_STR(fmt("[%5d]", 42), "[   42]");
    CHECK_STR(fmt("[%-5d]", 42), "[42   ]");
    CHECK_STR(fmt("[%05d]", -42), "[-0042]");
    CHECK_STR(fmt("[%+d] [% d]", 5, 5), "[+5] [ 5]");
    CHECK_STR(fmt("[%.3d]", 7), "[007]");
    CHECK_STR(fmt("[%*d]", 4, 1), "[   1]");
    CHECK_STR(fmt("[%-*d]", 3, 1), "[1  ]");
    CHECK_STR(fmt("[%.0d]", 0), "[]");
    CHECK_STR(fmt("[%2u.%06u]", 3u, 45u), "[ 3.000045]");
}

TEST(strings_and_chars)
{
    CHECK_STR(fmt("%s|%c|%%", "abc", 'x'), "abc|x|%");
    CHECK_STR(fmt("[%8s][%-8s]", "ab", "ab"), "[      ab][ab      ]");
    CHECK_STR(fmt("%.2s", "abcdef"), "ab");
    CHECK_STR(fmt("%.*s", 3, "abcdef"), "abc");
    const char *volatile nul = NULL;
    CHECK_STR(fmt("%s", nul), "(null)");
    CHECK_STR(fmt("%-14s|", "console"), "console       |");
}

TEST(truncation_returns_full_length)
{
    char buf[8];
    int n = ksnprintf(buf, sizeof(buf), "hello %s", "world");
    CHECK_EQ(n, 11);
    CHECK_STR(buf, "hello w");
    n = ksnprintf(buf, 1, "abc");
    CHECK_EQ(n, 3);
    CHECK_EQ(buf[0], 0);
    CHECK_EQ(ksnprintf(NULL, 0, "%d", 12345), 5);
}

/* Formats the compiler would reject at compile time go through a variable. */
static const char *fmt_dyn(const char *f)
{
    static char buf[64];
    ksnprintf(buf, sizeof(buf), f, 0);
    return buf;
}

TEST(unknown_conversion_is_visible)
{
    CHECK_STR(fmt_dyn("%q"), "%q");
    CHECK_STR(fmt_dyn("100%"), "100%");
}

TEST(strtou64)
{
    uint64_t v = 0;
    CHECK_EQ(kstrtou64("123", &v, 0), 0);
    CHECK_U64(v, 123);
    CHECK_EQ(kstrtou64("0x1F", &v, 0), 0);
    CHECK_U64(v, 31);
    CHECK_EQ(kstrtou64("64M", &v, 1), 0);
    CHECK_U64(v, 64ull << 20);
    CHECK_EQ(kstrtou64("3G", &v, 1), 0);
    CHECK_U64(v, 3ull << 30);
    CHECK_EQ(kstrtou64("64M", &v, 0), -EINVAL);
    CHECK_EQ(kstrtou64("", &v, 0), -EINVAL);
    CHECK_EQ(kstrtou64("12x", &v, 0), -EINVAL);
    CHECK_EQ(kstrtou64("0x", &v, 0), -EINVAL);
    CHECK_EQ(kstrtou64("18446744073709551616", &v, 0), -ERANGE);
    CHECK_EQ(kstrtou64("18446744073709551615", &v, 0), 0);
    CHECK_EQ(kstrtou64("20000000000T", &v, 1), -ERANGE);
}

TEST(strlcpy)
{
    char b[4];
    CHECK_EQ(kstrlcpy(b, "abcdef", sizeof(b)), 6);
    CHECK_STR(b, "abc");
    CHECK_EQ(kstrlcpy(b, "", sizeof(b)), 0);
    CHECK_STR(b, "");
}
