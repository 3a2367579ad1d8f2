/*
 * API tokens, tenants in full and the device inventory over the SQL layer of db.h
 * (tokens.h). Statements are prepared per call like people.c: these paths run once per
 * API request or once per asset event, beside work that costs more.
 */
#include "store/tokens.h"
#include "store/people.h"
#include "store/sqlite_int.h"

#include "otasuke/err.h"

#include "store/db.h"
#include <jansson.h>
#include <stdio.h>
#include <string.h>

static const char *const g_scopes[] = {[APITOKEN_READ] = "read", [APITOKEN_FULL] = "full"};

const char *apitoken_scope_name(int scope)
{
    return scope == APITOKEN_READ || scope == APITOKEN_FULL ? g_scopes[scope] : NULL;
}

int apitoken_scope_parse(const char *s)
{
    for (int i = 0; s != NULL && i <= APITOKEN_FULL; i++)
        if (strcmp(s, g_scopes[i]) == 0)
            return i;
    return -1;
}

static int prep(struct store *st, const char *sql, struct db_stmt **s, const char *what)
{
    int rc = db_prepare(st->db, sql, s);
    return rc == DB_OK ? 0 : store_set_err(st, rc, what);
}

/* Steps s until done, calling row for each row; finalizes s. */
static int each_row(struct store *st, struct db_stmt *s, const char *what,
                    int (*row)(struct db_stmt *s, void *ctx), void *ctx)
{
    int step;
    while ((step = db_step(s)) == DB_ROW)
        if (row(s, ctx) != 0) {
            step = DB_DONE;
            break;
        }
    int rc = step == DB_DONE ? 0 : store_set_err(st, step, what);
    db_finalize(s);
    return rc;
}

/* ---- API tokens ---- */

int store_apitoken_add(struct store *st, int64_t user_id, const char *name, int scope,
                       const uint8_t hash[STORE_HASH_LEN], const char *created_by, int64_t now,
                       int64_t expires, int64_t *id)
{
    if (apitoken_scope_name(scope) == NULL)
        return ERR_INVAL;
    struct db_stmt *s = NULL;
    int rc = prep(st,
                  "INSERT INTO api_tokens(user_id, name, token_hash, scope, created, created_by, "
                  "expires) SELECT id, ?2, ?3, ?4, ?5, ?6, ?7 FROM users WHERE id=?1",
                  &s, "token add");
    if (rc != 0)
        return rc;
    db_bind_int64(s, 1, user_id);
    db_bind_text(s, 2, name, -1, DB_TRANSIENT);
    db_bind_blob(s, 3, hash, STORE_HASH_LEN, DB_TRANSIENT);
    db_bind_text(s, 4, apitoken_scope_name(scope), -1, DB_STATIC);
    db_bind_int64(s, 5, now);
    db_bind_text(s, 6, created_by, -1, DB_TRANSIENT);
    if (expires > 0)
        db_bind_int64(s, 7, expires);
    else
        db_bind_null(s, 7);
    int step = db_step(s);
    if (step != DB_DONE)
        rc = store_set_err(st, step, "token add");
    else if (db_changes(st->db) == 0)
        rc = ERR_NOTFOUND;
    else if (id != NULL)
        *id = db_last_insert_id(st->db);
    db_finalize(s);
    return rc;
}

#define TOKEN_COLS                                                                              \
    "t.id, t.user_id, u.name, coalesce(u.company_id, 0), u.role, t.name, t.scope, "            \
    "t.created_by, t.created, coalesce(t.expires, 0), coalesce(t.last_used, 0), "              \
    "coalesce(t.revoked, 0), u.disabled IS NOT NULL"

/* Fills t from a TOKEN_COLS row; returns the owner's disabled flag. */
static int token_row(struct db_stmt *s, struct store_apitoken *t)
{
    memset(t, 0, sizeof(*t));
    t->id = db_column_int64(s, 0);
    t->user_id = db_column_int64(s, 1);
    snprintf(t->user, sizeof(t->user), "%s", db_column_text(s, 2));
    t->company_id = db_column_int64(s, 3);
    t->role = user_role_parse(db_column_text(s, 4));
    snprintf(t->name, sizeof(t->name), "%s", db_column_text(s, 5));
    t->scope = apitoken_scope_parse(db_column_text(s, 6));
    snprintf(t->created_by, sizeof(t->created_by), "%s", db_column_text(s, 7));
    t->created = db_column_int64(s, 8);
    t->expires = db_column_int64(s, 9);
    t->last_used = db_column_int64(s, 10);
    t->revoked = db_column_int64(s, 11);
    return db_column_int(s, 12);
}

