/* Partition tables of a golden disk: GPT (CRC-checked, backup header fallback) and MBR with logical partitions. */
#ifndef SHOAL_BLK_FS_PART_H
#define SHOAL_BLK_FS_PART_H
#include <stdint.h>
#include "blk/fs/disk.h"

#define PART_SECTOR 512u           /* logical block size assumed for both table kinds */

struct part {
    int index;                     /* Linux numbering: GPT slot + 1; MBR 1-4 primary, 5.. logical */
    uint64_t start, size;          /* bytes from the start of the disk */
    uint8_t mbr_type;              /* MBR type byte (0 for GPT) */
    uint8_t gpt_type[16];          /* GPT type GUID as stored on disk (zero for MBR) */
    char name[37];                 /* GPT name, ASCII ('?' for anything else), NUL-terminated */
    int bootable;                  /* MBR 0x80 flag or GPT legacy-BIOS-bootable attribute */
};

/*
 * Read d's partition table into out[0..max). A protective MBR (type 0xEE) means GPT: the primary header
 * and its entry array are CRC32-checked and the backup at the last sector is used when the primary is
 * bad. Otherwise MBR primaries and the logical partitions of the first extended one (a bounded chain).
 * Returns the number found (at most max; 0 = no table, the disk may hold a bare filesystem), or -EINVAL
 * (malformed: out-of-disk partitions, bad CRCs on both GPT copies, EBR loops) / -EIO (read failure),
 * with a static reason in *why.
 */
int part_scan(const struct disk_src *d, struct part *out, int max, const char **why);

/*
 * Pick the partition holding a Linux filesystem among p[0..n): the one with index want when want > 0,
 * else the first MBR 0x83 or GPT Linux filesystem/root partition, else the first. Returns its position
 * in p, or -ENOENT (want not present, or n == 0).
 */
int part_pick(const struct part *p, int n, int want);

/* CRC-32 (IEEE 802.3 polynomial, reflected, as GPT uses) of buf, continuing from crc (0 to start). */
uint32_t part_crc32(uint32_t crc, const void *buf, size_t len);
#endif
