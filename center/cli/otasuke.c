/*
 * otasuke: the operators' command line for the center's database. It works on the
 * SQLite file directly (WAL lets it run beside a live otasuke-center):
 *
 *   otasuke company add --db F --name NAME --sector SECTOR [--tz ZONE] [--lang ja|en]
 *                       [--devices N] [--contacts a@x,b@y]
 *   otasuke company set --db F --id ID [--name NAME] [--sector SECTOR] [--tz ZONE]
 *                       [--lang ja|en] [--devices N] [--contacts a@x,b@y]
 *   otasuke company list --db F
 *   otasuke sensor add --db F --company ID [--name NAME] [--ttl DURATION]
 *   otasuke sensor list --db F [--company ID]
 *   otasuke sensor revoke --db F --id ID
 *   otasuke db version --db F
 *   otasuke company notify --db F --id ID [--severity 1..4] [--webhook URL] [--contacts ..]
 *   otasuke incident list --db F [--company ID] [--state STATE]
 *   otasuke incident set --db F --id ID [--state STATE] [--assignee NAME] [--by NAME]
 *   otasuke incident comment --db F --id ID --text TEXT [--by NAME]
 *   otasuke suppress add --db F --company ID [--signature N] [--device MAC|IP] --reason TEXT
 *                        [--ttl DURATION]
 *   otasuke suppress list --db F [--company ID]
 *   otasuke suppress delete --db F --id ID
 *   otasuke user add --db F --name NAME --role ROLE [--company ID] [--password-file F]
 *   otasuke user list --db F [--company ID]
 *   otasuke user disable|enable --db F (--name NAME | --id ID)
 *   otasuke user passwd --db F (--name NAME | --id ID) [--password-file F]
 *   otasuke user role --db F (--name NAME | --id ID) --role ROLE
 *   otasuke audit list --db F [--company ID] [--limit N]
 *   otasuke token create --db F --user NAME [--name TEXT] [--scope read|full] [--ttl 90d]
 *   otasuke token list --db F [--user NAME] [--company ID]
 *   otasuke token revoke --db F --id ID
 *   otasuke intel update --intel-file F [--list NAME] [--pid N | --pidfile F]
 *                        [--max-bytes N] [--timeout SECONDS]     (no --db: cli/intel_update.c)
 *
 * Results go to stdout as key=value lines (for scripts), errors to stderr. The
 * enrollment code is printed once and stored only as its SHA-256 digest.
 */
#include "auth/token.h"
#include "cli/intel_update.h"
#include "cli/tokens.h"
#include "cli/users.h"
#include "store/store.h"

#include "otasuke/conf.h"
#include "otasuke/err.h"
#include "otasuke/timefmt.h"

#include <getopt.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

struct args {
    const char *db, *name, *sector, *tz, *lang, *contacts, *ttl;
    const char *webhook, *state, *assignee, *text, *device, *reason, *by;
    const char *role, *password_file;
    const char *user, *scope; /* token create|list */
    int64_t company, id, devices, severity, signature, limit;
    int devices_set; /* --devices given (company set) */
};

