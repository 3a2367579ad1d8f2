/*
 * MIME walker and decoders (see mime.h).
 *
 * The walker is line-based: mime_feed() assembles lines in a buffer of max_line bytes
 * (a longer line is handled in pieces, each flagged as not starting a line), and each
 * line is handled by the state: headers (unfolded into hdr), a leaf part's body (to the
 * content decoder), or the skipped text of a multipart (preamble, epilogue, parts over
 * the caps). A line that starts with "--" is compared with the boundaries of every open
 * multipart, innermost first, in every state, so a missing closing boundary or a part
 * without a blank line still resynchronises. The line end before a boundary belongs to
 * the boundary (RFC 2046), so each body line's end is held back until the next line
 * shows it is not a boundary.
 */
#include "app/mime.h"

#include <errno.h>
#include <iconv.h>
#include <string.h>

#include "otasuke/alloc.h"
#include "otasuke/ascii.h"
#include "otasuke/err.h"

enum { ST_HEADERS = 0, ST_BODY, ST_SKIP, ST_DONE };

const char *mime_anomaly_name(enum mime_anomaly a)
{
    static const char *const names[MIME_AN_COUNT] = {
        "mime_too_deep", "too_many_parts",  "bad_base64",      "bad_qp",
        "bad_encoded_word", "unknown_charset", "header_too_long", "line_too_long",
    };
    return (unsigned)a < MIME_AN_COUNT ? names[a] : "unknown";
}

/* ---- small helpers ---- */

static bool is_wsp(int c)
{
    return c == ' ' || c == '\t';
}

static bool ieq(const char *a, size_t an, const char *b)
{
    size_t bn = strlen(b);
    if (an != bn)
        return false;
    for (size_t i = 0; i < an; i++)
        if (ascii_lower((unsigned char)a[i]) != ascii_lower((unsigned char)b[i]))
            return false;
    return true;
}

/* Appends n bytes to out[*len..cap-1), keeping room for the NUL; returns false when cut. */
static bool put(char *out, size_t cap, size_t *len, const char *s, size_t n)
{
    bool all = true;
    if (*len + n + 1 > cap) {
        n = cap - 1 - *len;
        all = false;
    }
    memcpy(out + *len, s, n);
    *len += n;
    out[*len] = '\0';
    return all;
}

/* ---- base64, quoted-printable ---- */

/* Base64 sextet of each byte plus one; 0 for bytes outside the alphabet (one load
 * per byte instead of five range tests: attachments are most of a mail's bytes). */
static const uint8_t b64_tab[256] = {
    ['A'] = 1, ['B'] = 2, ['C'] = 3, ['D'] = 4, ['E'] = 5, ['F'] = 6, ['G'] = 7, ['H'] = 8,
    ['I'] = 9, ['J'] = 10, ['K'] = 11, ['L'] = 12, ['M'] = 13, ['N'] = 14, ['O'] = 15,
    ['P'] = 16, ['Q'] = 17, ['R'] = 18, ['S'] = 19, ['T'] = 20, ['U'] = 21, ['V'] = 22,
    ['W'] = 23, ['X'] = 24, ['Y'] = 25, ['Z'] = 26, ['a'] = 27, ['b'] = 28, ['c'] = 29,
    ['d'] = 30, ['e'] = 31, ['f'] = 32, ['g'] = 33, ['h'] = 34, ['i'] = 35, ['j'] = 36,
    ['k'] = 37, ['l'] = 38, ['m'] = 39, ['n'] = 40, ['o'] = 41, ['p'] = 42, ['q'] = 43,
    ['r'] = 44, ['s'] = 45, ['t'] = 46, ['u'] = 47, ['v'] = 48, ['w'] = 49, ['x'] = 50,
    ['y'] = 51, ['z'] = 52, ['0'] = 53, ['1'] = 54, ['2'] = 55, ['3'] = 56, ['4'] = 57,
    ['5'] = 58, ['6'] = 59, ['7'] = 60, ['8'] = 61, ['9'] = 62, ['+'] = 63, ['/'] = 64,
};

static int b64val(uint8_t c)
{
    return (int)b64_tab[c] - 1;
}

static size_t b64_pad(struct mime_b64 *b, uint8_t *out)
{
    size_t o = 0;
    if (b->n == 2) {
        out[o++] = (uint8_t)(b->acc >> 4);
    } else if (b->n == 3) {
        out[o++] = (uint8_t)(b->acc >> 10);
        out[o++] = (uint8_t)(b->acc >> 2);
    } else if (b->n == 1) {
        b->bad = true;
    }
    b->n = 0;
    b->acc = 0;
    return o;
}

