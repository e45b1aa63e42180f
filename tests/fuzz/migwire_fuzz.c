/* Fuzz harness for the migration stream's frames (vmm/mig/wire.c) and the destination's content index. */
/*
 * The input is a stream of frames as a source (or a destination) could send them. Each header is checked
 * with mig_hdr_parse; a frame it accepts is decoded by its type's decoder, and whatever a decoder accepts
 * must keep its promises: counts within MIG_BATCH, pointers inside the payload, HASHES entries that encode
 * back to the same bytes (a zero entry without its hash), HELLO's name and
 * arguments NUL-terminated inside their fields. Every accepted HASHES entry's hash also goes through the
 * content index (mig_idx_put / mig_idx_get), which must find what it kept; every accepted deflated DATA page
 * is expanded (kernel/zpage.c over zlib), which must fill one page or refuse. ASan and UBSan are fatal.
 * SEEDS: write a seed stream of every frame type.
 */
#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include <stdio.h>
#include <stdlib.h>
#include "vmm/mig/wire.h"
#include "vmm/mig/pageidx.h"
#include "kernel/zpage.h"
#include "kernel/errno.h"

static void inside(const void *p, size_t n, const uint8_t *base, size_t len)
{
    if ((const uint8_t *)p < base || (const uint8_t *)p + n > base + len)
        abort();
}

static void hashes(const uint8_t *p, uint32_t len, struct mig_idx *x)
{
    static struct mig_entry e[MIG_BATCH];
    static uint8_t again[MIG_MAX_PAYLOAD];
    struct mig_hashes_hdr h;
    const char *why;
    uint32_t n = sizeof(h);
    if (mig_hashes_decode(p, len, &h, e, &why))
        return;
    if (h.n == 0 || h.n > MIG_BATCH)
        abort();
    memcpy(again, p, sizeof(h));
    for (uint32_t i = 0; i < h.n; i++) {
        static const uint8_t none[MIG_HASH];
        if ((e[i].index & MIG_ENTRY_ZERO) && memcmp(e[i].hash, none, MIG_HASH))
            abort();                                 /* a zero entry's hash reads as zeros */
        n += mig_entry_put(again + n, &e[i]);
    }
    if (n != len || memcmp(again, p, len))
        abort();                                     /* encoding what was decoded gives the same bytes */
    for (uint32_t i = 0; i < h.n; i++) {
        mig_idx_put(x, e[i].hash, (e[i].index & MIG_INDEX_MASK) + 1);
        if (mig_idx_get(x, e[i].hash) != (e[i].index & MIG_INDEX_MASK) + 1 && !x->dropped)
            abort();                                 /* kept, yet not found */
    }
}

/* A deflated page from the peer: expanded into exactly one page, or refused; ASan catches any stray access. */
static void expand(const uint8_t *q, uint32_t n)
{
    static struct zpage *z;
    static uint8_t page[MIG_PAGE];
    if (!z && !(z = zpage_new(ZPAGE_EXPAND)))
        abort();
    int rc = zpage_expand(z, q, n, page);
    if (rc != 0 && rc != -EPROTO)
        abort();
}