static void usage(FILE *f)
{
    fprintf(f, "usage:\n"
               "  otasuke company add --db FILE --name NAME --sector SECTOR [--tz ZONE]\n"
               "                      [--lang ja|en] [--devices N] [--contacts a@x,b@y]\n"
               "  otasuke company set --db FILE --id ID [--name NAME] [--sector SECTOR]\n"
               "                      [--tz ZONE] [--lang ja|en] [--devices N] [--contacts ..]\n"
               "  otasuke company list --db FILE\n"
               "  otasuke sensor add --db FILE --company ID [--name NAME] [--ttl DURATION]\n"
               "  otasuke sensor list --db FILE [--company ID]\n"
               "  otasuke sensor revoke --db FILE --id ID\n"
               "  otasuke db version --db FILE\n"
               "  otasuke company notify --db FILE --id ID [--severity 1..4] [--webhook URL]\n"
               "                         [--contacts a@x,b@y]\n"
               "  otasuke incident list --db FILE [--company ID] [--state STATE]\n"
               "  otasuke incident set --db FILE --id ID [--state STATE] [--assignee NAME]\n"
               "                       [--by NAME]\n"
               "  otasuke incident comment --db FILE --id ID --text TEXT [--by NAME]\n"
               "  otasuke suppress add --db FILE --company ID [--signature N] [--device MAC|IP]\n"
               "                       --reason TEXT [--ttl DURATION]\n"
               "  otasuke suppress list --db FILE [--company ID]\n"
               "  otasuke suppress delete --db FILE --id ID\n"
               "  otasuke user add --db FILE --name NAME --role ROLE [--company ID]\n"
               "                   [--password-file FILE]   (else the first line of stdin)\n"
               "  otasuke user list --db FILE [--company ID]\n"
               "  otasuke user disable|enable --db FILE (--name NAME | --id ID)\n"
               "  otasuke user passwd --db FILE (--name NAME | --id ID) [--password-file FILE]\n"
               "  otasuke user role --db FILE (--name NAME | --id ID) --role ROLE\n"
               "  otasuke audit list --db FILE [--company ID] [--limit N]\n"
               "  otasuke token create --db FILE --user NAME [--name TEXT] [--scope read|full]\n"
               "                       [--ttl DURATION]   (default: read, never expires)\n"
               "  otasuke token list --db FILE [--user NAME] [--company ID]\n"
               "  otasuke token revoke --db FILE --id ID\n"
               "  otasuke intel update --intel-file FILE [--list NAME] [--pid N | --pidfile F]\n"
               "                       [--max-bytes N] [--timeout SECONDS]\n"
               "Roles: provider_admin, provider_analyst (no --company), tenant_admin,\n"
               "tenant_viewer (--company ID).\n"
               "Defaults: --tz Asia/Tokyo, --lang ja, --ttl 24h. See docs/center.md.\n");
}

__attribute__((format(printf, 1, 2))) static int fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "otasuke: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 1;
}

static int parse_id(const char *v, int64_t *out)
{
    char *end = NULL;
    long long x = strtoll(v, &end, 10);
    if (*v == '\0' || *end != '\0' || x <= 0)
        return -1;
    *out = x;
    return 0;
}

static int parse_args(int argc, char **argv, struct args *a)
{
    static const struct option lo[] = {
        {"db", 1, NULL, 'd'},      {"name", 1, NULL, 'n'},     {"sector", 1, NULL, 's'},
        {"tz", 1, NULL, 'z'},      {"lang", 1, NULL, 'l'},     {"contacts", 1, NULL, 'm'},
        {"devices", 1, NULL, 'v'}, {"company", 1, NULL, 'c'}, {"id", 1, NULL, 'i'},
        {"ttl", 1, NULL, 't'},     {"help", 0, NULL, 'h'},    {"severity", 1, NULL, 'S'},
        {"webhook", 1, NULL, 'w'}, {"state", 1, NULL, 'e'},   {"assignee", 1, NULL, 'a'},
        {"text", 1, NULL, 'x'},    {"device", 1, NULL, 'D'},  {"reason", 1, NULL, 'r'},
        {"by", 1, NULL, 'b'},      {"signature", 1, NULL, 'g'}, {"role", 1, NULL, 'R'},
        {"password-file", 1, NULL, 'P'}, {"limit", 1, NULL, 'L'}, {"user", 1, NULL, 'U'},
        {"scope", 1, NULL, 'O'},   {NULL, 0, NULL, 0},
    };
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        int bad = 0;
        switch (c) {
        case 'd': a->db = optarg; break;
        case 'n': a->name = optarg; break;
        case 's': a->sector = optarg; break;
        case 'z': a->tz = optarg; break;
        case 'l': a->lang = optarg; break;
        case 'm': a->contacts = optarg; break;
        case 't': a->ttl = optarg; break;
        case 'w': a->webhook = optarg; break;
        case 'e': a->state = optarg; break;
        case 'a': a->assignee = optarg; break;
        case 'x': a->text = optarg; break;
        case 'D': a->device = optarg; break;
        case 'r': a->reason = optarg; break;
        case 'b': a->by = optarg; break;
        case 'R': a->role = optarg; break;
        case 'P': a->password_file = optarg; break;
        case 'U': a->user = optarg; break;
        case 'O': a->scope = optarg; break;
        case 'L': bad = parse_id(optarg, &a->limit); break;
        case 'S': bad = parse_id(optarg, &a->severity) || a->severity > 4; break;
        case 'g':
            bad = strcmp(optarg, "0") != 0 && parse_id(optarg, &a->signature) != 0;
            if (!bad && strcmp(optarg, "0") == 0)
                a->signature = 0;
            break;
        case 'v':
            bad = parse_id(optarg, &a->devices) && strcmp(optarg, "0") != 0;
            if (!bad && strcmp(optarg, "0") == 0)
                a->devices = 0;
            a->devices_set = 1;
            break;
        case 'c': bad = parse_id(optarg, &a->company); break;
        case 'i': bad = parse_id(optarg, &a->id); break;
        default: return -1;
        }
        if (bad)
            return fail("invalid number \"%s\"", optarg);
    }
    if (optind < argc)
        return fail("unexpected argument \"%s\"", argv[optind]);
    if (a->db == NULL)
        return fail("%s", "--db FILE is required");
    return 0;
}

