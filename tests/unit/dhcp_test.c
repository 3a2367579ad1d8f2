/*
 * DHCP parser and EVE writer tests: hand-built messages (a fixed BOOTP header from
 * msg_build() and option bytes with their decoded text), one case per anomaly, the
 * event's exact JSON, and real DHCP packets from ../shared/corpus checked against what
 * tshark shows for them (skipped with a visible message when the corpus is absent).
 * Every parse runs on an exact-size heap copy so that ASan sees any over-read.
 */
#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check.h"
#include "app/dhcp.h"
#include "decode/decode.h"
#include "otasuke/err.h"

static struct dhcp_msg g_m;
static uint8_t *g_copy;

static int parse_copy(const uint8_t *b, size_t n)
{
    free(g_copy);
    g_copy = malloc(n ? n : 1);
    if (n)
        memcpy(g_copy, b, n);
    return dhcp_parse(&g_m, g_copy, n);
}

/* Fixed header: op, htype 1, hlen, xid, ciaddr, yiaddr, chaddr (6 bytes), cookie, then
 * the option bytes. Returns the total length. */
static size_t msg_build(uint8_t *out, uint8_t op, uint8_t hlen, uint32_t xid,
                        const uint8_t ciaddr[4], const uint8_t yiaddr[4], const uint8_t mac[6],
                        const uint8_t *opts, size_t optlen)
{
    memset(out, 0, DHCP_HDR_LEN);
    out[0] = op;
    out[1] = 1; /* Ethernet */
    out[2] = hlen;
    out[4] = (uint8_t)(xid >> 24);
    out[5] = (uint8_t)(xid >> 16);
    out[6] = (uint8_t)(xid >> 8);
    out[7] = (uint8_t)xid;
    memcpy(out + 12, ciaddr, 4);
    memcpy(out + 16, yiaddr, 4);
    memcpy(out + 28, mac, 6);
    static const uint8_t cookie[] = {99, 130, 83, 99};
    memcpy(out + DHCP_HDR_LEN, cookie, 4);
    memcpy(out + DHCP_HDR_LEN + 4, opts, optlen);
    return DHCP_HDR_LEN + 4 + optlen;
}

static const uint8_t ZERO4[4] = {0, 0, 0, 0};
static const uint8_t MAC1[6] = {0x00, 0x1a, 0x2b, 0x3c, 0x4d, 0x5e};

/* Writes m's event (in an enclosing object) and returns the JSON text (static). */
static const char *event_json(const struct dhcp_msg *m, bool extended)
{
    static char out[8192];
    struct jw w;
    if (jw_init(&w, 256, 8192) != 0)
        return "";
    jw_obj_open(&w, NULL);
    dhcp_write_event(&w, NULL, m, extended);
    jw_obj_close(&w);
    out[0] = '\0';
    if (jw_ok(&w) && w.len < sizeof(out)) {
        memcpy(out, w.buf, w.len);
        out[w.len] = '\0';
    }
    jw_free(&w);
    return out;
}

/* Discover from a Windows client. */
static const uint8_t discover_opts[] = {
    /* 53 DHCP Message Type: Discover */
    53, 1, 1,
    /* 61 Client identifier: type 1 (Ethernet), 00:1a:2b:3c:4d:5e */
    61, 7, 1, 0x00, 0x1a, 0x2b, 0x3c, 0x4d, 0x5e,
    /* 12 Host Name: "DESKTOP-7" */
    12, 9, 'D', 'E', 'S', 'K', 'T', 'O', 'P', '-', '7',
    /* 60 Vendor class identifier: "MSFT 5.0" */
    60, 8, 'M', 'S', 'F', 'T', ' ', '5', '.', '0',
    /* 55 Parameter Request List: 1 3 6 15 31 33 43 44 46 47 119 121 249 252 */
    55, 14, 1, 3, 6, 15, 31, 33, 43, 44, 46, 47, 119, 121, 249, 252,
    /* 50 Requested IP Address: 192.168.1.50 */
    50, 4, 192, 168, 1, 50,
    /* 0 Pad, 0 Pad, 255 End */
    0, 0, 255,
};

