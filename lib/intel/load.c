/*
 * List loaders: plain, CSV, maltrail, abuse.ch CSV, Suricata iprep and dataset files.
 *
 * Each loader is a line parser over a bounded line source (a memory buffer, or a file
 * read in 64 KiB chunks): a line longer than INTEL_MAX_LINE is rejected and skipped to
 * its end, never buffered whole. A bad line is counted in the stats, the first one is
 * kept as "origin:line: reason" and the first few are logged; the list goes on. Only
 * running out of memory stops a load (the set is then broken and must be dropped).
 * Formats are documented in docs/internals/intel.md.
 */
#include "intel/intel_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "otasuke/alloc.h"
#include "otasuke/err.h"
#include "otasuke/log.h"

#define CHUNK                65536
#define LOG_FIRST_ERRORS     3
#define IPREP_MAX_CATEGORIES 256

/* ---- line source ---------------------------------------------------------------------- */

struct lines {
    FILE *f;
    const uint8_t *mem;
    size_t mem_len, mem_off;
    uint8_t *buf;
    size_t len, off;
    bool eof, io_error;
    uint64_t lineno;
};

/* Next line from memory: returns false at the end. */
static bool mem_next(struct lines *lr, const char **line, size_t *n)
{
    if (lr->mem_off >= lr->mem_len)
        return false;
    const uint8_t *p = lr->mem + lr->mem_off;
    size_t left = lr->mem_len - lr->mem_off;
    const uint8_t *nl = memchr(p, '\n', left);
    size_t len = nl ? (size_t)(nl - p) : left;
    lr->mem_off += len + (nl ? 1 : 0);
    *line = (const char *)p;
    *n = len;
    return true;
}

static void file_fill(struct lines *lr)
{
    if (lr->off > 0) {
        memmove(lr->buf, lr->buf + lr->off, lr->len - lr->off);
        lr->len -= lr->off;
        lr->off = 0;
    }
    size_t got = fread(lr->buf + lr->len, 1, CHUNK - lr->len, lr->f);
    lr->len += got;
    if (got == 0) {
        lr->eof = true;
        lr->io_error = ferror(lr->f) != 0;
    }
}

/* Drops the rest of an overlong line: reads until its newline or the end. */
static void skip_line(struct lines *lr)
{
    for (;;) {
        lr->off = lr->len;
        file_fill(lr);
        const uint8_t *e = memchr(lr->buf, '\n', lr->len);
        if (e != NULL || lr->eof) {
            lr->off = e ? (size_t)(e - lr->buf) + 1 : lr->len;
            return;
        }
    }
}

/* Next line from the file; a line over INTEL_MAX_LINE comes back with *n beyond it
 * (only its first INTEL_MAX_LINE bytes are readable) and the rest is skipped. */
static bool file_next(struct lines *lr, const char **line, size_t *n)
{
    for (;;) {
        uint8_t *p = lr->buf + lr->off;
        size_t left = lr->len - lr->off;
        const uint8_t *nl = memchr(p, '\n', left);
        if (nl != NULL || (lr->eof && left > 0)) {
            size_t len = nl ? (size_t)(nl - p) : left;
            lr->off += len + (nl ? 1 : 0);
            *line = (const char *)p;
            *n = len;
            return true;
        }
        if (lr->eof)
            return false;
        if (left > INTEL_MAX_LINE) { /* overlong: report it, then drop up to its end */
            *line = (const char *)p;
            *n = left;
            skip_line(lr);
            return true;
        }
        file_fill(lr);
    }
}

static bool lines_next(struct lines *lr, const char **line, size_t *n)
{
    bool ok = lr->f ? file_next(lr, line, n) : mem_next(lr, line, n);
    if (ok)
        lr->lineno++;
    return ok;
}

/* ---- per-load context --------------------------------------------------------------- */

