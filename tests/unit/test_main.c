/* Host unit-test runner: runs every registered test, prints PASS/FAIL per test and a summary line. */
#include <stdarg.h>
#include <stdlib.h>
#include "tests/unit/test.h"

#define MAX_TESTS 1024

static struct { const char *suite, *name; void (*fn)(void); } tests[MAX_TESTS];
static int ntests, cur_failed;

void test_register(const char *suite, const char *name, void (*fn)(void))
{
    if (ntests == MAX_TESTS) {
        fprintf(stderr, "too many tests\n");
        exit(2);
    }
    tests[ntests].suite = suite;
    tests[ntests].name = name;
    tests[ntests++].fn = fn;
}

void test_fail(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    fprintf(stdout, "    %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stdout, fmt, ap);
    va_end(ap);
    fprintf(stdout, "\n");
    cur_failed = 1;
}

int main(int argc, char **argv)
{
    int passed = 0, failed = 0;
    for (int i = 0; i < ntests; i++) {
        if (argc > 1 && !strstr(tests[i].name, argv[1]))
            continue;
        cur_failed = 0;
        tests[i].fn();
        printf("%s %s.%s\n", cur_failed ? "FAIL" : "PASS", tests[i].suite, tests[i].name);
        fflush(stdout);
        if (cur_failed)
            failed++;
        else
            passed++;
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