static void test_discover(void)
{
    uint8_t b[512];
    size_t n = msg_build(b, 1, 6, 0x11223344, ZERO4, ZERO4, MAC1, discover_opts,
                         sizeof(discover_opts));
    CHECK_EQ_U64(parse_copy(b, n), PARSE_OK);
    const struct dhcp_msg *m = &g_m;
    CHECK_EQ_U64(m->anomalies, 0);
    CHECK_EQ_U64(m->op, DHCP_OP_REQUEST);
    CHECK_EQ_U64(m->xid, 0x11223344);
    CHECK_EQ_U64(m->chaddr_len, 6);
    CHECK_MEM(m->chaddr, MAC1, 6);
    CHECK_EQ_U64(m->msg_type, DHCP_DISCOVER);
    CHECK_STR(m->hostname, "DESKTOP-7");
    CHECK_STR(m->vendor_class, "MSFT 5.0");
    CHECK_EQ_U64(m->client_id_len, 7);
    CHECK_EQ_U64(m->params_n, 14);
    CHECK_STR(m->params_fp, "1,3,6,15,31,33,43,44,46,47,119,121,249,252");
    CHECK_MEM(m->requested_ip, "\xc0\xa8\x01\x32", 4);
    CHECK_EQ_U64(m->n_options, 6);
    CHECK(!dhcp_should_log(m, false)); /* Suricata logs only ACKs unless extended */
    CHECK(dhcp_should_log(m, true));
    CHECK_STR(event_json(m, false),
              "{\"dhcp\":{\"type\":\"request\",\"id\":287454020,"
              "\"client_mac\":\"00:1a:2b:3c:4d:5e\",\"assigned_ip\":\"0.0.0.0\","
              "\"dhcp_type\":\"discover\",\"client_id\":\"00:1a:2b:3c:4d:5e\","
              "\"hostname\":\"DESKTOP-7\"}}");
    CHECK_STR(event_json(m, true),
              "{\"dhcp\":{\"type\":\"request\",\"id\":287454020,"
              "\"client_mac\":\"00:1a:2b:3c:4d:5e\",\"assigned_ip\":\"0.0.0.0\","
              "\"client_ip\":\"0.0.0.0\",\"dhcp_type\":\"discover\","
              "\"client_id\":\"00:1a:2b:3c:4d:5e\",\"hostname\":\"DESKTOP-7\","
              "\"requested_ip\":\"192.168.1.50\","
              "\"params\":[\"subnet_mask\",\"router\",\"dns_server\",\"domain\"],"
              "\"params_fingerprint\":\"1,3,6,15,31,33,43,44,46,47,119,121,249,252\","
              "\"vendor_class_identifier\":\"MSFT 5.0\"}}");
}

/* Offer / ACK from a server. */
static const uint8_t ack_opts[] = {
    /* 53 DHCP Message Type: ACK */
    53, 1, 5,
    /* 54 DHCP Server Identifier: 192.168.1.1 */
    54, 4, 192, 168, 1, 1,
    /* 51 IP Address Lease Time: 86400 s */
    51, 4, 0x00, 0x01, 0x51, 0x80,
    /* 58 Renewal Time: 43200 s */
    58, 4, 0x00, 0x00, 0xa8, 0xc0,
    /* 59 Rebinding Time: 75600 s */
    59, 4, 0x00, 0x01, 0x27, 0x50,
    /* 1 Subnet Mask: 255.255.255.0 */
    1, 4, 255, 255, 255, 0,
    /* 3 Router: 192.168.1.1 */
    3, 4, 192, 168, 1, 1,
    /* 6 Domain Name Server: 192.168.1.1, 8.8.8.8 */
    6, 8, 192, 168, 1, 1, 8, 8, 8, 8,
    /* 255 End */
    255,
};

