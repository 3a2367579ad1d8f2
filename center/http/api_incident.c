/*
 * The incident and suppression-rule endpoints of docs/api.md:
 *
 *   GET    /api/v1/incidents                  list, filtered (state, severity, time)
 *   GET    /api/v1/incidents/{id}             one, with timeline, notes, notifications
 *   PATCH  /api/v1/incidents/{id}             state and/or assignee
 *   POST   /api/v1/incidents/{id}/comments    a comment
 *   GET    /api/v1/suppressions[/{id}]        rules
 *   POST   /api/v1/suppressions               new rule
 *   PATCH  /api/v1/suppressions/{id}          reason and/or expiry
 *   DELETE /api/v1/suppressions/{id}
 *
 * The caller is a person (server.c checked the session and the role). Every call is
 * scoped to r->who.company_id — 0 for provider staff, who see every tenant (lists take
 * ?company=ID) — and an id of another tenant is answered 404, exactly as an id that
 * does not exist. Notes record the person as author; changes write an audit row.
 */
#include "http/server_int.h"
#include "http/api_json.h"

#include "otasuke/conf.h"
#include "otasuke/err.h"
#include "otasuke/timefmt.h"
#include "ingest/ingest.h"
#include "store/people.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INC_MAX_LIMIT 500
#define INC_DEFAULT_LIMIT 100
#define TEXT_MAX 4000
#define SUPP_MAX_TTL (366LL * 86400 * 1000000)

static const char *arg(struct MHD_Connection *c, const char *name)
{
    return MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, name);
}

static void time_field(struct jw *w, const char *key, int64_t us)
{
    char t[TS_RFC3339_LEN];
    ts_format(t, sizeof(t), (uint64_t)us, 0);
    jw_str(w, key, t);
}

static void opt_str(struct jw *w, const char *key, const char *v)
{
    if (v != NULL && v[0] != '\0')
        jw_str(w, key, v);
    else
        jw_null(w, key);
}

static void lines_arr(struct jw *w, const char *key, const char *text, char sep)
{
    jw_arr_open(w, key);
    for (const char *p = text ? text : ""; *p;) {
        const char *e = strchr(p, sep);
        size_t l = e ? (size_t)(e - p) : strlen(p);
        jw_strn(w, NULL, p, l);
        p += l + (e ? 1 : 0);
    }
    jw_arr_close(w);
}

static void incident_fields(struct jw *w, const struct store_incident *inc)
{
    jw_i64(w, "id", inc->id);
    jw_str(w, "state", incident_state_name(inc->state));
    jw_i64(w, "severity", inc->severity);
    lines_arr(w, "categories", inc->categories, ',');
    jw_obj_open(w, "device");
    jw_str(w, "key", inc->device_key);
    opt_str(w, "ip", inc->device_ip);
    opt_str(w, "mac", inc->device_mac);
    opt_str(w, "name", inc->device_name);
    jw_obj_close(w);
    jw_str(w, "assignee", inc->assignee);
    jw_i64(w, "alerts", inc->alerts);
    time_field(w, "first_seen", inc->first_seen);
    time_field(w, "last_seen", inc->last_seen);
    time_field(w, "created", inc->created);
    time_field(w, "updated", inc->updated);
    jw_obj_open(w, "first_steps");
    lines_arr(w, "ja", inc->steps_ja, '\n');
    lines_arr(w, "en", inc->steps_en, '\n');
    jw_obj_close(w);
}

/* ---- GET /api/v1/incidents ---- */

struct list_out {
    struct jw *w;
    int n, limit, more;
    int64_t last_id;
};

static int list_row(void *arg, const struct store_incident *inc)
{
    struct list_out *o = arg;
    if (o->n == o->limit) {
        o->more = 1;
        return 1;
    }
    jw_obj_open(o->w, NULL);
    incident_fields(o->w, inc);
    jw_obj_close(o->w);
    o->n++;
    o->last_id = inc->id;
    return 0;
}

static int parse_pos(const char *v, int64_t max, int64_t *out)
{
    char *end = NULL;
    long long x = strtoll(v, &end, 10);
    if (*v == '\0' || *end != '\0' || x < 1 || x > max)
        return -1;
    *out = x;
    return 0;
}

