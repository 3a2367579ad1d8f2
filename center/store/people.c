/*
 * People, sessions and the audit log in SQLite (people.h). Statements are prepared
 * per call: these paths run once per login or per change, and the session lookup's
 * cost is small beside the request it guards. Writes run in BEGIN IMMEDIATE
 * transactions like the rest of the store.
 */
#include "store/people.h"
#include "store/sqlite_int.h"

#include "otasuke/err.h"

#include "store/db.h"
#include <stdio.h>
#include <string.h>

static const char *const g_roles[ROLE_COUNT] = {
    [ROLE_PROVIDER_ADMIN] = "provider_admin",
    [ROLE_PROVIDER_ANALYST] = "provider_analyst",
    [ROLE_TENANT_ADMIN] = "tenant_admin",
    [ROLE_TENANT_VIEWER] = "tenant_viewer",
};

const char *user_role_name(int role)
{
    return role >= 0 && role < ROLE_COUNT ? g_roles[role] : NULL;
}

int user_role_parse(const char *s)
{
    for (int i = 0; s != NULL && i < ROLE_COUNT; i++)
        if (strcmp(s, g_roles[i]) == 0)
            return i;
    return -1;
}

int user_role_provider(int role)
{
    return role == ROLE_PROVIDER_ADMIN || role == ROLE_PROVIDER_ANALYST;
}

static int prep(struct store *st, const char *sql, struct db_stmt **s, const char *what)
{
    int rc = db_prepare(st->db, sql, s);
    return rc == DB_OK ? 0 : store_set_err(st, rc, what);
}

/* Runs a statement that returns no row, then finalizes it. */
static int run(struct store *st, struct db_stmt *s, const char *what)
{
    int rc = db_step(s);
    db_finalize(s);
    return rc == DB_DONE ? 0 : store_set_err(st, rc, what);
}

static int exec_fixed(struct store *st, const char *sql)
{
    struct db_stmt *s = NULL;
    int rc = prep(st, sql, &s, sql);
    return rc != 0 ? rc : run(st, s, sql);
}

/* Ends a transaction: COMMIT when rc is 0, else ROLLBACK; returns the outcome. */
static int finish(struct store *st, int rc)
{
    if (rc == 0) {
        rc = exec_fixed(st, "COMMIT");
        if (rc == 0)
            return 0;
    }
    (void)exec_fixed(st, "ROLLBACK");
    return rc;
}

static void bind_opt_company(struct db_stmt *s, int i, int64_t company_id)
{
    if (company_id > 0)
        db_bind_int64(s, i, company_id);
    else
        db_bind_null(s, i);
}

int store_company_exists(struct store *st, int64_t company_id)
{
    struct db_stmt *s = NULL;
    int rc = prep(st, "SELECT 1 FROM companies WHERE id=?", &s, "company exists");
    if (rc != 0)
        return rc;
    db_bind_int64(s, 1, company_id);
    int step = db_step(s);
    db_finalize(s);
    if (step == DB_ROW)
        return 1;
    return step == DB_DONE ? 0 : store_set_err(st, step, "company exists");
}

int store_user_add(struct store *st, int64_t company_id, const char *name, int role,
                   const char *pw_hash, int64_t now, int64_t *id)
{
    if (user_role_name(role) == NULL || user_role_provider(role) != (company_id == 0))
        return ERR_INVAL;
    if (company_id != 0) {
        int ex = store_company_exists(st, company_id);
        if (ex <= 0)
            return ex == 0 ? ERR_NOTFOUND : ex;
    }
    struct db_stmt *s = NULL;
    int rc = prep(st,
                  "INSERT INTO users(company_id, name, role, pw_hash, created, pw_changed) "
                  "VALUES(?,?,?,?,?,?)",
                  &s, "user add");
    if (rc != 0)
        return rc;
    bind_opt_company(s, 1, company_id);
    db_bind_text(s, 2, name, -1, DB_TRANSIENT);
    db_bind_text(s, 3, user_role_name(role), -1, DB_STATIC);
    db_bind_text(s, 4, pw_hash, -1, DB_TRANSIENT);
    db_bind_int64(s, 5, now);
    db_bind_int64(s, 6, now);
    rc = run(st, s, "user add");
    if (rc == 0 && id != NULL)
        *id = db_last_insert_id(st->db);
    return rc;
}

