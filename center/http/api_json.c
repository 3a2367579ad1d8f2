/* Helpers of the tokens and tenants endpoints (api_json.h). */
#include "http/api_json.h"

#include "otasuke/timefmt.h"

#include <stdlib.h>
#include <string.h>

json_t *apij_body(const struct req *r)
{
    json_error_t jerr;
    json_t *obj = r->body ? json_loadb(r->body, r->len, JSON_REJECT_DUPLICATES, &jerr) : NULL;
    if (!json_is_object(obj)) {
        json_decref(obj);
        return NULL;
    }
    return obj;
}

int apij_only(json_t *obj, const char *const *keys)
{
    void *it = json_object_iter(obj);
    for (; it != NULL; it = json_object_iter_next(obj, it)) {
        const char *k = json_object_iter_key(it);
        int known = 0;
        for (size_t i = 0; keys[i] != NULL; i++)
            known |= strcmp(k, keys[i]) == 0;
        if (!known)
            return 0;
    }
    return 1;
}

int apij_bad_text(json_t *obj, const char *key, size_t max)
{
    json_t *v = json_object_get(obj, key);
    if (v == NULL)
        return 0;
    if (!json_is_string(v))
        return 1;
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (n == 0 || n > max || strlen(s) != n)
        return 1;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return 1;
    return 0;
}

void apij_time(struct jw *w, const char *key, int64_t us)
{
    if (us <= 0) {
        jw_null(w, key);
        return;
    }
    char t[TS_RFC3339_LEN];
    ts_format(t, sizeof(t), (uint64_t)us, 0);
    jw_str(w, key, t);
}

void apij_company(struct jw *w, int64_t company_id)
{
    if (company_id > 0)
        jw_i64(w, "company_id", company_id);
    else
        jw_null(w, "company_id");
}

int apij_id_arg(struct MHD_Connection *c, const char *name, int64_t *id)
{
    const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, name);
    if (v == NULL)
        return 0;
    char *end = NULL;
    long long x = strtoll(v, &end, 10);
    if (*v == '\0' || *end != '\0' || x < 1)
        return -1;
    *id = x;
    return 1;
}

enum MHD_Result apij_send_list(struct server *s, struct MHD_Connection *c, const char *key,
                               int (*fill)(struct store *st, struct jw *w, void *arg),
                               void *arg, void (*tail)(struct jw *w, void *arg))
{
    struct jw w;
    if (jw_init(&w, 4096, RESPONSE_MAX) != 0)
        return send_error(c, 503, "out of memory, retry later");
    jw_obj_open(&w, NULL);
    jw_arr_open(&w, key);
    struct store *st = pool_get(&s->pool);
    int rc = fill(st, &w, arg);
    enum MHD_Result ret;
    if (rc != 0) {
        jw_free(&w);
        ret = send_store_error(s, c, rc, st);
    } else {
        jw_arr_close(&w);
        if (tail != NULL)
            tail(&w, arg);
        jw_obj_close(&w);
        ret = send_jw(c, 200, &w);
    }
    pool_put(&s->pool, st);
    return ret;
}
