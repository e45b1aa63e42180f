/* Fakes under vmm/mig/dstpages.c on the host: guest RAM in plain buffers, the frame sender, no golden reads. */
#include <stdlib.h>
#include <string.h>
#include "tests/unit/mig_dst_shim.h"
#include "blk/delta.h"
#include "kernel/heap.h"
#include "kernel/zpage.h"

static struct vm vms[VM_MAX];
static uint8_t *ram[VM_MAX];

struct vm *vm_slot(int i)
{
    return i >= 0 && i < VM_MAX && ram[i] ? &vms[i] : NULL;
}

static uint8_t *ram_of(struct vm *vm)
{
    return vm >= vms && vm < vms + VM_MAX ? ram[vm - vms] : NULL;
}

void *gpa_ptr(struct vm *vm, uint64_t gpa, size_t len)
{
    uint8_t *base = ram_of(vm);
    return base && gpa < vm->mem_size && len <= vm->mem_size - gpa ? base + gpa : NULL;
}

void *gpa_ptr_w(struct vm *vm, uint64_t gpa, size_t len)
{
    return gpa_ptr(vm, gpa, len);
}

int mig_gold_queue(struct mig_dst *d, uint32_t entry, uint32_t kind, uint64_t index, const uint8_t hash[32])
{
    (void)d, (void)entry, (void)kind, (void)index, (void)hash;
    return 0;                                  /* no pool image indexed on this host */
}

uint8_t *mig_io_begin(struct mig_io *io, uint32_t type)
{
    mig_hdr_put(io->out, type, 0);
    return io->out + MIG_HDR;
}

int mig_io_send(struct mig_io *io, uint32_t len)
{
    uint32_t type;
    if (len > MIG_MAX_PAYLOAD)
        abort();                               /* a frame larger than the stream allows */
    memcpy(&type, io->out, 4);                 /* as mig_io_begin put it */
    mig_hdr_put(io->out, type, len);
    io->out_len = MIG_HDR + len;
    return 0;
}

static void slot_new(int slot, uint64_t pages)
{
    memset(&vms[slot], 0, sizeof(vms[slot]));
    vms[slot].mem_size = pages * MIG_PAGE;
    ram[slot] = calloc(pages ? pages : 1, MIG_PAGE);
}

struct mig_dst *shim_dst_new(uint64_t npages, uint64_t disk_blocks, uint64_t other_pages)
{
    struct mig_dst *d = calloc(1, sizeof(*d));
    slot_new(1, npages);
    if (other_pages)
        slot_new(SHIM_OTHER_SLOT, other_pages);
    d->vm = &vms[1];
    d->npages = npages;
    d->disk_blocks = disk_blocks;
    d->have = calloc((npages + 63) / 64 + 1, 8);
    if (disk_blocks) {
        d->delta = delta_ram_create(0);
        d->seen = calloc((disk_blocks + 63) / 64 + 1, 8);
    }
    d->scan_slot = other_pages ? 0 : -1;
    if (mig_idx_init(&d->idx, npages + other_pages + disk_blocks + 64))
        abort();
    return d;
}

void shim_dst_free(struct mig_dst *d)
{
    for (int i = 0; i < VM_MAX; i++) {
        free(ram[i]);
        ram[i] = NULL;
    }
    if (d->delta)
        d->delta->ops->destroy(d->delta);
    mig_idx_free(&d->idx);
    free(d->have);
    free(d->seen);
    zpage_free(d->z);
    free(d);
}

uint8_t *shim_page(int slot, uint64_t pfn)
{
    struct vm *vm = vm_slot(slot);
    return vm ? gpa_ptr(vm, pfn * MIG_PAGE, MIG_PAGE) : NULL;
}

uint32_t shim_sent(struct mig_dst *d, const uint8_t **payload, uint32_t *len)
{
    uint32_t type, n;
    const char *why;
    if (!d->io.out_len)
        return 0;
    if (mig_hdr_parse(d->io.out, &type, &n, &why))
        abort();                               /* the session wrote a frame its peer would refuse */
    *payload = d->io.out + MIG_HDR;
    *len = (uint32_t)(d->io.out_len - MIG_HDR);
    return type;
}

void shim_sent_clear(struct mig_dst *d)
{
    d->io.out_len = 0;
}

uint32_t shim_hashes(uint8_t *buf, uint32_t kind, uint32_t n, const struct mig_entry *e)
{
    struct mig_hashes_hdr h = { 7, kind, n, 0 };
    uint32_t at = sizeof(h);
    memcpy(buf, &h, sizeof(h));
    for (uint32_t i = 0; i < n; i++)
        at += mig_entry_put(buf + at, &e[i]);
    return at;
}

uint32_t shim_data(uint8_t *buf, uint32_t kind, uint64_t index, const uint8_t *page)
{
    struct mig_data_hdr h = { kind, 0, index };
    memcpy(buf, &h, sizeof(h));
    memcpy(buf + sizeof(h), page, MIG_PAGE);
    return (uint32_t)(sizeof(h) + MIG_PAGE);
}
