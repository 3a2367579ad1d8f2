/*
 * The HTTP server (server.h). libmicrohttpd calls handle() several times per
 * request: first with the headers (we route, authenticate and check the declared
 * size, and may answer at once), then with each piece of the body (appended to a
 * bounded buffer), then once more with no data (we process and answer).
 *
 * Invariants: a request's body is never read before its route's checks passed; an
 * ingest answer of 200 is sent only after the batch committed; a store connection is
 * held only while one request is processed, and always returned to the pool.
 *
 * Who may call what (docs/api.md): ingest takes only device tokens; enroll, login and
 * /healthz take no credential; every other endpoint takes only a person's session —
 * the __Host- cookie (then a state-changing method must also carry the session's CSRF
 * token in X-CSRF-Token, and an Origin header, when sent, must name this host) or
 * `Authorization: Bearer ots_…` — or a person's API token `Authorization: Bearer ota_…`
 * (no CSRF: no cookie; a read-only token only GETs). The role is checked here, before the body is read;
 * the tenant scope in the handlers (req_scope, and company 0 = any for provider staff).
 */
#include "http/server.h"
#include "http/server_int.h"
#include "auth/password.h"
#include "auth/throttle.h"
#include "auth/token.h"
#include "ingest/ingest.h"
#include "store/people.h"
#include "store/tokens.h"

#include "otasuke/alloc.h"
#include "otasuke/err.h"
#include "otasuke/jw.h"
#include "otasuke/log.h"
#include "otasuke/timefmt.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- store pool ---- */

struct store *pool_get(struct pool *p)
{
    pthread_mutex_lock(&p->mu);
    while (p->n_free == 0)
        pthread_cond_wait(&p->cv, &p->mu);
    struct store *st = p->free[--p->n_free];
    pthread_mutex_unlock(&p->mu);
    return st;
}

void pool_put(struct pool *p, struct store *st)
{
    pthread_mutex_lock(&p->mu);
    p->free[p->n_free++] = st;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

static int pool_open(struct pool *p, const struct server_conf *c, char *err, size_t errlen)
{
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    p->inited = 1;
    p->all = xcalloc(MEM_CORE, c->threads, sizeof(struct store *));
    p->free = xcalloc(MEM_CORE, c->threads, sizeof(struct store *));
    if (p->all == NULL || p->free == NULL) {
        snprintf(err, errlen, "out of memory");
        return ERR_NOMEM;
    }
    for (unsigned i = 0; i < c->threads; i++) {
        p->all[i] = store_open_sqlite(c->db_path, &c->store, err, errlen);
        if (p->all[i] == NULL)
            return ERR_IO;
        p->n++;
        p->free[p->n_free++] = p->all[i];
    }
    return 0;
}

static void pool_close(struct pool *p)
{
    if (!p->inited)
        return;
    for (unsigned i = 0; i < p->n; i++)
        store_close(p->all[i]);
    xfree(p->all);
    xfree(p->free);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
}

/* ---- responses ---- */

/* The request this server thread is handling (MHD's internal thread pool runs each
 * connection's callbacks on one thread at a time), so that the response helpers can
 * record its status without a parameter. */
static __thread struct req *cur_req;

void req_note_status(unsigned status)
{
    if (cur_req != NULL)
        cur_req->status = status;
}

enum MHD_Result send_buf(struct MHD_Connection *c, unsigned status, const char *buf,
                                size_t len, unsigned retry_after)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)(uintptr_t)buf, MHD_RESPMEM_MUST_COPY);
    if (r == NULL)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", "application/json");
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Cache-Control", "no-store");
    if (retry_after > 0) {
        char ra[16];
        snprintf(ra, sizeof(ra), "%u", retry_after);
        MHD_add_response_header(r, "Retry-After", ra);
    }
    req_note_status(status);
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

/* {"error": msg} with status. */
enum MHD_Result send_error(struct MHD_Connection *c, unsigned status, const char *msg)
{
    struct jw w;
    if (jw_init(&w, 256, 4096) != 0)
        return MHD_NO;
    jw_obj_open(&w, NULL);
    jw_str(&w, "error", msg);
    jw_obj_close(&w);
    enum MHD_Result r = jw_ok(&w) ? send_buf(c, status, w.buf, w.len, status == 503 ? 1 : 0)
                                  : MHD_NO;
    jw_free(&w);
    return r;
}

enum MHD_Result send_jw(struct MHD_Connection *c, unsigned status, struct jw *w)
{
    enum MHD_Result r = jw_ok(w) ? send_buf(c, status, w->buf, w->len, 0)
                                 : send_error(c, 500, "response too large");
    jw_free(w);
    return r;
}

