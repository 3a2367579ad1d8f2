/*
 * JSON walker (see jscan.h). A recursive-descent reader with an explicit depth
 * limit; the cursor never passes `end`.
 */
#include "detect/jscan.h"

#include "otasuke/ascii.h"

#include <string.h>

struct js {
    const char *p, *end;
    char path[JSCAN_MAX_PATH];
    size_t plen;
    char str[JSCAN_MAX_STR + 4];
    bool (*cb)(const struct jscan_val *v, void *ud);
    void *ud;
    bool stop;
};

static void skip_ws(struct js *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
        j->p++;
}

/* Appends code point cp as UTF-8 when it fits. */
static void put_cp(char *out, size_t *n, size_t cap, unsigned cp, bool *cut)
{
    char b[4];
    size_t k;
    if (cp == 0) { /* a NUL would cut the C string: mark the value as not usable */
        *cut = true;
        return;
    }
    if (cp < 0x80) {
        b[0] = (char)cp;
        k = 1;
    } else if (cp < 0x800) {
        b[0] = (char)(0xc0 | (cp >> 6));
        b[1] = (char)(0x80 | (cp & 0x3f));
        k = 2;
    } else {
        b[0] = (char)(0xe0 | (cp >> 12));
        b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        b[2] = (char)(0x80 | (cp & 0x3f));
        k = 3;
    }
    if (*n + k > cap) {
        *cut = true;
        return;
    }
    memcpy(out + *n, b, k);
    *n += k;
}

/* Reads the escape after a backslash at j->p: its code point, or -1. */
static long read_escape(struct js *j)
{
    if (j->p >= j->end)
        return -1;
    char e = *j->p++;
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    const char *k = e != '\0' ? strchr(from, e) : NULL;
    if (k != NULL)
        return (unsigned char)to[k - from];
    if (e != 'u' || j->end - j->p < 4)
        return -1;
    long cp = 0;
    for (int i = 0; i < 4; i++) {
        int h = ascii_hexval(j->p[i]);
        if (h < 0)
            return -1;
        cp = cp << 4 | h;
    }
    j->p += 4;
    return cp;
}

/* Copies the run of plain bytes at j->p (no quote, backslash or control byte) into
 * out at *n, as much as cap allows (most strings have no escape). */
static void copy_run(struct js *j, char *out, size_t *n, size_t cap, bool *cut)
{
    const char *s = j->p;
    while (j->p < j->end && *j->p != '"' && *j->p != '\\' && (unsigned char)*j->p >= 0x20)
        j->p++;
    size_t run = (size_t)(j->p - s);
    size_t k = run <= cap - *n ? run : cap - *n;
    memcpy(out + *n, s, k);
    *n += k;
    if (k < run)
        *cut = true;
}

/* Reads a string at j->p ('"') into out (cap bytes, NUL added). Returns its length
 * or -1. */
static long read_str(struct js *j, char *out, size_t cap, bool *cut)
{
    size_t n = 0;
    *cut = false;
    if (j->p >= j->end || *j->p != '"')
        return -1;
    j->p++;
    while (j->p < j->end) {
        copy_run(j, out, &n, cap, cut);
        if (j->p >= j->end)
            break;
        char c = *j->p++; /* after a run: a quote, a backslash or a control byte */
        if (c == '"') {
            out[n] = '\0';
            return (long)n;
        }
        if (c != '\\')
            return -1;
        long cp = read_escape(j);
        if (cp < 0)
            return -1;
        put_cp(out, &n, cap, (unsigned)cp, cut);
    }
    return -1;
}

static int value(struct js *j, int depth);

static int emit(struct js *j, enum jscan_type t, const char *s, size_t n, bool cut)
{
    if (j->stop)
        return 0;
    struct jscan_val v = {j->path, t, s, n, cut};
    if (!j->cb(&v, j->ud))
        j->stop = true;
    return 0;
}

