/*
 * Whether the values an event's parser noted (struct app_notes, app_sink.note) are
 * what the device inventory would read from the line: every string value whose path
 * the inventory reads (inv_reads), walked in the line (jscan), equals the values read
 * at the notes (jscan_value), in the same order. A value noted under another path, noted
 * at the wrong place, or not noted at all fails. For the fuzz harnesses and unit
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
        if (nt->v[i].at >= w->len ||
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

static inline void notes_sink_note(struct app_sink *s, const char *path)
{
    struct notes_sink *ns = (struct notes_sink *)s;
    app_notes_add(&ns->nt, path, strlen(path), ns->w->val_at);
}

static inline void notes_sink_init(struct notes_sink *ns, const struct jw *w)
{
    memset(ns, 0, sizeof(*ns));
    ns->s.note = notes_sink_note;
    ns->w = w;
    ns->nt.on = true;
}

#endif
