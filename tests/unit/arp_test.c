/*
 * Tests of the ARP events (sensor/app/arp.c): arp_parse() on raw bytes, request /
 * reply pairing within the window, unsolicited and late replies, a second answer from
 * another MAC, gratuitous ARP and probes, the fixed table under many requests; and
 * real captures through the sensor's decoder (arp_from_pkt) compared with tshark and
 * with suricata-verify's decode-arp-2 expectations.
 */
#include "check.h"
#include "lan_check.h"

#include "app/arp.h"
#include "otasuke/err.h"
#include "sensor_conf.h"

/* ARP is not an app_parser (no flow); this table only names its anomaly kinds for the
 * capturing sink. */
static const struct app_parser g_arp_names = {
    .name = "arp", .nkinds = ARP_AN_COUNT, .kind_name = arp_anomaly_name};

static struct cap_sink g_cap;

/* who-has 10.0.0.2 tell 10.0.0.1, from 00:1d:09:f0:92:ab */
static const uint8_t g_req[28] = {0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x00, 0x1d,
                                  0x09, 0xf0, 0x92, 0xab, 10,   0,    0,    1,    0,    0,
                                  0,    0,    0,    0,    10,   0,    0,    2};
/* 10.0.0.2 is-at 00:1a:6b:6c:0c:cc, to 00:1d:09:f0:92:ab / 10.0.0.1 */
static const uint8_t g_rep[28] = {0x00, 0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x02, 0x00, 0x1a,
                                  0x6b, 0x6c, 0x0c, 0xcc, 10,   0,    0,    2,    0x00, 0x1d,
                                  0x09, 0xf0, 0x92, 0xab, 10,   0,    0,    1};

static void observe(struct arp_table *t, const uint8_t *raw, uint64_t now)
{
    struct arp_msg m;
    int kind = -1;
    if (arp_parse(raw, 28, &m, &kind) != PARSE_OK)
        return;
    g_cap.s.now_us = now;
    arp_observe(t, &g_cap.s, &m);
}

static void test_parse(void)
{
    struct arp_msg m;
    int kind = -1;
    CHECK_EQ_U64(arp_parse(g_req, sizeof(g_req), &m, &kind), PARSE_OK);
    CHECK_EQ_U64(m.op, 1);
    CHECK_MEM(m.sha, "\x00\x1d\x09\xf0\x92\xab", 6);
    CHECK_MEM(m.tpa, "\x0a\x00\x00\x02", 4);
    for (size_t n = 0; n < 28; n++) {
        uint8_t *copy = malloc(n ? n : 1);
        CHECK(copy != NULL);
        memcpy(copy, g_req, n);
        int rc = arp_parse(copy, n, &m, &kind);
        free(copy);
        CHECK_EQ_U64(rc, PARSE_BAD);
        CHECK_EQ_U64(kind, ARP_AN_SHORT);
    }
    uint8_t other[28];
    memcpy(other, g_req, 28);
    other[1] = 6; /* IEEE 802 hardware */
    CHECK_EQ_U64(arp_parse(other, 28, &m, &kind), PARSE_BAD);
    CHECK_EQ_U64(kind, ARP_AN_UNSUPPORTED);
}

