/*
 * Optional scanning of extracted files with YARA rules (detect.yara.rules) and with
 * ClamAV (detect.clamav.db). The rules file is compiled once at start (a compile error
 * stops the start with file:line); the ClamAV database (a .cvd/.cld/.ndb/.hdb/... file
 * or a directory of them) is loaded and compiled once at start. Each complete file
 * whose bytes were kept (files_set_keep keeps every file while scanning is on, within
 * detect.files.archive_buffer / archive_memcap) is scanned in memory with a time
 * limit; the first DET_SCAN_MAX_HITS matches are returned (YARA: each rule; ClamAV:
 * its one verdict, it looks inside archives itself under the archive caps).
 *
 * libyara and libclamav keep process-wide state (yr_initialize / yr_finalize, counted
 * by libyara; cl_init once); their allocations are their own (they take no
 * allocator). libclamav may write temporary files while it unpacks (its own tmpdir),
 * bounded by CL_ENGINE_MAX_SCANSIZE.
 */
#include "detect/detect_int.h"

#include "otasuke/alloc.h"
#include "otasuke/err.h"

#include "otasuke/log.h"

#include <clamav.h>
#include <yara.h>

#include <stdio.h>
#include <string.h>

struct det_filescan {
    YR_RULES *rules;          /* NULL without detect.yara.rules */
    struct cl_engine *clam;   /* NULL without detect.clamav.db */
    bool yara_init;
    int timeout_s;
};

struct compile_err {
    char *err;
    size_t errlen;
    bool set;
};

static void on_compile(int level, const char *file, int line, const YR_RULE *rule,
                       const char *msg, void *ud)
{
    (void)rule;
    struct compile_err *ce = ud;
    if (level != YARA_ERROR_LEVEL_ERROR || ce->set)
        return;
    snprintf(ce->err, ce->errlen, "detect.yara.rules: %s:%d: %s", file ? file : "?", line, msg);
    ce->set = true;
}

/* Compiles the rules file at path; 0 or an error with "file:line: reason" in err. */
static int compile(const char *path, YR_RULES **out, char *err, size_t errlen)
{
    YR_COMPILER *cp = NULL;
    struct compile_err ce = {err, errlen, false};
    int rc = ERR_INVAL;
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        snprintf(err, errlen, "detect.yara.rules: cannot open %s", path);
        return ERR_IO;
    }
    if (yr_compiler_create(&cp) != ERROR_SUCCESS) {
        snprintf(err, errlen, "detect.yara.rules: out of memory");
        goto out;
    }
    yr_compiler_set_callback(cp, on_compile, &ce);
    if (yr_compiler_add_file(cp, f, NULL, path) != 0) {
        if (!ce.set)
            snprintf(err, errlen, "detect.yara.rules: %s: does not compile", path);
        goto out;
    }
    if (yr_compiler_get_rules(cp, out) != ERROR_SUCCESS) {
        snprintf(err, errlen, "detect.yara.rules: out of memory");
        goto out;
    }
    rc = 0;
out:
    if (cp != NULL)
        yr_compiler_destroy(cp);
    fclose(f);
    return rc;
}

static void on_clam_msg(enum cl_msg sev, const char *full, const char *msg, void *ctx)
{
    (void)full;
    (void)ctx;
    int n = (int)strcspn(msg, "\n"); /* its lines end in a newline */
    if (sev == CL_MSG_ERROR)
        log_warn("clamav", "%.*s", n, msg);
    else
        log_debug("clamav", "%.*s", n, msg);
}

/* Loads and compiles the ClamAV database at c->clamav_db; bounded like the archive look. */
static int clam_load(const struct sensor_conf *c, struct cl_engine **out, char *err,
                     size_t errlen)
{
    static bool inited;
    cl_set_clcb_msg(on_clam_msg);
    if (!inited && cl_init(CL_INIT_DEFAULT) != CL_SUCCESS) {
        snprintf(err, errlen, "detect.clamav.db: libclamav does not start");
        return ERR_INVAL;
    }
    inited = true;
    struct cl_engine *e = cl_engine_new();
    if (e == NULL) {
        snprintf(err, errlen, "detect.clamav.db: out of memory");
        return ERR_NOMEM;
    }
    unsigned sigs = 0;
    cl_error_t rc = cl_load(c->clamav_db, e, &sigs, CL_DB_STDOPT);
    bool empty = rc == CL_SUCCESS && sigs == 0;
    if (rc == CL_SUCCESS && !empty) {
        cl_engine_set_num(e, CL_ENGINE_MAX_SCANSIZE, (long long)c->detect_arc_max_bytes);
        cl_engine_set_num(e, CL_ENGINE_MAX_FILESIZE, (long long)c->detect_arc_buffer);
        cl_engine_set_num(e, CL_ENGINE_MAX_RECURSION, c->detect_arc_max_depth);
        cl_engine_set_num(e, CL_ENGINE_MAX_FILES, c->detect_arc_max_members);
        cl_engine_set_num(e, CL_ENGINE_MAX_SCANTIME, (long long)(c->yara_timeout / 1000u));
        rc = cl_engine_compile(e);
    }
    if (rc != CL_SUCCESS || empty) {
        snprintf(err, errlen, "detect.clamav.db: %s: %s", c->clamav_db,
                 empty ? "no signatures" : cl_strerror(rc));
        cl_engine_free(e);
        return ERR_INVAL;
    }
    log_info("clamav", "database=%s signatures=%u", c->clamav_db, sigs);
    *out = e;
    return 0;
}

