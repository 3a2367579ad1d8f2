/*
 * The intel lists file (detect.intel_file; also read by `otasuke intel update`): a YAML document whose top level is
 * either a list of list entries or a mapping with an `intel:` key holding one:
 *
 *   intel:
 *     - name: maltrail-trickbot
 *       path: maltrail/malware/trickbot.txt   # relative to this file's folder
 *       format: maltrail                      # plain csv maltrail abusech iprep dataset
 *       category: c2
 *       severity: 1
 *       column: 2          # csv; also: type, delimiter, header, dataset_type,
 *                          # categories (iprep), iprep_category, min_score
 *       url: https://example.org/trickbot.txt   # where `otasuke intel update` fetches
 *       max_bytes: 50000000                     # it from, and its size cap (not read
 *                                               # by the sensor)
 *       ca_file: certs/feed-ca.pem              # https: the CA bundle to trust instead
 *                                               # of the system's
 *
 * The same `intel:` key may instead sit in the sensor's own configuration file
 * (intel_conf_load_inline: every other top-level key is passed over).
 *
 * Errors name the file and line. Every string lives in one bounded arena
 * (out->strings); at most INTEL_CONF_MAX_LISTS entries; aliases are refused.
 */
#include "otasuke/intel.h"

#include "otasuke/conf.h"

#include "otasuke/alloc.h"
#include "otasuke/err.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#define STRINGS_MAX ((size_t)256 * 1024)
#define FILE_MAX    ((size_t)1024 * 1024)

struct ic {
    yaml_parser_t yp;
    const char *name;
    const char *base;
    struct intel_conf *out;
    char *err;
    size_t errlen;
};

__attribute__((format(printf, 3, 4))) static int fail(struct ic *c, size_t line0, const char *fmt,
                                                      ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    snprintf(c->err, c->errlen, "%s:%zu: %s", c->name, line0 + 1, msg);
    return ERR_INVAL;
}

static int next(struct ic *c, yaml_event_t *ev)
{
    if (yaml_parser_parse(&c->yp, ev)) {
        if (ev->type == YAML_ALIAS_EVENT) {
            int rc = fail(c, ev->start_mark.line, "aliases are not supported");
            yaml_event_delete(ev);
            return rc;
        }
        return 0;
    }
    return fail(c, c->yp.problem_mark.line, "%s", c->yp.problem ? c->yp.problem : "YAML error");
}

