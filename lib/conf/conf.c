/*
 * Typed configuration table: defaults, YAML loading, overrides, -T and --help-config.
 *
 * One table of struct conf_item drives everything (Redis config.c). Values are parsed
 * from text by one function per type, whether the text comes from a YAML scalar, a
 * default or `--set name=value`, so the three paths accept exactly the same syntax.
 *
 * YAML is read with libyaml's event API, never its document API: aliases are refused
 * (no expansion, so no "billion laughs"), nesting is capped at CONF_DEPTH_MAX, the file
 * at CONF_FILE_MAX, and the first error stops the load. Nested mappings and dotted keys
 * are equivalent ("flow:\n  memcap: 1M" == "flow.memcap: 1M"), which is what lets the
 * flat output of conf_print be loaded again. Invariants:
 *   - a load writes into a scratch copy of the destination and copies it back only
 *     when the whole file was accepted, so a bad file changes nothing;
 *   - every message starts with "name:line: " (1-based lines) when it comes from a file;
 *   - whatever conf_format_value prints, parse_value accepts and maps to the same value.
 * libyaml allocates with malloc; its memory is bounded by the file size cap. Our own
 * scratch memory comes from xalloc(MEM_CONF) and is freed before returning.
 */
#include "otasuke/conf.h"
#include "otasuke/alloc.h"
#include "otasuke/err.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

/* ---- small helpers ------------------------------------------------------------------ */

static size_t item_size(const struct conf_item *it)
{
    switch (it->type) {
    case CONF_BOOL:
        return sizeof(bool);
    case CONF_INT:
        return sizeof(int64_t);
    case CONF_SIZE:
    case CONF_DURATION:
        return sizeof(uint64_t);
    case CONF_STRING:
        return CONF_STR_MAX;
    case CONF_ENUM:
        return sizeof(int);
    }
    return 0;
}

static bool bounded(const struct conf_item *it)
{
    return !(it->min == 0 && it->max == 0);
}

/* Effective unsigned bounds of a SIZE or DURATION item. */
static void ubounds(const struct conf_item *it, uint64_t *lo, uint64_t *hi)
{
    *lo = 0;
    *hi = UINT64_MAX;
    if (bounded(it)) {
        *lo = it->min > 0 ? (uint64_t)it->min : 0;
        *hi = it->max > 0 ? (uint64_t)it->max : 0;
    }
}

/* Copies s into out for an error message: at most 40 bytes, anything outside printable
 * ASCII replaced by '?', "..." appended when cut. */
static void show(const char *s, size_t len, char *out, size_t outlen)
{
    size_t n = 0, max = 40;
    for (size_t i = 0; i < len && i < max && n + 1 < outlen; i++) {
        unsigned char c = (unsigned char)s[i];
        out[n++] = (char)((c < 0x20 || c >= 0x7f) ? '?' : c);
    }
    if (len > max && n + 4 < outlen) {
        memcpy(out + n, "...", 3);
        n += 3;
    }
    out[n] = '\0';
}

static void msgf(char *msg, size_t msglen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void msgf(char *msg, size_t msglen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, msglen, fmt, ap);
    va_end(ap);
}

/* ---- number and unit parsing ---------------------------------------------------------- */

/* Reads decimal digits at *p. Returns ERR_INVAL when there is none, ERR_LIMIT when the
 * value does not fit (all digits are consumed either way), else 0. */
static int read_u64(const char **p, uint64_t *v)
{
    const char *s = *p;
    uint64_t x = 0;
    bool ovf = false;
    if (*s < '0' || *s > '9')
        return ERR_INVAL;
    for (; *s >= '0' && *s <= '9'; s++) {
        unsigned d = (unsigned)(*s - '0');
        if (x > (UINT64_MAX - d) / 10)
            ovf = true;
        else
            x = x * 10 + d;
    }
    *p = s;
    *v = x;
    return ovf ? ERR_LIMIT : 0;
}

struct unit {
    const char *name;
    uint64_t mult;
};

static const struct unit g_size_units[] = {
    {"", 1},
    {"B", 1},
    {"K", 1ull << 10},
    {"KiB", 1ull << 10},
    {"M", 1ull << 20},
    {"MiB", 1ull << 20},
    {"G", 1ull << 30},
    {"GiB", 1ull << 30},
    {"T", 1ull << 40},
    {"TiB", 1ull << 40},
    {NULL, 0},
};

