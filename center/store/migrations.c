/*
 * The schema of the store (SQLite, and the same for PostgreSQL below), as an ordered list of migrations compiled into
 * the program. Never edit a released migration: add the next one. Times are
 * microseconds since the epoch (UTC); digests are 32-byte SHA-256 blobs.
 */
#include "store/migrations.h"

#include "otasuke/err.h"
#include "store/store.h"
#include <stdint.h>

#include <stdio.h>
#include <time.h>

static const char *const g_migrations[] = {
    /* 1: tenants, sensors, batches, events, per-day counters */
    "CREATE TABLE companies("
    " id INTEGER PRIMARY KEY,"
    " name TEXT NOT NULL UNIQUE,"
    " sector TEXT NOT NULL,"
    " devices INTEGER NOT NULL DEFAULT 0,"
    " contacts TEXT NOT NULL DEFAULT '',"
    " tz TEXT NOT NULL,"
    " lang TEXT NOT NULL CHECK (lang IN ('ja', 'en')),"
    " created INTEGER NOT NULL);"
    "CREATE TABLE sensors("
    " id INTEGER PRIMARY KEY,"
    " company_id INTEGER NOT NULL REFERENCES companies(id),"
    " name TEXT NOT NULL,"
    " code_hash BLOB UNIQUE,"
    " code_expires INTEGER,"
    " token_hash BLOB UNIQUE,"
    " created INTEGER NOT NULL,"
    " enrolled INTEGER,"
    " revoked INTEGER);"
    "CREATE INDEX sensors_company ON sensors(company_id);"
    "CREATE TABLE batches("
    " sensor_id INTEGER NOT NULL REFERENCES sensors(id),"
    " batch_id TEXT NOT NULL,"
    " seq INTEGER NOT NULL,"
    " received INTEGER NOT NULL,"
    " stored INTEGER NOT NULL,"
    " rejected INTEGER NOT NULL,"
    " PRIMARY KEY (sensor_id, batch_id)) WITHOUT ROWID;"
    "CREATE TABLE events("
    " id INTEGER PRIMARY KEY,"
    " company_id INTEGER NOT NULL,"
    " sensor_id INTEGER NOT NULL,"
    " event_type TEXT NOT NULL,"
    " category TEXT,"
    " ts INTEGER NOT NULL,"
    " received INTEGER NOT NULL,"
    " body TEXT NOT NULL);"
    "CREATE INDEX events_company_id ON events(company_id, id);"
    "CREATE TABLE counters("
    " company_id INTEGER NOT NULL,"
    " day TEXT NOT NULL,"
    " event_type TEXT NOT NULL,"
    " category TEXT NOT NULL,"
    " count INTEGER NOT NULL,"
    " PRIMARY KEY (company_id, day, event_type, category)) WITHOUT ROWID;",
    /* 2: incidents with their timeline and notes, suppression rules, the notification
     *    queue, and each tenant's notification threshold and webhook */
    "ALTER TABLE companies ADD COLUMN notify_severity INTEGER NOT NULL DEFAULT 2;"
    "ALTER TABLE companies ADD COLUMN webhook_url TEXT NOT NULL DEFAULT '';"
    "CREATE TABLE incidents("
    " id INTEGER PRIMARY KEY,"
    " company_id INTEGER NOT NULL REFERENCES companies(id),"
    " device_key TEXT NOT NULL,"
    " device_ip TEXT, device_mac TEXT, device_name TEXT,"
    " severity INTEGER NOT NULL,"
    " categories TEXT NOT NULL,"
    " steps_ja TEXT NOT NULL DEFAULT '', steps_en TEXT NOT NULL DEFAULT '',"
    " state INTEGER NOT NULL DEFAULT 0,"
    " assignee TEXT NOT NULL DEFAULT '',"
    " alerts INTEGER NOT NULL,"
    " first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL,"
    " created INTEGER NOT NULL, updated INTEGER NOT NULL,"
    " notified_severity INTEGER);"
    "CREATE INDEX incidents_open ON incidents(company_id, device_key, last_seen) WHERE state < 4;"
    "CREATE INDEX incidents_company ON incidents(company_id, id);"
    "CREATE TABLE incident_alerts("
    " incident_id INTEGER NOT NULL REFERENCES incidents(id),"
    " event_id INTEGER NOT NULL,"
    " ts INTEGER NOT NULL, severity INTEGER NOT NULL, category TEXT NOT NULL,"
    " signature_id INTEGER, signature TEXT NOT NULL, signature_ja TEXT NOT NULL,"
    " PRIMARY KEY (incident_id, event_id)) WITHOUT ROWID;"
    "CREATE TABLE incident_notes("
    " id INTEGER PRIMARY KEY,"
    " incident_id INTEGER NOT NULL REFERENCES incidents(id),"
    " at INTEGER NOT NULL, author TEXT NOT NULL, kind TEXT NOT NULL, text TEXT NOT NULL);"
    "CREATE INDEX incident_notes_incident ON incident_notes(incident_id, id);"
    "CREATE TABLE suppressions("
    " id INTEGER PRIMARY KEY,"
    " company_id INTEGER NOT NULL REFERENCES companies(id),"
    " signature_id INTEGER, device_key TEXT,"
    " reason TEXT NOT NULL, expires INTEGER NOT NULL, created INTEGER NOT NULL,"
    " hits INTEGER NOT NULL DEFAULT 0,"
    " CHECK (signature_id IS NOT NULL OR device_key IS NOT NULL));"
    "CREATE INDEX suppressions_company ON suppressions(company_id, expires);"
    "CREATE TABLE suppressed_alerts("
    " event_id INTEGER PRIMARY KEY, suppression_id INTEGER NOT NULL, company_id INTEGER NOT NULL);"
    "CREATE TABLE notifications("
    " id INTEGER PRIMARY KEY,"
    " company_id INTEGER NOT NULL REFERENCES companies(id),"
    " incident_id INTEGER NOT NULL REFERENCES incidents(id),"
    " channel TEXT NOT NULL CHECK (channel IN ('mail', 'webhook')),"
    " reason TEXT NOT NULL, severity INTEGER NOT NULL, target TEXT NOT NULL,"
    " state TEXT NOT NULL DEFAULT 'queued', attempts INTEGER NOT NULL DEFAULT 0,"
    " next_attempt INTEGER NOT NULL, last_error TEXT NOT NULL DEFAULT '',"
    " created INTEGER NOT NULL, sent INTEGER);"
    "CREATE INDEX notifications_due ON notifications(next_attempt) WHERE state = 'queued';"
    "CREATE INDEX notifications_incident ON notifications(incident_id);",
    /* 3: people (provider staff and customer users) with their roles, login sessions,
     *    and the append-only audit log */
    "CREATE TABLE users("
    " id INTEGER PRIMARY KEY,"
    " company_id INTEGER REFERENCES companies(id)," /* NULL: provider staff */
    " name TEXT NOT NULL UNIQUE,"
    " role TEXT NOT NULL CHECK (role IN ('provider_admin', 'provider_analyst',"
    "  'tenant_admin', 'tenant_viewer')),"
    " pw_hash TEXT NOT NULL,"
    " created INTEGER NOT NULL,"
    " pw_changed INTEGER NOT NULL,"
    " disabled INTEGER,"
    " last_login INTEGER,"
    " CHECK ((company_id IS NULL) = (role IN ('provider_admin', 'provider_analyst'))));"
    "CREATE INDEX users_company ON users(company_id);"
    "CREATE TABLE sessions("
    " id INTEGER PRIMARY KEY,"
    " token_hash BLOB NOT NULL UNIQUE,"
    " user_id INTEGER NOT NULL REFERENCES users(id),"
    " csrf TEXT NOT NULL,"
    " created INTEGER NOT NULL,"
    " last_seen INTEGER NOT NULL,"
    " addr TEXT NOT NULL);"
    "CREATE INDEX sessions_user ON sessions(user_id);"
    "CREATE TABLE audit_log("
    " id INTEGER PRIMARY KEY,"
    " at INTEGER NOT NULL,"
    " actor TEXT NOT NULL,"
    " actor_id INTEGER,"
    " company_id INTEGER,"
    " action TEXT NOT NULL,"
    " target TEXT NOT NULL,"
    " addr TEXT NOT NULL,"
    " detail TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX audit_company ON audit_log(company_id, id);"
    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log"
    " BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;"
    "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log"
    " BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END;",
    /* 4: long-lived API tokens of people (by digest, scoped, revocable), and the device
     *    inventory of each tenant as its sensors' asset events describe it */
    "CREATE TABLE api_tokens("
    " id INTEGER PRIMARY KEY,"
    " user_id INTEGER NOT NULL REFERENCES users(id),"
    " name TEXT NOT NULL,"
    " token_hash BLOB NOT NULL UNIQUE,"
    " scope TEXT NOT NULL CHECK (scope IN ('read', 'full')),"
    " created INTEGER NOT NULL,"
    " created_by TEXT NOT NULL,"
    " expires INTEGER,"
    " last_used INTEGER,"
    " revoked INTEGER);"
    "CREATE INDEX api_tokens_user ON api_tokens(user_id);"
    "CREATE TABLE devices("
    " id INTEGER PRIMARY KEY,"
    " company_id INTEGER NOT NULL REFERENCES companies(id),"
    " sensor_id INTEGER NOT NULL REFERENCES sensors(id),"
    " device_key TEXT NOT NULL,"
    " mac TEXT, ip TEXT, name TEXT, maker TEXT, kind TEXT,"
    " first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL,"
    " last_change TEXT NOT NULL,"
    " updated INTEGER NOT NULL,"
    " UNIQUE (company_id, sensor_id, device_key));",
    /* 5: PostgreSQL's bulk ingest (see the PostgreSQL list); nothing changes here: a
     *    rowid table's id costs no index, and events_company_id is the one index */
    "SELECT 1;",
};