static const char *list_query(struct MHD_Connection *c, struct store_incident_query *q)
{
    const char *state = arg(c, "state"), *sev = arg(c, "severity"), *since = arg(c, "since"),
               *until = arg(c, "until"), *before = arg(c, "before"), *limit = arg(c, "limit");
    int64_t v = 0;
    q->state = -1;
    q->severity_max = 4;
    q->until_us = INT64_MAX;
    q->limit = INC_DEFAULT_LIMIT;
    if (state != NULL && (q->state = incident_state_parse(state)) < 0)
        return "state: expected new, acknowledged, customer_contacted, onsite_dispatch, "
               "resolved or false_positive";
    if (sev != NULL) {
        if (parse_pos(sev, 4, &v) != 0)
            return "severity: expected 1..4 (incidents this severe or more)";
        q->severity_max = (int)v;
    }
    if (since != NULL && ingest_parse_time(since, strlen(since), &q->since_us) != 0)
        return "since: expected an RFC 3339 time";
    if (until != NULL && ingest_parse_time(until, strlen(until), &q->until_us) != 0)
        return "until: expected an RFC 3339 time";
    if (before != NULL && parse_pos(before, INT64_MAX, &q->after_id) != 0)
        return "before: expected an incident id";
    if (limit != NULL) {
        if (parse_pos(limit, INC_MAX_LIMIT, &v) != 0)
            return "limit: expected 1..500";
        q->limit = (int)v;
    }
    return NULL;
}

struct inc_listing {
    const struct store_incident_query *q;
    struct list_out o;
};

static int list_fill(struct store *st, struct jw *w, void *arg)
{
    struct inc_listing *l = arg;
    l->o.w = w;
    return store_incident_list(st, l->q, list_row, &l->o);
}

static void list_tail(struct jw *w, void *arg)
{
    const struct list_out *o = &((const struct inc_listing *)arg)->o;
    if (o->more)
        jw_i64(w, "next_before", o->last_id);
    else
        jw_null(w, "next_before");
    jw_bool(w, "more", o->more);
}

static enum MHD_Result inc_list(struct server *s, struct MHD_Connection *c, struct req *r)
{
    struct store_incident_query q = {0};
    const char *bad = NULL;
    unsigned code = req_scope(c, r, 0, &q.company_id, &bad);
    if (code != 0)
        return send_error(c, code, bad);
    bad = list_query(c, &q);
    if (bad != NULL)
        return send_error(c, 400, bad);
    struct inc_listing l = {.q = &q, .o = {.limit = q.limit}};
    q.limit++; /* one more tells whether there is a next page */
    return apij_send_list(s, c, "incidents", list_fill, &l, list_tail);
}

/* ---- GET /api/v1/incidents/{id} ---- */

struct get_out {
    struct jw *w;
    int section; /* 0 incident, 1 timeline, 2 notes, 3 notifications */
};

/* Opens the array of section `to` (closing the previous one). */
static void section(struct get_out *o, int to)
{
    static const char *const names[] = {NULL, "timeline", "notes", "notifications"};
    while (o->section < to) {
        if (o->section > 0)
            jw_arr_close(o->w);
        o->section++;
        jw_arr_open(o->w, names[o->section]);
    }
}

static int get_inc(void *arg, const struct store_incident *inc)
{
    struct get_out *o = arg;
    incident_fields(o->w, inc);
    return 0;
}

static int get_alert(void *arg, const struct store_incident_alert *a)
{
    struct get_out *o = arg;
    section(o, 1);
    jw_obj_open(o->w, NULL);
    jw_i64(o->w, "event_id", a->event_id);
    time_field(o->w, "timestamp", a->ts);
    jw_i64(o->w, "severity", a->severity);
    jw_str(o->w, "category", a->category);
    if (a->signature_id >= 0)
        jw_i64(o->w, "signature_id", a->signature_id);
    else
        jw_null(o->w, "signature_id");
    jw_str(o->w, "signature", a->signature);
    jw_str(o->w, "signature_ja", a->signature_ja);
    jw_raw(o->w, "event", a->body, strlen(a->body));
    jw_obj_close(o->w);
    return o->w->len > RESPONSE_SOFT_MAX; /* stop the timeline at the soft cap */
}

static int get_note(void *arg, const struct store_incident_note *n)
{
    struct get_out *o = arg;
    section(o, 2);
    jw_obj_open(o->w, NULL);
    jw_i64(o->w, "id", n->id);
    time_field(o->w, "at", n->at);
    jw_str(o->w, "author", n->author);
    jw_str(o->w, "kind", n->kind);
    jw_str(o->w, "text", n->text);
    jw_obj_close(o->w);
    return 0;
}