/* Text of 1..max bytes of valid UTF-8 without control characters. */
static int text_ok(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return 0;
    json_t *j = json_stringn(s, n); /* NULL when not UTF-8 */
    json_decref(j);
    return j != NULL;
}

/* An IANA zone name that tzdata knows (when tzdata is installed). */
static int tz_ok(const char *tz)
{
    size_t n = strlen(tz);
    if (n == 0 || n > 64 || tz[0] == '/' || strstr(tz, "..") != NULL)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = tz[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '/' || c == '_' || c == '-' || c == '+'))
            return 0;
    }
    struct stat sb;
    if (stat("/usr/share/zoneinfo", &sb) != 0)
        return 1;
    char path[128];
    snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", tz);
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

static struct store *open_db(const char *path)
{
    char err[512];
    struct store *st = store_open_sqlite(path, NULL, err, sizeof(err));
    if (st == NULL)
        fprintf(stderr, "otasuke: %s\n", err);
    return st;
}

static int company_add(struct store *st, const struct args *a)
{
    struct company_in c = {a->name, a->sector, a->tz ? a->tz : "Asia/Tokyo",
                           a->lang ? a->lang : "ja", a->contacts ? a->contacts : "", a->devices};
    if (c.name == NULL || !text_ok(c.name, 200))
        return fail("%s", "--name: 1..200 bytes of UTF-8 text required");
    if (c.sector == NULL || !text_ok(c.sector, 100))
        return fail("%s", "--sector: 1..100 bytes of UTF-8 text required");
    if (!tz_ok(c.tz))
        return fail("--tz %s: not a known time zone (e.g. Asia/Tokyo)", c.tz);
    if (strcmp(c.lang, "ja") != 0 && strcmp(c.lang, "en") != 0)
        return fail("--lang %s: ja or en", c.lang);
    if (c.contacts[0] != '\0' && (!text_ok(c.contacts, 1000) || strchr(c.contacts, '@') == NULL))
        return fail("--contacts %s: comma-separated mail addresses", c.contacts);
    int64_t id = 0;
    int rc = store_company_add(st, &c, &id);
    if (rc == ERR_EXISTS)
        return fail("a company named \"%s\" exists already", c.name);
    if (rc != 0)
        return fail("%s", store_errmsg(st));
    printf("company_id=%lld\n", (long long)id);
    return 0;
}

/* company set: only the options given change; each is checked as company add does. */
static int company_set(struct store *st, const struct args *a)
{
    struct company_in c = {a->name, a->sector, a->tz, a->lang, a->contacts,
                           a->devices_set ? a->devices : -1};
    if (a->id <= 0)
        return fail("%s", "--id ID (the company) is required");
    if (c.name != NULL && !text_ok(c.name, 200))
        return fail("%s", "--name: 1..200 bytes of UTF-8 text required");
    if (c.sector != NULL && !text_ok(c.sector, 100))
        return fail("%s", "--sector: 1..100 bytes of UTF-8 text required");
    if (c.tz != NULL && !tz_ok(c.tz))
        return fail("--tz %s: not a known time zone (e.g. Asia/Tokyo)", c.tz);
    if (c.lang != NULL && strcmp(c.lang, "ja") != 0 && strcmp(c.lang, "en") != 0)
        return fail("--lang %s: ja or en", c.lang);
    if (c.contacts != NULL && c.contacts[0] != '\0' &&
        (!text_ok(c.contacts, 1000) || strchr(c.contacts, '@') == NULL))
        return fail("--contacts %s: comma-separated mail addresses", c.contacts);
    int rc = store_company_set(st, a->id, &c);
    if (rc == ERR_NOTFOUND)
        return fail("%s", "no such company");
    if (rc == ERR_EXISTS)
        return fail("a company named \"%s\" exists already", c.name);
    if (rc != 0)
        return fail("%s", store_errmsg(st));
    printf("company_id=%lld\n", (long long)a->id);
    return 0;
}

