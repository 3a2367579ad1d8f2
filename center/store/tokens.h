/*
 * Long-lived API tokens of people, tenants in full, and the device inventory (store
 * part of docs/api.md's tokens, tenants, sensors and devices endpoints).
 *
 * What it keeps true:
 *  - An API token is stored only as the SHA-256 digest of its secret (256 random
 *    bits); its scope is "read" or "full" (the owner's role), never more than the
 *    owner's role: the role is read from users at every use, so a role change or a
 *    disabled user takes effect on the next request.
 *  - A revoked or expired token, or one of a disabled user, never authenticates.
 *  - The device inventory is one row per (tenant, sensor, device key), updated from
 *    asset events inside the ingest transaction (store_devices_on_batch).
 */
#ifndef OTASUKE_CENTER_TOKENS_H
#define OTASUKE_CENTER_TOKENS_H

#include "store/store.h"

#include <stdint.h>

#define APITOKEN_NAME_MAX 128

enum apitoken_scope { APITOKEN_READ = 0, APITOKEN_FULL };

struct store_apitoken {
    int64_t id;
    int64_t user_id;
    char user[128];     /* the owner's name */
    int64_t company_id; /* the owner's; 0 provider staff */
    int role;           /* the owner's role now (enum user_role) */
    char name[APITOKEN_NAME_MAX];
    int scope;          /* enum apitoken_scope */
    char created_by[128];
    int64_t created, expires, last_used, revoked; /* µs; 0: none/never */
};

/* "read" / "full"; NULL out of range. */
const char *apitoken_scope_name(int scope);
/* The scope named s, or -1. */
int apitoken_scope_parse(const char *s);

/* Adds a token of user_id by digest. expires 0: never. ERR_NOTFOUND: no such user. */
int store_apitoken_add(struct store *st, int64_t user_id, const char *name, int scope,
                       const uint8_t hash[STORE_HASH_LEN], const char *created_by, int64_t now,
                       int64_t expires, int64_t *id);
/* Tokens of user_id (0: every user's; company_id > 0: only of that tenant's users), in id
 * order, without digests. */
int store_apitoken_list(struct store *st, int64_t user_id, int64_t company_id,
                        int (*cb)(void *arg, const struct store_apitoken *t), void *arg);
/* One token by id. ERR_NOTFOUND. */
int store_apitoken_get(struct store *st, int64_t id, struct store_apitoken *t);
/* Revokes a token. ERR_NOTFOUND when there is none or it was revoked before. */
int store_apitoken_revoke(struct store *st, int64_t id, int64_t now);
/* Looks a token up by digest: 0 with *t, ERR_NOTFOUND (unknown, revoked, or its user
 * disabled), STORE_EXPIRED. last_used is written when older than touch_us. */
int store_apitoken_auth(struct store *st, const uint8_t hash[STORE_HASH_LEN], int64_t now,
                        int64_t touch_us, struct store_apitoken *t);

/* A tenant with every field the API shows. */
struct store_company {
    int64_t id;
    char name[256];
    char sector[128];
    int64_t devices;
    char contacts[1024];
    char tz[72];
    char lang[4];
    int notify_severity;
    int64_t created;
};
/* One company. ERR_NOTFOUND. */
int store_company_get(struct store *st, int64_t id, struct store_company *c);
/* Companies (company_id 0: all, else that one) in id order. */
int store_company_each(struct store *st, int64_t company_id,
                       int (*cb)(void *arg, const struct store_company *c), void *arg);
/* One sensor. ERR_NOTFOUND. */
int store_sensor_get(struct store *st, int64_t id, struct sensor_info *si);

struct store_device {
    int64_t id;
    int64_t company_id, sensor_id;
    const char *device_key;                      /* "mac:..", "ip:.." */
    const char *mac, *ip, *name, *maker, *kind;  /* "" when unknown */
    const char *last_change;                     /* new, changed, quiet */
    int64_t first_seen, last_seen, updated;      /* µs */
};
/* Devices of company_id (0: every tenant), optionally of one sensor (0: all), with id >
 * after_id, in id order, at most limit. */
int store_device_list(struct store *st, int64_t company_id, int64_t sensor_id, int64_t after_id,
                      int limit, int (*cb)(void *arg, const struct store_device *d), void *arg);
/* Inside the ingest transaction: upserts one devices row per asset event of the batch
 * (by tenant, sensor and MAC, else IP). Events that are not asset events, or asset
 * events without a MAC or IP, are skipped. */
int store_devices_on_batch(struct store *st, const struct principal *who,
                           const struct store_batch *b, int64_t now);

#endif