bool intel_category_known(const char *c)
{
    static const char *const names[] = {
        "c2",      "malware", "malicious_site", "phishing",       "piracy",  "ransomware", "spam",
        "url_category", "recon", "scanner",     "intrusion", "prohibited_app", "anomaly"};
    for (size_t i = 0; c != NULL && i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(c, names[i]) == 0)
            return true;
    /* a URL category list: url_category:NAME (NAME: letters, digits, - and _) */
    if (c != NULL && strncmp(c, "url_category:", 13) == 0 && c[13] != '\0' &&
        strlen(c + 13) <= 40 &&
        strspn(c + 13, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") ==
            strlen(c + 13))
        return true;
    return false;
}

/* Copies s (with prefix pre when not empty) into the string arena. */
static const char *keep(struct ic *c, const char *pre, const char *s)
{
    struct intel_conf *o = c->out;
    size_t pl = pre ? strlen(pre) : 0, n = strlen(s);
    size_t need = pl + (pl ? 1 : 0) + n + 1;
    if (o->used + need > o->cap) /* the arena is allocated once at its cap */
        return NULL;
    char *d = o->strings + o->used;
    if (pl)
        snprintf(d, need, "%s/%s", pre, s);
    else
        snprintf(d, need, "%s", s);
    o->used += need;
    return d;
}

static int to_uint(struct ic *c, size_t line, const char *key, const char *v, unsigned max,
                   unsigned *out)
{
    char *end;
    errno = 0;
    unsigned long x = strtoul(v, &end, 10);
    if (*v == '\0' || *end != '\0' || errno != 0 || x > max || *v == '-')
        return fail(c, line, "%s: expected a number 0..%u, got \"%.40s\"", key, max, v);
    *out = (unsigned)x;
    return 0;
}

static int set_string(struct ic *c, struct intel_list_conf *l, const char *k, const char *v,
                      size_t line)
{
    bool is_path = strcmp(k, "path") == 0 || strcmp(k, "categories") == 0 ||
                   strcmp(k, "ca_file") == 0;
    if (strcmp(k, "url") == 0 && strncmp(v, "https://", 8) != 0 && strncmp(v, "http://", 7) != 0)
        return fail(c, line, "url: http:// or https:// expected");
    const char *s = keep(c, is_path && v[0] != '/' && c->base[0] != '\0' ? c->base : NULL, v);
    if (s == NULL)
        return fail(c, line, "too much text");
    if (strcmp(k, "name") == 0)
        l->name = s;
    else if (strcmp(k, "path") == 0)
        l->path = s;
    else if (strcmp(k, "categories") == 0)
        l->categories_path = s;
    else if (strcmp(k, "iprep_category") == 0)
        l->iprep_category = s;
    else if (strcmp(k, "url") == 0)
        l->url = s;
    else if (strcmp(k, "ca_file") == 0)
        l->ca_file = s;
    else {
        l->category = s;
        if (!intel_category_known(s))
            return fail(c, line, "category: unknown \"%.40s\" (docs/detections.md lists them)", v);
    }
    return 0;
}

/* format, type, dataset_type: names parsed by lib/intel. */
static int set_enum(struct ic *c, struct intel_list_conf *l, const char *k, const char *v,
                    size_t line)
{
    int x;
    if (strcmp(k, "format") == 0 && (x = intel_format_parse(v)) >= 0)
        l->format = (enum intel_format)x;
    else if (strcmp(k, "type") == 0 && (x = intel_type_parse(v)) >= 0)
        l->type = (enum intel_type)x;
    else if (strcmp(k, "dataset_type") == 0 && (x = intel_dataset_type_parse(v)) >= 0)
        l->dataset_type = (enum intel_dataset_type)x;
    else
        return fail(c, line, "%s: unknown \"%.40s\"", k, v);
    return 0;
}

static int set_other(struct ic *c, struct intel_list_conf *l, const char *k, const char *v,
                     size_t line)
{
    unsigned u = 0;
    if (strcmp(k, "severity") == 0) {
        if (to_uint(c, line, k, v, 4, &u) != 0)
            return ERR_INVAL;
        if (u < 1)
            return fail(c, line, "severity: 1 (critical) .. 4 (informational)");
        l->severity = u;
        return 0;
    }
    if (strcmp(k, "column") == 0)
        return to_uint(c, line, k, v, 1000, &l->column);
    if (strcmp(k, "min_score") == 0)
        return to_uint(c, line, k, v, 1000000, &l->min_score);
    if (strcmp(k, "max_bytes") == 0) {
        if (to_uint(c, line, k, v, 4000000000u, &u) != 0)
            return ERR_INVAL;
        if (u < 1)
            return fail(c, line, "max_bytes: 1 .. 4000000000");
        l->max_bytes = u;
        return 0;
    }
    if (strcmp(k, "delimiter") == 0) {
        if (strcmp(v, "\\t") == 0)
            l->delimiter = '\t';
        else if (strlen(v) == 1)
            l->delimiter = v[0];
        else
            return fail(c, line, "delimiter: one character");
        return 0;
    }
    if (strcmp(k, "header") == 0) {
        bool yes = strcmp(v, "yes") == 0 || strcmp(v, "true") == 0;
        if (!yes && strcmp(v, "no") != 0 && strcmp(v, "false") != 0)
            return fail(c, line, "header: yes or no");
        l->header = yes;
        return 0;
    }
    return fail(c, line, "unknown key \"%.40s\"", k);
}

static int set_field(struct ic *c, struct intel_list_conf *l, const char *k, const char *v,
                     size_t line)
{
    static const char *const strings[] = {"name",       "path",           "category",
                                          "categories", "iprep_category", "url", "ca_file",
                                          NULL};
    static const char *const enums[] = {"format", "type", "dataset_type", NULL};
    for (int i = 0; strings[i] != NULL; i++)
        if (strcmp(k, strings[i]) == 0)
            return set_string(c, l, k, v, line);
    for (int i = 0; enums[i] != NULL; i++)
        if (strcmp(k, enums[i]) == 0)
            return set_enum(c, l, k, v, line);
    return set_other(c, l, k, v, line);
}

/* One list entry: a mapping of scalars (the MAPPING_START was read). */
static int entry(struct ic *c, size_t line0)
{
    struct intel_conf *o = c->out;
    if (o->n == INTEL_CONF_MAX_LISTS)
        return fail(c, line0, "more than %d lists", INTEL_CONF_MAX_LISTS);
    struct intel_list_conf *l = &o->lists[o->n];
    memset(l, 0, sizeof(*l));
    l->severity = 3;
    for (;;) {
        yaml_event_t k, v;
        int rc = next(c, &k);
        if (rc != 0)
            return rc;
        if (k.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&k);
            break;
        }
        if (k.type != YAML_SCALAR_EVENT) {
            rc = fail(c, k.start_mark.line, "expected a key");
            yaml_event_delete(&k);
            return rc;
        }
        rc = next(c, &v);
        if (rc != 0) {
            yaml_event_delete(&k);
            return rc;
        }
        if (v.type != YAML_SCALAR_EVENT)
            rc = fail(c, v.start_mark.line, "%s: expected a value", (char *)k.data.scalar.value);
        else
            rc = set_field(c, l, (const char *)k.data.scalar.value,
                           (const char *)v.data.scalar.value, v.start_mark.line);
        yaml_event_delete(&k);
        yaml_event_delete(&v);
        if (rc != 0)
            return rc;
    }
    if (l->name == NULL || l->path == NULL || l->category == NULL)
        return fail(c, line0, "a list needs name, path and category");
    for (size_t i = 0; i < o->n; i++)
        if (strcmp(o->lists[i].name, l->name) == 0)
            return fail(c, line0, "duplicate list name \"%.40s\"", l->name);
    o->n++;
    return 0;
}

