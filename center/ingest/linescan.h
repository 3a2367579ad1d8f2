/*
 * The validating single-pass scanner of one ingest line (replaces a jansson tree per
 * line). It accepts exactly the lines that jansson 2.14's
 * json_loadb(JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL) accepts, and for a rejected line
 * tells whether jansson's first error would be invalid UTF-8 (json_error_invalid_utf8)
 * or any other error: top level an object or array, RFC 8259 syntax (no trailing data),
 * UTF-8 checked byte by byte (no overlong forms, surrogates or code points above
 * U+10FFFF), escapes and UTF-16 surrogate pairs checked, integers within int64,
 * reals not overflowing a double, nesting at most 2048 values deep, no duplicate key in
 * any object (keys compared unescaped) and no "\u0000" in a key.
 *
 * It reads the line once, allocates nothing per value, and hands back the raw text of
 * the three members the store needs: the top-level `event_type` and `timestamp`
 * and `alert.category`. tests/unit/center_linescan_test.c and tests/fuzz/ingest_scan.c
 * compare it with jansson on the seed and fuzz inputs.
 */
#ifndef OTASUKE_CENTER_INGEST_LINESCAN_H
#define OTASUKE_CENTER_INGEST_LINESCAN_H

#include <stddef.h>
#include <stdint.h>

#define LINESCAN_MAX_DEPTH 2048 /* jansson's JSON_PARSER_MAX_DEPTH */

enum linescan_rc { LINESCAN_OK = 0, LINESCAN_BAD_JSON = 1, LINESCAN_BAD_UTF8 = 2 };

enum linescan_kind { LS_ABSENT = 0, LS_STRING, LS_OTHER };

/* One extracted member: its kind and, for a string, the raw text between the quotes
 * (escapes not yet decoded; see linescan_unescape). */
struct linescan_field {
    enum linescan_kind kind;
    const char *raw;
    size_t raw_len;
    int escaped; /* the raw text holds a backslash */
};

struct linescan_fields {
    int top_object; /* the document is an object (not an array) */
    struct linescan_field event_type, timestamp, category;
};

struct linescan_key {
    uint64_t obj; /* 0: free slot */
    const char *k;
    uint32_t len;
    uint32_t hash;
};

/* Reusable state (the duplicate-key table and the buffer of unescaped keys); zero it
 * before the first use, release with linescan_free. Memory grows with the longest
 * line seen (bounded by the ingest line limit). */
struct linescan {
    struct linescan_key *tab;
    size_t tab_cap; /* power of two */
    size_t tab_used;
    char *arena;
    size_t arena_cap, arena_len;
    uint64_t obj_next;
    /* per line */
    const unsigned char *p, *end;
    int depth;
    int err;
    int nomem;
    struct linescan_fields *f;
};

/* Scans line[0..n). Returns LINESCAN_OK (fields filled), LINESCAN_BAD_JSON,
 * LINESCAN_BAD_UTF8, or -1 when out of memory. */
int linescan_line(struct linescan *ls, const char *line, size_t n, struct linescan_fields *f);
void linescan_free(struct linescan *ls);

/* Decodes the raw text of a string the scanner accepted into out[0..cap); returns the
 * decoded length (which may exceed cap: then only cap bytes were written). */
size_t linescan_unescape(const char *raw, size_t raw_len, char *out, size_t cap);

#endif
