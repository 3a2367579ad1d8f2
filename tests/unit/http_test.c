/*
 * HTTP parser tests, driven through the `http_parser` table with a sink that
 * captures every event (JSON text) and anomaly in order: keep-alive, pipelining,
 * chunked bodies with extensions and trailers, 1xx/HEAD/204/304, EOF-delimited
 * bodies, CONNECT, gzip/deflate bodies whose sha256 is computed here with nettle,
 * a gzip bomb stopped at the caps, line/header/pending limits, gaps, and
 * Content-Disposition names. Every conversation is also fed split at every offset
 * and byte by byte, and must give the same output.
 *
 * Corpus part: HTTP captures of ../shared/corpus are decoded and reassembled with the
 * project's decoder, flow table and reassembler, fed to the parser, and each request
 * that tshark dissects (method, URI, host, user agent, status of its response) is
 * looked up among our http events; the agreement must stay above a floor.
 * `http_test --dump FILE.pcap` prints our events for a capture (for scoring
 * scripts).
 */
#include <nettle/sha2.h>
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "check.h"
#include "app/http.h"
#include "app/files.h"
#include "otasuke/conf.h"
#include "otasuke/jw.h"
#include "decode/decode.h"
#include "flow/flow.h"
#include "flow/reasm.h"
#include "sensor_conf.h"

/* ---- capturing sink ---- */

#define OUT_MAX (16u << 20)

struct tsink {
    struct app_sink s;
    struct jw w;
    char *out;
    size_t len;
};

static void out_add(struct tsink *t, const char *p, size_t n)
{
    if (t->len + n + 1 > OUT_MAX)
        n = OUT_MAX - t->len - 1;
    memcpy(t->out + t->len, p, n);
    t->len += n;
    t->out[t->len] = '\0';
}

static struct jw *ts_begin(struct app_sink *s, const char *type, int dir)
{
    struct tsink *t = s->ud;
    jw_reset(&t->w);
    jw_obj_open(&t->w, NULL);
    jw_str(&t->w, "event_type", type);
    jw_u64(&t->w, "dir", (uint64_t)dir);
    return &t->w;
}

static void ts_end(struct app_sink *s)
{
    struct tsink *t = s->ud;
    jw_obj_close(&t->w);
    out_add(t, jw_ok(&t->w) ? t->w.buf : "(bad)", jw_ok(&t->w) ? t->w.len : 5);
    out_add(t, "\n", 1);
}

static void ts_anomaly(struct app_sink *s, int kind, int dir)
{
    struct tsink *t = s->ud;
    char b[96];
    int k = snprintf(b, sizeof(b), "anomaly %s %d\n", http_parser.kind_name(kind), dir);
    out_add(t, b, (size_t)k);
}

static struct tsink g_t;
static struct sensor_conf g_conf;

static void sink_init(void)
{
    if (g_t.out == NULL) {
        g_t.out = malloc(OUT_MAX);
        jw_init(&g_t.w, 1024, 1 << 20);
    }
    g_t.len = 0;
    g_t.out[0] = '\0';
    g_t.s.event_begin = ts_begin;
    g_t.s.event_end = ts_end;
    g_t.s.anomaly = ts_anomaly;
    g_t.s.ud = &g_t;
}

static void conf_reset(void)
{
    conf_defaults(sensor_conf_table, &g_conf);
}

/* ---- conversations ---- */

struct seg {
    int dir; /* APP_TOSERVER / APP_TOCLIENT, or -1: a gap of `len` bytes */
    const char *p;
    size_t len;
};

#define TS(str)                                                                                    \
    {                                                                                              \
        APP_TOSERVER, (str), sizeof(str) - 1                                                       \
    }
#define TC(str)                                                                                    \
    {                                                                                              \
        APP_TOCLIENT, (str), sizeof(str) - 1                                                       \
    }

/* Feeds p[0..n) as an exact-size heap copy (ASan sees over-reads). */
static void feed(void *st, int dir, const char *p, size_t n)
{
    if (n == 0)
        return;
    uint8_t *c = malloc(n);
    memcpy(c, p, n);
    http_parser.data(st, &g_t.s, dir, c, n);
    free(c);
}

/* Runs the conversation with every segment cut into pieces of `step` bytes (0:
 * whole) and the first cut at `first`; returns the captured output (malloc'd). */
static char *run(const struct seg *sg, size_t nseg, size_t first, size_t step)
{
    sink_init();
    void *st = http_parser.state_new(&g_conf);
    for (size_t i = 0; i < nseg; i++) {
        if (sg[i].dir < 0) {
            http_parser.gap(st, &g_t.s, (int)(sg[i].len >> 32), sg[i].len & 0xffffffffu);
            continue;
        }
        size_t off = 0, n = sg[i].len;
        if (first > 0 && first < n) {
            feed(st, sg[i].dir, sg[i].p, first);
            off = first;
        }
        while (off < n) {
            size_t k = (step == 0 || n - off < step) ? n - off : step;
            feed(st, sg[i].dir, sg[i].p + off, k);
            off += k;
        }
    }
    http_parser.end(st, &g_t.s);
    http_parser.state_free(st);
    return strdup(g_t.out);
}

/* The output of the conversation fed whole; also checks that every split gives the
 * same. Returns a static copy; NULL when a split differed (reported). */
static const char *conv(const struct seg *sg, size_t nseg)
{
    static char *whole;
    free(whole);
    whole = run(sg, nseg, 0, 0);
    size_t maxlen = 0;
    for (size_t i = 0; i < nseg; i++)
        if (sg[i].dir >= 0 && sg[i].len > maxlen)
            maxlen = sg[i].len;
    size_t stride = maxlen > 4096 ? maxlen / 512 : 1;
    for (size_t k = 1; k < maxlen; k += stride) {
        char *o = run(sg, nseg, k, 0);
        int same = strcmp(o, whole) == 0;
        if (!same)
            fprintf(stderr, "split at %zu differs:\n%s\n--- whole:\n%s\n", k, o, whole);
        free(o);
        if (!same)
            return NULL;
    }
    if (maxlen <= 65536) {
        char *o = run(sg, nseg, 0, 1);
        int same = strcmp(o, whole) == 0;
        if (!same)
            fprintf(stderr, "byte by byte differs:\n%s\n--- whole:\n%s\n", o, whole);
        free(o);
        if (!same)
            return NULL;
    }
    return whole;
}

static size_t count(const char *hay, const char *needle)
{
    size_t c = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++)
        c++;
    return c;
}

#define CONV(arr) conv((arr), sizeof(arr) / sizeof((arr)[0]))
#define HAS(o, s) CHECK(strstr((o), (s)) != NULL)

/* ---- tests ---- */

