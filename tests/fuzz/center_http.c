/*
 * Fuzz harness for the center's HTTP request handling (center/http): libmicrohttpd's
 * request-line, header, cookie and query-string parsing and, behind it, our routing,
 * authentication (device tokens, bearer and cookie sessions, CSRF, the metrics scrape
 * token), header checks of ingest, body caps, gzip bodies and the JSON bodies of every
 * API endpoint, down to the store. The server runs in-process on a loopback port with
 * a temporary SQLite database; each input is one raw HTTP/1.1 exchange written to a
 * fresh connection (then half-closed), and the answer read back (an answer that has not
 * begun 500 ms after the request was sent counts as none: MHD keeps a half-closed
 * connection with an incomplete request until its idle timeout).
 *
 * Placeholders in the input are replaced before it is sent, so that the fuzzer gets
 * past authentication: @D a device token of company 1, @S a provider admin's session
 * token, @V a tenant viewer's (company 1) session token, @C the CSRF token of both
 * sessions, @M the metrics scrape token, @A a full API token of the provider admin, @R a
 * read-only API token of the viewer. The sessions are recreated when an input logged
 * them out.
 *
 * Checked: the server does not crash (ASan/UBSan in the fuzz build), every answer
 * starts with an HTTP/1.x status line with a known status, and the server still
 * answers GET /healthz after the input (asked again while it makes progress, see
 * healthy(): no fixed wall-clock wait).
 */
#define _GNU_SOURCE /* memmem */
#include "auth/password.h"
#include "auth/token.h"
#include "http/server.h"
#include "store/people.h"
#include "store/store.h"
#include "store/tokens.h"

#include "otasuke/log.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
static const char dev_code[] = "otc_0123456789abcdef0123456789abcdef";
static const char dev_token[] = "otk_" HEX64;
static const char staff_token[] = "ots_" HEX64;
static const char viewer_token[] = "ots_fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";
static const char csrf[] = HEX64;
static const char metrics_token[] = "fuzz-scrape-token-0123456789";
static const char api_full[] = "ota_" HEX64; /* the staff's full token; api_read the viewer's */
static const char api_read[] = "ota_fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";

static struct server *srv;
static struct store *own; /* the harness's connection, to recreate sessions */
static uint16_t port;
static char dir[64], db[128];
static int64_t staff_id, viewer_id;

static int64_t now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

static void cleanup(void)
{
    char p[192];
    server_stop(srv);
    store_close(own);
    static const char *const sfx[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof(p), "%s%s", db, sfx[i]);
        unlink(p);
    }
    rmdir(dir);
}

/* The two sessions, when an input ended them (logout, password change). */
static void sessions(void)
{
    const struct {
        const char *tok;
        int64_t *uid;
    } s[2] = {{staff_token, &staff_id}, {viewer_token, &viewer_id}};
    for (int i = 0; i < 2; i++) {
        uint8_t h[STORE_HASH_LEN];
        struct store_session ss;
        token_hash(s[i].tok, strlen(s[i].tok), h);
        int64_t now = now_us();
        if (store_session_get(own, h, now, 3600000000LL, 86400000000LL, 60000000LL, &ss) == 0)
            continue;
        int64_t id = 0;
        store_session_add(own, *s[i].uid, h, csrf, "127.0.0.1", NULL, now, 3600000000LL,
                          86400000000LL, &id);
    }
}