size_t mime_b64_feed(struct mime_b64 *b, const uint8_t *in, size_t n, uint8_t *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        /* fast path: four alphabet bytes from a quantum boundary are three bytes out
         * (what the byte-wise steps below do for them) */
        while (b->n == 0 && n - i >= 4) {
            unsigned t0 = b64_tab[in[i]], t1 = b64_tab[in[i + 1]];
            unsigned t2 = b64_tab[in[i + 2]], t3 = b64_tab[in[i + 3]];
            if (t0 == 0 || t1 == 0 || t2 == 0 || t3 == 0)
                break;
            uint32_t q = (t0 - 1) << 18 | (t1 - 1) << 12 | (t2 - 1) << 6 | (t3 - 1);
            out[o++] = (uint8_t)(q >> 16);
            out[o++] = (uint8_t)(q >> 8);
            out[o++] = (uint8_t)q;
            b->pad = 0;
            i += 4;
        }
        if (i >= n)
            break;
        uint8_t c = in[i];
        int v = b64val(c);
        if (v < 0) {
            if (c == '=') {
                o += b64_pad(b, out + o);
                b->pad = 1;
            } else if (c != '\r' && c != '\n' && !is_wsp(c)) {
                b->bad = true;
            }
            continue;
        }
        b->pad = 0;
        b->acc = b->acc << 6 | (uint32_t)v;
        if (++b->n == 4) {
            out[o++] = (uint8_t)(b->acc >> 16);
            out[o++] = (uint8_t)(b->acc >> 8);
            out[o++] = (uint8_t)b->acc;
            b->n = 0;
            b->acc = 0;
        }
    }
    return o;
}

size_t mime_qp_feed(struct mime_qp *q, const uint8_t *in, size_t n, uint8_t *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = in[i];
        switch (q->st) {
        case 1:
            if (ascii_hexval(c) >= 0) {
                q->hi = c;
                q->st = 2;
            } else if (c == '\r') {
                q->st = 3;
            } else if (c == '\n') {
                q->st = 0;
            } else if (is_wsp(c)) {
                /* "=  \r\n": white space before a soft break; stays in state 1 */
            } else {
                q->bad = true;
                out[o++] = '=';
                q->st = 0;
                i--;
            }
            break;
        case 2:
            q->st = 0;
            if (ascii_hexval(c) >= 0) {
                out[o++] = (uint8_t)(ascii_hexval(q->hi) << 4 | ascii_hexval(c));
            } else {
                q->bad = true;
                out[o++] = '=';
                out[o++] = q->hi;
                i--;
            }
            break;
        case 3:
            q->st = 0;
            if (c != '\n')
                i--;
            break;
        default:
            if (c == '=')
                q->st = 1;
            else
                out[o++] = c;
            break;
        }
    }
    return o;
}

/* ---- charsets ---- */

static const char *charset_alias(const char *cs)
{
    static const char *const map[][2] = {
        /* what mailers label Shift_JIS is in practice Windows' CP932 (NEC and IBM
         * extensions: circled digits, roman numerals); same as Shift_JIS otherwise */
        {"shift_jis", "CP932"},    {"x-sjis", "CP932"},     {"sjis", "CP932"},
        {"shift-jis", "CP932"},
        {"x-euc-jp", "EUC-JP"},    {"ks_c_5601-1987", "CP949"}, {"x-gbk", "GBK"},
        {"utf8", "UTF-8"},         {"ascii", "US-ASCII"},   {"x-unknown", ""},
        {"unknown-8bit", ""},      {"default", ""},
    };
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (ieq(cs, strlen(cs), map[i][0]))
            return map[i][1];
    return cs;
}

long mime_to_utf8(const char *charset, const char *in, size_t n, char *out, size_t cap)
{
    if (cap == 0)
        return -1;
    const char *cs = charset_alias(charset);
    if (cs[0] == '\0')
        return -1;
    iconv_t cd = iconv_open("UTF-8", cs);
    if (cd == (iconv_t)-1)
        return -1;
    char *ip = (char *)(uintptr_t)in; /* iconv's prototype; it does not write */
    size_t il = n;
    char *op = out;
    size_t ol = cap - 1;
    while (il > 0) {
        if (iconv(cd, &ip, &il, &op, &ol) != (size_t)-1)
            break;
        if (errno == E2BIG)
            break;
        /* EILSEQ / EINVAL: one byte replaced by U+FFFD */
        if (ol < 3)
            break;
        memcpy(op, "\xef\xbf\xbd", 3);
        op += 3;
        ol -= 3;
        ip++;
        il--;
        iconv(cd, NULL, NULL, NULL, NULL);
    }
    iconv(cd, NULL, NULL, &op, &ol); /* back to the initial shift state */
    iconv_close(cd);
    *op = '\0';
    return (long)(op - out);
}

