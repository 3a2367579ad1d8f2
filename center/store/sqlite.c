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
#include "store/tokens.h"

#include "otasuke/alloc.h"
#include "otasuke/err.h"

#include "store/db.h"
#include <stdio.h>
#include <stdlib.h>
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
    S_TENANT_LOCK,
    S_EVENTS_PG,
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
                      "DO UPDATE SET count = counters.count + excluded.count",
    /* PostgreSQL only: alerts of one tenant are grouped into incidents one batch at a
     * time, as SQLite's single writer does (negative keys: migrations use a positive one) */
    [S_TENANT_LOCK] = "SELECT pg_advisory_xact_lock(-?)",
    /* PostgreSQL only: blocks of ids for a batch's events (migration 5 makes the
     * sequence step PG_ID_BLOCK), taken before they are copied in, and the step */
    [S_EVENTS_PG] = "SELECT nextval('events_id_seq'), (SELECT seqincrement FROM pg_sequence "
                    "WHERE seqrelid = 'events_id_seq'::regclass) FROM generate_series(1, ?)",
    [S_AUTH] = "SELECT id, company_id FROM sensors WHERE token_hash=? AND revoked IS NULL",
};

_Static_assert(S_COUNT <= sizeof(((struct store *)0)->stmt) / sizeof(struct db_stmt *),
               "struct store: room for the fixed statements");

int store_set_err(struct store *st, int rc, const char *what)
{
    snprintf(st->err, sizeof(st->err), "%s: %s", what, db_errmsg(st->db));
    if (rc == DB_BUSY || rc == DB_LOCKED)
        return STORE_BUSY;
    if (rc == DB_FULL)
        return ERR_NOSPACE;
    if (rc == DB_NOMEM)
        return ERR_NOMEM;
    if (rc == DB_CONSTRAINT)
        return ERR_EXISTS;
    return ERR_IO;
}

struct db_stmt *store_xprep(struct store *st, int id, const char *sql)
{
    if (id < 0 || id >= STORE_XSTMT)
        return NULL;
    if (st->xstmt[id] == NULL &&
        db_prepare_persistent(st->db, sql, &st->xstmt[id]) !=
            DB_OK) {
        store_set_err(st, DB_ERROR, "prepare");
        return NULL;
    }
    return st->xstmt[id];
}

const char *store_errmsg(const struct store *st)
{
    return st->err;
}

bool store_serial_writes(const struct store *st)
{
    return db_kind(st->db) != DB_PG;
}

/* Prepares sql once per connection for the fixed statements, else fresh. */
static struct db_stmt *prep(struct store *st, enum stmt_id id)
{
    if (st->stmt[id] == NULL &&
        db_prepare_persistent(st->db, g_sql[id], &st->stmt[id]) != DB_OK) {
        store_set_err(st, DB_ERROR, "prepare");
        return NULL;
    }
    return st->stmt[id];
}

/* Runs a fixed statement that returns no rows. */
static int run_fixed(struct store *st, enum stmt_id id)
{
    struct db_stmt *s = prep(st, id);
    if (s == NULL)
        return ERR_IO;
    int rc = db_step(s);
    db_reset(s);
    return rc == DB_DONE ? 0 : store_set_err(st, rc, g_sql[id]);
}

static void rollback(struct store *st)
{
    if (!db_autocommit(st->db))
        (void)run_fixed(st, S_ROLLBACK);
}

static int pragmas(struct store *st, const struct store_opts *o)
{
    if (db_kind(st->db) != DB_SQLITE)
        return 0;
    char sql[256];
    snprintf(sql, sizeof(sql),
             "PRAGMA journal_mode=WAL; PRAGMA synchronous=%s; PRAGMA foreign_keys=ON; "
             "PRAGMA cache_size=-16384; PRAGMA journal_size_limit=67108864;",
             o->sync == STORE_SYNC_NORMAL ? "NORMAL" : "FULL");
    /* Fixed text, no parameters: the one place besides migrations that uses exec. */
    int rc = db_exec(st->db, sql);
    if (rc != DB_OK) {
        snprintf(st->err, sizeof(st->err), "pragmas: %s", db_errmsg(st->db));
        return rc == DB_BUSY ? STORE_BUSY : ERR_IO;
    }
    return 0;
}