#define USER_COLS "id, coalesce(company_id, 0), name, role, disabled IS NOT NULL, created, " \
                  "pw_changed, coalesce(last_login, 0), pw_hash"

static void user_row(struct db_stmt *s, struct store_user *u)
{
    memset(u, 0, sizeof(*u));
    u->id = db_column_int64(s, 0);
    u->company_id = db_column_int64(s, 1);
    snprintf(u->name, sizeof(u->name), "%s", db_column_text(s, 2));
    u->role = user_role_parse(db_column_text(s, 3));
    u->disabled = db_column_int(s, 4);
    u->created = db_column_int64(s, 5);
    u->pw_changed = db_column_int64(s, 6);
    u->last_login = db_column_int64(s, 7);
    snprintf(u->pw_hash, sizeof(u->pw_hash), "%s", db_column_text(s, 8));
}

int store_user_get(struct store *st, const char *name, int64_t id, struct store_user *u)
{
    struct db_stmt *s = NULL;
    int rc = prep(st,
                  name != NULL ? "SELECT " USER_COLS " FROM users WHERE name=?"
                               : "SELECT " USER_COLS " FROM users WHERE id=?",
                  &s, "user get");
    if (rc != 0)
        return rc;
    if (name != NULL)
        db_bind_text(s, 1, name, -1, DB_TRANSIENT);
    else
        db_bind_int64(s, 1, id);
    int step = db_step(s);
    if (step == DB_ROW)
        user_row(s, u);
    rc = step == DB_ROW ? 0 : step == DB_DONE ? ERR_NOTFOUND : store_set_err(st, step, "user get");
    db_finalize(s);
    return rc;
}

int store_user_list(struct store *st, int64_t company_id,
                    int (*cb)(void *arg, const struct store_user *u), void *arg)
{
    struct db_stmt *s = NULL;
    int rc = prep(st,
                  "SELECT " USER_COLS " FROM users WHERE ?1=0 OR (?1=-1 AND company_id IS NULL) "
                  "OR company_id=?1 ORDER BY id",
                  &s, "user list");
    if (rc != 0)
        return rc;
    db_bind_int64(s, 1, company_id);
    int step;
    struct store_user u;
    while ((step = db_step(s)) == DB_ROW) {
        user_row(s, &u);
        if (cb(arg, &u) != 0) {
            step = DB_DONE;
            break;
        }
    }
    rc = step == DB_DONE ? 0 : store_set_err(st, step, "user list");
    db_finalize(s);
    return rc;
}

static int user_update_tx(struct store *st, int64_t id, int role, int disabled,
                          const char *pw_hash, int64_t now, int *ended)
{
    struct store_user u = {0};
    int rc = store_user_get(st, NULL, id, &u);
    if (rc != 0)
        return rc;
    if (role >= 0 && user_role_provider(role) != (u.company_id == 0))
        return ERR_INVAL;
    struct db_stmt *s = NULL;
    rc = prep(st,
              "UPDATE users SET role=coalesce(?2, role), "
              "disabled=CASE ?3 WHEN 1 THEN coalesce(disabled, ?5) WHEN 0 THEN NULL "
              "ELSE disabled END, pw_hash=coalesce(?4, pw_hash), "
              "pw_changed=CASE WHEN ?4 IS NULL THEN pw_changed ELSE ?5 END WHERE id=?1",
              &s, "user update");
    if (rc != 0)
        return rc;
    db_bind_int64(s, 1, id);
    if (role >= 0)
        db_bind_text(s, 2, user_role_name(role), -1, DB_STATIC);
    db_bind_int(s, 3, disabled);
    if (pw_hash != NULL)
        db_bind_text(s, 4, pw_hash, -1, DB_TRANSIENT);
    db_bind_int64(s, 5, now);
    rc = run(st, s, "user update");
    if (rc != 0 || (disabled != 1 && pw_hash == NULL))
        return rc;
    rc = prep(st, "DELETE FROM sessions WHERE user_id=?", &s, "sessions end");
    if (rc != 0)
        return rc;
    db_bind_int64(s, 1, id);
    rc = run(st, s, "sessions end");
    if (rc == 0 && ended != NULL)
        *ended = (int)db_changes(st->db);
    return rc;
}

