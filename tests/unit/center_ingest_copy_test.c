/*
 * How a batch's events reach the store (on PostgreSQL: one binary COPY; on SQLite: one
 * INSERT per event), run on both stores (ctest's .pg twin):
 *  - what is stored is what was sent, byte for byte and in order: bodies with escapes,
 *    non-ASCII text, "\u0000", a body larger than PostgreSQL's 8 kB in-row limit (still
 *    compressed or moved out of line there), NULL categories, timestamps; the
 *    incident's alert is joined to its
 *    event's body by (tenant, id);
 *  - an event the database refuses in the middle of a batch (a constraint of the
 *    database's own) fails the whole batch: no event, batch row, counter or incident is
 *    left, the store names the refused event's line in the batch (rejected lines
 *    before it counted), and the same batch goes in once the constraint is gone;
 *  - a batch of more events than one block of ids (PostgreSQL) is stored whole, in
 *    order; a changed id sequence step is an error, not a reuse of ids;
 *  - a database at schema version 4 that already holds events is upgraded (migration 5
 *    changes the events' keys on PostgreSQL) and still reads and takes events.
 */
#include "check.h"

#include "auth/token.h"
#include "ingest/ingest.h"
#include "store/db.h"
#include "store/migrations.h"
#include "store/store.h"

#include "otasuke/err.h"

#include "store_target.h"
#include <stdlib.h>
#include <unistd.h>

static char g_dir[] = "/tmp/center_ingest_copy_testXXXXXX";
static char g_db[512];

static struct store *open_new(const char *name)
{
    return test_store_open(g_db, sizeof(g_db), g_dir, name);
}

/* *out: a new store with company "A" (*company) and a sensor of it enrolled (*who);
 * NULL when any step fails (a failed check of the calling test). */
static void open_enrolled(const char *name, struct store **out, int64_t *company,
                          struct principal *who)
{
    *out = NULL;
    struct store *st = open_new(name);
    CHECK(st != NULL);
    struct company_in c = {"A", "x", "UTC", "en", "", 0};
    *company = 0;
    CHECK(store_company_add(st, &c, company) == 0 && test_store_enroll(st, *company, who) == 0);
    *out = st;
}


/* Events read back, concatenated as "type|ts|body\n". */
struct readback {
    char *buf;
    size_t len, cap;
    int n;
    int64_t last_id;
    int ordered;
};

static int collect(void *arg, const struct store_event_row *r)
{
    struct readback *b = arg;
    size_t need = strlen(r->event_type) + strlen(r->body) + 48;
    if (b->len + need > b->cap)
        return 1;
    b->len += (size_t)snprintf(b->buf + b->len, b->cap - b->len, "%s|%lld|%s\n", r->event_type,
                               (long long)r->ts_us, r->body);
    if (r->id <= b->last_id)
        b->ordered = 0;
    b->last_id = r->id;
    b->n++;
    return 0;
}

static int read_all(struct store *st, int64_t company, struct readback *b)
{
    b->len = 0;
    b->n = 0;
    b->last_id = 0;
    b->ordered = 1;
    if (b->cap > 0)
        b->buf[0] = '\0';
    struct store_event_query q = {.company_id = company, .limit = 1000};
    return store_events(st, &q, collect, b);
}

static int count_rows(void *arg, const struct store_counter_row *r)
{
    (void)r;
    (*(int *)arg)++;
    return 0;
}

static int count_incidents(void *arg, const struct store_incident *inc)
{
    *(int64_t *)arg = inc->id;
    return 0;
}

static int skip_incident(void *arg, const struct store_incident *inc)
{
    (void)arg;
    (void)inc;
    return 0;
}

static int alert_body(void *arg, const struct store_incident_alert *a)
{
    snprintf(arg, 2048, "%s", a->body);
    return 0;
}

#define ALERT                                                                                      \
    "{\"timestamp\":\"2026-11-23T01:02:00Z\",\"event_type\":\"alert\",\"alert\":{\"category\":"  \
    "\"c2\",\"severity\":1,\"signature_id\":7,\"signature\":\"sig\",\"signature_ja\":\"シグ\"},"  \
    "\"device\":{\"ip\":\"192.0.2.9\"},\"note\":\"refuse-me-not\"}"