static void test_ack(void)
{
    uint8_t b[512];
    static const uint8_t yi[4] = {192, 168, 1, 50};
    size_t n = msg_build(b, 2, 6, 0x11223344, ZERO4, yi, MAC1, ack_opts, sizeof(ack_opts));
    b[20] = 192; /* siaddr 192.168.1.1 */
    b[21] = 168;
    b[22] = 1;
    b[23] = 1;
    CHECK_EQ_U64(parse_copy(b, n), PARSE_OK);
    const struct dhcp_msg *m = &g_m;
    CHECK_EQ_U64(m->anomalies, 0);
    CHECK_EQ_U64(m->msg_type, DHCP_ACK);
    CHECK_EQ_U64(m->lease_time, 86400);
    CHECK_EQ_U64(m->renewal_time, 43200);
    CHECK_EQ_U64(m->rebinding_time, 75600);
    CHECK_EQ_U64(m->routers_n, 1);
    CHECK_EQ_U64(m->dns_n, 2);
    CHECK_MEM(m->dns[1], "\x08\x08\x08\x08", 4);
    CHECK(dhcp_should_log(m, false));
    CHECK_STR(event_json(m, false),
              "{\"dhcp\":{\"type\":\"reply\",\"id\":287454020,"
              "\"client_mac\":\"00:1a:2b:3c:4d:5e\",\"assigned_ip\":\"192.168.1.50\","
              "\"dhcp_type\":\"ack\",\"renewal_time\":43200}}");
    CHECK_STR(event_json(m, true),
              "{\"dhcp\":{\"type\":\"reply\",\"id\":287454020,"
              "\"client_mac\":\"00:1a:2b:3c:4d:5e\",\"assigned_ip\":\"192.168.1.50\","
              "\"client_ip\":\"0.0.0.0\",\"relay_ip\":\"0.0.0.0\","
              "\"next_server_ip\":\"192.168.1.1\",\"dhcp_type\":\"ack\","
              "\"renewal_time\":43200,\"lease_time\":86400,\"rebinding_time\":75600,"
              "\"subnet_mask\":\"255.255.255.0\",\"routers\":[\"192.168.1.1\"],"
              "\"dns_servers\":[\"192.168.1.1\",\"8.8.8.8\"],\"server_id\":\"192.168.1.1\"}}");
    /* The same options as an Offer. */
    b[DHCP_HDR_LEN + 4 + 2] = DHCP_OFFER;
    CHECK_EQ_U64(parse_copy(b, n), PARSE_OK);
    CHECK_STR(dhcp_type_name(g_m.msg_type), "offer");
    CHECK(!dhcp_should_log(&g_m, false));
}

static void test_nak(void)
{
    static const uint8_t opts[] = {
        /* 53 DHCP Message Type: NAK */
        53, 1, 6,
        /* 54 DHCP Server Identifier: 10.0.0.1 */
        54, 4, 10, 0, 0, 1,
        /* 56 Message: "wrong network" (not decoded) */
        56, 13, 'w', 'r', 'o', 'n', 'g', ' ', 'n', 'e', 't', 'w', 'o', 'r', 'k',
        /* 255 End */
        255,
    };
    uint8_t b[512];
    size_t n = msg_build(b, 2, 6, 7, ZERO4, ZERO4, MAC1, opts, sizeof(opts));
    CHECK_EQ_U64(parse_copy(b, n), PARSE_OK);
    CHECK_EQ_U64(g_m.anomalies, 0);
    CHECK_EQ_U64(g_m.msg_type, DHCP_NAK);
    CHECK_STR(dhcp_type_name(g_m.msg_type), "nak");
    CHECK_MEM(g_m.server_id, "\x0a\x00\x00\x01", 4);
}