static void company_row(void *arg, int64_t id, const char *name, const char *sector,
                        const char *tz, const char *lang)
{
    printf("%lld\t%s\t%s\t%s\t%s\n", (long long)id, name, sector, tz, lang);
}

static int sensor_add(struct store *st, const struct args *a)
{
    uint64_t ttl_us = 0;
    if (a->company <= 0)
        return fail("%s", "--company ID is required");
    if (conf_parse_duration(a->ttl ? a->ttl : "24h", &ttl_us) != 0 || ttl_us < 60000000ULL ||
        ttl_us > 30ULL * 86400 * 1000000)
        return fail("--ttl %s: a duration from 1m to 30d", a->ttl);
    const char *name = a->name ? a->name : "sensor";
    if (!text_ok(name, 120))
        return fail("%s", "--name: 1..120 bytes of UTF-8 text");
    char code[TOKEN_MAX_LEN];
    if (token_random(TOKEN_CODE_PREFIX, TOKEN_CODE_BYTES, code, sizeof(code)) != 0)
        return fail("%s", "no randomness");
    uint8_t h[STORE_HASH_LEN];
    token_hash(code, strlen(code), h);
    int64_t expires = (int64_t)(ts_now_us() + ttl_us), id = 0;
    int rc = store_sensor_add(st, a->company, name, h, expires, &id);
    if (rc == ERR_NOTFOUND)
        return fail("%s", "no such company");
    if (rc != 0)
        return fail("%s", store_errmsg(st));
    char exp[TS_RFC3339_LEN];
    ts_format(exp, sizeof(exp), (uint64_t)expires, 0);
    printf("sensor_id=%lld\nenrollment_code=%s\nexpires=%s\n", (long long)id, code, exp);
    return 0;
}

static void sensor_row(void *arg, const struct sensor_info *s)
{
    printf("%lld\t%lld\t%s\t%s\n", (long long)s->id, (long long)s->company_id, s->name,
           s->revoked ? "revoked" : s->enrolled ? "enrolled" : "waiting");
}

static int company_notify(struct store *st, const struct args *a)
{
    if (a->id <= 0)
        return fail("%s", "--id ID (the company) is required");
    if (a->webhook != NULL && a->webhook[0] != '\0' &&
        ((strncmp(a->webhook, "http://", 7) != 0 && strncmp(a->webhook, "https://", 8) != 0) ||
         !text_ok(a->webhook, 500) || strchr(a->webhook, ' ') != NULL))
        return fail("--webhook %s: an http:// or https:// URL (\"\" removes it)", a->webhook);
    if (a->contacts != NULL && a->contacts[0] != '\0' &&
        (!text_ok(a->contacts, 1000) || strchr(a->contacts, '@') == NULL))
        return fail("--contacts %s: comma-separated mail addresses", a->contacts);
    int rc = store_company_notify(st, a->id, (int)a->severity, a->webhook, a->contacts);
    if (rc == ERR_NOTFOUND)
        return fail("%s", "no such company");
    if (rc != 0)
        return fail("%s", store_errmsg(st));
    printf("company_id=%lld\n", (long long)a->id);
    return 0;
}

static int incident_row(void *arg, const struct store_incident *inc)
{
    char first[TS_RFC3339_LEN], last[TS_RFC3339_LEN];
    ts_format(first, sizeof(first), (uint64_t)inc->first_seen, 0);
    ts_format(last, sizeof(last), (uint64_t)inc->last_seen, 0);
    printf("%lld\t%lld\t%s\t%d\t%s\t%s\t%lld\t%s\t%s\t%s\n", (long long)inc->id,
           (long long)inc->company_id, incident_state_name(inc->state), inc->severity,
           inc->device_key, inc->categories, (long long)inc->alerts, first, last, inc->assignee);
    return 0;
}

