/*
 * DNS parser tests: hand-built messages with their decoded text (a query, a response
 * with every rdata type we decode, compression), one message per anomaly, the TCP
 * framing split at every byte boundary, the EVE object written for each, the work
 * bound, and real DNS packets from ../shared/corpus (skipped when absent) checked
 * against what tshark shows.
 */
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "app/dns.h"
#include "otasuke/alloc.h"
#include "otasuke/err.h"
#include "otasuke/jw.h"

static struct dns_msg g_m;

/* Parses a heap copy of exactly n bytes, so that ASan catches any over-read. */
static int parse(const uint8_t *b, size_t n)
{
    uint8_t *c = malloc(n ? n : 1);
    memcpy(c, b, n);
    int rc = dns_parse(n ? c : NULL, n, NULL, &g_m);
    free(c);
    return rc;
}

static bool has(uint32_t an, enum dns_anomaly a)
{
    return (an & (1u << a)) != 0;
}

/* NUL-terminated copy of a pool string, for CHECK_STR. */
static const char *str(const struct dns_msg *m, struct dns_str s)
{
    static char buf[4][1100];
    static int k;
    char *b = buf[k++ & 3];
    memcpy(b, dns_str_ptr(m, s), s.len);
    b[s.len] = '\0';
    return b;
}

/* The "dns" object for m, as {"dns":{...}}. */
static const char *event(const struct dns_msg *m)
{
    static struct jw w;
    static char out[65536];
    if (w.buf == NULL)
        jw_init(&w, 256, 1 << 20);
    jw_reset(&w);
    jw_obj_open(&w, NULL);
    dns_write_event(&w, m);
    jw_obj_close(&w);
    snprintf(out, sizeof(out), "%s", jw_ok(&w) ? w.buf : "(bad)");
    return out;
}

/* Query id 0x1234, flags 0x0100 (RD), 1 question: www.example.com A IN */
/* clang-format off */
static const uint8_t q_www[] = {
    0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0,
    0x00, 0x01, 0x00, 0x01,
};
/* clang-format on */

static void test_query(void)
{
    CHECK_EQ_U64(parse(q_www, sizeof(q_www)), PARSE_OK);
    CHECK_EQ_U64(g_m.anomalies, 0);
    CHECK_EQ_U64(g_m.id, 0x1234);
    CHECK(!g_m.qr);
    CHECK_EQ_U64(g_m.nq, 1);
    CHECK_STR(str(&g_m, g_m.q[0].name), "www.example.com");
    CHECK_EQ_U64(g_m.q[0].type, 1);
    CHECK_EQ_U64(g_m.nrr, 0);
    g_m.tx_id = 7;
    CHECK_STR(event(&g_m), "{\"dns\":{\"version\":3,\"type\":\"request\",\"tx_id\":7,\"id\":4660,"
                           "\"flags\":\"100\",\"rd\":true,\"opcode\":0,\"rcode\":\"NOERROR\","
                           "\"queries\":[{\"rrname\":\"www.example.com\",\"rrtype\":\"A\"}]}}");
}

/* Response id 0x1234, flags 0x8180 (QR RD RA, NOERROR), 1 question, 10 answers,
 * 1 authority, 1 additional. Owner names compress to the question (0xc00c). */
