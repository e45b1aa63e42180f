/* The destination's content index: SHA-256 -> location, open addressing with a bounded probe window. */
#include "vmm/mig/pageidx.h"
#include "kernel/heap.h"
#include "kernel/kstring.h"
#include "kernel/errno.h"

int mig_idx_init(struct mig_idx *x, uint64_t n)
{
    uint64_t cap = 64;
    while (cap < 2 * n)
        cap <<= 1;
    memset(x, 0, sizeof(*x));
    if (!(x->slot = kzalloc(cap * sizeof(*x->slot))))
        return -ENOMEM;
    x->mask = cap - 1;
    return 0;
}

static uint64_t home(const uint8_t hash[32])
{
    uint64_t h;
    memcpy(&h, hash, 8);
    return h;
}

void mig_idx_put(struct mig_idx *x, const uint8_t hash[32], uint64_t loc)
{
    uint64_t at = home(hash);
    struct mig_idx_slot *free = NULL;
    if (!loc || !x->slot)
        return;
    for (int i = 0; i < MIG_IDX_PROBES; i++) {
        struct mig_idx_slot *s = &x->slot[(at + (uint64_t)i) & x->mask];
        if (s->loc && !memcmp(s->hash, hash, 32)) {
            s->loc = loc;
            return;
        }
        if (!s->loc && !free)
            free = s;
    }
    if (!free) {
        x->dropped++;
        return;
    }
    memcpy(free->hash, hash, 32);
    free->loc = loc;
    x->used++;
}

uint64_t mig_idx_get(const struct mig_idx *x, const uint8_t hash[32])
{
    uint64_t at = home(hash);
    if (!x->slot)
        return 0;
    for (int i = 0; i < MIG_IDX_PROBES; i++) {
        const struct mig_idx_slot *s = &x->slot[(at + (uint64_t)i) & x->mask];
        if (s->loc && !memcmp(s->hash, hash, 32))
            return s->loc;
    }
    return 0;
}

void mig_idx_free(struct mig_idx *x)
{
    kfree(x->slot);
    memset(x, 0, sizeof(*x));
}
