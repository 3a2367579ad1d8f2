/*
 * The ingest body parser (ingest.h). Lines are found with memchr and validated one at
 * a time by the single-pass scanner of linescan.h (what jansson's json_loadb with
 * JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL accepts, without building a tree), which
 * hands back the raw text of the few members the store needs: only the small
 * per-event fields are copied; the body stays in the caller's buffer.
 */
#include "ingest/ingest.h"
#include "ingest/linescan.h"

#include "otasuke/alloc.h"
#include "otasuke/err.h"

#include <string.h>
#include <zlib.h>

static const char *const g_categories[] = {
    "malware",       "intrusion",    "malicious_site",     "spam",         "ransomware",
    "c2",            "prohibited_app", "url_category",     "recon",        "anomaly",
    "new_device",    "os_command",   "child_process",      "file_create",  "suspicious_command",
    "av_detection",  "adware",       "unregistered_app",   "web_attack",
};

static void reject(struct ingest_result *r, uint64_t line, const char *why)
{
    r->rejected++;
    if (r->n_rejects < INGEST_REJECTS_LISTED) {
        r->rejects[r->n_rejects].line = line;
        r->rejects[r->n_rejects].why = why;
        r->n_rejects++;
    }
}

static int type_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > INGEST_TYPE_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
            return 0;
    }
    return 1;
}

/* Decodes an extracted string into out[0..cap) and NUL-terminates it; 0 when it does
 * not fit. A "\u0000" inside ends the C string there (as jansson's string value read
 * with strcmp/strlen did), so a longer string cut by one within cap fits. */
static int field_text(const struct linescan_field *f, char *out, size_t cap)
{
    size_t n = f->raw_len;
    if (!f->escaped) { /* no escape: no NUL either */
        if (n >= cap)
            return 0;
        memcpy(out, f->raw, n);
    } else {
        n = linescan_unescape(f->raw, f->raw_len, out, cap - 1);
        if (n >= cap) {
            if (memchr(out, '\0', cap - 1) == NULL)
                return 0;
            n = cap - 1;
        }
    }
    out[n] = '\0';
    return 1;
}

static const char *category_of(const struct linescan_field *f)
{
    char c[INGEST_TYPE_MAX + 2];
    if (f->kind != LS_STRING || !field_text(f, c, sizeof(c)))
        return "other";
    for (size_t i = 0; i < sizeof(g_categories) / sizeof(g_categories[0]); i++)
        if (strcmp(c, g_categories[i]) == 0)
            return g_categories[i];
    return "other";
}

static int grow(struct ingest_result *r)
{
    if (r->n_ev < r->cap_ev)
        return 0;
    size_t cap = r->cap_ev ? r->cap_ev * 2 : 64;
    struct ingest_event *ev = xrealloc(MEM_CORE, r->ev, cap * sizeof(*ev));
    if (ev == NULL)
        return ERR_NOMEM;
    r->ev = ev;
    r->cap_ev = cap;
    return 0;
}

/* Checks the fields of one valid line; returns NULL and fills *e when it is a
 * storable event. */
static const char *check_event(const struct linescan_fields *f, struct ingest_event *e)
{
    if (!f->top_object)
        return "not a JSON object";
    char type[INGEST_TYPE_MAX + 2];
    if (f->event_type.kind != LS_STRING)
        return "event_type missing or not a string";
    if (!field_text(&f->event_type, type, sizeof(type)) || !type_ok(type))
        return "event_type not [a-z0-9_]{1,64}";
    if (f->timestamp.kind != LS_STRING)
        return "timestamp missing or not a string";
    /* the longest RFC 3339 time accepted is 35 bytes: a longer string cannot parse */
    char ts[64];
    size_t tn = f->timestamp.escaped
                    ? linescan_unescape(f->timestamp.raw, f->timestamp.raw_len, ts, sizeof(ts))
                    : f->timestamp.raw_len;
    if (tn >= sizeof(ts))
        return "timestamp not RFC 3339";
    if (!f->timestamp.escaped)
        memcpy(ts, f->timestamp.raw, tn);
    if (ingest_parse_time(ts, tn, &e->se.ts_us) != 0)
        return "timestamp not RFC 3339";
    memcpy(e->type, type, strlen(type) + 1);
    e->category[0] = '\0';
    if (strcmp(type, "alert") == 0) {
        const char *c = category_of(&f->category);
        memcpy(e->category, c, strlen(c) + 1);
    }
    return NULL;
}

/* Handles line number `no` (text p[0..n), without its newline). */
static int one_line(struct ingest_result *r, struct linescan *ls,
                    const struct ingest_limits *lim, uint64_t no, const char *p, size_t n)
{
    if (n > lim->max_line) {
        reject(r, no, "line too long");
        return 0;
    }
    if (r->n_ev >= lim->max_events) {
        reject(r, no, "too many events in one batch");
        return 0;
    }
    /* A NUL in a string ("\u0000") is valid JSON: sensors write DNS and DHCP names
     * that carry one. The line is stored as received. */
    struct linescan_fields f;
    int rc = linescan_line(ls, p, n, &f);
    if (rc < 0)
        return ERR_NOMEM;
    if (rc != LINESCAN_OK) {
        reject(r, no, rc == LINESCAN_BAD_UTF8 ? "invalid UTF-8" : "invalid JSON");
        return 0;
    }
    if (grow(r) != 0)
        return ERR_NOMEM;
    struct ingest_event *e = &r->ev[r->n_ev];
    const char *why = check_event(&f, e);
    if (why != NULL) {
        reject(r, no, why);
        return 0;
    }
    e->se.body = p;
    e->se.body_len = n;
    e->se.line = no;
    r->n_ev++;
    return 0;
}

static int blank(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
            return 0;
    return 1;
}

