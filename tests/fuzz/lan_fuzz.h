/*
 * Shared by the LAN-parser fuzz harnesses (mdns, ssdp, nbns, ssh): an app_sink that
 * writes each event into a bounded JSON writer (aborting when a large one fails, so
 * an unbounded or broken event is a finding) and aborts on an anomaly kind out of the
 * parser's range; it also keeps the event text for split-equivalence checks. Every
 * line must read back (readback.h: it walks in jscan; for a parser that notes values
 * for the inventory, app_parser.notes, its notes are what a reader of it finds).
 */
#ifndef OTASUKE_FUZZ_LAN_FUZZ_H
#define OTASUKE_FUZZ_LAN_FUZZ_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "app/applayer.h"
#include "otasuke/jw.h"
#include "readback.h"

struct fz_sink {
    struct app_sink s;
    const struct app_parser *p;
    struct jw w;
    char out[1 << 16];
    size_t len;
    unsigned anomalies[64];
    struct app_notes nt; /* the current event's */
    char type[32];
};

static struct jw *fz_begin(struct app_sink *s, const char *type, int dir)
{
    struct fz_sink *f = (struct fz_sink *)s;
    if (dir != 0 && dir != 1)
        abort();
    jw_reset(&f->w);
    jw_obj_open(&f->w, NULL);
    jw_str(&f->w, "event_type", type);
    memset(&f->nt, 0, sizeof(f->nt));
    f->nt.on = f->p->notes;
    snprintf(f->type, sizeof(f->type), "%s", type);
    return &f->w;
}

static void fz_note(struct app_sink *s, const char *path, size_t plen)
{
    struct fz_sink *f = (struct fz_sink *)s;
    if (!f->nt.on)
        abort(); /* a parser that notes must say so (app_parser.notes) */
    notes_take(&f->nt, path, plen, &f->w);
}

static void fz_end(struct app_sink *s)
{
    struct fz_sink *f = (struct fz_sink *)s;
    jw_obj_close(&f->w);
    if (!jw_ok(&f->w) || f->w.depth != 0)
        abort();
    fz_readback(&f->w, &f->nt, f->type);
    size_t n = f->w.len < sizeof(f->out) - f->len ? f->w.len : sizeof(f->out) - f->len;
    memcpy(f->out + f->len, f->w.buf, n);
    f->len += n;
}

static void fz_anomaly(struct app_sink *s, int kind, int dir)
{
    struct fz_sink *f = (struct fz_sink *)s;
    if (kind < 0 || kind >= f->p->nkinds || kind >= 64 || (dir != 0 && dir != 1))
        abort();
    f->anomalies[kind]++;
}

static inline int fz_init(struct fz_sink *f, const struct app_parser *p)
{
    if (f->w.buf == NULL && jw_init(&f->w, 1024, 1 << 22) != 0)
        return -1;
    f->s.event_begin = fz_begin;
    f->s.event_end = fz_end;
    f->s.anomaly = fz_anomaly;
    f->s.note = fz_note;
    f->p = p;
    f->len = 0;
    memset(f->anomalies, 0, sizeof(f->anomalies));
    return 0;
}

/* Runs one datagram (an exact-size heap copy) through p in both directions. */
static inline void fz_datagram(struct fz_sink *f, const struct app_parser *p, const uint8_t *d,
                               size_t n)
{
    uint8_t *copy = malloc(n ? n : 1);
    if (copy == NULL)
        return;
    memcpy(copy, d, n);
    for (int dir = 0; dir < 2; dir++) {
        if (fz_init(f, p) != 0)
            break;
        p->datagram(&f->s, NULL, dir, n ? copy : NULL, n);
    }
    free(copy);
}

#endif
