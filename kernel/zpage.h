/* 4 KiB pages compressed one at a time (raw deflate, zlib's): the migration stream's compressed DATA frames. */
#ifndef SHOAL_ZPAGE_H
#define SHOAL_ZPAGE_H
#include <stdint.h>

#define ZPAGE_SIZE     4096u
#define ZPAGE_COMPRESS 1               /* zpage_new: room to compress (about 150 KiB) */
#define ZPAGE_EXPAND   2               /* zpage_new: room to expand (about 12 KiB) */

struct zpage;

/* A context for what flags ask (ZPAGE_COMPRESS, ZPAGE_EXPAND, or both), or NULL when the heap is short. */
struct zpage *zpage_new(int flags);
/* Free z and everything it holds (NULL is ignored). */
void zpage_free(struct zpage *z);
/*
 * Compress page into out[cap] (z made with ZPAGE_COMPRESS): the compressed length, which is < cap, or 0
 * when it does not fit in cap (the caller sends the page as it is). Each page stands alone: no state is
 * carried from one page to the next, so a lost page never spoils another.
 */
uint32_t zpage_compress(struct zpage *z, const uint8_t page[ZPAGE_SIZE], uint8_t *out, uint32_t cap);
/*
 * Expand in[len], which came from a peer (z made with ZPAGE_EXPAND), into page: 0, or -EPROTO unless in is
 * exactly one complete raw deflate stream of exactly ZPAGE_SIZE bytes (page then holds garbage). Never reads
 * outside in[0..len) or writes outside page.
 */
int zpage_expand(struct zpage *z, const uint8_t *in, uint32_t len, uint8_t page[ZPAGE_SIZE]);
#endif
