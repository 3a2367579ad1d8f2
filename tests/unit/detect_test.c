/*
 * Unit tests of the detections (sensor/detect): the JSON walker, aggregation and the
 * malfunction flag, TRW scan weighting, C&C bursts, land, HTTP exploit patterns,
 * dangerous files, the intel file parser, the signature table, and the policy
 * (prohibited applications, P2P devices, allow-lists) and beaconing.
 */
#include "check.h"
#include "detect_host.h"

#include "app/appid.h"
#include "app/files.h"
#include "detect/detect.h"
#include "detect/detect_int.h"
#include "detect/jscan.h"
#include "otasuke/err.h"
#include "otasuke/log.h"
#include "output/eve.h"
#include "sensor_conf.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SEC 1000000ull
#define T0  (1790000000ull * SEC)

static struct addr ip(const char *s)
{
    struct addr a;
    eve_addr_parse(s, &a);
    return a;
}

/* ---- jscan ----------------------------------------------------------------------- */

struct seen {
    char paths[512];
    char last[64];
};

static bool on_v(const struct jscan_val *v, void *ud)
{
    struct seen *s = ud;
    size_t n = strlen(s->paths);
    /* a path whose plen is wrong is listed with a '!' */
    snprintf(s->paths + n, sizeof(s->paths) - n, "%s%s;", v->path,
             strlen(v->path) == v->plen ? "" : "!");
    if (v->type == JSCAN_STR)
        snprintf(s->last, sizeof(s->last), "%s", v->s);
    return true;
}

static void test_jscan(void)
{
    struct seen s = {"", ""};
    const char *j = "{\"a\":1,\"dns\":{\"queries\":[{\"rrname\":\"x\\u00e9\\\"y\"}],\"t\":true},"
                    "\"n\":null}";
    CHECK(jscan(j, strlen(j), on_v, &s) == 0);
    CHECK_STR(s.paths, "a;dns.queries.rrname;dns.t;n;");
    CHECK_STR(s.last, "x\xc3\xa9\"y");
    static const char *const bad[] = {"{\"a\":", "{\"a\" 1}", "[1,]x", "{\"a\":\"\\q\"}",
                                      "{\"a\":\"\\u12\"}", "", "{\"a\":tru}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct seen t = {"", ""};
        CHECK(jscan(bad[i], strlen(bad[i]), on_v, &t) != 0 || strcmp(bad[i], "[1,]x") == 0);
    }
    char deep[64];
    memset(deep, '[', 40);
    deep[40] = '\0';
    struct seen t = {"", ""};
    CHECK(jscan(deep, 40, on_v, &t) == -1);
}

static bool stop_at_b(const struct jscan_val *v, void *ud)
{
    on_v(v, ud);
    return strcmp(v->path, "b.c") != 0;
}

/* A reader that returns false stops the walk: nothing after that value is read, not
 * even a malformed tail (the inventory stops at src_ip when no device sent the event). */
static void test_jscan_stop(void)
{
    struct seen s = {"", ""};
    const char *j = "{\"a\":1,\"b\":[{\"c\":\"x\"},{\"c\":\"y\"}],\"d\":\"z\",\"e\":tru";
    CHECK(jscan(j, strlen(j), stop_at_b, &s) == 0);
    CHECK_STR(s.paths, "a;b.c;");
    CHECK_STR(s.last, "x");
    struct seen t = {"", ""};
    CHECK(jscan(j, strlen(j), on_v, &t) == -1); /* read to the end: the tail is bad */
    CHECK_STR(t.paths, "a;b.c;b.c;d;");
}

/* jscan_want: members refused by the filter (with all they hold) reach no callback,
 * are checked all the same (a malformed or too deep skipped value, a key too long for
 * the path, still fail the walk), and the walk's result is the unfiltered one. */
static int want_bad_plen; /* calls of no_b with a wrong plen */

static bool no_b(const char *path, size_t plen, void *ud)
{
    (void)ud;
    want_bad_plen += strlen(path) != plen;
    return strcmp(path, "b") != 0 && strcmp(path, "d.skip") != 0;
}

static void test_jscan_want(void)
{
    struct seen s = {"", ""};
    const char *j = "{\"a\":1,\"b\":{\"x\":[\"q\\\"\\u00e9\",{\"y\":null}],\"z\":-1.5e3},"
                    "\"d\":{\"skip\":\"long plain text, eight bytes at a time\",\"keep\":\"k\"}}";
    CHECK(jscan_want(j, strlen(j), no_b, on_v, &s) == 0);
    CHECK_STR(s.paths, "a;d.keep;");
    CHECK_STR(s.last, "k");
    static const char *const bad[] = {"{\"b\":{\"x\":tru}}", "{\"b\":[1,]}", "{\"b\":\"\\q\"}",
                                      "{\"b\":\"\\u12\"}", "{\"b\":\"a\x01\"}", "{\"b\":{\"x\" 1}}",
                                      "{\"b\":[1", "{\"b\":{\"\\u0000\":1}}", "{\"b\":\"abcdefghij"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct seen t = {"", ""}, u = {"", ""};
        CHECK(jscan_want(bad[i], strlen(bad[i]), no_b, on_v, &t) == -1);
        CHECK(jscan(bad[i], strlen(bad[i]), on_v, &u) == -1);
        CHECK_STR(t.paths, "");
    }
    /* depth and path limits hold inside a skipped value as in a read one */
    char deep[80];
    snprintf(deep, sizeof(deep), "{\"b\":");
    memset(deep + 5, '[', 40);
    deep[45] = '\0';
    struct seen t = {"", ""};
    CHECK(jscan_want(deep, strlen(deep), no_b, on_v, &t) == -1);
    char lk[400]; /* keys of 60, 60 and 7 bytes under "b": a path of 131 bytes (> 127) */
    snprintf(lk, sizeof(lk), "{\"b\":{\"%060d\":{\"%060d\":{\"1234567\":1}}}}", 0, 0);
    CHECK(jscan(lk, strlen(lk), on_v, &t) == -1);
    CHECK(jscan_want(lk, strlen(lk), no_b, on_v, &t) == -1);
    snprintf(lk, sizeof(lk), "{\"b\":{\"%060d\":{\"%060d\":{\"123\":1}}}}", 0, 0);
    struct seen u = {"", ""};
    CHECK(jscan(lk, strlen(lk), on_v, &u) == 0); /* 127 bytes: fits */
    CHECK(jscan_want(lk, strlen(lk), no_b, on_v, &t) == 0);
    /* a string running up to the end of the buffer, with and without its quote */
    const char *tail = "{\"b\":\"0123456789abcdef\"}";
    CHECK(jscan_want(tail, strlen(tail), no_b, on_v, &t) == 0);
    CHECK(jscan_want(tail, strlen(tail) - 2, no_b, on_v, &t) == -1);
    CHECK(want_bad_plen == 0);
}

