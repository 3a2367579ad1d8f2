/*
 * People in the center: Argon2id password hashing and its policy, constant-time
 * compare, the bounded login throttle, and the store's users, sessions (idle and
 * absolute expiry, rotation at login, logout, ended by a new password or disabling)
 * and the append-only audit log; the upgrade of a version-2 database.
 */
#include "check.h"

#include "auth/password.h"
#include "auth/throttle.h"
#include "auth/token.h"
#include "store/migrations.h"
#include "store/people.h"
#include "store/store.h"

#include "otasuke/err.h"

#include "store_target.h"
#include <stdlib.h>
#include <unistd.h>

#define SEC 1000000LL

static char g_dir[] = "/tmp/center_auth_testXXXXXX";
static char g_db[512];

static struct store *open_new(const char *name)
{
    return test_store_open(g_db, sizeof(g_db), g_dir, name);
}

static void test_hash_verify(void)
{
    struct pw_params p;
    pw_params_default(&p);
    char h1[PW_HASH_MAX], h2[PW_HASH_MAX];
    const char *pw = "correct horse battery staple";
    CHECK(pw_hash(&p, pw, strlen(pw), h1, sizeof(h1)) == 0);
    CHECK(pw_hash(&p, pw, strlen(pw), h2, sizeof(h2)) == 0);
    /* RELIABILITY.md S2: argon2id, m >= 19 MiB, t >= 2; a random salt each time. */
    CHECK(strncmp(h1, "$argon2id$v=19$m=19456,t=2,p=1$", 31) == 0);
    CHECK(strcmp(h1, h2) != 0);
    CHECK(pw_verify(h1, pw, strlen(pw)) == 0);
    CHECK(pw_verify(h2, pw, strlen(pw)) == 0);
    CHECK(pw_verify(h1, "correct horse battery stapl", 27) == ERR_NOTFOUND);
    CHECK(pw_verify(h1, "", 0) == ERR_NOTFOUND);
    /* One flipped character of the tag, or another algorithm, never verifies. */
    char bad[PW_HASH_MAX];
    snprintf(bad, sizeof(bad), "%s", h1);
    size_t n = strlen(bad);
    bad[n - 2] = bad[n - 2] == 'A' ? 'B' : 'A';
    CHECK(pw_verify(bad, pw, strlen(pw)) == ERR_NOTFOUND);
    snprintf(bad, sizeof(bad), "$argon2i$%s", h1 + 10);
    CHECK(pw_verify(bad, pw, strlen(pw)) == ERR_NOTFOUND);
    CHECK(pw_verify("", pw, strlen(pw)) == ERR_NOTFOUND);
    /* Long passwords (S2: over 64 characters) hash and verify; over the cap are refused. */
    char longpw[PW_MAX_LEN + 2];
    memset(longpw, 'x', sizeof(longpw));
    for (size_t i = 0; i < sizeof(longpw); i++)
        longpw[i] = (char)('a' + i % 26);
    CHECK(pw_hash(&p, longpw, 200, h2, sizeof(h2)) == 0);
    CHECK(pw_verify(h2, longpw, 200) == 0);
    CHECK(pw_verify(h2, longpw, 199) == ERR_NOTFOUND);
    CHECK(pw_hash(&p, longpw, PW_MAX_LEN + 1, h2, sizeof(h2)) == ERR_INVAL);
    /* Parameters under the minimums are refused, stronger ones verify with their own. */
    struct pw_params weak = {1024, 1, 1}, strong = {32768, 3, 2};
    CHECK(pw_hash(&weak, pw, strlen(pw), h2, sizeof(h2)) == ERR_INVAL);
    CHECK(pw_hash(&strong, pw, strlen(pw), h2, sizeof(h2)) == 0);
    CHECK(strstr(h2, "m=32768,t=3,p=2") != NULL);
    CHECK(pw_verify(h2, pw, strlen(pw)) == 0);
    CHECK(pw_hash(&p, pw, strlen(pw), h2, 40) == ERR_INVAL); /* no room */
}

static void test_policy_and_compare(void)
{
    CHECK(pw_policy("short", 5, "bob") != NULL);
    CHECK(pw_policy("Password1234", 12, "bob") != NULL); /* on the common list, any case */
    CHECK(pw_policy("aaaaaaaaaaaaaaaa", 16, "bob") != NULL);
    CHECK(pw_policy("alice.example", 13, "Alice.Example") != NULL);
    CHECK(pw_policy("abc\0defghijklm", 14, "bob") != NULL);
    CHECK(pw_policy("tenant a password1", 18, "bob") == NULL);
    const char *ja = "社内ネットワーク監視のパスワード"; /* UTF-8 is fine */
    CHECK(pw_policy(ja, strlen(ja), "bob") == NULL);
    CHECK(ct_equal("abcdef", "abcdef", 6));
    CHECK(!ct_equal("abcdef", "abcdeg", 6));
    CHECK(!ct_equal("xbcdef", "abcdef", 6));
    CHECK(ct_equal("", "", 0));
}