static void setup(void)
{
    char err[256];
    snprintf(dir, sizeof(dir), "/tmp/otasuke-fuzz-http.XXXXXX");
    if (mkdtemp(dir) == NULL)
        abort();
    snprintf(db, sizeof(db), "%s/c.db", dir);
    log_set_level(LOG_ERROR);
    signal(SIGPIPE, SIG_IGN);
    struct store_opts so = {STORE_SYNC_NORMAL, 2000, 0};
    own = store_open_sqlite(db, &so, err, sizeof(err));
    if (own == NULL)
        abort();
    int64_t a = 0, b = 0, sensor = 0;
    struct company_in ca = {.name = "A", .sector = "x", .tz = "Asia/Tokyo", .lang = "ja"};
    struct company_in cb = {.name = "B", .sector = "y", .tz = "UTC", .lang = "en"};
    uint8_t h[STORE_HASH_LEN], th[STORE_HASH_LEN];
    token_hash(dev_code, strlen(dev_code), h);
    token_hash(dev_token, strlen(dev_token), th);
    struct principal who;
    struct pw_params pp;
    pw_params_default(&pp);
    char hash[256];
    if (store_company_add(own, &ca, &a) != 0 || store_company_add(own, &cb, &b) != 0 ||
        store_sensor_add(own, a, "s1", h, now_us() + 3600000000LL, &sensor) != 0 ||
        store_enroll(own, h, th, now_us(), &who) != 0 ||
        pw_hash(&pp, "fuzz password 12345", 19, hash, sizeof(hash)) != 0 ||
        store_user_add(own, 0, "staff", ROLE_PROVIDER_ADMIN, hash, now_us(), &staff_id) != 0 ||
        store_user_add(own, a, "viewer", ROLE_TENANT_VIEWER, hash, now_us(), &viewer_id) != 0)
        abort();
    token_hash(api_full, strlen(api_full), h);
    token_hash(api_read, strlen(api_read), th);
    if (store_apitoken_add(own, staff_id, "fuzz", APITOKEN_FULL, h, "fuzz", now_us(), 0, NULL) ||
        store_apitoken_add(own, viewer_id, "fuzz", APITOKEN_READ, th, "fuzz", now_us(), 0, NULL))
        abort();
    sessions();
    struct server_conf c = {.db_path = db,
                            .store = so,
                            .listen = "127.0.0.1:0",
                            .threads = 2,
                            .conn_limit = 16,
                            .timeout_s = 2,
                            .max_body = 1 << 20,
                            .max_inflated = 4 << 20,
                            .max_line = 64 << 10,
                            .max_events = 1000,
                            .metrics_token = metrics_token};
    c.notify.smtp_url = "";
    c.notify.from = "fuzz <fuzz@localhost>";
    c.notify.staff = "";
    srv = server_start(&c, err, sizeof(err));
    if (srv == NULL) {
        fprintf(stderr, "server_start: %s\n", err);
        abort();
    }
    port = server_port(srv);
    atexit(cleanup);
}

/* Copies in[0..n) into out, replacing the placeholders; returns the length. */
static size_t expand(const uint8_t *in, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        const char *rep = NULL;
        if (in[i] == '@' && i + 1 < n) {
            switch (in[i + 1]) {
            case 'D': rep = dev_token; break;
            case 'S': rep = staff_token; break;
            case 'V': rep = viewer_token; break;
            case 'C': rep = csrf; break;
            case 'M': rep = metrics_token; break;
            case 'A': rep = api_full; break;
            case 'R': rep = api_read; break;
            default: break;
            }
        }
        if (rep != NULL) {
            size_t k = strlen(rep);
            if (o + k > cap)
                break;
            for (size_t j = 0; j < k; j++) /* not a string: out is a byte buffer */
                out[o + j] = rep[j];
            o += k;
            i++;
        } else {
            if (o + 1 > cap)
                break;
            out[o++] = (char)in[i];
        }
    }
    return o;
}

/* 1 when ans[0..n) holds a whole first answer: its headers and Content-Length bytes. */
static int answer_complete(const char *ans, size_t n)
{
    const char *end = memmem(ans, n, "\r\n\r\n", 4);
    if (end == NULL)
        return 0;
    size_t hl = (size_t)(end - ans) + 4, cl = 0;
    for (const char *p = ans; p < end; p++) {
        if ((*p == 'C' || *p == 'c') && (size_t)(end - p) > 15 &&
            strncasecmp(p, "Content-Length:", 15) == 0 && (p == ans || p[-1] == '\n')) {
            cl = strtoul(p + 15, NULL, 10);
            return n >= hl + cl;
        }
    }
    return 0;
}

/* Sends req[0..n), half-closes, reads the answer (at most cap bytes kept; none when it
 * has not begun within wait_us). Returns the
 * bytes read, or -1 when the connection could not be made. */
