/*
 * JSON walker (see jscan.h). A recursive-descent reader with an explicit depth
 * limit; the cursor never passes `end`.
 */
#include "detect/jscan.h"

#include "otasuke/ascii.h"

#include <stdint.h>
#include <string.h>

struct js {
    const char *p, *end;
    char path[JSCAN_MAX_PATH];
    size_t plen;
    char str[JSCAN_MAX_STR + 4];
    bool (*cb)(const struct jscan_val *v, void *ud);
    bool (*want)(const char *path, size_t plen, void *ud); /* NULL: every value */
    void *ud;
    bool stop;
};

/* The first byte at p that ends a run of plain string bytes (a quote, a backslash or a
 * control byte), or end. Eight bytes at a time: a byte of w equal to c is a zero byte
 * of w ^ c*ONES, and (x - ONES) & ~x & HIGHS marks the zero bytes of x (a borrow can
 * only mark a byte above a real one); bytes below 0x20 likewise with w - 0x20*ONES. On
 * a little-endian machine the lowest mark is the first such byte (the bytes below it
 * are plain), elsewhere the byte loop finds it. */
static const char *plain_end(const char *p, const char *end)
{
    const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    while (end - p >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        uint64_t q = w ^ (ones * '"'), b = w ^ (ones * '\\');
        uint64_t hit = (((q - ones) & ~q) | ((b - ones) & ~b) | ((w - ones * 0x20) & ~w)) & highs;
        if (hit != 0) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
            return p + (__builtin_ctzll(hit) >> 3);
#else
            break;
#endif
        }
        p += 8;
    }
    while (p < end && *p != '"' && *p != '\\' && (unsigned char)*p >= 0x20)
        p++;
    return p;
}

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
    j->p = plain_end(j->p, j->end);
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
    struct jscan_val v = {j->path, t, s, n, cut, j->plen};
    if (!j->cb(&v, j->ud))
        j->stop = true;
    return 0;
}

static int skip_word(struct js *j, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(j->end - j->p) < n || memcmp(j->p, word, n) != 0)
        return -1;
    j->p += n;
    return 0;
}

/* ---- skipping a value nobody wants: the same checks, no copy, no callback ---- */

/* Skips a string at j->p ('"'); *len: its length once unescaped (as read_str counts
 * it, without a cap), *nul: it holds \u0000. 0, or -1 as read_str. */
static int skip_str(struct js *j, size_t *len, bool *nul)
{
    size_t n = 0;
    *nul = false;
    if (j->p >= j->end || *j->p != '"')
        return -1;
    j->p++;
    while (j->p < j->end) {
        const char *s = j->p;
        j->p = plain_end(j->p, j->end);
        n += (size_t)(j->p - s);
        if (j->p >= j->end)
            break;
        char c = *j->p++;
        if (c == '"') {
            *len = n;
            return 0;
        }
        if (c != '\\')
            return -1;
        long cp = read_escape(j);
        if (cp < 0)
            return -1;
        if (cp == 0)
            *nul = true;
        else
            n += cp < 0x80 ? 1 : cp < 0x800 ? 2 : 3;
    }
    return -1;
}