/* clang-format off */
static const uint8_t r_all[] = {
    0x12, 0x34, 0x81, 0x80, 0x00, 0x01, 0x00, 0x0a, 0x00, 0x01, 0x00, 0x01,
    /* @12 question: www.example.com A IN */
    3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0, 0x00, 0x01,
    0x00, 0x01,
    /* @33 www.example.com CNAME IN ttl 300: a.example.com (a + ptr to @16) */
    0xc0, 0x0c, 0x00, 0x05, 0x00, 0x01, 0x00, 0x00, 0x01, 0x2c, 0x00, 0x04, 1, 'a', 0xc0, 0x10,
    /* @49 a.example.com (ptr @45) A ttl 60: 93.184.216.34 */
    0xc0, 0x2d, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x3c, 0x00, 0x04, 93, 184, 216, 34,
    /* a.example.com AAAA ttl 60: 2001:db8::1 */
    0xc0, 0x2d, 0x00, 0x1c, 0x00, 0x01, 0x00, 0x00, 0x00, 0x3c, 0x00, 0x10, 0x20, 0x01, 0x0d,
    0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
    /* example.com (ptr @16) MX ttl 1: 10 mx.example.com */
    0xc0, 0x10, 0x00, 0x0f, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x07, 0x00, 0x0a, 2, 'm',
    'x', 0xc0, 0x10,
    /* example.com NS ttl 2: ns1.example.com */
    0xc0, 0x10, 0x00, 0x02, 0x00, 0x01, 0x00, 0x00, 0x00, 0x02, 0x00, 0x06, 3, 'n', 's', '1',
    0xc0, 0x10,
    /* example.com PTR ttl 3: www.example.com (ptr @12) */
    0xc0, 0x10, 0x00, 0x0c, 0x00, 0x01, 0x00, 0x00, 0x00, 0x03, 0x00, 0x02, 0xc0, 0x0c,
    /* example.com TXT ttl 4: "v=spf1" "-all" (two strings: two entries, as Suricata 8) */
    0xc0, 0x10, 0x00, 0x10, 0x00, 0x01, 0x00, 0x00, 0x00, 0x04, 0x00, 0x0c, 6, 'v', '=', 's',
    'p', 'f', '1', 4, '-', 'a', 'l', 'l',
    /* example.com SRV ttl 5: priority 1 weight 2 port 5060 target www.example.com */
    0xc0, 0x10, 0x00, 0x21, 0x00, 0x01, 0x00, 0x00, 0x00, 0x05, 0x00, 0x08, 0x00, 0x01, 0x00,
    0x02, 0x13, 0xc4, 0xc0, 0x0c,
    /* example.com HINFO ttl 6: "x" "y" (logged with type and TTL only) */
    0xc0, 0x10, 0x00, 0x0d, 0x00, 0x01, 0x00, 0x00, 0x00, 0x06, 0x00, 0x04, 1, 'x', 1, 'y',
    /* example.com A ttl 7: 10.0.0.1 (grouped with the first A) */
    0xc0, 0x10, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x00, 0x07, 0x00, 0x04, 10, 0, 0, 1,
    /* authority: example.com SOA ttl 899: ns1.example.com hostmaster.example.com
     * serial 1 refresh 7200 retry 900 expire 1209600 minimum 86400 */
    0xc0, 0x10, 0x00, 0x06, 0x00, 0x01, 0x00, 0x00, 0x03, 0x83, 0x00, 0x27, 3, 'n', 's', '1',
    0xc0, 0x10, 10, 'h', 'o', 's', 't', 'm', 'a', 's', 't', 'e', 'r', 0xc0, 0x10, 0, 0, 0, 1, 0,
    0, 0x1c, 0x20, 0, 0, 0x03, 0x84, 0, 0x12, 0x75, 0x00, 0, 1, 0x51, 0x80,
    /* additional: <root> OPT udp size 1232 (class), ttl 0, no options */
    0x00, 0x00, 0x29, 0x04, 0xd0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};
/* clang-format on */

