/* A migration destination session's lifecycle: check HELLO, create the VM, take rounds and state, restore, run. */
#include "vmm/mig/dst.h"
#include "vmm/statecmd.h"
#include "kernel/zpage.h"
#include "vmm/vmstate.h"
#include "vmm/linux.h"
#include "vmm/dev/devices.h"
#include "arch/x86/xstate.h"
#include "blk/cow.h"
#include "blk/blk.h"
#include "blk/ram.h"
#include "net/tls/chan.h"
#include "kernel/heap.h"
#include "kernel/kstring.h"
#include "kernel/printf.h"
#include "kernel/errno.h"
#include "kernel/time.h"

#define MIG_DST_MAX  4
#define IDLE_MS      30000                     /* a source silent this long is gone */
#define MIG_ANNOUNCES 5                        /* RARP announces after the guest starts: 0, 50, 150, 250, 350 ms */

static struct mig_dst *dsts[MIG_DST_MAX];

/* End the session, freeing what it built; the VM goes unless it was handed over. */
static void dst_end(struct mig_dst *d)
{
    if (d->io.ch)
        tls_close(d->io.ch);
    d->io.ch = NULL;
    if (d->vm && d->vm->mig == d && vm_find(d->name) == d->vm)
        vm_destroy(d->vm);
    d->vm = NULL;
    d->phase = D_DONE;
}

static void dst_free(struct mig_dst *d)
{
    for (int i = 0; i < MIG_DST_MAX; i++)
        if (dsts[i] == d)
            dsts[i] = NULL;
    mig_idx_free(&d->idx);
    mig_gold_free(d);
    kfree(d->have);
    kfree(d->seen);
    kfree(d->state);
    zpage_free(d->z);
    kfree(d);
}

static void dst_fail(struct mig_dst *d, const char *why)
{
    mig_io_refuse(&d->io, why);
    kprintf("migrate: from %s: %s: %s; nothing of it is kept here\n", d->peer, *d->name ? d->name : "?", why);
    dst_end(d);
}

/* Create the VM as the source's `vm create` made it; NULL with why. */
static struct vm *create(struct mig_dst *d, const struct mig_hello *h, const char **why)
{
    char *argv[3 + MIG_ARGC_MAX];
    struct vm *vm;
    int argc = 0;
    argv[argc++] = "vm";
    argv[argc++] = "create";
    argv[argc++] = d->name;
    for (uint32_t i = 0; i < h->argc; i++)
        argv[argc++] = (char *)mig_hello_arg(h, i);
    int rc = vm_create_cmd(argc, argv);
    if (rc || !(vm = vm_find(d->name))) {
        *why = rc == -ENOMEM ? "no room here for its RAM (out of memory)"
                             : "creating the VM here failed (see the destination's console)";
        return NULL;
    }
    vm->mig = d;
    vm->state = VM_PAUSED;
    if (vm->mem_size != h->mem_size || (uint32_t)vm->nvcpus != h->nvcpus) {
        *why = "the VM created here has another RAM size or vCPU count";
        return vm;
    }
    return vm;
}

/* Entries the index is sized for: the VM's pages and delta blocks, and the pages of this host's guests
 * when they are looked at, within IDX_MAX (past it, contents just go unindexed). */
#define IDX_MAX (256u * 1024)
static uint64_t idx_size(const struct mig_dst *d)
{
    uint64_t n = d->npages + d->disk_blocks + d->disk_bytes / MIG_PAGE;
    for (int i = 0; i < d->nboot; i++)
        n += d->boot_len[i] / MIG_PAGE;
    for (int i = 0; d->scan_slot >= 0 && i < VM_MAX; i++)
        n += vm_slot(i) ? vm_slot(i)->mem_size / MIG_PAGE : 0;
    return n < IDX_MAX ? n : IDX_MAX;
}

/* The pool image a clone was made from (the word after "from" in its creation arguments), or NULL. */
static const char *clone_image(const struct mig_hello *h)
{
    for (uint32_t i = 0; i + 1 < h->argc; i++)
        if (!strcmp(mig_hello_arg(h, i), "from"))
            return mig_hello_arg(h, i + 1);
    return NULL;
}

