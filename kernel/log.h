/* Kernel log: levelled messages to the console and into a ring buffer read by `log`. */
#ifndef SHOAL_LOG_H
#define SHOAL_LOG_H
#include <stddef.h>

enum log_level { LOG_ERR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };

/* Record a message at level (timestamped) in the ring; print it when level <= the console loglevel. */
void log_printf(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_err(...)   log_printf(LOG_ERR, __VA_ARGS__)
#define log_warn(...)  log_printf(LOG_WARN, __VA_ARGS__)
#define log_info(...)  log_printf(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_printf(LOG_DEBUG, __VA_ARGS__)

/* Copy the ring's contents, oldest first, to emit(buf, len) in pieces. */
void log_dump(void (*emit)(const char *s, size_t n));
/* Current console level (messages at or below it are printed). */
int log_get_level(void);
#endif
