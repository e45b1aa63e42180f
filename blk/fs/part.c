/* Partition table reader: GPT (UEFI 2.10 section 5.3) with CRC32 and backup fallback, MBR with an EBR chain. */
#include "blk/fs/part.h"
#include "kernel/byteorder.h"
#include "kernel/errno.h"
#include "kernel/heap.h"
#include "kernel/kstring.h"
#include "kernel/log.h"

#define GPT_CHUNK      16384u      /* entry array is read and checked in pieces of this size */
#define GPT_MAX_BYTES  (1u << 20)  /* larger entry arrays are refused (the spec minimum is 16 KiB) */
#define EBR_MAX_HOPS   64          /* logical partitions followed before the chain counts as a loop */

struct gpt_hdr {
    uint64_t first, last, entries_lba;
    uint32_t n, esize, ecrc;
};

uint32_t part_crc32(uint32_t crc, const void *buf, size_t len)
{
    const uint8_t *p = buf;
    crc = ~crc;
    for (size_t i = 0; i < len; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1)));
    }
    return ~crc;
}

static int read_sectors(const struct disk_src *d, uint64_t lba, void *buf, size_t n, const char **why)
{
    uint64_t nsec = d->size / PART_SECTOR;
    if (lba > nsec || n > nsec - lba) {
        *why = "partition table read beyond end of disk";
        return -EINVAL;
    }
    int rc = d->read(d->ctx, lba * PART_SECTOR, buf, n * PART_SECTOR);
    if (rc < 0)
        *why = "disk read failed";
    return rc < 0 ? rc : 0;
}

static void part_add(struct part *out, int max, int *n, const struct part *p)
{
    if (*n < max)
        out[(*n)++] = *p;
}

/* Parse and check the GPT header at lba (UEFI 5.3.2: signature, size, CRC, MyLBA, usable range, array). */
static int gpt_header(const struct disk_src *d, uint64_t lba, uint8_t *sec, struct gpt_hdr *h, const char **why)
{
    uint64_t nsec = d->size / PART_SECTOR;
    int rc = read_sectors(d, lba, sec, 1, why);
    if (rc)
        return rc;
    uint32_t hsize = get_le32(sec + 12), crc = get_le32(sec + 16);
    *why = "bad GPT header";
    if (memcmp(sec, "EFI PART", 8) || hsize < 92 || hsize > PART_SECTOR)
        return -EINVAL;
    memset(sec + 16, 0, 4);
    if (part_crc32(0, sec, hsize) != crc) {
        *why = "GPT header CRC mismatch";
        return -EINVAL;
    }
    h->first = get_le64(sec + 40);
    h->last = get_le64(sec + 48);
    h->entries_lba = get_le64(sec + 72);
    h->n = get_le32(sec + 80);
    h->esize = get_le32(sec + 84);
    h->ecrc = get_le32(sec + 88);
    if (get_le64(sec + 24) != lba || h->first > h->last || h->last >= nsec)
        return -EINVAL;
    if (h->esize < 128 || h->esize > GPT_CHUNK || (h->esize & (h->esize - 1)) ||
        (uint64_t)h->n * h->esize > GPT_MAX_BYTES || h->entries_lba < 2 || h->entries_lba >= nsec ||
        ((uint64_t)h->n * h->esize + PART_SECTOR - 1) / PART_SECTOR > nsec - h->entries_lba) {
        *why = "bad GPT entry array geometry";
        return -EINVAL;
    }
    return 0;
}

