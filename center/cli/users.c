/*
 * otasuke user … and otasuke audit list (users.h). The password is read from
 * --password-file or from the first line of standard input, never from the command
 * line (it would show in ps and shell history). Hashes use the default Argon2id
 * parameters (auth/password.h); the center verifies any stored parameters.
 */
#include "cli/users.h"
#include "auth/password.h"
#include "store/people.h"

#include "otasuke/err.h"
#include "otasuke/timefmt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int ufail(const char *msg, const char *arg)
{
    fprintf(stderr, "otasuke: %s%s\n", msg, arg ? arg : "");
    return 1;
}

static void actor_name(char *out, size_t n)
{
    const char *u = getenv("SUDO_USER");
    if (u == NULL || u[0] == '\0')
        u = getenv("USER");
    snprintf(out, n, "cli:%s", u && u[0] ? u : "unknown");
}

static void audit_cli(struct store *st, int64_t company, const char *action, const char *name,
                      const char *detail)
{
    char actor[96], target[USER_NAME_MAX + 8];
    actor_name(actor, sizeof(actor));
    snprintf(target, sizeof(target), "user:%s", name);
    struct store_audit a = {.actor = actor, .company_id = company, .action = action,
                            .target = target, .addr = "cli", .detail = detail};
    if (store_audit_add(st, &a, (int64_t)ts_now_us()) != 0)
        fprintf(stderr, "otasuke: warning: audit row not written: %s\n", store_errmsg(st));
}

/* Reads the password (first line of the file or of stdin) into out. */
static int read_secret(const char *path, char *out, size_t n)
{
    FILE *f = path != NULL ? fopen(path, "r") : stdin;
    if (f == NULL)
        return ufail("cannot open --password-file ", path);
    char *got = fgets(out, (int)n, f);
    if (path != NULL)
        fclose(f);
    if (got == NULL)
        return ufail("no password given (first line of --password-file or stdin)", NULL);
    size_t len = strcspn(out, "\r\n");
    if (out[len] == '\0' && len == n - 1)
        return ufail("password longer than 1024 bytes", NULL);
    out[len] = '\0';
    return 0;
}

/* Reads, checks and hashes a new password for user `name`. */
static int secret_hash(const struct cli_user_args *a, const char *name, char *hash, size_t n)
{
    char pw[PW_MAX_LEN + 2];
    if (read_secret(a->password_file, pw, sizeof(pw)) != 0)
        return 1;
    const char *why = pw_policy(pw, strlen(pw), name);
    if (why != NULL) {
        memset(pw, 0, sizeof(pw));
        return ufail(why, NULL);
    }
    struct pw_params p;
    pw_params_default(&p);
    int rc = pw_hash(&p, pw, strlen(pw), hash, n);
    memset(pw, 0, sizeof(pw));
    return rc == 0 ? 0 : ufail("cannot hash the password", NULL);
}