struct det_filescan *det_filescan_new(const struct sensor_conf *c, char *err, size_t errlen)
{
    struct det_filescan *s = xcalloc(MEM_CORE, 1, sizeof(*s));
    if (s == NULL) {
        snprintf(err, errlen, "out of memory for the file scanner");
        return NULL;
    }
    s->timeout_s = (int)(c->yara_timeout / 1000000u);
    if (s->timeout_s < 1)
        s->timeout_s = 1;
    if (c->yara_rules[0] != '\0') {
        if (yr_initialize() != ERROR_SUCCESS) {
            snprintf(err, errlen, "detect.yara.rules: libyara does not start");
            goto fail;
        }
        s->yara_init = true;
        if (compile(c->yara_rules, &s->rules, err, errlen) != 0)
            goto fail;
    }
    if (c->clamav_db[0] != '\0' && clam_load(c, &s->clam, err, errlen) != 0)
        goto fail;
    return s;
fail:
    det_filescan_free(s);
    return NULL;
}

void det_filescan_free(struct det_filescan *s)
{
    if (s == NULL)
        return;
    if (s->rules != NULL)
        yr_rules_destroy(s->rules);
    if (s->yara_init)
        yr_finalize();
    if (s->clam != NULL)
        cl_engine_free(s->clam);
    xfree(s);
}

struct scan_ud {
    struct det_scan_hits *h;
};

static int on_scan(YR_SCAN_CONTEXT *ctx, int msg, void *data, void *ud)
{
    (void)ctx;
    struct det_scan_hits *h = ((struct scan_ud *)ud)->h;
    if (msg != CALLBACK_MSG_RULE_MATCHING)
        return CALLBACK_CONTINUE;
    const YR_RULE *r = data;
    if (h->n < DET_SCAN_MAX_HITS) {
        snprintf(h->rule[h->n], sizeof(h->rule[h->n]), "%s", r->identifier);
        snprintf(h->ns[h->n], sizeof(h->ns[h->n]), "%s", r->ns != NULL ? r->ns->name : "");
        h->clamav[h->n] = false;
        h->n++;
    }
    return h->n < DET_SCAN_MAX_HITS ? CALLBACK_CONTINUE : CALLBACK_ABORT;
}

/* ClamAV's verdict on p[0..n): one hit (the signature's name) on CL_VIRUS. */
static int clam_scan(struct det_filescan *s, const uint8_t *p, size_t n, const char *name,
                     struct det_scan_hits *h)
{
    cl_fmap_t *m = cl_fmap_open_memory(p, n);
    if (m == NULL)
        return ERR_NOMEM;
    struct cl_scan_options o;
    memset(&o, 0, sizeof(o));
    o.parse = ~0u; /* archives, documents, executables, mail: all of ClamAV's parsers */
    const char *vir = NULL;
    unsigned long scanned = 0;
    cl_error_t rc = cl_scanmap_callback(m, name, &vir, &scanned, s->clam, &o, NULL);
    cl_fmap_close(m);
    if (rc == CL_VIRUS && h->n < DET_SCAN_MAX_HITS) {
        snprintf(h->rule[h->n], sizeof(h->rule[h->n]), "%s", vir != NULL ? vir : "?");
        snprintf(h->ns[h->n], sizeof(h->ns[h->n]), "clamav");
        h->clamav[h->n] = true;
        h->n++;
    }
    return rc == CL_VIRUS || rc == CL_CLEAN ? 0 : ERR_INVAL;
}

int det_filescan_scan(struct det_filescan *s, const uint8_t *p, size_t n, const char *name,
                      struct det_scan_hits *h)
{
    memset(h, 0, sizeof(*h));
    int rc = 0;
    if (s->rules != NULL) {
        struct scan_ud ud = {h};
        if (yr_rules_scan_mem(s->rules, p, n, SCAN_FLAGS_FAST_MODE, on_scan, &ud, s->timeout_s) !=
            ERROR_SUCCESS)
            rc = ERR_INVAL;
    }
    if (s->clam != NULL && clam_scan(s, p, n, name, h) != 0)
        rc = ERR_INVAL;
    return rc;
}