/* The same schema for PostgreSQL: generated BIGINT ids, BYTEA digests, every integer a
 * BIGINT (times stay int64 µs), the audit log's append-only rule as a trigger
 * function. Keep the two lists in step: migration N means the same tables on both. */
static const char *const g_pg_migrations[] = {
    /* 1 */
    "CREATE TABLE companies("
    " id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
    " name TEXT NOT NULL UNIQUE,"
    " sector TEXT NOT NULL,"
    " devices BIGINT NOT NULL DEFAULT 0,"
    " contacts TEXT NOT NULL DEFAULT '',"
    " tz TEXT NOT NULL,"
    " lang TEXT NOT NULL CHECK (lang IN ('ja', 'en')),"
    " created BIGINT NOT NULL);"
    "CREATE TABLE sensors("
    " id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
    " company_id BIGINT NOT NULL REFERENCES companies(id),"
    " name TEXT NOT NULL,"
    " code_hash BYTEA UNIQUE,"
    " code_expires BIGINT,"
    " token_hash BYTEA UNIQUE,"
    " created BIGINT NOT NULL,"
    " enrolled BIGINT,"
    " revoked BIGINT);"
    "CREATE INDEX sensors_company ON sensors(company_id);"
    "CREATE TABLE batches("
    " sensor_id BIGINT NOT NULL REFERENCES sensors(id),"
    " batch_id TEXT NOT NULL,"
    " seq BIGINT NOT NULL,"
    " received BIGINT NOT NULL,"
    " stored BIGINT NOT NULL,"
    " rejected BIGINT NOT NULL,"
    " PRIMARY KEY (sensor_id, batch_id));"
    "CREATE TABLE events("
    " id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
    " company_id BIGINT NOT NULL,"
    " sensor_id BIGINT NOT NULL,"
    " event_type TEXT NOT NULL,"
    " category TEXT,"
    " ts BIGINT NOT NULL,"
    " received BIGINT NOT NULL,"
    " body TEXT NOT NULL);"
    "CREATE INDEX events_company_id ON events(company_id, id);"
    "CREATE TABLE counters("
    " company_id BIGINT NOT NULL,"
    " day TEXT NOT NULL,"
    " event_type TEXT NOT NULL,"
    " category TEXT NOT NULL,"
    " count BIGINT NOT NULL,"
    " PRIMARY KEY (company_id, day, event_type, category));",
    /* 2 */
    "ALTER TABLE companies ADD COLUMN notify_severity BIGINT NOT NULL DEFAULT 2;"
    "ALTER TABLE companies ADD COLUMN webhook_url TEXT NOT NULL DEFAULT '';"
    "CREATE TABLE incidents("
    " id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
    " company_id BIGINT NOT NULL REFERENCES companies(id),"
    " device_key TEXT NOT NULL,"
    " device_ip TEXT, device_mac TEXT, device_name TEXT,"
    " severity BIGINT NOT NULL,"
    " categories TEXT NOT NULL,"
    " steps_ja TEXT NOT NULL DEFAULT '', steps_en TEXT NOT NULL DEFAULT '',"
    " state BIGINT NOT NULL DEFAULT 0,"
    " assignee TEXT NOT NULL DEFAULT '',"
    " alerts BIGINT NOT NULL,"
    " first_seen BIGINT NOT NULL, last_seen BIGINT NOT NULL,"
    " created BIGINT NOT NULL, updated BIGINT NOT NULL,"
    " notified_severity BIGINT);"
    "CREATE INDEX incidents_open ON incidents(company_id, device_key, last_seen) WHERE state < 4;"
    "CREATE INDEX incidents_company ON incidents(company_id, id);"
    "CREATE TABLE incident_alerts("
    " incident_id BIGINT NOT NULL REFERENCES incidents(id),"
    " event_id BIGINT NOT NULL,"
    " ts BIGINT NOT NULL, severity BIGINT NOT NULL, category TEXT NOT NULL,"
    " signature_id BIGINT, signature TEXT NOT NULL, signature_ja TEXT NOT NULL,"
    " PRIMARY KEY (incident_id, event_id));"
    "CREATE TABLE incident_notes("
    " id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
    " incident_id BIGINT NOT NULL REFERENCES incidents(id),"
    " at BIGINT NOT NULL, author TEXT NOT NULL, kind TEXT NOT NULL, text TEXT NOT NULL);"
    "CREATE INDEX incident_notes_incident ON incident_notes(incident_id, id);"
    "CREATE TABLE suppressions("
    " id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
    " company_id BIGINT NOT NULL REFERENCES companies(id),"
    " signature_id BIGINT, device_key TEXT,"
    " reason TEXT NOT NULL, expires BIGINT NOT NULL, created BIGINT NOT NULL,"
    " hits BIGINT NOT NULL DEFAULT 0,"
    " CHECK (signature_id IS NOT NULL OR device_key IS NOT NULL));"
    "CREATE INDEX suppressions_company ON suppressions(company_id, expires);"
    "CREATE TABLE suppressed_alerts("
    " event_id BIGINT PRIMARY KEY, suppression_id BIGINT NOT NULL, company_id BIGINT NOT NULL);"
    "CREATE TABLE notifications("
    " id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
    " company_id BIGINT NOT NULL REFERENCES companies(id),"
    " incident_id BIGINT NOT NULL REFERENCES incidents(id),"
    " channel TEXT NOT NULL CHECK (channel IN ('mail', 'webhook')),"
    " reason TEXT NOT NULL, severity BIGINT NOT NULL, target TEXT NOT NULL,"
    " state TEXT NOT NULL DEFAULT 'queued', attempts BIGINT NOT NULL DEFAULT 0,"
    " next_attempt BIGINT NOT NULL, last_error TEXT NOT NULL DEFAULT '',"
    " created BIGINT NOT NULL, sent BIGINT);"
    "CREATE INDEX notifications_due ON notifications(next_attempt) WHERE state = 'queued';"
    "CREATE INDEX notifications_incident ON notifications(incident_id);",
    /* 3 */
    "CREATE TABLE users("
    " id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
    " company_id BIGINT REFERENCES companies(id),"
    " name TEXT NOT NULL UNIQUE,"
    " role TEXT NOT NULL CHECK (role IN ('provider_admin', 'provider_analyst',"
    "  'tenant_admin', 'tenant_viewer')),"
    " pw_hash TEXT NOT NULL,"
    " created BIGINT NOT NULL,"
    " pw_changed BIGINT NOT NULL,"
    " disabled BIGINT,"
    " last_login BIGINT,"
    " CHECK ((company_id IS NULL) = (role IN ('provider_admin', 'provider_analyst'))));"
    "CREATE INDEX users_company ON users(company_id);"
    "CREATE TABLE sessions("
    " id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
    " token_hash BYTEA NOT NULL UNIQUE,"
    " user_id BIGINT NOT NULL REFERENCES users(id),"
    " csrf TEXT NOT NULL,"
    " created BIGINT NOT NULL,"
    " last_seen BIGINT NOT NULL,"
    " addr TEXT NOT NULL);"
    "CREATE INDEX sessions_user ON sessions(user_id);"
    "CREATE TABLE audit_log("
    " id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
    " at BIGINT NOT NULL,"
    " actor TEXT NOT NULL,"
    " actor_id BIGINT,"
    " company_id BIGINT,"
    " action TEXT NOT NULL,"
    " target TEXT NOT NULL,"
    " addr TEXT NOT NULL,"
    " detail TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX audit_company ON audit_log(company_id, id);"
    "CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS"
    " $$ BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$;"
    "CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log"
    " FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();",
    /* 4 */
    "CREATE TABLE api_tokens("
    " id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
    " user_id BIGINT NOT NULL REFERENCES users(id),"
    " name TEXT NOT NULL,"
    " token_hash BYTEA NOT NULL UNIQUE,"
    " scope TEXT NOT NULL CHECK (scope IN ('read', 'full')),"
    " created BIGINT NOT NULL,"
    " created_by TEXT NOT NULL,"
    " expires BIGINT,"
    " last_used BIGINT,"
    " revoked BIGINT);"
    "CREATE INDEX api_tokens_user ON api_tokens(user_id);"
    "CREATE TABLE devices("
    " id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,"
    " company_id BIGINT NOT NULL REFERENCES companies(id),"
    " sensor_id BIGINT NOT NULL REFERENCES sensors(id),"
    " device_key TEXT NOT NULL,"
    " mac TEXT, ip TEXT, name TEXT, maker TEXT, kind TEXT,"
    " first_seen BIGINT NOT NULL, last_seen BIGINT NOT NULL,"
    " last_change TEXT NOT NULL,"
    " updated BIGINT NOT NULL,"
    " UNIQUE (company_id, sensor_id, device_key));",
    /* 5: the cost of storing an event (bench/README.md, "PostgreSQL's insert cost").
     *  - One index per event instead of two: the primary key becomes (company_id, id),
     *    which is also what the API's paging reads (company_id = ? AND id > ? ORDER BY
     *    id), so events_company_id goes; ids stay unique (one identity sequence) and
     *    whoever joins by id also knows the tenant (incident.c).
     *  - Bodies up to ~8 kB stay in the row uncompressed: with the default (2 kB)
     *    the large ones (the sensor's stats, ~3.8 kB) were pglz-compressed and
     *    moved to the TOAST table, 13 % + 4 % of the server's CPU per batch, for
     *    ~10 % less disk. Larger bodies are still compressed and moved out of line.
     *  - Ids are taken 1024 at a time (STORE_PG_ID_BLOCK in sqlite.c): one nextval per
     *    batch of up to 1024 events, not one per event; ids keep increasing, with gaps. */
    "ALTER TABLE events SET (toast_tuple_target = 8160);"
    "ALTER TABLE events ALTER COLUMN id SET INCREMENT BY 1024;"
    "ALTER TABLE events DROP CONSTRAINT events_pkey, ADD PRIMARY KEY (company_id, id);"
    "DROP INDEX events_company_id;",
};

