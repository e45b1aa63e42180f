/* Fuzz harness for insn_decode/insn_emulate: libFuzzer entry point plus a deterministic random driver. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "vmm/decode.h"
#include "kernel/errno.h"

/* Fake device: answers reads from the fuzz input, checks every access is at gpa with the decoded size. */
struct fdev {
    uint64_t gpa, val;
    int size, accesses;
};

static void fz_abort(const char *why)
{
    fprintf(stderr, "decode_fuzz invariant broken: %s\n", why);
    abort();
}

static int fd_read(void *ctx, uint64_t gpa, int size, uint64_t *val)
{
    struct fdev *d = ctx;
    if (gpa != d->gpa || size != d->size || ++d->accesses > 2)
        fz_abort("read not at gpa/size");
    *val = d->val;
    return 0;
}

static int fd_write(void *ctx, uint64_t gpa, int size, uint64_t val)
{
    struct fdev *d = ctx;
    if (gpa != d->gpa || size != d->size || ++d->accesses > 2)
        fz_abort("write not at gpa/size");
    if (size < 8 && (val >> (8 * size)))
        fz_abort("write value wider than its size");
    return 0;
}

/* Linear accesses (MOVS) may go anywhere; only the count and value width are checked. */
static int fd_lread(void *ctx, uint64_t la, int size, uint64_t *val)
{
    (void)la;
    return fd_read(ctx, ((struct fdev *)ctx)->gpa, size, val);
}

static int fd_lwrite(void *ctx, uint64_t la, int size, uint64_t val)
{
    (void)la;
    return fd_write(ctx, ((struct fdev *)ctx)->gpa, size, val);
}

static uint64_t take64(const uint8_t *p, size_t n, size_t at)
{
    uint64_t v = 0;
    for (size_t i = 0; i < 8; i++)
        v = (v << 8) | (n ? p[(at + i) % n] : 0);
    return v;
}

/* Decoding every proper prefix of a decoded instruction must ask for more bytes. */
static void check_prefixes(const uint8_t *data, size_t len, int mode)
{
    for (size_t k = 0; k < len; k++) {
        uint8_t *cut = malloc(k ? k : 1);
        struct insn t;
        memcpy(cut, data, k);
        if (insn_decode(cut, k, mode, &t) != -EAGAIN)
            fz_abort("truncated instruction not -EAGAIN");
        free(cut);
    }
}

static void emulate_once(const struct insn *in, const uint8_t *data, size_t n)
{
    static const struct mmio_access_ops ops = { fd_read, fd_write };
    static const struct linear_access_ops lops = { fd_lread, fd_lwrite };
    struct guest_regs r;
    struct fdev d = { .gpa = take64(data, n, 3), .val = take64(data, n, 5), .size = in->size };
    for (int i = 0; i < GPR_COUNT; i++)
        r.gpr[i] = take64(data, n, (size_t)i * 7);
    r.rip = take64(data, n, 1);
    r.rflags = take64(data, n, 2) & 0xcd5;
    uint64_t rip0 = r.rip;
    int rc = in->op == INSN_MOVS ? insn_emulate_movs(in, &r, &lops, &d) : insn_emulate(in, &r, d.gpa, &ops, &d);
    if (rc && rc != -ENOTSUP)
        fz_abort("emulate failed on a decoded instruction");
    if (!rc && in->op != INSN_STOS && in->op != INSN_MOVS && in->mode == 64 && r.rip != rip0 + in->len)
        fz_abort("rip not advanced by len");
    (void)insn_mem_linear(in, &r);
}

static unsigned long decoded;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int modes[3] = { 16, 32, 64 };
    if (size < 1)
        return 0;
    int mode = modes[data[0] % 3];
    size_t n = size - 1;
    uint8_t *buf = malloc(n ? n : 1);        /* exact size so ASan sees any over-read */
    struct insn in;
    memcpy(buf, data + 1, n);
    int rc = insn_decode(buf, n, mode, &in);
    if (rc == 0) {
        decoded++;
        if (in.len < 1 || in.len > INSN_MAX_LEN || in.len > n)
            fz_abort("bad length");
        if (in.size != 1 && in.size != 2 && in.size != 4 && in.size != 8)
            fz_abort("bad access size");
        check_prefixes(buf, in.len, mode);
        emulate_once(&in, data, size);
    } else if (rc != -EINVAL && rc != -EAGAIN) {
        fz_abort("unexpected error code");
    }
    free(buf);
    return 0;
}

#ifndef USE_LIBFUZZER
/* Deterministic driver: inputs built from interesting prefix and opcode bytes plus random tails. */
static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint8_t rnd8(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint8_t)(rng >> 24);
}

static size_t make_input(uint8_t *b)
{
    static const uint8_t pick[] = { 0x66, 0x67, 0xf0, 0xf2, 0xf3, 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65,
        0x40, 0x41, 0x44, 0x48, 0x4c, 0x4f, 0x0f, 0x63, 0x80, 0x81, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88,
        0x89, 0x8a, 0x8b, 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xaa, 0xab, 0xc6, 0xc7, 0xf6, 0xf7, 0xb6,
        0xb7, 0xbe, 0xbf, 0xba, 0xbb, 0xb3, 0x01, 0x09, 0x21, 0x31, 0x39, 0x2b };
    size_t n = 1 + rnd8() % 24;
    b[0] = rnd8();
    for (size_t i = 1; i < n; i++)
        b[i] = (rnd8() & 1) ? pick[rnd8() % sizeof(pick)] : rnd8();
    return n;
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 15;
    time_t end = time(NULL) + (time_t)secs;
    unsigned long execs = 0;
    uint8_t b[32];
    while (time(NULL) < end) {
        for (int i = 0; i < 10000; i++, execs++) {
            size_t n = make_input(b);
            LLVMFuzzerTestOneInput(b, n);
        }
    }
    fprintf(stderr, "decode_fuzz: %lu inputs (%lu decoded), no invariant broken\n", execs, decoded);
    return 0;
}
#endif
