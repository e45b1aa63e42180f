/* An earlier tenant's bytes for host tests; linked with -Wl,--wrap=kmalloc, kmalloc hands them out. */
#include <string.h>
#include <stdint.h>
#include "tests/unit/blk_tenant.h"

static const char tenant[8] = "TENANT!!";

void blk_tenant_fill(void *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        ((uint8_t *)p)[i] = (uint8_t)tenant[i % 8];
}

int blk_tenant_found(const void *p, size_t n)
{
    for (size_t i = 0; i + 8 <= n; i++)
        if (!memcmp((const uint8_t *)p + i, tenant, 8))
            return 1;
    return 0;
}

#ifndef BLK_TENANT_NO_WRAP
void *__real_kmalloc(size_t size);
void *__wrap_kmalloc(size_t size);

/* kmalloc as the host heap behaves: the block still holds what its earlier owner left. */
void *__wrap_kmalloc(size_t size)
{
    void *p = __real_kmalloc(size);
    if (p)
        blk_tenant_fill(p, size);
    return p;
}
#endif