static void test_pairing(void)
{
    struct arp_table *t = arp_table_new(NULL);
    CHECK(t != NULL);
    cap_init(&g_cap, &g_arp_names);
    observe(t, g_req, 1000000);
    observe(t, g_rep, 1000250);
    CHECK_STR(g_cap.out,
              "{\"event_type\":\"arp\",\"dir\":0,\"arp\":{\"hw_type\":\"ethernet\",\"proto_type\":"
              "\"ipv4\",\"opcode\":\"request\",\"src_mac\":\"00:1d:09:f0:92:ab\",\"src_ip\":"
              "\"10.0.0.1\",\"dest_mac\":\"00:00:00:00:00:00\",\"dest_ip\":\"10.0.0.2\"}}\n"
              "{\"event_type\":\"arp\",\"dir\":0,\"arp\":{\"hw_type\":\"ethernet\",\"proto_type\":"
              "\"ipv4\",\"opcode\":\"reply\",\"src_mac\":\"00:1a:6b:6c:0c:cc\",\"src_ip\":"
              "\"10.0.0.2\",\"dest_mac\":\"00:1d:09:f0:92:ab\",\"dest_ip\":\"10.0.0.1\","
              "\"solicited\":true,\"response_time_us\":250}}\n");
    /* a second answer from another MAC: the first answer's MAC is named */
    uint8_t spoof[28];
    memcpy(spoof, g_rep, 28);
    memset(spoof + 8, 0x66, 6);
    cap_init(&g_cap, &g_arp_names);
    observe(t, spoof, 1000400);
    CHECK(strstr(g_cap.out, "\"solicited\":true,\"response_time_us\":400,"
                            "\"conflict_mac\":\"00:1a:6b:6c:0c:cc\"") != NULL);
    /* after the window (3 s): unsolicited */
    cap_init(&g_cap, &g_arp_names);
    observe(t, g_rep, 4000001);
    CHECK(strstr(g_cap.out, "\"solicited\":false}") != NULL);
    /* a reply with no request at all */
    arp_table_free(t);
    t = arp_table_new(NULL);
    cap_init(&g_cap, &g_arp_names);
    observe(t, g_rep, 5);
    CHECK(strstr(g_cap.out, "\"solicited\":false}") != NULL);
    arp_table_free(t);
    /* no table (memory refused): events without pairing */
    cap_init(&g_cap, &g_arp_names);
    observe(NULL, g_req, 1);
    observe(NULL, g_rep, 2);
    CHECK_EQ_U64(g_cap.events, 2);
}

static void test_gratuitous_probe(void)
{
    struct arp_table *t = arp_table_new(NULL);
    CHECK(t != NULL);
    uint8_t g[28];
    memcpy(g, g_req, 28);
    memcpy(g + 24, g + 14, 4); /* target = sender: announcement */
    cap_init(&g_cap, &g_arp_names);
    observe(t, g, 1);
    CHECK(strstr(g_cap.out, "\"dest_ip\":\"10.0.0.1\",\"gratuitous\":true}") != NULL);
    uint8_t p[28];
    memcpy(p, g_req, 28);
    memset(p + 14, 0, 4); /* sender 0.0.0.0: probe */
    cap_init(&g_cap, &g_arp_names);
    observe(t, p, 10);
    CHECK(strstr(g_cap.out, "\"src_ip\":\"0.0.0.0\"") != NULL);
    CHECK(strstr(g_cap.out, "\"probe\":true}") != NULL);
    /* the owner answers the probe (to 0.0.0.0): paired */
    uint8_t r[28];
    memcpy(r, g_rep, 28);
    memset(r + 24, 0, 4);
    cap_init(&g_cap, &g_arp_names);
    observe(t, r, 30);
    CHECK(strstr(g_cap.out, "\"solicited\":true,\"response_time_us\":20}") != NULL);
    /* an unknown opcode: logged as a number, with an anomaly */
    uint8_t o[28];
    memcpy(o, g_req, 28);
    o[7] = 9;
    cap_init(&g_cap, &g_arp_names);
    observe(t, o, 40);
    CHECK(strstr(g_cap.out, "anomaly:bad_opcode:0\n") != NULL);
    CHECK(strstr(g_cap.out, "\"opcode\":9,") != NULL);
    arp_table_free(t);
}

/* A sweep of 5000 requests through a 16-slot table: memory stays fixed, and the last
 * requests are still paired. */
static void test_bounded(void)
{
    static struct sensor_conf c;
    conf_defaults(sensor_conf_table, &c);
    c.arp_pending = 16;
    struct arp_table *t = arp_table_new(&c);
    CHECK(t != NULL);
    uint8_t q[28];
    memcpy(q, g_req, 28);
    for (unsigned i = 0; i < 5000; i++) {
        q[26] = (uint8_t)(i >> 8);
        q[27] = (uint8_t)i;
        cap_init(&g_cap, &g_arp_names);
        observe(t, q, 100 + i);
    }
    uint8_t r[28];
    memcpy(r, g_rep, 28);
    r[16] = (uint8_t)(4999 >> 8);
    r[17] = (uint8_t)4999;
    cap_init(&g_cap, &g_arp_names);
    observe(t, r, 200 + 4999);
    CHECK(strstr(g_cap.out, "\"solicited\":true,\"response_time_us\":100}") != NULL);
    arp_table_free(t);
}