static void test_response_all_types(void)
{
    CHECK_EQ_U64(parse(r_all, sizeof(r_all)), PARSE_OK);
    CHECK_EQ_U64(g_m.anomalies, 0);
    CHECK(g_m.qr);
    CHECK_EQ_U64(g_m.nq, 1);
    CHECK_EQ_U64(g_m.nrr, 12);
    struct dns_rr *rr = g_m.rr;
    CHECK_STR(str(&g_m, rr[0].name), "www.example.com");
    CHECK_STR(str(&g_m, rr[0].data), "a.example.com");
    CHECK_EQ_U64(rr[0].ttl, 300);
    CHECK_STR(str(&g_m, rr[1].name), "a.example.com");
    CHECK_MEM(dns_str_ptr(&g_m, rr[1].data), "\x5d\xb8\xd8\x22", 4);
    CHECK_EQ_U64(rr[3].n[0], 10);
    CHECK_STR(str(&g_m, rr[3].data), "mx.example.com");
    CHECK_STR(str(&g_m, rr[6].data), "\x06v=spf1\x04-all"); /* wire form */
    CHECK_EQ_U64(rr[7].n[2], 5060);
    CHECK(!rr[8].has_rdata);
    CHECK_EQ_U64(rr[10].section, DNS_SEC_AUTHORITY);
    CHECK_STR(str(&g_m, rr[10].data2), "hostmaster.example.com");
    CHECK_EQ_U64(rr[10].n[3], 1209600);
    CHECK_EQ_U64(rr[11].section, DNS_SEC_ADDITIONAL);
    CHECK_EQ_U64(rr[11].name.len, 0);
    g_m.tx_id = 0;
    CHECK_STR(
        event(&g_m),
        "{\"dns\":{\"version\":3,\"type\":\"response\",\"tx_id\":0,\"id\":4660,\"flags\":\"8180\","
        "\"qr\":true,\"rd\":true,\"ra\":true,\"opcode\":0,\"rcode\":\"NOERROR\","
        "\"queries\":[{\"rrname\":\"www.example.com\",\"rrtype\":\"A\"}],"
        "\"answers\":["
        "{\"rrname\":\"www.example.com\",\"rrtype\":\"CNAME\",\"ttl\":300,\"rdata\":\"a.example."
        "com\"},"
        "{\"rrname\":\"a.example.com\",\"rrtype\":\"A\",\"ttl\":60,\"rdata\":\"93.184.216.34\"},"
        "{\"rrname\":\"a.example.com\",\"rrtype\":\"AAAA\",\"ttl\":60,"
        "\"rdata\":\"2001:0db8:0000:0000:0000:0000:0000:0001\"},"
        "{\"rrname\":\"example.com\",\"rrtype\":\"MX\",\"ttl\":1,\"rdata\":\"mx.example.com\"},"
        "{\"rrname\":\"example.com\",\"rrtype\":\"NS\",\"ttl\":2,\"rdata\":\"ns1.example.com\"},"
        "{\"rrname\":\"example.com\",\"rrtype\":\"PTR\",\"ttl\":3,\"rdata\":\"www.example.com\"},"
        "{\"rrname\":\"example.com\",\"rrtype\":\"TXT\",\"ttl\":4,\"rdata\":\"v=spf1\"},"
        "{\"rrname\":\"example.com\",\"rrtype\":\"TXT\",\"ttl\":4,\"rdata\":\"-all\"},"
        "{\"rrname\":\"example.com\",\"rrtype\":\"SRV\",\"ttl\":5,\"srv\":{\"priority\":1,"
        "\"weight\":2,\"port\":5060,\"name\":\"www.example.com\"}},"
        "{\"rrname\":\"example.com\",\"rrtype\":\"HINFO\",\"ttl\":6},"
        "{\"rrname\":\"example.com\",\"rrtype\":\"A\",\"ttl\":7,\"rdata\":\"10.0.0.1\"}],"
        "\"grouped\":{\"CNAME\":[\"a.example.com\"],\"A\":[\"93.184.216.34\",\"10.0.0.1\"],"
        "\"AAAA\":[\"2001:0db8:0000:0000:0000:0000:0000:0001\"],\"MX\":[\"mx.example.com\"],"
        "\"NS\":[\"ns1.example.com\"],\"PTR\":[\"www.example.com\"],\"TXT\":[\"v=spf1\",\"-all\"],"
        "\"SRV\":[{\"priority\":1,\"weight\":2,\"port\":5060,\"name\":\"www.example.com\"}]},"
        "\"authorities\":[{\"rrname\":\"example.com\",\"rrtype\":\"SOA\",\"ttl\":899,"
        "\"soa\":{\"mname\":\"ns1.example.com\",\"rname\":\"hostmaster.example.com\","
        "\"serial\":1,\"refresh\":7200,\"retry\":900,\"expire\":1209600,\"minimum\":86400}}],"
        "\"additionals\":[{\"rrname\":\"<root>\",\"rrtype\":\"OPT\",\"ttl\":0}]}}");
}

/* Response flags 0x8183 (NXDOMAIN), no question, no records; opcode 2 (STATUS) in a
 * query with flags 0x1000; unassigned rcode 12 written as a number. */
static void test_rcode_opcode(void)
{
    static const uint8_t nx[] = {0, 1, 0x81, 0x83, 0, 0, 0, 0, 0, 0, 0, 0};
    CHECK_EQ_U64(parse(nx, sizeof(nx)), PARSE_OK);
    CHECK_EQ_U64(g_m.rcode, 3);
    CHECK(strstr(event(&g_m), "\"rcode\":\"NXDOMAIN\"") != NULL);
    static const uint8_t st[] = {0, 2, 0x10, 0x0c, 0, 0, 0, 0, 0, 0, 0, 0};
    CHECK_EQ_U64(parse(st, sizeof(st)), PARSE_OK);
    CHECK_EQ_U64(g_m.opcode, 2);
    CHECK(strstr(event(&g_m), "\"flags\":\"100c\",\"opcode\":2,\"rcode\":\"12\"") != NULL);
}

/* Names with bytes that are not printable: control bytes stay characters (JSON
 * \u00XX), invalid UTF-8 is written with \xNN per byte, as Suricata does. */
