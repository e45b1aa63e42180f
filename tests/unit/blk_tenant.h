/* An earlier tenant's bytes for host tests: memory handed out still holding TENANT!! over and over. */
#ifndef SHOAL_TESTS_BLK_TENANT_H
#define SHOAL_TESTS_BLK_TENANT_H
#include <stddef.h>

/* Fill n bytes at p with the tenant pattern. */
void blk_tenant_fill(void *p, size_t n);
/* 1 when the n bytes at p hold a piece (8 bytes) of the pattern. */
int blk_tenant_found(const void *p, size_t n);
#endif
