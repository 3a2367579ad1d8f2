/*
 * The store's thin SQL layer (db.h) over SQLite and libpq.
 *
 * SQLite calls pass straight through. For PostgreSQL a statement keeps its text with
 * `?` / `?N` rewritten to $n, its bound values (integers as decimal text, text as
 * given, blobs in binary format as bytea) and, once stepped, the whole PGresult,
 * which db_step() walks row by row. Persistent statements become server-side
 * prepared statements on their first step, with the parameter types of that first
 * binding (int8, bytea, or left to the server for text and NULL); a broken
 * connection is reset on the next use and bumps a generation number so they are
 * prepared again.
 */
#include "store/db.h"

#include "otasuke/alloc.h"
#include "otasuke/err.h"
#include "otasuke/timefmt.h"

#include <libpq-fe.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DB_ERR_LEN 256
#define DB_MAX_PARAMS 32
#define OID_INT8 20
#define OID_BYTEA 17
/* After a failed reconnect, the connection's next uses answer DB_BUSY at once for this
 * long instead of trying again (a server that drops packets would otherwise hold every
 * request for connect_timeout). */
#define PG_RETRY_US 2000000ULL

struct db {
    enum db_kind kind;
    sqlite3 *lite;
    PGconn *pg;
    unsigned gen;     /* bumped when the PostgreSQL connection is re-established */
    unsigned next_id; /* names of prepared statements */
    uint64_t retry_at; /* ts_mono_us() before which a broken connection is not retried */
    int busy_timeout_ms;
    int64_t changes;
    char err[DB_ERR_LEN];
};

struct db_param {
    const char *val; /* NULL: SQL NULL */
    char *owned;     /* DB_TRANSIENT copy */
    int len;
    int fmt; /* 0 text, 1 binary */
    unsigned type;
    char num[24];
};

struct db_stmt {
    struct db *db;
    sqlite3_stmt *lite;
    /* PostgreSQL */
    char *sql;
    int nparam;
    int persistent;
    unsigned prepared_gen; /* 0: not prepared */
    char name[24];
    struct db_param p[DB_MAX_PARAMS];
    PGresult *res;
    int row, nrows;
};

int db_target_is_pg(const char *t)
{
    return t != NULL && (strncmp(t, "postgresql://", 13) == 0 ||
                         strncmp(t, "postgres://", 11) == 0 || strncmp(t, "host=", 5) == 0 ||
                         strncmp(t, "dbname=", 7) == 0);
}

enum db_kind db_kind(const struct db *db)
{
    return db->kind;
}

const char *db_errmsg(const struct db *db)
{
    if (db->kind == DB_SQLITE)
        return sqlite3_errmsg(db->lite);
    return db->err;
}

static void pg_set_err(struct db *db, const char *msg)
{
    snprintf(db->err, sizeof(db->err), "%s", msg && *msg ? msg : "postgresql error");
    size_t n = strlen(db->err);
    while (n > 0 && (db->err[n - 1] == '\n' || db->err[n - 1] == ' '))
        db->err[--n] = '\0';
}

/* Maps a failed result (or none) to a DB_* code, recording the message. */
static int pg_fail(struct db *db, PGresult *r)
{
    pg_set_err(db, r ? PQresultErrorMessage(r) : PQerrorMessage(db->pg));
    const char *ss = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    if (PQstatus(db->pg) != CONNECTION_OK || ss == NULL)
        return PQstatus(db->pg) != CONNECTION_OK ? DB_BUSY : DB_ERROR;
    if (strcmp(ss, "40001") == 0 || strcmp(ss, "40P01") == 0 || strcmp(ss, "55P03") == 0 ||
        strcmp(ss, "57014") == 0 || strcmp(ss, "53300") == 0 || strncmp(ss, "08", 2) == 0 ||
        strncmp(ss, "57P", 3) == 0)
        return DB_BUSY;
    if (strcmp(ss, "53100") == 0)
        return DB_FULL;
    if (strcmp(ss, "53200") == 0)
        return DB_NOMEM;
    if (strncmp(ss, "23", 2) == 0)
        return DB_CONSTRAINT;
    return DB_ERROR;
}