struct store *store_open(const char *target, const struct store_opts *opts, char *errmsg,
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
    /* The busy timeout first: migrations by two processes at once must wait, not fail. */
    char why[STORE_ERRMSG_LEN];
    st->db = db_open(target, o->busy_timeout_ms, why, sizeof(why));
    if (st->db == NULL) {
        snprintf(errmsg, errlen, "%s: %s", db_target_is_pg(target) ? "postgresql" : target, why);
        goto fail;
    }
    if (pragmas(st, o) != 0 || migrations_run(st->db, st->err, sizeof(st->err)) != 0) {
        snprintf(errmsg, errlen, "%s: %s", db_target_is_pg(target) ? "postgresql" : target,
                 st->err);
        goto fail;
    }
    return st;
fail:
    store_close(st);
    return NULL;
}

struct store *store_open_sqlite(const char *path, const struct store_opts *opts, char *errmsg,
                                size_t errlen)
{
    return store_open(path, opts, errmsg, errlen);
}

void store_close(struct store *st)
{
    if (st == NULL)
        return;
    for (int i = 0; i < S_COUNT; i++)
        db_finalize(st->stmt[i]);
    for (int i = 0; i < STORE_XSTMT; i++)
        db_finalize(st->xstmt[i]);
    db_close(st->db);
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
    struct db_stmt *s = NULL;
    int rc = db_prepare(st->db,
                                "INSERT INTO companies(name, sector, devices, contacts, tz, lang, "
                                "created) VALUES(?,?,?,?,?,?,?)", &s);
    if (rc != DB_OK)
        return store_set_err(st, rc, "company add");
    db_bind_text(s, 1, c->name, -1, DB_STATIC);
    db_bind_text(s, 2, c->sector, -1, DB_STATIC);
    db_bind_int64(s, 3, c->devices);
    db_bind_text(s, 4, c->contacts ? c->contacts : "", -1, DB_STATIC);
    db_bind_text(s, 5, c->tz, -1, DB_STATIC);
    db_bind_text(s, 6, c->lang, -1, DB_STATIC);
    db_bind_int64(s, 7, store_now_us());
    rc = db_step(s);
    int ret = 0;
    if (rc == DB_DONE)
        *id = db_last_insert_id(st->db);
    else
        ret = store_set_err(st, rc, "company add");
    db_finalize(s);
    return ret;
}

int store_company_set(struct store *st, int64_t id, const struct company_in *c)
{
    struct db_stmt *s = NULL;
    int rc = db_prepare(st->db,
                        "UPDATE companies SET devices=CASE WHEN ?4 < 0 THEN devices ELSE ?4 END, "
                        "name=coalesce(?2, name), sector=coalesce(?3, sector), "
                        "contacts=coalesce(?5, contacts), tz=coalesce(?6, tz), "
                        "lang=coalesce(?7, lang) WHERE id=?1",
                        &s);
    if (rc != DB_OK)
        return store_set_err(st, rc, "company set");
    db_bind_int64(s, 1, id);
    const char *txt[] = {c->name, c->sector, NULL, c->contacts, c->tz, c->lang};
    for (int i = 0; i < 6; i++) {
        if (txt[i] != NULL)
            db_bind_text(s, i + 2, txt[i], -1, DB_STATIC);
        else if (i != 2)
            db_bind_null(s, i + 2);
    }
    db_bind_int64(s, 4, c->devices);
    rc = db_step(s);
    int ret = 0;
    if (rc != DB_DONE)
        ret = store_set_err(st, rc, "company set");
    else if (db_changes(st->db) == 0)
        ret = ERR_NOTFOUND;
    db_finalize(s);
    return ret;
}