static void test_name_escaping(void)
{
    /* query: "a\x01b" . "\xff" A IN */
    static const uint8_t m[] = {
        0, 9, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 3, 'a', 0x01, 'b', 1, 0xff, 0, 0, 1, 0, 1,
    };
    CHECK_EQ_U64(parse(m, sizeof(m)), PARSE_OK);
    CHECK_EQ_U64(g_m.anomalies, 0);
    CHECK(strstr(event(&g_m), "\"rrname\":\"a\\u0001b.\\\\xff\"") != NULL);
    /* valid UTF-8 passes as is: "é" (c3 a9) */
    static const uint8_t u[] = {
        0, 9, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 2, 0xc3, 0xa9, 0, 0, 1, 0, 1,
    };
    CHECK_EQ_U64(parse(u, sizeof(u)), PARSE_OK);
    CHECK(strstr(event(&g_m), "\"rrname\":\"\xc3\xa9\"") != NULL);
}

/* Query whose name is "a" then a pointer: to itself (loop), to after itself
 * (forward), and back to its own first label (loop through a run). */
static void test_ptr_loop_forward(void)
{
    /* question name @12: 1 'a' ptr->@14 (itself) */
    static const uint8_t self[] = {
        0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 'a', 0xc0, 14, 0, 1, 0, 1,
    };
    CHECK_EQ_U64(parse(self, sizeof(self)), PARSE_OK);
    CHECK(has(g_m.anomalies, DNS_AN_PTR_LOOP));
    CHECK_EQ_U64(g_m.nq, 1); /* kept with the labels before the pointer */
    CHECK_STR(str(&g_m, g_m.q[0].name), "a");
    /* 1 'a' ptr->@12 (back to the start of this same run: a.a.a.a... forever) */
    static const uint8_t run[] = {
        0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 'a', 0xc0, 12, 0, 1, 0, 1,
    };
    CHECK_EQ_U64(parse(run, sizeof(run)), PARSE_OK);
    CHECK(has(g_m.anomalies, DNS_AN_PTR_LOOP));
    CHECK(!has(g_m.anomalies, DNS_AN_PTR_FORWARD));
    /* 1 'a' ptr->@18 (past itself, into the question's type field) */
    static const uint8_t fwd[] = {
        0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 'a', 0xc0, 18, 0, 1, 0, 1,
    };
    CHECK_EQ_U64(parse(fwd, sizeof(fwd)), PARSE_OK);
    CHECK(has(g_m.anomalies, DNS_AN_PTR_FORWARD));
    CHECK(!has(g_m.anomalies, DNS_AN_PTR_LOOP));
    CHECK_EQ_U64(g_m.q[0].type, 1); /* the cursor went on after the pointer */
}

/* A response whose first answer is type NULL (10) with opaque rdata holding a chain
 * of `hops - 1` pointers; the second answer's name points at the last of them, so
 * reading it follows `hops` pointers in all down to the question name "a". */
static size_t build_hops(uint8_t *b, unsigned hops)
{
    /* clang-format off */
    static const uint8_t head[] = {
        0, 1, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0,  /* id 1, QR RD RA, 1 question, 2 answers */
        1, 'a', 0, 0, 1, 0, 1,                     /* @12 question a A IN */
        0xc0, 12, 0, 10, 0, 1, 0, 0, 0, 0,         /* @19 answer a NULL ttl 0, rdlen: */
    };
    /* clang-format on */
    size_t n = sizeof(head);
    memcpy(b, head, n);
    unsigned chain = hops - 1;
    b[n++] = (uint8_t)(chain * 2 >> 8);
    b[n++] = (uint8_t)(chain * 2);
    size_t prev = 12;
    for (unsigned i = 0; i < chain; i++) { /* each pointer points at the one before */
        b[n] = 0xc0 | (uint8_t)(prev >> 8);
        b[n + 1] = (uint8_t)prev;
        prev = n;
        n += 2;
    }
    /* answer: ptr->last of chain, A IN ttl 0, 4 bytes 1.2.3.4 */
    const uint8_t tail[] = {
        0xc0 | (uint8_t)(prev >> 8), (uint8_t)prev, 0, 1, 0, 1, 0, 0, 0, 0, 0, 4, 1, 2, 3, 4};
    memcpy(b + n, tail, sizeof(tail));
    return n + sizeof(tail);
}

static void test_ptr_hops(void)
{
    uint8_t b[256];
    size_t n = build_hops(b, 16);
    CHECK_EQ_U64(parse(b, n), PARSE_OK);
    CHECK_EQ_U64(g_m.anomalies, 0);
    CHECK_EQ_U64(g_m.nrr, 2);
    CHECK_STR(str(&g_m, g_m.rr[1].name), "a");
    n = build_hops(b, 17);
    CHECK_EQ_U64(parse(b, n), PARSE_OK);
    CHECK(has(g_m.anomalies, DNS_AN_PTR_TOO_MANY));
    CHECK_EQ_U64(g_m.nrr, 2); /* the record is still read: its name ends at the pointer */
    CHECK_EQ_U64(g_m.rr[1].name.len, 0);
}

