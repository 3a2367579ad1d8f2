/*
 * API tokens, tenants in full and the device inventory in the store (store/tokens.h):
 * tokens stored by digest, scope names, listing without secrets, revoke once, expiry,
 * a disabled owner or a changed role taking effect at the next lookup, last use
 * written; companies and sensors read back; the devices table kept from asset events
 * inside the ingest transaction (upsert by tenant, sensor and MAC else IP; an older
 * event does not overwrite newer fields; a replayed batch changes nothing; tenants
 * apart); the upgrade of a version-3 database. Runs on SQLite and, as the .pg
 * variant, on PostgreSQL.
 */
#include "check.h"

#include "auth/token.h"
#include "store/migrations.h"
#include "store/people.h"
#include "store/store.h"
#include "store/tokens.h"

#include "otasuke/err.h"

#include "store_target.h"
#include <stdlib.h>
#include <unistd.h>

#define SEC 1000000LL

static char g_dir[] = "/tmp/center_tokens_testXXXXXX";
static char g_db[512];

static struct store *open_new(const char *name)
{
    return test_store_open(g_db, sizeof(g_db), g_dir, name);
}

static int64_t add_company(struct store *st, const char *name, const char *contacts)
{
    struct company_in c = {name, "retail", "Asia/Tokyo", "en", contacts, 12};
    int64_t id = 0;
    return store_company_add(st, &c, &id) == 0 ? id : -1;
}

static void hash_of(const char *tok, uint8_t h[STORE_HASH_LEN])
{
    token_hash(tok, strlen(tok), h);
}

static int collect_tokens(void *arg, const struct store_apitoken *t)
{
    char *out = arg;
    size_t n = strlen(out);
    snprintf(out + n, 256 - n, "%s%s:%s", n ? " " : "", t->name, apitoken_scope_name(t->scope));
    return 0;
}