/* ---- RFC 2047 ---- */

/* An encoded word at in[0..n): charset, encoding and text spans; returns its length or 0. */
struct eword {
    const char *cs, *text;
    size_t cslen, textlen;
    char enc;
};

static size_t eword_parse(const char *in, size_t n, struct eword *e)
{
    if (n < 8 || in[0] != '=' || in[1] != '?')
        return 0;
    size_t i = 2;
    while (i < n && in[i] != '?' && !is_wsp(in[i]) && i < 66)
        i++;
    if (i + 2 >= n || in[i] != '?' || i == 2)
        return 0;
    e->cs = in + 2;
    e->cslen = i - 2;
    char enc = (char)ascii_lower((unsigned char)in[i + 1]);
    if ((enc != 'b' && enc != 'q') || in[i + 2] != '?')
        return 0;
    e->enc = enc;
    size_t t = i + 3;
    for (size_t j = t; j + 1 < n; j++) {
        if (in[j] == '?' && in[j + 1] == '=') {
            e->text = in + t;
            e->textlen = j - t;
            return j + 2;
        }
        if (in[j] == '\r' || in[j] == '\n')
            return 0;
    }
    return 0;
}

/* Decodes an encoded word's text to raw bytes (appended to raw[*rl..rcap)). */
static void eword_bytes(const struct eword *e, char *raw, size_t rcap, size_t *rl, uint32_t *an)
{
    const uint8_t *s = (const uint8_t *)e->text;
    size_t n = e->textlen;
    if (e->enc == 'b') {
        struct mime_b64 b = {0};
        uint8_t tmp[128 * 3 / 4 + 8];
        for (size_t off = 0; off < n; off += 128) {
            size_t k = n - off < 128 ? n - off : 128;
            size_t o = mime_b64_feed(&b, s + off, k, tmp);
            if (*rl + o > rcap)
                o = rcap - *rl;
            memcpy(raw + *rl, tmp, o);
            *rl += o;
        }
        if (b.bad || b.n == 1)
            *an |= 1u << MIME_AN_BAD_ENCODED_WORD;
        uint8_t t[4];
        size_t o = b64_pad(&b, t);
        if (*rl + o <= rcap) {
            memcpy(raw + *rl, t, o);
            *rl += o;
        }
        return;
    }
    for (size_t i = 0; i < n && *rl < rcap; i++) {
        uint8_t c = s[i];
        if (c == '_') {
            c = ' ';
        } else if (c == '=' && i + 2 < n && ascii_hexval(s[i + 1]) >= 0 && ascii_hexval(s[i + 2]) >= 0) {
            c = (uint8_t)(ascii_hexval(s[i + 1]) << 4 | ascii_hexval(s[i + 2]));
            i += 2;
        }
        raw[(*rl)++] = (char)c;
    }
}

/* Converts the collected raw bytes of a run of encoded words of one charset. */
static void flush_run(const char *cs, const char *raw, size_t rl, char *out, size_t cap,
                      size_t *len, uint32_t *an)
{
    if (rl == 0)
        return;
    long k = mime_to_utf8(cs, raw, rl, out + *len, cap - *len);
    if (k < 0) {
        *an |= 1u << MIME_AN_UNKNOWN_CHARSET;
        put(out, cap, len, raw, rl);
        return;
    }
    *len += (size_t)k;
}

struct wrun {
    char cs[64];
    char raw[1024];
    size_t rl;
};

/* Adds an encoded word to the run (a different charset flushes the run first). */
static void run_add(struct wrun *r, const struct eword *e, char *out, size_t cap, size_t *len,
                    uint32_t *an)
{
    char cs[64];
    size_t cl = e->cslen < sizeof(cs) - 1 ? e->cslen : sizeof(cs) - 1;
    memcpy(cs, e->cs, cl);
    cs[cl] = '\0';
    char *star = strchr(cs, '*'); /* RFC 2231 language: =?cs*lang?...?= */
    if (star != NULL)
        *star = '\0';
    if (r->rl > 0 && !ieq(r->cs, strlen(r->cs), cs)) {
        flush_run(r->cs, r->raw, r->rl, out, cap, len, an);
        r->rl = 0;
    }
    memcpy(r->cs, cs, strlen(cs) + 1);
    eword_bytes(e, r->raw, sizeof(r->raw), &r->rl, an);
}

