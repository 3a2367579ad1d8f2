/* Application-layer dispatch: the parser chosen for a TCP stream by its first bytes
 * (split anywhere, in either direction first), feeding, gaps, memory refusal, and the
 * sink's events -- driven with DNS over TCP, a real parser of the registry. */
#include "app/dispatch.h"
#include "app/dns.h"
#include "otasuke/alloc.h"
#include "otasuke/jw.h"
#include "sensor_conf.h"

#include "../app_test.h"
#include "../check.h"

#include <netinet/in.h>

static struct sensor_conf conf;
static struct jw w;
static char events[65536];
static size_t events_len;
static int n_events;

static void host_write(void *ud, uint64_t ts)
{
    (void)ud;
    (void)ts;
    if (events_len + w.len + 2 < sizeof(events)) {
        memcpy(events + events_len, w.buf, w.len);
        events_len += w.len;
        events[events_len++] = '\n';
        events[events_len] = '\0';
    }
    n_events++;
}

static bool host_sample(void *ud, uint64_t n, uint64_t *suppressed)
{
    (void)ud;
    (void)n;
    (void)suppressed;
    return true;
}

static size_t count_of(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay ? strstr(hay, needle) : NULL; p != NULL; p = strstr(p + 1, needle))
        n++;
    return n;
}

static struct applayer *setup(void)
{
    events_len = 0;
    events[0] = '\0';
    n_events = 0;
    struct applayer_host h = {&w, NULL, host_write, host_sample, NULL, NULL};
    return applayer_new(&conf, &h);
}

static void tcp_flow(struct flow *f, uint16_t dport)
{
    memset(f, 0, sizeof(*f));
    f->key.proto = IPPROTO_TCP;
    f->key.sport = 40000;
    f->key.dport = dport;
    f->key.src.b[10] = f->key.src.b[11] = 0xff; /* ::ffff:10.0.0.1 -> 10.0.0.2 */
    f->key.dst.b[10] = f->key.dst.b[11] = 0xff;
    f->key.src.b[12] = f->key.dst.b[12] = 10;
    f->key.src.b[15] = 1;
    f->key.dst.b[15] = 2;
    f->ipver = 4;
    f->flow_id = 77;
}

/* A query for example.com A, and its response with one answer, each with the TCP
 * length prefix. */
static const uint8_t query[] = {0,    29,   0x12, 0x34, 0x01, 0x00, 0,   1,   0,   0,   0,
                                0,    0,    0,    7,    'e',  'x',  'a', 'm', 'p', 'l', 'e',
                                3,    'c',  'o',  'm',  0,    0,    1,   0,   1};
static const uint8_t response[] = {
    0,   45,  0x12, 0x34, 0x81, 0x80, 0, 1,   0,    1,    0,    0,    0,    0,   7,   'e',
    'x', 'a', 'm',  'p',  'l',  'e',  3, 'c', 'o',  'm',  0,    0,    1,    0,   1,   0xc0,
    12,  0,   1,    0,    1,    0,    0, 0x0e, 0x10, 0,    4,    93,   184,  216, 34};

/* Runs query (to server) then response (to client), each cut at its offsets cut_q /
 * cut_r (0 = whole), and returns the events written. */
static const char *run(size_t cut_q, size_t cut_r)
{
    struct applayer *al = setup();
    struct flow f;
    tcp_flow(&f, 53);
    if (cut_q == 0) {
        applayer_stream(al, &f, APP_TOSERVER, query, sizeof query, 1000);
    } else {
        applayer_stream(al, &f, APP_TOSERVER, query, cut_q, 1000);
        applayer_stream(al, &f, APP_TOSERVER, query + cut_q, sizeof query - cut_q, 1000);
    }
    if (cut_r == 0) {
        applayer_stream(al, &f, APP_TOCLIENT, response, sizeof response, 2000);
    } else {
        applayer_stream(al, &f, APP_TOCLIENT, response, cut_r, 2000);
        applayer_stream(al, &f, APP_TOCLIENT, response + cut_r, sizeof response - cut_r, 2000);
    }
    applayer_flow_end(al, &f);
    applayer_free(al);
    return events;
}

static void test_dns_tcp_whole(void)
{
    const char *ev = run(0, 0);
    CHECK_EQ_U64(n_events, 2);
    CHECK(strstr(ev, "\"event_type\":\"dns\",\"src_ip\":\"10.0.0.1\",\"src_port\":40000") != NULL);
    CHECK(strstr(ev, "\"src_ip\":\"10.0.0.2\",\"src_port\":53") != NULL); /* response reversed */
    CHECK(strstr(ev, "\"rrname\":\"example.com\"") != NULL);
    CHECK(strstr(ev, "\"rdata\":\"93.184.216.34\"") != NULL);
}

static void test_dns_tcp_every_split(void)
{
    char whole[sizeof events];
    snprintf(whole, sizeof whole, "%s", run(0, 0));
    for (size_t q = 1; q < sizeof query; q++) {
        run(q, 0);
        CHECK_STR(events, whole);
    }
    for (size_t r = 1; r < sizeof response; r++) {
        run(0, r);
        CHECK_STR(events, whole);
    }
}

