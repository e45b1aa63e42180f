/* lwIP's system layer for shoal (NO_SYS=1): the millisecond clock, random numbers, diagnostics, atoi. */
#include <stdarg.h>
#include "lwip/opt.h"
#include "lwip/sys.h"
#include "kernel/time.h"
#include "kernel/log.h"
#include "kernel/printf.h"

/* Milliseconds since the TSC was calibrated; wraps every 49 days, which lwIP's timeouts handle. */
u32_t sys_now(void)
{
    return (u32_t)(time_ns() / 1000000ull);
}

/* xorshift64* seeded from the clock at first use: enough for ports, DHCP xids and TCP ISNs here. */
uint32_t shoal_lwip_rand(void)
{
    static uint64_t s;
    if (s == 0) {
        uint32_t lo, hi;
        __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
        s = (((uint64_t)hi << 32) | lo) ^ 0x9e3779b97f4a7c15ull;
        if (s == 0)
            s = 1;
    }
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    return (uint32_t)((s * 0x2545f4914f6cdd1dull) >> 32);
}

/* lwIP diagnostics arrive in pieces; each piece becomes one debug log line (trailing newline trimmed). */
void shoal_lwip_diag(const char *fmt, ...)
{
    char buf[160];
    va_list ap;
    va_start(ap, fmt);
    kvsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    size_t n = 0;
    while (buf[n])
        n++;
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = 0;
    if (n)
        log_debug("lwip: %s", buf);
}

/* An lwIP assertion is logged as an error; the stack goes on (the caller's check usually returns). */
void shoal_lwip_assert(const char *msg, const char *file, int line)
{
    log_err("lwip: assertion \"%s\" failed at %s:%d", msg, file, line);
}

/* Decimal atoi for netif_find() and httpd's Content-Length (a peer's digits): optional sign, digits,
   stops at the first other character; saturates at INT_MAX instead of overflowing. */
int shoal_lwip_atoi(const char *s)
{
    int neg = 0, v = 0;
    if (*s == '-' || *s == '+')
        neg = *s++ == '-';
    while (*s >= '0' && *s <= '9') {
        int d = *s++ - '0';
        v = v > (0x7fffffff - d) / 10 ? 0x7fffffff : v * 10 + d;
    }
    return neg ? -v : v;
}
