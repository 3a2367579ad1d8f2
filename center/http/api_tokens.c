/*
 * A person's long-lived API tokens (docs/api.md "API tokens"), server.c having checked
 * the session (or token), the CSRF token and the role:
 *
 *   GET    /api/v1/tokens        one's own tokens (provider admin: ?user=ID, anyone's)
 *   POST   /api/v1/tokens        a new token, shown once (a login session only)
 *   DELETE /api/v1/tokens/{id}   revoke: one's own, or anyone's for a provider admin
 *
 * A token is "ota_" + 64 hex digits (256 random bits) kept only as its SHA-256 digest.
 * Its scope is "read" (GET only) or "full" (the owner's role, whatever it is at the
 * time of each request: never more than the owner's role). Every create and revoke
 * writes an audit row.
 */
#include "http/api_json.h"
#include "auth/token.h"
#include "store/people.h"
#include "store/tokens.h"

#include "otasuke/conf.h"
#include "otasuke/err.h"
#include "otasuke/timefmt.h"

#include <stdio.h>
#include <string.h>

#define TOKEN_TTL_MAX_US (3650LL * 86400 * 1000000) /* 10 years */

static void token_fields(struct jw *w, const struct store_apitoken *t)
{
    jw_i64(w, "id", t->id);
    jw_str(w, "name", t->name);
    jw_str(w, "scope", apitoken_scope_name(t->scope));
    jw_i64(w, "user_id", t->user_id);
    jw_str(w, "user", t->user);
    apij_company(w, t->company_id);
    jw_str(w, "created_by", t->created_by);
    apij_time(w, "created", t->created);
    apij_time(w, "expires", t->expires);
    apij_time(w, "last_used", t->last_used);
    apij_time(w, "revoked", t->revoked);
}

static int list_row(void *arg, const struct store_apitoken *t)
{
    struct jw *w = arg;
    jw_obj_open(w, NULL);
    token_fields(w, t);
    jw_obj_close(w);
    return w->bad ? 1 : 0;
}

static int is_provider_admin(const struct req *r)
{
    return r->who.role == ROLE_PROVIDER_ADMIN;
}

static int fill_tokens(struct store *st, struct jw *w, void *arg)
{
    return store_apitoken_list(st, *(const int64_t *)arg, 0, list_row, w);
}

static enum MHD_Result tokens_list(struct server *s, struct MHD_Connection *c, struct req *r)
{
    int64_t user = r->who.user_id;
    int got = apij_id_arg(c, "user", &user);
    if (got < 0)
        return send_error(c, 400, "user: expected a user id");
    if (got > 0 && user != r->who.user_id && !is_provider_admin(r))
        return send_error(c, 404, "no such user");
    return apij_send_list(s, c, "tokens", fill_tokens, &user, NULL);
}

struct token_req {
    const char *name;
    int scope;
    int64_t user_id;
    int64_t ttl_us; /* 0: never expires */
};

/* Validates a POST body: 0 or the status with *why. */
static unsigned token_body(const struct req *r, json_t *obj, struct token_req *t,
                           const char **why)
{
    static const char *const keys[] = {"name", "scope", "ttl", "user_id", NULL};
    *why = "expected {\"name\": TEXT, \"scope\": \"read\"|\"full\"[, \"ttl\": \"90d\"]"
           "[, \"user_id\": ID]}";
    json_t *uv = json_object_get(obj, "user_id"), *tv = json_object_get(obj, "ttl");
    if (obj == NULL || !apij_only(obj, keys) || json_object_get(obj, "name") == NULL ||
        apij_bad_text(obj, "name", APITOKEN_NAME_MAX - 1) ||
        (uv != NULL && (!json_is_integer(uv) || json_integer_value(uv) < 1)) ||
        (tv != NULL && !json_is_string(tv)))
        return 400;
    t->name = json_string_value(json_object_get(obj, "name"));
    t->scope = apitoken_scope_parse(json_string_value(json_object_get(obj, "scope")));
    if (t->scope < 0)
        return 400;
    uint64_t ttl = 0;
    *why = "ttl: a duration from 1m to 3650d, e.g. \"90d\"";
    if (tv != NULL && (conf_parse_duration(json_string_value(tv), &ttl) != 0 ||
                       ttl < 60000000ULL || ttl > (uint64_t)TOKEN_TTL_MAX_US))
        return 400;
    t->ttl_us = (int64_t)ttl;
    t->user_id = uv != NULL ? json_integer_value(uv) : r->who.user_id;
    *why = "only a provider admin creates tokens for another user";
    if (t->user_id != r->who.user_id && !is_provider_admin(r))
        return 403;
    return 0;
}

