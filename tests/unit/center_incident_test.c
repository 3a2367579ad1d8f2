/*
 * Incidents, suppression rules and the notification queue of the center's store
 * (center/store/incident.c), and the rendering of notifications
 * (center/notify/mail.c): the state machine, grouping by device within the window
 * (edges, out-of-order alerts, partly missing device fields), severity and
 * escalation, notification thresholds, suppression, replayed batches, the upgrade
 * of a version-1 database, the retry bookkeeping, and the mail's MIME form (RFC 2047
 * subject words holding whole characters, line lengths, base64 body).
 */
#include "check.h"

#include "auth/token.h"
#include "notify/notify.h"
#include "store/migrations.h"
#include "store/store.h"

#include "otasuke/err.h"

#include "store_target.h"
#include <stdlib.h>
#include <unistd.h>

static char g_dir[] = "/tmp/center_incident_testXXXXXX";
static char g_db[512];

#define MIN_US (60LL * 1000000)

static struct store *open_new(const char *name)
{
    if (test_store_target(g_db, sizeof(g_db), g_dir, name) == NULL)
        return NULL;
    char err[256];
    struct store_opts o = {STORE_SYNC_NORMAL, 2000, 30 * MIN_US};
    struct store *st = store_open_sqlite(g_db, &o, err, sizeof(err));
    if (st == NULL)
        fprintf(stderr, "open: %s\n", err);
    return st;
}


#define T0 1795395600LL /* 2026-11-23T01:00:00Z */

struct line {
    char s[1024];
    int64_t ts_us;
};

/* One alert; device parts and src may be NULL. minute: minutes after 01:00 UTC. */
static void alert_line(struct line *l, int minute, int sev, const char *mac, const char *ip,
                       const char *src, long sid)
{
    char dev[256] = "", srcf[128] = "";
    if (mac && ip)
        snprintf(dev, sizeof(dev), ",\"device\":{\"mac\":\"%s\",\"ip\":\"%s\"}", mac, ip);
    else if (mac)
        snprintf(dev, sizeof(dev), ",\"device\":{\"mac\":\"%s\"}", mac);
    else if (ip)
        snprintf(dev, sizeof(dev), ",\"device\":{\"ip\":\"%s\"}", ip);
    if (src)
        snprintf(srcf, sizeof(srcf), ",\"src_ip\":\"%s\"", src);
    snprintf(l->s, sizeof(l->s),
             "{\"timestamp\":\"2026-11-23T%02d:%02d:00Z\",\"event_type\":\"alert\"%s,"
             "\"alert\":{\"category\":\"c2\",\"severity\":%d,\"signature_id\":%ld,"
             "\"signature\":\"sig\",\"signature_ja\":\"シグ\",\"action\":{\"ja\":\"まず抜く\","
             "\"en\":\"unplug\"}}%s}",
             1 + minute / 60, minute % 60, srcf, sev, sid, dev);
    l->ts_us = (T0 + minute * 60LL) * 1000000;
}

static int ingest_lines(struct store *st, const struct principal *who, const char *batch,
                        const struct line *l, size_t n, uint64_t *queued)
{
    struct store_event ev[16];
    for (size_t i = 0; i < n; i++)
        ev[i] = (struct store_event){"alert", "c2", l[i].ts_us, l[i].s, strlen(l[i].s),
                                     (uint64_t)i + 1};
    struct store_batch b = {batch, 1, ev, n, 0};
    struct store_batch_result r = {0};
    int rc = store_ingest(st, who, &b, 1, &r);
    if (queued)
        *queued = r.notifications;
    return rc;
}

struct inc_list {
    int n;
    int64_t id[16], alerts[16];
    int sev[16];
    char key[16][64];
};

static int list_cb(void *arg, const struct store_incident *inc)
{
    struct inc_list *l = arg;
    if (l->n < 16) {
        l->id[l->n] = inc->id;
        l->alerts[l->n] = inc->alerts;
        l->sev[l->n] = inc->severity;
        snprintf(l->key[l->n], sizeof(l->key[0]), "%s", inc->device_key);
        l->n++;
    }
    return 0;
}

static void list_all(struct store *st, int64_t company, struct inc_list *l)
{
    memset(l, 0, sizeof(*l));
    struct store_incident_query q = {company, -1, 4, 0, INT64_MAX, 0, 100};
    store_incident_list(st, &q, list_cb, l);
}

