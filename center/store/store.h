/*
 * The center's store: tenants (companies), sensors and their credentials, ingested
 * batches, events and per-tenant per-day counters, behind one interface so that the
 * embedded SQLite store and PostgreSQL are interchangeable: sqlite.c, incident.c and
 * people.c are written once over the thin SQL layer of db.h, which speaks to either.
 *
 * A `struct store` is one database connection: use it from one thread at a time. The
 * HTTP server keeps a pool of them (center/http/server.c).
 *
 * What it keeps true:
 *  - The schema is versioned (table schema_version); store_open() runs every missing
 *    migration, each in its own transaction, and refuses a database whose version is
 *    newer than this program knows.
 *  - Secrets are never stored: enrollment codes and device tokens are kept only as
 *    their SHA-256 digests.
 *  - A batch is stored exactly once: the (sensor, batch id) row, its events and the
 *    counter updates commit in one transaction, or none of them do. The caller
 *    acknowledges only after store_ingest() returned 0.
 *  - Every query is a prepared statement with bound parameters.
 */
#ifndef OTASUKE_CENTER_STORE_H
#define OTASUKE_CENTER_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STORE_HASH_LEN 32     /* SHA-256 */
#define STORE_ERRMSG_LEN 256

/* Extra results beside the ERR_* codes of otasuke/err.h. */
#define STORE_BUSY (-100)      /* the database is locked or overloaded: retry later */
#define STORE_DUPLICATE (-101) /* store_ingest: the batch was stored before */
#define STORE_EXPIRED (-102)   /* store_enroll: the code is past its expiry */

enum store_sync { STORE_SYNC_FULL = 0, STORE_SYNC_NORMAL };

struct store;

#define STORE_INCIDENT_WINDOW_DEFAULT (3600LL * 1000000) /* 1 h */

struct store_opts {
    enum store_sync sync;  /* FULL: an acknowledged batch survives power loss too */
    int busy_timeout_ms;   /* how long a writer waits for the lock before STORE_BUSY */
    int64_t incident_window_us; /* alerts of a device this close join its incident (0: 1 h) */
};

struct company_in {
    const char *name;
    const char *sector;
    const char *tz;       /* IANA zone name, e.g. Asia/Tokyo */
    const char *lang;     /* "ja" or "en" */
    const char *contacts; /* comma-separated mail addresses, may be "" */
    int64_t devices;
};

/* One sensor as the API and the CLI see it. */
struct sensor_info {
    int64_t id;
    int64_t company_id;
    char name[128];
    int enrolled; /* the enrollment code was exchanged for a token */
    int revoked;
};

#define PRINCIPAL_NAME_MAX 128
#define PRINCIPAL_CSRF_LEN 64 /* hex digits of the session's CSRF token */

enum principal_kind { PRINCIPAL_DEVICE = 0, PRINCIPAL_PERSON };

/* The identity behind a request: a device token (sensor) or a person's session
 * (people.h). company_id is the tenant the caller is bound to; 0 for provider staff,
 * who see every tenant. */
struct principal {
    int64_t sensor_id;
    int64_t company_id;
    int kind;                     /* enum principal_kind */
    int64_t user_id;              /* people only */
    int64_t session_id;
    int role;                     /* enum user_role (people.h) */
    int by_cookie;                /* the session came in the cookie (CSRF applies) */
    char name[PRINCIPAL_NAME_MAX];
    char csrf[PRINCIPAL_CSRF_LEN + 1];
};

/* One event of a batch, as the ingest parser validated it. Borrowed strings. */
struct store_event {
    const char *event_type; /* [a-z0-9_]{1,64} */
    const char *category;   /* alert.category for alerts, else NULL */
    int64_t ts_us;          /* event time, µs since the epoch, UTC */
    const char *body;       /* the event line, valid UTF-8 JSON */
    size_t body_len;
    uint64_t line;          /* its 1-based line in the batch's body (0: not known) */
};

struct store_batch {
    const char *batch_id; /* [A-Za-z0-9_.:-]{1,64} */
    uint64_t seq;
    const struct store_event *ev;
    size_t n_ev;
    uint64_t rejected; /* malformed lines of the batch, recorded with it */
};

