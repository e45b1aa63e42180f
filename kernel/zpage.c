/* Page compression over zlib's raw deflate (fetched from Debian's source archive, built with Z_SOLO). */
#include "kernel/zpage.h"
#include "kernel/heap.h"
#include "kernel/errno.h"
#include "zlib.h"

/*
 * Level 1 (zlib's fastest): on a freshly booted Linux guest's pages it keeps about a third of the bytes,
 * at several times the speed of level 6. A 4 KiB window is enough (a page never looks outside itself); the
 * raw format (negative window bits) drops zlib's header and Adler-32, which the TLS channel's integrity
 * check makes redundant. Built with ZLIB_CONST (next_in is const) and Z_SOLO (no C library).
 */
#define ZP_LEVEL    1
#define ZP_WBITS    (-12)
#define ZP_MEMLEVEL 8

struct zpage {
    z_stream def, inf;
    int has_def, has_inf;
};

static voidpf zp_alloc(voidpf opaque, uInt items, uInt size)
{
    (void)opaque;
    if (size && items > (uInt)-1 / size)
        return Z_NULL;
    return kmalloc((size_t)items * size);
}

static void zp_free(voidpf opaque, voidpf p)
{
    (void)opaque;
    kfree(p);
}

struct zpage *zpage_new(int flags)
{
    struct zpage *z = kmalloc(sizeof(*z));
    if (!z)
        return NULL;
    *z = (struct zpage){ 0 };
    z->def.zalloc = z->inf.zalloc = zp_alloc;
    z->def.zfree = z->inf.zfree = zp_free;
    if ((flags & ZPAGE_COMPRESS) &&
        deflateInit2(&z->def, ZP_LEVEL, Z_DEFLATED, ZP_WBITS, ZP_MEMLEVEL, Z_DEFAULT_STRATEGY) == Z_OK)
        z->has_def = 1;
    if ((flags & ZPAGE_EXPAND) && inflateInit2(&z->inf, ZP_WBITS) == Z_OK)
        z->has_inf = 1;
    if (((flags & ZPAGE_COMPRESS) && !z->has_def) || ((flags & ZPAGE_EXPAND) && !z->has_inf)) {
        zpage_free(z);
        return NULL;
    }
    return z;
}

void zpage_free(struct zpage *z)
{
    if (!z)
        return;
    if (z->has_def)
        deflateEnd(&z->def);
    if (z->has_inf)
        inflateEnd(&z->inf);
    kfree(z);
}

uint32_t zpage_compress(struct zpage *z, const uint8_t page[ZPAGE_SIZE], uint8_t *out, uint32_t cap)
{
    if (!z->has_def || deflateReset(&z->def) != Z_OK)
        return 0;
    z->def.next_in = page;
    z->def.avail_in = ZPAGE_SIZE;
    z->def.next_out = out;
    z->def.avail_out = cap;
    if (deflate(&z->def, Z_FINISH) != Z_STREAM_END || z->def.total_out >= cap)
        return 0;                              /* Z_OK / Z_BUF_ERROR: out was too small */
    return (uint32_t)z->def.total_out;
}

int zpage_expand(struct zpage *z, const uint8_t *in, uint32_t len, uint8_t page[ZPAGE_SIZE])
{
    if (!z->has_inf || inflateReset(&z->inf) != Z_OK)
        return -EPROTO;
    z->inf.next_in = in;
    z->inf.avail_in = len;
    z->inf.next_out = page;
    z->inf.avail_out = ZPAGE_SIZE;
    int rc = inflate(&z->inf, Z_FINISH);
    /* The stream must end exactly at the page's end and use all of in: no trailing bytes, no short page. */
    if (rc != Z_STREAM_END || z->inf.avail_out != 0 || z->inf.avail_in != 0)
        return -EPROTO;
    return 0;
}