static void test_tokens(void)
{
    struct store *st = open_new("tokens.db");
    CHECK(st != NULL);
    int64_t a = add_company(st, "A", ""), b = add_company(st, "B", "");
    int64_t ua = 0, ub = 0, root = 0, t1 = 0, t2 = 0, t3 = 0;
    CHECK(store_user_add(st, a, "alice", ROLE_TENANT_ADMIN, "$argon2id$a", 1, &ua) == 0);
    CHECK(store_user_add(st, b, "bob", ROLE_TENANT_VIEWER, "$argon2id$b", 1, &ub) == 0);
    CHECK(store_user_add(st, 0, "root", ROLE_PROVIDER_ADMIN, "$argon2id$r", 1, &root) == 0);
    char s1[TOKEN_MAX_LEN], s2[TOKEN_MAX_LEN], s3[TOKEN_MAX_LEN];
    CHECK(token_random(TOKEN_API_PREFIX, TOKEN_API_BYTES, s1, sizeof(s1)) == 0);
    CHECK(token_random(TOKEN_API_PREFIX, TOKEN_API_BYTES, s2, sizeof(s2)) == 0);
    CHECK(token_random(TOKEN_API_PREFIX, TOKEN_API_BYTES, s3, sizeof(s3)) == 0);
    CHECK(strlen(s1) == 68 && strncmp(s1, "ota_", 4) == 0 && strcmp(s1, s2) != 0);
    CHECK(token_shape_ok(s1, strlen(s1), TOKEN_API_PREFIX, TOKEN_API_BYTES));
    CHECK(!token_shape_ok(s1, strlen(s1), TOKEN_DEVICE_PREFIX, TOKEN_DEVICE_BYTES));
    uint8_t h1[STORE_HASH_LEN], h2[STORE_HASH_LEN], h3[STORE_HASH_LEN], hx[STORE_HASH_LEN];
    hash_of(s1, h1);
    hash_of(s2, h2);
    hash_of(s3, h3);
    hash_of("ota_unknown", hx);
    CHECK(store_apitoken_add(st, ua, "ci read", APITOKEN_READ, h1, "alice", 10 * SEC, 0, &t1) == 0);
    CHECK(store_apitoken_add(st, ua, "ci full", APITOKEN_FULL, h2, "root", 10 * SEC, 100 * SEC,
                             &t2) == 0);
    CHECK(store_apitoken_add(st, ub, "bob's", APITOKEN_FULL, h3, "cli:op", 10 * SEC, 0, &t3) == 0);
    CHECK(store_apitoken_add(st, 999, "x", APITOKEN_READ, hx, "root", 1, 0, NULL) == ERR_NOTFOUND);
    CHECK(store_apitoken_add(st, ua, "x", 7, hx, "root", 1, 0, NULL) == ERR_INVAL);
    CHECK(store_apitoken_add(st, ub, "dup", APITOKEN_READ, h1, "root", 1, 0, NULL) == ERR_EXISTS);
    /* Listing: by owner, by tenant, all. */
    char names[256] = "";
    CHECK(store_apitoken_list(st, ua, 0, collect_tokens, names) == 0);
    CHECK_STR(names, "ci read:read ci full:full");
    names[0] = '\0';
    CHECK(store_apitoken_list(st, 0, b, collect_tokens, names) == 0);
    CHECK_STR(names, "bob's:full");
    names[0] = '\0';
    CHECK(store_apitoken_list(st, 0, 0, collect_tokens, names) == 0);
    CHECK_STR(names, "ci read:read ci full:full bob's:full");
    /* Lookup by digest gives the owner's tenant and role now. */
    struct store_apitoken t;
    CHECK(store_apitoken_auth(st, h1, 20 * SEC, 60 * SEC, &t) == 0);
    CHECK(t.id == t1 && t.user_id == ua && t.company_id == a && t.role == ROLE_TENANT_ADMIN &&
          t.scope == APITOKEN_READ);
    CHECK_STR(t.user, "alice");
    CHECK(t.last_used == 20 * SEC);
    CHECK(store_apitoken_auth(st, h1, 30 * SEC, 60 * SEC, &t) == 0 && t.last_used == 20 * SEC);
    CHECK(store_apitoken_auth(st, h1, 90 * SEC, 60 * SEC, &t) == 0 && t.last_used == 90 * SEC);
    CHECK(store_apitoken_get(st, t1, &t) == 0 && t.last_used == 90 * SEC);
    CHECK(store_apitoken_auth(st, hx, 20 * SEC, 60 * SEC, &t) == ERR_NOTFOUND);
    CHECK(store_user_update(st, ua, ROLE_TENANT_VIEWER, -1, NULL, 21 * SEC, NULL) == 0);
    CHECK(store_apitoken_auth(st, h2, 22 * SEC, 60 * SEC, &t) == 0);
    CHECK(t.role == ROLE_TENANT_VIEWER && t.scope == APITOKEN_FULL); /* never above the role */
    /* Expiry: at and after `expires` the token is refused. */
    CHECK(store_apitoken_auth(st, h2, 99 * SEC, 60 * SEC, &t) == 0);
    CHECK(store_apitoken_auth(st, h2, 100 * SEC, 60 * SEC, &t) == STORE_EXPIRED);
    /* A disabled owner: refused; enabled again: accepted. */
    CHECK(store_user_update(st, ub, -1, 1, NULL, 30 * SEC, NULL) == 0);
    CHECK(store_apitoken_auth(st, h3, 31 * SEC, 60 * SEC, &t) == ERR_NOTFOUND);
    CHECK(store_user_update(st, ub, -1, 0, NULL, 32 * SEC, NULL) == 0);
    CHECK(store_apitoken_auth(st, h3, 33 * SEC, 60 * SEC, &t) == 0 && t.company_id == b);
    /* Revoke once; refused afterwards; still listed with its time. */
    CHECK(store_apitoken_revoke(st, t3, 40 * SEC) == 0);
    CHECK(store_apitoken_revoke(st, t3, 41 * SEC) == ERR_NOTFOUND);
    CHECK(store_apitoken_revoke(st, 999, 41 * SEC) == ERR_NOTFOUND);
    CHECK(store_apitoken_auth(st, h3, 42 * SEC, 60 * SEC, &t) == ERR_NOTFOUND);
    CHECK(store_apitoken_get(st, t3, &t) == 0 && t.revoked == 40 * SEC);
    CHECK_STR(t.created_by, "cli:op");
    CHECK(apitoken_scope_parse("full") == APITOKEN_FULL && apitoken_scope_parse("admin") == -1);
    CHECK(apitoken_scope_name(2) == NULL);
    store_close(st);
}

static int collect_companies(void *arg, const struct store_company *c)
{
    char *out = arg;
    size_t n = strlen(out);
    snprintf(out + n, 256 - n, "%s%lld:%s:%s", n ? " " : "", (long long)c->id, c->name,
             c->contacts);
    return 0;
}

