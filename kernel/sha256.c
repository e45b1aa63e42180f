/* SHA-256 for kernel/sha256.h: mbedTLS's implementation (build/mbedtls/library/sha256.c) behind shoal's API. */
#include "kernel/sha256.h"
#include "mbedtls/sha256.h"

_Static_assert(sizeof(mbedtls_sha256_context) <= sizeof(((struct sha256_ctx *)0)->opaque),
               "struct sha256_ctx too small for mbedtls_sha256_context");
_Static_assert(_Alignof(mbedtls_sha256_context) <= _Alignof(struct sha256_ctx),
               "struct sha256_ctx less aligned than mbedtls_sha256_context");

static mbedtls_sha256_context *ctx(struct sha256_ctx *c)
{
    return (mbedtls_sha256_context *)c->opaque;
}

/* mbedTLS's SHA-256 calls return 0 whenever their pointers are valid (no MBEDTLS_SHA256_ALT, no
   MBEDTLS_CHECK_PARAMS in net/tls/mbedtls_config.h), so their results are not looked at. */
void sha256_init(struct sha256_ctx *c)
{
    mbedtls_sha256_init(ctx(c));
    mbedtls_sha256_starts_ret(ctx(c), 0);  /* 0: SHA-256, not SHA-224 */
}

void sha256_update(struct sha256_ctx *c, const void *data, size_t len)
{
    mbedtls_sha256_update_ret(ctx(c), data, len);
}

void sha256_final(struct sha256_ctx *c, uint8_t out[32])
{
    mbedtls_sha256_finish_ret(ctx(c), out);
    mbedtls_sha256_free(ctx(c));
}

void sha256(const void *data, size_t len, uint8_t out[32])
{
    mbedtls_sha256_ret(data, len, out, 0);
}
