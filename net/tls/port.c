/* mbedTLS's platform for shoal: calloc/free over the kernel heap (with a usage count) and hardware entropy. */
#include <stddef.h>
#include <stdint.h>
#include "kernel/heap.h"
#include "kernel/kstring.h"
#include "kernel/random.h"
#include "net/tls/port.h"
#include "net/tls/mbedtls_config.h"

int mbedtls_hardware_poll(void *data, unsigned char *out, size_t len, size_t *olen);

/* Each block carries its size in a 16-byte header (keeps kmalloc's 16-byte alignment) for the counters. */
struct tls_block {
    size_t size;
    size_t pad;
};

static struct tls_heap_stats stats;

/* mbedtls_calloc: zeroed n*size bytes from the kernel heap, NULL on overflow or exhaustion. */
void *calloc(size_t n, size_t size)
{
    if (size != 0 && n > (SIZE_MAX - sizeof(struct tls_block)) / size)
        return NULL;
    size_t bytes = n * size;
    struct tls_block *b = kzalloc(sizeof(*b) + bytes);
    if (!b)
        return NULL;
    b->size = bytes;
    stats.in_use += bytes;
    if (stats.in_use > stats.peak)
        stats.peak = stats.in_use;
    return b + 1;
}

/* mbedtls_free: a block from calloc above; NULL is ignored. */
void free(void *p)
{
    if (!p)
        return;
    struct tls_block *b = (struct tls_block *)p - 1;
    stats.in_use -= b->size;
    kfree(b);
}

void tls_heap_get_stats(struct tls_heap_stats *st)
{
    *st = stats;
}

void tls_heap_reset_peak(void)
{
    stats.peak = stats.in_use;
}

/*
 * MBEDTLS_ENTROPY_HARDWARE_ALT: mbedTLS's strong entropy source. random_bytes() hashes RDSEED (else
 * RDRAND) words with TSC jitter; time alone never seeds the DRBG (random_source() names the source).
 */
int mbedtls_hardware_poll(void *data, unsigned char *out, size_t len, size_t *olen)
{
    (void)data;
    random_bytes(out, len);
    *olen = len;
    return 0;
}