/* --- corpus ---------------------------------------------------------------------- */

struct arp_run {
    struct lan_frames f;
    struct arp_table *t;
};

static void arp_pkt(const struct pkt *p, int rc, unsigned frame, void *ud)
{
    struct arp_run *r = ud;
    if (rc != DECODE_ARP || frame > LAN_MAX_FRAMES)
        return;
    struct arp_msg m;
    arp_from_pkt(p, &m);
    cap_init(&r->f.cap, &g_arp_names);
    r->f.cap.s.now_us = p->ts_us;
    arp_observe(r->t, &r->f.cap.s, &m);
    r->f.txt[frame] = strdup(r->f.cap.out);
}

static int arp_run_file(struct arp_run *r, const char *path)
{
    memset(r->f.txt, 0, sizeof(r->f.txt));
    r->t = arp_table_new(NULL);
    int n = lan_each_pcap(path, arp_pkt, r);
    arp_table_free(r->t);
    return n;
}

/* arp.opcode, arp.src.hw_mac, arp.src.proto_ipv4, arp.dst.hw_mac, arp.dst.proto_ipv4 */
static bool needle_arp(int field, const char *item, char *needle, size_t n)
{
    static const char *const keys[] = {"opcode", "src_mac", "src_ip", "dest_mac", "dest_ip"};
    if (field == 0) {
        if (strcmp(item, "1") == 0 || strcmp(item, "2") == 0)
            snprintf(needle, n, "\"opcode\":\"%s\"", item[0] == '1' ? "request" : "reply");
        else
            snprintf(needle, n, "\"opcode\":%s,", item);
        return true;
    }
    if (field < 5) {
        snprintf(needle, n, "\"%s\":\"%s\"", keys[field], item);
        return true;
    }
    return false;
}

static const char *const g_files[] = {
    "suricata-verify/decode-arp-2/arp.pcap",
    "suricata-verify/arp/detect-arp-03-vlan/input.pcap",
    "suricata-verify/arp/detect-arp-04-vxlan/vxlan-arp.pcap",
    "other/sgr-favilli/hs-arpScan.pcap",
    "other/sgr-favilli/na-arpSpoofing.pcap",
    "ndpi/alexa-app.pcapng",
    "ndpi/iphone.pcap",
    "ndpi/nest_log_sink.pcap",
    "ndpi/teams.pcap",
    "ndpi/tcp_scan.pcapng",
};

static void test_corpus_tshark(void)
{
    if (check_corpus_pcap_dir() == NULL)
        SKIP("corpus not found");
    static struct arp_run r;
    unsigned items = 0, found = 0, missing = 0, files = 0, frames = 0;
    for (size_t i = 0; i < sizeof(g_files) / sizeof(g_files[0]); i++) {
        char path[1024];
        if (lan_corpus(g_files[i], path, sizeof(path)) == NULL)
            continue;
        CHECK(arp_run_file(&r, path) > 0);
        struct lan_score sc;
        bool ran = lan_tshark_compare(&r.f, path, "arp",
                                      "-e arp.opcode -e arp.src.hw_mac -e arp.src.proto_ipv4 "
                                      "-e arp.dst.hw_mac -e arp.dst.proto_ipv4",
                                      needle_arp, NULL, &sc);
        lan_frames_free(&r.f);
        if (!ran || sc.frames == 0)
            continue;
        fprintf(stderr, "arp %s: %u frames, %u/%u values agree, %u in frames not decoded\n",
                g_files[i], sc.frames, sc.found, sc.items, sc.undecoded);
        files++;
        frames += sc.frames;
        items += sc.items;
        found += sc.found;
        missing += sc.missing;
    }
    if (files == 0)
        SKIP("tshark or the corpus files are absent");
    fprintf(stderr, "arp corpus: %u files, %u frames, %u/%u values agree with tshark\n", files,
            frames, found, items);
    CHECK(items > 500);
    CHECK_EQ_U64(missing, 0);
}

