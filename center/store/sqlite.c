/*
 * The SQLite store (store.h): one connection per struct store, WAL journal, foreign
 * keys on, a busy timeout, and the schema migrations of migrations.c run at open.
 *
 * Writes that must be atomic (enrollment, a batch with its events and counters) run
 * in BEGIN IMMEDIATE transactions, so a second writer waits for the lock up to the
 * busy timeout and then gets STORE_BUSY rather than a deadlock on upgrade. Statements
 * are prepared once per connection and reset after each use.
 */
#include "store/store.h"
#include "store/migrations.h"
#include "store/sqlite_int.h"

#include "otasuke/alloc.h"
#include "otasuke/err.h"

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

enum stmt_id {
    S_BEGIN,
    S_COMMIT,
    S_ROLLBACK,
    S_BATCH_GET,
    S_BATCH_ADD,
    S_EVENT_ADD,
    S_COUNTER_ADD,
    S_AUTH,
    S_COUNT
};

static const char *const g_sql[S_COUNT] = {
    [S_BEGIN] = "BEGIN IMMEDIATE",
    [S_COMMIT] = "COMMIT",
    [S_ROLLBACK] = "ROLLBACK",
    [S_BATCH_GET] = "SELECT seq, stored, rejected FROM batches WHERE sensor_id=? AND batch_id=?",
    [S_BATCH_ADD] = "INSERT INTO batches(sensor_id, batch_id, seq, received, stored, rejected) "
                    "VALUES(?,?,?,?,?,?)",
    [S_EVENT_ADD] = "INSERT INTO events(company_id, sensor_id, event_type, category, ts, "
                    "received, body) VALUES(?,?,?,?,?,?,?)",
    [S_COUNTER_ADD] = "INSERT INTO counters(company_id, day, event_type, category, count) "
                      "VALUES(?,?,?,?,?) ON CONFLICT(company_id, day, event_type, category) "
                      "DO UPDATE SET count = count + excluded.count",
    [S_AUTH] = "SELECT id, company_id FROM sensors WHERE token_hash=? AND revoked IS NULL",
};

_Static_assert(S_COUNT <= sizeof(((struct store *)0)->stmt) / sizeof(sqlite3_stmt *),
               "struct store: room for the fixed statements");

int store_set_err(struct store *st, int rc, const char *what)
{
    snprintf(st->err, sizeof(st->err), "%s: %s", what, sqlite3_errmsg(st->db));
    if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
        return STORE_BUSY;
    if (rc == SQLITE_FULL)
        return ERR_NOSPACE;
    if (rc == SQLITE_NOMEM)
        return ERR_NOMEM;
    if (rc == SQLITE_CONSTRAINT)
        return ERR_EXISTS;
    return ERR_IO;
}

sqlite3_stmt *store_xprep(struct store *st, int id, const char *sql)
{
    if (id < 0 || id >= STORE_XSTMT)
        return NULL;
    if (st->xstmt[id] == NULL &&
        sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st->xstmt[id], NULL) !=
            SQLITE_OK) {
        store_set_err(st, SQLITE_ERROR, "prepare");
        return NULL;
    }
    return st->xstmt[id];
}

const char *store_errmsg(const struct store *st)
{
    return st->err;
}

/* Prepares sql once per connection for the fixed statements, else fresh. */
static sqlite3_stmt *prep(struct store *st, enum stmt_id id)
{
    if (st->stmt[id] == NULL &&
        sqlite3_prepare_v3(st->db, g_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &st->stmt[id],
                           NULL) != SQLITE_OK) {
        store_set_err(st, SQLITE_ERROR, "prepare");
        return NULL;
    }
    return st->stmt[id];
}

/* Runs a fixed statement that returns no rows. */
static int run_fixed(struct store *st, enum stmt_id id)
{
    sqlite3_stmt *s = prep(st, id);
    if (s == NULL)
        return ERR_IO;
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? 0 : store_set_err(st, rc, g_sql[id]);
}

static void rollback(struct store *st)
{
    if (!sqlite3_get_autocommit(st->db))
        (void)run_fixed(st, S_ROLLBACK);
}

