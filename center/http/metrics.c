/*
 * Prometheus metrics of the center (GET /metrics, text exposition format 0.0.4).
 *
 * The counters are plain uint64_t updated with relaxed atomic adds by the server
 * threads; a scrape reads each one atomically (the set is not one consistent snapshot,
 * which Prometheus does not need). The notification queue depth is read from the
 * database at scrape time; the pool's use from the pool under its lock.
 *
 * Who may scrape: provider staff (a person's session of role provider_admin or
 * provider_analyst) or whoever presents the configured scrape token
 * (metrics.token_file) as `Authorization: Bearer …`. Tenants' users and device
 * tokens get 403, no credential 401: the figures span every tenant.
 */
#include "http/server_int.h"

#include "otasuke/alloc.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* Upper bounds of the request latency histogram, in microseconds. */
static const uint64_t lat_bounds_us[METRICS_LAT_BUCKETS] = {
    1000, 5000, 10000, 25000, 50000, 100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000,
};

static void add(uint64_t *v, uint64_t n)
{
    __atomic_fetch_add(v, n, __ATOMIC_RELAXED);
}

static uint64_t get(const uint64_t *v)
{
    return __atomic_load_n(v, __ATOMIC_RELAXED);
}

uint64_t metrics_now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000u + (uint64_t)t.tv_nsec / 1000u;
}

void metrics_response(struct metrics *m, unsigned status, uint64_t elapsed_us)
{
    if (status >= 100 && status < METRICS_STATUS_MAX)
        add(&m->status[status], 1);
    for (int i = 0; i < METRICS_LAT_BUCKETS; i++)
        if (elapsed_us <= lat_bounds_us[i])
            add(&m->lat_bucket[i], 1); /* cumulative: every bucket at or above */
    add(&m->lat_count, 1);
    add(&m->lat_sum_us, elapsed_us);
}

void metrics_ingest(struct metrics *m, int duplicate, uint64_t stored, uint64_t rejected)
{
    if (duplicate) {
        add(&m->batches_dup, 1);
        return;
    }
    add(&m->batches, 1);
    add(&m->events, stored);
    add(&m->rejected, rejected);
}

void metrics_store_error(struct metrics *m, int kind)
{
    if (kind >= 0 && kind < 3)
        add(&m->store_errors[kind], 1);
}

struct text {
    char *buf;
    size_t len, cap;
    int over;
};

__attribute__((format(printf, 2, 3))) static void put(struct text *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= t->cap - t->len) {
        t->over = 1;
        return;
    }
    t->len += (size_t)n;
}

static void help(struct text *t, const char *name, const char *type, const char *text)
{
    put(t, "# HELP %s %s\n# TYPE %s %s\n", name, text, name, type);
}