static const struct unit g_dur_units[] = {
    {"", 1000000},
    {"us", 1},
    {"ms", 1000},
    {"s", 1000000},
    {"m", 60000000},
    {"h", 3600000000ull},
    {"d", 86400000000ull},
    {NULL, 0},
};

/* Parses "<digits>[ ]*<unit>" with a unit from units. ERR_INVAL on bad syntax,
 * ERR_LIMIT when the result exceeds 64 bits. */
static int parse_units(const char *s, const struct unit *units, uint64_t *out)
{
    uint64_t v;
    int rc = read_u64(&s, &v);
    if (rc == ERR_INVAL)
        return rc;
    while (*s == ' ' || *s == '\t')
        s++;
    for (const struct unit *u = units; u->name != NULL; u++) {
        if (strcmp(s, u->name) != 0)
            continue;
        if (rc == ERR_LIMIT || (v != 0 && u->mult > UINT64_MAX / v))
            return ERR_LIMIT;
        *out = v * u->mult;
        return 0;
    }
    return ERR_INVAL;
}

int conf_parse_size(const char *s, uint64_t *out)
{
    return parse_units(s, g_size_units, out) == 0 ? 0 : ERR_INVAL;
}

int conf_parse_duration(const char *s, uint64_t *out)
{
    return parse_units(s, g_dur_units, out) == 0 ? 0 : ERR_INVAL;
}

/* Parses an optionally signed decimal int64. ERR_LIMIT on overflow (*neg tells which
 * side), ERR_INVAL on bad syntax. */
static int parse_i64(const char *s, int64_t *out, bool *neg)
{
    *neg = false;
    if (*s == '+' || *s == '-')
        *neg = *s++ == '-';
    uint64_t v;
    int rc = read_u64(&s, &v);
    if (rc == ERR_INVAL || *s != '\0')
        return ERR_INVAL;
    uint64_t lim = *neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    if (rc == ERR_LIMIT || v > lim)
        return ERR_LIMIT;
    *out = *neg ? (int64_t)(0 - v) : (int64_t)v;
    return 0;
}

static bool eq_nocase(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        char x = *a;
        if (x >= 'A' && x <= 'Z')
            x = (char)(x + 32);
        if (x != *b)
            return false;
    }
    return *a == *b;
}

static int parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"true", "yes", "on", NULL};
    static const char *const no[] = {"false", "no", "off", NULL};
    for (int i = 0; yes[i]; i++) {
        if (eq_nocase(s, yes[i]) || eq_nocase(s, no[i])) {
            *out = eq_nocase(s, yes[i]);
            return 0;
        }
    }
    return ERR_INVAL;
}

/* True when s[0..n) is valid UTF-8 without C0/C1 control characters (tab allowed),
 * DEL, surrogates or overlong forms: what conf_format_value can always quote back. */
static bool text_ok(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        if (c < 0x80) {
            if ((c < 0x20 && c != '\t') || c == 0x7f)
                return false;
            i++;
            continue;
        }
        size_t need;
        uint32_t cp, min;
        if ((c & 0xe0) == 0xc0) {
            need = 1, cp = c & 0x1f, min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            need = 2, cp = c & 0x0f, min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            need = 3, cp = c & 0x07, min = 0x10000;
        } else {
            return false;
        }
        if (n - i - 1 < need)
            return false;
        for (size_t k = 1; k <= need; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (s[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff) || cp <= 0x9f)
            return false;
        i += need + 1;
    }
    return true;
}

/* ---- value parsing: one place for YAML, defaults and --set ---------------------------- */

static int range_u(const struct conf_item *it, uint64_t v, void (*fmt)(uint64_t, char *, size_t),
                   char *msg, size_t msglen)
{
    uint64_t lo, hi;
    char b[32];
    ubounds(it, &lo, &hi);
    if (v > hi) {
        fmt(hi, b, sizeof(b));
        msgf(msg, msglen, "value too large (max %s)", b);
        return ERR_INVAL;
    }
    if (v < lo) {
        fmt(lo, b, sizeof(b));
        msgf(msg, msglen, "value too small (min %s)", b);
        return ERR_INVAL;
    }
    return 0;
}

