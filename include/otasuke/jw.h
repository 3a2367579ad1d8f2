/*
 * Bounded JSON writer: builds one JSON document (an event line) in a growable
 * buffer that never grows past its configured maximum.
 *
 * Keys and string values are escaped; bytes that are not valid UTF-8 are written
 * as \u00XX escapes so that every line is valid JSON whatever the wire carried.
 * When the document would exceed `max`, the writer sets `bad` and stops; the
 * caller checks jw_ok() once at the end and drops (and counts) the event. Nesting
 * deeper than JW_MAX_DEPTH is also an error.
 */
#ifndef OTASUKE_JW_H
#define OTASUKE_JW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JW_MAX_DEPTH 16

struct jw {
    char *buf;
    size_t len;
    size_t cap;
    size_t max;
    bool bad;
    int depth;
    size_t val_at; /* where the value written last begins (after its key and colon) */
    /* where the string written last begins when none of its bytes needed an escape
     * (its text is the value), else SIZE_MAX */
    size_t plain_at;
    bool first[JW_MAX_DEPTH + 1];
};

/* Prepares w with an initial buffer of `cap` bytes (from MEM_OUTPUT) that may grow to
 * `max`. Returns 0 or ERR_NOMEM. */
int jw_init(struct jw *w, size_t cap, size_t max);
void jw_free(struct jw *w);
/* Empties w for a new document, keeping its buffer. */
void jw_reset(struct jw *w);
bool jw_ok(const struct jw *w);

/* In objects pass the key; inside arrays pass key = NULL. */
void jw_obj_open(struct jw *w, const char *key);
void jw_obj_close(struct jw *w);
void jw_arr_open(struct jw *w, const char *key);
void jw_arr_close(struct jw *w);
void jw_str(struct jw *w, const char *key, const char *s);
/* Writes n bytes of s (binary-safe) as a JSON string. */
void jw_strn(struct jw *w, const char *key, const char *s, size_t n);
/* Writes n bytes as lowercase hex, with sep between bytes unless sep is '\0'
 * ("a1:b2:..." for certificate fingerprints, "a1b2..." for digests). */
void jw_hex(struct jw *w, const char *key, const uint8_t *b, size_t n, char sep);
void jw_u64(struct jw *w, const char *key, uint64_t v);
void jw_i64(struct jw *w, const char *key, int64_t v);
void jw_dbl(struct jw *w, const char *key, double v);
void jw_bool(struct jw *w, const char *key, bool v);
void jw_null(struct jw *w, const char *key);
/* Appends raw, already valid JSON as a value. */
void jw_raw(struct jw *w, const char *key, const char *json, size_t n);

#endif