struct ctx {
    struct intel_set *s;
    unsigned list;
    const struct intel_list_conf *conf;
    const char *origin;
    struct intel_load_stats *st;
    struct lines lr;
    struct intel_ind ind;
    /* abusech: the header's column of the indicator, and a type column (ThreatFox) */
    unsigned col, type_col;
    enum intel_type col_type;
    /* iprep: category id -> wanted */
    bool cat_known[IPREP_MAX_CATEGORIES], cat_want[IPREP_MAX_CATEGORIES];
    bool have_cats;
};

static void reject(struct ctx *c, const char *why)
{
    c->st->rejected++;
    if (c->st->rejected == 1)
        snprintf(c->st->first_error, sizeof(c->st->first_error), "%s:%llu: %s", c->origin,
                 (unsigned long long)c->lr.lineno, why);
    if (c->st->rejected <= LOG_FIRST_ERRORS)
        log_warn("intel", "list=%s %s:%llu: %s", c->conf->name ? c->conf->name : "?", c->origin,
                 (unsigned long long)c->lr.lineno, why);
}

/* Adds text t[0..n) as `type`; returns ERR_NOMEM only, bad text is counted. */
static int add_text(struct ctx *c, enum intel_type type, const char *t, size_t n)
{
    const char *why;
    if (intel_parse(type, t, n, &c->ind, &why) != 0) {
        reject(c, why);
        return 0;
    }
    int rc = intel_set_add_ind(c->s, c->list, &c->ind);
    if (rc != 0)
        return rc;
    c->st->loaded++;
    c->st->by_kind[c->ind.kind]++;
    return 0;
}

static bool is_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\v' || ch == '\f';
}

static void trim(const char **t, size_t *n)
{
    while (*n > 0 && is_space((*t)[0])) {
        (*t)++;
        (*n)--;
    }
    while (*n > 0 && is_space((*t)[*n - 1]))
        (*n)--;
}

/* Cuts a "# comment" tail: '#' at the start or after white space. */
static void cut_comment(const char *t, size_t *n)
{
    for (size_t i = 0; i < *n; i++)
        if (t[i] == '#' && (i == 0 || is_space(t[i - 1]))) {
            *n = i;
            return;
        }
}

/* The first white-space separated token of t[0..n); *rest gets what follows. */
static size_t token(const char *t, size_t n, const char **rest, size_t *rn)
{
    size_t i = 0;
    while (i < n && !is_space(t[i]))
        i++;
    *rest = t + i;
    *rn = n - i;
    trim(rest, rn);
    return i;
}

static bool is_sink_addr(const char *t, size_t n)
{
    static const char *const sinks[] = {"0.0.0.0", "127.0.0.1", "::", "::1", "0:0:0:0:0:0:0:0"};
    for (size_t i = 0; i < sizeof(sinks) / sizeof(sinks[0]); i++)
        if (strlen(sinks[i]) == n && memcmp(sinks[i], t, n) == 0)
            return true;
    return false;
}

static bool is_local_name(const char *t, size_t n)
{
    static const char *const names[] = {"localhost",     "localhost.localdomain", "local",
                                        "broadcasthost", "ip6-localhost",         "ip6-loopback",
                                        "0.0.0.0"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strlen(names[i]) == n && strncasecmp(names[i], t, n) == 0)
            return true;
    return false;
}

/* Offset of the first byte of t[0..n) that is in `set`, or n. */
static size_t strcspn_n(const char *t, size_t n, const char *set)
{
    for (size_t i = 0; i < n; i++)
        if (strchr(set, t[i]) != NULL && t[i] != '\0')
            return i;
    return n;
}

static bool all_digits(const char *t, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (t[i] < '0' || t[i] > '9')
            return false;
    return true;
}

/* ---- plain and maltrail --------------------------------------------------------------- */

/* One line of a plain list (also maltrail): comments, hosts lines "0.0.0.0 name",
 * adblock lines "||host/path^$opts", "ip<TAB>count" (ipsum). */