/* Strings are scanned eight bytes at a time: a quote, a backslash or a control byte at
 * every offset of a word is found, read and skipped alike. */
static void test_jscan_offsets(void)
{
    for (int k = 0; k < 24; k++) {
        char j[160], want[40];
        memset(want, 'a', (size_t)k);
        memcpy(want + k, "\\nbcdefgh", 10); /* the escape \n, then seven plain bytes */
        snprintf(j, sizeof(j), "{\"a\":\"%s\",\"b\":\"%s\"}", want, want);
        struct seen s = {"", ""};
        CHECK(jscan_want(j, strlen(j), no_b, on_v, &s) == 0);
        CHECK_STR(s.paths, "a;");
        CHECK(strlen(s.last) == (size_t)k + 8 && s.last[k] == '\n' && s.last[k + 1] == 'b');
        snprintf(j, sizeof(j), "{\"b\":\"%.*s\x01\"}", k, "aaaaaaaaaaaaaaaaaaaaaaaaaaaa");
        CHECK(jscan_want(j, strlen(j), no_b, on_v, &s) == -1);
        snprintf(j, sizeof(j), "{\"a\":\"%.*s\x1f\"}", k, "aaaaaaaaaaaaaaaaaaaaaaaaaaaa");
        CHECK(jscan(j, strlen(j), on_v, &s) == -1);
    }
}

/* ---- aggregation ----------------------------------------------------------------- */

static void raise_land(struct detect *d, const char *src, const char *dst, uint64_t ts)
{
    struct det_alert a;
    memset(&a, 0, sizeof(a));
    a.sig = SIG_LAND;
    a.ts = ts;
    a.src = ip(src);
    a.dst = ip(dst);
    a.proto = IPPROTO_TCP;
    a.ipver = 4;
    det_raise(d, &a);
}

static void test_aggregation(void)
{
    struct detect *d = mk();
    CHECK(d != NULL);
    for (int i = 0; i < 3; i++)
        raise_land(d, "192.168.1.5", "192.168.1.5", T0 + (uint64_t)i * SEC);
    raise_land(d, "192.168.1.6", "192.168.1.6", T0);
    detect_housekeep(d, T0 + 60 * SEC);
    CHECK_EQ_U64(ngot, 0); /* the window (5 min) is still open */
    detect_housekeep(d, T0 + 2 * SEC + conf.detect_agg_window);
    CHECK_EQ_U64(ngot, 2);
    CHECK_EQ_U64(count_with("\"count\":3,"), 1);
    CHECK_EQ_U64(count_with("\"count\":1,"), 1);
    CHECK_EQ_U64(count_with("\"signature_id\":2000201"), 2);
    CHECK_EQ_U64(count_with("\"direction\":\"internal\""), 2);
    CHECK_EQ_U64(count_with("\"confidence\":\"ip\""), 2);
    CHECK_EQ_U64(count_with("likely_malfunction\":true"), 0);
    /* a repeat after the window is a new alert */
    raise_land(d, "192.168.1.5", "192.168.1.5", T0 + 1000 * SEC);
    detect_flush(d);
    CHECK_EQ_U64(ngot, 3);
    detect_free(d);
}

/* The timestamps of the lines in got never go back (ISO 8601, the same length each). */
static bool got_sorted(void)
{
    for (int i = 1; i < ngot; i++) {
        const char *a = strstr(got[i - 1], "\"timestamp\":\""),
                   *b = strstr(got[i], "\"timestamp\":\"");
        if (a == NULL || b == NULL || strncmp(a, b, 45) > 0)
            return false;
    }
    return true;
}

/* Alerts due at once are written in the order they began, whatever the order they came
 * in: 40 sources raised out of time order (two at the same time), half of them due at
 * one housekeeping, the rest at the end. */
static void test_expire_order(void)
{
    struct detect *d = mk();
    CHECK(d != NULL);
    char src[32];
    for (int i = 0; i < 40; i++) {
        snprintf(src, sizeof(src), "192.168.2.%d", 10 + i);
        raise_land(d, src, src, T0 + (uint64_t)((i * 17) % 40) * SEC);
    }
    raise_land(d, "192.168.2.99", "192.168.2.99", T0 + 5 * SEC);
    detect_housekeep(d, T0 + 19 * SEC + conf.detect_agg_window);
    CHECK_EQ_U64(ngot, 21); /* begun in the first 20 s, and the one at the same time */
    CHECK(got_sorted());
    CHECK(strstr(got[0], "192.168.2.10\"") != NULL); /* i = 0: at T0 */
    detect_flush(d);
    CHECK_EQ_U64(ngot, 41);
    CHECK(got_sorted());
    detect_free(d);
}

static void test_flood(void)
{
    int64_t saved = conf.detect_flood;
    conf.detect_flood = 50;
    struct detect *d = mk();
    uint8_t mac[6] = {0x00, 0x11, 0x32, 0x9e, 0x4b, 0x21};
    struct addr a = ip("192.168.1.10");
    det_mac_put(d, &a, mac);
    for (int i = 0; i < 49; i++)
        raise_land(d, "192.168.1.10", "192.168.1.10", T0 + (uint64_t)i * 1000);
    raise_land(d, "192.168.1.11", "192.168.1.11", T0);
    for (int i = 0; i < 50; i++)
        raise_land(d, "192.168.1.11", "192.168.1.11", T0 + (uint64_t)i * 1000);
    detect_flush(d);
    CHECK_EQ_U64(ngot, 2);
    CHECK_EQ_U64(count_with("likely_malfunction\":true"), 1);
    CHECK_EQ_U64(count_with("\"mac\":\"00:11:32:9e:4b:21\""), 1);
    CHECK_EQ_U64(count_with("\"confidence\":\"mac\""), 1);
    CHECK_EQ_U64(count_with("機器の故障"), 1);
    detect_free(d);
    conf.detect_flood = saved;
}

static void test_pending_full(void)
{
    int64_t saved = conf.detect_max_pending;
    conf.detect_max_pending = 16;
    struct detect *d = mk();
    char s[32];
    for (int i = 0; i < 40; i++) {
        snprintf(s, sizeof(s), "10.0.0.%d", i + 1);
        raise_land(d, s, s, T0 + (uint64_t)i);
    }
    CHECK_EQ_U64(ngot, 24); /* the oldest written early */
    detect_flush(d);
    CHECK_EQ_U64(ngot, 40);
    detect_free(d);
    conf.detect_max_pending = saved;
}

/* ---- flows: scans, bursts, land ---------------------------------------------------- */