static long exchange(const char *req, size_t n, char *ans, size_t cap, long wait_us)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = {10, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        return -1;
    }
    size_t off = 0;
    while (off < n) {
        ssize_t w = send(fd, req + off, n - off, MSG_NOSIGNAL);
        if (w <= 0)
            break; /* the server may answer (413) and close before reading it all */
        off += (size_t)w;
    }
    shutdown(fd, SHUT_WR);
    /* MHD does not close a half-closed connection whose request is incomplete before
     * its idle timeout: an answer not begun within wait_us is taken as none. */
    struct timeval wait = {wait_us / 1000000, wait_us % 1000000};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof(wait));
    size_t got = 0;
    static _Thread_local char sink[4096];
    for (;;) {
        char *to = got < cap ? ans + got : sink;
        size_t room = got < cap ? cap - got : sizeof(sink);
        ssize_t r = recv(fd, to, room, 0);
        if (r <= 0)
            break;
        if (got < cap)
            got += (size_t)r;
        if (answer_complete(ans, got))
            break; /* a kept-alive connection would otherwise wait for the idle timeout */
    }
    close(fd);
    return (long)got;
}

static void check_answer(const char *a, long n)
{
    if (n <= 0)
        return; /* closed without an answer: allowed for garbage */
    if (n < 12 || memcmp(a, "HTTP/1.", 7) != 0) {
        fprintf(stderr, "answer does not start with a status line: %.40s\n", a);
        abort();
    }
    long code = strtol(a + 9, NULL, 10);
    if (code < 100 || code > 599) {
        fprintf(stderr, "bad status %ld\n", code);
        abort();
    }
}

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Whether the server still answers GET /healthz. A fixed wait for the answer made long
 * runs fail on a loaded machine (an input's Argon2 logins and the sessions recreated
 * after it can keep both server threads busy for many seconds, and connections left
 * half-open wait for their idle timeout): the question is asked again, in 2 s rounds,
 * for as long as the server makes progress. It is declared hung only when it has
 * burnt HEALTH_MAX_CPU_S CPU seconds (this process's, server threads included) without
 * answering (a loop), or when HEALTH_IDLE_WALL_S seconds went by with less than
 * HEALTH_IDLE_CPU_S CPU seconds used (nothing runs: a deadlock). */
#define HEALTH_MAX_CPU_S 60.0
#define HEALTH_IDLE_WALL_S 60.0
#define HEALTH_IDLE_CPU_S 0.5

static int healthy(char *ans, size_t cap)
{
    static const char health[] = "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    double cpu0 = clock_s(CLOCK_PROCESS_CPUTIME_ID), wall0 = clock_s(CLOCK_MONOTONIC);
    for (int round = 0;; round++) {
        long got = exchange(health, sizeof(health) - 1, ans, cap, 2000000);
        if (got >= 12 && memcmp(ans, "HTTP/1.1 200", 12) == 0)
            return 1;
        double cpu = clock_s(CLOCK_PROCESS_CPUTIME_ID) - cpu0;
        double wall = clock_s(CLOCK_MONOTONIC) - wall0;
        if (cpu > HEALTH_MAX_CPU_S || (wall > HEALTH_IDLE_WALL_S && cpu < HEALTH_IDLE_CPU_S)) {
            fprintf(stderr, "/healthz: no answer in %d rounds, %.1f s, %.2f CPU s\n", round + 1,
                    wall, cpu);
            return 0;
        }
        if (got <= 0) /* refused or closed at the connection limit: let stale ones expire */
            nanosleep(&(struct timespec){0, 100000000L}, NULL);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char req[(1 << 16) + 4096], ans[1 << 16];
    if (srv == NULL)
        setup();
    if (size > (1 << 16))
        return 0;
    sessions();
    size_t n = expand(data, size, req, sizeof(req));
    long got = exchange(req, n, ans, sizeof(ans) - 1, 500000);
    if (got < 0)
        abort(); /* the server stopped accepting */
    ans[got] = '\0';
    check_answer(ans, got);
    if (!healthy(ans, sizeof(ans) - 1)) {
        fprintf(stderr, "the server no longer answers /healthz\n");
        abort();
    }
    return 0;
}
