/* A mutation driver for the fuzz harnesses where libFuzzer is missing: flip bytes of a seed input for N seconds. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* argv[1]: the seed input (up to 256 KiB); argv[2]: seconds (default 10). Mostly the first 17 KiB change:
 * partition tables, superblocks, descriptors and inode tables live there. */
int main(int argc, char **argv)
{
    static uint8_t seed[1 << 18], buf[1 << 18];
    FILE *f = argc > 1 ? fopen(argv[1], "rb") : NULL;
    size_t n = f ? fread(seed, 1, sizeof(seed), f) : 0;
    uint64_t x = 88172645463325252ull, iters = 0;
    time_t end = time(NULL) + (argc > 2 ? atoi(argv[2]) : 10);
    if (f)
        fclose(f);
    if (n < 1024)
        return 2;
    while (time(NULL) < end) {
        memcpy(buf, seed, n);
        for (int k = 0; k < 1 + (int)(x % 16); k++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            size_t at = (x >> 40) % 4 ? (x >> 20) % 17408 : (x >> 20) % n;
            buf[at % n] = (uint8_t)(x >> 8);
        }
        LLVMFuzzerTestOneInput(buf, n);
        iters++;
    }
    printf("fuzz: %llu inputs, no crash\n", (unsigned long long)iters);
    return 0;
}
