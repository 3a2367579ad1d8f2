/*
 * Incidents, suppression rules and the notification queue of the SQLite store
 * (store.h, "incidents" part).
 *
 * incident_on_alert() runs inside the ingest transaction for every stored alert, so
 * an acknowledged batch has its incidents, suppression marks and queued notifications
 * committed with it, or none of them (a replayed batch is a duplicate and groups
 * nothing twice). What it keeps true:
 *  - an alert is either suppressed (a row in suppressed_alerts, the rule's hit count,
 *    the "alert_suppressed" counter) or in exactly one incident's timeline;
 *  - an incident is keyed by tenant and device; an alert joins the most recent open
 *    incident of its device whose [first_seen - window, last_seen + window] holds the
 *    alert's time, else opens one;
 *  - severity is the most severe (lowest number) of the timeline; a notification is
 *    queued when an incident opens or its severity rises to a level at or above the
 *    tenant's threshold that was not notified before (notified_severity);
 *  - a resolved or false-positive incident never changes state again, and takes no
 *    new alerts: the device's next alert opens a new incident.
 */
#include "store/sqlite_int.h"

#include "otasuke/alloc.h"
#include "otasuke/err.h"

#include <arpa/inet.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STEPS_MAX 4096 /* bytes of first-steps text kept per language */
#define CATS_MAX 512

static const char *const g_states[INC_STATE_COUNT] = {
    "new", "acknowledged", "customer_contacted", "onsite_dispatch", "resolved", "false_positive",
};

const char *incident_state_name(int state)
{
    return state >= 0 && state < INC_STATE_COUNT ? g_states[state] : NULL;
}

int incident_state_parse(const char *s)
{
    for (int i = 0; s != NULL && i < INC_STATE_COUNT; i++)
        if (strcmp(s, g_states[i]) == 0)
            return i;
    return -1;
}

int incident_transition_ok(int from, int to)
{
    /* new -> acknowledged -> customer_contacted -> onsite_dispatch -> resolved, forward
     * only; false_positive from any open state; resolved once acknowledged. */
    if (from < 0 || to < 0 || from >= INC_STATE_COUNT || to >= INC_STATE_COUNT)
        return 0;
    if (from >= INC_RESOLVED)
        return 0;
    if (to == INC_FALSE_POSITIVE)
        return 1;
    if (to == INC_RESOLVED)
        return from != INC_NEW;
    return to == from + 1;
}

/* ---- the alert's fields ---- */

struct alert_info {
    int severity;
    int64_t sig_id;
    char sig[256], sig_ja[256];
    char act_ja[1024], act_en[1024];
    char ip[64], mac[32], name[128];
    char key[96], ip_key[96];
};

/* Copies at most n-1 bytes of UTF-8 text, cut at a character boundary, with control
 * characters (newlines too) turned into spaces. */
static void copy_text(char *dst, size_t n, const char *src)
{
    size_t len = src ? strlen(src) : 0;
    if (len >= n) {
        len = n - 1;
        while (len > 0 && ((unsigned char)src[len] & 0xc0) == 0x80)
            len--;
    }
    for (size_t i = 0; i < len; i++) {
        dst[i] = src[i];
        if ((unsigned char)src[i] < 0x20 || src[i] == 0x7f)
            dst[i] = ' ';
    }
    dst[len] = '\0';
}

static int mac_norm(const char *s, char out[18])
{
    if (s == NULL || strlen(s) != 17)
        return ERR_INVAL;
    for (int i = 0; i < 17; i++) {
        char c = s[i];
        if (i % 3 == 2) {
            if (c != ':' && c != '-')
                return ERR_INVAL;
            out[i] = ':';
            continue;
        }
        if (c >= 'A' && c <= 'F')
            c = (char)(c - 'A' + 'a');
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return ERR_INVAL;
        out[i] = c;
    }
    out[17] = '\0';
    return 0;
}

static int ip_ok(const char *s)
{
    unsigned char buf[16];
    return s != NULL && strlen(s) < 64 &&
           (inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1);
}

int store_device_key(const char *device, char *key, size_t n)
{
    char mac[18];
    if (mac_norm(device, mac) == 0)
        snprintf(key, n, "mac:%s", mac);
    else if (ip_ok(device))
        snprintf(key, n, "ip:%s", device);
    else
        return ERR_INVAL;
    return 0;
}

static void alert_read(json_t *obj, struct alert_info *a)
{
    memset(a, 0, sizeof(*a));
    json_t *al = json_object_get(obj, "alert");
    json_t *sev = json_object_get(al, "severity");
    a->severity = json_is_integer(sev) && json_integer_value(sev) >= 1 &&
                          json_integer_value(sev) <= 4
                      ? (int)json_integer_value(sev)
                      : 3;
    json_t *sid = json_object_get(al, "signature_id");
    a->sig_id = json_is_integer(sid) && json_integer_value(sid) >= 0 ? json_integer_value(sid) : -1;
    copy_text(a->sig, sizeof(a->sig), json_string_value(json_object_get(al, "signature")));
    copy_text(a->sig_ja, sizeof(a->sig_ja),
              json_string_value(json_object_get(al, "signature_ja")));
    json_t *act = json_object_get(al, "action");
    copy_text(a->act_ja, sizeof(a->act_ja), json_string_value(json_object_get(act, "ja")));
    copy_text(a->act_en, sizeof(a->act_en), json_string_value(json_object_get(act, "en")));
    json_t *dev = json_object_get(obj, "device");
    const char *ip = json_string_value(json_object_get(dev, "ip"));
    if (!ip_ok(ip))
        ip = json_string_value(json_object_get(obj, "src_ip")); /* no device: the source */
    if (ip_ok(ip))
        snprintf(a->ip, sizeof(a->ip), "%s", ip);
    char mac[18];
    if (mac_norm(json_string_value(json_object_get(dev, "mac")), mac) == 0)
        memcpy(a->mac, mac, sizeof(mac));
    copy_text(a->name, sizeof(a->name), json_string_value(json_object_get(dev, "name")));
    if (a->ip[0])
        snprintf(a->ip_key, sizeof(a->ip_key), "ip:%s", a->ip);
    if (a->mac[0])
        snprintf(a->key, sizeof(a->key), "mac:%s", a->mac);
    else if (a->ip[0])
        memcpy(a->key, a->ip_key, sizeof(a->key));
    else
        snprintf(a->key, sizeof(a->key), "unknown");
}