/* After an encoded word: the end of the white space (and folding) at in[i..) when an
 * encoded word follows it (that space vanishes), else i. */
static size_t skip_between(const char *in, size_t n, size_t i)
{
    size_t j = i;
    while (j < n && (is_wsp(in[j]) || in[j] == '\r' || in[j] == '\n'))
        j++;
    struct eword e;
    if (j > i && j < n && eword_parse(in + j, n - j, &e) > 0)
        return j;
    return i;
}

/* Never end inside a UTF-8 sequence when the output was cut. */
static size_t utf8_cut(char *out, size_t len)
{
    size_t k = len;
    while (k > 0 && ((unsigned char)out[k - 1] & 0xc0) == 0x80)
        k--;
    if (k > 0 && (unsigned char)out[k - 1] >= 0xc0)
        len = k - 1;
    out[len] = '\0';
    return len;
}

size_t mime_decode_words(const char *in, size_t n, char *out, size_t cap, uint32_t *an)
{
    uint32_t dummy = 0;
    if (an == NULL)
        an = &dummy;
    if (cap == 0)
        return 0;
    size_t len = 0;
    out[0] = '\0';
    struct wrun r;
    r.rl = 0;
    r.cs[0] = '\0';
    size_t i = 0;
    bool after_word = false;
    while (i < n && len + 1 < cap) {
        struct eword e;
        size_t k = in[i] == '=' ? eword_parse(in + i, n - i, &e) : 0;
        if (k > 0) {
            run_add(&r, &e, out, cap, &len, an);
            i += k;
            after_word = true;
            continue;
        }
        if (in[i] == '=' && i + 1 < n && in[i + 1] == '?')
            *an |= 1u << MIME_AN_BAD_ENCODED_WORD;
        size_t j = after_word ? skip_between(in, n, i) : i;
        if (j != i) {
            i = j;
            continue;
        }
        flush_run(r.cs, r.raw, r.rl, out, cap, &len, an);
        r.rl = 0;
        after_word = false;
        if (in[i] != '\r' && in[i] != '\n')
            put(out, cap, &len, in + i, 1);
        i++;
    }
    flush_run(r.cs, r.raw, r.rl, out, cap, &len, an);
    if (len + 1 >= cap)
        len = utf8_cut(out, len);
    return len;
}

/* ---- RFC 2231 parameters ---- */

#define PARAM_SEGS 64

struct pseg {
    const char *v;
    size_t n;
    bool quoted, ext, set;
};

/* Copies a (quoted) value, unescaping backslashes. */
static void seg_copy(const struct pseg *s, char *buf, size_t cap, size_t *len)
{
    for (size_t i = 0; i < s->n; i++) {
        if (s->v[i] == '\n' || s->v[i] == '\r')
            continue; /* a fold inside the value */
        if (s->quoted && s->v[i] == '\\' && i + 1 < s->n)
            i++;
        put(buf, cap, len, s->v + i, 1);
    }
}

/* Percent-decodes an extended value into buf. */
static void seg_pct(const char *v, size_t n, char *buf, size_t cap, size_t *len)
{
    for (size_t i = 0; i < n; i++) {
        if (v[i] == '%' && i + 2 < n && ascii_hexval(v[i + 1]) >= 0 && ascii_hexval(v[i + 2]) >= 0) {
            char c = (char)(ascii_hexval(v[i + 1]) << 4 | ascii_hexval(v[i + 2]));
            put(buf, cap, len, &c, 1);
            i += 2;
        } else if (v[i] != '\n' && v[i] != '\r') {
            put(buf, cap, len, v + i, 1);
        }
    }
}

/* Reads a parameter value (quoted string or token) at v[*p..n) into val. */
static void param_value(const char *v, size_t n, size_t *pp, struct pseg *val)
{
    size_t p = *pp;
    while (p < n && is_wsp(v[p]))
        p++;
    if (p < n && v[p] == '"') {
        size_t s = ++p;
        while (p < n && v[p] != '"')
            p += v[p] == '\\' && p + 1 < n ? 2 : 1;
        size_t e = p < n ? p : n;
        *val = (struct pseg){.v = v + s, .n = e - s, .quoted = true, .set = true};
        if (p < n)
            p++;
        *pp = p;
        return;
    }
    size_t s = p;
    while (p < n && v[p] != ';')
        p++;
    size_t e = p;
    while (e > s && (is_wsp(v[e - 1]) || v[e - 1] == '\r' || v[e - 1] == '\n'))
        e--;
    *val = (struct pseg){.v = v + s, .n = e - s, .set = true};
    *pp = p;
}