static int pragmas(struct store *st, const struct store_opts *o)
{
    char sql[256];
    snprintf(sql, sizeof(sql),
             "PRAGMA journal_mode=WAL; PRAGMA synchronous=%s; PRAGMA foreign_keys=ON; "
             "PRAGMA cache_size=-16384; PRAGMA journal_size_limit=67108864;",
             o->sync == STORE_SYNC_NORMAL ? "NORMAL" : "FULL");
    char *msg = NULL;
    /* Fixed text, no parameters: the one place besides migrations that uses exec. */
    int rc = sqlite3_exec(st->db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        snprintf(st->err, sizeof(st->err), "pragmas: %s", msg ? msg : sqlite3_errstr(rc));
        sqlite3_free(msg);
        return rc == SQLITE_BUSY ? STORE_BUSY : ERR_IO;
    }
    sqlite3_busy_timeout(st->db, o->busy_timeout_ms > 0 ? o->busy_timeout_ms : 2000);
    return 0;
}

struct store *store_open_sqlite(const char *path, const struct store_opts *opts, char *errmsg,
                                size_t errlen)
{
    static const struct store_opts defaults = {STORE_SYNC_FULL, 2000, 0};
    const struct store_opts *o = opts ? opts : &defaults;
    struct store *st = xcalloc(MEM_CORE, 1, sizeof(*st));
    if (st == NULL) {
        snprintf(errmsg, errlen, "out of memory");
        return NULL;
    }
    st->incident_window_us = o->incident_window_us > 0 ? o->incident_window_us
                                                      : STORE_INCIDENT_WINDOW_DEFAULT;
    int rc = sqlite3_open_v2(path, &st->db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                             NULL);
    if (rc != SQLITE_OK) {
        snprintf(errmsg, errlen, "%s: %s", path,
                 st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
        goto fail;
    }
    sqlite3_extended_result_codes(st->db, 0);
    /* The busy timeout first: migrations by two processes at once must wait, not fail. */
    sqlite3_busy_timeout(st->db, o->busy_timeout_ms > 0 ? o->busy_timeout_ms : 2000);
    if (pragmas(st, o) != 0 || migrations_run(st->db, st->err, sizeof(st->err)) != 0) {
        snprintf(errmsg, errlen, "%s: %s", path, st->err);
        goto fail;
    }
    return st;
fail:
    store_close(st);
    return NULL;
}

void store_close(struct store *st)
{
    if (st == NULL)
        return;
    for (int i = 0; i < S_COUNT; i++)
        sqlite3_finalize(st->stmt[i]);
    for (int i = 0; i < STORE_XSTMT; i++)
        sqlite3_finalize(st->xstmt[i]);
    sqlite3_close(st->db);
    xfree(st);
}

int store_schema_version(struct store *st)
{
    return migrations_current(st->db);
}

int store_schema_latest(void)
{
    return migrations_latest();
}

int64_t store_now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

int store_company_add(struct store *st, const struct company_in *c, int64_t *id)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(st->db,
                                "INSERT INTO companies(name, sector, devices, contacts, tz, lang, "
                                "created) VALUES(?,?,?,?,?,?,?)",
                                -1, &s, NULL);
    if (rc != SQLITE_OK)
        return store_set_err(st, rc, "company add");
    sqlite3_bind_text(s, 1, c->name, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, c->sector, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, c->devices);
    sqlite3_bind_text(s, 4, c->contacts ? c->contacts : "", -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 5, c->tz, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 6, c->lang, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 7, store_now_us());
    rc = sqlite3_step(s);
    int ret = 0;
    if (rc == SQLITE_DONE)
        *id = sqlite3_last_insert_rowid(st->db);
    else
        ret = store_set_err(st, rc, "company add");
    sqlite3_finalize(s);
    return ret;
}