/* ---- statements of the ingest path ---- */

enum xstmt_id {
    X_COMPANY,
    X_SUPP_MATCH,
    X_SUPP_HIT,
    X_SUPP_ALERT,
    X_COUNTER,
    X_INC_FIND,
    X_INC_NEW,
    X_INC_JOIN,
    X_INC_ALERT,
    X_INC_NOTIFIED,
    X_NOTIFY_ADD,
    X_COUNT
};

static const char *const g_xsql[X_COUNT] = {
    [X_COMPANY] = "SELECT notify_severity, webhook_url FROM companies WHERE id=?",
    [X_SUPP_MATCH] = "SELECT id FROM suppressions WHERE company_id=?1 AND expires>?2 "
                     "AND (signature_id IS NULL OR signature_id=?3) "
                     "AND (device_key IS NULL OR device_key=?4 OR device_key=?5) "
                     "ORDER BY id LIMIT 1",
    [X_SUPP_HIT] = "UPDATE suppressions SET hits=hits+1 WHERE id=?",
    [X_SUPP_ALERT] = "INSERT INTO suppressed_alerts(event_id, suppression_id, "
                     "company_id) VALUES(?,?,?) ON CONFLICT DO NOTHING",
    [X_COUNTER] = "INSERT INTO counters(company_id, day, event_type, category, count) "
                  "VALUES(?,?,?,?,1) ON CONFLICT(company_id, day, event_type, category) "
                  "DO UPDATE SET count = counters.count + 1",
    [X_INC_FIND] = "SELECT id, severity, categories, steps_ja, steps_en, notified_severity "
                   "FROM incidents WHERE company_id=?1 AND device_key=?2 AND state<4 "
                   "AND last_seen>=?3 AND first_seen<=?4 ORDER BY last_seen DESC LIMIT 1",
    [X_INC_NEW] = "INSERT INTO incidents(company_id, device_key, device_ip, device_mac, "
                  "device_name, severity, categories, steps_ja, steps_en, alerts, first_seen, "
                  "last_seen, created, updated) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,1,?10,?10,"
                  "?11,?11)",
    [X_INC_JOIN] = "UPDATE incidents SET severity=?2, categories=?3, steps_ja=?4, steps_en=?5, "
                   "alerts=alerts+1, first_seen=CASE WHEN first_seen<?6 THEN first_seen ELSE ?6 END, "
                   "last_seen=CASE WHEN last_seen>?6 THEN last_seen ELSE ?6 END, "
                   "updated=?7, device_ip=coalesce(device_ip,?8), device_mac=coalesce("
                   "device_mac,?9), device_name=coalesce(?10,device_name) WHERE id=?1",
    [X_INC_ALERT] = "INSERT INTO incident_alerts(incident_id, event_id, ts, severity, "
                    "category, signature_id, signature, signature_ja) VALUES(?,?,?,?,?,?,?,?) "
                    "ON CONFLICT DO NOTHING",
    [X_INC_NOTIFIED] = "UPDATE incidents SET notified_severity=? WHERE id=?",
    [X_NOTIFY_ADD] = "INSERT INTO notifications(company_id, incident_id, channel, reason, "
                     "severity, target, next_attempt, created) VALUES(?,?,?,?,?,?,?,?)",
};

static struct db_stmt *xs(struct store *st, enum xstmt_id id)
{
    struct db_stmt *s = store_xprep(st, (int)id, g_xsql[id]);
    if (s != NULL) {
        db_reset(s);
        db_clear_bindings(s);
    }
    return s;
}

/* Steps a statement that returns no row. */
static int x_done(struct store *st, struct db_stmt *s, const char *what)
{
    int rc = db_step(s);
    db_reset(s);
    return rc == DB_DONE ? 0 : store_set_err(st, rc, what);
}

static void bind_text_or_null(struct db_stmt *s, int i, const char *v)
{
    if (v != NULL && v[0] != '\0')
        db_bind_text(s, i, v, -1, DB_TRANSIENT);
    else
        db_bind_null(s, i);
}

static int company_load(struct store *st, struct incident_batch_ctx *ctx)
{
    if (ctx->have_company)
        return 0;
    struct db_stmt *s = xs(st, X_COMPANY);
    if (s == NULL)
        return ERR_IO;
    db_bind_int64(s, 1, ctx->company_id);
    int rc = db_step(s);
    if (rc == DB_ROW) {
        ctx->notify_severity = db_column_int(s, 0);
        snprintf(ctx->webhook, sizeof(ctx->webhook), "%s",
                 db_column_text(s, 1));
    }
    db_reset(s);
    if (rc != DB_ROW)
        return store_set_err(st, rc == DB_DONE ? DB_ERROR : rc, "company of alert");
    ctx->have_company = 1;
    return 0;
}

static void utc_day(int64_t ts_us, char out[11])
{
    time_t t = (time_t)(ts_us / 1000000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 11, "%Y-%m-%d", &tm);
}