int store_user_update(struct store *st, int64_t id, int role, int disabled, const char *pw_hash,
                      int64_t now, int *ended)
{
    if (ended != NULL)
        *ended = 0;
    int rc = exec_fixed(st, "BEGIN IMMEDIATE");
    if (rc != 0)
        return rc;
    return finish(st, user_update_tx(st, id, role, disabled, pw_hash, now, ended));
}

static int session_insert(struct store *st, int64_t user_id, const uint8_t hash[STORE_HASH_LEN],
                          const char *csrf, const char *addr, int64_t now, int64_t *id)
{
    struct db_stmt *s = NULL;
    int rc = prep(st,
                  "INSERT INTO sessions(token_hash, user_id, csrf, created, last_seen, addr) "
                  "VALUES(?,?,?,?,?,?)",
                  &s, "session add");
    if (rc != 0)
        return rc;
    db_bind_blob(s, 1, hash, STORE_HASH_LEN, DB_TRANSIENT);
    db_bind_int64(s, 2, user_id);
    db_bind_text(s, 3, csrf, -1, DB_TRANSIENT);
    db_bind_int64(s, 4, now);
    db_bind_int64(s, 5, now);
    db_bind_text(s, 6, addr, -1, DB_TRANSIENT);
    rc = run(st, s, "session add");
    if (rc == 0 && id != NULL)
        *id = db_last_insert_id(st->db);
    return rc;
}

static int session_add_tx(struct store *st, int64_t user_id, const uint8_t hash[STORE_HASH_LEN],
                          const char *csrf, const char *addr, const uint8_t *old_hash,
                          int64_t now, int64_t idle_us, int64_t max_us, int64_t *id)
{
    struct db_stmt *s = NULL;
    int rc = prep(st, "DELETE FROM sessions WHERE last_seen<=?1 OR created<=?2 OR token_hash=?3",
                  &s, "session prune");
    if (rc != 0)
        return rc;
    db_bind_int64(s, 1, now - idle_us);
    db_bind_int64(s, 2, now - max_us);
    if (old_hash != NULL)
        db_bind_blob(s, 3, old_hash, STORE_HASH_LEN, DB_TRANSIENT);
    rc = run(st, s, "session prune");
    if (rc == 0)
        rc = session_insert(st, user_id, hash, csrf, addr, now, id);
    if (rc != 0)
        return rc;
    rc = prep(st, "UPDATE users SET last_login=? WHERE id=?", &s, "last login");
    if (rc != 0)
        return rc;
    db_bind_int64(s, 1, now);
    db_bind_int64(s, 2, user_id);
    return run(st, s, "last login");
}

int store_session_add(struct store *st, int64_t user_id, const uint8_t hash[STORE_HASH_LEN],
                      const char *csrf, const char *addr, const uint8_t *old_hash, int64_t now,
                      int64_t idle_us, int64_t max_us, int64_t *id)
{
    int rc = exec_fixed(st, "BEGIN IMMEDIATE");
    if (rc != 0)
        return rc;
    return finish(st, session_add_tx(st, user_id, hash, csrf, addr, old_hash, now, idle_us,
                                     max_us, id));
}

static int session_touch(struct store *st, int64_t id, int64_t now, int del)
{
    struct db_stmt *s = NULL;
    int rc = prep(st,
                  del ? "DELETE FROM sessions WHERE id=?1"
                      : "UPDATE sessions SET last_seen=CASE WHEN last_seen>?2 THEN last_seen "
                        "ELSE ?2 END WHERE id=?1",
                  &s, "session touch");
    if (rc != 0)
        return rc;
    db_bind_int64(s, 1, id);
    if (!del)
        db_bind_int64(s, 2, now);
    return run(st, s, "session touch");
}