/* What a stored batch recorded; filled on success and on STORE_DUPLICATE. */
struct store_batch_result {
    uint64_t stored;
    uint64_t rejected;
    uint64_t seq;
    uint64_t notifications; /* notifications queued by this batch's alerts */
};

struct store_event_row {
    int64_t id;
    int64_t sensor_id;
    const char *event_type;
    int64_t ts_us;
    int64_t received_us;
    const char *body;
};

struct store_counter_row {
    const char *day; /* YYYY-MM-DD, UTC */
    const char *event_type;
    const char *category; /* "" when none */
    int64_t count;
};

struct store_event_query {
    int64_t company_id;
    const char *event_type; /* NULL: every type */
    int64_t since_us;       /* events with ts >= since_us */
    int64_t after_id;       /* events with id > after_id (paging) */
    int limit;
};

struct store_counter_query {
    int64_t company_id;
    const char *event_type; /* NULL: every type */
    const char *day_from;   /* inclusive, NULL: open */
    const char *day_to;     /* inclusive, NULL: open */
};

typedef int (*store_event_cb)(void *arg, const struct store_event_row *row);
typedef int (*store_counter_cb)(void *arg, const struct store_counter_row *row);

/* Opens the store named by `target`: a postgresql:// (or postgres://) URL selects
 * PostgreSQL, anything else is a SQLite file path (as store_open_sqlite). Runs the
 * missing migrations. NULL on failure with a message in errmsg. */
struct store *store_open(const char *target, const struct store_opts *opts, char *errmsg,
                         size_t errlen);
/* Opens (creating if needed) the SQLite database at `path` in WAL mode and runs the
 * missing migrations. Returns NULL on failure with a message in errmsg (errlen bytes). */
struct store *store_open_sqlite(const char *path, const struct store_opts *opts, char *errmsg,
                                size_t errlen);
/* Closes the connection (NULL is accepted). */
void store_close(struct store *st);
/* The last error message of this connection (static storage of `st`). */
const char *store_errmsg(const struct store *st);
/* After store_ingest() failed: the line (store_event.line) of the event the database
 * refused to store, 0 when the failure was not one event's (nothing of the batch is
 * stored either way). */
uint64_t store_refused_line(const struct store *st);
/* Whether a process must let one writer at a time use the database (SQLite: one
 * writer per file; queueing in-process beats polling its busy handler). PostgreSQL
 * takes concurrent ingest transactions: each pooled connection writes on its own, the
 * store orders its row locks (counters sorted, a tenant lock around incident
 * grouping), and a deadlock or serialization failure is STORE_BUSY (503, retried). */
bool store_serial_writes(const struct store *st);
/* The schema version of the open database. */
int store_schema_version(struct store *st);
/* The newest schema version this program knows. */
int store_schema_latest(void);

/* Adds a company; *id receives its id. ERR_EXISTS when the name is taken. */
int store_company_add(struct store *st, const struct company_in *c, int64_t *id);
/* Changes company id's fields: NULL strings and devices < 0 keep the stored value.
 * ERR_NOTFOUND when there is no such company, ERR_EXISTS when the name is taken. */
int store_company_set(struct store *st, int64_t id, const struct company_in *c);
/* Calls cb(arg, id, name) for each company in id order. */
int store_company_list(struct store *st, void (*cb)(void *arg, int64_t id, const char *name,
                                                    const char *sector, const char *tz,
                                                    const char *lang),
                       void *arg);
/* Adds a sensor of company `company_id` with the digest of its one-time enrollment code,
 * valid until expires_us. ERR_NOTFOUND when the company does not exist. */
int store_sensor_add(struct store *st, int64_t company_id, const char *name,
                     const uint8_t code_hash[STORE_HASH_LEN], int64_t expires_us,
                     int64_t *sensor_id);
/* Lists the sensors of company_id (0: all) through cb. */
int store_sensor_list(struct store *st, int64_t company_id,
                      void (*cb)(void *arg, const struct sensor_info *s), void *arg);
/* Revokes a sensor: its token and any unused code stop working at once.
 * ERR_NOTFOUND when there is no such sensor. */
