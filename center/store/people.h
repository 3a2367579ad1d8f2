/*
 * People of the center (store part): users with a role, bound to a tenant or, for
 * provider staff, to none; their login sessions; and the append-only audit log.
 *
 * What it keeps true:
 *  - A password is stored only as its Argon2id string (auth/password.h); a session
 *    token only as its SHA-256 digest.
 *  - Provider roles have no company, tenant roles exactly one (a CHECK constraint).
 *  - Disabling a user or changing a password deletes the user's sessions in the same
 *    transaction, so an old session id stops working at once.
 *  - audit_log rows are never updated or deleted (triggers refuse it); nothing in the
 *    program offers either.
 */
#ifndef OTASUKE_CENTER_PEOPLE_H
#define OTASUKE_CENTER_PEOPLE_H

#include "store/store.h"

#include <stddef.h>
#include <stdint.h>

enum user_role {
    ROLE_PROVIDER_ADMIN = 0, /* every tenant; people, audit, triage */
    ROLE_PROVIDER_ANALYST,   /* every tenant; triage (incidents, suppressions) */
    ROLE_TENANT_ADMIN,       /* own tenant; read, comment, its users, its audit */
    ROLE_TENANT_VIEWER,      /* own tenant; read only */
    ROLE_COUNT
};

/* "provider_admin", ...; NULL out of range. */
const char *user_role_name(int role);
/* The role named s, or -1. */
int user_role_parse(const char *s);
/* 1 for the provider roles (no tenant). */
int user_role_provider(int role);

#define USER_NAME_MAX 128
#define USER_HASH_MAX 192

struct store_user {
    int64_t id;
    int64_t company_id; /* 0: provider staff */
    char name[USER_NAME_MAX];
    int role;
    int disabled;
    int64_t created, pw_changed, last_login; /* µs; last_login 0: never */
    char pw_hash[USER_HASH_MAX];
};

/* Adds a user. ERR_EXISTS when the name is taken, ERR_NOTFOUND when the company does
 * not exist, ERR_INVAL when the role does not fit company_id (0 for provider roles). */
int store_user_add(struct store *st, int64_t company_id, const char *name, int role,
                   const char *pw_hash, int64_t now, int64_t *id);
/* One user by name or by id (name NULL). ERR_NOTFOUND. */
int store_user_get(struct store *st, const char *name, int64_t id, struct store_user *u);
/* Users of company_id (0: every user; -1: provider staff only) in id order. */
int store_user_list(struct store *st, int64_t company_id,
                    int (*cb)(void *arg, const struct store_user *u), void *arg);
/* Changes role (-1 keep), disabled (-1 keep, 0 enable, 1 disable) and/or the password
 * hash (NULL keep). Disabling or a new password deletes the user's sessions; *ended
 * (may be NULL) receives how many. ERR_NOTFOUND; ERR_INVAL for a role that does not
 * fit the user's company. */
int store_user_update(struct store *st, int64_t id, int role, int disabled, const char *pw_hash,
                      int64_t now, int *ended);

struct store_session {
    int64_t id;
    int64_t user_id;
    int64_t company_id; /* the user's; 0 provider */
    int role;
    char name[USER_NAME_MAX];
    char csrf[PRINCIPAL_CSRF_LEN + 1];
    int64_t created, last_seen;
};

/* Creates a session for user_id (token by digest) and records the login time. When
 * old_hash is not NULL, that session (the one the browser came with) is deleted in the
 * same transaction: the id rotates at login. Sessions of anyone idle past idle_us or
 * older than max_us are pruned on the way. */
int store_session_add(struct store *st, int64_t user_id, const uint8_t hash[STORE_HASH_LEN],
                      const char *csrf, const char *addr, const uint8_t *old_hash, int64_t now,
                      int64_t idle_us, int64_t max_us, int64_t *id);
/* Looks a session up by digest: 0 with *out filled, ERR_NOTFOUND for no such (or a
 * disabled user's) session, STORE_EXPIRED when idle past idle_us or older than max_us
 * (the row is then deleted). last_seen is written only when older than touch_us, so
 * that reads rarely write. */
int store_session_get(struct store *st, const uint8_t hash[STORE_HASH_LEN], int64_t now,
                      int64_t idle_us, int64_t max_us, int64_t touch_us,
                      struct store_session *out);
/* Deletes a session (logout). ERR_NOTFOUND when there was none. */
int store_session_delete(struct store *st, int64_t session_id);

struct store_audit {
    int64_t id;
    int64_t at;           /* µs UTC */
    const char *actor;    /* user name, "cli:<login>", or the name tried at a failed login */
    int64_t actor_id;     /* user id, 0 when none */
    int64_t company_id;   /* tenant concerned, 0 provider-wide */
    const char *action;   /* login, login_failed, login_throttled, logout, user_add, ... */
    const char *target;   /* what it concerns: "user:alice", "incident:7", ... */
    const char *addr;     /* source address, "cli" for the command line */
    const char *detail;   /* free text, may be "" */
};

/* Appends one audit row (a->id and a->at ignored: at is now). */
int store_audit_add(struct store *st, const struct store_audit *a, int64_t now);
/* Rows of company_id (0: all) with id > after_id, in id order, at most limit. */
int store_audit_list(struct store *st, int64_t company_id, int64_t after_id, int limit,
                     int (*cb)(void *arg, const struct store_audit *a), void *arg);
/* 1 when the company exists, 0 when not, or a negative error. */
int store_company_exists(struct store *st, int64_t company_id);

#endif
