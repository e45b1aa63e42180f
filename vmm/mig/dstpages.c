/* A migration destination's pages and delta blocks: found here by hash (checked again) or received from the source. */
#include "vmm/mig/dst.h"
#include "blk/delta.h"
#include "kernel/sha256.h"
#include "kernel/zpage.h"
#include "kernel/kstring.h"
#include "kernel/errno.h"

#define LOC(kind, index) ((((uint64_t)(kind)) << 48 | (index)) + 1)

static int bad(struct mig_dst *d, const char *why, int err)
{
    d->io.why = why;
    return err;
}

/* Where kind/index lives for reading: a page of the new VM, a delta block it stores, or a page of a guest
 * of this host (slot << 32 | page; any VM now in that slot: the caller checks the content's hash). */
static const uint8_t *at(struct mig_dst *d, uint32_t kind, uint64_t index)
{
    if (kind == MIG_LOC_BOOT) {
        uint64_t piece = index >> 32, page = index & 0xffffffffu;
        return piece < (uint64_t)d->nboot && page < d->boot_len[piece] / MIG_PAGE ? d->boot[piece] + page * MIG_PAGE
                                                                               : NULL;
    }
    if (kind == MIG_LOC_DISK)
        return d->disk && index < d->disk_bytes / MIG_PAGE ? d->disk + index * MIG_PAGE : NULL;
    if (kind == MIG_LOC_GUEST) {
        struct vm *vm = vm_slot((int)(index >> 32));
        uint64_t pfn = index & 0xffffffffu;
        return vm && pfn < vm->mem_size / MIG_PAGE ? gpa_ptr(vm, pfn * MIG_PAGE, MIG_PAGE) : NULL;
    }
    if (kind == MIG_KIND_PAGE)
        return index < d->npages ? gpa_ptr(d->vm, index * MIG_PAGE, MIG_PAGE) : NULL;
    return d->delta && index < d->disk_blocks ? d->delta->ops->lookup(d->delta, index) : NULL;
}

uint8_t *mig_dst_at_w(struct mig_dst *d, uint32_t kind, uint64_t index)
{
    if (kind == MIG_KIND_PAGE)
        return gpa_ptr_w(d->vm, index * MIG_PAGE, MIG_PAGE);
    return d->delta->ops->alloc(d->delta, index);
}

static int index_ok(struct mig_dst *d, uint32_t kind, uint64_t index)
{
    return kind == MIG_KIND_PAGE ? index < d->npages : d->delta && index < d->disk_blocks;
}

/* index now holds bytes: record it (pages as written; blocks, in the final round, as still the source's). */
void mig_dst_written(struct mig_dst *d, uint32_t kind, uint64_t index, const uint8_t hash[32])
{
    if (kind == MIG_KIND_PAGE)
        d->have[index / 64] |= 1ull << (index % 64);
    else if (d->seen)
        d->seen[index / 64] |= 1ull << (index % 64);
    if (hash)
        mig_idx_put(&d->idx, hash, LOC(kind, index));
}

/* Copy content with hash from where the index says it is, checking it still is. 1 done, 0 not here, <0. */
static int fill_from_here(struct mig_dst *d, uint32_t kind, uint64_t index, const uint8_t hash[32])
{
    static uint8_t copy[MIG_PAGE];
    uint8_t got[32];
    uint64_t loc = mig_idx_get(&d->idx, hash);
    const uint8_t *src;
    uint8_t *dst;
    if (!loc)
        return 0;
    loc--;
    if (!(src = at(d, (uint32_t)(loc >> 48), loc & MIG_INDEX_MASK)))
        return 0;
    memcpy(copy, src, MIG_PAGE);
    sha256(copy, MIG_PAGE, got);
    if (memcmp(got, hash, 32)) {
        d->refound++;                          /* overwritten since it was indexed */
        return 0;
    }
    if (!(dst = mig_dst_at_w(d, kind, index)))
        return bad(d, "the disk delta has no room here (quota or delta_budget)", -ENOMEM);
    memcpy(dst, copy, MIG_PAGE);
    mig_dst_written(d, kind, index, hash);
    return 1;
}

static int fill_zero(struct mig_dst *d, uint32_t kind, uint64_t index)
{
    uint8_t *dst = mig_dst_at_w(d, kind, index);
    if (!dst)
        return bad(d, "the disk delta has no room here (quota or delta_budget)", -ENOMEM);
    memset(dst, 0, MIG_PAGE);
    mig_dst_written(d, kind, index, NULL);
    return 0;
}

int mig_dst_hashes(struct mig_dst *d, const uint8_t *p, uint32_t len)
{
    static struct mig_entry e[MIG_BATCH];     /* one frame at a time (sessions run one after another) */
    struct mig_hashes_hdr h;
    uint8_t *bits;
    int rc;
    if (mig_hashes_decode(p, len, &h, e, &d->io.why))
        return -EPROTO;
    bits = d->want_bits;
    memset(bits, 0, (h.n + 7) / 8);
    for (uint32_t i = 0; i < h.n; i++) {
        uint64_t index = e[i].index & MIG_INDEX_MASK;
        uint8_t hash[32];
        if ((e[i].index & ~(MIG_INDEX_MASK | MIG_ENTRY_ZERO)) || !index_ok(d, h.kind, index))
            return bad(d, "HASHES names a page or block outside the VM", -EPROTO);
        memcpy(hash, e[i].hash, 32);
        if (e[i].index & MIG_ENTRY_ZERO) {
            if ((rc = fill_zero(d, h.kind, index)))
                return rc;
            d->zero++;
            continue;
        }
        if ((rc = fill_from_here(d, h.kind, index, hash)) < 0)
            return rc;
        if (rc)
            d->found++;
        else if (mig_gold_queue(d, i, h.kind, index, hash))
            d->want_pending = 1;
        else
            bits[i / 8] |= (uint8_t)(1u << (i % 8));
    }
    d->want_hdr.seq = h.seq;
    d->want_hdr.n = h.n;
    return d->want_pending ? 0 : mig_dst_send_want(d);
}

