/*
 * The SQLite store (center/store): migrations, companies, sensors, one-time
 * enrollment, token lookup, exactly-once batches with their counters, tenant-scoped
 * reads, revocation. Runs on a fresh database file in a temporary directory.
 */
#include "check.h"

#include "auth/token.h"
#include "ingest/ingest.h"
#include "store/store.h"

#include "otasuke/err.h"

#include "store_target.h"
#include <stdlib.h>
#include <unistd.h>

static char g_dir[] = "/tmp/center_store_testXXXXXX";
static char g_db[512];

static struct store *open_new(const char *name)
{
    return test_store_open(g_db, sizeof(g_db), g_dir, name);
}

static void test_migrations(void)
{
    struct store *st = open_new("m.db");
    CHECK(st != NULL);
    CHECK_EQ_U64(store_schema_version(st), store_schema_latest());
    store_close(st);
    /* Reopening applies nothing twice. */
    st = open_new("m.db");
    CHECK(st != NULL);
    CHECK_EQ_U64(store_schema_version(st), store_schema_latest());
    store_close(st);
    /* A database from a newer program is refused with a clear message. */
    char e[256];
    struct db *db = db_open(g_db, 2000, e, sizeof(e));
    CHECK(db != NULL);
    CHECK(db_exec(db, "INSERT INTO schema_version VALUES(999, 0)") == DB_OK);
    db_close(db);
    char err[256] = "";
    st = store_open_sqlite(g_db, NULL, err, sizeof(err));
    CHECK(st == NULL);
    CHECK(strstr(err, "newer than this program") != NULL);
}

struct counter_sum {
    int rows;
    int64_t alerts, flows, other;
};

static int sum_counters(void *arg, const struct store_counter_row *r)
{
    struct counter_sum *s = arg;
    s->rows++;
    if (strcmp(r->event_type, "alert") == 0)
        s->alerts += r->count;
    else if (strcmp(r->event_type, "flow") == 0)
        s->flows += r->count;
    else
        s->other += r->count;
    return 0;
}

static int count_events(void *arg, const struct store_event_row *r)
{
    (*(int *)arg)++;
    return 0;
}

struct fixture {
    struct store *st;
    int64_t a, b;
    struct principal pa, pb;
};


static void test_enroll_once(void)
{
    struct store *st = open_new("e.db");
    CHECK(st != NULL);
    struct company_in c = {"A", "automotive", "Asia/Tokyo", "ja", "", 10};
    int64_t a = 0, sid = 0;
    CHECK(store_company_add(st, &c, &a) == 0);
    CHECK(store_company_add(st, &c, &a) == ERR_EXISTS);
    uint8_t ch[32], th[32], th2[32];
    token_hash("otc_x", 5, ch);
    token_hash("otk_y", 5, th);
    token_hash("otk_z", 5, th2);
    CHECK(store_sensor_add(st, 999, "s", ch, 100, &sid) == ERR_NOTFOUND);
    CHECK(store_sensor_add(st, a, "s", ch, 100, &sid) == 0);
    struct principal who = {0};
    CHECK(store_enroll(st, ch, th, 101, &who) == STORE_EXPIRED);
    CHECK(store_enroll(st, ch, th, 99, &who) == 0);
    CHECK_EQ_U64(who.sensor_id, sid);
    CHECK_EQ_U64(who.company_id, a);
    CHECK(store_enroll(st, ch, th2, 99, &who) == ERR_NOTFOUND); /* once */
    struct principal got = {0};
    CHECK(store_auth_token(st, th, &got) == 0);
    CHECK_EQ_U64(got.sensor_id, sid);
    CHECK(store_auth_token(st, th2, &got) == ERR_NOTFOUND);
    CHECK(store_sensor_revoke(st, sid) == 0);
    CHECK(store_sensor_revoke(st, sid) == ERR_NOTFOUND);
    CHECK(store_auth_token(st, th, &got) == ERR_NOTFOUND);
    store_close(st);
}

