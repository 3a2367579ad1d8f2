/*
 * Tenants, their sensors and their devices (docs/api.md), server.c having checked the
 * session (or API token), the CSRF token and the role:
 *
 *   GET   /api/v1/tenants[/{id}]   provider staff: every tenant; a tenant's people: their own
 *   POST  /api/v1/tenants          provider admin: a new tenant
 *   PATCH /api/v1/tenants/{id}     provider admin: any field; tenant admin: its contacts
 *   GET   /api/v1/sensors          a tenant's sensors (?company=ID for provider staff)
 *   POST  /api/v1/sensors          provider admin: a sensor and its one-time enrollment code
 *   DELETE /api/v1/sensors/{id}    provider admin: revoke (token and unused code stop working)
 *   GET   /api/v1/devices          a tenant's device inventory, from its asset events
 *
 * Another tenant's object is answered 404, as if it did not exist. Every change writes
 * an audit row.
 */
#include "http/api_json.h"
#include "auth/token.h"
#include "store/people.h"
#include "store/tokens.h"

#include "otasuke/conf.h"
#include "otasuke/err.h"
#include "otasuke/timefmt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define DEVICES_MAX_LIMIT 1000
#define DEVICES_DEFAULT_LIMIT 500

/* ---- tenants ---- */

static void company_fields(struct jw *w, const struct store_company *c)
{
    jw_i64(w, "id", c->id);
    jw_str(w, "name", c->name);
    jw_str(w, "sector", c->sector);
    jw_i64(w, "devices", c->devices);
    jw_str(w, "contacts", c->contacts);
    jw_str(w, "tz", c->tz);
    jw_str(w, "lang", c->lang);
    jw_i64(w, "notify_severity", c->notify_severity);
    apij_time(w, "created", c->created);
}

static int company_row(void *arg, const struct store_company *c)
{
    struct jw *w = arg;
    jw_obj_open(w, NULL);
    company_fields(w, c);
    jw_obj_close(w);
    return w->bad ? 1 : 0;
}

static int fill_tenants(struct store *st, struct jw *w, void *arg)
{
    return store_company_each(st, *(const int64_t *)arg, company_row, w);
}

static enum MHD_Result tenant_reply(struct server *s, struct MHD_Connection *c,
                                    const struct req *r, int64_t id, unsigned status)
{
    if (r->who.company_id != 0 && id != r->who.company_id)
        return send_error(c, 404, "no such tenant");
    struct store_company co;
    struct store *st = pool_get(&s->pool);
    int rc = store_company_get(st, id, &co);
    enum MHD_Result ret = MHD_YES;
    if (rc == ERR_NOTFOUND)
        ret = send_error(c, 404, "no such tenant");
    else if (rc != 0)
        ret = send_store_error(s, c, rc, st);
    pool_put(&s->pool, st);
    if (rc != 0)
        return ret;
    struct jw w;
    if (jw_init(&w, 1024, 16384) != 0)
        return send_error(c, 503, "out of memory, retry later");
    jw_obj_open(&w, NULL);
    company_fields(&w, &co);
    jw_obj_close(&w);
    return send_jw(c, status, &w);
}