static int get_notif(void *arg, const struct store_notification *n)
{
    struct get_out *o = arg;
    section(o, 3);
    jw_obj_open(o->w, NULL);
    jw_i64(o->w, "id", n->id);
    jw_str(o->w, "channel", n->channel);
    jw_str(o->w, "reason", n->reason);
    jw_i64(o->w, "severity", n->severity);
    jw_str(o->w, "state", n->state);
    jw_i64(o->w, "attempts", n->attempts);
    jw_str(o->w, "last_error", n->last_error);
    time_field(o->w, "queued", n->created);
    if (n->sent)
        time_field(o->w, "sent", n->sent);
    else
        jw_null(o->w, "sent");
    jw_obj_close(o->w);
    return 0;
}

static enum MHD_Result inc_get(struct server *s, struct MHD_Connection *c, struct req *r)
{
    struct jw w;
    if (jw_init(&w, 8192, RESPONSE_MAX) != 0)
        return send_error(c, 503, "out of memory, retry later");
    struct get_out o = {.w = &w};
    jw_obj_open(&w, NULL);
    struct store *st = pool_get(&s->pool);
    int rc = store_incident_get(st, r->who.company_id, r->id, get_inc, get_alert, get_note,
                                get_notif, &o);
    enum MHD_Result ret;
    if (rc == ERR_NOTFOUND) {
        jw_free(&w);
        ret = send_error(c, 404, "no such incident");
    } else if (rc != 0) {
        jw_free(&w);
        ret = send_store_error(s, c, rc, st);
    } else {
        section(&o, 3);
        jw_arr_close(&w);
        jw_obj_close(&w);
        ret = send_jw(c, 200, &w);
    }
    pool_put(&s->pool, st);
    return ret;
}

/* ---- changes ---- */

/* The JSON object body, or NULL (then *why says what is wrong). */
static json_t *body_obj(const struct req *r, const char **why)
{
    json_t *obj = apij_body(r);
    if (obj == NULL)
        *why = "expected a JSON object";
    return obj;
}

/* A member that must be absent or a string of 0/1..max bytes without control
 * characters (newline and tab allowed when multiline). */
static int text_member(json_t *obj, const char *key, size_t min, size_t max, int multiline,
                       const char **out)
{
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (v == NULL)
        return 0;
    if (!json_is_string(v))
        return -1;
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (n < min || n > max || strlen(s) != n)
        return -1;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if ((ch < 0x20 && !(multiline && (ch == '\n' || ch == '\t'))) || ch == 0x7f)
            return -1;
    }
    *out = s;
    return 0;
}

static void author_of(const struct req *r, char *out, size_t n)
{
    req_author(r, out, n);
}

/* The tenant of incident `id` (for the audit row), 0 when unknown. */
static int inc_company_cb(void *arg, const struct store_incident *inc)
{
    *(int64_t *)arg = inc->company_id;
    return 0;
}

static int64_t inc_company(struct server *s, int64_t id)
{
    int64_t company = 0;
    struct store *st = pool_get(&s->pool);
    (void)store_incident_get(st, 0, id, inc_company_cb, NULL, NULL, NULL, &company);
    pool_put(&s->pool, st);
    return company;
}

/* The answer to a failed change (rc != 0), while st is still held. */
static enum MHD_Result answer_failed(struct server *s, struct MHD_Connection *c, int rc,
                                     struct store *st)
{
    if (rc == ERR_NOTFOUND)
        return send_error(c, 404, "no such incident");
    if (rc == ERR_INVAL)
        return send_error(c, 409, "state change not allowed from the incident's state");
    return send_store_error(s, c, rc, st);
}

