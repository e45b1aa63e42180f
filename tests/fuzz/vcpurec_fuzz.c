/* Fuzz harness for the vCPU record's restore path: hostile records and XSAVE images, checked before use. */
/*
 * The input's first byte picks the target. 0: the rest is a vCPU record restored with vcpu_record_snapshot
 * against fixed limits; an accepted record must pass vcpu_record_check again and save back to exactly the
 * bytes it was read from (save and restore walk one layout). 1: the rest is an XSAVE image for
 * xsave_check, with the XCR0 it is checked against in its first 8 bytes; an accepted image must meet what
 * XRSTOR demands. ASan and UBSan (fatal) catch what a field could steer. SEEDS: write a seed per target.
 */
#include <stdint.h>
#include <stddef.h>
#include <string.h>
#include <stdio.h>
#include <stdlib.h>
#include "vmm/vcpustate.h"
#include "arch/x86/xstate.h"
#include "tests/unit/vcpurec_sample.h"

#define lim sample_limits

static void record(const uint8_t *data, size_t size)
{
    static uint8_t again[4096];
    struct vcpu_record r;
    const char *why = NULL;
    struct snap s = { (uint8_t *)(uintptr_t)data, size, 0, 0, 0, NULL };
    memset(&r, 0, sizeof(r));
    vcpu_record_snapshot(&r, &s, &lim);
    if (s.err)
        return;
    if (vcpu_record_check(&r, &lim, &why))
        abort();                                     /* accepted, yet the check refuses it */
    struct snap t = { again, sizeof(again), 0, 1, 0, NULL };
    vcpu_record_snapshot(&r, &t, &lim);
    if (t.err || t.pos != s.pos || memcmp(again, data, s.pos))
        abort();                                     /* restore and save disagree on the layout */
}

static void image(const uint8_t *data, size_t size)
{
    uint64_t xcr0;
    const char *why = NULL;
    if (size < 8)
        return;
    memcpy(&xcr0, data, 8);
    data += 8;
    size -= 8;
    if (xsave_check(data, (uint32_t)size, (uint32_t)size, xcr0, &why))
        return;
    if (size < 512 || data[24 + 2] || data[24 + 3])
        abort();                                     /* a short image or MXCSR reserved bits let through */
    if (size >= 576) {
        uint64_t bv;
        memcpy(&bv, data + 512, 8);
        if (bv & ~(xcr0 | 3))
            abort();
        for (size_t i = 520; i < 576; i++)
            if (data[i])
                abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    if (data[0] & 1)
        image(data + 1, size - 1);
    else
        record(data + 1, size - 1);
    return 0;
}

#ifdef VCPUREC_FUZZ_SEEDS
/* Seed corpus in argv[1]: a valid 64-bit vCPU record and an 832-byte XSAVE image. */
int main(int argc, char **argv)
{
    static uint8_t buf[4096];
    struct vcpu_record r = sample_record();
    char path[512];
    FILE *f;
    if (argc < 2)
        return 1;
    struct snap s = { buf + 1, sizeof(buf) - 1, 0, 1, 0, NULL };
    vcpu_record_snapshot(&r, &s, &lim);
    snprintf(path, sizeof(path), "%s/seed-vcpu", argv[1]);
    if (s.err || !(f = fopen(path, "wb")) || fwrite(buf, 1, s.pos + 1, f) != s.pos + 1)
        return 1;
    fclose(f);
    memset(buf, 0, sizeof(buf));
    buf[0] = 1;
    buf[1] = 7;                                      /* XCR0 */
    buf[9 + 24] = 0x80;
    buf[9 + 25] = 0x1f;
    buf[9 + 512] = 7;
    snprintf(path, sizeof(path), "%s/seed-xsave", argv[1]);
    if (!(f = fopen(path, "wb")) || fwrite(buf, 1, 9 + 832, f) != 9 + 832)
        return 1;
    fclose(f);
    return 0;
}
#endif