_Static_assert(sizeof(g_pg_migrations) == sizeof(g_migrations),
               "one PostgreSQL migration per SQLite migration");

/* Serializes migrations of processes starting at once on PostgreSQL (transaction
 * scoped advisory lock; SQLite's BEGIN IMMEDIATE does the same there). */
#define PG_MIGRATION_LOCK "SELECT pg_advisory_xact_lock(7283215)"

#define N_MIGRATIONS ((int)(sizeof(g_migrations) / sizeof(g_migrations[0])))

int migrations_latest(void)
{
    return N_MIGRATIONS;
}

const char *migrations_sql(int version)
{
    return version >= 1 && version <= N_MIGRATIONS ? g_migrations[version - 1] : NULL;
}

const char *migrations_sql_for(enum db_kind kind, int version)
{
    if (version < 1 || version > N_MIGRATIONS)
        return NULL;
    return kind == DB_PG ? g_pg_migrations[version - 1] : g_migrations[version - 1];
}

int migrations_current(struct db *db)
{
    struct db_stmt *s = NULL;
    if (db_prepare(db, "SELECT coalesce(max(version), 0) FROM schema_version", &s) != DB_OK)
        return -1;
    int v = db_step(s) == DB_ROW ? db_column_int(s, 0) : -1;
    db_finalize(s);
    return v;
}

