/*
 * The store's thin SQL layer: one connection (struct db) and its statements
 * (struct db_stmt) over SQLite or PostgreSQL (libpq), so that sqlite.c, incident.c,
 * people.c and migrations.c are written once. The calls follow SQLite's shape:
 * prepare with `?` / `?N` placeholders (translated to $n for PostgreSQL), bind,
 * step over rows (DB_ROW, then DB_DONE), read columns, reset and reuse.
 *
 * What it keeps true:
 *  - Results are DB_OK, DB_ROW, DB_DONE or a DB_* failure code: DB_BUSY for a lock,
 *    serialization failure, deadlock or a lost connection (the caller answers
 *    "retry later"), DB_CONSTRAINT for a unique/check/foreign-key violation,
 *    DB_FULL, DB_NOMEM, DB_ERROR for the rest.
 *  - Strings bound with DB_STATIC must stay valid until the statement is reset or
 *    stepped to DB_DONE; DB_TRANSIENT copies them.
 *  - Column values stay valid until the next step, reset or finalize.
 *  - A PostgreSQL connection that broke is re-established on the next prepare or
 *    step; statements prepared on the old one are prepared again.
 *  - Booleans from PostgreSQL ("t"/"f") read as 1/0 through db_column_int().
 */
#ifndef OTASUKE_CENTER_DB_H
#define OTASUKE_CENTER_DB_H

#include <stddef.h>
#include <stdint.h>

enum db_kind { DB_SQLITE = 0, DB_PG };

#define DB_OK 0
#define DB_ROW 100
#define DB_DONE 101
#define DB_ERROR 1
#define DB_BUSY 5
#define DB_LOCKED 6
#define DB_NOMEM 7
#define DB_FULL 13
#define DB_CONSTRAINT 19

#define DB_STATIC 0
#define DB_TRANSIENT 1

struct db;
struct db_stmt;

/* Opens `target`: a postgresql:// or postgres:// URL (or a libpq "key=value" string
 * starting with "host=" / "dbname=") selects PostgreSQL, anything else is a SQLite
 * file. NULL on failure with the reason in err. */
struct db *db_open(const char *target, int busy_timeout_ms, char *err, size_t errlen);
void db_close(struct db *db);
enum db_kind db_kind(const struct db *db);
/* 1 when `target` names a PostgreSQL database. */
int db_target_is_pg(const char *target);
const char *db_errmsg(const struct db *db);

/* Runs fixed SQL text without parameters (may hold several statements). */
int db_exec(struct db *db, const char *sql);
/* Prepares sql; persistent statements are reused many times (server-side prepared
 * statement on PostgreSQL). DB_OK or a failure code. */
int db_prepare(struct db *db, const char *sql, struct db_stmt **out);
int db_prepare_persistent(struct db *db, const char *sql, struct db_stmt **out);
void db_finalize(struct db_stmt *s);
int db_reset(struct db_stmt *s);
int db_clear_bindings(struct db_stmt *s);

int db_bind_int64(struct db_stmt *s, int i, int64_t v);
int db_bind_int(struct db_stmt *s, int i, int v);
int db_bind_text(struct db_stmt *s, int i, const char *v, int len, int how);
int db_bind_blob(struct db_stmt *s, int i, const void *v, int len, int how);
int db_bind_null(struct db_stmt *s, int i);
/* PostgreSQL only: runs `sql` (a COPY ... FROM STDIN) and sends data[0..len) as its
 * whole input in one go. DB_OK with db_changes() = rows copied, or a failure code with
 * the server's message; a row the server rejected makes the whole COPY fail (nothing
 * of it is stored) and *bad_row gets its 1-based number in the data (0: unknown). */
int db_pg_copy_in(struct db *db, const char *sql, const void *data, size_t len,
                  int64_t *bad_row);

/* COPY's binary format (PGCOPY): a header, then rows of fields, then a trailer. The
 * buffer grows as needed (MEM_CORE); any failure to grow is remembered and reported
 * by db_pgcopy_end(). */
struct db_pgcopy {
    char *buf;
    size_t len, cap;
    int nomem;
};
void db_pgcopy_init(struct db_pgcopy *c, size_t size_hint);
void db_pgcopy_row(struct db_pgcopy *c, int nfields);
/* A field's value in the column type's binary format (v NULL: SQL NULL). */
void db_pgcopy_field(struct db_pgcopy *c, const void *v, size_t n);
void db_pgcopy_int8(struct db_pgcopy *c, int64_t v);
/* Appends the trailer: 0, or ERR_NOMEM when an append failed. */
int db_pgcopy_end(struct db_pgcopy *c);
void db_pgcopy_free(struct db_pgcopy *c);

int db_step(struct db_stmt *s);
int64_t db_column_int64(struct db_stmt *s, int col);
int db_column_int(struct db_stmt *s, int col);
/* NULL for an SQL NULL. */
const char *db_column_text(struct db_stmt *s, int col);
int db_column_is_null(struct db_stmt *s, int col);

/* Rows changed by the last statement of this connection that finished. */
int64_t db_changes(struct db *db);
/* The id the last INSERT into a table with a generated id gave (SQLite rowid;
 * PostgreSQL lastval()). */
int64_t db_last_insert_id(struct db *db);
/* 1 outside a transaction. */
int db_autocommit(struct db *db);

#endif