static enum MHD_Result inc_update(struct server *s, struct MHD_Connection *c, struct req *r)
{
    const char *why = NULL, *state = NULL, *assignee = NULL;
    json_t *obj = body_obj(r, &why);
    if (obj == NULL)
        return send_error(c, 400, why);
    int to = -1;
    if (text_member(obj, "state", 1, 64, 0, &state) != 0 ||
        (state != NULL && (to = incident_state_parse(state)) < 0))
        why = "state: expected new, acknowledged, customer_contacted, onsite_dispatch, "
              "resolved or false_positive";
    else if (text_member(obj, "assignee", 0, 200, 0, &assignee) != 0)
        why = "assignee: expected text of at most 200 bytes (\"\" to clear)";
    else if (state == NULL && assignee == NULL)
        why = "expected \"state\" and/or \"assignee\"";
    else if (json_object_size(obj) != (state != NULL ? 1u : 0u) + (assignee != NULL ? 1u : 0u))
        why = "unknown member: only \"state\" and \"assignee\" can be changed";
    if (why != NULL) {
        json_decref(obj);
        return send_error(c, 400, why);
    }
    char author[64];
    author_of(r, author, sizeof(author));
    struct store *st = pool_get(&s->pool);
    pthread_mutex_lock(&s->write_mu);
    int rc = store_incident_update(st, r->who.company_id, r->id, to, assignee, author,
                                   (int64_t)ts_now_us());
    pthread_mutex_unlock(&s->write_mu);
    if (rc != 0) {
        enum MHD_Result ret = answer_failed(s, c, rc, st);
        pool_put(&s->pool, st);
        json_decref(obj);
        return ret;
    }
    pool_put(&s->pool, st);
    log_notice("http", "incident=%lld changed by=%s state=%s", (long long)r->id, author,
               to >= 0 ? incident_state_name(to) : "-");
    char target[48], detail[300];
    snprintf(target, sizeof(target), "incident:%lld", (long long)r->id);
    snprintf(detail, sizeof(detail), "%s%s%s%s", to >= 0 ? "state=" : "",
             to >= 0 ? incident_state_name(to) : "", assignee != NULL ? " assignee=" : "",
             assignee != NULL ? assignee : "");
    audit_write(s, r, inc_company(s, r->id), "incident_change", target, detail);
    json_decref(obj);
    return inc_get(s, c, r);
}

static enum MHD_Result inc_comment(struct server *s, struct MHD_Connection *c, struct req *r)
{
    const char *why = NULL, *text = NULL;
    json_t *obj = body_obj(r, &why);
    if (obj == NULL)
        return send_error(c, 400, why);
    if (text_member(obj, "text", 1, TEXT_MAX, 1, &text) != 0 || text == NULL ||
        json_object_size(obj) != 1) {
        json_decref(obj);
        return send_error(c, 400, "expected {\"text\": \"1..4000 bytes\"}");
    }
    char author[64];
    author_of(r, author, sizeof(author));
    int64_t note = 0;
    struct store *st = pool_get(&s->pool);
    pthread_mutex_lock(&s->write_mu);
    int rc = store_incident_comment(st, r->who.company_id, r->id, author, text,
                                    (int64_t)ts_now_us(), &note);
    pthread_mutex_unlock(&s->write_mu);
    json_decref(obj);
    enum MHD_Result ret;
    if (rc == ERR_NOTFOUND) {
        ret = send_error(c, 404, "no such incident");
    } else if (rc != 0) {
        ret = send_store_error(s, c, rc, st);
    } else {
        char buf[64];
        int n = snprintf(buf, sizeof(buf), "{\"id\":%lld}", (long long)note);
        ret = send_buf(c, 201, buf, (size_t)n, 0);
    }
    pool_put(&s->pool, st);
    return ret;
}

/* ---- suppression rules ---- */

static int supp_row(void *arg, const struct store_suppression *sp)
{
    struct jw *w = arg;
    jw_obj_open(w, NULL);
    jw_i64(w, "id", sp->id);
    if (sp->signature_id >= 0)
        jw_i64(w, "signature_id", sp->signature_id);
    else
        jw_null(w, "signature_id");
    opt_str(w, "device", sp->device);
    jw_str(w, "reason", sp->reason);
    time_field(w, "expires", sp->expires);
    time_field(w, "created", sp->created);
    jw_i64(w, "hits", sp->hits);
    jw_bool(w, "active", sp->expires > (int64_t)ts_now_us());
    jw_obj_close(w);
    return 0;
}

static enum MHD_Result supp_list(struct server *s, struct MHD_Connection *c, struct req *r)
{
    struct jw w;
    if (jw_init(&w, 4096, RESPONSE_MAX) != 0)
        return send_error(c, 503, "out of memory, retry later");
    int one = r->route == R_SUPP_GET;
    if (!one) {
        jw_obj_open(&w, NULL);
        jw_arr_open(&w, "suppressions");
    }
    int64_t company = r->who.company_id;
    const char *why = NULL;
    unsigned code = one ? 0 : req_scope(c, r, 0, &company, &why);
    if (code != 0) {
        jw_free(&w);
        return send_error(c, code, why);
    }
    struct store *st = pool_get(&s->pool);
    int rc = store_suppression_list(st, company, one ? r->id : 0, supp_row, &w);
    enum MHD_Result ret;
    if (rc == ERR_NOTFOUND) {
        jw_free(&w);
        ret = send_error(c, 404, "no such suppression rule");
    } else if (rc != 0) {
        jw_free(&w);
        ret = send_store_error(s, c, rc, st);
    } else {
        if (!one) {
            jw_arr_close(&w);
            jw_obj_close(&w);
        }
        ret = send_jw(c, 200, &w);
    }
    pool_put(&s->pool, st);
    return ret;
}

