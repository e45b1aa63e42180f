/* Fuzz harness for the iSCSI engine's parsers: text lists, BHS decode, login text at each stage (operational, CHAP), and the receive path in login and full feature phase. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "net/iscsi/iscsi.h"
#include "net/iscsi/pdu.h"
#include "net/iscsi/text.h"
#include "net/iscsi/chap.h"
#include "net/iscsi/printable.h"
#include "kernel/time.h"

static uint8_t out[1 << 16];
static size_t out_len;
static int fz_connect(void *c, const char *h, uint16_t p) { (void)c; (void)h; (void)p; return 0; }
static int fz_send(void *c, const void *b, size_t n)
{
    (void)c;
    if (out_len + n > sizeof(out))
        out_len = 0;                     /* keep the newest; only the last login PDU matters */
    memcpy(out + out_len, b, n);
    out_len += n;
    return (int)n;
}
static void fz_close(void *c) { (void)c; }
static const struct iscsi_transport fz_tr = { fz_connect, fz_send, fz_close, NULL };

/* ITT of the last login request the engine sent. */
static uint32_t last_login_itt(void)
{
    for (size_t at = 0, last = 0; at + 48 <= out_len;) {
        uint32_t dl = (uint32_t)out[at + 5] << 16 | out[at + 6] << 8 | out[at + 7];
        last = at;
        at += 48 + dl + iscsi_pad(dl);
        if (at + 48 > out_len)
            return get_be32(out + last + 16);
    }
    return 0;
}

static void feed_login_rsp(struct iscsi_session *s, uint8_t flags, const char *keys, uint32_t klen)
{
    uint8_t b[48 + 4096 + 4] = { 0 };
    if (klen > 4096)
        klen = 4096;
    struct iscsi_pdu r = { .opcode = ISCSI_OP_LOGIN_RSP, .flags = flags, .itt = last_login_itt(), .sn1 = 1, .sn2 = 1, .sn3 = 64, .dlen = klen };
    iscsi_pdu_encode(&r, b);
    memcpy(b + 48, keys, klen);
    iscsi_conn_recv(s, b, 48 + klen + iscsi_pad(klen));
}

static void fz_done(struct iscsi_cmd *c, int status) { (void)c; (void)status; }

static void fuzz_engine(const uint8_t *d, size_t n, int ffp)
{
    struct iscsi_config cfg = { .host = "fuzz", .target = "iqn.f:t", .lun = 1, .initial_attempts = 1 };
    static uint8_t buf[4][4096];
    static struct blk_iov v[4];
    static struct iscsi_cmd c[4];
    struct iscsi_session *s = iscsi_session_new(&cfg, &fz_tr, NULL, NULL);
    out_len = 0;
    iscsi_session_start(s, time_ns());
    iscsi_conn_up(s);
    if (ffp) {
        static const char k[] = "MaxRecvDataSegmentLength=8192\0DefaultTime2Wait=0";
        feed_login_rsp(s, 0x81, "AuthMethod=None", 16);
        feed_login_rsp(s, 0x87, k, sizeof(k));
        for (int i = 0; i < 4; i++) {
            memset(&c[i], 0, sizeof(c[i]));
            c[i].cdb[0] = 0x28;
            c[i].cdb_len = 10;
            v[i].base = buf[i];
            v[i].len = 4096;
            c[i].iov = &v[i];
            c[i].niov = 1;
            c[i].len = 4096;
            c[i].allow_short = i & 1;
            c[i].done = fz_done;
            iscsi_cmd_submit(s, &c[i], time_ns());      /* ITTs 0..3: Data-In paths are reachable */
        }
    }
    for (size_t i = 0; i < n;) {                 /* split at pseudo-random points */
        size_t k = 1 + (d[i] % 61);
        if (k > n - i)
            k = n - i;
        iscsi_conn_recv(s, d + i, k);
        i += k;
    }
    iscsi_poll(s, time_ns());
    iscsi_session_close(s, time_ns());
    iscsi_session_free(s);
}

/* Login text from a target at each stage that parses it: operational answers (mode 0), the CHAP
 * challenge (1), and mutual CHAP's proof (2); the input is split at its first 0xff byte for mode 2. */
