/*
 * The people endpoints of docs/api.md (server.c has routed the request, checked the
 * session, the CSRF token and the role, and bounded the body):
 *
 *   POST  /api/v1/login          name + password -> session (cookie, or bearer token)
 *   POST  /api/v1/logout         ends the session
 *   GET   /api/v1/session        who am I, and the CSRF token
 *   POST  /api/v1/password       change one's own password (ends every session)
 *   GET   /api/v1/users[/{id}]   people of a tenant (tenant admin) or all (provider admin)
 *   POST  /api/v1/users          add a person
 *   PATCH /api/v1/users/{id}     role, disabled, password
 *   GET   /api/v1/audit          the audit log
 *
 * Logins are throttled per account name and per source address (auth/throttle.h):
 * a throttled attempt is answered 429 before any password is hashed. A login with an
 * unknown name costs one Argon2id verification like a wrong password, and both get
 * the same answer. Every login, failure, lockout, logout and change writes one audit
 * row.
 */
#include "http/server_int.h"
#include "http/api_json.h"
#include "auth/password.h"
#include "auth/throttle.h"
#include "auth/token.h"
#include "store/people.h"

#include "otasuke/err.h"
#include "otasuke/timefmt.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AUDIT_MAX_LIMIT 1000
#define AUDIT_DEFAULT_LIMIT 100

/* ---- answers ---- */

/* Sends w (like send_jw) with a Set-Cookie header (NULL: none). Frees w. */
static enum MHD_Result send_jw_cookie(struct MHD_Connection *c, unsigned status, struct jw *w,
                                      const char *cookie)
{
    if (!jw_ok(w)) {
        jw_free(w);
        return send_error(c, 500, "response too large");
    }
    struct MHD_Response *r =
        MHD_create_response_from_buffer(w->len, w->buf, MHD_RESPMEM_MUST_COPY);
    jw_free(w);
    if (r == NULL)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", "application/json");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Cache-Control", "no-store");
    if (cookie != NULL)
        MHD_add_response_header(r, "Set-Cookie", cookie);
    req_note_status(status);
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

static void time_field(struct jw *w, const char *key, int64_t us)
{
    char t[TS_RFC3339_LEN];
    ts_format(t, sizeof(t), (uint64_t)us, 0);
    jw_str(w, key, t);
}

static void company_field(struct jw *w, int64_t company_id)
{
    if (company_id > 0)
        jw_i64(w, "company_id", company_id);
    else
        jw_null(w, "company_id");
}

static void user_fields_at(struct jw *w, const struct store_user *u, int64_t last_login)
{
    jw_i64(w, "id", u->id);
    jw_str(w, "name", u->name);
    jw_str(w, "role", user_role_name(u->role));
    company_field(w, u->company_id);
    jw_bool(w, "disabled", u->disabled);
    time_field(w, "created", u->created);
    time_field(w, "password_changed", u->pw_changed);
    if (last_login > 0)
        time_field(w, "last_login", last_login);
    else
        jw_null(w, "last_login");
}

static void user_fields(struct jw *w, const struct store_user *u)
{
    user_fields_at(w, u, u->last_login);
}

/* ---- request bodies ---- */

/* A string member (NULL when absent or not a string without NUL bytes); *n its length. */
static const char *str_member(json_t *obj, const char *key, size_t *n)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_string(v))
        return NULL;
    *n = json_string_length(v);
    const char *s = json_string_value(v);
    return strlen(s) == *n ? s : NULL;
}

/* User names: 1..128 of [A-Za-z0-9._@+-] (a mail address fits). */
static int user_name_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n >= USER_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '_' || ch == '@' || ch == '+' || ch == '-'))
            return 0;
    }
    return 1;
}

/* ---- login ---- */

static void session_cookie(char *out, size_t n, const char *token, int64_t max_age_s)
{
    snprintf(out, n, "%s=%s; Path=/; Max-Age=%lld; Secure; HttpOnly; SameSite=Strict",
             SESSION_COOKIE, token, (long long)max_age_s);
}