/* An IANA zone name that tzdata knows (when tzdata is installed). */
static int tz_ok(const char *tz)
{
    size_t n = strlen(tz);
    if (n == 0 || n > 64 || tz[0] == '/' || strstr(tz, "..") != NULL)
        return 0;
    if (strspn(tz, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/_-+") != n)
        return 0;
    struct stat sb;
    if (stat("/usr/share/zoneinfo", &sb) != 0)
        return 1;
    char path[128];
    snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", tz);
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* "" or comma-separated addresses local@domain without spaces. */
static int contacts_ok(const char *s)
{
    const char *p = s;
    while (*p != '\0') {
        size_t n = strcspn(p, ",");
        const char *at = memchr(p, '@', n);
        if (n == 0 || at == NULL || at == p || at == p + n - 1 ||
            memchr(at + 1, '@', n - (size_t)(at + 1 - p)) != NULL)
            return 0;
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)p[i] <= ' ')
                return 0;
        p += n;
        if (*p == ',')
            p++;
    }
    return 1;
}

static const char *text_of(json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

/* Checks the members present in a tenant body into *in (absent: NULL / -1). */
static unsigned tenant_fields_in(json_t *obj, struct company_in *in, const char **why)
{
    static const char *const keys[] = {"name", "sector", "devices", "contacts", "tz", "lang",
                                       NULL};
    json_t *dv = json_object_get(obj, "devices"), *cv = json_object_get(obj, "contacts");
    *why = "expected name (1..200 bytes), sector (1..100), devices (>= 0), contacts "
           "(comma-separated mail addresses or \"\"), tz (an IANA zone), lang (ja or en)";
    if (obj == NULL || !apij_only(obj, keys) || json_object_size(obj) == 0 ||
        apij_bad_text(obj, "name", 200) || apij_bad_text(obj, "sector", 100) ||
        apij_bad_text(obj, "tz", 64) || apij_bad_text(obj, "lang", 2) ||
        (dv != NULL && (!json_is_integer(dv) || json_integer_value(dv) < 0)) ||
        (cv != NULL && (!json_is_string(cv) || json_string_length(cv) > 1000 ||
                        !contacts_ok(json_string_value(cv)))))
        return 400;
    *in = (struct company_in){text_of(obj, "name"), text_of(obj, "sector"), text_of(obj, "tz"),
                              text_of(obj, "lang"), text_of(obj, "contacts"),
                              dv != NULL ? json_integer_value(dv) : -1};
    if (in->tz != NULL && !tz_ok(in->tz))
        return 400;
    if (in->lang != NULL && strcmp(in->lang, "ja") != 0 && strcmp(in->lang, "en") != 0)
        return 400;
    return 0;
}

static enum MHD_Result tenants_add(struct server *s, struct MHD_Connection *c, struct req *r)
{
    json_t *obj = apij_body(r);
    struct company_in in;
    const char *why = NULL;
    unsigned code = tenant_fields_in(obj, &in, &why);
    if (code == 0 && (in.name == NULL || in.sector == NULL)) {
        code = 400;
        why = "a new tenant needs name and sector";
    }
    if (code != 0) {
        json_decref(obj);
        return send_error(c, code, why);
    }
    in.tz = in.tz ? in.tz : "Asia/Tokyo";
    in.lang = in.lang ? in.lang : "ja";
    in.contacts = in.contacts ? in.contacts : "";
    in.devices = in.devices < 0 ? 0 : in.devices;
    int64_t id = 0;
    struct store *st = pool_get(&s->pool);
    pthread_mutex_lock(&s->write_mu);
    int rc = store_company_add(st, &in, &id);
    pthread_mutex_unlock(&s->write_mu);
    enum MHD_Result ret = MHD_YES;
    if (rc == ERR_EXISTS)
        ret = send_error(c, 409, "a tenant of this name exists");
    else if (rc != 0)
        ret = send_store_error(s, c, rc, st);
    pool_put(&s->pool, st);
    if (rc == 0) {
        char target[32];
        snprintf(target, sizeof(target), "company:%lld", (long long)id);
        audit_write(s, r, id, "tenant_add", target, in.name);
    }
    json_decref(obj);
    return rc == 0 ? tenant_reply(s, c, r, id, 201) : ret;
}

/* What changed, for the audit row: the names of the members given. */
static void changed_keys(json_t *obj, char *out, size_t n)
{
    out[0] = '\0';
    size_t len = 0;
    void *it = json_object_iter(obj);
    for (; it != NULL && len < n; it = json_object_iter_next(obj, it))
        len += (size_t)snprintf(out + len, n - len, "%s%s", len ? " " : "",
                                json_object_iter_key(it));
}

static enum MHD_Result tenant_update(struct server *s, struct MHD_Connection *c, struct req *r)
{
    if (r->who.company_id != 0 && r->id != r->who.company_id)
        return send_error(c, 404, "no such tenant");
    json_t *obj = apij_body(r);
    struct company_in in;
    const char *why = NULL;
    unsigned code = tenant_fields_in(obj, &in, &why);
    if (code == 0 && r->who.company_id != 0 &&
        (json_object_size(obj) != 1 || in.contacts == NULL)) {
        code = 403;
        why = "a tenant admin changes only its tenant's contacts";
    }
    if (code != 0) {
        json_decref(obj);
        return send_error(c, code, why);
    }
    struct store *st = pool_get(&s->pool);
    pthread_mutex_lock(&s->write_mu);
    int rc = store_company_set(st, r->id, &in);
    pthread_mutex_unlock(&s->write_mu);
    enum MHD_Result ret = MHD_YES;
    if (rc == ERR_NOTFOUND)
        ret = send_error(c, 404, "no such tenant");
    else if (rc == ERR_EXISTS)
        ret = send_error(c, 409, "a tenant of this name exists");
    else if (rc != 0)
        ret = send_store_error(s, c, rc, st);
    pool_put(&s->pool, st);
    if (rc == 0) {
        char target[32], detail[128];
        snprintf(target, sizeof(target), "company:%lld", (long long)r->id);
        changed_keys(obj, detail, sizeof(detail));
        audit_write(s, r, r->id, "tenant_change", target, detail);
    }
    json_decref(obj);
    return rc == 0 ? tenant_reply(s, c, r, r->id, 200) : ret;
}

/* ---- sensors ---- */

static void sensor_row(void *arg, const struct sensor_info *si)
{
    struct jw *w = arg;
    jw_obj_open(w, NULL);
    jw_i64(w, "id", si->id);
    jw_i64(w, "company_id", si->company_id);
    jw_str(w, "name", si->name);
    jw_str(w, "state", si->revoked ? "revoked" : si->enrolled ? "enrolled" : "waiting");
    jw_obj_close(w);
}

static int fill_sensors(struct store *st, struct jw *w, void *arg)
{
    return store_sensor_list(st, *(const int64_t *)arg, sensor_row, w);
}

static enum MHD_Result sensor_created(struct MHD_Connection *c, int64_t id, int64_t company,
                                      const char *name, const char *code, int64_t expires)
{
    struct jw w;
    if (jw_init(&w, 512, 4096) != 0)
        return send_error(c, 503, "out of memory, retry later");
    jw_obj_open(&w, NULL);
    jw_i64(&w, "id", id);
    jw_i64(&w, "company_id", company);
    jw_str(&w, "name", name);
    jw_str(&w, "state", "waiting");
    jw_str(&w, "enrollment_code", code);
    apij_time(&w, "expires", expires);
    jw_obj_close(&w);
    return send_jw(c, 201, &w);
}

/* Validates a POST /api/v1/sensors body: 0 or the status with *why. */
static unsigned sensor_body(json_t *obj, int64_t *company, const char **name, uint64_t *ttl,
                            const char **why)
{
    static const char *const keys[] = {"company_id", "name", "ttl", NULL};
    json_t *cv = json_object_get(obj, "company_id"), *tv = json_object_get(obj, "ttl");
    *why = "expected {\"company_id\": ID[, \"name\": TEXT (1..120 bytes)][, \"ttl\": \"24h\" "
           "(1m..30d)]}";
    if (obj == NULL || !apij_only(obj, keys) || !json_is_integer(cv) ||
        json_integer_value(cv) < 1 || apij_bad_text(obj, "name", 120) ||
        (tv != NULL && !json_is_string(tv)))
        return 400;
    *company = json_integer_value(cv);
    *name = json_object_get(obj, "name") ? text_of(obj, "name") : "sensor";
    *ttl = 24ULL * 3600 * 1000000;
    if (tv != NULL && (conf_parse_duration(json_string_value(tv), ttl) != 0 ||
                       *ttl < 60000000ULL || *ttl > 30ULL * 86400 * 1000000))
        return 400;
    return 0;
}

static enum MHD_Result sensors_add(struct server *s, struct MHD_Connection *c, struct req *r)
{
    json_t *obj = apij_body(r);
    int64_t company = 0, id = 0;
    const char *name = NULL, *why = NULL;
    uint64_t ttl = 0;
    unsigned code = sensor_body(obj, &company, &name, &ttl, &why);
    char secret[TOKEN_MAX_LEN];
    if (code == 0 && token_random(TOKEN_CODE_PREFIX, TOKEN_CODE_BYTES, secret, sizeof(secret))) {
        code = 500;
        why = "no randomness";
    }
    if (code != 0) {
        json_decref(obj);
        return send_error(c, code, why);
    }
    uint8_t h[STORE_HASH_LEN];
    token_hash(secret, strlen(secret), h);
    int64_t expires = (int64_t)(ts_now_us() + ttl);
    struct store *st = pool_get(&s->pool);
    pthread_mutex_lock(&s->write_mu);
    int rc = store_sensor_add(st, company, name, h, expires, &id);
    pthread_mutex_unlock(&s->write_mu);
    enum MHD_Result ret = MHD_YES;
    if (rc == ERR_NOTFOUND)
        ret = send_error(c, 404, "no such tenant");
    else if (rc != 0)
        ret = send_store_error(s, c, rc, st);
    pool_put(&s->pool, st);
    if (rc == 0) {
        char target[32];
        snprintf(target, sizeof(target), "sensor:%lld", (long long)id);
        audit_write(s, r, company, "sensor_add", target, name);
        ret = sensor_created(c, id, company, name, secret, expires);
    }
    memset(secret, 0, sizeof(secret));
    json_decref(obj);
    return ret;
}

static enum MHD_Result sensor_revoke(struct server *s, struct MHD_Connection *c, struct req *r)
{
    struct sensor_info si;
    struct store *st = pool_get(&s->pool);
    int rc = store_sensor_get(st, r->id, &si);
    if (rc == 0) {
        pthread_mutex_lock(&s->write_mu);
        rc = store_sensor_revoke(st, si.id);
        pthread_mutex_unlock(&s->write_mu);
        if (rc == ERR_NOTFOUND)
            rc = ERR_EXISTS;
    }
    enum MHD_Result ret = MHD_YES;
    if (rc == ERR_NOTFOUND)
        ret = send_error(c, 404, "no such sensor");
    else if (rc == ERR_EXISTS)
        ret = send_error(c, 409, "the sensor was revoked before");
    else if (rc != 0)
        ret = send_store_error(s, c, rc, st);
    pool_put(&s->pool, st);
    if (rc != 0)
        return ret;
    char target[32];
    snprintf(target, sizeof(target), "sensor:%lld", (long long)si.id);
    audit_write(s, r, si.company_id, "sensor_revoke", target, si.name);
    char body[64];
    int n = snprintf(body, sizeof(body), "{\"revoked\":%lld}", (long long)si.id);
    return send_buf(c, 200, body, (size_t)n, 0);
}

/* ---- devices ---- */

struct devices_q {
    int64_t company, sensor, after, last;
    int limit, n;
};

struct devices_out {
    struct jw *w;
    struct devices_q *q;
};

static void opt_str(struct jw *w, const char *key, const char *v)
{
    if (v != NULL && v[0] != '\0')
        jw_str(w, key, v);
    else
        jw_null(w, key);
}

static int device_row(void *arg, const struct store_device *d)
{
    struct devices_out *o = arg;
    struct jw *w = o->w;
    jw_obj_open(w, NULL);
    jw_i64(w, "id", d->id);
    jw_i64(w, "company_id", d->company_id);
    jw_i64(w, "sensor_id", d->sensor_id);
    jw_str(w, "device", d->device_key);
    opt_str(w, "mac", d->mac);
    opt_str(w, "ip", d->ip);
    opt_str(w, "name", d->name);
    opt_str(w, "maker", d->maker);
    opt_str(w, "kind", d->kind);
    jw_str(w, "last_change", d->last_change);
    apij_time(w, "first_seen", d->first_seen);
    apij_time(w, "last_seen", d->last_seen);
    apij_time(w, "updated", d->updated);
    jw_obj_close(w);
    o->q->last = d->id;
    o->q->n++;
    return w->bad ? 1 : 0;
}

static int fill_devices(struct store *st, struct jw *w, void *arg)
{
    struct devices_out o = {w, arg};
    return store_device_list(st, o.q->company, o.q->sensor, o.q->after, o.q->limit, device_row,
                             &o);
}

/* After the array: where the next page starts, and whether there may be one. */
static void devices_paging(struct jw *w, void *arg)
{
    const struct devices_q *q = arg;
    jw_i64(w, "next_after", q->n > 0 ? q->last : q->after);
    jw_bool(w, "more", q->n == q->limit);
}

static enum MHD_Result devices_list(struct server *s, struct MHD_Connection *c, struct req *r)
{
    struct devices_q q = {.limit = DEVICES_DEFAULT_LIMIT};
    const char *why = NULL;
    unsigned code = req_scope(c, r, 0, &q.company, &why);
    if (code != 0)
        return send_error(c, code, why);
    const char *lv = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "limit");
    char *end = NULL;
    long lim = lv ? strtol(lv, &end, 10) : q.limit;
    if (apij_id_arg(c, "sensor", &q.sensor) < 0 || apij_id_arg(c, "after", &q.after) < 0)
        return send_error(c, 400, "sensor, after: expected an id");
    if (lv != NULL && (*lv == '\0' || *end != '\0' || lim < 1 || lim > DEVICES_MAX_LIMIT))
        return send_error(c, 400, "limit: expected 1..1000");
    q.limit = (int)lim;
    /* {"devices": [...], "next_after": ..., "more": ...} */
    return apij_send_list(s, c, "devices", fill_devices, &q, devices_paging);
}

enum MHD_Result handle_tenants(struct server *s, struct MHD_Connection *c, struct req *r)
{
    int64_t company = r->who.company_id;
    const char *why = NULL;
    unsigned code = 0;
    switch (r->route) {
    case R_TENANTS_LIST:
        return apij_send_list(s, c, "tenants", fill_tenants, &company, NULL);
    case R_TENANT_GET:
        return tenant_reply(s, c, r, r->id, 200);
    case R_TENANTS_ADD:
        return tenants_add(s, c, r);
    case R_TENANT_UPDATE:
        return tenant_update(s, c, r);
    case R_SENSORS_LIST:
        code = req_scope(c, r, 0, &company, &why);
        return code != 0 ? send_error(c, code, why)
                         : apij_send_list(s, c, "sensors", fill_sensors, &company, NULL);
    case R_SENSORS_ADD:
        return sensors_add(s, c, r);
    case R_SENSOR_REVOKE:
        return sensor_revoke(s, c, r);
    case R_DEVICES:
        return devices_list(s, c, r);
    default:
        return send_error(c, 500, "unexpected route");
    }
}