static int sequence(struct ic *c)
{
    for (;;) {
        yaml_event_t ev;
        int rc = next(c, &ev);
        if (rc != 0)
            return rc;
        size_t line = ev.start_mark.line;
        yaml_event_type_t t = ev.type;
        yaml_event_delete(&ev);
        if (t == YAML_SEQUENCE_END_EVENT)
            return 0;
        if (t != YAML_MAPPING_START_EVENT)
            return fail(c, line, "each list is a mapping (name:, path:, ...)");
        if ((rc = entry(c, line)) != 0)
            return rc;
    }
}

/* The value of the `intel:` key: a list of lists. */
static int intel_key(struct ic *c)
{
    yaml_event_t ev;
    int rc = next(c, &ev);
    if (rc != 0)
        return rc;
    yaml_event_type_t t = ev.type;
    size_t line = ev.start_mark.line;
    yaml_event_delete(&ev);
    if (t != YAML_SEQUENCE_START_EVENT)
        return fail(c, line, "intel: expected a list");
    return sequence(c);
}

static int document(struct ic *c)
{
    yaml_event_t ev;
    int rc;
    bool done = false;
    for (;;) {
        if ((rc = next(c, &ev)) != 0)
            return rc;
        size_t line = ev.start_mark.line;
        yaml_event_type_t t = ev.type;
        bool is_intel =
            t == YAML_SCALAR_EVENT && strcmp((char *)ev.data.scalar.value, "intel") == 0;
        yaml_event_delete(&ev);
        switch (t) {
        case YAML_STREAM_END_EVENT:
            return 0;
        case YAML_STREAM_START_EVENT:
        case YAML_DOCUMENT_START_EVENT:
        case YAML_DOCUMENT_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            break;
        case YAML_SEQUENCE_START_EVENT:
            if (done)
                return fail(c, line, "one list of lists only");
            if ((rc = sequence(c)) != 0)
                return rc;
            done = true;
            break;
        case YAML_MAPPING_START_EVENT:
            if (done)
                return fail(c, line, "expected `intel:` with a list");
            break;
        case YAML_SCALAR_EVENT:
            if (!is_intel)
                return fail(c, line, "unknown key (expected `intel:`)");
            if ((rc = intel_key(c)) != 0)
                return rc;
            done = true;
            break;
        default:
            return fail(c, line, "unexpected YAML content");
        }
    }
}

/* Consumes one value (a scalar, or a whole list or mapping). */
static int skip_value(struct ic *c)
{
    int depth = 0;
    do {
        yaml_event_t ev;
        int rc = next(c, &ev);
        if (rc != 0)
            return rc;
        if (ev.type == YAML_MAPPING_START_EVENT || ev.type == YAML_SEQUENCE_START_EVENT)
            depth++;
        else if (ev.type == YAML_MAPPING_END_EVENT || ev.type == YAML_SEQUENCE_END_EVENT)
            depth--;
        yaml_event_delete(&ev);
    } while (depth > 0);
    return 0;
}

/* A top-level key of the sensor's configuration file: `intel:` is read, the rest
 * passed over. */
static int inline_key(struct ic *c, bool is_intel, size_t line, bool *found)
{
    if (!is_intel)
        return skip_value(c);
    if (*found)
        return fail(c, line, "intel: duplicate key");
    *found = true;
    return intel_key(c);
}

/* The sensor's own configuration file: a mapping of settings (lib/conf reads them)
 * that may hold an `intel:` key with the list of lists; every other key is passed over.
 * *found says whether the key was there. */