/* The batch: valid events around a rejected line and a blank line; line 7 carries the
 * marker the test's constraint refuses. Its expected read-back is built alongside. */
static char *make_batch(char *want, size_t wantlen, size_t *len)
{
    static char big[12000];
    size_t o = 0;
    o += (size_t)snprintf(big + o, sizeof(big) - o,
                          "{\"timestamp\":\"2026-11-23T01:00:00Z\",\"event_type\":\"stats\","
                          "\"pad\":\"");
    while (o < 10000)
        o += (size_t)snprintf(big + o, sizeof(big) - o, "%05zu-abcdefghij ", o);
    snprintf(big + o, sizeof(big) - o, "\"}");
    const char *lines[] = {
        "{\"timestamp\":\"2026-11-23T01:00:00Z\",\"event_type\":\"flow\",\"n\":1}",
        "{\"timestamp\":\"2026-11-23T01:00:01.5+09:00\",\"event_type\":\"dns\","
        "\"q\":\"\\u0000x\\\"y\\\\z\\n\",\"ja\":\"東京\"}",
        "not json",
        "",
        big,
        ALERT,
        "{\"timestamp\":\"2026-11-23T01:03:00Z\",\"event_type\":\"flow\",\"m\":\"refuse-me\"}",
        "{\"timestamp\":\"2026-11-23T01:04:00Z\",\"event_type\":\"flow\",\"n\":4}",
    };
    static const char *const type[] = {"flow", "dns", NULL, NULL, "stats", "alert", "flow", "flow"};
    static const long long ts[] = {1795395600000000LL, 1795363201500000LL, 0, 0,
                                   1795395600000000LL, 1795395720000000LL, 1795395780000000LL,
                                   1795395840000000LL};
    size_t n = sizeof(lines) / sizeof(lines[0]), total = 0;
    for (size_t i = 0; i < n; i++)
        total += strlen(lines[i]) + 1;
    char *body = malloc(total + 1);
    if (body == NULL)
        return NULL;
    size_t w = 0, wo = 0;
    for (size_t i = 0; i < n; i++) {
        w += (size_t)snprintf(body + w, total + 1 - w, "%s\n", lines[i]);
        if (type[i] != NULL)
            wo += (size_t)snprintf(want + wo, wantlen - wo, "%s|%lld|%s\n", type[i], ts[i],
                                   lines[i]);
    }
    *len = w;
    return body;
}