/* Maps a store failure to its answer: busy → 503 with Retry-After, else 500. */
enum MHD_Result send_store_error(struct server *s, struct MHD_Connection *c, int rc,
                                        struct store *st)
{
    uint64_t suppressed = 0;
    if (log_rate_allow(&s->busy_log, &suppressed))
        log_warn("http", "store error rc=%d msg=\"%s\" suppressed=%llu", rc, store_errmsg(st),
                 (unsigned long long)suppressed);
    metrics_store_error(&s->metrics, rc == STORE_BUSY ? 0 : rc == ERR_NOSPACE ? 1 : 2);
    if (rc == STORE_BUSY || rc == ERR_NOSPACE)
        return send_error(c, 503, "store busy, retry later");
    if (store_refused_line(st) > 0) {
        /* an event the database will not take (a constraint of its own): say which
         * line; 500 all the same, so that the sender keeps the batch */
        char msg[128];
        snprintf(msg, sizeof(msg),
                 "store error: the database refused line %llu; nothing of the batch was stored",
                 (unsigned long long)store_refused_line(st));
        return send_error(c, 500, msg);
    }
    return send_error(c, 500, "store error");
}

/* ---- authentication ---- */

/* 0 with r->who set, ERR_NOTFOUND for a missing/bad/unknown/revoked token, or a store
 * error code. */
static int authenticate_device(struct server *s, struct MHD_Connection *c, struct req *r)
{
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
        return ERR_NOTFOUND;
    const char *tok = h + 7;
    size_t n = strlen(tok);
    if (!token_shape_ok(tok, n, TOKEN_DEVICE_PREFIX, TOKEN_DEVICE_BYTES))
        return ERR_NOTFOUND;
    uint8_t digest[STORE_HASH_LEN];
    token_hash(tok, n, digest);
    struct store *st = pool_get(&s->pool);
    int rc = store_auth_token(st, digest, &r->who);
    if (rc != 0 && rc != ERR_NOTFOUND)
        log_warn("http", "auth lookup failed: %s", store_errmsg(st));
    pool_put(&s->pool, st);
    r->who.kind = PRINCIPAL_DEVICE;
    return rc;
}

/* The session token of the request: the bearer token, else the cookie. NULL when there
 * is none; ERR_UNSUP in *bad when a device token was presented. */
static const char *session_token(struct MHD_Connection *c, int *by_cookie, int *bad)
{
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    *by_cookie = 0;
    *bad = 0;
    if (h != NULL) {
        if (strncasecmp(h, "Bearer ", 7) != 0)
            return NULL;
        if (strncmp(h + 7, TOKEN_DEVICE_PREFIX, strlen(TOKEN_DEVICE_PREFIX)) == 0)
            *bad = ERR_UNSUP;
        return h + 7;
    }
    *by_cookie = 1;
    return MHD_lookup_connection_value(c, MHD_COOKIE_KIND, SESSION_COOKIE);
}

/* A person's API token (tokens.h): 0 with r->who, r->api_token and r->api_read_only
 * set; ERR_NOTFOUND (malformed, unknown, revoked, its user disabled), STORE_EXPIRED,
 * or a store error. The role is the owner's role now. */
static int authenticate_apitoken(struct server *s, const char *tok, struct req *r)
{
    r->api_token = -1; /* tried; the id once it authenticated */
    if (!token_shape_ok(tok, strlen(tok), TOKEN_API_PREFIX, TOKEN_API_BYTES))
        return ERR_NOTFOUND;
    uint8_t digest[STORE_HASH_LEN];
    token_hash(tok, strlen(tok), digest);
    struct store_apitoken t;
    struct store *st = pool_get(&s->pool);
    int rc = store_apitoken_auth(st, digest, (int64_t)ts_now_us(), 60000000, &t);
    if (rc != 0 && rc != ERR_NOTFOUND && rc != STORE_EXPIRED)
        log_warn("http", "api token lookup failed: %s", store_errmsg(st));
    pool_put(&s->pool, st);
    if (rc != 0)
        return rc;
    r->who = (struct principal){.company_id = t.company_id,
                                .kind = PRINCIPAL_PERSON,
                                .user_id = t.user_id,
                                .role = t.role};
    snprintf(r->who.name, sizeof(r->who.name), "%s", t.user);
    r->api_token = t.id;
    r->api_read_only = t.scope != APITOKEN_FULL;
    return 0;
}

/* A person's session or API token: 0 with r->who set; ERR_NOTFOUND (none, unknown,
 * logged out, revoked), STORE_EXPIRED, ERR_UNSUP (a device token), or a store error. */