struct token_cb {
    int (*cb)(void *arg, const struct store_apitoken *t);
    void *arg;
};

static int token_list_row(struct db_stmt *s, void *ctx)
{
    struct token_cb *c = ctx;
    struct store_apitoken t;
    (void)token_row(s, &t);
    return c->cb(c->arg, &t);
}

int store_apitoken_list(struct store *st, int64_t user_id, int64_t company_id,
                        int (*cb)(void *arg, const struct store_apitoken *t), void *arg)
{
    struct db_stmt *s = NULL;
    int rc = prep(st,
                  "SELECT " TOKEN_COLS " FROM api_tokens t JOIN users u ON u.id = t.user_id "
                  "WHERE (?1=0 OR t.user_id=?1) AND (?2=0 OR u.company_id=?2) ORDER BY t.id",
                  &s, "token list");
    if (rc != 0)
        return rc;
    db_bind_int64(s, 1, user_id);
    db_bind_int64(s, 2, company_id);
    struct token_cb c = {cb, arg};
    return each_row(st, s, "token list", token_list_row, &c);
}

int store_apitoken_get(struct store *st, int64_t id, struct store_apitoken *t)
{
    struct db_stmt *s = NULL;
    int rc = prep(st,
                  "SELECT " TOKEN_COLS " FROM api_tokens t JOIN users u ON u.id = t.user_id "
                  "WHERE t.id=?",
                  &s, "token get");
    if (rc != 0)
        return rc;
    db_bind_int64(s, 1, id);
    int step = db_step(s);
    if (step == DB_ROW)
        (void)token_row(s, t);
    rc = step == DB_ROW ? 0 : step == DB_DONE ? ERR_NOTFOUND : store_set_err(st, step, "token get");
    db_finalize(s);
    return rc;
}

int store_apitoken_revoke(struct store *st, int64_t id, int64_t now)
{
    struct db_stmt *s = NULL;
    int rc = prep(st, "UPDATE api_tokens SET revoked=? WHERE id=? AND revoked IS NULL", &s,
                  "token revoke");
    if (rc != 0)
        return rc;
    db_bind_int64(s, 1, now);
    db_bind_int64(s, 2, id);
    int step = db_step(s);
    rc = step != DB_DONE              ? store_set_err(st, step, "token revoke")
         : db_changes(st->db) == 0 ? ERR_NOTFOUND
                                     : 0;
    db_finalize(s);
    return rc;
}

int store_apitoken_auth(struct store *st, const uint8_t hash[STORE_HASH_LEN], int64_t now,
                        int64_t touch_us, struct store_apitoken *t)
{
    struct db_stmt *s = NULL;
    int rc = prep(st,
                  "SELECT " TOKEN_COLS " FROM api_tokens t JOIN users u ON u.id = t.user_id "
                  "WHERE t.token_hash=?",
                  &s, "token auth");
    if (rc != 0)
        return rc;
    db_bind_blob(s, 1, hash, STORE_HASH_LEN, DB_TRANSIENT);
    int step = db_step(s), disabled = 0;
    if (step == DB_ROW)
        disabled = token_row(s, t);
    rc = step == DB_ROW ? 0 : step == DB_DONE ? ERR_NOTFOUND : store_set_err(st, step, "token auth");
    db_finalize(s);
    if (rc != 0)
        return rc;
    if (disabled || t->revoked != 0 || t->role < 0 || t->scope < 0)
        return ERR_NOTFOUND;
    if (t->expires != 0 && now >= t->expires)
        return STORE_EXPIRED;
    if (t->last_used != 0 && now - t->last_used < touch_us)
        return 0;
    if (prep(st, "UPDATE api_tokens SET last_used=?1 WHERE id=?2 AND "
                 "(last_used IS NULL OR last_used<?1)",
             &s, "token touch") == 0) {
        db_bind_int64(s, 1, now);
        db_bind_int64(s, 2, t->id);
        (void)db_step(s); /* best effort: busy only delays it */
        db_finalize(s);
        t->last_used = now;
    }
    return 0;
}

/* ---- companies and sensors ---- */

#define COMPANY_COLS "id, name, sector, devices, contacts, tz, lang, notify_severity, created"

static void company_row(struct db_stmt *s, struct store_company *c)
{
    memset(c, 0, sizeof(*c));
    c->id = db_column_int64(s, 0);
    snprintf(c->name, sizeof(c->name), "%s", db_column_text(s, 1));
    snprintf(c->sector, sizeof(c->sector), "%s", db_column_text(s, 2));
    c->devices = db_column_int64(s, 3);
    snprintf(c->contacts, sizeof(c->contacts), "%s", db_column_text(s, 4));
    snprintf(c->tz, sizeof(c->tz), "%s", db_column_text(s, 5));
    snprintf(c->lang, sizeof(c->lang), "%s", db_column_text(s, 6));
    c->notify_severity = db_column_int(s, 7);
    c->created = db_column_int64(s, 8);
}

