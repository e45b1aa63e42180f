/* A synchronous byte-addressed read source (a golden disk, a file, memory) for the filesystem readers. */
#ifndef SHOAL_BLK_FS_DISK_H
#define SHOAL_BLK_FS_DISK_H
#include <stddef.h>
#include <stdint.h>

/* Read len bytes at byte offset off into buf; returns 0 or -errno. The readers here only ask for whole
 * 512-byte sectors at sector-aligned offsets, within size. The callback may poll the network until done. */
typedef int (*disk_read_fn)(void *ctx, uint64_t off, void *buf, size_t len);

struct disk_src {
    disk_read_fn read;
    void *ctx;
    uint64_t size;                 /* bytes */
};
#endif