static void test_throttle(void)
{
    struct throttle *t = throttle_new(64, 3, 10 * SEC);
    CHECK(t != NULL);
    int64_t retry = 0, now = 1000 * SEC;
    int first = 0;
    CHECK(!throttle_check(t, "u:alice", now, &retry, &first));
    throttle_fail(t, "u:alice", now);
    throttle_fail(t, "u:alice", now + 1 * SEC);
    CHECK(!throttle_check(t, "u:alice", now + 2 * SEC, &retry, &first));
    throttle_fail(t, "u:alice", now + 2 * SEC);
    /* Third failure within the window: blocked until the window (from the first) ends. */
    CHECK(throttle_check(t, "u:alice", now + 3 * SEC, &retry, &first));
    CHECK_EQ_U64(retry, 7 * SEC);
    CHECK(first == 1);
    CHECK(throttle_check(t, "u:alice", now + 4 * SEC, &retry, &first));
    CHECK(first == 0); /* the lockout is reported once per window */
    CHECK(!throttle_check(t, "u:bob", now + 4 * SEC, &retry, &first));
    /* After the window it may try again, with a fresh count. */
    CHECK(!throttle_check(t, "u:alice", now + 10 * SEC, &retry, &first));
    throttle_fail(t, "u:alice", now + 10 * SEC);
    CHECK(!throttle_check(t, "u:alice", now + 11 * SEC, &retry, &first));
    /* A success resets the account. */
    throttle_fail(t, "u:carol", now);
    throttle_fail(t, "u:carol", now);
    throttle_reset(t, "u:carol");
    throttle_fail(t, "u:carol", now);
    CHECK(!throttle_check(t, "u:carol", now, &retry, &first));
    throttle_free(t);
}

static void test_throttle_bounded(void)
{
    /* A flood of distinct keys (addresses) never grows the table: it evicts the
     * oldest windows; a key failing steadily within the flood stays blocked. */
    struct throttle *t = throttle_new(256, 2, 900 * SEC);
    CHECK(t != NULL);
    size_t bytes = throttle_bytes(t);
    int64_t now = 5000 * SEC;
    throttle_fail(t, "10.0.0.1", now);
    throttle_fail(t, "10.0.0.1", now);
    CHECK(throttle_check(t, "10.0.0.1", now, &(int64_t){0}, NULL));
    char key[64];
    for (int i = 0; i < 100000; i++) {
        snprintf(key, sizeof(key), "192.0.%d.%d", i / 256, i % 256);
        throttle_fail(t, key, now + 1 + i);
    }
    CHECK(throttle_bytes(t) == bytes);
    CHECK(throttle_used(t, now + 200000) <= 256);
    CHECK(throttle_evictions(t) >= 100000 - 256);
    /* The newest keys are still counted. */
    throttle_fail(t, "192.0.390.159", now + 200000);
    CHECK(throttle_check(t, "192.0.390.159", now + 200001, &(int64_t){0}, NULL));
    throttle_free(t);
}

static int64_t add_company(struct store *st, const char *name)
{
    struct company_in c = {name, "it", "Asia/Tokyo", "ja", "", 1};
    int64_t id = 0;
    return store_company_add(st, &c, &id) == 0 ? id : -1;
}

