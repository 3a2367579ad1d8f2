/*
 * Which database a store test opens: a SQLite file `name` in `dir`, or, when
 * OTASUKE_TEST_PG names a PostgreSQL server (tests/lib/pg.sh sets it; ctest runs the
 * store tests once per backend), a database of its own per name, created empty on
 * its first use in the process (a second open of the same name reopens it).
 */
#ifndef OTASUKE_TESTS_STORE_TARGET_H
#define OTASUKE_TESTS_STORE_TARGET_H

#include "auth/token.h"
#include "store/db.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEST_PG_MAX_DBS 64

/* 1 when the tests run on PostgreSQL. */
static inline int test_store_is_pg(void)
{
    const char *pg = getenv("OTASUKE_TEST_PG");
    return pg != NULL && *pg != '\0';
}

/* Writes the target (file path or libpq string) of `name` into out; NULL on failure. */
static inline const char *test_store_target(char *out, size_t n, const char *dir,
                                            const char *name)
{
    if (!test_store_is_pg()) {
        snprintf(out, n, "%s/%s", dir, name);
        return out;
    }
    static char made[TEST_PG_MAX_DBS][64];
    char db[64] = "t_";
    size_t o = 2;
    for (const char *p = name; *p && o + 1 < sizeof(db); p++)
        db[o++] = (char)((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ? *p : '_');
    db[o] = '\0';
    const char *pg = getenv("OTASUKE_TEST_PG");
    snprintf(out, n, "%s dbname=%s", pg, db);
    int seen = 0, free_slot = -1;
    for (int i = 0; i < TEST_PG_MAX_DBS; i++) {
        if (strcmp(made[i], db) == 0)
            seen = 1;
        else if (made[i][0] == '\0' && free_slot < 0)
            free_slot = i;
    }
    if (seen)
        return out;
    char admin[512], err[256], sql[160];
    snprintf(admin, sizeof(admin), "%s dbname=postgres", pg);
    struct db *a = db_open(admin, 5000, err, sizeof(err));
    if (a == NULL) {
        fprintf(stderr, "postgresql: %s\n", err);
        return NULL;
    }
    snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s", db);
    int rc = db_exec(a, sql);
    snprintf(sql, sizeof(sql), "CREATE DATABASE %s", db);
    if (rc == DB_OK)
        rc = db_exec(a, sql);
    if (rc != DB_OK)
        fprintf(stderr, "postgresql: %s\n", db_errmsg(a));
    db_close(a);
    if (rc != DB_OK)
        return NULL;
    if (free_slot >= 0)
        snprintf(made[free_slot], sizeof(made[free_slot]), "%s", db);
    return out;
}

/* Opens the store of test database `name` (its target written into path[0..n)); NULL,
 * with the reason on stderr, on failure. */
static inline struct store *test_store_open(char *path, size_t n, const char *dir,
                                            const char *name)
{
    if (test_store_target(path, n, dir, name) == NULL)
        return NULL;
    char err[256];
    struct store *st = store_open_sqlite(path, NULL, err, sizeof(err));
    if (st == NULL)
        fprintf(stderr, "open: %s\n", err);
    return st;
}

/* Adds a sensor "s" to company and enrolls it with fresh random tokens: who is the
 * sensor's principal. 0, or what the store returned. */
static inline int test_store_enroll(struct store *st, int64_t company, struct principal *who)
{
    char code[TOKEN_MAX_LEN], tok[TOKEN_MAX_LEN];
    uint8_t ch[32], th[32];
    int64_t sid = 0;
    token_random(TOKEN_CODE_PREFIX, TOKEN_CODE_BYTES, code, sizeof(code));
    token_random(TOKEN_DEVICE_PREFIX, TOKEN_DEVICE_BYTES, tok, sizeof(tok));
    token_hash(code, strlen(code), ch);
    token_hash(tok, strlen(tok), th);
    if (store_sensor_add(st, company, "s", ch, INT64_MAX, &sid) != 0)
        return -1;
    return store_enroll(st, ch, th, 1, who);
}

#endif