static int set_int(const struct conf_item *it, const char *s, void *p, char *msg, size_t msglen)
{
    int64_t v = 0, lo = bounded(it) ? it->min : INT64_MIN, hi = bounded(it) ? it->max : INT64_MAX;
    bool neg;
    int rc = parse_i64(s, &v, &neg);
    if (rc == ERR_INVAL) {
        char b[48];
        show(s, strlen(s), b, sizeof(b));
        msgf(msg, msglen, "expected an integer, got \"%s\"", b);
        return ERR_INVAL;
    }
    if ((rc == ERR_LIMIT && !neg) || (rc == 0 && v > hi)) {
        msgf(msg, msglen, "value too large (max %" PRId64 ")", hi);
        return ERR_INVAL;
    }
    if (rc == ERR_LIMIT || v < lo) {
        msgf(msg, msglen, "value too small (min %" PRId64 ")", lo);
        return ERR_INVAL;
    }
    memcpy(p, &v, sizeof(v));
    return 0;
}

static int set_units(const struct conf_item *it, const char *s, void *p, char *msg, size_t msglen)
{
    bool size = it->type == CONF_SIZE;
    uint64_t v = 0;
    int rc = parse_units(s, size ? g_size_units : g_dur_units, &v);
    if (rc == ERR_INVAL) {
        char b[48];
        show(s, strlen(s), b, sizeof(b));
        msgf(msg, msglen, "expected a %s, got \"%s\"", size ? "size like 64 MiB" : "duration like 30s",
             b);
        return ERR_INVAL;
    }
    if (rc == ERR_LIMIT)
        v = UINT64_MAX; /* reported as too large against the effective max */
    rc = range_u(it, v, size ? conf_format_size : conf_format_duration, msg, msglen);
    if (rc == 0)
        memcpy(p, &v, sizeof(v));
    return rc;
}

static int set_enum(const struct conf_item *it, const char *s, void *p, char *msg, size_t msglen)
{
    for (int i = 0; it->choices != NULL && it->choices[i] != NULL; i++) {
        if (strcmp(s, it->choices[i]) == 0) {
            memcpy(p, &i, sizeof(i));
            return 0;
        }
    }
    size_t n = 0;
    n += (size_t)snprintf(msg, msglen, "expected one of");
    for (int i = 0; it->choices != NULL && it->choices[i] != NULL && n < msglen; i++)
        n += (size_t)snprintf(msg + n, msglen - n, "%s %s", i ? "," : "", it->choices[i]);
    if (n < msglen) {
        char b[48];
        show(s, strlen(s), b, sizeof(b));
        snprintf(msg + n, msglen - n, "; got \"%s\"", b);
    }
    return ERR_INVAL;
}

/* Parses s (length len, may hold NULs when it comes from YAML escapes) for item it and
 * stores the value at base + it->offset. On error writes a message without prefix. */
static int parse_value(const struct conf_item *it, const char *s, size_t len, void *base,
                       char *msg, size_t msglen)
{
    void *p = (unsigned char *)base + it->offset;
    if (memchr(s, '\0', len) != NULL) {
        msgf(msg, msglen, "contains a NUL byte");
        return ERR_INVAL;
    }
    switch (it->type) {
    case CONF_BOOL: {
        bool b;
        if (parse_bool(s, &b) != 0) {
            char sh[48];
            show(s, len, sh, sizeof(sh));
            msgf(msg, msglen, "expected true or false (yes/no, on/off), got \"%s\"", sh);
            return ERR_INVAL;
        }
        memcpy(p, &b, sizeof(b));
        return 0;
    }
    case CONF_INT:
        return set_int(it, s, p, msg, msglen);
    case CONF_SIZE:
    case CONF_DURATION:
        return set_units(it, s, p, msg, msglen);
    case CONF_STRING:
        if (len > CONF_STR_MAX - 1) {
            msgf(msg, msglen, "too long (max %d bytes)", CONF_STR_MAX - 1);
            return ERR_INVAL;
        }
        if (!text_ok((const unsigned char *)s, len)) {
            msgf(msg, msglen, "contains a control character or invalid UTF-8");
            return ERR_INVAL;
        }
        memset(p, 0, CONF_STR_MAX);
        memcpy(p, s, len);
        return 0;
    case CONF_ENUM:
        return set_enum(it, s, p, msg, msglen);
    }
    msgf(msg, msglen, "bad item type");
    return ERR_INVAL;
}

/* ---- public: defaults, set, find ------------------------------------------------------- */

const struct conf_item *conf_find(const struct conf_item *tab, const char *name)
{
    for (const struct conf_item *it = tab; it->name != NULL; it++)
        if (strcmp(it->name, name) == 0)
            return it;
    return NULL;
}