/* 1 when the account or the address is throttled: the 429 is queued in *res. */
static int login_throttled(struct server *s, struct MHD_Connection *c, struct req *r,
                           const char *ukey, enum MHD_Result *res)
{
    int64_t now = (int64_t)ts_now_us(), retry = 0;
    int first = 0;
    const char *which = NULL;
    if (throttle_check(s->thr_user, ukey, now, &retry, &first))
        which = "account";
    else if (throttle_check(s->thr_addr, r->addr, now, &retry, &first))
        which = "address";
    if (which == NULL)
        return 0;
    if (first) {
        char target[USER_NAME_MAX + 16], detail[64];
        if (r->who.kind != PRINCIPAL_PERSON) {
            r->who.kind = PRINCIPAL_PERSON;
            snprintf(r->who.name, sizeof(r->who.name), "%s", ukey + 2);
        }
        snprintf(target, sizeof(target), "user:%s", ukey + 2);
        snprintf(detail, sizeof(detail), "too many failures per %s", which);
        audit_write(s, r, 0, "login_throttled", target, detail);
    }
    unsigned secs = (unsigned)(retry / 1000000 + 1);
    char buf[160];
    int len = snprintf(buf, sizeof(buf),
                       "{\"error\":\"too many failed logins for this %s: retry later\"}", which);
    *res = send_buf(c, 429, buf, (size_t)len, secs);
    return 1;
}

/* The user and whether the password matches (constant work when the name is unknown
 * or the user disabled). */
static int login_check(struct server *s, const char *name, const char *pw, size_t pwlen,
                       struct store_user *u)
{
    struct store *st = pool_get(&s->pool);
    int rc = store_user_get(st, name, 0, u);
    pool_put(&s->pool, st);
    if (rc == ERR_NOTFOUND || (rc == 0 && u->disabled)) {
        pw_verify_dummy(pw, pwlen);
        return ERR_NOTFOUND;
    }
    if (rc != 0)
        return rc;
    return pw_verify(u->pw_hash, pw, pwlen);
}

static enum MHD_Result login_ok(struct server *s, struct MHD_Connection *c, struct req *r,
                                const struct store_user *u, int bearer)
{
    char token[TOKEN_MAX_LEN], csrf[TOKEN_MAX_LEN];
    if (token_random(SESSION_PREFIX, SESSION_BYTES, token, sizeof(token)) != 0 ||
        token_random("", PRINCIPAL_CSRF_LEN / 2, csrf, sizeof(csrf)) != 0)
        return send_error(c, 500, "no randomness");
    uint8_t th[STORE_HASH_LEN], oh[STORE_HASH_LEN];
    token_hash(token, strlen(token), th);
    const char *old = MHD_lookup_connection_value(c, MHD_COOKIE_KIND, SESSION_COOKIE);
    int have_old = old != NULL && token_shape_ok(old, strlen(old), SESSION_PREFIX, SESSION_BYTES);
    if (have_old)
        token_hash(old, strlen(old), oh);
    const struct auth_conf *a = &s->conf.auth;
    int64_t now = (int64_t)ts_now_us(), sid = 0;
    struct store *st = pool_get(&s->pool);
    pthread_mutex_lock(&s->write_mu);
    int rc = store_session_add(st, u->id, th, csrf, r->addr, have_old ? oh : NULL, now,
                               a->session_idle_us, a->session_max_us, &sid);
    pthread_mutex_unlock(&s->write_mu);
    if (rc != 0) {
        enum MHD_Result ret = send_store_error(s, c, rc, st);
        pool_put(&s->pool, st);
        return ret;
    }
    pool_put(&s->pool, st);
    r->who = (struct principal){.kind = PRINCIPAL_PERSON,
                                .company_id = u->company_id,
                                .user_id = u->id,
                                .session_id = sid,
                                .role = u->role};
    snprintf(r->who.name, sizeof(r->who.name), "%s", u->name);
    char target[USER_NAME_MAX + 8];
    snprintf(target, sizeof(target), "user:%s", u->name);
    audit_write(s, r, u->company_id, "login", target, bearer ? "bearer" : "cookie");
    log_notice("http", "login user=%s addr=%s", u->name, r->addr);
    struct jw w;
    if (jw_init(&w, 1024, 8192) != 0)
        return MHD_NO;
    jw_obj_open(&w, NULL);
    jw_obj_open(&w, "user");
    user_fields_at(&w, u, now);
    jw_obj_close(&w);
    jw_str(&w, "csrf_token", csrf);
    if (bearer)
        jw_str(&w, "token", token);
    jw_i64(&w, "idle_timeout", a->session_idle_us / 1000000);
    time_field(&w, "expires", now + a->session_max_us);
    jw_obj_close(&w);
    char cookie[256];
    session_cookie(cookie, sizeof(cookie), token, a->session_max_us / 1000000);
    return send_jw_cookie(c, 200, &w, bearer ? NULL : cookie);
}