static int plain_line(struct ctx *c, const char *t, size_t n)
{
    trim(&t, &n);
    if (n == 0 || t[0] == '#' || t[0] == '!')
        return 0;
    if (t[0] == '[' && t[n - 1] == ']') { /* "[Adblock Plus 2.0]" */
        c->st->skipped++;
        return 0;
    }
    if (c->conf->format == INTEL_FMT_MALTRAIL) { /* maltrail cuts at any '#' */
        const char *hash = memchr(t, '#', n);
        n = hash ? (size_t)(hash - t) : n;
        if (n > 1 && t[0] != '/' && /* a regex trail (not a literal path): not supported */
            strcspn_n(t + 1, n - 1, "\\()^${}*+[") < n - 1) {
            c->st->skipped++;
            return 0;
        }
    }
    cut_comment(t, &n);
    trim(&t, &n);
    const char *rest;
    size_t rn, tn = token(t, n, &rest, &rn);
    if (rn > 0 && is_sink_addr(t, tn)) { /* hosts format */
        t = rest;
        tn = token(rest, rn, &rest, &rn);
        if (is_local_name(t, tn)) {
            c->st->skipped++;
            return 0;
        }
    }
    if (tn >= 2 && t[0] == '|' && t[1] == '|') { /* adblock "||host/path^$all" */
        t += 2;
        tn -= 2;
        const char *caret = memchr(t, '^', tn);
        tn = caret ? (size_t)(caret - t) : tn;
    }
    if (rn > 0 && !all_digits(rest, rn)) { /* only "ip count" (ipsum) has a second field */
        reject(c, "text after the indicator");
        return 0;
    }
    return add_text(c, c->conf->type, t, tn);
}

/* ---- CSV -------------------------------------------------------------------------------- */

/* Offset just past the delimiter that ends field `col - 1` of t[0..n) (quotes respected),
 * or -1 when the line has fewer fields. */
static long csv_skip(const char *t, size_t n, char delim, unsigned col)
{
    size_t i = 0;
    for (unsigned f = 1; f < col; f++) {
        bool q = false;
        for (; i < n && (q || t[i] != delim); i++)
            if (t[i] == '"')
                q = !q;
        if (i >= n)
            return -1;
        i++;
    }
    return (long)i;
}

/* Field `col` (1-based) of a CSV line with quotes ("" escapes a quote) into out; returns
 * its length, or -1 when the line has fewer fields or a broken quote. */
static long csv_field(const char *t, size_t n, char delim, unsigned col, char *out, size_t cap)
{
    long start = csv_skip(t, n, delim, col);
    if (start < 0)
        return -1;
    size_t i = (size_t)start, o = 0;
    while (i < n && is_space(t[i]))
        i++;
    bool quoted = i < n && t[i] == '"';
    for (i += quoted ? 1 : 0; i < n; i++) {
        if (quoted && t[i] == '"') {
            if (i + 1 >= n || t[i + 1] != '"') {
                quoted = false;
                continue;
            }
            i++;
        } else if (!quoted && t[i] == delim) {
            break;
        }
        if (o >= cap)
            return -1;
        out[o++] = t[i];
    }
    return quoted ? -1 : (long)o;
}

static int csv_take(struct ctx *c, const char *t, size_t n, unsigned col, enum intel_type type)
{
    char field[INTEL_MAX_LINE];
    char delim = c->conf->delimiter;
    if (delim == '\0')
        delim = ',';
    long fl = csv_field(t, n, delim, col, field, sizeof(field));
    if (fl < 0) {
        reject(c, "missing column or unbalanced quote");
        return 0;
    }
    const char *f = field;
    size_t fn = (size_t)fl;
    trim(&f, &fn);
    return add_text(c, type, f, fn);
}

static int csv_line(struct ctx *c, const char *t, size_t n)
{
    trim(&t, &n);
    if (n == 0 || t[0] == '#')
        return 0;
    if (c->conf->header && c->col == 0) {
        c->col = 1; /* the header line is consumed */
        c->st->skipped++;
        return 0;
    }
    return csv_take(c, t, n, c->conf->column ? c->conf->column : 1, c->conf->type);
}

