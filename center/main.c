/*
 * otasuke-center: the SOC side's server. Opens (and migrates) the store, serves the
 * ingest, enrollment and read APIs (docs/api.md) until SIGTERM or SIGINT, then stops
 * accepting, lets the requests in progress finish and closes the database.
 *
 * Signals are blocked before any thread starts, so that only the main thread takes
 * them, with sigwait().
 */
#include "center_conf.h"
#include "http/server.h"
#include "store/db.h"

#include "otasuke/alloc.h"
#include "otasuke/conf.h"
#include "otasuke/log.h"

#include <getopt.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f,
            "usage: otasuke-center --db FILE|postgresql://URL [--listen ADDRESS:PORT] [options]\n"
            "\n"
            "Receives events from sensors (POST /api/v1/ingest) and keeps them, per tenant,\n"
            "in an SQLite database (WAL). See docs/center.md and docs/api.md.\n"
            "\n"
            "  -c, --config FILE      YAML configuration file (settings: --help-config)\n"
            "      --set NAME=VALUE   override one setting (repeatable)\n"
            "  -T, --test-config      check the configuration, print effective settings, exit\n"
            "      --help-config      list every setting with its default and bounds\n"
            "      --port-file FILE   write the bound port to FILE once listening\n"
            "Shortcuts for settings:\n"
            "  --db FILE (db), --listen ADDR:PORT (listen), --threads N (http.threads),\n"
            "  --max-connections N, --timeout DURATION, --max-body SIZE, --max-inflated SIZE,\n"
            "  --max-line SIZE, --max-events N, --sync full|normal, --busy-timeout DURATION,\n"
            "  --log-level LEVEL\n"
            "  -h, --help, --version\n");
}

#define MAX_SETS 64

struct cli {
    const char *config;
    const char *port_file;
    const char *names[MAX_SETS];
    const char *values[MAX_SETS];
    char *owned[MAX_SETS]; /* copies of NAME=VALUE split at '=' */
    int nsets;
    int test_config;
};

enum { O_SET = 1000, O_PORTFILE, O_HELPCONF, O_VERSION, O_SHORTCUT };

/* Long options that are shortcuts for a setting, in the order of `long_opts`. */
static const char *const g_shortcut[] = {
    "db",          "listen",          "http.threads",   "http.max_connections",
    "http.timeout", "ingest.max_body", "ingest.max_inflated", "ingest.max_line",
    "ingest.max_events", "store.sync", "store.busy_timeout",  "log_level",
};

static int add_set(struct cli *cl, const char *name, const char *value, char *owned)
{
    if (cl->nsets == MAX_SETS) {
        fprintf(stderr, "otasuke-center: too many settings on the command line\n");
        free(owned);
        return -1;
    }
    cl->names[cl->nsets] = name;
    cl->values[cl->nsets] = value;
    cl->owned[cl->nsets] = owned;
    cl->nsets++;
    return 0;
}

static int add_set_arg(struct cli *cl, const char *arg)
{
    char *copy = strdup(arg);
    char *eq = copy ? strchr(copy, '=') : NULL;
    if (eq == NULL) {
        fprintf(stderr, "otasuke-center: --set %s: expected NAME=VALUE\n", arg);
        free(copy);
        return -1;
    }
    *eq = '\0';
    return add_set(cl, copy, eq + 1, copy);
}