/* The source's HELLO: refuse what this host cannot run, else create the VM and ACCEPT. */
static int hello(struct mig_dst *d, const uint8_t *p, uint32_t len)
{
    static struct mig_hello h;
    const char *why = NULL;
    struct blk_dev *disk;
    if (mig_hello_decode(p, len, &h, &d->io.why))
        return -EPROTO;
    kstrlcpy(d->name, h.name, sizeof(d->name));
    if (h.vendor != (hvm == &vmx_ops ? 1u : 2u))
        why = "the source runs guests with another CPU vendor's extension";
    else if (h.xsave_size != xstate_area_size() || (h.xcr0 & ~xstate_host_xcr0()))
        why = "this CPU lacks vector state the guest may use (XSAVE features differ)";
    else if (vm_find(d->name))
        why = "a VM of that name exists here";
    if (!why && (d->vm = create(d, &h, &why)) && !why && h.disk_blocks) {
        disk = linux_vm_disk(d->vm);
        d->delta = disk ? cow_delta(disk) : NULL;
        if (!d->delta || (disk->sectors + 7) / 8 != h.disk_blocks)
            why = "its disk is not a clone of the same image here";
    }
    if (!why && d->scan_slot >= 0 && (disk = linux_vm_disk(d->vm)) && (d->disk = ramdisk_image(disk)))
        d->disk_bytes = disk->sectors * 512;
    if (!why && d->scan_slot >= 0)
        d->nboot = linux_vm_boot_pieces(d->vm, d->boot, d->boot_len, MIG_BOOT_PIECES);
    if (!why && d->delta && clone_image(&h))
        mig_gold_open(d, clone_image(&h));           /* only when this host indexed that image */
    d->npages = h.mem_size / MIG_PAGE;
    d->disk_blocks = d->delta ? h.disk_blocks : 0;
    if (!why && (!(d->have = kzalloc((d->npages + 63) / 64 * 8)) ||
                 mig_idx_init(&d->idx, idx_size(d))))
        why = "out of memory";
    if (why) {
        d->io.why = why;
        return -EINVAL;
    }
    kprintf("migrate: receiving %s from %s (%llu MiB, %u vCPUs%s)\n", d->name, d->peer,
            (unsigned long long)(h.mem_size >> 20), h.nvcpus, d->delta ? ", with its disk delta" : "");
    d->phase = D_ROUNDS;
    return mig_io_frame(&d->io, MIG_ACCEPT, NULL, 0) < 0 ? -EPIPE : 0;
}

static int state_chunk(struct mig_dst *d, const uint8_t *p, uint32_t len)
{
    struct mig_state_hdr h;
    const uint8_t *chunk;
    if (mig_state_decode(p, len, &h, &chunk, &d->io.why))
        return -EPROTO;
    if (!d->state) {
        if (h.offset || !(d->state = kmalloc(h.total))) {
            d->io.why = h.offset ? "STATE chunks out of order" : "out of memory for the state record";
            return -EPROTO;
        }
        d->state_total = h.total;
    }
    if (h.total != d->state_total || h.offset != d->state_got) {
        d->io.why = "STATE chunks out of order";
        return -EPROTO;
    }
    memcpy(d->state + h.offset, chunk, len - sizeof(h));
    d->state_got += len - (uint32_t)sizeof(h);
    return 0;
}

/* COMMIT: everything is here; restore it as the device models check a guest's writes. */
static int commit(struct mig_dst *d)
{
    static char why[160];
    struct snap s = { d->state, d->state_total, 0, 0, 0, NULL };
    if (!d->state || d->state_got != d->state_total) {
        d->io.why = "COMMIT before the whole state record";
        return -EPROTO;
    }
    if (mig_dst_complete(d))
        return -EPROTO;
    if (vm_state_restore(d->vm, &s, why, sizeof(why))) {
        d->io.why = why;
        return -EINVAL;
    }
    d->phase = D_READY;
    return mig_io_frame(&d->io, MIG_READY, NULL, 0) < 0 ? -EPIPE : 0;
}