static int authenticate_person(struct server *s, struct MHD_Connection *c, struct req *r)
{
    int by_cookie = 0, bad = 0;
    const char *tok = session_token(c, &by_cookie, &bad);
    if (bad != 0)
        return bad;
    if (tok != NULL && !by_cookie &&
        strncmp(tok, TOKEN_API_PREFIX, strlen(TOKEN_API_PREFIX)) == 0)
        return authenticate_apitoken(s, tok, r);
    if (tok == NULL || !token_shape_ok(tok, strlen(tok), SESSION_PREFIX, SESSION_BYTES))
        return ERR_NOTFOUND;
    uint8_t digest[STORE_HASH_LEN];
    token_hash(tok, strlen(tok), digest);
    const struct auth_conf *a = &s->conf.auth;
    int64_t touch = a->session_idle_us / 4 < 60000000 ? a->session_idle_us / 4 : 60000000;
    struct store_session ss;
    struct store *st = pool_get(&s->pool);
    int rc = store_session_get(st, digest, (int64_t)ts_now_us(), a->session_idle_us,
                               a->session_max_us, touch, &ss);
    if (rc != 0 && rc != ERR_NOTFOUND && rc != STORE_EXPIRED)
        log_warn("http", "session lookup failed: %s", store_errmsg(st));
    pool_put(&s->pool, st);
    if (rc != 0)
        return rc;
    r->who = (struct principal){.company_id = ss.company_id,
                                .kind = PRINCIPAL_PERSON,
                                .user_id = ss.user_id,
                                .session_id = ss.id,
                                .role = ss.role,
                                .by_cookie = by_cookie};
    snprintf(r->who.name, sizeof(r->who.name), "%s", ss.name);
    snprintf(r->who.csrf, sizeof(r->who.csrf), "%s", ss.csrf);
    return 0;
}

/* 1 when the request may change state from a browser: an Origin, when present, names
 * the Host the request was sent to (scheme aside: a TLS proxy may sit in front). */
static int origin_ok(struct MHD_Connection *c)
{
    const char *o = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
    const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host");
    if (o == NULL)
        return 1;
    const char *p = strstr(o, "://");
    return p != NULL && host != NULL && strcmp(p + 3, host) == 0;
}

/* The CSRF rule of cookie sessions: X-CSRF-Token equal to the session's token. */
static int csrf_ok(struct MHD_Connection *c, const struct req *r)
{
    if (!r->who.by_cookie)
        return 1; /* a bearer token is never sent by a browser on its own */
    const char *t = MHD_lookup_connection_value(c, MHD_HEADER_KIND, CSRF_HEADER);
    size_t n = strlen(r->who.csrf);
    return t != NULL && n == PRINCIPAL_CSRF_LEN && strlen(t) == n && ct_equal(t, r->who.csrf, n) &&
           origin_ok(c);
}

enum perm { P_READ, P_COMMENT, P_TRIAGE, P_USERS, P_AUDIT, P_SELF, P_TENANTS, P_TENANT_EDIT };

/* The permission a route needs. */
static enum perm route_perm(enum route rt)
{
    switch (rt) {
    case R_INC_COMMENT:
        return P_COMMENT;
    case R_INC_UPDATE:
    case R_SUPP_ADD:
    case R_SUPP_UPDATE:
    case R_SUPP_DELETE:
        return P_TRIAGE;
    case R_USERS_LIST:
    case R_USERS_ADD:
    case R_USER_GET:
    case R_USER_UPDATE:
        return P_USERS;
    case R_AUDIT:
        return P_AUDIT;
    case R_LOGOUT:
    case R_SESSION:
    case R_PASSWORD:
    case R_TOKENS_LIST:
    case R_TOKENS_ADD:
    case R_TOKEN_REVOKE:
        return P_SELF;
    case R_TENANTS_ADD:
    case R_SENSORS_ADD:
    case R_SENSOR_REVOKE:
        return P_TENANTS;
    case R_TENANT_UPDATE:
        return P_TENANT_EDIT;
    default:
        return P_READ;
    }
}

/* The role matrix of docs/api.md. */
static int role_allows(int role, enum perm p)
{
    switch (role) {
    case ROLE_PROVIDER_ADMIN:
        return 1;
    case ROLE_PROVIDER_ANALYST:
        return p == P_READ || p == P_COMMENT || p == P_TRIAGE || p == P_SELF;
    case ROLE_TENANT_ADMIN:
        return p == P_READ || p == P_COMMENT || p == P_TRIAGE || p == P_USERS || p == P_AUDIT ||
               p == P_SELF || p == P_TENANT_EDIT;
    case ROLE_TENANT_VIEWER:
        return p == P_READ || p == P_SELF;
    default:
        return 0;
    }
}

unsigned req_scope(struct MHD_Connection *c, const struct req *r, int required,
                   int64_t *company, const char **why)
{
    const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "company");
    int64_t want = 0;
    if (v != NULL) {
        char *end = NULL;
        long long x = strtoll(v, &end, 10);
        if (*v == '\0' || *end != '\0' || x < 1) {
            *why = "company: expected a company id";
            return 400;
        }
        want = x;
    }
    if (r->who.company_id != 0) {
        *company = r->who.company_id;
        *why = "no such company";
        return want != 0 && want != r->who.company_id ? 404 : 0;
    }
    *company = want;
    *why = "company: required for provider staff (?company=ID)";
    return required && want == 0 ? 400 : 0;
}