static void test_transitions(void)
{
    /* rows: from; columns: to (new ack contacted onsite resolved false_positive) */
    static const int ok[INC_STATE_COUNT][INC_STATE_COUNT] = {
        {0, 1, 0, 0, 0, 1}, {0, 0, 1, 0, 1, 1}, {0, 0, 0, 1, 1, 1},
        {0, 0, 0, 0, 1, 1}, {0, 0, 0, 0, 0, 0}, {0, 0, 0, 0, 0, 0},
    };
    for (int f = 0; f < INC_STATE_COUNT; f++)
        for (int t = 0; t < INC_STATE_COUNT; t++)
            CHECK_EQ_U64(incident_transition_ok(f, t), ok[f][t]);
    CHECK(!incident_transition_ok(-1, 0) && !incident_transition_ok(0, INC_STATE_COUNT));
    for (int i = 0; i < INC_STATE_COUNT; i++)
        CHECK_EQ_U64(incident_state_parse(incident_state_name(i)), i);
    CHECK(incident_state_parse("closed") == -1 && incident_state_parse(NULL) == -1);
}

static void test_grouping(void)
{
    struct store *st = open_new("g.db");
    CHECK(st != NULL);
    struct company_in c = {"A", "x", "Asia/Tokyo", "ja", "a@x.example", 0};
    int64_t a = 0;
    CHECK(store_company_add(st, &c, &a) == 0);
    struct principal pa;
    CHECK(test_store_enroll(st, a, &pa) == 0);
    struct line l[8];
    /* MAC device: at 0, 30 (exactly the window after: joins), 20 (out of order: joins),
     * 61 (31 min after the last: a new incident). MAC case and separators differ. */
    alert_line(&l[0], 0, 3, "8c:16:45:77:51:a6", "10.0.0.1", NULL, 1);
    alert_line(&l[1], 30, 3, "8C-16-45-77-51-A6", "10.0.0.1", NULL, 1);
    alert_line(&l[2], 20, 3, "8c:16:45:77:51:a6", NULL, NULL, 1);
    alert_line(&l[3], 61, 3, "8c:16:45:77:51:a6", "10.0.0.1", NULL, 1);
    /* No device: grouped by src_ip. No device and no src_ip: "unknown". A bad MAC
     * falls back to the IP. */
    alert_line(&l[4], 0, 3, NULL, NULL, "10.0.0.9", 1);
    alert_line(&l[5], 0, 3, NULL, NULL, NULL, 1);
    alert_line(&l[6], 0, 3, "zz:16:45:77:51:a6", "10.0.0.7", NULL, 1);
    CHECK(ingest_lines(st, &pa, "g1", l, 7, NULL) == 0);
    struct inc_list li;
    list_all(st, a, &li);
    CHECK_EQ_U64(li.n, 5);
    CHECK_STR(li.key[0], "ip:10.0.0.7");
    CHECK_STR(li.key[1], "unknown");
    CHECK_STR(li.key[2], "ip:10.0.0.9");
    CHECK_STR(li.key[3], "mac:8c:16:45:77:51:a6");
    CHECK_STR(li.key[4], "mac:8c:16:45:77:51:a6");
    CHECK_EQ_U64(li.alerts[4], 3); /* the first incident: alerts at 0, 30, 20 */
    CHECK_EQ_U64(li.alerts[3], 1);
    /* A replayed batch groups nothing twice. */
    CHECK(ingest_lines(st, &pa, "g1", l, 7, NULL) == STORE_DUPLICATE);
    list_all(st, a, &li);
    CHECK_EQ_U64(li.n, 5);
    CHECK_EQ_U64(li.alerts[4], 3);
    store_close(st);
}

static int64_t count(const char *sql)
{
    char err[256];
    struct db *db = db_open(g_db, 2000, err, sizeof(err));
    struct db_stmt *s = NULL;
    int64_t v = -1;
    if (db != NULL && db_prepare(db, sql, &s) == DB_OK && db_step(s) == DB_ROW)
        v = db_column_int64(s, 0);
    db_finalize(s);
    db_close(db);
    return v;
}

