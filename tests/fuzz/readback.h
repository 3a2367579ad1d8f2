/*
 * The read-back check of the fuzz harnesses that see event lines: each line is walked
 * with jscan (sensor/detect/jscan.h) as the detections and the inventory read it, and
 * one that cannot be walked (a syntax error, nesting past JSCAN_MAX_DEPTH, a path past
 * JSCAN_MAX_PATH: an object key from the wire, say) aborts. For a parser that notes
 * values for the inventory (app_parser.notes), the notes must also be what a reader of
 * the line finds (tests/notes_check.h). One piece of code for every harness.
 */
#ifndef OTASUKE_FUZZ_READBACK_H
#define OTASUKE_FUZZ_READBACK_H

#include <stdbool.h>
#include <stdlib.h>

#include "app/applayer.h"
#include "detect/jscan.h"
#include "otasuke/jw.h"
#include "../notes_check.h"

/* Aborts unless w's finished document (a whole event, or the members a writer such as
 * dns_write_event put in an object) walks, and, when nt is not NULL and on, unless
 * its notes agree with it (an event of `type`). notes_check walks the line itself,
 * except when the notes were lost: the line is walked once either way. */
static inline void fz_readback(const struct jw *w, const struct app_notes *nt, const char *type)
{
    bool noted = nt != NULL && nt->on && !nt->lost;
    if (noted ? !notes_check(w, nt, type) : !line_walks(w->buf, w->len))
        abort();
}

#endif