static int incident_list(struct store *st, const struct args *a)
{
    struct store_incident_query q = {.company_id = a->company, .state = -1, .severity_max = 4,
                                     .until_us = INT64_MAX, .limit = 10000};
    if (a->state != NULL && (q.state = incident_state_parse(a->state)) < 0)
        return fail("--state %s: unknown state", a->state);
    int rc = store_incident_list(st, &q, incident_row, NULL);
    return rc == 0 ? 0 : fail("%s", store_errmsg(st));
}

static int incident_set(struct store *st, const struct args *a, int comment)
{
    if (a->id <= 0)
        return fail("%s", "--id ID (the incident) is required");
    const char *by = a->by ? a->by : "cli";
    if (!text_ok(by, 100))
        return fail("%s", "--by: 1..100 bytes of text");
    int rc;
    if (comment) {
        if (a->text == NULL || !text_ok(a->text, 4000))
            return fail("%s", "--text: 1..4000 bytes of text required");
        rc = store_incident_comment(st, 0, a->id, by, a->text, (int64_t)ts_now_us(), NULL);
    } else {
        int to = -1;
        if (a->state == NULL && a->assignee == NULL)
            return fail("%s", "--state and/or --assignee required");
        if (a->state != NULL && (to = incident_state_parse(a->state)) < 0)
            return fail("--state %s: unknown state", a->state);
        if (a->assignee != NULL && a->assignee[0] != '\0' && !text_ok(a->assignee, 200))
            return fail("%s", "--assignee: at most 200 bytes of text");
        rc = store_incident_update(st, 0, a->id, to, a->assignee, by, (int64_t)ts_now_us());
    }
    if (rc == ERR_NOTFOUND)
        return fail("%s", "no such incident");
    if (rc == ERR_INVAL)
        return fail("--state %s: not allowed from the incident's state", a->state);
    if (rc != 0)
        return fail("%s", store_errmsg(st));
    printf("incident_id=%lld\n", (long long)a->id);
    return 0;
}

static int supp_row(void *arg, const struct store_suppression *sp)
{
    char exp[TS_RFC3339_LEN];
    ts_format(exp, sizeof(exp), (uint64_t)sp->expires, 0);
    printf("%lld\t%lld\t%lld\t%s\t%s\t%lld\t%s\n", (long long)sp->id,
           (long long)sp->company_id, (long long)sp->signature_id, sp->device[0] ? sp->device : "-",
           exp, (long long)sp->hits, sp->reason);
    return 0;
}

static int suppress_add(struct store *st, const struct args *a)
{
    char key[96];
    uint64_t ttl_us = 0;
    struct store_suppression sp = {.company_id = a->company, .signature_id = a->signature,
                                   .device = "", .reason = a->reason};
    if (a->company <= 0)
        return fail("%s", "--company ID is required");
    if (a->device != NULL) {
        if (store_device_key(a->device, key, sizeof(key)) != 0)
            return fail("--device %s: a MAC or an IP address", a->device);
        sp.device = key;
    }
    if (sp.signature_id < 0 && a->device == NULL)
        return fail("%s", "--signature and/or --device required");
    if (a->reason == NULL || !text_ok(a->reason, 1000))
        return fail("%s", "--reason: 1..1000 bytes of text required");
    if (conf_parse_duration(a->ttl ? a->ttl : "7d", &ttl_us) != 0 || ttl_us < 60000000ULL ||
        ttl_us > 366ULL * 86400 * 1000000)
        return fail("--ttl %s: a duration from 1m to 366d", a->ttl);
    sp.expires = (int64_t)(ts_now_us() + ttl_us);
    int64_t id = 0;
    int rc = store_suppression_add(st, &sp, &id);
    if (rc == ERR_NOTFOUND)
        return fail("%s", "no such company");
    if (rc != 0)
        return fail("%s", store_errmsg(st));
    printf("suppression_id=%lld\n", (long long)id);
    return 0;
}