int conf_defaults(const struct conf_item *tab, void *dst)
{
    char msg[256];
    for (const struct conf_item *it = tab; it->name != NULL; it++) {
        memset((unsigned char *)dst + it->offset, 0, item_size(it));
        if (it->def != NULL && parse_value(it, it->def, strlen(it->def), dst, msg, sizeof(msg)))
            return ERR_INVAL; /* a bug in the table; the unit tests load every default */
    }
    return 0;
}

int conf_set(const struct conf_item *tab, void *dst, const char *name, const char *value,
             char *err, size_t errlen)
{
    char msg[512], nm[48];
    const struct conf_item *it = conf_find(tab, name);
    show(name, strlen(name), nm, sizeof(nm));
    if (it == NULL) {
        snprintf(err, errlen, "%s: unknown setting", nm);
        return ERR_INVAL;
    }
    if (parse_value(it, value, strlen(value), dst, msg, sizeof(msg)) != 0) {
        snprintf(err, errlen, "%s: %s", nm, msg);
        return ERR_INVAL;
    }
    return 0;
}

/* ---- YAML loading ---------------------------------------------------------------------- */

struct ld {
    const struct conf_item *tab;
    unsigned char *work; /* scratch copy of the destination */
    const char *file;
    const char *buf; /* the input, to turn a reader error's byte offset into a line */
    size_t len;
    char *err;
    size_t errlen;
    uint64_t *seen; /* per item: bit k = section with k dots seen, bit 63 = the setting */
    const char *const *skip; /* top-level keys left to another reader (NULL: none) */
    unsigned skipped;        /* bit i: skip[i] was seen (a duplicate is an error) */
    yaml_parser_t yp;
    char path[CONF_NAME_MAX];
    int docs;
};

