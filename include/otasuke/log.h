/*
 * Diagnostics to stderr as `key=value` lines with a level and module prefix.
 * log_*() macros skip formatting below the current level (Redis style).
 * Security events never go here: they are the JSON event stream.
 */
#ifndef OTASUKE_LOG_H
#define OTASUKE_LOG_H

#include <stdint.h>

enum log_level { LOG_ERROR = 0, LOG_WARN, LOG_NOTICE, LOG_INFO, LOG_DEBUG };

extern enum log_level log_level_current;

void log_set_level(enum log_level lvl);
/* Parses "error".."debug"; returns -1 when unknown. */
int log_level_parse(const char *s);
void log_write(enum log_level lvl, const char *mod, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_at(lvl, mod, ...)                                                                      \
    do {                                                                                           \
        if ((lvl) <= log_level_current)                                                            \
            log_write((lvl), (mod), __VA_ARGS__);                                                  \
    } while (0)
#define log_error(mod, ...)  log_at(LOG_ERROR, mod, __VA_ARGS__)
#define log_warn(mod, ...)   log_at(LOG_WARN, mod, __VA_ARGS__)
#define log_notice(mod, ...) log_at(LOG_NOTICE, mod, __VA_ARGS__)
#define log_info(mod, ...)   log_at(LOG_INFO, mod, __VA_ARGS__)
#define log_debug(mod, ...)  log_at(LOG_DEBUG, mod, __VA_ARGS__)

/* Rate limiter for repeated errors (disk full, center down): allows one line per
 * `interval_s` seconds of wall time and counts what it suppressed. */
struct log_rate {
    int64_t last;
    uint64_t suppressed;
    int interval_s;
};

/* Returns nonzero when a line may be written now; *suppressed receives the number
 * of lines skipped since the last one allowed, and is reset. */
int log_rate_allow(struct log_rate *r, uint64_t *suppressed);

#endif