/* "expires" (RFC 3339, in the future) or "duration" ("7d"): the expiry, or 0 when
 * neither is given, or -1 when bad. */
static int64_t expiry_of(json_t *obj, int64_t now)
{
    json_t *e = json_object_get(obj, "expires"), *d = json_object_get(obj, "duration");
    int64_t at = 0;
    if (e != NULL && d != NULL)
        return -1;
    if (e != NULL) {
        if (!json_is_string(e) ||
            ingest_parse_time(json_string_value(e), json_string_length(e), &at) != 0)
            return -1;
    } else if (d != NULL) {
        uint64_t us = 0;
        if (!json_is_string(d) || conf_parse_duration(json_string_value(d), &us) != 0 ||
            us > (uint64_t)SUPP_MAX_TTL)
            return -1;
        at = now + (int64_t)us;
    } else {
        return 0;
    }
    return at > now && at <= now + SUPP_MAX_TTL ? at : -1;
}

static const char *supp_fields(json_t *obj, int64_t now, struct store_suppression *sp,
                               char *key, size_t keylen)
{
    json_t *sid = json_object_get(obj, "signature_id");
    const char *dev = NULL, *reason = NULL;
    sp->signature_id = -1;
    if (sid != NULL) {
        if (!json_is_integer(sid) || json_integer_value(sid) < 0)
            return "signature_id: expected a non-negative integer";
        sp->signature_id = json_integer_value(sid);
    }
    if (text_member(obj, "device", 1, 64, 0, &dev) != 0 ||
        (dev != NULL && store_device_key(dev, key, keylen) != 0))
        return "device: expected a MAC (8c:16:45:77:51:a6) or an IP address";
    sp->device = dev != NULL ? key : "";
    if (text_member(obj, "reason", 1, 1000, 0, &reason) != 0 || reason == NULL)
        return "reason: required, 1..1000 bytes of text";
    sp->reason = reason;
    if (sp->signature_id < 0 && dev == NULL)
        return "a rule needs signature_id and/or device";
    sp->expires = expiry_of(obj, now);
    if (sp->expires <= 0)
        return "expires (RFC 3339, in the future) or duration (e.g. \"7d\"), at most 366 "
               "days ahead, is required";
    void *it = json_object_iter(obj);
    for (; it != NULL; it = json_object_iter_next(obj, it)) {
        const char *k = json_object_iter_key(it);
        if (strcmp(k, "signature_id") != 0 && strcmp(k, "device") != 0 &&
            strcmp(k, "reason") != 0 && strcmp(k, "expires") != 0 && strcmp(k, "duration") != 0 &&
            strcmp(k, "company_id") != 0)
            return "unknown member";
    }
    return NULL;
}

/* The tenant of a new rule: the caller's, or for provider staff "company_id" of the
 * body (required, must exist). 0 or the status with *why. */
static unsigned supp_company(struct server *s, const struct req *r, json_t *obj,
                             int64_t *company, const char **why)
{
    json_t *cv = json_object_get(obj, "company_id");
    int64_t want = json_is_integer(cv) ? json_integer_value(cv) : 0;
    *why = "company_id: expected a company id";
    if (cv != NULL && want < 1)
        return 400;
    if (r->who.company_id != 0) {
        *why = "no such company";
        return want != 0 && want != r->who.company_id ? 404 : 0;
    }
    *why = "company_id: required for provider staff";
    if (want == 0)
        return 400;
    struct store *st = pool_get(&s->pool);
    int ex = store_company_exists(st, want);
    pool_put(&s->pool, st);
    *company = want;
    *why = ex < 0 ? "store busy, retry later" : "no such company";
    return ex == 1 ? 0 : ex == 0 ? 404 : 503;
}