/* Runs fixed SQL text (migrations only: no parameters, nothing from outside). */
static int exec(struct db *db, const char *sql, char *err, size_t errlen)
{
    int rc = db_exec(db, sql);
    if (rc != DB_OK) {
        snprintf(err, errlen, "%s", db_errmsg(db));
        return rc == DB_BUSY ? STORE_BUSY : ERR_IO;
    }
    return 0;
}

static int record(struct db *db, int version, char *err, size_t errlen)
{
    struct db_stmt *s = NULL;
    int rc = db_prepare(db, "INSERT INTO schema_version(version, applied_at) VALUES(?, ?)", &s);
    if (rc == DB_OK) {
        struct timespec t;
        clock_gettime(CLOCK_REALTIME, &t);
        db_bind_int(s, 1, version);
        db_bind_int64(s, 2, (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000);
        rc = db_step(s) == DB_DONE ? DB_OK : DB_ERROR;
    }
    if (rc != DB_OK)
        snprintf(err, errlen, "schema_version: %s", db_errmsg(db));
    db_finalize(s);
    return rc == DB_OK ? 0 : ERR_IO;
}

/* Applies migration `version` (1-based) unless another process did it first. */
static int apply_one(struct db *db, int version, char *err, size_t errlen)
{
    int pg = db_kind(db) == DB_PG;
    if (exec(db, pg ? "BEGIN; " PG_MIGRATION_LOCK : "BEGIN IMMEDIATE", err, errlen) != 0)
        return ERR_IO;
    int rc = 0;
    if (migrations_current(db) < version) {
        rc = exec(db, pg ? g_pg_migrations[version - 1] : g_migrations[version - 1], err,
                  errlen);
        if (rc == 0)
            rc = record(db, version, err, errlen);
    }
    if (rc == 0)
        rc = exec(db, "COMMIT", err, errlen);
    if (rc != 0) {
        char ignored[64];
        (void)exec(db, "ROLLBACK", ignored, sizeof(ignored));
    }
    return rc;
}

int migrations_run(struct db *db, char *err, size_t errlen)
{
    int rc;
    if (db_kind(db) == DB_PG)
        rc = exec(db,
                  "BEGIN; " PG_MIGRATION_LOCK "; CREATE TABLE IF NOT EXISTS schema_version("
                  " version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL); COMMIT",
                  err, errlen);
    else
        rc = exec(db,
                  "CREATE TABLE IF NOT EXISTS schema_version("
                  " version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
                  err, errlen);
    if (rc != 0)
        return rc;
    int cur = migrations_current(db);
    if (cur < 0) {
        snprintf(err, errlen, "cannot read schema_version: %s", db_errmsg(db));
        return ERR_IO;
    }
    if (cur > N_MIGRATIONS) {
        snprintf(err, errlen,
                 "database schema version %d is newer than this program's (%d): upgrade "
                 "otasuke",
                 cur, N_MIGRATIONS);
        return ERR_UNSUP;
    }
    for (int v = cur + 1; v <= N_MIGRATIONS; v++) {
        rc = apply_one(db, v, err, errlen);
        if (rc != 0)
            return rc;
    }
    return 0;
}