static void test_refused_event(void)
{
    int64_t a;
    struct principal who;
    struct store *st;
    open_enrolled("refuse.db", &st, &a, &who);
    CHECK(st != NULL);
    /* A constraint of the database's own: PostgreSQL checks it per row of the COPY,
     * SQLite (which cannot add a CHECK to a table) through a trigger. */
    char e[256];
    struct db *db = db_open(g_db, 2000, e, sizeof(e));
    CHECK(db != NULL);
    if (db == NULL)
        return;
    int pg = db_kind(db) == DB_PG;
    CHECK(db_exec(db, pg ? "ALTER TABLE events ADD CONSTRAINT t_refuse CHECK "
                           "(position('\"refuse-me\"' in body) = 0)"
                         : "CREATE TRIGGER t_refuse BEFORE INSERT ON events WHEN "
                           "instr(NEW.body, '\"refuse-me\"') > 0 BEGIN "
                           "SELECT RAISE(ABORT, 'refused'); END") == DB_OK);

    static char want[20000];
    size_t len = 0;
    char *body = make_batch(want, sizeof(want), &len);
    CHECK(body != NULL);
    struct ingest_limits lim = {65536, 100};
    struct ingest_result res;
    CHECK(ingest_parse(body, len, &lim, &res) == 0);
    CHECK_EQ_U64(res.n_ev, 6);
    CHECK_EQ_U64(res.rejected, 1);
    struct store_batch bt = {"b-1", 1, res.se, res.n_ev, res.rejected};
    struct store_batch_result br = {0};
    int rc = store_ingest(st, &who, &bt, 5, &br);
    CHECK(rc != 0 && rc != STORE_BUSY && rc != STORE_DUPLICATE);
    CHECK_EQ_U64(store_refused_line(st), 7);
    CHECK(strstr(store_errmsg(st), "line 7") != NULL || !pg);

    /* Nothing of the batch: no event, no counter, no incident; the batch id is free. */
    static char got[20000];
    struct readback rb = {got, 0, sizeof(got), 0, 0, 1};
    CHECK(read_all(st, a, &rb) == 0);
    CHECK_EQ_U64(rb.n, 0);
    int rows = 0;
    struct store_counter_query cq = {.company_id = a};
    CHECK(store_counters(st, &cq, count_rows, &rows) == 0);
    CHECK_EQ_U64(rows, 0);
    int64_t inc = 0;
    struct store_incident_query iq = {a, -1, 4, 0, INT64_MAX, 0, 10};
    CHECK(store_incident_list(st, &iq, count_incidents, &inc) == 0);
    CHECK_EQ_U64(inc, 0);

    /* Without the constraint the same batch goes in, once, as sent. */
    CHECK(db_exec(db, pg ? "ALTER TABLE events DROP CONSTRAINT t_refuse"
                         : "DROP TRIGGER t_refuse") == DB_OK);
    db_close(db);
    CHECK(store_ingest(st, &who, &bt, 6, &br) == 0);
    CHECK_EQ_U64(store_refused_line(st), 0);
    CHECK_EQ_U64(br.stored, 6);
    CHECK(store_ingest(st, &who, &bt, 7, &br) == STORE_DUPLICATE);
    CHECK(read_all(st, a, &rb) == 0);
    CHECK_EQ_U64(rb.n, 6);
    CHECK(rb.ordered);
    CHECK_STR(got, want);
    rows = 0;
    CHECK(store_counters(st, &cq, count_rows, &rows) == 0);
    CHECK_EQ_U64(rows, 4); /* (day, type): 11-22 dns, 11-23 flow, stats, alert */
    CHECK(store_incident_list(st, &iq, count_incidents, &inc) == 0);
    CHECK(inc > 0);
    char abody[2048] = "";
    CHECK(store_incident_get(st, a, inc, skip_incident, alert_body, NULL, NULL, abody) == 0);
    CHECK_STR(abody, ALERT);
    ingest_result_free(&res);
    free(body);
    store_close(st);
}

/* A batch larger than one block of ids (PostgreSQL takes them 1024 at a time): every
 * event stored, in order, with increasing ids; a sequence whose step was changed
 * behind the store's back stops ingest with a clear error instead of reusing ids. */
static void test_many_blocks(void)
{
    int64_t a;
    struct principal who;
    struct store *st;
    open_enrolled("blocks.db", &st, &a, &who);
    CHECK(st != NULL);
    enum { N = 2500 };
    size_t cap = (size_t)N * 96, len = 0;
    char *body = malloc(cap);
    CHECK(body != NULL);
    if (body == NULL)
        return;
    for (int i = 0; i < N; i++)
        len += (size_t)snprintf(body + len, cap - len,
                                "{\"timestamp\":\"2026-11-23T01:00:00Z\",\"event_type\":"
                                "\"flow\",\"i\":%d}\n",
                                i);
    struct ingest_limits lim = {4096, N};
    struct ingest_result res;
    CHECK(ingest_parse(body, len, &lim, &res) == 0);
    CHECK_EQ_U64(res.n_ev, N);
    struct store_batch bt = {"big", 1, res.se, res.n_ev, 0};
    struct store_batch_result br = {0};
    CHECK(store_ingest(st, &who, &bt, 5, &br) == 0);
    static char got[N * 100];
    struct readback rb = {got, 0, sizeof(got), 0, 0, 1};
    struct store_event_query q = {.company_id = a, .limit = N + 10};
    CHECK(store_events(st, &q, collect, &rb) == 0);
    CHECK_EQ_U64(rb.n, N);
    CHECK(rb.ordered);
    CHECK(strstr(got, "\"i\":0}\n") != NULL && strstr(got, "\"i\":2499}\n") != NULL);
    if (test_store_is_pg()) {
        char e[256];
        struct db *db = db_open(g_db, 2000, e, sizeof(e));
        CHECK(db != NULL);
        if (db != NULL) {
            CHECK(db_exec(db, "ALTER SEQUENCE events_id_seq INCREMENT BY 1") == DB_OK);
            struct store_batch b2 = {"big-2", 2, res.se, 10, 0};
            CHECK(store_ingest(st, &who, &b2, 6, &br) == ERR_IO);
            CHECK(strstr(store_errmsg(st), "increment is 1, expected 1024") != NULL);
            CHECK(db_exec(db, "ALTER SEQUENCE events_id_seq INCREMENT BY 1024") == DB_OK);
            CHECK(store_ingest(st, &who, &b2, 6, &br) == 0);
            db_close(db);
        }
    }
    ingest_result_free(&res);
    free(body);
    store_close(st);
}

