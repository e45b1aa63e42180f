/* Fuzz harness for blk/fs/part.c and blk/fs/ext4*.c: the input is a whole disk image (libFuzzer or a mutation driver). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "blk/fs/part.h"
#include "blk/fs/ext4.h"

struct mem {
    const uint8_t *p;
    size_t n;
};

static void fz_abort(const char *what)
{
    fprintf(stderr, "ext4_fuzz invariant broken: %s\n", what);
    abort();
}

/* The readers must stay inside the disk and ask only for whole, aligned sectors. */
static int mem_read(void *ctx, uint64_t off, void *buf, size_t len)
{
    const struct mem *m = ctx;
    if (off > m->n || len > m->n - off)
        fz_abort("read beyond the disk");
    if ((off | len) & 511)
        fz_abort("unaligned read");
    memcpy(buf, m->p + off, len);
    return 0;
}

static void try_fs(const struct disk_src *d, uint64_t off, uint64_t size)
{
    static const char *paths[] = { "/boot/vmlinuz", "/boot/link", "/abs", "/d/f", "/d", "/d/../boot/link",
                                   "/boot/initrd.img" };
    struct ext4_fs *fs = NULL;
    const char *why = NULL;
    int rc = ext4_open(d, off, size, &fs, &why);
    if (rc) {
        if (rc > 0 || !why)
            fz_abort("open error without a reason");
        return;
    }
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        void *buf = NULL;
        uint64_t len = 0, sz;
        uint16_t mode;
        why = NULL;
        rc = ext4_read_file(fs, paths[i], 1u << 20, &buf, &len, &why);
        if (rc == 0) {
            if (len > (1u << 20))
                fz_abort("file longer than max");
            free(buf);
        } else if (rc > 0 || !why) {
            fz_abort("read error without a reason");
        }
        (void)ext4_stat(fs, paths[i], &sz, &mode, &why);
    }
    ext4_close(fs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mem m = { data, size };
    struct disk_src d = { mem_read, &m, size };
    struct part p[16];
    const char *why = NULL;
    int n = part_scan(&d, p, 16, &why);
    if (n < 0 && !why)
        fz_abort("partition error without a reason");
    if (n > 16)
        fz_abort("more partitions than max");
    for (int i = 0; i < n && i < 4; i++) {
        if (p[i].start > size || p[i].size > size - p[i].start)
            fz_abort("partition outside the disk");
        try_fs(&d, p[i].start, p[i].size);
    }
    if (n >= 0)
        (void)part_pick(p, n, 0);
    try_fs(&d, 0, size);
    return 0;
}
