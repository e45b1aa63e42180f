/* Kernel log: levelled, timestamped messages into a ring buffer, echoed to the console by level. */
#include "kernel/log.h"
#include <stdarg.h>
#include <stdint.h>
#include "kernel/printf.h"
#include "kernel/console.h"
#include "kernel/param.h"
#include "kernel/time.h"
#include "kernel/kstring.h"
#include "kernel/errno.h"
#include "kernel/irqlock.h"

#define LOG_RING_SIZE (64 * 1024)

static char ring[LOG_RING_SIZE];
static uint64_t ring_head;          /* total bytes ever written; ring holds the last LOG_RING_SIZE */
static int console_level = LOG_INFO;
static const char *const level_tag[] = { "ERR ", "WARN", "INFO", "DBG " };

static void ring_put(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        ring[(ring_head + i) % LOG_RING_SIZE] = s[i];
    ring_head += n;
}

void log_printf(int level, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    uint64_t ns = time_ns();
    int n, m;

    if (level < LOG_ERR)
        level = LOG_ERR;
    if (level > LOG_DEBUG)
        level = LOG_DEBUG;
    n = ksnprintf(buf, sizeof(buf), "[%5u.%06u] %s ", (unsigned)(ns / 1000000000u),
                  (unsigned)(ns / 1000u % 1000000u), level_tag[level]);
    va_start(ap, fmt);
    m = kvsnprintf(buf + n, sizeof(buf) - n - 1, fmt, ap);
    va_end(ap);
    n += m < (int)(sizeof(buf) - n - 1) ? m : (int)(sizeof(buf) - n - 2);
    if (buf[n - 1] != '\n')
        buf[n++] = '\n';
    buf[n] = 0;
    uint64_t f = irq_lock();
    ring_put(buf, (size_t)n);
    if (level <= console_level)
        console_write(buf, (size_t)n);
    irq_unlock(f);
}

void log_dump(void (*emit)(const char *s, size_t n))
{
    uint64_t start = ring_head > LOG_RING_SIZE ? ring_head - LOG_RING_SIZE : 0;
    for (uint64_t pos = start; pos < ring_head;) {
        size_t off = pos % LOG_RING_SIZE;
        size_t n = LOG_RING_SIZE - off;
        if (n > ring_head - pos)
            n = ring_head - pos;
        emit(ring + off, n);
        pos += n;
    }
}

int log_get_level(void)
{
    return console_level;
}

static int loglevel_param(const char *value)
{
    static const char *const names[] = { "err", "warn", "info", "debug" };
    uint64_t v;
    for (int i = 0; i < 4; i++)
        if (!strcmp(value, names[i])) {
            console_level = i;
            return 0;
        }
    if (kstrtou64(value, &v, 0) || v > LOG_DEBUG)
        return -EINVAL;
    console_level = (int)v;
    return 0;
}
BOOT_PARAM("loglevel", "console log level: 0-3 or err|warn|info|debug (default info)", loglevel_param);