static struct flow mkflow(const char *src, const char *dst, uint16_t dport, uint8_t proto,
                          uint64_t ts, int answer)
{
    struct flow f;
    memset(&f, 0, sizeof(f));
    f.key.src = ip(src);
    f.key.dst = ip(dst);
    f.key.sport = 40000;
    f.key.dport = dport;
    f.key.proto = proto;
    f.ipver = 4;
    f.flow_id = ts;
    f.ts_start = f.ts_last = ts;
    f.pkts[0] = 1;
    if (proto == IPPROTO_TCP) {
        f.flags = FLOW_F_SYN_TS;
        f.tcp_flags[0] = TH_SYN;
        if (answer == 1) { /* a real connection with data */
            f.tcp_flags[0] |= TH_ACK | TH_PSH;
            f.tcp_flags[1] = TH_SYN | TH_ACK;
            f.pkts[0] = 5;
            f.pkts[1] = 4;
        } else if (answer == 2) { /* closed port: RST */
            f.tcp_flags[1] = TH_RST | TH_ACK;
            f.pkts[1] = 1;
        } else if (answer == 3) { /* half-open: SYN/ACK then the client's RST */
            f.tcp_flags[0] |= TH_RST;
            f.tcp_flags[1] = TH_SYN | TH_ACK;
            f.pkts[0] = 2;
            f.pkts[1] = 1;
        }
    } else if (answer) {
        f.pkts[1] = 1;
    }
    if (proto == IPPROTO_ICMP)
        f.icmp_type = 8;
    return f;
}

static void test_scan_inbound(void)
{
    struct detect *d = mk();
    /* the demo's probe: echo (answered), 3 closed ports, 3 half-open open ports */
    struct flow f = mkflow("203.0.113.45", "192.168.1.10", 0, IPPROTO_ICMP, T0, 1);
    detect_flow_end(d, &f);
    for (int i = 0; i < 6; i++) {
        f = mkflow("203.0.113.45", "192.168.1.10", (uint16_t)(20 + i), IPPROTO_TCP,
                   T0 + (uint64_t)i * SEC, i < 3 ? 2 : 3);
        detect_flow_end(d, &f);
    }
    detect_housekeep(d, T0 + 10 * SEC);
    CHECK_EQ_U64(ngot, 0); /* not idle yet */
    detect_flush(d);
    CHECK_EQ_U64(ngot, 1);
    CHECK_EQ_U64(count_with("\"signature_id\":2000001"), 1);
    CHECK_EQ_U64(count_with("\"direction\":\"inbound\""), 1);
    CHECK_EQ_U64(count_with("\"score\":5"), 1);
    CHECK_EQ_U64(count_with("\"device\":{\"ip\":\"192.168.1.10\""), 1);
    detect_free(d);
}

static void test_scan_trw_busy_server(void)
{
    struct detect *d = mk();
    /* an outside client of a busy server: 60 good connections, 8 failures to distinct
     * ports: TRW keeps it below the threshold (successes outweigh). */
    for (int i = 0; i < 60; i++) {
        struct flow f = mkflow("198.51.100.9", "192.168.1.10", (uint16_t)(1000 + i),
                               IPPROTO_TCP, T0 + (uint64_t)i * SEC, 1);
        detect_flow_end(d, &f);
        if (i % 7 == 0) {
            f = mkflow("198.51.100.9", "192.168.1.10", (uint16_t)(3000 + i), IPPROTO_TCP,
                       T0 + (uint64_t)i * SEC, 0);
            detect_flow_end(d, &f);
        }
    }
    detect_flush(d);
    CHECK_EQ_U64(ngot, 0);
    /* four failures then successes: the floor keeps history from hiding a later scan */
    for (int i = 0; i < 10; i++) {
        struct flow f = mkflow("198.51.100.10", "192.168.1.10", (uint16_t)(5000 + i),
                               IPPROTO_TCP, T0 + (uint64_t)i * SEC, 2);
        detect_flow_end(d, &f);
    }
    detect_flush(d);
    CHECK_EQ_U64(ngot, 1);
    detect_free(d);
}

static void test_scan_internal_min_targets(void)
{
    struct detect *d = mk();
    /* 9 failed targets from inside: below detect.scan.min_targets (10) */
    for (int i = 0; i < 9; i++) {
        struct flow f = mkflow("192.168.1.50", "192.168.1.60", (uint16_t)(100 + i), IPPROTO_TCP,
                               T0 + (uint64_t)i * SEC, 0);
        detect_flow_end(d, &f);
    }
    detect_flush(d);
    CHECK_EQ_U64(ngot, 0);
    /* a sweep of 30 hosts on one port */
    char s[32];
    for (int i = 0; i < 30; i++) {
        snprintf(s, sizeof(s), "192.168.2.%d", i + 1);
        struct flow f = mkflow("192.168.1.50", s, 445, IPPROTO_TCP, T0 + (uint64_t)i * SEC, 0);
        detect_flow_end(d, &f);
    }
    detect_flush(d);
    CHECK_EQ_U64(ngot, 1);
    CHECK_EQ_U64(count_with("\"signature_id\":2000002"), 1);
    CHECK_EQ_U64(count_with("\"direction\":\"internal\""), 1);
    detect_free(d);
}

static void test_scan_arp(void)
{
    struct detect *d = mk();
    /* a gateway asking for 40 hosts that all answer: not a sweep */
    char s[32];
    struct addr gw = ip("192.168.1.1"), t;
    for (int i = 0; i < 40; i++) {
        snprintf(s, sizeof(s), "192.168.1.%d", i + 10);
        t = ip(s);
        det_behav_arp(d, true, &gw, &t, T0 + (uint64_t)i * SEC);
        det_behav_arp(d, false, &t, &gw, T0 + (uint64_t)i * SEC + 500);
        det_behav_arp(d, false, &t, &gw, T0 + (uint64_t)i * SEC + 900); /* a repeat reply */
    }
    detect_flush(d);
    CHECK_EQ_U64(ngot, 0);
    /* nmap -sn on its LAN: 60 who-has (detect.scan.min_targets_arp is 32), 2 answered
     * (one of them twice) */
    struct addr sc = ip("192.168.1.77");
    for (int i = 0; i < 60; i++) {
        snprintf(s, sizeof(s), "192.168.1.%d", 100 + i);
        t = ip(s);
        det_behav_arp(d, true, &sc, &t, T0 + (uint64_t)i * 1000);
        det_behav_arp(d, true, &sc, &t, T0 + (uint64_t)i * 1000 + 10); /* retry: no weight */
        if (i < 2) {
            det_behav_arp(d, false, &t, &sc, T0 + (uint64_t)i * 1000 + 20);
            det_behav_arp(d, false, &t, &sc, T0 + (uint64_t)i * 1000 + 30);
        }
    }
    /* 20 unanswered who-has from another device: below min_targets_arp */
    struct addr r2 = ip("192.168.1.254");
    for (int i = 0; i < 20; i++) {
        snprintf(s, sizeof(s), "192.168.1.%d", 200 + i);
        t = ip(s);
        det_behav_arp(d, true, &r2, &t, T0 + (uint64_t)i * SEC);
    }
    /* a reply to someone who asked nothing is ignored */
    t = ip("192.168.1.200");
    det_behav_arp(d, false, &t, &gw, T0 + 50 * SEC);
    detect_flush(d);
    CHECK_EQ_U64(ngot, 1);
    CHECK_EQ_U64(count_with("\"signature_id\":2000002"), 1);
    CHECK_EQ_U64(count_with("\"proto\":\"ARP\",\"app_proto\":\"arp\""), 1);
    /* 60 targets in a 1024-bit map: linear counting may undercount by a collision or two */
    CHECK_EQ_U64(count_with("\"succeeded\":2,\"targets\":"), 1);
    CHECK_EQ_U64(count_with("\"attempts\":120,"), 1);
    CHECK_EQ_U64(count_with(",\"arp\":"), 1);
    CHECK_EQ_U64(count_with("\"src_ip\":\"192.168.1.77\""), 1);
    detect_free(d);
}