/* Option 81 in DNS wire format, option 52 moving options into `file`. */
static void test_fqdn_overload(void)
{
    static const uint8_t opts[] = {
        /* 53 DHCP Message Type: Request */
        53, 1, 3,
        /* 81 Client FQDN: flags S|E, rcodes 0 0, "pc1.example" in wire format */
        81, 16, 0x05, 0, 0, 3, 'p', 'c', '1', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0,
        /* 52 Option Overload: 1 (file holds options) */
        52, 1, 1,
        /* 255 End */
        255,
    };
    /* In `file` (offset 108): 12 Host Name "pc1", 255 End. */
    static const uint8_t file_opts[] = {12, 3, 'p', 'c', '1', 255};
    uint8_t b[512];
    size_t n = msg_build(b, 1, 6, 9, ZERO4, ZERO4, MAC1, opts, sizeof(opts));
    memcpy(b + 108, file_opts, sizeof(file_opts));
    CHECK_EQ_U64(parse_copy(b, n), PARSE_OK);
    CHECK_EQ_U64(g_m.anomalies, 0);
    CHECK_EQ_U64(g_m.overload, 1);
    CHECK_STR(g_m.fqdn, "pc1.example");
    CHECK_STR(g_m.hostname, "pc1");
    /* Without the overload option `file` is not read. */
    b[DHCP_HDR_LEN + 4 + 3 + 18] = 255; /* 52 -> End */
    CHECK_EQ_U64(parse_copy(b, n), PARSE_OK);
    CHECK_EQ_U64(g_m.hostname_len, 0);
}

#define HAS_AN(m, a) (((m)->anomalies >> (a)) & 1u)

static void test_an_truncated(void)
{
    uint8_t b[512];
    size_t n = msg_build(b, 1, 6, 1, ZERO4, ZERO4, MAC1, discover_opts, sizeof(discover_opts));
    (void)n;
    /* Header without the cookie, and a 10-byte runt. */
    CHECK_EQ_U64(parse_copy(b, DHCP_HDR_LEN), PARSE_BAD);
    CHECK(HAS_AN(&g_m, DHCP_AN_TRUNCATED));
    CHECK_EQ_U64(g_m.xid, 1);
    CHECK_EQ_U64(parse_copy(b, 10), PARSE_BAD);
    CHECK(HAS_AN(&g_m, DHCP_AN_TRUNCATED));
    CHECK_EQ_U64(parse_copy(b, 0), PARSE_BAD);
    CHECK_STR(dhcp_anomaly_name(DHCP_AN_TRUNCATED), "truncated");
}

static void test_an_bad_cookie(void)
{
    uint8_t b[512];
    size_t n = msg_build(b, 1, 6, 1, ZERO4, ZERO4, MAC1, discover_opts, sizeof(discover_opts));
    b[DHCP_HDR_LEN + 3] = 0x64; /* 99.130.83.100 */
    CHECK_EQ_U64(parse_copy(b, n), PARSE_BAD);
    CHECK_EQ_U64(g_m.anomalies, 1u << DHCP_AN_BAD_COOKIE);
}

static void test_an_opt_len(void)
{
    static const uint8_t opts[] = {
        /* 53 DHCP Message Type: Discover */
        53, 1, 1,
        /* 12 Host Name claiming 200 bytes, 3 present */
        12, 200, 'a', 'b', 'c',
    };
    uint8_t b[512];
    size_t n = msg_build(b, 1, 6, 1, ZERO4, ZERO4, MAC1, opts, sizeof(opts));
    CHECK_EQ_U64(parse_copy(b, n), PARSE_OK);
    CHECK_EQ_U64(g_m.anomalies, 1u << DHCP_AN_OPT_LEN);
    CHECK_EQ_U64(g_m.msg_type, DHCP_DISCOVER);
    CHECK_EQ_U64(g_m.hostname_len, 0);
    /* A code with no length byte at the very end. */
    static const uint8_t opts2[] = {53, 1, 1, 12};
    n = msg_build(b, 1, 6, 1, ZERO4, ZERO4, MAC1, opts2, sizeof(opts2));
    CHECK_EQ_U64(parse_copy(b, n), PARSE_OK);
    CHECK_EQ_U64(g_m.anomalies, 1u << DHCP_AN_OPT_LEN);
}