static void pg_quiet(void *arg, const char *msg)
{
    (void)arg;
    (void)msg;
}

/* Session settings, after every (re)connect. */
static int pg_session(struct db *db)
{
    char sql[160];
    snprintf(sql, sizeof(sql),
             "SET lock_timeout = %d; SET client_min_messages = warning; SET TIME ZONE 'UTC'",
             db->busy_timeout_ms > 0 ? db->busy_timeout_ms : 2000);
    PGresult *r = PQexec(db->pg, sql);
    int rc = PQresultStatus(r) == PGRES_COMMAND_OK ? DB_OK : pg_fail(db, r);
    PQclear(r);
    return rc;
}

/* A broken connection is re-established on a call, at most once per PG_RETRY_US;
 * DB_BUSY while it stays down (db->err: why the last attempt failed). */
static int pg_alive(struct db *db)
{
    if (PQstatus(db->pg) == CONNECTION_OK)
        return DB_OK;
    if (ts_mono_us() < db->retry_at)
        return DB_BUSY;
    PQreset(db->pg);
    if (PQstatus(db->pg) != CONNECTION_OK) {
        pg_set_err(db, PQerrorMessage(db->pg));
        db->retry_at = ts_mono_us() + PG_RETRY_US;
        return DB_BUSY;
    }
    db->gen++;
    return pg_session(db);
}