/* The server's bytes come first (as for a server-first protocol): the parser is
 * chosen on them, and the client's bytes kept meanwhile are not lost. */
static void test_other_direction_decides(void)
{
    struct applayer *al = setup();
    struct flow f;
    tcp_flow(&f, 53);
    applayer_stream(al, &f, APP_TOSERVER, query, 5, 1000); /* too short to decide */
    applayer_stream(al, &f, APP_TOCLIENT, response, sizeof response, 2000);
    applayer_stream(al, &f, APP_TOSERVER, query + 5, sizeof query - 5, 3000);
    applayer_flow_end(al, &f);
    CHECK_EQ_U64(n_events, 2);
    CHECK(strstr(events, "\"type\":\"request\"") != NULL);
    applayer_free(al);
}

static void test_not_dns_on_53(void)
{
    struct applayer *al = setup();
    struct flow f;
    tcp_flow(&f, 53);
    static const uint8_t junk[] = "\x01\x02" "ABCDEFGHIJKLMNOPQRSTUVWXYZ"; /* no parser's */
    applayer_stream(al, &f, APP_TOSERVER, junk, sizeof junk - 1, 1000);
    applayer_stream(al, &f, APP_TOCLIENT, junk, sizeof junk - 1, 1000);
    CHECK(f.app_stream != NULL); /* decided: nobody */
    applayer_stream(al, &f, APP_TOSERVER, query, sizeof query, 1000);
    applayer_flow_end(al, &f);
    CHECK_EQ_U64(n_events, 0);
    CHECK_EQ_U64(applayer_events(al, "dns"), 0);
    applayer_free(al);

    /* Another port: DNS bytes are not taken for DNS. */
    al = setup();
    tcp_flow(&f, 8053);
    applayer_stream(al, &f, APP_TOSERVER, query, sizeof query, 1000);
    applayer_flow_end(al, &f);
    CHECK_EQ_U64(n_events, 0);
    applayer_free(al);
}

/* After a gap the parser skips data until a chunk starts like a message. */
static void test_gap_resync(void)
{
    struct applayer *al = setup();
    struct flow f;
    tcp_flow(&f, 53);
    applayer_stream(al, &f, APP_TOSERVER, query, 20, 1000);
    applayer_gap(al, &f, APP_TOSERVER, 5, 1000);
    applayer_stream(al, &f, APP_TOSERVER, query + 25, sizeof query - 25, 1000); /* mid-message */
    applayer_stream(al, &f, APP_TOSERVER, query, sizeof query, 1000);          /* a new one */
    applayer_flow_end(al, &f);
    CHECK_EQ_U64(n_events, 1);
    CHECK(strstr(events, "\"type\":\"request\",\"tx_id\":0") != NULL); /* the first complete one */
    applayer_free(al);
}

/* Every allocation refused in turn: no crash, no leak, at most the normal events. */
static void test_alloc_failures(void)
{
    struct mem_stat before, after;
    for (long k = 1; k <= 6; k++) {
        mem_get(MEM_APP, &before);
        struct applayer *al = setup();
        if (al == NULL)
            continue;
        struct flow f;
        tcp_flow(&f, 53);
        mem_fail_after(k);
        applayer_stream(al, &f, APP_TOSERVER, query, 3, 1000);
        applayer_stream(al, &f, APP_TOSERVER, query + 3, sizeof query - 3, 1000);
        applayer_stream(al, &f, APP_TOCLIENT, response, sizeof response, 1000);
        mem_fail_after(0);
        applayer_flow_end(al, &f);
        CHECK(n_events <= 2);
        applayer_free(al);
        mem_get(MEM_APP, &after);
        CHECK_EQ_U64(after.in_use, before.in_use);
    }
}

/* suricata-verify's dns-tcp-ts-gap: a lost segment among the requests; the parser
 * resynchronises and gives Suricata's 2 requests and 3 responses of 12 answers. */
static void test_corpus_dns_tcp_gap(void)
{
    const char *dir = check_corpus_pcap_dir();
    if (dir == NULL)
        SKIP("corpus not found (set OTASUKE_CORPUS)");
    char path[1200];
    snprintf(path, sizeof path, "%s/suricata-verify/dns-tcp-ts-gap/input.pcap", dir);
    struct test_sink t;
    test_sink_init(&t, &dns_parser, false);
    CHECK(test_pcap_events(path, &conf, &t) > 0);
    CHECK_EQ_U64(count_of(t.out, "\"event_type\":\"dns\""), 5);
    CHECK_EQ_U64(count_of(t.out, "\"type\":\"request\""), 2);
    CHECK_EQ_U64(count_of(t.out, "\"type\":\"response\""), 3);
    CHECK_EQ_U64(count_of(t.out, "\"proto\":\"TCP\""), 5);
    test_sink_free(&t);
}