int mig_dst_send_want(struct mig_dst *d)
{
    uint8_t *out = mig_io_begin(&d->io, MIG_WANT);
    uint32_t n = d->want_hdr.n;
    memcpy(out, &d->want_hdr, sizeof(d->want_hdr));
    memcpy(out + sizeof(d->want_hdr), d->want_bits, (n + 7) / 8);
    d->want_pending = 0;
    int rc = mig_io_send(&d->io, (uint32_t)(sizeof(d->want_hdr) + (n + 7) / 8));
    return rc < 0 ? rc : 0;
}

int mig_dst_data(struct mig_dst *d, const uint8_t *p, uint32_t len)
{
    struct mig_data_hdr h;
    const uint8_t *page;
    uint32_t n;
    uint8_t hash[32], *dst;
    if (mig_data_decode(p, len, &h, &page, &n, &d->io.why))
        return -EPROTO;
    if (!index_ok(d, h.kind, h.index))
        return bad(d, "DATA names a page or block outside the VM", -EPROTO);
    if (h.enc == MIG_ENC_DEFLATE) {            /* expanded aside: a bad stream leaves the page as it was */
        if (!d->z && !(d->z = zpage_new(ZPAGE_EXPAND)))
            return bad(d, "no memory here to expand compressed pages", -ENOMEM);
        if (zpage_expand(d->z, page, n, d->zbuf))
            return bad(d, "a compressed DATA page does not expand to one page", -EPROTO);
        page = d->zbuf;
        d->expanded++;
    }
    if (!(dst = mig_dst_at_w(d, h.kind, h.index)))
        return bad(d, "the disk delta has no room here (quota or delta_budget)", -ENOMEM);
    memcpy(dst, page, MIG_PAGE);
    sha256(dst, MIG_PAGE, hash);
    mig_dst_written(d, h.kind, h.index, hash);
    if (h.kind == MIG_KIND_PAGE)
        d->recv++;
    else
        d->blocks++;
    return 0;
}

int mig_dst_complete(struct mig_dst *d)
{
    for (uint64_t i = 0; i < d->npages; i++)
        if (!(d->have[i / 64] >> (i % 64) & 1))
            return bad(d, "pages of the VM never came", -EPROTO);
    if (!d->delta)
        return 0;
    for (uint64_t b = d->delta->ops->next(d->delta, 0); b != UINT64_MAX; b = d->delta->ops->next(d->delta, b + 1))
        if (b >= d->disk_blocks || !(d->seen[b / 64] >> (b % 64) & 1))
            d->delta->ops->drop(d->delta, b);
    return 0;
}

/* Index a page's content at loc unless it is all zeros. */
static void scan_one(struct mig_dst *d, const uint64_t *p, uint64_t loc)
{
    uint8_t hash[32];
    for (int i = 0; i < (int)(MIG_PAGE / 8); i++)
        if (p[i]) {
            sha256(p, MIG_PAGE, hash);
            mig_idx_put(&d->idx, hash, loc);
            d->scanned++;
            return;
        }
}

int mig_dst_scan(struct mig_dst *d, int max)
{
    int n = 0;
    while (n < max && d->boot_piece < d->nboot) {
        if (d->boot_scan >= d->boot_len[d->boot_piece] / MIG_PAGE) {   /* whole pages only */
            d->boot_piece++;
            d->boot_scan = 0;
            continue;
        }
        scan_one(d, (const uint64_t *)(d->boot[d->boot_piece] + d->boot_scan * MIG_PAGE),
                 LOC(MIG_LOC_BOOT, (uint64_t)d->boot_piece << 32 | d->boot_scan));
        d->boot_scan++;
        n++;
    }
    while (n < max && d->scan_slot >= 0 && d->scan_slot < VM_MAX) {
        struct vm *vm = vm_slot(d->scan_slot);
        if (!vm || d->scan_pfn >= vm->mem_size / MIG_PAGE) {
            d->scan_slot++;
            d->scan_pfn = 0;
            continue;
        }
        const uint64_t *p = gpa_ptr(vm, d->scan_pfn * MIG_PAGE, MIG_PAGE);
        n++;
        if (p)
            scan_one(d, p, LOC(MIG_LOC_GUEST, (uint64_t)d->scan_slot << 32 | d->scan_pfn));
        d->scan_pfn++;
    }
    for (; n < max && d->disk && d->disk_scan < d->disk_bytes / MIG_PAGE; d->disk_scan++, n++)
        scan_one(d, (const uint64_t *)(d->disk + d->disk_scan * MIG_PAGE), LOC(MIG_LOC_DISK, d->disk_scan));
    return n;
}