/* Reads one "attr=value" at v[*i..n); fills the spans; returns false at the end. */
static bool param_next(const char *v, size_t n, size_t *i, const char **an_, size_t *anl,
                       struct pseg *val)
{
    size_t p = *i;
    while (p < n && v[p] != ';')
        p++;
    if (p >= n)
        return false;
    p++;
    while (p < n && (is_wsp(v[p]) || v[p] == '\r' || v[p] == '\n'))
        p++;
    size_t a = p;
    while (p < n && v[p] != '=' && v[p] != ';')
        p++;
    size_t ae = p;
    while (ae > a && is_wsp(v[ae - 1]))
        ae--;
    *an_ = v + a;
    *anl = ae - a;
    memset(val, 0, sizeof(*val));
    if (p < n && v[p] == '=') {
        p++;
        param_value(v, n, &p, val);
    }
    *i = p;
    return true;
}

/* Classifies attr against name: 0 no, 1 plain, 2 "name*", 3 "name*N", 4 "name*N*". */
static int param_kind(const char *a, size_t al, const char *name, unsigned *idx)
{
    size_t nl = strlen(name);
    if (al < nl || !ieq(a, nl, name))
        return 0;
    if (al == nl)
        return 1;
    if (a[nl] != '*')
        return 0;
    if (al == nl + 1)
        return 2;
    unsigned k = 0;
    size_t p = nl + 1;
    while (p < al && a[p] >= '0' && a[p] <= '9' && k < 1000)
        k = k * 10 + (unsigned)(a[p++] - '0');
    if (p == nl + 1)
        return 0;
    *idx = k;
    if (p == al)
        return 3;
    return p + 1 == al && a[p] == '*' ? 4 : 0;
}

/* Joins the extended segments (charset'lang'value for the first) and converts. */
static void join_ext(struct pseg *seg, unsigned nseg, char *out, size_t cap, uint32_t *an)
{
    char raw[1024];
    size_t rl = 0;
    char cs[64] = "";
    raw[0] = '\0';
    for (unsigned k = 0; k < nseg && seg[k].set; k++) {
        const char *v = seg[k].v;
        size_t n = seg[k].n;
        if (!seg[k].ext) {
            seg_copy(&seg[k], raw, sizeof(raw), &rl);
            continue;
        }
        if (k == 0) {
            const char *q1 = memchr(v, '\'', n);
            const char *q2 = q1 ? memchr(q1 + 1, '\'', (size_t)(v + n - q1 - 1)) : NULL;
            if (q2 != NULL) {
                size_t cl = (size_t)(q1 - v) < sizeof(cs) - 1 ? (size_t)(q1 - v) : sizeof(cs) - 1;
                memcpy(cs, v, cl);
                cs[cl] = '\0';
                n -= (size_t)(q2 + 1 - v);
                v = q2 + 1;
            }
        }
        seg_pct(v, n, raw, sizeof(raw), &rl);
    }
    size_t len = 0;
    out[0] = '\0';
    if (cs[0] == '\0' || mime_to_utf8(cs, raw, rl, out, cap) < 0) {
        if (cs[0] != '\0')
            *an |= 1u << MIME_AN_UNKNOWN_CHARSET;
        put(out, cap, &len, raw, rl);
    }
}

bool mime_param(const char *v, size_t n, const char *name, char *out, size_t cap, uint32_t *an)
{
    uint32_t dummy = 0;
    if (an == NULL)
        an = &dummy;
    if (cap == 0)
        return false;
    out[0] = '\0';
    struct pseg seg[PARAM_SEGS];
    memset(seg, 0, sizeof(seg));
    struct pseg plain = {0};
    bool have_ext = false;
    size_t i = 0;
    const char *a;
    size_t al;
    struct pseg val;
    while (param_next(v, n, &i, &a, &al, &val)) {
        unsigned idx = 0;
        int k = val.set ? param_kind(a, al, name, &idx) : 0;
        if (k == 1 && !plain.set) {
            plain = val;
        } else if (k == 2) {
            seg[0] = val;
            seg[0].ext = true;
            have_ext = true;
        } else if ((k == 3 || k == 4) && idx < PARAM_SEGS && !seg[idx].set) {
            seg[idx] = val;
            seg[idx].ext = k == 4;
            have_ext = true;
        }
    }
    if (have_ext && seg[0].set) {
        join_ext(seg, PARAM_SEGS, out, cap, an);
        return true;
    }
    if (!plain.set)
        return false;
    char tmp[1024];
    size_t tl = 0;
    tmp[0] = '\0';
    seg_copy(&plain, tmp, sizeof(tmp), &tl);
    mime_decode_words(tmp, tl, out, cap, an);
    return true;
}

