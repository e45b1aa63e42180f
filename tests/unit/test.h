/* A small host unit-test harness: TEST() registers, CHECK*() records, test_main runs and reports. */
#ifndef SHOAL_TEST_H
#define SHOAL_TEST_H
#include <stdio.h>
#include <string.h>
#include <stdint.h>

void test_register(const char *suite, const char *name, void (*fn)(void));
void test_fail(const char *file, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#ifndef TEST_SUITE
#define TEST_SUITE "unit"
#endif

#define TEST(name) \
    static void name(void); \
    __attribute__((constructor)) static void reg_##name(void) { test_register(TEST_SUITE, #name, name); } \
    static void name(void)

#define CHECK(c) do { if (!(c)) test_fail(__FILE__, __LINE__, "CHECK(%s)", #c); } while (0)
#define CHECK_EQ(a, b) do { long long a_ = (long long)(a), b_ = (long long)(b); \
    if (a_ != b_) test_fail(__FILE__, __LINE__, "%s == %lld, expected %s == %lld", #a, a_, #b, b_); } while (0)
#define CHECK_U64(a, b) do { unsigned long long a_ = (unsigned long long)(a), b_ = (unsigned long long)(b); \
    if (a_ != b_) test_fail(__FILE__, __LINE__, "%s == %#llx, expected %#llx", #a, a_, b_); } while (0)
#define CHECK_STR(a, b) do { const char *a_ = (a), *b_ = (b); \
    if (!a_ || !b_ || strcmp(a_, b_)) test_fail(__FILE__, __LINE__, "%s == \"%s\", expected \"%s\"", #a, a_ ? a_ : "(null)", b_ ? b_ : "(null)"); } while (0)
#define CHECK_MEM(a, b, n) do { if (memcmp((a), (b), (n))) test_fail(__FILE__, __LINE__, "memory %s differs from %s", #a, #b); } while (0)
#endif