/* ---- abuse.ch ------------------------------------------------------------------------- */

struct colname {
    const char *name;
    enum intel_type type;
};

/* Indicator columns of the abuse.ch exports, by preference. */
static const struct colname abusech_cols[] = {
    {"url", INTEL_TYPE_URL},
    {"ioc_value", INTEL_TYPE_AUTO},
    {"ioc", INTEL_TYPE_AUTO},
    {"dst_ip", INTEL_TYPE_IP},
    {"ip_address", INTEL_TYPE_IP},
    {"ja3_md5", INTEL_TYPE_JA3},
    {"sha256_hash", INTEL_TYPE_SHA256},
    {"sha256", INTEL_TYPE_SHA256},
    {"md5_hash", INTEL_TYPE_MD5},
    {"sha1_hash", INTEL_TYPE_SHA1},
    {"domain", INTEL_TYPE_DOMAIN},
    {"hostname", INTEL_TYPE_DOMAIN},
};

/* Looks for the indicator column in a '#' header line "# a,b,c" (quoted or not);
 * returns true when one was found. */
static bool abusech_header(struct ctx *c, const char *t, size_t n)
{
    char field[256];
    unsigned best = sizeof(abusech_cols) / sizeof(abusech_cols[0]);
    unsigned found = 0, type_col = 0;
    enum intel_type type = INTEL_TYPE_AUTO;
    for (unsigned col = 1; col < 64; col++) {
        long fl = csv_field(t, n, ',', col, field, sizeof(field));
        if (fl < 0)
            break;
        const char *f = field;
        size_t fn = (size_t)fl;
        trim(&f, &fn);
        if (fn == 8 && strncasecmp(f, "ioc_type", 8) == 0)
            type_col = col;
        for (unsigned k = 0; k < best; k++)
            if (strlen(abusech_cols[k].name) == fn &&
                strncasecmp(abusech_cols[k].name, f, fn) == 0) {
                best = k;
                found = col;
                type = abusech_cols[k].type;
            }
    }
    if (found == 0)
        return false;
    c->col = found;
    c->col_type = type;
    c->type_col = type_col;
    return true;
}

/* ThreatFox's ioc_type column: "ip:port", "domain", "url", "md5_hash", "sha256_hash". */
static enum intel_type threatfox_type(const char *t, size_t n, unsigned col)
{
    char f[32];
    long fl = csv_field(t, n, ',', col, f, sizeof(f));
    if (fl <= 0)
        return INTEL_TYPE_AUTO;
    if (fl == 6 && strncasecmp(f, "domain", 6) == 0)
        return INTEL_TYPE_DOMAIN;
    if (fl == 3 && strncasecmp(f, "url", 3) == 0)
        return INTEL_TYPE_URL;
    return INTEL_TYPE_AUTO;
}

static int abusech_line(struct ctx *c, const char *t, size_t n)
{
    trim(&t, &n);
    if (n == 0)
        return 0;
    if (t[0] == '#') {
        t++;
        n--;
        trim(&t, &n);
        if (memchr(t, ',', n) != NULL && c->conf->column == 0)
            abusech_header(c, t, n);
        return 0;
    }
    unsigned col = c->conf->column ? c->conf->column : c->col;
    if (col == 0) {
        reject(c, "no indicator column: no known '#' header and no column configured");
        return 0;
    }
    enum intel_type type = c->conf->type != INTEL_TYPE_AUTO ? c->conf->type : c->col_type;
    if (c->type_col != 0 && c->conf->type == INTEL_TYPE_AUTO)
        type = threatfox_type(t, n, c->type_col);
    return csv_take(c, t, n, col, type);
}

/* ---- Suricata iprep ------------------------------------------------------------------- */