/* Label length byte 0x40 (a 64-byte label) is the reserved extended label type. */
static void test_label_too_long(void)
{
    uint8_t b[12 + 1 + 64 + 1 + 4] = {0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0};
    b[12] = 64;
    memset(b + 13, 'x', 64);
    b[sizeof(b) - 3] = 1; /* type A, class IN */
    b[sizeof(b) - 1] = 1;
    CHECK_EQ_U64(parse(b, sizeof(b)), PARSE_OK);
    CHECK(has(g_m.anomalies, DNS_AN_LABEL_TOO_LONG));
    CHECK_EQ_U64(g_m.nq, 0);
    /* 63 is fine: x{63} A IN */
    uint8_t ok[12 + 1 + 63 + 1 + 4] = {0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 63};
    memset(ok + 13, 'x', 63);
    ok[sizeof(ok) - 3] = 1;
    ok[sizeof(ok) - 1] = 1;
    CHECK_EQ_U64(parse(ok, sizeof(ok)), PARSE_OK);
    CHECK_EQ_U64(g_m.anomalies, 0);
    CHECK_EQ_U64(g_m.q[0].name.len, 63);
}

/* A name of `labels` labels of 1 byte each ("a.a.a..."), 2 wire bytes per label. */
static size_t build_long(uint8_t *b, unsigned labels)
{
    static const uint8_t hdr[] = {0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0};
    memcpy(b, hdr, sizeof(hdr));
    size_t n = sizeof(hdr);
    for (unsigned i = 0; i < labels; i++) {
        b[n++] = 1;
        b[n++] = 'a';
    }
    b[n++] = 0;
    const uint8_t t[] = {0, 1, 0, 1};
    memcpy(b + n, t, 4);
    return n + 4;
}

static void test_name_too_long(void)
{
    uint8_t b[600];
    /* 127 labels: 254 bytes + root = 255, the maximum */
    size_t n = build_long(b, 127);
    CHECK_EQ_U64(parse(b, n), PARSE_OK);
    CHECK_EQ_U64(g_m.anomalies, 0);
    CHECK_EQ_U64(g_m.q[0].name.len, 253);
    /* 128 labels: 257 wire bytes; kept truncated, the question still read */
    n = build_long(b, 128);
    CHECK_EQ_U64(parse(b, n), PARSE_OK);
    CHECK(has(g_m.anomalies, DNS_AN_NAME_TOO_LONG));
    CHECK_EQ_U64(g_m.nq, 1);
    CHECK_EQ_U64(g_m.q[0].name.len, 253);
    CHECK_EQ_U64(g_m.q[0].type, 1);
}

