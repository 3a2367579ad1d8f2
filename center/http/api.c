/*
 * The API handlers of docs/api.md, called once the whole request is in (server.c has
 * routed it, authenticated device tokens and bounded the body):
 *
 *   POST /api/v1/enroll    enrollment code -> device token (once)
 *   POST /api/v1/ingest    one NDJSON batch, stored exactly once
 *   GET  /api/v1/events    the token's tenant's events
 *   GET  /api/v1/counters  the token's tenant's per-day counters
 *
 * Every read is scoped by req_scope(): a tenant user's own tenant (no parameter can
 * name another one); provider staff name the tenant with ?company=ID.
 */
#include "http/server_int.h"
#include "http/api_json.h"
#include "auth/token.h"
#include "ingest/ingest.h"

#include "otasuke/alloc.h"
#include "otasuke/err.h"
#include "otasuke/timefmt.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *arg(struct MHD_Connection *c, const char *name)
{
    return MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, name);
}

/* ---- enroll ---- */

static enum MHD_Result enroll_reply(struct MHD_Connection *c, const char *token,
                                    const struct principal *who)
{
    struct jw w;
    if (jw_init(&w, 256, 4096) != 0)
        return MHD_NO;
    jw_obj_open(&w, NULL);
    jw_str(&w, "token", token);
    jw_i64(&w, "sensor_id", who->sensor_id);
    jw_i64(&w, "company_id", who->company_id);
    jw_obj_close(&w);
    return send_jw(c, 200, &w);
}

/* Copies the "code" member of the JSON body into code (shape-checked). */
static int enroll_code(const struct req *r, char *code, size_t n)
{
    json_error_t jerr;
    json_t *obj = r->body ? json_loadb(r->body, r->len, 0, &jerr) : NULL;
    json_t *v = json_object_get(obj, "code");
    int ok = json_is_string(v) && token_shape_ok(json_string_value(v), json_string_length(v),
                                                 TOKEN_CODE_PREFIX, TOKEN_CODE_BYTES);
    if (ok)
        snprintf(code, n, "%s", json_string_value(v));
    json_decref(obj);
    return ok ? 0 : ERR_INVAL;
}

enum MHD_Result handle_enroll(struct server *s, struct MHD_Connection *c, struct req *r)
{
    char code[TOKEN_MAX_LEN], token[TOKEN_MAX_LEN];
    if (enroll_code(r, code, sizeof(code)) != 0)
        return send_error(c, 400, "expected {\"code\": \"otc_...\"}");
    if (token_random(TOKEN_DEVICE_PREFIX, TOKEN_DEVICE_BYTES, token, sizeof(token)) != 0)
        return send_error(c, 500, "no randomness");
    uint8_t ch[STORE_HASH_LEN], th[STORE_HASH_LEN];
    token_hash(code, strlen(code), ch);
    token_hash(token, strlen(token), th);
    struct principal who = {0};
    struct store *st = pool_get(&s->pool);
    pthread_mutex_lock(&s->write_mu);
    int rc = store_enroll(st, ch, th, (int64_t)ts_now_us(), &who);
    pthread_mutex_unlock(&s->write_mu);
    enum MHD_Result res;
    if (rc == 0) {
        log_notice("http", "enrolled sensor=%lld company=%lld", (long long)who.sensor_id,
                   (long long)who.company_id);
        res = enroll_reply(c, token, &who);
    } else if (rc == ERR_NOTFOUND) {
        res = send_error(c, 401, "unknown, used or revoked enrollment code");
    } else if (rc == STORE_EXPIRED) {
        res = send_error(c, 401, "enrollment code expired");
    } else {
        res = send_store_error(s, c, rc, st);
    }
    pool_put(&s->pool, st);
    return res;
}

/* ---- ingest ---- */

static void ingest_errors(struct jw *w, const struct ingest_result *res)
{
    jw_arr_open(w, "errors");
    for (size_t i = 0; i < res->n_rejects; i++) {
        jw_obj_open(w, NULL);
        jw_u64(w, "line", res->rejects[i].line);
        jw_str(w, "error", res->rejects[i].why);
        jw_obj_close(w);
    }
    jw_arr_close(w);
    jw_bool(w, "errors_truncated", res->rejected > res->n_rejects);
}