/* ---- the walker ---- */

static void anomaly(struct mime *m, enum mime_anomaly a)
{
    if (m->cb.anomaly != NULL)
        m->cb.anomaly(m->cb.ud, a);
}

static void anomalies(struct mime *m, uint32_t an)
{
    for (int k = 0; k < MIME_AN_COUNT; k++)
        if (an & (1u << k))
            anomaly(m, (enum mime_anomaly)k);
}

int mime_init(struct mime *m, const struct mime_cb *cb, uint32_t max_line, uint32_t max_depth,
              uint32_t max_parts)
{
    memset(m, 0, sizeof(*m));
    m->cb = *cb;
    m->max_line = max_line < 256 ? 256 : max_line > (1u << 20) ? 1u << 20 : max_line;
    m->max_depth = max_depth < 1 ? 1 : max_depth > MIME_DEPTH_LIMIT ? MIME_DEPTH_LIMIT : max_depth;
    m->max_parts = max_parts;
    m->line = xalloc(MEM_APP, m->max_line);
    m->hdr = xalloc(MEM_APP, MIME_HDR_MAX);
    if (m->line == NULL || m->hdr == NULL) {
        mime_free(m);
        return ERR_NOMEM;
    }
    mime_reset(m);
    return 0;
}

void mime_free(struct mime *m)
{
    xfree(m->line);
    xfree(m->hdr);
    m->line = NULL;
    m->hdr = NULL;
}

static void part_defaults(struct mime *m)
{
    memset(&m->part, 0, sizeof(m->part));
    memcpy(m->part.ctype, "text/plain", sizeof("text/plain"));
    m->part.depth = m->depth;
    m->next_blen = 0;
    m->hdr_len = 0;
    m->hdr_cut = false;
}

void mime_reset(struct mime *m)
{
    m->line_len = 0;
    m->line_cont = false;
    m->state = ST_HEADERS;
    m->in_part = false;
    m->pending_nl = false;
    m->pending_cr = false;
    m->skip_part = false;
    m->nparts = 0;
    m->depth = 0;
    part_defaults(m);
}

static void close_part(struct mime *m, bool complete)
{
    if (!m->in_part)
        return;
    m->in_part = false;
    bool bad = false;
    if (m->part.cte == MIME_CTE_BASE64) {
        uint8_t out[4];
        size_t o = b64_pad(&m->b64, out);
        if (o > 0 && m->cb.part_data != NULL)
            m->cb.part_data(m->cb.ud, out, o);
        bad = m->b64.bad;
    } else if (m->part.cte == MIME_CTE_QP) {
        bad = m->qp.bad;
    }
    if (m->cb.part_end != NULL)
        m->cb.part_end(m->cb.ud, complete, bad);
}

/* Content bytes of the open part, through its decoder. */
static void body_bytes(struct mime *m, const uint8_t *d, size_t n)
{
    uint8_t out[1024 + 8];
    while (n > 0) {
        size_t k = n < 1024 ? n : 1024;
        size_t o;
        if (m->part.cte == MIME_CTE_BASE64) {
            bool was = m->b64.bad;
            o = mime_b64_feed(&m->b64, d, k, out);
            if (!was && m->b64.bad)
                anomaly(m, MIME_AN_BAD_BASE64);
        } else if (m->part.cte == MIME_CTE_QP) {
            bool was = m->qp.bad;
            o = mime_qp_feed(&m->qp, d, k, out);
            if (!was && m->qp.bad)
                anomaly(m, MIME_AN_BAD_QP);
        } else {
            if (m->cb.part_data != NULL)
                m->cb.part_data(m->cb.ud, d, k);
            d += k;
            n -= k;
            continue;
        }
        if (o > 0 && m->cb.part_data != NULL)
            m->cb.part_data(m->cb.ud, out, o);
        d += k;
        n -= k;
    }
}