/* suricata-verify decode-arp-2/test.yaml: 4 arp events; pcap_cnt 5 and 6. */
static void test_corpus_suricata_verify(void)
{
    char path[1024];
    if (lan_corpus("suricata-verify/decode-arp-2/arp.pcap", path, sizeof(path)) == NULL)
        SKIP("suricata-verify decode-arp-2 absent");
    static struct arp_run r;
    CHECK(arp_run_file(&r, path) > 0);
    unsigned events = 0;
    for (size_t i = 0; i <= LAN_MAX_FRAMES; i++)
        events += r.f.txt[i] != NULL && strstr(r.f.txt[i], "\"event_type\":\"arp\"") != NULL;
    bool ok5 = r.f.txt[5] != NULL &&
               strstr(r.f.txt[5], "\"arp\":{\"hw_type\":\"ethernet\",\"proto_type\":\"ipv4\","
                                  "\"opcode\":\"request\",\"src_mac\":\"00:1d:09:f0:92:ab\","
                                  "\"src_ip\":\"10.10.10.1\",\"dest_mac\":\"00:00:00:00:00:00\","
                                  "\"dest_ip\":\"10.10.10.2\"") != NULL;
    bool ok6 = r.f.txt[6] != NULL &&
               strstr(r.f.txt[6], "\"arp\":{\"hw_type\":\"ethernet\",\"proto_type\":\"ipv4\","
                                  "\"opcode\":\"reply\",\"src_mac\":\"00:1a:6b:6c:0c:cc\","
                                  "\"src_ip\":\"10.10.10.2\",\"dest_mac\":\"00:1d:09:f0:92:ab\","
                                  "\"dest_ip\":\"10.10.10.1\"") != NULL;
    lan_frames_free(&r.f);
    CHECK_EQ_U64(events, 4);
    CHECK(ok5);
    CHECK(ok6);
    fprintf(stderr, "arp suricata-verify decode-arp-2: 3/3 checks met\n");
}

/* The demo capture (docs/demo.md): after its DHCP ACK each Windows PC sends an ARP
 * probe (sender 0.0.0.0) and a gratuitous ARP; counted here, with the pairing. */
struct demo_acc {
    struct arp_table *t;
    unsigned events, probes, gratuitous, solicited, unsolicited;
};

static void demo_pkt(const struct pkt *p, int rc, unsigned frame, void *ud)
{
    struct demo_acc *a = ud;
    (void)frame;
    if (rc != DECODE_ARP)
        return;
    struct arp_msg m;
    arp_from_pkt(p, &m);
    cap_init(&g_cap, &g_arp_names);
    g_cap.s.now_us = p->ts_us;
    arp_observe(a->t, &g_cap.s, &m);
    a->events += g_cap.events;
    a->probes += strstr(g_cap.out, "\"probe\":true") != NULL;
    a->gratuitous += strstr(g_cap.out, "\"gratuitous\":true") != NULL;
    a->solicited += strstr(g_cap.out, "\"solicited\":true") != NULL;
    a->unsolicited += strstr(g_cap.out, "\"solicited\":false") != NULL;
}

static void test_demo(void)
{
    const char *path = lan_demo_path();
    if (path == NULL)
        SKIP("demo/office.pcap absent (make demo/office.pcap)");
    static struct demo_acc a;
    memset(&a, 0, sizeof(a));
    a.t = arp_table_new(NULL);
    CHECK(a.t != NULL);
    CHECK(lan_each_pcap(path, demo_pkt, &a) > 0);
    arp_table_free(a.t);
    fprintf(stderr, "demo: %u arp events, %u probes, %u gratuitous, replies %u paired / %u not\n",
            a.events, a.probes, a.gratuitous, a.solicited, a.unsolicited);
    CHECK(a.probes >= 8);
    CHECK(a.gratuitous >= 8);
    CHECK(a.solicited > 0);
}

int main(void)
{
    RUN(test_parse);
    RUN(test_pairing);
    RUN(test_gratuitous_probe);
    RUN(test_bounded);
    RUN(test_corpus_tshark);
    RUN(test_corpus_suricata_verify);
    RUN(test_demo);
    cap_free(&g_cap);
    return check_done();
}