void req_author(const struct req *r, char *out, size_t n)
{
    if (r->who.kind == PRINCIPAL_PERSON)
        snprintf(out, n, "%s", r->who.name);
    else
        snprintf(out, n, "sensor:%lld", (long long)r->who.sensor_id);
}

void audit_write(struct server *s, const struct req *r, int64_t company_id, const char *action,
                 const char *target, const char *detail)
{
    char actor[PRINCIPAL_NAME_MAX + 32];
    req_author(r, actor, sizeof(actor));
    if (r->api_token > 0) /* the change came with an API token: say which */
        snprintf(actor + strlen(actor), sizeof(actor) - strlen(actor), " (token:%lld)",
                 (long long)r->api_token);
    struct store_audit a = {.actor = actor,
                            .actor_id = r->who.user_id,
                            .company_id = company_id,
                            .action = action,
                            .target = target,
                            .addr = r->addr,
                            .detail = detail};
    struct store *st = pool_get(&s->pool);
    pthread_mutex_lock(&s->write_mu);
    int rc = store_audit_add(st, &a, (int64_t)ts_now_us());
    pthread_mutex_unlock(&s->write_mu);
    if (rc != 0)
        log_error("http", "audit row lost action=%s target=%s: %s", action, target,
                store_errmsg(st));
    pool_put(&s->pool, st);
}

static void client_addr(struct MHD_Connection *c, char *out, size_t n)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    snprintf(out, n, "-");
    if (ci == NULL || ci->client_addr == NULL)
        return;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
                  (socklen_t)n);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, out,
                  (socklen_t)n);
}

/* ---- routing and the first call ---- */

/* "/{id}" or "/{id}/comments" after a collection prefix: the id (1..2^62) and the rest. */
static int path_id(const char *p, int64_t *id, const char **rest)
{
    if (*p != '/' || p[1] < '1' || p[1] > '9')
        return 0;
    int64_t v = 0;
    p++;
    for (int n = 0; *p >= '0' && *p <= '9'; p++, n++) {
        if (n >= 18)
            return 0;
        v = v * 10 + (*p - '0');
    }
    *id = v;
    *rest = p;
    return 1;
}

/* /api/v1/incidents[/{id}[/comments]] */
static enum route route_incidents(const char *rest, const char *method, int64_t *id,
                                  int *bad_method)
{
    const char *tail = "";
    if (*rest != '\0' && !path_id(rest, id, &tail))
        return R_NONE;
    enum route r = R_NONE;
    if (*rest == '\0')
        r = strcmp(method, "GET") == 0 ? R_INC_LIST : R_NONE;
    else if (*tail == '\0')
        r = strcmp(method, "GET") == 0     ? R_INC_GET
            : strcmp(method, "PATCH") == 0 ? R_INC_UPDATE
                                           : R_NONE;
    else if (strcmp(tail, "/comments") == 0)
        r = strcmp(method, "POST") == 0 ? R_INC_COMMENT : R_NONE;
    else
        return R_NONE; /* unknown sub-resource: 404 */
    *bad_method = r == R_NONE;
    return r;
}

/* /api/v1/suppressions[/{id}] */
static enum route route_suppressions(const char *rest, const char *method, int64_t *id,
                                     int *bad_method)
{
    const char *tail = NULL;
    enum route r = R_NONE;
    if (*rest == '\0')
        r = strcmp(method, "GET") == 0    ? R_SUPP_LIST
            : strcmp(method, "POST") == 0 ? R_SUPP_ADD
                                          : R_NONE;
    else if (!path_id(rest, id, &tail) || *tail != '\0')
        return R_NONE;
    else
        r = strcmp(method, "GET") == 0      ? R_SUPP_GET
            : strcmp(method, "PATCH") == 0  ? R_SUPP_UPDATE
            : strcmp(method, "DELETE") == 0 ? R_SUPP_DELETE
                                            : R_NONE;
    *bad_method = r == R_NONE;
    return r;
}

/* /api/v1/users[/{id}] */
static enum route route_users(const char *rest, const char *method, int64_t *id,
                              int *bad_method)
{
    const char *tail = NULL;
    enum route r = R_NONE;
    if (*rest == '\0')
        r = strcmp(method, "GET") == 0    ? R_USERS_LIST
            : strcmp(method, "POST") == 0 ? R_USERS_ADD
                                          : R_NONE;
    else if (!path_id(rest, id, &tail) || *tail != '\0')
        return R_NONE;
    else
        r = strcmp(method, "GET") == 0     ? R_USER_GET
            : strcmp(method, "PATCH") == 0 ? R_USER_UPDATE
                                           : R_NONE;
    *bad_method = r == R_NONE;
    return r;
}

/* A collection with GET/POST and items with GET/PATCH/DELETE: the routes of each
 * (R_NONE where the method has none). */
struct coll_routes {
    enum route list, add, get, update, del;
};

