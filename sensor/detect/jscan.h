/*
 * A small, bounded walker over one JSON document (an event line the sensor wrote),
 * used by the detections to read the fields of application-layer events without
 * depending on each parser's structs.
 *
 * For every scalar it calls back with the dotted path of object keys leading to it
 * (array levels add nothing: "dns.queries.rrname"), its type and its text; strings
 * are unescaped (\uXXXX to UTF-8; a string longer than JSCAN_MAX_STR is passed cut,
 * with `cut` set; so is one holding \u0000). Nesting deeper than JSCAN_MAX_DEPTH, paths longer than
 * JSCAN_MAX_PATH and any syntax error stop the walk with -1. It never reads outside
 * buf[0..len) and never allocates.
 */
#ifndef OTASUKE_SENSOR_DETECT_JSCAN_H
#define OTASUKE_SENSOR_DETECT_JSCAN_H

#include <stdbool.h>
#include <stddef.h>

#define JSCAN_MAX_DEPTH 16
#define JSCAN_MAX_PATH  128
#define JSCAN_MAX_STR   2048

enum jscan_type { JSCAN_STR, JSCAN_NUM, JSCAN_BOOL, JSCAN_NULL };

struct jscan_val {
    const char *path; /* dotted keys, NUL-terminated */
    enum jscan_type type;
    const char *s; /* the text (unescaped for strings), NUL-terminated */
    size_t n;
    bool cut;
    size_t plen; /* strlen(path) */
};

/* Walks buf[0..len); cb returns false to stop early (nothing after that value is
 * read). Returns 0 when the document was walked (or stopped by cb), -1 on malformed
 * input or a limit met before the stop. */
int jscan(const char *buf, size_t len, bool (*cb)(const struct jscan_val *v, void *ud),
          void *ud);

/* jscan with a filter: before the value of each object member, want(path, ud) says
 * (plen: strlen(path)) whether it is read. A value not wanted (with all it holds) reaches no callback and
 * is not copied, only checked as jscan checks it: for a reader that ignores the
 * values it does not want, the walk ends as without the filter (0 or -1, the same
 * values read). want NULL: every value, as jscan. */
int jscan_want(const char *buf, size_t len,
               bool (*want)(const char *path, size_t plen, void *ud),
               bool (*cb)(const struct jscan_val *v, void *ud), void *ud);

/* The value at buf, in the middle of a line (a member's value after its colon, or an
 * element of an array), walked as jscan walks it, the paths of its scalars starting
 * with path (plen bytes: the value's own path, "dhcp.client_mac"). Returns 0 when
 * read, 1 when cb stopped the walk, -1 on malformed input or a limit met. What follows
 * the value is not read. For readers told where a value is (app/applayer.h,
 * struct app_notes). */
int jscan_value(const char *buf, size_t len, const char *path, size_t plen,
                bool (*cb)(const struct jscan_val *v, void *ud), void *ud);

/* The event_type of an event line (in the EVE header: the key within its first 160
 * bytes): *type points into json, without quotes and not NUL-terminated. false when
 * there is none. Read once per line and handed to each reader's begin step. */
bool jscan_event_type(const char *json, size_t len, const char **type, size_t *tlen);

#endif
