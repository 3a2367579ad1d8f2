/*
 * Bounded JSON writer. Invariants: buf[0..len) is always a prefix of a valid
 * document; len < cap <= max whenever bad is false (one byte is kept for a NUL);
 * once bad is set nothing more is written.
 */
#include "otasuke/jw.h"
#include "otasuke/alloc.h"
#include "otasuke/ascii.h"
#include "otasuke/err.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

int jw_init(struct jw *w, size_t cap, size_t max)
{
    memset(w, 0, sizeof(*w));
    if (cap < 16)
        cap = 16;
    if (max < cap)
        max = cap;
    w->buf = xalloc(MEM_OUTPUT, cap);
    if (w->buf == NULL)
        return ERR_NOMEM;
    w->cap = cap;
    w->max = max;
    jw_reset(w);
    return 0;
}

void jw_free(struct jw *w)
{
    xfree(w->buf);
    w->buf = NULL;
    w->cap = w->len = 0;
}

void jw_reset(struct jw *w)
{
    w->len = w->val_at = 0;
    w->plain_at = SIZE_MAX;
    w->bad = w->buf == NULL;
    w->depth = 0;
    w->first[0] = true;
    if (w->buf)
        w->buf[0] = '\0';
}

bool jw_ok(const struct jw *w)
{
    return !w->bad && w->depth == 0;
}

static bool grow(struct jw *w, size_t need)
{
    if (w->bad)
        return false;
    if (need <= w->cap - w->len - 1)
        return true;
    if (need > w->max - w->len - 1) {
        w->bad = true;
        return false;
    }
    size_t ncap = w->cap;
    while (ncap - w->len - 1 < need)
        ncap = ncap > w->max / 2 ? w->max : ncap * 2;
    char *nb = xrealloc(MEM_OUTPUT, w->buf, ncap);
    if (nb == NULL) {
        w->bad = true;
        return false;
    }
    w->buf = nb;
    w->cap = ncap;
    return true;
}

/* Appends n bytes; the common case (room left) is a memcpy without a call to grow(). */
static inline void put(struct jw *w, const char *s, size_t n)
{
    if (w->bad || n >= w->cap - w->len) {
        if (!grow(w, n))
            return;
    }
    memcpy(w->buf + w->len, s, n);
    w->len += n;
    w->buf[w->len] = '\0';
}

