/*
 * TZif reader (tzfile.h). The file is read whole (at most 64 KiB) at each call:
 * notifications are rare, and no cache means no shared state. Version 2+ files are
 * read from their 64-bit block; version 1 files from the 32-bit one.
 */
#include "notify/tzfile.h"

#include "otasuke/err.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#define TZ_FILE_MAX 65536
#define TZ_DIR "/usr/share/zoneinfo/"

/* Letters, digits, '/', '_', '-', '+'; no leading '/', no "..". */
static int zone_name_ok(const char *z)
{
    size_t n = strlen(z);
    if (n == 0 || n > 64 || z[0] == '/' || strstr(z, "..") != NULL)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = z[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '/' || c == '_' || c == '-' || c == '+'))
            return 0;
    }
    return 1;
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

struct tzhdr {
    uint32_t isut, isstd, leap, time, type, chr;
};

/* Reads the header at p (len bytes left); 0 or -1. */
static int header(const unsigned char *p, size_t len, struct tzhdr *h)
{
    if (len < 44 || memcmp(p, "TZif", 4) != 0)
        return -1;
    h->isut = be32(p + 20);
    h->isstd = be32(p + 24);
    h->leap = be32(p + 28);
    h->time = be32(p + 32);
    h->type = be32(p + 36);
    h->chr = be32(p + 40);
    if (h->type == 0 || h->type > 256 || h->chr > 4096 || h->time > 100000 || h->leap > 10000 ||
        h->isut > 256 || h->isstd > 256)
        return -1;
    return 0;
}

static size_t block_len(const struct tzhdr *h, size_t tsize)
{
    return (size_t)h->time * tsize + h->time + (size_t)h->type * 6 + h->chr +
           (size_t)h->leap * (tsize + 4) + h->isstd + h->isut;
}

int tz_lookup(const unsigned char *buf, size_t len, int64_t t, int32_t *offset, char *abbr,
              size_t n)
{
    static const size_t hl = 44;
    struct tzhdr h;
    if (header(buf, len, &h) != 0)
        return ERR_NOTFOUND;
    const unsigned char *p = buf + hl;
    size_t tsize = 4;
    if (buf[4] >= '2') { /* skip the 32-bit block to the 64-bit one */
        size_t skip = hl + block_len(&h, 4);
        if (skip > len || header(buf + skip, len - skip, &h) != 0)
            return ERR_NOTFOUND;
        p = buf + skip + hl;
        tsize = 8;
    }
    if ((size_t)(p - buf) + block_len(&h, tsize) > len)
        return ERR_NOTFOUND;
    const unsigned char *times = p, *idx = p + (size_t)h.time * tsize;
    const unsigned char *types = idx + h.time, *chars = types + (size_t)h.type * 6;
    unsigned type = 0; /* before the first transition: type 0 (RFC 8536 3.2) */
    for (uint32_t i = 0; i < h.time; i++) {
        int64_t at = tsize == 8 ? be64(times + (size_t)i * 8)
                                : (int64_t)(int32_t)be32(times + (size_t)i * 4);
        if (at > t)
            break;
        type = idx[i];
    }
    if (type >= h.type)
        return ERR_NOTFOUND;
    const unsigned char *tt = types + (size_t)type * 6;
    int32_t off = (int32_t)be32(tt);
    if (off < -25 * 3600 || off > 26 * 3600) /* RFC 8536: -89999 .. 93599 */
        return ERR_NOTFOUND;
    *offset = off;
    unsigned ai = tt[5];
    if (n > 0) {
        size_t k = 0;
        while (ai + k < h.chr && chars[ai + k] != '\0' && k + 1 < n) {
            abbr[k] = (char)chars[ai + k];
            k++;
        }
        abbr[k] = '\0';
    }
    return 0;
}

int tz_offset(const char *zone, int64_t t, int32_t *offset, char *abbr, size_t n)
{
    if (!zone_name_ok(zone))
        return ERR_INVAL;
    char path[128];
    snprintf(path, sizeof(path), TZ_DIR "%s", zone);
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return ERR_NOTFOUND;
    static _Thread_local unsigned char buf[TZ_FILE_MAX];
    size_t len = fread(buf, 1, sizeof(buf), f);
    fclose(f);
    return tz_lookup(buf, len, t, offset, abbr, n);
}

void tz_format(const char *zone, int64_t us, char *out, size_t n)
{
    int32_t off = 0;
    char abbr[16] = "UTC";
    time_t t = (time_t)(us / 1000000);
    int known = zone != NULL && tz_offset(zone, (int64_t)t, &off, abbr, sizeof(abbr)) == 0;
    time_t lt = t + (known ? off : 0);
    struct tm tm;
    gmtime_r(&lt, &tm);
    char day[32];
    strftime(day, sizeof(day), "%Y-%m-%d %H:%M:%S", &tm);
    if (!known) {
        snprintf(out, n, "%s UTC", day);
        return;
    }
    int32_t a = off < 0 ? -off : off;
    snprintf(out, n, "%s %s (UTC%c%02d:%02d)", day, abbr, off < 0 ? '-' : '+', (int)(a / 3600),
             (int)(a % 3600 / 60));
}