static void test_probe(void)
{
    const struct app_parser *p = &http_parser;
    CHECK_EQ_U64(p->probe((const uint8_t *)"GET / HTTP/1.1\r\n", 16, APP_TOSERVER, 5000, 80),
                 APP_PROBE_YES);
    CHECK_EQ_U64(p->probe((const uint8_t *)"PROPFIND /x", 11, APP_TOSERVER, 5000, 80),
                 APP_PROBE_YES);
    CHECK_EQ_U64(p->probe((const uint8_t *)"PO", 2, APP_TOSERVER, 5000, 80), APP_PROBE_MORE);
    CHECK_EQ_U64(p->probe((const uint8_t *)"GETX", 4, APP_TOSERVER, 5000, 80), APP_PROBE_NO);
    CHECK_EQ_U64(p->probe((const uint8_t *)"\x16\x03\x01", 3, APP_TOSERVER, 5000, 443),
                 APP_PROBE_NO);
    CHECK_EQ_U64(p->probe((const uint8_t *)"HTTP/1.1 200", 12, APP_TOCLIENT, 5000, 80),
                 APP_PROBE_YES);
    CHECK_EQ_U64(p->probe((const uint8_t *)"HTTP", 4, APP_TOCLIENT, 5000, 80), APP_PROBE_MORE);
    CHECK_EQ_U64(p->probe((const uint8_t *)"SSH-2.0", 7, APP_TOCLIENT, 5000, 80), APP_PROBE_NO);
    CHECK_EQ_U64(p->probe((const uint8_t *)"", 0, APP_TOSERVER, 5000, 80), APP_PROBE_MORE);
    CHECK_STR(p->kind_name(HTTP_AN_DECOMPRESSION_BOMB), "decompression_bomb");
    CHECK_STR(p->kind_name(HTTP_AN_COUNT), "unknown");
}

/* GET with Host port, UA, Referer; response with Content-Length body; then a
 * second request on the same connection (keep-alive) with a 301 and Location. */
static const struct seg keepalive[] = {
    TS("GET /index.html?q=1 HTTP/1.1\r\nHost: WWW.Example.com:8080\r\n"
       "User-Agent: curl/8.0\r\nReferer: http://a.example/\r\n\r\n"),
    TC("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 5\r\n\r\nhello"),
    TS("GET /old HTTP/1.1\r\nHost: www.example.com\r\n\r\n"),
    TC("HTTP/1.1 301 Moved Permanently\r\nLocation: /new\r\nContent-Length: 0\r\n\r\n"),
};

static void test_keepalive(void)
{
    conf_reset();
    const char *o = CONV(keepalive);
    CHECK(o != NULL);
    HAS(o,
        "{\"event_type\":\"http\",\"dir\":0,\"tx_id\":0,\"http\":{\"hostname\":\"www.example.com\","
        "\"http_port\":8080,\"url\":\"/index.html?q=1\",\"http_user_agent\":\"curl/8.0\","
        "\"http_content_type\":\"text/html\",\"http_refer\":\"http://a.example/\","
        "\"http_method\":\"GET\",\"protocol\":\"HTTP/1.1\",\"status\":200,\"length\":5}}");
    HAS(o, "\"tx_id\":1,\"http\":{\"hostname\":\"www.example.com\",\"url\":\"/old\","
           "\"http_method\":\"GET\",\"protocol\":\"HTTP/1.1\",\"status\":301,"
           "\"redirect\":\"/new\",\"length\":0}}");
    /* the 5-byte body is a file named by the URI path, with its sha256 */
    HAS(o, "\"fileinfo\":{\"filename\":\"/index.html\"");
    HAS(o, "\"sha256\":\"2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824\"");
    HAS(o, "\"state\":\"CLOSED\"");
    CHECK_EQ_U64(count(o, "\"event_type\":\"http\""), 2);
    CHECK_EQ_U64(count(o, "\"event_type\":\"fileinfo\""), 1);
    CHECK_EQ_U64(count(o, "anomaly"), 0);
}

/* Three pipelined requests before any response; responses in order. */
static const struct seg pipelined[] = {
    TS("GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.1\r\nHost: h\r\n\r\n"
       "HEAD /c HTTP/1.1\r\nHost: h\r\n\r\n"),
    TC("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nA"
       "HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\nBB"
       "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"),
};

static void test_pipelining(void)
{
    conf_reset();
    const char *o = CONV(pipelined);
    CHECK(o != NULL);
    const char *a = strstr(o, "\"tx_id\":0,\"http\":{\"hostname\":\"h\",\"url\":\"/a\"");
    const char *b = strstr(o, "\"tx_id\":1,\"http\":{\"hostname\":\"h\",\"url\":\"/b\"");
    const char *c = strstr(o, "\"tx_id\":2,\"http\":{\"hostname\":\"h\",\"url\":\"/c\"");
    CHECK(a != NULL && b != NULL && c != NULL && a < b && b < c);
    HAS(o, "\"url\":\"/b\",\"http_method\":\"GET\",\"protocol\":\"HTTP/1.1\",\"status\":404,"
           "\"length\":2}");
    /* HEAD: Content-Length 1000 but no body */
    HAS(o, "\"url\":\"/c\",\"http_method\":\"HEAD\",\"protocol\":\"HTTP/1.1\",\"status\":200,"
           "\"length\":0}");
    CHECK_EQ_U64(count(o, "anomaly"), 0);
}

/* Chunked response with chunk extensions and a trailer; 100 Continue before a
 * POST's final response; 204 and 304 without bodies. */
static const struct seg chunked[] = {
    TS("POST /up/load.php HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n"
       "Expect: 100-continue\r\n\r\n"),
    TC("HTTP/1.1 100 Continue\r\n\r\n"),
    TS("abc"),
    TC("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n"
       "5;name=value\r\nhello\r\n6 ; x=\"y\"\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n"),
    TS("GET /nc HTTP/1.1\r\nHost: h\r\n\r\nGET /nm HTTP/1.1\r\nHost: h\r\n\r\n"),
    TC("HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n"
       "HTTP/1.1 304 Not Modified\r\nTransfer-Encoding: chunked\r\n\r\n"),
};

static void test_chunked(void)
{
    conf_reset();
    const char *o = CONV(chunked);
    CHECK(o != NULL);
    /* request body "abc" as a file, sent by the client */
    HAS(o, "{\"event_type\":\"fileinfo\",\"dir\":0,\"http\":{\"hostname\":\"h\","
           "\"url\":\"/up/load.php\",\"http_method\":\"POST\",\"protocol\":\"HTTP/1.1\","
           "\"status\":100,\"length\":0},\"fileinfo\":"
           "{\"filename\":\"/up/load.php\"");
    HAS(o, "\"sha256\":\"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\"");
    /* the response: "hello world" de-chunked */
    HAS(o, "\"sha256\":\"b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9\"");
    HAS(o, "\"url\":\"/up/load.php\",\"http_content_type\":\"text/plain\","
           "\"http_method\":\"POST\",\"protocol\":\"HTTP/1.1\",\"status\":200,\"length\":11}");
    HAS(o, "\"url\":\"/nc\",\"http_method\":\"GET\",\"protocol\":\"HTTP/1.1\",\"status\":204");
    HAS(o, "\"url\":\"/nm\",\"http_method\":\"GET\",\"protocol\":\"HTTP/1.1\",\"status\":304");
    CHECK_EQ_U64(count(o, "\"event_type\":\"http\""), 3);
    CHECK_EQ_U64(count(o, "\"event_type\":\"fileinfo\""), 2);
    CHECK_EQ_U64(count(o, "anomaly"), 0);
}