/* A minimal ClientHello record: TLS 1.2, one cipher suite, no extensions. */
static const uint8_t hello[] = {
    22, 3, 1, 0, 45, 1, 0, 0, 41, 3, 3, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
    17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 0, 0, 2, 0x13, 0x01, 1, 0};

static void put_str(struct applayer *al, struct flow *f, int dir, const char *s)
{
    applayer_stream(al, f, dir, (const uint8_t *)s, strlen(s), 1000);
}

/* TLS after an upgrade: the stream is handed to the TLS parser, tls.from_proto. */
static void test_tls_handoff(void)
{
    /* PostgreSQL SSLRequest, 'S', then TLS (no parser takes the first bytes; the
     * server's 'S' is a prefix of "SSH-": still undecided when the hello comes) */
    static const uint8_t sslreq[] = {0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f};
    struct applayer *al = setup();
    struct flow f;
    tcp_flow(&f, 5432);
    applayer_stream(al, &f, APP_TOSERVER, sslreq, sizeof sslreq, 1000);
    put_str(al, &f, APP_TOCLIENT, "S");
    applayer_stream(al, &f, APP_TOSERVER, hello, sizeof hello, 1000);
    applayer_flow_end(al, &f);
    CHECK_EQ_U64(count_of(events, "\"event_type\":\"tls\""), 1);
    CHECK(strstr(events, "\"from_proto\":\"pgsql\"") != NULL);
    applayer_free(al);

    /* the same when both sides' first bytes were refused: the watched stream */
    al = setup();
    tcp_flow(&f, 5432);
    applayer_stream(al, &f, APP_TOSERVER, sslreq, sizeof sslreq, 1000);
    put_str(al, &f, APP_TOCLIENT, "N\x01\x02junk that no parser takes");
    applayer_stream(al, &f, APP_TOSERVER, hello, sizeof hello, 1000);
    applayer_flow_end(al, &f);
    CHECK(strstr(events, "\"from_proto\":\"pgsql\"") != NULL);
    applayer_free(al);

    /* SMTP STARTTLS: the SMTP transaction is logged, then TLS */
    al = setup();
    tcp_flow(&f, 25);
    put_str(al, &f, APP_TOCLIENT, "220 mx ESMTP\r\n");
    put_str(al, &f, APP_TOSERVER, "EHLO client\r\n");
    put_str(al, &f, APP_TOCLIENT, "250 mx\r\n");
    put_str(al, &f, APP_TOSERVER, "STARTTLS\r\n");
    put_str(al, &f, APP_TOCLIENT, "220 go ahead\r\n");
    applayer_stream(al, &f, APP_TOSERVER, hello, sizeof hello, 1000);
    applayer_flow_end(al, &f);
    CHECK_EQ_U64(count_of(events, "\"event_type\":\"smtp\""), 1);
    CHECK(strstr(events, "\"helo\":\"client\"") != NULL);
    CHECK(strstr(events, "\"from_proto\":\"smtp\"") != NULL);
    CHECK_EQ_U64(applayer_events(al, "tls"), 1);
    applayer_free(al);

    /* HTTP CONNECT tunnel */
    al = setup();
    tcp_flow(&f, 8080);
    put_str(al, &f, APP_TOSERVER, "CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\n");
    put_str(al, &f, APP_TOCLIENT, "HTTP/1.1 200 Connection established\r\n\r\n");
    applayer_stream(al, &f, APP_TOSERVER, hello, sizeof hello, 1000);
    applayer_flow_end(al, &f);
    CHECK_EQ_U64(count_of(events, "\"event_type\":\"http\""), 1);
    CHECK(strstr(events, "\"from_proto\":\"http\"") != NULL);
    applayer_free(al);

    /* bounded: after 64 KiB of a stream no parser took, a hello is not looked for */
    static uint8_t junk[4096];
    memset(junk, 'x', sizeof junk);
    al = setup();
    tcp_flow(&f, 5432);
    applayer_stream(al, &f, APP_TOSERVER, sslreq, sizeof sslreq, 1000);
    put_str(al, &f, APP_TOCLIENT, "N\x01\x02junk that no parser takes");
    for (int i = 0; i < 17; i++)
        applayer_stream(al, &f, APP_TOCLIENT, junk, sizeof junk, 1000);
    applayer_stream(al, &f, APP_TOSERVER, hello, sizeof hello, 1000);
    applayer_flow_end(al, &f);
    CHECK_EQ_U64(count_of(events, "\"event_type\":\"tls\""), 0);
    applayer_free(al);
}

int main(void)
{
    conf_defaults(sensor_conf_table, &conf);
    if (jw_init(&w, 1024, 1 << 16) != 0)
        return 1;
    RUN(test_dns_tcp_whole);
    RUN(test_dns_tcp_every_split);
    RUN(test_other_direction_decides);
    RUN(test_not_dns_on_53);
    RUN(test_gap_resync);
    RUN(test_alloc_failures);
    RUN(test_tls_handoff);
    RUN(test_corpus_dns_tcp_gap);
    jw_free(&w);
    return check_done();
}