static enum MHD_Result login(struct server *s, struct MHD_Connection *c, struct req *r)
{
    static const char *const keys[] = {"name", "password", "bearer", NULL};
    json_t *obj = apij_body(r);
    size_t nlen = 0, pwlen = 0;
    const char *name = obj ? str_member(obj, "name", &nlen) : NULL;
    const char *pw = obj ? str_member(obj, "password", &pwlen) : NULL;
    json_t *bearer = obj ? json_object_get(obj, "bearer") : NULL;
    if (name == NULL || pw == NULL || !user_name_ok(name) || pwlen > PW_MAX_LEN ||
        (bearer != NULL && !json_is_boolean(bearer)) || !apij_only(obj, keys)) {
        json_decref(obj);
        return send_error(c, 400, "expected {\"name\": \"...\", \"password\": \"...\"} "
                                  "(and \"bearer\": true for a token instead of a cookie)");
    }
    char ukey[USER_NAME_MAX + 4];
    snprintf(ukey, sizeof(ukey), "u:%s", name);
    enum MHD_Result res = MHD_YES;
    if (login_throttled(s, c, r, ukey, &res)) {
        json_decref(obj);
        return res;
    }
    struct store_user u;
    int rc = login_check(s, name, pw, pwlen, &u);
    int want_bearer = json_is_true(bearer);
    if (rc == 0) {
        throttle_reset(s->thr_user, ukey);
        json_decref(obj);
        return login_ok(s, c, r, &u, want_bearer);
    }
    if (rc != ERR_NOTFOUND) {
        json_decref(obj);
        return send_error(c, 503, "store busy, retry later");
    }
    int64_t now = (int64_t)ts_now_us();
    throttle_fail(s->thr_user, ukey, now);
    throttle_fail(s->thr_addr, r->addr, now);
    r->who.kind = PRINCIPAL_PERSON;
    snprintf(r->who.name, sizeof(r->who.name), "%s", name);
    char target[USER_NAME_MAX + 8];
    snprintf(target, sizeof(target), "user:%s", name);
    audit_write(s, r, 0, "login_failed", target, "");
    json_decref(obj);
    return send_error(c, 401, "wrong name or password");
}

/* ---- logout, session, password ---- */

static enum MHD_Result clear_cookie_reply(struct MHD_Connection *c, const char *key, int64_t v)
{
    struct jw w;
    if (jw_init(&w, 128, 1024) != 0)
        return MHD_NO;
    jw_obj_open(&w, NULL);
    jw_bool(&w, key, 1);
    if (v >= 0)
        jw_i64(&w, "sessions_ended", v);
    jw_obj_close(&w);
    char cookie[160];
    snprintf(cookie, sizeof(cookie),
             "%s=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Strict", SESSION_COOKIE);
    return send_jw_cookie(c, 200, &w, cookie);
}