int store_company_set(struct store *st, int64_t id, const struct company_in *c)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(st->db,
                                "UPDATE companies SET name=coalesce(?2, name), "
                                "sector=coalesce(?3, sector), "
                                "devices=CASE WHEN ?4 < 0 THEN devices ELSE ?4 END, "
                                "contacts=coalesce(?5, contacts), tz=coalesce(?6, tz), "
                                "lang=coalesce(?7, lang) WHERE id=?1",
                                -1, &s, NULL);
    if (rc != SQLITE_OK)
        return store_set_err(st, rc, "company set");
    sqlite3_bind_int64(s, 1, id);
    const char *txt[] = {c->name, c->sector, NULL, c->contacts, c->tz, c->lang};
    for (int i = 0; i < 6; i++)
        if (txt[i] != NULL)
            sqlite3_bind_text(s, i + 2, txt[i], -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 4, c->devices);
    rc = sqlite3_step(s);
    int ret = 0;
    if (rc != SQLITE_DONE)
        ret = store_set_err(st, rc, "company set");
    else if (sqlite3_changes(st->db) == 0)
        ret = ERR_NOTFOUND;
    sqlite3_finalize(s);
    return ret;
}

int store_company_list(struct store *st,
                       void (*cb)(void *arg, int64_t id, const char *name, const char *sector,
                                  const char *tz, const char *lang),
                       void *arg)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(
        st->db, "SELECT id, name, sector, tz, lang FROM companies ORDER BY id", -1, &s, NULL);
    if (rc != SQLITE_OK)
        return store_set_err(st, rc, "company list");
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        cb(arg, sqlite3_column_int64(s, 0), (const char *)sqlite3_column_text(s, 1),
           (const char *)sqlite3_column_text(s, 2), (const char *)sqlite3_column_text(s, 3),
           (const char *)sqlite3_column_text(s, 4));
    int ret = rc == SQLITE_DONE ? 0 : store_set_err(st, rc, "company list");
    sqlite3_finalize(s);
    return ret;
}

int store_sensor_add(struct store *st, int64_t company_id, const char *name,
                     const uint8_t code_hash[STORE_HASH_LEN], int64_t expires_us,
                     int64_t *sensor_id)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(st->db,
                                "INSERT INTO sensors(company_id, name, code_hash, code_expires, "
                                "created) SELECT id, ?, ?, ?, ? FROM companies WHERE id=?",
                                -1, &s, NULL);
    if (rc != SQLITE_OK)
        return store_set_err(st, rc, "sensor add");
    sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_blob(s, 2, code_hash, STORE_HASH_LEN, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, expires_us);
    sqlite3_bind_int64(s, 4, store_now_us());
    sqlite3_bind_int64(s, 5, company_id);
    rc = sqlite3_step(s);
    int ret = 0;
    if (rc != SQLITE_DONE)
        ret = store_set_err(st, rc, "sensor add");
    else if (sqlite3_changes(st->db) == 0)
        ret = ERR_NOTFOUND;
    else
        *sensor_id = sqlite3_last_insert_rowid(st->db);
    sqlite3_finalize(s);
    return ret;
}

int store_sensor_list(struct store *st, int64_t company_id,
                      void (*cb)(void *arg, const struct sensor_info *s), void *arg)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(st->db,
                                "SELECT id, company_id, name, enrolled IS NOT NULL, "
                                "revoked IS NOT NULL FROM sensors WHERE ?=0 OR company_id=? "
                                "ORDER BY id",
                                -1, &s, NULL);
    if (rc != SQLITE_OK)
        return store_set_err(st, rc, "sensor list");
    sqlite3_bind_int64(s, 1, company_id);
    sqlite3_bind_int64(s, 2, company_id);
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct sensor_info si = {0};
        si.id = sqlite3_column_int64(s, 0);
        si.company_id = sqlite3_column_int64(s, 1);
        snprintf(si.name, sizeof(si.name), "%s", (const char *)sqlite3_column_text(s, 2));
        si.enrolled = sqlite3_column_int(s, 3);
        si.revoked = sqlite3_column_int(s, 4);
        cb(arg, &si);
    }
    int ret = rc == SQLITE_DONE ? 0 : store_set_err(st, rc, "sensor list");
    sqlite3_finalize(s);
    return ret;
}

int store_sensor_revoke(struct store *st, int64_t sensor_id)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(st->db,
                                "UPDATE sensors SET revoked=?, code_hash=NULL "
                                "WHERE id=? AND revoked IS NULL",
                                -1, &s, NULL);
    if (rc != SQLITE_OK)
        return store_set_err(st, rc, "sensor revoke");
    sqlite3_bind_int64(s, 1, store_now_us());
    sqlite3_bind_int64(s, 2, sensor_id);
    rc = sqlite3_step(s);
    int ret = rc == SQLITE_DONE ? (sqlite3_changes(st->db) ? 0 : ERR_NOTFOUND)
                                : store_set_err(st, rc, "sensor revoke");
    sqlite3_finalize(s);
    return ret;
}