static enum MHD_Result supp_add(struct server *s, struct MHD_Connection *c, struct req *r)
{
    const char *why = NULL;
    json_t *obj = body_obj(r, &why);
    if (obj == NULL)
        return send_error(c, 400, why);
    int64_t now = (int64_t)ts_now_us(), id = 0;
    char key[96];
    struct store_suppression sp = {.company_id = r->who.company_id};
    why = supp_fields(obj, now, &sp, key, sizeof(key));
    unsigned code = why != NULL ? 400 : supp_company(s, r, obj, &sp.company_id, &why);
    if (code != 0) {
        json_decref(obj);
        return send_error(c, code, why);
    }
    struct store *st = pool_get(&s->pool);
    pthread_mutex_lock(&s->write_mu);
    int rc = store_suppression_add(st, &sp, &id);
    pthread_mutex_unlock(&s->write_mu);
    json_decref(obj);
    if (rc != 0) {
        enum MHD_Result ret = send_store_error(s, c, rc, st);
        pool_put(&s->pool, st);
        return ret;
    }
    pool_put(&s->pool, st);
    r->id = id;
    r->route = R_SUPP_GET;
    log_notice("http", "suppression=%lld added company=%lld", (long long)id,
               (long long)sp.company_id);
    char target[48];
    snprintf(target, sizeof(target), "suppression:%lld", (long long)id);
    audit_write(s, r, sp.company_id, "suppression_add", target, "");
    struct jw w;
    if (jw_init(&w, 1024, 65536) != 0)
        return send_error(c, 503, "out of memory, retry later");
    st = pool_get(&s->pool);
    rc = store_suppression_list(st, sp.company_id, id, supp_row, &w);
    pool_put(&s->pool, st);
    if (rc != 0) {
        jw_free(&w);
        return send_error(c, 500, "store error");
    }
    return send_jw(c, 201, &w);
}

static enum MHD_Result supp_change(struct server *s, struct MHD_Connection *c, struct req *r)
{
    const char *why = NULL, *reason = NULL;
    json_t *obj = NULL;
    int64_t expires = 0;
    if (r->route == R_SUPP_UPDATE) {
        obj = body_obj(r, &why);
        if (obj == NULL)
            return send_error(c, 400, why);
        expires = expiry_of(obj, (int64_t)ts_now_us());
        size_t known = 0;
        static const char *const keys[] = {"reason", "expires", "duration"};
        for (size_t k = 0; k < 3; k++)
            known += json_object_get(obj, keys[k]) != NULL ? 1u : 0u;
        if (text_member(obj, "reason", 1, 1000, 0, &reason) != 0 || expires < 0 ||
            known != json_object_size(obj) || known == 0) {
            json_decref(obj);
            return send_error(c, 400, "expected reason and/or expires (RFC 3339) or duration");
        }
    }
    struct store *st = pool_get(&s->pool);
    pthread_mutex_lock(&s->write_mu);
    int rc = r->route == R_SUPP_UPDATE
                 ? store_suppression_update(st, r->who.company_id, r->id, reason, expires)
                 : store_suppression_delete(st, r->who.company_id, r->id);
    pthread_mutex_unlock(&s->write_mu);
    json_decref(obj);
    enum MHD_Result ret;
    if (rc == ERR_NOTFOUND)
        ret = send_error(c, 404, "no such suppression rule");
    else if (rc != 0)
        ret = send_store_error(s, c, rc, st);
    else if (r->route == R_SUPP_DELETE)
        ret = send_buf(c, 200, "{\"deleted\":true}", 16, 0);
    else
        ret = MHD_YES;
    pool_put(&s->pool, st);
    if (rc == 0) {
        char target[48];
        snprintf(target, sizeof(target), "suppression:%lld", (long long)r->id);
        audit_write(s, r, r->who.company_id,
                    r->route == R_SUPP_UPDATE ? "suppression_change" : "suppression_delete",
                    target, "");
    }
    if (rc == 0 && r->route == R_SUPP_UPDATE) {
        r->route = R_SUPP_GET;
        return supp_list(s, c, r);
    }
    return ret;
}

enum MHD_Result handle_incidents(struct server *s, struct MHD_Connection *c, struct req *r)
{
    switch (r->route) {
    case R_INC_LIST:
        return inc_list(s, c, r);
    case R_INC_GET:
        return inc_get(s, c, r);
    case R_INC_UPDATE:
        return inc_update(s, c, r);
    case R_INC_COMMENT:
        return inc_comment(s, c, r);
    case R_SUPP_LIST:
    case R_SUPP_GET:
        return supp_list(s, c, r);
    case R_SUPP_ADD:
        return supp_add(s, c, r);
    case R_SUPP_UPDATE:
    case R_SUPP_DELETE:
        return supp_change(s, c, r);
    default:
        return send_error(c, 500, "unexpected route");
    }
}
