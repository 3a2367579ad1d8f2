/*
 * Whether the values an event's parser noted (struct app_notes, app_sink.note) are
 * what the device inventory would read from the line: every string value whose path
 * the inventory reads (inv_reads), walked in the line (jscan), equals the values read
 * at the notes (jscan_value), in the same order. A value noted under another path, noted
 * at the wrong place, not noted at all, or noted as a plain string with a text other
 * than the value's (struct app_note) fails. For the fuzz harnesses and unit
 * tests of the parsers that note.
 */
#ifndef OTASUKE_TESTS_NOTES_CHECK_H
#define OTASUKE_TESTS_NOTES_CHECK_H

#include "app/applayer.h"
#include "detect/jscan.h"
#include "inventory/inventory.h"
#include "otasuke/jw.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOTES_CHECK_VALS 64

struct notes_vals {
    char type[32]; /* the event type */
    unsigned n;
    bool over;
    char path[NOTES_CHECK_VALS][64];
    char s[NOTES_CHECK_VALS][256];
};

static inline bool notes_check_val(const struct jscan_val *v, void *ud)
{
    struct notes_vals *c = ud;
    if (v->type != JSCAN_STR || !inv_reads(c->type, strlen(c->type), v->path, v->plen))
        return true;
    if (c->n == NOTES_CHECK_VALS) {
        c->over = true;
        return false;
    }
    size_t pl = v->plen < sizeof(c->path[0]) - 1 ? v->plen : sizeof(c->path[0]) - 1;
    memcpy(c->path[c->n], v->path, pl);
    c->path[c->n][pl] = '\0';
    size_t k = v->n < sizeof(c->s[0]) - 1 ? v->n : sizeof(c->s[0]) - 1;
    memcpy(c->s[c->n], v->s, k);
    c->s[c->n][k] = '\0';
    c->n++;
    return true;
}

static inline bool line_walks_val(const struct jscan_val *v, void *ud)
{
    (void)v;
    (void)ud;
    return true;
}

/* Whether the line (or any JSON document) walks in jscan as the detections and the
 * inventory read it: no syntax error, nesting within JSCAN_MAX_DEPTH, no path past
 * JSCAN_MAX_PATH (an object key from the wire, say). */
static inline bool line_walks(const char *buf, size_t len)
{
    return jscan(buf, len, line_walks_val, NULL) == 0;
}

/* The first string a jscan_value gave (notes_plain_ok). */
struct notes_str {
    bool seen, cut;
    size_t n;
    char s[JSCAN_MAX_STR + 1];
};

static inline bool notes_first_str(const struct jscan_val *v, void *ud)
{
    struct notes_str *f = ud;
    if (v->type != JSCAN_STR || f->seen)
        return true;
    f->seen = true;
    f->cut = v->cut;
    f->n = v->n;
    memcpy(f->s, v->s, v->n);
    return true;
}

/* A note that says its value is a plain string (struct app_note's text): the text
 * between the quotes is what jscan_value decodes there, byte for byte. */
static inline bool notes_plain_ok(const struct jw *w, const struct app_note *a)
{
    static struct notes_str f; /* 2 KB: off the stack */
    if (a->text == 0)
        return true;
    size_t n = a->text - 1;
    if (a->at + a->text >= w->len || w->buf[a->at] != '"' || w->buf[a->at + a->text] != '"')
        return false;
    memset(&f, 0, sizeof(f));
    if (jscan_value(w->buf + a->at, w->len - a->at, a->path, a->plen, notes_first_str, &f) != 0 ||
        !f.seen)
        return false;
    if (f.cut) /* longer than jscan keeps: its first JSCAN_MAX_STR bytes */
        return n > f.n && memcmp(f.s, w->buf + a->at + 1, f.n) == 0;
    return f.n == n && memcmp(f.s, w->buf + a->at + 1, n) == 0;
}

/* True when the notes agree with the line (w's finished document) of an event of
 * `type` ("dhcp"), or when too much was noted to be kept (nt->lost: the pipeline then
 * reads the line). */
static inline bool notes_check(const struct jw *w, const struct app_notes *nt, const char *type)
{
    static struct notes_vals walked, noted; /* 40 KB: off the stack */
    memset(&walked, 0, sizeof(walked));
    memset(&noted, 0, sizeof(noted));
    snprintf(walked.type, sizeof(walked.type), "%s", type);
    snprintf(noted.type, sizeof(noted.type), "%s", type);
    if (nt->lost)
        return true;
    if (jscan(w->buf, w->len, notes_check_val, &walked) != 0 || walked.over)
        return false;
    for (unsigned i = 0; i < nt->n; i++) {
        if (nt->v[i].at >= w->len || !notes_plain_ok(w, &nt->v[i]) ||
            jscan_value(w->buf + nt->v[i].at, w->len - nt->v[i].at, nt->v[i].path,
                        nt->v[i].plen, notes_check_val, &noted) != 0)
            return false;
    }
    if (walked.n != noted.n || noted.over)
        return false;
    for (unsigned i = 0; i < walked.n; i++)
        if (strcmp(walked.path[i], noted.path[i]) != 0 || strcmp(walked.s[i], noted.s[i]) != 0)
            return false;
    return true;
}

/* A sink that only notes into nt (the value w wrote last): for writers called with a jw. */
struct notes_sink {
    struct app_sink s;
    const struct jw *w;
    struct app_notes nt;
};

/* What a test's app_sink.note does: app_notes_jw, after checking that app_note handed
 * the path's length. */
static inline void notes_take(struct app_notes *nt, const char *path, size_t plen,
                              const struct jw *w)
{
    if (plen != strlen(path))
        abort();
    app_notes_jw(nt, path, plen, w);
}

static inline void notes_sink_note(struct app_sink *s, const char *path, size_t plen)
{
    struct notes_sink *ns = (struct notes_sink *)s;
    notes_take(&ns->nt, path, plen, ns->w);
}

static inline void notes_sink_init(struct notes_sink *ns, const struct jw *w)
{
    memset(ns, 0, sizeof(*ns));
    ns->s.note = notes_sink_note;
    ns->w = w;
    ns->nt.on = true;
}

#endif
