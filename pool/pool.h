/* The golden image pool: images on iSCSI targets, their shared caches and boot files, and their clones. */
#ifndef SHOAL_POOL_H
#define SHOAL_POOL_H
#include <stdint.h>
#include "net/iscsi/iscsi.h"

struct blockidx;

#define POOL_MAX        8
#define POOL_NAME_MAX   32
#define POOL_PATH_MAX   128
#define POOL_CMDLINE_MAX 512

enum pool_state {
    POOL_FREE,
    POOL_WAIT_NET,   /* declared; waiting for the host network before logging in */
    POOL_LOGIN,      /* iSCSI login and LUN probe under way */
    POOL_READY,      /* cache up, kernel and initrd in memory: clones can be made */
    POOL_FAILED,     /* gave up: why says so (pool rm and add again to retry) */
};

struct pool_image {
    char name[POOL_NAME_MAX];
    enum pool_state state;
    char why[128];                       /* the failure, in words */
    struct iscsi_config cfg;             /* portal, target, LUN */
    int slot;                            /* iSCSI session index, -1 when none */
    char kernel_path[POOL_PATH_MAX];     /* /path on the golden disk, or a multiboot module name */
    char initrd_path[POOL_PATH_MAX];
    char cmdline[POOL_CMDLINE_MAX];      /* the guests' default command line */
    int part;                            /* partition number (1-based), 0: the first Linux one */
    uint64_t mem, cache_bytes;
    int vcpus;
    struct blk_dev *lun, *cache;         /* the golden LUN and the shared cache over it */
    void *kernel, *initrd;               /* boot files (heap copies, or module memory when from_module) */
    uint64_t kernel_len, initrd_len;
    int kernel_module, initrd_module;
    uint64_t size;                       /* bytes */
    uint64_t loader_bytes;               /* bytes the boot-file loader read from the LUN */
    int clones;
    int boot;                            /* declared on the boot command line */
    uint64_t added_ns, ready_ns;
    struct blockidx *index;              /* its blocks' hashes (pool share), built on first use */
};

/*
 * Declare image name at url ("iscsi://PORTAL[:PORT]/TARGET/LUN") with options argv[0..argc) of the form
 * kernel=PATH initrd=PATH cmdline="..." mem=SIZE vcpus=N cache=SIZE part=N chap=USER:SECRET. PATH starting
 * with '/' is a file on the golden disk's ext2/3/4 filesystem, otherwise a multiboot module's name.
 * The image logs in once the network is up (driven by pool_poll). Returns the image, or NULL with *err
 * (-EEXIST name taken, -ENOSPC pool full, -EINVAL bad url or option) after a one-line error.
 */
struct pool_image *pool_add(const char *name, const char *url, int argc, char **argv, int boot, int *err);
/* The image called name, or NULL. */
struct pool_image *pool_find(const char *name);
/* The state's name as `pool list` shows it ("wait-net", "login", "ready", "failed"). */
const char *pool_state_name(enum pool_state s);
/* Slot i of the pool (0..POOL_MAX-1), or NULL when free. */
struct pool_image *pool_slot(int i);
/* Advance every image (login, cache, boot files); returns 1 while any is still getting ready. Poll context. */
int pool_poll(void);
/* Wait (polling the network) up to timeout_ms for img to leave WAIT_NET/LOGIN. Returns 0 when READY, else
 * -ETIMEDOUT or -EIO (FAILED: img->why says why). */
int pool_wait_ready(struct pool_image *img, uint32_t timeout_ms);
/*
 * A new copy-on-write clone disk of img (READY) with its own delta (quota_bytes, 0: the default (a quarter of the image)): O(1).
 * Returns the disk (counted in img->clones), or NULL with *err (-EAGAIN not ready, -ENOMEM).
 */
struct blk_dev *pool_clone_disk(struct pool_image *img, uint64_t quota_bytes, const char *name, int *err);
/* Let a clone disk go: wait for its requests in flight (polling the network), free its delta, uncount it. */
void pool_clone_release(struct pool_image *img, struct blk_dev *disk);
/* Remove image name: refused (-EBUSY) while it has clones; logs out and frees everything. -ENOENT unknown. */
int pool_remove(const char *name);
/* `pool share A B`: index both images (once each) and print the share of identical 4 KiB blocks, each way,
 * counted per block (duplicates within an image count each time) and per distinct content, zero blocks
 * apart. 0, or -ENOENT / -EAGAIN (not ready) / a read error, after a one-line error. */
int pool_share_cmd(const char *a, const char *b);
/* `pool index NAME`: build img's block index now (it is kept): a migration destination then reads the
 * golden blocks a migrating clone's pages hold from its own target. 0 or as pool_share_cmd. */
int pool_index_cmd(const char *name);
/* One turn of the network and the iSCSI sessions (a blk_wait_fn for synchronous I/O on pool disks). */
void pool_wait_turn(void);
#endif
