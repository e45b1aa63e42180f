/* CRC32C (Castagnoli), the iSCSI header and data digest (RFC 7143 13.1, RFC 3720 B.4). */
#ifndef SHOAL_CRC32C_H
#define SHOAL_CRC32C_H
#include <stddef.h>
#include <stdint.h>

/* Continue a CRC32C over buf[0..len). Start with crc = 0; the result is the finished digest value
 * (pre/post inversion is done inside), so crc32c(crc32c(0, a), b) == crc32c(0, a||b). */
uint32_t crc32c(uint32_t crc, const void *buf, size_t len);
#endif