/* The exposition text of s into t. */
static void render(struct server *s, struct text *t)
{
    struct metrics *m = &s->metrics;
    help(t, "otasuke_center_ingest_batches_total", "counter",
         "Ingest batches answered 200, by result (stored, or a replay answered as duplicate).");
    put(t, "otasuke_center_ingest_batches_total{result=\"stored\"} %llu\n",
        (unsigned long long)get(&m->batches));
    put(t, "otasuke_center_ingest_batches_total{result=\"duplicate\"} %llu\n",
        (unsigned long long)get(&m->batches_dup));
    help(t, "otasuke_center_ingest_events_total", "counter", "Events stored by ingest.");
    put(t, "otasuke_center_ingest_events_total %llu\n", (unsigned long long)get(&m->events));
    help(t, "otasuke_center_ingest_rejected_lines_total", "counter",
         "Ingest lines rejected (malformed, too long, wrong types) in stored batches.");
    put(t, "otasuke_center_ingest_rejected_lines_total %llu\n",
        (unsigned long long)get(&m->rejected));

    help(t, "otasuke_center_http_responses_total", "counter", "HTTP responses by status code.");
    for (unsigned i = 100; i < METRICS_STATUS_MAX; i++) {
        uint64_t v = get(&m->status[i]);
        if (v != 0)
            put(t, "otasuke_center_http_responses_total{code=\"%u\"} %llu\n", i,
                (unsigned long long)v);
    }
    help(t, "otasuke_center_http_request_duration_seconds", "histogram",
         "Time from a request's headers to its response sent.");
    for (int i = 0; i < METRICS_LAT_BUCKETS; i++)
        put(t, "otasuke_center_http_request_duration_seconds_bucket{le=\"%g\"} %llu\n",
            (double)lat_bounds_us[i] / 1e6, (unsigned long long)get(&m->lat_bucket[i]));
    uint64_t count = get(&m->lat_count);
    put(t, "otasuke_center_http_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
        (unsigned long long)count);
    put(t, "otasuke_center_http_request_duration_seconds_sum %.6f\n",
        (double)get(&m->lat_sum_us) / 1e6);
    put(t, "otasuke_center_http_request_duration_seconds_count %llu\n",
        (unsigned long long)count);

    help(t, "otasuke_center_store_errors_total", "counter",
         "Store failures answered 503 (busy: the write lock was not had within "
         "store.busy_timeout; nospace: disk full) or 500 (other).");
    static const char *const kinds[3] = {"busy", "nospace", "other"};
    for (int i = 0; i < 3; i++)
        put(t, "otasuke_center_store_errors_total{kind=\"%s\"} %llu\n", kinds[i],
            (unsigned long long)get(&m->store_errors[i]));

    pthread_mutex_lock(&s->pool.mu);
    unsigned in_use = s->pool.n - s->pool.n_free, size = s->pool.n;
    pthread_mutex_unlock(&s->pool.mu);
    help(t, "otasuke_center_store_pool_in_use", "gauge",
         "Store connections lent to requests (this scrape's included).");
    put(t, "otasuke_center_store_pool_in_use %u\n", in_use);
    help(t, "otasuke_center_store_pool_size", "gauge", "Store connections (http.threads).");
    put(t, "otasuke_center_store_pool_size %u\n", size);

    struct notify_stats ns;
    notify_stats(s->notifier, &ns);
    help(t, "otasuke_center_notifications_total", "counter",
         "Notification attempts by channel and result (sent; retried: failed, queued "
         "again; failed: given up).");
    const struct {
        const char *ch, *res;
        uint64_t v;
    } rows[] = {
        {"mail", "sent", ns.mail_sent},       {"mail", "retried", ns.mail_retried},
        {"mail", "failed", ns.mail_failed},   {"webhook", "sent", ns.webhook_sent},
        {"webhook", "retried", ns.webhook_retried}, {"webhook", "failed", ns.webhook_failed},
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        put(t, "otasuke_center_notifications_total{channel=\"%s\",result=\"%s\"} %llu\n",
            rows[i].ch, rows[i].res, (unsigned long long)rows[i].v);

    int64_t queued = 0;
    struct store *st = pool_get(&s->pool);
    int rc = store_notify_queued(st, &queued);
    pool_put(&s->pool, st);
    help(t, "otasuke_center_notifications_queued", "gauge",
         "Notifications waiting to be sent (-1: the database could not be read).");
    put(t, "otasuke_center_notifications_queued %lld\n", rc == 0 ? (long long)queued : -1LL);
}

enum MHD_Result handle_metrics(struct server *s, struct MHD_Connection *c)
{
    struct text t = {.cap = (size_t)64 * 1024};
    t.buf = xalloc(MEM_CORE, t.cap);
    if (t.buf == NULL)
        return send_error(c, 503, "out of memory, retry later");
    render(s, &t);
    if (t.over) {
        xfree(t.buf);
        return send_error(c, 500, "metrics too large");
    }
    struct MHD_Response *r =
        MHD_create_response_from_buffer(t.len, t.buf, MHD_RESPMEM_MUST_COPY);
    xfree(t.buf);
    if (r == NULL)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    MHD_add_response_header(r, "Cache-Control", "no-store");
    req_note_status(200);
    enum MHD_Result ret = MHD_queue_response(c, 200, r);
    MHD_destroy_response(r);
    return ret;
}
