/*
 * The ingest body parser: turns one batch body (NDJSON, already decompressed) into
 * the events to store and the list of rejected lines, without touching the store.
 *
 * Each non-empty line must be one JSON object (valid UTF-8, jansson) of at most
 * `max_line` bytes with a string `event_type` matching [a-z0-9_]{1,64} and an RFC 3339
 * `timestamp`; alerts are counted under `alert.category` (one of the DESIGN.md
 * taxonomy, else "other"). A bad line is rejected with its 1-based line number and
 * a reason; the good lines of the batch are kept. Empty lines are skipped.
 *
 * Events borrow their `body` from the input buffer, which must outlive the result.
 */
#ifndef OTASUKE_CENTER_INGEST_H
#define OTASUKE_CENTER_INGEST_H

#include "store/store.h"

#include <stddef.h>
#include <stdint.h>

#define INGEST_TYPE_MAX 64
#define INGEST_REJECTS_LISTED 100 /* rejected lines listed by number; all are counted */

struct ingest_limits {
    size_t max_line;   /* bytes per line */
    size_t max_events; /* events per batch; further lines are rejected */
};

struct ingest_reject {
    uint64_t line;
    const char *why; /* static text */
};

struct ingest_event {
    struct store_event se; /* pointers into this struct and the input, see ingest_parse */
    char type[INGEST_TYPE_MAX + 1];
    char category[INGEST_TYPE_MAX + 1];
};

struct ingest_result {
    struct ingest_event *ev; /* n_ev events, from MEM_CORE */
    struct store_event *se;  /* the same as a plain array for store_batch */
    size_t n_ev;
    size_t cap_ev;
    uint64_t lines;    /* non-empty lines seen */
    uint64_t rejected; /* lines rejected */
    struct ingest_reject rejects[INGEST_REJECTS_LISTED];
    size_t n_rejects; /* listed, <= INGEST_REJECTS_LISTED */
};

/* Parses body[0..len). Returns 0 (look at res for events and rejects) or ERR_NOMEM;
 * res must be released with ingest_result_free() either way. */
int ingest_parse(const char *body, size_t len, const struct ingest_limits *lim,
                 struct ingest_result *res);
void ingest_result_free(struct ingest_result *res);

/* Parses an RFC 3339 timestamp (YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|+HHMM)) into
 * microseconds since the epoch, UTC. Returns 0 or ERR_INVAL. */
int ingest_parse_time(const char *s, size_t n, int64_t *us);

/* Decompresses a gzip or zlib body into a new buffer (MEM_CORE, NUL-terminated) of at
 * most max_out bytes. Returns 0, ERR_LIMIT when the output would be larger, ERR_INVAL
 * for corrupt input or ERR_NOMEM. */
int ingest_inflate(const uint8_t *in, size_t n, size_t max_out, char **out, size_t *out_len);

#endif