static enum MHD_Result logout(struct server *s, struct MHD_Connection *c, struct req *r)
{
    struct store *st = pool_get(&s->pool);
    pthread_mutex_lock(&s->write_mu);
    int rc = store_session_delete(st, r->who.session_id);
    pthread_mutex_unlock(&s->write_mu);
    if (rc != 0 && rc != ERR_NOTFOUND) {
        enum MHD_Result ret = send_store_error(s, c, rc, st);
        pool_put(&s->pool, st);
        return ret;
    }
    pool_put(&s->pool, st);
    char target[USER_NAME_MAX + 8];
    snprintf(target, sizeof(target), "user:%s", r->who.name);
    audit_write(s, r, r->who.company_id, "logout", target, "");
    return clear_cookie_reply(c, "logged_out", -1);
}

static enum MHD_Result session_get(struct server *s, struct MHD_Connection *c, struct req *r)
{
    struct store_user u;
    struct store *st = pool_get(&s->pool);
    int rc = store_user_get(st, NULL, r->who.user_id, &u);
    enum MHD_Result ret;
    if (rc != 0) {
        ret = send_store_error(s, c, rc, st);
        pool_put(&s->pool, st);
        return ret;
    }
    pool_put(&s->pool, st);
    struct jw w;
    if (jw_init(&w, 1024, 8192) != 0)
        return MHD_NO;
    jw_obj_open(&w, NULL);
    jw_obj_open(&w, "user");
    user_fields(&w, &u);
    jw_obj_close(&w);
    jw_str(&w, "csrf_token", r->who.csrf);
    jw_bool(&w, "cookie", r->who.by_cookie);
    jw_i64(&w, "idle_timeout", s->conf.auth.session_idle_us / 1000000);
    jw_obj_close(&w);
    return send_jw(c, 200, &w);
}

/* Hashes pw for user `name` after the policy check: 0, or the status with *why. */
static unsigned new_hash(struct server *s, const char *pw, size_t n, const char *name,
                         char *out, size_t outlen, const char **why)
{
    *why = pw_policy(pw, n, name);
    if (*why != NULL)
        return 400;
    *why = "cannot hash the password";
    return pw_hash(&s->conf.auth.pw, pw, n, out, outlen) == 0 ? 0 : 500;
}

static enum MHD_Result password(struct server *s, struct MHD_Connection *c, struct req *r)
{
    static const char *const keys[] = {"current", "new", NULL};
    json_t *obj = apij_body(r);
    size_t cl = 0, nl = 0;
    const char *cur = obj ? str_member(obj, "current", &cl) : NULL;
    const char *neu = obj ? str_member(obj, "new", &nl) : NULL;
    if (cur == NULL || neu == NULL || !apij_only(obj, keys)) {
        json_decref(obj);
        return send_error(c, 400, "expected {\"current\": \"...\", \"new\": \"...\"}");
    }
    char ukey[USER_NAME_MAX + 4], target[USER_NAME_MAX + 8];
    snprintf(ukey, sizeof(ukey), "u:%s", r->who.name);
    snprintf(target, sizeof(target), "user:%s", r->who.name);
    enum MHD_Result res = MHD_YES;
    struct store_user u;
    char hash[PW_HASH_MAX];
    const char *why = NULL;
    unsigned st_code = 0;
    if (login_throttled(s, c, r, ukey, &res)) {
        json_decref(obj);
        return res;
    }
    if (login_check(s, r->who.name, cur, cl, &u) != 0) {
        throttle_fail(s->thr_user, ukey, (int64_t)ts_now_us());
        audit_write(s, r, r->who.company_id, "password_failed", target, "");
        json_decref(obj);
        return send_error(c, 403, "the current password is wrong");
    }
    st_code = new_hash(s, neu, nl, r->who.name, hash, sizeof(hash), &why);
    json_decref(obj);
    if (st_code != 0)
        return send_error(c, st_code, why);
    int ended = 0;
    struct store *st = pool_get(&s->pool);
    pthread_mutex_lock(&s->write_mu);
    int rc = store_user_update(st, r->who.user_id, -1, -1, hash, (int64_t)ts_now_us(), &ended);
    pthread_mutex_unlock(&s->write_mu);
    if (rc != 0) {
        res = send_store_error(s, c, rc, st);
        pool_put(&s->pool, st);
        return res;
    }
    pool_put(&s->pool, st);
    audit_write(s, r, r->who.company_id, "password_change", target, "own password");
    return clear_cookie_reply(c, "changed", ended);
}