static int inline_document(struct ic *c, bool *found)
{
    yaml_event_t ev;
    int rc;
    int depth = 0; /* 1: inside the top-level mapping */
    for (;;) {
        if ((rc = next(c, &ev)) != 0)
            return rc;
        size_t line = ev.start_mark.line;
        yaml_event_type_t t = ev.type;
        bool is_intel =
            t == YAML_SCALAR_EVENT && strcmp((char *)ev.data.scalar.value, "intel") == 0;
        yaml_event_delete(&ev);
        switch (t) {
        case YAML_STREAM_END_EVENT:
            return 0;
        case YAML_MAPPING_START_EVENT:
            if (depth != 0)
                return fail(c, line, "keys must be plain names");
            depth = 1;
            break;
        case YAML_MAPPING_END_EVENT:
            depth = 0;
            break;
        case YAML_SCALAR_EVENT:
            /* depth 0: a scalar document, lib/conf reports it */
            if (depth == 1 && (rc = inline_key(c, is_intel, line, found)) != 0)
                return rc;
            break;
        case YAML_SEQUENCE_START_EVENT:
            if (depth == 0)
                return fail(c, line, "expected a mapping of settings at the top level");
            return fail(c, line, "keys must be plain names");
        default:
            break;
        }
    }
}

static int parse_common(const char *name, const char *buf, size_t len, const char *base_dir,
                        struct intel_conf *out, bool *inline_found, char *err, size_t errlen)
{
    struct ic c = {
        .name = name, .base = base_dir ? base_dir : "", .out = out, .err = err, .errlen = errlen};
    memset(out, 0, sizeof(*out));
    out->cap = STRINGS_MAX;
    out->strings = xalloc(MEM_CONF, out->cap);
    if (out->strings == NULL || !yaml_parser_initialize(&c.yp)) {
        snprintf(err, errlen, "%s: out of memory", name);
        return ERR_NOMEM;
    }
    yaml_parser_set_input_string(&c.yp, (const unsigned char *)buf, len);
    int rc = inline_found ? inline_document(&c, inline_found) : document(&c);
    yaml_parser_delete(&c.yp);
    return rc;
}

int intel_conf_parse_inline(const char *name, const char *buf, size_t len, const char *base_dir,
                            struct intel_conf *out, bool *found, char *err, size_t errlen)
{
    *found = false;
    return parse_common(name, buf, len, base_dir, out, found, err, errlen);
}

int intel_conf_parse(const char *name, const char *buf, size_t len, const char *base_dir,
                         struct intel_conf *out, char *err, size_t errlen)
{
    return parse_common(name, buf, len, base_dir, out, NULL, err, errlen);
}

static int load_common(const char *path, struct intel_conf *out, bool *inline_found, char *err,
                       size_t errlen);

int intel_conf_load(const char *path, struct intel_conf *out, char *err, size_t errlen)
{
    return load_common(path, out, NULL, err, errlen);
}

int intel_conf_load_inline(const char *path, struct intel_conf *out, bool *found, char *err,
                           size_t errlen)
{
    *found = false;
    return load_common(path, out, found, err, errlen);
}

static int load_common(const char *path, struct intel_conf *out, bool *inline_found, char *err,
                       size_t errlen)
{
    memset(out, 0, sizeof(*out));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return ERR_IO;
    }
    char *buf = xalloc(MEM_CONF, FILE_MAX);
    size_t len = 0;
    int rc = ERR_NOMEM;
    if (buf == NULL) {
        snprintf(err, errlen, "%s: out of memory", path);
        goto out;
    }
    for (;;) {
        ssize_t n = read(fd, buf + len, FILE_MAX - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            snprintf(err, errlen, "%s: %s", path, strerror(errno));
            rc = ERR_IO;
            goto out;
        }
        if (n == 0)
            break;
        len += (size_t)n;
        if (len == FILE_MAX) {
            snprintf(err, errlen, "%s: file too large (max %zu bytes)", path, FILE_MAX);
            rc = ERR_INVAL;
            goto out;
        }
    }
    char base[CONF_STR_MAX];
    snprintf(base, sizeof(base), "%s", path);
    char *slash = strrchr(base, '/');
    if (slash != NULL)
        *slash = '\0';
    else
        base[0] = '\0';
    rc = parse_common(path, buf, len, base, out, inline_found, err, errlen);
out:
    xfree(buf);
    close(fd);
    return rc;
}

void intel_conf_free(struct intel_conf *c)
{
    if (c == NULL)
        return;
    xfree(c->strings);
    c->strings = NULL;
    c->n = 0;
}