/* Points the store view at the copied fields, once the array no longer moves. */
static int finish(struct ingest_result *r)
{
    if (r->n_ev == 0)
        return 0;
    r->se = xalloc(MEM_CORE, r->n_ev * sizeof(*r->se));
    if (r->se == NULL)
        return ERR_NOMEM;
    for (size_t i = 0; i < r->n_ev; i++) {
        struct ingest_event *e = &r->ev[i];
        e->se.event_type = e->type;
        e->se.category = e->category[0] ? e->category : NULL;
        r->se[i] = e->se;
    }
    return 0;
}

int ingest_parse(const char *body, size_t len, const struct ingest_limits *lim,
                 struct ingest_result *res)
{
    memset(res, 0, sizeof(*res));
    size_t off = 0;
    uint64_t no = 0;
    struct linescan ls;
    memset(&ls, 0, sizeof(ls));
    int rc = 0;
    while (off < len) {
        const char *p = body + off;
        const char *nl = memchr(p, '\n', len - off);
        size_t n = nl ? (size_t)(nl - p) : len - off;
        off += n + (nl ? 1 : 0);
        no++;
        if (n > 0 && p[n - 1] == '\r')
            n--;
        if (blank(p, n))
            continue;
        res->lines++;
        rc = one_line(res, &ls, lim, no, p, n);
        if (rc != 0)
            break;
    }
    linescan_free(&ls);
    return rc != 0 ? rc : finish(res);
}

void ingest_result_free(struct ingest_result *res)
{
    xfree(res->ev);
    xfree(res->se);
    res->ev = NULL;
    res->se = NULL;
    res->n_ev = res->cap_ev = 0;
}

/* Reads exactly n decimal digits. */
static int digits(const char *s, size_t n, int *v)
{
    int x = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        x = x * 10 + (s[i] - '0');
    }
    *v = x;
    return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int days_in_month(int y, int m)
{
    static const int dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 ? 28 + leap : dm[m - 1];
}

/* Parses the zone part ("Z", "+HH:MM", "+HHMM") into seconds east of UTC. */
static int parse_zone(const char *s, size_t n, int *off_s)
{
    if (n == 1 && (s[0] == 'Z' || s[0] == 'z')) {
        *off_s = 0;
        return 0;
    }
    int hh, mm;
    if ((n != 6 && n != 5) || (s[0] != '+' && s[0] != '-') || digits(s + 1, 2, &hh) != 0)
        return ERR_INVAL;
    if (n == 6 ? (s[3] != ':' || digits(s + 4, 2, &mm) != 0) : digits(s + 3, 2, &mm) != 0)
        return ERR_INVAL;
    if (hh > 23 || mm > 59)
        return ERR_INVAL;
    *off_s = (s[0] == '-' ? -1 : 1) * (hh * 3600 + mm * 60);
    return 0;
}

int ingest_parse_time(const char *s, size_t n, int64_t *us)
{
    int y, mo, d, h, mi, se;
    if (n < 20 || digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) || s[7] != '-' ||
        digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
        digits(s + 11, 2, &h) || s[13] != ':' || digits(s + 14, 2, &mi) || s[16] != ':' ||
        digits(s + 17, 2, &se))
        return ERR_INVAL;
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 ||
        mi > 59 || se > 60)
        return ERR_INVAL;
    size_t i = 19;
    int64_t frac = 0;
    if (s[i] == '.') {
        int nd = 0;
        for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++, nd++)
            if (nd < 6)
                frac = frac * 10 + (s[i] - '0');
        if (nd == 0 || nd > 9)
            return ERR_INVAL;
        for (; nd < 6; nd++)
            frac *= 10;
    }
    int off_s;
    if (i >= n || parse_zone(s + i, n - i, &off_s) != 0)
        return ERR_INVAL;
    int64_t secs = days_from_civil(y, mo, d) * 86400 + (int64_t)h * 3600 + (int64_t)mi * 60 + se - off_s;
    *us = secs * 1000000 + frac;
    return 0;
}

int ingest_inflate(const uint8_t *in, size_t n, size_t max_out, char **out, size_t *out_len)
{
    z_stream z;
    memset(&z, 0, sizeof(z));
    if (inflateInit2(&z, 15 + 32) != Z_OK) /* 32: gzip or zlib header, detected */
        return ERR_NOMEM;
    size_t cap = n * 4 + 1024 < max_out ? n * 4 + 1024 : max_out;
    char *buf = xalloc(MEM_CORE, cap + 1);
    int ret = buf ? 0 : ERR_NOMEM;
    size_t used = 0;
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)n;
    while (ret == 0) {
        if (used == cap) {
            if (cap >= max_out) {
                ret = ERR_LIMIT;
                break;
            }
            size_t ncap = cap * 2 < max_out ? cap * 2 : max_out;
            char *nb = xrealloc(MEM_CORE, buf, ncap + 1);
            if (nb == NULL) {
                ret = ERR_NOMEM;
                break;
            }
            buf = nb;
            cap = ncap;
        }
        z.next_out = (Bytef *)buf + used;
        z.avail_out = (uInt)(cap - used);
        int zr = inflate(&z, Z_NO_FLUSH);
        used = cap - z.avail_out;
        if (zr == Z_STREAM_END)
            break;
        if (zr != Z_OK && !(zr == Z_BUF_ERROR && z.avail_out == 0))
            ret = ERR_INVAL;
    }
    inflateEnd(&z);
    if (ret == 0 && z.avail_in != 0)
        ret = ERR_INVAL; /* trailing garbage after the stream */
    if (ret != 0) {
        xfree(buf);
        return ret;
    }
    buf[used] = '\0';
    *out = buf;
    *out_len = used;
    return 0;
}