/* ---- users ---- */

static int users_row(void *arg, const struct store_user *u)
{
    struct jw *w = arg;
    jw_obj_open(w, NULL);
    user_fields(w, u);
    jw_obj_close(w);
    return w->len > RESPONSE_SOFT_MAX;
}

static int users_fill(struct store *st, struct jw *w, void *arg)
{
    return store_user_list(st, *(const int64_t *)arg, users_row, w);
}

static enum MHD_Result users_list(struct server *s, struct MHD_Connection *c, struct req *r)
{
    int64_t company = 0;
    const char *why = NULL;
    unsigned bad = req_scope(c, r, 0, &company, &why);
    if (bad != 0)
        return send_error(c, bad, why);
    return apij_send_list(s, c, "users", users_fill, &company, NULL);
}

/* The user {id} as the caller may see it: 0, or ERR_NOTFOUND (also another tenant's). */
static int user_visible(struct server *s, const struct req *r, int64_t id, struct store_user *u)
{
    struct store *st = pool_get(&s->pool);
    int rc = store_user_get(st, NULL, id, u);
    pool_put(&s->pool, st);
    if (rc == 0 && r->who.company_id != 0 && u->company_id != r->who.company_id)
        rc = ERR_NOTFOUND;
    return rc;
}

static enum MHD_Result user_reply(struct server *s, struct MHD_Connection *c, struct req *r,
                                  int64_t id, unsigned status)
{
    struct store_user u;
    int rc = user_visible(s, r, id, &u);
    if (rc == ERR_NOTFOUND)
        return send_error(c, 404, "no such user");
    if (rc != 0)
        return send_error(c, 503, "store busy, retry later");
    struct jw w;
    if (jw_init(&w, 1024, 8192) != 0)
        return MHD_NO;
    jw_obj_open(&w, NULL);
    user_fields(&w, &u);
    jw_obj_close(&w);
    return send_jw(c, status, &w);
}

/* The company a new user of `role` belongs to: 0 or the status with *why. */
static unsigned add_company(struct server *s, const struct req *r, json_t *obj, int role,
                            int64_t *company, const char **why)
{
    json_t *cv = json_object_get(obj, "company_id");
    int64_t want = json_is_integer(cv) ? json_integer_value(cv) : 0;
    *why = "company_id: expected a company id";
    if (cv != NULL && (!json_is_integer(cv) || want < 1))
        return 400;
    if (r->who.company_id != 0) { /* tenant admin: own tenant, tenant roles */
        *why = "tenant admins add tenant_admin or tenant_viewer users of their company";
        if (user_role_provider(role))
            return 403;
        *why = "no such company";
        if (want != 0 && want != r->who.company_id)
            return 404;
        *company = r->who.company_id;
        return 0;
    }
    *why = user_role_provider(role) ? "provider staff belong to no company (no company_id)"
                                    : "company_id: required for tenant roles";
    if (user_role_provider(role) != (want == 0))
        return 400;
    *company = want;
    if (want == 0)
        return 0;
    struct store *st = pool_get(&s->pool);
    int ex = store_company_exists(st, want);
    pool_put(&s->pool, st);
    *why = ex < 0 ? "store busy, retry later" : "no such company";
    return ex == 1 ? 0 : ex == 0 ? 404 : 503;
}