static struct pkt mkpkt(const char *src, const char *dst, uint16_t sport, uint16_t dport,
                        uint64_t ts)
{
    struct pkt p;
    memset(&p, 0, sizeof(p));
    p.ts_us = ts;
    p.src = ip(src);
    p.dst = ip(dst);
    p.sport = sport;
    p.dport = dport;
    p.proto = IPPROTO_TCP;
    p.ipver = 4;
    p.tcp_flags = TH_SYN;
    p.has_eth = true;
    static const uint8_t mac[6] = {0x8c, 0x16, 0x45, 0x77, 0x51, 0xa6};
    memcpy(p.eth_src, mac, 6);
    return p;
}

static void burst(struct detect *d, int n, uint64_t step)
{
    for (int i = 0; i < n; i++) {
        struct pkt p = mkpkt("192.168.1.104", "85.204.116.144", (uint16_t)(50000 + i), 447,
                             T0 + (uint64_t)i * step);
        struct flow f;
        memset(&f, 0, sizeof(f));
        f.flow_id = (uint64_t)i + 1;
        detect_flow_new(d, &f, &p, 0);
    }
}

static void test_burst(void)
{
    struct detect *d = mk();
    burst(d, 14, 1277000); /* the demo: 14 in 16.6 s */
    detect_flush(d);
    CHECK_EQ_U64(ngot, 1);
    CHECK_EQ_U64(count_with("\"evidence\":{\"connections\":14,\"seconds\":16.6,"
                            "\"dest\":\"85.204.116.144:447\"}"),
                 1);
    CHECK_EQ_U64(count_with("\"mac\":\"8c:16:45:77:51:a6\""), 1);
    CHECK_EQ_U64(count_with("\"direction\":\"outbound\""), 1);
    detect_free(d);
    d = mk();
    burst(d, 9, SEC); /* below min_connections */
    detect_flush(d);
    CHECK_EQ_U64(ngot, 0);
    detect_free(d);
    d = mk();
    burst(d, 20, 6 * SEC); /* gaps longer than detect.c2_burst.gap */
    detect_flush(d);
    CHECK_EQ_U64(count_with("\"signature_id\":2000101"), 0);
    CHECK_EQ_U64(count_with("\"signature_id\":2000102"), 1); /* regular: a beacon */
    detect_free(d);
}

/* ---- beaconing (beacon.c) ------------------------------------------------------------- */

/* n connections from .104 to 198.51.100.9:port, gaps from gap(i) */
static void beats(struct detect *d, int n, uint16_t port, const char *dst,
                  uint64_t (*gap)(int i))
{
    uint64_t t = T0;
    for (int i = 0; i < n; i++) {
        struct pkt p = mkpkt("192.168.1.104", dst, (uint16_t)(50000 + i), port, t);
        struct flow f;
        memset(&f, 0, sizeof(f));
        f.flow_id = (uint64_t)i + 1;
        detect_flow_new(d, &f, &p, 0);
        t += gap(i);
    }
}

static uint64_t gap_regular(int i)
{
    (void)i;
    return 60 * SEC;
}

static uint64_t gap_jitter(int i)
{
    static const int pct[] = {-15, 10, -5, 18, 0, -12, 7, -18, 14, 3, -9, 16};
    return (uint64_t)((int64_t)(60 * SEC) + (int64_t)(60 * SEC) / 100 * pct[i % 12]);
}

static uint64_t lcg = 12345;

static uint64_t gap_random(int i)
{
    (void)i;
    /* exponential gaps, mean 60 s, from a fixed LCG (the same every run) */
    lcg = lcg * 6364136223846793005ull + 1442695040888963407ull;
    double u = (double)((lcg >> 11) + 1) / 9007199254740993.0;
    double x = 0, term = 1, y = 1 - u; /* -ln(u) by series of ln(1 - y) */
    for (int k = 1; k < 200; k++) {
        term *= y;
        x += term / k;
    }
    return (uint64_t)(x * 60.0 * (double)SEC) + SEC;
}

static uint64_t gap_parallel(int i)
{
    return i % 2 == 0 ? 300000 : 60 * SEC - 300000; /* two connections per beat */
}

static void test_beacon_regular(void)
{
    uint64_t b[16], med;
    for (int i = 0; i < 10; i++)
        b[i] = (uint64_t)i * 30 * SEC;
    CHECK(det_beacon_regular(b, 10, 20, 2 * SEC, 3600 * SEC, &med));
    CHECK_EQ_U64(med, 30 * SEC);
    CHECK(!det_beacon_regular(b, 10, 20, 60 * SEC, 3600 * SEC, &med)); /* below the floor */
    b[5] += 20 * SEC; /* one late beat: 2 of 9 intervals off, still regular */
    CHECK(det_beacon_regular(b, 10, 20, 2 * SEC, 3600 * SEC, &med));
    b[2] += 25 * SEC; /* 4 of 9 off */
    CHECK(!det_beacon_regular(b, 10, 20, 2 * SEC, 3600 * SEC, &med));
}

static void test_beacon(void)
{
    struct detect *d = mk();
    beats(d, 12, 8443, "198.51.100.9", gap_regular);
    detect_flush(d);
    CHECK_EQ_U64(ngot, 1);
    CHECK_EQ_U64(count_with("\"signature_id\":2000102"), 1);
    CHECK_EQ_U64(count_with("\"count\":12,"), 1); /* 8 at detection, then every beat */
    CHECK_EQ_U64(count_with("\"period_seconds\":60.0"), 1);
    CHECK_EQ_U64(count_with("\"device\":{\"ip\":\"192.168.1.104\""), 1);
    detect_free(d);
    d = mk();
    beats(d, 12, 8443, "198.51.100.9", gap_jitter);
    detect_flush(d);
    CHECK_EQ_U64(count_with("\"signature_id\":2000102"), 1);
    detect_free(d);
    d = mk();
    beats(d, 24, 8443, "198.51.100.9", gap_parallel); /* 12 beats of 2 connections */
    detect_flush(d);
    CHECK_EQ_U64(count_with("\"signature_id\":2000102"), 1);
    detect_free(d);
    d = mk();
    beats(d, 40, 8443, "198.51.100.9", gap_random);
    detect_flush(d);
    CHECK_EQ_U64(count_with("\"signature_id\":2000102"), 0);
    detect_free(d);
    d = mk();
    beats(d, 12, 53, "198.51.100.9", gap_regular); /* a resolver */
    beats(d, 12, 445, "192.168.1.2", gap_regular); /* internal */
    beats(d, 7, 8443, "198.51.100.9", gap_regular); /* below min_connections */
    detect_flush(d);
    CHECK_EQ_U64(count_with("\"signature_id\":2000102"), 0);
    detect_free(d);
}

