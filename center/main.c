/*
 * otasuke-center: the SOC side's server. Opens (and migrates) the store, serves the
 * ingest, enrollment and read APIs (docs/api.md) until SIGTERM or SIGINT, then stops
 * accepting, lets the requests in progress finish and closes the database.
 *
 * Signals are blocked before any thread starts, so that only the main thread takes
 * them, with sigwait().
 */
#include "http/server.h"

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
            "usage: otasuke-center --db FILE [--listen ADDRESS:PORT] [options]\n"
            "\n"
            "Receives events from sensors (POST /api/v1/ingest) and keeps them, per tenant,\n"
            "in an SQLite database (WAL). See docs/center.md and docs/api.md.\n"
            "\n"
            "  --db FILE              SQLite database (created and migrated when needed)\n"
            "  --listen ADDR:PORT     numeric address and port (default 127.0.0.1:8080;\n"
            "                         port 0 picks a free port, see --port-file)\n"
            "  --port-file FILE       write the bound port to FILE once listening\n"
            "  --threads N            server threads and database connections (default 4)\n"
            "  --max-connections N    concurrent connections (default 256)\n"
            "  --timeout DURATION     idle connection timeout (default 10s)\n"
            "  --max-body SIZE        ingest body as sent (default 16 MiB)\n"
            "  --max-inflated SIZE    ingest body after gzip/deflate (default 64 MiB)\n"
            "  --max-line SIZE        one event line (default 1 MiB)\n"
            "  --max-events N         events per batch (default 100000)\n"
            "  --sync full|normal     SQLite synchronous mode (default full: an acknowledged\n"
            "                         batch survives power loss; normal: survives a crash)\n"
            "  --busy-timeout DURATION  wait for the write lock before answering 503 (2s)\n"
            "  --log-level LEVEL      error, warn, notice (default), info, debug\n"
            "  -h, --help, --version\n");
}

struct opts {
    struct server_conf sc;
    const char *port_file;
};

static int parse_num(const char *name, const char *v, uint64_t min, uint64_t max, uint64_t *out,
                     int kind)
{
    int rc = kind == 1 ? conf_parse_size(v, out) : kind == 2 ? conf_parse_duration(v, out) : 0;
    if (kind == 0) {
        char *end = NULL;
        unsigned long long x = strtoull(v, &end, 10);
        rc = (*v == '\0' || *end != '\0') ? -1 : 0;
        *out = x;
    }
    if (rc != 0 || *out < min || *out > max) {
        fprintf(stderr, "otasuke-center: %s: invalid value \"%s\"\n", name, v);
        return -1;
    }
    return 0;
}

enum { O_DB = 1000, O_LISTEN, O_PORTFILE, O_THREADS, O_MAXCONN, O_TIMEOUT, O_MAXBODY,
       O_MAXINFL, O_MAXLINE, O_MAXEV, O_SYNC, O_BUSY, O_LOG, O_VERSION };