static enum MHD_Result token_created(struct MHD_Connection *c, const char *secret,
                                     const struct store_apitoken *t)
{
    struct jw w;
    if (jw_init(&w, 1024, 8192) != 0)
        return send_error(c, 503, "out of memory, retry later");
    jw_obj_open(&w, NULL);
    jw_str(&w, "token", secret);
    token_fields(&w, t);
    jw_obj_close(&w);
    return send_jw(c, 201, &w);
}

static enum MHD_Result tokens_add(struct server *s, struct MHD_Connection *c, struct req *r)
{
    json_t *obj = apij_body(r);
    struct token_req tr = {0};
    const char *why = NULL;
    unsigned code = token_body(r, obj, &tr, &why);
    if (code != 0) {
        json_decref(obj);
        return send_error(c, code, why);
    }
    char secret[TOKEN_MAX_LEN];
    uint8_t h[STORE_HASH_LEN];
    if (token_random(TOKEN_API_PREFIX, TOKEN_API_BYTES, secret, sizeof(secret)) != 0) {
        json_decref(obj);
        return send_error(c, 500, "no randomness");
    }
    token_hash(secret, strlen(secret), h);
    int64_t now = (int64_t)ts_now_us(), id = 0;
    struct store_user u;
    struct store_apitoken t;
    struct store *st = pool_get(&s->pool);
    int rc = store_user_get(st, NULL, tr.user_id, &u);
    if (rc == 0 && u.disabled)
        rc = ERR_EXISTS;
    if (rc == 0) {
        pthread_mutex_lock(&s->write_mu);
        rc = store_apitoken_add(st, tr.user_id, tr.name, tr.scope, h, r->who.name, now,
                                tr.ttl_us > 0 ? now + tr.ttl_us : 0, &id);
        pthread_mutex_unlock(&s->write_mu);
    }
    if (rc == 0)
        rc = store_apitoken_get(st, id, &t);
    enum MHD_Result ret = MHD_YES;
    if (rc == ERR_NOTFOUND)
        ret = send_error(c, 404, "no such user");
    else if (rc == ERR_EXISTS)
        ret = send_error(c, 409, "the user is disabled");
    else if (rc != 0)
        ret = send_store_error(s, c, rc, st);
    pool_put(&s->pool, st);
    json_decref(obj);
    if (rc != 0)
        return ret;
    char target[48], detail[400], exp[TS_RFC3339_LEN] = "never";
    if (t.expires > 0)
        ts_format(exp, sizeof(exp), (uint64_t)t.expires, 0);
    snprintf(target, sizeof(target), "token:%lld", (long long)id);
    snprintf(detail, sizeof(detail), "user=%s scope=%s expires=%s name=%s", t.user,
             apitoken_scope_name(t.scope), exp, t.name);
    audit_write(s, r, t.company_id, "token_create", target, detail);
    ret = token_created(c, secret, &t);
    memset(secret, 0, sizeof(secret));
    return ret;
}

static enum MHD_Result token_revoke(struct server *s, struct MHD_Connection *c, struct req *r)
{
    struct store_apitoken t;
    struct store *st = pool_get(&s->pool);
    int rc = store_apitoken_get(st, r->id, &t);
    if (rc == 0 && t.user_id != r->who.user_id && !is_provider_admin(r))
        rc = ERR_NOTFOUND; /* another person's token: as if it did not exist */
    if (rc == 0) {
        pthread_mutex_lock(&s->write_mu);
        rc = store_apitoken_revoke(st, t.id, (int64_t)ts_now_us());
        pthread_mutex_unlock(&s->write_mu);
        if (rc == ERR_NOTFOUND)
            rc = ERR_EXISTS;
    }
    enum MHD_Result ret = MHD_YES;
    if (rc == ERR_NOTFOUND)
        ret = send_error(c, 404, "no such token");
    else if (rc == ERR_EXISTS)
        ret = send_error(c, 409, "the token was revoked before");
    else if (rc != 0)
        ret = send_store_error(s, c, rc, st);
    pool_put(&s->pool, st);
    if (rc != 0)
        return ret;
    char target[48], detail[320];
    snprintf(target, sizeof(target), "token:%lld", (long long)t.id);
    snprintf(detail, sizeof(detail), "user=%s name=%s", t.user, t.name);
    audit_write(s, r, t.company_id, "token_revoke", target, detail);
    char body[64];
    int n = snprintf(body, sizeof(body), "{\"revoked\":%lld}", (long long)t.id);
    return send_buf(c, 200, body, (size_t)n, 0);
}

enum MHD_Result handle_tokens(struct server *s, struct MHD_Connection *c, struct req *r)
{
    switch (r->route) {
    case R_TOKENS_LIST:
        return tokens_list(s, c, r);
    case R_TOKENS_ADD:
        return tokens_add(s, c, r);
    case R_TOKEN_REVOKE:
        return token_revoke(s, c, r);
    default:
        return send_error(c, 500, "unexpected route");
    }
}