static void test_truncated(void)
{
    /* every prefix of the full response parses without reading past its end */
    for (size_t n = 0; n < sizeof(r_all); n++) {
        int rc = parse(r_all, n);
        if (n < 12) {
            CHECK_EQ_U64(rc, PARSE_BAD);
            CHECK(has(g_m.anomalies, DNS_AN_SHORT));
        } else {
            CHECK_EQ_U64(rc, PARSE_OK);
            CHECK(has(g_m.anomalies, DNS_AN_TRUNCATED) || has(g_m.anomalies, DNS_AN_RDATA_BAD));
        }
    }
    /* header only, claiming 65535 questions and answers: nothing allocated, capped */
    static const uint8_t claim[] = {0,    1,    0x81, 0x80, 0xff, 0xff,
                                    0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    CHECK_EQ_U64(parse(claim, sizeof(claim)), PARSE_OK);
    CHECK(has(g_m.anomalies, DNS_AN_TRUNCATED));
    CHECK_EQ_U64(g_m.nq, 0);
    /* 10 answers claimed 65535 times, with max_records 4 */
    uint8_t many[sizeof(r_all)];
    memcpy(many, r_all, sizeof(many));
    many[6] = 0xff;
    many[7] = 0xff;
    struct dns_conf c = {.max_records = 4};
    CHECK_EQ_U64(dns_parse(many, sizeof(many), &c, &g_m), PARSE_OK);
    CHECK(has(g_m.anomalies, DNS_AN_TOO_MANY_RECORDS));
    CHECK_EQ_U64(g_m.nrr, 4);
}

/* The parser's work (labels and pointers read) stays linear: a message of N answers
 * each pointing at a 16-hop chain costs at most 18 reads per name. */
static void test_work_linear(void)
{
    uint8_t b[256];
    size_t n = build_hops(b, 16);
    CHECK_EQ_U64(parse(b, n), PARSE_OK);
    /* names: question (2 reads: a, root), answer 1 (ptr + a + root), answer 2 (16 ptrs
     * + a + root) */
    CHECK_EQ_U64(g_m.work, 2 + 3 + 18);
    /* N answers "x.a" with a fresh label and a pointer: 3 reads each, so 2N costs
     * twice N. */
    static uint8_t big[65536];
    uint32_t w[2];
    for (int k = 0; k < 2; k++) {
        unsigned na = k == 0 ? 32 : 64;
        /* id 1, response, 1 question, na answers; @12 question a A IN */
        static const uint8_t head[] = {0, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0,
                                       1, 'a', 0, 0, 1, 0, 1};
        memcpy(big, head, sizeof(head));
        big[7] = (uint8_t)na;
        size_t o = sizeof(head);
        for (unsigned i = 0; i < na; i++) {
            /* x.a (x + ptr @12) A IN ttl 1: 1.2.3.4 */
            const uint8_t rr[] = {1, 'x', 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 1, 0, 4, 1, 2, 3, 4};
            memcpy(big + o, rr, sizeof(rr));
            o += sizeof(rr);
        }
        CHECK_EQ_U64(parse(big, o), PARSE_OK);
        CHECK_EQ_U64(g_m.anomalies, 0);
        w[k] = g_m.work;
    }
    CHECK_EQ_U64(w[1] - 2, 2 * (w[0] - 2));
}

/* --- TCP ------------------------------------------------------------------------- */

struct collect {
    char out[65536];
    size_t len;
    unsigned n;
};

static void on_msg(void *ud, const struct dns_msg *m, int rc)
{
    struct collect *c = ud;
    const char *e = rc == PARSE_OK ? event(m) : "(short)";
    int k = snprintf(c->out + c->len, sizeof(c->out) - c->len, "%s|%x\n", e, m->anomalies);
    if (k > 0 && (size_t)k < sizeof(c->out) - c->len)
        c->len += (size_t)k;
    c->n++;
}

/* Stream: query, response, an empty message, a 5-byte (short) message. */
static size_t tcp_stream(uint8_t *b)
{
    size_t n = 0;
    b[n++] = 0;
    b[n++] = sizeof(q_www);
    memcpy(b + n, q_www, sizeof(q_www));
    n += sizeof(q_www);
    b[n++] = (uint8_t)(sizeof(r_all) >> 8);
    b[n++] = (uint8_t)sizeof(r_all);
    memcpy(b + n, r_all, sizeof(r_all));
    n += sizeof(r_all);
    b[n++] = 0;
    b[n++] = 0;
    const uint8_t s[] = {0, 5, 1, 2, 3, 4, 5};
    memcpy(b + n, s, sizeof(s));
    return n + sizeof(s);
}

/* Feeds b[0..n) in chunks cut at the given points, each an exact-size heap copy. */
static int feed_split(struct dns_tcp *t, const uint8_t *b, size_t n, const size_t *cuts,
                      size_t ncuts, struct collect *c, struct dns_msg *scratch)
{
    size_t from = 0;
    int rc = PARSE_OK;
    for (size_t i = 0; i <= ncuts; i++) {
        size_t to = (cuts != NULL && i < ncuts) ? cuts[i] : n;
        uint8_t *chunk = malloc(to - from + 1);
        if (chunk == NULL)
            abort();
        memcpy(chunk, b + from, to - from);
        rc = dns_tcp_feed(t, chunk, to - from, NULL, scratch, on_msg, c);
        free(chunk);
        from = to;
    }
    return rc;
}

static void test_tcp_splits(void)
{
    uint8_t b[1024];
    size_t n = tcp_stream(b);
    static struct collect whole, part;
    static struct dns_msg scratch;
    struct dns_tcp t = {0};
    memset(&whole, 0, sizeof(whole));
    CHECK_EQ_U64(feed_split(&t, b, n, NULL, 0, &whole, &scratch), PARSE_OK);
    CHECK_EQ_U64(whole.n, 4);
    CHECK_EQ_U64(t.msgs, 4);
    CHECK(strstr(whole.out, "\"rdata\":\"93.184.216.34\"") != NULL);
    for (size_t k = 1; k < n; k++) { /* one cut at every boundary */
        memset(&part, 0, sizeof(part));
        feed_split(&t, b, n, &k, 1, &part, &scratch);
        CHECK_EQ_U64(part.n, 4);
        CHECK_STR(part.out, whole.out);
    }
    size_t cuts[1024]; /* one byte at a time */
    for (size_t k = 0; k + 1 < n; k++)
        cuts[k] = k + 1;
    memset(&part, 0, sizeof(part));
    CHECK_EQ_U64(feed_split(&t, b, n, cuts, n - 1, &part, &scratch), PARSE_OK);
    CHECK_STR(part.out, whole.out);
    /* ending inside a message: PARSE_MORE, then free releases the partial buffer */
    CHECK_EQ_U64(dns_tcp_feed(&t, b, 10, NULL, &scratch, NULL, NULL), PARSE_MORE);
    CHECK(t.buf != NULL);
    dns_tcp_free(&t);
    CHECK(t.buf == NULL);
}

/* A message whose buffer cannot be allocated is skipped; the next one still parses. */
static void test_tcp_nomem(void)
{
    uint8_t b[1024];
    size_t n = tcp_stream(b);
    static struct collect c;
    static struct dns_msg scratch;
    struct dns_tcp t = {0};
    memset(&c, 0, sizeof(c));
    size_t cut = 2 + sizeof(q_www) + 10; /* inside the response: it needs a buffer */
    mem_fail_after(1);
    feed_split(&t, b, n, &cut, 1, &c, &scratch);
    mem_fail_after(0);
    CHECK_EQ_U64(t.nomem, 1);
    CHECK_EQ_U64(c.n, 3); /* query, empty, short */
    dns_tcp_free(&t);
}

/* A small JSON maximum makes the writer fail cleanly. */
static void test_event_small_max(void)
{
    struct jw w;
    CHECK_EQ_U64(jw_init(&w, 64, 200), 0);
    CHECK_EQ_U64(parse(r_all, sizeof(r_all)), PARSE_OK);
    jw_obj_open(&w, NULL);
    dns_write_event(&w, &g_m);
    jw_obj_close(&w);
    CHECK(!jw_ok(&w));
    jw_free(&w);
}

/* --- corpus ---------------------------------------------------------------------- */

/* Calls fn on the UDP payload of each Ethernet (VLAN tags, PPPoE allowed) / IPv4 / UDP
 * packet to or from port 53. Returns the number of packets, or -1 when the file
 * cannot be opened. */
static int each_udp53(const char *path, void (*fn)(const uint8_t *, size_t, void *), void *ud)
{
    char err[PCAP_ERRBUF_SIZE];
    pcap_t *pc = pcap_open_offline(path, err);
    if (pc == NULL)
        return -1;
    struct pcap_pkthdr *h;
    const u_char *d;
    int n = 0;
    while (pcap_next_ex(pc, &h, &d) == 1) {
        size_t off = 12, len = h->caplen;
        if (pcap_datalink(pc) != DLT_EN10MB || len < 14)
            continue;
        unsigned et = (unsigned)d[off] << 8 | d[off + 1];
        off += 2;
        while ((et == 0x8100 || et == 0x88a8) && len >= off + 4) {
            et = (unsigned)d[off + 2] << 8 | d[off + 3];
            off += 4;
        }
        if (et == 0x8864 && len >= off + 8 && d[off + 6] == 0 && d[off + 7] == 0x21) {
            et = 0x0800; /* PPPoE session, PPP protocol IPv4 */
            off += 8;
        }
        if (et != 0x0800 || len < off + 20 || d[off + 9] != 17)
            continue;
        size_t ihl = (size_t)(d[off] & 15) * 4;
        size_t tot = (size_t)d[off + 2] << 8 | d[off + 3];
        if (((size_t)d[off + 6] & 0x3f) << 8 || d[off + 7] || (d[off + 6] & 0x20))
            continue; /* fragments */
        if (tot > len - off || tot < ihl + 8)
            continue;
        const u_char *u = d + off + ihl;
        unsigned sp = (unsigned)u[0] << 8 | u[1], dp = (unsigned)u[2] << 8 | u[3];
        if (sp != 53 && dp != 53)
            continue;
        fn(u + 8, tot - ihl - 8, ud);
        n++;
    }
    pcap_close(pc);
    return n;
}

struct corpus_acc {
    char names[8192]; /* "qname a,a,a;" per packet, in order */
    size_t len;
    uint32_t anomalies;
};

static void corpus_pkt(const uint8_t *p, size_t n, void *ud)
{
    struct corpus_acc *a = ud;
    CHECK_EQ_U64(parse(p, n), PARSE_OK);
    a->anomalies |= g_m.anomalies;
    char line[2048];
    size_t k = (size_t)snprintf(line, sizeof(line), "%s", g_m.nq ? str(&g_m, g_m.q[0].name) : "");
    char sep = ' ';
    for (unsigned i = 0; i < g_m.nrr && k < sizeof(line) - 20; i++) {
        const struct dns_rr *rr = &g_m.rr[i];
        if (rr->type != 1 || !rr->has_rdata) /* tshark dns.a: every section */
            continue;
        const uint8_t *b = dns_str_ptr(&g_m, rr->data);
        k += (size_t)snprintf(line + k, sizeof(line) - k, "%c%u.%u.%u.%u", sep, b[0], b[1], b[2],
                              b[3]);
        sep = ',';
    }
    snprintf(a->names + a->len, sizeof(a->names) - a->len, "%s;", line);
    a->len = strlen(a->names);
    (void)event(&g_m); /* the writer runs on real data too */
}

static const char *corpus_path(const char *rel, char *buf, size_t len)
{
    const char *src = getenv("OTASUKE_SRC");
    snprintf(buf, len, "%s/../shared/corpus/pcap/%s", src ? src : ".", rel);
    FILE *f = fopen(buf, "rb");
    if (f == NULL) {
        snprintf(buf, len, "/work/shared/corpus/pcap/%s", rel);
        f = fopen(buf, "rb");
    }
    if (f == NULL)
        return NULL;
    fclose(f);
    return buf;
}

/* Expectations from `tshark -r F -Y dns -T fields -e dns.qry.name -e dns.a`. */
static const struct {
    const char *file;
    int pkts;
    const char *expect;
} g_corpus[] = {
    {"ndpi/dns.pcap", 5,
     "www.l.google.com;www.example.com;www.example.com;e7.whatsapp.net;"
     "e7.whatsapp.net 169.45.219.235,169.47.40.142,169.45.248.121,108.168.176.234,"
     "169.45.248.189,169.45.248.180,169.53.81.79,169.45.219.232;"},
    {"zeek/dns53.pcap", 1,
     "us.v27.distributed.net 206.109.64.186,216.1.205.81,205.149.163.211,134.53.131.135,"
     "134.53.131.192,128.104.18.148,204.152.186.139,63.77.33.226,209.98.32.14,64.9.167.166,"
     "216.1.205.81,205.149.163.211,209.24.149.41,209.157.102.11,209.24.149.42;"},
    {"zeek/dns-txt-multiple.pcap", 2,
     "flkr._domainkey.flickr.com;flkr._domainkey.flickr.com 68.180.131.16,68.142.255.16,"
     "203.84.221.53,98.138.11.157,119.160.247.124;"},
    {"ndpi/dns_long_domainname.pcap", 2,
     "gmr02c.16.0.fhkfhsdkfhsk.tunnel.example.com;gmr02c.16.0.fhkfhsdkfhsk.tunnel.example.com;"},
};

static void test_corpus(void)
{
    char path[4096];
    int found = 0;
    for (size_t i = 0; i < sizeof(g_corpus) / sizeof(g_corpus[0]); i++) {
        if (corpus_path(g_corpus[i].file, path, sizeof(path)) == NULL)
            continue;
        found++;
        static struct corpus_acc a;
        memset(&a, 0, sizeof(a));
        CHECK_EQ_U64(each_udp53(path, corpus_pkt, &a), g_corpus[i].pkts);
        if (a.anomalies != 0 || strcmp(a.names, g_corpus[i].expect) != 0)
            fprintf(stderr, "%s: anomalies %x\n got %s\nwant %s\n", g_corpus[i].file, a.anomalies,
                    a.names, g_corpus[i].expect);
        CHECK_EQ_U64(a.anomalies, 0);
        CHECK_STR(a.names, g_corpus[i].expect);
    }
    if (found == 0)
        SKIP("../shared/corpus/pcap not found");
}

int main(void)
{
    RUN(test_query);
    RUN(test_response_all_types);
    RUN(test_rcode_opcode);
    RUN(test_name_escaping);
    RUN(test_ptr_loop_forward);
    RUN(test_ptr_hops);
    RUN(test_label_too_long);
    RUN(test_name_too_long);
    RUN(test_truncated);
    RUN(test_work_linear);
    RUN(test_tcp_splits);
    RUN(test_tcp_nomem);
    RUN(test_event_small_max);
    RUN(test_corpus);
    return check_done();
}
