/* MD5 (RFC 1321): used only for iSCSI CHAP (RFC 1994, CHAP_A=5), never for integrity; mbedTLS's (kernel/md5.c). */
#ifndef SHOAL_MD5_H
#define SHOAL_MD5_H
#include <stddef.h>
#include <stdint.h>

/* Room for an mbedtls_md5_context, which only kernel/md5.c looks into (it checks the size at build time). */
struct md5_ctx {
    uint64_t opaque[12];
};

/* Start, feed any number of pieces, finish into out[16] (which also wipes the context). Cannot fail. */
void md5_init(struct md5_ctx *c);
void md5_update(struct md5_ctx *c, const void *data, size_t len);
void md5_final(struct md5_ctx *c, uint8_t out[16]);
/* One-shot MD5 of data[0..len). */
void md5(const void *data, size_t len, uint8_t out[16]);
#endif