static void test_users(void)
{
    struct store *st = open_new("users.db");
    CHECK(st != NULL);
    int64_t a = add_company(st, "A"), id = 0, id2 = 0;
    CHECK(a > 0);
    CHECK(store_user_add(st, 0, "root", ROLE_PROVIDER_ADMIN, "$argon2id$x", 10, &id) == 0);
    CHECK(store_user_add(st, a, "alice", ROLE_TENANT_VIEWER, "$argon2id$y", 11, &id2) == 0);
    CHECK(store_user_add(st, 0, "root", ROLE_PROVIDER_ANALYST, "h", 12, NULL) == ERR_EXISTS);
    CHECK(store_user_add(st, a, "x", ROLE_PROVIDER_ADMIN, "h", 12, NULL) == ERR_INVAL);
    CHECK(store_user_add(st, 0, "y", ROLE_TENANT_ADMIN, "h", 12, NULL) == ERR_INVAL);
    CHECK(store_user_add(st, 999, "z", ROLE_TENANT_ADMIN, "h", 12, NULL) == ERR_NOTFOUND);
    struct store_user u;
    CHECK(store_user_get(st, "alice", 0, &u) == 0);
    CHECK(u.id == id2 && u.company_id == a && u.role == ROLE_TENANT_VIEWER && !u.disabled);
    CHECK_STR(u.pw_hash, "$argon2id$y");
    CHECK(store_user_get(st, NULL, id, &u) == 0 && u.company_id == 0);
    CHECK(store_user_get(st, "nobody", 0, &u) == ERR_NOTFOUND);
    CHECK(store_user_update(st, id2, ROLE_TENANT_ADMIN, -1, NULL, 20, NULL) == 0);
    CHECK(store_user_update(st, id2, ROLE_PROVIDER_ADMIN, -1, NULL, 20, NULL) == ERR_INVAL);
    CHECK(store_user_update(st, 999, -1, 1, NULL, 20, NULL) == ERR_NOTFOUND);
    CHECK(store_user_get(st, "alice", 0, &u) == 0 && u.role == ROLE_TENANT_ADMIN);
    CHECK(user_role_parse("tenant_viewer") == ROLE_TENANT_VIEWER);
    CHECK(user_role_parse("root") == -1 && user_role_name(ROLE_COUNT) == NULL);
    store_close(st);
}

static void hash_of(const char *tok, uint8_t h[STORE_HASH_LEN])
{
    token_hash(tok, strlen(tok), h);
}

static void test_sessions(void)
{
    struct store *st = open_new("sessions.db");
    CHECK(st != NULL);
    int64_t a = add_company(st, "A"), uid = 0, sid = 0;
    CHECK(store_user_add(st, a, "alice", ROLE_TENANT_VIEWER, "$argon2id$y", 1, &uid) == 0);
    const int64_t idle = 60 * SEC, max = 600 * SEC, touch = 15 * SEC;
    uint8_t h1[STORE_HASH_LEN], h2[STORE_HASH_LEN], h3[STORE_HASH_LEN];
    hash_of("ots_one", h1);
    hash_of("ots_two", h2);
    hash_of("ots_three", h3);
    int64_t t0 = 1000 * SEC;
    CHECK(store_session_add(st, uid, h1, "c1", "127.0.0.1", NULL, t0, idle, max, &sid) == 0);
    struct store_session ss;
    CHECK(store_session_get(st, h1, t0 + 1, idle, max, touch, &ss) == 0);
    CHECK(ss.user_id == uid && ss.company_id == a && ss.role == ROLE_TENANT_VIEWER);
    CHECK_STR(ss.name, "alice");
    CHECK_STR(ss.csrf, "c1");
    CHECK(store_session_get(st, h2, t0 + 1, idle, max, touch, &ss) == ERR_NOTFOUND);
    /* Used within the idle time, it lives on (touched), up to the absolute limit. */
    int64_t t = t0;
    for (int i = 0; i < 18; i++) {
        t += 30 * SEC;
        CHECK(store_session_get(st, h1, t, idle, max, touch, &ss) == 0);
    }
    t += 30 * SEC; /* 570 s */
    CHECK(store_session_get(st, h1, t, idle, max, touch, &ss) == 0);
    CHECK(store_session_get(st, h1, t0 + max, idle, max, touch, &ss) == STORE_EXPIRED);
    CHECK(store_session_get(st, h1, t0 + max, idle, max, touch, &ss) == ERR_NOTFOUND);
    /* Idle expiry. */
    CHECK(store_session_add(st, uid, h2, "c2", "::1", NULL, t0, idle, max, &sid) == 0);
    CHECK(store_session_get(st, h2, t0 + idle - 1, idle, max, touch, &ss) == 0);
    CHECK(store_session_get(st, h2, t0 + 2 * idle - 2, idle, max, touch, &ss) == 0);
    CHECK(store_session_get(st, h2, t0 + 4 * idle, idle, max, touch, &ss) == STORE_EXPIRED);
    /* Rotation: a login that came with session h2 deletes it. */
    CHECK(store_session_add(st, uid, h2, "c2", "::1", NULL, t0, idle, max, &sid) == 0);
    CHECK(store_session_add(st, uid, h3, "c3", "::1", h2, t0 + 1, idle, max, &sid) == 0);
    CHECK(store_session_get(st, h2, t0 + 2, idle, max, touch, &ss) == ERR_NOTFOUND);
    CHECK(store_session_get(st, h3, t0 + 2, idle, max, touch, &ss) == 0);
    /* Logout. */
    CHECK(store_session_delete(st, ss.id) == 0);
    CHECK(store_session_delete(st, ss.id) == ERR_NOTFOUND);
    CHECK(store_session_get(st, h3, t0 + 3, idle, max, touch, &ss) == ERR_NOTFOUND);
    /* A new password ends every session of the user; so does disabling. */
    int ended = 0;
    CHECK(store_session_add(st, uid, h1, "c1", "a", NULL, t0, idle, max, &sid) == 0);
    CHECK(store_session_add(st, uid, h2, "c2", "b", NULL, t0, idle, max, &sid) == 0);
    CHECK(store_user_update(st, uid, -1, -1, "$argon2id$new", t0 + 5, &ended) == 0);
    CHECK_EQ_U64(ended, 2);
    CHECK(store_session_get(st, h1, t0 + 6, idle, max, touch, &ss) == ERR_NOTFOUND);
    CHECK(store_session_add(st, uid, h1, "c1", "a", NULL, t0 + 7, idle, max, &sid) == 0);
    CHECK(store_user_update(st, uid, -1, 1, NULL, t0 + 8, &ended) == 0);
    CHECK_EQ_U64(ended, 1);
    CHECK(store_session_get(st, h1, t0 + 9, idle, max, touch, &ss) == ERR_NOTFOUND);
    struct store_user u;
    CHECK(store_user_get(st, NULL, uid, &u) == 0 && u.disabled && u.pw_changed == t0 + 5);
    store_close(st);
}