/* Returns 0 to go on, 1 to exit 0 (help, version), 2 for a usage error. */
static int parse_args(int argc, char **argv, struct cli *cl)
{
    static const struct option lo[] = {
        {"db", 1, NULL, O_SHORTCUT + 0},           {"listen", 1, NULL, O_SHORTCUT + 1},
        {"threads", 1, NULL, O_SHORTCUT + 2},      {"max-connections", 1, NULL, O_SHORTCUT + 3},
        {"timeout", 1, NULL, O_SHORTCUT + 4},      {"max-body", 1, NULL, O_SHORTCUT + 5},
        {"max-inflated", 1, NULL, O_SHORTCUT + 6}, {"max-line", 1, NULL, O_SHORTCUT + 7},
        {"max-events", 1, NULL, O_SHORTCUT + 8},   {"sync", 1, NULL, O_SHORTCUT + 9},
        {"busy-timeout", 1, NULL, O_SHORTCUT + 10}, {"log-level", 1, NULL, O_SHORTCUT + 11},
        {"config", 1, NULL, 'c'},                  {"set", 1, NULL, O_SET},
        {"test-config", 0, NULL, 'T'},             {"help-config", 0, NULL, O_HELPCONF},
        {"port-file", 1, NULL, O_PORTFILE},        {"version", 0, NULL, O_VERSION},
        {"help", 0, NULL, 'h'},                    {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "c:Th", lo, NULL)) != -1) {
        int rc = 0;
        if (c >= O_SHORTCUT && c < O_SHORTCUT + (int)(sizeof(g_shortcut) / sizeof(*g_shortcut)))
            rc = add_set(cl, g_shortcut[c - O_SHORTCUT], optarg, NULL);
        else if (c == O_SET)
            rc = add_set_arg(cl, optarg);
        else if (c == 'c')
            cl->config = optarg;
        else if (c == 'T')
            cl->test_config = 1;
        else if (c == O_PORTFILE)
            cl->port_file = optarg;
        else if (c == 'h' || c == O_HELPCONF || c == O_VERSION) {
            if (c == 'h')
                usage(stdout);
            else if (c == O_HELPCONF)
                conf_help(center_conf_table, stdout);
            else
                printf("otasuke-center %s\n", OTASUKE_VERSION);
            return 1;
        } else
            return 2;
        if (rc != 0)
            return 2;
    }
    if (optind < argc) {
        fprintf(stderr, "otasuke-center: unexpected argument \"%s\"\n", argv[optind]);
        return 2;
    }
    return 0;
}

/* Defaults, then the file, then the command line in its order. */
static int load_conf(const struct cli *cl, struct center_conf *cf)
{
    char err[512];
    if (conf_defaults(center_conf_table, cf) != 0)
        return -1;
    if (cl->config != NULL && conf_load_file(center_conf_table, cf, cl->config, err,
                                             sizeof(err)) != 0) {
        fprintf(stderr, "otasuke-center: %s\n", err);
        return -1;
    }
    for (int i = 0; i < cl->nsets; i++) {
        if (conf_set(center_conf_table, cf, cl->names[i], cl->values[i], err, sizeof(err)) !=
            0) {
            fprintf(stderr, "otasuke-center: %s\n", err);
            return -1;
        }
    }
    if (cf->db[0] == '\0') {
        fprintf(stderr, "otasuke-center: the database is required (--db FILE, or db: in the "
                        "configuration)\n");
        return -1;
    }
    return 0;
}

/* A secret: the first line of the file `key` names (0600 advised). */
static int read_password(const char *key, const char *path, char *out, size_t n)
{
    out[0] = '\0';
    if (path[0] == '\0')
        return 0;
    FILE *f = fopen(path, "r");
    if (f == NULL || fgets(out, (int)n, f) == NULL) {
        fprintf(stderr, "otasuke-center: %s %s: cannot read\n", key, path);
        if (f != NULL)
            fclose(f);
        return -1;
    }
    fclose(f);
    out[strcspn(out, "\r\n")] = '\0';
    return 0;
}