/* 1 and *rule when an unexpired rule of the tenant matches; marks and counts it. */
static int suppress(struct store *st, struct incident_batch_ctx *ctx, int64_t event_id,
                    const struct store_event *e, const struct alert_info *a, int64_t now,
                    int *hit)
{
    *hit = 0;
    struct db_stmt *s = xs(st, X_SUPP_MATCH);
    if (s == NULL)
        return ERR_IO;
    db_bind_int64(s, 1, ctx->company_id);
    db_bind_int64(s, 2, now);
    db_bind_int64(s, 3, a->sig_id);
    db_bind_text(s, 4, a->key, -1, DB_STATIC);
    db_bind_text(s, 5, a->ip_key[0] ? a->ip_key : a->key, -1, DB_STATIC);
    int rc = db_step(s);
    int64_t rule = rc == DB_ROW ? db_column_int64(s, 0) : 0;
    db_reset(s);
    if (rc != DB_ROW && rc != DB_DONE)
        return store_set_err(st, rc, "suppression lookup");
    if (rule == 0)
        return 0;
    *hit = 1;
    s = xs(st, X_SUPP_HIT);
    if (s == NULL)
        return ERR_IO;
    db_bind_int64(s, 1, rule);
    if ((rc = x_done(st, s, "suppression hit")) != 0)
        return rc;
    s = xs(st, X_SUPP_ALERT);
    if (s == NULL)
        return ERR_IO;
    db_bind_int64(s, 1, event_id);
    db_bind_int64(s, 2, rule);
    db_bind_int64(s, 3, ctx->company_id);
    if ((rc = x_done(st, s, "suppressed alert")) != 0)
        return rc;
    char day[11];
    utc_day(e->ts_us, day);
    s = xs(st, X_COUNTER);
    if (s == NULL)
        return ERR_IO;
    db_bind_int64(s, 1, ctx->company_id);
    db_bind_text(s, 2, day, -1, DB_TRANSIENT);
    db_bind_text(s, 3, "alert_suppressed", -1, DB_STATIC);
    db_bind_text(s, 4, e->category, -1, DB_STATIC);
    return x_done(st, s, "suppressed counter");
}

/* Adds cat to the sorted comma-separated set in cats (n bytes). */
static void cats_add(char *cats, size_t n, const char *cat)
{
    char copy[CATS_MAX];
    const char *items[64];
    int ni = 0;
    snprintf(copy, sizeof(copy), "%s", cats);
    for (char *save = NULL, *t = strtok_r(copy, ",", &save); t != NULL && ni < 63;
         t = strtok_r(NULL, ",", &save)) {
        if (strcmp(t, cat) == 0)
            return;
        items[ni++] = t;
    }
    items[ni++] = cat;
    for (int i = 1; i < ni; i++) /* insertion sort: a handful of items */
        for (int j = i; j > 0 && strcmp(items[j - 1], items[j]) > 0; j--) {
            const char *tmp = items[j];
            items[j] = items[j - 1];
            items[j - 1] = tmp;
        }
    char out[CATS_MAX];
    size_t len = 0;
    out[0] = '\0';
    for (int i = 0; i < ni; i++) {
        int w = snprintf(out + len, sizeof(out) - len, "%s%s", i ? "," : "", items[i]);
        if (w < 0 || (size_t)w >= sizeof(out) - len)
            return; /* full: keep the old set */
        len += (size_t)w;
    }
    snprintf(cats, n, "%s", out);
}

/* Appends the line `add` to steps (n bytes) unless it is there or does not fit. */
static void steps_add(char *steps, size_t n, const char *add)
{
    if (add[0] == '\0')
        return;
    size_t al = strlen(add);
    for (const char *p = steps; *p;) {
        const char *nl = strchr(p, '\n');
        size_t l = nl ? (size_t)(nl - p) : strlen(p);
        if (l == al && memcmp(p, add, al) == 0)
            return;
        p += l + (nl ? 1 : 0);
    }
    size_t len = strlen(steps);
    if (len + al + 2 > n)
        return;
    snprintf(steps + len, n - len, "%s%s", len ? "\n" : "", add);
}

struct open_inc {
    int64_t id;
    int severity;
    int notified; /* 0: never */
    char cats[CATS_MAX];
    char steps_ja[STEPS_MAX], steps_en[STEPS_MAX];
};

static int inc_find(struct store *st, struct incident_batch_ctx *ctx, const struct alert_info *a,
                    int64_t ts, struct open_inc *o)
{
    struct db_stmt *s = xs(st, X_INC_FIND);
    if (s == NULL)
        return ERR_IO;
    db_bind_int64(s, 1, ctx->company_id);
    db_bind_text(s, 2, a->key, -1, DB_STATIC);
    db_bind_int64(s, 3, ts - st->incident_window_us);
    db_bind_int64(s, 4, ts + st->incident_window_us);
    int rc = db_step(s);
    o->id = 0;
    if (rc == DB_ROW) {
        o->id = db_column_int64(s, 0);
        o->severity = db_column_int(s, 1);
        snprintf(o->cats, sizeof(o->cats), "%s", db_column_text(s, 2));
        snprintf(o->steps_ja, sizeof(o->steps_ja), "%s", db_column_text(s, 3));
        snprintf(o->steps_en, sizeof(o->steps_en), "%s", db_column_text(s, 4));
        o->notified = db_column_is_null(s, 5) ? 0 : db_column_int(s, 5);
    }
    db_reset(s);
    return rc == DB_ROW || rc == DB_DONE ? 0 : store_set_err(st, rc, "incident lookup");
}