static void test_companies_sensors(void)
{
    struct store *st = open_new("companies.db");
    CHECK(st != NULL);
    int64_t a = add_company(st, "株式会社A", "a@x.jp"), b = add_company(st, "B", "");
    struct store_company c;
    CHECK(store_company_get(st, a, &c) == 0);
    CHECK_STR(c.name, "株式会社A");
    CHECK_STR(c.contacts, "a@x.jp");
    CHECK_STR(c.lang, "en");
    CHECK(c.devices == 12 && c.notify_severity == 2 && c.created > 0);
    CHECK(store_company_get(st, 999, &c) == ERR_NOTFOUND);
    char all[256] = "";
    CHECK(store_company_each(st, 0, collect_companies, all) == 0);
    char want[128];
    snprintf(want, sizeof(want), "%lld:株式会社A:a@x.jp %lld:B:", (long long)a, (long long)b);
    CHECK_STR(all, want);
    all[0] = '\0';
    CHECK(store_company_each(st, b, collect_companies, all) == 0);
    snprintf(want, sizeof(want), "%lld:B:", (long long)b);
    CHECK_STR(all, want);
    uint8_t h[STORE_HASH_LEN];
    hash_of("otc_x", h);
    int64_t sid = 0;
    CHECK(store_sensor_add(st, b, "gw", h, 100 * SEC, &sid) == 0);
    struct sensor_info si;
    CHECK(store_sensor_get(st, sid, &si) == 0 && si.company_id == b && !si.enrolled &&
          !si.revoked);
    CHECK_STR(si.name, "gw");
    CHECK(store_sensor_revoke(st, sid) == 0);
    CHECK(store_sensor_get(st, sid, &si) == 0 && si.revoked);
    CHECK(store_sensor_get(st, sid + 100, &si) == ERR_NOTFOUND);
    store_close(st);
}

static int enroll(struct store *st, int64_t company, const char *code, const char *tok,
                  struct principal *who)
{
    uint8_t ch[STORE_HASH_LEN], th[STORE_HASH_LEN];
    hash_of(code, ch);
    hash_of(tok, th);
    int64_t sid = 0;
    if (store_sensor_add(st, company, "s", ch, 1000 * SEC, &sid) != 0)
        return -1;
    return store_enroll(st, ch, th, 1, who);
}

static int collect_devices(void *arg, const struct store_device *d)
{
    char *out = arg;
    size_t n = strlen(out);
    snprintf(out + n, 512 - n, "%s%s|%s|%s|%s|%s|%lld-%lld", n ? " " : "", d->device_key, d->ip,
             d->name, d->kind, d->last_change, (long long)(d->first_seen / SEC),
             (long long)(d->last_seen / SEC));
    return 0;
}

#define ASSET(mac, ip, name, change)                                                          \
    "{\"event_type\":\"asset\",\"asset\":{\"change\":\"" change "\",\"mac\":" mac                \
    ",\"ip\":" ip ",\"name\":" name ",\"kind\":\"printer\",\"maker\":\"Brother\"}}"

static struct store_event ev_of(const char *type, const char *body, int64_t ts)
{
    return (struct store_event){type, NULL, ts, body, strlen(body), 1};
}