static void ld_err(struct ld *l, size_t line0, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void ld_err(struct ld *l, size_t line0, const char *name, const char *fmt, ...)
{
    char msg[512], nm[48];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (name == NULL) {
        snprintf(l->err, l->errlen, "%s:%zu: %s", l->file, line0 + 1, msg);
        return;
    }
    show(name, strlen(name), nm, sizeof(nm));
    snprintf(l->err, l->errlen, "%s:%zu: %s: %s", l->file, line0 + 1, nm, msg);
}

static int next_event(struct ld *l, yaml_event_t *ev)
{
    if (yaml_parser_parse(&l->yp, ev))
        return 0;
    yaml_parser_t *p = &l->yp;
    if (p->error == YAML_MEMORY_ERROR) {
        snprintf(l->err, l->errlen, "%s: out of memory", l->file);
        return ERR_NOMEM;
    }
    /* Reader errors (bad encoding) carry a byte offset instead of a mark. */
    size_t line = p->problem_mark.line;
    if (p->error == YAML_READER_ERROR) {
        line = 0;
        for (size_t i = 0; i < p->problem_offset && i < l->len; i++)
            line += l->buf[i] == '\n';
    }
    const char *prob = p->problem ? p->problem : "syntax error";
    if (p->context != NULL)
        ld_err(l, line, NULL, "%s %s", p->context, prob);
    else
        ld_err(l, line, NULL, "%s", prob);
    return ERR_INVAL;
}

static bool is_null(const yaml_event_t *ev)
{
    if (ev->type != YAML_SCALAR_EVENT || ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    const char *v = (const char *)ev->data.scalar.value;
    return v[0] == '\0' || strcmp(v, "~") == 0 || strcmp(v, "null") == 0;
}

/* Index of the first item whose name starts with section + '.', or -1. */
static long find_section(const struct conf_item *tab, const char *sec, size_t len)
{
    for (const struct conf_item *it = tab; it->name != NULL; it++)
        if (strncmp(it->name, sec, len) == 0 && it->name[len] == '.')
            return it - tab;
    return -1;
}

/* Marks (idx, bit) seen; returns true when it already was. */
static bool seen_before(struct ld *l, long idx, unsigned bit)
{
    uint64_t m = 1ull << bit;
    bool was = (l->seen[idx] & m) != 0;
    l->seen[idx] |= m;
    return was;
}

static int load_mapping(struct ld *l, size_t plen, int depth);

/* Handles the value of a leaf key (a setting). key_line0 is the key's 0-based line. */
static int load_leaf(struct ld *l, const struct conf_item *it, size_t key_line0)
{
    yaml_event_t v;
    char msg[512];
    int rc = next_event(l, &v);
    if (rc != 0)
        return rc;
    rc = ERR_INVAL;
    if (v.type == YAML_SCALAR_EVENT) {
        rc = parse_value(it, (const char *)v.data.scalar.value, v.data.scalar.length, l->work,
                         msg, sizeof(msg));
        if (rc != 0)
            ld_err(l, v.start_mark.line, it->name, "%s", msg);
    } else if (v.type == YAML_ALIAS_EVENT) {
        ld_err(l, v.start_mark.line, it->name, "aliases are not supported");
    } else {
        ld_err(l, key_line0, it->name, "not a scalar (got a %s)",
               v.type == YAML_SEQUENCE_START_EVENT ? "list" : "mapping");
    }
    yaml_event_delete(&v);
    return rc;
}

/* Handles the value of a section key (a prefix of some setting names). */
static int load_section(struct ld *l, size_t nlen, int depth, size_t key_line0)
{
    yaml_event_t v;
    int rc = next_event(l, &v);
    if (rc != 0)
        return rc;
    if (v.type == YAML_MAPPING_START_EVENT && depth + 1 > CONF_DEPTH_MAX) {
        ld_err(l, v.start_mark.line, l->path, "nesting deeper than %d levels", CONF_DEPTH_MAX);
        rc = ERR_INVAL;
    } else if (v.type == YAML_MAPPING_START_EVENT) {
        rc = load_mapping(l, nlen, depth + 1);
    } else if (v.type == YAML_ALIAS_EVENT) {
        ld_err(l, v.start_mark.line, l->path, "aliases are not supported");
        rc = ERR_INVAL;
    } else if (!is_null(&v)) { /* "flow:" alone is an empty section */
        ld_err(l, key_line0, l->path, "is a section, expected a mapping");
        rc = ERR_INVAL;
    }
    yaml_event_delete(&v);
    return rc;
}

/* Consumes the value of a skipped key (a scalar, or a whole list or mapping). */
static int skip_value(struct ld *l)
{
    int depth = 0;
    do {
        yaml_event_t v;
        int rc = next_event(l, &v);
        if (rc != 0)
            return rc;
        switch (v.type) {
        case YAML_MAPPING_START_EVENT:
        case YAML_SEQUENCE_START_EVENT:
            depth++;
            break;
        case YAML_MAPPING_END_EVENT:
        case YAML_SEQUENCE_END_EVENT:
            depth--;
            break;
        case YAML_ALIAS_EVENT:
            ld_err(l, v.start_mark.line, l->path, "aliases are not supported");
            yaml_event_delete(&v);
            return ERR_INVAL;
        default:
            break;
        }
        yaml_event_delete(&v);
    } while (depth > 0);
    return 0;
}

/* Handles one key event k of a mapping whose dotted prefix is path[0..plen). */
static int load_key(struct ld *l, const yaml_event_t *k, size_t plen, int depth)
{
    const char *key = (const char *)k->data.scalar.value;
    size_t klen = k->data.scalar.length, line0 = k->start_mark.line;
    size_t nlen = plen + (plen ? 1 : 0) + klen;
    if (nlen >= sizeof(l->path) || memchr(key, '\0', klen) != NULL) {
        l->path[plen] = '\0';
        ld_err(l, line0, plen ? l->path : NULL, "key too long or not text");
        return ERR_INVAL;
    }
    if (plen)
        l->path[plen] = '.';
    memcpy(l->path + plen + (plen ? 1 : 0), key, klen);
    l->path[nlen] = '\0';

    for (unsigned i = 0; plen == 0 && l->skip != NULL && i < 32 && l->skip[i] != NULL; i++) {
        if (strcmp(l->skip[i], l->path) != 0)
            continue;
        if (l->skipped & (1u << i)) {
            ld_err(l, line0, l->path, "duplicate key");
            return ERR_INVAL;
        }
        l->skipped |= 1u << i;
        return skip_value(l);
    }
    const struct conf_item *it = conf_find(l->tab, l->path);
    long idx = it ? it - l->tab : find_section(l->tab, l->path, nlen);
    unsigned dots = 0;
    for (size_t i = 0; i < nlen; i++)
        dots += l->path[i] == '.';
    if (idx < 0 || (it == NULL && dots >= 63)) {
        ld_err(l, line0, l->path, "unknown setting");
        return ERR_INVAL;
    }
    if (seen_before(l, idx, it ? 63 : dots)) {
        ld_err(l, line0, l->path, "duplicate key");
        return ERR_INVAL;
    }
    return it ? load_leaf(l, it, line0) : load_section(l, nlen, depth, line0);
}

/* Reads key/value pairs until the end of the current mapping. */
static int load_mapping(struct ld *l, size_t plen, int depth)
{
    for (;;) {
        yaml_event_t k;
        int rc = next_event(l, &k);
        if (rc != 0)
            return rc;
        if (k.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&k);
            return 0;
        }
        if (k.type == YAML_SCALAR_EVENT) {
            rc = load_key(l, &k, plen, depth);
        } else {
            l->path[plen] = '\0';
            ld_err(l, k.start_mark.line, plen ? l->path : NULL, "%s",
                   k.type == YAML_ALIAS_EVENT ? "aliases are not supported"
                                              : "keys must be plain names");
            rc = ERR_INVAL;
        }
        yaml_event_delete(&k);
        if (rc != 0)
            return rc;
    }
}

static int load_stream(struct ld *l)
{
    for (;;) {
        yaml_event_t ev;
        int rc = next_event(l, &ev);
        if (rc != 0)
            return rc;
        size_t line0 = ev.start_mark.line;
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            yaml_event_delete(&ev);
            return 0;
        case YAML_DOCUMENT_START_EVENT:
            if (++l->docs > 1) {
                ld_err(l, line0, NULL, "only one YAML document is allowed");
                rc = ERR_INVAL;
            }
            break;
        case YAML_MAPPING_START_EVENT:
            rc = load_mapping(l, 0, 1);
            break;
        case YAML_ALIAS_EVENT:
        case YAML_SEQUENCE_START_EVENT:
        case YAML_SCALAR_EVENT:
            if (!is_null(&ev)) {
                ld_err(l, line0, NULL, "expected a mapping of settings at the top level");
                rc = ERR_INVAL;
            }
            break;
        default:
            break;
        }
        yaml_event_delete(&ev);
        if (rc != 0)
            return rc;
    }
}

