/* SHA-256 (FIPS 180-4): page and block content hashes, and test-data checks; mbedTLS's, through kernel/sha256.c. */
#ifndef SHOAL_SHA256_H
#define SHOAL_SHA256_H
#include <stddef.h>
#include <stdint.h>

/* Room for an mbedtls_sha256_context, which only kernel/sha256.c looks into (it checks the size at build time):
   callers need neither mbedTLS's headers nor its configuration. */
struct sha256_ctx {
    uint64_t opaque[16];
};

/* Start, feed any number of pieces, finish into out[32] (which also wipes the context). Cannot fail. */
void sha256_init(struct sha256_ctx *c);
void sha256_update(struct sha256_ctx *c, const void *data, size_t len);
void sha256_final(struct sha256_ctx *c, uint8_t out[32]);
/* One-shot SHA-256 of data[0..len). */
void sha256(const void *data, size_t len, uint8_t out[32]);
#endif
