/* Timestamp formatting (RFC 3339 with microseconds) and clocks. */
#include "otasuke/timefmt.h"

#include <stdint.h>
#include <string.h>
#include <time.h>

/* Writes v as exactly n decimal digits (zero-padded) at p. */
static void put_digits(char *p, unsigned v, int n)
{
    while (n-- > 0) {
        p[n] = (char)('0' + v % 10);
        v /= 10;
    }
}

/* Every event carries timestamps, so this avoids snprintf; gmtime_r is only called
 * when the second changes (the date part is cached per thread). */
size_t ts_format(char *out, size_t outlen, uint64_t ts_us, int utc_offset_s)
{
    static _Thread_local int64_t cached_sec = INT64_MIN;
    static _Thread_local char cached[20]; /* "YYYY-mm-ddTHH:MM:SS" */
    int64_t secs = (int64_t)(ts_us / 1000000) + utc_offset_s;
    if (outlen < TS_RFC3339_LEN) {
        if (outlen > 0)
            out[0] = '\0';
        return 0;
    }
    if (secs != cached_sec) {
        time_t t = (time_t)secs;
        struct tm tm;
        gmtime_r(&t, &tm);
        put_digits(cached, (unsigned)(tm.tm_year + 1900) % 10000, 4);
        cached[4] = '-';
        put_digits(cached + 5, (unsigned)tm.tm_mon + 1, 2);
        cached[7] = '-';
        put_digits(cached + 8, (unsigned)tm.tm_mday, 2);
        cached[10] = 'T';
        put_digits(cached + 11, (unsigned)tm.tm_hour, 2);
        cached[13] = ':';
        put_digits(cached + 14, (unsigned)tm.tm_min, 2);
        cached[16] = ':';
        put_digits(cached + 17, (unsigned)tm.tm_sec, 2);
        cached_sec = secs;
    }
    int off = utc_offset_s < 0 ? -utc_offset_s : utc_offset_s;
    memcpy(out, cached, 19);
    out[19] = '.';
    put_digits(out + 20, (unsigned)(ts_us % 1000000), 6);
    out[26] = utc_offset_s < 0 ? '-' : '+';
    put_digits(out + 27, (unsigned)(off / 3600) % 100, 2);
    out[29] = ':';
    put_digits(out + 30, (unsigned)(off % 3600 / 60), 2);
    out[32] = '\0';
    return 32;
}

uint64_t ts_now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (uint64_t)t.tv_sec * 1000000u + (uint64_t)t.tv_nsec / 1000u;
}

uint64_t ts_mono_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000u + (uint64_t)t.tv_nsec / 1000u;
}
