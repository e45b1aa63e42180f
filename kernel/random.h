/* Entropy for protocol nonces (CHAP challenges, iSCSI ISIDs): hardware random numbers mixed with the TSC. */
#ifndef SHOAL_RANDOM_H
#define SHOAL_RANDOM_H
#include <stddef.h>

/*
 * Fill buf[n] with unpredictable bytes. Each 32-byte block is SHA-256 over a secret pool, a counter,
 * RDSEED (else RDRAND) words where CPUID reports them, and TSC readings; the pool then moves on through
 * a different hash, so outputs reveal neither the pool nor each other. The host build (SHOAL_HOST) takes
 * its words from getrandom(). Never fails: without a hardware source only the TSC and what random_mix
 * added feed it (random_source() says which).
 */
void random_bytes(void *buf, size_t n);
/* Stir n bytes into the pool (a MAC address, a boot time): they need not be secret, only distinct. */
void random_mix(const void *buf, size_t n);
/* The source feeding random_bytes: "RDSEED", "RDRAND", "getrandom" or "TSC only". */
const char *random_source(void);
#endif