static inline void putc1(struct jw *w, char c)
{
    put(w, &c, 1);
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    uint32_t cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
        (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return len;
}

/* 1 for the bytes a JSON string carries as they are: 0x20..0x7f but '"' and '\\'. */
static const uint8_t g_plain[256] = {
    ['\x20'] = 1, ['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1, ['('] = 1,
    [')'] = 1, ['*'] = 1, ['+'] = 1, [','] = 1, ['-'] = 1, ['.'] = 1, ['/'] = 1, ['0'] = 1,
    ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1, ['8'] = 1,
    ['9'] = 1, [':'] = 1, [';'] = 1, ['<'] = 1, ['='] = 1, ['>'] = 1, ['?'] = 1, ['@'] = 1,
    ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1, ['H'] = 1,
    ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1,
    ['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1,
    ['Y'] = 1, ['Z'] = 1, ['['] = 1, [']'] = 1, ['^'] = 1, ['_'] = 1, ['`'] = 1, ['a'] = 1,
    ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1, ['h'] = 1, ['i'] = 1,
    ['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1,
    ['r'] = 1, ['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1,
    ['z'] = 1, ['{'] = 1, ['|'] = 1, ['}'] = 1, ['~'] = 1, ['\x7f'] = 1,
};

/* Length of the run of plain bytes at the start of u[0..n). */
static inline size_t plain_run(const unsigned char *u, size_t n)
{
    size_t i = 0;
    while (i < n && g_plain[u[i]])
        i++;
    return i;
}

static void put_string(struct jw *w, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    w->plain_at = SIZE_MAX;
    if (!w->bad && n + 2 < w->cap - w->len) {
        /* Fast path (most strings): room for the whole string quoted, so its plain
         * prefix goes straight into the buffer; all of it when all is plain. */
        char *o = w->buf + w->len;
        i = plain_run(u, n);
        o[0] = '"';
        memcpy(o + 1, s, i);
        if (i == n) {
            o[n + 1] = '"';
            w->plain_at = w->len;
            w->len += n + 2;
            w->buf[w->len] = '\0';
            return;
        }
        w->len += i + 1;
        w->buf[w->len] = '\0';
    } else {
        putc1(w, '"');
    }
    while (i < n && !w->bad) {
        size_t run = i + plain_run(u + i, n - i);
        if (run > i) {
            put(w, s + i, run - i);
            i = run;
            continue;
        }
        unsigned char c = u[i];
        size_t ul = c >= 0x80 ? utf8_len(u + i, n - i) : 1;
        if (c >= 0x80 && ul > 0) {
            put(w, s + i, ul);
            i += ul;
            continue;
        }
        char esc[7] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], 0};
        switch (c) {
        case '"': put(w, "\\\"", 2); break;
        case '\\': put(w, "\\\\", 2); break;
        case '\n': put(w, "\\n", 2); break;
        case '\r': put(w, "\\r", 2); break;
        case '\t': put(w, "\\t", 2); break;
        default: put(w, esc, 6); break;
        }
        i++;
    }
    putc1(w, '"');
}

static void key(struct jw *w, const char *k)
{
    if (w->bad)
        return;
    bool comma = !w->first[w->depth];
    w->first[w->depth] = false;
    if (k == NULL) {
        if (comma)
            putc1(w, ',');
        w->val_at = w->len;
        return;
    }
    /* Keys are literals, nearly always plain: `,"key":` copied in the same pass that
     * finds the key's end and checks its bytes, when the buffer has room for it. */
    size_t room = w->cap - w->len, lim = room > 5 ? room - 5 : 0, n = 0;
    char *o = w->buf + w->len;
    char *q = o + (comma ? 2 : 1);
    const unsigned char *u = (const unsigned char *)k;
    while (n < lim && g_plain[u[n]]) {
        q[n] = (char)u[n];
        n++;
    }
    if (u[n] == '\0' && lim > 0) { /* n <= lim: the last byte written is o[room - 1] at most */
        if (comma)
            o[0] = ',';
        q[-1] = '"';
        q[n] = '"';
        q[n + 1] = ':';
        q[n + 2] = '\0';
        w->len = w->val_at = (size_t)(q + n + 2 - w->buf);
        return;
    }
    n += strlen(k + n);
    if (comma)
        putc1(w, ',');
    put_string(w, k, n);
    putc1(w, ':');
    w->val_at = w->len;
}

static void open_(struct jw *w, const char *k, char c)
{
    key(w, k);
    if (w->depth >= JW_MAX_DEPTH) {
        w->bad = true;
        return;
    }
    putc1(w, c);
    w->first[++w->depth] = true;
}

static void close_(struct jw *w, char c)
{
    if (w->depth <= 0) {
        w->bad = true;
        return;
    }
    putc1(w, c);
    w->depth--;
}

void jw_obj_open(struct jw *w, const char *k) { open_(w, k, '{'); }
void jw_obj_close(struct jw *w) { close_(w, '}'); }
void jw_arr_open(struct jw *w, const char *k) { open_(w, k, '['); }
void jw_arr_close(struct jw *w) { close_(w, ']'); }

void jw_strn(struct jw *w, const char *k, const char *s, size_t n)
{
    key(w, k);
    put_string(w, s, n);
}

void jw_hex(struct jw *w, const char *k, const uint8_t *b, size_t n, char sep)
{
    char buf[3 * 32 + 1];
    key(w, k);
    putc1(w, '"');
    for (size_t i = 0; i < n && !w->bad; i += 32) { /* 32 bytes at a time */
        size_t c = n - i < 32 ? n - i : 32;
        if (i > 0 && sep != '\0')
            putc1(w, sep);
        put(w, buf, ascii_hex(buf, b + i, c, sep));
    }
    putc1(w, '"');
}

void jw_str(struct jw *w, const char *k, const char *s)
{
    if (s == NULL) {
        jw_null(w, k);
        return;
    }
    jw_strn(w, k, s, strlen(s));
}

void jw_u64(struct jw *w, const char *k, uint64_t v)
{
    char b[24];
    char *d = ascii_u64(b, v);
    key(w, k);
    put(w, d, (size_t)(b + 24 - d));
}

void jw_i64(struct jw *w, const char *k, int64_t v)
{
    char b[24];
    char *d = ascii_u64(b, v < 0 ? 0 - (uint64_t)v : (uint64_t)v);
    if (v < 0)
        *--d = '-';
    key(w, k);
    put(w, d, (size_t)(b + 24 - d));
}

void jw_dbl(struct jw *w, const char *k, double v)
{
    char b[32];
    int n = isfinite(v) ? snprintf(b, sizeof(b), "%.6g", v) : snprintf(b, sizeof(b), "null");
    key(w, k);
    put(w, b, (size_t)n);
}

void jw_bool(struct jw *w, const char *k, bool v)
{
    key(w, k);
    put(w, v ? "true" : "false", v ? 4 : 5);
}

void jw_null(struct jw *w, const char *k)
{
    key(w, k);
    put(w, "null", 4);
}

void jw_raw(struct jw *w, const char *k, const char *json, size_t n)
{
    key(w, k);
    put(w, json, n);
}
