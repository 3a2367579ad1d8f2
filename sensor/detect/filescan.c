/*
 * Optional scanning of extracted files with YARA rules (detect.yara.rules): the rules
 * file is compiled once at start (a compile error stops the start with file:line),
 * and each complete file whose bytes were kept (files_set_keep keeps every file while
 * scanning is on, within detect.files.archive_buffer / archive_memcap) is scanned in
 * memory with a time limit; the first DET_SCAN_MAX_HITS matching rules are returned.
 *
 * libyara keeps process-wide state (yr_initialize / yr_finalize, counted by libyara
 * itself); its allocations are its own (it takes no allocator).
 */
#include "detect/detect_int.h"

#include "otasuke/alloc.h"
#include "otasuke/err.h"

#include <yara.h>

#include <stdio.h>
#include <string.h>

struct det_filescan {
    YR_RULES *rules;
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

struct det_filescan *det_filescan_new(const struct sensor_conf *c, char *err, size_t errlen)
{
    if (yr_initialize() != ERROR_SUCCESS) {
        snprintf(err, errlen, "detect.yara.rules: libyara does not start");
        return NULL;
    }
    struct det_filescan *s = xcalloc(MEM_CORE, 1, sizeof(*s));
    if (s == NULL) {
        snprintf(err, errlen, "out of memory for the file scanner");
        yr_finalize();
        return NULL;
    }
    s->timeout_s = (int)(c->yara_timeout / 1000000u);
    if (s->timeout_s < 1)
        s->timeout_s = 1;
    if (compile(c->yara_rules, &s->rules, err, errlen) != 0) {
        det_filescan_free(s);
        return NULL;
    }
    return s;
}

void det_filescan_free(struct det_filescan *s)
{
    if (s == NULL)
        return;
    if (s->rules != NULL)
        yr_rules_destroy(s->rules);
    xfree(s);
    yr_finalize();
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
        h->n++;
    }
    return h->n < DET_SCAN_MAX_HITS ? CALLBACK_CONTINUE : CALLBACK_ABORT;
}

int det_filescan_scan(struct det_filescan *s, const uint8_t *p, size_t n, struct det_scan_hits *h)
{
    memset(h, 0, sizeof(*h));
    struct scan_ud ud = {h};
    int rc = yr_rules_scan_mem(s->rules, p, n, SCAN_FLAGS_FAST_MODE, on_scan, &ud, s->timeout_s);
    return rc == ERROR_SUCCESS ? 0 : ERR_INVAL;
}
