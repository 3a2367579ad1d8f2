/*
 * The center's HTTP server (libmicrohttpd, internal thread pool): the ingest,
 * enrollment and read APIs of docs/api.md over a pool of store connections, one per
 * server thread.
 *
 * Limits (RELIABILITY.md S9): at most `conn_limit` connections, an idle timeout of
 * `timeout_s`, request headers within MHD's per-connection memory (32 KiB), and no
 * request body read before the bearer token is checked, except the enrollment body,
 * which is capped at 4 KiB.
 */
#ifndef OTASUKE_CENTER_SERVER_H
#define OTASUKE_CENTER_SERVER_H

#include "auth/password.h"
#include "notify/notify.h"
#include "store/store.h"

#include <stddef.h>
#include <stdint.h>

struct server_conf {
    const char *db_path;
    struct store_opts store;
    const char *listen;   /* "127.0.0.1:8080", "[::1]:8080"; port 0 picks a free one */
    unsigned threads;     /* server threads = store connections */
    unsigned conn_limit;  /* concurrent connections */
    unsigned timeout_s;   /* idle connection timeout */
    size_t max_body;      /* ingest body as sent (compressed or not) */
    size_t max_inflated;  /* ingest body after decompression */
    size_t max_line;      /* one NDJSON line */
    size_t max_events;    /* events per batch */
    struct notify_conf notify; /* the notification sender's settings */
    const char *metrics_token; /* bearer token that may scrape /metrics; NULL/"": staff only */
    struct auth_conf {
        struct pw_params pw;       /* Argon2id parameters of new hashes */
        int64_t session_idle_us;   /* a session unused this long ends */
        int64_t session_max_us;    /* a session this old ends, used or not */
        unsigned max_failures;     /* failed logins per account or address ... */
        int64_t window_us;         /* ... within this window, then 429 */
        size_t throttle_entries;   /* slots of each throttle table (bounded memory) */
    } auth;
};

struct server;

/* Opens the store connections and starts listening. Returns NULL with a message in
 * err on failure. */
struct server *server_start(const struct server_conf *conf, char *err, size_t errlen);
/* The bound TCP port. */
uint16_t server_port(const struct server *srv);
/* Stops accepting, finishes the requests in progress, closes the store (NULL is
 * accepted). */
void server_stop(struct server *srv);

#endif