struct db *db_open(const char *target, int busy_timeout_ms, char *err, size_t errlen)
{
    struct db *db = xcalloc(MEM_CORE, 1, sizeof(*db));
    if (db == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    db->busy_timeout_ms = busy_timeout_ms > 0 ? busy_timeout_ms : 2000;
    db->gen = 1;
    if (!db_target_is_pg(target)) {
        db->kind = DB_SQLITE;
        int rc = sqlite3_open_v2(target, &db->lite,
                                 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                                 NULL);
        if (rc != SQLITE_OK) {
            snprintf(err, errlen, "%s", db->lite ? sqlite3_errmsg(db->lite) : sqlite3_errstr(rc));
            db_close(db);
            return NULL;
        }
        sqlite3_extended_result_codes(db->lite, 0);
        sqlite3_busy_timeout(db->lite, db->busy_timeout_ms);
        return db;
    }
    db->kind = DB_PG;
    /* Bounds for a server that stops answering (the host gone, packets dropped): a
     * connection attempt gives up after 5 s (libpq's default waits for the system's
     * TCP timeout, about two minutes), an established connection is found dead after
     * ~60 s of silence (keepalives). Defaults: the target's own settings, which come
     * after them (expanded from dbname), win. */
    static const char *const keys[] = {"connect_timeout", "keepalives_idle",
                                       "keepalives_interval", "keepalives_count", "dbname",
                                       NULL};
    const char *const vals[] = {"5", "30", "10", "3", target, NULL};
    db->pg = PQconnectdbParams(keys, vals, 1);
    if (db->pg == NULL || PQstatus(db->pg) != CONNECTION_OK) {
        snprintf(err, errlen, "%s", db->pg ? PQerrorMessage(db->pg) : "out of memory");
        size_t n = strlen(err);
        while (n > 0 && err[n - 1] == '\n')
            err[--n] = '\0';
        db_close(db);
        return NULL;
    }
    PQsetNoticeProcessor(db->pg, pg_quiet, NULL);
    if (pg_session(db) != DB_OK) {
        snprintf(err, errlen, "%s", db->err);
        db_close(db);
        return NULL;
    }
    return db;
}

void db_close(struct db *db)
{
    if (db == NULL)
        return;
    if (db->lite != NULL)
        sqlite3_close(db->lite);
    if (db->pg != NULL)
        PQfinish(db->pg);
    xfree(db);
}

int db_exec(struct db *db, const char *sql)
{
    if (db->kind == DB_SQLITE) {
        int rc = sqlite3_exec(db->lite, sql, NULL, NULL, NULL);
        return rc == SQLITE_OK ? DB_OK : rc;
    }
    int rc = pg_alive(db);
    if (rc != DB_OK)
        return rc;
    PGresult *r = PQexec(db->pg, strcmp(sql, "BEGIN IMMEDIATE") == 0 ? "BEGIN" : sql);
    ExecStatusType t = PQresultStatus(r);
    rc = t == PGRES_COMMAND_OK || t == PGRES_TUPLES_OK ? DB_OK : pg_fail(db, r);
    PQclear(r);
    return rc;
}

/* `?` and `?N` to $n, outside quoted literals; the number of parameters in *n. */
static char *pg_translate(const char *sql, int *n)
{
    size_t len = strlen(sql);
    char *out = xalloc(MEM_CORE, len * 3 + 1);
    if (out == NULL)
        return NULL;
    size_t o = 0;
    int next = 0, max = 0;
    char quote = 0;
    for (size_t i = 0; i < len; i++) {
        char c = sql[i];
        if (quote) {
            if (c == quote)
                quote = 0;
            out[o++] = c;
            continue;
        }
        if (c == '\'' || c == '"') {
            quote = c;
            out[o++] = c;
            continue;
        }
        if (c != '?') {
            out[o++] = c;
            continue;
        }
        int num = 0;
        size_t j = i + 1;
        while (j < len && sql[j] >= '0' && sql[j] <= '9' && num < 1000)
            num = num * 10 + (sql[j++] - '0');
        if (j == i + 1)
            num = ++next;
        else
            next = num > next ? num : next;
        if (num > max)
            max = num;
        o += (size_t)snprintf(out + o, len * 3 + 1 - o, "$%d", num);
        i = j - 1;
    }
    out[o] = '\0';
    *n = max;
    return out;
}

static int prepare(struct db *db, const char *sql, int persistent, struct db_stmt **out)
{
    *out = NULL;
    struct db_stmt *s = xcalloc(MEM_CORE, 1, sizeof(*s));
    if (s == NULL)
        return DB_NOMEM;
    s->db = db;
    s->persistent = persistent;
    if (db->kind == DB_SQLITE) {
        int rc = sqlite3_prepare_v3(db->lite, sql, -1, persistent ? SQLITE_PREPARE_PERSISTENT : 0,
                                    &s->lite, NULL);
        if (rc != SQLITE_OK) {
            xfree(s);
            return rc;
        }
        *out = s;
        return DB_OK;
    }
    /* SQLite's write-lock-up-front transaction; PostgreSQL's writers take row locks */
    if (strcmp(sql, "BEGIN IMMEDIATE") == 0)
        sql = "BEGIN";
    s->sql = pg_translate(sql, &s->nparam);
    if (s->sql == NULL || s->nparam > DB_MAX_PARAMS) {
        int rc = s->sql ? DB_ERROR : DB_NOMEM;
        pg_set_err(db, s->sql ? "too many parameters" : "out of memory");
        xfree(s->sql);
        xfree(s);
        return rc;
    }
    snprintf(s->name, sizeof(s->name), "otasuke_%u", ++db->next_id);
    *out = s;
    return DB_OK;
}

int db_prepare(struct db *db, const char *sql, struct db_stmt **out)
{
    return prepare(db, sql, 0, out);
}

int db_prepare_persistent(struct db *db, const char *sql, struct db_stmt **out)
{
    return prepare(db, sql, 1, out);
}

static void pg_clear_result(struct db_stmt *s)
{
    PQclear(s->res);
    s->res = NULL;
    s->row = s->nrows = 0;
}

static void param_free(struct db_param *p)
{
    xfree(p->owned);
    memset(p, 0, sizeof(*p));
}

void db_finalize(struct db_stmt *s)
{
    if (s == NULL)
        return;
    if (s->lite != NULL)
        sqlite3_finalize(s->lite);
    pg_clear_result(s);
    for (int i = 0; i < DB_MAX_PARAMS; i++)
        param_free(&s->p[i]);
    xfree(s->sql);
    xfree(s);
}

int db_reset(struct db_stmt *s)
{
    if (s->lite != NULL)
        return sqlite3_reset(s->lite);
    pg_clear_result(s);
    return DB_OK;
}

int db_clear_bindings(struct db_stmt *s)
{
    if (s->lite != NULL)
        return sqlite3_clear_bindings(s->lite);
    for (int i = 0; i < DB_MAX_PARAMS; i++)
        param_free(&s->p[i]);
    return DB_OK;
}

static struct db_param *param(struct db_stmt *s, int i)
{
    if (i < 1 || i > s->nparam)
        return NULL;
    pg_clear_result(s);
    param_free(&s->p[i - 1]);
    return &s->p[i - 1];
}

int db_bind_int64(struct db_stmt *s, int i, int64_t v)
{
    if (s->lite != NULL)
        return sqlite3_bind_int64(s->lite, i, v);
    struct db_param *p = param(s, i);
    if (p == NULL)
        return DB_ERROR;
    snprintf(p->num, sizeof(p->num), "%lld", (long long)v);
    p->val = p->num;
    p->type = OID_INT8;
    return DB_OK;
}

int db_bind_int(struct db_stmt *s, int i, int v)
{
    if (s->lite != NULL)
        return sqlite3_bind_int(s->lite, i, v);
    return db_bind_int64(s, i, v);
}

static int bind_bytes(struct db_stmt *s, int i, const void *v, int len, int how, int fmt,
                      unsigned type)
{
    struct db_param *p = param(s, i);
    if (p == NULL)
        return DB_ERROR;
    if (v == NULL)
        return DB_OK;
    int given = len >= 0;
    if (len < 0)
        len = (int)strlen(v);
    if (how == DB_TRANSIENT || (fmt == 0 && given)) {
        /* libpq reads text parameters up to their NUL: a counted string is copied */
        p->owned = xalloc(MEM_CORE, (size_t)len + 1);
        if (p->owned == NULL)
            return DB_NOMEM;
        memcpy(p->owned, v, (size_t)len);
        p->owned[len] = '\0';
        p->val = p->owned;
    } else {
        p->val = v;
    }
    p->len = len;
    p->fmt = fmt;
    p->type = type;
    return DB_OK;
}

int db_bind_text(struct db_stmt *s, int i, const char *v, int len, int how)
{
    if (s->lite != NULL)
        return sqlite3_bind_text(s->lite, i, v, len,
                                 how == DB_TRANSIENT ? SQLITE_TRANSIENT : SQLITE_STATIC);
    return bind_bytes(s, i, v, len, how, 0, 0);
}

int db_bind_blob(struct db_stmt *s, int i, const void *v, int len, int how)
{
    if (s->lite != NULL)
        return sqlite3_bind_blob(s->lite, i, v, len,
                                 how == DB_TRANSIENT ? SQLITE_TRANSIENT : SQLITE_STATIC);
    /* an empty blob is not NULL: give binary parameters a non-NULL pointer */
    return bind_bytes(s, i, v ? v : "", len, DB_TRANSIENT, 1, OID_BYTEA);
}

static void put_be32(char *o, uint32_t v)
{
    o[0] = (char)(v >> 24);
    o[1] = (char)(v >> 16);
    o[2] = (char)(v >> 8);
    o[3] = (char)v;
}

void db_pgcopy_init(struct db_pgcopy *c, size_t size_hint)
{
    static const char header[19] = "PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0"; /* flags, extension */
    memset(c, 0, sizeof(*c));
    c->cap = size_hint > sizeof(header) ? size_hint : 4096;
    c->buf = xalloc(MEM_CORE, c->cap);
    if (c->buf == NULL) {
        c->cap = 0;
        c->nomem = 1;
        return;
    }
    memcpy(c->buf, header, sizeof(header));
    c->len = sizeof(header);
}

/* Room for n more bytes; 0 (and nomem set) when it cannot be had. */
static int pgcopy_room(struct db_pgcopy *c, size_t n)
{
    if (c->nomem)
        return 0;
    if (c->len + n <= c->cap)
        return 1;
    size_t cap = c->cap * 2 > c->len + n ? c->cap * 2 : c->len + n;
    char *b = xrealloc(MEM_CORE, c->buf, cap);
    if (b == NULL) {
        c->nomem = 1;
        return 0;
    }
    c->buf = b;
    c->cap = cap;
    return 1;
}

void db_pgcopy_row(struct db_pgcopy *c, int nfields)
{
    if (!pgcopy_room(c, 2))
        return;
    c->buf[c->len++] = (char)(nfields >> 8);
    c->buf[c->len++] = (char)nfields;
}

void db_pgcopy_field(struct db_pgcopy *c, const void *v, size_t n)
{
    if (!pgcopy_room(c, 4 + (v ? n : 0)))
        return;
    put_be32(c->buf + c->len, v ? (uint32_t)n : 0xffffffffu);
    c->len += 4;
    if (v != NULL && n > 0) {
        memcpy(c->buf + c->len, v, n);
        c->len += n;
    }
}

void db_pgcopy_int8(struct db_pgcopy *c, int64_t v)
{
    char b[8];
    uint64_t u = (uint64_t)v;
    put_be32(b, (uint32_t)(u >> 32));
    put_be32(b + 4, (uint32_t)u);
    db_pgcopy_field(c, b, sizeof(b));
}

int db_pgcopy_end(struct db_pgcopy *c)
{
    if (pgcopy_room(c, 2)) {
        c->buf[c->len++] = (char)0xff; /* -1 fields: the trailer */
        c->buf[c->len++] = (char)0xff;
    }
    return c->nomem ? ERR_NOMEM : 0;
}

void db_pgcopy_free(struct db_pgcopy *c)
{
    xfree(c->buf);
    memset(c, 0, sizeof(*c));
}

/* The row number of COPY's error context ("COPY events, line 37[, column body]"), 0
 * when absent (COPY into events is the only one the store runs). */
static int64_t pg_copy_line(const PGresult *r)
{
    const char *ctx = r ? PQresultErrorField(r, PG_DIAG_CONTEXT) : NULL;
    const char *l = ctx ? strstr(ctx, "COPY events, line ") : NULL;
    return l ? strtoll(l + 18, NULL, 10) : 0;
}

int db_pg_copy_in(struct db *db, const char *sql, const void *data, size_t len,
                  int64_t *bad_row)
{
    *bad_row = 0;
    if (db->kind != DB_PG)
        return DB_ERROR;
    int rc = pg_alive(db);
    if (rc != DB_OK)
        return rc;
    PGresult *r = PQexec(db->pg, sql);
    if (PQresultStatus(r) != PGRES_COPY_IN) {
        rc = pg_fail(db, r);
        PQclear(r);
        return rc;
    }
    PQclear(r);
    int sent = len <= (size_t)INT32_MAX && PQputCopyData(db->pg, data, (int)len) == 1;
    /* on a failed send, end the COPY with an error so that the server discards it */
    if (PQputCopyEnd(db->pg, sent ? NULL : "client could not send the data") != 1)
        return pg_fail(db, NULL);
    rc = DB_OK;
    while ((r = PQgetResult(db->pg)) != NULL) {
        if (rc == DB_OK && PQresultStatus(r) != PGRES_COMMAND_OK) {
            rc = pg_fail(db, r);
            *bad_row = pg_copy_line(r);
        } else if (rc == DB_OK) {
            const char *ct = PQcmdTuples(r);
            db->changes = ct && *ct ? strtoll(ct, NULL, 10) : 0;
        }
        PQclear(r);
    }
    return rc;
}

int db_bind_null(struct db_stmt *s, int i)
{
    if (s->lite != NULL)
        return sqlite3_bind_null(s->lite, i);
    return param(s, i) ? DB_OK : DB_ERROR;
}

static int pg_run(struct db_stmt *s)
{
    struct db *db = s->db;
    int rc = pg_alive(db);
    if (rc != DB_OK)
        return rc;
    const char *vals[DB_MAX_PARAMS];
    int lens[DB_MAX_PARAMS], fmts[DB_MAX_PARAMS];
    Oid types[DB_MAX_PARAMS];
    for (int i = 0; i < s->nparam; i++) {
        vals[i] = s->p[i].val;
        lens[i] = s->p[i].len;
        fmts[i] = s->p[i].fmt;
        types[i] = s->p[i].type;
    }
    PGresult *r;
    if (s->persistent) {
        if (s->prepared_gen != db->gen) {
            r = PQprepare(db->pg, s->name, s->sql, s->nparam, types);
            if (PQresultStatus(r) != PGRES_COMMAND_OK) {
                rc = pg_fail(db, r);
                PQclear(r);
                return rc;
            }
            PQclear(r);
            s->prepared_gen = db->gen;
        }
        r = PQexecPrepared(db->pg, s->name, s->nparam, vals, lens, fmts, 0);
    } else {
        r = PQexecParams(db->pg, s->sql, s->nparam, types, vals, lens, fmts, 0);
    }
    ExecStatusType t = PQresultStatus(r);
    if (t != PGRES_COMMAND_OK && t != PGRES_TUPLES_OK) {
        rc = pg_fail(db, r);
        PQclear(r);
        return rc;
    }
    const char *ct = PQcmdTuples(r);
    db->changes = ct && *ct ? strtoll(ct, NULL, 10) : 0;
    s->res = r;
    s->nrows = PQntuples(r);
    s->row = -1;
    return DB_OK;
}

int db_step(struct db_stmt *s)
{
    if (s->lite != NULL) {
        int rc = sqlite3_step(s->lite);
        if (rc == SQLITE_DONE)
            s->db->changes = sqlite3_changes(s->db->lite);
        return rc;
    }
    if (s->res == NULL) {
        int rc = pg_run(s);
        if (rc != DB_OK)
            return rc;
    }
    if (s->row < s->nrows)
        s->row++;
    return s->row < s->nrows ? DB_ROW : DB_DONE;
}

static int pg_cell(struct db_stmt *s, int col)
{
    return s->res != NULL && s->row >= 0 && s->row < s->nrows && col >= 0 &&
           col < PQnfields(s->res) && !PQgetisnull(s->res, s->row, col);
}

int64_t db_column_int64(struct db_stmt *s, int col)
{
    if (s->lite != NULL)
        return sqlite3_column_int64(s->lite, col);
    if (!pg_cell(s, col))
        return 0;
    const char *v = PQgetvalue(s->res, s->row, col);
    if (v[0] == 't' && v[1] == '\0')
        return 1;
    return strtoll(v, NULL, 10);
}

int db_column_int(struct db_stmt *s, int col)
{
    if (s->lite != NULL)
        return sqlite3_column_int(s->lite, col);
    return (int)db_column_int64(s, col);
}

const char *db_column_text(struct db_stmt *s, int col)
{
    if (s->lite != NULL)
        return (const char *)sqlite3_column_text(s->lite, col);
    return pg_cell(s, col) ? PQgetvalue(s->res, s->row, col) : NULL;
}

int db_column_is_null(struct db_stmt *s, int col)
{
    if (s->lite != NULL)
        return sqlite3_column_type(s->lite, col) == SQLITE_NULL;
    return !pg_cell(s, col);
}

int64_t db_changes(struct db *db)
{
    return db->changes;
}

int64_t db_last_insert_id(struct db *db)
{
    if (db->kind == DB_SQLITE)
        return sqlite3_last_insert_rowid(db->lite);
    PGresult *r = PQexec(db->pg, "SELECT lastval()");
    int64_t id = 0;
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
        id = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return id;
}

int db_autocommit(struct db *db)
{
    if (db->kind == DB_SQLITE)
        return sqlite3_get_autocommit(db->lite);
    return PQtransactionStatus(db->pg) == PQTRANS_IDLE;
}
