/* Fuzz harness for blk/fs/part.c: MBR with extended/logical chains, GPT with CRCs and the backup header. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "blk/fs/part.h"
#include "kernel/byteorder.h"
#include "kernel/errno.h"

/*
 * Input: one mode byte, then the first sectors of a disk image. Mode bits:
 *   0 / 1  fix the CRCs of the primary / the backup GPT header and its entry array before scanning (so the
 *          fuzzer gets past the CRC checks into the entries and the fallback logic)
 *   2      the image's last sector is also the disk's last sector (where the backup GPT header lives)
 *   4..7   the disk is that many MiB longer than the image (zeros): partitions may lie past the image
 */
#define MODE_FIX_PRIMARY 1u
#define MODE_FIX_BACKUP  2u
#define MODE_TAIL        4u

struct vdisk {
    uint8_t *img;                  /* the image sectors (writable: CRCs are fixed in place) */
    uint64_t img_bytes, size;
    int tail;
};

static void fz_abort(const char *what)
{
    fprintf(stderr, "part_fuzz invariant broken: %s\n", what);
    abort();
}

/* The byte at off of the disk: the image, then zeros, with the image's last sector at the end when tail. */
static uint8_t *vbyte(struct vdisk *v, uint64_t off)
{
    static uint8_t zero;
    if (off < v->img_bytes)
        return v->img + off;
    if (v->tail && v->img_bytes >= PART_SECTOR && off >= v->size - PART_SECTOR)
        return v->img + v->img_bytes - PART_SECTOR + (off - (v->size - PART_SECTOR));
    zero = 0;
    return &zero;
}

/* The scanner must read whole, aligned sectors inside the disk. */
static int vread(void *ctx, uint64_t off, void *buf, size_t len)
{
    struct vdisk *v = ctx;
    if (off > v->size || len > v->size - off)
        fz_abort("read beyond the disk");
    if ((off | len) & (PART_SECTOR - 1))
        fz_abort("unaligned read");
    for (size_t i = 0; i < len; i++)
        ((uint8_t *)buf)[i] = *vbyte(v, off + i);
    return 0;
}

static uint32_t get32(struct vdisk *v, uint64_t off)
{
    return *vbyte(v, off) | *vbyte(v, off + 1) << 8 | *vbyte(v, off + 2) << 16 | (uint32_t)*vbyte(v, off + 3) << 24;
}

/* Make the GPT header at lba (if it is one stored in the image) carry correct CRCs (UEFI 5.3.2). */
static void fix_gpt(struct vdisk *v, uint64_t lba)
{
    uint64_t h = lba * PART_SECTOR, elba, total;
    uint32_t hsize, crc = 0;
    uint8_t *hp = vbyte(v, h), sec[PART_SECTOR];
    if (h + PART_SECTOR > v->size || (hp < v->img || hp >= v->img + v->img_bytes) || memcmp(hp, "EFI PART", 8))
        return;
    hsize = get32(v, h + 12);
    elba = get32(v, h + 72) | (uint64_t)get32(v, h + 76) << 32;
    total = (uint64_t)get32(v, h + 80) * get32(v, h + 84);
    if (hsize < 92 || hsize > PART_SECTOR)
        return;
    if (total <= (1u << 20) && elba < v->size / PART_SECTOR && total <= v->size - elba * PART_SECTOR)
        for (uint64_t i = 0; i < total; i++)
            crc = part_crc32(crc, vbyte(v, elba * PART_SECTOR + i), 1);
    put_le32(hp + 88, crc);
    memcpy(sec, hp, PART_SECTOR);
    memset(sec + 16, 0, 4);
    put_le32(hp + 16, part_crc32(0, sec, hsize));
}

/* What part_scan found must be sane whatever the input. */
static void check_parts(const struct vdisk *v, const struct part *p, int n, int max, const char *why)
{
    if (n < 0 && (!why || (n != -EINVAL && n != -EIO && n != -ENOMEM)))
        fz_abort("error without a reason, or an unexpected code");
    if (n > max)
        fz_abort("more partitions than max");
    for (int i = 0; i < n; i++) {
        if (p[i].start > v->size || p[i].size > v->size - p[i].start || p[i].size == 0)
            fz_abort("partition outside the disk or empty");
        if ((p[i].start | p[i].size) & (PART_SECTOR - 1) || p[i].index < 1)
            fz_abort("partition not in whole sectors, or a bad index");
        if (memchr(p[i].name, 0, sizeof(p[i].name)) == NULL)
            fz_abort("name not terminated");
    }
    int k = n >= 0 ? part_pick(p, n, 0) : -ENOENT;
    if (k != -ENOENT && (k < 0 || k >= n))
        fz_abort("picked a partition that is not there");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct part p[16];
    const char *why = NULL;
    if (size < 1)
        return 0;
    uint8_t mode = data[0];
    struct vdisk v = { .img_bytes = (size - 1) / PART_SECTOR * PART_SECTOR, .tail = !!(mode & MODE_TAIL) };
    v.size = v.img_bytes + (uint64_t)(mode >> 4) * (1u << 20);
    if (!(v.img = malloc(v.img_bytes + 1)))
        return 0;
    memcpy(v.img, data + 1, v.img_bytes);
    struct disk_src d = { vread, &v, v.size };
    if (mode & MODE_FIX_PRIMARY)
        fix_gpt(&v, 1);
    if ((mode & MODE_FIX_BACKUP) && v.size >= PART_SECTOR)
        fix_gpt(&v, v.size / PART_SECTOR - 1);
    int n = part_scan(&d, p, 16, &why);
    check_parts(&v, p, n, 16, why);
    why = NULL;
    n = part_scan(&d, p, 2, &why);              /* a short table keeps to its bound */
    check_parts(&v, p, n, 2, why);
    free(v.img);
    return 0;
}