static int count_audit(void *arg, const struct store_audit *a)
{
    (*(int *)arg)++;
    return 0;
}

static void test_audit(void)
{
    struct store *st = open_new("audit.db");
    CHECK(st != NULL);
    int64_t a = add_company(st, "A"), b = add_company(st, "B");
    struct store_audit r = {.actor = "root", .actor_id = 1, .company_id = a, .action = "login",
                            .target = "user:root", .addr = "127.0.0.1", .detail = ""};
    CHECK(store_audit_add(st, &r, 100) == 0);
    r.company_id = b;
    CHECK(store_audit_add(st, &r, 101) == 0);
    r.company_id = 0;
    CHECK(store_audit_add(st, &r, 102) == 0);
    int n = 0;
    CHECK(store_audit_list(st, 0, 0, 100, count_audit, &n) == 0 && n == 3);
    n = 0;
    CHECK(store_audit_list(st, a, 0, 100, count_audit, &n) == 0 && n == 1);
    n = 0;
    CHECK(store_audit_list(st, 0, 1, 1, count_audit, &n) == 0 && n == 1);
    store_close(st);
    /* Append-only: even a direct UPDATE or DELETE is refused by the database. */
    char err[256];
    struct db *db = db_open(g_db, 2000, err, sizeof(err));
    CHECK(db != NULL);
    CHECK(db_exec(db, "UPDATE audit_log SET actor='x'") != DB_OK);
    CHECK(db_exec(db, "DELETE FROM audit_log") != DB_OK);
    db_close(db);
}

static void test_upgrade_from_v2(void)
{
    CHECK(test_store_target(g_db, sizeof(g_db), g_dir, "v2.db") != NULL);
    char err0[256];
    struct db *db = db_open(g_db, 2000, err0, sizeof(err0));
    CHECK(db != NULL);
    CHECK(db_exec(db, "CREATE TABLE schema_version(version INTEGER PRIMARY KEY, "
                      "applied_at BIGINT NOT NULL); INSERT INTO schema_version VALUES(1, 0), (2, 0)") == DB_OK);
    CHECK(db_exec(db, migrations_sql_for(db_kind(db), 1)) == DB_OK);
    CHECK(db_exec(db, migrations_sql_for(db_kind(db), 2)) == DB_OK);
    CHECK(db_exec(db, "INSERT INTO companies(name, sector, tz, lang, created) "
                      "VALUES('Old', 'it', 'Asia/Tokyo', 'ja', 0)") == DB_OK);
    db_close(db);
    char err[256];
    struct store *st = store_open_sqlite(g_db, NULL, err, sizeof(err));
    CHECK(st != NULL);
    CHECK(store_schema_version(st) == store_schema_latest() && store_schema_latest() >= 3);
    CHECK(store_user_add(st, 1, "old.admin", ROLE_TENANT_ADMIN, "$argon2id$z", 1, NULL) == 0);
    store_close(st);
}

int main(void)
{
    if (mkdtemp(g_dir) == NULL)
        return 1;
    RUN(test_hash_verify);
    RUN(test_policy_and_compare);
    RUN(test_throttle);
    RUN(test_throttle_bounded);
    RUN(test_users);
    RUN(test_sessions);
    RUN(test_audit);
    RUN(test_upgrade_from_v2);
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", g_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cleanup failed\n");
    return check_done();
}
