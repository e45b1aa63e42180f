/* MD5 for kernel/md5.h (iSCSI CHAP only): mbedTLS's implementation (build/mbedtls/library/md5.c) behind shoal's API. */
#include "kernel/md5.h"
#include "mbedtls/md5.h"

_Static_assert(sizeof(mbedtls_md5_context) <= sizeof(((struct md5_ctx *)0)->opaque),
               "struct md5_ctx too small for mbedtls_md5_context");
_Static_assert(_Alignof(mbedtls_md5_context) <= _Alignof(struct md5_ctx),
               "struct md5_ctx less aligned than mbedtls_md5_context");

static mbedtls_md5_context *ctx(struct md5_ctx *c)
{
    return (mbedtls_md5_context *)c->opaque;
}

/* mbedTLS's MD5 calls return 0 whenever their pointers are valid (no MBEDTLS_MD5_ALT), so their results are
   not looked at. */
void md5_init(struct md5_ctx *c)
{
    mbedtls_md5_init(ctx(c));
    mbedtls_md5_starts_ret(ctx(c));
}

void md5_update(struct md5_ctx *c, const void *data, size_t len)
{
    mbedtls_md5_update_ret(ctx(c), data, len);
}

void md5_final(struct md5_ctx *c, uint8_t out[16])
{
    mbedtls_md5_finish_ret(ctx(c), out);
    mbedtls_md5_free(ctx(c));
}

void md5(const void *data, size_t len, uint8_t out[16])
{
    mbedtls_md5_ret(data, len, out);
}