static void test_devices(void)
{
    struct store *st = open_new("devices.db");
    CHECK(st != NULL);
    int64_t a = add_company(st, "A", ""), b = add_company(st, "B", "");
    struct principal pa = {0}, pb = {0};
    CHECK(enroll(st, a, "otc_a", "otk_a", &pa) == 0);
    CHECK(enroll(st, b, "otc_b", "otk_b", &pb) == 0);
    struct store_event e1[] = {
        ev_of("asset", ASSET("\"8C:16:45:77:51:A6\"", "\"192.168.1.104\"", "\"prn-1\"", "new"),
              100 * SEC),
        ev_of("flow", "{\"event_type\":\"flow\"}", 101 * SEC),
        ev_of("asset", ASSET("null", "\"192.168.1.7\"", "null", "new"), 102 * SEC),
        ev_of("asset", ASSET("null", "null", "\"nokey\"", "new"), 103 * SEC),
        ev_of("asset", "{\"event_type\":\"asset\",\"asset\":[1]}", 104 * SEC),
    };
    struct store_batch b1 = {"b1", 1, e1, 5, 0};
    struct store_batch_result br;
    CHECK(store_ingest(st, &pa, &b1, 200 * SEC, &br) == 0);
    char got[512] = "";
    CHECK(store_device_list(st, a, 0, 0, 100, collect_devices, got) == 0);
    CHECK_STR(got, "mac:8c:16:45:77:51:a6|192.168.1.104|prn-1|printer|new|100-100 "
                   "ip:192.168.1.7|192.168.1.7||printer|new|102-102");
    /* A change later, then an older event delivered late: the later fields stay. */
    struct store_event e2[] = {
        ev_of("asset", ASSET("\"8c:16:45:77:51:a6\"", "\"192.168.1.120\"", "\"prn-2\"", "changed"),
              300 * SEC),
        ev_of("asset", ASSET("\"8c:16:45:77:51:a6\"", "\"192.168.1.50\"", "\"old\"", "new"),
              50 * SEC),
    };
    struct store_batch b2 = {"b2", 2, e2, 2, 0};
    CHECK(store_ingest(st, &pa, &b2, 400 * SEC, &br) == 0);
    got[0] = '\0';
    CHECK(store_device_list(st, a, pa.sensor_id, 0, 1, collect_devices, got) == 0);
    CHECK_STR(got, "mac:8c:16:45:77:51:a6|192.168.1.120|prn-2|printer|changed|50-300");
    /* A replayed batch writes nothing. */
    CHECK(store_ingest(st, &pa, &b2, 500 * SEC, &br) == STORE_DUPLICATE);
    /* Tenant B's same MAC is B's own row; A's list does not show it. */
    struct store_event e3[] = {
        ev_of("asset", ASSET("\"8c:16:45:77:51:a6\"", "\"10.0.0.9\"", "\"b-prn\"", "new"), 10 * SEC),
    };
    struct store_batch b3 = {"b1", 1, e3, 1, 0};
    CHECK(store_ingest(st, &pb, &b3, 600 * SEC, &br) == 0);
    got[0] = '\0';
    CHECK(store_device_list(st, b, 0, 0, 100, collect_devices, got) == 0);
    CHECK_STR(got, "mac:8c:16:45:77:51:a6|10.0.0.9|b-prn|printer|new|10-10");
    got[0] = '\0';
    CHECK(store_device_list(st, a, 0, 0, 100, collect_devices, got) == 0);
    CHECK(strstr(got, "b-prn") == NULL && strstr(got, "prn-2") != NULL);
    got[0] = '\0';
    CHECK(store_device_list(st, 0, 0, 0, 100, collect_devices, got) == 0);
    CHECK(strstr(got, "b-prn") != NULL && strstr(got, "prn-2") != NULL);
    /* Paging by id. */
    got[0] = '\0';
    CHECK(store_device_list(st, a, 0, 1, 100, collect_devices, got) == 0);
    CHECK_STR(got, "ip:192.168.1.7|192.168.1.7||printer|new|102-102");
    store_close(st);
}

static void test_upgrade_from_v3(void)
{
    CHECK(test_store_target(g_db, sizeof(g_db), g_dir, "v3.db") != NULL);
    char err0[256];
    struct db *db = db_open(g_db, 2000, err0, sizeof(err0));
    CHECK(db != NULL);
    CHECK(db_exec(db, "CREATE TABLE schema_version(version INTEGER PRIMARY KEY, "
                      "applied_at BIGINT NOT NULL); INSERT INTO schema_version VALUES(1, 0), "
                      "(2, 0), (3, 0)") == DB_OK);
    for (int v = 1; v <= 3; v++)
        CHECK(db_exec(db, migrations_sql_for(db_kind(db), v)) == DB_OK);
    CHECK(db_exec(db, "INSERT INTO companies(name, sector, tz, lang, created) "
                      "VALUES('Old', 'it', 'Asia/Tokyo', 'ja', 0)") == DB_OK);
    CHECK(db_exec(db, "INSERT INTO users(company_id, name, role, pw_hash, created, pw_changed) "
                      "VALUES(1, 'old', 'tenant_viewer', 'h', 0, 0)") == DB_OK);
    db_close(db);
    char err[256];
    struct store *st = store_open_sqlite(g_db, NULL, err, sizeof(err));
    CHECK(st != NULL);
    CHECK(store_schema_version(st) == store_schema_latest() && store_schema_latest() >= 4);
    uint8_t h[STORE_HASH_LEN];
    hash_of("ota_old", h);
    CHECK(store_apitoken_add(st, 1, "after upgrade", APITOKEN_READ, h, "root", 1, 0, NULL) == 0);
    store_close(st);
}

int main(void)
{
    if (mkdtemp(g_dir) == NULL)
        return 1;
    RUN(test_tokens);
    RUN(test_companies_sensors);
    RUN(test_devices);
    RUN(test_upgrade_from_v3);
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", g_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cleanup failed\n");
    return check_done();
}