int store_company_get(struct store *st, int64_t id, struct store_company *c)
{
    struct db_stmt *s = NULL;
    int rc = prep(st, "SELECT " COMPANY_COLS " FROM companies WHERE id=?", &s, "company get");
    if (rc != 0)
        return rc;
    db_bind_int64(s, 1, id);
    int step = db_step(s);
    if (step == DB_ROW)
        company_row(s, c);
    rc = step == DB_ROW    ? 0
         : step == DB_DONE ? ERR_NOTFOUND
                           : store_set_err(st, step, "company get");
    db_finalize(s);
    return rc;
}

struct company_cb {
    int (*cb)(void *arg, const struct store_company *c);
    void *arg;
};

static int company_each_row(struct db_stmt *s, void *ctx)
{
    struct company_cb *c = ctx;
    struct store_company co;
    company_row(s, &co);
    return c->cb(c->arg, &co);
}

int store_company_each(struct store *st, int64_t company_id,
                       int (*cb)(void *arg, const struct store_company *c), void *arg)
{
    struct db_stmt *s = NULL;
    int rc = prep(st, "SELECT " COMPANY_COLS " FROM companies WHERE ?1=0 OR id=?1 ORDER BY id",
                  &s, "company list");
    if (rc != 0)
        return rc;
    db_bind_int64(s, 1, company_id);
    struct company_cb c = {cb, arg};
    return each_row(st, s, "company list", company_each_row, &c);
}

int store_sensor_get(struct store *st, int64_t id, struct sensor_info *si)
{
    struct db_stmt *s = NULL;
    int rc = prep(st,
                  "SELECT id, company_id, name, enrolled IS NOT NULL, revoked IS NOT NULL "
                  "FROM sensors WHERE id=?",
                  &s, "sensor get");
    if (rc != 0)
        return rc;
    db_bind_int64(s, 1, id);
    int step = db_step(s);
    if (step == DB_ROW) {
        memset(si, 0, sizeof(*si));
        si->id = db_column_int64(s, 0);
        si->company_id = db_column_int64(s, 1);
        snprintf(si->name, sizeof(si->name), "%s", db_column_text(s, 2));
        si->enrolled = db_column_int(s, 3);
        si->revoked = db_column_int(s, 4);
    }
    rc = step == DB_ROW ? 0 : step == DB_DONE ? ERR_NOTFOUND : store_set_err(st, step, "sensor get");
    db_finalize(s);
    return rc;
}

/* ---- devices ---- */

struct device_cb {
    int (*cb)(void *arg, const struct store_device *d);
    void *arg;
};

static int device_row(struct db_stmt *s, void *ctx)
{
    struct device_cb *c = ctx;
    struct store_device d = {
        .id = db_column_int64(s, 0),
        .company_id = db_column_int64(s, 1),
        .sensor_id = db_column_int64(s, 2),
        .device_key = db_column_text(s, 3),
        .mac = db_column_text(s, 4),
        .ip = db_column_text(s, 5),
        .name = db_column_text(s, 6),
        .maker = db_column_text(s, 7),
        .kind = db_column_text(s, 8),
        .last_change = db_column_text(s, 9),
        .first_seen = db_column_int64(s, 10),
        .last_seen = db_column_int64(s, 11),
        .updated = db_column_int64(s, 12),
    };
    return c->cb(c->arg, &d);
}

int store_device_list(struct store *st, int64_t company_id, int64_t sensor_id, int64_t after_id,
                      int limit, int (*cb)(void *arg, const struct store_device *d), void *arg)
{
    struct db_stmt *s = NULL;
    int rc = prep(st,
                  "SELECT id, company_id, sensor_id, device_key, coalesce(mac, ''), "
                  "coalesce(ip, ''), coalesce(name, ''), coalesce(maker, ''), coalesce(kind, ''), "
                  "last_change, first_seen, last_seen, updated FROM devices "
                  "WHERE (?1=0 OR company_id=?1) AND (?2=0 OR sensor_id=?2) AND id>?3 "
                  "ORDER BY id LIMIT ?4",
                  &s, "device list");
    if (rc != 0)
        return rc;
    db_bind_int64(s, 1, company_id);
    db_bind_int64(s, 2, sensor_id);
    db_bind_int64(s, 3, after_id);
    db_bind_int(s, 4, limit);
    struct device_cb c = {cb, arg};
    return each_row(st, s, "device list", device_row, &c);
}