static int inc_write(struct store *st, struct incident_batch_ctx *ctx, const struct alert_info *a,
                     const struct store_event *e, int64_t now, struct open_inc *o, int fresh)
{
    struct db_stmt *s = xs(st, fresh ? X_INC_NEW : X_INC_JOIN);
    if (s == NULL)
        return ERR_IO;
    if (fresh) {
        db_bind_int64(s, 1, ctx->company_id);
        db_bind_text(s, 2, a->key, -1, DB_STATIC);
        bind_text_or_null(s, 3, a->ip);
        bind_text_or_null(s, 4, a->mac);
        bind_text_or_null(s, 5, a->name);
        db_bind_int(s, 6, o->severity);
        db_bind_text(s, 7, o->cats, -1, DB_STATIC);
        db_bind_text(s, 8, o->steps_ja, -1, DB_STATIC);
        db_bind_text(s, 9, o->steps_en, -1, DB_STATIC);
        db_bind_int64(s, 10, e->ts_us);
        db_bind_int64(s, 11, now);
    } else {
        db_bind_int64(s, 1, o->id);
        db_bind_int(s, 2, o->severity);
        db_bind_text(s, 3, o->cats, -1, DB_STATIC);
        db_bind_text(s, 4, o->steps_ja, -1, DB_STATIC);
        db_bind_text(s, 5, o->steps_en, -1, DB_STATIC);
        db_bind_int64(s, 6, e->ts_us);
        db_bind_int64(s, 7, now);
        bind_text_or_null(s, 8, a->ip);
        bind_text_or_null(s, 9, a->mac);
        bind_text_or_null(s, 10, a->name);
    }
    int rc = x_done(st, s, fresh ? "incident insert" : "incident update");
    if (rc == 0 && fresh)
        o->id = db_last_insert_id(st->db);
    return rc;
}

static int timeline_add(struct store *st, const struct open_inc *o, int64_t event_id,
                        const struct store_event *e, const struct alert_info *a)
{
    struct db_stmt *s = xs(st, X_INC_ALERT);
    if (s == NULL)
        return ERR_IO;
    db_bind_int64(s, 1, o->id);
    db_bind_int64(s, 2, event_id);
    db_bind_int64(s, 3, e->ts_us);
    db_bind_int(s, 4, a->severity);
    db_bind_text(s, 5, e->category, -1, DB_STATIC);
    if (a->sig_id >= 0)
        db_bind_int64(s, 6, a->sig_id);
    else
        db_bind_null(s, 6);
    db_bind_text(s, 7, a->sig, -1, DB_STATIC);
    db_bind_text(s, 8, a->sig_ja, -1, DB_STATIC);
    return x_done(st, s, "timeline insert");
}

static int notify_add(struct store *st, struct incident_batch_ctx *ctx, const struct open_inc *o,
                      const char *channel, const char *reason, const char *target, int64_t now)
{
    struct db_stmt *s = xs(st, X_NOTIFY_ADD);
    if (s == NULL)
        return ERR_IO;
    db_bind_int64(s, 1, ctx->company_id);
    db_bind_int64(s, 2, o->id);
    db_bind_text(s, 3, channel, -1, DB_STATIC);
    db_bind_text(s, 4, reason, -1, DB_STATIC);
    db_bind_int(s, 5, o->severity);
    db_bind_text(s, 6, target, -1, DB_STATIC);
    db_bind_int64(s, 7, now);
    db_bind_int64(s, 8, now);
    int rc = x_done(st, s, "notification insert");
    if (rc == 0)
        ctx->queued++;
    return rc;
}

/* Queues the notifications an opened or escalated incident deserves. */
static int notify_maybe(struct store *st, struct incident_batch_ctx *ctx, struct open_inc *o,
                        int fresh, int escalated, int64_t now)
{
    if (!fresh && !escalated)
        return 0;
    int rc = company_load(st, ctx);
    if (rc != 0)
        return rc;
    if (o->severity > ctx->notify_severity || (o->notified != 0 && o->severity >= o->notified))
        return 0;
    const char *reason = fresh ? "opened" : "escalated";
    rc = notify_add(st, ctx, o, "mail", reason, "", now);
    if (rc == 0 && ctx->webhook[0] != '\0')
        rc = notify_add(st, ctx, o, "webhook", reason, ctx->webhook, now);
    if (rc != 0)
        return rc;
    struct db_stmt *s = xs(st, X_INC_NOTIFIED);
    if (s == NULL)
        return ERR_IO;
    db_bind_int(s, 1, o->severity);
    db_bind_int64(s, 2, o->id);
    return x_done(st, s, "incident notified");
}

int incident_on_alert(struct store *st, struct incident_batch_ctx *ctx, int64_t event_id,
                      const struct store_event *e, int64_t now)
{
    json_error_t jerr;
    json_t *obj = json_loadb(e->body, e->body_len, JSON_ALLOW_NUL, &jerr);
    if (obj == NULL) /* ingest validated it: only out of memory gets here */
        return ERR_NOMEM;
    struct alert_info *a = xcalloc(MEM_CORE, 1, sizeof(*a));
    struct open_inc *o = xcalloc(MEM_CORE, 1, sizeof(*o));
    int rc = ERR_NOMEM;
    if (a == NULL || o == NULL)
        goto out;
    alert_read(obj, a);
    int hit = 0;
    rc = suppress(st, ctx, event_id, e, a, now, &hit);
    if (rc != 0 || hit)
        goto out;
    rc = inc_find(st, ctx, a, e->ts_us, o);
    if (rc != 0)
        goto out;
    int fresh = o->id == 0, escalated = 0;
    if (fresh) {
        o->severity = a->severity;
    } else if (a->severity < o->severity) {
        o->severity = a->severity;
        escalated = 1;
    }
    cats_add(o->cats, sizeof(o->cats), e->category);
    steps_add(o->steps_ja, sizeof(o->steps_ja), a->act_ja);
    steps_add(o->steps_en, sizeof(o->steps_en), a->act_en);
    rc = inc_write(st, ctx, a, e, now, o, fresh);
    if (rc == 0)
        rc = timeline_add(st, o, event_id, e, a);
    if (rc == 0)
        rc = notify_maybe(st, ctx, o, fresh, escalated, now);
out:
    xfree(a);
    xfree(o);
    json_decref(obj);
    return rc;
}

