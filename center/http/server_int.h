/*
 * Internals shared by the server (server.c) and its API handlers (api.c).
 */
#ifndef OTASUKE_CENTER_SERVER_INT_H
#define OTASUKE_CENTER_SERVER_INT_H

#include "http/server.h"

#include "otasuke/jw.h"
#include "otasuke/log.h"

#include <microhttpd.h>
#include <pthread.h>

#define ENROLL_MAX_BODY 4096
#define EVENTS_MAX_LIMIT 1000
#define EVENTS_DEFAULT_LIMIT 100
#define RESPONSE_SOFT_MAX (8u << 20) /* events listing stops adding events past this */
#define RESPONSE_MAX (RESPONSE_SOFT_MAX + (4u << 20))
#define BATCH_ID_MAX 64

#define API_MAX_BODY 16384 /* JSON bodies of the incident and suppression endpoints */

enum route {
    R_NONE,
    R_ENROLL,
    R_INGEST,
    R_EVENTS,
    R_COUNTERS,
    R_HEALTH,
    R_INC_LIST,    /* GET /api/v1/incidents */
    R_INC_GET,     /* GET /api/v1/incidents/{id} */
    R_INC_UPDATE,  /* PATCH /api/v1/incidents/{id} */
    R_INC_COMMENT, /* POST /api/v1/incidents/{id}/comments */
    R_SUPP_LIST,   /* GET /api/v1/suppressions */
    R_SUPP_ADD,    /* POST /api/v1/suppressions */
    R_SUPP_GET,    /* GET /api/v1/suppressions/{id} */
    R_SUPP_UPDATE, /* PATCH /api/v1/suppressions/{id} */
    R_SUPP_DELETE, /* DELETE /api/v1/suppressions/{id} */
    R_LOGIN,       /* POST /api/v1/login */
    R_LOGOUT,      /* POST /api/v1/logout */
    R_SESSION,     /* GET /api/v1/session */
    R_PASSWORD,    /* POST /api/v1/password */
    R_USERS_LIST,  /* GET /api/v1/users */
    R_USERS_ADD,   /* POST /api/v1/users */
    R_USER_GET,    /* GET /api/v1/users/{id} */
    R_USER_UPDATE, /* PATCH /api/v1/users/{id} */
    R_AUDIT,       /* GET /api/v1/audit */
    R_METRICS,     /* GET /metrics (provider staff or the scrape token) */
    R_TOKENS_LIST,   /* GET /api/v1/tokens */
    R_TOKENS_ADD,    /* POST /api/v1/tokens */
    R_TOKEN_REVOKE,  /* DELETE /api/v1/tokens/{id} */
    R_TENANTS_LIST,  /* GET /api/v1/tenants */
    R_TENANTS_ADD,   /* POST /api/v1/tenants */
    R_TENANT_GET,    /* GET /api/v1/tenants/{id} */
    R_TENANT_UPDATE, /* PATCH /api/v1/tenants/{id} */
    R_SENSORS_LIST,  /* GET /api/v1/sensors */
    R_SENSORS_ADD,   /* POST /api/v1/sensors (an enrollment code) */
    R_SENSOR_REVOKE, /* DELETE /api/v1/sensors/{id} */
    R_DEVICES,       /* GET /api/v1/devices */
};

#define SESSION_COOKIE "__Host-otasuke_session"
#define SESSION_PREFIX "ots_"
#define SESSION_BYTES 32 /* 256 bits */
#define CSRF_HEADER "X-CSRF-Token"

struct pool {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct store **all;
    struct store **free;
    unsigned n, n_free;
    int inited;
};

#define METRICS_STATUS_MAX 600
#define METRICS_LAT_BUCKETS 12

/* Counters of /metrics (metrics.c), updated with relaxed atomic adds. */
struct metrics {
    uint64_t batches, batches_dup, events, rejected;
    uint64_t status[METRICS_STATUS_MAX];
    uint64_t lat_bucket[METRICS_LAT_BUCKETS], lat_count, lat_sum_us;
    uint64_t store_errors[3]; /* busy, nospace, other */
};