/* Inside the enroll transaction: finds the sensor of an unused code. */
static int enroll_find(struct store *st, const uint8_t *code_hash, int64_t now, int64_t *sid,
                       struct principal *who)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(st->db,
                                "SELECT id, company_id, code_expires FROM sensors "
                                "WHERE code_hash=? AND revoked IS NULL AND token_hash IS NULL",
                                -1, &s, NULL);
    if (rc != SQLITE_OK)
        return store_set_err(st, rc, "enroll");
    sqlite3_bind_blob(s, 1, code_hash, STORE_HASH_LEN, SQLITE_STATIC);
    rc = sqlite3_step(s);
    int ret = ERR_NOTFOUND;
    if (rc == SQLITE_ROW) {
        *sid = sqlite3_column_int64(s, 0);
        who->sensor_id = *sid;
        who->company_id = sqlite3_column_int64(s, 1);
        ret = sqlite3_column_int64(s, 2) < now ? STORE_EXPIRED : 0;
    } else if (rc != SQLITE_DONE) {
        ret = store_set_err(st, rc, "enroll");
    }
    sqlite3_finalize(s);
    return ret;
}

static int enroll_set(struct store *st, int64_t sid, const uint8_t *token_hash, int64_t now)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(st->db,
                                "UPDATE sensors SET token_hash=?, code_hash=NULL, enrolled=? "
                                "WHERE id=?",
                                -1, &s, NULL);
    if (rc != SQLITE_OK)
        return store_set_err(st, rc, "enroll");
    sqlite3_bind_blob(s, 1, token_hash, STORE_HASH_LEN, SQLITE_STATIC);
    sqlite3_bind_int64(s, 2, now);
    sqlite3_bind_int64(s, 3, sid);
    rc = sqlite3_step(s);
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? 0 : store_set_err(st, rc, "enroll");
}

int store_enroll(struct store *st, const uint8_t code_hash[STORE_HASH_LEN],
                 const uint8_t token_hash[STORE_HASH_LEN], int64_t now_us_,
                 struct principal *who)
{
    int rc = run_fixed(st, S_BEGIN);
    if (rc != 0)
        return rc;
    int64_t sid = 0;
    rc = enroll_find(st, code_hash, now_us_, &sid, who);
    if (rc == 0)
        rc = enroll_set(st, sid, token_hash, now_us_);
    if (rc == 0)
        rc = run_fixed(st, S_COMMIT);
    if (rc != 0)
        rollback(st);
    return rc;
}

