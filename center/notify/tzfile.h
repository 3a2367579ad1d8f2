/*
 * UTC offsets of IANA time zones, read from the compiled tz database
 * (/usr/share/zoneinfo, TZif files of RFC 8536) without touching TZ or the C
 * library's global time-zone state: safe from any thread, unlike setenv("TZ") +
 * tzset() + localtime_r.
 */
#ifndef OTASUKE_CENTER_TZFILE_H
#define OTASUKE_CENTER_TZFILE_H

#include <stddef.h>
#include <stdint.h>

/* The offset from UTC (seconds east) of `zone` (e.g. "Asia/Tokyo") at UTC time t
 * (seconds), and its abbreviation ("JST") into abbr (n bytes). Times after the file's
 * last transition take the last transition's type (Debian's files are "fat": they
 * list transitions up to 2037). Returns 0, ERR_INVAL for a name that is not a zone
 * name, ERR_NOTFOUND when the file is missing or not a TZif file. */
int tz_offset(const char *zone, int64_t t, int32_t *offset, char *abbr, size_t n);

/* The same lookup in a TZif file's contents buf[0..len) (tz_offset reads the file and
 * calls it); ERR_NOTFOUND when buf is not a well-formed TZif file. */
int tz_lookup(const unsigned char *buf, size_t len, int64_t t, int32_t *offset, char *abbr,
              size_t n);

/* Formats UTC microseconds as local time of `zone`: "2026-11-23 18:00:00 JST
 * (UTC+09:00)"; an unknown zone gives UTC ("... UTC"). */
void tz_format(const char *zone, int64_t us, char *out, size_t n);

#endif
