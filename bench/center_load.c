/*
 * center_load: ingest load generator for otasuke-center (bench/center_ingest.sh).
 *
 *   center_load --port P --token T --events FILE [--senders N] [--batches B] [--per E]
 *       N threads, each on its own keep-alive connection, POST B batches of E events
 *       (lines of FILE, cycled) to /api/v1/ingest; prints events/s and the p50/p99/max
 *       acknowledgement latency over all requests.
 *   center_load --baseline DB --events FILE [--batches B] [--per E] [--sync full|normal]
 *       the same N*B batches parsed and stored in-process (ingest_parse + store_ingest,
 *       one thread, no HTTP): the floor the server is compared with.
 *
 * Output: one line "mode=... events=... seconds=... events_per_s=... p50_ms=...".
 */
#define _GNU_SOURCE /* strcasestr */
#include "auth/token.h"
#include "ingest/ingest.h"
#include "store/store.h"

#include "otasuke/err.h"
#include "otasuke/timefmt.h"

#include <arpa/inet.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct cfg {
    int port, senders, batches, per;
    const char *token, *events, *baseline;
    enum store_sync sync;
    char **lines;
    size_t *lens;
    size_t n_lines;
};

struct sender {
    const struct cfg *c;
    int id;
    double *lat_ms; /* batches entries */
    int errors;
    int failed; /* gave up on a batch after 20 attempts */
};

static int load_lines(struct cfg *c)
{
    FILE *f = fopen(c->events, "r");
    if (f == NULL)
        return -1;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    size_t alloc = 0;
    while ((n = getline(&line, &cap, f)) > 0) {
        if (c->n_lines == alloc) {
            alloc = alloc ? alloc * 2 : 1024;
            c->lines = realloc(c->lines, alloc * sizeof(*c->lines));
            c->lens = realloc(c->lens, alloc * sizeof(*c->lens));
            if (c->lines == NULL || c->lens == NULL)
                exit(1);
        }
        c->lines[c->n_lines] = strdup(line);
        c->lens[c->n_lines] = (size_t)n;
        c->n_lines++;
    }
    free(line);
    fclose(f);
    return c->n_lines ? 0 : -1;
}

/* The body of batch b of sender s: E lines from the file, starting where it left off. */
static char *make_body(const struct cfg *c, int s, int b, size_t *len)
{
    size_t start = ((size_t)s * (size_t)c->batches + (size_t)b) * (size_t)c->per, total = 0;
    for (int i = 0; i < c->per; i++)
        total += c->lens[(start + (size_t)i) % c->n_lines];
    char *body = malloc(total + 1);
    if (body == NULL)
        exit(1);
    size_t off = 0;
    for (int i = 0; i < c->per; i++) {
        size_t k = (start + (size_t)i) % c->n_lines;
        memcpy(body + off, c->lines[k], c->lens[k]);
        off += c->lens[k];
    }
    body[off] = '\0';
    *len = off;
    return body;
}