static void test_escalation_and_threshold(void)
{
    struct store *st = open_new("n.db");
    CHECK(st != NULL);
    struct company_in c = {"A", "x", "Asia/Tokyo", "ja", "a@x.example", 0};
    int64_t a = 0;
    CHECK(store_company_add(st, &c, &a) == 0);
    CHECK(store_company_notify(st, a, 2, "http://127.0.0.1:9/hook", NULL) == 0);
    CHECK(store_company_notify(st, 99, 2, NULL, NULL) == ERR_NOTFOUND);
    struct principal pa;
    CHECK(test_store_enroll(st, a, &pa) == 0);
    struct line l[4];
    uint64_t q = 0;
    alert_line(&l[0], 0, 3, "00:00:00:00:00:01", NULL, NULL, 1); /* below: none */
    CHECK(ingest_lines(st, &pa, "n1", l, 1, &q) == 0);
    CHECK_EQ_U64(q, 0);
    alert_line(&l[0], 1, 2, "00:00:00:00:00:01", NULL, NULL, 1); /* escalates to 2 */
    alert_line(&l[1], 2, 2, "00:00:00:00:00:01", NULL, NULL, 1); /* same: none */
    CHECK(ingest_lines(st, &pa, "n2", l, 2, &q) == 0);
    CHECK_EQ_U64(q, 2); /* mail + webhook */
    alert_line(&l[0], 3, 9, "00:00:00:00:00:01", NULL, NULL, 1); /* invalid: medium */
    alert_line(&l[1], 4, 1, "00:00:00:00:00:01", NULL, NULL, 1); /* critical */
    CHECK(ingest_lines(st, &pa, "n3", l, 2, &q) == 0);
    CHECK_EQ_U64(q, 2);
    struct inc_list li;
    list_all(st, a, &li);
    CHECK_EQ_U64(li.n, 1);
    CHECK_EQ_U64(li.sev[0], 1);
    CHECK_EQ_U64(li.alerts[0], 5);
    CHECK_EQ_U64(count("SELECT count(*) FROM notifications WHERE channel='mail' AND "
                       "reason='escalated'"),
                 2);
    CHECK_EQ_U64(count("SELECT count(*) FROM notifications WHERE channel='webhook' AND "
                       "target='http://127.0.0.1:9/hook'"),
                 2);
    store_close(st);
}

struct due {
    int n;
    int64_t id[8];
    char subject_ok;
};

static int due_cb(void *arg, const struct store_notify_job *j)
{
    struct due *d = arg;
    d->id[d->n++] = j->n.id;
    return 0;
}

static void test_queue_and_suppression(void)
{
    struct store *st = open_new("q.db");
    CHECK(st != NULL);
    struct company_in c = {"A", "x", "Asia/Tokyo", "ja", "a@x.example", 0};
    int64_t a = 0, rule = 0;
    CHECK(store_company_add(st, &c, &a) == 0);
    struct principal pa;
    CHECK(test_store_enroll(st, a, &pa) == 0);
    struct store_suppression sp = {.company_id = a, .signature_id = 7, .device = "",
                                   .reason = "noise", .expires = INT64_MAX / 2};
    CHECK(store_suppression_add(st, &sp, &rule) == 0);
    sp.company_id = 999;
    CHECK(store_suppression_add(st, &sp, &rule) == ERR_NOTFOUND);
    struct line l[3];
    alert_line(&l[0], 0, 1, NULL, "10.0.0.1", NULL, 7);  /* suppressed */
    alert_line(&l[1], 0, 1, NULL, "10.0.0.1", NULL, 8);  /* incident */
    alert_line(&l[2], 0, 1, NULL, "10.0.0.2", NULL, 7);  /* suppressed */
    uint64_t q = 0;
    CHECK(ingest_lines(st, &pa, "s1", l, 3, &q) == 0);
    CHECK_EQ_U64(q, 1);
    CHECK_EQ_U64(count("SELECT count(*) FROM suppressed_alerts"), 2);
    CHECK_EQ_U64(count("SELECT hits FROM suppressions"), 2);
    CHECK_EQ_U64(count("SELECT count FROM counters WHERE event_type='alert_suppressed'"), 2);
    CHECK_EQ_U64(count("SELECT count FROM counters WHERE event_type='alert'"), 3);
    /* The queue: due now, mail rows only when mail is configured. */
    struct due d = {0};
    CHECK(store_notify_due(st, INT64_MAX / 2, 8, 0, due_cb, &d) == 0);
    CHECK_EQ_U64(d.n, 0);
    CHECK(store_notify_due(st, INT64_MAX / 2, 8, 1, due_cb, &d) == 0);
    CHECK_EQ_U64(d.n, 1);
    CHECK(store_notify_result(st, d.id[0], "queued", "smtp: refused", 5000, 100) == 0);
    memset(&d, 0, sizeof(d));
    CHECK(store_notify_due(st, 4999, 8, 1, due_cb, &d) == 0);
    CHECK_EQ_U64(d.n, 0); /* not due yet */
    CHECK(store_notify_due(st, 5000, 8, 1, due_cb, &d) == 0);
    CHECK_EQ_U64(d.n, 1);
    CHECK(store_notify_result(st, d.id[0], "sent", NULL, 5000, 6000) == 0);
    memset(&d, 0, sizeof(d));
    CHECK(store_notify_due(st, INT64_MAX / 2, 8, 1, due_cb, &d) == 0);
    CHECK_EQ_U64(d.n, 0);
    CHECK_EQ_U64(count("SELECT attempts FROM notifications"), 2);
    CHECK_EQ_U64(count("SELECT sent FROM notifications"), 6000);
    CHECK_EQ_U64(count("SELECT last_error='smtp: refused' FROM notifications"), 1);
    store_close(st);
}