/* ---- policy (policy.c) ------------------------------------------------------------------ */

static void test_allow(void)
{
    snprintf(conf.detect_policy_allow, sizeof(conf.detect_policy_allow),
             "10.9.9.0/24, 203.0.113.45=recon+c2");
    struct detect *d = mk();
    CHECK(d != NULL);
    for (int i = 0; i < 6; i++) { /* the inbound scan of test_scan_inbound */
        struct flow f = mkflow("203.0.113.45", "192.168.1.10", (uint16_t)(20 + i), IPPROTO_TCP,
                               T0 + (uint64_t)i * SEC, 2);
        detect_flow_end(d, &f);
    }
    struct pkt p = mkpkt("203.0.113.45", "203.0.113.45", 139, 139, T0); /* land: not allowed */
    struct flow lf;
    memset(&lf, 0, sizeof(lf));
    detect_flow_new(d, &lf, &p, 0);
    detect_flush(d);
    CHECK_EQ_U64(count_with("\"signature_id\":2000001"), 0);
    CHECK_EQ_U64(count_with("\"signature_id\":2000201"), 1);
    struct jw w;
    CHECK(jw_init(&w, 4096, 65536) == 0);
    detect_stats(d, &w);
    CHECK(strstr(w.buf, "\"suppressed\":6,") != NULL);
    jw_free(&w);
    detect_free(d);
    snprintf(conf.detect_policy_allow, sizeof(conf.detect_policy_allow), "10.0.0.300");
    char err[256];
    struct detect_host h = {cap_write, NULL};
    CHECK(detect_new(&conf, &h, err, sizeof(err)) == NULL);
    CHECK(strstr(err, "detect.policy.allow") != NULL);
    conf.detect_policy_allow[0] = '\0';
}

static void p2p_flow(struct detect *d, struct flow *f, uint16_t app, uint16_t cat, uint64_t ts)
{
    f->app_proto_app = app;
    f->app_category = cat;
    detect_flow_app(d, f, ts);
}

static void test_prohibited(void)
{
    struct appid_conf ac;
    appid_conf_defaults(&ac);
    struct appid *a = appid_new(&ac);
    CHECK(a != NULL);
    if (a == NULL)
        return;
    snprintf(conf.detect_policy_prohibited, sizeof(conf.detect_policy_prohibited),
             "[TeamViewer, p2p]");
    struct detect *d = mk();
    detect_set_appid(d, a);
    /* three Gnutella flows of one device: one alert counting 3 */
    for (int i = 0; i < 3; i++) {
        struct flow f = mkflow("192.168.1.60", "198.51.100.20", (uint16_t)(6346 + i),
                               IPPROTO_TCP, T0 + (uint64_t)i * SEC, 1);
        p2p_flow(d, &f, 35 /* Gnutella */, 0, T0 + (uint64_t)i * SEC);
    }
    /* its peers mostly gone: 30 failed first contacts, not a scan */
    char s[32];
    for (int i = 0; i < 30; i++) {
        snprintf(s, sizeof(s), "198.51.100.%d", 100 + i);
        struct flow f = mkflow("192.168.1.60", s, (uint16_t)(10000 + i * 7), IPPROTO_TCP,
                               T0 + (uint64_t)(5 + i) * SEC, 0);
        detect_flow_end(d, &f);
    }
    /* an allowed application, and a verdict between two external parties */
    struct flow f = mkflow("192.168.1.61", "198.51.100.20", 443, IPPROTO_TCP, T0, 1);
    p2p_flow(d, &f, 7 /* HTTP */, 0, T0);
    f = mkflow("198.51.100.1", "198.51.100.20", 5938, IPPROTO_TCP, T0, 1);
    p2p_flow(d, &f, 148 /* TeamViewer */, 0, T0);
    f = mkflow("192.168.1.62", "198.51.100.20", 5938, IPPROTO_TCP, T0, 1);
    p2p_flow(d, &f, 148, 0, T0);
    detect_flush(d);
    CHECK_EQ_U64(ngot, 2);
    CHECK_EQ_U64(count_with("\"signature_id\":2000501,\"signature\":\"Application forbidden by "
                            "the company's policy (Gnutella)\""),
                 1);
    CHECK_EQ_U64(count_with("\"count\":3,"), 1);
    CHECK_EQ_U64(count_with("\"policy\":\"p2p\""), 1);
    CHECK_EQ_U64(count_with("(TeamViewer)"), 1);
    CHECK_EQ_U64(count_with("\"signature_id\":2000001"), 0);
    CHECK_EQ_U64(count_with("\"signature_id\":2000002"), 0);
    detect_free(d);
    /* no policy: P2P raises nothing, and still no scan */
    conf.detect_policy_prohibited[0] = '\0';
    d = mk();
    detect_set_appid(d, a);
    f = mkflow("192.168.1.60", "198.51.100.20", 6346, IPPROTO_TCP, T0, 1);
    p2p_flow(d, &f, 35, 0, T0);
    for (int i = 0; i < 30; i++) {
        snprintf(s, sizeof(s), "198.51.100.%d", 100 + i);
        struct flow g = mkflow("192.168.1.60", s, 445, IPPROTO_TCP, T0 + (uint64_t)i * SEC, 0);
        detect_flow_end(d, &g);
    }
    detect_flush(d);
    CHECK_EQ_U64(ngot, 0);
    /* the same sweep from a device that never spoke P2P is one */
    for (int i = 0; i < 30; i++) {
        snprintf(s, sizeof(s), "198.51.100.%d", 100 + i);
        struct flow g = mkflow("192.168.1.63", s, 445, IPPROTO_TCP, T0 + (uint64_t)i * SEC, 0);
        detect_flow_end(d, &g);
    }
    detect_flush(d);
    CHECK_EQ_U64(count_with("\"signature_id\":2000002"), 1);
    detect_free(d);
    appid_free(a);
}

static void test_land(void)
{
    struct detect *d = mk();
    struct pkt p = mkpkt("192.168.1.30", "192.168.1.30", 139, 139, T0);
    struct flow f;
    memset(&f, 0, sizeof(f));
    detect_flow_new(d, &f, &p, 0);
    p = mkpkt("192.168.1.30", "192.168.1.31", 139, 139, T0);
    detect_flow_new(d, &f, &p, 0);
    p = mkpkt("192.168.1.32", "192.168.1.32", 43090, 8000, T0); /* to itself, another port */
    detect_flow_new(d, &f, &p, 0);
    detect_flush(d);
    CHECK_EQ_U64(ngot, 1);
    CHECK_EQ_U64(count_with("\"category\":\"intrusion\""), 1);
    detect_free(d);
}

