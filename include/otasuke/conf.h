/*
 * Typed configuration table (Redis config.c / sshd -T idea).
 *
 * A program describes each setting once: dotted name, type, default, bounds, unit,
 * offset into its settings struct and help text. The same table drives defaults,
 * YAML file parsing (nested maps become dotted names), `--set name=value`
 * overrides, validation, `--help-config` and `-T` (print the effective values).
 * Errors name the file and line: "sensor.yaml:12: flow.memcap: value too large".
 *
 * Storage per type inside the settings struct: CONF_BOOL `bool`, CONF_INT `int64_t`,
 * CONF_SIZE `uint64_t` bytes, CONF_DURATION `uint64_t` microseconds, CONF_STRING
 * `char[CONF_STR_MAX]` (NUL-terminated, valid UTF-8, no control characters but tab),
 * CONF_ENUM `int`. Bounds (min, max) apply to INT, SIZE (bytes) and DURATION
 * (microseconds) and are ignored for the other types. A load either applies every
 * setting of the file or, on error, leaves the destination untouched.
 * See docs/internals/conf.md for the accepted syntax and the error messages.
 */
#ifndef OTASUKE_CONF_H
#define OTASUKE_CONF_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum conf_type {
    CONF_BOOL,     /* bool; yes/no, true/false, on/off */
    CONF_INT,      /* int64_t within [min, max] */
    CONF_SIZE,     /* uint64_t bytes; accepts units B, KiB, MiB, GiB (and K, M, G) */
    CONF_DURATION, /* uint64_t microseconds; accepts us, ms, s, m, h, d (bare = s) */
    CONF_STRING,   /* char[CONF_STR_MAX] inside the struct */
    CONF_ENUM,     /* int index into `choices` (NULL-terminated) */
};

#define CONF_STR_MAX 256
#define CONF_NAME_MAX 128         /* longest dotted setting name, NUL included */
#define CONF_DEPTH_MAX 16         /* deepest nesting of YAML mappings accepted */
#define CONF_FILE_MAX (1u << 20)  /* largest configuration file accepted, bytes */
#define CONF_VALUE_MAX (CONF_STR_MAX * 6 + 3) /* longest value conf_format_value writes */

struct conf_item {
    const char *name;
    enum conf_type type;
    const char *def;
    int64_t min;
    int64_t max; /* ignored when min == max == 0 */
    size_t offset;
    const char *help;
    const char *const *choices;
};

/* Sets every item of tab (terminated by name == NULL) to its default in dst. */
int conf_defaults(const struct conf_item *tab, void *dst);
/* Sets one item from text. On error writes a message to err and returns ERR_INVAL. */
int conf_set(const struct conf_item *tab, void *dst, const char *name, const char *value,
             char *err, size_t errlen);
/* Loads a YAML file over the current values. Errors carry "path:line: ". */
int conf_load_file(const struct conf_item *tab, void *dst, const char *path, char *err,
                   size_t errlen);
/* Same from a buffer (for tests and fuzzing); `name` is used in messages. */
int conf_load_buf(const struct conf_item *tab, void *dst, const char *name, const char *buf,
                  size_t len, char *err, size_t errlen);
/* The same, leaving the values of the top-level keys named in skip (a NULL-terminated
 * list of at most 32 names, or NULL) to another reader: their values (a scalar, list or
 * mapping) are passed over unchecked, e.g. the sensor's `intel:` list of lists, which
 * lib/intel/conf.c reads from the same file. A skipped key given twice is an error. */
int conf_load_file_skip(const struct conf_item *tab, void *dst, const char *path,
                        const char *const *skip, char *err, size_t errlen);
int conf_load_buf_skip(const struct conf_item *tab, void *dst, const char *name, const char *buf,
                       size_t len, const char *const *skip, char *err, size_t errlen);
/* Prints "name: value" for every item, in the table's order (-T). */
void conf_print(const struct conf_item *tab, const void *src, FILE *out);
/* Prints the table as documentation (--help-config). */
void conf_help(const struct conf_item *tab, FILE *out);
/* Parsers shared with command-line handling. Return 0 or ERR_INVAL. */
int conf_parse_size(const char *s, uint64_t *out);
int conf_parse_duration(const char *s, uint64_t *out);

/* Writes a size in its largest exact unit ("64 MiB", "1536 B") into out (at least
 * 24 bytes). The text is accepted by conf_parse_size. */
void conf_format_size(uint64_t bytes, char *out, size_t outlen);
/* Writes a duration in its largest exact unit ("2m", "30s", "500ms", "7us") into out
 * (at least 24 bytes). The text is accepted by conf_parse_duration. */
void conf_format_duration(uint64_t us, char *out, size_t outlen);
/* Writes item's value from src as conf_print shows it (strings quoted when YAML
 * needs it) into out (CONF_VALUE_MAX bytes suffice). */
void conf_format_value(const struct conf_item *item, const void *src, char *out, size_t outlen);
/* Returns the item called name in tab, or NULL. Borrows tab; the result points into it. */
const struct conf_item *conf_find(const struct conf_item *tab, const char *name);

#endif