static enum route route_coll(const char *rest, const char *method, int64_t *id,
                             int *bad_method, const struct coll_routes *cr)
{
    const char *tail = NULL;
    enum route r = R_NONE;
    if (*rest == '\0')
        r = strcmp(method, "GET") == 0    ? cr->list
            : strcmp(method, "POST") == 0 ? cr->add
                                          : R_NONE;
    else if (!path_id(rest, id, &tail) || *tail != '\0')
        return R_NONE;
    else
        r = strcmp(method, "GET") == 0      ? cr->get
            : strcmp(method, "PATCH") == 0  ? cr->update
            : strcmp(method, "DELETE") == 0 ? cr->del
                                            : R_NONE;
    *bad_method = r == R_NONE;
    return r;
}

/* /api/v1/tokens, /api/v1/tenants, /api/v1/sensors (api_tokens.c, api_tenants.c) */
static enum route route_more(const char *url, const char *method, int64_t *id, int *bad_method)
{
    static const struct {
        const char *prefix;
        struct coll_routes cr;
    } colls[] = {
        {"/api/v1/tokens", {R_TOKENS_LIST, R_TOKENS_ADD, R_NONE, R_NONE, R_TOKEN_REVOKE}},
        {"/api/v1/tenants",
         {R_TENANTS_LIST, R_TENANTS_ADD, R_TENANT_GET, R_TENANT_UPDATE, R_NONE}},
        {"/api/v1/sensors", {R_SENSORS_LIST, R_SENSORS_ADD, R_NONE, R_NONE, R_SENSOR_REVOKE}},
    };
    for (size_t i = 0; i < sizeof(colls) / sizeof(colls[0]); i++) {
        size_t n = strlen(colls[i].prefix);
        if (strncmp(url, colls[i].prefix, n) == 0 && (url[n] == '\0' || url[n] == '/'))
            return route_coll(url + n, method, id, bad_method, &colls[i].cr);
    }
    return R_NONE;
}

static enum route route_rest(const char *url, const char *method, int64_t *id, int *bad_method)
{
    static const char inc[] = "/api/v1/incidents", supp[] = "/api/v1/suppressions",
                      users[] = "/api/v1/users";
    enum route more = route_more(url, method, id, bad_method);
    if (more != R_NONE || *bad_method)
        return more;
    if (strncmp(url, users, sizeof(users) - 1) == 0)
        return route_users(url + sizeof(users) - 1, method, id, bad_method);
    if (strncmp(url, inc, sizeof(inc) - 1) == 0)
        return route_incidents(url + sizeof(inc) - 1, method, id, bad_method);
    if (strncmp(url, supp, sizeof(supp) - 1) == 0)
        return route_suppressions(url + sizeof(supp) - 1, method, id, bad_method);
    return R_NONE;
}

static enum route route_of(const char *url, const char *method, int64_t *id, int *bad_method)
{
    static const struct {
        const char *url, *method;
        enum route r;
    } routes[] = {
        {"/api/v1/enroll", "POST", R_ENROLL},   {"/api/v1/ingest", "POST", R_INGEST},
        {"/api/v1/events", "GET", R_EVENTS},    {"/api/v1/counters", "GET", R_COUNTERS},
        {"/healthz", "GET", R_HEALTH},          {"/api/v1/login", "POST", R_LOGIN},
        {"/api/v1/logout", "POST", R_LOGOUT},   {"/api/v1/session", "GET", R_SESSION},
        {"/api/v1/password", "POST", R_PASSWORD}, {"/api/v1/audit", "GET", R_AUDIT},
        {"/metrics", "GET", R_METRICS},         {"/api/v1/devices", "GET", R_DEVICES},
    };
    *bad_method = 0;
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        if (strcmp(url, routes[i].url) != 0)
            continue;
        if (strcmp(method, routes[i].method) == 0)
            return routes[i].r;
        *bad_method = 1;
    }
    if (*bad_method)
        return R_NONE;
    return route_rest(url, method, id, bad_method);
}

static int batch_id_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > BATCH_ID_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '-' || ch == '_' || ch == '.' || ch == ':'))
            return 0;
    }
    return 1;
}

static int parse_u64(const char *s, uint64_t *v)
{
    if (s == NULL || *s < '0' || *s > '9')
        return -1;
    char *end = NULL;
    unsigned long long x = strtoull(s, &end, 10);
    if (*end != '\0' || strlen(s) > 19)
        return -1;
    *v = x;
    return 0;
}

/* The ingest headers: batch id, sequence, encoding, declared length. Returns 0 when
 * the body may be read, else the status to answer with and *msg. */