/* Content-Type: type/subtype (lowercased), boundary, name. */
static void ct_header(struct mime *m, const char *v, size_t vl, uint32_t *an)
{
    size_t i = 0;
    while (i < vl && is_wsp(v[i]))
        i++;
    size_t k = 0;
    while (i < vl && v[i] != ';' && !is_wsp(v[i]) && v[i] != '\r' && v[i] != '\n' &&
           k + 1 < MIME_CT_MAX)
        m->part.ctype[k++] = (char)ascii_lower((unsigned char)v[i++]);
    m->part.ctype[k] = '\0';
    if (k == 0 || memchr(m->part.ctype, '/', k) == NULL)
        memcpy(m->part.ctype, "text/plain", sizeof("text/plain"));
    char b[MIME_BOUNDARY_MAX * 2];
    if (strncmp(m->part.ctype, "multipart/", 10) == 0 &&
        mime_param(v, vl, "boundary", b, sizeof(b), NULL)) {
        size_t bl = strlen(b);
        if (bl > 0 && bl < MIME_BOUNDARY_MAX) {
            memcpy(m->next_boundary, b, bl);
            m->next_blen = (uint8_t)bl;
        }
    }
    if (m->part.name[0] == '\0')
        mime_param(v, vl, "name", m->part.name, sizeof(m->part.name), an);
}

static void cte_header(struct mime *m, const char *v, size_t vl)
{
    size_t i = 0;
    while (i < vl && is_wsp(v[i]))
        i++;
    size_t e = i;
    while (e < vl && !is_wsp(v[e]) && v[e] != ';' && v[e] != '\r' && v[e] != '\n')
        e++;
    if (ieq(v + i, e - i, "base64"))
        m->part.cte = MIME_CTE_BASE64;
    else if (ieq(v + i, e - i, "quoted-printable"))
        m->part.cte = MIME_CTE_QP;
}

static void cd_header(struct mime *m, const char *v, size_t vl, uint32_t *an)
{
    size_t i = 0;
    while (i < vl && is_wsp(v[i]))
        i++;
    if (vl - i >= 10 && ieq(v + i, 10, "attachment"))
        m->part.attachment = true;
    char fn[sizeof(m->part.name)];
    if (mime_param(v, vl, "filename", fn, sizeof(fn), an))
        memcpy(m->part.name, fn, strlen(fn) + 1);
}

/* Parses the Content-* headers of the entity being read. */
static void content_header(struct mime *m, const char *name, size_t nl, const char *v, size_t vl)
{
    uint32_t an = 0;
    if (ieq(name, nl, "content-type"))
        ct_header(m, v, vl, &an);
    else if (ieq(name, nl, "content-transfer-encoding"))
        cte_header(m, v, vl);
    else if (ieq(name, nl, "content-disposition"))
        cd_header(m, v, vl, &an);
    anomalies(m, an);
}

/* The header in hdr is complete. */
static void header_done(struct mime *m)
{
    if (m->hdr_len == 0)
        return;
    const char *h = m->hdr;
    const char *colon = memchr(h, ':', m->hdr_len);
    if (colon != NULL) {
        size_t nl = (size_t)(colon - h);
        while (nl > 0 && is_wsp(h[nl - 1]))
            nl--;
        const char *v = colon + 1;
        size_t vl = m->hdr_len - (size_t)(v - h);
        while (vl > 0 && is_wsp(*v)) {
            v++;
            vl--;
        }
        if (m->cb.header != NULL)
            m->cb.header(m->cb.ud, m->depth, h, nl, v, vl);
        content_header(m, h, nl, v, vl);
    }
    m->hdr_len = 0;
    m->hdr_cut = false;
}

static void hdr_append(struct mime *m, const uint8_t *d, size_t n)
{
    if (m->hdr_len + n > MIME_HDR_MAX) {
        if (!m->hdr_cut)
            anomaly(m, MIME_AN_HEADER_TOO_LONG);
        m->hdr_cut = true;
        n = MIME_HDR_MAX - m->hdr_len;
    }
    memcpy(m->hdr + m->hdr_len, d, n);
    m->hdr_len += (uint32_t)n;
}

/* The blank line after an entity's headers. */
static void headers_end(struct mime *m)
{
    header_done(m);
    if (m->next_blen > 0) {
        if (m->depth >= m->max_depth) {
            anomaly(m, MIME_AN_TOO_DEEP);
            m->state = ST_SKIP;
            return;
        }
        struct mime_frame *f = &m->frame[m->depth++];
        memcpy(f->boundary, m->next_boundary, m->next_blen);
        f->blen = m->next_blen;
        m->state = ST_SKIP; /* the preamble */
        return;
    }
    if (++m->nparts > m->max_parts) {
        if (m->nparts == m->max_parts + 1)
            anomaly(m, MIME_AN_TOO_MANY_PARTS);
        m->nparts = m->max_parts + 1;
        m->state = ST_SKIP;
        return;
    }
    m->part.depth = m->depth;
    memset(&m->b64, 0, sizeof(m->b64));
    memset(&m->qp, 0, sizeof(m->qp));
    m->in_part = true;
    m->pending_nl = false;
    m->state = ST_BODY;
    if (m->cb.part_begin != NULL)
        m->cb.part_begin(m->cb.ud, &m->part);
}