int store_sensor_revoke(struct store *st, int64_t sensor_id);
/* Exchanges an enrollment code (by digest) for a device token (by digest), once.
 * ERR_NOTFOUND for an unknown, used or revoked code, STORE_EXPIRED past its expiry. */
int store_enroll(struct store *st, const uint8_t code_hash[STORE_HASH_LEN],
                 const uint8_t token_hash[STORE_HASH_LEN], int64_t now_us,
                 struct principal *who);
/* Looks up a device token by digest. ERR_NOTFOUND for unknown or revoked tokens. */
int store_auth_token(struct store *st, const uint8_t token_hash[STORE_HASH_LEN],
                     struct principal *who);
/* Stores a batch for `who` in one transaction: the batch row, its events and the
 * per-day counters. Returns 0, STORE_DUPLICATE (nothing written, *res tells what the
 * first delivery stored), STORE_BUSY, or another negative code. */
int store_ingest(struct store *st, const struct principal *who, const struct store_batch *b,
                 int64_t now_us, struct store_batch_result *res);
/* Reads events of q->company_id in id order; stops early when cb returns nonzero. */
int store_events(struct store *st, const struct store_event_query *q, store_event_cb cb,
                 void *arg);
/* Reads counters of q->company_id ordered by day, type, category. */
int store_counters(struct store *st, const struct store_counter_query *q, store_counter_cb cb,
                   void *arg);

/* ---- incidents, suppression rules, notifications (incident.c) ----
 *
 * Alerts stored by store_ingest() are grouped, in the same transaction, by tenant and
 * device (device.mac, else device.ip, else the event's src_ip) into incidents: an
 * alert joins the open incident of its device when it lies within the window of it,
 * else opens a new one. An alert matched by an unexpired suppression rule of its
 * tenant is stored and counted (counter type "alert_suppressed") but joins no
 * incident and notifies no one. When an incident opens, or its severity rises, at or
 * above the tenant's notify_severity, a mail (and a webhook call when the tenant has a
 * URL) is queued in the notifications table, in the same transaction.
 *
 * company_id 0 in the calls below means "any tenant" (the operators' CLI); the HTTP
 * API always passes the caller's tenant. */

enum incident_state {
    INC_NEW = 0,
    INC_ACKNOWLEDGED,
    INC_CUSTOMER_CONTACTED,
    INC_ONSITE_DISPATCH,
    INC_RESOLVED,
    INC_FALSE_POSITIVE,
    INC_STATE_COUNT
};

/* "new", "acknowledged", ... ; NULL for an out-of-range value. */
const char *incident_state_name(int state);
/* The state named s, or -1. */
int incident_state_parse(const char *s);
/* 1 when from -> to is an allowed transition (docs/api.md). */
int incident_transition_ok(int from, int to);

struct store_incident {
    int64_t id;
    int64_t company_id;
    const char *device_key; /* "mac:..", "ip:..", "unknown" */
    const char *device_ip, *device_mac, *device_name; /* NULL when unknown */
    int severity;           /* 1 critical .. 4 informational: the most severe alert */
    const char *categories; /* comma-separated, sorted */
    const char *steps_ja, *steps_en; /* first steps: distinct action texts, one per line */
    int state;
    const char *assignee;   /* "" when none */
    int64_t alerts;
    int64_t first_seen, last_seen, created, updated; /* µs */
};

struct store_incident_alert {
    int64_t event_id;
    int64_t ts;
    int severity;
    const char *category;
    int64_t signature_id; /* -1 when absent */
    const char *signature, *signature_ja;
    const char *body; /* the event as sent */
};

struct store_incident_note {
    int64_t id;
    int64_t at;
    const char *author;
    const char *kind; /* "comment", "state", "assignee" */
    const char *text;
};

struct store_notification {
    int64_t id;
    int64_t company_id;
    int64_t incident_id;
    const char *channel; /* "mail" or "webhook" */
    const char *reason;  /* "opened" or "escalated" */
    int severity;
    const char *target;  /* webhook URL; "" for mail (the tenant's contacts) */
    const char *state;   /* "queued", "sent", "failed" */
    int attempts;
    int64_t next_attempt, created, sent;
    const char *last_error;
};

