/* CHAP for iSCSI login (RFC 7143 12.1.3, RFC 1994): MD5 responses and hex-encoded values. */
#ifndef SHOAL_ISCSI_CHAP_H
#define SHOAL_ISCSI_CHAP_H
#include <stddef.h>
#include <stdint.h>

/* response = MD5(id || secret || challenge) (RFC 1994 4.1). */
void chap_response(uint8_t id, const char *secret, const uint8_t *chal, size_t chal_len, uint8_t out[16]);
/* Decode "0x<hex>" (case-insensitive prefix) into out[max]. Returns bytes, or -EBADMSG when malformed
 * (no prefix, odd or zero digit count, bad digit) and -E2BIG when longer than max. */
int chap_hex_decode(const char *s, uint8_t *out, size_t max);
/* Encode in[len] as "0x<hex>" into out (needs 2*len+3 bytes). */
void chap_hex_encode(const uint8_t *in, size_t len, char *out);
#endif