static unsigned ingest_headers(struct server *s, struct MHD_Connection *c, struct req *r,
                               const char **msg)
{
    const char *bid = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Otasuke-Batch");
    const char *seq = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Otasuke-Seq");
    const char *enc = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Encoding");
    const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
    uint64_t len = 0;
    *msg = "X-Otasuke-Batch missing or not [A-Za-z0-9_.:-]{1,64}";
    if (bid == NULL || !batch_id_ok(bid))
        return 400;
    *msg = "X-Otasuke-Seq missing or not a decimal integer";
    if (parse_u64(seq, &r->seq) != 0 || r->seq > INT64_MAX)
        return 400;
    snprintf(r->batch_id, sizeof(r->batch_id), "%s", bid);
    *msg = "Content-Encoding must be gzip, deflate or identity";
    if (enc != NULL && strcasecmp(enc, "identity") != 0) {
        if (strcasecmp(enc, "gzip") != 0 && strcasecmp(enc, "deflate") != 0)
            return 415;
        r->gzip = 1;
    }
    *msg = "body larger than the ingest limit";
    if (cl != NULL && parse_u64(cl, &len) == 0 && len > s->conf.max_body)
        return 413;
    r->max = s->conf.max_body;
    return 0;
}

/* 413 when the declared length is over max; else sets the body cap. */
static int small_body(struct MHD_Connection *c, struct req *r, size_t max)
{
    const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
    uint64_t len = 0;
    r->max = max;
    return cl != NULL && parse_u64(cl, &len) == 0 && len > max;
}

/* Device token for ingest: 0 to read on, else the answer was queued (*res). */
static int first_ingest(struct server *s, struct MHD_Connection *c, struct req *r,
                        enum MHD_Result *res)
{
    int rc = authenticate_device(s, c, r);
    const char *msg = NULL;
    unsigned st = 0;
    if (rc == ERR_NOTFOUND) {
        st = 401;
        msg = "missing, unknown or revoked device token";
    } else if (rc != 0) {
        st = 503;
        msg = "store busy, retry later";
    } else {
        st = ingest_headers(s, c, r, &msg);
    }
    if (st != 0)
        *res = send_error(c, st, msg);
    return st != 0;
}

/* A person's session, CSRF and role for every other route: 0 to read on. */
static int first_person(struct server *s, struct MHD_Connection *c, struct req *r,
                        enum MHD_Result *res)
{
    int rc = authenticate_person(s, c, r);
    unsigned st = 0;
    const char *msg = NULL;
    if (rc == ERR_UNSUP) {
        st = 403;
        msg = "device tokens are accepted only by /api/v1/ingest; log in as a person";
    } else if (rc == ERR_NOTFOUND) {
        st = 401;
        msg = r->api_token < 0 ? "unknown or revoked API token, or its user is disabled"
                               : "log in first (missing, unknown or ended session)";
    } else if (rc == STORE_EXPIRED) {
        st = 401;
        msg = r->api_token < 0 ? "API token expired" : "session expired: log in again";
    } else if (rc != 0) {
        st = 503;
        msg = "store busy, retry later";
    } else if (strcmp(r->method, "GET") != 0 && !csrf_ok(c, r)) {
        st = 403;
        msg = "CSRF check failed: send the session's token in X-CSRF-Token (same origin)";
    } else if (!role_allows(r->who.role, route_perm(r->route))) {
        st = 403;
        msg = "your role does not allow this";
    } else if (r->api_token > 0 && r->api_read_only && strcmp(r->method, "GET") != 0) {
        st = 403;
        msg = "a read-only API token cannot change anything";
    } else if (r->api_token > 0 &&
               (r->route == R_LOGOUT || r->route == R_PASSWORD || r->route == R_TOKENS_ADD)) {
        st = 403;
        msg = "not with an API token: log in (logout, password change and new tokens need a "
              "session)";
    } else if (strcmp(r->method, "GET") != 0 && small_body(c, r, API_MAX_BODY)) {
        st = 413;
        msg = "body too large";
    }
    if (st != 0)
        *res = send_error(c, st, msg);
    return st != 0;
}

/* /metrics: the scrape token, else a provider staff session. Answers in every case. */
static enum MHD_Result first_metrics(struct server *s, struct MHD_Connection *c, struct req *r)
{
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    const char *want = s->conf.metrics_token;
    if (want != NULL && want[0] != '\0' && h != NULL && strncasecmp(h, "Bearer ", 7) == 0 &&
        strlen(h + 7) == strlen(want) && ct_equal(h + 7, want, strlen(want)))
        return handle_metrics(s, c);
    int rc = authenticate_person(s, c, r);
    if (rc == ERR_NOTFOUND || rc == STORE_EXPIRED)
        return send_error(c, 401, "log in as provider staff or send the scrape token");
    if (rc == ERR_UNSUP)
        return send_error(c, 403, "device tokens are accepted only by /api/v1/ingest");
    if (rc != 0)
        return send_error(c, 503, "store busy, retry later");
    if (r->who.role != ROLE_PROVIDER_ADMIN && r->who.role != ROLE_PROVIDER_ANALYST)
        return send_error(c, 403, "metrics are for provider staff");
    return handle_metrics(s, c);
}

/* The first call of a request: route, authenticate, check headers. Returns 0 to go on
 * reading the request, else the status already answered (or 1 when queueing failed). */