static enum MHD_Result users_add(struct server *s, struct MHD_Connection *c, struct req *r)
{
    static const char *const keys[] = {"name", "role", "password", "company_id", NULL};
    json_t *obj = apij_body(r);
    size_t nl = 0, rl = 0, pl = 0;
    const char *name = obj ? str_member(obj, "name", &nl) : NULL;
    const char *role_s = obj ? str_member(obj, "role", &rl) : NULL;
    const char *pw = obj ? str_member(obj, "password", &pl) : NULL;
    int role = user_role_parse(role_s);
    const char *why = "expected {\"name\", \"role\", \"password\"[, \"company_id\"]}: name "
                      "[A-Za-z0-9._@+-]{1,127}, role provider_admin, provider_analyst, "
                      "tenant_admin or tenant_viewer";
    unsigned code = 400;
    int64_t company = 0, id = 0;
    char hash[PW_HASH_MAX];
    if (name != NULL && user_name_ok(name) && role >= 0 && pw != NULL && apij_only(obj, keys))
        code = add_company(s, r, obj, role, &company, &why);
    if (code == 0)
        code = new_hash(s, pw, pl, name, hash, sizeof(hash), &why);
    if (code != 0) {
        json_decref(obj);
        return send_error(c, code, why);
    }
    struct store *st = pool_get(&s->pool);
    pthread_mutex_lock(&s->write_mu);
    int rc = store_user_add(st, company, name, role, hash, (int64_t)ts_now_us(), &id);
    pthread_mutex_unlock(&s->write_mu);
    enum MHD_Result ret = MHD_YES;
    if (rc == ERR_EXISTS)
        ret = send_error(c, 409, "a user of this name exists");
    else if (rc != 0)
        ret = send_store_error(s, c, rc, st);
    pool_put(&s->pool, st);
    if (rc == 0) {
        char target[USER_NAME_MAX + 8];
        snprintf(target, sizeof(target), "user:%s", name);
        audit_write(s, r, company, "user_add", target, user_role_name(role));
        ret = user_reply(s, c, r, id, 201);
    }
    json_decref(obj);
    return ret;
}

/* Validates a PATCH body into role/disabled/password: 0 or the status with *why. */
static unsigned update_fields(struct server *s, const struct req *r, json_t *obj,
                              const struct store_user *u, int *role, int *disabled, char *hash,
                              size_t hlen, int *have_hash, const char **why)
{
    static const char *const keys[] = {"role", "disabled", "password", NULL};
    json_t *rv = json_object_get(obj, "role"), *dv = json_object_get(obj, "disabled");
    size_t pl = 0;
    const char *pw = str_member(obj, "password", &pl);
    *why = "expected role, disabled (true/false) and/or password";
    if (!apij_only(obj, keys) || json_object_size(obj) == 0 ||
        (rv != NULL && user_role_parse(json_string_value(rv)) < 0) ||
        (dv != NULL && !json_is_boolean(dv)) ||
        (json_object_get(obj, "password") != NULL && pw == NULL))
        return 400;
    *role = rv != NULL ? user_role_parse(json_string_value(rv)) : -1;
    *disabled = dv != NULL ? json_is_true(dv) : -1;
    *why = "the role must fit the user: provider roles for provider staff, tenant roles for "
           "a company's users";
    if (*role >= 0 && user_role_provider(*role) != (u->company_id == 0))
        return 400;
    *why = "change your own role or disable yourself through another admin";
    if (u->id == r->who.user_id && (*role >= 0 || *disabled == 1))
        return 409;
    *have_hash = pw != NULL;
    return pw != NULL ? new_hash(s, pw, pl, u->name, hash, hlen, why) : 0;
}