static void fuzz_login_text(const uint8_t *d, size_t n, int mode)
{
    struct iscsi_config cfg = { .host = "fuzz", .target = "iqn.f:t", .lun = 1, .initial_attempts = 1 };
    const uint8_t *cut = mode == 2 ? memchr(d, 0xff, n) : NULL;
    size_t first = cut ? (size_t)(cut - d) : n;
    struct iscsi_session *s;
    if (mode) {
        strcpy(cfg.chap_user, "u"); strcpy(cfg.chap_secret, "s");
        strcpy(cfg.mutual_user, "t"); strcpy(cfg.mutual_secret, "m");
    }
    s = iscsi_session_new(&cfg, &fz_tr, NULL, NULL);
    out_len = 0;
    iscsi_session_start(s, time_ns());
    iscsi_conn_up(s);
    if (!mode) {
        feed_login_rsp(s, 0x81, "AuthMethod=None", 16);
        feed_login_rsp(s, 0x87, (const char *)d, (uint32_t)n);
    } else {
        static const char chal[] = "CHAP_A=5\0CHAP_I=7\0CHAP_C=0x00112233445566778899aabbccddeeff";
        feed_login_rsp(s, 0x00, "AuthMethod=CHAP", 16);
        feed_login_rsp(s, 0x00, mode == 1 ? (const char *)d : chal, mode == 1 ? (uint32_t)n : sizeof(chal));
        if (mode == 2)
            feed_login_rsp(s, 0x81, (const char *)d, (uint32_t)first);
        if (cut)
            feed_login_rsp(s, 0x87, (const char *)cut + 1, (uint32_t)(n - first - 1));
    }
    iscsi_poll(s, time_ns());
    iscsi_session_close(s, time_ns());
    iscsi_session_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    struct iscsi_pdu p;
    uint8_t bhs[48] = { 0 }, hexout[64];
    if (n < 1)
        return 0;
    switch (d[0] % 7) {
    case 0: {
        struct iscsi_text_iter it = { (const char *)d + 1, n - 1, 0 };
        char key[ISCSI_KEY_MAX + 1], shown[128];
        const char *v;
        while (iscsi_text_next(&it, key, &v) > 0) {
            if (!strcmp(key, "CHAP_C"))
                chap_hex_decode(v, hexout, sizeof(hexout));
            iscsi_printable(shown, sizeof(shown), v, n);
        }
        break;
    }
    case 4: case 5: case 6:
        fuzz_login_text(d + 1, n - 1, d[0] % 7 - 4);
        break;
    case 1:
        memcpy(bhs, d + 1, n - 1 < 48 ? n - 1 : 48);
        iscsi_pdu_decode(bhs, &p);
        break;
    case 2:
        fuzz_engine(d + 1, n - 1, 0);
        break;
    default:
        fuzz_engine(d + 1, n - 1, 1);
        break;
    }
    return 0;
}

#ifdef FUZZ_STANDALONE
/* Without libFuzzer: mutate a few valid seeds deterministically for argv[1] seconds. */
int main(int argc, char **argv)
{
    static uint8_t seed[][64] = {
        { 3, 0x25, 0x81, 0, 0, 0, 0, 0, 16, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 },
        { 3, 0x21, 0x80, 0, 2, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 },
        { 0, 'A', '=', 'B', 0, 'C', 'H', 'A', 'P', '_', 'C', '=', '0', 'x', '1', '2', 0 },
        { 2, 0x23, 0x87, 0, 0, 0, 0, 0, 4 },
        { 3, 0x20, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1 },
        { 4, 'H', 'e', 'a', 'd', 'e', 'r', 'D', 'i', 'g', 'e', 's', 't', '=', 'N', 'o', 'n', 'e', 0 },
        { 5, 'C', 'H', 'A', 'P', '_', 'A', '=', '5', 0, 'C', 'H', 'A', 'P', '_', 'C', '=', '0', 'x', '1', '2', 0 },
        { 6, 'C', 'H', 'A', 'P', '_', 'N', '=', 't', 0, 'C', 'H', 'A', 'P', '_', 'R', '=', '0', 'x', '1', 0, 0xff },
    };
    uint64_t x = 88172645463325252ull, secs = argc > 1 ? strtoull(argv[1], NULL, 10) : 20, iters = 0;
    uint64_t end = time_ns() + secs * 1000000000ull;
    uint8_t buf[256];
    while (time_ns() < end) {
        size_t si = (size_t)(iters % (sizeof(seed) / sizeof(seed[0]))), len = 8 + (x >> 33) % 200;
        memcpy(buf, seed[si], 64);
        for (size_t i = 64; i < sizeof(buf); i++)
            buf[i] = (uint8_t)(x >> (i % 56));
        for (int k = 0; k < 1 + (int)(x % 8); k++) {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            buf[1 + x % (len - 1)] = (uint8_t)(x >> 24);
        }
        buf[0] = seed[si][0];
        LLVMFuzzerTestOneInput(buf, len);
        iters++;
    }
    printf("fuzz: %llu inputs, no crash\n", (unsigned long long)iters);
    return 0;
}
#endif