static enum MHD_Result first_call(struct server *s, struct MHD_Connection *c, struct req *r,
                                  const char *url, const char *method, int *answered)
{
    int bad_method = 0;
    enum MHD_Result res = MHD_YES;
    r->route = route_of(url, method, &r->id, &bad_method);
    r->method = method;
    client_addr(c, r->addr, sizeof(r->addr));
    *answered = 1;
    if (r->route == R_NONE)
        return send_error(c, bad_method ? 405 : 404, bad_method ? "method not allowed"
                                                                : "no such endpoint");
    if (r->route == R_HEALTH)
        return send_buf(c, 200, "{\"status\":\"ok\"}", 15, 0);
    if (r->route == R_METRICS)
        return first_metrics(s, c, r);
    if (r->route == R_ENROLL || r->route == R_LOGIN) {
        if (small_body(c, r, ENROLL_MAX_BODY))
            return send_error(c, 413, "body too large");
        if (r->route == R_LOGIN && !origin_ok(c))
            return send_error(c, 403, "cross-origin login refused");
        *answered = 0;
        return MHD_YES;
    }
    if (r->route == R_INGEST ? first_ingest(s, c, r, &res) : first_person(s, c, r, &res))
        return res;
    *answered = 0;
    return MHD_YES;
}

/* Appends a piece of the body, up to r->max; past it the rest is discarded. */
static int body_append(struct req *r, const char *data, size_t n)
{
    if (r->too_big || r->len + n > r->max) {
        r->too_big = 1;
        return 0;
    }
    if (r->len + n + 1 > r->cap) {
        size_t cap = r->cap ? r->cap : 16384;
        while (cap < r->len + n + 1)
            cap *= 2;
        if (cap > r->max + 1)
            cap = r->max + 1;
        char *b = xrealloc(MEM_CORE, r->body, cap);
        if (b == NULL)
            return ERR_NOMEM;
        r->body = b;
        r->cap = cap;
    }
    memcpy(r->body + r->len, data, n);
    r->len += n;
    r->body[r->len] = '\0';
    return 0;
}

/* ---- handlers (last call) ---- */

static enum MHD_Result last_call(struct server *s, struct MHD_Connection *c, struct req *r)
{
    if (r->too_big)
        return send_error(c, 413, r->route == R_INGEST ? "body larger than the ingest limit"
                                                       : "body too large");
    switch (r->route) {
    case R_ENROLL:
        return handle_enroll(s, c, r);
    case R_INGEST:
        return handle_ingest(s, c, r);
    case R_EVENTS:
        return handle_events(s, c, r);
    case R_COUNTERS:
        return handle_counters(s, c, r);
    case R_INC_LIST:
    case R_INC_GET:
    case R_INC_UPDATE:
    case R_INC_COMMENT:
    case R_SUPP_LIST:
    case R_SUPP_ADD:
    case R_SUPP_GET:
    case R_SUPP_UPDATE:
    case R_SUPP_DELETE:
        return handle_incidents(s, c, r);
    case R_LOGIN:
    case R_LOGOUT:
    case R_SESSION:
    case R_PASSWORD:
    case R_USERS_LIST:
    case R_USERS_ADD:
    case R_USER_GET:
    case R_USER_UPDATE:
    case R_AUDIT:
        return handle_people(s, c, r);
    case R_TOKENS_LIST:
    case R_TOKENS_ADD:
    case R_TOKEN_REVOKE:
        return handle_tokens(s, c, r);
    case R_TENANTS_LIST:
    case R_TENANTS_ADD:
    case R_TENANT_GET:
    case R_TENANT_UPDATE:
    case R_SENSORS_LIST:
    case R_SENSORS_ADD:
    case R_SENSOR_REVOKE:
    case R_DEVICES:
        return handle_tenants(s, c, r);
    default:
        return send_error(c, 500, "unexpected route");
    }
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **con_cls)
{
    struct server *s = cls;
    struct req *r = *con_cls;
    if (r == NULL) {
        r = xcalloc(MEM_CORE, 1, sizeof(*r));
        if (r == NULL)
            return MHD_NO;
        *con_cls = r;
        r->t0_us = metrics_now_us();
        cur_req = r;
        int answered = 0;
        enum MHD_Result res = first_call(s, c, r, url, method, &answered);
        cur_req = NULL;
        return answered ? res : MHD_YES;
    }
    if (*upload_size > 0) {
        if (body_append(r, upload, *upload_size) != 0)
            return MHD_NO;
        if (r->too_big && (r->route == R_ENROLL || r->route >= R_INC_LIST))
            return MHD_NO; /* small JSON bodies only: do not read on */
        *upload_size = 0;
        return MHD_YES;
    }
    cur_req = r;
    enum MHD_Result res = last_call(s, c, r);
    cur_req = NULL;
    return res;
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
    struct server *s = cls;
    struct req *r = *con_cls;
    if (r == NULL)
        return;
    if (r->status != 0) /* answered, whether or not the client read it all */
        metrics_response(&s->metrics, r->status, metrics_now_us() - r->t0_us);
    xfree(r->body);
    xfree(r);
    *con_cls = NULL;
}

