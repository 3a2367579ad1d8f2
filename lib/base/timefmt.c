/* Timestamp formatting (RFC 3339 with microseconds) and clocks. */
#include "otasuke/timefmt.h"

#include <stdio.h>
#include <time.h>

size_t ts_format(char *out, size_t outlen, uint64_t ts_us, int utc_offset_s)
{
    time_t secs = (time_t)(ts_us / 1000000) + utc_offset_s;
    struct tm tm;
    gmtime_r(&secs, &tm);
    int off = utc_offset_s < 0 ? -utc_offset_s : utc_offset_s;
    int n = snprintf(out, outlen, "%04d-%02d-%02dT%02d:%02d:%02d.%06u%c%02d:%02d",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, (unsigned)(ts_us % 1000000), utc_offset_s < 0 ? '-' : '+',
                     off / 3600, off % 3600 / 60);
    return n < 0 ? 0 : (size_t)n < outlen ? (size_t)n : outlen - 1;
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
