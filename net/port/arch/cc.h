/* lwIP compiler/platform glue for shoal: types, byte order, packing, diagnostics through the kernel log. */
#ifndef SHOAL_LWIP_CC_H
#define SHOAL_LWIP_CC_H
#include <stdint.h>
#include <stddef.h>

/* No hosted headers beyond what a freestanding compiler provides (limits.h, stdint.h). */
#define LWIP_NO_INTTYPES_H 1
#define LWIP_NO_CTYPE_H    1
#define LWIP_NO_UNISTD_H   1
#define X8_F  "02x"
#define U16_F "u"
#define S16_F "d"
#define X16_F "x"
#define U32_F "u"
#define S32_F "d"
#define X32_F "x"
#define SZT_F "zu"

#define BYTE_ORDER LITTLE_ENDIAN
#define lwip_htons(x) __builtin_bswap16(x)
#define lwip_htonl(x) __builtin_bswap32(x)

#define PACK_STRUCT_STRUCT __attribute__((packed))

/* Diagnostics go to the kernel log; an assert logs and goes on (a peer must never crash the host). */
void shoal_lwip_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void shoal_lwip_assert(const char *msg, const char *file, int line);
#define LWIP_PLATFORM_DIAG(x)   do { shoal_lwip_diag x; } while (0)
#define LWIP_PLATFORM_ASSERT(x) shoal_lwip_assert((x), __FILE__, __LINE__)

#endif
