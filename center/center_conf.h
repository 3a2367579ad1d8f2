/*
 * otasuke-center's settings: one typed table (otasuke/conf.h) drives the defaults, the
 * YAML file (-c), --set NAME=VALUE, the long options, -T and --help-config.
 */
#ifndef OTASUKE_CENTER_CONF_H
#define OTASUKE_CENTER_CONF_H

#include "otasuke/conf.h"

#include <stdint.h>

enum center_sync { CENTER_SYNC_FULL = 0, CENTER_SYNC_NORMAL };

struct center_conf {
    char db[CONF_STR_MAX];
    char listen[CONF_STR_MAX];
    int64_t threads;
    int64_t max_connections;
    uint64_t timeout;      /* µs */
    uint64_t max_body;     /* bytes */
    uint64_t max_inflated; /* bytes */
    uint64_t max_line;     /* bytes */
    int64_t max_events;
    int sync;              /* enum center_sync */
    uint64_t busy_timeout; /* µs */
    int log_level;         /* enum log_level */
    /* incidents and notifications */
    uint64_t incident_window;       /* µs */
    char smtp_url[CONF_STR_MAX];
    char smtp_user[CONF_STR_MAX];
    char smtp_password_file[CONF_STR_MAX];
    char smtp_ca[CONF_STR_MAX];
    int smtp_tls;                   /* enum notify_tls */
    char mail_from[CONF_STR_MAX];
    char staff[CONF_STR_MAX];
    int64_t notify_max_attempts;
    uint64_t notify_retry_base;     /* µs */
    uint64_t notify_retry_max;      /* µs */
    uint64_t notify_poll;           /* µs */
    uint64_t notify_timeout;        /* µs */
    /* people: passwords, sessions, login throttling */
    uint64_t argon2_memory;         /* bytes */
    int64_t argon2_time;
    int64_t argon2_parallelism;
    uint64_t session_idle;          /* µs */
    uint64_t session_max;           /* µs */
    int64_t login_max_failures;
    uint64_t login_window;          /* µs */
    int64_t throttle_entries;
    char metrics_token_file[CONF_STR_MAX];
};

extern const struct conf_item center_conf_table[];

#endif