/* HTTP/1.0 response delimited by the connection's end; a request without response
 * is logged at flow end. */
static const struct seg eof_body[] = {
    TS("GET /dl/file.bin HTTP/1.0\r\n\r\n"),
    TC("HTTP/1.0 200 OK\r\nConnection: close\r\n"
       "Content-Disposition: attachment; filename=\"report.pdf\"\r\n\r\nabc"),
};

static void test_eof_body(void)
{
    conf_reset();
    const char *o = CONV(eof_body);
    CHECK(o != NULL);
    HAS(o, "\"fileinfo\":{\"filename\":\"report.pdf\"");
    HAS(o, "\"state\":\"CLOSED\"");
    HAS(o, "\"url\":\"/dl/file.bin\",\"http_method\":\"GET\",\"protocol\":\"HTTP/1.0\","
           "\"status\":200,\"length\":3}");
    static const struct seg noresp[] = {TS("GET /lonely HTTP/1.1\r\nHost: x\r\n\r\n")};
    o = CONV(noresp);
    CHECK(o != NULL);
    HAS(o, "{\"event_type\":\"http\",\"dir\":0,\"tx_id\":0,\"http\":{\"hostname\":\"x\","
           "\"url\":\"/lonely\",\"http_method\":\"GET\",\"protocol\":\"HTTP/1.1\","
           "\"length\":0}}");
}

static void test_content_disposition(void)
{
    conf_reset();
    static const struct seg cd[] = {
        TS("GET /x HTTP/1.1\r\n\r\n"),
        TC("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Disposition: attachment; "
           "filename=\"plain.txt\"; filename*=UTF-8''%E2%82%AC%20rates.txt\r\n\r\nZ"),
    };
    const char *o = CONV(cd);
    CHECK(o != NULL);
    HAS(o, "\"filename\":\"\xe2\x82\xac rates.txt\"");
    /* a declared size not reached: the file is truncated at flow end */
    static const struct seg trunc[] = {
        TS("GET /a/b/c.exe?x=1 HTTP/1.1\r\n\r\n"),
        TC("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nMZ"),
    };
    o = CONV(trunc);
    CHECK(o != NULL);
    HAS(o, "\"filename\":\"/a/b/c.exe\"");
    HAS(o, "\"state\":\"TRUNCATED\"");
    /* as Suricata: a truncated file has the hashes of the bytes seen ("MZ") */
    HAS(o, "\"sha256\":\"9b8db510ef42b8ed54a3712636fda55a4f8cfcd5493e20b74ab00cd4f3979f2d\"");
    HAS(o, "\"status\":200,\"length\":2}");
}

/* An absolute URI (proxy request) gives the host and port; "http://" inside a query
 * does not; IPv6 literal hosts lose their brackets. */
static void test_absolute_uri(void)
{
    conf_reset();
    static const struct seg abs[] = {
        TS("GET http://user@Proxy.Example:3128/p?x HTTP/1.1\r\nHost: other\r\n\r\n"
           "GET /n?u=http://evil.example/ HTTP/1.1\r\nHost: good.example\r\n\r\n"
           "GET / HTTP/1.1\r\nHost: [2001:db8::1]:8080\r\n\r\n"),
    };
    const char *o = CONV(abs);
    CHECK(o != NULL);
    HAS(o, "\"hostname\":\"proxy.example\",\"http_port\":3128,"
           "\"url\":\"http://user@Proxy.Example:3128/p?x\"");
    HAS(o, "\"hostname\":\"good.example\",\"url\":\"/n?u=http://evil.example/\"");
    HAS(o, "\"hostname\":\"2001:db8::1\",\"http_port\":8080,");
    static const struct seg nouri[] = {TS("GET  HTTP/1.1\r\nHost: bro.org\r\n\r\n")};
    o = CONV(nouri);
    CHECK(o != NULL);
    HAS(o, "\"hostname\":\"bro.org\",\"url\":\"\",\"http_method\":\"GET\","
           "\"protocol\":\"HTTP/1.1\"");
}

/* multipart/form-data: each part with a file name is a file (Suricata); the
 * boundary text inside a part without CRLF before it is data. */
