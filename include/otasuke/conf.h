/*
 * Typed configuration table (Redis config.c / sshd -T idea).
 *
 * A program describes each setting once: dotted name, type, default, bounds, unit,
 * offset into its settings struct and help text. The same table drives defaults,
 * YAML file parsing (nested maps become dotted names), `--set name=value`
 * overrides, validation, `--help-config` and `-T` (print the effective values).
 * Errors name the file and line: "sensor.yaml:12: flow.memcap: value too large".
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
/* Prints "name: value" for every item, in the table's order (-T). */
void conf_print(const struct conf_item *tab, const void *src, FILE *out);
/* Prints the table as documentation (--help-config). */
void conf_help(const struct conf_item *tab, FILE *out);
/* Parsers shared with command-line handling. Return 0 or ERR_INVAL. */
int conf_parse_size(const char *s, uint64_t *out);
int conf_parse_duration(const char *s, uint64_t *out);

#endif
