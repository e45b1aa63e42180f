/* SHA-256 (FIPS 180-4): page and block content hashes, and test-data checks. */
#ifndef SHOAL_SHA256_H
#define SHOAL_SHA256_H
#include <stddef.h>
#include <stdint.h>

struct sha256_ctx {
    uint32_t h[8];
    uint64_t len;          /* bytes hashed so far */
    uint8_t buf[64];
};

/* Start, feed any number of pieces, finish into out[32]. Cannot fail. */
void sha256_init(struct sha256_ctx *c);
void sha256_update(struct sha256_ctx *c, const void *data, size_t len);
void sha256_final(struct sha256_ctx *c, uint8_t out[32]);
/* One-shot SHA-256 of data[0..len). */
void sha256(const void *data, size_t len, uint8_t out[32]);
#endif