static void frame(uint32_t type, const uint8_t *p, uint32_t len, struct mig_idx *x)
{
    const char *why;
    const uint8_t *q;
    char reason[MIG_REASON + 1];
    if (type == MIG_HELLO) {
        struct mig_hello h;
        if (mig_hello_decode(p, len, &h, &why))
            return;
        if (!memchr(h.name, 0, sizeof(h.name)) || h.argc > MIG_ARGC_MAX)
            abort();
        for (uint32_t i = 0; i < h.argc; i++) {
            const char *a = mig_hello_arg(&h, i);
            inside(a, strlen(a) + 1, (const uint8_t *)h.args, sizeof(h.args));
        }
    } else if (type == MIG_HASHES) {
        hashes(p, len, x);
    } else if (type == MIG_WANT) {
        struct mig_want_hdr h;
        if (!mig_want_decode(p, len, &h, &q, &why))
            inside(q, (h.n + 7) / 8, p, len);
    } else if (type == MIG_DATA) {
        struct mig_data_hdr h;
        uint32_t n;
        if (!mig_data_decode(p, len, &h, &q, &n, &why)) {
            inside(q, n, p, len);
            if (h.index > MIG_INDEX_MASK || (h.enc == MIG_ENC_RAW) != (n == MIG_PAGE) || n > MIG_PAGE)
                abort();
            if (h.enc == MIG_ENC_DEFLATE)
                expand(q, n);
        }
    } else if (type == MIG_STATE) {
        struct mig_state_hdr h;
        if (!mig_state_decode(p, len, &h, &q, &why) &&
            (h.total > MIG_STATE_MAX || h.offset + (len - sizeof(h)) > h.total))
            abort();
    } else if (type == MIG_REFUSE) {
        mig_reason_decode(p, len, reason, sizeof(reason));
        if (strlen(reason) > len)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mig_idx x;
    if (mig_idx_init(&x, 64))
        return 0;
    while (size >= MIG_HDR) {
        uint32_t type, len;
        const char *why;
        if (mig_hdr_parse(data, &type, &len, &why))
            break;                                   /* the session ends at the first bad header */
        if (len > size - MIG_HDR || len > MIG_MAX_PAYLOAD)
            break;
        frame(type, data + MIG_HDR, len, &x);
        data += MIG_HDR + len;
        size -= MIG_HDR + len;
    }
    mig_idx_free(&x);
    return 0;
}

#ifdef MIGWIRE_FUZZ_SEEDS
static uint8_t buf[1 << 20];
static size_t at;

static void put(uint32_t type, const void *p, uint32_t len)
{
    mig_hdr_put(buf + at, type, len);
    if (len)
        memcpy(buf + at + MIG_HDR, p, len);
    at += MIG_HDR + len;
}

/* Seed corpus in argv[1]: one stream holding a frame of each type a session uses. */
int main(int argc, char **argv)
{
    static struct mig_hello h;
    static uint8_t p[MIG_HDR + MIG_MAX_PAYLOAD];
    struct mig_hashes_hdr hh = { 1, MIG_KIND_PAGE, 2, 0 };
    struct mig_entry e[2];
    struct mig_want_hdr w = { 1, 2 };
    struct mig_data_hdr d = { MIG_KIND_PAGE, 0, 5 };
    struct mig_state_hdr st = { 16, 0 };
    uint32_t go = MIG_GO_HOLD;
    char path[512];
    FILE *f;
    if (argc < 2)
        return 1;
    h.version = MIG_VERSION;
    h.nvcpus = 1;
    h.mem_size = 16 << 20;
    h.argc = 2;
    strcpy(h.name, "g2");
    memcpy(h.args, "guest=carryon64\0mem=16M", 24);
    put(MIG_HELLO, &h, sizeof(h));
    put(MIG_ACCEPT, NULL, 0);
    memset(e, 0x5a, sizeof(e));
    e[0].index = 5;
    e[1].index = 6 | MIG_ENTRY_ZERO;
    memcpy(p, &hh, sizeof(hh));
    uint32_t hl = sizeof(hh);
    for (int i = 0; i < 2; i++)
        hl += mig_entry_put(p + hl, &e[i]);
    put(MIG_HASHES, p, hl);
    memcpy(p, &w, sizeof(w));
    p[sizeof(w)] = 1;
    put(MIG_WANT, p, sizeof(w) + 1);
    memcpy(p, &d, sizeof(d));
    memset(p + sizeof(d), 7, MIG_PAGE);
    put(MIG_DATA, p, sizeof(d) + MIG_PAGE);
    static uint8_t text[MIG_PAGE];                     /* the same page deflated */
    struct zpage *z = zpage_new(ZPAGE_COMPRESS);
    for (unsigned i = 0; i < MIG_PAGE; i++)
        text[i] = (uint8_t)("mov %rax, 8(%rbp)\n"[i % 18] + i / 512);
    uint32_t n = z ? zpage_compress(z, text, p + sizeof(d), MIG_PAGE) : 0;
    zpage_free(z);
    if (!n)
        return 1;
    d.enc = MIG_ENC_DEFLATE;
    memcpy(p, &d, sizeof(d));
    put(MIG_DATA, p, sizeof(d) + n);
    put(MIG_FINAL, NULL, 0);
    memcpy(p, &st, sizeof(st));
    memset(p + sizeof(st), 1, 16);
    put(MIG_STATE, p, sizeof(st) + 16);
    put(MIG_COMMIT, NULL, 0);
    put(MIG_GO, &go, 4);
    put(MIG_REFUSE, "no", 2);
    snprintf(path, sizeof(path), "%s/seed-stream", argv[1]);
    if (!(f = fopen(path, "wb")) || fwrite(buf, 1, at, f) != at)
        return 1;
    fclose(f);
    return 0;
}
#endif