__attribute__((format(printf, 2, 0))) static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    log_info("http", "mhd: %s", msg);
}

/* Resolves "host:port" / "[v6]:port" into addr. */
static int parse_listen(const char *spec, struct sockaddr_storage *addr, int *v6)
{
    char host[256];
    const char *colon = strrchr(spec, ':');
    if (colon == NULL || colon == spec || (size_t)(colon - spec) >= sizeof(host))
        return ERR_INVAL;
    size_t hl = (size_t)(colon - spec);
    const char *h = spec;
    if (spec[0] == '[' && colon[-1] == ']') {
        h = spec + 1;
        hl -= 2;
    }
    memcpy(host, h, hl);
    host[hl] = '\0';
    struct addrinfo hints = {.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV,
                             .ai_socktype = SOCK_STREAM};
    struct addrinfo *ai = NULL;
    if (getaddrinfo(host, colon + 1, &hints, &ai) != 0 || ai == NULL)
        return ERR_INVAL;
    memcpy(addr, ai->ai_addr, ai->ai_addrlen);
    *v6 = ai->ai_family == AF_INET6;
    freeaddrinfo(ai);
    return 0;
}

/* Zero fields of an auth_conf (callers that predate people) take the defaults of
 * center_conf.c. */
static void auth_defaults(struct auth_conf *a)
{
    if (a->pw.memory_kib == 0)
        pw_params_default(&a->pw);
    if (a->session_idle_us <= 0)
        a->session_idle_us = 30LL * 60 * 1000000;
    if (a->session_max_us <= 0)
        a->session_max_us = 12LL * 3600 * 1000000;
    if (a->max_failures == 0)
        a->max_failures = 10;
    if (a->window_us <= 0)
        a->window_us = 15LL * 60 * 1000000;
    if (a->throttle_entries == 0)
        a->throttle_entries = 65536;
}

struct server *server_start(const struct server_conf *conf, char *err, size_t errlen)
{
    struct server *s = xcalloc(MEM_CORE, 1, sizeof(*s));
    if (s == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->conf = *conf;
    auth_defaults(&s->conf.auth);
    conf = &s->conf;
    s->busy_log.interval_s = 1;
    pthread_mutex_init(&s->write_mu, NULL);
    struct sockaddr_storage addr;
    int v6 = 0;
    if (parse_listen(conf->listen, &addr, &v6) != 0) {
        snprintf(err, errlen, "--listen %s: expected ADDRESS:PORT with a numeric address",
                 conf->listen);
        goto fail;
    }
    if (pool_open(&s->pool, conf, err, errlen) != 0)
        goto fail;
    s->thr_user = throttle_new(conf->auth.throttle_entries, conf->auth.max_failures,
                               conf->auth.window_us);
    s->thr_addr = throttle_new(conf->auth.throttle_entries, conf->auth.max_failures,
                               conf->auth.window_us);
    if (s->thr_user == NULL || s->thr_addr == NULL) {
        snprintf(err, errlen, "out of memory (login throttle)");
        goto fail;
    }
    if (pw_dummy_init(&conf->auth.pw) != 0) {
        snprintf(err, errlen, "auth.argon2_*: cannot hash with these parameters");
        goto fail;
    }
    s->notifier = notify_start(&conf->notify, conf->db_path, &conf->store, &s->write_mu, err,
                               errlen);
    if (s->notifier == NULL)
        goto fail;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG |
                     (v6 ? MHD_USE_IPv6 : 0);
    s->mhd = MHD_start_daemon(
        flags, 0, NULL, NULL, handle, s, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr, MHD_OPTION_THREAD_POOL_SIZE,
        conf->threads, MHD_OPTION_CONNECTION_LIMIT, conf->conn_limit,
        MHD_OPTION_CONNECTION_TIMEOUT, conf->timeout_s, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)32768, MHD_OPTION_NOTIFY_COMPLETED, completed, s, MHD_OPTION_END);
    if (s->mhd == NULL) {
        snprintf(err, errlen, "cannot listen on %s (address in use or not local?)", conf->listen);
        goto fail;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : 0;
    return s;
fail:
    server_stop(s);
    return NULL;
}

uint16_t server_port(const struct server *srv)
{
    return srv->port;
}

void server_stop(struct server *srv)
{
    if (srv == NULL)
        return;
    if (srv->mhd != NULL)
        MHD_stop_daemon(srv->mhd);
    notify_stop(srv->notifier);
    pool_close(&srv->pool);
    throttle_free(srv->thr_user);
    throttle_free(srv->thr_addr);
    pthread_mutex_destroy(&srv->write_mu);
    xfree(srv);
}