static bool parse_small(const char *t, size_t n, unsigned max, unsigned *v)
{
    unsigned x = 0;
    if (n == 0 || n > 6)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (t[i] < '0' || t[i] > '9')
            return false;
        x = x * 10 + (unsigned)(t[i] - '0');
    }
    *v = x;
    return x <= max;
}

/* Field `col` of a plain comma-separated line (iprep files have no quoting). */
static bool plain_field(const char *t, size_t n, unsigned col, const char **f, size_t *fn)
{
    for (unsigned i = 1; i < col; i++) {
        const char *comma = memchr(t, ',', n);
        if (comma == NULL)
            return false;
        n -= (size_t)(comma + 1 - t);
        t = comma + 1;
    }
    const char *comma = memchr(t, ',', n);
    *f = t;
    *fn = comma ? (size_t)(comma - t) : n;
    trim(f, fn);
    return true;
}

static int iprep_line(struct ctx *c, const char *t, size_t n)
{
    const char *ip, *cat, *score;
    size_t ipn, catn, scoren;
    unsigned cid, sc;
    trim(&t, &n);
    if (n == 0 || t[0] == '#')
        return 0;
    if (!plain_field(t, n, 1, &ip, &ipn) || !plain_field(t, n, 2, &cat, &catn) ||
        !plain_field(t, n, 3, &score, &scoren) || !parse_small(cat, catn, 255, &cid) ||
        !parse_small(score, scoren, 127, &sc)) {
        reject(c, "not \"ip,category,score\" (category 0..255, score 0..127)");
        return 0;
    }
    if (c->have_cats && !c->cat_known[cid]) {
        reject(c, "category id not in the categories file");
        return 0;
    }
    unsigned min = c->conf->min_score ? c->conf->min_score : 1;
    if (sc < min || (c->have_cats && !c->cat_want[cid])) {
        c->st->skipped++;
        return 0;
    }
    return add_text(c, INTEL_TYPE_IP, ip, ipn);
}

/* Reads the iprep categories file "id,shortname,description". */
static int iprep_categories(struct ctx *c)
{
    FILE *f = fopen(c->conf->categories_path, "r");
    char line[512];
    if (f == NULL) {
        log_error("intel", "list=%s cannot open categories file %s: %s", c->conf->name,
                  c->conf->categories_path, strerror(errno));
        return ERR_IO;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        const char *id, *name;
        size_t idn, namen;
        unsigned cid;
        size_t n = strcspn(line, "\r\n");
        if (n == 0 || line[0] == '#' || !plain_field(line, n, 1, &id, &idn) ||
            !plain_field(line, n, 2, &name, &namen) || !parse_small(id, idn, 255, &cid))
            continue;
        c->cat_known[cid] = true;
        const char *want = c->conf->iprep_category;
        c->cat_want[cid] =
            want == NULL || (strlen(want) == namen && strncasecmp(want, name, namen) == 0);
    }
    fclose(f);
    c->have_cats = true;
    return 0;
}

/* ---- Suricata datasets ---------------------------------------------------------------- */

static int b64val(int ch)
{
    if (ch >= 'A' && ch <= 'Z')
        return ch - 'A';
    if (ch >= 'a' && ch <= 'z')
        return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9')
        return ch - '0' + 52;
    if (ch == '+' || ch == '-')
        return 62;
    if (ch == '/' || ch == '_')
        return 63;
    return -1;
}

/* Decodes base64 (standard or URL alphabet, '=' padding optional); returns the length
 * or -1. */
static long b64_decode(const char *t, size_t n, uint8_t *out, size_t cap)
{
    uint32_t acc = 0;
    unsigned bits = 0;
    size_t o = 0;
    while (n > 0 && t[n - 1] == '=')
        n--;
    for (size_t i = 0; i < n; i++) {
        int v = b64val((unsigned char)t[i]);
        if (v < 0)
            return -1;
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o >= cap)
                return -1;
            out[o++] = (uint8_t)(acc >> bits);
        }
    }
    return bits >= 6 ? -1 : (long)o;
}