/* ---- events ------------------------------------------------------------------------- */

static void ev(struct detect *d, const char *json)
{
    detect_event(d, json, strlen(json), T0);
}

static void test_http_exploits(void)
{
    struct detect *d = mk();
    ev(d, "{\"timestamp\":\"x\",\"flow_id\":7,\"event_type\":\"http\",\"src_ip\":\"203.0.113.9\","
          "\"src_port\":5555,\"dest_ip\":\"192.168.1.10\",\"dest_port\":80,\"proto\":\"TCP\","
          "\"http\":{\"hostname\":\"nas\",\"url\":\"/cgi-bin/%2e%2e/%2e%2e/etc/passwd\"}}");
    ev(d, "{\"timestamp\":\"x\",\"flow_id\":8,\"event_type\":\"http\",\"src_ip\":\"203.0.113.9\","
          "\"src_port\":5556,\"dest_ip\":\"192.168.1.10\",\"dest_port\":80,\"proto\":\"TCP\","
          "\"http\":{\"hostname\":\"nas\",\"url\":\"/\",\"http_user_agent\":\"${jndi:ldap://x/a}\"}}");
    ev(d, "{\"timestamp\":\"x\",\"flow_id\":9,\"event_type\":\"http\",\"src_ip\":\"203.0.113.9\","
          "\"src_port\":5557,\"dest_ip\":\"192.168.1.10\",\"dest_port\":80,\"proto\":\"TCP\","
          "\"http\":{\"hostname\":\"nas\",\"url\":\"/index.html?q=a+b\"}}");
    ev(d, "{\"timestamp\":\"x\",\"event_type\":\"http\",\"src_ip\":\"broken");
    detect_flush(d);
    CHECK_EQ_U64(ngot, 2);
    CHECK_EQ_U64(count_with("\"signature_id\":2000301"), 1);
    CHECK_EQ_U64(count_with("\"signature_id\":2000303"), 1);
    CHECK_EQ_U64(count_with("\"direction\":\"inbound\""), 2);
    detect_free(d);
}

/* ---- spam (spam.c) ---------------------------------------------------------------- */

static void smtp_ev(struct detect *d, int flow, const char *src, const char *mail_from,
                    const char *from, int nrcpt, const char *att, uint64_t ts)
{
    char j[2048], rc[1024] = "";
    size_t o = 0;
    for (int i = 0; i < nrcpt && o + 32 < sizeof(rc); i++)
        o += (size_t)snprintf(rc + o, sizeof(rc) - o, "%s\"<u%d@corp.example>\"", i ? "," : "", i);
    snprintf(j, sizeof(j),
             "{\"flow_id\":%d,\"event_type\":\"smtp\",\"src_ip\":\"%s\",\"src_port\":40000,"
             "\"dest_ip\":\"192.168.1.25\",\"dest_port\":25,\"proto\":\"TCP\",\"app_proto\":"
             "\"smtp\",\"smtp\":{\"helo\":\"x\",\"mail_from\":\"%s\",\"rcpt_to\":[%s]},"
             "\"email\":{\"status\":\"PARSE_DONE\",\"from\":\"%s\"%s%s%s}}",
             flow, src, mail_from, rc, from, att ? ",\"attachment\":[\"" : "", att ? att : "",
             att ? "\"]" : "");
    detect_event(d, j, strlen(j), ts);
}

static void test_spam(void)
{
    struct detect *d = mk();
    /* envelope and header domains agree (subdomain): nothing */
    smtp_ev(d, 1, "203.0.113.5", "<bounce@mail.shop.example>", "Shop <news@shop.example>", 1,
            NULL, T0);
    /* envelope differs from header From */
    smtp_ev(d, 2, "203.0.113.6", "<x@bulk-sender.example>",
            "\\\"Bank\\\" <support@bank.example>", 1, NULL, T0);
    /* display name carries another domain's address */
    smtp_ev(d, 3, "203.0.113.7", "<ceo@evil.example>",
            "\\\"ceo@corp.example\\\" <ceo@evil.example>", 1, NULL, T0);
    /* dangerous attachment, inbound */
    smtp_ev(d, 4, "203.0.113.8", "<a@b.example>", "a <a@b.example>", 1, "invoice.pdf.exe", T0);
    smtp_ev(d, 5, "203.0.113.8", "<a@b.example>", "a <a@b.example>", 1, "invoice.pdf", T0);
    /* outbound mail is not judged for mismatch or attachments */
    smtp_ev(d, 6, "192.168.1.40", "<x@corp.example>", "y <y@other.example>", 1, "a.exe", T0);
    detect_flush(d);
    CHECK_EQ_U64(count_with("\"signature_id\":2000701"), 1);
    CHECK_EQ_U64(count_with("\"signature_id\":2000702"), 1);
    CHECK_EQ_U64(count_with("\"signature_id\":2000704"), 1);
    CHECK_EQ_U64(count_with("\"signature_id\":2000703"), 0);
    CHECK_EQ_U64(count_with("\"envelope_domain\":\"bulk-sender.example\""), 1);
    CHECK_EQ_U64(count_with("\"display_domain\":\"corp.example\""), 1);
    CHECK_EQ_U64(count_with("\"attachment\":\"invoice.pdf.exe\""), 1);
    CHECK_EQ_U64(count_with("\"category\":\"spam\""), 3);
    CHECK_EQ_U64(ngot, 3);
    detect_free(d);

    /* bulk: 49 messages in the window do not make bulk mail, the 50th does (once) */
    d = mk();
    for (int i = 0; i < 49; i++)
        smtp_ev(d, 100 + i, "192.168.1.40", "<x@corp.example>", "x <x@corp.example>", 1, NULL,
                T0 + (uint64_t)i * SEC);
    detect_flush(d);
    CHECK_EQ_U64(count_with("\"signature_id\":2000703"), 0);
    for (int i = 49; i < 80; i++)
        smtp_ev(d, 100 + i, "192.168.1.40", "<x@corp.example>", "x <x@corp.example>", 1, NULL,
                T0 + (uint64_t)i * SEC);
    detect_flush(d);
    CHECK_EQ_U64(count_with("\"signature_id\":2000703"), 1);
    CHECK_EQ_U64(count_with("\"messages\":50"), 1);
    detect_free(d);
    /* bulk by recipients: 3 messages of 40 recipients; spread over more than the window:
     * no alert */
    d = mk();
    for (int i = 0; i < 3; i++)
        smtp_ev(d, 200 + i, "203.0.113.9", "<m@list.example>", "m <m@list.example>", 40, NULL,
                T0 + (uint64_t)i * SEC);
    smtp_ev(d, 300, "203.0.113.10", "<m@l2.example>", "m <m@l2.example>", 60, NULL, T0);
    smtp_ev(d, 301, "203.0.113.10", "<m@l2.example>", "m <m@l2.example>", 60, NULL,
            T0 + 700 * SEC);
    detect_flush(d);
    CHECK_EQ_U64(count_with("\"signature_id\":2000703"), 1);
    CHECK_EQ_U64(count_with("\"recipients\":120"), 1);
    CHECK_EQ_U64(count_with("\"direction\":\"inbound\""), 1);
    detect_free(d);
}