static void test_ingest_exactly_once(void)
{
    struct store *st = open_new("i.db");
    CHECK(st != NULL);
    struct company_in ca = {"A", "x", "Asia/Tokyo", "ja", "", 0}, cb = {"B", "x", "UTC", "en",
                                                                          "", 0};
    int64_t a = 0, b = 0;
    CHECK(store_company_add(st, &ca, &a) == 0 && store_company_add(st, &cb, &b) == 0);
    struct principal pa, pb;
    CHECK(test_store_enroll(st, a, &pa) == 0 && test_store_enroll(st, b, &pb) == 0);
    const char *body = "{\"timestamp\":\"2026-11-22T23:59:59+09:00\",\"event_type\":\"alert\","
                       "\"alert\":{\"category\":\"c2\"}}\n"
                       "{\"timestamp\":\"2026-11-22T15:00:00Z\",\"event_type\":\"alert\","
                       "\"alert\":{\"category\":\"c2\"}}\n"
                       "garbage\n"
                       "{\"timestamp\":\"2026-11-23T00:00:00Z\",\"event_type\":\"flow\"}\n";
    struct ingest_limits lim = {4096, 100};
    struct ingest_result res;
    CHECK(ingest_parse(body, strlen(body), &lim, &res) == 0);
    struct store_batch bt = {"batch-1", 7, res.se, res.n_ev, res.rejected};
    struct store_batch_result br = {0};
    int rc1 = store_ingest(st, &pa, &bt, 5, &br);
    int rc2 = store_ingest(st, &pa, &bt, 6, &br);
    int rc3 = store_ingest(st, &pb, &bt, 6, &br); /* same id, other sensor: stored */
    ingest_result_free(&res);
    CHECK(rc1 == 0);
    CHECK(rc2 == STORE_DUPLICATE);
    CHECK_EQ_U64(br.stored, 3);
    CHECK(rc3 == 0);
    struct counter_sum s = {0};
    struct store_counter_query q = {.company_id = a};
    CHECK(store_counters(st, &q, sum_counters, &s) == 0);
    /* 23:59:59+09:00 is 14:59:59Z: both alerts fall on 2026-11-22 (UTC), one row. */
    CHECK_EQ_U64(s.alerts, 2);
    CHECK_EQ_U64(s.flows, 1);
    CHECK_EQ_U64(s.rows, 2);
    int n = 0;
    struct store_event_query eq = {.company_id = a, .limit = 100};
    CHECK(store_events(st, &eq, count_events, &n) == 0);
    CHECK_EQ_U64(n, 3);
    eq.event_type = "flow";
    n = 0;
    CHECK(store_events(st, &eq, count_events, &n) == 0);
    CHECK_EQ_U64(n, 1);
    store_close(st);
}

/* More distinct (day, type) keys in one batch than the per-batch table holds. */
static void test_counters_many_keys(void)
{
    struct store *st = open_new("k.db");
    CHECK(st != NULL);
    struct company_in ca = {"A", "x", "Asia/Tokyo", "ja", "", 0};
    int64_t a = 0;
    struct principal pa;
    CHECK(store_company_add(st, &ca, &a) == 0 && test_store_enroll(st, a, &pa) == 0);
    static char body[100 * 80];
    size_t n = 0;
    for (int round = 0; round < 2; round++)
        for (int i = 0; i < 45; i++)
            n += (size_t)snprintf(body + n, sizeof(body) - n,
                                  "{\"timestamp\":\"2026-11-%02dT00:00:00Z\",\"event_type\":\"t%d\"}\n",
                                  1 + i % 3, i);
    struct ingest_limits lim = {4096, 1000};
    struct ingest_result res;
    CHECK(ingest_parse(body, n, &lim, &res) == 0);
    struct store_batch bt = {"k", 1, res.se, res.n_ev, res.rejected};
    struct store_batch_result br;
    int rc = store_ingest(st, &pa, &bt, 1, &br);
    ingest_result_free(&res);
    CHECK(rc == 0);
    struct counter_sum s = {0};
    struct store_counter_query q = {.company_id = a};
    CHECK(store_counters(st, &q, sum_counters, &s) == 0);
    CHECK_EQ_U64(s.rows, 45);
    CHECK_EQ_U64(s.other, 90);
    q.event_type = "t44";
    q.day_from = "2026-11-03";
    q.day_to = "2026-11-03";
    struct counter_sum one = {0};
    CHECK(store_counters(st, &q, sum_counters, &one) == 0);
    CHECK_EQ_U64(one.rows, 1);
    CHECK_EQ_U64(one.other, 2);
    store_close(st);
}

int main(void)
{
    if (mkdtemp(g_dir) == NULL)
        return 1;
    RUN(test_migrations);
    RUN(test_enroll_once);
    RUN(test_ingest_exactly_once);
    RUN(test_counters_many_keys);
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", g_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cleanup failed\n");
    return check_done();
}