static int more_commands(struct store *st, const char *what, const char *verb,
                         const struct args *a)
{
    struct cli_user_args ua = {a->name, a->role, a->password_file, a->company, a->id, a->limit};
    int urc = 2;
    if (strcmp(what, "user") == 0)
        urc = cli_user(st, verb, &ua);
    else if (strcmp(what, "audit") == 0)
        urc = cli_audit(st, verb, &ua);
    if (urc != 2)
        return urc;
    if (strcmp(what, "company") == 0 && strcmp(verb, "notify") == 0)
        return company_notify(st, a);
    if (strcmp(what, "incident") == 0 && strcmp(verb, "list") == 0)
        return incident_list(st, a);
    if (strcmp(what, "incident") == 0 && strcmp(verb, "set") == 0)
        return incident_set(st, a, 0);
    if (strcmp(what, "incident") == 0 && strcmp(verb, "comment") == 0)
        return incident_set(st, a, 1);
    if (strcmp(what, "suppress") == 0 && strcmp(verb, "add") == 0)
        return suppress_add(st, a);
    if (strcmp(what, "suppress") == 0 && strcmp(verb, "list") == 0) {
        int rc = store_suppression_list(st, a->company, 0, supp_row, NULL);
        return rc == 0 ? 0 : fail("%s", store_errmsg(st));
    }
    if (strcmp(what, "suppress") == 0 && strcmp(verb, "delete") == 0) {
        if (a->id <= 0)
            return fail("%s", "--id ID is required");
        int rc = store_suppression_delete(st, 0, a->id);
        if (rc == ERR_NOTFOUND)
            return fail("%s", "no such suppression rule");
        if (rc != 0)
            return fail("%s", store_errmsg(st));
        printf("deleted=%lld\n", (long long)a->id);
        return 0;
    }
    usage(stderr);
    return 2;
}

/* otasuke token …: cli/tokens.c */
static int token_command(struct store *st, const char *verb, const struct args *a)
{
    struct cli_token_args ta = {a->user, a->name, a->scope, a->ttl, a->company, a->id};
    int rc = cli_token(st, verb, &ta);
    if (rc == 2)
        usage(stderr);
    return rc;
}

static int dispatch(struct store *st, const char *what, const char *verb, const struct args *a)
{
    int rc = -1;
    if (strcmp(what, "company") == 0 && strcmp(verb, "add") == 0)
        return company_add(st, a);
    if (strcmp(what, "company") == 0 && strcmp(verb, "set") == 0)
        return company_set(st, a);
    if (strcmp(what, "company") == 0 && strcmp(verb, "list") == 0)
        rc = store_company_list(st, company_row, NULL);
    else if (strcmp(what, "sensor") == 0 && strcmp(verb, "add") == 0)
        return sensor_add(st, a);
    else if (strcmp(what, "sensor") == 0 && strcmp(verb, "list") == 0)
        rc = store_sensor_list(st, a->company, sensor_row, NULL);
    else if (strcmp(what, "sensor") == 0 && strcmp(verb, "revoke") == 0) {
        if (a->id <= 0)
            return fail("%s", "--id ID is required");
        rc = store_sensor_revoke(st, a->id);
        if (rc == ERR_NOTFOUND)
            return fail("%s", "no such sensor, or revoked already");
        if (rc == 0)
            printf("revoked=%lld\n", (long long)a->id);
    } else if (strcmp(what, "db") == 0 && strcmp(verb, "version") == 0) {
        printf("schema_version=%d\nlatest=%d\n", store_schema_version(st), store_schema_latest());
        rc = 0;
    } else {
        return more_commands(st, what, verb, a);
    }
    return rc == 0 ? 0 : fail("%s", store_errmsg(st));
}

int main(int argc, char **argv)
{
    if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return 0;
    }
    if (argc >= 2 && strcmp(argv[1], "--version") == 0) {
        printf("otasuke %s\n", OTASUKE_VERSION);
        return 0;
    }
    if (argc >= 3 && strcmp(argv[1], "intel") == 0 && strcmp(argv[2], "update") == 0)
        return intel_update_main(argc - 2, argv + 2);
    if (argc < 3) {
        usage(stderr);
        return 2;
    }
    struct args a = {0};
    a.signature = -1;
    if (parse_args(argc - 2, argv + 2, &a) != 0)
        return 2;
    struct store *st = open_db(a.db);
    if (st == NULL)
        return 1;
    int rc = strcmp(argv[1], "token") == 0 ? token_command(st, argv[2], &a)
                                           : dispatch(st, argv[1], argv[2], &a);
    store_close(st);
    return rc;
}