int store_session_get(struct store *st, const uint8_t hash[STORE_HASH_LEN], int64_t now,
                      int64_t idle_us, int64_t max_us, int64_t touch_us,
                      struct store_session *out)
{
    struct db_stmt *s = NULL;
    int rc = prep(st,
                  "SELECT s.id, s.user_id, coalesce(u.company_id, 0), u.role, u.name, s.csrf, "
                  "s.created, s.last_seen FROM sessions s JOIN users u ON u.id = s.user_id "
                  "WHERE s.token_hash=? AND u.disabled IS NULL",
                  &s, "session get");
    if (rc != 0)
        return rc;
    db_bind_blob(s, 1, hash, STORE_HASH_LEN, DB_TRANSIENT);
    int step = db_step(s);
    if (step == DB_ROW) {
        memset(out, 0, sizeof(*out));
        out->id = db_column_int64(s, 0);
        out->user_id = db_column_int64(s, 1);
        out->company_id = db_column_int64(s, 2);
        out->role = user_role_parse(db_column_text(s, 3));
        snprintf(out->name, sizeof(out->name), "%s", db_column_text(s, 4));
        snprintf(out->csrf, sizeof(out->csrf), "%s", db_column_text(s, 5));
        out->created = db_column_int64(s, 6);
        out->last_seen = db_column_int64(s, 7);
    }
    rc = step == DB_ROW    ? 0
         : step == DB_DONE ? ERR_NOTFOUND
                               : store_set_err(st, step, "session get");
    db_finalize(s);
    if (rc != 0)
        return rc;
    if (now - out->last_seen >= idle_us || now - out->created >= max_us) {
        (void)session_touch(st, out->id, now, 1);
        return STORE_EXPIRED;
    }
    if (now - out->last_seen >= touch_us)
        (void)session_touch(st, out->id, now, 0); /* best effort: busy only delays it */
    return 0;
}

int store_session_delete(struct store *st, int64_t session_id)
{
    int rc = session_touch(st, session_id, 0, 1);
    if (rc == 0 && db_changes(st->db) == 0)
        return ERR_NOTFOUND;
    return rc;
}

int store_audit_add(struct store *st, const struct store_audit *a, int64_t now)
{
    struct db_stmt *s = NULL;
    int rc = prep(st,
                  "INSERT INTO audit_log(at, actor, actor_id, company_id, action, target, addr, "
                  "detail) VALUES(?,?,?,?,?,?,?,?)",
                  &s, "audit add");
    if (rc != 0)
        return rc;
    db_bind_int64(s, 1, now);
    db_bind_text(s, 2, a->actor ? a->actor : "-", -1, DB_TRANSIENT);
    if (a->actor_id > 0)
        db_bind_int64(s, 3, a->actor_id);
    else
        db_bind_null(s, 3);
    bind_opt_company(s, 4, a->company_id);
    db_bind_text(s, 5, a->action, -1, DB_TRANSIENT);
    db_bind_text(s, 6, a->target ? a->target : "", -1, DB_TRANSIENT);
    db_bind_text(s, 7, a->addr ? a->addr : "", -1, DB_TRANSIENT);
    db_bind_text(s, 8, a->detail ? a->detail : "", -1, DB_TRANSIENT);
    return run(st, s, "audit add");
}

int store_audit_list(struct store *st, int64_t company_id, int64_t after_id, int limit,
                     int (*cb)(void *arg, const struct store_audit *a), void *arg)
{
    struct db_stmt *s = NULL;
    int rc = prep(st,
                  "SELECT id, at, actor, coalesce(actor_id, 0), coalesce(company_id, 0), action, "
                  "target, addr, detail FROM audit_log WHERE (?1=0 OR company_id=?1) AND id>?2 "
                  "ORDER BY id LIMIT ?3",
                  &s, "audit list");
    if (rc != 0)
        return rc;
    db_bind_int64(s, 1, company_id);
    db_bind_int64(s, 2, after_id);
    db_bind_int(s, 3, limit);
    int step;
    while ((step = db_step(s)) == DB_ROW) {
        struct store_audit a = {
            .id = db_column_int64(s, 0),
            .at = db_column_int64(s, 1),
            .actor = db_column_text(s, 2),
            .actor_id = db_column_int64(s, 3),
            .company_id = db_column_int64(s, 4),
            .action = db_column_text(s, 5),
            .target = db_column_text(s, 6),
            .addr = db_column_text(s, 7),
            .detail = db_column_text(s, 8),
        };
        if (cb(arg, &a) != 0) {
            step = DB_DONE;
            break;
        }
    }
    rc = step == DB_DONE ? 0 : store_set_err(st, step, "audit list");
    db_finalize(s);
    return rc;
}