/* Whether line[0..n) is a boundary of an open multipart: returns its frame index + 1 and
 * sets *closing, or 0. */
static unsigned boundary_match(const struct mime *m, const uint8_t *l, size_t n, bool *closing)
{
    if (n < 3 || l[0] != '-' || l[1] != '-')
        return 0;
    for (unsigned k = m->depth; k > 0; k--) {
        const struct mime_frame *f = &m->frame[k - 1];
        if (n < 2u + f->blen || memcmp(l + 2, f->boundary, f->blen) != 0)
            continue;
        size_t p = 2u + f->blen;
        *closing = n >= p + 2 && l[p] == '-' && l[p + 1] == '-';
        if (*closing)
            p += 2;
        while (p < n && (is_wsp(l[p]) || l[p] == '\r' || l[p] == '\n'))
            p++;
        if (p == n)
            return k;
    }
    return 0;
}

static void on_boundary(struct mime *m, unsigned k, bool closing)
{
    close_part(m, true);
    m->pending_nl = false;
    if (m->state == ST_HEADERS)
        header_done(m);
    m->depth = closing ? k - 1 : k;
    if (closing) {
        m->state = ST_SKIP; /* the epilogue */
        return;
    }
    part_defaults(m);
    m->state = ST_HEADERS;
}

static void body_line(struct mime *m, const uint8_t *l, size_t n, size_t content, bool cont)
{
    if (!m->in_part)
        return;
    if (m->pending_nl) {
        body_bytes(m, (const uint8_t *)"\r\n" + (m->pending_cr ? 0 : 1), m->pending_cr ? 2 : 1);
        m->pending_nl = false;
    }
    body_bytes(m, l, content);
    if (content < n && !cont) {
        m->pending_nl = true;
        m->pending_cr = n - content == 2;
    }
}

/* One line (or a piece of a long one: cont, or no terminator). */
static void on_line(struct mime *m, const uint8_t *l, size_t n, bool piece)
{
    bool start = !m->line_cont;
    size_t content = n;
    if (!piece && content > 0 && l[content - 1] == '\n') {
        content--;
        if (content > 0 && l[content - 1] == '\r')
            content--;
    }
    bool closing = false;
    unsigned k = start && m->depth > 0 ? boundary_match(m, l, n, &closing) : 0;
    if (k > 0) {
        on_boundary(m, k, closing);
        return;
    }
    switch (m->state) {
    case ST_HEADERS:
        if (start && content == 0 && !piece) {
            headers_end(m);
        } else if (start && !is_wsp(l[0])) {
            header_done(m);
            hdr_append(m, l, content);
        } else {
            if (start && m->hdr_len > 0)
                hdr_append(m, (const uint8_t *)"\n", 1); /* the fold, for the consumer */
            hdr_append(m, l, content);
        }
        break;
    case ST_BODY:
        body_line(m, l, n, content, piece);
        break;
    default:
        break;
    }
}

void mime_feed(struct mime *m, const uint8_t *d, size_t n)
{
    while (n > 0) {
        const uint8_t *nl = memchr(d, '\n', n);
        size_t take = nl != NULL ? (size_t)(nl - d) + 1 : n;
        size_t room = m->max_line - m->line_len;
        if (take > room) {
            memcpy(m->line + m->line_len, d, room);
            if (!m->line_cont)
                anomaly(m, MIME_AN_LINE_TOO_LONG);
            on_line(m, m->line, m->max_line, true);
            m->line_cont = true;
            m->line_len = 0;
            d += room;
            n -= room;
            continue;
        }
        memcpy(m->line + m->line_len, d, take);
        m->line_len += (uint32_t)take;
        d += take;
        n -= take;
        if (nl != NULL) {
            on_line(m, m->line, m->line_len, false);
            m->line_len = 0;
            m->line_cont = false;
        }
    }
}

void mime_finish(struct mime *m)
{
    if (m->line_len > 0 || m->line_cont) {
        on_line(m, m->line, m->line_len, false);
        m->line_len = 0;
        m->line_cont = false;
    }
    if (m->state == ST_HEADERS)
        headers_end(m);
    close_part(m, true);
    m->state = ST_DONE;
}

void mime_abort(struct mime *m)
{
    close_part(m, false);
    m->line_len = 0;
    m->line_cont = false;
    m->state = ST_DONE;
}