static int dataset_line(struct ctx *c, const char *t, size_t n)
{
    static const enum intel_type types[] = {[INTEL_DS_MD5] = INTEL_TYPE_MD5,
                                            [INTEL_DS_SHA256] = INTEL_TYPE_SHA256,
                                            [INTEL_DS_IPV4] = INTEL_TYPE_IP,
                                            [INTEL_DS_IPV6] = INTEL_TYPE_IP};
    trim(&t, &n);
    if (n == 0 || t[0] == '#')
        return 0;
    const char *comma = memchr(t, ',', n); /* datarep: "value,reputation" */
    if (comma != NULL)
        n = (size_t)(comma - t);
    enum intel_dataset_type dt = c->conf->dataset_type;
    if (dt != INTEL_DS_STRING) {
        if ((unsigned)dt >= sizeof(types) / sizeof(types[0]))
            return 0;
        bool v6 = memchr(t, ':', n) != NULL;
        if ((dt == INTEL_DS_IPV4 && v6) || (dt == INTEL_DS_IPV6 && !v6)) {
            reject(c, "address of the wrong family for the dataset type");
            return 0;
        }
        return add_text(c, types[dt], t, n);
    }
    char dec[INTEL_MAX_LINE];
    long dn = b64_decode(t, n, (uint8_t *)dec, sizeof(dec));
    if (dn < 0) {
        reject(c, "not base64");
        return 0;
    }
    return add_text(c, c->conf->type, dec, (size_t)dn);
}

/* ---- driver ----------------------------------------------------------------------------- */

static int one_line(struct ctx *c, const char *t, size_t n)
{
    switch (c->conf->format) {
    case INTEL_FMT_PLAIN:
    case INTEL_FMT_MALTRAIL:
        return plain_line(c, t, n);
    case INTEL_FMT_CSV:
        return csv_line(c, t, n);
    case INTEL_FMT_ABUSECH:
        return abusech_line(c, t, n);
    case INTEL_FMT_IPREP:
        return iprep_line(c, t, n);
    case INTEL_FMT_DATASET:
        return dataset_line(c, t, n);
    default:
        return ERR_INVAL;
    }
}

static int run(struct ctx *c)
{
    const char *t;
    size_t n;
    if (c->conf->format > INTEL_FMT_DATASET)
        return ERR_INVAL;
    if (c->conf->format == INTEL_FMT_IPREP && c->conf->categories_path != NULL) {
        int rc = iprep_categories(c);
        if (rc != 0)
            return rc;
    }
    while (lines_next(&c->lr, &t, &n)) {
        c->st->lines++;
        if (n > INTEL_MAX_LINE) {
            reject(c, "line too long");
            continue;
        }
        if (n > 0 && t[n - 1] == '\r')
            n--;
        if (c->lr.lineno == 1 && n >= 3 && memcmp(t, "\xef\xbb\xbf", 3) == 0) { /* BOM */
            t += 3;
            n -= 3;
        }
        int rc = one_line(c, t, n);
        if (rc != 0)
            return rc;
    }
    if (c->lr.io_error) {
        log_error("intel", "list=%s read error in %s", c->conf->name, c->origin);
        return ERR_IO;
    }
    if (c->st->rejected > LOG_FIRST_ERRORS)
        log_warn("intel", "list=%s %s: %llu bad lines skipped in all", c->conf->name, c->origin,
                 (unsigned long long)c->st->rejected);
    return 0;
}