static enum MHD_Result ingest_reply(struct MHD_Connection *c, const struct req *r,
                                    const struct ingest_result *res,
                                    const struct store_batch_result *br, int dup)
{
    struct jw w;
    if (jw_init(&w, 1024, (size_t)64 * 1024) != 0)
        return MHD_NO;
    jw_obj_open(&w, NULL);
    jw_str(&w, "batch", r->batch_id);
    jw_u64(&w, "seq", dup ? br->seq : r->seq);
    jw_bool(&w, "duplicate", dup);
    jw_u64(&w, "stored", br->stored);
    jw_u64(&w, "rejected", br->rejected);
    if (!dup)
        ingest_errors(&w, res);
    jw_obj_close(&w);
    return send_jw(c, 200, &w);
}

/* The body as NDJSON text: itself, or inflated into *owned. Returns 0 or the status. */
static unsigned ingest_text(struct server *s, struct req *r, char **owned, const char **text,
                            size_t *len)
{
    *owned = NULL;
    *text = r->body;
    *len = r->len;
    if (!r->gzip || r->len == 0)
        return 0;
    int rc = ingest_inflate((const uint8_t *)r->body, r->len, s->conf.max_inflated, owned, len);
    if (rc == ERR_LIMIT)
        return 413;
    if (rc == ERR_INVAL)
        return 400;
    if (rc != 0)
        return 503;
    *text = *owned;
    return 0;
}

static enum MHD_Result ingest_store(struct server *s, struct MHD_Connection *c, struct req *r,
                                    const struct ingest_result *res)
{
    struct store_batch b = {.batch_id = r->batch_id,
                            .seq = r->seq,
                            .ev = res->se,
                            .n_ev = res->n_ev,
                            .rejected = res->rejected};
    struct store_batch_result br = {0};
    struct store *st = pool_get(&s->pool);
    bool serial = store_serial_writes(st); /* SQLite: one writer; PostgreSQL: concurrent */
    if (serial)
        pthread_mutex_lock(&s->write_mu);
    int rc = store_ingest(st, &r->who, &b, (int64_t)ts_now_us(), &br);
    if (serial)
        pthread_mutex_unlock(&s->write_mu);
    enum MHD_Result ret;
    if (rc == 0 || rc == STORE_DUPLICATE) {
        log_info("http", "ingest sensor=%lld batch=%s seq=%llu stored=%llu rejected=%llu dup=%d",
                 (long long)r->who.sensor_id, r->batch_id, (unsigned long long)r->seq,
                 (unsigned long long)br.stored, (unsigned long long)br.rejected,
                 rc == STORE_DUPLICATE);
        metrics_ingest(&s->metrics, rc == STORE_DUPLICATE, br.stored, br.rejected);
        ret = ingest_reply(c, r, res, &br, rc == STORE_DUPLICATE);
        if (rc == 0 && br.notifications > 0)
            notify_kick(s->notifier);
    } else {
        ret = send_store_error(s, c, rc, st);
    }
    pool_put(&s->pool, st);
    return ret;
}

enum MHD_Result handle_ingest(struct server *s, struct MHD_Connection *c, struct req *r)
{
    char *owned = NULL;
    const char *text = NULL;
    size_t len = 0;
    unsigned st = ingest_text(s, r, &owned, &text, &len);
    if (st != 0)
        return send_error(c, st, st == 400   ? "corrupt gzip/deflate body"
                                 : st == 413 ? "body larger than the ingest limit once inflated"
                                             : "out of memory, retry later");
    struct ingest_limits lim = {s->conf.max_line, s->conf.max_events};
    struct ingest_result *res = xcalloc(MEM_CORE, 1, sizeof(*res));
    enum MHD_Result ret;
    if (res == NULL || ingest_parse(text ? text : "", len, &lim, res) != 0)
        ret = send_error(c, 503, "out of memory, retry later");
    else if (res->lines == 0)
        ret = send_error(c, 400, "empty batch: no event lines");
    else
        ret = ingest_store(s, c, r, res);
    if (res != NULL)
        ingest_result_free(res);
    xfree(res);
    xfree(owned);
    return ret;
}

/* ---- events ---- */

struct events_out {
    struct jw *w;
    int64_t last_id;
    int more;
};

static int events_row(void *arg, const struct store_event_row *row)
{
    struct events_out *o = arg;
    if (o->w->len + strlen(row->body) > RESPONSE_SOFT_MAX && o->last_id != 0) {
        o->more = 1;
        return 1;
    }
    char rec[TS_RFC3339_LEN];
    ts_format(rec, sizeof(rec), (uint64_t)row->received_us, 0);
    jw_obj_open(o->w, NULL);
    jw_i64(o->w, "id", row->id);
    jw_i64(o->w, "sensor_id", row->sensor_id);
    jw_str(o->w, "event_type", row->event_type);
    jw_str(o->w, "received", rec);
    jw_raw(o->w, "event", row->body, strlen(row->body));
    jw_obj_close(o->w);
    o->last_id = row->id;
    return 0;
}