int store_company_list(struct store *st,
                       void (*cb)(void *arg, int64_t id, const char *name, const char *sector,
                                  const char *tz, const char *lang),
                       void *arg)
{
    struct db_stmt *s = NULL;
    int rc = db_prepare(st->db, "SELECT id, name, sector, tz, lang FROM companies ORDER BY id", &s);
    if (rc != DB_OK)
        return store_set_err(st, rc, "company list");
    while ((rc = db_step(s)) == DB_ROW)
        cb(arg, db_column_int64(s, 0), db_column_text(s, 1),
           db_column_text(s, 2), db_column_text(s, 3),
           db_column_text(s, 4));
    int ret = rc == DB_DONE ? 0 : store_set_err(st, rc, "company list");
    db_finalize(s);
    return ret;
}

int store_sensor_add(struct store *st, int64_t company_id, const char *name,
                     const uint8_t code_hash[STORE_HASH_LEN], int64_t expires_us,
                     int64_t *sensor_id)
{
    struct db_stmt *s = NULL;
    int rc = db_prepare(st->db,
                                "INSERT INTO sensors(company_id, name, code_hash, code_expires, "
                                "created) SELECT id, ?, ?, ?, ? FROM companies WHERE id=?", &s);
    if (rc != DB_OK)
        return store_set_err(st, rc, "sensor add");
    db_bind_text(s, 1, name, -1, DB_STATIC);
    db_bind_blob(s, 2, code_hash, STORE_HASH_LEN, DB_STATIC);
    db_bind_int64(s, 3, expires_us);
    db_bind_int64(s, 4, store_now_us());
    db_bind_int64(s, 5, company_id);
    rc = db_step(s);
    int ret = 0;
    if (rc != DB_DONE)
        ret = store_set_err(st, rc, "sensor add");
    else if (db_changes(st->db) == 0)
        ret = ERR_NOTFOUND;
    else
        *sensor_id = db_last_insert_id(st->db);
    db_finalize(s);
    return ret;
}

int store_sensor_list(struct store *st, int64_t company_id,
                      void (*cb)(void *arg, const struct sensor_info *s), void *arg)
{
    struct db_stmt *s = NULL;
    int rc = db_prepare(st->db,
                                "SELECT id, company_id, name, enrolled IS NOT NULL, "
                                "revoked IS NOT NULL FROM sensors WHERE ?=0 OR company_id=? "
                                "ORDER BY id", &s);
    if (rc != DB_OK)
        return store_set_err(st, rc, "sensor list");
    db_bind_int64(s, 1, company_id);
    db_bind_int64(s, 2, company_id);
    while ((rc = db_step(s)) == DB_ROW) {
        struct sensor_info si = {0};
        si.id = db_column_int64(s, 0);
        si.company_id = db_column_int64(s, 1);
        snprintf(si.name, sizeof(si.name), "%s", db_column_text(s, 2));
        si.enrolled = db_column_int(s, 3);
        si.revoked = db_column_int(s, 4);
        cb(arg, &si);
    }
    int ret = rc == DB_DONE ? 0 : store_set_err(st, rc, "sensor list");
    db_finalize(s);
    return ret;
}

int store_sensor_revoke(struct store *st, int64_t sensor_id)
{
    struct db_stmt *s = NULL;
    int rc = db_prepare(st->db,
                                "UPDATE sensors SET revoked=?, code_hash=NULL "
                                "WHERE id=? AND revoked IS NULL", &s);
    if (rc != DB_OK)
        return store_set_err(st, rc, "sensor revoke");
    db_bind_int64(s, 1, store_now_us());
    db_bind_int64(s, 2, sensor_id);
    rc = db_step(s);
    int ret = rc == DB_DONE ? (db_changes(st->db) ? 0 : ERR_NOTFOUND)
                                : store_set_err(st, rc, "sensor revoke");
    db_finalize(s);
    return ret;
}