static void to_server_conf(const struct center_conf *cf, const char *password,
                           const char *metrics_token, struct server_conf *sc)
{
    *sc = (struct server_conf){
        .metrics_token = metrics_token,
        .db_path = cf->db,
        .store = {cf->sync == CENTER_SYNC_NORMAL ? STORE_SYNC_NORMAL : STORE_SYNC_FULL,
                  (int)(cf->busy_timeout / 1000), (int64_t)cf->incident_window},
        .listen = cf->listen,
        .threads = (unsigned)cf->threads,
        .conn_limit = (unsigned)cf->max_connections,
        .timeout_s = (unsigned)(cf->timeout / 1000000),
        .max_body = cf->max_body,
        .max_inflated = cf->max_inflated,
        .max_line = cf->max_line,
        .max_events = (size_t)cf->max_events,
        .notify = {.smtp_url = cf->smtp_url,
                   .smtp_user = cf->smtp_user,
                   .smtp_password = password,
                   .smtp_ca = cf->smtp_ca,
                   .tls = (enum notify_tls)cf->smtp_tls,
                   .from = cf->mail_from,
                   .staff = cf->staff,
                   .max_attempts = (int)cf->notify_max_attempts,
                   .retry_base_us = (int64_t)cf->notify_retry_base,
                   .retry_max_us = (int64_t)cf->notify_retry_max,
                   .poll_us = (int64_t)cf->notify_poll,
                   .timeout_us = (int64_t)cf->notify_timeout},
        .auth = {.pw = {(uint32_t)(cf->argon2_memory / 1024), (uint32_t)cf->argon2_time,
                        (uint32_t)cf->argon2_parallelism},
                 .session_idle_us = (int64_t)cf->session_idle,
                 .session_max_us = (int64_t)cf->session_max,
                 .max_failures = (unsigned)cf->login_max_failures,
                 .window_us = (int64_t)cf->login_window,
                 .throttle_entries = (size_t)cf->throttle_entries},
    };
}

static void *json_alloc(size_t n)
{
    return xalloc(MEM_CORE, n);
}

static int write_port(const char *path, uint16_t port)
{
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (f == NULL)
        return -1;
    fprintf(f, "%u\n", port);
    if (fclose(f) != 0)
        return -1;
    return rename(tmp, path); /* readers never see a half-written file */
}

static void cli_free(struct cli *cl)
{
    for (int i = 0; i < cl->nsets; i++)
        free(cl->owned[i]);
}

/* Serves until SIGTERM or SIGINT. Returns the exit status. */
static int serve(const struct server_conf *sc, const char *port_file, const sigset_t *set)
{
    char err[512];
    struct server *srv = server_start(sc, err, sizeof(err));
    if (srv == NULL) {
        fprintf(stderr, "otasuke-center: %s\n", err);
        return 1;
    }
    log_notice("center", "listening addr=%s port=%u db=%s threads=%u", sc->listen,
               server_port(srv), db_target_is_pg(sc->db_path) ? "postgresql" : sc->db_path,
               sc->threads);
    if (port_file != NULL && write_port(port_file, server_port(srv)) != 0)
        log_warn("center", "cannot write --port-file %s", port_file);
    int sig = 0;
    sigwait(set, &sig);
    log_notice("center", "stopping signal=%d", sig);
    server_stop(srv);
    log_notice("center", "stopped");
    return 0;
}

int main(int argc, char **argv)
{
    struct cli cl = {0};
    struct center_conf cf;
    int rc = parse_args(argc, argv, &cl);
    if (rc == 0 && load_conf(&cl, &cf) != 0)
        rc = 2;
    if (rc != 0) {
        cli_free(&cl);
        return rc == 1 ? 0 : rc;
    }
    if (cl.test_config) {
        conf_print(center_conf_table, &cf, stdout);
        cli_free(&cl);
        return 0;
    }
    log_set_level((enum log_level)cf.log_level);
    json_set_alloc_funcs(json_alloc, xfree);
    static char password[CONF_STR_MAX];
    static char metrics_token[CONF_STR_MAX];
    if (read_password("notify.smtp_password_file", cf.smtp_password_file, password,
                      sizeof(password)) != 0 ||
        read_password("metrics.token_file", cf.metrics_token_file, metrics_token,
                      sizeof(metrics_token)) != 0) {
        cli_free(&cl);
        return 2;
    }
    if (cf.metrics_token_file[0] != '\0' && strlen(metrics_token) < 16) {
        fprintf(stderr, "otasuke-center: metrics.token_file: the token must have at least 16 "
                        "characters\n");
        cli_free(&cl);
        return 2;
    }
    struct server_conf sc;
    to_server_conf(&cf, password, metrics_token, &sc);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    rc = serve(&sc, cl.port_file, &set);
    cli_free(&cl);
    return rc;
}
