/* Diagnostics: level-filtered key=value lines on stderr, plus a rate limiter. */
#include "otasuke/log.h"
#include "otasuke/timefmt.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

enum log_level log_level_current = LOG_NOTICE;

static const char *const g_lvl[] = {"error", "warn", "notice", "info", "debug"};

void log_set_level(enum log_level lvl)
{
    log_level_current = lvl;
}

int log_level_parse(const char *s)
{
    for (int i = 0; i <= LOG_DEBUG; i++)
        if (strcmp(s, g_lvl[i]) == 0)
            return i;
    return -1;
}

void log_write(enum log_level lvl, const char *mod, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fprintf(stderr, "otasuke: level=%s mod=%s %s\n", g_lvl[lvl], mod, msg);
}

int log_rate_allow(struct log_rate *r, uint64_t *suppressed)
{
    int64_t now = (int64_t)(ts_mono_us() / 1000000);
    int iv = r->interval_s > 0 ? r->interval_s : 1;
    if (r->last != 0 && now - r->last < iv) {
        r->suppressed++;
        return 0;
    }
    r->last = now == 0 ? 1 : now;
    if (suppressed)
        *suppressed = r->suppressed;
    r->suppressed = 0;
    return 1;
}
