/* What the virtio fuzzers share: a failed check or broken invariant aborts (libFuzzer keeps the input). */
#ifndef SHOAL_TESTS_VIRTIO_FUZZ_H
#define SHOAL_TESTS_VIRTIO_FUZZ_H
#include <stdio.h>
#include <stdlib.h>

/* The fake VM's helpers check with the unit-test macros; under a fuzzer a failed check is a crash. */
void test_fail(const char *file, int line, const char *fmt, ...)
{
    fprintf(stderr, "%s: check failed at %s:%d (%s)\n", FUZZ_NAME, file, line, fmt);
    abort();
}

static void fz_abort(const char *what)
{
    fprintf(stderr, "%s invariant broken: %s\n", FUZZ_NAME, what);
    abort();
}
#endif