static int go(struct mig_dst *d, const uint8_t *p)
{
    uint32_t flags;
    memcpy(&flags, p, 4);
    d->vm->mig = NULL;
    if (!(flags & MIG_GO_HOLD)) {
        vm_start(d->vm);
        d->running = d->vm;
        d->announce_ns = time_ns();
    }
    kprintf("migrate: %s from %s is %s here (%llu pages and %llu delta blocks received, %llu of them compressed, "
            "%llu found here, %llu zero, %llu bytes in; %llu pages of this host's guests and disks indexed, %llu "
            "golden blocks read here)\n", d->name, d->peer, flags & MIG_GO_HOLD ? "held paused" : "running",
            (unsigned long long)d->recv, (unsigned long long)d->blocks, (unsigned long long)d->expanded,
            (unsigned long long)d->found, (unsigned long long)d->zero,
            (unsigned long long)d->io.bytes_in, (unsigned long long)d->scanned, (unsigned long long)d->golden);
    d->vm = NULL;
    d->phase = D_CLOSING;
    return mig_io_frame(&d->io, MIG_RUNNING, NULL, 0) < 0 ? -EPIPE : 0;
}

/* One frame in the phase it may come in. 0, or <0 with d->io.why. */
static int dst_frame(struct mig_dst *d, uint32_t type, const uint8_t *p, uint32_t len)
{
    static char reason[MIG_REASON + 1];
    if (type == MIG_HELLO && d->phase == D_HELLO)
        return hello(d, p, len);
    if (type == MIG_HASHES && (d->phase == D_ROUNDS || d->phase == D_FINAL))
        return mig_dst_hashes(d, p, len);
    if (type == MIG_DATA && (d->phase == D_ROUNDS || d->phase == D_FINAL))
        return mig_dst_data(d, p, len);
    if (type == MIG_ROUND && d->phase == D_ROUNDS && len == sizeof(struct mig_round)) {
        d->round++;
        return 0;
    }
    if (type == MIG_FINAL && d->phase == D_ROUNDS) {
        d->phase = D_FINAL;
        if (d->delta && !(d->seen = kzalloc((d->disk_blocks + 63) / 64 * 8))) {
            d->io.why = "out of memory";
            return -ENOMEM;
        }
        return 0;
    }
    if (type == MIG_STATE && d->phase == D_FINAL)
        return state_chunk(d, p, len);
    if (type == MIG_COMMIT && d->phase == D_FINAL)
        return commit(d);
    if (type == MIG_GO && d->phase == D_READY)
        return go(d, p);
    if (type == MIG_REFUSE) {
        mig_reason_decode(p, len, reason, sizeof(reason));
        d->io.why = reason;
        return -ECANCELED;
    }
    d->io.why = "a frame out of order";
    return -EPROTO;
}

/* One session's turn. Nonzero when it did work. */
static int dst_step(struct mig_dst *d)
{
    uint32_t type, len;
    const uint8_t *p;
    int rc = 0, work = 0;
    if (d->phase == D_ROUNDS && d->scan_slot >= 0 &&
        (d->boot_piece < d->nboot || d->scan_slot < VM_MAX || d->disk_scan < d->disk_bytes / MIG_PAGE))
        work = mig_dst_scan(d, 256) > 0;         /* this host's guests, a slice per turn, ahead of the frames */
    for (int frames = 0; frames < 64; frames++) {
        if ((rc = mig_io_flush(&d->io)) != 0)
            break;
        if (d->want_pending) {                     /* golden reads for the last HASHES still out */
            if (!mig_gold_poll(d, d->want_bits))
                break;
            if ((rc = mig_dst_send_want(d)) < 0)
                break;
            work = 1;
            continue;
        }
        if (d->phase == D_CLOSING) {
            dst_end(d);
            if (d->running)
                d->phase = D_ANNOUNCE;
            return 1;
        }
        if ((rc = mig_io_recv(&d->io, &type, &p, &len)) != 1)
            break;
        work = 1;
        if (type == d->cut) {
            kprintf("migrate: from %s: %s: link cut at %s (test hook)\n", d->peer, d->name, mig_type_name(type));
            dst_end(d);
            return 1;
        }
        if ((rc = dst_frame(d, type, p, len)) < 0)
            break;
        mig_io_next(&d->io);
    }
    if (rc < 0) {
        if (rc == -ECANCELED || rc == -EPROTO || rc == -EINVAL || rc == -ENOMEM)
            dst_fail(d, d->io.why ? d->io.why : "refused");
        else
            dst_fail(d, mig_io_error(&d->io, rc));
        return 1;
    }
    return work;
}