static void test_an_bad_hlen(void)
{
    uint8_t b[512];
    size_t n = msg_build(b, 1, 255, 1, ZERO4, ZERO4, MAC1, discover_opts, sizeof(discover_opts));
    CHECK_EQ_U64(parse_copy(b, n), PARSE_OK);
    CHECK_EQ_U64(g_m.anomalies, 1u << DHCP_AN_BAD_HLEN);
    CHECK_EQ_U64(g_m.chaddr_len, 16);
    CHECK(strstr(event_json(&g_m, false),
                 "\"client_mac\":\"00:1a:2b:3c:4d:5e:00:00:00:00:00:00:00:00:00:00\"") != NULL);
}

static void test_an_option_flood(void)
{
    /* 53 Discover, then 200 x (250 Unknown, length 0), then End. */
    uint8_t opts[3 + 400 + 1];
    size_t k = 0;
    opts[k++] = 53;
    opts[k++] = 1;
    opts[k++] = 1;
    for (int i = 0; i < 200; i++) {
        opts[k++] = 250;
        opts[k++] = 0;
    }
    opts[k++] = 255;
    uint8_t b[1024];
    size_t n = msg_build(b, 1, 6, 1, ZERO4, ZERO4, MAC1, opts, k);
    CHECK_EQ_U64(parse_copy(b, n), PARSE_OK);
    CHECK_EQ_U64(g_m.anomalies, 1u << DHCP_AN_TOO_MANY_OPTIONS);
    CHECK_EQ_U64(g_m.n_options, DHCP_MAX_OPTIONS);
    CHECK_EQ_U64(g_m.msg_type, DHCP_DISCOVER);
}

static void test_an_others(void)
{
    uint8_t b[1024];
    /* op 3, no End. */
    static const uint8_t opts[] = {53, 1, 1};
    size_t n = msg_build(b, 3, 6, 1, ZERO4, ZERO4, MAC1, opts, sizeof(opts));
    CHECK_EQ_U64(parse_copy(b, n), PARSE_OK);
    CHECK_EQ_U64(g_m.anomalies, (1u << DHCP_AN_BAD_OP) | (1u << DHCP_AN_NO_END));
    CHECK(strstr(event_json(&g_m, false), "\"type\":\"<unknown>\"") != NULL);
    /* 51 Lease Time with 2 bytes; 3 Router with 5 bytes; 53 with 2 bytes. */
    static const uint8_t bad[] = {51, 2, 0, 1, 3, 5, 1, 2, 3, 4, 5, 53, 2, 1, 1, 255};
    n = msg_build(b, 1, 6, 1, ZERO4, ZERO4, MAC1, bad, sizeof(bad));
    CHECK_EQ_U64(parse_copy(b, n), PARSE_OK);
    CHECK_EQ_U64(g_m.anomalies, 1u << DHCP_AN_OPT_INVALID);
    CHECK_EQ_U64(g_m.present, 0);
    /* A 200-byte host name and 100 requested params: cut to the caps. */
    uint8_t big[2 + 200 + 2 + 100 + 1];
    size_t k = 0;
    big[k++] = 12;
    big[k++] = 200;
    memset(big + k, 'h', 200);
    k += 200;
    big[k++] = 55;
    big[k++] = 100;
    for (int i = 0; i < 100; i++)
        big[k++] = (uint8_t)(i + 150);
    big[k++] = 255;
    n = msg_build(b, 1, 6, 1, ZERO4, ZERO4, MAC1, big, k);
    CHECK_EQ_U64(parse_copy(b, n), PARSE_OK);
    CHECK_EQ_U64(g_m.anomalies,
                 (1u << DHCP_AN_STR_TRUNCATED) | (1u << DHCP_AN_LIST_TRUNCATED));
    CHECK_EQ_U64(g_m.hostname_len, DHCP_MAX_STR);
    CHECK_EQ_U64(strlen(g_m.hostname), DHCP_MAX_STR);
    CHECK_EQ_U64(g_m.params_n, DHCP_MAX_PARAMS);
    CHECK_EQ_U64(strlen(g_m.params_fp), DHCP_FP_LEN - 1); /* 64 three-digit codes */
    /* A small writer fails cleanly. */
    struct jw w;
    CHECK_EQ_U64(jw_init(&w, 16, 64), 0);
    dhcp_write_event(&w, NULL, &g_m, true);
    CHECK(!jw_ok(&w));
    jw_free(&w);
}

