/* mbedTLS build configuration for shoal (MBEDTLS_CONFIG_FILE): TLS 1.2, ECDHE-PSK (migration) and
   ECDHE-ECDSA (the management API), the kernel's SHA-256 and MD5, freestanding. */
#ifndef SHOAL_MBEDTLS_CONFIG_H
#define SHOAL_MBEDTLS_CONFIG_H

/* Freestanding: no libc time, file system, sockets or threads; the platform layer maps what is used. */
#define MBEDTLS_HAVE_ASM
#define MBEDTLS_NO_UDBL_DIVISION
#define MBEDTLS_PLATFORM_C
#define MBEDTLS_PLATFORM_NO_STD_FUNCTIONS
#define MBEDTLS_PLATFORM_PRINTF_MACRO   kprintf
#define MBEDTLS_PLATFORM_SNPRINTF_MACRO ksnprintf
/*
 * Memory: mbedtls_calloc/mbedtls_free are calloc/free, which net/tls/port.c maps onto the kernel heap.
 * MBEDTLS_PLATFORM_MEMORY stays off on purpose: with it lwIP's altcp_tls_mbedtls_mem.c installs its own
 * allocator over lwIP's 512 KiB packet heap, which TLS buffers would then compete for with TCP.
 */
#include <stddef.h>
#include "kernel/printf.h"
void *calloc(size_t n, size_t size);
void free(void *p);

/* Entropy: only the hardware source (RDSEED/RDRAND + TSC jitter through random_bytes). */
#define MBEDTLS_NO_PLATFORM_ENTROPY
#define MBEDTLS_ENTROPY_HARDWARE_ALT
#define MBEDTLS_ENTROPY_C
#define MBEDTLS_ENTROPY_FORCE_SHA256
#define MBEDTLS_CTR_DRBG_C

/* Primitives: X25519 / P-256 ECDHE, ChaCha20-Poly1305 records, SHA-256 PRF, AES for CTR_DRBG. */
#define MBEDTLS_AES_C
#define MBEDTLS_AES_ROM_TABLES
#define MBEDTLS_CHACHA20_C
#define MBEDTLS_POLY1305_C
#define MBEDTLS_CHACHAPOLY_C
#define MBEDTLS_CIPHER_C
#define MBEDTLS_MD_C
#define MBEDTLS_SHA256_C
/* Also the kernel's own hashes: SHA-256 (kernel/sha256.c) and MD5 (kernel/md5.c, iSCSI CHAP only). */
#define MBEDTLS_MD5_C
#define MBEDTLS_BIGNUM_C
#define MBEDTLS_ECP_C
#define MBEDTLS_ECDH_C
#define MBEDTLS_ECP_DP_CURVE25519_ENABLED
#define MBEDTLS_ECP_DP_SECP256R1_ENABLED
#define MBEDTLS_ECP_NIST_OPTIM

/* Certificate parsing: not used by the PSK channel, but lwIP's altcp_tls_mbedtls.c requires it to build. */
#define MBEDTLS_ASN1_PARSE_C
#define MBEDTLS_OID_C
#define MBEDTLS_PK_C
#define MBEDTLS_PK_PARSE_C
#define MBEDTLS_X509_USE_C
#define MBEDTLS_X509_CRT_PARSE_C

/* TLS 1.2 only, pre-shared key with forward secrecy (RFC 5489 ECDHE_PSK; RFC 7905 ChaCha20-Poly1305). */
#define MBEDTLS_SSL_TLS_C
#define MBEDTLS_SSL_CLI_C
#define MBEDTLS_SSL_SRV_C
#define MBEDTLS_SSL_PROTO_TLS1_2
#define MBEDTLS_KEY_EXCHANGE_ECDHE_PSK_ENABLED
/* The migration channel restricts its own configs to the PSK suite (net/tls/listen.c); the management API
   (net/api/) serves an ECDSA P-256 certificate with ChaCha20-Poly1305 or AES-128-GCM. */
#define MBEDTLS_SSL_CIPHERSUITES MBEDTLS_TLS_ECDHE_PSK_WITH_CHACHA20_POLY1305_SHA256, \
                                 MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, \
                                 MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
#define MBEDTLS_KEY_EXCHANGE_ECDHE_ECDSA_ENABLED
#define MBEDTLS_SSL_EXTENDED_MASTER_SECRET
#define MBEDTLS_SSL_ENCRYPT_THEN_MAC
#define MBEDTLS_SSL_ALL_ALERT_MESSAGES
#define MBEDTLS_SSL_MAX_FRAGMENT_LENGTH
/* Records: 16 KiB in (a peer may send full-size records), 16 KiB out (fewer records per MiB). */
#define MBEDTLS_SSL_IN_CONTENT_LEN      16384
#define MBEDTLS_SSL_OUT_CONTENT_LEN     16384

/* The management API's certificate (net/api/cert.c): an ECDSA P-256 key and a self-signed certificate
   made at boot, or a key and certificate (PEM or DER) given as boot modules. */
#define MBEDTLS_ECDSA_C
#define MBEDTLS_GCM_C
#define MBEDTLS_ASN1_WRITE_C
#define MBEDTLS_PK_WRITE_C
#define MBEDTLS_X509_CREATE_C
#define MBEDTLS_X509_CRT_WRITE_C
#define MBEDTLS_PEM_PARSE_C
#define MBEDTLS_BASE64_C

#include "mbedtls/check_config.h"
#endif