static void test_upgrade_from_v1(void)
{
    CHECK(test_store_target(g_db, sizeof(g_db), g_dir, "v1.db") != NULL);
    char err[256];
    struct db *db = db_open(g_db, 2000, err, sizeof(err));
    CHECK(db != NULL);
    CHECK(db_exec(db, "CREATE TABLE schema_version(version INTEGER PRIMARY KEY, "
                      "applied_at BIGINT NOT NULL); INSERT INTO schema_version VALUES(1, 0)") ==
          DB_OK);
    CHECK(db_exec(db, migrations_sql_for(db_kind(db), 1)) == DB_OK);
    CHECK(db_exec(db, "INSERT INTO companies(name, sector, tz, lang, created) "
                      "VALUES('old', 'x', 'UTC', 'en', 0)") == DB_OK);
    db_close(db);
    struct store *st = store_open_sqlite(g_db, NULL, err, sizeof(err));
    CHECK(st != NULL);
    CHECK_EQ_U64(store_schema_version(st), store_schema_latest());
    store_close(st);
    CHECK_EQ_U64(count("SELECT notify_severity FROM companies WHERE name='old'"), 2);
    CHECK(migrations_sql(0) == NULL && migrations_sql(store_schema_latest() + 1) == NULL);
}

/* Decodes base64 (no line breaks) into out; returns the length. */
static size_t unb64(const char *in, size_t n, char *out)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    unsigned v = 0;
    int bits = 0;
    for (size_t i = 0; i < n && in[i] != '='; i++) {
        const char *p = strchr(tbl, in[i]);
        if (p == NULL || in[i] == '\0')
            continue;
        v = (v << 6) | (unsigned)(p - tbl);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (char)((v >> bits) & 0xff);
        }
    }
    out[o] = '\0';
    return o;
}

static int utf8_whole(const char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        size_t l = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
        if (i + l > n)
            return 0;
        for (size_t k = 1; k < l; k++)
            if (((unsigned char)s[i + k] & 0xc0) != 0x80)
                return 0;
        i += l;
    }
    return 1;
}

static void test_subject_encoding(void)
{
    const char *subj = "[otasuke] 緊急: インシデントの重大度上昇 #12 経理部のノートPC-田中 "
                       "(c2,malware,recon)";
    struct nbuf b = {0};
    CHECK(notify_encode_subject(subj, &b) == 0);
    char joined[1024] = "";
    size_t jl = 0;
    int words = 0;
    for (char *p = b.p; (p = strstr(p, "=?UTF-8?B?")) != NULL;) {
        char *end = strstr(p + 10, "?=");
        CHECK(end != NULL);
        CHECK((size_t)(end + 2 - p) <= 75);
        char part[128];
        size_t n = unb64(p + 10, (size_t)(end - p - 10), part);
        CHECK(utf8_whole(part, n)); /* each word holds whole characters */
        memcpy(joined + jl, part, n);
        jl += n;
        joined[jl] = '\0';
        words++;
        p = end + 2;
    }
    CHECK(words >= 3);
    CHECK_STR(joined, subj);
    /* Folded lines: "Subject: " + the first word, then " " + each word, all <= 78. */
    for (char *p = b.p, *nl; p; p = nl ? nl + 2 : NULL) {
        nl = strstr(p, "\r\n");
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        CHECK(len + 9 <= 78);
        if (nl)
            CHECK(nl[2] == ' ');
    }
    nbuf_free(&b);
    char addr[64];
    CHECK(notify_addr("otasuke SOC <soc@provider.example>", addr, sizeof(addr)) == 0);
    CHECK_STR(addr, "soc@provider.example");
    CHECK(notify_addr(" it@x.example ", addr, sizeof(addr)) == 0);
    CHECK_STR(addr, "it@x.example");
    CHECK(notify_addr("nobody", addr, sizeof(addr)) == ERR_INVAL);
    CHECK(notify_addr("<>", addr, sizeof(addr)) == ERR_INVAL);
}