static int user_add(struct store *st, const struct cli_user_args *a)
{
    int role = user_role_parse(a->role);
    if (a->name == NULL || a->name[0] == '\0' || strlen(a->name) >= USER_NAME_MAX ||
        strspn(a->name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._@+-") !=
            strlen(a->name))
        return ufail("--name: 1..127 of [A-Za-z0-9._@+-] required", NULL);
    if (role < 0)
        return ufail("--role: provider_admin, provider_analyst, tenant_admin or tenant_viewer",
                     NULL);
    if (user_role_provider(role) != (a->company == 0))
        return ufail(user_role_provider(role) ? "provider roles take no --company"
                                              : "tenant roles need --company ID",
                     NULL);
    char hash[PW_HASH_MAX];
    if (secret_hash(a, a->name, hash, sizeof(hash)) != 0)
        return 1;
    int64_t id = 0;
    int rc = store_user_add(st, a->company, a->name, role, hash, (int64_t)ts_now_us(), &id);
    if (rc == ERR_EXISTS)
        return ufail("a user of this name exists: ", a->name);
    if (rc == ERR_NOTFOUND)
        return ufail("no such company", NULL);
    if (rc != 0)
        return ufail(store_errmsg(st), NULL);
    audit_cli(st, a->company, "user_add", a->name, a->role);
    printf("user_id=%lld\n", (long long)id);
    return 0;
}

static int user_row(void *arg, const struct store_user *u)
{
    char last[TS_RFC3339_LEN] = "-";
    if (u->last_login > 0)
        ts_format(last, sizeof(last), (uint64_t)u->last_login, 0);
    char company[24] = "-";
    if (u->company_id > 0)
        snprintf(company, sizeof(company), "%lld", (long long)u->company_id);
    printf("%lld\t%s\t%s\t%s\t%s\t%s\n", (long long)u->id, company, u->name,
           user_role_name(u->role), u->disabled ? "disabled" : "active", last);
    return 0;
}

/* The user named by --name or --id. */
static int find_user(struct store *st, const struct cli_user_args *a, struct store_user *u)
{
    if (a->name == NULL && a->id <= 0)
        return ufail("--name NAME or --id ID is required", NULL);
    int rc = store_user_get(st, a->name, a->id, u);
    if (rc == ERR_NOTFOUND)
        return ufail("no such user", NULL);
    return rc == 0 ? 0 : ufail(store_errmsg(st), NULL);
}

static int user_change(struct store *st, const char *verb, const struct cli_user_args *a)
{
    struct store_user u;
    if (find_user(st, a, &u) != 0)
        return 1;
    int disabled = -1, role = -1, ended = 0;
    char hash[PW_HASH_MAX];
    const char *action = "user_change", *detail = verb;
    if (strcmp(verb, "disable") == 0)
        disabled = 1;
    else if (strcmp(verb, "enable") == 0)
        disabled = 0;
    else if (strcmp(verb, "role") == 0) {
        role = user_role_parse(a->role);
        if (role < 0 || user_role_provider(role) != (u.company_id == 0))
            return ufail("--role: a role that fits the user (provider_* for staff, tenant_* "
                         "for a company's users)",
                         NULL);
        detail = a->role;
    } else if (secret_hash(a, u.name, hash, sizeof(hash)) != 0) {
        return 1;
    } else {
        detail = "password";
    }
    int rc = store_user_update(st, u.id, role, disabled, strcmp(verb, "passwd") == 0 ? hash : NULL,
                               (int64_t)ts_now_us(), &ended);
    if (rc != 0)
        return ufail(store_errmsg(st), NULL);
    audit_cli(st, u.company_id, action, u.name, detail);
    printf("user_id=%lld\nsessions_ended=%d\n", (long long)u.id, ended);
    return 0;
}

int cli_user(struct store *st, const char *verb, const struct cli_user_args *a)
{
    if (strcmp(verb, "add") == 0)
        return user_add(st, a);
    if (strcmp(verb, "list") == 0) {
        int rc = store_user_list(st, a->company, user_row, NULL);
        return rc == 0 ? 0 : ufail(store_errmsg(st), NULL);
    }
    if (strcmp(verb, "disable") == 0 || strcmp(verb, "enable") == 0 ||
        strcmp(verb, "passwd") == 0 || strcmp(verb, "role") == 0)
        return user_change(st, verb, a);
    return 2;
}

static int audit_row(void *arg, const struct store_audit *r)
{
    char at[TS_RFC3339_LEN], company[24] = "-";
    ts_format(at, sizeof(at), (uint64_t)r->at, 0);
    if (r->company_id > 0)
        snprintf(company, sizeof(company), "%lld", (long long)r->company_id);
    printf("%lld\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", (long long)r->id, at, r->actor, company,
           r->action, r->target, r->addr, r->detail);
    return 0;
}

int cli_audit(struct store *st, const char *verb, const struct cli_user_args *a)
{
    if (strcmp(verb, "list") != 0)
        return 2;
    int limit = a->limit > 0 && a->limit <= 1000000 ? (int)a->limit : 1000;
    int rc = store_audit_list(st, a->company, 0, limit, audit_row, NULL);
    return rc == 0 ? 0 : ufail(store_errmsg(st), NULL);
}
