/*
 * The differential check of the ingest line scanner (center/ingest/linescan.c)
 * against jansson, which it replaced; shared by tests/fuzz/ingest_scan.c and
 * tests/unit/center_linescan_test.c.
 *
 * json_loadb(JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL) and linescan_line must accept and
 * reject the same lines, for the same reason class (invalid UTF-8 or other), and on an
 * accepted object extract the same event_type, timestamp and alert.category. One
 * deliberate difference: jansson skips one raw NUL byte read ahead after a number or a
 * literal ({"a":1<NUL>} loads); the scanner rejects every raw NUL byte (PostgreSQL
 * cannot store one in a text column), so a line holding one is only required to be
 * rejected by the scanner.
 */
#ifndef OTASUKE_TESTS_LINESCAN_DIFF_H
#define OTASUKE_TESTS_LINESCAN_DIFF_H

#include "ingest/linescan.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

/* jansson's value of a member as the scanner sees it: absent, string, other. */
static const char *linescan_diff_field(json_t *v, const struct linescan_field *f)
{
    if (v == NULL)
        return f->kind == LS_ABSENT ? NULL : "member found that jansson has not";
    if (!json_is_string(v))
        return f->kind == LS_OTHER ? NULL : "member kind differs (not a string)";
    if (f->kind != LS_STRING)
        return "member kind differs (string)";
    size_t n = json_string_length(v);
    char *buf = malloc(n + 1);
    if (buf == NULL)
        return NULL;
    size_t got = linescan_unescape(f->raw, f->raw_len, buf, n + 1);
    int same = got == n && memcmp(buf, json_string_value(v), n) == 0;
    free(buf);
    return same ? NULL : "unescaped string differs";
}

/* NULL when the scanner and jansson agree on line[0..n), else what differs. */
static const char *linescan_diff(struct linescan *ls, const char *line, size_t n)
{
    struct linescan_fields f;
    int rc = linescan_line(ls, line, n, &f);
    json_error_t jerr;
    json_t *j = json_loadb(line, n, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
    const char *why = NULL;
    if (rc < 0) {
        why = NULL; /* out of memory: nothing to compare */
    } else if (memchr(line, '\0', n) != NULL) {
        if (rc == LINESCAN_OK)
            why = "a raw NUL byte was accepted";
    } else if (j == NULL) {
        int utf8 = json_error_code(&jerr) == json_error_invalid_utf8;
        if (rc == LINESCAN_OK)
            why = "accepted what jansson rejects";
        else if (rc != (utf8 ? LINESCAN_BAD_UTF8 : LINESCAN_BAD_JSON))
            why = "rejected for another reason than jansson";
    } else if (rc != LINESCAN_OK) {
        why = "rejected what jansson accepts";
    } else if (f.top_object != json_is_object(j)) {
        why = "top-level kind differs";
    } else if (json_is_object(j)) {
        json_t *alert = json_object_get(j, "alert");
        why = linescan_diff_field(json_object_get(j, "event_type"), &f.event_type);
        if (why == NULL)
            why = linescan_diff_field(json_object_get(j, "timestamp"), &f.timestamp);
        if (why == NULL)
            why = linescan_diff_field(json_is_object(alert) ? json_object_get(alert, "category")
                                                            : NULL,
                                      &f.category);
    }
    json_decref(j);
    return why;
}

#endif
