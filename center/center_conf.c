/*
 * The center's configuration table (center_conf.h). docs/center.md lists the same
 * settings; `otasuke-center --help-config` prints them from here.
 */
#include "center_conf.h"

#include <stddef.h>

#define OFF(f) offsetof(struct center_conf, f)
#define KiB    1024LL
#define MiB    (1024LL * KiB)
#define GiB    (1024LL * MiB)
#define SEC    1000000LL

static const char *const syncs[] = {"full", "normal", NULL};
static const char *const tls_modes[] = {"none", "try", "required", NULL};
static const char *const log_levels[] = {"error", "warn", "notice", "info", "debug", NULL};

const struct conf_item center_conf_table[] = {
    {"db", CONF_STRING, "", 0, 0, OFF(db),
     "the store (required): a SQLite file, or a postgresql:// URL; created or migrated when needed", NULL},
    {"listen", CONF_STRING, "127.0.0.1:8080", 0, 0, OFF(listen),
     "numeric ADDRESS:PORT or [IPv6]:PORT to listen on; port 0 picks a free port", NULL},
    {"http.threads", CONF_INT, "4", 1, 64, OFF(threads),
     "server threads, and as many database connections", NULL},
    {"http.max_connections", CONF_INT, "256", 1, 65536, OFF(max_connections),
     "concurrent connections; more are refused", NULL},
    {"http.timeout", CONF_DURATION, "10s", 1 * SEC, 3600 * SEC, OFF(timeout),
     "a connection idle this long is closed", NULL},
    {"ingest.max_body", CONF_SIZE, "16 MiB", 1 * KiB, 1 * GiB, OFF(max_body),
     "largest ingest body as sent (413 above)", NULL},
    {"ingest.max_inflated", CONF_SIZE, "64 MiB", 1 * KiB, 4 * GiB, OFF(max_inflated),
     "largest ingest body after gzip/deflate (413 above)", NULL},
    {"ingest.max_line", CONF_SIZE, "1 MiB", 256, 64 * MiB, OFF(max_line),
     "longest event line; longer lines are rejected", NULL},
    {"ingest.max_events", CONF_INT, "100000", 1, 10000000, OFF(max_events),
     "events per batch; further lines are rejected", NULL},
    {"store.sync", CONF_ENUM, "full", 0, 0, OFF(sync),
     "SQLite synchronous mode: full (an acknowledged batch survives power loss) or normal "
     "(it survives a crash of the process)",
     syncs},
    {"store.busy_timeout", CONF_DURATION, "2s", 0, 600 * SEC, OFF(busy_timeout),
     "how long a write waits for a lock held by another process before 503", NULL},
    {"log_level", CONF_ENUM, "notice", 0, 0, OFF(log_level),
     "diagnostics on stderr: error, warn, notice, info (one line per batch), debug", log_levels},
    {"incident.window", CONF_DURATION, "1h", 1 * SEC, 30LL * 86400 * SEC, OFF(incident_window),
     "an alert joins its device's open incident when within this time of it", NULL},
    {"notify.smtp_url", CONF_STRING, "", 0, 0, OFF(smtp_url),
     "SMTP server for incident mail: smtp://HOST:PORT or smtps://HOST:PORT; empty: mail "
     "stays queued",
     NULL},
    {"notify.smtp_user", CONF_STRING, "", 0, 0, OFF(smtp_user),
     "SMTP AUTH user name; empty: no authentication", NULL},
    {"notify.smtp_password_file", CONF_STRING, "", 0, 0, OFF(smtp_password_file),
     "file holding the SMTP password (first line), read at start", NULL},
    {"notify.smtp_ca", CONF_STRING, "", 0, 0, OFF(smtp_ca),
     "CA bundle to verify the SMTP server and webhooks; empty: the system's", NULL},
    {"notify.smtp_tls", CONF_ENUM, "try", 0, 0, OFF(smtp_tls),
     "STARTTLS on smtp://: none, try (when offered), required", tls_modes},
    {"notify.from", CONF_STRING, "otasuke <otasuke@localhost>", 0, 0, OFF(mail_from),
     "From of incident mail (ASCII: \"Name <address>\")", NULL},
    {"notify.staff", CONF_STRING, "", 0, 0, OFF(staff),
     "provider staff addresses (comma-separated) that get every incident mail", NULL},
    {"notify.max_attempts", CONF_INT, "8", 1, 1000, OFF(notify_max_attempts),
     "attempts per notification before it is marked failed", NULL},
    {"notify.retry_base", CONF_DURATION, "30s", 1000, 86400 * SEC, OFF(notify_retry_base),
     "wait after the first failed attempt; doubled after each further one", NULL},
    {"notify.retry_max", CONF_DURATION, "30m", 1000, 86400 * SEC, OFF(notify_retry_max),
     "longest wait between attempts", NULL},
    {"notify.poll", CONF_DURATION, "5s", 1000, 3600 * SEC, OFF(notify_poll),
     "how often the sender looks for due notifications (it is also woken by ingest)", NULL},
    {"notify.timeout", CONF_DURATION, "30s", 1 * SEC, 600 * SEC, OFF(notify_timeout),
     "time limit of one SMTP or webhook delivery", NULL},
    {"auth.argon2_memory", CONF_SIZE, "19 MiB", 19 * MiB, 4 * GiB, OFF(argon2_memory),
     "Argon2id memory per password hash (at least 19 MiB); costs this much per login", NULL},
    {"auth.argon2_time", CONF_INT, "2", 2, 100, OFF(argon2_time),
     "Argon2id passes over the memory (at least 2)", NULL},
    {"auth.argon2_parallelism", CONF_INT, "1", 1, 16, OFF(argon2_parallelism),
     "Argon2id lanes", NULL},
    {"auth.session_idle", CONF_DURATION, "30m", 1 * SEC, 7LL * 86400 * SEC, OFF(session_idle),
     "a login session unused this long ends", NULL},
    {"auth.session_max", CONF_DURATION, "12h", 1 * SEC, 30LL * 86400 * SEC, OFF(session_max),
     "a login session ends this long after the login, used or not", NULL},
    {"auth.login_max_failures", CONF_INT, "10", 1, 1000, OFF(login_max_failures),
     "failed logins per account name, and per source address, within auth.login_window "
     "before further attempts get 429",
     NULL},
    {"auth.login_window", CONF_DURATION, "15m", 1 * SEC, 86400 * SEC, OFF(login_window),
     "the window failed logins are counted in", NULL},
    {"auth.throttle_entries", CONF_INT, "65536", 8, 16777216, OFF(throttle_entries),
     "accounts and addresses each throttle table remembers (fixed memory, 24 bytes each)",
     NULL},
    {"metrics.token_file", CONF_STRING, "", 0, 0, OFF(metrics_token_file),
     "file holding the bearer token (first line, at least 16 characters) that may scrape "
     "/metrics besides provider staff; empty: staff sessions only",
     NULL},
    {NULL, 0, NULL, 0, 0, 0, NULL, NULL},
};