int store_auth_token(struct store *st, const uint8_t token_hash[STORE_HASH_LEN],
                     struct principal *who)
{
    sqlite3_stmt *s = prep(st, S_AUTH);
    if (s == NULL)
        return ERR_IO;
    sqlite3_bind_blob(s, 1, token_hash, STORE_HASH_LEN, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    int ret = ERR_NOTFOUND;
    if (rc == SQLITE_ROW) {
        who->sensor_id = sqlite3_column_int64(s, 0);
        who->company_id = sqlite3_column_int64(s, 1);
        ret = 0;
    } else if (rc != SQLITE_DONE) {
        ret = store_set_err(st, rc, "auth");
    }
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return ret;
}

/* Inside the ingest transaction: fills *res from an earlier delivery of the batch. */
static int batch_get(struct store *st, const struct principal *who, const char *batch_id,
                     struct store_batch_result *res)
{
    sqlite3_stmt *s = prep(st, S_BATCH_GET);
    if (s == NULL)
        return ERR_IO;
    sqlite3_bind_int64(s, 1, who->sensor_id);
    sqlite3_bind_text(s, 2, batch_id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    int ret = 0;
    if (rc == SQLITE_ROW) {
        res->seq = (uint64_t)sqlite3_column_int64(s, 0);
        res->stored = (uint64_t)sqlite3_column_int64(s, 1);
        res->rejected = (uint64_t)sqlite3_column_int64(s, 2);
        ret = STORE_DUPLICATE;
    } else if (rc != SQLITE_DONE) {
        ret = store_set_err(st, rc, "batch lookup");
    }
    sqlite3_reset(s);
    return ret;
}

static int batch_add(struct store *st, const struct principal *who, const struct store_batch *b,
                     int64_t now)
{
    sqlite3_stmt *s = prep(st, S_BATCH_ADD);
    if (s == NULL)
        return ERR_IO;
    sqlite3_bind_int64(s, 1, who->sensor_id);
    sqlite3_bind_text(s, 2, b->batch_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, (int64_t)b->seq);
    sqlite3_bind_int64(s, 4, now);
    sqlite3_bind_int64(s, 5, (int64_t)b->n_ev);
    sqlite3_bind_int64(s, 6, (int64_t)b->rejected);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? 0 : store_set_err(st, rc, "batch insert");
}

static int event_add(struct store *st, const struct principal *who, const struct store_event *e,
                     int64_t now)
{
    sqlite3_stmt *s = prep(st, S_EVENT_ADD);
    if (s == NULL)
        return ERR_IO;
    sqlite3_bind_int64(s, 1, who->company_id);
    sqlite3_bind_int64(s, 2, who->sensor_id);
    sqlite3_bind_text(s, 3, e->event_type, -1, SQLITE_STATIC);
    if (e->category != NULL)
        sqlite3_bind_text(s, 4, e->category, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(s, 4);
    sqlite3_bind_int64(s, 5, e->ts_us);
    sqlite3_bind_int64(s, 6, now);
    sqlite3_bind_text(s, 7, e->body, (int)e->body_len, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? 0 : store_set_err(st, rc, "event insert");
}

/* The UTC day of ts_us as YYYY-MM-DD. */
static void utc_day(int64_t ts_us, char out[11])
{
    time_t t = (time_t)(ts_us / 1000000);
    if (ts_us < 0 && ts_us % 1000000 != 0)
        t--;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 11, "%Y-%m-%d", &tm);
}

static int counter_add(struct store *st, int64_t company, const char *day, const char *type,
                       const char *cat, int64_t n)
{
    sqlite3_stmt *s = prep(st, S_COUNTER_ADD);
    if (s == NULL)
        return ERR_IO;
    sqlite3_bind_int64(s, 1, company);
    sqlite3_bind_text(s, 2, day, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 3, type, -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 4, cat ? cat : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 5, n);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? 0 : store_set_err(st, rc, "counter update");
}

static int str_eq(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return strcmp(a, b) == 0;
}

#define COUNTER_KEYS 32

struct counter_key {
    char day[11];
    const char *type, *cat;
    int64_t n;
};

static int counters_flush(struct store *st, int64_t company, struct counter_key *k, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int rc = counter_add(st, company, k[i].day, k[i].type, k[i].cat, k[i].n);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Counters of a batch: events are summed per (day, type, category) in a small table
 * first (a batch has few distinct keys), then one upsert per key; the table is
 * flushed whenever it fills. */
static int counters_add(struct store *st, const struct principal *who, const struct store_batch *b)
{
    struct counter_key keys[COUNTER_KEYS];
    size_t nk = 0;
    for (size_t i = 0; i < b->n_ev; i++) {
        const struct store_event *e = &b->ev[i];
        char day[11];
        utc_day(e->ts_us, day);
        size_t k = 0;
        while (k < nk && !(strcmp(keys[k].day, day) == 0 && str_eq(keys[k].type, e->event_type) &&
                           str_eq(keys[k].cat, e->category)))
            k++;
        if (k == COUNTER_KEYS) {
            int rc = counters_flush(st, who->company_id, keys, nk);
            if (rc != 0)
                return rc;
            nk = k = 0;
        }
        if (k == nk) {
            memcpy(keys[k].day, day, sizeof(day));
            keys[k].type = e->event_type;
            keys[k].cat = e->category;
            keys[k].n = 0;
            nk++;
        }
        keys[k].n++;
    }
    return counters_flush(st, who->company_id, keys, nk);
}

static int ingest_body(struct store *st, const struct principal *who, const struct store_batch *b,
                       int64_t now, uint64_t *queued)
{
    struct incident_batch_ctx ctx = {.company_id = who->company_id};
    int rc = batch_add(st, who, b, now);
    for (size_t i = 0; rc == 0 && i < b->n_ev; i++) {
        rc = event_add(st, who, &b->ev[i], now);
        if (rc == 0 && b->ev[i].category != NULL && strcmp(b->ev[i].event_type, "alert") == 0)
            rc = incident_on_alert(st, &ctx, sqlite3_last_insert_rowid(st->db), &b->ev[i], now);
    }
    *queued = ctx.queued;
    if (rc == 0)
        rc = counters_add(st, who, b);
    return rc;
}

int store_ingest(struct store *st, const struct principal *who, const struct store_batch *b,
                 int64_t now, struct store_batch_result *res)
{
    int rc = run_fixed(st, S_BEGIN);
    if (rc != 0)
        return rc;
    rc = batch_get(st, who, b->batch_id, res);
    uint64_t queued = 0;
    if (rc == 0)
        rc = ingest_body(st, who, b, now, &queued);
    if (rc == 0)
        rc = run_fixed(st, S_COMMIT);
    if (rc != 0) {
        rollback(st);
        return rc;
    }
    res->stored = b->n_ev;
    res->rejected = b->rejected;
    res->seq = b->seq;
    res->notifications = queued;
    return 0;
}

int store_events(struct store *st, const struct store_event_query *q, store_event_cb cb,
                 void *arg)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(st->db,
                                "SELECT id, sensor_id, event_type, ts, received, body FROM events "
                                "WHERE company_id=?1 AND ts>=?2 AND id>?3 "
                                "AND (?5 IS NULL OR event_type=?5) ORDER BY id LIMIT ?4",
                                -1, &s, NULL);
    if (rc != SQLITE_OK)
        return store_set_err(st, rc, "events");
    sqlite3_bind_int64(s, 1, q->company_id);
    sqlite3_bind_int64(s, 2, q->since_us);
    sqlite3_bind_int64(s, 3, q->after_id);
    sqlite3_bind_int(s, 4, q->limit);
    if (q->event_type != NULL)
        sqlite3_bind_text(s, 5, q->event_type, -1, SQLITE_STATIC);
    int ret = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct store_event_row r = {
            .id = sqlite3_column_int64(s, 0),
            .sensor_id = sqlite3_column_int64(s, 1),
            .event_type = (const char *)sqlite3_column_text(s, 2),
            .ts_us = sqlite3_column_int64(s, 3),
            .received_us = sqlite3_column_int64(s, 4),
            .body = (const char *)sqlite3_column_text(s, 5),
        };
        if (cb(arg, &r) != 0)
            break;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        ret = store_set_err(st, rc, "events");
    sqlite3_finalize(s);
    return ret;
}

int store_counters(struct store *st, const struct store_counter_query *q, store_counter_cb cb,
                   void *arg)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(st->db,
                                "SELECT day, event_type, category, count FROM counters "
                                "WHERE company_id=?1 AND (?2 IS NULL OR event_type=?2) "
                                "AND (?3 IS NULL OR day>=?3) AND (?4 IS NULL OR day<=?4) "
                                "ORDER BY day, event_type, category",
                                -1, &s, NULL);
    if (rc != SQLITE_OK)
        return store_set_err(st, rc, "counters");
    sqlite3_bind_int64(s, 1, q->company_id);
    if (q->event_type)
        sqlite3_bind_text(s, 2, q->event_type, -1, SQLITE_STATIC);
    if (q->day_from)
        sqlite3_bind_text(s, 3, q->day_from, -1, SQLITE_STATIC);
    if (q->day_to)
        sqlite3_bind_text(s, 4, q->day_to, -1, SQLITE_STATIC);
    int ret = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct store_counter_row r = {
            .day = (const char *)sqlite3_column_text(s, 0),
            .event_type = (const char *)sqlite3_column_text(s, 1),
            .category = (const char *)sqlite3_column_text(s, 2),
            .count = sqlite3_column_int64(s, 3),
        };
        if (cb(arg, &r) != 0)
            break;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        ret = store_set_err(st, rc, "counters");
    sqlite3_finalize(s);
    return ret;
}