static void test_multipart(void)
{
    conf_reset();
    static const struct seg mp[] = {
        TS("POST /upload HTTP/1.1\r\nHost: h\r\n"
           "Content-Type: multipart/form-data; boundary=\"XyZ\"\r\nContent-Length: 265\r\n\r\n"
           "preamble\r\n--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nfield\r\n"
           "--XyZ\r\ncontent-disposition: form-data; name=\"f\"; filename=\"one.txt\"\r\n"
           "Content-Type: text/plain\r\n\r\nabc\r\n"
           "--XyZ\r\nContent-Disposition: form-data; name=\"g\"; filename=\"two.bin\"\r\n\r\n"
           "x--XyZ\r\r\n--Xy\r\n--XyZ--\r\n"),
        TC("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
    };
    const char *o = CONV(mp);
    CHECK(o != NULL);
    HAS(o, "\"filename\":\"one.txt\"");
    /* sha256("abc") */
    HAS(o, "\"sha256\":\"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\"");
    HAS(o, "\"filename\":\"two.bin\"");
    /* "x--XyZ\r\r\n--Xy": 13 bytes */
    HAS(o, "\"size\":13,");
    CHECK_EQ_U64(count(o, "\"event_type\":\"fileinfo\""), 2);
    CHECK_EQ_U64(count(o, "\"state\":\"CLOSED\""), 2);
    CHECK_EQ_U64(count(o, "anomaly"), 0);
}

/* CONNECT with 200: the rest is a tunnel and not parsed; 101 likewise. */
static void test_tunnels(void)
{
    conf_reset();
    static const struct seg con[] = {
        TS("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"),
        TS("\x16\x03\x01\x02\x00\x01\x00"),
        TC("HTTP/1.1 200 Connection established\r\n\r\n"),
        TC("\x16\x03\x03\x00\x10garbage"),
        TS("\x16\x03\x03 more tls"),
    };
    const char *o = CONV(con);
    CHECK(o != NULL);
    HAS(o, "\"hostname\":\"example.com\",\"http_port\":443,\"url\":\"example.com:443\","
           "\"http_method\":\"CONNECT\",\"protocol\":\"HTTP/1.1\",\"status\":200");
    CHECK_EQ_U64(count(o, "anomaly"), 0);
    CHECK_EQ_U64(count(o, "\"event_type\""), 1);
    static const struct seg ws[] = {
        TS("GET /chat HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n\r\n"),
        TC("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x05hello"),
        TS("\x81\x85xxxxxxxxx"),
    };
    o = CONV(ws);
    CHECK(o != NULL);
    HAS(o, "\"status\":101");
    CHECK_EQ_U64(count(o, "anomaly"), 0);
    CHECK_EQ_U64(count(o, "\"event_type\""), 1);
}

/* ---- gzip / deflate ---- */

/* Compresses src with windowBits wb (31: gzip, 15: zlib, -15: raw) into a malloc'd
 * buffer; *out_n its size. */
static uint8_t *zcompress(const uint8_t *src, size_t n, int wb, size_t *out_n)
{
    z_stream z;
    memset(&z, 0, sizeof(z));
    deflateInit2(&z, 9, Z_DEFLATED, wb, 8, Z_DEFAULT_STRATEGY);
    size_t cap = deflateBound(&z, (uLong)n) + 64;
    uint8_t *o = malloc(cap);
    z.next_in = (Bytef *)(uintptr_t)src;
    z.avail_in = (uInt)n;
    z.next_out = o;
    z.avail_out = (uInt)cap;
    deflate(&z, Z_FINISH);
    *out_n = cap - z.avail_out;
    deflateEnd(&z);
    return o;
}

static void sha256_hex(const uint8_t *d, size_t n, char out[65])
{
    struct sha256_ctx c;
    uint8_t dg[SHA256_DIGEST_SIZE];
    sha256_init(&c);
    sha256_update(&c, n, d);
    sha256_digest(&c, sizeof(dg), dg);
    for (int i = 0; i < 32; i++)
        snprintf(out + (size_t)2 * (size_t)i, 3, "%02x", dg[i]);
}

/* A response whose body is `body` (n bytes) with the given Content-Encoding; the
 * segments point into static buffers valid until the next call. */
static size_t coded_response(struct seg sg[3], const char *enc, const uint8_t *body, size_t n,
                             bool chunk)
{
    static char hdr[256];
    static char *rsp;
    free(rsp);
    rsp = malloc(n + 64);
    sg[0] = (struct seg)TS("GET /data.json HTTP/1.1\r\nHost: z\r\n\r\n");
    int k = chunk ? snprintf(hdr, sizeof(hdr),
                             "HTTP/1.1 200 OK\r\nContent-Encoding: %s\r\n"
                             "Transfer-Encoding: chunked\r\n\r\n%zx\r\n",
                             enc, n)
                  : snprintf(hdr, sizeof(hdr),
                             "HTTP/1.1 200 OK\r\nContent-Encoding: %s\r\n"
                             "Content-Length: %zu\r\n\r\n",
                             enc, n);
    sg[1] = (struct seg){APP_TOCLIENT, hdr, (size_t)k};
    memcpy(rsp, body, n);
    size_t rn = n;
    if (chunk) {
        static const uint8_t tail[7] = {'\r', '\n', '0', '\r', '\n', '\r', '\n'};
        memcpy(rsp + n, tail, sizeof(tail));
        rn += sizeof(tail);
    }
    sg[2] = (struct seg){APP_TOCLIENT, rsp, rn};
    return 3;
}

static void test_gzip(void)
{
    conf_reset();
    static uint8_t text[20000];
    for (size_t i = 0; i < sizeof(text); i++)
        text[i] = (uint8_t)("{\"key\": \"value\", \"n\": 12345}\n"[i % 30] + (i / 997 % 3));
    char want[65], field[80];
    sha256_hex(text, sizeof(text), want);
    snprintf(field, sizeof(field), "\"sha256\":\"%s\"", want);
    const int wbs[] = {31, 15, -15, 31};
    const char *encs[] = {"gzip", "deflate", "deflate", "x-gzip"};
    for (int i = 0; i < 4; i++) {
        size_t zn;
        uint8_t *z = zcompress(text, sizeof(text), wbs[i], &zn);
        struct seg sg[3];
        coded_response(sg, encs[i], z, zn, i == 3);
        const char *o = conv(sg, 3);
        free(z);
        CHECK(o != NULL);
        HAS(o, field);
        HAS(o, "\"size\":20000,");
        HAS(o, "\"state\":\"CLOSED\"");
        CHECK_EQ_U64(count(o, "anomaly"), 0);
    }
}

static void test_bad_gzip(void)
{
    conf_reset();
    struct seg sg[3];
    static const uint8_t junk[] = "\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03this is not deflate";
    coded_response(sg, "gzip", junk, sizeof(junk) - 1, false);
    const char *o = conv(sg, 3);
    CHECK(o != NULL);
    HAS(o, "anomaly bad_gzip 1");
    HAS(o, "\"state\":\"ERROR\"");
    HAS(o, "\"status\":200,\"length\":29}"); /* the response is still logged */
}

/* 8 MiB of zeros (about 8 KiB gzip): stops at the size cap, then at the ratio. */
static void test_bomb(void)
{
    size_t n = 8u << 20, zn;
    uint8_t *zeros = calloc(1, n);
    uint8_t *z = zcompress(zeros, n, 31, &zn);
    free(zeros);
    struct seg sg[3];
    coded_response(sg, "gzip", z, zn, false);
    conf_reset();
    g_conf.http_decompress_cap = 1u << 20;
    g_conf.http_decompress_ratio = 0;
    const char *o = conv(sg, 3);
    CHECK(o != NULL);
    HAS(o, "anomaly decompression_bomb 1");
    HAS(o, "\"state\":\"TRUNCATED\"");
    HAS(o, "\"size\":1048576,");
    char len[64];
    snprintf(len, sizeof(len), "\"length\":%zu}", zn);
    HAS(o, len);
    conf_reset();
    g_conf.http_decompress_cap = 0;
    g_conf.http_decompress_ratio = 100;
    o = run(sg, 3, 0, 0);
    HAS(o, "anomaly decompression_bomb 1");
    HAS(o, "\"state\":\"TRUNCATED\"");
    CHECK(count(o, "anomaly") == 1);
    free((void *)o);
    free(z);
}

/* ---- limits and errors ---- */

static void test_limits(void)
{
    conf_reset();
    g_conf.http_max_line = 64;
    g_conf.http_max_headers = 3;
    static const struct seg lim[] = {
        TS("GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa "
           "HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nUser-Agent: late\r\n\r\n"),
        TC("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
    };
    const char *o = CONV(lim);
    CHECK(o != NULL);
    HAS(o, "anomaly line_too_long 0");
    HAS(o, "anomaly too_many_headers 0");
    /* the cut line has no version; UA was past the header limit */
    HAS(o, "\"url\":\"/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\","
           "\"http_method\":\"GET\",\"status\":200");
    CHECK(strstr(o, "late") == NULL);

    conf_reset();
    g_conf.http_max_pending = 2;
    static const struct seg pend[] = {
        TS("GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\nGET /3 HTTP/1.1\r\n\r\n"),
        TC("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
           "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
           "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
    };
    o = CONV(pend);
    CHECK(o != NULL);
    /* the oldest (/1) is logged without response to make room for /3 */
    HAS(o, "anomaly too_many_pending 0\n{\"event_type\":\"http\",\"dir\":0,\"tx_id\":0,"
           "\"http\":{\"url\":\"/1\",\"http_method\":\"GET\",\"protocol\":\"HTTP/1.1\","
           "\"length\":0}}");
    HAS(o, "\"url\":\"/2\",\"http_method\":\"GET\",\"protocol\":\"HTTP/1.1\",\"status\":200");
    HAS(o, "\"url\":\"/3\",\"http_method\":\"GET\",\"protocol\":\"HTTP/1.1\",\"status\":200");
    HAS(o, "anomaly response_without_request 1");
}

static void test_errors(void)
{
    conf_reset();
    static const struct seg bad[] = {
        TS("GET / HTTP/1.1\r\nHost: h\r\nno colon here\r\nContent-Length: 12x\r\n\r\n"),
        TC("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n"
           "zz\r\n"),
        TS("\x01\x02 binary\r\n"),
    };
    const char *o = CONV(bad);
    CHECK(o != NULL);
    HAS(o, "anomaly invalid_header 0");
    HAS(o, "anomaly invalid_content_length 0");
    HAS(o, "anomaly te_and_cl 1");
    HAS(o, "anomaly bad_chunk 1");
    HAS(o, "anomaly invalid_request_line 0");
    HAS(o, "\"status\":200");
    static const struct seg st[] = {
        TS("GET / HTTP/1.1\r\n\r\n"),
        TC("HTTP/1.1\r\n\r\n"),
    };
    o = CONV(st);
    CHECK(o != NULL);
    HAS(o, "anomaly invalid_status 1");
    static const struct seg nonint[] = {
        TS("GET /test HTTP/1.1\r\n\r\n"),
        TC("HTTP/1.0 2XX OK\r\nContent-Length: 0\r\n\r\n"),
    };
    o = CONV(nonint);
    CHECK(o != NULL);
    HAS(o, "\"protocol\":\"HTTP/1.1\",\"status_string\":\"2XX\",\"length\":0}");
    static const struct seg unm[] = {
        TC("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
    };
    o = CONV(unm);
    CHECK(o != NULL);
    HAS(o, "anomaly response_without_request 1");
    HAS(o, "\"http\":{\"protocol\":\"HTTP/1.1\",\"status\":200,\"length\":2}");
}

/* A gap inside a Content-Length body: the body is skipped, its file truncated, and
 * the next transaction parses; a gap in headers ends the message, and parsing
 * resumes at the next valid request line. */
#define GAP(dir, n)                                                                                \
    {                                                                                              \
        -1, NULL, ((uint64_t)(dir) << 32) | (n)                                                    \
    }

static void test_gaps(void)
{
    conf_reset();
    static const struct seg g1[] = {
        TS("GET /big HTTP/1.1\r\n\r\n"),
        TC("HTTP/1.1 200 OK\r\nContent-Length: 20\r\n\r\n01234"),
        GAP(APP_TOCLIENT, 10),
        TC("56789"),
        TS("GET /next HTTP/1.1\r\n\r\n"),
        TC("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
    };
    const char *o = CONV(g1);
    CHECK(o != NULL);
    HAS(o, "anomaly gap 1");
    HAS(o, "\"gaps\":true,\"state\":\"TRUNCATED\"");
    HAS(o, "\"url\":\"/big\",\"http_method\":\"GET\",\"protocol\":\"HTTP/1.1\",\"status\":200,"
           "\"length\":20}");
    HAS(o, "\"url\":\"/next\"");
    static const struct seg g2[] = {
        TS("GET /a HTTP/1.1\r\nHo"),
        GAP(APP_TOSERVER, 100),
        TS("st: h\r\n\r\nGET /b HTTP/1.1\r\n\r\n"),
    };
    o = CONV(g2);
    CHECK(o != NULL);
    HAS(o, "anomaly gap 0");
    HAS(o, "anomaly invalid_request_line 0"); /* "st: h": skipped up to the next request */
    HAS(o, "\"url\":\"/a\"");
    HAS(o, "\"url\":\"/b\"");
    CHECK_EQ_U64(count(o, "anomaly"), 2);
}

/* Bytes of no file: max_files 0 gives one anomaly per body. */
static void test_max_files(void)
{
    conf_reset();
    g_conf.http_max_files = 0;
    const char *o = CONV(keepalive);
    CHECK(o != NULL);
    HAS(o, "anomaly too_many_files 1");
    CHECK_EQ_U64(count(o, "fileinfo"), 0);
    CHECK_EQ_U64(count(o, "\"event_type\":\"http\""), 2);
}

/* ---- corpus: decoder + flow table + reassembler + parser ---- */

struct cflow {
    void *st;
    bool probed[2]; /* each direction's first bytes were probed */
};

struct cdrv {
    struct decoder *dec;
    struct flow_table *ft;
    struct reasm *ra;
};

static struct cdrv g_d;

static void c_deliver(void *ud, struct flow *f, int dir, const uint8_t *data, size_t len)
{
    (void)ud;
    struct cflow *c = f->app_state;
    if (c == NULL) {
        c = calloc(1, sizeof(*c));
        f->app_state = c;
    }
    /* Each direction's first bytes are probed (Suricata probes both): a junk
     * request with an HTTP response is still parsed, from the response on. */
    if (c->st == NULL && !c->probed[dir & 1]) {
        c->probed[dir & 1] = true;
        if (http_parser.probe(data, len, dir, f->key.sport, f->key.dport) == APP_PROBE_NO)
            return;
        c->st = http_parser.state_new(&g_conf);
    }
    if (c->st != NULL)
        http_parser.data(c->st, &g_t.s, dir, data, len);
}

static void c_gap(void *ud, struct flow *f, int dir, uint64_t len)
{
    (void)ud;
    struct cflow *c = f->app_state;
    if (c != NULL && c->st != NULL)
        http_parser.gap(c->st, &g_t.s, dir, len);
}

static void c_end(struct flow *f, enum flow_end_reason why, void *ud)
{
    (void)why;
    (void)ud;
    reasm_flow_end(g_d.ra, f);
    struct cflow *c = f->app_state;
    if (c == NULL)
        return;
    if (c->st != NULL) {
        http_parser.end(c->st, &g_t.s);
        http_parser.state_free(c->st);
    }
    free(c);
    f->app_state = NULL;
}

/* Runs a capture through the parser; the events are in g_t.out. -1: unreadable. */
static int corpus_run(const char *path)
{
    char err[PCAP_ERRBUF_SIZE];
    pcap_t *pc = pcap_open_offline(path, err);
    if (pc == NULL)
        return -1;
    sink_init();
    struct flow_conf fc;
    flow_conf_defaults(&fc);
    struct reasm_conf rc;
    reasm_conf_defaults(&rc);
    g_d.dec = decoder_new(NULL);
    g_d.ft = flow_table_new(&fc, c_end, NULL);
    g_d.ra = reasm_new(&rc, c_deliver, c_gap, NULL);
    int dlt = pcap_datalink(pc);
    struct pcap_pkthdr *h;
    const u_char *data;
    while (pcap_next_ex(pc, &h, &data) == 1) {
        struct pkt p;
        uint64_t ts = (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;
        if (decode_packet(g_d.dec, &p, dlt, data, h->caplen, h->len, ts) != DECODE_OK)
            continue;
        int dir;
        struct flow *f = flow_table_update(g_d.ft, &p, &dir);
        if (f != NULL && p.proto == 6)
            reasm_packet(g_d.ra, f, dir, &p);
    }
    pcap_close(pc);
    flow_table_flush(g_d.ft);
    flow_table_free(g_d.ft);
    reasm_free(g_d.ra);
    decoder_free(g_d.dec);
    return 0;
}

/* The JSON string value of key in line (minimal unescaping) into out; false when
 * absent. */
static bool jget(const char *line, const char *key, char *out, size_t cap)
{
    char pat[64];
    snprintf(pat, sizeof(pat), "\"%s\":", key);
    const char *p = strstr(line, pat);
    if (p == NULL)
        return false;
    p += strlen(pat);
    size_t o = 0;
    if (*p != '"') { /* a number */
        while (*p >= '0' && *p <= '9' && o + 1 < cap)
            out[o++] = *p++;
        out[o] = '\0';
        return true;
    }
    for (p++; *p != '\0' && *p != '"' && o + 1 < cap; p++) {
        if (*p == '\\' && p[1] == 'u') {
            unsigned v = 0;
            sscanf(p + 2, "%4x", &v);
            out[o++] = (char)v;
            p += 5;
        } else {
            if (*p == '\\')
                p++;
            out[o++] = *p;
        }
    }
    out[o] = '\0';
    return true;
}

struct ev {
    char line_key[8300]; /* method SP url */
    char host[300], ua[600], status[8];
    bool used;
};

static struct ev *g_evs;
static size_t g_nev;

static void collect_events(void)
{
    free(g_evs);
    g_nev = 0;
    g_evs = calloc(count(g_t.out, "\"event_type\":\"http\"") + 1, sizeof(*g_evs));
    for (char *l = g_t.out; l != NULL && *l != '\0';) {
        char *nl = strchr(l, '\n');
        if (nl != NULL)
            *nl = '\0';
        if (strstr(l, "\"event_type\":\"http\"") != NULL) {
            struct ev *e = &g_evs[g_nev++];
            char m[64] = "", u[8200] = "";
            jget(l, "http_method", m, sizeof(m));
            jget(l, "url", u, sizeof(u));
            snprintf(e->line_key, sizeof(e->line_key), "%s %s", m, u);
            jget(l, "hostname", e->host, sizeof(e->host));
            jget(l, "http_user_agent", e->ua, sizeof(e->ua));
            jget(l, "status", e->status, sizeof(e->status));
        }
        if (nl != NULL)
            *nl = '\n';
        l = nl != NULL ? nl + 1 : NULL;
    }
}

struct agree {
    size_t requests, found, host, ua, status, status_total;
};

/* tshark's host without port, lower case. */
static void norm_host(char *h)
{
    char *c = h[0] == '[' ? strchr(h, ']') : strrchr(h, ':');
    if (h[0] == '[' && c != NULL) {
        memmove(h, h + 1, (size_t)(c - h - 1));
        h[c - h - 1] = '\0';
    } else if (c != NULL && strchr(h, ':') == c) {
        *c = '\0';
    }
    for (char *p = h; *p; p++)
        *p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
    size_t n = strlen(h);
    while (n > 0 && h[n - 1] == '.')
        h[--n] = '\0';
}

/* Splits a tab-separated line into at most n fields (in place). */
static size_t split_tabs(char *l, char **f, size_t n)
{
    size_t k = 0;
    f[k++] = l;
    for (char *p = l; *p != '\0' && k < n; p++)
        if (*p == '\t') {
            *p = '\0';
            f[k++] = p + 1;
        }
    for (size_t i = k; i < n; i++)
        f[i] = (char *)"";
    return k;
}

/* status of each request frame, from tshark's response lines */
struct rsp {
    long req;
    char code[8];
};

static void compare_request(struct agree *a, char **f, const struct rsp *rs, size_t nrs)
{
    char key[8300], host[300];
    a->requests++;
    snprintf(key, sizeof(key), "%s %s", f[1], f[2]);
    snprintf(host, sizeof(host), "%s", f[3]);
    norm_host(host);
    struct ev *e = NULL;
    for (size_t i = 0; i < g_nev && e == NULL; i++)
        if (!g_evs[i].used && strcmp(g_evs[i].line_key, key) == 0)
            e = &g_evs[i];
    if (e == NULL) {
        if (getenv("HTTP_TEST_VERBOSE") != NULL)
            fprintf(stderr, "  missing: %s (host %s)\n", key, host);
        return;
    }
    e->used = true;
    a->found++;
    a->host += strcmp(e->host, host) == 0;
    a->ua += strcmp(e->ua, f[4]) == 0;
    long fr = atol(f[0]);
    for (size_t i = 0; i < nrs; i++)
        if (rs[i].req == fr) {
            a->status_total++;
            bool ok = strcmp(rs[i].code, e->status) == 0;
            a->status += ok;
            if (!ok && getenv("HTTP_TEST_VERBOSE") != NULL)
                fprintf(stderr, "  status %s, ours %s: %s\n", rs[i].code, e->status, key);
            break;
        }
}

/* Compares our events (collected) with tshark's dissection of path. */
static int tshark_compare(const char *path, struct agree *a)
{
    char cmd[2048];
    snprintf(
        cmd, sizeof(cmd),
        "tshark -n -r '%s' -Y 'tcp and (http.request or http.response)' -T fields -E separator=/t "
        "-e frame.number -e http.request.method -e http.request.uri -e http.host "
        "-e http.user_agent -e http.request_in -e http.response.code 2>/dev/null",
        path);
    FILE *fp = popen(cmd, "r");
    if (fp == NULL)
        return -1;
    static char line[65536];
    char **lines = NULL;
    size_t nl = 0;
    struct rsp *rs = NULL;
    size_t nrs = 0;
    while (fgets(line, sizeof(line), fp) != NULL) {
        line[strcspn(line, "\r\n")] = '\0';
        char **nlines = realloc(lines, (nl + 1) * sizeof(*lines));
        if (nlines == NULL)
            break;
        lines = nlines;
        lines[nl++] = strdup(line);
        char *f[7];
        char *tmp = strdup(line);
        split_tabs(tmp, f, 7);
        if (f[6][0] != '\0') {
            struct rsp *nrs_ = realloc(rs, (nrs + 1) * sizeof(*rs));
            if (nrs_ == NULL) {
                free(tmp);
                break;
            }
            rs = nrs_;
            rs[nrs].req = atol(f[5]);
            snprintf(rs[nrs].code, sizeof(rs[nrs].code), "%s", f[6]);
            nrs++;
        }
        free(tmp);
    }
    int st = pclose(fp);
    for (size_t i = 0; i < nl; i++) {
        char *f[7];
        split_tabs(lines[i], f, 7);
        /* several requests in one frame: tshark joins their fields with ',' - skip */
        if (f[1][0] != '\0' && strchr(f[1], ',') == NULL)
            compare_request(a, f, rs, nrs);
        free(lines[i]);
    }
    free(lines);
    free(rs);
    return st == 0 ? 0 : -1;
}

static bool have_tshark(void)
{
    return system("tshark -v >/dev/null 2>&1") == 0;
}

/* The corpus captures compared by default (HTTP_TEST_ALL=1: every capture labelled
 * http in MANIFEST.tsv). */
static const char *const corpus_files[] = {
    "ndpi/1kxun.pcap",
    "ndpi/WebattackRCE.pcap",
    "ndpi/WebattackSQLinj.pcap",
    "ndpi/exe_download.pcap",
    "ndpi/http.pcapng",
    "ndpi/http_connect.pcap",
    "ndpi/http_ipv6.pcap",
    "ndpi/log4j-webapp-exploit.pcap",
    "ndpi/ocsp.pcapng",
    "ndpi/soap.pcap",
    "ndpi/webdav.pcap",
    "ndpi/windowsupdate_over_http.pcap",
    "ndpi/xss.pcap",
    "ndpi/sql_injection.pcap",
    "other/corelight/bro-shellshock/exploit.pcap",
    "other/corelight/cve-2021-44228/log4j-attack.pcap",
    NULL,
};

static void corpus_one(const char *dir, const char *rel, struct agree *tot)
{
    char path[1024];
    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    conf_reset();
    if (corpus_run(path) != 0)
        return;
    collect_events();
    struct agree a = {0};
    if (tshark_compare(path, &a) != 0)
        return;
    if (getenv("HTTP_TEST_VERBOSE") != NULL || a.found < a.requests)
        fprintf(stderr, "  %s: tshark requests %zu, found %zu, host %zu, ua %zu, status %zu/%zu\n",
                rel, a.requests, a.found, a.host, a.ua, a.status, a.status_total);
    tot->requests += a.requests;
    tot->found += a.found;
    tot->host += a.host;
    tot->ua += a.ua;
    tot->status += a.status;
    tot->status_total += a.status_total;
}

/* Every capture labelled http in MANIFEST.tsv. */
static void corpus_manifest(const char *dir, struct agree *tot)
{
    char mpath[1024], line[4096];
    snprintf(mpath, sizeof(mpath), "%s/MANIFEST.tsv", dir);
    FILE *fp = fopen(mpath, "r");
    if (fp == NULL)
        return;
    while (fgets(line, sizeof(line), fp) != NULL) {
        char *tab = strchr(line, '\t');
        char *labels = strrchr(line, '\t');
        if (tab == NULL || labels == NULL || strstr(labels, "http") == NULL)
            continue;
        *tab = '\0';
        corpus_one(dir, line, tot);
    }
    fclose(fp);
}

/* ---- Suricata agreement: dump-all-headers, brotli, libhtp's evasion handling ---- */

/* dump_all_headers: every header line in order, a repeated name merged with ", "
 * (as libhtp); request only with "request", none by default. */
static void test_dump_headers(void)
{
    static const struct seg hd[] = {
        TS("GET /h HTTP/1.1\r\nHost: h.example\r\nX-A: 1\r\nx-a: 2\r\nAccept:\r\n\r\n"),
        TC("HTTP/1.1 200 OK\r\nServer: t\r\nContent-Length: 0\r\n\r\n"),
    };
    conf_reset();
    const char *o = CONV(hd);
    CHECK(o != NULL);
    CHECK(strstr(o, "request_headers") == NULL);
    g_conf.http_dump_all_headers = 3;
    o = CONV(hd);
    CHECK(o != NULL);
    HAS(o, "\"request_headers\":[{\"name\":\"Host\",\"value\":\"h.example\"},{\"name\":\"X-A\","
           "\"value\":\"1, 2\"},{\"name\":\"Accept\",\"value\":\"\"}],\"response_headers\":[{"
           "\"name\":\"Server\",\"value\":\"t\"},{\"name\":\"Content-Length\",\"value\":\"0\"}]");
    g_conf.http_dump_all_headers = 1;
    o = CONV(hd);
    CHECK(o != NULL);
    HAS(o, "\"request_headers\":[{\"name\":\"Host\"");
    CHECK(strstr(o, "response_headers") == NULL);
}

/* Content-Encoding: br is decoded (the file is the plain text), under the caps. */
static void test_brotli(void)
{
    static const char br[] = "\x1b\x4c\x01\xf8\x8d\xd4\x5e\xf3\x43\x90\xad\xd6\x8d\xc5\x7a\xf1"
                             "\xd6\x04\x02\x1b\x05\x62\x96\x86\x68\x32\x61\x0e\xa0\x42\x4a\xa6"
                             "\x68\xff\x69\xa8\x0b\x20\xb1\xa8\x79\x64\xcf\x9e\x1b";
    conf_reset();
    struct seg sg[3];
    coded_response(sg, "br", (const uint8_t *)br, sizeof(br) - 1, false);
    const char *o = conv(sg, 3);
    CHECK(o != NULL);
    HAS(o, "\"sha256\":\"4071f8235716ef631bbf32465d6447d4182537a1b7bfdb971c46f2a5cd15091a\"");
    HAS(o, "\"size\":333,");
    HAS(o, "\"state\":\"CLOSED\"");
    CHECK_EQ_U64(count(o, "anomaly"), 0);
    g_conf.http_decompress_cap = 100; /* the size cap holds for brotli too */
    o = conv(sg, 3);
    CHECK(o != NULL);
    HAS(o, "anomaly decompression_bomb 1");
    HAS(o, "\"size\":100,");
    coded_response(sg, "br", (const uint8_t *)"not brotli at all", 17, false);
    conf_reset();
    o = conv(sg, 3);
    CHECK(o != NULL);
    HAS(o, "anomaly bad_gzip 1");
    HAS(o, "\"state\":\"ERROR\"");
}

#define EICAR   "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
#define EICAR5  "\"md5\":\"44d88612fea8a8f36de82e1278abb02f\""
#define EV_REQ  TS("GET /x HTTP/1.1\r\nHost: e\r\n\r\n")
#define EV_HEAD "Content-disposition: attachment; filename=\"eicar.txt\""

/* The evasive response forms of the http-evader captures, read as libhtp reads them:
 * each must give the file eicar.txt with EICAR's md5, at every split. */
static void test_evasions(void)
{
    conf_reset();
    static const struct seg ff[] = { /* 022: form feed before a chunk size */
        EV_REQ, TC("HTTP/1.1 200 ok\r\n" EV_HEAD "\r\nTransfer-Encoding: chunked\r\n\r\n"
                   "\f44\r\n" EICAR "\r\n\f0\r\n\r\n")};
    static const struct seg tc[] = { /* 090: "chunked" over a plain body */
        EV_REQ, TC("HTTP/1.1 200 ok\r\n" EV_HEAD "\r\nConnection: close\r\n"
                   "Transfer-Encoding\t: chunked\r\n\r\n" EICAR)};
    static const struct seg ns[] = { /* 380: a status line without a status */
        EV_REQ, TC("HTTP/1.1\r\nTransfer-Encoding:chunked\r\n" EV_HEAD "\r\n\r\n"
                   "44\r\n" EICAR "\r\n0\r\n\r\n")};
    static const struct seg nul[] = { /* 391, 392: NUL in the version */
        EV_REQ, TC("HTTP/1\0.1 200 ok\r\n" EV_HEAD "\r\nContent-Length: 68\r\n\r\n" EICAR),
        EV_REQ, TC("HTTP/1.1\0 200 ok\r\n" EV_HEAD "\r\nContent-Length: 68\r\n\r\n" EICAR)};
    static const struct seg cr[] = { /* 399: CR-only header lines; 490: CRs before */
        EV_REQ, TC("\r\rHTTP/1.1 200 ok\r" EV_HEAD "\rConnection: close\rContent-length: 68"
                   "\r\n\n" EICAR)};
    static const struct seg lfcr[] = { /* 412: "\n\r\r\n" ends the headers */
        EV_REQ, TC("HTTP/1.1 200 ok\r\n" EV_HEAD "\r\nContent-length: 68\n\r\r\n" EICAR)};
    const struct {
        const struct seg *sg;
        size_t n;
    } cases[] = {{ff, 2}, {tc, 2}, {ns, 2}, {nul, 4}, {cr, 2}, {lfcr, 2}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *o = conv(cases[i].sg, cases[i].n);
        CHECK(o != NULL);
        if (o == NULL)
            continue;
        CHECK_EQ_U64(count(o, "\"filename\":\"eicar.txt\""), cases[i].n / 2);
        CHECK_EQ_U64(count(o, EICAR5), cases[i].n / 2);
    }
    const char *o = conv(tc, 2);
    CHECK(o != NULL);
    HAS(o, "anomaly bad_chunk 1");
    o = conv(ns, 2);
    CHECK(o != NULL);
    HAS(o, "anomaly invalid_status 1");
}

/* Lines after a Content-Length body and before the next status line are bytes of
 * that body (libhtp): "Hello World!\r\n" with Content-Length 12 is a 14-byte file. */
static void test_body_trailing_lines(void)
{
    conf_reset();
    static const struct seg tl[] = {
        TS("GET /1 HTTP/1.0\r\n\r\n"),
        TC("HTTP/1.0 200 OK\r\nContent-Length: 12\r\n\r\nHello World!\r\n"),
        TS("GET /2 HTTP/1.0\r\n\r\n"),
        TC("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nokjunk line\r\n"),
        TS("GET /3 HTTP/1.0\r\n\r\n"),
        TC("HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n"),
    };
    const char *o = CONV(tl);
    CHECK(o != NULL);
    HAS(o, "\"filename\":\"/1\",\"magic\"");
    HAS(o, "\"size\":14,");
    HAS(o, "\"size\":13,"); /* "ok" + "junk line\r\n" */
    HAS(o, "\"url\":\"/3\",\"http_method\":\"GET\",\"protocol\":\"HTTP/1.0\",\"status\":200");
    CHECK_EQ_U64(count(o, "\"event_type\":\"fileinfo\""), 2);
    CHECK_EQ_U64(count(o, "\"state\":\"CLOSED\""), 2);
}

/* Midstream: the flow's first sender is the server (its response comes first): the
 * directions swap, the transaction is written client to server (dir 1 of the flow). */
static void test_midstream(void)
{
    conf_reset();
    static const struct seg ms[] = {
        TS("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 2\r\n\r\nok"),
        TC("GET /next HTTP/1.1\r\nHost: m\r\n\r\n"),
        TS("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"),
    };
    const char *o = CONV(ms);
    CHECK(o != NULL);
    HAS(o, "{\"event_type\":\"http\",\"dir\":1,\"tx_id\":0,\"http\":{\"http_content_type\":"
           "\"text/html\",\"protocol\":\"HTTP/1.1\",\"status\":200,\"length\":2}}");
    HAS(o, "{\"event_type\":\"http\",\"dir\":1,\"tx_id\":1,\"http\":{\"hostname\":\"m\","
           "\"url\":\"/next\"");
    HAS(o, "\"status\":404");
    CHECK_EQ_U64(http_parser.probe((const uint8_t *)"HTTP/1.1 200", 12, APP_TOSERVER, 80, 5000),
                 APP_PROBE_YES);
}

/* A request line cut by the connection's end is read (HTTP/0.9 "GET /" then RST). */
static void test_cut_request_line(void)
{
    conf_reset();
    static const struct seg cut[] = {TS("GET /"), TC("<html>hi</html>")};
    const char *o = CONV(cut);
    CHECK(o != NULL);
    HAS(o, "\"http\":{\"url\":\"/\",\"http_method\":\"GET\",\"length\":0}");
}

/* request_body_limit: a request body's files stop there (TRUNCATED), as libhtp's
 * request-body-limit; the part's bytes before the limit are hashed. */
static void test_request_body_limit(void)
{
    conf_reset();
    g_conf.http_request_body_limit = 100;
    static const struct seg up[] = {
        TS("POST /up HTTP/1.1\r\nContent-Type: multipart/form-data; boundary=XyZ\r\n"
           "Content-Length: 150\r\n\r\n"
           "--XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.bin\"\r\n\r\n"
           "0123456789012345678901234567890123456789012345678901234567890123456789"
           "\r\n--XyZ--\r\n"),
        TC("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
    };
    const char *o = CONV(up);
    CHECK(o != NULL);
    /* 100 body bytes less the 69 before the part's content: 31 */
    HAS(o, "\"filename\":\"a.bin\"");
    HAS(o, "\"state\":\"TRUNCATED\"");
    HAS(o, "\"size\":31,");
    g_conf.http_request_body_limit = 0;
    o = CONV(up);
    CHECK(o != NULL);
    HAS(o, "\"size\":70,");
    HAS(o, "\"state\":\"CLOSED\"");
}

static void test_corpus_tshark(void)
{
    const char *dir = check_corpus_pcap_dir();
    if (dir == NULL)
        SKIP("corpus not found (OTASUKE_CORPUS)");
    if (!have_tshark())
        SKIP("tshark not installed");
    struct agree tot = {0};
    if (getenv("HTTP_TEST_ALL") != NULL)
        corpus_manifest(dir, &tot);
    else
        for (size_t i = 0; corpus_files[i] != NULL; i++)
            corpus_one(dir, corpus_files[i], &tot);
    fprintf(stderr,
            "corpus vs tshark: %zu requests, %zu found (%.1f%%), host %zu, user agent %zu, "
            "status %zu/%zu\n",
            tot.requests, tot.found,
            tot.requests ? 100.0 * (double)tot.found / (double)tot.requests : 0.0, tot.host, tot.ua,
            tot.status, tot.status_total);
    CHECK(tot.requests > 100);
    CHECK(tot.found * 100 >= tot.requests * 97);
    CHECK(tot.host * 100 >= tot.found * 98);
    CHECK(tot.ua * 100 >= tot.found * 98);
    CHECK(tot.status * 100 >= tot.status_total * 97);
    free(g_evs);
    g_evs = NULL;
}

static int dump(const char *path)
{
    conf_reset();
    files_magic_init();
    if (corpus_run(path) != 0)
        return 1;
    fputs(g_t.out, stdout);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--dump") == 0)
        return dump(argv[2]);
    files_magic_init();
    RUN(test_probe);
    RUN(test_keepalive);
    RUN(test_pipelining);
    RUN(test_chunked);
    RUN(test_eof_body);
    RUN(test_content_disposition);
    RUN(test_absolute_uri);
    RUN(test_multipart);
    RUN(test_tunnels);
    RUN(test_gzip);
    RUN(test_bad_gzip);
    RUN(test_bomb);
    RUN(test_limits);
    RUN(test_errors);
    RUN(test_gaps);
    RUN(test_max_files);
    RUN(test_dump_headers);
    RUN(test_brotli);
    RUN(test_evasions);
    RUN(test_body_trailing_lines);
    RUN(test_midstream);
    RUN(test_cut_request_line);
    RUN(test_request_body_limit);
    RUN(test_corpus_tshark);
    files_magic_free();
    free(g_t.out);
    jw_free(&g_t.w);
    return check_done();
}