static bool num_byte(char c)
{
    return (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.' || c == 'e' || c == 'E';
}

/* The length of the number at j->p (the bytes it may hold), the cursor after it. */
static size_t num_span(struct js *j)
{
    const char *s = j->p;
    while (j->p < j->end && num_byte(*j->p))
        j->p++;
    return (size_t)(j->p - s);
}

static int skip_value(struct js *j, int depth, size_t plen);

/* The separator after a member or element: 1 for ',', 0 for the closing byte, -1. */
static int next_or_close(struct js *j, char close)
{
    skip_ws(j);
    if (j->p >= j->end)
        return -1;
    char c = *j->p++;
    return c == ',' ? 1 : c == close ? 0 : -1;
}

static int skip_object(struct js *j, int depth, size_t plen)
{
    size_t n;
    bool nul;
    j->p++;
    skip_ws(j);
    if (j->p < j->end && *j->p == '}') {
        j->p++;
        return 0;
    }
    int more = 1;
    while (more == 1) {
        skip_ws(j);
        /* as object(): the key must fit the path after plen and a dot */
        if (skip_str(j, &n, &nul) != 0 || nul || plen + 1 + n >= JSCAN_MAX_PATH)
            return -1;
        skip_ws(j);
        if (j->p >= j->end || *j->p != ':')
            return -1;
        j->p++;
        if (skip_value(j, depth + 1, plen + (plen > 0) + n) != 0)
            return -1;
        more = next_or_close(j, '}');
    }
    return more;
}

static int skip_array(struct js *j, int depth, size_t plen)
{
    j->p++;
    skip_ws(j);
    if (j->p < j->end && *j->p == ']') {
        j->p++;
        return 0;
    }
    int more = 1;
    while (more == 1) {
        if (skip_value(j, depth + 1, plen) != 0)
            return -1;
        more = next_or_close(j, ']');
    }
    return more;
}

/* Skips the value at j->p; plen: the length its path would have. Fails where value()
 * would (syntax, depth, a key too long for the path), so a filter changes no result. */
static int skip_value(struct js *j, int depth, size_t plen)
{
    if (depth > JSCAN_MAX_DEPTH)
        return -1;
    skip_ws(j);
    if (j->p >= j->end)
        return -1;
    size_t n;
    bool nul;
    switch (*j->p) {
    case '{': return skip_object(j, depth, plen);
    case '[': return skip_array(j, depth, plen);
    case '"': return skip_str(j, &n, &nul);
    case 't': return skip_word(j, "true");
    case 'f': return skip_word(j, "false");
    case 'n': return skip_word(j, "null");
    default:
        n = num_span(j);
        return n == 0 || n >= 64 ? -1 : 0;
    }
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
    /* the key is read into the path, after a dot: it must leave room for it and the
     * NUL (JSCAN_MAX_PATH - 2 - saved bytes; the top level as if it had the dot) */
    if (saved + 2 > JSCAN_MAX_PATH)
        return -1; /* not even an empty key fits */
    size_t at = saved + (saved > 0), room = JSCAN_MAX_PATH - 2 - saved;
    for (;;) {
        skip_ws(j);
        bool cut;
        long kl = read_str(j, j->path + at, room, &cut);
        if (kl < 0 || cut)
            return -1;
        if (saved > 0)
            j->path[saved] = '.';
        j->plen = at + (size_t)kl;
        skip_ws(j);
        if (j->p >= j->end || *j->p != ':')
            return -1;
        j->p++;
        bool skip = j->want != NULL && !j->want(j->path, j->plen, j->ud);
        if ((skip ? skip_value(j, depth + 1, j->plen) : value(j, depth + 1)) != 0)
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
    if (skip_word(j, word) != 0)
        return -1;
    return emit(j, t, word, strlen(word), false);
}

static int number(struct js *j)
{
    const char *s = j->p;
    size_t n = num_span(j);
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

/* A walk of buf[0..len) whose values' paths start with path (plen < JSCAN_MAX_PATH). */
static void js_init(struct js *j, const char *buf, size_t len, const char *path, size_t plen,
                    bool (*want)(const char *path, size_t plen, void *ud),
                    bool (*cb)(const struct jscan_val *v, void *ud), void *ud)
{
    j->p = buf;
    j->end = buf + len;
    memcpy(j->path, path, plen);
    j->path[plen] = '\0';
    j->plen = plen;
    j->cb = cb;
    j->want = want;
    j->ud = ud;
    j->stop = false;
}

int jscan_want(const char *buf, size_t len,
               bool (*want)(const char *path, size_t plen, void *ud),
               bool (*cb)(const struct jscan_val *v, void *ud), void *ud)
{
    struct js j;
    if (buf == NULL)
        return -1;
    js_init(&j, buf, len, "", 0, want, cb, ud);
    return value(&j, 0);
}

int jscan(const char *buf, size_t len, bool (*cb)(const struct jscan_val *v, void *ud), void *ud)
{
    return jscan_want(buf, len, NULL, cb, ud);
}

int jscan_value(const char *buf, size_t len, const char *path, size_t plen,
                bool (*cb)(const struct jscan_val *v, void *ud), void *ud)
{
    struct js j;
    if (buf == NULL || plen >= JSCAN_MAX_PATH)
        return -1;
    js_init(&j, buf, len, path, plen, NULL, cb, ud);
    if (value(&j, 1) < 0)
        return -1;
    return j.stop ? 1 : 0;
}