/* One GPT entry (UEFI 5.3.3): empty when the type GUID is zero; else it must lie in the usable range. */
static int gpt_entry(const struct gpt_hdr *h, const uint8_t *e, int index, struct part *out, int max, int *n,
                     const char **why)
{
    static const uint8_t zero[16];
    if (!memcmp(e, zero, 16))
        return 0;
    uint64_t first = get_le64(e + 32), last = get_le64(e + 40);
    if (first > last || first < h->first || last > h->last) {
        *why = "GPT partition outside the usable range";
        return -EINVAL;
    }
    struct part p = { .index = index, .start = first * PART_SECTOR, .size = (last - first + 1) * PART_SECTOR };
    memcpy(p.gpt_type, e, 16);
    p.bootable = (get_le64(e + 48) >> 2) & 1;
    for (int i = 0; i < 36; i++) {             /* UTF-16LE, NUL-terminated unless all 36 units are used */
        uint16_t c = get_le16(e + 56 + 2 * i);
        if (!c)
            break;
        p.name[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    part_add(out, max, n, &p);
    return 0;
}

/* Read the entry array in chunks; pass 0 checks its CRC, pass 1 parses it (only once the CRC is good). */
static int gpt_pass(const struct disk_src *d, const struct gpt_hdr *h, uint8_t *buf, int pass,
                    struct part *out, int max, int *n, const char **why)
{
    uint64_t total = (uint64_t)h->n * h->esize, done = 0;
    uint32_t crc = 0;
    while (done < total) {
        size_t len = total - done < GPT_CHUNK ? (size_t)(total - done) : GPT_CHUNK;
        int rc = read_sectors(d, h->entries_lba + done / PART_SECTOR, buf,
                              (len + PART_SECTOR - 1) / PART_SECTOR, why);
        if (rc)
            return rc;
        if (pass == 0)
            crc = part_crc32(crc, buf, len);
        for (size_t off = 0; pass == 1 && off < len; off += h->esize) {
            rc = gpt_entry(h, buf + off, (int)((done + off) / h->esize) + 1, out, max, n, why);
            if (rc)
                return rc;
        }
        done += len;
    }
    if (pass == 0 && crc != h->ecrc) {
        *why = "GPT entry array CRC mismatch";
        return -EINVAL;
    }
    return 0;
}

/* GPT: the primary header at LBA 1, else the backup at the last sector (UEFI 5.3.2). */
static int gpt_scan(const struct disk_src *d, struct part *out, int max, const char **why)
{
    uint8_t *buf = kmalloc(GPT_CHUNK);
    if (!buf) {
        *why = "out of memory";
        return -ENOMEM;
    }
    uint64_t where[2] = { 1, d->size / PART_SECTOR - 1 };
    int rc = -EINVAL, n = 0;
    const char *first_why = NULL;
    for (int copy = 0; copy < 2; copy++) {
        struct gpt_hdr h;
        n = 0;
        rc = gpt_header(d, where[copy], buf, &h, why);
        if (!rc)
            rc = gpt_pass(d, &h, buf, 0, out, max, &n, why);
        if (!rc)
            rc = gpt_pass(d, &h, buf, 1, out, max, &n, why);
        if (rc != -EINVAL)         /* success, or a read/memory failure: the backup would not help */
            break;
        if (!first_why)
            first_why = *why;
    }
    kfree(buf);
    if (rc == -EINVAL && first_why)
        *why = first_why;         /* both copies bad: report what was wrong with the primary */
    if (!rc && first_why) {
        log_warn("part: primary GPT unusable (%s); using the backup\n", first_why);
        *why = NULL;
    }
    return rc ? rc : n;
}

static int mbr_is_extended(uint8_t type) { return type == 0x05 || type == 0x0f || type == 0x85; }

/* Logical partitions: a chain of EBRs, entry 0 relative to its EBR, entry 1 (next) relative to ext_lba. */
static int mbr_logical(const struct disk_src *d, uint64_t ext_lba, uint64_t ext_len, uint8_t *sec,
                       struct part *out, int max, int *n, const char **why)
{
    uint64_t ebr = ext_lba;
    int logical = 0;
    for (int hop = 0; hop < EBR_MAX_HOPS; hop++) {
        int rc = read_sectors(d, ebr, sec, 1, why);
        if (rc)
            return rc;
        if (sec[510] != 0x55 || sec[511] != 0xAA) {
            *why = "EBR without signature";
            return -EINVAL;
        }
        const uint8_t *e0 = sec + 446, *e1 = sec + 462;
        uint64_t start = ebr + get_le32(e0 + 8), len = get_le32(e0 + 12);
        if (e0[4] && len) {
            if (start < ext_lba || start + len > ext_lba + ext_len || start <= ebr) {
                *why = "logical partition outside its extended partition";
                return -EINVAL;
            }
            struct part p = { .index = 5 + logical++, .start = start * PART_SECTOR, .size = len * PART_SECTOR,
                              .mbr_type = e0[4], .bootable = e0[0] == 0x80 };
            part_add(out, max, n, &p);
        }
        if (!mbr_is_extended(e1[4]) || !get_le32(e1 + 12))
            return 0;
        ebr = ext_lba + get_le32(e1 + 8);
        if (ebr <= ext_lba || ebr >= ext_lba + ext_len) {
            *why = "EBR link outside the extended partition";
            return -EINVAL;
        }
    }
    *why = "EBR chain too long (loop?)";
    return -EINVAL;
}

/* MBR primaries (and the first extended partition's chain); sec holds sector 0. */
static int mbr_scan(const struct disk_src *d, uint8_t *sec, struct part *out, int max, const char **why)
{
    uint64_t nsec = d->size / PART_SECTOR, ext_lba = 0, ext_len = 0;
    int n = 0;
    for (int i = 0; i < 4; i++) {
        const uint8_t *e = sec + 446 + 16 * i;
        uint64_t start = get_le32(e + 8), len = get_le32(e + 12);
        if (!e[4] || !len)
            continue;
        if (start == 0 || start > nsec || len > nsec - start) {
            *why = "MBR partition beyond end of disk";
            return -EINVAL;
        }
        struct part p = { .index = i + 1, .start = start * PART_SECTOR, .size = len * PART_SECTOR,
                          .mbr_type = e[4], .bootable = e[0] == 0x80 };
        part_add(out, max, &n, &p);
        if (mbr_is_extended(e[4]) && !ext_lba) {
            ext_lba = start;
            ext_len = len;
        }
    }
    if (ext_lba) {
        int rc = mbr_logical(d, ext_lba, ext_len, sec, out, max, &n, why);
        if (rc)
            return rc;
    }
    return n;
}

int part_scan(const struct disk_src *d, struct part *out, int max, const char **why)
{
    static const char *unused;
    uint8_t sec[PART_SECTOR];
    if (!why)
        why = &unused;
    *why = NULL;
    if (!d || !d->read || (max > 0 && !out)) {
        *why = "bad arguments";
        return -EINVAL;
    }
    if (d->size < 2 * PART_SECTOR)
        return 0;
    int rc = read_sectors(d, 0, sec, 1, why);
    if (rc)
        return rc;
    if (sec[510] != 0x55 || sec[511] != 0xAA)
        return 0;
    for (int i = 0; i < 4; i++)                 /* a boot flag other than 0/0x80: a boot sector, not an MBR */
        if (sec[446 + 16 * i] & 0x7f)
            return 0;
    for (int i = 0; i < 4; i++)
        if (sec[446 + 16 * i + 4] == 0xEE)
            return gpt_scan(d, out, max, why);
    return mbr_scan(d, sec, out, max, why);
}

/* GUIDs in on-disk byte order: Linux filesystem data, root (x86-64), root (x86). */
static const uint8_t linux_types[3][16] = {
    { 0xaf, 0x3d, 0xc6, 0x0f, 0x83, 0x84, 0x72, 0x47, 0x8e, 0x79, 0x3d, 0x69, 0xd8, 0x47, 0x7d, 0xe4 },
    { 0xe3, 0xbc, 0x68, 0x4f, 0xcd, 0xe8, 0xb1, 0x4d, 0x96, 0xe7, 0xfb, 0xca, 0xf9, 0x84, 0xb7, 0x09 },
    { 0x40, 0x95, 0x47, 0x44, 0x97, 0xf2, 0xb2, 0x41, 0x9a, 0xf7, 0xd1, 0x31, 0xd5, 0xf0, 0x45, 0x8a },
};

static int part_is_linux(const struct part *p)
{
    if (p->mbr_type == 0x83)
        return 1;
    for (int i = 0; i < 3; i++)
        if (!memcmp(p->gpt_type, linux_types[i], 16))
            return 1;
    return 0;
}

int part_pick(const struct part *p, int n, int want)
{
    int first = -1;
    for (int i = 0; i < n; i++) {
        if (want > 0) {
            if (p[i].index == want)
                return i;
            continue;
        }
        if (part_is_linux(&p[i]))
            return i;
        if (first < 0 && !mbr_is_extended(p[i].mbr_type))
            first = i;
    }
    return want > 0 || first < 0 ? -ENOENT : first;
}