static void test_files(void)
{
    struct detect *d = mk();
    static const char *const names[] = {"invoice.pdf.exe", "report.pdf", "setup.exe",
                                        "photo.jpg"};
    static const char *const magic[] = {"PE32 executable", "PDF document", "PE32 executable",
                                        "PE32 executable (GUI)"};
    for (int i = 0; i < 4; i++) {
        char j[1024];
        snprintf(j, sizeof(j),
                 "{\"flow_id\":%d,\"event_type\":\"fileinfo\",\"src_ip\":\"198.51.100.25\","
                 "\"src_port\":1,\"dest_ip\":\"192.168.1.11\",\"dest_port\":25,\"proto\":\"TCP\","
                 "\"fileinfo\":{\"filename\":\"%s\",\"magic\":\"%s\",\"sha256\":\"%064d\"}}",
                 i + 1, names[i], magic[i], i);
        ev(d, j);
    }
    /* a zip whose first member is an executable, as its first bytes */
    struct app_file f;
    memset(&f, 0, sizeof(f));
    static const uint8_t zip[] = "PK\003\004\024\000\000\000\000\000\000\000\000\000\000\000\000\000"
                                 "\004\000\000\000\004\000\000\000\020\000\000\000PAYMENT SLIP.exeMZxx";
    memcpy(f.head, zip, sizeof(zip) - 1);
    f.head_len = sizeof(zip) - 1;
    memset(f.sha256_digest, 0x11, 32);
    detect_file(d, &f, T0);
    ev(d, "{\"flow_id\":9,\"event_type\":\"fileinfo\",\"src_ip\":\"198.51.100.25\","
          "\"src_port\":1,\"dest_ip\":\"192.168.1.11\",\"dest_port\":25,\"proto\":\"TCP\","
          "\"fileinfo\":{\"filename\":\"PAYMENT SLIP.zip\",\"magic\":\"Zip archive data\","
          "\"sha256\":\"1111111111111111111111111111111111111111111111111111111111111111\"}}");
    detect_flush(d);
    CHECK_EQ_U64(count_with("\"signature_id\":2000402"), 1); /* double extension */
    CHECK_EQ_U64(count_with("\"signature_id\":2000404"), 1); /* setup.exe */
    CHECK_EQ_U64(count_with("\"signature_id\":2000403"), 1); /* photo.jpg is a PE */
    CHECK_EQ_U64(count_with("\"signature_id\":2000401"), 1);
    CHECK_EQ_U64(count_with("\"member\":\"PAYMENT SLIP.exe\""), 1);
    CHECK_EQ_U64(ngot, 4);
    detect_free(d);
}

/* ---- intel file ------------------------------------------------------------------- */

static int parse(const char *text, char *err, size_t errlen)
{
    struct intel_conf c;
    int rc = intel_conf_parse("t.yaml", text, strlen(text), "base", &c, err, errlen);
    if (rc == 0 && c.n == 1)
        rc = strcmp(c.lists[0].path, "base/l.txt") == 0 ? 0 : -99;
    intel_conf_free(&c);
    return rc;
}

static void test_intel_conf(void)
{
    char err[256];
    CHECK(parse("intel:\n  - name: a\n    path: l.txt\n    category: c2\n    severity: 1\n", err,
                sizeof(err)) == 0);
    CHECK(parse("- {name: a, path: l.txt, category: malware, format: csv, column: 2}\n", err,
                sizeof(err)) == 0);
    CHECK(parse("intel:\n  - name: a\n    path: l.txt\n    category: c2\n    severity: 9\n", err,
                sizeof(err)) == ERR_INVAL);
    CHECK(strstr(err, "t.yaml:5:") != NULL);
    CHECK(parse("intel:\n  - name: a\n    path: l.txt\n    category: nonsense\n", err,
                sizeof(err)) == ERR_INVAL);
    CHECK(strstr(err, "t.yaml:4: category") != NULL);
    CHECK(parse("intel:\n  - name: a\n    category: c2\n", err, sizeof(err)) == ERR_INVAL);
    CHECK(strstr(err, "needs name, path") != NULL);
    CHECK(parse("intel:\n  - &x {name: a}\n  - *x\n", err, sizeof(err)) == ERR_INVAL);
    CHECK(parse("intel:\n  - name: a\n    path: l\n    category: c2\n    format: bogus\n", err,
                sizeof(err)) == ERR_INVAL);
    CHECK(parse("other: 1\n", err, sizeof(err)) == ERR_INVAL);
    CHECK(parse("intel: [\n", err, sizeof(err)) == ERR_INVAL);
    /* url / max_bytes: for `otasuke intel update`. */
    struct intel_conf c;
    const char *t = "- {name: a, path: l.txt, category: c2, url: \"https://h.example/l.txt\", "
                    "max_bytes: 1000}\n";
    CHECK(intel_conf_parse("t.yaml", t, strlen(t), "base", &c, err, sizeof(err)) == 0);
    CHECK(c.n == 1 && c.lists[0].url != NULL &&
          strcmp(c.lists[0].url, "https://h.example/l.txt") == 0);
    CHECK_EQ_U64(c.lists[0].max_bytes, 1000);
    intel_conf_free(&c);
    /* ca_file: relative to the file's folder, like path. */
    t = "- {name: a, path: l.txt, category: spam, url: \"https://h/l\", ca_file: ca.pem}\n";
    CHECK(intel_conf_parse("t.yaml", t, strlen(t), "base", &c, err, sizeof(err)) == 0);
    CHECK(c.n == 1 && c.lists[0].ca_file != NULL && strcmp(c.lists[0].ca_file, "base/ca.pem") == 0);
    intel_conf_free(&c);
    /* Every category lib/intel accepts has a signature in the sensor, and no other. */
    static const char *const cats[] = {"c2",       "malware",        "malicious_site", "phishing",
                                       "piracy",   "ransomware",     "spam",
                                       "url_category", "recon",      "scanner",
                                       "intrusion", "prohibited_app", "anomaly",
                                       "nonsense", "", "C2"};
    for (size_t i = 0; i < sizeof(cats) / sizeof(cats[0]); i++)
        CHECK(intel_category_known(cats[i]) == (det_sig_for_intel_category(cats[i]) >= 0));
    CHECK(parse("- {name: a, path: l.txt, category: c2, url: ftp://h/l}\n", err, sizeof(err)) ==
          ERR_INVAL);
    CHECK(strstr(err, "t.yaml:1: url") != NULL);
    CHECK(parse("- {name: a, path: l.txt, category: c2, max_bytes: 0}\n", err, sizeof(err)) ==
          ERR_INVAL);
    CHECK(parse("- {name: a, path: l.txt, category: c2, max_bytes: 9999999999}\n", err,
                sizeof(err)) == ERR_INVAL);
}