static int set_opt(struct opts *o, int c, const char *v)
{
    uint64_t x = 0;
    struct server_conf *sc = &o->sc;
    switch (c) {
    case O_DB: sc->db_path = v; return 0;
    case O_LISTEN: sc->listen = v; return 0;
    case O_PORTFILE: o->port_file = v; return 0;
    case O_THREADS:
        return parse_num("--threads", v, 1, 64, &x, 0) ? -1 : (sc->threads = (unsigned)x, 0);
    case O_MAXCONN:
        return parse_num("--max-connections", v, 1, 65536, &x, 0)
                   ? -1 : (sc->conn_limit = (unsigned)x, 0);
    case O_TIMEOUT:
        return parse_num("--timeout", v, 1000000, 3600000000ULL, &x, 2)
                   ? -1 : (sc->timeout_s = (unsigned)(x / 1000000), 0);
    case O_MAXBODY:
        return parse_num("--max-body", v, 1024, 1ULL << 30, &x, 1) ? -1 : (sc->max_body = x, 0);
    case O_MAXINFL:
        return parse_num("--max-inflated", v, 1024, 1ULL << 32, &x, 1)
                   ? -1 : (sc->max_inflated = x, 0);
    case O_MAXLINE:
        return parse_num("--max-line", v, 256, 64ULL << 20, &x, 1) ? -1 : (sc->max_line = x, 0);
    case O_MAXEV:
        return parse_num("--max-events", v, 1, 10000000, &x, 0) ? -1 : (sc->max_events = x, 0);
    case O_BUSY:
        return parse_num("--busy-timeout", v, 0, 600000000, &x, 2)
                   ? -1 : (sc->store.busy_timeout_ms = (int)(x / 1000), 0);
    default: break;
    }
    if (c == O_SYNC && (strcmp(v, "full") == 0 || strcmp(v, "normal") == 0)) {
        sc->store.sync = v[0] == 'f' ? STORE_SYNC_FULL : STORE_SYNC_NORMAL;
        return 0;
    }
    if (c == O_LOG && log_level_parse(v) >= 0) {
        log_set_level((enum log_level)log_level_parse(v));
        return 0;
    }
    fprintf(stderr, "otasuke-center: invalid value \"%s\"\n", v);
    return -1;
}

/* Returns 0 to run, 1 to exit 0 (help, version), 2 for a usage error. */
static int parse_args(int argc, char **argv, struct opts *o)
{
    static const struct option lo[] = {
        {"db", 1, NULL, O_DB},          {"listen", 1, NULL, O_LISTEN},
        {"port-file", 1, NULL, O_PORTFILE}, {"threads", 1, NULL, O_THREADS},
        {"max-connections", 1, NULL, O_MAXCONN}, {"timeout", 1, NULL, O_TIMEOUT},
        {"max-body", 1, NULL, O_MAXBODY}, {"max-inflated", 1, NULL, O_MAXINFL},
        {"max-line", 1, NULL, O_MAXLINE}, {"max-events", 1, NULL, O_MAXEV},
        {"sync", 1, NULL, O_SYNC},      {"busy-timeout", 1, NULL, O_BUSY},
        {"log-level", 1, NULL, O_LOG},  {"version", 0, NULL, O_VERSION},
        {"help", 0, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        if (c == 'h') {
            usage(stdout);
            return 1;
        }
        if (c == O_VERSION) {
            printf("otasuke-center %s\n", OTASUKE_VERSION);
            return 1;
        }
        if (c == '?' || set_opt(o, c, optarg) != 0)
            return 2;
    }
    if (optind < argc || o->sc.db_path == NULL) {
        fprintf(stderr, "otasuke-center: %s\n",
                optind < argc ? "unexpected argument" : "--db FILE is required");
        usage(stderr);
        return 2;
    }
    return 0;
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

int main(int argc, char **argv)
{
    struct opts o = {.sc = {.listen = "127.0.0.1:8080",
                            .threads = 4,
                            .conn_limit = 256,
                            .timeout_s = 10,
                            .max_body = 16u << 20,
                            .max_inflated = 64u << 20,
                            .max_line = 1u << 20,
                            .max_events = 100000,
                            .store = {STORE_SYNC_FULL, 2000}}};
    int rc = parse_args(argc, argv, &o);
    if (rc != 0)
        return rc == 1 ? 0 : 2;
    json_set_alloc_funcs(json_alloc, xfree);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    char err[512];
    struct server *srv = server_start(&o.sc, err, sizeof(err));
    if (srv == NULL) {
        fprintf(stderr, "otasuke-center: %s\n", err);
        return 1;
    }
    log_notice("center", "listening addr=%s port=%u db=%s threads=%u", o.sc.listen,
               server_port(srv), o.sc.db_path, o.sc.threads);
    if (o.port_file != NULL && write_port(o.port_file, server_port(srv)) != 0)
        log_warn("center", "cannot write --port-file %s", o.port_file);
    int sig = 0;
    sigwait(&set, &sig);
    log_notice("center", "stopping signal=%d", sig);
    server_stop(srv);
    log_notice("center", "stopped");
    return 0;
}