/* ---- reads and changes (API, CLI, sender) ---- */

#define INC_COLS                                                                               \
    "i.id, i.company_id, i.device_key, i.device_ip, i.device_mac, i.device_name, i.severity, " \
    "i.categories, i.steps_ja, i.steps_en, i.state, i.assignee, i.alerts, i.first_seen, "      \
    "i.last_seen, i.created, i.updated"
#define INC_NCOLS 17

static const char *col_text(struct db_stmt *s, int i)
{
    return db_column_text(s, i);
}

static void inc_read(struct db_stmt *s, int off, struct store_incident *inc)
{
    inc->id = db_column_int64(s, off + 0);
    inc->company_id = db_column_int64(s, off + 1);
    inc->device_key = col_text(s, off + 2);
    inc->device_ip = col_text(s, off + 3);
    inc->device_mac = col_text(s, off + 4);
    inc->device_name = col_text(s, off + 5);
    inc->severity = db_column_int(s, off + 6);
    inc->categories = col_text(s, off + 7);
    inc->steps_ja = col_text(s, off + 8);
    inc->steps_en = col_text(s, off + 9);
    inc->state = db_column_int(s, off + 10);
    inc->assignee = col_text(s, off + 11);
    inc->alerts = db_column_int64(s, off + 12);
    inc->first_seen = db_column_int64(s, off + 13);
    inc->last_seen = db_column_int64(s, off + 14);
    inc->created = db_column_int64(s, off + 15);
    inc->updated = db_column_int64(s, off + 16);
}

static int prepare(struct store *st, const char *sql, struct db_stmt **s, const char *what)
{
    int rc = db_prepare(st->db, sql, s);
    return rc == DB_OK ? 0 : store_set_err(st, rc, what);
}

/* Steps s through its rows, calling each(arg, s) until it returns nonzero. */
static int rows(struct store *st, struct db_stmt *s, int (*each)(void *, struct db_stmt *), void *arg,
                const char *what)
{
    int rc;
    while ((rc = db_step(s)) == DB_ROW)
        if (each(arg, s) != 0)
            return 0;
    return rc == DB_DONE ? 0 : store_set_err(st, rc, what);
}

struct inc_cb {
    store_incident_cb cb;
    void *arg;
    int n;
};

static int inc_row(void *arg, struct db_stmt *s)
{
    struct inc_cb *c = arg;
    struct store_incident inc;
    inc_read(s, 0, &inc);
    c->n++;
    return c->cb(c->arg, &inc);
}

int store_incident_list(struct store *st, const struct store_incident_query *q,
                        store_incident_cb cb, void *arg)
{
    struct db_stmt *s = NULL;
    int rc = prepare(st,
                     "SELECT " INC_COLS " FROM incidents i WHERE (?1=0 OR i.company_id=?1) "
                     "AND (?2<0 OR i.state=?2) AND i.severity<=?3 AND i.last_seen>=?4 "
                     "AND i.first_seen<=?5 AND (?6=0 OR i.id<?6) ORDER BY i.id DESC LIMIT ?7",
                     &s, "incident list");
    if (rc != 0)
        return rc;
    db_bind_int64(s, 1, q->company_id);
    db_bind_int(s, 2, q->state);
    db_bind_int(s, 3, q->severity_max);
    db_bind_int64(s, 4, q->since_us);
    db_bind_int64(s, 5, q->until_us);
    db_bind_int64(s, 6, q->after_id);
    db_bind_int(s, 7, q->limit);
    struct inc_cb c = {cb, arg, 0};
    rc = rows(st, s, inc_row, &c, "incident list");
    db_finalize(s);
    return rc;
}

struct get_cb {
    int (*alert)(void *arg, const struct store_incident_alert *a);
    int (*note)(void *arg, const struct store_incident_note *n);
    int (*notif)(void *arg, const struct store_notification *n);
    void *arg;
};

static int alert_row(void *arg, struct db_stmt *s)
{
    struct get_cb *g = arg;
    struct store_incident_alert a = {
        .event_id = db_column_int64(s, 0),
        .ts = db_column_int64(s, 1),
        .severity = db_column_int(s, 2),
        .category = col_text(s, 3),
        .signature_id = db_column_is_null(s, 4) ? -1 : db_column_int64(s, 4),
        .signature = col_text(s, 5),
        .signature_ja = col_text(s, 6),
        .body = col_text(s, 7),
    };
    return g->alert(g->arg, &a);
}

static int note_row(void *arg, struct db_stmt *s)
{
    struct get_cb *g = arg;
    struct store_incident_note n = {
        .id = db_column_int64(s, 0),
        .at = db_column_int64(s, 1),
        .author = col_text(s, 2),
        .kind = col_text(s, 3),
        .text = col_text(s, 4),
    };
    return g->note(g->arg, &n);
}

#define NOTIF_COLS                                                                          \
    "n.id, n.company_id, n.incident_id, n.channel, n.reason, n.severity, n.target, n.state, " \
    "n.attempts, n.next_attempt, n.created, n.sent, n.last_error"
#define NOTIF_NCOLS 13