/* Polls until the reload thread has finished a load: its detect_reload_poll result
 * (1 installed, < 0 failed). Waits for the thread, not a time limit. */
static int wait_reload(struct detect *d, char *err, size_t errlen)
{
    int rr = 0;
    for (int i = 0; i < 2000 && rr == 0; i++) {
        rr = detect_reload_poll(d, err, errlen);
        if (rr == 0)
            usleep(5000);
    }
    return rr;
}

static void test_intel_match(void)
{
    char path[] = "/tmp/detect_test_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    char yaml[600];
    FILE *fp = fdopen(fd, "w");
    fprintf(fp, "85.204.116.144:447\nbad.example\n");
    fclose(fp);
    char ypath[] = "/tmp/detect_test_yaml_XXXXXX";
    fd = mkstemp(ypath);
    snprintf(yaml, sizeof(yaml),
             "intel:\n  - name: trick\n    path: %s\n    format: maltrail\n    category: c2\n"
             "    severity: 1\n",
             path);
    fp = fdopen(fd, "w");
    fputs(yaml, fp);
    fclose(fp);
    snprintf(conf.detect_intel_file, sizeof(conf.detect_intel_file), "%s", ypath);
    struct detect *d = mk();
    CHECK(d != NULL);
    struct pkt p = mkpkt("192.168.1.104", "85.204.116.144", 50000, 447, T0);
    struct flow f;
    memset(&f, 0, sizeof(f));
    detect_flow_new(d, &f, &p, 0);
    p.dport = 80; /* only ip:port is listed */
    detect_flow_new(d, &f, &p, 0);
    ev(d, "{\"flow_id\":3,\"event_type\":\"dns\",\"src_ip\":\"192.168.1.107\",\"src_port\":5,"
          "\"dest_ip\":\"192.168.1.1\",\"dest_port\":53,\"proto\":\"UDP\",\"dns\":{\"type\":"
          "\"request\",\"queries\":[{\"rrname\":\"www.BAD.example\"}]}}");
    CHECK(detect_reload(d, yaml, sizeof(yaml)) == 0);
    /* that load finishes (same lists) before the file changes below: else the poll
     * after the second reload could install this one */
    CHECK(wait_reload(d, yaml, sizeof(yaml)) == 1);
    detect_flush(d);
    CHECK_EQ_U64(ngot, 2);
    CHECK_EQ_U64(count_with("\"signature\":\"Known C&C server contacted (trick)\""), 2);
    CHECK_EQ_U64(count_with("\"type\":\"endpoint\""), 1);
    CHECK_EQ_U64(count_with("\"match\":\"dns.rrname\""), 1);
    CHECK_EQ_U64(count_with("\"direction\":\"outbound\""), 2);

    /* The reload thread: a new list is built beside the packet thread and swapped in
     * by detect_reload_poll; a broken list is a counted failure and the set stays. */
    fp = fopen(path, "w");
    fprintf(fp, "85.204.116.144:447\nnew.example\n");
    fclose(fp);
    CHECK(detect_reload(d, yaml, sizeof(yaml)) == 0);
    CHECK(wait_reload(d, yaml, sizeof(yaml)) == 1);
    int before = ngot;
    ev(d, "{\"flow_id\":4,\"event_type\":\"dns\",\"src_ip\":\"192.168.1.108\",\"src_port\":5,"
          "\"dest_ip\":\"192.168.1.1\",\"dest_port\":53,\"proto\":\"UDP\",\"dns\":{\"type\":"
          "\"request\",\"queries\":[{\"rrname\":\"new.example\"}]}}");
    detect_flush(d);
    CHECK_EQ_U64(ngot - before, 1);
    fp = fopen(ypath, "w");
    fputs("intel:\n  - name: trick\n    path: /nonexistent/otasuke-list\n", fp);
    fclose(fp);
    CHECK(detect_reload(d, yaml, sizeof(yaml)) == 0);
    CHECK(wait_reload(d, yaml, sizeof(yaml)) == ERR_INVAL);
    CHECK_EQ_U64(d->reload_fails, 1);
    CHECK_EQ_U64(d->reloads, 2); /* the two good loads above */
    before = ngot;
    ev(d, "{\"flow_id\":5,\"event_type\":\"dns\",\"src_ip\":\"192.168.1.109\",\"src_port\":5,"
          "\"dest_ip\":\"192.168.1.1\",\"dest_port\":53,\"proto\":\"UDP\",\"dns\":{\"type\":"
          "\"request\",\"queries\":[{\"rrname\":\"new.example\"}]}}");
    detect_flush(d);
    CHECK_EQ_U64(ngot - before, 1); /* the previous set stayed */
    detect_free(d);
    conf.detect_intel_file[0] = '\0';
    unlink(path);
    unlink(ypath);
}

static void test_sigs(void)
{
    for (int i = 0; i < SIG_COUNT; i++) {
        const struct det_sig_info *a = det_sig((enum det_sig)i);
        CHECK(a != NULL && a->id != 0 && a->en != NULL && a->ja != NULL);
        for (int j = i + 1; j < SIG_COUNT; j++)
            CHECK(a->id != det_sig((enum det_sig)j)->id);
        const char *ja, *en;
        for (int dir = 0; dir < DET_DIR_COUNT; dir++) {
            det_action(a->category, (enum det_dir)dir, &ja, &en);
            CHECK(ja != NULL && en != NULL && strlen(ja) > 20 && strlen(en) > 20);
        }
    }
}

int main(void)
{
    log_set_level(LOG_ERROR);
    conf_defaults(sensor_conf_table, &conf);
    RUN(test_jscan);
    RUN(test_jscan_stop);
    RUN(test_jscan_want);
    RUN(test_jscan_offsets);
    RUN(test_aggregation);
    RUN(test_expire_order);
    RUN(test_flood);
    RUN(test_pending_full);
    RUN(test_scan_inbound);
    RUN(test_scan_trw_busy_server);
    RUN(test_scan_internal_min_targets);
    RUN(test_scan_arp);
    RUN(test_burst);
    RUN(test_beacon_regular);
    RUN(test_beacon);
    RUN(test_allow);
    RUN(test_prohibited);
    RUN(test_land);
    RUN(test_http_exploits);
    RUN(test_files);
    RUN(test_spam);
    RUN(test_intel_conf);
    RUN(test_intel_match);
    RUN(test_sigs);
    return check_done();
}