/* Inside the enroll transaction: finds the sensor of an unused code. */
static int enroll_find(struct store *st, const uint8_t *code_hash, int64_t now, int64_t *sid,
                       struct principal *who)
{
    struct db_stmt *s = NULL;
    int rc = db_prepare(st->db,
                                "SELECT id, company_id, code_expires FROM sensors "
                                "WHERE code_hash=? AND revoked IS NULL AND token_hash IS NULL", &s);
    if (rc != DB_OK)
        return store_set_err(st, rc, "enroll");
    db_bind_blob(s, 1, code_hash, STORE_HASH_LEN, DB_STATIC);
    rc = db_step(s);
    int ret = ERR_NOTFOUND;
    if (rc == DB_ROW) {
        *sid = db_column_int64(s, 0);
        who->sensor_id = *sid;
        who->company_id = db_column_int64(s, 1);
        ret = db_column_int64(s, 2) < now ? STORE_EXPIRED : 0;
    } else if (rc != DB_DONE) {
        ret = store_set_err(st, rc, "enroll");
    }
    db_finalize(s);
    return ret;
}

static int enroll_set(struct store *st, int64_t sid, const uint8_t *token_hash, int64_t now)
{
    struct db_stmt *s = NULL;
    int rc = db_prepare(st->db,
                                "UPDATE sensors SET token_hash=?, code_hash=NULL, enrolled=? "
                                "WHERE id=?", &s);
    if (rc != DB_OK)
        return store_set_err(st, rc, "enroll");
    db_bind_blob(s, 1, token_hash, STORE_HASH_LEN, DB_STATIC);
    db_bind_int64(s, 2, now);
    db_bind_int64(s, 3, sid);
    rc = db_step(s);
    db_finalize(s);
    return rc == DB_DONE ? 0 : store_set_err(st, rc, "enroll");
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
    struct db_stmt *s = prep(st, S_AUTH);
    if (s == NULL)
        return ERR_IO;
    db_bind_blob(s, 1, token_hash, STORE_HASH_LEN, DB_STATIC);
    int rc = db_step(s);
    int ret = ERR_NOTFOUND;
    if (rc == DB_ROW) {
        who->sensor_id = db_column_int64(s, 0);
        who->company_id = db_column_int64(s, 1);
        ret = 0;
    } else if (rc != DB_DONE) {
        ret = store_set_err(st, rc, "auth");
    }
    db_reset(s);
    db_clear_bindings(s);
    return ret;
}

/* Inside the ingest transaction: fills *res from an earlier delivery of the batch. */
static int batch_get(struct store *st, const struct principal *who, const char *batch_id,
                     struct store_batch_result *res)
{
    struct db_stmt *s = prep(st, S_BATCH_GET);
    if (s == NULL)
        return ERR_IO;
    db_bind_int64(s, 1, who->sensor_id);
    db_bind_text(s, 2, batch_id, -1, DB_STATIC);
    int rc = db_step(s);
    int ret = 0;
    if (rc == DB_ROW) {
        res->seq = (uint64_t)db_column_int64(s, 0);
        res->stored = (uint64_t)db_column_int64(s, 1);
        res->rejected = (uint64_t)db_column_int64(s, 2);
        ret = STORE_DUPLICATE;
    } else if (rc != DB_DONE) {
        ret = store_set_err(st, rc, "batch lookup");
    }
    db_reset(s);
    return ret;
}

static int batch_add(struct store *st, const struct principal *who, const struct store_batch *b,
                     int64_t now)
{
    struct db_stmt *s = prep(st, S_BATCH_ADD);
    if (s == NULL)
        return ERR_IO;
    db_bind_int64(s, 1, who->sensor_id);
    db_bind_text(s, 2, b->batch_id, -1, DB_STATIC);
    db_bind_int64(s, 3, (int64_t)b->seq);
    db_bind_int64(s, 4, now);
    db_bind_int64(s, 5, (int64_t)b->n_ev);
    db_bind_int64(s, 6, (int64_t)b->rejected);
    int rc = db_step(s);
    db_reset(s);
    return rc == DB_DONE ? 0 : store_set_err(st, rc, "batch insert");
}