static struct ctx *ctx_new(struct intel_set *s, unsigned list, const struct intel_list_conf *conf,
                           const char *origin, struct intel_load_stats *st)
{
    struct ctx *c = xcalloc(MEM_INTEL, 1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->s = s;
    c->list = list;
    c->conf = conf;
    c->origin = origin ? origin : "(buffer)";
    c->st = st;
    return c;
}

int intel_set_load_buf(struct intel_set *s, unsigned list, const struct intel_list_conf *conf,
                       const char *origin, const uint8_t *buf, size_t len,
                       struct intel_load_stats *st)
{
    struct ctx *c = ctx_new(s, list, conf, origin, st);
    if (c == NULL)
        return ERR_NOMEM;
    c->lr.mem = buf;
    c->lr.mem_len = len;
    int rc = run(c);
    xfree(c);
    return rc;
}

int intel_set_load_file(struct intel_set *s, unsigned list, const struct intel_list_conf *conf,
                        struct intel_load_stats *st)
{
    int rc = ERR_NOMEM;
    struct ctx *c = ctx_new(s, list, conf, conf->path, st);
    if (c == NULL)
        goto out;
    c->lr.buf = xalloc(MEM_INTEL, CHUNK);
    if (c->lr.buf == NULL)
        goto out;
    c->lr.f = fopen(conf->path, "rb");
    if (c->lr.f == NULL) {
        log_error("intel", "list=%s cannot open %s: %s", conf->name, conf->path, strerror(errno));
        rc = ERR_IO;
        goto out;
    }
    rc = run(c);
out:
    if (c != NULL) {
        if (c->lr.f != NULL)
            fclose(c->lr.f);
        xfree(c->lr.buf);
    }
    xfree(c);
    return rc;
}

struct intel_set *intel_set_load_conf(const struct intel_list_conf *confs, size_t n,
                                      struct intel_load_stats *st)
{
    struct intel_set *s = intel_set_new();
    struct intel_load_stats scratch;
    if (s == NULL)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        struct intel_load_stats *ls = st ? &st[i] : &scratch;
        memset(ls, 0, sizeof(*ls));
        int id = intel_set_add_list(s, confs[i].name, confs[i].category, confs[i].severity);
        if (id < 0) {
            log_error("intel", "list=%s: %s", confs[i].name ? confs[i].name : "?", err_str(id));
            goto fail;
        }
        int rc = intel_set_load_file(s, (unsigned)id, &confs[i], ls);
        if (rc != 0) {
            log_error("intel", "list=%s path=%s: %s", confs[i].name, confs[i].path, err_str(rc));
            goto fail;
        }
    }
    if (intel_set_freeze(s) != 0) {
        log_error("intel", "compiling the indicator set: %s", err_str(ERR_NOMEM));
        goto fail;
    }
    return s;
fail:
    intel_set_unref(s);
    return NULL;
}

/* ---- names ------------------------------------------------------------------------------ */

static const char *const fmt_names[] = {"plain", "csv", "maltrail", "abusech", "iprep", "dataset"};
static const char *const type_names[] = {"auto", "ip",   "domain", "url", "hash",
                                         "md5",  "sha1", "sha256", "ja3", "ja4"};
static const char *const kind_names[] = {"none", "ip",   "endpoint", "domain", "url", "path",
                                         "md5",  "sha1", "sha256",   "ja3",    "ja4"};
static const char *const ds_names[] = {"string", "md5", "sha256", "ipv4", "ipv6"};

static int find_name(const char *const *names, size_t n, const char *name)
{
    for (size_t i = 0; name != NULL && i < n; i++)
        if (strcasecmp(names[i], name) == 0)
            return (int)i;
    return -1;
}

const char *intel_format_name(enum intel_format f)
{
    return (unsigned)f < 6 ? fmt_names[f] : "?";
}

int intel_format_parse(const char *name)
{
    return find_name(fmt_names, 6, name);
}

const char *intel_type_name(enum intel_type t)
{
    return (unsigned)t < 10 ? type_names[t] : "?";
}

int intel_type_parse(const char *name)
{
    return find_name(type_names, 10, name);
}

const char *intel_kind_name(enum intel_kind k)
{
    return (unsigned)k < INTEL_KIND_COUNT ? kind_names[k] : "?";
}

int intel_dataset_type_parse(const char *name)
{
    return find_name(ds_names, 5, name);
}