/* ---- real captures ---- */

static const char *corpus_dir(void)
{
    return check_corpus_pcap_dir();
}

#define MAX_MSGS 16

struct pcap_dhcp {
    struct dhcp_msg m[MAX_MSGS];
    int rc[MAX_MSGS];
    unsigned n;      /* DHCP packets seen (UDP 67/68) */
    unsigned n_anom; /* of them, with any anomaly bit */
};

/* Parses every UDP 67/68 payload of a corpus capture; keeps the first MAX_MSGS.
 * Returns 0, or -1 when the file cannot be opened. */
static int run_pcap(const char *rel, struct pcap_dhcp *out)
{
    char path[2048], eb[PCAP_ERRBUF_SIZE];
    snprintf(path, sizeof(path), "%s/%s", corpus_dir(), rel);
    pcap_t *pc = pcap_open_offline(path, eb);
    if (pc == NULL)
        return -1;
    memset(out, 0, sizeof(*out));
    int lt = pcap_datalink(pc);
    struct decoder *d = decoder_new(NULL);
    struct pcap_pkthdr *h;
    const u_char *data;
    struct pkt p;
    while (pcap_next_ex(pc, &h, &data) == 1) {
        if (decode_packet(d, &p, lt, data, h->caplen, h->len, 0) != DECODE_OK)
            continue;
        if (p.proto != 17 || !((p.sport == 67 || p.sport == 68) &&
                               (p.dport == 67 || p.dport == 68)))
            continue;
        int rc = parse_copy(p.payload, p.payload_len);
        if (g_m.anomalies != 0)
            out->n_anom++;
        if (out->n < MAX_MSGS) {
            out->m[out->n] = g_m;
            out->rc[out->n] = rc;
        }
        out->n++;
    }
    decoder_free(d);
    pcap_close(pc);
    return 0;
}

static struct pcap_dhcp g_r;

#define LOAD(rel)                                                                                  \
    do {                                                                                           \
        if (corpus_dir() == NULL)                                                                  \
            SKIP("../shared/corpus/pcap not found");                                               \
        if (run_pcap(rel, &g_r) != 0)                                                              \
            SKIP(rel " missing");                                                                  \
    } while (0)

/* suricata-verify dhcp-eve-extended-option-60: tshark shows Request, xid 0xe01cc718,
 * 28:cf:da:dc:8d:76, "NicksMacBook", "MSFT 5.0", PRL 1,15,3,6,44,46,47,31,33,121,249,43,
 * requested 192.168.1.111. test.yaml wants params[0..3] subnet_mask, domain, router,
 * dns_server, type request, id 3759982360, vendor_class_identifier "MSFT 5.0". */
static void test_pcap_sv_option60(void)
{
    LOAD("suricata-verify/dhcp-eve-extended-option-60/input.pcap");
    CHECK_EQ_U64(g_r.n, 1);
    CHECK_EQ_U64(g_r.n_anom, 0);
    const struct dhcp_msg *m = &g_r.m[0];
    CHECK_EQ_U64(g_r.rc[0], PARSE_OK);
    CHECK_EQ_U64(m->xid, 3759982360u);
    CHECK_MEM(m->chaddr, "\x28\xcf\xda\xdc\x8d\x76", 6);
    CHECK_EQ_U64(m->msg_type, DHCP_REQUEST);
    CHECK_STR(m->hostname, "NicksMacBook");
    CHECK_STR(m->vendor_class, "MSFT 5.0");
    CHECK_STR(m->params_fp, "1,15,3,6,44,46,47,31,33,121,249,43");
    CHECK_MEM(m->requested_ip, "\xc0\xa8\x01\x6f", 4);
    const char *j = event_json(m, true);
    CHECK(strstr(j, "\"type\":\"request\",\"id\":3759982360,") != NULL);
    CHECK(strstr(j, "\"params\":[\"subnet_mask\",\"domain\",\"router\",\"dns_server\"]") != NULL);
    CHECK(strstr(j, "\"vendor_class_identifier\":\"MSFT 5.0\"") != NULL);
    CHECK(strstr(j, "\"client_id\":\"28:cf:da:dc:8d:76\"") != NULL);
}