struct store_incident_query {
    int64_t company_id;
    int state;          /* -1: any */
    int severity_max;   /* incidents with severity <= this (1..4); 4: any */
    int64_t since_us;   /* last_seen >= since */
    int64_t until_us;   /* first_seen <= until; INT64_MAX: open */
    int64_t after_id;   /* id > after_id, paging */
    int limit;
};

struct store_suppression {
    int64_t id;
    int64_t company_id;
    int64_t signature_id; /* -1: any signature */
    const char *device;   /* "" any device, else a device key "mac:.." / "ip:.." */
    const char *reason;
    int64_t expires, created;
    int64_t hits;
};

typedef int (*store_incident_cb)(void *arg, const struct store_incident *inc);

/* Lists incidents of q->company_id, newest id first unless after_id paging (id order). */
int store_incident_list(struct store *st, const struct store_incident_query *q,
                        store_incident_cb cb, void *arg);
/* One incident with its timeline, notes and notifications, through the callbacks
 * (any may be NULL). ERR_NOTFOUND when it does not exist in company_id. */
int store_incident_get(struct store *st, int64_t company_id, int64_t id, store_incident_cb inc,
                       int (*alert)(void *arg, const struct store_incident_alert *a),
                       int (*note)(void *arg, const struct store_incident_note *n),
                       int (*notif)(void *arg, const struct store_notification *n), void *arg);
/* Changes the state (state < 0: keep) and/or the assignee (NULL: keep), recorded as
 * notes by author. ERR_NOTFOUND, or ERR_INVAL for a transition that is not allowed. */
int store_incident_update(struct store *st, int64_t company_id, int64_t id, int state,
                          const char *assignee, const char *author, int64_t now);
/* Adds a comment. ERR_NOTFOUND when there is no such incident. */
int store_incident_comment(struct store *st, int64_t company_id, int64_t id, const char *author,
                           const char *text, int64_t now, int64_t *note_id);

/* The device key of a MAC ("8c:16:..") or an IP address text; ERR_INVAL otherwise. */
int store_device_key(const char *device, char *key, size_t n);
int store_suppression_add(struct store *st, const struct store_suppression *s, int64_t *id);
/* Changes reason (NULL: keep) and expiry (0: keep). */
int store_suppression_update(struct store *st, int64_t company_id, int64_t id,
                             const char *reason, int64_t expires);
int store_suppression_delete(struct store *st, int64_t company_id, int64_t id);
/* Lists rules of company_id (0: all) in id order; id > 0 lists only that one. */
int store_suppression_list(struct store *st, int64_t company_id, int64_t id,
                           int (*cb)(void *arg, const struct store_suppression *s), void *arg);

/* Sets a tenant's notification threshold (1..4; 0: keep) and webhook URL (NULL: keep;
 * "" removes it) and contacts (NULL: keep). ERR_NOTFOUND when there is no such company. */
int store_company_notify(struct store *st, int64_t company_id, int severity,
                         const char *webhook, const char *contacts);

/* What the sender needs to render one queued notification. */
struct store_notify_job {
    struct store_notification n;
    struct store_incident inc;
    const char *company, *lang, *contacts;
    const char *tz; /* the tenant's IANA zone: times in mails are shown in it */
};
/* Calls cb for up to `limit` queued notifications due at `now`, oldest first, with the
 * incident and tenant they concern (mail rows only when mail_ok). Strings live until
 * cb returns; cb may call other store functions on st. */
int store_notify_due(struct store *st, int64_t now, int limit, int mail_ok,
                     int (*cb)(void *arg, const struct store_notify_job *j), void *arg);
/* The distinct signatures (English, Japanese) of an incident's alerts, in first-seen
 * order, at most `max`. */
int store_incident_signatures(struct store *st, int64_t incident_id, int max,
                              int (*cb)(void *arg, const char *en, const char *ja), void *arg);
/* Records an attempt: state "sent", "failed" (given up) or "queued" (retry at
 * next_attempt), with the error text (NULL: none). */
int store_notify_result(struct store *st, int64_t id, const char *state, const char *error,
                        int64_t next_attempt, int64_t now);
/* The notifications waiting to be sent (state queued), for /metrics. */
int store_notify_queued(struct store *st, int64_t *n);

#endif