static void notif_read(struct db_stmt *s, struct store_notification *n)
{
    n->id = db_column_int64(s, 0);
    n->company_id = db_column_int64(s, 1);
    n->incident_id = db_column_int64(s, 2);
    n->channel = col_text(s, 3);
    n->reason = col_text(s, 4);
    n->severity = db_column_int(s, 5);
    n->target = col_text(s, 6);
    n->state = col_text(s, 7);
    n->attempts = db_column_int(s, 8);
    n->next_attempt = db_column_int64(s, 9);
    n->created = db_column_int64(s, 10);
    n->sent = db_column_is_null(s, 11) ? 0 : db_column_int64(s, 11);
    n->last_error = col_text(s, 12);
}

static int notif_row(void *arg, struct db_stmt *s)
{
    struct get_cb *g = arg;
    struct store_notification n;
    notif_read(s, &n);
    return g->notif(g->arg, &n);
}

static int get_part(struct store *st, const char *sql, int64_t id, int (*each)(void *, struct db_stmt *),
                    struct get_cb *g)
{
    struct db_stmt *s = NULL;
    int rc = prepare(st, sql, &s, "incident get");
    if (rc != 0)
        return rc;
    db_bind_int64(s, 1, id);
    rc = rows(st, s, each, g, "incident get");
    db_finalize(s);
    return rc;
}

int store_incident_get(struct store *st, int64_t company_id, int64_t id, store_incident_cb inc,
                       int (*alert)(void *arg, const struct store_incident_alert *a),
                       int (*note)(void *arg, const struct store_incident_note *n),
                       int (*notif)(void *arg, const struct store_notification *n), void *arg)
{
    struct db_stmt *s = NULL;
    /* One read transaction: the parts agree with each other. */
    int rc = prepare(st, "BEGIN", &s, "incident get");
    if (rc != 0)
        return rc;
    rc = db_step(s);
    db_finalize(s);
    if (rc != DB_DONE)
        return store_set_err(st, rc, "incident get");
    rc = prepare(st, "SELECT " INC_COLS " FROM incidents i WHERE i.id=?1 AND (?2=0 OR "
                     "i.company_id=?2)",
                 &s, "incident get");
    if (rc == 0) {
        db_bind_int64(s, 1, id);
        db_bind_int64(s, 2, company_id);
        struct inc_cb c = {inc, arg, 0};
        rc = rows(st, s, inc_row, &c, "incident get");
        if (rc == 0 && c.n == 0)
            rc = ERR_NOTFOUND;
        db_finalize(s);
    }
    struct get_cb g = {alert, note, notif, arg};
    if (rc == 0 && alert != NULL)
        rc = get_part(st,
                      "SELECT a.event_id, a.ts, a.severity, a.category, a.signature_id, "
                      "a.signature, a.signature_ja, e.body FROM incident_alerts a JOIN incidents i "
                      "ON i.id=a.incident_id JOIN events e ON e.company_id=i.company_id "
                      "AND e.id=a.event_id WHERE a.incident_id=? ORDER BY a.ts, a.event_id",
                      id, alert_row, &g);
    if (rc == 0 && note != NULL)
        rc = get_part(st,
                      "SELECT id, at, author, kind, text FROM incident_notes WHERE "
                      "incident_id=? ORDER BY id",
                      id, note_row, &g);
    if (rc == 0 && notif != NULL)
        rc = get_part(st,
                      "SELECT " NOTIF_COLS " FROM notifications n WHERE n.incident_id=? "
                      "ORDER BY n.id",
                      id, notif_row, &g);
    if (prepare(st, "COMMIT", &s, "incident get") == 0) {
        (void)db_step(s);
        db_finalize(s);
    }
    return rc;
}

/* Runs one write statement with bindings done by the caller; *changes gets the count. */
static int run_write(struct store *st, struct db_stmt *s, const char *what, int *changes)
{
    int rc = db_step(s);
    db_finalize(s);
    if (rc != DB_DONE)
        return store_set_err(st, rc, what);
    if (changes != NULL)
        *changes = (int)db_changes(st->db);
    return 0;
}

static int tx(struct store *st, const char *sql)
{
    struct db_stmt *s = NULL;
    int rc = prepare(st, sql, &s, sql);
    return rc != 0 ? rc : run_write(st, s, sql, NULL);
}

static int note_add(struct store *st, int64_t id, const char *author, const char *kind,
                    const char *text, int64_t now, int64_t *note_id)
{
    struct db_stmt *s = NULL;
    int rc = prepare(st,
                     "INSERT INTO incident_notes(incident_id, at, author, kind, text) "
                     "VALUES(?,?,?,?,?)",
                     &s, "note");
    if (rc != 0)
        return rc;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, now);
    db_bind_text(s, 3, author, -1, DB_STATIC);
    db_bind_text(s, 4, kind, -1, DB_STATIC);
    db_bind_text(s, 5, text, -1, DB_STATIC);
    rc = run_write(st, s, "note", NULL);
    if (rc == 0 && note_id != NULL)
        *note_id = db_last_insert_id(st->db);
    return rc;
}

/* Inside a transaction: the incident's current state, or ERR_NOTFOUND. */
static int state_of(struct store *st, int64_t company_id, int64_t id, int *state)
{
    struct db_stmt *s = NULL;
    int rc = prepare(st, "SELECT state FROM incidents WHERE id=?1 AND (?2=0 OR company_id=?2)",
                     &s, "incident state");
    if (rc != 0)
        return rc;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, company_id);
    rc = db_step(s);
    int ret = ERR_NOTFOUND;
    if (rc == DB_ROW) {
        *state = db_column_int(s, 0);
        ret = 0;
    } else if (rc != DB_DONE) {
        ret = store_set_err(st, rc, "incident state");
    }
    db_finalize(s);
    return ret;
}

