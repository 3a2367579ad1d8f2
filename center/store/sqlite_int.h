/*
 * Internals of the store shared by sqlite.c (tenants, sensors, ingest) and
 * incident.c (incidents, suppression rules, the notification queue): the connection
 * struct, error mapping and the per-connection prepared-statement cache.
 */
#ifndef OTASUKE_CENTER_SQLITE_INT_H
#define OTASUKE_CENTER_SQLITE_INT_H

#include "store/store.h"

#include "store/db.h"

#define STORE_XSTMT 24 /* cached statements of incident.c */

struct store {
    struct db *db;
    struct db_stmt *stmt[16];
    struct db_stmt *xstmt[STORE_XSTMT];
    int64_t incident_window_us;
    char err[STORE_ERRMSG_LEN];
    uint64_t refused_line; /* store_refused_line() */
};

/* Records the connection's error message and maps an SQLite result to STORE_BUSY,
 * ERR_NOSPACE, ERR_NOMEM, ERR_EXISTS or ERR_IO. */
int store_set_err(struct store *st, int rc, const char *what);
/* The cached statement `id` of incident.c, prepared from sql on first use. */
struct db_stmt *store_xprep(struct store *st, int id, const char *sql);
/* Wall clock, µs since the epoch. */
int64_t store_now_us(void);

/* Inside the ingest transaction (incident.c): groups one stored alert into an
 * incident, or marks it suppressed; *queued counts notifications queued. */
struct incident_batch_ctx {
    int64_t company_id;
    int have_company;
    int notify_severity;
    char webhook[512];
    uint64_t queued;
};
int incident_on_alert(struct store *st, struct incident_batch_ctx *ctx, int64_t event_id,
                      const struct store_event *e, int64_t now);

#endif