/* zeek dhcp_time_and_nameserver: Request "pop-os" (PRL 1,28,2,3,15,6,119,12,44,47,26,
 * 121,42,4,5,249,33,252, requested 192.168.15.250), then ACK: yiaddr 192.168.15.250,
 * mask 255.255.255.0, router and DNS 192.168.15.101, lease 86093, server id
 * 192.168.15.101. */
static void test_pcap_zeek_time_ns(void)
{
    LOAD("zeek/dhcp/dhcp_time_and_nameserver.pcap");
    CHECK_EQ_U64(g_r.n, 2);
    CHECK_EQ_U64(g_r.n_anom, 0);
    const struct dhcp_msg *q = &g_r.m[0], *a = &g_r.m[1];
    CHECK_EQ_U64(q->xid, 0xb1556169);
    CHECK_EQ_U64(q->msg_type, DHCP_REQUEST);
    CHECK_STR(q->hostname, "pop-os");
    CHECK_STR(q->params_fp, "1,28,2,3,15,6,119,12,44,47,26,121,42,4,5,249,33,252");
    CHECK_MEM(q->requested_ip, "\xc0\xa8\x0f\xfa", 4);
    CHECK_EQ_U64(a->msg_type, DHCP_ACK);
    CHECK_MEM(a->chaddr, "\x00\x90\xf5\x91\xcd\x1f", 6);
    CHECK_EQ_U64(a->lease_time, 86093);
    CHECK(!(a->present & DHCP_HAS_RENEWAL_TIME));
    const char *j = event_json(a, true);
    CHECK(strstr(j, "\"assigned_ip\":\"192.168.15.250\"") != NULL);
    CHECK(strstr(j, "\"subnet_mask\":\"255.255.255.0\"") != NULL);
    CHECK(strstr(j, "\"routers\":[\"192.168.15.101\"]") != NULL);
    CHECK(strstr(j, "\"dns_servers\":[\"192.168.15.101\"]") != NULL);
    CHECK(strstr(j, "\"server_id\":\"192.168.15.101\"") != NULL);
}

/* zeek dhcp_ack_subscriber_id_and_agent_remote_id: ACK 0x3d11 to 00:0a:28:00:fa:42,
 * 192.168.0.10, lease 3600, renewal 1800, rebinding 3118, server 10.10.0.1. */
static void test_pcap_zeek_ack(void)
{
    LOAD("zeek/dhcp/dhcp_ack_subscriber_id_and_agent_remote_id.pcap");
    CHECK_EQ_U64(g_r.n, 1);
    CHECK_EQ_U64(g_r.n_anom, 0);
    const struct dhcp_msg *m = &g_r.m[0];
    CHECK_EQ_U64(m->msg_type, DHCP_ACK);
    CHECK_EQ_U64(m->xid, 0x3d11);
    CHECK_MEM(m->chaddr, "\x00\x0a\x28\x00\xfa\x42", 6);
    CHECK_MEM(m->yiaddr, "\xc0\xa8\x00\x0a", 4);
    CHECK_EQ_U64(m->lease_time, 3600);
    CHECK_EQ_U64(m->renewal_time, 1800);
    CHECK_EQ_U64(m->rebinding_time, 3118);
    CHECK_MEM(m->server_id, "\x0a\x0a\x00\x01", 4);
}

/* zeek dhcp_inform: Inform from 128.2.6.122 (90:b1:1c:99:49:29), then the ACK with
 * server id 128.2.6.152 and mask 255.255.255.0. */
