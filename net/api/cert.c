/* The API's TLS identity: a key and certificate from boot modules, or a self-signed one made at boot. */
#include "net/api/api.h"
#include "lwip/altcp_tls.h"
#include "mbedtls/pk.h"
#include "mbedtls/ecp.h"
#include "mbedtls/x509_crt.h"
#include "kernel/kernel.h"
#include "kernel/bootinfo.h"
#include "kernel/heap.h"
#include "kernel/kstring.h"
#include "kernel/printf.h"
#include "kernel/random.h"
#include "kernel/sha256.h"
#include "kernel/errno.h"

#define DER_MAX 1024

char api_cert_module[64], api_key_module[64];
static char fingerprint[32 * 3];

const char *api_cert_fingerprint(void)
{
    return fingerprint;
}

static void note_fingerprint(const unsigned char *der, size_t len, const char *what)
{
    uint8_t h[32];
    sha256(der, len, h);
    for (int i = 0; i < 32; i++)
        ksnprintf(fingerprint + 3 * i, 4, "%02X%s", h[i], i < 31 ? ":" : "");
    kprintf("api: %s certificate, SHA-256 fingerprint %s\n", what, fingerprint);
}

/* mbedTLS's RNG callback: kernel/random.c (hardware entropy hashed with SHA-256). */
static int rng(void *ctx, unsigned char *out, size_t len)
{
    (void)ctx;
    random_bytes(out, len);
    return 0;
}

/* An ECDSA P-256 key and a self-signed certificate for it (CN=shoal-<MAC-free random tag>), as DER. */
static int make_self_signed(unsigned char *key, size_t *klen, unsigned char *crt, size_t *clen)
{
    mbedtls_pk_context pk;
    mbedtls_x509write_cert w;
    mbedtls_mpi serial;
    unsigned char sn[16], *kbuf = NULL, *cbuf = NULL;
    char name[64];
    int rc = -ENOMEM, n;
    mbedtls_pk_init(&pk);
    mbedtls_x509write_crt_init(&w);
    mbedtls_mpi_init(&serial);
    random_bytes(sn, sizeof(sn));
    sn[0] &= 0x7f;                        /* RFC 5280 4.1.2.2: a positive serial of at most 20 bytes */
    ksnprintf(name, sizeof(name), "CN=shoal-%02x%02x%02x%02x,O=shoal", sn[1], sn[2], sn[3], sn[4]);
    if (!(kbuf = kmalloc(2 * DER_MAX)))
        goto out;
    cbuf = kbuf + DER_MAX;
    if (mbedtls_pk_setup(&pk, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)) ||
        mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(pk), rng, NULL) ||
        mbedtls_mpi_read_binary(&serial, sn, sizeof(sn)))
        goto out;
    mbedtls_x509write_crt_set_version(&w, MBEDTLS_X509_CRT_VERSION_3);
    mbedtls_x509write_crt_set_md_alg(&w, MBEDTLS_MD_SHA256);
    mbedtls_x509write_crt_set_subject_key(&w, &pk);
    mbedtls_x509write_crt_set_issuer_key(&w, &pk);
    rc = -EINVAL;
    if (mbedtls_x509write_crt_set_subject_name(&w, name) || mbedtls_x509write_crt_set_issuer_name(&w, name) ||
        mbedtls_x509write_crt_set_serial(&w, &serial) ||
        mbedtls_x509write_crt_set_validity(&w, "20260101000000", "20460101000000") ||
        mbedtls_x509write_crt_set_basic_constraints(&w, 0, -1))
        goto out;
    /* Both writers fill their buffer from the end. */
    if ((n = mbedtls_pk_write_key_der(&pk, kbuf, DER_MAX)) <= 0)
        goto out;
    memcpy(key, kbuf + DER_MAX - n, (size_t)n);
    *klen = (size_t)n;
    if ((n = mbedtls_x509write_crt_der(&w, cbuf, DER_MAX, rng, NULL)) <= 0)
        goto out;
    memcpy(crt, cbuf + DER_MAX - n, (size_t)n);
    *clen = (size_t)n;
    rc = 0;
out:
    if (kbuf) {
        memset(kbuf, 0, DER_MAX);        /* the private key's scratch copy */
        kfree(kbuf);
    }
    mbedtls_mpi_free(&serial);
    mbedtls_x509write_crt_free(&w);
    mbedtls_pk_free(&pk);
    return rc;
}

/* A boot module's bytes as a heap copy with a NUL after them (PEM parsing needs it); NULL when absent. */
static unsigned char *module_copy(const char *name, size_t *len)
{
    const struct boot_module *m = boot_module_find(name);
    unsigned char *p;
    if (!m || m->end <= m->start || m->end - m->start > 64 * 1024) {
        kprintf("error: api: boot module '%s' is missing, empty or over 64 KiB\n", name);
        return NULL;
    }
    *len = (size_t)(m->end - m->start);
    if ((p = kmalloc(*len + 1))) {
        memcpy(p, (const void *)m->start, *len);
        p[*len] = 0;
        *len += 1;                        /* PEM input is passed with its NUL; DER parsing ignores the length */
    }
    return p;
}

static struct altcp_tls_config *from_modules(void)
{
    size_t klen = 0, clen = 0;
    unsigned char *key = module_copy(api_key_module, &klen), *crt = module_copy(api_cert_module, &clen);
    struct altcp_tls_config *conf = NULL;
    mbedtls_x509_crt x;
    mbedtls_x509_crt_init(&x);
    if (key && crt && mbedtls_x509_crt_parse(&x, crt, crt[0] == 0x30 ? clen - 1 : clen) == 0) {
        /* DER (starts with a SEQUENCE) is parsed without the NUL we added, PEM with it. */
        conf = altcp_tls_create_config_server_privkey_cert(key, key[0] == 0x30 ? klen - 1 : klen, NULL, 0,
                                                           crt, crt[0] == 0x30 ? clen - 1 : clen);
        if (conf)
            note_fingerprint(x.raw.p, x.raw.len, "boot module");
    }
    if (!conf)
        kprintf("error: api: the key (%s) and certificate (%s) modules could not be used (PEM or DER; "
                "an EC P-256 key)\n", api_key_module, api_cert_module);
    mbedtls_x509_crt_free(&x);
    if (key) {
        memset(key, 0, klen);
        kfree(key);
    }
    kfree(crt);
    return conf;
}

struct altcp_tls_config *api_cert_config(void)
{
    unsigned char *key, *crt;
    size_t klen, clen;
    struct altcp_tls_config *conf = NULL;
    if (api_cert_module[0] || api_key_module[0])
        return from_modules();
    if (!(key = kmalloc(2 * DER_MAX)))
        return NULL;
    crt = key + DER_MAX;
    if (make_self_signed(key, &klen, crt, &clen) == 0 &&
        (conf = altcp_tls_create_config_server_privkey_cert(key, klen, NULL, 0, crt, clen)))
        note_fingerprint(crt, clen, "self-signed");
    else
        kprintf("error: api: no TLS certificate could be made\n");
    memset(key, 0, DER_MAX);
    kfree(key);
    return conf;
}