/* A version 4 database with events in it (migration 5 rebuilds their keys on
 * PostgreSQL) is upgraded, reads the old events and takes new ones. */
static void test_upgrade_with_events(void)
{
    CHECK(test_store_target(g_db, sizeof(g_db), g_dir, "v4.db") != NULL);
    char e[256];
    struct db *db = db_open(g_db, 2000, e, sizeof(e));
    CHECK(db != NULL);
    if (db == NULL)
        return;
    CHECK(db_exec(db, "CREATE TABLE schema_version(version INTEGER PRIMARY KEY, "
                      "applied_at BIGINT NOT NULL); INSERT INTO schema_version VALUES(1, 0), "
                      "(2, 0), (3, 0), (4, 0)") == DB_OK);
    for (int v = 1; v <= 4; v++)
        CHECK(db_exec(db, migrations_sql_for(db_kind(db), v)) == DB_OK);
    CHECK(db_exec(db, "INSERT INTO companies(name, sector, tz, lang, created) "
                      "VALUES('Old', 'it', 'UTC', 'en', 0)") == DB_OK);
    CHECK(db_exec(db, "INSERT INTO events(company_id, sensor_id, event_type, category, ts, "
                      "received, body) VALUES(1, 1, 'flow', NULL, 10, 11, '{\"old\":1}'), "
                      "(1, 1, 'dns', NULL, 12, 13, '{\"old\":2}')") == DB_OK);
    db_close(db);
    char err[256];
    struct store *st = store_open_sqlite(g_db, NULL, err, sizeof(err));
    CHECK(st != NULL);
    if (st == NULL)
        return;
    CHECK_EQ_U64(store_schema_version(st), store_schema_latest());
    static char got[4096];
    struct readback rb = {got, 0, sizeof(got), 0, 0, 1};
    CHECK(read_all(st, 1, &rb) == 0);
    CHECK_STR(got, "flow|10|{\"old\":1}\ndns|12|{\"old\":2}\n");
    struct principal who;
    CHECK(test_store_enroll(st, 1, &who) == 0);
    const char *body = "{\"timestamp\":\"2026-11-23T00:00:00Z\",\"event_type\":\"flow\"}\n";
    struct ingest_limits lim = {4096, 10};
    struct ingest_result res;
    CHECK(ingest_parse(body, strlen(body), &lim, &res) == 0);
    struct store_batch bt = {"after", 1, res.se, res.n_ev, 0};
    struct store_batch_result br = {0};
    CHECK(store_ingest(st, &who, &bt, 5, &br) == 0);
    ingest_result_free(&res);
    CHECK(read_all(st, 1, &rb) == 0);
    CHECK_EQ_U64(rb.n, 3);
    CHECK(rb.ordered);
    store_close(st);
}

int main(void)
{
    if (mkdtemp(g_dir) == NULL)
        return 1;
    RUN(test_refused_event);
    RUN(test_many_blocks);
    RUN(test_upgrade_with_events);
    int rc = check_done();
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_dir);
    if (system(cmd) != 0)
        rc = 1;
    return rc;
}