static int object(struct js *j, int depth)
{
    j->p++; /* '{' */
    size_t saved = j->plen;
    skip_ws(j);
    if (j->p < j->end && *j->p == '}') {
        j->p++;
        return 0;
    }
    for (;;) {
        skip_ws(j);
        char key[JSCAN_MAX_PATH];
        bool cut;
        long kl = read_str(j, key, sizeof(key) - 1, &cut);
        if (kl < 0 || cut || saved + 1 + (size_t)kl >= sizeof(j->path))
            return -1;
        if (saved > 0)
            j->path[saved] = '.';
        memcpy(j->path + saved + (saved > 0), key, (size_t)kl);
        j->plen = saved + (saved > 0) + (size_t)kl;
        j->path[j->plen] = '\0';
        skip_ws(j);
        if (j->p >= j->end || *j->p != ':')
            return -1;
        j->p++;
        if (value(j, depth + 1) != 0)
            return -1;
        if (j->stop) /* the reader has what it wants: the rest is not read */
            return 0;
        j->plen = saved;
        j->path[saved] = '\0';
        skip_ws(j);
        if (j->p >= j->end)
            return -1;
        if (*j->p == ',') {
            j->p++;
            continue;
        }
        if (*j->p == '}') {
            j->p++;
            return 0;
        }
        return -1;
    }
}

static int array(struct js *j, int depth)
{
    j->p++; /* '[' */
    skip_ws(j);
    if (j->p < j->end && *j->p == ']') {
        j->p++;
        return 0;
    }
    for (;;) {
        if (value(j, depth + 1) != 0)
            return -1;
        if (j->stop)
            return 0;
        skip_ws(j);
        if (j->p >= j->end)
            return -1;
        if (*j->p == ',') {
            j->p++;
            continue;
        }
        if (*j->p == ']') {
            j->p++;
            return 0;
        }
        return -1;
    }
}

static int literal(struct js *j, const char *word, enum jscan_type t)
{
    size_t n = strlen(word);
    if ((size_t)(j->end - j->p) < n || memcmp(j->p, word, n) != 0)
        return -1;
    j->p += n;
    return emit(j, t, word, n, false);
}

static int number(struct js *j)
{
    const char *s = j->p;
    while (j->p < j->end && (strchr("0123456789+-.eE", *j->p) != NULL) && *j->p != '\0')
        j->p++;
    size_t n = (size_t)(j->p - s);
    if (n == 0 || n >= 64)
        return -1;
    char buf[64];
    memcpy(buf, s, n);
    buf[n] = '\0';
    return emit(j, JSCAN_NUM, buf, n, false);
}

static int value(struct js *j, int depth)
{
    if (depth > JSCAN_MAX_DEPTH)
        return -1;
    skip_ws(j);
    if (j->p >= j->end)
        return -1;
    switch (*j->p) {
    case '{': return object(j, depth);
    case '[': return array(j, depth);
    case '"': {
        bool cut;
        long n = read_str(j, j->str, JSCAN_MAX_STR, &cut);
        if (n < 0)
            return -1;
        return emit(j, JSCAN_STR, j->str, (size_t)n, cut);
    }
    case 't': return literal(j, "true", JSCAN_BOOL);
    case 'f': return literal(j, "false", JSCAN_BOOL);
    case 'n': return literal(j, "null", JSCAN_NULL);
    default: return number(j);
    }
}

bool jscan_event_type(const char *json, size_t len, const char **type, size_t *tlen)
{
    static const char key[] = "\"event_type\":\"";
    const size_t kl = sizeof(key) - 1;
    size_t lim = len < 160 ? len : 160;
    const char *p = json, *end = json + lim;
    while (p != NULL && (size_t)(end - p) >= kl) {
        if (memcmp(p, key, kl) == 0) {
            const char *t = p + kl;
            const char *q = memchr(t, '"', len - (size_t)(t - json));
            if (q == NULL)
                return false;
            *type = t;
            *tlen = (size_t)(q - t);
            return true;
        }
        p = memchr(p + 1, '"', (size_t)(end - p - 1));
    }
    return false;
}

int jscan(const char *buf, size_t len, bool (*cb)(const struct jscan_val *v, void *ud), void *ud)
{
    struct js j;
    if (buf == NULL)
        return -1;
    j.p = buf;
    j.end = buf + len;
    j.plen = 0;
    j.path[0] = '\0';
    j.cb = cb;
    j.ud = ud;
    j.stop = false;
    return value(&j, 0);
}