int conf_load_buf(const struct conf_item *tab, void *dst, const char *name, const char *buf,
                  size_t len, char *err, size_t errlen)
{
    return conf_load_buf_skip(tab, dst, name, buf, len, NULL, err, errlen);
}

int conf_load_buf_skip(const struct conf_item *tab, void *dst, const char *name, const char *buf,
                       size_t len, const char *const *skip, char *err, size_t errlen)
{
    int rc = ERR_NOMEM;
    struct ld l = {.tab = tab, .file = name, .buf = buf, .len = len, .err = err, .errlen = errlen,
                   .skip = skip};
    size_t n = 0, end = 1;
    bool yp_init = false;
    for (const struct conf_item *it = tab; it->name != NULL; it++, n++)
        if (it->offset + item_size(it) > end)
            end = it->offset + item_size(it);
    if (len > CONF_FILE_MAX) {
        snprintf(err, errlen, "%s: file too large (max %u bytes)", name, CONF_FILE_MAX);
        return ERR_INVAL;
    }
    l.work = xalloc(MEM_CONF, end);
    l.seen = xcalloc(MEM_CONF, n ? n : 1, sizeof(*l.seen));
    if (l.work == NULL || l.seen == NULL || !yaml_parser_initialize(&l.yp)) {
        snprintf(err, errlen, "%s: out of memory", name);
        goto out;
    }
    yp_init = true;
    memcpy(l.work, dst, end);
    yaml_parser_set_input_string(&l.yp, (const unsigned char *)(buf ? buf : ""), buf ? len : 0);
    rc = load_stream(&l);
    if (rc == 0)
        memcpy(dst, l.work, end);
out:
    if (yp_init)
        yaml_parser_delete(&l.yp);
    xfree(l.seen);
    xfree(l.work);
    return rc;
}

