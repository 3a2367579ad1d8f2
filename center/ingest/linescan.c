/*
 * The ingest line scanner (linescan.h). A recursive-descent reader shaped like
 * jansson's own parser (lex one whole token, then check it), so that the first error
 * met is the one jansson meets first: jansson keeps its first error, and reports
 * invalid UTF-8 whenever its reader passes a bad byte before any other error, which
 * includes the one byte it reads ahead after a number or a literal. The cursor never
 * passes `end`.
 */
#include "ingest/linescan.h"

#include "otasuke/ascii.h"
#include "otasuke/alloc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum tok {
    T_ERR = -2, /* ls->err says which */
    T_EOF = 0,
    T_STRING = 1,
    T_SCALAR,
    T_LBRACE,
    T_RBRACE,
    T_LBRACK,
    T_RBRACK,
    T_COLON,
    T_COMMA,
};

enum want { W_NONE, W_TYPE, W_TS, W_ALERT, W_CATEGORY };

struct strspan {
    const unsigned char *s; /* after the opening quote */
    size_t n;
    int escaped;
    int nul; /* holds \u0000 */
};

#define EOF_C (-1)
#define BAD_C (-2)

/* Length of the valid UTF-8 sequence at p (lead byte >= 0x80), or 0. */
static size_t utf8_seq(const unsigned char *p, const unsigned char *end)
{
    unsigned c = p[0];
    size_t n;
    unsigned cp;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if ((size_t)(end - p) < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

/* The byte at the cursor without consuming it: EOF_C at the end, BAD_C (and the
 * error set) when it starts an invalid UTF-8 sequence. */
static int peek(struct linescan *ls)
{
    if (ls->p >= ls->end)
        return EOF_C;
    int c = *ls->p;
    if (c >= 0x80 && utf8_seq(ls->p, ls->end) == 0) {
        ls->err = LINESCAN_BAD_UTF8;
        return BAD_C;
    }
    return c;
}

static int fail(struct linescan *ls)
{
    if (ls->err == 0)
        ls->err = LINESCAN_BAD_JSON;
    return T_ERR;
}

static int is_digit(int c)
{
    return c >= '0' && c <= '9';
}

static int is_alpha(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* An integer of `digits` digits at s (no sign): does it fit int64 (neg: its negation)? */
static int int_fits(const unsigned char *s, size_t digits, int neg)
{
    if (digits < 19)
        return 1;
    if (digits > 19)
        return 0;
    return memcmp(s, neg ? "9223372036854775808" : "9223372036854775807", 19) <= 0;
}

/* Whether the real s[0..n) overflows a double, as jansson's strtod check. */
static int real_overflows(const unsigned char *s, size_t n)
{
    char small[128];
    char *buf = n < sizeof(small) ? small : malloc(n + 1);
    if (buf == NULL)
        return 1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    errno = 0;
    double v = strtod(buf, NULL);
    int over = errno == ERANGE && (v > 1.0 || v < -1.0);
    if (buf != small)
        free(buf);
    return over;
}

/* Skips a run of digits; returns the byte after it (BAD_C on a bad UTF-8 byte). */
static int digits(struct linescan *ls)
{
    while (ls->p < ls->end && is_digit(*ls->p))
        ls->p++;
    return peek(ls);
}

/* The integer part of a number (cursor after the sign); returns the byte after it, or
 * T_ERR. */
static int int_part(struct linescan *ls)
{
    int c = peek(ls);
    if (c == BAD_C)
        return T_ERR;
    if (c == '0') {
        ls->p++;
        c = peek(ls);
        if (c == BAD_C)
            return T_ERR;
        return is_digit(c) ? fail(ls) : c; /* a leading zero */
    }
    if (!is_digit(c))
        return fail(ls);
    c = digits(ls);
    return c == BAD_C ? T_ERR : c;
}

/* The exponent, cursor at 'e' or 'E': 0 or T_ERR. */
static int exp_part(struct linescan *ls)
{
    ls->p++;
    int c = peek(ls);
    if (c == '+' || c == '-') {
        ls->p++;
        c = peek(ls);
    }
    if (c == BAD_C)
        return T_ERR;
    if (!is_digit(c))
        return fail(ls);
    return digits(ls) == BAD_C ? T_ERR : 0;
}

/* Number: jansson's lex_scan_number, cursor at '-' or a digit. */
static int lex_number(struct linescan *ls)
{
    const unsigned char *start = ls->p;
    int neg = *ls->p == '-';
    ls->p += neg;
    const unsigned char *ds = ls->p;
    int c = int_part(ls);
    if (c == T_ERR)
        return T_ERR;
    size_t int_digits = (size_t)(ls->p - ds);
    if (c != '.' && c != 'e' && c != 'E')
        return int_fits(ds, int_digits, neg) ? T_SCALAR : fail(ls);
    if (c == '.') {
        ls->p++;
        c = peek(ls);
        if (c == BAD_C)
            return T_ERR;
        if (!is_digit(c))
            return fail(ls);
        c = digits(ls);
        if (c == BAD_C)
            return T_ERR;
    }
    int exp = c == 'e' || c == 'E';
    if (exp && exp_part(ls) != 0)
        return T_ERR;
    if ((exp || int_digits > 300) && real_overflows(start, (size_t)(ls->p - start)))
        return fail(ls);
    return T_SCALAR;
}

/* true / false / null: jansson reads the whole run of letters and one byte more. */
static int lex_literal(struct linescan *ls)
{
    const unsigned char *s = ls->p;
    while (ls->p < ls->end && is_alpha(*ls->p))
        ls->p++;
    if (peek(ls) == BAD_C)
        return T_ERR;
    size_t n = (size_t)(ls->p - s);
    if ((n == 4 && (memcmp(s, "true", 4) == 0 || memcmp(s, "null", 4) == 0)) ||
        (n == 5 && memcmp(s, "false", 5) == 0))
        return T_SCALAR;
    return fail(ls);
}

/* Reads the 4 hex digits of a \u escape (cursor after the 'u'); -1 on error. */
static long hex4(struct linescan *ls)
{
    long v = 0;
    for (int i = 0; i < 4; i++) {
        int c = peek(ls);
        if (c == BAD_C)
            return -1;
        int h = c >= 0 ? ascii_hexval(c) : -1;
        if (h < 0) {
            fail(ls);
            return -1;
        }
        v = v * 16 + h;
        ls->p++;
    }
    return v;
}

struct pairing {
    int want_low; /* a high surrogate was the last escape */
    int bad;      /* an unpaired surrogate was seen */
};

/* Anything but a \u escape ends a pending high surrogate unpaired. */
static void pair_other(struct pairing *pr)
{
    pr->bad |= pr->want_low;
    pr->want_low = 0;
}

/* One escape, cursor after the backslash: 0 or T_ERR. */
static int escape(struct linescan *ls, struct strspan *sp, struct pairing *pr)
{
    sp->escaped = 1;
    int e = peek(ls);
    if (e == BAD_C)
        return T_ERR;
    if (e != 'u') {
        if (e <= 0 || strchr("\"\\/bfnrt", e) == NULL)
            return fail(ls);
        ls->p++;
        pair_other(pr);
        return 0;
    }
    ls->p++;
    long v = hex4(ls);
    if (v < 0)
        return T_ERR;
    sp->nul |= v == 0;
    if (pr->want_low) {
        pr->bad |= !(v >= 0xdc00 && v <= 0xdfff);
        pr->want_low = 0;
    } else if (v >= 0xd800 && v <= 0xdbff) {
        pr->want_low = 1;
    } else if (v >= 0xdc00 && v <= 0xdfff) {
        pr->bad = 1;
    }
    return 0;
}

/* String, cursor at the opening quote. The raw pass of jansson's lex_scan_string
 * comes first (UTF-8, control characters, escape syntax); surrogate pairing is its
 * second pass, so an unpaired surrogate is reported only at the closing quote. */
static int lex_string(struct linescan *ls, struct strspan *sp)
{
    ls->p++;
    sp->s = ls->p;
    sp->escaped = 0;
    sp->nul = 0;
    struct pairing pr = {0, 0};
    for (;;) {
        if (ls->p >= ls->end)
            return fail(ls);
        int c = *ls->p;
        if (c == '"')
            break;
        if (c >= 0x80) {
            size_t k = utf8_seq(ls->p, ls->end);
            if (k == 0) {
                ls->err = LINESCAN_BAD_UTF8;
                return T_ERR;
            }
            ls->p += k;
            pair_other(&pr);
        } else if (c < 0x20) {
            return fail(ls);
        } else if (c != '\\') {
            ls->p++;
            pair_other(&pr);
        } else {
            ls->p++;
            if (escape(ls, sp, &pr) != 0)
                return T_ERR;
        }
    }
    sp->n = (size_t)(ls->p - sp->s);
    ls->p++; /* the closing quote */
    if (pr.bad || pr.want_low)
        return fail(ls);
    return T_STRING;
}

static int lex(struct linescan *ls, struct strspan *sp)
{
    while (ls->p < ls->end &&
           (*ls->p == ' ' || *ls->p == '\t' || *ls->p == '\n' || *ls->p == '\r'))
        ls->p++;
    int c = peek(ls);
    if (c == EOF_C)
        return T_EOF;
    if (c == BAD_C)
        return T_ERR;
    switch (c) {
    case '{':
        ls->p++;
        return T_LBRACE;
    case '}':
        ls->p++;
        return T_RBRACE;
    case '[':
        ls->p++;
        return T_LBRACK;
    case ']':
        ls->p++;
        return T_RBRACK;
    case ':':
        ls->p++;
        return T_COLON;
    case ',':
        ls->p++;
        return T_COMMA;
    case '"':
        return lex_string(ls, sp);
    default:
        break;
    }
    if (is_digit(c) || c == '-')
        return lex_number(ls);
    if (is_alpha(c))
        return lex_literal(ls);
    return fail(ls); /* any other byte, including a valid non-ASCII character */
}

size_t linescan_unescape(const char *raw, size_t raw_len, char *out, size_t cap)
{
    size_t o = 0;
#define PUT(ch)                                                                                \
    do {                                                                                       \
        if (o < cap)                                                                           \
            out[o] = (char)(ch);                                                               \
        o++;                                                                                   \
    } while (0)
    for (size_t i = 0; i < raw_len;) {
        unsigned char c = (unsigned char)raw[i];
        if (c != '\\') {
            PUT(c);
            i++;
            continue;
        }
        char e = raw[i + 1];
        i += 2;
        if (e != 'u') {
            static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
            const char *k = strchr(from, e);
            PUT(k != NULL ? to[k - from] : e);
            continue;
        }
        unsigned long cp = 0;
        for (int j = 0; j < 4; j++)
            cp = cp * 16 + (unsigned long)ascii_hexval(raw[i + (size_t)j]);
        i += 4;
        if (cp >= 0xd800 && cp <= 0xdbff && i + 6 <= raw_len) { /* the scanner paired it */
            unsigned long lo = 0;
            for (int j = 0; j < 4; j++)
                lo = lo * 16 + (unsigned long)ascii_hexval(raw[i + 2 + (size_t)j]);
            cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
            i += 6;
        }
        if (cp < 0x80) {
            PUT(cp);
        } else if (cp < 0x800) {
            PUT(0xc0 | (cp >> 6));
            PUT(0x80 | (cp & 0x3f));
        } else if (cp < 0x10000) {
            PUT(0xe0 | (cp >> 12));
            PUT(0x80 | ((cp >> 6) & 0x3f));
            PUT(0x80 | (cp & 0x3f));
        } else {
            PUT(0xf0 | (cp >> 18));
            PUT(0x80 | ((cp >> 12) & 0x3f));
            PUT(0x80 | ((cp >> 6) & 0x3f));
            PUT(0x80 | (cp & 0x3f));
        }
    }
#undef PUT
    return o;
}

static uint32_t hash_key(const char *k, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)k[i]) * 16777619u;
    return h;
}

static int tab_grow(struct linescan *ls)
{
    size_t cap = ls->tab_cap ? ls->tab_cap * 2 : 64;
    struct linescan_key *t = xcalloc(MEM_CORE, cap, sizeof(*t));
    if (t == NULL)
        return -1;
    for (size_t i = 0; i < ls->tab_cap; i++) {
        struct linescan_key *e = &ls->tab[i];
        if (e->obj == 0)
            continue;
        size_t j = e->hash & (cap - 1);
        while (t[j].obj != 0)
            j = (j + 1) & (cap - 1);
        t[j] = *e;
    }
    xfree(ls->tab);
    ls->tab = t;
    ls->tab_cap = cap;
    return 0;
}

/* Adds key k of object obj; 1 when the object already has it, -1 out of memory. */
static int key_add(struct linescan *ls, uint64_t obj, const char *k, size_t n)
{
    if ((ls->tab_used + 1) * 2 > ls->tab_cap && tab_grow(ls) != 0)
        return -1;
    uint32_t h = hash_key(k, n);
    size_t j = h & (ls->tab_cap - 1);
    for (; ls->tab[j].obj != 0; j = (j + 1) & (ls->tab_cap - 1)) {
        const struct linescan_key *e = &ls->tab[j];
        if (e->obj == obj && e->hash == h && e->len == n && memcmp(e->k, k, n) == 0)
            return 1;
    }
    ls->tab[j] = (struct linescan_key){.obj = obj, .k = k, .len = (uint32_t)n, .hash = h};
    ls->tab_used++;
    return 0;
}

/* The unescaped key: the raw text itself when it has no escape. */
static const char *key_text(struct linescan *ls, const struct strspan *sp, size_t *n)
{
    if (!sp->escaped) {
        *n = sp->n;
        return (const char *)sp->s;
    }
    char *o = ls->arena + ls->arena_len; /* the arena holds the whole line: no overflow */
    *n = linescan_unescape((const char *)sp->s, sp->n, o, ls->arena_cap - ls->arena_len);
    ls->arena_len += *n;
    return o;
}

static enum want top_member(const char *k, size_t n)
{
    if (n == 10 && memcmp(k, "event_type", 10) == 0)
        return W_TYPE;
    if (n == 9 && memcmp(k, "timestamp", 9) == 0)
        return W_TS;
    if (n == 5 && memcmp(k, "alert", 5) == 0)
        return W_ALERT;
    return W_NONE;
}

static void keep(struct linescan_field *f, int tok, const struct strspan *sp)
{
    f->kind = tok == T_STRING ? LS_STRING : LS_OTHER;
    if (tok == T_STRING) {
        f->raw = (const char *)sp->s;
        f->raw_len = sp->n;
        f->escaped = sp->escaped;
    }
}

static int parse_value(struct linescan *ls, int tok, struct strspan *sp, enum want w);

static int parse_object(struct linescan *ls, int top, int alert)
{
    uint64_t obj = ++ls->obj_next;
    struct strspan sp = {NULL, 0, 0, 0};
    int tok = lex(ls, &sp);
    if (tok == T_RBRACE)
        return 0;
    for (;;) {
        if (tok != T_STRING)
            return fail(ls);
        if (sp.nul)
            return fail(ls); /* jansson: NUL byte in object key not supported */
        size_t kn;
        const char *k = key_text(ls, &sp, &kn);
        int d = key_add(ls, obj, k, kn);
        if (d != 0) {
            if (d < 0)
                ls->nomem = 1;
            return fail(ls);
        }
        enum want w = W_NONE;
        if (top)
            w = top_member(k, kn);
        else if (alert && kn == 8 && memcmp(k, "category", 8) == 0)
            w = W_CATEGORY;
        tok = lex(ls, &sp);
        if (tok != T_COLON)
            return fail(ls);
        tok = lex(ls, &sp);
        if (parse_value(ls, tok, &sp, w) != 0)
            return T_ERR;
        tok = lex(ls, &sp);
        if (tok != T_COMMA)
            break;
        tok = lex(ls, &sp);
    }
    return tok == T_RBRACE ? 0 : fail(ls);
}

static int parse_array(struct linescan *ls)
{
    struct strspan sp = {NULL, 0, 0, 0};
    int tok = lex(ls, &sp);
    if (tok == T_RBRACK)
        return 0;
    while (tok != T_EOF) {
        if (parse_value(ls, tok, &sp, W_NONE) != 0)
            return T_ERR;
        tok = lex(ls, &sp);
        if (tok != T_COMMA)
            break;
        tok = lex(ls, &sp);
    }
    return tok == T_RBRACK ? 0 : fail(ls);
}

static int parse_value(struct linescan *ls, int tok, struct strspan *sp, enum want w)
{
    if (tok == T_ERR)
        return T_ERR;
    if (++ls->depth > LINESCAN_MAX_DEPTH)
        return fail(ls);
    /* a wanted member of any kind is recorded: an object or array as "other" too */
    if (w == W_TYPE)
        keep(&ls->f->event_type, tok, sp);
    else if (w == W_TS)
        keep(&ls->f->timestamp, tok, sp);
    else if (w == W_CATEGORY)
        keep(&ls->f->category, tok, sp);
    int rc = 0;
    switch (tok) {
    case T_STRING:
    case T_SCALAR:
        break;
    case T_LBRACE:
        rc = parse_object(ls, ls->depth == 1, w == W_ALERT);
        break;
    case T_LBRACK:
        rc = parse_array(ls);
        break;
    default:
        return fail(ls);
    }
    ls->depth--;
    return rc;
}

int linescan_line(struct linescan *ls, const char *line, size_t n, struct linescan_fields *f)
{
    memset(f, 0, sizeof(*f));
    if (ls->tab_used > 0) {
        memset(ls->tab, 0, ls->tab_cap * sizeof(*ls->tab));
        ls->tab_used = 0;
    }
    if (n + 1 > ls->arena_cap) {
        char *a = xrealloc(MEM_CORE, ls->arena, n + 1);
        if (a == NULL)
            return -1;
        ls->arena = a;
        ls->arena_cap = n + 1;
    }
    ls->arena_len = 0;
    ls->p = (const unsigned char *)line;
    ls->end = ls->p + n;
    ls->depth = 0;
    ls->err = 0;
    ls->nomem = 0;
    ls->f = f;
    struct strspan sp = {NULL, 0, 0, 0};
    int tok = lex(ls, &sp);
    if (tok != T_LBRACE && tok != T_LBRACK) {
        fail(ls);
    } else {
        f->top_object = tok == T_LBRACE;
        if (parse_value(ls, tok, &sp, W_NONE) == 0 && lex(ls, &sp) != T_EOF)
            fail(ls);
    }
    if (ls->nomem)
        return -1;
    return ls->err;
}

void linescan_free(struct linescan *ls)
{
    xfree(ls->tab);
    xfree(ls->arena);
    memset(ls, 0, sizeof(*ls));
}
