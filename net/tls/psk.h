/* The migration channel's pre-shared key: parsed from an operator's key= text (hex or passphrase). */
#ifndef SHOAL_TLS_PSK_H
#define SHOAL_TLS_PSK_H
#include <stddef.h>
#include <stdint.h>

#define TLS_PSK_IDENTITY_DEFAULT "shoal-migrate"
#define TLS_PSK_IDENTITY_MAX     64
#define TLS_PSK_KEY_LEN          32

struct tls_psk {
    uint8_t key[TLS_PSK_KEY_LEN];
    char identity[TLS_PSK_IDENTITY_MAX + 1];
    size_t identity_len;
};

/*
 * Fill *psk from key text and an identity (NULL: "shoal-migrate"). Exactly 64 hex digits are the
 * 32-byte key itself; any other non-empty text is a passphrase and the key is its SHA-256.
 * Returns 0, or -EINVAL for an empty key, an empty or over-long identity, or one with bytes outside
 * printable ASCII (it travels in the clear in the handshake). *psk is zeroed on failure.
 */
int tls_psk_parse(struct tls_psk *psk, const char *key, const char *identity);
/* Overwrite the key material (before the memory is freed or reused). */
void tls_psk_wipe(struct tls_psk *psk);
#endif
