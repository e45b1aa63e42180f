/* `vm disk NAME ...`: drive a VM's disk from the shell without the guest (tests, debugging). */
#include "vmm/diskcmd.h"
#include "vmm/linux.h"
#include "vmm/vm.h"
#include "blk/blk.h"
#include "blk/sync.h"
#include "pool/pool.h"
#include "kernel/sha256.h"
#include "kernel/heap.h"
#include "kernel/kstring.h"
#include "kernel/printf.h"
#include "kernel/errno.h"

#define DISK_READ_MAX  4096u
#define DISK_CHUNK     (256u * 1024u)

static int disk_err(const char *vm, const char *what, int err)
{
    kprintf("error: vm disk %s: %s failed: %s (%d)\n", vm, what, err == -ENOSPC ? "no space (quota or memory)" :
            err == -EINVAL ? "bad range" : err == -EIO ? "I/O error" : "error", err);
    return err;
}

/* read OFF LEN: hex dump of up to 4 KiB. */
static int disk_read(const char *vm, struct blk_dev *d, uint64_t off, uint64_t len)
{
    uint8_t *buf;
    int err;
    if (len > DISK_READ_MAX || !(buf = kmalloc(DISK_READ_MAX)))
        return disk_err(vm, "read", len > DISK_READ_MAX ? -EINVAL : -ENOMEM);
    if ((err = blk_rw_sync(d, BLK_READ, off, buf, len, pool_wait_turn))) {
        kfree(buf);
        return disk_err(vm, "read", err);
    }
    for (uint64_t i = 0; i < len; i += 16) {
        kprintf("%08llx:", (unsigned long long)(off + i));
        for (uint64_t j = i; j < i + 16 && j < len; j++)
            kprintf(" %02x", buf[j]);
        kprintf("\n");
    }
    kfree(buf);
    return 0;
}

/* write OFF LEN BYTE: LEN bytes of BYTE at OFF (both multiples of 512). */
static int disk_write(const char *vm, struct blk_dev *d, uint64_t off, uint64_t len, uint8_t byte)
{
    uint8_t *buf = kmalloc(DISK_CHUNK);
    int err = 0;
    if (!buf)
        return disk_err(vm, "write", -ENOMEM);
    memset(buf, byte, DISK_CHUNK);
    for (uint64_t done = 0; done < len && !err; done += DISK_CHUNK)
        err = blk_rw_sync(d, BLK_WRITE, off + done, buf, len - done < DISK_CHUNK ? len - done : DISK_CHUNK,
                          pool_wait_turn);
    kfree(buf);
    if (err)
        return disk_err(vm, "write", err);
    kprintf("vm disk %s: wrote %llu bytes of %#x at %llu\n", vm, (unsigned long long)len, byte,
            (unsigned long long)off);
    return 0;
}

/* sha256 [OFF LEN]: the hash of a range (default: the whole disk). */
static int disk_sha(const char *vm, struct blk_dev *d, uint64_t off, uint64_t len)
{
    struct sha256_ctx c;
    uint8_t *buf = kmalloc(DISK_CHUNK), h[32];
    int err = 0;
    if (!buf)
        return disk_err(vm, "sha256", -ENOMEM);
    sha256_init(&c);
    for (uint64_t done = 0; done < len && !err; done += DISK_CHUNK) {
        uint64_t n = len - done < DISK_CHUNK ? len - done : DISK_CHUNK;
        if (!(err = blk_rw_sync(d, BLK_READ, off + done, buf, n, pool_wait_turn)))
            sha256_update(&c, buf, n);
    }
    kfree(buf);
    if (err)
        return disk_err(vm, "sha256", err);
    sha256_final(&c, h);
    kprintf("sha256 ");
    for (int i = 0; i < 32; i++)
        kprintf("%02x", h[i]);
    kprintf(" %s %llu+%llu\n", vm, (unsigned long long)off, (unsigned long long)len);
    return 0;
}

int vm_disk_cmd(int argc, char **argv)
{
    struct vm *vm = argc >= 4 ? vm_find(argv[2]) : NULL;
    struct blk_dev *d = vm ? linux_vm_disk(vm) : NULL;
    uint64_t off = 0, len = 0, byte = 0, size;
    int bad;

    if (argc < 4 || !d) {
        kprintf("error: vm disk: %s\n", argc < 4 ? "give NAME read|write|sha256 ..." : !vm ? "no such VM" :
                "that VM has no disk");
        return argc < 4 ? -EINVAL : -ENOENT;
    }
    size = d->sectors * BLK_SECTOR_SIZE;
    bad = (argc > 4 && kstrtou64(argv[4], &off, 1)) || (argc > 5 && kstrtou64(argv[5], &len, 1)) ||
          (argc > 6 && kstrtou64(argv[6], &byte, 0)) || byte > 255 || off > size;
    if (!strcmp(argv[3], "read") && argc == 6 && !bad)
        return disk_read(argv[2], d, off, len);
    if (!strcmp(argv[3], "write") && argc == 7 && !bad)
        return disk_write(argv[2], d, off, len, (uint8_t)byte);
    if (!strcmp(argv[3], "sha256") && (argc == 4 || argc == 6) && !bad)
        return disk_sha(argv[2], d, off, argc == 4 ? size : len);
    kprintf("error: vm disk %s: give read OFF LEN | write OFF LEN BYTE | sha256 [OFF LEN]\n", argv[2]);
    return -EINVAL;
}