static int update_body(struct store *st, int64_t company_id, int64_t id, int state,
                       const char *assignee, const char *author, int64_t now)
{
    int cur = 0;
    int rc = state_of(st, company_id, id, &cur);
    if (rc != 0)
        return rc;
    if (state >= 0 && !incident_transition_ok(cur, state))
        return ERR_INVAL;
    struct db_stmt *s = NULL;
    rc = prepare(st,
                 "UPDATE incidents SET state=coalesce(?2, state), assignee=coalesce(?3, "
                 "assignee), updated=?4 WHERE id=?1",
                 &s, "incident update");
    if (rc != 0)
        return rc;
    db_bind_int64(s, 1, id);
    if (state >= 0)
        db_bind_int(s, 2, state);
    if (assignee != NULL)
        db_bind_text(s, 3, assignee, -1, DB_STATIC);
    db_bind_int64(s, 4, now);
    rc = run_write(st, s, "incident update", NULL);
    char text[512];
    if (rc == 0 && state >= 0) {
        snprintf(text, sizeof(text), "%s -> %s", g_states[cur], g_states[state]);
        rc = note_add(st, id, author, "state", text, now, NULL);
    }
    if (rc == 0 && assignee != NULL)
        rc = note_add(st, id, author, "assignee", assignee, now, NULL);
    return rc;
}

int store_incident_update(struct store *st, int64_t company_id, int64_t id, int state,
                          const char *assignee, const char *author, int64_t now)
{
    int rc = tx(st, "BEGIN IMMEDIATE");
    if (rc != 0)
        return rc;
    rc = update_body(st, company_id, id, state, assignee, author, now);
    if (rc == 0)
        rc = tx(st, "COMMIT");
    if (rc != 0 && !db_autocommit(st->db))
        (void)tx(st, "ROLLBACK");
    return rc;
}

int store_incident_comment(struct store *st, int64_t company_id, int64_t id, const char *author,
                           const char *text, int64_t now, int64_t *note_id)
{
    int rc = tx(st, "BEGIN IMMEDIATE");
    if (rc != 0)
        return rc;
    int cur = 0;
    rc = state_of(st, company_id, id, &cur);
    if (rc == 0)
        rc = note_add(st, id, author, "comment", text, now, note_id);
    if (rc == 0)
        rc = tx(st, "COMMIT");
    if (rc != 0 && !db_autocommit(st->db))
        (void)tx(st, "ROLLBACK");
    return rc;
}

/* ---- suppression rules ---- */

int store_suppression_add(struct store *st, const struct store_suppression *sp, int64_t *id)
{
    struct db_stmt *s = NULL;
    int rc = prepare(st,
                     "INSERT INTO suppressions(company_id, signature_id, device_key, reason, "
                     "expires, created) SELECT id, ?2, ?3, ?4, ?5, ?6 FROM companies WHERE id=?1",
                     &s, "suppression add");
    if (rc != 0)
        return rc;
    db_bind_int64(s, 1, sp->company_id);
    if (sp->signature_id >= 0)
        db_bind_int64(s, 2, sp->signature_id);
    bind_text_or_null(s, 3, sp->device);
    db_bind_text(s, 4, sp->reason, -1, DB_STATIC);
    db_bind_int64(s, 5, sp->expires);
    db_bind_int64(s, 6, store_now_us());
    int changes = 0;
    rc = run_write(st, s, "suppression add", &changes);
    if (rc == 0 && changes == 0)
        return ERR_NOTFOUND;
    if (rc == 0)
        *id = db_last_insert_id(st->db);
    return rc;
}

int store_suppression_update(struct store *st, int64_t company_id, int64_t id,
                             const char *reason, int64_t expires)
{
    struct db_stmt *s = NULL;
    int rc = prepare(st,
                     "UPDATE suppressions SET reason=coalesce(?3, reason), expires=CASE WHEN "
                     "?4>0 THEN ?4 ELSE expires END WHERE id=?1 AND (?2=0 OR company_id=?2)",
                     &s, "suppression update");
    if (rc != 0)
        return rc;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, company_id);
    if (reason != NULL)
        db_bind_text(s, 3, reason, -1, DB_STATIC);
    db_bind_int64(s, 4, expires);
    int changes = 0;
    rc = run_write(st, s, "suppression update", &changes);
    return rc == 0 && changes == 0 ? ERR_NOTFOUND : rc;
}

int store_suppression_delete(struct store *st, int64_t company_id, int64_t id)
{
    struct db_stmt *s = NULL;
    int rc = prepare(st, "DELETE FROM suppressions WHERE id=?1 AND (?2=0 OR company_id=?2)", &s,
                     "suppression delete");
    if (rc != 0)
        return rc;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, company_id);
    int changes = 0;
    rc = run_write(st, s, "suppression delete", &changes);
    return rc == 0 && changes == 0 ? ERR_NOTFOUND : rc;
}

struct supp_cb {
    int (*cb)(void *arg, const struct store_suppression *s);
    void *arg;
    int n;
};

static int supp_row(void *arg, struct db_stmt *s)
{
    struct supp_cb *c = arg;
    const char *dev = col_text(s, 3);
    struct store_suppression sp = {
        .id = db_column_int64(s, 0),
        .company_id = db_column_int64(s, 1),
        .signature_id = db_column_is_null(s, 2) ? -1 : db_column_int64(s, 2),
        .device = dev ? dev : "",
        .reason = col_text(s, 4),
        .expires = db_column_int64(s, 5),
        .created = db_column_int64(s, 6),
        .hits = db_column_int64(s, 7),
    };
    c->n++;
    return c->cb(c->arg, &sp);
}