/* Reads a whole file (at most CONF_FILE_MAX bytes) into an xalloc'd buffer. */
static int slurp(int fd, char **out, size_t *outlen)
{
    size_t cap = 4096, len = 0;
    char *buf = xalloc(MEM_CONF, cap);
    if (buf == NULL)
        return ERR_NOMEM;
    for (;;) {
        if (len == cap) {
            if (cap > CONF_FILE_MAX) {
                xfree(buf);
                return ERR_LIMIT;
            }
            char *nb = xrealloc(MEM_CONF, buf, cap * 2);
            if (nb == NULL) {
                xfree(buf);
                return ERR_NOMEM;
            }
            buf = nb;
            cap *= 2;
        }
        ssize_t r = read(fd, buf + len, cap - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            xfree(buf);
            return ERR_IO;
        }
        if (r == 0)
            break;
        len += (size_t)r;
    }
    *out = buf;
    *outlen = len;
    return 0;
}

int conf_load_file(const struct conf_item *tab, void *dst, const char *path, char *err,
                   size_t errlen)
{
    return conf_load_file_skip(tab, dst, path, NULL, err, errlen);
}

int conf_load_file_skip(const struct conf_item *tab, void *dst, const char *path,
                        const char *const *skip, char *err, size_t errlen)
{
    char *buf = NULL;
    size_t len = 0;
    int rc = ERR_IO;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return ERR_IO;
    }
    rc = slurp(fd, &buf, &len);
    if (rc == ERR_IO)
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
    else if (rc == ERR_LIMIT)
        snprintf(err, errlen, "%s: file too large (max %u bytes)", path, CONF_FILE_MAX);
    else if (rc != 0)
        snprintf(err, errlen, "%s: out of memory", path);
    else
        rc = conf_load_buf_skip(tab, dst, path, buf, len, skip, err, errlen);
    close(fd);
    xfree(buf);
    return rc == ERR_LIMIT ? ERR_INVAL : rc;
}

/* ---- printing -------------------------------------------------------------------------- */

static void format_units(uint64_t v, const struct unit *units, size_t nunits, const char *sep,
                         char *out, size_t outlen)
{
    /* units[] is sorted by increasing multiplier; pick the largest that divides v. */
    const struct unit *best = &units[0];
    for (size_t i = 0; i < nunits; i++)
        if (v != 0 && v % units[i].mult == 0 && units[i].mult >= best->mult)
            best = &units[i];
    snprintf(out, outlen, "%" PRIu64 "%s%s", v / best->mult, sep, best->name);
}

void conf_format_size(uint64_t bytes, char *out, size_t outlen)
{
    static const struct unit u[] = {
        {"B", 1}, {"KiB", 1ull << 10}, {"MiB", 1ull << 20}, {"GiB", 1ull << 30}, {"TiB", 1ull << 40}};
    format_units(bytes, u, sizeof(u) / sizeof(u[0]), " ", out, outlen);
}

void conf_format_duration(uint64_t us, char *out, size_t outlen)
{
    static const struct unit u[] = {{"us", 1},           {"ms", 1000},          {"s", 1000000},
                                    {"m", 60000000},     {"h", 3600000000ull}, {"d", 86400000000ull}};
    if (us == 0) {
        snprintf(out, outlen, "0s");
        return;
    }
    format_units(us, u, sizeof(u) / sizeof(u[0]), "", out, outlen);
}

static bool plain_ok(const char *s)
{
    static const char *const reserved[] = {"y", "n", "yes", "no", "true", "false",
                                           "on", "off", "null", NULL};
    char c = s[0];
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '/'))
        return false;
    for (const char *p = s; *p; p++) {
        c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '/' || c == '.' || c == '-'))
            return false;
    }
    for (int i = 0; reserved[i]; i++)
        if (eq_nocase(s, reserved[i]))
            return false;
    return true;
}

/* Writes s as a YAML scalar: plain when unambiguous, else double-quoted with escapes for
 * what libyaml would not read back verbatim. */