static int event_add(struct store *st, const struct principal *who, const struct store_event *e,
                     int64_t now)
{
    struct db_stmt *s = prep(st, S_EVENT_ADD);
    if (s == NULL)
        return ERR_IO;
    db_bind_int64(s, 1, who->company_id);
    db_bind_int64(s, 2, who->sensor_id);
    db_bind_text(s, 3, e->event_type, -1, DB_STATIC);
    if (e->category != NULL)
        db_bind_text(s, 4, e->category, -1, DB_STATIC);
    else
        db_bind_null(s, 4);
    db_bind_int64(s, 5, e->ts_us);
    db_bind_int64(s, 6, now);
    db_bind_text(s, 7, e->body, (int)e->body_len, DB_STATIC);
    int rc = db_step(s);
    db_reset(s);
    return rc == DB_DONE ? 0 : store_set_err(st, rc, "event insert");
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
    struct db_stmt *s = prep(st, S_COUNTER_ADD);
    if (s == NULL)
        return ERR_IO;
    db_bind_int64(s, 1, company);
    db_bind_text(s, 2, day, -1, DB_STATIC);
    db_bind_text(s, 3, type, -1, DB_STATIC);
    db_bind_text(s, 4, cat ? cat : "", -1, DB_STATIC);
    db_bind_int64(s, 5, n);
    int rc = db_step(s);
    db_reset(s);
    return rc == DB_DONE ? 0 : store_set_err(st, rc, "counter update");
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

static int cmp_opt_str(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return (a != NULL) - (b != NULL);
    return strcmp(a, b);
}

static int counter_key_cmp(const void *pa, const void *pb)
{
    const struct counter_key *a = pa, *b = pb;
    int c = strcmp(a->day, b->day);
    if (c == 0)
        c = cmp_opt_str(a->type, b->type);
    return c != 0 ? c : cmp_opt_str(a->cat, b->cat);
}

/* The rows in one order (day, type, category) for every batch: concurrent PostgreSQL
 * transactions of one tenant then lock them in the same order, never crosswise. */
static int counters_flush(struct store *st, int64_t company, struct counter_key *k, size_t n)
{
    qsort(k, n, sizeof(*k), counter_key_cmp);
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
    struct counter_key keys[COUNTER_KEYS] = {0}; /* zeroed: cppcheck follows qsort over it */
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

/* The batch's rows in COPY's binary format, with the ids taken for them. */
static int pg_copy_fill(struct db_pgcopy *c, const struct principal *who,
                        const struct store_batch *b, int64_t now, const int64_t *ids)
{
    size_t bytes = 64;
    for (size_t i = 0; i < b->n_ev; i++)
        bytes += 96 + strlen(b->ev[i].event_type) +
                 (b->ev[i].category ? strlen(b->ev[i].category) : 0) + b->ev[i].body_len;
    db_pgcopy_init(c, bytes);
    for (size_t i = 0; i < b->n_ev; i++) {
        const struct store_event *e = &b->ev[i];
        db_pgcopy_row(c, 8);
        db_pgcopy_int8(c, ids[i]);
        db_pgcopy_int8(c, who->company_id);
        db_pgcopy_int8(c, who->sensor_id);
        db_pgcopy_field(c, e->event_type, strlen(e->event_type));
        db_pgcopy_field(c, e->category, e->category ? strlen(e->category) : 0);
        db_pgcopy_int8(c, e->ts_us);
        db_pgcopy_int8(c, now);
        db_pgcopy_field(c, e->body, e->body_len);
    }
    return db_pgcopy_end(c);
}

/* The step of the events' identity sequence on PostgreSQL (migration 5): each nextval
 * reserves this many ids for one batch. */
#define PG_ID_BLOCK 1024

/* PostgreSQL: ids[i] gets the id of event i, from ceil(n / PG_ID_BLOCK) values of the
 * events' identity sequence, each the first of PG_ID_BLOCK ids that no one else is given (a
 * sequence whose step was changed since is an error, not a reuse of ids). */
static int events_ids_pg(struct store *st, const struct store_batch *b, int64_t *ids)
{
    struct db_stmt *s = prep(st, S_EVENTS_PG);
    if (s == NULL)
        return ERR_IO;
    db_bind_int64(s, 1, (int64_t)((b->n_ev + PG_ID_BLOCK - 1) / PG_ID_BLOCK));
    size_t n = 0;
    int step, rc = 0;
    while ((step = db_step(s)) == DB_ROW) {
        int64_t first = db_column_int64(s, 0);
        if (db_column_int64(s, 1) != PG_ID_BLOCK) {
            snprintf(st->err, sizeof(st->err),
                     "event ids: events_id_seq's increment is %lld, expected %d (migration 5)",
                     (long long)db_column_int64(s, 1), PG_ID_BLOCK);
            rc = ERR_IO;
        }
        for (int k = 0; k < PG_ID_BLOCK && n < b->n_ev; k++)
            ids[n++] = first + k;
    }
    if (step != DB_DONE)
        rc = store_set_err(st, step, "event ids");
    else if (rc == 0 && n != b->n_ev)
        rc = ERR_IO;
    db_reset(s);
    return rc;
}

/* PostgreSQL: stores every event of the batch with one COPY (binary format: nothing
 * for the server to parse but the row framing); ids[i] gets the id of event i. A row
 * the server rejects fails the whole COPY, and the error names the event. */
static int events_add_pg(struct store *st, const struct principal *who,
                         const struct store_batch *b, int64_t now, int64_t *ids)
{
    if (b->n_ev == 0)
        return 0;
    int rc = events_ids_pg(st, b, ids);
    if (rc != 0)
        return rc;
    struct db_pgcopy c;
    rc = pg_copy_fill(&c, who, b, now, ids);
    if (rc == 0) {
        int64_t bad = 0;
        int step = db_pg_copy_in(st->db,
                                 "COPY events(id, company_id, sensor_id, event_type, category, "
                                 "ts, received, body) FROM STDIN (FORMAT binary)",
                                 c.buf, c.len, &bad);
        if (step != DB_OK) {
            char what[80];
            if (bad > 0 && (size_t)bad <= b->n_ev) {
                st->refused_line = b->ev[bad - 1].line;
                snprintf(what, sizeof(what), "event insert (line %llu of the batch)",
                         (unsigned long long)st->refused_line);
            } else {
                snprintf(what, sizeof(what), "event insert");
            }
            rc = store_set_err(st, step, what);
        } else if (db_changes(st->db) != (int64_t)b->n_ev) {
            rc = ERR_IO;
        }
    }
    db_pgcopy_free(&c);
    return rc;
}

static int batch_has_alert(const struct store_batch *b)
{
    for (size_t i = 0; i < b->n_ev; i++)
        if (b->ev[i].category != NULL && strcmp(b->ev[i].event_type, "alert") == 0)
            return 1;
    return 0;
}

static int tenant_lock(struct store *st, int64_t company_id)
{
    struct db_stmt *s = prep(st, S_TENANT_LOCK);
    if (s == NULL)
        return ERR_IO;
    db_bind_int64(s, 1, company_id);
    int rc = db_step(s);
    db_reset(s);
    return rc == DB_ROW ? 0 : store_set_err(st, rc, "tenant lock");
}

static int ingest_body(struct store *st, const struct principal *who, const struct store_batch *b,
                       int64_t now, uint64_t *queued)
{
    struct incident_batch_ctx ctx = {.company_id = who->company_id};
    int rc = batch_add(st, who, b, now);
    if (rc == 0 && db_kind(st->db) == DB_PG && batch_has_alert(b))
        rc = tenant_lock(st, who->company_id);
    if (rc == 0 && db_kind(st->db) == DB_PG && b->n_ev > 0) {
        int64_t *ids = xcalloc(MEM_CORE, b->n_ev, sizeof(*ids));
        rc = ids ? events_add_pg(st, who, b, now, ids) : ERR_NOMEM;
        for (size_t i = 0; rc == 0 && i < b->n_ev; i++)
            if (b->ev[i].category != NULL && strcmp(b->ev[i].event_type, "alert") == 0)
                rc = incident_on_alert(st, &ctx, ids[i], &b->ev[i], now);
        xfree(ids);
        *queued = ctx.queued;
        return rc == 0 ? counters_add(st, who, b) : rc;
    }
    for (size_t i = 0; rc == 0 && i < b->n_ev; i++) {
        rc = event_add(st, who, &b->ev[i], now);
        if (rc == ERR_EXISTS) /* a constraint (or trigger) refused this event */
            st->refused_line = b->ev[i].line;
        if (rc == 0 && b->ev[i].category != NULL && strcmp(b->ev[i].event_type, "alert") == 0)
            rc = incident_on_alert(st, &ctx, db_last_insert_id(st->db), &b->ev[i], now);
    }
    *queued = ctx.queued;
    if (rc == 0)
        rc = counters_add(st, who, b);
    return rc;
}

uint64_t store_refused_line(const struct store *st)
{
    return st->refused_line;
}

int store_ingest(struct store *st, const struct principal *who, const struct store_batch *b,
                 int64_t now, struct store_batch_result *res)
{
    st->refused_line = 0;
    int rc = run_fixed(st, S_BEGIN);
    if (rc != 0)
        return rc;
    rc = batch_get(st, who, b->batch_id, res);
    uint64_t queued = 0;
    if (rc == 0)
        rc = ingest_body(st, who, b, now, &queued);
    if (rc == 0)
        rc = store_devices_on_batch(st, who, b, now); /* the inventory (tokens.h) */
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
    struct db_stmt *s = NULL;
    int rc = db_prepare(st->db,
                                "SELECT id, sensor_id, event_type, ts, received, body FROM events "
                                "WHERE company_id=?1 AND ts>=?2 AND id>?3 "
                                "AND (event_type=?5 OR ?5 IS NULL) ORDER BY id LIMIT ?4", &s);
    if (rc != DB_OK)
        return store_set_err(st, rc, "events");
    db_bind_int64(s, 1, q->company_id);
    db_bind_int64(s, 2, q->since_us);
    db_bind_int64(s, 3, q->after_id);
    db_bind_int(s, 4, q->limit);
    if (q->event_type != NULL)
        db_bind_text(s, 5, q->event_type, -1, DB_STATIC);
    int ret = 0;
    while ((rc = db_step(s)) == DB_ROW) {
        struct store_event_row r = {
            .id = db_column_int64(s, 0),
            .sensor_id = db_column_int64(s, 1),
            .event_type = db_column_text(s, 2),
            .ts_us = db_column_int64(s, 3),
            .received_us = db_column_int64(s, 4),
            .body = db_column_text(s, 5),
        };
        if (cb(arg, &r) != 0)
            break;
    }
    if (rc != DB_ROW && rc != DB_DONE)
        ret = store_set_err(st, rc, "events");
    db_finalize(s);
    return ret;
}

int store_counters(struct store *st, const struct store_counter_query *q, store_counter_cb cb,
                   void *arg)
{
    struct db_stmt *s = NULL;
    int rc = db_prepare(st->db,
                                "SELECT day, event_type, category, count FROM counters "
                                "WHERE company_id=?1 AND (event_type=?2 OR ?2 IS NULL) "
                                "AND (day>=?3 OR ?3 IS NULL) AND (day<=?4 OR ?4 IS NULL) "
                                "ORDER BY day, event_type, category", &s);
    if (rc != DB_OK)
        return store_set_err(st, rc, "counters");
    db_bind_int64(s, 1, q->company_id);
    if (q->event_type)
        db_bind_text(s, 2, q->event_type, -1, DB_STATIC);
    if (q->day_from)
        db_bind_text(s, 3, q->day_from, -1, DB_STATIC);
    if (q->day_to)
        db_bind_text(s, 4, q->day_to, -1, DB_STATIC);
    int ret = 0;
    while ((rc = db_step(s)) == DB_ROW) {
        struct store_counter_row r = {
            .day = db_column_text(s, 0),
            .event_type = db_column_text(s, 1),
            .category = db_column_text(s, 2),
            .count = db_column_int64(s, 3),
        };
        if (cb(arg, &r) != 0)
            break;
    }
    if (rc != DB_ROW && rc != DB_DONE)
        ret = store_set_err(st, rc, "counters");
    db_finalize(s);
    return ret;
}