static int connect_to(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Reads one response; returns its status or -1. */
static int read_response(int fd)
{
    char buf[65536];
    size_t have = 0;
    char *hdr_end = NULL;
    while (hdr_end == NULL) {
        if (have == sizeof(buf) - 1)
            return -1;
        ssize_t r = recv(fd, buf + have, sizeof(buf) - 1 - have, 0);
        if (r <= 0)
            return -1;
        have += (size_t)r;
        buf[have] = '\0';
        hdr_end = strstr(buf, "\r\n\r\n");
    }
    int status = (int)strtol(buf + 9, NULL, 10);
    const char *cl = strcasestr(buf, "\r\nContent-Length:");
    size_t body = cl ? strtoul(cl + 17, NULL, 10) : 0;
    size_t got = have - (size_t)(hdr_end + 4 - buf);
    while (got < body) {
        ssize_t r = recv(fd, buf, sizeof(buf) - 1, 0);
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    return status;
}

static int one_batch(struct sender *s, int *fd, int b)
{
    const struct cfg *c = s->c;
    size_t blen = 0;
    char *body = make_body(c, s->id, b, &blen);
    char head[512];
    int hl = snprintf(head, sizeof(head),
                      "POST /api/v1/ingest HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      "Authorization: Bearer %s\r\nX-Otasuke-Batch: s%d-b%d-%llu\r\n"
                      "X-Otasuke-Seq: %d\r\nContent-Type: application/x-ndjson\r\n"
                      "Content-Length: %zu\r\n\r\n",
                      c->token, s->id, b, (unsigned long long)ts_now_us(), b, blen);
    int status = -1;
    for (int attempt = 0; attempt < 20 && status != 200; attempt++) {
        if (*fd < 0)
            *fd = connect_to(c->port);
        if (*fd >= 0 && send_all(*fd, head, (size_t)hl) == 0 && send_all(*fd, body, blen) == 0)
            status = read_response(*fd);
        if (status != 200) {
            s->errors++;
            if (*fd >= 0)
                close(*fd);
            *fd = -1;
            usleep(10000);
        }
    }
    free(body);
    return status == 200 ? 0 : -1;
}

static void *sender_main(void *arg)
{
    struct sender *s = arg;
    int fd = -1;
    for (int b = 0; b < s->c->batches; b++) {
        uint64_t t0 = ts_mono_us();
        if (one_batch(s, &fd, b) != 0) {
            s->failed = 1;
            break;
        }
        s->lat_ms[b] = (double)(ts_mono_us() - t0) / 1000.0;
    }
    if (fd >= 0)
        close(fd);
    return NULL;
}

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int run_http(struct cfg *c)
{
    struct sender *s = calloc((size_t)c->senders, sizeof(*s));
    pthread_t *th = calloc((size_t)c->senders, sizeof(*th));
    size_t nl = (size_t)c->senders * (size_t)c->batches;
    double *lat = calloc(nl, sizeof(*lat));
    if (s == NULL || th == NULL || lat == NULL) {
        free(s);
        free(th);
        free(lat);
        return 1;
    }
    uint64_t t0 = ts_mono_us();
    for (int i = 0; i < c->senders; i++) {
        s[i] = (struct sender){.c = c, .id = i, .lat_ms = lat + (size_t)i * (size_t)c->batches};
        pthread_create(&th[i], NULL, sender_main, &s[i]);
    }
    int errors = 0, failed = 0;
    for (int i = 0; i < c->senders; i++) {
        pthread_join(th[i], NULL);
        errors += s[i].errors;
        failed += s[i].failed;
    }
    double secs = (double)(ts_mono_us() - t0) / 1e6;
    qsort(lat, nl, sizeof(*lat), cmp_dbl);
    double ev = (double)nl * c->per;
    printf("mode=http senders=%d batches=%zu per=%d events=%.0f seconds=%.3f events_per_s=%.0f "
           "p50_ms=%.1f p99_ms=%.1f max_ms=%.1f retries=%d\n",
           c->senders, nl, c->per, ev, secs, ev / secs, lat[nl / 2], lat[nl * 99 / 100],
           lat[nl - 1], errors);
    free(s);
    free(th);
    free(lat);
    if (failed)
        fprintf(stderr, "center_load: %d senders gave up\n", failed);
    return failed ? 1 : 0;
}

static int baseline_setup(struct store *st, struct principal *who)
{
    struct company_in co = {"bench", "bench", "UTC", "en", "", 0};
    int64_t cid = 0, sid = 0;
    uint8_t ch[32], th[32];
    token_hash("otc_bench", 9, ch);
    token_hash("otk_bench", 9, th);
    if (store_company_add(st, &co, &cid) != 0 ||
        store_sensor_add(st, cid, "bench", ch, INT64_MAX, &sid) != 0)
        return -1;
    return store_enroll(st, ch, th, 1, who);
}

static int run_baseline(struct cfg *c)
{
    char err[256];
    struct store_opts o = {c->sync, 2000, 0};
    struct store *st = store_open_sqlite(c->baseline, &o, err, sizeof(err));
    struct principal who;
    if (st == NULL || baseline_setup(st, &who) != 0) {
        fprintf(stderr, "baseline: %s\n", st ? store_errmsg(st) : err);
        return 1;
    }
    struct ingest_limits lim = {1 << 20, 100000};
    size_t nb = (size_t)c->senders * (size_t)c->batches;
    uint64_t t0 = ts_mono_us();
    for (size_t i = 0; i < nb; i++) {
        size_t blen;
        char *body = make_body(c, (int)(i / (size_t)c->batches), (int)(i % (size_t)c->batches),
                               &blen);
        struct ingest_result r;
        char bid[32];
        snprintf(bid, sizeof(bid), "b%zu", i);
        int rc = ingest_parse(body, blen, &lim, &r);
        struct store_batch b = {bid, i, r.se, r.n_ev, r.rejected};
        struct store_batch_result br;
        if (rc == 0)
            rc = store_ingest(st, &who, &b, (int64_t)ts_now_us(), &br);
        ingest_result_free(&r);
        free(body);
        if (rc != 0) {
            fprintf(stderr, "baseline: ingest failed %d\n", rc);
            return 1;
        }
    }
    double secs = (double)(ts_mono_us() - t0) / 1e6;
    double ev = (double)nb * c->per;
    printf("mode=baseline batches=%zu per=%d events=%.0f seconds=%.3f events_per_s=%.0f\n", nb,
           c->per, ev, secs, ev / secs);
    store_close(st);
    return 0;
}

int main(int argc, char **argv)
{
    struct cfg c = {.senders = 100, .batches = 5, .per = 500, .sync = STORE_SYNC_FULL};
    static const struct option lo[] = {
        {"port", 1, NULL, 'p'},    {"token", 1, NULL, 't'},   {"events", 1, NULL, 'e'},
        {"senders", 1, NULL, 'n'}, {"batches", 1, NULL, 'b'}, {"per", 1, NULL, 'k'},
        {"baseline", 1, NULL, 'B'}, {"sync", 1, NULL, 's'},   {NULL, 0, NULL, 0},
    };
    int o;
    while ((o = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        switch (o) {
        case 'p': c.port = (int)strtol(optarg, NULL, 10); break;
        case 't': c.token = optarg; break;
        case 'e': c.events = optarg; break;
        case 'n': c.senders = (int)strtol(optarg, NULL, 10); break;
        case 'b': c.batches = (int)strtol(optarg, NULL, 10); break;
        case 'k': c.per = (int)strtol(optarg, NULL, 10); break;
        case 'B': c.baseline = optarg; break;
        case 's': c.sync = strcmp(optarg, "normal") == 0 ? STORE_SYNC_NORMAL : STORE_SYNC_FULL; break;
        default: return 2;
        }
    }
    if (c.events == NULL || c.senders < 1 || c.batches < 1 || c.per < 1 ||
        (c.baseline == NULL && (c.port <= 0 || c.token == NULL))) {
        fprintf(stderr, "usage: see the comment at the top of bench/center_load.c\n");
        return 2;
    }
    if (load_lines(&c) != 0) {
        fprintf(stderr, "center_load: cannot read events from %s\n", c.events);
        free(c.lines);
        free(c.lens);
        return 1;
    }
    int rc = c.baseline ? run_baseline(&c) : run_http(&c);
    for (size_t i = 0; i < c.n_lines; i++)
        free(c.lines[i]);
    free(c.lines);
    free(c.lens);
    return rc;
}