static void test_pcap_zeek_inform(void)
{
    LOAD("zeek/dhcp/dhcp_inform.pcap");
    CHECK_EQ_U64(g_r.n, 2);
    CHECK_EQ_U64(g_r.n_anom, 0);
    CHECK_EQ_U64(g_r.m[0].msg_type, DHCP_INFORM);
    CHECK_MEM(g_r.m[0].ciaddr, "\x80\x02\x06\x7a", 4);
    CHECK_EQ_U64(g_r.m[1].msg_type, DHCP_ACK);
    CHECK_MEM(g_r.m[1].server_id, "\x80\x02\x06\x98", 4);
    CHECK_MEM(g_r.m[1].subnet_mask, "\xff\xff\xff\x00", 4);
}

/* zeek hw-type0: Request from a Cisco router "R0", client id type 0 with the text
 * "cisco-cc00.0ac4.0000-Fa0/0", lease 60, PRL 1,6,15,44,3,33,150,43. */
static void test_pcap_zeek_hwtype0(void)
{
    LOAD("zeek/dhcp/hw-type0.pcap");
    CHECK_EQ_U64(g_r.n, 1);
    CHECK_EQ_U64(g_r.n_anom, 0);
    const struct dhcp_msg *m = &g_r.m[0];
    CHECK_STR(m->hostname, "R0");
    CHECK_EQ_U64(m->client_id_len, 27);
    CHECK_EQ_U64(m->client_id[0], 0);
    CHECK_MEM(m->client_id + 1, "cisco-cc00.0ac4.0000-Fa0/0", 26);
    CHECK_EQ_U64(m->lease_time, 60);
    CHECK_STR(m->params_fp, "1,6,15,44,3,33,150,43");
    CHECK(strstr(event_json(m, true), "\"tftp_server_ip\"") != NULL);
}

/* nDPI dhcp-fuzz: message type 106 (tshark: Unknown Message Type 0x6a), "MK03862". */
static void test_pcap_ndpi_fuzz(void)
{
    LOAD("ndpi/dhcp-fuzz.pcapng");
    CHECK_EQ_U64(g_r.n, 1);
    const struct dhcp_msg *m = &g_r.m[0];
    CHECK_EQ_U64(g_r.rc[0], PARSE_OK);
    CHECK_EQ_U64(m->msg_type, 106);
    CHECK_STR(m->hostname, "MK03862");
    CHECK(strstr(event_json(m, false), "\"dhcp_type\":\"unknown\"") != NULL);
}

/* zeek dhcp-unique-xid-join-data-growth: 50 Discovers (tshark), all clean. */
static void test_pcap_zeek_many(void)
{
    LOAD("zeek/dhcp/dhcp-unique-xid-join-data-growth.pcapng");
    CHECK_EQ_U64(g_r.n, 50);
    CHECK_EQ_U64(g_r.n_anom, 0);
    CHECK_EQ_U64(g_r.m[1].xid, 0x30000001);
    CHECK_EQ_U64(g_r.m[1].msg_type, DHCP_DISCOVER);
    CHECK_MEM(g_r.m[1].chaddr, "\x02\x00\x00\x00\x00\x01", 6);
}

int main(void)
{
    RUN(test_discover);
    RUN(test_ack);
    RUN(test_nak);
    RUN(test_fqdn_overload);
    RUN(test_an_truncated);
    RUN(test_an_bad_cookie);
    RUN(test_an_opt_len);
    RUN(test_an_bad_hlen);
    RUN(test_an_option_flood);
    RUN(test_an_others);
    RUN(test_pcap_sv_option60);
    RUN(test_pcap_zeek_time_ns);
    RUN(test_pcap_zeek_ack);
    RUN(test_pcap_zeek_inform);
    RUN(test_pcap_zeek_hwtype0);
    RUN(test_pcap_ndpi_fuzz);
    RUN(test_pcap_zeek_many);
    free(g_copy);
    return check_done();
}
