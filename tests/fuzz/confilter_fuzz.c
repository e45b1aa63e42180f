/* Fuzz harness for the guest text filter (vmm/confilter.c): libFuzzer entry point plus a standalone random driver. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "vmm/confilter.h"

static void fz_abort(const char *why, size_t at)
{
    fprintf(stderr, "confilter_fuzz invariant broken at byte %zu: %s\n", at, why);
    abort();
}

/* What reaches the terminal is printable ASCII, tab, newline or '?', and every newline the guest sent
 * gets through (no sequence can swallow the line structure). */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct con_filter f = { 0 };
    size_t nl_in = 0, nl_out = 0;
    for (size_t i = 0; i < size; i++) {
        int c = con_filter_byte(&f, data[i]);
        nl_in += data[i] == '\n';
        if (c < 0)
            continue;
        if (c != '\n' && c != '\t' && (c < 0x20 || c > 0x7e))
            fz_abort("a control or 8-bit byte passed", i);
        nl_out += c == '\n';
    }
    if (nl_in != nl_out)
        fz_abort("a newline was swallowed", size);
    return 0;
}

#ifndef USE_LIBFUZZER
/* Standalone: random inputs drawn mostly from the bytes that matter (ESC, [, ], P, \, BEL, controls). */
int main(int argc, char **argv)
{
    static const uint8_t hot[] = { 0x1b, '[', ']', 'P', '\\', 0x07, '\n', '\r', 0x9b, 'm', ';', '0', 'a', 0x18 };
    uint64_t rng = 0x9e3779b97f4a7c15ull;
    time_t end = time(NULL) + (argc > 1 ? atoi(argv[1]) : 5);
    uint8_t buf[256];
    unsigned long runs = 0;
    while (time(NULL) < end) {
        size_t n = 0;
        for (int k = 0; k < 1000; k++, runs++) {
            rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
            n = rng % sizeof(buf);
            for (size_t i = 0; i < n; i++) {
                rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
                buf[i] = rng & 1 ? hot[(rng >> 8) % sizeof(hot)] : (uint8_t)(rng >> 16);
            }
            LLVMFuzzerTestOneInput(buf, n);
        }
    }
    printf("confilter_fuzz: %lu inputs\n", runs);
    return 0;
}
#endif
