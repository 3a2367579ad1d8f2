/*
 * Timestamps. Packet time is kept as microseconds since the Unix epoch (uint64_t).
 */
#ifndef OTASUKE_TIMEFMT_H
#define OTASUKE_TIMEFMT_H

#include <stddef.h>
#include <stdint.h>

#define TS_RFC3339_LEN 33 /* "2026-11-22T23:41:04.123456+00:00" + NUL */

/* Writes ts_us as RFC 3339 with microseconds and a numeric offset. utc_offset_s is
 * the offset to show (0 for UTC). Returns the length written (32). */
size_t ts_format(char *out, size_t outlen, uint64_t ts_us, int utc_offset_s);
/* Wall clock, microseconds since the epoch. */
uint64_t ts_now_us(void);
/* Monotonic clock in microseconds. */
uint64_t ts_mono_us(void);

#endif