int store_suppression_list(struct store *st, int64_t company_id, int64_t id,
                           int (*cb)(void *arg, const struct store_suppression *s), void *arg)
{
    struct db_stmt *s = NULL;
    int rc = prepare(st,
                     "SELECT id, company_id, signature_id, device_key, reason, expires, created, "
                     "hits FROM suppressions WHERE (?1=0 OR company_id=?1) AND (?2=0 OR id=?2) "
                     "ORDER BY id LIMIT 10000",
                     &s, "suppression list");
    if (rc != 0)
        return rc;
    db_bind_int64(s, 1, company_id);
    db_bind_int64(s, 2, id);
    struct supp_cb c = {cb, arg, 0};
    rc = rows(st, s, supp_row, &c, "suppression list");
    db_finalize(s);
    return rc == 0 && id > 0 && c.n == 0 ? ERR_NOTFOUND : rc;
}

int store_company_notify(struct store *st, int64_t company_id, int severity,
                         const char *webhook, const char *contacts)
{
    struct db_stmt *s = NULL;
    int rc = prepare(st,
                     "UPDATE companies SET notify_severity=CASE WHEN ?2>0 THEN ?2 ELSE "
                     "notify_severity END, webhook_url=coalesce(?3, webhook_url), "
                     "contacts=coalesce(?4, contacts) WHERE id=?1",
                     &s, "company notify");
    if (rc != 0)
        return rc;
    db_bind_int64(s, 1, company_id);
    db_bind_int(s, 2, severity);
    if (webhook != NULL)
        db_bind_text(s, 3, webhook, -1, DB_STATIC);
    if (contacts != NULL)
        db_bind_text(s, 4, contacts, -1, DB_STATIC);
    int changes = 0;
    rc = run_write(st, s, "company notify", &changes);
    return rc == 0 && changes == 0 ? ERR_NOTFOUND : rc;
}

/* ---- the notification queue ---- */

int store_notify_due(struct store *st, int64_t now, int limit, int mail_ok,
                     int (*cb)(void *arg, const struct store_notify_job *j), void *arg)
{
    struct db_stmt *s = NULL;
    int rc = prepare(st,
                     "SELECT " NOTIF_COLS ", " INC_COLS ", c.name, c.lang, c.contacts, c.tz FROM "
                     "notifications n JOIN incidents i ON i.id=n.incident_id JOIN companies c "
                     "ON c.id=n.company_id WHERE n.state='queued' AND n.next_attempt<=?1 "
                     "AND (?3<>0 OR n.channel<>'mail') "
                     "ORDER BY n.next_attempt, n.id LIMIT ?2",
                     &s, "notify due");
    if (rc != 0)
        return rc;
    db_bind_int64(s, 1, now);
    db_bind_int(s, 2, limit);
    db_bind_int(s, 3, mail_ok != 0);
    while ((rc = db_step(s)) == DB_ROW) {
        struct store_notify_job j;
        notif_read(s, &j.n);
        inc_read(s, NOTIF_NCOLS, &j.inc);
        j.company = col_text(s, NOTIF_NCOLS + INC_NCOLS);
        j.lang = col_text(s, NOTIF_NCOLS + INC_NCOLS + 1);
        j.contacts = col_text(s, NOTIF_NCOLS + INC_NCOLS + 2);
        j.tz = col_text(s, NOTIF_NCOLS + INC_NCOLS + 3);
        if (cb(arg, &j) != 0)
            break;
    }
    int ret = rc == DB_ROW || rc == DB_DONE ? 0 : store_set_err(st, rc, "notify due");
    db_finalize(s);
    return ret;
}

int store_incident_signatures(struct store *st, int64_t incident_id, int max,
                              int (*cb)(void *arg, const char *en, const char *ja), void *arg)
{
    struct db_stmt *s = NULL;
    int rc = prepare(st,
                     "SELECT signature, signature_ja FROM incident_alerts WHERE incident_id=? "
                     "GROUP BY signature, signature_ja ORDER BY min(ts) LIMIT ?",
                     &s, "signatures");
    if (rc != 0)
        return rc;
    db_bind_int64(s, 1, incident_id);
    db_bind_int(s, 2, max);
    while ((rc = db_step(s)) == DB_ROW)
        if (cb(arg, col_text(s, 0), col_text(s, 1)) != 0)
            break;
    int ret = rc == DB_ROW || rc == DB_DONE ? 0 : store_set_err(st, rc, "signatures");
    db_finalize(s);
    return ret;
}

int store_notify_result(struct store *st, int64_t id, const char *state, const char *error,
                        int64_t next_attempt, int64_t now)
{
    struct db_stmt *s = NULL;
    int rc = prepare(st,
                     "UPDATE notifications SET state=?2, attempts=attempts+1, "
                     "last_error=coalesce(?3, last_error), next_attempt=?4, "
                     "sent=CASE WHEN ?2='sent' THEN ?5 ELSE sent END WHERE id=?1",
                     &s, "notify result");
    if (rc != 0)
        return rc;
    db_bind_int64(s, 1, id);
    db_bind_text(s, 2, state, -1, DB_STATIC);
    if (error != NULL)
        db_bind_text(s, 3, error, -1, DB_STATIC);
    db_bind_int64(s, 4, next_attempt);
    db_bind_int64(s, 5, now);
    return run_write(st, s, "notify result", NULL);
}

int store_notify_queued(struct store *st, int64_t *n)
{
    struct db_stmt *s = NULL;
    *n = 0;
    int rc = prepare(st, "SELECT count(*) FROM notifications WHERE state='queued'", &s,
                     "notify queued");
    if (rc != 0)
        return rc;
    rc = db_step(s);
    if (rc == DB_ROW)
        *n = db_column_int64(s, 0);
    rc = rc == DB_ROW ? 0 : store_set_err(st, rc, "notify queued");
    db_finalize(s);
    return rc;
}
