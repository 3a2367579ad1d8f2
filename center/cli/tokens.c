/* otasuke token create|list|revoke (tokens.h). */
#include "cli/tokens.h"
#include "auth/token.h"
#include "store/people.h"
#include "store/tokens.h"

#include "otasuke/conf.h"
#include "otasuke/err.h"
#include "otasuke/timefmt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tfail(const char *msg, const char *arg)
{
    fprintf(stderr, "otasuke: %s%s\n", msg, arg ? arg : "");
    return 1;
}

static void cli_actor(char *out, size_t n)
{
    const char *u = getenv("SUDO_USER");
    if (u == NULL || u[0] == '\0')
        u = getenv("USER");
    snprintf(out, n, "cli:%s", u && u[0] ? u : "unknown");
}

static void audit_token(struct store *st, int64_t company, const char *action, int64_t id,
                        const char *detail)
{
    char actor[96], target[48];
    cli_actor(actor, sizeof(actor));
    snprintf(target, sizeof(target), "token:%lld", (long long)id);
    struct store_audit a = {.actor = actor, .company_id = company, .action = action,
                            .target = target, .addr = "cli", .detail = detail};
    if (store_audit_add(st, &a, (int64_t)ts_now_us()) != 0)
        fprintf(stderr, "otasuke: warning: audit row not written: %s\n", store_errmsg(st));
}

static void fmt_time(char *out, size_t n, int64_t us, const char *none)
{
    if (us > 0)
        ts_format(out, n, (uint64_t)us, 0);
    else
        snprintf(out, n, "%s", none);
}

static int token_create(struct store *st, const struct cli_token_args *a)
{
    struct store_user u;
    if (a->user == NULL)
        return tfail("--user NAME (the token's owner) is required", NULL);
    int rc = store_user_get(st, a->user, 0, &u);
    if (rc == ERR_NOTFOUND)
        return tfail("no such user: ", a->user);
    if (rc != 0)
        return tfail(store_errmsg(st), NULL);
    if (u.disabled)
        return tfail("the user is disabled: ", a->user);
    const char *name = a->name ? a->name : "script";
    size_t nl = strlen(name);
    if (nl == 0 || nl >= APITOKEN_NAME_MAX)
        return tfail("--name: 1..127 bytes", NULL);
    for (size_t i = 0; i < nl; i++)
        if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
            return tfail("--name: no control characters", NULL);
    int scope = apitoken_scope_parse(a->scope ? a->scope : "read");
    if (scope < 0)
        return tfail("--scope: read or full", NULL);
    uint64_t ttl = 0;
    if (a->ttl != NULL && (conf_parse_duration(a->ttl, &ttl) != 0 || ttl < 60000000ULL ||
                           ttl > 3650ULL * 86400 * 1000000))
        return tfail("--ttl: a duration from 1m to 3650d, e.g. 90d", NULL);
    char secret[TOKEN_MAX_LEN], actor[96];
    if (token_random(TOKEN_API_PREFIX, TOKEN_API_BYTES, secret, sizeof(secret)) != 0)
        return tfail("no randomness", NULL);
    uint8_t h[STORE_HASH_LEN];
    token_hash(secret, strlen(secret), h);
    cli_actor(actor, sizeof(actor));
    int64_t now = (int64_t)ts_now_us(), expires = ttl ? now + (int64_t)ttl : 0, id = 0;
    rc = store_apitoken_add(st, u.id, name, scope, h, actor, now, expires, &id);
    if (rc != 0)
        return tfail(store_errmsg(st), NULL);
    char exp[TS_RFC3339_LEN], detail[400];
    fmt_time(exp, sizeof(exp), expires, "never");
    snprintf(detail, sizeof(detail), "user=%s scope=%s expires=%s name=%s", u.name,
             apitoken_scope_name(scope), exp, name);
    audit_token(st, u.company_id, "token_create", id, detail);
    printf("token_id=%lld\ntoken=%s\nscope=%s\nexpires=%s\n", (long long)id, secret,
           apitoken_scope_name(scope), exp);
    memset(secret, 0, sizeof(secret));
    return 0;
}

static int token_row(void *arg, const struct store_apitoken *t)
{
    (void)arg;
    char exp[TS_RFC3339_LEN], used[TS_RFC3339_LEN];
    fmt_time(exp, sizeof(exp), t->expires, "never");
    fmt_time(used, sizeof(used), t->last_used, "-");
    int64_t now = (int64_t)ts_now_us();
    const char *state = t->revoked       ? "revoked"
                        : t->expires > 0 && now >= t->expires ? "expired"
                                                              : "active";
    printf("%lld\t%s\t%s\t%s\t%s\t%s\t%s\n", (long long)t->id, t->user, t->name,
           apitoken_scope_name(t->scope), exp, used, state);
    return 0;
}

static int token_list(struct store *st, const struct cli_token_args *a)
{
    int64_t uid = 0;
    if (a->user != NULL) {
        struct store_user u;
        int rc = store_user_get(st, a->user, 0, &u);
        if (rc != 0)
            return tfail(rc == ERR_NOTFOUND ? "no such user: " : store_errmsg(st),
                         rc == ERR_NOTFOUND ? a->user : NULL);
        uid = u.id;
    }
    int rc = store_apitoken_list(st, uid, a->company, token_row, NULL);
    return rc == 0 ? 0 : tfail(store_errmsg(st), NULL);
}

static int token_revoke(struct store *st, const struct cli_token_args *a)
{
    struct store_apitoken t;
    if (a->id <= 0)
        return tfail("--id ID (the token) is required", NULL);
    int rc = store_apitoken_get(st, a->id, &t);
    if (rc == 0)
        rc = store_apitoken_revoke(st, a->id, (int64_t)ts_now_us());
    if (rc == ERR_NOTFOUND)
        return tfail("no such token, or revoked already", NULL);
    if (rc != 0)
        return tfail(store_errmsg(st), NULL);
    char detail[320];
    snprintf(detail, sizeof(detail), "user=%s name=%s", t.user, t.name);
    audit_token(st, t.company_id, "token_revoke", t.id, detail);
    printf("revoked=%lld\n", (long long)t.id);
    return 0;
}

int cli_token(struct store *st, const char *verb, const struct cli_token_args *a)
{
    if (strcmp(verb, "create") == 0)
        return token_create(st, a);
    if (strcmp(verb, "list") == 0)
        return token_list(st, a);
    if (strcmp(verb, "revoke") == 0)
        return token_revoke(st, a);
    return 2;
}