void mig_dst_start(struct tls_chan *ch)
{
    mig_dst_start_cut(ch, 0, 1);
}

void mig_dst_start_cut(struct tls_chan *ch, uint32_t cut, int local)
{
    struct mig_dst *d = NULL;
    int slot = -1;
    for (int i = 0; i < MIG_DST_MAX && slot < 0; i++)
        if (!dsts[i])
            slot = i;
    if (slot < 0 || !(d = kzalloc(sizeof(*d)))) {
        kprintf("migrate: refused %s: %s\n", tls_peer(ch), slot < 0 ? "too many incoming migrations" : "out of memory");
        tls_close(ch);
        return;
    }
    d->io.ch = ch;
    d->cut = cut;
    d->scan_slot = local ? 0 : -1;
    kstrlcpy(d->peer, tls_peer(ch), sizeof(d->peer));
    d->t0 = time_ns();
    tls_set_idle_timeout(ch, IDLE_MS);
    dsts[slot] = d;
}

/* After the hand-over: the guest's MACs announced on the switch a few times, as QEMU does. */
static int announce(struct mig_dst *d)
{
    if (time_ns() < d->announce_ns)
        return 0;
    if (vm_find(d->name) != d->running || d->announced >= MIG_ANNOUNCES) {
        d->phase = D_DONE;
        return 1;
    }
    virtio_net_announce(d->running);
    d->announce_ns = time_ns() + (uint64_t)(d->announced ? 100 : 50) * 1000000;
    d->announced++;
    return 1;
}

int mig_dst_poll(void)
{
    int work = 0;
    for (int i = 0; i < MIG_DST_MAX; i++) {
        struct mig_dst *d = dsts[i];
        if (!d)
            continue;
        if (d->vm && (vm_find(d->name) != d->vm || d->vm->mig != d)) {
            d->vm = NULL;
            dst_fail(d, "the VM was destroyed here");
        }
        if (d->phase == D_ANNOUNCE)
            work |= announce(d);
        else if (d->phase != D_DONE)
            work |= dst_step(d);
        if (d->phase == D_DONE && !mig_gold_inflight(d))    /* golden reads land in the session's buffer */
            dst_free(d);
    }
    return work;
}

void mig_dst_status(void)
{
    static const char *const names[] = { "waiting for HELLO", "pre-copy", "final copy", "restored, waiting for GO",
                                         "closing", "announcing", "done" };
    for (int i = 0; i < MIG_DST_MAX; i++) {
        struct mig_dst *d = dsts[i];
        if (d)
            kprintf("migrate in %s <- %s: %s, round %u, %llu received, %llu found here, %llu zero, %llu bytes in\n",
                    *d->name ? d->name : "?", d->peer, names[d->phase], d->round, (unsigned long long)d->recv,
                    (unsigned long long)d->found, (unsigned long long)d->zero, (unsigned long long)d->io.bytes_in);
    }
}

int mig_dst_cancel(const char *why)
{
    int n = 0;
    for (int i = 0; i < MIG_DST_MAX; i++)
        if (dsts[i] && dsts[i]->phase < D_CLOSING) {
            dst_fail(dsts[i], why);
            n++;
        }
    return n;
}