/* A string member of the asset object, or NULL (absent, null, empty, not a string). */
static const char *asset_str(json_t *asset, const char *key)
{
    const char *v = json_string_value(json_object_get(asset, key));
    return v != NULL && v[0] != '\0' ? v : NULL;
}

static void bind_opt_text(struct db_stmt *s, int i, const char *v)
{
    if (v != NULL)
        db_bind_text(s, i, v, -1, DB_TRANSIENT);
    else
        db_bind_null(s, i);
}

#define DEVICE_UPSERT_SQL                                                                      \
    "INSERT INTO devices(company_id, sensor_id, device_key, mac, ip, name, maker, "        \
    "kind, first_seen, last_seen, last_change, updated) "                                  \
    "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?9,?10,?11) "                                       \
    "ON CONFLICT (company_id, sensor_id, device_key) DO UPDATE SET "                       \
    "mac=CASE WHEN excluded.last_seen>=devices.last_seen "                                 \
    " THEN coalesce(excluded.mac, devices.mac) ELSE devices.mac END, "                     \
    "ip=CASE WHEN excluded.last_seen>=devices.last_seen "                                  \
    " THEN coalesce(excluded.ip, devices.ip) ELSE devices.ip END, "                        \
    "name=CASE WHEN excluded.last_seen>=devices.last_seen "                                \
    " THEN coalesce(excluded.name, devices.name) ELSE devices.name END, "                  \
    "maker=coalesce(excluded.maker, devices.maker), "                                      \
    "kind=CASE WHEN excluded.last_seen>=devices.last_seen "                                \
    " THEN coalesce(excluded.kind, devices.kind) ELSE devices.kind END, "                  \
    "last_change=CASE WHEN excluded.last_seen>=devices.last_seen "                         \
    " THEN excluded.last_change ELSE devices.last_change END, "                            \
    "first_seen=CASE WHEN excluded.first_seen<devices.first_seen "                         \
    " THEN excluded.first_seen ELSE devices.first_seen END, "                              \
    "last_seen=CASE WHEN excluded.last_seen>devices.last_seen "                            \
    " THEN excluded.last_seen ELSE devices.last_seen END, "                                \
    "updated=excluded.updated"

/* Upserts the device of one asset event (already parsed) with the batch's statement
 * (*s prepared on first use); 0 when the event names no device. */
static int device_upsert(struct store *st, struct db_stmt **s, const struct principal *who,
                         json_t *asset, int64_t ts, int64_t now)
{
    const char *mac = asset_str(asset, "mac"), *ip = asset_str(asset, "ip");
    char key[80];
    if ((mac == NULL || store_device_key(mac, key, sizeof(key)) != 0) &&
        (ip == NULL || store_device_key(ip, key, sizeof(key)) != 0))
        return 0;
    const char *change = asset_str(asset, "change");
    if (*s == NULL) {
        int rc = prep(st, DEVICE_UPSERT_SQL, s, "device upsert");
        if (rc != 0)
            return rc;
    } else {
        db_reset(*s);
        db_clear_bindings(*s);
    }
    struct db_stmt *u = *s;
    db_bind_int64(u, 1, who->company_id);
    db_bind_int64(u, 2, who->sensor_id);
    db_bind_text(u, 3, key, -1, DB_TRANSIENT);
    bind_opt_text(u, 4, mac);
    bind_opt_text(u, 5, ip);
    bind_opt_text(u, 6, asset_str(asset, "name"));
    bind_opt_text(u, 7, asset_str(asset, "maker"));
    bind_opt_text(u, 8, asset_str(asset, "kind"));
    db_bind_int64(u, 9, ts);
    db_bind_text(u, 10, change != NULL ? change : "new", -1, DB_TRANSIENT);
    db_bind_int64(u, 11, now);
    int step = db_step(u);
    return step == DB_DONE ? 0 : store_set_err(st, step, "device upsert");
}

int store_devices_on_batch(struct store *st, const struct principal *who,
                           const struct store_batch *b, int64_t now)
{
    int rc = 0;
    struct db_stmt *s = NULL; /* prepared at the batch's first asset event */
    for (size_t i = 0; rc == 0 && i < b->n_ev; i++) {
        const struct store_event *e = &b->ev[i];
        if (strcmp(e->event_type, "asset") != 0)
            continue;
        json_t *root = json_loadb(e->body, e->body_len, 0, NULL);
        json_t *asset = json_object_get(root, "asset");
        if (json_is_object(asset))
            rc = device_upsert(st, &s, who, asset, e->ts_us, now);
        json_decref(root);
    }
    if (s != NULL)
        db_finalize(s);
    return rc;
}