static int type_arg_ok(const char *t)
{
    size_t n = strlen(t);
    if (n == 0 || n > INGEST_TYPE_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((t[i] >= 'a' && t[i] <= 'z') || (t[i] >= '0' && t[i] <= '9') || t[i] == '_'))
            return 0;
    return 1;
}

/* Fills q from ?type=&since=&after=&limit=; returns NULL or what is wrong. */
static const char *events_query(struct MHD_Connection *c, struct store_event_query *q)
{
    const char *type = arg(c, "type"), *since = arg(c, "since"), *after = arg(c, "after"),
               *limit = arg(c, "limit");
    q->limit = EVENTS_DEFAULT_LIMIT;
    if (type != NULL && !type_arg_ok(type))
        return "type: expected [a-z0-9_]{1,64}";
    q->event_type = type;
    if (since != NULL && ingest_parse_time(since, strlen(since), &q->since_us) != 0)
        return "since: expected an RFC 3339 time";
    char *end = NULL;
    if (after != NULL) {
        q->after_id = strtoll(after, &end, 10);
        if (*after == '\0' || *end != '\0' || q->after_id < 0)
            return "after: expected an event id";
    }
    if (limit != NULL) {
        long v = strtol(limit, &end, 10);
        if (*limit == '\0' || *end != '\0' || v < 1 || v > EVENTS_MAX_LIMIT)
            return "limit: expected 1..1000";
        q->limit = (int)v;
    }
    return NULL;
}

struct events_list {
    const struct store_event_query *q;
    struct events_out o;
};

static int events_fill(struct store *st, struct jw *w, void *arg)
{
    struct events_list *l = arg;
    l->o.w = w;
    return store_events(st, l->q, events_row, &l->o);
}

static void events_tail(struct jw *w, void *arg)
{
    const struct events_list *l = arg;
    jw_i64(w, "next_after", l->o.last_id ? l->o.last_id : l->q->after_id);
    jw_bool(w, "more", l->o.more);
}

enum MHD_Result handle_events(struct server *s, struct MHD_Connection *c, struct req *r)
{
    struct store_event_query q = {0};
    const char *bad = NULL;
    unsigned code = req_scope(c, r, 1, &q.company_id, &bad);
    if (code != 0)
        return send_error(c, code, bad);
    bad = events_query(c, &q);
    if (bad != NULL)
        return send_error(c, 400, bad);
    struct events_list l = {.q = &q};
    return apij_send_list(s, c, "events", events_fill, &l, events_tail);
}

/* ---- counters ---- */

static int counters_row(void *arg, const struct store_counter_row *row)
{
    struct jw *w = arg;
    jw_obj_open(w, NULL);
    jw_str(w, "day", row->day);
    jw_str(w, "event_type", row->event_type);
    jw_str(w, "category", row->category);
    jw_i64(w, "count", row->count);
    jw_obj_close(w);
    return w->bad ? 1 : 0; /* jw_ok() also wants the document closed */
}

static int counters_fill(struct store *st, struct jw *w, void *arg)
{
    return store_counters(st, arg, counters_row, w);
}

static int day_ok(const char *d)
{
    int64_t us;
    char full[32];
    if (strlen(d) != 10)
        return 0;
    snprintf(full, sizeof(full), "%sT00:00:00Z", d);
    return ingest_parse_time(full, strlen(full), &us) == 0;
}

enum MHD_Result handle_counters(struct server *s, struct MHD_Connection *c, struct req *r)
{
    struct store_counter_query q = {.event_type = arg(c, "type"),
                                    .day_from = arg(c, "from"),
                                    .day_to = arg(c, "to")};
    const char *why = NULL;
    unsigned code = req_scope(c, r, 1, &q.company_id, &why);
    if (code != 0)
        return send_error(c, code, why);
    if (q.event_type != NULL && !type_arg_ok(q.event_type))
        return send_error(c, 400, "type: expected [a-z0-9_]{1,64}");
    if ((q.day_from != NULL && !day_ok(q.day_from)) || (q.day_to != NULL && !day_ok(q.day_to)))
        return send_error(c, 400, "from/to: expected YYYY-MM-DD");
    return apij_send_list(s, c, "counters", counters_fill, &q, NULL);
}