/* Cognitive complexity over 25: to bring down (docs/internals/lint.md). */
// NOLINTNEXTLINE(readability-function-cognitive-complexity)
static void quote(const char *s, size_t len, char *out, size_t outlen)
{
    if (len > 0 && plain_ok(s)) {
        snprintf(out, outlen, "%s", s);
        return;
    }
    size_t n = 0;
    const unsigned char *u = (const unsigned char *)s;
    if (outlen < 3) {
        if (outlen)
            out[0] = '\0';
        return;
    }
    out[n++] = '"';
    for (size_t i = 0; i < len && n + 8 < outlen; i++) {
        unsigned c = u[i];
        uint32_t cp = 0;
        if (c == 0xe2 && i + 2 < len && u[i + 1] == 0x80 && (u[i + 2] == 0xa8 || u[i + 2] == 0xa9))
            cp = u[i + 2] == 0xa8 ? 0x2028 : 0x2029; /* YAML line separators */
        else if (c == 0xef && i + 2 < len && u[i + 1] == 0xbb && u[i + 2] == 0xbf)
            cp = 0xfeff;
        else if (c == 0xef && i + 2 < len && u[i + 1] == 0xbf && (u[i + 2] & 0xfe) == 0xbe)
            cp = 0xfffe | (u[i + 2] & 1u);
        if (cp != 0) {
            n += (size_t)snprintf(out + n, outlen - n, "\\u%04X", (unsigned)cp);
            i += 2;
        } else if (c == '"' || c == '\\') {
            out[n++] = '\\';
            out[n++] = (char)c;
        } else if (c == '\t') {
            out[n++] = '\\';
            out[n++] = 't';
        } else if (c < 0x20 || c == 0x7f) {
            n += (size_t)snprintf(out + n, outlen - n, "\\x%02X", c);
        } else {
            out[n++] = (char)c;
        }
    }
    out[n++] = '"';
    out[n] = '\0';
}

void conf_format_value(const struct conf_item *it, const void *src, char *out, size_t outlen)
{
    const unsigned char *p = (const unsigned char *)src + it->offset;
    switch (it->type) {
    case CONF_BOOL: {
        bool b;
        memcpy(&b, p, sizeof(b));
        snprintf(out, outlen, "%s", b ? "true" : "false");
        return;
    }
    case CONF_INT: {
        int64_t v;
        memcpy(&v, p, sizeof(v));
        snprintf(out, outlen, "%" PRId64, v);
        return;
    }
    case CONF_SIZE:
    case CONF_DURATION: {
        uint64_t v;
        memcpy(&v, p, sizeof(v));
        (it->type == CONF_SIZE ? conf_format_size : conf_format_duration)(v, out, outlen);
        return;
    }
    case CONF_STRING:
        quote((const char *)p, strnlen((const char *)p, CONF_STR_MAX - 1), out, outlen);
        return;
    case CONF_ENUM: {
        int v, n = 0;
        memcpy(&v, p, sizeof(v));
        while (it->choices != NULL && it->choices[n] != NULL)
            n++;
        if (v >= 0 && v < n)
            quote(it->choices[v], strlen(it->choices[v]), out, outlen);
        else
            snprintf(out, outlen, "\"?\"");
        return;
    }
    }
    snprintf(out, outlen, "\"?\"");
}

void conf_print(const struct conf_item *tab, const void *src, FILE *out)
{
    char v[CONF_VALUE_MAX];
    for (const struct conf_item *it = tab; it->name != NULL; it++) {
        conf_format_value(it, src, v, sizeof(v));
        fprintf(out, "%s: %s\n", it->name, v);
    }
}

static const char *type_name(enum conf_type t)
{
    static const char *const names[] = {"bool", "integer", "size", "duration", "string", "enum"};
    return (unsigned)t < sizeof(names) / sizeof(names[0]) ? names[t] : "?";
}

static void help_range(const struct conf_item *it, FILE *out)
{
    char lo[32], hi[32];
    if (it->type == CONF_INT && bounded(it)) {
        fprintf(out, ", range %" PRId64 " .. %" PRId64, it->min, it->max);
    } else if ((it->type == CONF_SIZE || it->type == CONF_DURATION) && bounded(it)) {
        uint64_t a, b;
        void (*fmt)(uint64_t, char *, size_t) =
            it->type == CONF_SIZE ? conf_format_size : conf_format_duration;
        ubounds(it, &a, &b);
        fmt(a, lo, sizeof(lo));
        fmt(b, hi, sizeof(hi));
        fprintf(out, ", range %s .. %s", lo, hi);
    } else if (it->type == CONF_ENUM) {
        fprintf(out, ", one of");
        for (int i = 0; it->choices != NULL && it->choices[i] != NULL; i++)
            fprintf(out, "%s %s", i ? "," : "", it->choices[i]);
    }
}

void conf_help(const struct conf_item *tab, FILE *out)
{
    for (const struct conf_item *it = tab; it->name != NULL; it++) {
        fprintf(out, "%s (%s, default %s", it->name, type_name(it->type),
                it->def != NULL ? (it->def[0] ? it->def : "\"\"") : "none");
        help_range(it, out);
        fprintf(out, ")\n    %s\n", it->help != NULL ? it->help : "");
    }
}
