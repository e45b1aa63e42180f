/* Entropy for protocol nonces: RDSEED/RDRAND where CPUID says so (getrandom on the host), mixed with the TSC through SHA-256. */
#include "kernel/random.h"
#include "kernel/kstring.h"
#include "kernel/sha256.h"

static uint8_t pool[32];
static uint64_t counter;

#ifdef SHOAL_HOST
#include <sys/random.h>
#include "kernel/time.h"

static int hw_word(uint64_t *w) { return getrandom(w, sizeof(*w), 0) == (ssize_t)sizeof(*w); }
static uint64_t jitter(void) { return time_ns(); }
const char *random_source(void) { return "getrandom"; }
#else
#include "arch/x86/cpu.h"

static int hw_kind = -1;                 /* 2 RDSEED, 1 RDRAND, 0 none; -1 not probed */

/* SDM Vol. 2 CPUID: RDRAND is leaf 1 ECX bit 30, RDSEED leaf 7 subleaf 0 EBX bit 18. */
static int hw_probe(void)
{
    struct cpuid_regs r = cpuid(0, 0);
    int kind = 0;
    if (r.eax >= 7 && (cpuid(7, 0).ebx >> 18 & 1))
        kind = 2;
    else if (cpuid(1, 0).ecx >> 30 & 1)
        kind = 1;
    return kind;
}

/* One word from the hardware; CF=0 means none ready yet: retry a few times (Intel DRNG guide 5.2). */
static int hw_word(uint64_t *w)
{
    if (hw_kind < 0)
        hw_kind = hw_probe();
    for (int i = 0; i < 10 && hw_kind; i++) {
        uint8_t ok;
        if (hw_kind == 2)
            __asm__ volatile("rdseed %0; setc %1" : "=r"(*w), "=qm"(ok) : : "cc");
        else
            __asm__ volatile("rdrand %0; setc %1" : "=r"(*w), "=qm"(ok) : : "cc");
        if (ok)
            return 1;
    }
    return 0;
}

static uint64_t jitter(void) { return rdtsc(); }

const char *random_source(void)
{
    if (hw_kind < 0)
        hw_kind = hw_probe();
    return hw_kind == 2 ? "RDSEED" : hw_kind == 1 ? "RDRAND" : "TSC only";
}
#endif

void random_mix(const void *buf, size_t n)
{
    struct sha256_ctx c;
    uint64_t t = jitter();
    sha256_init(&c);
    sha256_update(&c, pool, sizeof(pool));
    sha256_update(&c, &t, sizeof(t));
    sha256_update(&c, buf, n);
    sha256_final(&c, pool);
}

/* One output block from the pool, then the pool moves on (forward secrecy). */
static void random_block(uint8_t out[32])
{
    struct sha256_ctx c;
    uint64_t w;
    sha256_init(&c);
    sha256_update(&c, pool, sizeof(pool));
    counter++;
    sha256_update(&c, &counter, sizeof(counter));
    for (int i = 0; i < 4; i++) {
        if (hw_word(&w))
            sha256_update(&c, &w, sizeof(w));
        w = jitter();
        sha256_update(&c, &w, sizeof(w));
    }
    sha256_final(&c, out);
    sha256_init(&c);
    sha256_update(&c, "next", 4);
    sha256_update(&c, out, 32);
    sha256_update(&c, pool, sizeof(pool));
    sha256_final(&c, pool);
}

void random_bytes(void *buf, size_t n)
{
    uint8_t *o = buf, blk[32];
    while (n) {
        size_t k = n < sizeof(blk) ? n : sizeof(blk);
        random_block(blk);
        memcpy(o, blk, k);
        o += k;
        n -= k;
    }
    memset(blk, 0, sizeof(blk));
}