static enum MHD_Result user_update(struct server *s, struct MHD_Connection *c, struct req *r)
{
    struct store_user u;
    int rc = user_visible(s, r, r->id, &u);
    if (rc != 0)
        return rc == ERR_NOTFOUND ? send_error(c, 404, "no such user")
                                  : send_error(c, 503, "store busy, retry later");
    json_t *obj = apij_body(r);
    int role = -1, disabled = -1, have_hash = 0, ended = 0;
    char hash[PW_HASH_MAX];
    const char *why = "expected a JSON object";
    unsigned code = obj == NULL ? 400
                                : update_fields(s, r, obj, &u, &role, &disabled, hash,
                                                sizeof(hash), &have_hash, &why);
    json_decref(obj);
    if (code != 0)
        return send_error(c, code, why);
    struct store *st = pool_get(&s->pool);
    pthread_mutex_lock(&s->write_mu);
    rc = store_user_update(st, u.id, role, disabled, have_hash ? hash : NULL,
                           (int64_t)ts_now_us(), &ended);
    pthread_mutex_unlock(&s->write_mu);
    if (rc != 0) {
        enum MHD_Result ret = send_store_error(s, c, rc, st);
        pool_put(&s->pool, st);
        return ret;
    }
    pool_put(&s->pool, st);
    char target[USER_NAME_MAX + 8], detail[160];
    snprintf(target, sizeof(target), "user:%s", u.name);
    snprintf(detail, sizeof(detail), "%s%s%s%s%s", role >= 0 ? "role=" : "",
             role >= 0 ? user_role_name(role) : "",
             disabled == 1 ? " disabled" : disabled == 0 ? " enabled" : "",
             have_hash ? " password" : "", ended > 0 ? " sessions_ended" : "");
    audit_write(s, r, u.company_id, "user_change", target, detail);
    return user_reply(s, c, r, u.id, 200);
}

/* ---- audit ---- */

static int audit_row(void *arg, const struct store_audit *a)
{
    struct jw *w = arg;
    jw_obj_open(w, NULL);
    jw_i64(w, "id", a->id);
    time_field(w, "at", a->at);
    jw_str(w, "actor", a->actor);
    company_field(w, a->company_id);
    jw_str(w, "action", a->action);
    jw_str(w, "target", a->target);
    jw_str(w, "addr", a->addr);
    jw_str(w, "detail", a->detail);
    jw_obj_close(w);
    return 0;
}

static enum MHD_Result audit_list(struct server *s, struct MHD_Connection *c, struct req *r)
{
    int64_t company = 0, after = 0;
    const char *why = NULL;
    unsigned bad = req_scope(c, r, 0, &company, &why);
    if (bad != 0)
        return send_error(c, bad, why);
    const char *av = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "after");
    const char *lv = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "limit");
    long long limit = AUDIT_DEFAULT_LIMIT;
    char *end = NULL;
    if (av != NULL && ((after = strtoll(av, &end, 10)) < 0 || *av == '\0' || *end != '\0'))
        return send_error(c, 400, "after: expected an audit row id");
    if (lv != NULL && ((limit = strtoll(lv, &end, 10)) < 1 || limit > AUDIT_MAX_LIMIT ||
                       *lv == '\0' || *end != '\0'))
        return send_error(c, 400, "limit: expected 1..1000");
    struct jw w;
    if (jw_init(&w, 4096, RESPONSE_MAX) != 0)
        return send_error(c, 503, "out of memory, retry later");
    jw_obj_open(&w, NULL);
    jw_arr_open(&w, "audit");
    struct store *st = pool_get(&s->pool);
    int rc = store_audit_list(st, company, after, (int)limit, audit_row, &w);
    enum MHD_Result ret;
    if (rc != 0) {
        jw_free(&w);
        ret = send_store_error(s, c, rc, st);
    } else {
        jw_arr_close(&w);
        jw_obj_close(&w);
        ret = send_jw(c, 200, &w);
    }
    pool_put(&s->pool, st);
    return ret;
}

enum MHD_Result handle_people(struct server *s, struct MHD_Connection *c, struct req *r)
{
    switch (r->route) {
    case R_LOGIN:
        return login(s, c, r);
    case R_LOGOUT:
        return logout(s, c, r);
    case R_SESSION:
        return session_get(s, c, r);
    case R_PASSWORD:
        return password(s, c, r);
    case R_USERS_LIST:
        return users_list(s, c, r);
    case R_USERS_ADD:
        return users_add(s, c, r);
    case R_USER_GET:
        return user_reply(s, c, r, r->id, 200);
    case R_USER_UPDATE:
        return user_update(s, c, r);
    case R_AUDIT:
        return audit_list(s, c, r);
    default:
        return send_error(c, 500, "unexpected route");
    }
}