static void test_mail_form(void)
{
    struct store_notify_job j;
    memset(&j, 0, sizeof(j));
    j.n = (struct store_notification){.id = 3, .company_id = 1, .incident_id = 12,
                                      .channel = "mail", .reason = "opened", .severity = 1,
                                      .target = "", .state = "queued", .created = 1795400000000000,
                                      .last_error = ""};
    j.inc = (struct store_incident){.id = 12, .company_id = 1, .device_key = "mac:8c:16:45:77:51:a6",
                                    .device_ip = "192.168.1.104", .device_mac = "8c:16:45:77:51:a6",
                                    .severity = 1, .categories = "c2", .steps_ja = "抜く\n連絡する",
                                    .steps_en = "unplug\ncall", .assignee = "", .alerts = 2,
                                    .first_seen = 1795395600000000, .last_seen = 1795395900000000};
    j.company = "株式会社ヤマト精機";
    j.lang = "ja";
    j.contacts = "it@yamato.example, boss@yamato.example";
    struct notify_sigs sg = {.n = 1};
    snprintf(sg.en[0], sizeof(sg.en[0]), "Known C&C server contacted");
    snprintf(sg.ja[0], sizeof(sg.ja[0]), "既知のC&Cサーバーへの通信");
    struct nbuf m = {0};
    CHECK(notify_render_mail(&j, &sg, "otasuke <soc@provider.example>", &m) == 0);
    CHECK(strstr(m.p, "Date: Mon, 23 Nov 2026 ") == m.p); /* 1795400000 is a Monday */
    CHECK(strstr(m.p, "\r\nMessage-ID: <otasuke.n3.i12.1795400000000000@provider.example>\r\n"));
    CHECK(strstr(m.p, "\r\nTo: it@yamato.example, boss@yamato.example\r\n"));
    CHECK(strstr(m.p, "\r\nContent-Type: text/plain; charset=UTF-8\r\n"));
    CHECK(strstr(m.p, "\r\nContent-Transfer-Encoding: base64\r\n"));
    char *sep = strstr(m.p, "\r\n\r\n");
    CHECK(sep != NULL);
    for (char *p = m.p; *p;) { /* ASCII only, CRLF lines of at most 76 characters */
        char *nl = strstr(p, "\r\n");
        CHECK(nl != NULL);
        CHECK(nl - p <= 76);
        for (char *q = p; q < nl; q++)
            CHECK((unsigned char)*q < 0x80 && *q != '\n' && *q != '\r');
        p = nl + 2;
    }
    static char body[65536];
    char b64[65536];
    size_t bl = 0;
    for (char *p = sep + 4; *p; p++)
        if (*p != '\r' && *p != '\n')
            b64[bl++] = *p;
    size_t n = unb64(b64, bl, body);
    CHECK(utf8_whole(body, n));
    CHECK(strstr(body, "株式会社ヤマト精機 ご担当者様"));
    CHECK(strstr(body, "IPアドレス: 192.168.1.104"));
    CHECK(strstr(body, "MACアドレス: 8c:16:45:77:51:a6"));
    CHECK(strstr(body, "  - 抜く\r\n  - 連絡する\r\n"));
    CHECK(strstr(body, "既知のC&Cサーバーへの通信"));
    CHECK(strstr(body, "---- English ----"));
    CHECK(strstr(body, "  - unplug\r\n  - call\r\n"));
    nbuf_free(&m);
    /* English tenant: English only. */
    j.lang = "en";
    CHECK(notify_render_mail(&j, &sg, "soc@provider.example", &m) == 0);
    sep = strstr(m.p, "\r\n\r\n");
    bl = 0;
    for (char *p = sep + 4; *p; p++)
        if (*p != '\r' && *p != '\n')
            b64[bl++] = *p;
    unb64(b64, bl, body);
    CHECK(strstr(body, "Dear 株式会社ヤマト精機,"));
    CHECK(strstr(body, "First steps") && !strstr(body, "まず"));
    nbuf_free(&m);
    struct nbuf w = {0};
    CHECK(notify_render_webhook(&j, &sg, &w) == 0);
    CHECK(strstr(w.p, "\"type\":\"incident.opened\""));
    CHECK(strstr(w.p, "\"mac\":\"8c:16:45:77:51:a6\""));
    CHECK(strstr(w.p, "\"name\":null"));
    nbuf_free(&w);
}

int main(void)
{
    if (mkdtemp(g_dir) == NULL)
        return 1;
    RUN(test_transitions);
    RUN(test_grouping);
    RUN(test_escalation_and_threshold);
    RUN(test_queue_and_suppression);
    RUN(test_upgrade_from_v1);
    RUN(test_subject_encoding);
    RUN(test_mail_form);
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", g_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", g_dir);
    return check_done();
}