struct server {
    struct server_conf conf;
    struct MHD_Daemon *mhd;
    struct pool pool;
    /* Serializes this process's writers (ingest, enroll): they queue here instead of
     * polling SQLite's busy handler; other processes (the CLI) still meet the busy
     * timeout. Readers do not take it (WAL). */
    pthread_mutex_t write_mu;
    uint16_t port;
    struct log_rate busy_log;
    struct notifier *notifier;
    struct throttle *thr_user; /* login failures per account name */
    struct throttle *thr_addr; /* login failures per source address */
    struct metrics metrics;
};

struct req {
    enum route route;
    struct principal who;
    char *body;
    size_t len, cap, max;
    int too_big;
    int gzip;
    uint64_t seq;
    int64_t id; /* the {id} of /api/v1/incidents/{id}, /api/v1/suppressions/{id} */
    char batch_id[BATCH_ID_MAX + 1];
    char addr[64]; /* the client's address, for the audit log */
    const char *method;
    int64_t api_token;  /* the API token the person came with (tokens.h); 0: none, -1: a
                         * token that did not authenticate */
    int api_read_only;  /* that token's scope is "read" */
    uint64_t t0_us;  /* monotonic time of the first call, for the latency histogram */
    unsigned status; /* the status queued, 0 until then */
};

/* Borrows a store connection from the pool (waits when all are in use). */
struct store *pool_get(struct pool *p);
void pool_put(struct pool *p, struct store *st);

/* Records the status about to be queued for the request this thread is handling
 * (counted in /metrics when the request completes). Every MHD_queue_response call
 * goes with one. */
void req_note_status(unsigned status);

/* ---- metrics.c ---- */
uint64_t metrics_now_us(void);
void metrics_response(struct metrics *m, unsigned status, uint64_t elapsed_us);
void metrics_ingest(struct metrics *m, int duplicate, uint64_t stored, uint64_t rejected);
void metrics_store_error(struct metrics *m, int kind); /* 0 busy, 1 nospace, 2 other */
/* Answers GET /metrics (the caller checked who asks). */
enum MHD_Result handle_metrics(struct server *s, struct MHD_Connection *c);

/* Queue a JSON answer (copied). retry_after > 0 adds a Retry-After header. */
enum MHD_Result send_buf(struct MHD_Connection *c, unsigned status, const char *buf, size_t len,
                         unsigned retry_after);
/* {"error": msg}; 503 answers carry Retry-After: 1. */
enum MHD_Result send_error(struct MHD_Connection *c, unsigned status, const char *msg);
/* Sends the document of w (500 when it overflowed) and frees w. */
enum MHD_Result send_jw(struct MHD_Connection *c, unsigned status, struct jw *w);
/* Busy or disk full: 503 with Retry-After; anything else 500. Logs, rate-limited. */
enum MHD_Result send_store_error(struct server *s, struct MHD_Connection *c, int rc,
                                 struct store *st);

enum MHD_Result handle_enroll(struct server *s, struct MHD_Connection *c, struct req *r);
enum MHD_Result handle_ingest(struct server *s, struct MHD_Connection *c, struct req *r);
enum MHD_Result handle_events(struct server *s, struct MHD_Connection *c, struct req *r);
enum MHD_Result handle_counters(struct server *s, struct MHD_Connection *c, struct req *r);
/* api_incident.c: incidents and suppression rules. */
enum MHD_Result handle_incidents(struct server *s, struct MHD_Connection *c, struct req *r);
/* api_people.c: login, logout, session, password, users, audit. */
enum MHD_Result handle_people(struct server *s, struct MHD_Connection *c, struct req *r);
/* api_tokens.c: a person's API tokens. */
enum MHD_Result handle_tokens(struct server *s, struct MHD_Connection *c, struct req *r);
/* api_tenants.c: tenants, their sensors and their devices. */
enum MHD_Result handle_tenants(struct server *s, struct MHD_Connection *c, struct req *r);

/* The tenant a request reads: a tenant user's own (a ?company= naming another one is
 * 404); provider staff's ?company=N, or 0 (every tenant) when absent, or 400 when
 * `required`. Returns 0 with *company set, else the status with *why. */
unsigned req_scope(struct MHD_Connection *c, const struct req *r, int required,
                   int64_t *company, const char **why);
/* Appends an audit row for the request's caller (takes the write lock itself; a
 * failure is logged, not answered). */
void audit_write(struct server *s, const struct req *r, int64_t company_id, const char *action,
                 const char *target, const char *detail);
/* The name recorded as author of notes and changes: the person, or "sensor:N". */
void req_author(const struct req *r, char *out, size_t n);

#endif
